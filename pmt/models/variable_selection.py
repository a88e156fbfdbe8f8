"""Variable selection for PMT models: stepwise by cluster-robust Wald tests, and the lasso.

(This module was ``pmt.models.selection`` before; that name stays as a deprecated alias.
"Selection" elsewhere in pmt is the selection equation of :func:`pmt.heckman`.)

Both work on *variables* (blocks of design columns): a categorical ``C(region)`` enters
or leaves as a whole, tested jointly. Both fix the estimation sample first (households
with every candidate variable, weight and cluster present; the excluded rows are
counted in ``n_dropped`` with a warning) so that every step compares models on the same
rows, and refit the chosen model with :func:`pmt.models.ols.ols` on that sample.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import Lasso, LassoCV, lasso_path
from sklearn.model_selection import GroupKFold, KFold
from sklearn.preprocessing import StandardScaler

from pmt._deprecation import renamed_arguments
from pmt._literals import OLSCovType
from pmt.errors import ModelError
from pmt.models.base import Prepared, prepare, survey_inputs
from pmt.models.covariance import cluster_codes, cluster_meat, sandwich, small_sample_factor
from pmt.models.formula import parse_formula, term_variable
from pmt.models.ols import OLSResult, _resolve_cov_type, ols
from pmt.survey import Survey

__all__ = ["stepwise", "lasso_select", "StepwiseResult", "LassoResult"]


# --- candidate handling ------------------------------------------------------------------
@dataclass
class _Candidates:
    lhs: str
    intercept: bool
    pieces: dict[str, str]  # variable -> term text as written ("C(region)", "rooms")
    formula: str = ""
    force: list[str] = field(default_factory=list)


def _candidates(formula_or_candidates, response: str | None, force) -> _Candidates:
    if isinstance(formula_or_candidates, str):
        formula = formula_or_candidates
        if response is not None:
            raise ModelError("give the response either in the formula or as `response=`.")
    elif isinstance(formula_or_candidates, Sequence) and not isinstance(formula_or_candidates, str):
        if not response:
            raise ModelError(
                "with a list of candidate terms pass `response=` (the welfare column), or pass "
                "a formula 'log_pcc ~ a + b + C(region)'."
            )
        terms = list(formula_or_candidates)
        if not terms:
            raise ModelError("the list of candidate terms is empty.")
        formula = f"{response} ~ " + " + ".join(map(str, terms))
    else:
        raise ModelError("candidates must be a formula string or a list of terms.")
    parsed = parse_formula(formula)
    assert parsed.lhs is not None  # parse_formula requires a left-hand side by default
    pieces = parsed.terms
    force = [force] if isinstance(force, str) else list(force or [])
    forced = []
    for f in force:
        name = term_variable(f)
        if name not in pieces:
            raise ModelError(
                f"forced term {f!r} is not among the candidates of {formula!r}; add it there."
            )
        forced.append(name)
    return _Candidates(parsed.lhs, parsed.intercept, pieces, formula, forced)


def _formula(c: _Candidates, variables: Sequence[str]) -> str:
    rhs = [c.pieces[v] for v in variables]
    if not c.intercept:
        rhs = ["-1", *rhs] if rhs else ["-1"]
    return f"{c.lhs} ~ " + (" + ".join(rhs) if rhs else "1")


def _blocks(prep: Prepared) -> tuple[list[int], dict[str, list[int]]]:
    """Intercept column indices and variable -> design column indices."""
    icpt: list[int] = []
    blocks: dict[str, list[int]] = {}
    for j, t in enumerate(prep.design.terms):
        if t.kind == "intercept":
            icpt.append(j)
        elif t.variable is None:
            raise ModelError(
                f"variable selection works on whole variables; the term '{t.name}' "
                f"({t.kind}) combines or transforms columns. Create it as its own column "
                "(e.g. df['rooms_urban'] = df.rooms * df.urban) and select over that, or "
                "leave it out of the candidate formula."
            )
        else:
            blocks.setdefault(t.variable, []).append(j)
    return icpt, blocks


def _sample(formula, data, weights, cluster, survey):
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    prep = prepare(formula, data, weights=weights, cluster=cluster, check_rank=False)
    sub = data.loc[prep.mask]
    return prep, sub


def _refit(formula, sub, prep: Prepared, cov_type) -> OLSResult:
    # no by=: a single OLSResult
    return cast(OLSResult, ols(formula, sub, weights=prep.weights, cluster=prep.cluster,
                               cov_type=cov_type))


# --- stepwise ----------------------------------------------------------------------------
@dataclass
class StepwiseResult:
    """Outcome of :func:`stepwise`.

    Attributes
    ----------
    formula : str
        The chosen specification.
    model : OLSResult
        The chosen specification refitted on the selection sample.
    path : pandas.DataFrame
        One row per step: step, action ("start", "enter", "remove"), variable, p_value
        (joint Wald test of the variable's block when it entered or left), rsquared and
        n_terms (variables in the model) after the step, n_columns (design columns).
    selected, candidates : list of str
        Chosen variables (formula order of entry) and all candidate variables.
    n_dropped : int
        Rows excluded from the selection sample for missing values.
    """

    formula: str
    model: OLSResult
    path: pd.DataFrame
    selected: list[str]
    candidates: list[str]
    n_dropped: int
    direction: str
    p_enter: float
    p_remove: float

    @property
    def not_selected(self) -> list[str]:
        """Candidate variables not chosen, in candidate order."""
        return [v for v in self.candidates if v not in self.selected]

    def summary(self) -> str:
        """Text report: settings, variables chosen, the step path and the refitted model's summary."""
        head = (
            f"{self.direction} stepwise (p_enter={self.p_enter}, p_remove={self.p_remove}): "
            f"{len(self.selected)} of {len(self.candidates)} variables selected\n"
            f"chosen: {self.formula}\n"
        )
        return head + self.path.to_string(index=False) + "\n\n" + self.model.summary()


@dataclass
class _Fit:
    """One candidate fit: coefficients, their covariance and the weighted R^2."""

    params: np.ndarray
    cov: np.ndarray
    df_inference: float
    rsquared: float


class _Stepper:
    """Weighted least squares of column subsets on the fixed selection sample.

    Stepwise selection fits hundreds of candidate models (every remaining candidate at
    every step). Refitting each with statsmodels (a pseudo-inverse by SVD of the n x k
    design each time) costs seconds per step on survey-sized data, so this class is
    written here: the weighted Gram matrix X'WX and X'Wy of *all* candidate columns are
    formed once, each subset is solved from them (columns are standardised first, so
    the normal equations are well conditioned), and the covariance is the sandwich of
    every pmt model (:func:`pmt.models.covariance.cluster_meat`, linear-model factors:
    ``cluster``: G/(G-1)(N-1)/(N-K), t/F with G-1 d.f.; ``HC1``: N/(N-K); ``nonrobust``),
    as statsmodels'. tests/test_selection.py checks every quantity against statsmodels;
    the chosen model is refitted with statsmodels through :func:`pmt.ols`.
    """

    def __init__(self, prep: Prepared, cov_type: OLSCovType):
        self.prep = prep
        self.cov_type = _resolve_cov_type(cov_type, prep.cluster is not None)
        self.icpt, self.blocks = _blocks(prep)
        X, y = prep.X, prep.y
        assert y is not None  # prepare() requires a left-hand side by default, so y is set
        w = np.ones(prep.nobs) if prep.weights is None else prep.weights
        self.codes = None
        if self.cov_type == "cluster":
            # rows sorted by cluster once, so that every cluster meat is one np.add.reduceat
            codes = np.asarray(prep.cluster)
            order = np.argsort(codes, kind="stable")
            X, y, w = X[order], y[order], w[order]
            self.codes, self.n_clusters = cluster_codes(codes[order])
            if self.n_clusters < 2:
                raise ModelError("cluster-robust tests need at least 2 clusters.")
        # scale (not centre: the intercept column stays a column of ones) for conditioning
        self.scale = np.sqrt((X**2).mean(axis=0))
        self.scale[self.scale == 0] = 1.0
        self.Xs = np.asfortranarray(X / self.scale)  # column subsets are contiguous copies
        self.w, self.y = w, y
        Xw = self.Xs * w[:, None]
        self.gram = Xw.T @ self.Xs
        self.xty = Xw.T @ y
        ybar = np.sum(w * y) / w.sum()
        self.tss_centred = float(np.sum(w * (y - ybar) ** 2))
        self.tss_raw = float(np.sum(w * y**2))

    def columns(self, variables: Sequence[str]) -> list[int]:
        cols = list(self.icpt)
        for v in variables:
            cols += self.blocks[v]
        return cols

    def fit(self, variables: Sequence[str]) -> tuple[_Fit | None, list[int]]:
        """Fit the model with ``variables``; None when their columns are collinear."""
        cols = self.columns(variables)
        if not cols:
            return None, cols
        A = self.gram[np.ix_(cols, cols)]
        d = np.sqrt(np.diag(A))
        if np.any(d == 0):
            return None, cols
        corr = A / np.outer(d, d)
        if np.linalg.eigvalsh(corr).min() < 1e-10:
            return None, cols
        bread = np.linalg.inv(A)
        b = bread @ self.xty[cols]
        Xc = self.Xs[:, cols]
        e = self.y - Xc @ b
        n, k = Xc.shape
        ssr = float(np.sum(self.w * e**2))
        if self.cov_type == "nonrobust":
            cov = bread * ssr / (n - k)
            dfi = n - k
        else:
            meat = cluster_meat(Xc * (self.w * e)[:, None], self.codes)
            g = None if self.codes is None else self.n_clusters
            factor = small_sample_factor("linear", n, k, g)
            dfi = n - k if g is None else g - 1
            cov = sandwich(bread, meat, factor)
        tss = self.tss_centred if self.icpt else self.tss_raw
        sc = self.scale[cols]
        return _Fit(b / sc, cov / np.outer(sc, sc), float(dfi), 1.0 - ssr / tss), cols

    def block_p(self, res: _Fit, cols: list[int], variable: str) -> float:
        """Joint Wald F test of a variable's block (q restrictions, ``df_inference``)."""
        pos = [cols.index(j) for j in self.blocks[variable]]
        b = res.params[pos]
        V = res.cov[np.ix_(pos, pos)]
        F = float(b @ np.linalg.solve(V, b)) / len(pos)
        return float(stats.f.sf(F, len(pos), res.df_inference))


@renamed_arguments(
    positional=("direction", "p_enter", "p_remove", "weights", "cluster", "cov_type", "max_terms", "force", "response", "survey", "criterion"),
)
def stepwise(
    formula_or_candidates,
    data: pd.DataFrame,
    *,
    direction: Literal["forward", "backward", "both"] = "forward",
    p_enter: float = 0.05,
    p_remove: float = 0.10,
    weights=None,
    cluster=None,
    cov_type: OLSCovType | None = None,
    max_terms: int | None = None,
    force: Sequence[str] | str | None = None,
    response: str | None = None,
    survey: Survey | None = None,
    criterion: Literal["pvalue", "rsquared"] = "pvalue",
) -> StepwiseResult:
    """Stepwise selection of PMT proxies by cluster-robust joint Wald tests.

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    formula_or_candidates : str or list of str
        The full candidate model ``"log_pcc ~ rooms + car + C(region) + ..."``, or a list
        of candidate terms with ``response=``.
    data : pandas.DataFrame
        One row per household.
    direction : {"forward", "backward", "both"}
        "forward": start from the forced variables (and the intercept) and, at each step,
        add the candidate with the smallest p-value if it is below ``p_enter``.
        "backward": start from all candidates and remove the one with the largest p-value
        while it exceeds ``p_remove``. "both": forward, and after each entry remove the
        weakest included variable if its p-value exceeds ``p_remove`` (Stata's
        ``stepwise, pe() pr() forward``); a variable just removed cannot re-enter at the
        next step.
    p_enter, p_remove : float
        Significance levels to enter and to stay (p_enter <= p_remove avoids cycling).
    weights, cluster, cov_type, survey
        As in :func:`pmt.ols`; the tests use the same (by default cluster-robust)
        covariance: an F test of the variable's block with the inference degrees of
        freedom (G-1 with clusters), from statsmodels' ``wald_test``.
    max_terms : int, optional
        Stop forward selection once this many variables (forced ones included) are in.
    force : str or list of str, optional
        Variables always kept (e.g. ``["C(region)"]``).
    response : str, optional
        Welfare column when candidates are given as a list.
    criterion : {"pvalue", "rsquared"}
        Which candidate enters among those with p < ``p_enter``: the most significant
        (smallest p), or the one that raises the weighted R^2 most ("added contribution in
        predicting welfare", as described for the Uzbekistan 2019 PMT). Removal always
        uses p-values.

    Returns
    -------
    StepwiseResult
        ``formula``, refitted ``model``, ``path`` table, ``selected`` variables.
    """
    if direction not in ("forward", "backward", "both"):
        raise ModelError(f"direction must be 'forward', 'backward' or 'both'; got {direction!r}.")
    if criterion not in ("pvalue", "rsquared"):
        raise ModelError(f"criterion must be 'pvalue' or 'rsquared'; got {criterion!r}.")
    for name, p in (("p_enter", p_enter), ("p_remove", p_remove)):
        if not (0 < p < 1):
            raise ModelError(f"{name} must be a probability in (0, 1); got {p!r}.")
    if max_terms is not None and (int(max_terms) != max_terms or max_terms < 1):
        raise ModelError(f"max_terms must be a positive integer; got {max_terms!r}.")
    cand = _candidates(formula_or_candidates, response, force)
    prep, sub = _sample(cand.formula, data, weights, cluster, survey)
    cov_type = _resolve_cov_type(cov_type, prep.cluster is not None)
    step = _Stepper(prep, cov_type)
    variables = list(cand.pieces)
    forced = list(cand.force)
    rows: list[dict] = []

    def record(action, variable, p, res, current):
        rows.append(
            {
                "step": len(rows),
                "action": action,
                "variable": variable,
                "p_value": p,
                "rsquared": res.rsquared if res is not None else 0.0,
                "n_terms": len(current),
                "n_columns": len(step.columns(current)),
            }
        )

    if direction == "backward":
        current = list(variables)
        res, cols = step.fit(current)
        if res is None:
            prep.design.check_rank(prep.X)  # raises ModelError naming the collinear terms
            raise ModelError(
                f"the candidate design of {cand.formula!r} is nearly singular; drop redundant "
                "candidates before backward selection."
            )
        record("start", None, np.nan, res, current)
        while True:
            free = [v for v in current if v not in forced]
            if not free:
                break
            # res is the fit of a non-empty subset of a non-singular design (checked above)
            ps = {v: step.block_p(cast(_Fit, res), cols, v) for v in free}
            worst = max(ps, key=lambda v: ps[v])
            if not ps[worst] > p_remove:
                break
            current.remove(worst)
            res, cols = step.fit(current)
            record("remove", worst, ps[worst], res, current)
    else:
        current = list(forced)
        res, cols = step.fit(current)
        if current and res is None:
            raise ModelError(f"the forced variables {forced} are collinear.")
        record("start", None, np.nan, res, current)
        just_removed = None
        for _ in range(4 * len(variables) + 10):
            if max_terms is not None and len(current) >= max_terms:
                break
            ps, r2 = {}, {}
            for v in variables:
                if v in current or v == just_removed:
                    continue
                r, c = step.fit([*current, v])
                if r is not None:
                    ps[v] = step.block_p(r, c, v)
                    r2[v] = r.rsquared
            eligible = [v for v in ps if ps[v] < p_enter]
            if not eligible:
                break
            if criterion == "pvalue":
                best = min(eligible, key=lambda v: ps[v])
            else:
                best = max(eligible, key=lambda v: r2[v])
            current.append(best)
            res, cols = step.fit(current)
            assert res is not None  # the same fit was not None when best was scored
            record("enter", best, ps[best], res, current)
            just_removed = None
            if direction == "both":
                free = [v for v in current if v not in forced and v != best]
                if free:
                    pr = {v: step.block_p(res, cols, v) for v in free}
                    worst = max(pr, key=lambda v: pr[v])
                    if pr[worst] > p_remove:
                        current.remove(worst)
                        res, cols = step.fit(current)
                        record("remove", worst, pr[worst], res, current)
                        just_removed = worst
        else:
            warnings.warn(
                "stepwise stopped after the maximum number of steps (variables cycling in and "
                "out); use p_enter < p_remove.",
                stacklevel=2,
            )
    chosen = _formula(cand, current)
    if not current and not cand.intercept:
        raise ModelError("stepwise selected no variable and the model has no intercept.")
    model = _refit(chosen, sub, prep, cov_type)
    path = pd.DataFrame(
        rows, columns=["step", "action", "variable", "p_value", "rsquared", "n_terms", "n_columns"]
    )
    return StepwiseResult(
        chosen, model, path, list(current), variables, prep.n_dropped, direction, p_enter, p_remove
    )


# --- lasso -------------------------------------------------------------------------------
@dataclass
class LassoResult:
    """Outcome of :func:`lasso_select`.

    Attributes
    ----------
    formula : str
        Intercept plus the kept variables (a categorical is kept whole when any of its
        dummies has a non-zero lasso coefficient).
    model : OLSResult
        OLS refitted on the kept variables (post-lasso OLS) on the selection sample.
    kept, dropped : list of str
        Variables kept and dropped.
    alpha : float
        The chosen penalty (``rule``: "min" CV error, or "1se" the largest alpha within one
        standard error of the minimum).
    coef : pandas.Series
        Lasso coefficients at ``alpha`` by design term, per standard deviation of the term.
    path : pandas.DataFrame
        One row per alpha: alpha, cv_mse (weighted, mean over folds), cv_se, n_nonzero
        (design columns), n_variables and the variables with a non-zero coefficient.
    path_coef : pandas.DataFrame
        Full-sample lasso coefficients (per s.d.) by alpha (rows) and term (columns).
    n_dropped : int
        Rows excluded for missing values.
    """

    formula: str
    model: OLSResult
    kept: list[str]
    dropped: list[str]
    alpha: float
    alpha_min: float
    rule: str
    coef: pd.Series
    path: pd.DataFrame
    n_dropped: int
    cv_folds: str
    path_coef: pd.DataFrame | None = None

    def summary(self) -> str:
        """Text report: alpha, variables kept and dropped, and the post-lasso OLS summary."""
        return (
            f"lasso ({self.cv_folds}, rule={self.rule}): alpha = {self.alpha:.6g}; kept "
            f"{len(self.kept)} variables, dropped {len(self.dropped)}: "
            f"{', '.join(self.dropped) or '-'}\nchosen: {self.formula}\n\n" + self.model.summary()
        )


@renamed_arguments(
    positional=("weights", "cluster", "cv", "seed", "rule", "n_alphas", "cov_type", "survey"),
)
def lasso_select(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    cluster=None,
    cv: int = 5,
    seed: int = 0,
    rule: Literal["min", "1se"] = "min",
    n_alphas: int = 100,
    cov_type: OLSCovType | None = None,
    survey: Survey | None = None,
) -> LassoResult:
    """Lasso variable selection with cross-validated penalty, then post-lasso OLS.

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    scikit-learn's ``LassoCV`` is fitted on the same design matrix as the OLS model
    (dummies for ``C()`` terms, intercept left to the lasso), with every column
    standardised by its weighted mean and standard deviation (``StandardScaler`` with
    sample weights) so that the penalty treats proxies alike, and with the survey
    weights as ``sample_weight`` (weighted fit and weighted CV error). With a cluster the
    folds are ``GroupKFold`` on the cluster (whole PSUs are left out, so CV error is not
    flattered by within-PSU correlation); otherwise shuffled ``KFold``. Both are seeded.

    Parameters
    ----------
    formula : str
        The full candidate model.
    data, weights, cluster, survey
        As in :func:`pmt.ols`.
    cv : int
        Number of folds (>= 2).
    seed : int
        Seed of the fold assignment, passed to scikit-learn as ``random_state`` (same
        seed, same folds, same answer). ``GroupKFold(shuffle=True)`` needs
        scikit-learn >= 1.6.
    rule : {"min", "1se"}
        Penalty choice: minimum CV error, or the sparsest model within one standard error.
    n_alphas : int
        Length of the penalty grid.
    cov_type : str, optional
        Covariance of the refitted OLS.

    Returns
    -------
    LassoResult
    """
    if int(cv) != cv or cv < 2:
        raise ModelError(f"cv must be an integer >= 2 (folds); got {cv!r}.")
    if rule not in ("min", "1se"):
        raise ModelError(f"rule must be 'min' or '1se'; got {rule!r}.")
    cand = _candidates(formula, None, None)
    prep, sub = _sample(cand.formula, data, weights, cluster, survey)
    icpt, blocks = _blocks(prep)
    cols = [j for j in range(prep.X.shape[1]) if j not in icpt]
    if not cols:
        raise ModelError(f"formula {formula!r} has no candidate terms to select from.")
    names = [prep.design.term_names[j] for j in cols]
    X = prep.X[:, cols]
    w = np.ones(prep.nobs) if prep.weights is None else prep.weights
    const = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if const.size:
        raise ModelError(
            f"term(s) {', '.join(names[j] for j in const)} are constant in the estimation "
            "sample; drop them before the lasso."
        )
    Xs = StandardScaler().fit_transform(X, sample_weight=w)
    y = prep.y
    if prep.cluster is not None:
        n_groups = int(np.unique(prep.cluster).size)
        if n_groups < cv:
            raise ModelError(f"cv={cv} folds need at least {cv} clusters; there are {n_groups}.")
        splitter = GroupKFold(n_splits=int(cv), shuffle=True, random_state=seed)
        folds = list(splitter.split(Xs, y, groups=prep.cluster))
        fold_text = f"{cv}-fold GroupKFold by cluster"
    else:
        splitter = KFold(n_splits=int(cv), shuffle=True, random_state=seed)
        folds = list(splitter.split(Xs, y))
        fold_text = f"{cv}-fold KFold"
    lcv = LassoCV(alphas=int(n_alphas), cv=folds, max_iter=10_000, tol=1e-6, random_state=seed)
    lcv.fit(Xs, y, sample_weight=w)
    alphas = lcv.alphas_
    mse = lcv.mse_path_.mean(axis=1)
    se = lcv.mse_path_.std(axis=1, ddof=1) / np.sqrt(lcv.mse_path_.shape[1])
    i_min = int(np.argmin(mse))
    if rule == "min":
        alpha = float(lcv.alpha_)
    else:
        ok = np.flatnonzero(mse <= mse[i_min] + se[i_min])
        alpha = float(alphas[ok].max())
    # Coefficient path on the full sample in one call of scikit-learn's lasso_path (which
    # takes no sample weights): the weighted lasso with an intercept equals the plain
    # lasso without one on rows centred at the weighted means and multiplied by
    # sqrt(w / mean(w)) (scikit-learn normalises sample weights to sum to n the same way).
    sw = w / w.mean()
    xm = np.average(Xs, axis=0, weights=w)
    ym = np.average(y, weights=w)
    root = np.sqrt(sw)[:, None]
    _, coefs, _ = lasso_path(
        (Xs - xm) * root, (y - ym) * root[:, 0], alphas=alphas, max_iter=10_000, tol=1e-6
    )
    path_rows = []
    var_of = [prep.design.terms[j].variable for j in cols]
    for i, (a, m, s) in enumerate(zip(alphas, mse, se, strict=True)):
        nz = np.flatnonzero(coefs[:, i] != 0)
        kept_vars = list(dict.fromkeys(var_of[j] for j in nz))
        path_rows.append(
            {
                "alpha": float(a),
                "cv_mse": float(m),
                "cv_se": float(s),
                "n_nonzero": int(nz.size),
                "n_variables": len(kept_vars),
                "variables": ", ".join(kept_vars),
            }
        )
    final = Lasso(alpha=alpha, max_iter=10_000, tol=1e-6).fit(Xs, y, sample_weight=w)
    chosen_coef = pd.Series(final.coef_, index=names, name="lasso_coef_std")
    nz = np.flatnonzero(final.coef_ != 0)
    kept_set = {var_of[j] for j in nz}
    kept = [v for v in cand.pieces if v in kept_set]
    dropped = [v for v in cand.pieces if v not in kept_set]
    if not kept:
        warnings.warn(
            "the lasso kept no variable at the chosen penalty; the refitted model has only "
            "the intercept.",
            stacklevel=2,
        )
    chosen = _formula(cand, kept)
    model = _refit(chosen, sub, prep, cov_type)
    return LassoResult(
        chosen,
        model,
        kept,
        dropped,
        alpha,
        float(lcv.alpha_),
        rule,
        chosen_coef,
        pd.DataFrame(path_rows),
        prep.n_dropped,
        fold_text,
        pd.DataFrame(coefs.T, index=pd.Index(alphas, name="alpha"), columns=names),
    )
