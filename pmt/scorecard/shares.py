"""Share proxies asked as counts: which proxies are shares of members, and of what.

A PMT often uses shares of household members (``share_children_0_2`` = members aged 0-2 /
household size, ``share_working`` = members 15+ who work / members 15+). A field worker
cannot be asked for a share; they can count. A **share question** therefore reads two
count fields, the numerator and the denominator, and the scorecard computes the share
(a zero denominator counts as share 0, a numerator above the denominator is rejected);
its bands and points are those of the share, exactly as if the share had been asked.

How :meth:`Scorecard.from_model <pmt.scorecard.Scorecard.from_model>` knows a proxy is a
share (``shares=`` argument):

* ``shares={"share_x": ("n_x", "n_members")}`` declares the pairs. With training data
  each pair is checked: ``share_x`` must equal ``n_x / n_members`` on every row (0 where
  ``n_members`` is 0).
* ``shares="auto"`` (the default) finds the pairs in the training data: a numeric proxy
  with values in [0, 1] that are not all whole numbers is a share when two whole-number,
  non-negative columns of the data, a numerator ``n`` and a denominator ``d`` (not 0/1,
  and positive on some rows), satisfy ``n <= d`` and ``share == n / d`` on every row with
  ``d > 0`` (to 1e-9), and ``share == 0`` where ``d == 0``. Denominators are tried in
  this order: the data spec's ``role: size`` column, the spec's ``count`` columns, the
  other columns in the data's order; the first one with a matching numerator wins (a
  spec ``count`` column is preferred among equal numerators). Without training data
  nothing is detected.
* ``shares=None`` asks every share as a share (one question with share bands).

This is how the embedded survey builds its share columns
(:mod:`pmt.datasets.synthetic`: ``share_children_0_2 = n_children_0_2 / hh_size``,
``share_working = n_employed / n_members_15plus``, ...) and how ``data_spec/hbs.yaml``
documents them (``description: n_children_0_2 / hh_size.``). The rule needs no new spec
key and works for any survey that keeps the counts beside the shares; a share whose
counts are not in the data stays a share question (and its wording falls back to the
label).

``ratios=`` (fixed bands none / fewer than half / half or more / all) is unchanged and
takes precedence over ``shares=``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pmt.errors import ModelError, PMTError

_TOL = 1e-9
_QUICK = 2000  # rows of a first, cheap check before the full one


def _whole_columns(data: pd.DataFrame, skip: set[str]) -> dict[str, np.ndarray]:
    """Numeric columns of ``data`` holding non-negative whole numbers (as float arrays)."""
    out: dict[str, np.ndarray] = {}
    for c in data.columns:
        if not isinstance(c, str) or c in skip:
            continue
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            continue
        x = s.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        xs = x[ok]
        if xs.min() < 0 or np.any(np.mod(xs, 1) != 0):
            continue
        out[c] = x
    return out


def _order(cands: Mapping[str, np.ndarray], spec) -> list[str]:
    """Candidate names: spec size column, spec count columns, the rest (data order)."""
    size, counts = [], []
    if spec is not None:
        for c in cands:
            try:
                col = spec[c]
            except (AttributeError, KeyError, TypeError, PMTError):
                continue  # a spec lacking the column says nothing about it
            if getattr(col, "role", None) == "size":
                size.append(c)
            elif getattr(col, "type", None) == "count":
                counts.append(c)
    rest = [c for c in cands if c not in size and c not in counts]
    return size + counts + rest


def _matches(share: np.ndarray, num: np.ndarray, den: np.ndarray, empty: bool = False) -> bool:
    """``share == num / den`` (0 where den == 0) and num <= den on rows with a share.

    ``empty`` is the answer when no row has all three values.
    """
    ok = np.isfinite(share) & np.isfinite(num) & np.isfinite(den)
    if not ok.any():
        return empty
    s, n, d = share[ok], num[ok], den[ok]
    if np.any(n > d):
        return False
    pos = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pos, n / np.where(pos, d, 1.0), 0.0)
    return bool(np.all(np.abs(ratio - s) <= _TOL))


def _whole_product(share: np.ndarray, den: np.ndarray) -> bool:
    """Whether share * den is a whole number where den > 0, and share is 0 where den == 0."""
    ok = np.isfinite(share) & np.isfinite(den)
    s, d = share[ok], den[ok]
    prod = s * d
    return bool(np.all(np.abs(prod - np.rint(prod)) <= 1e-6 * np.maximum(d, 1))
                and np.all(s[d == 0] == 0))


def detect_shares(data: pd.DataFrame, variables, spec=None) -> dict[str, tuple[str, str]]:
    """``{share proxy: (numerator, denominator)}`` found in ``data`` (see the module doc).

    Parameters
    ----------
    data : DataFrame
        Training data holding the proxies and, possibly, the counts behind them.
    variables : iterable of str
        Numeric proxies to examine.
    spec : DataSpec, optional
        Orders the candidates (size column first, then count columns).

    Returns
    -------
    dict
        One entry per proxy found to be a share of two count columns.
    """
    found: dict[str, tuple[str, str]] = {}
    targets = [v for v in variables if v in data.columns]
    if not targets:
        return found
    cands = _whole_columns(data, set(targets))
    order = _order(cands, spec)
    dens = [c for c in order if np.nanmax(cands[c]) > 1]
    for v in targets:
        s = pd.to_numeric(data[v], errors="coerce").to_numpy(dtype=float)
        fin = s[np.isfinite(s)]
        if fin.size == 0 or fin.min() < 0 or fin.max() > 1 or np.all(np.mod(fin, 1) == 0):
            continue
        q = slice(0, _QUICK)
        pair = None
        for d in dens:
            den = cands[d]
            if not np.any(den > 0) or not _whole_product(s[q], den[q]):
                continue
            for n in order:
                if n != d and _matches(s[q], cands[n][q], den[q], True) and _matches(s, cands[n], den):
                    pair = (n, d)
                    break
            if pair:
                break
        if pair:
            found[v] = pair
    return found


def check_shares(shares: Mapping, numeric: set[str], data: pd.DataFrame | None) -> dict:
    """Validate a ``shares=`` mapping; with data, check every share equals num / den."""
    out: dict[str, tuple[str, str]] = {}
    for v, pair in shares.items():
        if v not in numeric:
            raise ModelError(
                f"shares[{v!r}]: {v!r} is not a numeric proxy of the model; name a share "
                "term of the formula."
            )
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not all(
                isinstance(p, str) for p in pair):
            raise ModelError(
                f"shares[{v!r}] must be a pair of column names (numerator, denominator), e.g. "
                "('n_children_0_2', 'hh_size'); got {pair!r}."
            )
        num, den = pair
        if data is not None:
            missing = [c for c in (v, num, den) if c not in data.columns]
            if missing:
                raise ModelError(
                    f"shares[{v!r}]: the data lack column(s) {', '.join(missing)}; pass data "
                    "with the share and its two counts, or drop it from shares=."
                )
            s, n, d = (pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float)
                       for c in (v, num, den))
            if not _matches(s, n, d):
                raise ModelError(
                    f"shares[{v!r}]: {v} is not {num} / {den} on every row of the data (or "
                    f"{num} exceeds {den}); check the pair, or pass shares=None to ask the "
                    "share itself."
                )
        out[v] = (num, den)
    return out
