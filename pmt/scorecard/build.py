"""Scorecard.from_model: questions from the model's terms, points and the cut-off.

See the :mod:`pmt.scorecard` docstring for the method (answer values, shift, scale,
largest-remainder rounding, cut-off).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from pmt._literals import Banding, Direction
from pmt._validation import check_option, check_weights
from pmt.errors import ModelError
from pmt.models.formula import level_label
from pmt.scorecard.banding import (
    _band_conditions,
    _band_cuts,
    _band_labels,
    _band_values,
    _fallback_point,
    _is_count,
    _optimal_cuts,
)
from pmt.scorecard.fieldinfo import (
    _code_value,
    _codes_of,
    _label_of,
    _plain,
    _question_of,
    _range_of,
    _spec_values,
    _unit_of,
)
from pmt.scorecard.linear import _contribution, _quadratics, _threshold_index, linear_index
from pmt.scorecard.questions import Answer, Question, _fmt
from pmt.scorecard.shares import check_shares, detect_shares

if TYPE_CHECKING:
    from pmt.scorecard.card import Scorecard

_TOL = 1e-9
#: Default tolerance of :func:`rounding_warning`: 2 % of households (household-weighted).
WARN_CHANGED = 0.02


def _distribution(var: str, data, w, profile) -> tuple[np.ndarray, np.ndarray] | None:
    if data is not None and var in data.columns:
        x = pd.to_numeric(data[var], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
        return x[ok], w[ok]
    if profile and var in profile:
        return np.asarray(profile[var]["values"], float), np.asarray(profile[var]["weights"], float)
    return None


def _categorical_question(v, design, coef, spec, text) -> Question:
    cat = design.categoricals[v]
    codes = _codes_of(spec, v) or {}
    answers = []
    for lev in cat.levels:
        val = 0.0 if lev == cat.base else coef[f"C({v})[T.{lev}]"]
        answers.append(Answer(codes.get(lev, lev), {"equals": _code_value(lev)}, 0, val))
    return Question(v, v, text, "categorical", answers)


def _numeric_question(v, coef, opts, data, w, profile, spec) -> Question | float:
    """The question for numeric proxy ``v``, or its constant contribution (one value)."""
    ratios, bands, n_bands, banding = opts["ratios"], opts["bands"], opts["n_bands"], opts["banding"]
    is_ratio = v in ratios  # fixed ratio bands (none / fewer than half / ...)
    pair = ratios.get(v) or opts["shares"].get(v)  # asked as two counts
    field_, per = pair if pair else (v, None)
    text = _question_of(spec, v) or _label_of(spec, v)
    ask = None
    if pair:
        # a pair is the (numerator, denominator) columns of a ratio or share proxy
        per = cast(str, per)
        if data is not None and field_ in data.columns and per in data.columns:
            num = pd.to_numeric(data[field_], errors="coerce").to_numpy(dtype=float)
            den = pd.to_numeric(data[per], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
            ok = np.isfinite(share) & np.isfinite(num) & np.isfinite(den) & (w > 0)
            dist: tuple[np.ndarray, np.ndarray] | None = (share[ok], w[ok])
        else:
            dist = _distribution(v, data, w, profile)
        if is_ratio:
            text = _question_of(spec, v) or (
                f"How many household members: {_label_of(spec, per)}? "
                f"And how many of them: {_label_of(spec, field_)}?"
            )
        else:
            text = _question_of(spec, v) or _plain(_label_of(spec, v))
        ask = (_question_of(spec, field_) or _plain(_label_of(spec, field_)),
               _question_of(spec, per) or _plain(_label_of(spec, per)))
    else:
        dist = _distribution(v, data, w, profile)
    g, cap, note = _contribution(v, coef, opts["quadratic"], opts["cap_quadratic"], opts["sign"])
    if dist is None and v not in bands and not is_ratio:
        dist = _spec_values(spec, v, n_bands)  # binary or small-range count: exact values
    if v in bands:
        cuts = [(float(c), True) for c in sorted(bands[v])]
    elif dist is None:
        raise ModelError(
            f"cannot band numeric proxy '{v}': its values are unknown. Pass the training data "
            f"(data=), band edges (bands={{'{v}': [...]}}), a data spec declaring it binary or "
            "a count with a small range (spec=), or load the model from an artifact saved "
            "with data=."
        )
    else:
        x, wx = dist
        if x.size == 0:
            raise ModelError(f"proxy '{v}' has no observed values in the training data.")
        uniq = np.unique(x)
        if uniq.size == 1:
            return float(g(uniq)[0])  # a constant proxy adds to the constant
        if uniq.size == 2 and not pair and cap is None:
            # binary (or two-valued) proxy: one answer per value
            codes = _codes_of(spec, v) or {}
            default = {"0": "No", "1": "Yes"}
            answers = [
                Answer(codes.get(level_label(u), default.get(level_label(u), _fmt(u))),
                       {"equals": _code_value(level_label(u))}, 0, float(g(np.array([u]))[0]))
                for u in uniq
            ]
            return Question(v, v, text, "categorical", answers, range=_range_of(spec, v))
        if banding == "optimal" and not is_ratio and not _is_count(x, wx, n_bands):
            cuts = _optimal_cuts(x, wx, g(x), n_bands)
        elif cap is None:
            cuts = _band_cuts(x, wx, n_bands, is_ratio)
        else:  # band below the vertex; everything above it is one top band
            below = x < cap
            cuts = _band_cuts(x[below], wx[below], n_bands - 1, False) if below.sum() > 1 else []
            if (~below).any():
                cuts = [c for c in cuts if c[0] < cap] + [(float(cap), True)]
        if not cuts:
            cuts = [(float(np.median(uniq)), True)]
    x_for, w_for = dist if dist is not None else (np.array([]), np.array([]))
    is_int = bool(x_for.size and np.all(np.mod(x_for, 1) == 0)) and not pair
    lo_val = float(x_for.min()) if x_for.size else None
    labels = _band_labels(cuts, is_int, lo_val, is_ratio, _unit_of(spec, field_))
    conds = _band_conditions(cuts)
    vals = _band_values(x_for, w_for, cuts, g, _fallback_point(cuts))
    answers = [Answer(lab, c, 0, val) for lab, c, val in zip(labels, conds, vals, strict=True)]
    return Question(v, field_, text, "banded", answers, per=per, note=note,
                    range=_range_of(spec, field_), ask=ask)


def _assign_points(questions: list[Question], max_points: int | np.integer) -> tuple[float, float]:
    """Shift, scale and round answer values to points; returns (k, sum of the shifts).

    Within each question the lowest answer gets 0; k = max_points / sum of the questions'
    spans; question maxima are rounded by the largest-remainder method so that they add
    up to exactly ``max_points``; other answers get round(k * (value - min)), capped at
    their question's maximum; answers tied with the best get the maximum.
    """
    # built answers always carry their value (only loaded scorecards may lack it)
    mins = [min(cast(float, a.value) for a in q.answers) for q in questions]
    tops = [max(cast(float, a.value) for a in q.answers) for q in questions]
    spans = [t - m for t, m in zip(tops, mins, strict=True)]
    total_span = sum(spans)
    if total_span <= 0:
        raise ModelError("all proxies have zero effect: nothing to score.")
    k = max_points / total_span
    raw_max = np.array(spans) * k
    alloc = np.floor(raw_max).astype(int)
    short = max_points - int(alloc.sum())
    order = np.argsort(-(raw_max - alloc), kind="stable")
    alloc[order[:short]] += 1
    for q, m, top, qmax in zip(questions, mins, tops, alloc, strict=True):
        for a in q.answers:
            if a.value == top:
                a.points = int(qmax)
            else:
                a.points = int(min(qmax, math.floor(k * (cast(float, a.value) - m) + 0.5)))
    return k, float(sum(mins))


def _build(cls, model, data, weights, threshold, max_points, spec, n_bands, bands, quadratic,
           ratios, cap_quadratic, direction, poor, size, name, banding, shares="auto",
           warn_changed=WARN_CHANGED) -> Scorecard:
    """Scorecard.from_model (see its docstring)."""
    check_option(banding, Banding, name="banding")
    auto = isinstance(shares, str) and shares == "auto"
    if not (auto or shares is None or isinstance(shares, Mapping)):
        raise ModelError(
            f"shares must be 'auto', None or a dict {{share: (numerator, denominator)}}; "
            f"got {shares!r}."
        )
    if isinstance(warn_changed, bool) or not isinstance(warn_changed, int | float) or not (
            0 <= warn_changed <= 1):
        raise ModelError(
            f"warn_changed must be a share between 0 and 1 (e.g. 0.02); got {warn_changed!r}."
        )
    if not isinstance(max_points, int | np.integer) or max_points < 1:
        raise ModelError(f"max_points must be a positive integer; got {max_points!r}.")
    if not isinstance(n_bands, int | np.integer) or n_bands < 2:
        raise ModelError(f"n_bands must be an integer >= 2; got {n_bands!r}.")
    design, coef = linear_index(model)
    mtype = getattr(model, "model_type", "linear")
    if direction is None:
        link = getattr(model, "link", None)
        binary = mtype in ("probit", "logit") or link in ("probit", "logit")
        direction = "poverty" if binary else "welfare"
    check_option(direction, Direction, name="direction")
    sign = -1.0 if direction == "poverty" else 1.0
    coef = {k: sign * v for k, v in coef.items()}
    thr_index = _threshold_index(model, threshold, direction, sign)
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ModelError("data must be a pandas DataFrame of the training sample.")
    w = None if data is None else check_weights(weights, data=data)
    profile = getattr(model, "training_profile", None)
    quadratic = _quadratics(design, quadratic)
    ratios = dict(ratios or {})
    numeric = {t.variable for t in design.terms if t.kind == "numeric"}
    for v, pair in ratios.items():
        if v not in numeric or len(pair) != 2:
            raise ModelError(
                f"ratios[{v!r}] must name a numeric term and (numerator, denominator) columns."
            )
    paired = set(quadratic) | set(quadratic.values()) | set(ratios)
    if auto:
        shares = {} if data is None else detect_shares(data, sorted(numeric - paired), spec)
    else:
        shares = check_shares(shares or {}, numeric, data)
    opts = {"ratios": ratios, "shares": shares, "bands": dict(bands or {}),
            "n_bands": n_bands, "banding": banding, "quadratic": quadratic,
            "cap_quadratic": cap_quadratic, "sign": sign}

    questions: list[Question] = []
    constant = coef.get("Intercept", 0.0)
    done = set(quadratic.values())  # squares are folded into their question
    for t in design.terms:
        v = t.variable
        if t.kind == "intercept" or v in done:
            continue
        done.add(v)
        if t.kind == "level":
            text = _question_of(spec, v) or _label_of(spec, v)
            questions.append(_categorical_question(v, design, coef, spec, text))
            continue
        q = _numeric_question(v, coef, opts, data, w, profile, spec)
        if isinstance(q, Question):
            questions.append(q)
        else:
            constant += q
    if not questions:
        raise ModelError("the model has no proxies to turn into questions.")
    k, shift = _assign_points(questions, max_points)
    constant_raw = constant + shift
    scale = {"points_per_unit": float(k), "constant": float(constant_raw),
             "intercept": float(constant), "threshold": thr_index, "cutoff_exact": None}
    cutoff = None
    if thr_index is not None:
        cutoff_exact = k * (thr_index - constant_raw)
        scale["cutoff_exact"] = float(cutoff_exact)
        cutoff = int(math.ceil(cutoff_exact - _TOL))
        if cutoff <= 0 or cutoff > max_points:
            warnings.warn(
                f"the cut-off ({cutoff_exact:.1f} points) lies outside 0-{max_points}: "
                f"{'nobody' if cutoff <= 0 else 'everybody'} is eligible. Check the threshold "
                "is on the model's scale (e.g. the log of the poverty line).",
                stacklevel=3,
            )
    model_info = {"model_type": mtype, "formula": design.formula, "lhs": design.lhs}
    sc = cls(questions, cutoff, max_points, direction, scale, model_info, None, name)
    if data is not None and cutoff is not None:
        table = sc.rounding_loss(model, data, w, poor, size)
        sc.rounding = {
            "changed": float(table.loc["scorecard", "changed"]),
            "changed_banding": float(table.loc["banded", "changed"]),
            "changed_households": float(table.loc["scorecard", "changed_households"]),
            "eligible_model": float(table.loc["model", "eligible"]),
            "eligible_scorecard": float(table.loc["scorecard", "eligible"]),
            "n_excluded": int(table.loc["model", "n_excluded"]),
            "warn_changed": float(warn_changed),
        }
        sc.rounding_table = table
        message = sc.rounding_warning
        if message:
            warnings.warn(message, UserWarning, stacklevel=3)
    return sc


def rounding_warning(rounding: Mapping) -> str | None:
    """The warning text when banding and rounding change too many eligibility decisions.

    ``rounding`` is :attr:`Scorecard.rounding`; the measure is ``changed_households``, the
    household-weighted share (survey weights, not person weights) of households whose
    eligibility differs between the exact model and the scorecard, compared with
    ``warn_changed`` (2 % unless set). None when below it or not computed.
    """
    changed = rounding.get("changed_households")
    limit = rounding.get("warn_changed", WARN_CHANGED)
    if changed is None or limit is None or not changed > limit:
        return None
    em, es = rounding.get("eligible_model"), rounding.get("eligible_scorecard")
    elig = ""
    if em is not None and es is not None:
        elig = (f" (the exact model makes {em:.1%} of households eligible, the scorecard "
                f"{es:.1%})")
    return (
        f"banding and rounding change the eligibility of {changed:.1%} of households "
        f"(household-weighted, in the training data) between the exact model and the "
        f"scorecard, above the {limit:.0%} tolerance{elig}. Raise max_points (e.g. 200), pass "
        "banding='optimal' or more bands (n_bands=), or report the loss with the scorecard."
    )
