"""What every fitted pmt model shares: data preparation and the common result interface.

Every model result has ``params`` and ``bse`` (pandas Series by term name, "Intercept" for
the constant), ``nobs``, ``n_dropped``, ``predict(df)`` on the model's own scale (the
formula's left side, e.g. log welfare), ``predict(df, scale="level")`` with a named
retransformation, ``summary()``, ``coef_table()`` and ``terms``.

The statsmodels-like inference contract (DESIGN.md 5b) is also here: ``tvalues``,
``pvalues``, ``conf_int(level)``, ``cov_params()``, ``df_resid`` and, on the estimation
sample of a fit (not after an artifact round trip, which keeps no data), ``fittedvalues``
and ``resid``. Tests and intervals use Student's t with ``df_resid`` degrees of freedom
when the model sets it (OLS: N-K, or G-1 with clusters; quantile regression: N-K) and the
normal otherwise (``df_resid`` None: probit/logit, Heckman).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar, get_args

import numpy as np
import pandas as pd

from pmt._literals import Retransform, Scale
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import ModelError, example_rows
from pmt.models.covariance import canonical_cov_type
from pmt.models.formula import Design
from pmt.models.summary import Summary, SummarySection
from pmt.survey import Survey

RETRANSFORMS = get_args(Retransform)

# model_type -> result class, so that artifacts can rebuild any registered model.
MODEL_TYPES: dict[str, type] = {}


def register_model(cls):
    """Class decorator: register a result class under its ``model_type``."""
    MODEL_TYPES[cls.model_type] = cls
    return cls


def blas_threads(limit: int | None = 1):
    """Context manager capping BLAS threads at ``limit`` during a fit (None: no cap).

    The models' dense work is on tall, thin matrices or p x p systems, which gain little
    from threads, while BLAS threads competing with other processes (workers, a shared
    server) slow it down up to ten-fold. threadpoolctl ships with scikit-learn; without
    it this is a no-op.
    """
    if limit is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


@dataclass
class Prepared:
    """Estimation sample of a model: design, arrays and what was dropped."""

    design: Design
    X: np.ndarray
    y: np.ndarray | None
    weights: np.ndarray | None
    cluster: np.ndarray | None
    mask: np.ndarray  # rows of the input data kept
    index: pd.Index  # index labels of kept rows
    n_dropped: int

    @property
    def nobs(self) -> int:
        """Rows in the estimation sample."""
        return int(self.mask.sum())


def resolve_column(data: pd.DataFrame, value, role: str) -> np.ndarray | None:
    """A column name of ``data`` or an array of len(data) -> ndarray (object kept for ids).

    None stays None; the checks are :func:`pmt._validation.column_or_array`'s (DataError).
    """
    if value is None:
        return None
    return column_or_array(value, data, name=role, dtype=None, allow_nan=True)


def survey_inputs(data: pd.DataFrame, survey: Survey | None, weights, cluster):
    """Weights and clusters for a model: from ``survey`` if given, else as passed.

    A Survey supplies its **household** weights w_h and its PSU codes (unique across
    strata; None when the Survey has no PSU column). Raises ModelError when both a survey
    and weights/cluster are given, or when the Survey was built on other rows.
    """
    if survey is None:
        return weights, cluster
    if not isinstance(survey, Survey):
        raise ModelError("`survey` must be a pmt.Survey.")
    if weights is not None or cluster is not None:
        raise ModelError(
            "pass either `survey=` or `weights=`/`cluster=`, not both: the survey supplies the "
            "household weight and the PSU."
        )
    if len(survey.data) != len(data) or not survey.data.index.equals(data.index):
        raise ModelError(
            "`survey` was built on different rows than `data` (length or index differ); build "
            "the Survey on the same DataFrame, or pass weights= and cluster= columns."
        )
    psu = survey.psu_codes if survey.psu is not None else None
    return survey.household_weight, psu


def weight_cluster_columns(data: pd.DataFrame, weights, cluster, mask: np.ndarray):
    """Resolve weights (as floats) and cluster ids; clear ``mask`` (in place) where missing.

    Weights must be positive on the rows still in ``mask`` once rows without a cluster id
    are cleared (:func:`pmt._validation.check_weights`, WeightError, which is a
    ModelError); missing weights clear their rows.
    """
    cl = resolve_column(data, cluster, "cluster")
    if cl is not None:
        mask &= pd.notna(cl)
    w = None
    if weights is not None:
        w = check_weights(weights, data=data, kind="positive", allow_nan=True,
                          allow_zero_sum=True, subset=mask)
        mask &= np.isfinite(w)
    return w, cl


def kept_weights_clusters(w, cl, mask: np.ndarray, index: pd.Index):
    """Weights and integer cluster codes of the kept rows (``index`` holds their labels).

    The weights were checked by :func:`weight_cluster_columns`.
    """
    if w is not None:
        w = w[mask]
    codes = None if cl is None else pd.factorize(pd.Series(cl[mask]))[0]
    return w, codes


def prepare(
    formula: str,
    data: pd.DataFrame,
    weights=None,
    cluster=None,
    require_lhs: bool = True,
    check_rank: bool = True,
    design: Design | None = None,
) -> Prepared:
    """Parse the formula, drop incomplete rows (counted, with a warning) and build arrays.

    Rows are dropped when any formula variable, the weight or the cluster id is missing.
    Weights must be positive where kept.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError("`data` must be a pandas DataFrame.")
    if len(data) == 0:
        raise ModelError("`data` has no rows.")
    design = design or Design.from_formula(formula, data, require_lhs=require_lhs)
    mask = np.array(design.complete_rows(data, with_lhs=require_lhs), dtype=bool)
    w, cl = weight_cluster_columns(data, weights, cluster, mask)
    n_dropped = int((~mask).sum())
    if n_dropped:
        warnings.warn(
            f"{n_dropped} of {len(data)} rows have missing values in the model's variables, "
            f"weights or clusters and are excluded ({example_rows(data.index[~mask])}).",
            stacklevel=3,
        )
    sub = data.loc[mask] if n_dropped else data
    X = design.matrix(sub)
    y = design.response(sub) if require_lhs else None
    w, codes = kept_weights_clusters(w, cl, mask, sub.index)
    if check_rank:
        design.check_rank(X)
    return Prepared(design, X, y, w, codes, mask, sub.index, n_dropped)


def prediction_matrix(design: Design, data: pd.DataFrame, what: str = "proxies",
                      stacklevel: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix of the rows of ``data`` with every proxy present, and their mask.

    Warns once, counting the rows left out (they get no prediction); ``what`` names the
    missing variables in that warning and ``stacklevel`` is counted from the caller.
    """
    mask = design.complete_rows(data, with_lhs=False)  # also checks the columns exist
    if mask.all():
        return design.matrix(data), mask
    warnings.warn(
        f"{int((~mask).sum())} rows have missing {what} and get no prediction "
        f"({example_rows(data.index[~mask])}).",
        stacklevel=stacklevel + 1,
    )
    return design.matrix(data.loc[mask]), mask


PROFILE_MAX_DISTINCT = 64
PROFILE_BINS = 100


def training_profile(design: Design, data: pd.DataFrame, weights=None) -> dict:
    """Weighted distribution of each numeric proxy of a design in ``data``.

    For every numeric term variable: its distinct values and weight shares when it has at
    most 64 of them, else the weighted means of 100 equal-weight percentile bins. Fitted
    models give it as ``training_profile`` so that :class:`pmt.Scorecard` can band
    continuous proxies without the training data, and artifacts store it.
    """
    from pmt.survey import quantile_groups

    # missing and zero weights leave their rows out of the profile
    w = check_weights(weights, len(data), allow_nan=True, allow_zero_sum=True)
    out: dict[str, dict] = {}
    for t in design.terms:
        if t.kind != "numeric" or t.variable in out:
            continue
        assert t.variable is not None  # numeric terms always name their variable
        if t.variable not in data.columns:
            raise ModelError(f"profile: column {t.variable!r} of the model is not in the data.")
        x = pd.to_numeric(data[t.variable], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
        x, wx = x[ok], w[ok]
        if x.size == 0:
            continue
        uniq, inv = np.unique(x, return_inverse=True)
        if uniq.size <= PROFILE_MAX_DISTINCT:
            sw = np.bincount(inv, weights=wx)
            out[t.variable] = {"values": uniq.tolist(), "weights": (sw / sw.sum()).tolist(),
                               "exact": True}
            continue
        groups = quantile_groups(x, wx, n_groups=PROFILE_BINS) - 1
        sw = np.bincount(groups, weights=wx, minlength=PROFILE_BINS)
        sx = np.bincount(groups, weights=wx * x, minlength=PROFILE_BINS)
        keep = sw > 0
        out[t.variable] = {"values": (sx[keep] / sw[keep]).tolist(),
                           "weights": (sw[keep] / sw.sum()).tolist(), "exact": False}
    return out


_Result = TypeVar("_Result", bound="ModelResult")


def attach_profile(result: _Result, data: pd.DataFrame, prep: Prepared) -> _Result:
    """Give ``result`` the weighted profile of its estimation sample's numeric proxies.

    The profile (:func:`training_profile`: one weighted sort per continuous proxy) is
    only needed for scorecards and artifacts, so it is computed on first access of
    :attr:`ModelResult.training_profile`; until then the result keeps a copy of those
    columns of the estimation sample (cross-validation fits never pay for it).
    """
    columns = list(dict.fromkeys(t.variable for t in result.design.terms
                                 if t.kind == "numeric" and t.variable is not None))
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ModelError(f"profile: column {missing[0]!r} of the model is not in the data.")
    # selecting a list of columns copies (pandas < 3) or copies on write (pandas 3), so
    # later changes to ``data`` never reach the profile
    rows = data.loc[prep.mask, columns] if prep.n_dropped else data[columns]
    weights = None if prep.weights is None else prep.weights.copy()
    result._profile_source = (rows, weights)
    result._training_profile = None
    return result


def stars(p: float) -> str:
    """Significance stars: *** p<0.01, ** p<0.05, * p<0.1."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


class ModelResult:
    """Base class of fitted linear-index models.

    Subclasses set ``model_type`` and may override :meth:`predict`. Attributes:

    params, bse : pandas.Series
        Coefficients and standard errors by term name.
    cov : pandas.DataFrame or None
        Covariance of the coefficients.
    nobs : int
        Observations used. ``n_dropped`` counts rows excluded for missing values.
    df_resid : float or None
        Degrees of freedom of the t tests and intervals (N-K; G-1 for cluster-robust OLS);
        None means normal-based (z) inference.
    cov_type : str
        How standard errors were computed, in the one vocabulary of
        :mod:`pmt.models.covariance` ("nonrobust", "HC0", "HC1", "cluster", "kernel",
        "bootstrap", "none").
    retransform : {"none", "normal", "smearing"}
        Default retransformation from a log scale to levels; ``sigma2`` (residual
        variance, for "normal") and ``smearing_factor`` (Duan's mean of exp(residual)).
    """

    model_type = "linear"

    def __init__(
        self,
        design: Design,
        params: np.ndarray,
        bse: np.ndarray,
        cov: np.ndarray | None = None,
        nobs: int = 0,
        n_dropped: int = 0,
        weighted_nobs: float | None = None,
        df_resid: float | None = None,
        cov_type: str = "nonrobust",
        retransform: Retransform = "smearing",
        sigma2: float | None = None,
        smearing_factor: float | None = None,
        info: Mapping | None = None,
    ):
        names = design.term_names
        self.design = design
        self.params = pd.Series(np.asarray(params, dtype=float), index=names, name="coef")
        self.bse = pd.Series(np.asarray(bse, dtype=float), index=names, name="se")
        self.cov = None if cov is None else pd.DataFrame(cov, index=names, columns=names)
        self.nobs = int(nobs)
        self.n_dropped = int(n_dropped)
        self.weighted_nobs = weighted_nobs
        self.df_resid = df_resid
        # names stored by earlier versions ("robust", "oim", ...) load under today's
        self.cov_type = canonical_cov_type(cov_type)
        self.retransform = check_option(retransform, Retransform, name="retransform")
        self.sigma2 = sigma2
        self.smearing_factor = smearing_factor
        self.info = dict(info or {})
        # estimation sample (left side and fitted values), kept in memory only
        self._sample: tuple[pd.Series, pd.Series] | None = None
        # weighted profile of the numeric proxies, computed on first use (attach_profile)
        self._training_profile: dict | None = None
        self._profile_source: tuple[pd.DataFrame, np.ndarray | None] | None = None

    @property
    def training_profile(self) -> dict | None:
        """Weighted distribution of each numeric proxy in the estimation sample.

        See :func:`training_profile`; :class:`pmt.Scorecard` bands continuous proxies with
        it, and loaded artifacts carry the profile stored in the file. None for a model
        built without its sample.
        """
        if self._training_profile is None and self._profile_source is not None:
            rows, weights = self._profile_source
            self._training_profile = training_profile(self.design, rows, weights)
            self._profile_source = None
        return self._training_profile

    @training_profile.setter
    def training_profile(self, profile: dict | None) -> None:
        self._training_profile = profile
        self._profile_source = None

    # --- structure --------------------------------------------------------------------
    @property
    def formula(self) -> str:
        """Formula the model was fitted with."""
        return self.design.formula

    @property
    def terms(self) -> pd.DataFrame:
        """Terms with their source variable, level and base level."""
        return self.design.terms_table()

    @property
    def tvalues(self) -> pd.Series:
        """Test statistics params / bse, by term (t, or z when ``df_resid`` is None)."""
        return (self.params / self.bse).rename("t")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values by term: Student's t with ``df_resid`` df, normal when it is None."""
        from scipy import stats  # on use: importing scipy.stats takes about 0.5 s

        t = self.tvalues.to_numpy()
        if self.df_resid is not None and np.isfinite(self.df_resid):
            p = 2 * stats.t.sf(np.abs(t), self.df_resid)
        else:
            p = 2 * stats.norm.sf(np.abs(t))
        return pd.Series(p, index=self.params.index, name="p")

    # --- inference (statsmodels-like) -------------------------------------------------
    def _critical_value(self, level: float) -> float:
        if not (isinstance(level, int | float) and 0 < level < 1):
            raise ModelError(f"level must be a probability in (0, 1), e.g. 0.95; got {level!r}.")
        from scipy import stats

        prob = (1 + float(level)) / 2
        if self.df_resid is not None and np.isfinite(self.df_resid):
            return float(stats.t.ppf(prob, self.df_resid))
        return float(stats.norm.ppf(prob))

    def conf_int(self, level: float = 0.95, alpha: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the coefficients.

        Parameters
        ----------
        level : float
            Coverage, e.g. 0.95.
        alpha : float, optional
            statsmodels' spelling: ``alpha=0.05`` is ``level=0.95`` (overrides ``level``).

        Returns
        -------
        pandas.DataFrame
            Indexed by term, columns ``0`` (lower) and ``1`` (upper) as statsmodels'
            ``conf_int()``: ``params -/+ c * bse`` with ``c`` the t quantile on
            ``df_resid`` degrees of freedom, or the normal one when ``df_resid`` is None,
            the same distribution as :attr:`pvalues`.
        """
        if alpha is not None:
            level = 1 - alpha
        c = self._critical_value(level)
        return pd.DataFrame(
            {0: self.params - c * self.bse, 1: self.params + c * self.bse},
            index=self.params.index,
        )

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the coefficients (a copy; NaN when the fit has none, e.g. quantile
        regression with ``cov_type="none"``).
        """
        if self.cov is None:
            names = self.params.index
            return pd.DataFrame(np.nan, index=names, columns=names)
        return self.cov.copy()

    def _set_sample(self, index, y, fitted) -> None:
        """Keep the left side and fitted values of the estimation sample (in memory)."""
        index = pd.Index(index)
        self._sample = (
            pd.Series(np.asarray(y, dtype=float), index=index, name=self.design.lhs),
            pd.Series(np.asarray(fitted, dtype=float), index=index, name="fittedvalues"),
        )

    def _sample_or_raise(self) -> tuple[pd.Series, pd.Series]:
        sample = getattr(self, "_sample", None)
        if sample is None:
            raise ModelError(
                f"this {self.model_type} result keeps no estimation sample (it was loaded from "
                "an artifact or rebuilt from a dict): refit the model for fittedvalues and "
                "resid, or use predict(df)."
            )
        return sample

    @property
    def fittedvalues(self) -> pd.Series:
        """Fitted values on the estimation sample, indexed by the data rows used."""
        return self._sample_or_raise()[1].copy()

    @property
    def resid(self) -> pd.Series:
        """Residuals ``y - fittedvalues`` on the estimation sample."""
        y, fitted = self._sample_or_raise()
        return (y - fitted).rename("resid")

    # --- prediction -------------------------------------------------------------------
    def linear_predictor(self, data: pd.DataFrame) -> pd.Series:
        """Linear predictor x'b per row; NaN (with a warning counting them) where a proxy is missing."""
        X, mask = prediction_matrix(self.design, data, stacklevel=3)
        out = np.full(len(data), np.nan)
        out[mask] = X @ self.params.to_numpy()
        return pd.Series(out, index=data.index, name="xb")

    def predict(
        self,
        data: pd.DataFrame,
        scale: Scale = "model",
        retransform: Retransform | None = None,
    ) -> pd.Series:
        """Predict for ``data``.

        Parameters
        ----------
        data : pandas.DataFrame
            Rows with the model's proxies.
        scale : {"model", "level"}
            "model": the formula's left side (e.g. log per-capita consumption).
            "level": exp of it, retransformed.
        retransform : {"none", "normal", "smearing"}, optional
            Retransformation for levels: exp(xb); exp(xb + sigma^2/2); or exp(xb) times
            Duan's smearing factor. Defaults to the model's ``retransform``.
        """
        check_option(scale, Scale, name="scale")
        xb = self.linear_predictor(data)
        if scale == "model":
            return xb.rename(f"pred_{self.design.lhs or 'y'}")
        how = retransform or self.retransform
        factor = self.retransform_factor(how)  # raises before exp() when unavailable
        return (np.exp(xb) * factor).rename(f"pred_level_{how}")

    def retransform_factor(self, how: Retransform) -> float:
        """Multiplicative factor applied to exp(xb) by a retransformation."""
        if check_option(how, Retransform, name="retransform") == "none":
            return 1.0
        if how == "normal":
            if self.sigma2 is None:
                raise ModelError(f"{self.model_type} model has no residual variance for 'normal'.")
            return float(np.exp(self.sigma2 / 2))
        if how == "smearing":
            if self.smearing_factor is None:
                raise ModelError(f"{self.model_type} model has no smearing factor.")
            return float(self.smearing_factor)
        raise AssertionError(how)  # pragma: no cover - check_option above

    # --- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe dict of everything needed to predict again (see pmt.artifacts).

        Subclasses keep model-specific state in ``info`` (JSON-safe values only) so that
        this generic form round-trips them; override both methods only when that is not
        enough (e.g. models with two equations).
        """

        def opt(v):
            return None if v is None else float(v)

        return {
            "model_type": self.model_type,
            "design": self.design.to_dict(),
            "params": [float(v) for v in self.params],
            "bse": [float(v) for v in self.bse],
            "cov": None if self.cov is None else self.cov.to_numpy().tolist(),
            "nobs": self.nobs,
            "n_dropped": self.n_dropped,
            "weighted_nobs": opt(self.weighted_nobs),
            "df_resid": opt(self.df_resid),
            "cov_type": self.cov_type,
            "retransform": self.retransform,
            "sigma2": opt(self.sigma2),
            "smearing_factor": opt(self.smearing_factor),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> ModelResult:
        """Rebuild a result from :meth:`to_dict` output (no code is evaluated)."""
        cov = d.get("cov")
        return cls(
            Design.from_dict(d["design"]),
            np.asarray(d["params"], dtype=float),
            np.asarray(d["bse"], dtype=float),
            cov=None if cov is None else np.asarray(cov, dtype=float),
            nobs=d.get("nobs", 0),
            n_dropped=d.get("n_dropped", 0),
            weighted_nobs=d.get("weighted_nobs"),
            df_resid=d.get("df_resid"),
            cov_type=d.get("cov_type", "nonrobust"),
            retransform=d.get("retransform", "smearing"),
            sigma2=d.get("sigma2"),
            smearing_factor=d.get("smearing_factor"),
            info=d.get("info"),
        )

    # --- reporting --------------------------------------------------------------------
    def coef_table(self, labels=None) -> pd.DataFrame:
        """Coefficient table: term, coefficient, s.e., p-value, stars and variable label.

        ``labels`` maps variable names to labels; a DataSpec (anything with a ``labels``
        mapping attribute) also works.
        """
        if labels is not None and hasattr(labels, "labels"):
            labels = labels.labels
        labels = dict(labels or {})
        terms = self.terms
        table = pd.DataFrame(
            {
                "coef": self.params,
                "se": self.bse,
                "p": self.pvalues,
            }
        )
        table["stars"] = [stars(p) for p in table["p"]]
        table["variable"] = terms["variable"]
        table["level"] = terms["level"]
        table["label"] = [
            labels.get(v, v) if isinstance(v, str) else "Constant" for v in terms["variable"]
        ]
        table.index.name = "term"
        return table

    def summary(self) -> Summary:
        """Summary of the fit: a :class:`~pmt.models.summary.Summary`, i.e. the text table
        (``str``/``as_text()``, in the manner of statsmodels' summaries) that also renders
        as HTML (``as_html()``, ``_repr_html_()``), with confidence intervals.
        """
        table = self.coef_table()
        stats_ = self._summary_stats()
        head = [
            f"{self.model_type} model: {self.formula}",
            f"N = {self.nobs:,}" + (f" (excluded {self.n_dropped:,})" if self.n_dropped else "")
            + f"   covariance: {self.cov_type}",
        ]
        head += [f"{k} = {v:.4f}" if isinstance(v, float) else f"{k} = {v}" for k, v in stats_.items()]
        width = max(12, max(len(t) for t in table.index))
        lines = head + ["-" * (width + 48)]
        lines.append(f"{'term':<{width}} {'coef':>12} {'s.e.':>10} {'z/t':>8} {'p':>8}")
        for term, row in table.iterrows():
            t = row["coef"] / row["se"] if row["se"] else np.nan
            lines.append(
                f"{term:<{width}} {row['coef']:>12.5f} {row['se']:>10.5f} {t:>8.2f} "
                f"{row['p']:>8.4f} {row['stars']}"
            )
        lines.append("-" * (width + 48))
        return Summary("\n".join(lines), [self._summary_section(table, stats_)])

    def _summary_section(self, table: pd.DataFrame, stats_: Mapping,
                         title: str | None = None) -> SummarySection:
        """The structured (HTML) form of one equation's summary."""
        ci = self.conf_int()
        stat = "t" if self.df_resid is not None and np.isfinite(self.df_resid) else "z"
        out = pd.DataFrame(
            {
                "coef": table["coef"],
                "std err": table["se"],
                stat: table["coef"] / table["se"],
                f"P>|{stat}|": table["p"],
                "[0.025": ci[0].reindex(table.index),
                "0.975]": ci[1].reindex(table.index),
                "": table["stars"],
            },
            index=table.index,
        )
        stats_list: list[tuple[str, object]] = [("N", self.nobs)]
        if self.n_dropped:
            stats_list.append(("excluded", self.n_dropped))
        stats_list.append(("covariance", self.cov_type))
        stats_list += list(stats_.items())
        return SummarySection(
            title or f"{self.model_type} model: {self.formula}",
            stats_list,
            out,
            ["* p<0.1, ** p<0.05, *** p<0.01; intervals at 95 %."],
        )

    def _summary_stats(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.formula!r} N={self.nobs}>"
