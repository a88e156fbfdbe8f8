"""A small, safe formula language and the design matrices it builds.

pmt parses its own formulas instead of handing them to patsy/formulaic because a fitted
model must be re-applied to new data *exactly* (same dummy columns, same base levels)
after a round trip through a JSON artifact that may come from an untrusted source; a
restricted grammar that is parsed, never evaluated, makes that safe and exact.

Grammar (terms separated by ``+``)::

    formula  := [lhs] "~" term ("+" term)*
    lhs      := name
    term     := product ("*" product)* | "1" | "0" | "-1"
    product  := factor (":" factor)*
    factor   := name | "C(" name [", " base ] ")" | "I(" name "**" k ")"
              | ["np."] "log(" name ")" | ["np."] "log1p(" name ")"
    base     := "Treatment(reference=" level ")" | "Treatment(" level ")" | "base=" level

``name`` is a column name (letters, digits, underscore, dots); ``k`` an integer 2..9.
Numeric terms enter as they are. Categorical terms get one dummy per non-base level,
named like patsy's ``C(region)[T.level]``; the base level is the first level (sorted
values, or the categories' order for a pandas Categorical) unless given.

Compound terms (see docs/models.md, "Formulas"): ``a:b`` is the product of its factors;
``a*b`` is ``a + b + a:b`` (``a*b*c``: every non-empty subset, by order then as written);
``I(x**k)`` is x to the integer power k; ``np.log(x)``/``log(x)`` and
``np.log1p(x)``/``log1p(x)`` are logs (non-positive, resp. <= -1, inputs raise ModelError).
Names follow statsmodels: ``rooms:urban``, ``C(region)[T.2]:urban``, ``I(rooms ** 2)``,
``np.log(hh_size)`` (the function as written). A categorical factor inside an interaction
is coded like a main effect (its base level dropped), the column order of ``C(g):C(h)``
has the first factor varying fastest (as patsy). That is patsy's coding only when the
lower-order terms are present, so the formula must contain, for each categorical factor
c of an interaction, the same interaction without c (the intercept when nothing is
left): ``x + C(g):x``, ``C(g) + C(h) + C(g):C(h)`` (``C(g)*x`` writes them). Nothing is
ever evaluated.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from pmt.errors import ModelError, example_rows

INTERCEPT = "Intercept"
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_LEVEL = r"""(?:'[^']*'|"[^"]*"|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_.]*)"""
_CAT_RE = re.compile(
    rf"""^C\(\s*(?P<name>{_NAME})\s*(?:,\s*(?:Treatment\(\s*(?:reference\s*=\s*)?(?P<ref1>{_LEVEL})\s*\)|base\s*=\s*(?P<ref2>{_LEVEL})))?\s*\)$"""
)
_NAME_RE = re.compile(rf"^{_NAME}$")
_POW_RE = re.compile(rf"^I\(\s*(?P<name>{_NAME})\s*\*\*\s*(?P<k>[0-9]+)\s*\)$")
_LOG_RE = re.compile(rf"^(?P<fn>(?:np\.)?log(?:1p)?)\(\s*(?P<name>{_NAME})\s*\)$")
_CALL_RE = re.compile(r"^\s*(?P<fn>[A-Za-z_][A-Za-z0-9_.]*)\s*\(")
MAX_POWER = 9
MAX_FACTORS = 4
COMPOUND_KINDS = ("transform", "interaction")
_TRANSFORMS = ("identity", "power", "log", "np.log", "log1p", "np.log1p", "level")


def _parse_level(token: str | None):
    """Turn a base-level token into a Python value (quoted string, int, float or bare word)."""
    if token is None:
        return None
    if token[0] in "'\"":
        return token[1:-1]
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token


def level_label(value) -> str:
    """Text label of a categorical level as used in term names (``1`` not ``1.0``)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Factor:
    """One factor of a compound term as parsed: a column, possibly transformed.

    ``transform`` is ``"identity"``, ``"power"`` (with ``power``), ``"log"``/``"np.log"``,
    ``"log1p"``/``"np.log1p"`` (the spelling is kept for the name) or ``"level"`` (a
    categorical: one dummy per non-base level; ``text`` is the ``C(...)`` as written).
    """

    variable: str
    transform: str = "identity"
    power: int | None = None
    text: str = ""
    base: object = None  # requested base level of a categorical factor

    @property
    def key(self) -> tuple:
        """Identity of the factor (``log`` and ``np.log`` are the same factor)."""
        if self.transform == "level":
            return ("c", self.variable)
        return ("n", self.variable, self.transform.removeprefix("np."), self.power)

    def name(self, level: str | None = None) -> str:
        """The factor as written in term names: ``x``, ``I(x ** 2)``, ``np.log(x)``, ``C(x)[T.level]``."""
        if self.transform == "level":
            return f"C({self.variable})[T.{level}]"
        if self.transform == "power":
            return f"I({self.variable} ** {self.power})"
        if self.transform == "identity":
            return self.variable
        return f"{self.transform}({self.variable})"


@dataclass
class Term:
    """One column of a design matrix.

    ``kind`` is ``"intercept"``, ``"numeric"`` (the variable as it is), ``"level"`` (1 if
    ``variable`` equals ``level``), ``"transform"`` (one transformed numeric column:
    ``I(x ** 2)``, ``np.log(x)``) or ``"interaction"`` (the product of its ``factors``).
    Compound terms (the last two) have ``variable`` None and list their ``factors`` as
    dicts ``{"variable", "transform", "power", "level"}``.
    """

    name: str
    variable: str | None
    kind: str
    level: str | None = None
    factors: list[dict] | None = None

    def to_dict(self) -> dict:
        """JSON-safe dict of the term, for artifacts."""
        d: dict = {"name": self.name, "variable": self.variable, "kind": self.kind, "level": self.level}
        if self.factors is not None:
            d["factors"] = [dict(f) for f in self.factors]
        return d


@dataclass
class Categorical:
    """Levels of a categorical variable as learned from the estimation sample."""

    variable: str
    levels: list[str]
    base: str

    def to_dict(self) -> dict:
        """JSON-safe dict of the variable's levels and base, for artifacts."""
        return {"variable": self.variable, "levels": list(self.levels), "base": self.base}


@dataclass
class ParsedFormula:
    """A formula split into its left side and its right-side terms, before any data is seen."""

    lhs: str | None
    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, object] = field(default_factory=dict)  # name -> requested base or None
    order: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) in formula order
    intercept: bool = True
    # variable -> its term as written ("C(region)", "rooms"; the last one if repeated);
    # a compound term is its own key ("rooms:urban", "I(rooms ** 2)")
    terms: dict[str, str] = field(default_factory=dict)
    # compound terms (kind "compound" in ``order``): key -> factors in written order
    compound: dict[str, list[Factor]] = field(default_factory=dict)
    # requested base level of every categorical variable (main effect or factor)
    bases: dict[str, object] = field(default_factory=dict)

    @property
    def variables(self) -> list[str]:
        """Every column the formula reads, left side first."""
        out = [self.lhs] if self.lhs else []
        for kind, name in self.order:
            names = [f.variable for f in self.compound[name]] if kind == "compound" else [name]
            for v in names:
                if v not in out:
                    out.append(v)
        return out

    @property
    def categorical_variables(self) -> list[str]:
        """Variables coded as categoricals (main effects and interaction factors)."""
        out: list[str] = []
        for kind, name in self.order:
            if kind == "categorical":
                names = [name]
            elif kind == "compound":
                names = [f.variable for f in self.compound[name] if f.transform == "level"]
            else:
                names = []
            out.extend(v for v in names if v not in out)
        return out


def parse_formula(formula: str, require_lhs: bool = True) -> ParsedFormula:
    """Parse a formula string without evaluating anything; raise ModelError if not valid."""
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelError(
            f"formula {formula!r} must look like 'log_pcc ~ rooms + C(region)': a left side, "
            "'~', and terms joined by '+'."
        )
    lhs_text, rhs_text = formula.split("~", 1)
    lhs = lhs_text.strip() or None
    if lhs is None and require_lhs:
        raise ModelError(f"formula {formula!r} has no left side (the welfare variable).")
    if lhs is not None and not _NAME_RE.match(lhs):
        raise ModelError(
            f"left side {lhs!r} of formula {formula!r} must be a plain column name; create the "
            "transformed column first (e.g. df['log_pcc'] = np.log(df['pcc']))."
        )
    parsed = ParsedFormula(lhs=lhs)
    pieces = _split_terms(rhs_text, formula)
    compound_keys: dict[frozenset, str] = {}
    factor_bases: dict[str, list] = {}
    for piece in pieces:
        if piece in ("1",):
            parsed.intercept = True
            continue
        if piece in ("0", "-1"):
            parsed.intercept = False
            continue
        m = _CAT_RE.match(piece)
        if m:
            name = m.group("name")
            parsed.categorical[name] = _parse_level(m.group("ref1") or m.group("ref2"))
            parsed.terms[name] = piece
            if ("categorical", name) not in parsed.order:
                parsed.order.append(("categorical", name))
            continue
        if _NAME_RE.match(piece):
            parsed.terms[piece] = piece
            if ("numeric", piece) not in parsed.order:
                parsed.numeric.append(piece)
                parsed.order.append(("numeric", piece))
            continue
        for factors in _expand_piece(piece, formula):
            if len(factors) == 1 and factors[0].transform == "level":
                f = factors[0]
                parsed.categorical[f.variable] = f.base
                parsed.terms[f.variable] = f.text
                if ("categorical", f.variable) not in parsed.order:
                    parsed.order.append(("categorical", f.variable))
                continue
            if len(factors) == 1 and factors[0].transform == "identity":
                v = factors[0].variable
                parsed.terms[v] = v
                if ("numeric", v) not in parsed.order:
                    parsed.numeric.append(v)
                    parsed.order.append(("numeric", v))
                continue
            ident = frozenset(f.key for f in factors)
            if ident in compound_keys:
                continue
            key = ":".join(f.text for f in factors)
            compound_keys[ident] = key
            parsed.compound[key] = factors
            parsed.terms[key] = key
            parsed.order.append(("compound", key))
            for f in factors:
                if f.transform == "level":
                    factor_bases.setdefault(f.variable, []).append(f.base)
    if not parsed.order and not parsed.intercept:
        raise ModelError(f"formula {formula!r} has no terms.")
    parsed.bases = dict(parsed.categorical)
    if parsed.compound:
        _resolve_bases(parsed, factor_bases, formula)
        _check_marginality(parsed, formula)
    return parsed


def _parse_factor(text: str, formula: str) -> Factor:
    """One factor of a term: a column, C(column), I(column**k) or a log of a column."""
    m = _CAT_RE.match(text)
    if m:
        base = _parse_level(m.group("ref1") or m.group("ref2"))
        return Factor(m.group("name"), "level", None, re.sub(r"\s+", " ", text), base)
    if _NAME_RE.match(text):
        return Factor(text, "identity", None, text)
    m = _POW_RE.match(text)
    if m:
        k = int(m.group("k"))
        if not 2 <= k <= MAX_POWER:
            raise ModelError(
                f"term {text!r} in formula {formula!r}: the power must be an integer from 2 to "
                f"{MAX_POWER}."
            )
        f = Factor(m.group("name"), "power", k)
        return Factor(f.variable, "power", k, f.name())
    m = _LOG_RE.match(text)
    if m:
        f = Factor(m.group("name"), m.group("fn"))
        return Factor(f.variable, f.transform, None, f.name())
    call = _CALL_RE.match(text)
    if call and call.group("fn") not in ("C", "I"):
        hint = f"function {call.group('fn')!r} is not supported"
    elif call and call.group("fn") == "I":
        hint = "I() takes only a power of a column, I(x**2)"
    else:
        hint = "it is not a column name or a supported function"
    raise ModelError(
        f"term {text!r} in formula {formula!r} is not supported: {hint}. Terms are column names, "
        "C(x), interactions a:b and a*b, I(x**k), np.log(x) and np.log1p(x); create other "
        "transformations as their own columns."
    )


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def _expand_piece(piece: str, formula: str) -> list[list[Factor]]:
    """A term with ':' and '*' as its terms, each a list of distinct factors."""
    if "**" in _top_level(piece):
        raise ModelError(
            f"term {piece!r} in formula {formula!r}: write powers inside I(), e.g. "
            f"I(x**2); '**' outside I() is not supported."
        )
    operands = _split_top(piece, "*")
    groups: list[list[Factor]] = []
    for op in operands:
        parts = _split_top(op, ":")
        if any(p == "" for p in parts):
            raise ModelError(f"term {piece!r} in formula {formula!r} has an empty factor.")
        groups.append([_parse_factor(p, formula) for p in parts])
    out = []
    for r in range(1, len(groups) + 1):
        for combo in itertools.combinations(groups, r):
            factors: list[Factor] = []
            seen: set = set()
            for f in itertools.chain.from_iterable(combo):
                if f.key not in seen:
                    seen.add(f.key)
                    factors.append(f)
            if len(factors) > MAX_FACTORS:
                raise ModelError(
                    f"term {piece!r} in formula {formula!r}: at most {MAX_FACTORS} factors per "
                    "interaction."
                )
            out.append(factors)
    return out


def _top_level(text: str) -> str:
    """The characters of ``text`` outside parentheses."""
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _resolve_bases(parsed: ParsedFormula, factor_bases: dict[str, list], formula: str) -> None:
    """One base level per categorical: the explicit requests must agree."""
    for var, requests in factor_bases.items():
        explicit = {level_label(b) for b in requests if b is not None}
        main = parsed.categorical.get(var)
        if main is not None:
            explicit.add(level_label(main))
        if len(explicit) > 1:
            raise ModelError(
                f"formula {formula!r} asks for different base levels of {var}: "
                f"{', '.join(sorted(explicit))}. Give one base level."
            )
        chosen = main if main is not None else next((b for b in requests if b is not None), None)
        parsed.bases[var] = chosen
        if var in parsed.categorical:
            parsed.categorical[var] = chosen


def _check_marginality(parsed: ParsedFormula, formula: str) -> None:
    """Each categorical factor c of an interaction needs the interaction without c."""
    present: set[frozenset] = set()
    for kind, name in parsed.order:
        if kind == "numeric":
            present.add(frozenset([("n", name, "identity", None)]))
        elif kind == "categorical":
            present.add(frozenset([("c", name)]))
        else:
            present.add(frozenset(f.key for f in parsed.compound[name]))
    for key, factors in parsed.compound.items():
        for c in factors:
            if c.transform != "level" or len(factors) < 2:
                continue
            rest = [f for f in factors if f is not c]
            if frozenset(f.key for f in rest) in present:
                continue
            lower = ":".join(f.text for f in rest)
            raise ModelError(
                f"term {key!r} in formula {formula!r} drops the base level of {c.variable}, which "
                f"needs the lower-order term {lower!r} in the formula (as statsmodels' coding "
                f"assumes): add '+ {lower}' or write the interaction with '*'."
            )


def term_variable(term: str) -> str:
    """The column a term reads: ``"C(region, base=2)"`` -> ``"region"``; a name is itself."""
    m = _CAT_RE.match(term)
    return m.group("name") if m else term


def _split_terms(rhs: str, formula: str) -> list[str]:
    """Split the right side on '+' (and a leading '-1') outside parentheses."""
    text = rhs.strip()
    pieces, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ModelError(f"unbalanced parentheses in formula {formula!r}.")
        if ch == "+" and depth == 0:
            pieces.append(current.strip())
            current = ""
        elif ch == "-" and depth == 0:
            pieces.append(current.strip())
            current = "-"
        else:
            current += ch
    pieces.append(current.strip())
    if depth != 0:
        raise ModelError(f"unbalanced parentheses in formula {formula!r}.")
    out = []
    for p in pieces:
        p = re.sub(r"\s+", " ", p)
        if p == "":
            if len(pieces) > 1:
                raise ModelError(f"empty term in formula {formula!r} (check for '+ +').")
            continue
        if p.startswith("-") and p.replace(" ", "") != "-1":
            raise ModelError(
                f"term {p!r} in formula {formula!r}: removing terms with '-' is not supported "
                "(only '-1' to drop the intercept)."
            )
        out.append(p.replace(" ", "") if p.replace(" ", "") == "-1" else p)
    return out


def _sorted_levels(series: pd.Series) -> list:
    values = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(values.unique())
        return [c for c in series.cat.categories if c in present]
    uniq = pd.unique(values)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _check_numeric(data: pd.DataFrame, name: str) -> None:
    col = data[name]
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise ModelError(
            f"column '{name}' is not numeric (dtype {col.dtype}); write C({name}) "
            "to treat it as categorical."
        )


def _learn_categorical(data: pd.DataFrame, name: str, requested) -> Categorical:
    """Levels and base level of a categorical factor from the estimation sample."""
    levels = _sorted_levels(data[name])
    labels = [level_label(v) for v in levels]
    if len(labels) < 2:
        raise ModelError(
            f"C({name}) has {len(labels)} level(s) in the estimation sample "
            f"({', '.join(labels)}): nothing to estimate. Drop the term or widen the sample."
        )
    base = labels[0] if requested is None else level_label(requested)
    if base not in labels:
        raise ModelError(
            f"base level {base!r} of C({name}) is not among its levels in the "
            f"estimation sample: {', '.join(labels[:20])}."
        )
    return Categorical(name, labels, base)


def compound_terms(factors: list[Factor], cats: dict) -> list[Term]:
    """The design columns of a compound term given the categoricals' levels.

    A categorical factor contributes its non-base levels; with several, the first factor
    varies fastest (patsy's order). ``cats`` maps variable -> Categorical (or its dict).
    """
    choices = []
    for f in factors:
        if f.transform == "level":
            cat = cats[f.variable]
            levels = cat["levels"] if isinstance(cat, dict) else cat.levels
            base = cat["base"] if isinstance(cat, dict) else cat.base
            choices.append([lab for lab in levels if lab != base])
        else:
            choices.append([None])
    kind = "transform" if len(factors) == 1 else "interaction"
    out = []
    for combo in itertools.product(*reversed(choices)):
        combo = combo[::-1]
        fdicts = [
            {"variable": f.variable, "transform": f.transform, "power": f.power, "level": lab}
            for f, lab in zip(factors, combo, strict=True)
        ]
        name = ":".join(f.name(lab) for f, lab in zip(factors, combo, strict=True))
        out.append(Term(name, None, kind, None, fdicts))
    return out


def _numeric_values(col: pd.Series) -> np.ndarray:
    """A numeric term's column as float64 (values that are not numbers become NaN)."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
        return col.to_numpy(dtype=float)  # what pd.to_numeric would return, without its checks
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


class Design:
    """The design of a linear model: its terms, categorical levels and base levels.

    Build it from a formula and the estimation sample with :meth:`from_formula`; apply it
    to any data with :meth:`matrix`; save it with :meth:`to_dict` and restore it with
    :meth:`from_dict` (no code is evaluated).
    """

    def __init__(
        self,
        formula: str,
        lhs: str | None,
        terms: list[Term],
        categoricals: dict[str, Categorical],
    ):
        self.formula = formula
        self.lhs = lhs
        self.terms = terms
        self.categoricals = categoricals

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, require_lhs: bool = True) -> Design:
        """Learn the design (levels, base levels) from ``data``; raise ModelError on problems."""
        parsed = parse_formula(formula, require_lhs=require_lhs)
        missing = [v for v in parsed.variables if v not in data.columns]
        if missing:
            raise ModelError(
                f"formula {formula!r} names column(s) not in the data: {', '.join(missing)}. "
                "Check the spelling or create the column."
            )
        terms: list[Term] = []
        if parsed.intercept:
            terms.append(Term(INTERCEPT, None, "intercept"))
        cats: dict[str, Categorical] = {}
        for kind, name in parsed.order:
            if kind == "numeric":
                _check_numeric(data, name)
                terms.append(Term(name, name, "numeric"))
                continue
            if kind == "compound":
                factors = parsed.compound[name]
                for f in factors:
                    if f.transform == "level":
                        if f.variable not in cats:
                            cats[f.variable] = _learn_categorical(
                                data, f.variable, parsed.bases.get(f.variable)
                            )
                    else:
                        _check_numeric(data, f.variable)
                terms.extend(compound_terms(factors, cats))
                continue
            if name in cats:  # already learned for an interaction written before it
                cat = cats[name]
                terms.extend(
                    Term(f"C({name})[T.{lab}]", name, "level", lab)
                    for lab in cat.levels if lab != cat.base
                )
                continue
            levels = _sorted_levels(data[name])
            labels = [level_label(v) for v in levels]
            if isinstance(data[name].dtype, pd.CategoricalDtype):
                unused = [
                    level_label(c) for c in data[name].cat.categories if level_label(c) not in labels
                ]
                if unused:
                    warnings.warn(
                        f"C({name}): categories {', '.join(unused[:10])} have no observations in "
                        "the estimation sample and get no coefficient; records with them cannot "
                        "be predicted.",
                        stacklevel=3,
                    )
            if len(labels) < 2:
                raise ModelError(
                    f"C({name}) has {len(labels)} level(s) in the estimation sample "
                    f"({', '.join(labels)}): nothing to estimate. Drop the term or widen the sample."
                )
            requested = parsed.categorical[name]
            if requested is None:
                base = labels[0]
            else:
                base = level_label(requested)
                if base not in labels:
                    raise ModelError(
                        f"base level {base!r} of C({name}) is not among its levels in the "
                        f"estimation sample: {', '.join(labels[:20])}."
                    )
            cats[name] = Categorical(name, labels, base)
            for lab in labels:
                if lab != base:
                    terms.append(Term(f"C({name})[T.{lab}]", name, "level", lab))
        return cls(formula, parsed.lhs, terms, cats)

    # --- application ------------------------------------------------------------------
    @property
    def term_names(self) -> list[str]:
        """Design-matrix column names, in column order."""
        return [t.name for t in self.terms]

    @property
    def variables(self) -> list[str]:
        """Right-side source columns, in formula order."""
        out: list[str] = []
        for t in self.terms:
            names = [f["variable"] for f in t.factors] if t.factors else [t.variable]
            for v in names:
                if v and v not in out:
                    out.append(v)
        return out

    @property
    def compound_terms(self) -> list[Term]:
        """Interaction and transformed terms (``kind`` in :data:`COMPOUND_KINDS`)."""
        return [t for t in self.terms if t.kind in COMPOUND_KINDS]

    def complete_rows(self, data: pd.DataFrame, with_lhs: bool = True) -> np.ndarray:
        """Boolean mask of rows with every variable the design needs present."""
        cols = self.variables + ([self.lhs] if (with_lhs and self.lhs) else [])
        self.check_columns(data, cols)
        mask = np.ones(len(data), dtype=bool)
        for c in dict.fromkeys(cols):  # column by column: no copy of the sub-frame
            col = data[c]
            kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
            if kind in ("b", "i", "u"):
                continue  # numpy integers and booleans cannot be missing
            if kind == "f":
                mask &= ~np.isnan(col.to_numpy())
            else:
                mask &= col.notna().to_numpy()
        return mask

    def check_columns(self, data: pd.DataFrame, cols: list[str] | None = None) -> None:
        """Raise ModelError naming the columns of ``cols`` (default: the right side) missing from ``data``."""
        cols = self.variables if cols is None else cols
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ModelError(
                f"the data lack column(s) the model needs: {', '.join(missing)} "
                f"(formula {self.formula!r})."
            )

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Design matrix (float64, one column per term) for rows without missing values.

        Rows with a categorical level the model has not seen raise ModelError naming them.
        Dummies are built from integer level codes (:meth:`_level_codes`: each distinct
        value is labelled once, then rows are compared as integers, several times faster
        than comparing their labels); rows with a missing categorical get zeros.
        """
        self.check_columns(data)
        n = len(data)
        X = np.empty((n, len(self.terms)), dtype=float)
        codes_cache: dict[str, np.ndarray] = {}
        factor_cache: dict[tuple, np.ndarray] = {}
        done = self._numeric_blocks(data, X)
        for j, t in enumerate(self.terms):
            if j in done:
                continue
            if t.kind == "intercept":
                X[:, j] = 1.0
            elif t.kind == "numeric":
                X[:, j] = _numeric_values(data[t.variable])
            elif t.kind in COMPOUND_KINDS:
                col = None
                assert t.factors is not None  # compound terms always carry their factors
                for f in t.factors:
                    x = self._factor(data, f, factor_cache, codes_cache)
                    col = x.copy() if col is None else col * x
                X[:, j] = col
            else:
                assert t.variable is not None  # only compound terms have variable None
                if t.variable not in codes_cache:
                    codes_cache[t.variable] = self._level_codes(data, t.variable)
                X[:, j] = codes_cache[t.variable] == self._level_position(t.variable, t.level)
        return X

    def _numeric_blocks(self, data: pd.DataFrame, X: np.ndarray) -> set[int]:
        """Fill runs of adjacent numeric terms whose columns have numpy numeric dtypes with
        one block copy each (``DataFrame.to_numpy``: the same floats as column by column,
        twice as fast on wide designs); returns the term positions filled.
        """
        filled: set[int] = set()
        run: list[int] = []

        def flush() -> None:
            if len(run) > 1:
                cols = [self.terms[j].variable for j in run]
                X[:, run[0]:run[-1] + 1] = data[cols].to_numpy(dtype=float)
                filled.update(run)
            run.clear()

        for j, t in enumerate(self.terms):
            dtype = data[t.variable].dtype if t.kind == "numeric" else None
            if (isinstance(dtype, np.dtype) and dtype.kind in "biuf"
                    and t.variable not in [self.terms[i].variable for i in run]):
                run.append(j)
            else:
                flush()
        flush()
        return filled

    def _factor(self, data, f: dict, cache: dict, codes_cache: dict) -> np.ndarray:
        """The column of one factor of a compound term (float64)."""
        key = (f["variable"], f["transform"], f["power"], f["level"])
        if key in cache:
            return cache[key]
        var, how = f["variable"], f["transform"]
        if how == "level":
            if var not in codes_cache:
                codes_cache[var] = self._level_codes(data, var)
            x = (codes_cache[var] == self._level_position(var, f["level"])).astype(float)
        else:
            x = _numeric_values(data[var])
            if how == "power":
                x = x ** int(f["power"])
            elif how in ("log", "np.log", "log1p", "np.log1p"):
                low = 0.0 if how.endswith("log") else -1.0
                bad = x <= low
                if bad.any():
                    raise ModelError(
                        f"{how}({var}) needs values of column '{var}' above {low:g}; "
                        f"{int(bad.sum())} row(s) are not, at {example_rows(data.index[bad])}. "
                        f"Recode them, drop them, or use log1p({var}) for counts with zeros."
                    )
                x = np.log(x) if how.endswith("log") else np.log1p(x)
        cache[key] = x
        return x

    def _level_position(self, variable: str, level) -> int:
        """Index of ``level`` among the variable's levels (-2, matching no row, if absent)."""
        levels = self.categoricals[variable].levels
        return levels.index(level) if level in levels else -2

    def _level_codes(self, data: pd.DataFrame, variable: str) -> np.ndarray:
        """Every row's level as its index in the model's levels (int64; -1 where missing).

        The distinct values (``pd.factorize``, in order of appearance) are labelled with
        :func:`level_label` once, so values that print alike (1 and 1.0) share a level.
        """
        col = data[variable]
        codes, uniq = pd.factorize(col, use_na_sentinel=True)
        levels = self.categoricals[variable].levels
        position = {lab: k for k, lab in enumerate(levels)}
        mapping = {u: level_label(u) for u in uniq}
        known = set(levels)
        unknown = [u for u, lab in mapping.items() if lab not in known]
        if unknown:
            bad = col.isin(unknown).to_numpy()
            raise ModelError(
                f"column '{variable}' has level(s) {', '.join(map(level_label, unknown[:10]))} "
                f"the model was not fitted with (known: {', '.join(sorted(known))}) at "
                f"{example_rows(data.index[bad])}. Recode them to a known level."
            )
        lookup = np.array([position[mapping[u]] for u in uniq] + [-1], dtype=np.int64)
        return lookup[codes]  # code -1 (missing) picks the final -1

    def response(self, data: pd.DataFrame) -> np.ndarray:
        """Left-side column as a float array; ModelError if absent or not numeric."""
        if self.lhs is None:
            raise ModelError(f"formula {self.formula!r} has no left side.")
        self.check_columns(data, [self.lhs])
        y = data[self.lhs]
        if not (pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)):
            raise ModelError(f"left-side column '{self.lhs}' must be numeric (dtype {y.dtype}).")
        return y.to_numpy(dtype=float)

    def check_rank(self, X: np.ndarray) -> None:
        """Raise ModelError naming the collinear terms when X is not of full column rank.

        A well-conditioned scaled Gram matrix (eigenvalue ratio above 1e-10, i.e. a
        condition number of the scaled X below 1e5) proves full rank cheaply; only
        otherwise does the pivoted QR, several times slower on survey-sized data, decide
        and name the terms. The shortcut never accepts what the QR would reject: the QR's
        diagonal ratio is at least the singular-value ratio, and the ratio required here
        is also above the QR's relative tolerance.
        """
        from scipy.linalg import qr

        if X.shape[0] <= X.shape[1]:
            raise ModelError(
                f"too few observations: {X.shape[0]} complete rows for {X.shape[1]} terms "
                f"(formula {self.formula!r}). Use fewer terms or more data."
            )
        with np.errstate(all="ignore"):
            # The Gram matrix of X scaled to unit root mean squares, from X'X (no scaled
            # copy of X unless the QR below is needed).
            gram = X.T @ X
            norms = np.sqrt(np.diag(gram) / X.shape[0])
            norms[~(norms > 0)] = 1.0
            try:
                ev = np.linalg.eigvalsh(gram / np.outer(norms, norms))
            except np.linalg.LinAlgError:  # non-finite values: the QR below reports them
                ev = np.zeros(1)
        rel_tol = max(X.shape) * np.finfo(float).eps * 1e3  # of the QR's diagonal
        if ev[0] > max(1e-10, rel_tol**2) * ev[-1]:
            return
        scale = np.sqrt((X**2).mean(axis=0))
        scale[scale == 0] = 1.0
        Xs = X / scale
        _, R, piv = qr(Xs, mode="economic", pivoting=True)
        diag = np.abs(np.diag(R))
        tol = diag.max() * max(X.shape) * np.finfo(float).eps * 1e3
        rank = int((diag > tol).sum())
        if rank == X.shape[1]:
            return
        kept, dropped = piv[:rank], piv[rank:]
        names = self.term_names
        details = []
        for j in dropped[:5]:
            coef, *_ = np.linalg.lstsq(Xs[:, kept], Xs[:, j], rcond=None)
            partners = [names[kept[i]] for i in np.argsort(-np.abs(coef))[:4] if abs(coef[i]) > 1e-6]
            if np.allclose(Xs[:, j], 0):
                details.append(f"'{names[j]}' is always zero in the estimation sample")
            else:
                details.append(f"'{names[j]}' is a linear combination of {', '.join(partners)}")
        raise ModelError(
            "singular design: " + "; ".join(details) + f" (formula {self.formula!r}). "
            "Drop one of the collinear terms."
        )

    # --- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe dict of the design (formula, terms, categorical levels), for artifacts."""
        return {
            "formula": self.formula,
            "lhs": self.lhs,
            "terms": [t.to_dict() for t in self.terms],
            "categoricals": {k: c.to_dict() for k, c in self.categoricals.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Design:
        """Rebuild a design from :meth:`to_dict` output (no formula is parsed)."""
        terms = [
            Term(t["name"], t["variable"], t["kind"], t.get("level"),
                 [dict(f) for f in t["factors"]] if t.get("factors") is not None else None)
            for t in d["terms"]
        ]
        cats = {
            k: Categorical(c["variable"], list(c["levels"]), c["base"])
            for k, c in d["categoricals"].items()
        }
        return cls(d["formula"], d.get("lhs"), terms, cats)

    def terms_table(self) -> pd.DataFrame:
        """One row per term: name, source variable, kind, level and the base level."""
        rows = []
        for t in self.terms:
            # level terms always name their variable (only compound terms have None)
            base = self.categoricals[cast(str, t.variable)].base if t.kind == "level" else None
            rows.append(
                {"term": t.name, "variable": t.variable, "kind": t.kind, "level": t.level, "base": base}
            )
        return pd.DataFrame(rows).set_index("term")
