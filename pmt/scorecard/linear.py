"""The model side of a scorecard: coefficients, threshold, quadratics and contributions."""

from __future__ import annotations

import numpy as np

from pmt.errors import ModelError
from pmt.scorecard.questions import _fmt

_SQ_SUFFIXES = ("_sq", "_squared", "sq", "2")


def linear_index(model, purpose: str = "a scorecard"):
    """Design and coefficients (term -> value) of a single-equation linear-index model.

    Raises ModelError for models without one design (by-group models, scikit-learn
    models), with parameters that are not design terms (e.g. Heckman's lambda) or with
    interaction / transformed terms (``a:b``, ``I(x**2)``, ``np.log(x)``), which a
    term-by-term score of raw columns cannot represent.
    """
    design = getattr(model, "design", None)
    params = getattr(model, "params", None)
    if design is None or params is None:
        raise ModelError(
            f"{purpose} needs a single linear-index model with a design; got "
            f"{type(model).__name__} (for models by group use one model per group)."
        )
    compound = [t for t in design.terms if t.kind in ("transform", "interaction")]
    if compound:
        t = compound[0]
        what = "an interaction" if t.kind == "interaction" else "a transformed column"
        raise ModelError(
            f"{purpose} cannot use the model's term {t.name!r} ({what}): it scores each proxy "
            "column on its own, term by term. Refit with that term created as its own column "
            "(e.g. df['rooms_x_urban'] = df['rooms'] * df['urban'], df['rooms_sq'] = "
            "df['rooms'] ** 2, which scorecards treat as a quadratic), or predict with "
            "model.predict(df)."
        )
    names = design.term_names
    extra = [k for k in params.index if k not in names]
    if extra:
        raise ModelError(
            f"the model has parameters that are not proxies ({', '.join(map(str, extra))}); "
            f"{purpose} needs one coefficient per design term (use the outcome-only model)."
        )
    b = params.reindex(names).to_numpy(dtype=float)
    if not np.all(np.isfinite(b)):
        raise ModelError("the model has non-finite coefficients; refit it.")
    return design, dict(zip(names, b, strict=True))


def _threshold_index(model, threshold, direction: str, sign: float) -> float | None:
    """The eligibility threshold on the sign-flipped index scale (None without one).

    Defaults to the model's saved ``poverty_line``/``threshold``. For probit/logit models in
    the poverty direction the threshold is a probability p: P(poor) > p <=> index >
    F^-1(p) <=> -index < -F^-1(p).
    """
    if threshold is None:
        saved = getattr(model, "thresholds", None) or {}
        for key in ("poverty_line", "threshold"):
            if key in saved:
                threshold = saved[key]
                break
        else:
            if len(saved) == 1:
                threshold = next(iter(saved.values()))
    if threshold is None:
        return None
    threshold = float(threshold)
    mtype = getattr(model, "model_type", "linear")
    if direction == "poverty" and mtype in ("probit", "logit"):
        return -probability_index(mtype, threshold, "scorecard")
    return sign * threshold


def probability_index(mtype: str, p: float, what: str = "model") -> float:
    """The probit/logit index F^-1(p) at which P(poor) equals the threshold ``p``.

    Shared by scorecards and registry scoring; ModelError unless 0 < p < 1.
    """
    if not 0 < p < 1:
        raise ModelError(
            f"threshold for a {mtype} {what} is a probability of being poor in (0, 1); got {p}."
        )
    from scipy import special

    return float(special.ndtri(p) if mtype == "probit" else special.logit(p))


def _quadratics(design, quadratic) -> dict[str, str]:
    """{x: x_squared} pairs: as given, plus names ending in _sq/_squared/sq/2."""
    quadratic = dict(quadratic or {})
    numeric = [t.variable for t in design.terms if t.kind == "numeric"]
    for v in numeric:
        if v in quadratic or v in quadratic.values():
            continue
        for suf in _SQ_SUFFIXES:
            if v + suf in numeric:
                quadratic[v] = v + suf
                break
    for v, v2 in quadratic.items():
        if v not in numeric or v2 not in numeric:
            raise ModelError(f"quadratic {v!r}: {v2!r} both must be numeric terms of the model.")
    return quadratic


def _contribution(v, coef, quadratic, cap_quadratic, sign):
    """g(x), the proxy's contribution to the index (capped quadratic), its cap and a note."""
    b1 = coef[v]
    if v not in quadratic:
        return (lambda x: b1 * x), None, None
    b2 = coef[quadratic[v]]
    peak = -b1 / (2 * b2) if b2 != 0 else None
    cap = peak if (cap_quadratic and peak is not None and peak > 0) else None

    def g(x):
        xc = np.minimum(x, cap) if cap is not None else x
        return b1 * xc + b2 * xc * xc

    note = None
    if cap is not None:
        note = (
            f"Effect capped at {_fmt(cap)} (vertex of the fitted quadratic "
            f"{b1 * sign:.4g}*x {b2 * sign:+.3g}*x^2): larger values score the same."
        )
    return g, cap, note
