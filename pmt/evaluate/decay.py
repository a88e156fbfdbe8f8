"""Decay of a targeting formula over survey rounds: fit on one round, judge on the next.

A PMT is estimated on one survey and used for years. :func:`decay_table` measures what
that costs when several rounds of the survey are available: the model is fitted on the
first round and applied, unchanged, to every later round (the hold-out extended by
round). The first round is judged out of sample too, by cross-fitting over PSU folds
(:func:`pmt.evaluate.cross_fit`), so every figure is out of sample and the change
between rounds is the decay, not over-fitting.

In each round the poor are that round's poor (its own line or poorest share) and the
rule selects the round's poverty headcount of lowest predicted welfare (the "rate" rule
of Brown, Ravallion and van de Walle 2018): a formula whose ranking degrades shows it
as rising errors. Intervals are percentile intervals from each round's own
PSU-clustered, strata-aware bootstrap (:func:`pmt.evaluate.bootstrap_metrics`); the
rounds are independent samples, so the change against the first round pairs replicates
drawn independently in the two rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from pmt._validation import column_or_array
from pmt.errors import DataError
from pmt.evaluate.bootstrap import bootstrap_metrics
from pmt.evaluate.classify import classify_poor, select_by
from pmt.evaluate.cross_validation import cross_fit
from pmt.survey import Survey

__all__ = ["decay_table", "DECAY_METRICS"]

#: Metrics tracked over rounds by default (section 4 of DESIGN.md).
DECAY_METRICS = ("exclusion_error", "inclusion_error", "targeting_differential")


def decay_table(
    fit: Callable[[pd.DataFrame], object],
    data: pd.DataFrame,
    *,
    round: str,
    welfare: str,
    weight: str,
    size: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    share: float | None = None,
    line: float | str | None = None,
    metrics: Sequence[str] = DECAY_METRICS,
    higher_is_poorer: bool = False,
    n_folds: int = 5,
    n_replicates: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Errors of a model fitted on the first round, in that round and the later ones.

    Parameters
    ----------
    fit : callable
        ``fit(train_df) -> fitted`` with ``fitted.predict(df)`` on the welfare scale
        (e.g. ``lambda d: pmt.ols(formula, d, weights="weight", cluster="psu")``).
    data : pandas.DataFrame
        The rounds stacked, one row per household.
    round : str
        Column of ``data`` naming the round (e.g. the survey year); rounds are taken in
        sorted order and the model is fitted on the first.
    welfare : str
        Welfare column (per capita, in levels or logs: only its order matters).
    weight, size, strata, psu : str
        Design columns (household weight, household size, strata, PSUs) of every round.
    share : float, optional
        Relative line: the poorest ``share`` of people in each round are poor.
    line : float or str, optional
        Absolute line on the welfare scale (a number, or a column): poor if below.
        Give ``share`` or ``line``.
    metrics : sequence of str
        Section-4 metrics to track.
    higher_is_poorer : bool
        The model predicts a need score (e.g. P(poor)) rather than welfare.
    n_folds : int
        PSU folds for the out-of-sample figures of the first round.
    n_replicates, seed, level
        Bootstrap replicates, their seed and the confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per (round, metric): ``basis`` ("cross-fitted" in the first round,
        "fitted on <first>" after), ``estimate``, ``lower``, ``upper``, ``change`` against
        the first round with ``change_lower``/``change_upper``, ``headcount`` (share of
        people poor in the round) and ``n_households``. ``attrs["per_year"]`` gives, for
        numeric rounds and three or more of them, the least-squares slope of each metric
        over the round labels (change per unit of the label, e.g. per year).
    """
    if not (share is None) ^ (line is None):
        raise DataError("give either `share` (relative line) or `line` (absolute line).")
    if round not in data.columns:
        raise DataError(f"round column '{round}' is not in the data.")
    labels = sorted(pd.unique(data[round]))
    if len(labels) < 2:
        raise DataError(f"column '{round}' holds one round ({labels}); decay needs two or "
                        "more.")
    first = labels[0]
    model = fit(data[data[round] == first])
    rows, reps_of = [], {}
    for k, label in enumerate(labels):
        part = data[data[round] == label]
        sv = Survey(part, weight=weight, size=size, strata=strata, psu=psu)
        if k == 0:
            pred = cross_fit(fit, part, n_folds=n_folds, seed=seed, survey=sv,
                             higher_is_poorer=higher_is_poorer).iloc[:, 0].to_numpy()
            basis = f"cross-fitted ({n_folds} PSU folds)"
        else:
            pred = np.asarray(model.predict(part), dtype=float)  # type: ignore[attr-defined]
            basis = f"fitted on {first}"
        score = -pred if higher_is_poorer else pred
        y = column_or_array(welfare, part, name="welfare")
        v = sv.person_weight
        if share is not None:
            poor = classify_poor(y, share=share, weights=v).to_numpy()
        else:
            z = column_or_array(line, part, name="line") if isinstance(line, str) else line
            poor = (y < z).astype(int)
        headcount = float(np.average(poor, weights=v))
        selected = select_by(score, share=headcount, weights=v, rule="rate").to_numpy()
        table, reps = bootstrap_metrics(sv, poor, selected, n_replicates=n_replicates,
                                        seed=seed + k, level=level, return_replicates=True)
        for metric in metrics:
            r = table[table["metric"] == metric].iloc[0]
            rep = reps.xs(metric, axis=1, level="metric").iloc[:, 0].to_numpy(dtype=float)
            reps_of[(label, metric)] = rep
            rows.append({"round": label, "basis": basis, "metric": metric,
                         "estimate": r["estimate"], "lower": r["lower"], "upper": r["upper"],
                         "headcount": headcount, "n_households": len(part)})
    out = pd.DataFrame(rows)
    alpha = 1 - level
    change, lo, hi = [], [], []
    base = {m: out[(out["round"] == first) & (out["metric"] == m)]["estimate"].iloc[0]
            for m in metrics}
    for _, r in out.iterrows():
        d = reps_of[(r["round"], r["metric"])] - reps_of[(first, r["metric"])]
        change.append(r["estimate"] - base[r["metric"]])
        if r["round"] == first:
            lo.append(0.0)
            hi.append(0.0)
        else:
            q = np.nanquantile(d, [alpha / 2, 1 - alpha / 2])
            lo.append(float(q[0]))
            hi.append(float(q[1]))
    out["change"], out["change_lower"], out["change_upper"] = change, lo, hi
    out = out[["round", "basis", "metric", "estimate", "lower", "upper", "change",
               "change_lower", "change_upper", "headcount", "n_households"]]
    if len(labels) >= 3 and all(isinstance(x, int | float | np.number) for x in labels):
        x = np.asarray(labels, dtype=float)
        out.attrs["per_year"] = {
            m: float(np.polyfit(x, out[out["metric"] == m]["estimate"].to_numpy(), 1)[0])
            for m in metrics}
    out.attrs["note"] = (
        f"Model fitted on {first} and applied unchanged to later rounds; {first} judged by "
        f"cross-fitting. Rate rule: each round selects its own poverty headcount. "
        f"{level:.0%} percentile intervals from {n_replicates} PSU-bootstrap replicates per "
        "round; changes against the first round.")
    return out
