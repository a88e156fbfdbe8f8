"""A small, safe formula language and the design matrices it builds.

pmt parses its own formulas instead of handing them to patsy/formulaic because a fitted
model must be re-applied to new data *exactly* (same dummy columns, same base levels)
after a round trip through a JSON artifact that may come from an untrusted source; a
restricted grammar that is parsed, never evaluated, makes that safe and exact.

Grammar (terms separated by ``+``)::

    formula  := [lhs] "~" term ("+" term)*
    lhs      := name
    term     := name | "C(" name [", " base ] ")" | "1" | "0" | "-1"
    base     := "Treatment(reference=" level ")" | "Treatment(" level ")" | "base=" level

``name`` is a column name (letters, digits, underscore, dots). Numeric terms enter as
they are; squares and interactions are passed as their own columns (DESIGN.md section
5). Categorical terms get one dummy per non-base level, named like patsy's
``C(region)[T.level]``; the base level is the first level (sorted values, or the
categories' order for a pandas Categorical) unless given.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

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


@dataclass
class Term:
    """One column of a design matrix.

    ``kind`` is ``"intercept"``, ``"numeric"`` (the variable as it is) or ``"level"``
    (1 if ``variable`` equals ``level``).
    """

    name: str
    variable: str | None
    kind: str
    level: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "variable": self.variable, "kind": self.kind, "level": self.level}


@dataclass
class Categorical:
    """Levels of a categorical variable as learned from the estimation sample."""

    variable: str
    levels: list[str]
    base: str

    def to_dict(self) -> dict:
        return {"variable": self.variable, "levels": list(self.levels), "base": self.base}


@dataclass
class ParsedFormula:
    lhs: str | None
    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, object] = field(default_factory=dict)  # name -> requested base or None
    order: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) in formula order
    intercept: bool = True
    # variable -> its term as written ("C(region)", "rooms"; the last one if repeated)
    terms: dict[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> list[str]:
        """Every column the formula reads, left side first."""
        out = [self.lhs] if self.lhs else []
        for _, name in self.order:
            if name not in out:
                out.append(name)
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
        raise ModelError(
            f"term {piece!r} in formula {formula!r} is not supported: use column names and "
            "C(name) only. Pass squares, logs and interactions as their own columns."
        )
    if not parsed.order and not parsed.intercept:
        raise ModelError(f"formula {formula!r} has no terms.")
    return parsed


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
                col = data[name]
                if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                    raise ModelError(
                        f"column '{name}' is not numeric (dtype {col.dtype}); write C({name}) "
                        "to treat it as categorical."
                    )
                terms.append(Term(name, name, "numeric"))
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
        return [t.name for t in self.terms]

    @property
    def variables(self) -> list[str]:
        """Right-side source columns, in formula order."""
        out: list[str] = []
        for t in self.terms:
            if t.variable and t.variable not in out:
                out.append(t.variable)
        return out

    def complete_rows(self, data: pd.DataFrame, with_lhs: bool = True) -> np.ndarray:
        """Boolean mask of rows with every variable the design needs present."""
        cols = self.variables + ([self.lhs] if (with_lhs and self.lhs) else [])
        self.check_columns(data, cols)
        if not cols:
            return np.ones(len(data), dtype=bool)
        return data[cols].notna().all(axis=1).to_numpy().copy()

    def check_columns(self, data: pd.DataFrame, cols: list[str] | None = None) -> None:
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
        """
        self.check_columns(data)
        n = len(data)
        X = np.empty((n, len(self.terms)), dtype=float)
        labels_cache: dict[str, np.ndarray] = {}
        for j, t in enumerate(self.terms):
            if t.kind == "intercept":
                X[:, j] = 1.0
            elif t.kind == "numeric":
                X[:, j] = pd.to_numeric(data[t.variable], errors="coerce").to_numpy(dtype=float)
            else:
                if t.variable not in labels_cache:
                    labels_cache[t.variable] = self._labels(data, t.variable)
                X[:, j] = (labels_cache[t.variable] == t.level).astype(float)
        return X

    def _labels(self, data: pd.DataFrame, variable: str) -> np.ndarray:
        col = data[variable]
        uniq = pd.unique(col.dropna())
        mapping = {u: level_label(u) for u in uniq}
        labels = col.map(mapping).astype(object).to_numpy()
        known = set(self.categoricals[variable].levels)
        unknown = [u for u, lab in mapping.items() if lab not in known]
        if unknown:
            bad = col.isin(unknown).to_numpy()
            raise ModelError(
                f"column '{variable}' has level(s) {', '.join(map(level_label, unknown[:10]))} "
                f"the model was not fitted with (known: {', '.join(sorted(known))}) at "
                f"{example_rows(data.index[bad])}. Recode them to a known level."
            )
        return labels

    def response(self, data: pd.DataFrame) -> np.ndarray:
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
        scale = np.sqrt((X**2).mean(axis=0))
        scale[scale == 0] = 1.0
        Xs = X / scale
        with np.errstate(all="ignore"):
            try:
                ev = np.linalg.eigvalsh(Xs.T @ Xs)
            except np.linalg.LinAlgError:  # non-finite values: the QR below reports them
                ev = np.zeros(1)
        rel_tol = max(X.shape) * np.finfo(float).eps * 1e3  # of the QR's diagonal
        if ev[0] > max(1e-10, rel_tol**2) * ev[-1]:
            return
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
        return {
            "formula": self.formula,
            "lhs": self.lhs,
            "terms": [t.to_dict() for t in self.terms],
            "categoricals": {k: c.to_dict() for k, c in self.categoricals.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Design:
        terms = [Term(t["name"], t["variable"], t["kind"], t.get("level")) for t in d["terms"]]
        cats = {
            k: Categorical(c["variable"], list(c["levels"]), c["base"])
            for k, c in d["categoricals"].items()
        }
        return cls(d["formula"], d.get("lhs"), terms, cats)

    def terms_table(self) -> pd.DataFrame:
        """One row per term: name, source variable, kind, level and the base level."""
        rows = []
        for t in self.terms:
            base = self.categoricals[t.variable].base if t.kind == "level" else None
            rows.append(
                {"term": t.name, "variable": t.variable, "kind": t.kind, "level": t.level, "base": base}
            )
        return pd.DataFrame(rows).set_index("term")
