"""Household proxies built from a person roster, declared in YAML (never coded).

A PMT uses household-level proxies (members aged 0-2, share of adults who work, a
female head ...) that a survey records person by person in its roster. This module
turns a roster (one row per person, e.g. from :func:`pmt.roster.data.read_roster`) into
one row per household from **declared definitions**: a YAML file or a mapping, so that
the same definitions can be read, reviewed and re-applied to another survey round
(:func:`household_proxies`, :func:`load_proxy_definitions`). The shipped example,
``pmt/data_spec/examples/roster_proxies.yaml`` (:func:`example_proxies_path`), builds the
synthetic survey's roster proxies.

Format
------
.. code-block:: yaml

    head: "relation == 1"      # how to find the head of household (a condition);
                               # needed only by `head:` proxies, no default
    missing: error             # default for every proxy: error | skip (see below)
    proxies:                   # name: {kind: argument, options}, in output order
      hh_size:          {count: all, label: "Household size (members)"}
      n_children_0_2:   {count: "age between 0 and 2"}
      n_working:        {count: "employed == 1", where: "age >= 15"}
      share_children:   {share: "age < 15"}                       # among all members
      share_working:    {share: "employed == 1", among: "age >= 15"}
      any_disabled:     {any: "disabled == 1"}
      all_elderly:      {all: "age >= 60"}
      inc_wages:        {sum: inc_wages}
      mean_age_adults:  {mean: age, where: "age >= 18"}
      max_edu:          {max: edu, where: "age >= 15", if_empty: 0}
      female_head:      {head: "sex == 2"}        # a condition on the head: 0/1
      head_age:         {head: age}               # a column: the head's value
      n_dependants:     {count: "age < 15 or age >= 65"}
      n_working_age:    {count: "age between 15 and 64"}
      dependency_ratio: {ratio: [n_dependants, n_working_age], if_zero: n_dependants}

Each proxy has exactly one **kind**:

=============  ===============================================  ==========================
kind           value for each household                         argument
=============  ===============================================  ==========================
``count``      members meeting the condition (int)              condition (``all``: every
                                                                member)
``share``      count / members of ``among`` (all by default)    condition
               (float)
``any``        1 if at least one member meets it, else 0        condition
``all``        1 if every member (of ``among``) meets it        condition
``sum``        sum of the column (int for integer columns);     column, or a list of
               of a list: the sum of the columns' sums          columns (family income)
``mean``       mean of the column (float)                       column
``max``        largest value of the column                      column
``min``        smallest value of the column                     column
``head``       a condition: 1 if the head meets it, else 0;     condition or column
               a column: the head's value
``ratio``      proxy ``a`` / proxy ``b`` (float)                ``[a, b]``: names of
                                                                proxies of the same file
=============  ===============================================  ==========================

Options of a proxy:

* ``label``: the text kept in ``out.attrs["labels"][name]`` (default: generated from
  the definition, e.g. "Members: age between 0 and 2");
* ``among`` (or its synonym ``where``): a condition that restricts the members used by
  every kind except ``head`` and ``ratio`` (``share`` of ``among``; ``sum``/``mean``/
  ``max``/``min`` over ``where``; ``all`` over an empty set is 1, ``any`` 0);
* ``if_empty`` (``share``, ``mean``, ``max``, ``min``): the value when a household has
  no member in ``among``/``where``. Without it such households are an error that names
  them: a proxy is never silently missing (NaN);
* ``if_zero`` (``ratio``): the value when the denominator is 0: a number, or the name of
  another proxy whose value is used (e.g. ``if_zero: n_dependants``: as if the
  denominator were 1). Without it a zero denominator is an error naming the households;
* ``missing``: ``error`` or ``skip``, overriding the top-level default.

The top-level ``missing`` and ``head`` are optional; ``description`` may hold free text.
A mapping without ``proxies`` whose values are all mappings is read as the proxies
themselves (``{hh_size: {count: all}, ...}``).

Conditions
----------
A small language, parsed by this module and **never evaluated as Python** (no ``eval``,
``exec``, ``pandas.eval`` or ``DataFrame.query``):

* a column compared with a value: ``age >= 15``, ``sex == 2``, ``region != 'north'``
  (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``);
* ``relation in [3, 8, 11]``, ``relation not in [1, 2]``;
* ``age between 15 and 64`` (both ends included);
* ``edu is missing``, ``edu is not missing``;
* ``and``, ``or``, ``not`` and parentheses; ``not`` binds tightest, then ``and``, then
  ``or``: ``a or b and not c`` is ``a or (b and (not c))``;
* ``all``: every member.

Values are numbers (``2``, ``-1``, ``0.5``) or quoted text (``'north'``, ``"001"``).
Categorical columns (as :func:`~pmt.roster.data.read_roster` returns them) compare by
their category values, i.e. the codes: ``sex == 2``. Text columns compare only with
quoted text, and only with ``==``, ``!=``, ``in``, ``not in``. A column whose name is
not a plain word (or is a keyword: ``and``, ``or``, ``not``, ``in``, ``between``,
``is``, ``missing``, ``all``) is written between backticks: ```age (years)` >= 15``.

Missing values
--------------
When a value that a proxy needs is missing (a member's ``age`` in ``age >= 15``, a
member's ``inc_wages`` in ``sum: inc_wages``), ``missing: error`` (the default) raises a
:class:`pmt.DataError` naming the proxy, the column and the (household, person) ids.
``missing: skip`` treats such members as **not meeting the condition** (also in
``share``: they stay in the denominator) and **leaves their values out** of ``sum``,
``mean``, ``max``, ``min``; a head whose value is missing gives a missing proxy. Logic
is three-valued, so a missing value that cannot change the result is not needed:
``age < 15 or edu == 3`` does not need ``edu`` of a child, and ``share: "edu == 3",
among: "age >= 15"`` does not need ``edu`` of members under 15.

Head of household
-----------------
``head`` proxies need a rule picking exactly one head in each household (or group, with
``by``): the top-level ``head:`` condition (e.g. ``"relation == 1"`` for the L2CU codes),
a relationship code or list of codes of the roster's relation column (``head: 1``), or
the ``head=`` argument of :func:`household_proxies` (a condition, codes, or a boolean
array aligned with the roster), which overrides the file. There is no default code;
households with no head or several heads are an error naming them (raised only when a
``head`` proxy is asked for).

Errors
------
Mistakes in the definitions (unknown keys or kinds, two kinds in one proxy, a ratio of
an undefined proxy, a condition that does not parse, a column the roster lacks) raise
:class:`ProxyDefinitionError`, which is both a :class:`pmt.ConfigError` and a
:class:`pmt.DataError`, listing every problem at once. Problems of the data (missing
values, heads, empty sets, zero denominators, households without members) raise a
:class:`pmt.DataError`, also listing every problem of every proxy at once.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import yaml

from pmt.errors import ConfigError, DataError
from pmt.roster.data import id_codes, match_keys

__all__ = [
    "household_proxies",
    "family_table",
    "rebuild_families",
    "FAMILY_KEYS",
    "load_proxy_definitions",
    "member_condition",
    "example_proxies_path",
    "ProxyDefinitions",
    "ProxyDefinition",
    "ProxyDefinitionError",
    "KINDS",
]

_SHOW = 5  # ids shown per problem

#: The kinds of proxy (see the module docstring).
KINDS: tuple[str, ...] = (
    "count",
    "share",
    "any",
    "all",
    "sum",
    "mean",
    "max",
    "min",
    "head",
    "ratio",
)
_CONDITION_KINDS = ("count", "share", "any", "all")
_COLUMN_KINDS = ("sum", "mean", "max", "min")
_SUBSET_KINDS = _CONDITION_KINDS + _COLUMN_KINDS
_IF_EMPTY_KINDS = ("share", "mean", "max", "min")
_OPTIONS = ("label", "missing", "among", "where", "if_zero", "if_empty")
_TOP_KEYS = ("head", "missing", "proxies", "description")
_MISSING = ("error", "skip")

_EXAMPLES = (
    '"age between 0 and 2"',
    '"sex == 2 and age >= 60"',
    '"relation in [3, 8]"',
    '"edu is missing"',
)


class ProxyDefinitionError(ConfigError, DataError):
    """Household-proxy definitions are malformed or do not fit the roster.

    Both a :class:`pmt.ConfigError` (a wrong key, type or value in the definitions) and a
    :class:`pmt.DataError` (catch either). ``problems`` lists every problem found.
    """

    def __init__(self, message: str, problems: Sequence[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)


def example_proxies_path() -> Path:
    """Path of the shipped example definitions (``data_spec/examples/roster_proxies.yaml``)."""
    return Path(str(resources.files("pmt") / "data_spec" / "examples" / "roster_proxies.yaml"))


# ======================================================================================
# Conditions: tokens, parser, syntax tree
# ======================================================================================
_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "missing", "all"})
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    |(?P<string>'[^']*'|"[^"]*")
    |(?P<quoted>`[^`]+`)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>==|!=|<=|>=|<|>)
    |(?P<punct>[\[\](),])
    """,
    re.VERBOSE,
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, name, kw, op, punct
    text: str
    pos: int  # 0-based character position
    value: Any = None


class _SyntaxProblem(Exception):
    """A condition that does not parse (turned into a ProxyDefinitionError message)."""

    def __init__(self, text: str, pos: int, what: str):
        self.text, self.pos, self.what = text, pos, what
        super().__init__(what)

    def message(self, where: str) -> str:
        return (
            f"{where}: cannot read the condition {self.text!r}: {self.what} at character "
            f"{self.pos + 1}:\n      {self.text}\n      {' ' * self.pos}^\n    Conditions are "
            f"like {', '.join(_EXAMPLES)} (see pmt.roster.aggregate)."
        )


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = {
                "=": " (compare with ==)",
                "'": " (a quoted text is not closed)",
                '"': " (a quoted text is not closed)",
                "`": " (a `quoted column` is not closed)",
                "&": " (write and)",
                "|": " (write or)",
                "!": " (write not, or !=)",
            }.get(ch, "")
            raise _SyntaxProblem(text, pos, f"unexpected character {ch!r}{hint}")
        kind = m.lastgroup or ""
        s = m.group()
        if kind == "number":
            value: Any = float(s) if any(c in s for c in ".eE") else int(s)
            out.append(_Tok("number", s, pos, value))
        elif kind == "string":
            out.append(_Tok("string", s, pos, s[1:-1]))
        elif kind == "quoted":
            out.append(_Tok("name", s, pos, s[1:-1]))
        elif kind == "name":
            if s.lower() in _KEYWORDS:
                out.append(_Tok("kw", s, pos, s.lower()))
            else:
                out.append(_Tok("name", s, pos, s))
        elif kind in ("op", "punct"):
            out.append(_Tok(kind, s, pos, s))
        pos = m.end()
    return out


@dataclass(frozen=True)
class _All:
    pass


@dataclass(frozen=True)
class _Not:
    arg: Any


@dataclass(frozen=True)
class _BoolOp:
    op: str  # and | or
    args: tuple


@dataclass(frozen=True)
class _Compare:
    column: str
    op: str
    value: Any
    pos: int


@dataclass(frozen=True)
class _In:
    column: str
    values: tuple
    negate: bool
    pos: int


@dataclass(frozen=True)
class _Between:
    column: str
    low: Any
    high: Any
    pos: int


@dataclass(frozen=True)
class _IsMissing:
    column: str
    negate: bool
    pos: int


class _Parser:
    """Recursive descent over the tokens: or_ > and_ > not_ > primary."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def fail(self, what: str, tok: _Tok | None = None) -> _SyntaxProblem:
        tok = tok if tok is not None else self.peek()
        pos = tok.pos if tok is not None else len(self.text)
        return _SyntaxProblem(self.text, pos, what)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def found(self) -> str:
        tok = self.peek()
        return "the end of the condition" if tok is None else repr(tok.text)

    def accept(self, kind: str, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == kind and tok.value == value:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str, what: str) -> None:
        if not self.accept(kind, value):
            raise self.fail(f"expected {what} but found {self.found()}")

    def parse(self):
        if not self.toks:
            raise _SyntaxProblem(
                self.text, 0, "the condition is empty (write all for every member)"
            )
        node = self.or_()
        if self.peek() is not None:
            raise self.fail(
                f"expected and, or or the end of the condition but found {self.found()}"
            )
        return node

    def or_(self):
        args = [self.and_()]
        while self.accept("kw", "or"):
            args.append(self.and_())
        return args[0] if len(args) == 1 else _BoolOp("or", tuple(args))

    def and_(self):
        args = [self.not_()]
        while self.accept("kw", "and"):
            args.append(self.not_())
        return args[0] if len(args) == 1 else _BoolOp("and", tuple(args))

    def not_(self):
        if self.accept("kw", "not"):
            return _Not(self.not_())
        return self.primary()

    def primary(self):
        tok = self.peek()
        if tok is None:
            raise self.fail("the condition ends too early: expected a column, all, not or (")
        if tok.kind == "punct" and tok.value == "(":
            self.i += 1
            node = self.or_()
            self.expect("punct", ")", "a closing )")
            return node
        if tok.kind == "kw" and tok.value == "all":
            self.i += 1
            return _All()
        if tok.kind == "name":
            self.i += 1
            return self.comparison(tok)
        raise self.fail(f"expected a column name, all, not or ( but found {self.found()}")

    def comparison(self, col: _Tok):
        name = col.value
        tok = self.peek()
        if tok is not None and tok.kind == "op":
            self.i += 1
            return _Compare(name, tok.value, self.value(), col.pos)
        if self.accept("kw", "in"):
            return _In(name, self.list_(), False, col.pos)
        if self.accept("kw", "not"):
            self.expect("kw", "in", "in (column not in [...])")
            return _In(name, self.list_(), True, col.pos)
        if self.accept("kw", "between"):
            low = self.value()
            self.expect("kw", "and", "and (column between low and high)")
            return _Between(name, low, self.value(), col.pos)
        if self.accept("kw", "is"):
            negate = self.accept("kw", "not")
            self.expect("kw", "missing", "missing (column is missing, column is not missing)")
            return _IsMissing(name, negate, col.pos)
        raise self.fail(
            f"expected a comparison after the column {col.text!r} (==, !=, <, <=, >, >=, in "
            f"[...], not in [...], between ... and ..., is missing) but found {self.found()}"
        )

    def value(self):
        tok = self.peek()
        if tok is not None and tok.kind in ("number", "string"):
            self.i += 1
            return tok.value
        raise self.fail(f"expected a number or a quoted text but found {self.found()}")

    def list_(self) -> tuple:
        self.expect("punct", "[", "a list in brackets, e.g. [1, 2, 3],")
        values = [self.value()]
        while self.accept("punct", ","):
            tok = self.peek()
            if tok is not None and tok.kind == "punct" and tok.value == "]":
                break
            values.append(self.value())
        self.expect("punct", "]", "a comma or the closing ]")
        return tuple(values)


@lru_cache(maxsize=1024)
def _parse(text: str):
    return _Parser(text).parse()


def _single_column(text: str) -> str | None:
    """The column name if ``text`` is just one (plain or `quoted`) column name."""
    try:
        toks = _tokenize(text)
    except _SyntaxProblem:
        return None
    if len(toks) == 1 and toks[0].kind == "name":
        return toks[0].value
    return None


def _walk(node) -> Iterator[Any]:
    yield node
    if isinstance(node, _Not):
        yield from _walk(node.arg)
    elif isinstance(node, _BoolOp):
        for a in node.args:
            yield from _walk(a)


def _condition_columns(node) -> list[str]:
    cols = [n.column for n in _walk(node) if hasattr(n, "column")]
    return list(dict.fromkeys(cols))


def _value_columns(node) -> list[str]:
    """Columns whose values are compared (a missing value there can make the result
    unknown); ``is missing`` tests are excluded.
    """
    cols = [n.column for n in _walk(node) if hasattr(n, "column") and not isinstance(n, _IsMissing)]
    return list(dict.fromkeys(cols))


def _literals(node) -> tuple:
    if isinstance(node, _Compare):
        return (node.value,)
    if isinstance(node, _In):
        return node.values
    if isinstance(node, _Between):
        return (node.low, node.high)
    return ()


# ======================================================================================
# Definitions
# ======================================================================================
@dataclass(frozen=True)
class ProxyDefinition:
    """One household proxy.

    Attributes
    ----------
    name : str
        Output column name.
    kind : str
        One of :data:`KINDS`.
    argument : str or tuple of str
        The condition (``count``, ``share``, ``any``, ``all``, ``head`` of a condition),
        the column (``sum``, ``mean``, ``max``, ``min``, ``head`` of a column) or the two
        proxy names of a ``ratio``.
    where : str or None
        The ``among``/``where`` condition restricting the members used.
    label : str or None
        The label as declared (``None``: generated, see :attr:`title`).
    missing : {"error", "skip"} or None
        ``None`` follows the definitions' default.
    if_zero : float, str or None
        ``ratio``: value (or proxy name) used when the denominator is 0.
    if_empty : float or None
        ``share``, ``mean``, ``max``, ``min``: value when no member is in ``where``.
    """

    name: str
    kind: str
    argument: str | tuple[str, str]
    where: str | None = None
    label: str | None = None
    missing: Literal["error", "skip"] | None = None
    if_zero: float | str | None = None
    if_empty: float | None = None

    @property
    def among(self) -> str | None:
        """Synonym of :attr:`where`."""
        return self.where

    @property
    def columns(self) -> list[str]:
        """Roster columns this proxy reads (a ``ratio`` reads proxies, not columns)."""
        return _proxy_columns(self)

    @property
    def head_column(self) -> str | None:
        """For a ``head`` proxy of a column, that column (else ``None``)."""
        if self.kind != "head":
            return None
        return _single_column(str(self.argument))

    @property
    def title(self) -> str:
        """The label: as declared, else generated from the definition."""
        if self.label is not None:
            return self.label
        arg = self.argument
        text = (" ".join(str(arg).split()) if isinstance(arg, str)
                else " + ".join(arg) if self.kind == "sum" else "")
        subset = f" (among {' '.join(self.where.split())})" if self.where else ""
        if self.kind == "count":
            base = "Number of members" if text == "all" else f"Members: {text}"
        elif self.kind == "share":
            base = f"Share of members: {text}"
        elif self.kind == "any":
            base = f"Any member: {text}"
        elif self.kind == "all":
            base = f"All members: {text}"
        elif self.kind in _COLUMN_KINDS:
            word = {"sum": "Sum", "mean": "Mean", "max": "Maximum", "min": "Minimum"}[self.kind]
            base = f"{word} of {text} over members"
        elif self.kind == "head":
            col = self.head_column
            base = f"Head's {col}" if col is not None else f"Head: {text}"
        else:
            base = f"{arg[0]} / {arg[1]}"
        return base + subset

    def to_dict(self) -> dict[str, Any]:
        """The definition as written in YAML (``{kind: argument, options...}``)."""
        out: dict[str, Any] = {
            self.kind: list(self.argument) if isinstance(self.argument, tuple) else self.argument
        }
        if self.where is not None:
            out["among" if self.kind == "share" else "where"] = self.where
        for key in ("if_zero", "if_empty", "missing", "label"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class ProxyDefinitions:
    """Validated household-proxy definitions (see the module docstring for the format).

    Attributes
    ----------
    proxies : tuple of ProxyDefinition
        In output order.
    head : str, int, tuple or None
        The head rule: a condition, or relationship code(s) of the relation column.
    missing : {"error", "skip"}
        Default for proxies that do not declare ``missing``.
    description : str or None
        Free text.
    """

    proxies: tuple[ProxyDefinition, ...]
    head: str | int | float | tuple | None = None
    missing: Literal["error", "skip"] = "error"
    description: str | None = None

    @property
    def names(self) -> list[str]:
        """Proxy names in output order."""
        return [p.name for p in self.proxies]

    @property
    def columns(self) -> list[str]:
        """Roster columns the definitions refer to (first mention first), the head rule's
        included.
        """
        cols: list[str] = []
        if isinstance(self.head, str):
            cols += _condition_columns(_parse(self.head))
        for p in self.proxies:
            cols += _proxy_columns(p)
        return list(dict.fromkeys(cols))

    @property
    def uses_head(self) -> bool:
        """Whether any proxy is of kind ``head``."""
        return any(p.kind == "head" for p in self.proxies)

    def __getitem__(self, name: str) -> ProxyDefinition:
        for p in self.proxies:
            if p.name == name:
                return p
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.proxies)

    def __iter__(self) -> Iterator[ProxyDefinition]:
        return iter(self.proxies)

    def to_dict(self) -> dict[str, Any]:
        """The definitions as a mapping in the YAML format (loads back to an equal object)."""
        out: dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        if self.head is not None:
            out["head"] = list(self.head) if isinstance(self.head, tuple) else self.head
        out["missing"] = self.missing
        out["proxies"] = {p.name: p.to_dict() for p in self.proxies}
        return out


def _proxy_columns(p: ProxyDefinition) -> list[str]:
    cols: list[str] = []
    if p.kind in _CONDITION_KINDS or (p.kind == "head" and p.head_column is None):
        cols += _condition_columns(_parse(str(p.argument)))
    elif p.kind == "sum" and isinstance(p.argument, tuple):  # sum of several columns
        cols += list(p.argument)
    elif p.kind in _COLUMN_KINDS or p.kind == "head":
        cols.append(_single_column(str(p.argument)) or str(p.argument))
    if p.where is not None:
        cols += _condition_columns(_parse(p.where))
    return cols


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping (PyYAML would keep
    the last one silently).
    """


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in seen:
                raise ProxyDefinitionError(
                    f"the proxy definitions repeat the key {key!r} (lines {seen[key]} and "
                    f"{line}): each key (and each proxy name) must appear once; rename or "
                    "delete one."
                )
            seen[key] = line
        except TypeError:  # unhashable key: let PyYAML report it
            break
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ProxyDefinitionError(
            f"the proxy definitions file '{path}' does not exist: check the path (the shipped "
            f"example is {example_proxies_path()})."
        )
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except ProxyDefinitionError as exc:
        raise ProxyDefinitionError(f"'{path}': {exc}") from None
    except yaml.YAMLError as exc:
        raise ProxyDefinitionError(
            f"the proxy definitions file '{path}' is not valid YAML: {exc}"
        ) from None
    except UnicodeDecodeError:
        raise ProxyDefinitionError(
            f"the proxy definitions file '{path}' is not UTF-8 text."
        ) from None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def load_proxy_definitions(source: Any) -> ProxyDefinitions:
    """Read and validate household-proxy definitions.

    Parameters
    ----------
    source : mapping, str, pathlib.Path or ProxyDefinitions
        A mapping in the YAML format of the module docstring, the path of such a YAML
        file, or definitions already loaded (returned as they are).

    Returns
    -------
    ProxyDefinitions

    Raises
    ------
    ProxyDefinitionError
        (a :class:`pmt.ConfigError` and a :class:`pmt.DataError`) The file is missing or
        not YAML, or, all listed together with the fix: unknown keys, a proxy with no kind
        or two kinds, an argument of the wrong type, a condition that does not parse, an
        option its kind does not take, a ratio of a proxy that is not defined (or of
        itself, or in a cycle), a bad ``missing`` value.
    """
    if isinstance(source, ProxyDefinitions):
        return source
    where = "the proxy definitions"
    if isinstance(source, str | Path):
        path = Path(source)
        raw = _read_yaml(path)
        where = f"the proxy definitions file '{path}'"
    elif isinstance(source, Mapping):
        raw = source
    else:
        raise ProxyDefinitionError(
            "proxy definitions must be a mapping, the path of a YAML file or "
            f"ProxyDefinitions; got {type(source).__name__}."
        )
    if not isinstance(raw, Mapping):
        raise ProxyDefinitionError(
            f"{where} must be a mapping with `proxies:` (name: {{kind: argument}}); got "
            f"{type(raw).__name__}. See pmt.roster.aggregate for the format."
        )
    if "proxies" not in raw and raw and all(isinstance(v, Mapping) for v in raw.values()):
        raw = {"proxies": raw}
    problems: list[str] = []
    extra = [str(k) for k in raw if k not in _TOP_KEYS]
    if extra:
        problems.append(
            f"unknown top-level key(s) {', '.join(map(repr, extra))}: allowed are "
            f"{', '.join(_TOP_KEYS)} (proxies go under `proxies:`)."
        )
    missing = raw.get("missing", "error")
    if missing not in _MISSING:
        problems.append(f"`missing` must be error or skip; got {missing!r}.")
        missing = "error"
    head = raw.get("head")
    head = _check_head(head, "`head`", problems)
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("`description` must be text.")
        description = None
    proxies_raw = raw.get("proxies")
    proxies: list[ProxyDefinition] = []
    if not isinstance(proxies_raw, Mapping) or not proxies_raw:
        problems.append(
            "`proxies` must be a non-empty mapping of name -> {kind: argument}, e.g. "
            'proxies: {hh_size: {count: all}, n_children: {count: "age < 15"}}.'
        )
    else:
        for name, spec in proxies_raw.items():
            p = _check_proxy(name, spec, problems)
            if p is not None:
                proxies.append(p)
    if not problems:
        _check_ratios(proxies, problems)
    if problems:
        raise ProxyDefinitionError(
            f"{where} have {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n- "
            + "\n- ".join(problems),
            problems,
        )
    return ProxyDefinitions(
        proxies=tuple(proxies), head=head, missing=missing, description=description
    )


def _check_head(head: Any, where: str, problems: list[str]) -> Any:
    if head is None:
        return None
    if isinstance(head, str):
        try:
            _parse(head)
        except _SyntaxProblem as exc:
            problems.append(exc.message(where))
        return head
    if _is_number(head):
        return head
    if isinstance(head, list | tuple) and head and all(_is_number(v) for v in head):
        return tuple(head)
    problems.append(
        f'{where} must be a condition picking the head (e.g. "relation == 1") or the '
        f"relationship code(s) of the head; got {head!r}."
    )
    return None


def _check_condition(text: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(text, str):
        problems.append(
            f"{where}: must be a condition in quotes (e.g. {_EXAMPLES[0]}, or all); got {text!r}."
        )
        return None
    try:
        _parse(text)
    except _SyntaxProblem as exc:
        problems.append(exc.message(where))
        return None
    return text


def _check_proxy(name: Any, spec: Any, problems: list[str]) -> ProxyDefinition | None:
    if not isinstance(name, str) or not name.strip():
        problems.append(f"proxy names must be non-empty text; got {name!r}.")
        return None
    where = f"proxy '{name}'"
    if not isinstance(spec, Mapping):
        problems.append(
            f"{where}: expected a mapping {{kind: argument}} with one kind of "
            f"{', '.join(KINDS)}; got {spec!r}."
        )
        return None
    kinds = [k for k in spec if k in KINDS]
    unknown = [str(k) for k in spec if k not in KINDS and k not in _OPTIONS]
    n = len(problems)
    if unknown:
        close = [m for k in unknown for m in difflib.get_close_matches(k, KINDS + _OPTIONS, 1)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        problems.append(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}{hint}; a proxy has one "
            f"kind ({', '.join(KINDS)}) and options {', '.join(_OPTIONS)}."
        )
    if len(kinds) != 1:
        problems.append(
            f"{where}: "
            + ("no kind" if not kinds else f"two or more kinds ({', '.join(kinds)})")
            + f': give exactly one of {", ".join(KINDS)}, e.g. {{count: "age < 15"}}.'
        )
        return None
    kind = kinds[0]
    arg = spec[kind]
    argument: Any = arg
    if kind == "head" and isinstance(arg, str) and _single_column(arg) is not None:
        argument = arg  # the head's value of a column
    elif kind in _CONDITION_KINDS or kind == "head":
        argument = _check_condition(arg, f"{where} ({kind})", problems)
    elif kind == "sum" and isinstance(arg, list | tuple):
        if not arg or not all(isinstance(a, str) and _single_column(a) is not None for a in arg):
            problems.append(
                f"{where}: `sum` takes a column name or a list of column names (e.g. "
                f"{{sum: [inc_wages, inc_pensions]}}); got {arg!r}."
            )
        else:
            argument = tuple(str(_single_column(a)) for a in arg)
    elif kind in _COLUMN_KINDS:
        if not isinstance(arg, str) or _single_column(arg) is None:
            problems.append(
                f"{where}: `{kind}` takes one column name (e.g. {{{kind}: inc_wages}}); got "
                f"{arg!r}. Restrict the members with `where:`."
            )
    else:  # ratio
        if (
            not isinstance(arg, list | tuple)
            or len(arg) != 2
            or not all(isinstance(a, str) for a in arg)
        ):
            problems.append(
                f"{where}: `ratio` takes the names of two proxies, [numerator, denominator] "
                f"(e.g. ratio: [n_dependants, n_working_age]); got {arg!r}."
            )
        else:
            argument = (arg[0], arg[1])
    if "among" in spec and "where" in spec:
        problems.append(f"{where}: give `among` or `where` (synonyms), not both.")
    subset = spec.get("among", spec.get("where"))
    if subset is not None:
        if kind not in _SUBSET_KINDS:
            problems.append(
                f"{where}: `{kind}` takes no `among`/`where` (it uses "
                + ("the head" if kind == "head" else "two proxies")
                + ")."
            )
        else:
            subset = _check_condition(subset, f"{where} (among/where)", problems)
    label = spec.get("label")
    if label is not None and not isinstance(label, str):
        label = str(label)
    missing = spec.get("missing")
    if missing is not None and missing not in _MISSING:
        problems.append(f"{where}: `missing` must be error or skip; got {missing!r}.")
    if_zero = spec.get("if_zero")
    if if_zero is not None:
        if kind != "ratio":
            problems.append(
                f"{where}: only a `ratio` takes `if_zero` (for `{kind}`, see `if_empty`)."
            )
        elif not (_is_number(if_zero) or isinstance(if_zero, str)):
            problems.append(
                f"{where}: `if_zero` must be a number or the name of a proxy; got {if_zero!r}."
            )
    if_empty = spec.get("if_empty")
    if if_empty is not None:
        if kind not in _IF_EMPTY_KINDS:
            problems.append(
                f"{where}: `if_empty` applies to {', '.join(_IF_EMPTY_KINDS)} "
                f"(with among/where), not to `{kind}`."
            )
        elif not _is_number(if_empty):
            problems.append(f"{where}: `if_empty` must be a number; got {if_empty!r}.")
    if len(problems) > n:
        return None
    return ProxyDefinition(
        name=name,
        kind=kind,
        argument=argument,
        where=subset,
        label=label,
        missing=missing,
        if_zero=_py_number(if_zero),
        if_empty=_py_number(if_empty),
    )


def _py_number(v: Any) -> Any:
    """NumPy numbers as Python ones (other values unchanged)."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _check_ratios(proxies: list[ProxyDefinition], problems: list[str]) -> list[str]:
    """Check ratio references; return the computation order (dependencies first)."""
    names = [p.name for p in proxies]
    by_name = {p.name: p for p in proxies}
    deps: dict[str, list[str]] = {}
    for p in proxies:
        if p.kind != "ratio":
            continue
        refs = list(p.argument) + ([p.if_zero] if isinstance(p.if_zero, str) else [])
        bad = [r for r in refs if r not in by_name]
        for r in bad:
            close = difflib.get_close_matches(r, names, 1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                f"proxy '{p.name}': the ratio refers to '{r}', which is not a proxy of these "
                f"definitions{hint}: define it (e.g. {r}: {{count: ...}}) or correct the name."
            )
        if p.name in refs:
            problems.append(f"proxy '{p.name}': a ratio cannot refer to itself.")
        deps[p.name] = [r for r in refs if r in by_name and r != p.name]
    if problems:
        return []
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = path[path.index(n) :] + [n]
            problems.append(
                f"ratios refer to each other in a cycle ({' -> '.join(cycle)}): "
                "a ratio must end at count, share, sum ... proxies."
            )
            return
        state[n] = 1
        for d in deps.get(n, []):
            visit(d, path + [n])
        state[n] = 2
        order.append(n)

    for n in names:
        visit(n, [])
    return order


# ======================================================================================
# Roster columns
# ======================================================================================
@dataclass(frozen=True, eq=False)
class _Col:
    """One roster column prepared for comparisons and sums."""

    name: str
    values: np.ndarray  # float64 (numbers, NaN where missing) or object (text, None)
    na: np.ndarray
    kind: str  # number | text
    integer: bool


def _prepare(s: pd.Series, name: str) -> _Col:
    na = s.isna().to_numpy()
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        codes = s.cat.codes.to_numpy()
        if pd.api.types.is_numeric_dtype(cats.dtype) and not pd.api.types.is_bool_dtype(cats.dtype):
            lookup = np.asarray(cats, dtype=float)
            vals = np.where(codes >= 0, lookup[np.maximum(codes, 0)], np.nan)
            integer = pd.api.types.is_integer_dtype(cats.dtype) or bool(
                np.all(lookup == np.floor(lookup))
            )
            return _Col(name, vals, na, "number", integer)
        s = s.astype(object)
        dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return _Col(name, s.to_numpy(dtype=float, na_value=np.nan), na, "number", True)
    if pd.api.types.is_numeric_dtype(dtype):
        return _Col(name, s.to_numpy(dtype=float, na_value=np.nan), na, "number", False)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise _ColumnTypeProblem(
            f"column '{name}' holds dates or durations, which conditions cannot compare: "
            "derive a number (e.g. age in years) first."
        )
    values = s.to_numpy(dtype=object, na_value=None)
    present = values[~na]
    if all(isinstance(v, str) for v in present):
        # the stubs pick np.where's one-argument overload for a None branch
        out = cast(np.ndarray, np.where(na, None, values))
        return _Col(name, out, na, "text", False)
    if all(_is_number(v) or isinstance(v, bool) for v in present):
        f = np.full(len(values), np.nan)
        f[~na] = present.astype(float)
        return _Col(name, f, na, "number", False)
    raise _ColumnTypeProblem(
        f"column '{name}' mixes text and numbers: make it all numbers (pd.to_numeric) or all "
        "text (astype(str)) before building proxies."
    )


class _ColumnTypeProblem(Exception):
    pass


# ======================================================================================
# Evaluation
# ======================================================================================
def _evaluate(node, col: Callable[[str], _Col], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Three-valued evaluation: (true, unknown) boolean arrays; false = neither."""
    if isinstance(node, _All):
        return np.ones(n, bool), np.zeros(n, bool)
    if isinstance(node, _Not):
        t, u = _evaluate(node.arg, col, n)
        return ~t & ~u, u
    if isinstance(node, _BoolOp):
        parts = [_evaluate(a, col, n) for a in node.args]
        if node.op == "and":
            t = np.logical_and.reduce([p[0] for p in parts])
            f = np.logical_or.reduce([~p[0] & ~p[1] for p in parts])
        else:
            t = np.logical_or.reduce([p[0] for p in parts])
            f = np.logical_and.reduce([~p[0] & ~p[1] for p in parts])
        return t, ~t & ~f
    c = col(node.column)
    if isinstance(node, _IsMissing):
        return (~c.na if node.negate else c.na.copy()), np.zeros(n, bool)
    v, known = c.values, ~c.na
    with np.errstate(invalid="ignore"):
        if isinstance(node, _Compare):
            res = _OPS[node.op](v, node.value)  # text: only == and != (checked before)
        elif isinstance(node, _In):
            if c.kind == "text":
                res = pd.Series(v, dtype=object).isin(list(node.values)).to_numpy()
            else:
                res = np.isin(v, np.asarray(node.values, dtype=float))
            if node.negate:
                res = ~res
        else:  # between
            res = (v >= node.low) & (v <= node.high)
    res = np.asarray(res, dtype=bool)
    return res & known, ~known


def _type_problems(node, col: _Col, where: str, text: str) -> list[str]:
    out = []
    for n in _walk(node):
        if getattr(n, "column", None) != col.name or isinstance(n, _IsMissing):
            continue
        lits = _literals(n)
        if col.kind == "number" and any(isinstance(v, str) for v in lits):
            bad = next(v for v in lits if isinstance(v, str))
            out.append(
                f"{where}: column '{col.name}' holds numbers (codes) but {text!r} compares it "
                f"with the text {bad!r}: compare with the number (e.g. {col.name} == 2)."
            )
        elif col.kind == "text":
            if any(_is_number(v) for v in lits):
                bad = next(v for v in lits if _is_number(v))
                out.append(
                    f"{where}: column '{col.name}' holds text but {text!r} compares it with "
                    f"the number {bad!r}: quote the value ({col.name} == '{bad}')."
                )
            elif isinstance(n, _Between) or (isinstance(n, _Compare) and n.op not in ("==", "!=")):
                out.append(
                    f"{where}: column '{col.name}' holds text, which {text!r} orders: text "
                    "compares only with ==, !=, in, not in (convert it to numbers first)."
                )
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return repr(v) if (v != v.strip() or not v) else v
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return "missing"
        if float(v).is_integer():
            return str(int(v))
    return str(v)


def _examples(items: Sequence[str]) -> str:
    items = list(items)
    more = f" (and {len(items) - _SHOW} more)" if len(items) > _SHOW else ""
    return ", ".join(items[:_SHOW]) + more


def _plural(k: int, word: str, words: str | None = None) -> str:
    return f"{k} {word if k == 1 else (words or word + 's')}"


class _Run:
    """State of one household_proxies call."""

    def __init__(
        self,
        roster: pd.DataFrame,
        defs: ProxyDefinitions,
        keys: list[str],
        person: str | None,
        household: str | None,
    ):
        self.roster = roster
        self.defs = defs
        self.keys = keys
        self.n = len(roster)
        self.person = person
        self.household = household
        self.cols: dict[str, _Col] = {}
        self.problems: list[str] = []
        self.skipped: dict[str, np.ndarray] = {}
        self.group_word = "household" if keys == [household] else "group"
        self._head: np.ndarray | None = None
        self._head_failed = False
        self._no_head_reported = False

    # --- groups -----------------------------------------------------------------------
    def group(self) -> None:
        """Code the groups (first-appearance order) and build the output index."""
        roster, keys = self.roster, self.keys
        codes_list = []
        for k in keys:
            codes = id_codes(roster[k], f"roster column '{k}'")
            bad = codes < 0
            if bad.any():
                raise DataError(
                    f"{_plural(int(bad.sum()), 'roster row')} {'has' if bad.sum() == 1 else 'have'}"
                    f" no id in '{k}' (rows {_examples([_fmt(v) for v in roster.index[bad]])}):"
                    " fill them in or drop those persons before building proxies."
                )
            codes_list.append(codes)
        g = codes_list[0]
        for c in codes_list[1:]:
            g, _ = pd.factorize(g * (int(c.max()) + 1) + c, sort=False)
        self.g = np.asarray(g, dtype=np.int64)
        self.G = int(self.g.max()) + 1 if self.n else 0
        _, self.first = np.unique(self.g, return_index=True)
        firsts = [roster[k].iloc[self.first].reset_index(drop=True) for k in keys]
        if len(keys) == 1:
            self.index: pd.Index = pd.Index(firsts[0], name=keys[0])
        else:
            self.index = pd.MultiIndex.from_arrays(firsts, names=keys)

    def group_label(self, gi: int) -> str:
        return "/".join(_fmt(self.roster[k].iloc[self.first[gi]]) for k in self.keys)

    def groups_text(self, mask: np.ndarray) -> str:
        idx = np.flatnonzero(mask)
        shown = [self.group_label(i) for i in idx[:_SHOW]]
        more = f" (and {len(idx) - _SHOW} more)" if len(idx) > _SHOW else ""
        return f"'{'/'.join(self.keys)}' {', '.join(shown)}{more}"

    def persons_text(self, rows: np.ndarray) -> str:
        """Up to five persons as (household, person) ids, e.g. ``'hh_id/line' 001/2``."""
        idx = np.flatnonzero(rows)[:_SHOW]
        hh = self.household if self.household in self.roster.columns else None
        hcols = [hh] if hh is not None else [k for k in self.keys if k in self.roster.columns]
        parts = []
        for r in idx:
            h = "/".join(_fmt(self.roster[c].iloc[r]) for c in hcols)
            if self.person is not None:
                parts.append(f"{h}/{_fmt(self.roster[self.person].iloc[r])}")
            elif hcols:
                parts.append(f"{h} (row {_fmt(self.roster.index[r])})")
            else:
                parts.append(f"row {_fmt(self.roster.index[r])}")
        more = f" (and {int(rows.sum()) - _SHOW} more)" if rows.sum() > _SHOW else ""
        if not hcols:
            return f"{', '.join(parts)}{more}"
        head = "/".join(hcols) + (f"/{self.person}" if self.person is not None else "")
        return f"'{head}' {', '.join(parts)}{more}"

    # --- columns and conditions -------------------------------------------------------
    def column(self, name: str) -> _Col:
        if name not in self.cols:
            self.cols[name] = _prepare(self.roster[name], name)
        return self.cols[name]

    def check_columns(self, head_rule: Any) -> None:
        """Every column exists and has a type its use allows; all problems at once."""
        problems: list[str] = []
        available = [str(c) for c in self.roster.columns]

        def need(col: str, where: str) -> _Col | None:
            if col not in self.roster.columns:
                close = difflib.get_close_matches(col, available, 1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(
                    f"{where}: the roster has no column '{col}'{hint}; correct the name "
                    "(the roster's columns: "
                    + ", ".join(available[:30])
                    + (" ..." if len(available) > 30 else "")
                    + ")."
                )
                return None
            try:
                return self.column(col)
            except _ColumnTypeProblem as exc:
                problems.append(f"{where}: {exc}")
                return None

        def condition(text: str, where: str) -> None:
            node = _parse(text)
            for c in _condition_columns(node):
                col = need(c, where)
                if col is not None:
                    problems.extend(_type_problems(node, col, where, text))

        if isinstance(head_rule, str):
            condition(head_rule, "the head rule")
        for p in self.defs.proxies:
            where = f"proxy '{p.name}'"
            if p.where is not None:
                condition(p.where, where)
            if p.kind in _CONDITION_KINDS or (p.kind == "head" and p.head_column is None):
                condition(str(p.argument), where)
            elif p.kind in _COLUMN_KINDS or p.kind == "head":
                names = (p.argument if isinstance(p.argument, tuple) else
                         [p.head_column if p.kind == "head" else _single_column(str(p.argument))])
                for name in names:
                    col = need(str(name), where)
                    if col is not None and p.kind != "head" and col.kind != "number":
                        problems.append(
                            f"{where}: `{p.kind}` needs numbers but column '{name}' holds text."
                        )
        if problems:
            raise ProxyDefinitionError(
                f"the proxy definitions do not fit the roster ({_plural(len(problems), 'problem')}"
                "):\n- " + "\n- ".join(problems),
                problems,
            )

    def condition(
        self,
        p: ProxyDefinition | None,
        text: str,
        within: np.ndarray | None,
        role: str,
        fix: str | None = None,
    ) -> tuple[np.ndarray, bool]:
        """The members meeting ``text`` (missing values resolved by the proxy's rule) and
        whether the proxy failed (a problem was recorded).
        """
        node = _parse(text)
        t, u = _evaluate(node, self.column, self.n)
        if within is not None:
            u = u & within
        if u.any() and self.missing_rule(p) == "skip":
            self.note_skipped(p, u)
        elif u.any():
            if fix is None:
                fix = (
                    "declare `missing: skip` for this proxy to treat them as not meeting "
                    "the condition"
                    if p is not None
                    else "declare `missing: skip` at the "
                    "top level of the definitions to treat them as not heads"
                )
            who = f"proxy '{p.name}': " if p is not None else ""
            self.problems.append(
                f"{who}{self.missing_message(node, u, text, role)} Fill them, or {fix}."
            )
            return t, True
        return t, False

    def note_skipped(self, p: ProxyDefinition | None, rows: np.ndarray) -> None:
        """Remember the members whose missing values ``missing: skip`` passed over."""
        key = p.name if p is not None else "(head rule)"
        prev = self.skipped.get(key)
        self.skipped[key] = rows.copy() if prev is None else prev | rows

    def missing_rule(self, p: ProxyDefinition | None) -> str:
        return (p.missing if p is not None else None) or self.defs.missing

    def missing_message(self, node, unknown: np.ndarray, text: str, role: str) -> str:
        parts = []
        for c in _value_columns(node):
            rows = unknown & self.column(c).na
            if rows.any():
                parts.append(
                    f"'{c}' is missing for {_plural(int(rows.sum()), 'member')} "
                    f"({self.persons_text(rows)})"
                )
        return f"{role} {text!r} needs values that are missing: {'; '.join(parts)}."

    # --- head -------------------------------------------------------------------------
    def head_rows(self, rule: Any) -> np.ndarray | None:
        """Row of each group's head (int64, one per group), or None after a problem."""
        if self._head is not None or self._head_failed:
            return self._head
        self._head_failed = True  # until it succeeds: report a problem once
        if isinstance(rule, np.ndarray):
            mask, rule_text = rule, "the head= mask"
        else:
            mask, failed = self.condition(None, rule, None, "the head rule")
            if failed:
                return None
            rule_text = f"the head rule {rule!r}"
        counts = np.bincount(self.g[mask], minlength=self.G)
        none, many = counts == 0, counts > 1
        if none.any() or many.any():
            w = self.group_word
            bits = []
            if none.any():
                bits.append(
                    f"{_plural(int(none.sum()), w)} {'has' if none.sum() == 1 else 'have'}"
                    f" no head ({self.groups_text(none)})"
                )
            if many.any():
                bits.append(
                    f"{_plural(int(many.sum()), w)} {'has' if many.sum() == 1 else 'have'}"
                    f" more than one head ({self.groups_text(many)})"
                )
            self.problems.append(
                f"{rule_text} must pick exactly one member per {w}, but "
                + " and ".join(bits)
                + ": correct the relationship codes, or declare another rule (`head:` in the "
                "definitions, or head= of household_proxies)."
            )
            return None
        rows = np.empty(self.G, dtype=np.int64)
        rows[self.g[mask]] = np.flatnonzero(mask)
        self._head, self._head_failed = rows, False
        return rows

    # --- proxies ----------------------------------------------------------------------
    def subset(self, p: ProxyDefinition) -> tuple[np.ndarray, bool]:
        if p.where is None:
            return np.ones(self.n, bool), False
        return self.condition(p, p.where, None, "the among/where condition")

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.g[mask], minlength=self.G).astype(np.int64)

    def empty(self, p: ProxyDefinition, empty: np.ndarray, values: np.ndarray) -> np.ndarray | None:
        if not empty.any():
            return values
        if p.if_empty is None:
            self.problems.append(
                f"proxy '{p.name}': {_plural(int(empty.sum()), self.group_word)} "
                f"{'has' if empty.sum() == 1 else 'have'} no member in {p.where or 'the roster'!r}"
                f" ({self.groups_text(empty)}), so `{p.kind}` has no value: declare "
                f"`if_empty: <value>` for this proxy (e.g. if_empty: 0)."
            )
            return None
        out = values.astype(float)
        out[empty] = float(p.if_empty)
        return out

    def proxy(self, p: ProxyDefinition, head_rule: Any, done: dict[str, np.ndarray]):
        kind = p.kind
        if kind == "ratio":
            return self.ratio(p, done)
        if kind == "head":
            return self.head(p, head_rule)
        sub, failed = self.subset(p)
        if kind in _CONDITION_KINDS:
            cond, f2 = self.condition(p, str(p.argument), sub, "the condition")
            if failed or f2:
                return None
            n_both = self.count(sub & cond)
            if kind == "count":
                return n_both
            n_sub = self.count(sub)
            if kind == "any":
                return (n_both > 0).astype(np.int64)
            if kind == "all":
                return (n_both == n_sub).astype(np.int64)
            share = np.divide(n_both, n_sub, out=np.full(self.G, np.nan), where=n_sub > 0)
            return self.empty(p, n_sub == 0, share)
        # sum / mean / max / min
        if isinstance(p.argument, tuple):  # a sum of several columns: add the sums
            parts = [self.proxy(replace(p, argument=c), head_rule, done) for c in p.argument]
            if any(part is None for part in parts):
                return None
            return sum(parts[1:], parts[0])
        name = str(_single_column(str(p.argument)))
        col = self.column(name)
        needed = sub & col.na
        if needed.any() and self.missing_rule(p) == "skip":
            self.note_skipped(p, needed)
        elif needed.any():
            self.problems.append(
                f"proxy '{p.name}': '{name}' is missing for "
                f"{_plural(int(needed.sum()), 'member')} ({self.persons_text(needed)}). Fill "
                "them, or declare `missing: skip` for this proxy to leave them out."
            )
            return None
        if failed:
            return None
        use = sub & ~col.na
        g, v = self.g[use], col.values[use]
        n_use = np.bincount(g, minlength=self.G)
        if kind == "sum":
            s = np.bincount(g, weights=v, minlength=self.G)
            return np.rint(s).astype(np.int64) if col.integer else s
        if kind == "mean":
            s = np.bincount(g, weights=v, minlength=self.G)
            mean = np.divide(s, n_use, out=np.full(self.G, np.nan), where=n_use > 0)
            return self.empty(p, n_use == 0, mean)
        agg = pd.Series(v).groupby(g).max() if kind == "max" else pd.Series(v).groupby(g).min()
        out = np.full(self.G, np.nan)
        out[agg.index.to_numpy()] = agg.to_numpy()
        res = self.empty(p, n_use == 0, out)
        if res is None:
            return None
        if col.integer and np.all(np.isfinite(res)) and np.all(res == np.floor(res)):
            return res.astype(np.int64)
        return res

    def head(self, p: ProxyDefinition, head_rule: Any):
        if head_rule is None:
            if self._no_head_reported:
                return None
            self._no_head_reported = True
            rel = _roster_attr(self.roster, "relation")
            example = f'"{rel} == 1"' if rel else '"relation == 1"'
            self.problems.append(
                f"proxy '{p.name}' uses the head of household, but no head rule is declared: "
                f"add `head: {example}` to the definitions (the condition that picks the head; "
                "check the head's code in your relationship column), or pass "
                "head= to household_proxies."
            )
            return None
        rows = self.head_rows(head_rule)
        if rows is None:
            return None
        col_name = p.head_column
        if col_name is None:
            node = _parse(str(p.argument))
            t, u = _evaluate(node, self.column, self.n)
            at = np.zeros(self.n, bool)
            at[rows] = True
            u = u & at
            if u.any() and self.missing_rule(p) == "skip":
                self.note_skipped(p, u)
            elif u.any():
                msg = self.missing_message(node, u, str(p.argument), "the condition on the head")
                self.problems.append(
                    f"proxy '{p.name}': {msg} Fill them, or declare `missing: skip` for this "
                    "proxy to treat them as not meeting the condition (0)."
                )
                return None
            return t[rows].astype(np.int64)
        col = self.column(col_name)
        na = col.na[rows]
        at = np.zeros(self.n, bool)
        at[rows[na]] = True
        if na.any() and self.missing_rule(p) == "skip":
            self.note_skipped(p, at)
        elif na.any():
            self.problems.append(
                f"proxy '{p.name}': '{col_name}' is missing for "
                f"{_plural(int(na.sum()), 'head')} ({self.persons_text(at)}). Fill them, or "
                "declare `missing: skip` for this proxy to leave the proxy missing for their "
                f"{self.group_word}s."
            )
            return None
        vals = col.values[rows]
        if col.kind == "number" and col.integer and not na.any():
            return vals.astype(np.int64)
        return vals

    def ratio(self, p: ProxyDefinition, done: dict[str, np.ndarray]):
        assert isinstance(p.argument, tuple)  # a ratio's argument is parsed as (num, den)
        a_name, b_name = p.argument
        refs = [a_name, b_name] + ([p.if_zero] if isinstance(p.if_zero, str) else [])
        if any(r not in done for r in refs):
            return None  # a proxy it needs failed: its problem is reported already
        arrays = []
        for r in refs:
            arr = done[r]
            if arr.dtype == object:
                self.problems.append(
                    f"proxy '{p.name}': '{r}' is not a number (the head's "
                    "text), so it cannot enter a ratio."
                )
                return None
            arrays.append(arr.astype(float))
        a, b = arrays[0], arrays[1]
        zero = b == 0
        out = np.divide(a, b, out=np.full(self.G, np.nan), where=~zero)
        # NaN propagates (a skipped head value); only true zeros need if_zero
        if zero.any():
            if p.if_zero is None:
                self.problems.append(
                    f"proxy '{p.name}': the denominator '{b_name}' is 0 for "
                    f"{_plural(int(zero.sum()), self.group_word)} ({self.groups_text(zero)}): "
                    "declare `if_zero: <value>` (a number, or the name of a proxy to use "
                    "instead) for this proxy."
                )
                return None
            out[zero] = arrays[2][zero] if isinstance(p.if_zero, str) else float(p.if_zero)
        return out


# ======================================================================================
# Public functions
# ======================================================================================
def _roster_attr(roster: pd.DataFrame, key: str) -> str | None:
    roles = roster.attrs.get("roster")
    if isinstance(roles, Mapping):
        v = roles.get(key)
        return v if isinstance(v, str) and v in roster.columns else None
    return None


def _head_rule(
    head: Any, defs: ProxyDefinitions, roster: pd.DataFrame, relation: str | None
) -> Any:
    """The head rule as a condition string or a boolean mask (None: not declared)."""
    if head is None:
        head = defs.head
    if head is None:
        return None
    if isinstance(head, str):
        problems: list[str] = []
        _check_head(head, "head=", problems)
        if problems:
            raise ProxyDefinitionError(problems[0], problems)
        return head
    codes = None
    if _is_number(head):
        codes = (head,)
    elif isinstance(head, tuple | list) and head and all(_is_number(v) for v in head):
        codes = tuple(head)
    if codes is not None:
        rel = relation or _roster_attr(roster, "relation")
        if rel is None:
            raise ProxyDefinitionError(
                f"the head is given as relationship code(s) {list(codes)}, but the roster's "
                "relation column is not known: pass relation='...' or write the head rule as "
                'a condition (head: "relation == 1").'
            )
        return f"`{rel}` in [{', '.join(repr(_py_number(c)) for c in codes)}]"
    if isinstance(head, pd.Series):
        if not head.index.equals(roster.index):
            raise DataError(
                "head=: a Series must have the roster's index (one value per "
                "roster row, same labels); pass head.to_numpy() to align by "
                "position."
            )
        head = head.to_numpy()
    arr = np.asarray(head)
    if arr.ndim != 1 or len(arr) != len(roster):
        raise DataError(
            f"head=: expected a condition, relationship code(s), or one boolean per "
            f"roster row ({len(roster)}); got {type(head).__name__} of shape "
            f"{arr.shape}."
        )
    if arr.dtype == object:
        if pd.isna(arr).any():
            raise DataError(
                "head=: the mask has missing values; give True or False for every roster row."
            )
        arr = arr.astype(bool)
    if arr.dtype.kind not in "biu" or (arr.dtype.kind in "iu" and not np.isin(arr, (0, 1)).all()):
        raise DataError("head=: the mask must be boolean (or 0/1) with one value per roster row.")
    return arr.astype(bool)


def household_proxies(
    roster: pd.DataFrame,
    definitions: Any,
    *,
    household: str | None = None,
    relation: str | None = None,
    head: Any = None,
    by: Sequence[str] | None = None,
    households: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build household proxies from a person roster, as declared in ``definitions``.

    Parameters
    ----------
    roster : pandas.DataFrame
        One row per person (e.g. from :func:`pmt.roster.data.read_roster`, whose
        ``attrs["roster"]`` gives the household, person and relation columns).
    definitions : mapping, str, pathlib.Path or ProxyDefinitions
        The proxies (format in the module docstring; see :func:`load_proxy_definitions`).
    household : str, optional
        The household id column. Default: ``roster.attrs["roster"]["household"]``.
    relation : str, optional
        The relationship-to-head column, used when the head is given as codes
        (``head: 1``). Default: ``roster.attrs["roster"]["relation"]``.
    head : str, int, list of int, or boolean numpy array/Series, optional
        The head rule, overriding the definitions' ``head``: a condition, relationship
        code(s) (a number or a list), or a mask with one boolean (or 0/1) per roster row
        (a numpy array, by position, or a Series with the roster's index).
    by : sequence of str, optional
        Columns to group by instead of the household (e.g. ``["hh_id", "family_id"]`` for
        family-level proxies); the output then has a MultiIndex (one level for each).
        ``head`` proxies then need exactly one head per group.
    households : pandas.DataFrame, optional
        The household file. When given, the output has one row per row of it, in its
        order and with its index; ids are looked up in its ``household`` column (or its
        index, if so named) and matched exactly as written (``"001"`` is not ``"1"``).

    Returns
    -------
    pandas.DataFrame
        One row per household (in the order the ids first appear in the roster, indexed by
        the id, unless ``households`` is given), one column per proxy in definition order:
        ``count``, ``any``, ``all`` and ``head`` of a condition as int64; ``share``,
        ``mean`` and ``ratio`` as float64; ``sum``, ``max``, ``min`` and ``head`` of a
        column keep integer columns integer (int64). ``attrs["labels"]`` maps each proxy to
        its label; ``attrs["proxy_definitions"]`` holds the definitions as a mapping;
        ``attrs["missing_skipped"]`` counts, for each proxy (and ``"(head rule)"``), the
        members whose missing values ``missing: skip`` passed over (only those with any).

    Raises
    ------
    ProxyDefinitionError
        (a :class:`pmt.ConfigError` and a :class:`pmt.DataError`) Malformed definitions,
        a condition that does not parse, a column the roster lacks or of the wrong type.
    pmt.DataError
        No household column known; missing household (or ``by``) ids; and, all listed
        together: missing values a proxy needs (naming the proxy, the column and the
        persons), households with no head or several heads (when a ``head`` proxy is
        asked for), no head rule declared, empty ``among``/``where`` sets without
        ``if_empty``, zero denominators without ``if_zero``; with ``households``:
        repeated or missing ids in it, its households without members and roster
        households not in it.

    Examples
    --------
    >>> import pandas as pd
    >>> roster = pd.DataFrame({"hh": ["001", "001", "002"], "age": [40, 3, 70],
    ...                        "rel": [1, 3, 1]})
    >>> household_proxies(roster, {"head": "rel == 1", "proxies": {
    ...     "hh_size": {"count": "all"}, "n_children": {"count": "age < 15"},
    ...     "head_age": {"head": "age"}}}, household="hh")  # doctest: +NORMALIZE_WHITESPACE
         hh_size  n_children  head_age
    hh
    001        2           1        40
    002        1           0        70
    """
    if not isinstance(roster, pd.DataFrame):
        raise DataError(
            f"household_proxies: the roster must be a pandas DataFrame; got "
            f"{type(roster).__name__}."
        )
    if isinstance(definitions, ProxyDefinitions):  # built by hand: validate it too
        definitions = definitions.to_dict()
    defs = load_proxy_definitions(definitions)
    if len(roster) == 0:
        raise DataError("household_proxies: the roster has no rows.")
    household = household or _roster_attr(roster, "household")
    if by is not None:
        if isinstance(by, str):
            by = [by]
        keys = list(by)
        if not keys:
            raise DataError("by= needs at least one column.")
        household = household or keys[0]
    else:
        if household is None:
            raise DataError(
                "household_proxies: name the roster's household id column (household='hh_id'),"
                " or read the roster with pmt.roster.read_roster, which records it."
            )
        keys = [household]
    absent = [k for k in keys if k not in roster.columns]
    if absent:
        raise DataError(
            f"household_proxies: the roster has no column(s) {', '.join(map(repr, absent))} to "
            f"group by; its columns are {', '.join(map(str, list(roster.columns)[:30]))}."
        )
    if households is not None and keys != [household]:
        raise DataError(
            "household_proxies: households= aligns household-level rows; with by= "
            f"({', '.join(keys)}) the output has one row per group, so leave households= out."
        )
    problems: list[str] = []
    order = _check_ratios(list(defs.proxies), problems)
    if problems:
        raise ProxyDefinitionError(
            "the proxy definitions have problems:\n- " + "\n- ".join(problems), problems
        )
    person = _roster_attr(roster, "person")
    run = _Run(roster, defs, keys, person, household)
    head_rule = _head_rule(head, defs, roster, relation) if defs.uses_head else None
    run.check_columns(head_rule)
    run.group()
    done: dict[str, np.ndarray] = {}
    by_name = {p.name: p for p in defs.proxies}
    for name in order:
        values = run.proxy(by_name[name], head_rule, done)
        if values is not None:
            done[name] = values
    if run.problems:
        k = len(run.problems)
        raise DataError(
            f"cannot build the household proxies ({_plural(k, 'problem')}):\n- "
            + "\n- ".join(run.problems)
        )
    out = pd.DataFrame({name: done[name] for name in defs.names}, index=run.index)
    if households is not None:
        out = _align(out, roster, households, str(household), run)
    out.attrs["labels"] = {p.name: p.title for p in defs.proxies}
    out.attrs["proxy_definitions"] = defs.to_dict()
    out.attrs["missing_skipped"] = {k: int(v.sum()) for k, v in run.skipped.items()}
    return out


def _align(
    out: pd.DataFrame, roster: pd.DataFrame, households: pd.DataFrame, household: str, run: _Run
) -> pd.DataFrame:
    if not isinstance(households, pd.DataFrame):
        raise DataError("households= must be the household DataFrame.")
    if household in households.columns:
        ids = households[household]
        what = f"household file column '{household}'"
    elif households.index.name == household:
        ids = households.index.to_series()
        what = f"household file index '{household}'"
    else:
        raise DataError(
            f"households= has no column '{household}' (nor an index of that name) to match the "
            "roster's households: name the id column the same in both files."
        )
    left, right = match_keys(roster[household], ids, f"roster column '{household}'", what)
    G = run.G
    f = right.codes
    problems = []
    if (f < 0).any():
        problems.append(
            f"{_plural(int((f < 0).sum()), 'row')} of the household file "
            f"{'has' if (f < 0).sum() == 1 else 'have'} no household id "
            f"(rows {_examples([_fmt(v) for v in households.index[f < 0]])})."
        )
    dup = pd.Series(f).duplicated(keep=False).to_numpy() & (f >= 0)
    if dup.any():
        shown = list(dict.fromkeys(_fmt(v) for v in ids.to_numpy()[dup]))
        problems.append(
            f"{_plural(len(shown), 'household id')} "
            f"{'appears' if len(shown) == 1 else 'appear'} more than once in the "
            f"household file ({_examples(shown)}): one row per household."
        )
    no_members = f >= G
    if no_members.any():
        shown = list(dict.fromkeys(_fmt(v) for v in ids.to_numpy()[no_members]))
        problems.append(
            f"{_plural(len(shown), 'household')} of the household file "
            f"{'has' if len(shown) == 1 else 'have'} no member in the roster ('{household}' "
            f"{_examples(shown)}): add their members or drop them from the household file "
            "(ids match exactly as written: '001' is not '1')."
        )
    covered = np.zeros(G, bool)
    covered[f[(f >= 0) & (f < G)]] = True
    if not covered.all():
        problems.append(
            f"{_plural(int((~covered).sum()), 'roster household')} "
            f"{'is' if (~covered).sum() == 1 else 'are'} not in the household file "
            f"({run.groups_text(~covered)}): drop those members from the roster (e.g. "
            f"roster[roster['{household}'].isin(households['{household}'])]) or pass the full "
            "household file."
        )
    if problems:
        raise DataError(
            "cannot align the proxies to households= ("
            f"{_plural(len(problems), 'problem')}):\n- " + "\n- ".join(problems)
        )
    aligned = out.iloc[f]
    aligned.index = households.index
    return aligned


def member_condition(
    roster: pd.DataFrame, condition: str, *, missing: Literal["error", "skip"] = "error"
) -> pd.Series:
    """Evaluate one condition on each member of a roster (the language of the module
    docstring; parsed, never evaluated as Python).

    Parameters
    ----------
    roster : pandas.DataFrame
        One row per person.
    condition : str
        E.g. ``"age < 18"``, ``"sex == 2 and age between 15 and 49"``.
    missing : {"error", "skip"}
        A missing value the condition needs: an error naming the persons, or "does not
        meet the condition".

    Returns
    -------
    pandas.Series of bool
        Aligned with the roster's index, named by the condition.

    Raises
    ------
    ProxyDefinitionError
        The condition does not parse, or names a column the roster lacks.
    pmt.DataError
        Missing values the condition needs (``missing="error"``).
    """
    if missing not in _MISSING:
        raise DataError(f"missing must be 'error' or 'skip'; got {missing!r}.")
    problems: list[str] = []
    if _check_condition(condition, "the condition", problems) is None:
        raise ProxyDefinitionError(problems[0], problems)
    if not isinstance(roster, pd.DataFrame):
        raise DataError(
            f"member_condition: the roster must be a pandas DataFrame; got {type(roster).__name__}."
        )
    household = _roster_attr(roster, "household")
    defs = ProxyDefinitions(
        proxies=(ProxyDefinition("condition", "count", condition),), missing=missing
    )
    run = _Run(
        roster, defs, [household] if household else [], _roster_attr(roster, "person"), household
    )
    run.check_columns(None)
    mask, failed = run.condition(
        None,
        condition,
        None,
        "the condition",
        fix="pass missing='skip' to treat them as not meeting it",
    )
    if failed:
        raise DataError(run.problems[0])
    return pd.Series(mask, index=roster.index, name=condition)


def family_table(
    roster: pd.DataFrame,
    family_ids,
    *,
    household: str,
    columns: Mapping[str, Any] | None = None,
    family: str = "family_id",
    size: str = "family_size",
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per nuclear family: its household, its id, its size and declared columns.

    Parameters
    ----------
    roster : pandas.DataFrame
        One row per person.
    family_ids : array-like of int
        Each person's family within the household (:func:`pmt.roster.families`).
    household : str
        The roster's household id column.
    columns : mapping, optional
        Family-level columns declared like household proxies (``{family_income: {sum:
        [inc_wages, inc_pensions]}, children: {count: "age < 18"}}``), computed over each
        family's members.
    family, size : str
        Names of the family id and family size (members) columns of the table.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        The table (columns ``household``, ``family``, ``size``, then ``columns``; rows in
        order of first appearance in the roster; labels in ``attrs["labels"]``) and, for
        each person, the row of their family in it.
    """
    ids = np.asarray(family_ids)
    if ids.shape != (len(roster),):
        raise DataError(
            f"family_table: got {ids.size} family ids for a roster of {len(roster)} persons."
        )
    taken = [c for c in (family, size) if c in roster.columns or c in (columns or {})]
    if taken:
        raise DataError(
            f"family_table: {', '.join(map(repr, taken))} already name a roster column or a "
            "declared family column; pass other names (family=, size=)."
        )
    definitions = {size: {"count": "all", "label": "Members of the family"}, **dict(columns or {})}
    with_ids = roster.assign(**{family: ids})
    table = household_proxies(
        with_ids, {"proxies": definitions}, household=household, by=[household, family]
    )
    labels = table.attrs.get("labels", {})
    table = table.reset_index()
    table.attrs["labels"] = labels
    key = pd.MultiIndex.from_frame(table[[household, family]])
    row = key.get_indexer(pd.MultiIndex.from_arrays([with_ids[household].to_numpy(), ids]))
    return table, row.astype(np.int64)


#: keys of a `families` section (project configs and policy files): the rules of
#: :func:`pmt.roster.families` and the family-level ``columns``
FAMILY_KEYS = ("codes", "relation", "spouse", "mother", "father", "age", "marital",
               "married_codes", "child_age", "adult_children", "columns")


def rebuild_families(
    roster: pd.DataFrame,
    rules: Mapping[str, Any],
    *,
    household: str,
    person: str,
    where: str = "families",
) -> tuple[pd.Series, pd.DataFrame, np.ndarray]:
    """Nuclear families and their table from a ``families`` section of a file.

    ``rules`` holds the keyword arguments of :func:`pmt.roster.families` (``codes``,
    ``spouse``, ``mother``, ``father``, ``age``, ``marital``, ``married_codes``,
    ``child_age``, ``adult_children``, ``relation``; the relation defaults to the roster's
    ``relation`` role) and ``columns``, the family-level columns of :func:`family_table`.

    Returns
    -------
    (pandas.Series, pandas.DataFrame, numpy.ndarray)
        The family id of each person (with ``attrs["ambiguous"]`` and ``attrs["method"]``),
        the family table and each person's row in it.
    """
    from pmt.roster.families import families

    unknown = sorted(set(map(str, rules)) - set(FAMILY_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(FAMILY_KEYS)}."
        )
    options = {k: v for k, v in rules.items() if k != "columns" and v is not None}
    relation = (roster.attrs.get("roster") or {}).get("relation")
    if relation is not None:
        options.setdefault("relation", relation)
    ids = families(roster, household=household, person=person, **options)
    table, row = family_table(roster, ids.to_numpy(), household=household,
                              columns=rules.get("columns"))
    return ids, table, row
