"""Drift between the survey a PMT was fitted on and the registry it scores.

A proxy means test is fitted on a household survey and applied, for years, to a social
registry filled in by applicants and enumerators. When the registry's answers are
distributed differently from the survey's (more cars, another region mix, more rooms), the
survey's targeting figures no longer describe the programme. :func:`drift` compares the two,
proxy by proxy, on the score and on coverage at the cut-off:

Proxy distributions
    For each raw input column the model or scorecard reads: categorical proxies by the
    share of each category; numeric proxies by bins cut at the survey's weighted quantiles
    (``bins`` groups, cut-points c_k = weighted quantile at k/bins as in
    :func:`pmt.quantile_groups`, repeated cut-points merged; bin j holds c_{j-1} < x <= c_j,
    the first and last bins are open), so each bin holds about 1/bins of the survey. A
    numeric proxy with at most ``bins`` distinct survey values (0/1 answers, small counts)
    gets one bin per value instead (cut-points = its values), plus the open bin above the
    largest, so that a rare answer (95 % own a TV) is not merged into its neighbour.
    Survey shares use the survey's household weights, registry shares the registry rows
    (or ``registry_weights``). Both are shares of **scored** records: records the model
    cannot score are counted and reported (per proxy and per reason), never dropped
    silently and never binned.
Population stability index
    PSI = sum_i (r_i - s_i) ln(r_i / s_i) over bins or categories, r the registry shares
    and s the survey shares (Siddiqi 2006, ch. 8; Yurdakul 2018). A share of zero would
    make the index infinite, so shares below :data:`PSI_FLOOR` (0.0001) are raised to it
    before the sum (without renormalising); a bin empty in both samples adds 0. Credit
    scoring practice reads PSI < 0.10 as no shift, 0.10-0.25 as a moderate shift and
    >= 0.25 as a major shift (:data:`PSI_MODERATE`, :data:`PSI_MAJOR`).
Standardised difference
    Numeric proxies: d = (mean_r - mean_s) / sqrt((var_r + var_s) / 2), weighted means and
    weighted variances sum w (x - mean)^2 / sum w (Austin 2009; Austin and Stuart 2015).
    Categorical proxies: d_k for the 0/1 indicator of each category k,
    (r_k - s_k) / sqrt((r_k (1 - r_k) + s_k (1 - s_k)) / 2) (Austin 2009, eq. 2); the
    proxy's ``std_diff`` is the d_k largest in absolute value (the level is shown in the
    distribution table). |d| > 0.1 is Austin's threshold of a meaningful imbalance
    (:data:`STD_DIFF_LIMIT`). d is 0 when both samples are constant at the same value.
Flags
    ``"major"`` when PSI >= 0.25; ``"moderate"`` when 0.10 <= PSI < 0.25 or |d| > 0.1;
    ``"none"`` otherwise. The score's own PSI (deciles of the survey's scores) is flagged
    the same way.
Coverage
    Survey-implied coverage is the weighted share of scored survey households below the
    cut-off (eligible); registry-realised coverage is the (weighted) share of scored
    registry records below it; in total and by ``region``, beside each region's share of
    households in both and the records that could not be scored. Both are **household**
    shares (registry rows are households), not the person-weighted coverage of
    :func:`pmt.targeting_metrics`.

Scoring reuses :mod:`pmt.registry_scoring` (its readers, its chunk validation and its
scorers), so a record is scored here exactly when ``pmt score`` scores it; a registry file
is read in chunks of ``chunksize`` records and only bin counts, moments and region totals
are kept, so memory does not grow with the registry. A DataFrame registry goes through the
same chunks. Counts and shares do not depend on the chunk size; means and variances are
sums of per-chunk sums, equal to the last bits of a float.

The PSI, standardised differences and flags are our own short code: no library of the
ecosystem computes them on binned streaming counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pmt._validation import check_weights
from pmt.errors import DataError, WeightError, example_rows
from pmt.models.formula import level_label
from pmt.registry_scoring import (
    _READ_FORMATS,
    ModelScorer,
    ScorecardScorer,
    _ChunkScorer,
    _codes,
    _file_columns,
    _id_column,
    _numbers,
    _rechunk,
    _resolve_scorer,
    registry_chunks,
)
from pmt.scorecard import map_codes

__all__ = [
    "PSI_FLOOR",
    "PSI_MAJOR",
    "PSI_MODERATE",
    "STD_DIFF_LIMIT",
    "DriftReport",
    "drift",
    "population_stability_index",
    "standardized_difference",
]

#: Smallest share used in the PSI: shares below it are raised to it (zero shares would make
#: ln(r / s) infinite).
PSI_FLOOR = 1e-4
#: PSI at or above which a proxy shows a moderate shift (Siddiqi 2006).
PSI_MODERATE = 0.10
#: PSI at or above which a proxy shows a major shift (Siddiqi 2006).
PSI_MAJOR = 0.25
#: |standardised difference| above which a proxy is imbalanced (Austin 2009).
STD_DIFF_LIMIT = 0.10
#: Label of records whose region is missing, in the coverage table.
MISSING_REGION = "(missing)"
#: Number of equal-width bins of the score histogram drawn in the report.
HISTOGRAM_BINS = 40


# --------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------
def _psi_terms(survey_shares, registry_shares, floor: float = PSI_FLOOR) -> np.ndarray:
    s = np.maximum(np.asarray(survey_shares, dtype=float), floor)
    r = np.maximum(np.asarray(registry_shares, dtype=float), floor)
    return (r - s) * np.log(r / s)


def population_stability_index(survey_shares, registry_shares,
                               floor: float = PSI_FLOOR) -> float:
    """Population stability index of two distributions over the same bins.

    Parameters
    ----------
    survey_shares, registry_shares : array-like
        Shares of each bin or category (each summing to 1) in the reference sample (the
        survey) and the compared one (the registry), in the same order.
    floor : float, default :data:`PSI_FLOOR`
        Shares below ``floor`` are raised to it before the sum, so that a bin empty in one
        sample adds a large but finite term.

    Returns
    -------
    float
        PSI = sum_i (r_i - s_i) ln(r_i / s_i) >= 0 (the symmetrised Kullback-Leibler
        divergence); 0.10 and 0.25 are the usual moderate and major thresholds (Siddiqi,
        *Credit Risk Scorecards*, 2006).
    """
    if np.shape(survey_shares) != np.shape(registry_shares):
        raise DataError("`survey_shares` and `registry_shares` must have the same length; got "
                        f"{np.size(survey_shares)} and {np.size(registry_shares)}.")
    return float(np.sum(_psi_terms(survey_shares, registry_shares, floor)))


def standardized_difference(mean_survey: float, var_survey: float, mean_registry: float,
                            var_registry: float) -> float:
    """Standardised difference of means, (mean_r - mean_s) / sqrt((var_r + var_s) / 2).

    Austin (2009), "Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples", *Statistics in
    Medicine* 28: 3083-3107; |d| > 0.1 marks a meaningful difference. For a 0/1 variable pass
    its shares p and p (1 - p). Returns 0 when both variances are 0 and the means are
    equal, and +-inf when only the means differ.
    """
    diff = float(mean_registry) - float(mean_survey)
    pooled = math.sqrt(max((float(var_registry) + float(var_survey)) / 2.0, 0.0))
    if pooled == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled


def _flag(psi: float, std_diff: float) -> str:
    if psi >= PSI_MAJOR:
        return "major"
    if psi >= PSI_MODERATE or abs(std_diff) > STD_DIFF_LIMIT:
        return "moderate"
    return "none"


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------
class DriftReport(pd.DataFrame):
    """What :func:`drift` found: one row per proxy, and the other tables as attributes.

    The report **is** a DataFrame (one row per proxy, most shifted first) with columns
    ``proxy``, ``kind`` (categorical or numeric), ``n_bins`` (categories or bins),
    ``psi``, ``std_diff``, ``flag`` ("none", "moderate", "major"), ``survey_mean`` and
    ``registry_mean`` (numeric proxies), ``registry_invalid`` (registry records whose value
    of this proxy cannot be used: missing, not a number, an unknown code, outside the spec),
    ``registry_invalid_share``, ``registry_outside_training`` (scored records outside the
    range seen in training) and, with a spec, ``verifiable``. Derived frames (a filter, a
    copy) are plain DataFrames; :attr:`table` is one.

    Attributes
    ----------
    distributions : pandas.DataFrame
        Long table, one row per proxy and bin/category: ``proxy``, ``bin`` (the category
        code or the bin), ``label`` (with a spec: the code's label), ``lower`` and ``upper`` (bin edges: lower < x <= upper; NaN for categories),
        ``survey_share``, ``registry_share``, ``difference`` (registry - survey),
        ``psi_term`` and ``std_diff`` (categories only).
    score_distribution : pandas.DataFrame
        The score in the survey's weighted deciles (``bins`` groups): the same columns.
    score_histogram : pandas.DataFrame
        Shares in :data:`HISTOGRAM_BINS` equal-width bins over the survey's score range
        (registry scores outside it counted in the end bins), for the chart.
    score_psi : float
        PSI of the score distribution; ``score_flag`` its flag.
    coverage : pandas.DataFrame
        Rows ``Total`` then each region (``region``; with a spec its ``label``):
        ``survey_households`` (weighted), ``survey_share``,
        ``registry_households`` (scored records, weighted), ``registry_share``,
        ``survey_coverage``, ``registry_coverage``, ``coverage_gap`` (registry - survey),
        ``registry_not_scored`` and ``survey_not_scored`` (records).
    records : pandas.DataFrame
        Rows survey and registry: ``rows``, ``scored``, ``not_scored``,
        ``not_scored_share``.
    unscored : pandas.DataFrame
        Records not scored per reason (``reason``, ``survey``, ``registry``; a record with
        two problems counts under both).
    score_name : str
        ``"xb"`` (a model's linear predictor, on the model's scale) or ``"score"`` (points).
    cutoff : float or None
        The cut-off used (a scorecard's points, or the model's threshold).
    """

    _metadata = ["distributions", "score_distribution", "score_histogram", "score_psi",
                 "score_flag", "coverage", "records", "unscored", "score_name", "cutoff",
                 "region", "bins"]

    @property
    def _constructor(self):
        # filters and copies of the report are plain DataFrames (without the attributes)
        return pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        """The per-proxy table as a plain DataFrame."""
        return pd.DataFrame(self, copy=True)

    @property
    def flagged_proxies(self) -> list[str]:
        """Proxies whose flag is not "none", most shifted first."""
        return [str(p) for p in self.loc[self["flag"] != "none", "proxy"]]

    def summary(self) -> str:
        """A few lines of plain text: rows scored, flagged proxies, score PSI, coverage."""
        rec = self.records
        lines = []
        for side in ("survey", "registry"):
            r = rec.loc[side]
            lines.append(f"{side:<9} {int(r['rows']):>12,} rows, {int(r['scored']):,} scored, "
                         f"{int(r['not_scored']):,} not scored")
        flagged = self.table[self["flag"] != "none"]
        if len(flagged):
            lines.append(f"flagged proxies ({len(flagged)} of {len(self)}; PSI >= "
                         f"{PSI_MODERATE:g} or |std diff| > {STD_DIFF_LIMIT:g}):")
            for _, row in flagged.iterrows():
                lines.append(f"  {row['proxy']:<24} {row['flag']:<9} PSI {row['psi']:.3f}  "
                             f"std diff {row['std_diff']:+.3f}")
        else:
            lines.append(f"no proxy flagged ({len(self)} compared).")
        lines.append(f"score ({self.score_name}) PSI {self.score_psi:.3f} ({self.score_flag})")
        total = self.coverage.iloc[0]
        if self.cutoff is not None:
            lines.append(f"coverage at the cut-off {self.cutoff:g}: survey-implied "
                         f"{total['survey_coverage']:.1%}, registry-realised "
                         f"{total['registry_coverage']:.1%} (shares of households: the "
                         "survey's weighted by its household weights, the registry's by its "
                         "weights if given, else its records)")
        return "\n".join(lines)

    def _figures(self):
        """(caption, figure) pairs: the score, coverage by region, flagged proxies."""
        out = [(f"Score ({self.score_name}): survey (weighted) and registry distributions; "
                f"PSI {self.score_psi:.3f}.", _histogram_figure(self.score_histogram,
                                                                self.cutoff, self.score_name))]
        if self.cutoff is not None and len(self.coverage) > 2:
            out.append(("Coverage at the cut-off by region: survey-implied (share of "
                        "households, survey weights) and registry-realised (share of records, "
                        "weighted if registry weights are given).",
                        _coverage_figure(self.coverage.iloc[1:])))
        for proxy in self.flagged_proxies:
            part = self.distributions[self.distributions["proxy"] == proxy]
            row = self.table.set_index("proxy").loc[proxy]
            out.append((f"{proxy}: survey (weighted) and registry shares; PSI {row['psi']:.3f}, "
                        f"std diff {row['std_diff']:+.3f} ({row['flag']}).",
                        _shares_figure(part, proxy)))
        return out

    def to_html(self, path: str | Path | None = None, *args, **kwargs):
        """The drift report as one self-contained HTML page (figures embedded as PNG).

        Parameters
        ----------
        path : str or Path, optional
            Where to write it (atomically; the folder is created). Without it the page is
            returned as a string.

        Returns
        -------
        pathlib.Path or str
            ``path``, or the HTML text when no path is given.
        """
        if args or kwargs:
            return pd.DataFrame(self).to_html(path, *args, **kwargs)
        import matplotlib.pyplot as plt

        from pmt.report import HtmlReport

        rep = HtmlReport("Drift between survey and registry",
                         f"{int(self.records.loc['registry', 'rows']):,} registry records "
                         f"against {int(self.records.loc['survey', 'rows']):,} survey households")
        rep.heading("Summary")
        rep.preformatted(self.summary())
        rep.text(
            f"PSI = sum (r - s) ln(r / s) over categories or over bins cut at the survey's "
            f"weighted quantiles, shares floored at {PSI_FLOOR:g}; moderate from "
            f"{PSI_MODERATE:g}, major from {PSI_MAJOR:g} (Siddiqi 2006). Standardised "
            f"difference: mean difference over the pooled standard deviation, per category "
            f"for categorical proxies (the largest shown); |d| > {STD_DIFF_LIMIT:g} is "
            "flagged (Austin 2009). Shares are of scored records; survey shares use the "
            "survey weights.", note=True)
        figures = self._figures()
        rep.heading("Proxies")
        rep.table(self.table, caption="Drift by proxy, most shifted first")
        rep.heading("Score distribution")
        caption, fig = figures[0]
        rep.figure(fig, caption)
        plt.close(fig)
        rep.table(self.score_distribution, caption="Score in the survey's weighted quantile "
                  "groups")
        rep.heading("Coverage at the cut-off")
        if self.cutoff is None:
            rep.text("No cut-off: pass cutoff= (or use a scorecard or an artifact with a "
                     "threshold) to compare coverage.")
        rep.table(self.coverage, caption="Survey-implied and registry-realised coverage "
                  "(household shares below the cut-off)")
        rest = figures[1:]
        if rest and rest[0][0].startswith("Coverage"):
            caption, fig = rest.pop(0)
            rep.figure(fig, caption)
            plt.close(fig)
        rep.heading("Records not scored")
        rep.table(self.records, caption="Records scored and not scored")
        if len(self.unscored):
            rep.table(self.unscored, caption="Records not scored, by reason (a record may have "
                      "several)")
        else:
            rep.text("Every record was scored.")
        rep.annex()
        rep.heading("Distributions of the flagged proxies")
        if not rest:
            rep.text("No proxy is flagged.")
        for caption, fig in rest:
            rep.figure(fig, caption)
            plt.close(fig)
        rep.heading("Distributions of every proxy")
        rep.table(self.distributions, caption="Survey and registry shares by proxy and bin")
        if path is None:
            return rep.render()
        return rep.save(path)

    def to_xlsx(self, path: str | Path) -> Path:
        """Write the tables to one workbook (atomically): drift by proxy, distributions,
        score, coverage, records not scored; returns ``path``.
        """
        from pmt.report import write_xlsx

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tables = {
            "Drift by proxy": self.table,
            "Proxy distributions": self.distributions,
            "Score distribution": self.score_distribution,
            "Coverage at the cut-off": self.coverage,
            "Records scored": self.records.reset_index(),
            "Records not scored": self.unscored,
        }
        notes = {
            "Drift by proxy": (f"PSI moderate >= {PSI_MODERATE:g}, major >= {PSI_MAJOR:g} "
                               f"(Siddiqi 2006); |std diff| > {STD_DIFF_LIMIT:g} (Austin "
                               f"2009). Shares floored at {PSI_FLOOR:g}."),
            "Proxy distributions": "Bins cut at the survey's weighted quantiles: lower < x <= "
                                   "upper. Shares of scored records.",
            "Score distribution": f"PSI of the score {self.score_psi:.4f} ({self.score_flag}).",
            "Coverage at the cut-off": "Household shares below the cut-off: survey weighted, "
                                       "registry by record.",
        }
        return write_xlsx(tables, path, notes=notes)


# --------------------------------------------------------------------------------------
# figures (matplotlib, imported when a report is written)
# --------------------------------------------------------------------------------------
def _shares_figure(part: pd.DataFrame, title: str):
    from pmt.report.figures import _styled

    return _styled(_draw_shares_figure)(part, title)


def _draw_shares_figure(part: pd.DataFrame, title: str):
    import matplotlib.pyplot as plt

    from pmt.report.figures import A4_WIDTH, PALETTE, _finish

    fig, ax = plt.subplots(figsize=(A4_WIDTH, 2.8))
    x = np.arange(len(part))
    ax.bar(x - 0.2, 100 * part["survey_share"], 0.4, label="Survey (weighted)",
           color=PALETTE[0])
    ax.bar(x + 0.2, 100 * part["registry_share"], 0.4, label="Registry", color=PALETTE[1],
           hatch="//", edgecolor="white")
    ax.set_xticks(x)
    ax.set_xticklabels(_tick_texts(part, "bin"), rotation=45 if len(part) > 8 else 0,
                       ha="right" if len(part) > 8 else "center")
    ax.set_ylabel("Share of records (%)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return _finish(fig, "Source: pmt drift")


def _tick_texts(frame: pd.DataFrame, column: str) -> list[str]:
    """Codes, with the spec's labels where the frame has them ("8 Qashqadaryo")."""
    labels = frame["label"] if "label" in frame else [None] * len(frame)
    return [str(c) if not isinstance(lab, str) else f"{c} {lab}"
            for c, lab in zip(frame[column], labels, strict=True)]


def _histogram_figure(hist: pd.DataFrame, cutoff: float | None, name: str):
    from pmt.report.figures import _styled

    return _styled(_draw_histogram_figure)(hist, cutoff, name)


def _draw_histogram_figure(hist: pd.DataFrame, cutoff: float | None, name: str):
    import matplotlib.pyplot as plt

    from pmt.report.figures import A4_WIDTH, LINE_COLOR, PALETTE, _finish

    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.0))
    edges = np.append(hist["lower"].to_numpy(), hist["upper"].to_numpy()[-1])
    ax.stairs(100 * hist["survey_share"].to_numpy(), edges, label="Survey (weighted)",
              color=PALETTE[0], linewidth=1.6)
    ax.stairs(100 * hist["registry_share"].to_numpy(), edges, label="Registry",
              color=PALETTE[1], linewidth=1.6, linestyle="--")
    if cutoff is not None:
        ax.axvline(cutoff, color=LINE_COLOR, linestyle=":", label=f"Cut-off {cutoff:g}")
    ax.set_xlabel("Points" if name == "score" else "Score (model scale)")
    ax.set_ylabel("Share of records (%)")
    ax.legend(frameon=False)
    return _finish(fig, "Source: pmt drift; scores outside the survey's range are "
                        "counted in the end bins.")


def _coverage_figure(coverage: pd.DataFrame):
    from pmt.report.figures import _styled

    return _styled(_draw_coverage_figure)(coverage)


def _draw_coverage_figure(coverage: pd.DataFrame):
    import matplotlib.pyplot as plt

    from pmt.report.figures import A4_WIDTH, PALETTE, _finish

    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.0))
    x = np.arange(len(coverage))
    ax.bar(x - 0.2, 100 * coverage["survey_coverage"], 0.4, label="Survey-implied",
           color=PALETTE[0])
    ax.bar(x + 0.2, 100 * coverage["registry_coverage"], 0.4, label="Registry-realised",
           color=PALETTE[1], hatch="//", edgecolor="white")
    ax.set_xticks(x)
    ax.set_xticklabels(_tick_texts(coverage, "region"), rotation=45, ha="right")
    ax.set_ylabel("Households below the cut-off (%)")
    ax.legend(frameon=False)
    return _finish(fig, "Source: pmt drift")


# --------------------------------------------------------------------------------------
# proxies and tallies
# --------------------------------------------------------------------------------------
@dataclass
class _Proxy:
    name: str
    kind: Literal["categorical", "numeric"]
    lookup: dict[str, int] = field(default_factory=dict)  # categorical: label -> index
    cuts: np.ndarray = field(default_factory=lambda: np.empty(0))
    labels: list[str] = field(default_factory=list)
    center: float = 0.0  # survey mean: moments are summed around it (less cancellation)

    @property
    def n_bins(self) -> int:
        return len(self.lookup) if self.kind == "categorical" else len(self.cuts) + 1


@dataclass
class _Side:
    """Running sums of one sample: bin weights, moments, score bins, regions, counts."""

    counts: dict[str, np.ndarray] = field(default_factory=dict)
    moments: dict[str, np.ndarray] = field(default_factory=dict)  # sum w, w d, w d^2
    invalid: Counter = field(default_factory=Counter)
    score_bins: np.ndarray | None = None
    score_hist: np.ndarray | None = None
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # w, w scored, w eligible, n bad
    rows: int = 0
    scored: int = 0


def _proxies(scorer) -> list[_Proxy]:
    """The raw input columns the scorer reads, categorical ones with their levels."""
    levels: dict[str, list[str]] = {}
    if isinstance(scorer, ModelScorer):
        for var, (lookup, _) in scorer.cats.items():
            levels[var] = list(lookup)
    else:
        for q in scorer.sc.questions:
            if q.kind == "categorical":
                levels.setdefault(q.field, [])
                levels[q.field] += [k for k in q.lookup() if k not in levels[q.field]]
    out = []
    for f in scorer.fields:
        if f in levels:
            out.append(_Proxy(f, "categorical", {lab: i for i, lab in enumerate(levels[f])},
                              labels=list(levels[f])))
        else:
            out.append(_Proxy(f, "numeric"))
    return out


class _Chunks(_ChunkScorer):
    """Registry scoring's chunk validation, keeping each chunk's converted columns."""

    def _field_problems(self, table, n: int):
        cols, problems, invalid, flag = super()._field_problems(table, n)
        self.last = (cols, invalid)
        return cols, problems, invalid, flag

    def run(self, table) -> tuple[np.ndarray, dict, dict, dict]:
        """Score a chunk: (scored mask, scorer outputs, columns as numbers/codes, bad values)."""
        start = self.n_in
        scores, _, outputs = self.process(table)
        ok = np.zeros(table.num_rows, dtype=bool)
        if scores is not None:
            rows = scores.column("row").to_numpy(zero_copy_only=False)
            ok[np.asarray(rows, dtype=np.int64) - start] = True
        cols, invalid = self.last
        return ok, outputs, cols, invalid


def _region_codes(col, name: str) -> tuple[np.ndarray, list[str]]:
    """Region of each record as (code, labels); code -1 for a missing region."""
    values, blank = _codes(col, set(), name)
    if isinstance(values, pd.Series):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        labels = [str(c) for c in values.cat.categories]
    else:
        codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
        labels = [level_label(u) for u in uniques]
    codes = np.where(blank, -1, codes)
    return codes, labels


def _arrow_table(frame: pd.DataFrame, columns: list[str], what: str):
    """Columns of a DataFrame as an Arrow table (text, numbers and categories as they are)."""
    import pyarrow as pa

    arrays = {}
    for c in columns:
        try:
            arrays[c] = pa.array(frame[c], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"column '{c}' of the {what} mixes types ({exc}); make it all "
                            "numbers or all text.") from None
    return pa.table(arrays)


def _missing_columns(needed: list[str], columns: list[str], what: str, reader: str) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        shown = ", ".join(map(str, columns[:30])) + (" ..." if len(columns) > 30 else "")
        raise DataError(
            f"the {what} lacks column(s) {', '.join(map(repr, missing))} that the {reader} "
            f"reads; add them (same names and codes as the survey). Its columns: {shown}."
        )


def _chunk_weights(table, name: str | None, given: np.ndarray | None, start: int, n: int,
                   id_col: str | None) -> np.ndarray:
    """Registry weights of one chunk (ones without weights); WeightError for bad values."""
    if given is not None:
        return given[start:start + n]
    if name is None:
        return np.ones(n)
    num = _numbers(table.column(name), name)
    x = np.asarray(num.x, dtype=float)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        where = np.flatnonzero(bad)
        if id_col is not None:
            ids = table.column(id_col).take(where[:5]).to_pylist()
            rows = "records " + ", ".join(map(str, ids)) + (
                f" (and {len(where) - 5} more)" if len(where) > 5 else "")
        else:
            rows = example_rows(start + where)
        raise WeightError(f"`registry_weights` column '{name}' has {len(where)} missing, "
                          f"non-numeric, infinite or negative value(s) at {rows}: weights must "
                          "be non-negative numbers; fix them or drop those records.")
    return x


def _registry_source(registry, chunksize: int, engine: str):
    """(columns, id column, a function read_cols -> iterator of Arrow chunks, label)."""
    if isinstance(registry, pd.DataFrame):
        columns = [str(c) for c in registry.columns]
        if len(registry) == 0:
            raise DataError("the registry has no records (0 rows); nothing to compare.")

        def frame_chunks(read_cols: list[str]) -> Iterator:
            return _rechunk(iter([_arrow_table(registry, read_cols, "registry")]), chunksize)

        return columns, frame_chunks, "registry"
    if not isinstance(registry, str | Path):
        raise DataError(f"`registry` must be a pandas DataFrame or the path of a registry file "
                        f"(.csv, .parquet, .dta, .sav, .xlsx); got {type(registry).__name__}.")
    src = Path(registry)
    if not src.is_file():
        raise DataError(f"registry file {str(src)!r} does not exist.")
    fmt = _READ_FORMATS.get(src.suffix.lower())
    if fmt is None:
        raise DataError(f"registry {str(src)!r} must be .csv, .parquet, .dta, .sav or .xlsx; "
                        f"got {src.suffix or '(no suffix)'!r}.")
    if engine == "dask" and fmt not in ("csv", "parquet"):
        raise DataError(f"engine='dask' reads .csv and .parquet registries; {src.name} is read "
                        "in chunks by the pandas engine (use engine='pandas').")
    if src.stat().st_size == 0:
        raise DataError(f"registry {str(src)!r} is empty (0 bytes); export it again.")
    columns, total = _file_columns(src, fmt)
    if total == 0:
        raise DataError(f"registry {str(src)!r} has no records (0 rows); nothing to compare.")

    def tables(read_cols: list[str]) -> Iterator:
        # the readers of `pmt score`, re-cut to `chunksize` records
        return registry_chunks(src, read_cols, chunksize, fmt, engine, columns)

    return columns, tables, f"registry {src.name}"


# --------------------------------------------------------------------------------------
# drift
# --------------------------------------------------------------------------------------
def drift(
    model,
    registry,
    survey,
    *,
    weights=None,
    registry_weights=None,
    spec=None,
    region: str | None = None,
    cutoff: float | None = None,
    bins: int = 10,
    chunksize: int = 500_000,
    engine: Literal["pandas", "dask"] = "pandas",
) -> DriftReport:
    """Compare a registry (or a later survey round) with the survey a PMT was fitted on.

    Parameters
    ----------
    model : fitted model, Scorecard, or path
        A fitted single-equation linear-index model (OLS, quantile, probit/logit ...), a
        :class:`pmt.Scorecard`, or the path of a model artifact or scorecard JSON (loaded
        as ``pmt score`` loads them). Its raw input columns are the proxies compared.
    registry : pandas.DataFrame or path
        The records scored: a DataFrame, or a ``.csv``, ``.parquet``, ``.dta``, ``.sav`` or
        ``.xlsx`` file read in chunks of ``chunksize`` records (CSV cells are read as text,
        as by :func:`pmt.score_file`). A second survey round works the same way, with its
        weights as ``registry_weights``.
    survey : pandas.DataFrame or pmt.Survey
        The survey the model was fitted on (the reference distribution).
    weights : str or array-like, optional
        Household weights of the survey (a column name or one value per row); default: the
        Survey's household weights, else equal weights.
    registry_weights : str or array-like, optional
        Weights of the registry records (a column; an array only for a DataFrame registry),
        e.g. the survey weights of a second round. Default: every record counts once.
    spec : DataSpec or path, optional
        The registry's data spec: its ``role: id`` column identifies records (missing and
        repeated ids are not scored) and its codes and ranges are checked, as in
        ``pmt score``; adds the ``verifiable`` column.
    region : str, optional
        Column (in both) for coverage by region.
    cutoff : float, optional
        Eligibility cut-off: points for a scorecard (eligible if score < cutoff; default its
        own cut-off), the model's scale for a model (default the artifact's threshold; a
        probability for probit/logit).
    bins : int, default 10
        Quantile groups of numeric proxies and of the score (10: deciles of the survey).
    chunksize : int, default 500_000
        Records per chunk; counts and shares do not depend on it.
    engine : {"pandas", "dask"}
        "dask" reads CSV or Parquet registries with Dask (the ``scale`` extra).

    Returns
    -------
    DriftReport
        A DataFrame of proxies with ``proxy``, ``psi``, ``std_diff`` and ``flag`` (see the
        module docstring for the definitions and thresholds), the distributions, the score
        distribution, coverage and the records not scored as attributes;
        :meth:`DriftReport.to_html` and :meth:`DriftReport.to_xlsx` write them.

    Raises
    ------
    pmt.DataError
        A proxy (or ``region``, or the weights column) missing from the survey or the
        registry, an unreadable or empty registry, no scorable survey record, bad weights
        (:class:`pmt.errors.WeightError`), or a bad argument.
    pmt.ModelError
        A model that cannot score (or a bad cut-off).
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise DataError(f"`bins` must be an integer >= 2 (quantile groups); got {bins!r}.")
    if (isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer)
            or chunksize < 1):
        raise DataError(f"`chunksize` must be a positive integer; got {chunksize!r}.")
    if engine not in ("pandas", "dask"):
        raise DataError(f"`engine` must be 'pandas' or 'dask'; got {engine!r}.")
    if spec is not None and not hasattr(spec, "columns_with_role"):
        from pmt.spec import DataSpec

        spec = DataSpec.load(spec)

    scorer = _resolve_scorer(model, False, None)
    if isinstance(scorer, ModelScorer) and cutoff is not None:
        scorer = _resolve_scorer(model, False, cutoff)
    if isinstance(scorer, ScorecardScorer):
        score_name = "score"
        cut = scorer.sc.cutoff if cutoff is None else cutoff
        if cut is not None:
            try:
                cut = float(cut)
            except (TypeError, ValueError):
                raise DataError(f"`cutoff` must be a number of points; got {cutoff!r}.") from None
            if not math.isfinite(cut):
                raise DataError(f"`cutoff` must be a finite number of points; got {cutoff!r}.")
    else:
        score_name = "xb"
        cut = scorer.threshold
    reader = "scorecard" if isinstance(scorer, ScorecardScorer) else "model"
    proxies = _proxies(scorer)
    fields = list(scorer.fields)

    # --- the survey: one chunk, scored as the registry is ---------------------------------
    if hasattr(survey, "data") and isinstance(survey.data, pd.DataFrame):
        if weights is None and getattr(survey, "weight", None) is not None:
            weights = survey.weights("household")
        survey = survey.data
    if not isinstance(survey, pd.DataFrame):
        raise DataError(f"`survey` must be a pandas DataFrame or a pmt.Survey; got "
                        f"{type(survey).__name__}.")
    if len(survey) == 0:
        raise DataError("the survey has no rows.")
    survey_cols = [str(c) for c in survey.columns]
    _missing_columns(fields + ([region] if region else []), survey_cols, "survey", reader)
    w_survey = check_weights(weights, data=survey, name="weights")
    s_read = list(dict.fromkeys(fields + ([region] if region else [])))
    s_work = _Chunks(scorer, None, None, [], "ignore")
    s_table = _arrow_table(survey, s_read, "survey")
    s_ok, s_out, s_cols, s_invalid = s_work.run(s_table)
    if not s_ok.any():
        reasons = "; ".join(f"{k} ({v})" for k, v in s_work.reasons.most_common(5))
        raise DataError(f"no survey row can be scored by the {reader}: {reasons}. Check that "
                        "the survey has the columns and codes the model was fitted on.")
    s_score = np.asarray(s_out[score_name], dtype=float)
    ws_ok = w_survey[s_ok]
    for p in proxies:
        if p.kind == "numeric":
            x = np.asarray(s_cols[p.name], dtype=float)[s_ok]
            values = np.unique(x)
            if values.size <= bins:  # a discrete proxy (0/1, a count): one bin per value
                cuts = values
            else:
                cuts = np.unique(np.atleast_1d(_wq(x, ws_ok, np.arange(1, bins) / bins)))
            p.cuts = cuts
            p.center = float(np.average(x, weights=ws_ok)) if ws_ok.sum() > 0 else 0.0
            p.labels = _bin_labels(x, cuts)
    score_ok = s_score[s_ok]
    score_cuts = np.unique(np.atleast_1d(_wq(score_ok, ws_ok, np.arange(1, bins) / bins)))
    hist_edges = _histogram_edges(score_ok)

    def eligible_of(outputs: Mapping) -> np.ndarray | None:
        if score_name == "xb":
            e = outputs.get("eligible")
            return None if e is None else np.asarray(e, dtype=bool)
        if cut is None:
            return None
        return np.asarray(outputs["score"], dtype=float) < cut

    survey_side = _Side()
    s_region = _region_codes(s_table.column(region), region) if region else None
    _tally(survey_side, proxies, s_ok, s_out, s_cols, s_invalid, w_survey, s_region,
           eligible_of(s_out), score_name, score_cuts, hist_edges)

    # --- the registry, chunk by chunk -----------------------------------------------------
    columns, tables, what = _registry_source(registry, int(chunksize), engine)
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise DataError(f"the {what} has repeated column name(s) {', '.join(dup)}; rename them.")
    _missing_columns(fields + ([region] if region else []), columns, what, reader)
    id_col = _id_column(columns, spec, None)
    w_given = None
    w_name: str | None = None
    if registry_weights is not None:
        if isinstance(registry_weights, str):
            if registry_weights not in columns:
                raise WeightError(f"`registry_weights` column '{registry_weights}' is not in the "
                                  f"{what}; its columns: {', '.join(columns[:30])}.")
            w_name = registry_weights
        elif isinstance(registry, pd.DataFrame):
            w_given = check_weights(registry_weights, data=registry, name="registry_weights")
        else:
            raise WeightError("`registry_weights` of a registry file must be a column name.")
    r_read = list(dict.fromkeys(([id_col] if id_col else []) + fields
                                + ([region] if region else []) + ([w_name] if w_name else [])))
    r_work = _Chunks(scorer, spec, id_col, [], "flag")
    registry_side = _Side()
    for table in tables(r_read):
        start = r_work.n_in
        ok, out, cols, invalid = r_work.run(table)
        w = _chunk_weights(table, w_name, w_given, start, table.num_rows, id_col)
        reg_codes = _region_codes(table.column(region), region) if region else None
        _tally(registry_side, proxies, ok, out, cols, invalid, w, reg_codes, eligible_of(out),
               score_name, score_cuts, hist_edges)
    if r_work.n_in == 0:
        raise DataError(f"the {what} has a header but no records; nothing to compare.")

    return _report(proxies, survey_side, registry_side, s_work, r_work, spec, score_name,
                   score_cuts, hist_edges, cut, region, bins)


def _histogram_edges(score: np.ndarray) -> np.ndarray:
    """Edges of about :data:`HISTOGRAM_BINS` equal bins over the survey's scores; whole
    points (scorecards) get bins centred on whole numbers, so that no bin holds more
    values than its neighbours.
    """
    lo, hi = float(score.min()), float(score.max())
    if np.all(score == np.round(score)):
        width = max(1, math.ceil((hi - lo + 1) / HISTOGRAM_BINS))
        n = math.ceil((hi - lo + 1) / width)
        return lo - 0.5 + width * np.arange(n + 1)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, HISTOGRAM_BINS + 1)


def _wq(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    from pmt.survey import weighted_quantile

    return np.asarray(weighted_quantile(x, w, q), dtype=float)


def _fmt(v: float) -> str:
    return level_label(float(v)) if float(v).is_integer() else f"{v:.4g}"


def _bin_labels(x: np.ndarray, cuts: np.ndarray) -> list[str]:
    """A bin's label: its survey value when it holds one value, else its interval."""
    idx = np.searchsorted(cuts, x, side="left")
    labels = []
    for j in range(len(cuts) + 1):
        vals = x[idx == j]
        if vals.size and vals.min() == vals.max():
            labels.append(_fmt(vals.min()))
        elif j == 0:
            labels.append(f"<= {_fmt(cuts[0])}")
        elif j == len(cuts):
            labels.append(f"> {_fmt(cuts[-1])}")
        else:
            labels.append(f"({_fmt(cuts[j - 1])}, {_fmt(cuts[j])}]")
    return labels


def _tally(side: _Side, proxies: list[_Proxy], ok: np.ndarray, outputs: Mapping, cols: Mapping,
           invalid: Mapping, w: np.ndarray, region, eligible: np.ndarray | None,
           score_name: str, score_cuts: np.ndarray, hist_edges: np.ndarray) -> None:
    """Add one chunk's bin weights, moments, score bins and region totals to ``side``."""
    n = ok.shape[0]
    side.rows += n
    side.scored += int(ok.sum())
    wk = w[ok]
    for p in proxies:
        if p.kind == "categorical":
            idx = np.asarray(map_codes(cols[p.name], p.lookup)[0], dtype=np.int64)
            bad = idx < 0
            counts = np.bincount(idx[ok & ~bad], weights=w[ok & ~bad], minlength=p.n_bins)
        else:
            x = np.asarray(cols[p.name], dtype=float)
            bad = ~np.isfinite(x)
            xk = x[ok]
            counts = np.bincount(np.searchsorted(p.cuts, xk, side="left"), weights=wk,
                                 minlength=p.n_bins)
            d = xk - p.center
            mom = np.array([wk.sum(), (wk * d).sum(), (wk * d * d).sum()])
            side.moments[p.name] = side.moments.get(p.name, 0) + mom
        if p.name in invalid:
            bad = bad | invalid[p.name]
        side.invalid[p.name] += int(bad.sum())
        side.counts[p.name] = side.counts.get(p.name, 0) + counts
    score = np.asarray(outputs[score_name], dtype=float)[ok]
    sb = np.bincount(np.searchsorted(score_cuts, score, side="left"), weights=wk,
                     minlength=len(score_cuts) + 1)
    side.score_bins = sb if side.score_bins is None else side.score_bins + sb
    inner = np.clip(np.searchsorted(hist_edges, score, side="right") - 1, 0,
                    len(hist_edges) - 2)
    sh = np.bincount(inner, weights=wk, minlength=len(hist_edges) - 1)
    side.score_hist = sh if side.score_hist is None else side.score_hist + sh
    elig = np.zeros(n, dtype=bool) if eligible is None else (eligible & ok)
    codes, labels = region if region is not None else (np.zeros(n, dtype=np.int64), ["Total"])
    k = len(labels) + 1
    pos = np.where(codes < 0, len(labels), codes)
    sums = np.column_stack([
        np.bincount(pos, weights=w, minlength=k),
        np.bincount(pos, weights=w * ok, minlength=k),
        np.bincount(pos, weights=w * elig, minlength=k),
        np.bincount(pos, weights=(~ok).astype(float), minlength=k),
    ])
    for i, label in enumerate([*labels, MISSING_REGION]):
        if sums[i].any():
            side.regions[label] = side.regions.get(label, 0) + sums[i]


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts, dtype=float)


def _or_zeros(counts: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n) if counts is None else counts


def _level_std_diffs(s: np.ndarray, r: np.ndarray) -> np.ndarray:
    return np.array([standardized_difference(a, a * (1 - a), b, b * (1 - b))
                     for a, b in zip(s, r, strict=True)])


def _mean_var(m: np.ndarray | int, center: float) -> tuple[float, float]:
    if isinstance(m, int) or m[0] <= 0:
        return math.nan, math.nan
    mean_d = m[1] / m[0]
    return center + mean_d, max(m[2] / m[0] - mean_d * mean_d, 0.0)


def _region_order(labels) -> list[str]:
    def key(lab: str):
        if lab == MISSING_REGION:
            return (2, 0.0, lab)
        try:
            return (0, float(lab), lab)
        except ValueError:
            return (1, 0.0, lab)

    return sorted(labels, key=key)


def _report(proxies, survey: _Side, registry: _Side, s_work, r_work, spec, score_name,
            score_cuts, hist_edges, cut, region, bins) -> DriftReport:
    rows = []
    dist = []
    for p in proxies:
        s = _shares(np.asarray(survey.counts[p.name], dtype=float))
        r = _shares(np.asarray(registry.counts.get(p.name, np.zeros(p.n_bins)), dtype=float))
        terms = _psi_terms(s, r)
        psi = float(terms.sum())
        if p.kind == "categorical":
            d_levels = _level_std_diffs(s, r)
            d = float(d_levels[np.argmax(np.abs(d_levels))]) if d_levels.size else 0.0
            mean_s = mean_r = math.nan
            lower = upper = np.full(p.n_bins, np.nan)
        else:
            mean_s, var_s = _mean_var(survey.moments.get(p.name, 0), p.center)
            mean_r, var_r = _mean_var(registry.moments.get(p.name, 0), p.center)
            d = (standardized_difference(mean_s, var_s, mean_r, var_r)
                 if math.isfinite(mean_r) else math.nan)
            d_levels = np.full(p.n_bins, np.nan)
            lower = np.concatenate([[-np.inf], p.cuts])
            upper = np.concatenate([p.cuts, [np.inf]])
        row = {"proxy": p.name, "kind": p.kind, "n_bins": p.n_bins, "psi": psi, "std_diff": d,
               "flag": _flag(psi, 0.0 if math.isnan(d) else d),
               "survey_mean": mean_s, "registry_mean": mean_r,
               "registry_invalid": int(registry.invalid[p.name]),
               "registry_invalid_share": registry.invalid[p.name] / max(registry.rows, 1),
               "registry_outside_training": int(sum(v for k, v in r_work.flagged.items()
                                                    if k.startswith(f"'{p.name}' ")))}
        if spec is not None:
            row["verifiable"] = bool(spec[p.name].verifiable) if p.name in spec else None
        rows.append(row)
        dist.append(pd.DataFrame({
            "proxy": p.name, "bin": p.labels, "lower": lower, "upper": upper,
            "survey_share": s, "registry_share": r, "difference": r - s, "psi_term": terms,
            "std_diff": d_levels,
        }))
    table = pd.DataFrame(rows).sort_values("psi", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    distributions = pd.concat(dist, ignore_index=True)
    if spec is not None:  # value labels of coded proxies, e.g. region 8 "Qashqadaryo"
        distributions.insert(2, "label", [_code_label(spec, p, b) for p, b in zip(
            distributions["proxy"], distributions["bin"], strict=True)])

    zero = np.zeros(len(score_cuts) + 1)
    s_sc = _shares(zero if survey.score_bins is None else survey.score_bins)
    r_sc = _shares(zero if registry.score_bins is None else registry.score_bins)
    sterms = _psi_terms(s_sc, r_sc)
    labels = [f"{k}" for k in range(1, len(score_cuts) + 2)]
    score_distribution = pd.DataFrame({
        "bin": labels, "lower": np.concatenate([[-np.inf], score_cuts]),
        "upper": np.concatenate([score_cuts, [np.inf]]), "survey_share": s_sc,
        "registry_share": r_sc, "difference": r_sc - s_sc, "psi_term": sterms})
    score_psi = float(sterms.sum())
    score_histogram = pd.DataFrame({
        "lower": hist_edges[:-1], "upper": hist_edges[1:],
        "survey_share": _shares(_or_zeros(survey.score_hist, len(hist_edges) - 1)),
        "registry_share": _shares(_or_zeros(registry.score_hist, len(hist_edges) - 1))})

    coverage = _coverage(survey, registry, cut, region)
    if spec is not None and region:
        coverage.insert(1, "label", [None if r == "Total" else _code_label(spec, region, r)
                                     for r in coverage["region"]])
    records = pd.DataFrame({
        "rows": [survey.rows, registry.rows],
        "scored": [survey.scored, registry.scored],
        "not_scored": [survey.rows - survey.scored, registry.rows - registry.scored],
    }, index=pd.Index(["survey", "registry"], name="sample"))
    records["not_scored_share"] = records["not_scored"] / records["rows"]
    reasons = sorted(set(s_work.reasons) | set(r_work.reasons),
                     key=lambda k: (-r_work.reasons.get(k, 0), -s_work.reasons.get(k, 0), k))
    unscored = pd.DataFrame({"reason": reasons,
                             "survey": [int(s_work.reasons.get(k, 0)) for k in reasons],
                             "registry": [int(r_work.reasons.get(k, 0)) for k in reasons]},
                            columns=["reason", "survey", "registry"])
    rep = DriftReport(table)
    rep.distributions = distributions
    rep.score_distribution = score_distribution
    rep.score_histogram = score_histogram
    rep.score_psi = score_psi
    rep.score_flag = _flag(score_psi, 0.0)
    rep.coverage = coverage
    rep.records = records
    rep.unscored = unscored
    rep.score_name = score_name
    rep.cutoff = None if cut is None else float(cut)
    rep.region = region
    rep.bins = int(bins)
    return rep


def _code_label(spec, column: str, code: str) -> str | None:
    """The spec's label of a code of ``column`` (None when the spec has none)."""
    if column not in spec or not spec[column].codes:
        return None
    labels = {level_label(k): v for k, v in spec[column].codes.items()}
    return labels.get(code)


def _coverage(survey: _Side, registry: _Side, cut, region) -> pd.DataFrame:
    labels = _region_order(set(survey.regions) | set(registry.regions))
    zero = np.zeros(4)

    def total(side: _Side) -> np.ndarray:
        return np.sum([side.regions[k] for k in side.regions], axis=0) if side.regions else zero

    names = ["Total", *labels] if region else ["Total"]
    sides = {"survey": [total(survey)] + [survey.regions.get(k, zero) for k in labels],
             "registry": [total(registry)] + [registry.regions.get(k, zero) for k in labels]}
    if not region:
        sides = {k: v[:1] for k, v in sides.items()}
    s = np.array(sides["survey"], dtype=float)
    r = np.array(sides["registry"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "region": names,
            "survey_households": s[:, 1],
            "survey_share": s[:, 1] / s[0, 1],
            "registry_households": r[:, 1],
            "registry_share": r[:, 1] / r[0, 1] if r[0, 1] > 0 else np.nan,
            "survey_coverage": s[:, 2] / s[:, 1] if cut is not None else np.nan,
            "registry_coverage": r[:, 2] / r[:, 1] if cut is not None else np.nan,
        })
    out["coverage_gap"] = out["registry_coverage"] - out["survey_coverage"]
    out["registry_not_scored"] = r[:, 3].astype(np.int64)
    out["survey_not_scored"] = s[:, 3].astype(np.int64)
    return out
