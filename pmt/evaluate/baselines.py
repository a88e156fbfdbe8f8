"""Baselines a PMT must beat: random, universal, categorical and geographic selection.

Brown, Ravallion and van de Walle (2018) found that, compared honestly (the same budget,
the same benefit design, poverty judged after the transfer), simple demographic rules or a
universal transfer often reduce poverty about as much as a proxy means test. This module
turns the data into selections comparable with a model's ranking, so that
:func:`pmt.evaluate.welfare_impact.welfare_comparison` can judge them by the same rule.

Every baseline gives each household i a **selection probability** pi_i in [0, 1] at a
coverage c (the person-weighted share of the population selected, DESIGN.md section 4:
coverage = sum v pi / sum v with v = w_h n_h). A probability strictly between 0 and 1 is a
lottery: the household is selected with that probability, and every measure computed from
the probabilities is the *expected* value of the measure over the lottery (all the
section-4 totals are linear in the selection indicator, so the expectation is exact, with
no Monte Carlo noise). The per-person benefit paid to a selected household is set by the
comparison (a flat amount solved to spend the budget: sum v pi b = budget).

========================  ================================================================
:class:`RandomSelection`  every household with probability c (analytic expectation), or
                          with ``seed=`` one seeded lottery draw ranked like a model
:class:`Universal`        everybody (pi = 1, coverage 1 whatever c)
:class:`Categorical`      households in a category (a 0/1 column, or a count column > 0:
                          children under 6, elderly members...), rationed or filled by
                          lottery to coverage c, or the whole category at its own coverage
:class:`Geographic`       areas ranked by their poverty rate (the survey's person-weighted
                          headcount, cross-fitted on PSU folds by default, or an imported
                          table), poorest area first, until c; the marginal area rationed
                          by lottery
========================  ================================================================

Rationing. A ranking (a model's predicted welfare, or the areas' poverty rates) selects
households poorest first. Households with equal scores form a tie group (a whole area for
geographic targeting) and are treated alike: the groups below the cut-off are selected
(pi = 1), those above are not (pi = 0) and the one tie group that straddles the coverage
target gets pi = (target - population before it) / its population, so that the coverage is
exactly c for every scheme. With continuous scores that group is one household; for
geographic targeting it is the marginal area (a lottery among its households, in
expectation: in practice an area would be partly covered, e.g. its poorest villages).
:func:`ranked_selection` does this for any score.

Each baseline is a small object; call :meth:`Baseline.probabilities` to see its
selection on a survey, or pass it to the comparison, which re-computes it under every
bootstrap replicate's weights (estimated category shares and area poverty rates move from
replicate to replicate; an imported area table does not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import sparse

from pmt._validation import check_weights, column_or_array
from pmt.errors import DataError, PolicyError
from pmt.survey import Survey

__all__ = [
    "Baseline",
    "Categorical",
    "Geographic",
    "RandomSelection",
    "Universal",
    "check_coverage",
    "ranked_selection",
]

# Probabilities within this of 0 or 1 are snapped to 0 or 1: the cumulative sums behind
# the rationing leave rounding noise of order 1e-16 x population / group population.
_SNAP = 1e-9

# A bound baseline: replicate weights (c, n) and a coverage -> probabilities (c, n).
Bound = Callable[[np.ndarray, float], np.ndarray]


# --- helpers -------------------------------------------------------------------------------
def check_coverage(coverage, name: str = "coverage") -> float:
    """``coverage`` as a float in (0, 1]; PolicyError naming the argument otherwise."""
    try:
        c = float(coverage)
    except (TypeError, ValueError):
        raise PolicyError(
            f"`{name}` must be a population share in (0, 1], e.g. 0.2 to select 20 % of the "
            f"population; got {coverage!r}."
        ) from None
    if not 0 < c <= 1:
        raise PolicyError(
            f"`{name}` must be a population share in (0, 1], e.g. 0.2 to select 20 % of the "
            f"population; got {coverage!r}."
        )
    return c


def ration_groups(group_weights: np.ndarray, coverage: float) -> np.ndarray:
    """Selection probability of tie groups in priority order, shape (c, G).

    ``group_weights`` (c, G) are the populations of the groups (poorest first) under each
    of c weight vectors. Groups before the coverage target get 1, groups after it 0, the
    straddling group the share of it needed to reach the target exactly.
    """
    gw = np.atleast_2d(np.asarray(group_weights, dtype=float))
    target = coverage * gw.sum(axis=1, keepdims=True)
    before = np.cumsum(gw, axis=1) - gw
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.clip((target - before) / gw, 0.0, 1.0)
    pi = np.where(gw > 0, pi, (before < target).astype(float))  # empty groups: irrelevant
    pi[pi < _SNAP] = 0.0
    pi[pi > 1 - _SNAP] = 1.0
    return pi


class _Ranking:
    """Households sorted once by a fixed score (lower = selected first), with tie groups."""

    def __init__(self, score: np.ndarray):
        self.order = np.argsort(score, kind="stable")
        s = score[self.order]
        new = np.r_[True, s[1:] != s[:-1]]
        self.starts = np.flatnonzero(new)
        self.group = np.cumsum(new) - 1  # tie group of each sorted position

    def __call__(self, V: np.ndarray, coverage: float) -> np.ndarray:
        V = np.atleast_2d(V)
        gw = np.add.reduceat(V[:, self.order], self.starts, axis=1)
        pg = ration_groups(gw, coverage)
        pi = np.empty(V.shape)
        pi[:, self.order] = pg[:, self.group]
        return pi


def ranked_selection(score, weights, coverage: float, *, higher_is_poorer: bool = False):
    """Selection probabilities of "the poorest share ``coverage`` by ``score``", exactly.

    Parameters
    ----------
    score : array-like or pandas.Series
        Ranking score, lower = poorer (e.g. predicted welfare per person), or higher =
        poorer with ``higher_is_poorer=True`` (e.g. P(poor), an area's poverty rate).
    weights : array-like
        Population weights v (person weights w_h x n_h for a coverage of persons).
    coverage : float
        Target share of the weighted population to select, in (0, 1].
    higher_is_poorer : bool
        Score orientation.

    Returns
    -------
    numpy.ndarray or pandas.Series
        pi_i in [0, 1]: 1 below the cut-off, 0 above, and for the tie group straddling the
        target the probability that makes sum v pi / sum v = coverage exactly (module
        docstring). A Series named "probability" on the score's index if it is a Series.
    """
    x = column_or_array(score, name="score")
    v = check_weights(weights, x.size)
    c = check_coverage(coverage)
    pi = _Ranking(-x if higher_is_poorer else x)(v[None, :], c)[0]
    if isinstance(score, pd.Series):
        return pd.Series(pi, index=score.index, name="probability")
    return pi


def _column_values(survey: Survey, x, name: str) -> np.ndarray:
    """One numeric value per household from a column name, an array or an aligned Series."""
    return column_or_array(x, survey, name=name, align=True)


def _poor(survey: Survey, welfare, line) -> np.ndarray:
    if welfare is None or line is None:
        raise PolicyError(
            "this baseline needs the poverty status: pass `welfare` (column or values) and "
            "`line` (the poverty line in the same units)."
        )
    y = _column_values(survey, welfare, "welfare")
    if isinstance(line, str) or np.ndim(line) > 0:
        z = _column_values(survey, line, "line")
    else:
        try:
            z = np.full(y.size, float(line))
        except (TypeError, ValueError):
            raise DataError(f"`line` must be a number or a column; got {line!r}.") from None
    if not np.all(np.isfinite(z) & (z > 0)):
        raise DataError("the poverty line `line` must be positive and finite.")
    return (y < z).astype(float)


# --- the baselines ---------------------------------------------------------------------------
class Baseline:
    """A selection rule that needs no model: base class of the baselines.

    Subclasses implement ``bind(survey, poor)``, returning a function of replicate weights
    V (c, n) and a coverage that gives the selection probabilities (c, n). ``uses_coverage``
    is False for rules whose coverage is their own (universal, a whole category).
    """

    label: str = "baseline"
    uses_coverage: bool = True
    needs_poverty: bool = False

    def bind(self, survey: Survey, poor: np.ndarray | None) -> Bound:  # pragma: no cover
        """Bind the rule to ``survey``, returning its :data:`Bound` probability function.

        The function maps replicate weights V (c, n) and a coverage to the selection
        probabilities (c, n). ``poor`` is 1.0/0.0 per household (None unless
        ``needs_poverty``).
        """
        raise NotImplementedError

    def probabilities(
        self, survey: Survey, coverage: float | None = None, *, welfare=None, line=None
    ) -> pd.Series:
        """Selection probability of every household of ``survey``.

        Parameters
        ----------
        survey : pmt.Survey
            Data and weights; coverage is person-weighted (w_h x n_h).
        coverage : float, optional
            Share of the population to select, in (0, 1]; required unless the rule sets its
            own coverage (:class:`Universal`, ``Categorical(..., rationing="all")``).
        welfare, line : optional
            Welfare per person and the poverty line, for :class:`Geographic` with area
            rates estimated from the survey (headcount y < line).

        Returns
        -------
        pandas.Series
            pi_i in [0, 1] named "probability" on the survey index.
        """
        if not isinstance(survey, Survey):
            raise DataError("`survey` must be a pmt.Survey (data with weights and sizes).")
        if coverage is None:
            if self.uses_coverage:
                raise PolicyError(
                    f"{self!r} needs `coverage` (the population share to select, e.g. the "
                    "poverty rate)."
                )
            c = 1.0
        else:
            c = check_coverage(coverage)
        poor = _poor(survey, welfare, line) if self.needs_poverty else None
        pi = self.bind(survey, poor)(survey.person_weight[None, :], c)[0]
        return pd.Series(pi, index=survey.data.index, name="probability")


@dataclass(frozen=True)
class RandomSelection(Baseline):
    """Random selection at the target coverage.

    Parameters
    ----------
    seed : int, optional
        None (default): the analytic expectation. Every household is selected with
        probability c, so coverage_poor = coverage_nonpoor = c, exclusion error 1 - c, and
        every additive measure (FGT, budget shares, errors) is exactly its expected value
        over all lotteries, with no simulation noise and no seed to report. An int: one
        lottery drawn with ``numpy.random.default_rng(seed)`` (a uniform score per
        household, ranked like a model and rationed as in :func:`ranked_selection`); useful
        to show one realised random programme, whose outcome differs from the expectation
        by lottery noise that the survey bootstrap does not measure.
    """

    seed: int | None = None
    label: str = field(default="Random", init=False)

    def bind(self, survey, poor):
        """Bind to ``survey``: probability c for everyone, or one seeded lottery ranking."""
        if self.seed is None:
            return lambda V, c: np.full(np.atleast_2d(V).shape, float(c))
        u = np.random.default_rng(self.seed).random(survey.n_households)
        return _Ranking(u)


@dataclass(frozen=True)
class Universal(Baseline):
    """Everybody is selected (pi = 1, coverage 1): the universal transfer.

    With the flat benefit of the comparison every person gets budget / population.
    """

    label: str = field(default="Universal", init=False)
    uses_coverage: bool = field(default=False, init=False)

    def bind(self, survey, poor):
        """Bind to ``survey``: probability 1 for every household whatever the coverage."""
        return lambda V, c: np.ones(np.atleast_2d(V).shape)


@dataclass(frozen=True, eq=False)
class Categorical(Baseline):
    """A categorical (demographic) rule: households in a category chosen by the user.

    Parameters
    ----------
    column : str, sequence of str, or array-like
        Column(s) of the survey data (several are summed, e.g. ``["n_children_0_2",
        "n_children_3_5"]`` for children under 6), or one value per household. 0/1 and
        boolean columns work as they are.
    above : float
        A household is in the category if the value is > ``above`` (default 0: at least
        one child, one elderly member...).
    rationing : {"lottery", "all"}
        ``"lottery"`` (default): the rule selects exactly the coverage c of the other
        schemes. If the category holds more than c of the population, each member is
        selected with probability c / (category share) (a lottery within the category); if
        it holds less, all its members are selected and the rest of the coverage is filled
        by a lottery among the other households, with probability (c - share) / (1 - share)
        ("category first"). ``"all"``: the whole category, at its own coverage (the usual
        design of a child or old-age benefit); with the flat benefit the amount per person
        is then budget / category population.
    label : str, optional
        Name in the comparison's output (default: "Categorical: <column>").
    """

    column: str | Sequence[str] | np.ndarray | pd.Series
    above: float = 0.0
    rationing: Literal["lottery", "all"] = "lottery"
    label: str | None = None  # type: ignore[assignment]  # None is replaced in __post_init__

    def __post_init__(self):
        if self.rationing not in ("lottery", "all"):
            raise PolicyError(
                f"`rationing` must be 'lottery' (same coverage as the other schemes) or 'all' "
                f"(the whole category); got {self.rationing!r}."
            )
        if self.label is None:
            col = self.column
            if isinstance(col, str):
                name = col
            elif isinstance(col, list | tuple) and all(isinstance(c, str) for c in col):
                name = " + ".join(col)
            else:
                name = getattr(col, "name", None) or "category"
            object.__setattr__(self, "label", f"Categorical: {name}")

    @property
    def uses_coverage(self) -> bool:  # type: ignore[override]
        """True with ``rationing="lottery"`` (the rule fills coverage c); False for ``"all"``."""
        return self.rationing == "lottery"

    def members(self, survey: Survey) -> np.ndarray:
        """1.0 for households in the category, 0.0 otherwise."""
        col = self.column
        if isinstance(col, list | tuple) and all(isinstance(c, str) for c in col):
            if not col:
                raise PolicyError("`column` is an empty list: name at least one column.")
            # col is non-empty: a sum of arrays
            x = cast(np.ndarray, sum(_column_values(survey, c, "column") for c in col))
        else:
            x = _column_values(survey, col, "column")
        m = (x > float(self.above)).astype(float)
        if not m.any():
            raise PolicyError(
                f"no household is in the category of {self.label!r} (value > {self.above:g}): "
                "check the column and `above`."
            )
        return m

    def bind(self, survey, poor):
        """Bind to ``survey``: the whole category, or the category rationed/filled by lottery to c."""
        m = self.members(survey)
        if self.rationing == "all":
            return lambda V, c: np.broadcast_to(m, np.atleast_2d(V).shape).copy()

        def prob(V, c):
            V = np.atleast_2d(V)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = (V @ m / V.sum(axis=1))[:, None]
                inside = np.where(share >= c, c / share, 1.0)
                outside = np.where(share >= c, 0.0, (c - share) / (1 - share))
            pi = m * inside + (1 - m) * outside
            pi[pi < _SNAP] = 0.0
            pi[pi > 1 - _SNAP] = 1.0
            return pi

        return prob


@dataclass(frozen=True, eq=False)
class Geographic(Baseline):
    """Geographic targeting: whole areas, poorest first, until the coverage is reached.

    Parameters
    ----------
    area : str or array-like
        Column of the survey data naming each household's area (region, district...), or
        one label per household.
    rates : mapping or pandas.Series, optional
        An imported area poverty table {area: poverty rate} (higher = poorer; e.g. from a
        poverty map or an earlier survey). Every area of the data needs a rate. The table
        is taken as known: it does not change between bootstrap replicates. Default: the
        survey's person-weighted headcount ratio of each area at the comparison's line,
        sum v 1[y < z] / sum v within the area, estimated as set by ``estimate`` and
        re-estimated in every bootstrap replicate.
    estimate : {"crossfit", "in_sample"}
        How survey rates are estimated. ``"crossfit"`` (default): a household's area rate
        is estimated from the other folds of PSUs only (as models are judged on
        cross-fitted predictions), so each area is ranked fold by fold. ``"in_sample"``:
        from the whole sample, whole areas ranked once. In-sample rates are optimistic:
        the areas that look poorest in this sample are, in part, the areas whose sampled
        households happen to be poorest, and the same households then judge the rule.
        In a simulation (60 samples of 8 PSUs per stratum, 2,200 households, 14 regions,
        coverage 0.2) the share of the budget reaching the poor of a survey-ranked
        programme was 0.237 in the population on average; in-sample estimates averaged
        0.273 (+0.035, 1.7 standard deviations of the estimate), cross-fitted ones 0.215
        (-0.023: conservative, as cross-validation is, and 1.8 times as variable).
    n_folds, seed : int
        Folds for ``"crossfit"`` unless ``folds`` is given: whole PSUs balanced within
        strata, exactly the folds :func:`pmt.evaluate.cross_fit` uses with the same
        ``n_folds`` and ``seed`` (``psu_folds(survey, n_folds,
        numpy.random.SeedSequence([seed, 0]))``), so the models' predictions and the area
        rates are out of sample in the same way.
    folds : str or array-like, optional
        Fold label of each household (a column or values), for any other split.
    label : str, optional
        Name in the comparison's output (default: "Geographic: <area>").

    Notes
    -----
    Areas (with ``"crossfit"``: area x fold cells) are sorted by rate, highest first, and
    selected whole until the next would exceed the coverage; that marginal area is
    rationed by lottery (each of its households selected with the probability that makes
    the coverage exact). Areas with equal rates form one group rationed together. With
    ``"crossfit"`` an area none of whose PSUs lies outside a fold gets, in that fold, the
    out-of-fold national headcount (no information about the area). Areas without
    population in a replicate come last.
    """

    area: str | np.ndarray | pd.Series
    rates: Mapping | pd.Series | None = None
    estimate: Literal["crossfit", "in_sample"] = "crossfit"
    n_folds: int = 5
    seed: int = 0
    folds: str | np.ndarray | pd.Series | None = None
    label: str | None = None  # type: ignore[assignment]  # None is replaced in __post_init__

    def __post_init__(self):
        if self.estimate not in ("crossfit", "in_sample"):
            raise PolicyError(
                f"`estimate` must be 'crossfit' (area rates from the other PSU folds) or "
                f"'in_sample'; got {self.estimate!r}."
            )
        if self.label is None:
            name = self.area if isinstance(self.area, str) else (
                getattr(self.area, "name", None) or "area")
            object.__setattr__(self, "label", f"Geographic: {name}")

    @property
    def needs_poverty(self) -> bool:  # type: ignore[override]
        """True when area rates are estimated from the survey (no imported ``rates``)."""
        return self.rates is None

    def codes(self, survey: Survey) -> tuple[np.ndarray, pd.Index]:
        """Area code 0..A-1 of each household and the area labels."""
        return _labels(survey, self.area, "area")

    def area_rates(self, labels: pd.Index) -> np.ndarray:
        """The imported rate of every area label (PolicyError naming missing areas)."""
        table = pd.Series(self.rates) if isinstance(self.rates, Mapping) else self.rates
        if not isinstance(table, pd.Series):
            raise PolicyError("`rates` must be a mapping or a pandas Series {area: rate}.")
        absent = [lab for lab in labels if lab not in table.index]
        if absent:
            raise PolicyError(
                f"`rates` has no poverty rate for area(s) {', '.join(map(str, absent[:10]))}"
                f"{' and more' if len(absent) > 10 else ''}: add them to the table."
            )
        r = pd.to_numeric(table.reindex(labels), errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(r)):
            raise PolicyError("`rates` must be numbers (area poverty rates) for every area.")
        return r

    def bind(self, survey, poor):
        """Bind to ``survey``: areas ranked by poverty rate, poorest first, the marginal area rationed."""
        codes, labels = self.codes(survey)
        if self.rates is not None:
            return _Ranking(-self.area_rates(labels)[codes])
        if poor is None:
            raise PolicyError(
                "geographic targeting by the survey's area poverty rates needs `welfare` and "
                "`line` (or pass an imported table as `rates`)."
            )
        n_areas = labels.size
        if self.estimate == "in_sample":
            k, fold = 1, np.zeros(codes.size, dtype=np.int64)
        elif self.folds is not None:
            fold, flabels = _labels(survey, self.folds, "folds")
            k = flabels.size
            if k < 2:
                raise PolicyError("`folds` has a single fold: cross-fitting needs at least two.")
        else:
            from pmt.evaluate.cross_validation import psu_folds  # the models' cross-fitting folds

            fold = psu_folds(survey, self.n_folds, np.random.SeedSequence([self.seed, 0]))
            k = int(self.n_folds)
        cell = codes * k + fold  # area x fold
        onehot = sparse.csr_matrix(
            (np.ones(codes.size), (np.arange(codes.size), cell)),
            shape=(codes.size, n_areas * k),
        )

        def prob(V, c):
            V = np.atleast_2d(V)
            pop = np.asarray((onehot.T @ V.T).T).reshape(-1, n_areas, k)
            npoor = np.asarray((onehot.T @ (V * poor).T).T).reshape(-1, n_areas, k)
            if k == 1:
                num, den = npoor, pop
            else:  # out of fold: the area's totals minus the fold's own
                num = npoor.sum(axis=2, keepdims=True) - npoor
                den = pop.sum(axis=2, keepdims=True) - pop
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = num / den
                if k > 1:  # no PSU of the area outside the fold: the out-of-fold mean
                    np_fold = npoor.sum(axis=1, keepdims=True)  # (c, 1, k)
                    pop_fold = pop.sum(axis=1, keepdims=True)
                    nat = ((np_fold.sum(axis=2, keepdims=True) - np_fold)
                           / (pop_fold.sum(axis=2, keepdims=True) - pop_fold))
                    rate = np.where(den > 0, rate, nat)
            rate = np.where(pop > 0, rate, -np.inf).reshape(V.shape[0], -1)  # empty last
            pop2 = pop.reshape(V.shape[0], -1)  # (replicates, areas x folds)
            pi_cell = np.empty_like(pop2)
            for r in range(pop2.shape[0]):
                order = np.argsort(-rate[r], kind="stable")
                key = rate[r, order]
                new = np.r_[True, key[1:] != key[:-1]]
                group = np.cumsum(new) - 1
                gw = np.bincount(group, weights=pop2[r, order])
                pi_cell[r, order] = ration_groups(gw[None, :], c)[0, group]
            return pi_cell[:, cell]

        return prob


def _labels(survey: Survey, x, name: str) -> tuple[np.ndarray, pd.Index]:
    """Codes 0..K-1 and labels of a label column (name, aligned Series or values)."""
    x = column_or_array(x, survey, name=name, dtype=None, align=True)
    codes, labels = pd.factorize(x, sort=True)
    return codes.astype(np.int64), pd.Index(labels)
