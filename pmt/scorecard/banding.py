"""Bands of numeric proxies: cut-points, answer labels, registry conditions, band values.

Continuous proxies are banded at weighted quantiles (cut-points rounded to 2 significant
digits) or by Fisher's optimal partition; counts get one answer per value then "k or
more"; ratios get none / fewer than half / half or more but not all / all.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from pmt.scorecard.questions import _fmt
from pmt.survey import weighted_quantile

RATIO_CUTS = ((0.0, True), (0.5, False), (1.0, False))
_RATIO_LABELS = ("none of them", "fewer than half", "half or more, but not all", "all of them")


def _nice(x: float, digits: int = 2) -> float:
    """Round to ``digits`` significant digits (cut-points a field worker can read)."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    return float(round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1))


def _is_count(x, w, n_bands: int) -> bool:
    """Whole numbers whose first ``n_bands - 1`` values hold >= 80 % of the weight."""
    uniq = np.unique(x)
    if not np.all(np.mod(uniq, 1) == 0):
        return False
    if uniq.size <= n_bands:
        return True
    return bool(w[x <= uniq[n_bands - 2]].sum() >= 0.8 * w.sum())


def _band_cuts(x, w, n_bands: int, ratio: bool) -> list[tuple[float, bool]]:
    """Default (cut, includes-cut) pairs for a numeric proxy with distribution (x, w)."""
    uniq = np.unique(x)
    if ratio:  # none / fewer than half / half or more but not all / all
        return list(RATIO_CUTS)
    is_int = bool(np.all(np.mod(uniq, 1) == 0))
    if _is_count(x, w, n_bands):  # one answer per value, then "k or more"
        share = np.array([w[x == u].sum() for u in uniq[:n_bands]]) / w.sum()
        cuts = []
        cum = 0.0
        for u, sh in zip(uniq[:-1], share, strict=False):
            cuts.append((float(u), True))
            cum += sh
            if len(cuts) == n_bands - 1 or cum >= 0.95:
                break
        return cuts
    qs = weighted_quantile(x, w, np.arange(1, n_bands) / n_bands)
    out: list[float] = []
    for c in np.atleast_1d(qs):
        c = float(c) if is_int else _nice(float(c))
        if c < uniq.min() or c >= uniq.max() or c in out:
            continue
        out.append(c)
    return [(c, True) for c in sorted(out)]


def _nice_between(a: float, b: float) -> float:
    """The number with the fewest significant digits in [a, b) (``a`` itself if none)."""
    if a == 0:
        return 0.0
    for digits in range(1, 8):
        c = float(f"{a:.{digits}g}")
        if c < a:
            c += 10.0 ** (math.floor(math.log10(abs(c) if c else abs(a))) - digits + 1)
            c = float(f"{c:.{digits}g}")
        if a <= c < b:
            return c
    return float(a)


def _optimal_cuts(x, w, gx, n_bands: int, max_groups: int = 200) -> list[tuple[float, bool]]:
    """Band edges minimising the weighted squared error of the step approximation of g(x).

    Dynamic programming (Fisher's optimal partition of an ordered variable) over the
    distinct values of x, or over ``max_groups`` weighted-quantile groups when there are
    more; each band's value is then the weighted mean of g in it, so this is the banding
    with the smallest loss of the exact model's prediction. Cut-points are placed at the
    roundest number between two groups.
    """
    order = np.argsort(x, kind="stable")
    xs, ws, gs = x[order], w[order], gx[order]
    uniq, start = np.unique(xs, return_index=True)
    if uniq.size > max_groups:
        from pmt.survey import quantile_groups

        grp = quantile_groups(xs, ws, n_groups=max_groups) - 1
        keep = np.flatnonzero(np.diff(grp, prepend=-1))
        start = keep
    bounds = np.append(start, xs.size)
    W = np.add.reduceat(ws, start)
    S = np.add.reduceat(ws * gs, start)
    Q = np.add.reduceat(ws * gs * gs, start)
    m = W.size
    k = min(n_bands, m)
    cW, cS, cQ = (np.concatenate([[0.0], np.cumsum(v)]) for v in (W, S, Q))

    def cost(i, j):  # groups i..j-1 (arrays of i)
        ww = cW[j] - cW[i]
        ss = cS[j] - cS[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ww > 0, (cQ[j] - cQ[i]) - ss * ss / np.where(ww > 0, ww, 1), 0.0)

    inf = np.inf
    dp = np.full((k + 1, m + 1), inf)
    arg = np.zeros((k + 1, m + 1), dtype=np.int64)
    dp[0, 0] = 0.0
    for b in range(1, k + 1):
        for j in range(b, m + 1):
            i = np.arange(b - 1, j)
            total = dp[b - 1, i] + cost(i, j)
            best = int(np.argmin(total))
            dp[b, j], arg[b, j] = total[best], i[best]
    # walk back from the best number of bands (at most k)
    b = int(np.argmin(dp[1:, m])) + 1
    ends = []
    j = m
    while b > 0:
        i = arg[b, j]
        ends.append(j)
        j, b = i, b - 1
    ends = sorted(ends)[:-1]  # group index where each band ends (exclusive), last is m
    cuts = []
    for e in ends:
        hi_prev = xs[bounds[e] - 1]
        lo_next = xs[bounds[e]]
        cuts.append((_nice_between(float(hi_prev), float(lo_next)), True))
    return cuts


def _band_labels(cuts: list[tuple[float, bool]], is_int: bool, lo_val: float | None,
                 ratio: bool, unit: str | None) -> list[str]:
    u = f" {unit}" if unit else ""
    if ratio and tuple(cuts) == RATIO_CUTS:
        return list(_RATIO_LABELS)
    return [_generic_band(cuts, i, is_int, lo_val, u) for i in range(len(cuts) + 1)]


def _generic_band(cuts, i: int, is_int: bool, lo_val, u: str) -> str:
    lower = cuts[i - 1] if i > 0 else None
    upper = cuts[i] if i < len(cuts) else None
    if is_int and all(c is None or (c[1] and float(c[0]).is_integer()) for c in (lower, upper)):
        a = None if lower is None else int(lower[0]) + 1
        b = None if upper is None else int(upper[0])
        if a is None and lo_val is not None and lo_val <= b:
            a = int(lo_val)
        if a is None:
            return f"{b}{u} or fewer"
        if b == 0 and a == 0:
            return "none (0)"
        if b is None:
            return f"{a}{u} or more"
        return f"{a}{u}" if a == b else f"{a} to {b}{u}"
    if lower is None:
        # lower is None only for i == 0, where upper is cuts[0] (cuts is non-empty)
        c, inc = cast(tuple[float, bool], upper)
        if c == 0 and inc and (lo_val is None or lo_val >= 0):
            return "none (0)"
        return f"{'up to' if inc else 'less than'} {_fmt(c)}{u}"
    if upper is None:
        c, inc = lower
        return f"{'more than' if inc else 'at least'} {_fmt(c)}{u}"
    return (
        f"{'more than' if lower[1] else 'at least'} {_fmt(lower[0])}, "
        f"{'up to' if upper[1] else 'less than'} {_fmt(upper[0])}{u}"
    )


def _band_conditions(cuts: list[tuple[float, bool]]) -> list[dict]:
    conds = []
    for i in range(len(cuts) + 1):
        c: dict = {}
        if i > 0:
            v, inc = cuts[i - 1]
            c["gt" if inc else "ge"] = v
        if i < len(cuts):
            v, inc = cuts[i]
            c["le" if inc else "lt"] = v
        conds.append(c)
    return conds


def _band_index(x: np.ndarray, cuts: list[tuple[float, bool]]) -> np.ndarray:
    idx = np.zeros(x.shape, dtype=np.int64)
    for c, inc in cuts:
        idx += (x > c) if inc else (x >= c)
    return idx


def _band_values(x, w, cuts, g, fallback) -> list[float]:
    """Weighted mean of g(x) within each band; ``fallback(i)`` for empty bands."""
    idx = _band_index(x, cuts)
    gx = g(x)
    out = []
    for i in range(len(cuts) + 1):
        m = idx == i
        sw = w[m].sum()
        out.append(float((w[m] * gx[m]).sum() / sw) if sw > 0 else float(g(np.array([fallback(i)]))[0]))
    return out


def _fallback_point(cuts):
    def point(i):
        if not cuts:
            return 0.0
        if i == 0:
            return cuts[0][0]
        if i >= len(cuts):
            return cuts[-1][0]
        return (cuts[i - 1][0] + cuts[i][0]) / 2

    return point
