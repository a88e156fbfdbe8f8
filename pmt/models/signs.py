"""Check fitted coefficients against the signs the data spec expects.

A PMT coefficient with a counter-intuitive sign (the Uzbek PMT's firewood-for-cooking
dummy at +0.124, every region positive against the base; World Bank 2019, Annex A) is
either a real pattern the analyst must be able to explain, a proxy standing in for
something else, or a coding problem (base level, recode). The data spec records the
expected sign of each proxy (``expected_sign``, see :mod:`pmt.spec`); :func:`check_signs`
lines the fitted coefficients up against it.

Which term a sign applies to:

* a numeric term ``x`` (binary, count, continuous column): the column's sign;
* a categorical dummy ``C(x)[T.level]``: the sign given for that code in the column's
  mapping (the sign of the level against the model's base level);
* a binary column entered as ``C(x)``: level 1 against base 0 has the column's sign (and
  level 0 against base 1 the opposite);
* the intercept, terms of columns without an expected sign and terms such as Heckman's
  ``lambda`` are listed as not checked (``expected`` empty, ``agrees`` missing).

A coefficient contradicts its expected sign when its sign is the opposite one (a
coefficient of exactly 0 counts as a contradiction: it does not have the expected sign).
``flag`` grades contradictions by the coefficient's p-value (the model's own standard
errors, e.g. cluster-robust): ``"wrong sign"`` when p >= ``alpha`` (the data cannot tell
the sign apart from zero), ``"wrong sign, significant"`` when p < ``alpha`` (the data say
the sign is the opposite one: look at it before the model is used).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pmt.errors import DataSpecError, ModelError
from pmt.spec import DataSpec, sign_value

__all__ = ["check_signs"]

_LEVEL_TERM = re.compile(r"^C\((?P<var>[^,)]+)(?:,[^)]*)?\)\[T\.(?P<level>.*)\]$")
FLAG_WRONG = "wrong sign"
FLAG_WRONG_SIGNIFICANT = "wrong sign, significant"


def _as_spec(spec) -> tuple[DataSpec | None, dict[str, object]]:
    """(DataSpec or None, {column: "+" | "-" | {code: sign}})."""
    if isinstance(spec, DataSpec):
        return spec, {c: spec[c].expected_sign for c in spec.columns
                      if spec[c].expected_sign is not None}
    if isinstance(spec, Mapping) and "columns" in spec:
        ds = DataSpec.from_dict(spec, source="the `spec` dict")
        return _as_spec(ds)
    if isinstance(spec, Mapping):
        out: dict[str, object] = {}
        problems = []
        for col, sign in spec.items():
            if isinstance(sign, Mapping):
                m = {code: sign_value(s) for code, s in sign.items()}
                bad = [c for c, s in m.items() if s is None]
                if bad:
                    problems.append(f"column '{col}': codes {bad} have no valid sign")
                out[str(col)] = m
            else:
                s = sign_value(sign)
                if s is None:
                    problems.append(f"column '{col}': {sign!r} is not a sign")
                out[str(col)] = s
        if problems:
            raise DataSpecError(
                "`spec` maps columns to expected signs, but " + "; ".join(problems)
                + '. Write "+" or "-" (or positive/negative), or {code: sign} for a '
                "categorical column.",
                problems,
            )
        return None, out
    raise DataSpecError(
        "`spec` must be a pmt.DataSpec, a data-spec dict (with 'columns'), or a mapping "
        f'column -> "+"/"-"; got {type(spec).__name__}.'
    )


def _terms(result) -> pd.DataFrame:
    """Map each term -> (variable, kind, level, base), from ``result.terms`` where available, else
    from the term names.
    """
    names = list(result.params.index)
    table = None
    try:
        table = result.terms
    except Exception:  # noqa: BLE001 - a result without a term table: parse the names
        table = None
    rows = []
    for name in names:
        if table is not None and name in table.index:
            t = table.loc[name]
            rows.append({
                "term": name,
                "variable": t["variable"] if isinstance(t["variable"], str) else None,
                "kind": t["kind"],
                "level": None if pd.isna(t["level"]) else str(t["level"]),
                "base": None if pd.isna(t["base"]) else str(t["base"]),
            })
            continue
        m = _LEVEL_TERM.match(str(name))
        if m:
            rows.append({"term": name, "variable": m["var"].strip(), "kind": "level",
                         "level": m["level"], "base": None})
        elif name == "Intercept":
            rows.append({"term": name, "variable": None, "kind": "intercept", "level": None,
                         "base": None})
        else:
            rows.append({"term": name, "variable": str(name), "kind": "numeric", "level": None,
                         "base": None})
    return pd.DataFrame(rows)


def _expected_for(term, signs: Mapping, spec: DataSpec | None) -> tuple[str, str]:
    """(expected sign or "", why not checked or "")."""
    var = term["variable"]
    if term["kind"] == "intercept" or var is None:
        return "", "intercept"
    if var not in signs:
        return "", "no expected sign"
    sign = signs[var]
    if term["kind"] == "numeric":
        if isinstance(sign, Mapping):
            return "", "categorical signs, numeric term"
        return sign, ""
    if term["kind"] != "level":
        return "", f"term kind {term['kind']!r}"
    level = term["level"]
    if isinstance(sign, Mapping):
        by_text = {str(k): s for k, s in sign.items()}
        s = by_text.get(str(level))
        return (s, "") if s is not None else ("", "level without an expected sign")
    # one sign on a column entered as C(x): a binary column, level 1 against level 0
    is_binary = spec is None or var not in spec or spec[var].type == "binary"
    if is_binary and str(level) == "1" and term["base"] in (None, "0"):
        return sign, ""
    if is_binary and str(level) == "0" and term["base"] in (None, "1"):
        return ("-" if sign == "+" else "+"), ""
    return "", "one sign for a categorical column: give {code: sign}"


def _label(term, spec: DataSpec | None) -> str:
    var = term["variable"]
    if term["kind"] == "intercept" or var is None:
        return "Constant"
    if spec is None or var not in spec:
        base = var
    else:
        base = spec[var].label
    if term["kind"] == "level":
        level = term["level"]
        text = level
        codes = spec[var].codes if spec is not None and var in spec else None
        if codes:
            by_text = {str(k): v for k, v in codes.items()}
            text = by_text.get(str(level), level)
        return f"{base}: {text}"
    return base


def check_signs(result, spec, *, alpha: float = 0.05) -> pd.DataFrame:
    """Compare a fitted model's coefficient signs with the spec's expected signs.

    Parameters
    ----------
    result : model result
        A fitted linear-index model (:func:`pmt.ols`, :func:`pmt.quantreg`,
        :func:`pmt.probit`/:func:`pmt.logit`, :func:`pmt.heckman` outcome equation, or a
        model per group, whose groups are checked one by one); it needs ``params`` and
        ``pvalues``.
    spec : pmt.DataSpec, dict or mapping
        The data spec with ``expected_sign`` on its columns; a data-spec dict (as read from
        YAML, with ``columns``); or a plain mapping column -> ``"+"``/``"-"`` (categorical:
        {code: sign}).
    alpha : float
        Level at which a contradicting coefficient is "significant" (two-sided p-value of
        the model's own standard errors).

    Returns
    -------
    pandas.DataFrame
        One row per coefficient (the intercept included, unchecked), in model order:
        ``term``, ``variable``, ``label`` (spec label, with the level's code label for
        dummies), ``coefficient``, ``p_value``, ``expected`` ("+", "-" or "" when not
        checked), ``agrees`` (True/False; missing when not checked), ``flag`` ("" or
        "wrong sign" or "wrong sign, significant") and ``note`` (why a term is not
        checked). A grouped model adds a first column with its grouping variable's name.
        ``attrs``: ``n_checked``, ``n_wrong``, ``n_wrong_significant``, ``alpha``,
        ``not_in_model`` (columns with an expected sign but no term in the model).

    Raises
    ------
    pmt.DataSpecError
        For an invalid spec or sign.
    pmt.ModelError
        For a model without coefficients (e.g. a gradient-boosting model).

    Notes
    -----
    Signs are those of a welfare model (higher = better off). For a probit or logit of
    *being poor* every expected sign flips; pass a spec with the signs reversed.
    """
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ModelError(f"`alpha` must be in (0, 1), e.g. 0.05; got {alpha!r}.")
    ds, signs = _as_spec(spec)
    if hasattr(result, "results") and isinstance(result.results, Mapping):
        by = getattr(result, "by", "group")
        parts = []
        for g, r in result.results.items():
            part = check_signs(r, signs if ds is None else ds, alpha=alpha)
            part.insert(0, by, g)
            parts.append(part)
        out = pd.concat(parts, ignore_index=True)
        _summary(out, alpha, sorted(set().union(*(p.attrs["not_in_model"] for p in parts))))
        return out
    try:
        params = result.params  # a model without coefficients raises ModelError itself
        pvalues = result.pvalues
    except AttributeError:
        raise ModelError(
            f"{type(result).__name__} has no coefficients and p-values to check: pass a fitted "
            "pmt model (ols, quantreg, probit, logit, heckman)."
        ) from None
    terms = _terms(result)
    rows = []
    for _, t in terms.iterrows():
        coef = float(params[t["term"]])
        p = float(pvalues[t["term"]]) if t["term"] in pvalues.index else np.nan
        expected, note = _expected_for(t, signs, ds)
        if expected:
            agrees = bool(coef > 0) if expected == "+" else bool(coef < 0)
            flag = "" if agrees else (
                FLAG_WRONG_SIGNIFICANT if np.isfinite(p) and p < alpha else FLAG_WRONG
            )
        else:
            agrees, flag = pd.NA, ""
        rows.append({
            "term": t["term"],
            "variable": t["variable"],
            "label": _label(t, ds),
            "coefficient": coef,
            "p_value": p,
            "expected": expected,
            "agrees": agrees,
            "flag": flag,
            "note": note,
        })
    out = pd.DataFrame(rows)
    out["agrees"] = out["agrees"].astype("boolean")
    used = {v for v in terms["variable"] if isinstance(v, str)}
    _summary(out, alpha, sorted(set(signs) - used))
    return out


def _summary(out: pd.DataFrame, alpha: float, not_in_model: list[str]) -> None:
    out.attrs.update(
        n_checked=int(out["agrees"].notna().sum()),
        n_wrong=int((out["flag"] != "").sum()),
        n_wrong_significant=int((out["flag"] == FLAG_WRONG_SIGNIFICANT).sum()),
        alpha=float(alpha),
        not_in_model=list(not_in_model),
    )
