"""Manipulation checks at the cut-off: a density test and the shares around the cut-off.

Once a scorecard is known, applicants and enumerators learn which answers lower a score,
and registry scores pile up just below the eligibility cut-off (Camacho and Conover 2011
found this in Colombia's SISBEN). Two checks:

:func:`density_test`
    Is the density of the scores continuous at the cut-off? The local polynomial density
    estimator of Cattaneo, Jansson and Ma (2020) on each side, and their robust
    bias-corrected test of equal densities (the ``rddensity`` test, Cattaneo, Jansson and
    Ma 2018), with the same defaults as ``rddensity``.
:func:`manipulation_summary`
    The share of households just below and just above the cut-off and, given the score
    contributions by proxy, how much of their scores comes from proxies the data spec
    marks ``verifiable: false`` (answers an applicant can shade without a document).

We implement the estimator ourselves: neither scipy nor statsmodels has it, and the
``rddensity`` package (GPL-3, with plotnine and sympy as dependencies) is not a pmt
dependency. Our numbers are checked against ``rddensity`` 3.0 on its published example
and on simulated data (``tests/references/rddensity_3_0.yaml``, agreement to 1e-8).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.polynomial import hermite_e
from scipy import stats

from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, example_rows

__all__ = [
    "DensityTestResult",
    "density_test",
    "manipulation_summary",
    "unverifiable_share",
]

DensityKernel = Literal["triangular", "epanechnikov", "uniform"]
BandwidthRule = Literal["comb", "each", "diff", "sum"]

#: Constants of the rule-of-thumb pilot bandwidths of ``rdbwdensity`` (by p = 1..7), for
#: the (p+2)-order fit that estimates the bias (``Cb``) and the p-order fit that estimates
#: the variance (``Cc``); normal reference density. Copied from rddensity 3.0.
_PILOT_BIAS = (25884.444444494150957, 3430865.4551236177795, 845007948.04262602329,
               330631733667.03808594, 187774809656037.3125, 145729502641999264.0,
               146013502974449876992.0)
_PILOT_VARIANCE = (4.8000000000000246914, 548.57142857155463389, 100800.00000020420703,
                   29558225.458100609481, 12896196859.612621307, 7890871468221.609375,
                   6467911284037581.0)


# --- result -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DensityTestResult:
    """Result of :func:`density_test`.

    Densities are of the score (per unit of score), on each side of the cut-off; scores
    equal to the cut-off count on the right (they are not eligible: ``score < cutoff``).

    Attributes
    ----------
    statistic : float
        Robust bias-corrected t statistic (density_right - density_left) / se_difference.
        Negative when scores pile up below the cut-off.
    p_value : float
        Two-sided p-value of equal densities, standard normal.
    density_left, density_right : float
        Bias-corrected density estimates (local polynomial of order ``p + 1`` with the
        bandwidths chosen for order ``p``), the estimates the test uses.
    se_left, se_right, se_difference : float
        Their jackknife standard errors (as ``rddensity``'s default ``vce="jackknife"``).
    conventional_density_left, conventional_density_right : float
        Estimates of order ``p`` (not bias-corrected), for reference.
    conventional_statistic, conventional_p_value : float
        The test with order ``p``: its size is distorted at MSE-optimal bandwidths
        (Cattaneo, Jansson and Ma 2020); reported as ``rddensity(..., all=TRUE)`` does.
    bandwidth_left, bandwidth_right : float
        Bandwidths (in score units) below and above the cut-off.
    bandwidth_rule : str
        ``"comb"``, ``"each"``, ``"diff"``, ``"sum"`` or ``"manual"``.
    n_left, n_right : int
        Households below / at or above the cut-off (missing scores excluded).
    n_effective_left, n_effective_right : int
        Households within the bandwidth on each side.
    n_dropped : int
        Households left out for a missing score.
    cutoff : float
    p : int
        Order of the local polynomial of the point estimate.
    kernel : str
    weighted : bool
        Whether weights were used (see :func:`density_test` on what that covers).
    method : str
        ``"local_polynomial"`` (Cattaneo, Jansson and Ma) or ``"discrete"`` (integer scores:
        the binned test on the share of households at each score, see
        :func:`density_test`); for ``"discrete"`` the densities are shares of households
        per point of score at the boundary between the last eligible and the first
        ineligible score, the bandwidths are in points and ``pilot_bandwidths`` holds the
        ``overdispersion`` factor of the variance.
    """

    statistic: float
    p_value: float
    density_left: float
    density_right: float
    se_left: float
    se_right: float
    se_difference: float
    conventional_density_left: float
    conventional_density_right: float
    conventional_statistic: float
    conventional_p_value: float
    bandwidth_left: float
    bandwidth_right: float
    bandwidth_rule: str
    n_left: int
    n_right: int
    n_effective_left: int
    n_effective_right: int
    n_dropped: int
    cutoff: float
    p: int
    kernel: str
    weighted: bool
    pilot_bandwidths: dict = field(default_factory=dict, repr=False)
    method: str = "local_polynomial"

    def to_frame(self) -> pd.DataFrame:
        """Left, right and difference as a table (index ``side``)."""
        rows = {
            "left": [self.density_left, self.se_left, self.conventional_density_left,
                     self.bandwidth_left, self.n_left, self.n_effective_left],
            "right": [self.density_right, self.se_right, self.conventional_density_right,
                      self.bandwidth_right, self.n_right, self.n_effective_right],
            "difference": [self.density_right - self.density_left, self.se_difference,
                           self.conventional_density_right - self.conventional_density_left,
                           np.nan, self.n_left + self.n_right,
                           self.n_effective_left + self.n_effective_right],
        }
        out = pd.DataFrame.from_dict(
            rows, orient="index",
            columns=["density", "se", "conventional_density", "bandwidth", "n", "n_effective"],
        )
        out.index.name = "side"
        return out

    def summary(self) -> str:
        """A plain-text report in the layout of ``rddensity``'s printout."""
        w = 22
        title = ("Manipulation test for integer scores: local polynomial on the share of "
                 "households at each score (McCrary 2008, natural bins)"
                 if self.method == "discrete" else
                 "Manipulation test: local polynomial density estimator "
                 "(Cattaneo, Jansson and Ma 2020)")
        lines = [
            title,
            f"{'Number of obs:':<{w}}{self.n_left + self.n_right:>14}"
            + (f"   ({self.n_dropped} dropped: missing score)" if self.n_dropped else ""),
            f"{'Kernel:':<{w}}{self.kernel:>14}",
            f"{'Bandwidth rule:':<{w}}{self.bandwidth_rule:>14}",
            f"{'Weights:':<{w}}{'yes' if self.weighted else 'no':>14}",
            "",
            f"{'c = ' + format(self.cutoff, 'g'):<{w}}{'Left of c':>14}{'Right of c':>14}",
            f"{'Number of obs:':<{w}}{self.n_left:>14}{self.n_right:>14}",
            f"{'Eff. number of obs:':<{w}}{self.n_effective_left:>14}{self.n_effective_right:>14}",
            f"{'Order est. (p):':<{w}}{self.p:>14}{self.p:>14}",
            f"{'Order bias (q):':<{w}}{self.p + 1:>14}{self.p + 1:>14}",
            f"{'Bandwidth:':<{w}}{self.bandwidth_left:>14.4f}{self.bandwidth_right:>14.4f}",
            f"{'Density (bias-corr.):':<{w}}{self.density_left:>14.6g}{self.density_right:>14.6g}",
            f"{'Std. error:':<{w}}{self.se_left:>14.6g}{self.se_right:>14.6g}",
            "",
            f"{'Method:':<{w}}{'T':>14}{'P > |T|':>14}",
            f"{'Conventional':<{w}}{self.conventional_statistic:>14.4f}"
            f"{self.conventional_p_value:>14.4f}",
            f"{'Robust':<{w}}{self.statistic:>14.4f}{self.p_value:>14.4f}",
        ]
        if min(self.n_effective_left, self.n_effective_right) < 20:
            lines.append("Warning: fewer than 20 households within the bandwidth on one side.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --- the estimator ------------------------------------------------------------------------
def _kernel_moment(kernel: str, k: int) -> float:
    """Integral over [0, 1] of K(u) u^k, with rddensity's unnormalised kernels."""
    if kernel == "uniform":
        return 0.5 / (k + 1)
    if kernel == "epanechnikov":
        return 0.75 * (1 / (k + 1) - 1 / (k + 3))
    return 1 / (k + 1) - 1 / (k + 2)


def _bias_constant(p: int, kernel: str) -> float:
    """e_1' S^-1 c_{p+1}: the leading bias of the slope of an order-p fit, per unit of the
    (p+1)-th coefficient of the CDF (one-sided kernel moments).
    """
    S = np.array([[_kernel_moment(kernel, i + j) for j in range(p + 1)] for i in range(p + 1)])
    c = np.array([_kernel_moment(kernel, i + p + 1) for i in range(p + 1)])
    return float(np.linalg.solve(S, c)[1])


def _kernel_weights(u: np.ndarray, h: float, kernel: str) -> np.ndarray:
    """K(u)/h for u = |x|/h in [0, 1]."""
    if kernel == "uniform":
        return np.full(u.shape, 0.5 / h)
    if kernel == "epanechnikov":
        return 0.75 * (1 - u**2) / h
    return (1 - u) / h


@dataclass
class _Sample:
    """Sorted, centred scores with their empirical CDF and weights (mean 1)."""

    x: np.ndarray          # sorted scores minus the cut-off
    w: np.ndarray          # weights normalised to mean 1 (ones without weights)
    y: np.ndarray          # (weighted) empirical CDF at x, rddensity's (i)/(n-1) rule
    group_first: np.ndarray  # index of the first household with the same score
    n: int
    n_left: int


def _sample(x: np.ndarray, w: np.ndarray, mass_points: bool) -> _Sample:
    order = np.argsort(x, kind="stable")
    x = x[order]
    w = w[order] * (x.size / w.sum())
    n = x.size
    before = np.cumsum(w) - w                     # weight strictly before each household
    first = np.arange(n)
    if mass_points and np.unique(x).size < n:
        new = np.r_[True, x[1:] != x[:-1]]
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], n] - 1
        sizes = ends - starts + 1
        before = np.repeat(before[ends], sizes)   # ties get the CDF of the last of them
        first = np.repeat(starts, sizes)
    return _Sample(x=x, w=w, y=before / (n - 1), group_first=first, n=n,
                   n_left=int(np.searchsorted(x, 0.0, side="left")))


def _side_fit(s: _Sample, side: str, h: float, order: int, kernel: str,
              derivative: int = 1) -> tuple[float, float, int]:
    """Local polynomial fit of the CDF on one side: (coefficient of ``derivative``,
    its jackknife variance, households in the window).

    The coefficient of u^1 (u = x/h) divided by h is the density at the cut-off; the
    jackknife variance is Cattaneo, Jansson and Ma's (2020, section 3) leave-one-out
    estimator, with each household's influence on the empirical CDF of the households
    to its right (weighted by its own weight).
    """
    if side == "left":
        lo = int(np.searchsorted(s.x, -h, side="left"))
        idx = np.arange(lo, s.n_left)
    else:
        hi = int(np.searchsorted(s.x, h, side="right"))
        idx = np.arange(s.n_left, hi)
    m = idx.size
    if m == 0:
        return np.nan, np.nan, 0
    x = s.x[idx]
    u = x / h
    k = _kernel_weights(np.abs(u), h, kernel) * s.w[idx]
    design = np.vander(u, order + 1, increasing=True)
    dw = design * k[:, None]
    gram = dw.T @ design
    try:
        gram_inv = np.linalg.inv(gram)
    except np.linalg.LinAlgError:
        return np.nan, np.nan, m
    if not np.all(np.isfinite(gram_inv)) or np.linalg.cond(gram) > 1e14:
        return np.nan, np.nan, m
    scale = h ** np.arange(order + 1)
    beta = gram_inv @ (dw.T @ s.y[idx]) / scale
    # tail sums over the households to the right within this side, from each household's
    # first tie (so ties move together), as in rddensity's jackknife
    tail = np.vstack([np.zeros((1, order + 1)), np.cumsum(dw[::-1], axis=0)])  # tail[j]: last j
    first_local = s.group_first[idx] - idx[0]
    strictly_after = m - 1 - first_local
    influence = tail[strictly_after] * (s.w[idx] / (s.n - 1))[:, None]
    a = gram_inv[derivative] / scale[derivative]
    variance = float(np.sum((influence @ a) ** 2))
    return float(beta[derivative]), variance, m


def _two_sided(s: _Sample, h_left: float, h_right: float, order: int, kernel: str):
    fl, vl, ml = _side_fit(s, "left", h_left, order, kernel)
    fr, vr, mr = _side_fit(s, "right", h_right, order, kernel)
    return fl, fr, vl, vr, ml, mr


def _kth(values: np.ndarray, k: int) -> float:
    """The k-th smallest (1-based, capped at the count) of non-negative distances."""
    return float(np.sort(values)[min(k, values.size) - 1])


def _bandwidths(s: _Sample, p: int, kernel: str, n_local_min: int) -> dict[str, float]:
    """MSE-optimal bandwidths of ``rdbwdensity`` (unrestricted model, jackknife variance).

    Pilot bandwidths by a normal rule of thumb; the bias from an order-(p+2) fit and the
    variance from an order-p fit; h = (var / (2p bias^2 n))^(1/(2p+1)) for the left
    density, the right density, their difference and their sum; then kept within the
    range of the data and wide enough for ``n_local_min`` households (and distinct
    scores) on each side.
    """
    x, n = s.x, s.n
    mu = float(np.sum(s.w * x) / n)
    sd = float(np.sqrt(np.sum(s.w * (x - mu) ** 2) / (n - 1)))
    z = mu / sd
    he_b = hermite_e.hermeval(z, np.eye(p + 3)[p + 2])  # probabilists' Hermite He_{p+2}
    he_c = hermite_e.hermeval(z, np.eye(p + 3)[p])
    f_b = 1 / (he_b**2 * stats.norm.pdf(z))
    f_c = 1 / (he_c**2 * stats.norm.pdf(z))
    bn = ((2 * p + 1) / 4 * f_b * _PILOT_BIAS[p - 1] / n) ** (1 / (2 * p + 5)) * sd
    cn = (1 / (2 * p) * f_c * _PILOT_VARIANCE[p - 1] / n) ** (1 / (2 * p + 1)) * sd

    left_all, right_all = np.abs(x[: s.n_left]), x[s.n_left:]
    ux = np.unique(x)
    left_u, right_u = np.abs(ux[ux < 0]), ux[ux >= 0]
    reach = float(np.max(np.abs(ux)))
    bn = min(bn, reach)
    cn = min(cn, reach)
    # rddensity fixes these pilot minimums at 20 + p + 2 + 1 and 20 + p + 1 households
    for lv, rv in ((left_all, right_all), (left_u, right_u)):
        bn = max(bn, _kth(lv, 20 + p + 3), _kth(rv, 20 + p + 3))
        cn = max(cn, _kth(lv, 20 + p + 1), _kth(rv, 20 + p + 1))

    bl = _side_fit(s, "left", bn, p + 2, kernel, derivative=p + 1)[0]
    br = _side_fit(s, "right", bn, p + 2, kernel, derivative=p + 1)[0]
    _, _, vl, vr, _, _ = _two_sided(s, cn, cn, p, kernel)
    const = _bias_constant(p, kernel)
    bias = {"left": bl * const * (-1) ** p, "right": br * const}
    bias["diff"] = bias["right"] - bias["left"]
    bias["sum"] = bias["right"] + bias["left"]
    # the two sides are fitted separately: their estimates are uncorrelated
    var = {"left": vl, "right": vr, "diff": vl + vr, "sum": vl + vr}
    h = {}
    for key in bias:
        v = n * cn * var[key]
        b2 = bias[key] ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            hk = (v / (2 * p) / b2 / n) ** (1 / (2 * p + 1))
        h[key] = 0.0 if np.isnan(hk) or v < 0 else float(hk)  # infinite: capped below

    h["left"] = min(h["left"], float(abs(ux[0])))
    h["right"] = min(h["right"], float(ux[-1]))
    h["diff"] = min(h["diff"], reach)
    h["sum"] = min(h["sum"], reach)
    if n_local_min > 0:
        for lv, rv in ((left_all, right_all), (left_u, right_u)):
            hl, hr = _kth(lv, n_local_min), _kth(rv, n_local_min)
            h["left"] = max(h["left"], hl)
            h["right"] = max(h["right"], hr)
            h["diff"] = max(h["diff"], hl, hr)
            h["sum"] = max(h["sum"], hl, hr)
    return h


def density_test(
    scores,
    cutoff: float,
    *,
    weights=None,
    p: int = 2,
    bandwidth: float | Sequence[float] | None = None,
    kernel: DensityKernel = "triangular",
    bandwidth_rule: BandwidthRule = "comb",
    mass_points: bool = True,
    n_local_min: int | None = None,
    method: Literal["auto", "local_polynomial", "discrete"] = "auto",
) -> DensityTestResult:
    """Test for a discontinuity in the density of scores at the cut-off.

    The manipulation test of Cattaneo, Jansson and Ma (2018, 2020), as ``rddensity`` (its
    defaults: unrestricted model, jackknife standard errors, mass-point adjustment). On
    each side of the cut-off a local polynomial of order ``p + 1`` is fitted by kernel-
    weighted least squares to the empirical CDF evaluated at the households' scores; its
    slope at the cut-off is the density there. The bandwidths are MSE-optimal for the
    order-``p`` estimator (``rdbwdensity``), and estimating with one order more at those
    bandwidths is the robust bias correction (Calonico, Cattaneo and Titiunik 2014): the
    t statistic ``(f_right - f_left) / se`` is then asymptotically standard normal.

    Parameters
    ----------
    scores : pandas.Series or array-like
        One score per household (registry scores, points or predicted welfare). Missing
        scores are left out and counted (``n_dropped``).
    cutoff : float
        The eligibility cut-off, in score units. Scores equal to it count as above (not
        eligible: eligible means ``score < cutoff``). With integer points and eligibility
        ``score <= k`` pass ``cutoff = k + 0.5``.
    weights : array-like, optional
        Household weights (survey or registry), positive. See Notes.
    p : int
        Order of the local polynomial of the point estimate, 1 to 7 (default 2, local
        quadratic; the test uses order p + 1).
    bandwidth : float or (float, float), optional
        Bandwidth (score units) on both sides, or (below, above). Default: chosen from the
        data by ``bandwidth_rule``.
    kernel : {"triangular", "epanechnikov", "uniform"}
    bandwidth_rule : {"comb", "each", "diff", "sum"}
        rddensity's ``bwselect``: MSE-optimal for each density separately ("each", two
        bandwidths), for their difference or their sum (one common bandwidth), or
        "comb" (default): on each side the median of that side's "each", "diff" and "sum".
    mass_points : bool
        Adjust for repeated scores (integer points): tied households share one value of
        the empirical CDF and move together in the jackknife (rddensity's ``massPoints``).
    n_local_min : int, optional
        Smallest number of households (and of distinct scores) within the bandwidth on
        each side; default 20 + p + 1, as rddensity.
    method : {"auto", "local_polynomial", "discrete"}
        "local_polynomial": the Cattaneo-Jansson-Ma test above. "discrete": the test for
        integer scores (scorecard points) below. "auto" (default): "discrete" when every
        score is a whole number and there are at most 200 distinct scores, else
        "local_polynomial".

    Returns
    -------
    DensityTestResult
        ``statistic``, ``p_value``, densities and standard errors on each side, bandwidths,
        effective numbers of households; ``summary()`` prints them.

    Raises
    ------
    pmt.errors.DataError
        For non-numeric or infinite scores, a cut-off outside the scores' range, too few
        households on one side, or a bandwidth that leaves a fit singular.
    pmt.errors.WeightError, pmt.errors.OptionError
        For bad weights or options.

    Notes
    -----
    **Integer scores.** With scorecard points the scores sit on a lattice, and the local
    polynomial test of the CDF, mass-point adjustment or not, rejects a smooth distribution
    of integer scores almost always at registry sizes (in our simulation of 20,000 normal
    scores rounded to integers it rejected 40 times in 40 at a cut-off in the tail). The
    "discrete" method is McCrary's (2008) binned test with the natural bins (one per
    score): on each side of the boundary between the last eligible and the first
    ineligible score (``ceil(cutoff) - 0.5``; eligible means ``score < cutoff``) a
    triangular-kernel local polynomial of order ``p + 1`` is fitted to the share of
    households at each of the ``bandwidth`` (default 12) scores nearest the boundary, and
    the t statistic compares the two intercepts with Poisson variances of the cell counts.
    Scorecard totals are lumpier than a smooth law (some totals are hit by more answer
    combinations), so the variance is multiplied by an overdispersion factor: the Pearson
    chi-square per degree of freedom of cubic fits to the counts 5 to ``2 * bandwidth``
    points away from the cut-off on each side (never below 1), where bunching at the
    cut-off does not reach. In our simulations (``tests/test_density_test.py``) its size
    at 5 % was 0.025 to 0.05 (200 draws of 20,000 rounded normal scores, cut-offs in the
    tail and the centre) and its power 1.00 when 30 % of the households 0-3 points above
    the cut-off move 1-2 points below it; on the registry of
    :func:`pmt.datasets.synthetic_registry` it finds the planted bunching and no bunching
    in the honest registry.

    Unweighted, the local polynomial results equal ``rddensity(X=scores, c=cutoff)`` (rddensity 3.0 for
    Python) to about 1e-10 on its published example (US Senate margins) and on simulated
    scores with and without mass points (``tests/test_density_test.py``).

    **Weights are an extension not covered by the published method.** With weights the
    empirical CDF is the weighted one, the local fits are weighted by kernel x weight and
    each household's jackknife influence is scaled by its weight (weights normalised to
    mean 1; with equal weights everything equals the unweighted test). This treats the
    weights as fixed and households as independent: it does not account for strata or
    PSU clustering of a survey sample. In our simulation of a sample that over-samples
    the households just below the cut-off (weights undoing it), the weighted test keeps
    its size while the unweighted one rejects; use weights when the scores come from a
    sample, and none for a full registry.

    References
    ----------
    Cattaneo, M. D., Jansson, M. and Ma, X. (2018). Manipulation testing based on density
    discontinuity. Stata Journal 18(1), 234-261.
    Cattaneo, M. D., Jansson, M. and Ma, X. (2020). Simple local polynomial density
    estimators. Journal of the American Statistical Association 115(531), 1449-1455.
    McCrary, J. (2008). Manipulation of the running variable in the regression
    discontinuity design: a density test. Journal of Econometrics 142(2), 698-714.
    """
    kernel = check_option(kernel, ("triangular", "epanechnikov", "uniform"), name="kernel")
    bandwidth_rule = check_option(bandwidth_rule, ("comb", "each", "diff", "sum"),
                                  name="bandwidth_rule")
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or not 1 <= p <= 7:
        raise DataError(f"`p` must be an integer from 1 to 7 (the polynomial order); got {p!r}.")
    p = int(p)
    if n_local_min is None:
        n_local_min = 20 + p + 1
    if isinstance(n_local_min, bool) or not isinstance(n_local_min, int | np.integer) \
            or n_local_min < 0:
        raise DataError(f"`n_local_min` must be a non-negative integer; got {n_local_min!r}.")
    try:
        c = float(cutoff)
    except (TypeError, ValueError):
        raise DataError(f"`cutoff` must be a number (in score units); got {cutoff!r}.") from None
    if not np.isfinite(c):
        raise DataError(f"`cutoff` must be a finite number; got {cutoff!r}.")

    method = check_option(method, ("auto", "local_polynomial", "discrete"), name="method")
    x_all, w_all, n_dropped = _scores_and_weights(scores, weights)
    if method == "auto":
        whole = bool(np.all(x_all == np.round(x_all)))
        method = "discrete" if whole and np.unique(x_all).size <= 200 else "local_polynomial"
    if method == "discrete":
        return _discrete_test(x_all, w_all, c, p, bandwidth, n_dropped, weights is not None)
    x = x_all - c
    n_left = int((x < 0).sum())
    n_right = x.size - n_left
    need = p + 3
    for side, count, vals in (("below", n_left, x[x < 0]), ("at or above", n_right, x[x >= 0])):
        distinct = np.unique(vals).size
        if distinct < need:
            lo, hi = (float(x_all.min()), float(x_all.max())) if x_all.size else (np.nan, np.nan)
            raise DataError(
                f"`scores` has {count} household(s) with {distinct} distinct score(s) {side} "
                f"the cut-off {c:g} (scores range from {lo:g} to {hi:g}); the test needs at "
                f"least {need} distinct scores on each side: check the cut-off."
            )
    s = _sample(x, w_all, mass_points)

    pilot: dict[str, float] = {}
    if bandwidth is None:
        pilot = _bandwidths(s, p, kernel, int(n_local_min))
        if bandwidth_rule == "each":
            h_left, h_right = pilot["left"], pilot["right"]
        elif bandwidth_rule in ("diff", "sum"):
            h_left = h_right = pilot[bandwidth_rule]
        else:
            h_left = float(np.median([pilot["left"], pilot["diff"], pilot["sum"]]))
            h_right = float(np.median([pilot["right"], pilot["diff"], pilot["sum"]]))
        rule: str = bandwidth_rule
    else:
        h_left, h_right = _manual_bandwidth(bandwidth)
        rule = "manual"

    fl, fr, vl, vr, ml, mr = _two_sided(s, h_left, h_right, p + 1, kernel)
    cfl, cfr, cvl, cvr, _, _ = _two_sided(s, h_left, h_right, p, kernel)
    if not np.all(np.isfinite([fl, fr, vl, vr])):
        raise DataError(
            f"the density fit at the cut-off {c:g} is singular: bandwidths ({h_left:g} below, "
            f"{h_right:g} above) hold {ml} and {mr} households; pass a larger `bandwidth` "
            "or a smaller `p`."
        )
    se_l, se_r = float(np.sqrt(vl)), float(np.sqrt(vr))
    se_d = float(np.sqrt(vl + vr))
    t = (fr - fl) / se_d if se_d > 0 else np.nan
    t_conv = (cfr - cfl) / np.sqrt(cvl + cvr) if cvl + cvr > 0 else np.nan
    return DensityTestResult(
        statistic=float(t),
        p_value=float(2 * stats.norm.sf(abs(t))),
        density_left=fl, density_right=fr,
        se_left=se_l, se_right=se_r, se_difference=se_d,
        conventional_density_left=cfl, conventional_density_right=cfr,
        conventional_statistic=float(t_conv),
        conventional_p_value=float(2 * stats.norm.sf(abs(t_conv))),
        bandwidth_left=float(h_left), bandwidth_right=float(h_right), bandwidth_rule=rule,
        n_left=n_left, n_right=n_right, n_effective_left=ml, n_effective_right=mr,
        n_dropped=n_dropped, cutoff=c, p=p, kernel=kernel, weighted=weights is not None,
        pilot_bandwidths=pilot,
    )


#: Points on each side of the cut-off left out of the overdispersion fit of the discrete
#: test (bunching moves households a few points), and the order of that fit.
DISCRETE_DONUT = 5
DISCRETE_DEFAULT_BANDWIDTH = 12


def _cell_shares(x: np.ndarray, w: np.ndarray, points: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted count and sum of squared weights of the households at each integer point."""
    pos = np.searchsorted(points, x)
    inside = (pos < points.size) & (points[np.minimum(pos, points.size - 1)] == x)
    count = np.bincount(pos[inside], weights=w[inside], minlength=points.size)
    square = np.bincount(pos[inside], weights=w[inside] ** 2, minlength=points.size)
    return count, square


def _overdispersion(x: np.ndarray, w: np.ndarray, first_right: int, width: int) -> float:
    """Pearson chi-square per degree of freedom of cubic fits to the cell counts 5 to
    ``width`` points from the cut-off on each side (at least 1).
    """
    chi2, dof = 0.0, 0
    for lo, hi in ((first_right - width, first_right - DISCRETE_DONUT),
                   (first_right + DISCRETE_DONUT, first_right + width)):
        points = np.arange(lo, hi, dtype=float)
        count, square = _cell_shares(x, w, points)
        seen = square > 0
        if seen.sum() <= 5:
            continue
        X = np.vander(points[seen] - first_right, 4, increasing=True)
        root = 1 / np.sqrt(square[seen])
        beta = np.linalg.lstsq(X * root[:, None], count[seen] * root, rcond=None)[0]
        chi2 += float(np.sum(((count[seen] - X @ beta) * root) ** 2))
        dof += int(seen.sum()) - 4
    return max(1.0, chi2 / dof) if dof > 0 else 1.0


def _discrete_test(x: np.ndarray, w: np.ndarray, c: float, p: int, bandwidth,
                   n_dropped: int, weighted: bool) -> DensityTestResult:
    """The binned test for integer scores (see :func:`density_test`, Notes)."""
    if bandwidth is None:
        h = DISCRETE_DEFAULT_BANDWIDTH
    else:
        h_pair = _manual_bandwidth(bandwidth)
        if h_pair[0] != h_pair[1] or h_pair[0] != int(h_pair[0]):
            raise DataError("with integer scores `bandwidth` is one whole number of points "
                            f"on both sides; got {bandwidth!r}.")
        h = int(h_pair[0])
    order = p + 1
    if h < order + 2:
        raise DataError(f"`bandwidth` of {h} points is too small for a polynomial of order "
                        f"{order}: give at least {order + 2} points.")
    first_right = int(np.ceil(c))  # the first ineligible score; eligible: score < c
    boundary = first_right - 0.5
    total = float(w.sum())
    fits = {}
    for side, points in (("left", np.arange(first_right - h, first_right, dtype=float)),
                         ("right", np.arange(first_right, first_right + h, dtype=float))):
        count, square = _cell_shares(x, w, points)
        if np.count_nonzero(count) < order + 2:
            raise DataError(
                f"`scores` has households at only {np.count_nonzero(count)} of the {h} scores "
                f"{'below' if side == 'left' else 'at or above'} the cut-off {c:g}; the test "
                f"needs at least {order + 2}: check the cut-off or pass a larger `bandwidth`.")
        u = points - boundary
        kern = 1 - np.abs(u) / (h + 0.5)
        estimates = []
        for k in (order, p):
            X = np.vander(u, k + 1, increasing=True)
            A = np.linalg.solve(X.T @ (X * kern[:, None]), (X * kern[:, None]).T)
            estimates.append((float(A[0] @ count) / total,
                              float(A[0] ** 2 @ square) / total**2))
        fits[side] = (estimates, int(np.sum(count > 0)), float(count.sum()))
    phi = _overdispersion(x, w, first_right, max(2 * h, DISCRETE_DONUT + 10))
    (fl, vl), (cfl, cvl) = fits["left"][0]
    (fr, vr), (cfr, cvr) = fits["right"][0]
    se_l, se_r = float(np.sqrt(phi * vl)), float(np.sqrt(phi * vr))
    se_d = float(np.sqrt(phi * (vl + vr)))
    t = (fr - fl) / se_d if se_d > 0 else np.nan
    t_conv = (cfr - cfl) / np.sqrt(phi * (cvl + cvr)) if cvl + cvr > 0 else np.nan
    within = np.abs(x - boundary) < h
    return DensityTestResult(
        statistic=float(t), p_value=float(2 * stats.norm.sf(abs(t))),
        density_left=fl, density_right=fr, se_left=se_l, se_right=se_r, se_difference=se_d,
        conventional_density_left=cfl, conventional_density_right=cfr,
        conventional_statistic=float(t_conv),
        conventional_p_value=float(2 * stats.norm.sf(abs(t_conv))),
        bandwidth_left=float(h), bandwidth_right=float(h), bandwidth_rule="points",
        n_left=int((x < c).sum()), n_right=int((x >= c).sum()),
        n_effective_left=int((within & (x < c)).sum()),
        n_effective_right=int((within & (x >= c)).sum()),
        n_dropped=n_dropped, cutoff=c, p=p, kernel="triangular", weighted=weighted,
        pilot_bandwidths={"overdispersion": phi}, method="discrete",
    )


def _scores_and_weights(scores, weights) -> tuple[np.ndarray, np.ndarray, int]:
    """Scores without the missing ones (counted), and their weights."""
    values = column_or_array(scores, name="scores", allow_nan=True)
    missing = np.isnan(values)
    if np.isinf(values).any():
        labels = scores.index if isinstance(scores, pd.Series) else pd.RangeIndex(values.size)
        column_or_array(pd.Series(values, index=labels)[~missing], name="scores")
    w = check_weights(weights, values.size, kind="positive", subset=~missing)
    return values[~missing], w[~missing], int(missing.sum())


def _manual_bandwidth(bandwidth) -> tuple[float, float]:
    vals = np.atleast_1d(np.asarray(bandwidth, dtype=float)) if not isinstance(
        bandwidth, str) else np.array([np.nan])
    if vals.ndim != 1 or vals.size not in (1, 2) or not np.all(np.isfinite(vals)) \
            or np.any(vals <= 0):
        raise DataError(
            "`bandwidth` must be a positive number (both sides) or a pair (below, above) in "
            f"score units; got {bandwidth!r}."
        )
    return float(vals[0]), float(vals[-1])


# --- shares around the cut-off ------------------------------------------------------------
def unverifiable_share(contributions: pd.DataFrame, unverifiable: Iterable[str]) -> pd.Series:
    """Share of each household's score that comes from unverifiable proxies.

    Parameters
    ----------
    contributions : pandas.DataFrame
        One row per household, one column per proxy: its points (a scorecard's
        ``score(..., breakdown=True)`` columns ``points_<proxy>`` are recognised) or its
        coefficient contribution.
    unverifiable : iterable of str, or pmt.DataSpec
        Names of the proxies the data spec marks ``verifiable: false``; a DataSpec gives
        its ``proxy`` columns without ``verifiable: true``.

    Returns
    -------
    pandas.Series
        ``sum_k in U |c_k| / sum_k |c_k|`` per household (0 to 1), named
        ``unverifiable_share``; NaN where all contributions are 0. Absolute values so that
        negative coefficient contributions count by their size; with points (all >= 0)
        this is the plain share of the score.
    """
    if not isinstance(contributions, pd.DataFrame):
        raise DataError("`contributions` must be a DataFrame: one row per household, one "
                        f"column per proxy; got {type(contributions).__name__}.")
    names = _unverifiable_names(unverifiable)
    columns = {str(c): c for c in contributions.columns}
    chosen, absent = [], []
    for name in names:
        if name in columns:
            chosen.append(columns[name])
        elif f"points_{name}" in columns:
            chosen.append(columns[f"points_{name}"])
        else:
            absent.append(name)
    if absent:
        shown = ", ".join(list(columns)[:12])
        raise DataError(
            f"`unverifiable` names proxies {absent} that are not columns of `contributions` "
            f"(its columns are {shown}): pass the contribution of every proxy, or fix the names."
        )
    values = contributions.apply(
        lambda col: column_or_array(col, name=f"contributions['{col.name}']")).abs()
    total = values.sum(axis=1)
    part = values[chosen].sum(axis=1) if chosen else pd.Series(0.0, index=values.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = part / total.where(total > 0)
    return share.rename("unverifiable_share")


def _unverifiable_names(unverifiable) -> list[str]:
    if unverifiable is None:
        return []
    if hasattr(unverifiable, "columns_with_role") and hasattr(unverifiable, "__getitem__"):
        return [c for c in unverifiable.columns_with_role("proxy")
                if not unverifiable[c].verifiable]
    if isinstance(unverifiable, str):
        return [unverifiable]
    return [str(u) for u in unverifiable]


def manipulation_summary(
    scores,
    cutoff: float,
    *,
    width: float,
    weights=None,
    contributions: pd.DataFrame | None = None,
    unverifiable=None,
) -> pd.DataFrame:
    """Households just below and just above the cut-off, and how verifiable their scores are.

    Parameters
    ----------
    scores : pandas.Series or array-like
        One score per household; missing scores are left out and counted
        (``attrs["n_dropped"]``).
    cutoff : float
        Eligibility cut-off (eligible: ``score < cutoff``).
    width : float
        Half-width of the windows, in score units: "just below" is
        ``cutoff - width <= score < cutoff``, "just above" ``cutoff <= score < cutoff + width``.
    weights : array-like, optional
        Household weights; shares and means are weighted.
    contributions : pandas.DataFrame, optional
        Score contributions by proxy, one row per household in the order of ``scores``
        (see :func:`unverifiable_share`).
    unverifiable : iterable of str or pmt.DataSpec, optional
        Proxies marked ``verifiable: false`` in the data spec.

    Returns
    -------
    pandas.DataFrame
        Index ``group``: ``just below``, ``just above``, ``all``. Columns ``n`` (households),
        ``share`` (weighted share of all households), ``density`` (share / width: per unit
        of score, comparable with :func:`density_test`), ``ratio_to_above`` (share over the
        share just above; well above 1 hints at bunching) and, with contributions,
        ``unverifiable_share`` (weighted mean share of the score from unverifiable
        proxies) and ``unverifiable_share_ratio`` (over the same for all households).
    """
    try:
        width = float(width)
    except (TypeError, ValueError):
        raise DataError(f"`width` must be a positive number (score units); got {width!r}.") \
            from None
    if not np.isfinite(width) or width <= 0:
        raise DataError(f"`width` must be a positive number (score units); got {width!r}.")
    c = float(cutoff)
    values = column_or_array(scores, name="scores", allow_nan=True)
    present = ~np.isnan(values)
    w = check_weights(weights, values.size, subset=present)
    w = np.where(present, w, 0.0)
    below = present & (values >= c - width) & (values < c)
    above = present & (values >= c) & (values < c + width)
    groups = {"just below": below, "just above": above, "all": present}
    total = w.sum()
    out = pd.DataFrame(index=pd.Index(list(groups), name="group"))
    out["n"] = [int(m.sum()) for m in groups.values()]
    out["share"] = [w[m].sum() / total for m in groups.values()]
    out["density"] = out["share"] / width
    out.loc["all", "density"] = np.nan
    above_share = out.loc["just above", "share"]
    out["ratio_to_above"] = out["share"] / above_share if above_share > 0 else np.nan
    out.loc["all", "ratio_to_above"] = np.nan
    if contributions is not None:
        if len(contributions) != values.size:
            raise DataError(
                f"`contributions` has {len(contributions)} rows but `scores` has {values.size}: "
                "pass one row per household, in the same order."
            )
        share = unverifiable_share(contributions, unverifiable).to_numpy()
        means = []
        for m in groups.values():
            ok = m & ~np.isnan(share)
            means.append(float(np.sum(w[ok] * share[ok]) / w[ok].sum()) if w[ok].sum() > 0
                         else np.nan)
        out["unverifiable_share"] = means
        out["unverifiable_share_ratio"] = out["unverifiable_share"] / means[-1]
        missing_share = present & np.isnan(share)
        if missing_share.any():
            idx = contributions.index[missing_share]
            out.attrs["zero_score_rows"] = f"{int(missing_share.sum())} ({example_rows(idx)})"
    out.attrs.update(cutoff=c, width=width, n_dropped=int((~present).sum()),
                     unverifiable=_unverifiable_names(unverifiable))
    return out
