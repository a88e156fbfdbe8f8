"""Data specs: what each column of an input file is, and checks that the data match.

A data spec is a YAML file (``data_spec/*.yaml``)::

    name: hbs
    version: 1
    description: Household file of the household budget survey (one row per household)
    columns:
      hh_id: {type: id, role: id, label: Household identifier}
      region:
        type: categorical          # id | binary | categorical | count | continuous
        role: region               # id | weight | size | strata | psu | region | welfare |
                                   # verifiable_income | hard_to_verify_income | proxy | other
                                   # roster files: household_id | person_id | relation
        label: Region
        question: In which region does the household live?
        verifiable: true
        codes: {1: Karakalpakstan, 2: Andijan}
      pcc:
        type: continuous
        role: welfare
        unit: local currency per person per month
        range: [0, null]           # inclusive bounds, null = unbounded
        nullable: false            # default: missing values are an error
        log: true                  # the column will be logged: values must be > 0
      car:
        type: binary
        role: proxy
        expected_sign: "+"         # "+" / "-" (quote them in YAML), or positive / negative
      cooking_fuel:
        type: categorical
        role: proxy
        codes: {1: Electricity, 2: Central gas, 4: Firewood}
        expected_sign: {4: "-"}    # code -> sign of its dummy against the model's base level

Every key except ``type`` and ``role`` is optional. ``binary`` means values in {0, 1};
``count`` non-negative whole numbers.

A *person roster* (one row per person, e.g. ``data_spec/roster.yaml``) declares its
household id with role ``household_id`` and the person's number within the household with
role ``person_id`` (both ``type: id``; they repeat across rows by design, so instead of
unique values :meth:`DataSpec.validate` checks that each (household, person) pair appears
once, and names problem rows as ``hh_id/line 001/2``), and optionally the relationship to
the head with role ``relation`` (``type: categorical``). At most one column takes each of
these roles, and ``person_id`` needs a ``household_id`` column. See :mod:`pmt.roster.data`.

``expected_sign`` records the sign a proxy's coefficient in a welfare model is expected
to have (owning a car raises consumption: ``"+"``), for :func:`pmt.models.signs.check_signs`,
which flags fitted coefficients that contradict it. Binary, count and continuous columns
take one sign: ``"+"`` or ``"-"`` (in YAML write them quoted, since a bare ``-`` starts a
list; ``positive``/``negative`` and 1/-1 are accepted too). For a binary column entered as
``C(x)`` the sign is that of level 1 against level 0. A categorical column takes a mapping
code -> sign, one per level whose dummy has an expected sign, meaning the sign of that
level's coefficient against the model's base level (the first level unless the formula
says ``C(x, Treatment(...))``); levels left out are not checked, and a code given for the
model's base level cannot be checked (it has no coefficient). The signs are for models of
welfare (higher = better off); for a model of being poor, every sign flips. ID columns
take no sign.

:meth:`DataSpec.validate` checks everything at once
and raises :class:`pmt.DataSpecError` whose ``problems`` list names every column, the
problem, example row ids and the fix.

Labelled Stata/SPSS files carry their own variable and value labels:
:meth:`DataSpec.with_file_labels` checks the file's value labels against the declared
``codes`` (a contradiction is an error) and fills in the labels and codes the spec leaves
out; :func:`pmt.io.read_with_spec` does both on reading. ``pmt draft-spec`` drafts a spec
from a data file (:mod:`pmt.draft`).
"""

from __future__ import annotations

import copy
import hashlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from pmt.errors import DataSpecError, example_rows

__all__ = ["DataSpec", "ColumnSpec", "TYPES", "ROLES"]

TYPES = ("id", "binary", "categorical", "count", "continuous")
ROLES = (
    "id",
    "weight",
    "size",
    "strata",
    "psu",
    "region",
    "welfare",
    "verifiable_income",
    "hard_to_verify_income",
    "proxy",
    "other",
    "household_id",
    "person_id",
    "relation",
)
#: roles of a person roster (one row per person): at most one column each
ROSTER_ROLES = ("household_id", "person_id", "relation")
_COLUMN_KEYS = {
    "type",
    "role",
    "label",
    "question",
    "verifiable",
    "codes",
    "range",
    "nullable",
    "unit",
    "log",
    "description",
    "expected_sign",
}
_TOP_KEYS = {"name", "version", "description", "columns"}
_MAX_PROBLEM_ROWS = 5


def read_yaml_file(path: str | Path, error: type[Exception], what: str) -> Any:
    """Parse a YAML file safely (``yaml.safe_load``: no code runs).

    A missing file, invalid YAML or non-UTF-8 text raises ``error`` with a message naming
    ``what`` the file is (data spec, policy file, project config) and its path.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{what} '{p}' does not exist: check the path.")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{what} '{p}' is not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise error(f"{what} '{p}' is not UTF-8 text.") from None


@dataclass(frozen=True)
class ColumnSpec:
    """The declaration of one column (see the module docstring for the keys)."""

    name: str
    type: str
    role: str
    label: str
    question: str | None = None
    verifiable: bool = False
    codes: dict[Any, str] | None = None
    range: tuple[float | None, float | None] | None = None
    nullable: bool = False
    unit: str | None = None
    log: bool = False
    description: str | None = None
    #: "+" or "-" (binary, count, continuous), or {code: "+" | "-"} (categorical); None
    #: when not declared. See the module docstring.
    expected_sign: str | dict[Any, str] | None = None
    extra: dict = field(default_factory=dict)
    #: False when the YAML gave no label (or the column name itself): the label is then
    #: the column name, and a file's variable label may replace it
    #: (:meth:`DataSpec.with_file_labels`). Not part of :meth:`to_dict` or the hash.
    label_given: bool = True

    @property
    def must_be_positive(self) -> bool:
        """True if the column will be logged (``log: true``, or a welfare range above 0)."""
        lo = self.range[0] if self.range else None
        return self.log or (self.role == "welfare" and lo is not None and lo > 0)

    def to_dict(self) -> dict:
        """The column's entry of a data spec file."""
        d: dict[str, Any] = {"type": self.type, "role": self.role, "label": self.label}
        for key in ("question", "unit", "description"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.verifiable:
            d["verifiable"] = True
        if self.codes is not None:
            d["codes"] = dict(self.codes)
        if self.range is not None:
            d["range"] = list(self.range)
        if self.nullable:
            d["nullable"] = True
        if self.log:
            d["log"] = True
        if self.expected_sign is not None:
            es = self.expected_sign
            d["expected_sign"] = dict(es) if isinstance(es, Mapping) else es
        return d


def _parse_column(name: str, raw: Any, problems: list[str]) -> ColumnSpec | None:
    where = f"column '{name}'"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: its entry must be a mapping of keys (type, role, ...); got {raw!r}.")
        return None
    unknown = sorted(set(map(str, raw)) - _COLUMN_KEYS)
    if unknown:
        problems.append(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys are "
            f"{', '.join(sorted(_COLUMN_KEYS))}."
        )
    ctype, role = raw.get("type"), raw.get("role")
    if ctype not in TYPES:
        problems.append(f"{where}, key 'type': {ctype!r} is not one of {', '.join(TYPES)}.")
    if role not in ROLES:
        problems.append(f"{where}, key 'role': {role!r} is not one of {', '.join(ROLES)}.")
    codes = raw.get("codes")
    if codes is not None:
        if ctype not in ("categorical", "binary"):
            problems.append(
                f"{where}, key 'codes': codes are only allowed on a categorical (or binary) "
                f"column, but the type is {ctype!r}. Remove 'codes' or make it categorical."
            )
        if not isinstance(codes, Mapping) or not codes:
            problems.append(f"{where}, key 'codes': must be a non-empty mapping code -> label.")
            codes = None
        else:
            codes = {k: str(v) for k, v in codes.items()}
            kinds = {type(k) for k in codes}
            if not (kinds <= {int} or kinds <= {str}):
                problems.append(
                    f"{where}, key 'codes': codes must be all whole numbers or all text; got "
                    f"{sorted(map(repr, codes))}."
                )
            if ctype == "binary" and codes is not None and set(codes) - {0, 1}:
                problems.append(f"{where}, key 'codes': a binary column has codes 0 and 1 only.")
    elif ctype == "categorical":
        pass  # codes optional: any value allowed
    rng = raw.get("range")
    if rng is not None:
        ok = isinstance(rng, list | tuple) and len(rng) == 2
        ok = ok and all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in rng)
        if not ok:
            problems.append(
                f"{where}, key 'range': must be [low, high] with numbers or null; got {rng!r}."
            )
            rng = None
        else:
            lo, hi = rng
            if lo is not None and hi is not None and lo > hi:
                problems.append(f"{where}, key 'range': low {lo} is above high {hi}.")
            if ctype not in ("count", "continuous"):
                problems.append(
                    f"{where}, key 'range': ranges apply to count or continuous columns, not "
                    f"{ctype!r}."
                )
            rng = (lo, hi)
    for key in ("verifiable", "nullable", "log"):
        if key in raw and not isinstance(raw[key], bool):
            problems.append(f"{where}, key '{key}': must be true or false; got {raw[key]!r}.")
    if raw.get("log") is True and ctype not in ("count", "continuous"):
        problems.append(f"{where}, key 'log': only numeric (count, continuous) columns can be logged.")
    for key in ("label", "question", "unit", "description"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            problems.append(f"{where}, key '{key}': must be text; got {raw[key]!r}.")
    expected_sign = _parse_expected_sign(where, raw.get("expected_sign"), ctype, codes, problems)
    if ctype not in TYPES or role not in ROLES:
        return None
    return ColumnSpec(
        name=name,
        type=ctype,
        role=role,
        label=str(raw.get("label") or name),
        label_given=bool(raw.get("label")) and str(raw.get("label")) != name,
        question=raw.get("question"),
        verifiable=bool(raw.get("verifiable", False)),
        codes=codes,
        range=rng,
        nullable=bool(raw.get("nullable", False)),
        unit=raw.get("unit"),
        log=bool(raw.get("log", False)),
        description=raw.get("description"),
        expected_sign=expected_sign,
    )


def _check_roster_roles(parsed: Mapping[str, ColumnSpec], problems: list[str]) -> None:
    """Roster roles: ids of type ``id``, a person id only within a household id, a
    categorical relation.
    """
    by_role = {c.role: c for c in parsed.values()}
    for c in parsed.values():  # every column: a role given twice is reported elsewhere
        if c.role in ("household_id", "person_id") and c.type != "id":
            problems.append(
                f"column '{c.name}': role '{c.role}' needs `type: id` (ids are read as written, "
                f"leading zeros kept); got {c.type!r}."
            )
    if "person_id" in by_role and "household_id" not in by_role:
        problems.append(
            f"column '{by_role['person_id'].name}': role 'person_id' numbers persons within "
            "their household, so the spec also needs the household id column (role "
            "'household_id'); for a person id unique in the whole file use role 'id'."
        )
    for rel in parsed.values():
        if rel.role == "relation" and rel.type != "categorical":
            problems.append(
                f"column '{rel.name}': role 'relation' (relationship to the head) needs "
                f"`type: categorical` with its codes; got {rel.type!r}."
            )


_SIGN_WORDS = {"+": "+", "-": "-", "positive": "+", "negative": "-", "pos": "+", "neg": "-"}


def sign_value(value) -> str | None:
    """Normalise one expected sign to "+" or "-" (None if it is not a sign).

    Accepts "+", "-", "positive", "negative" (any case, surrounding spaces ignored) and the
    numbers 1 and -1.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "+" if value == 1 else "-" if value == -1 else None
    if isinstance(value, str):
        return _SIGN_WORDS.get(value.strip().casefold())
    return None


def _parse_expected_sign(where: str, raw: Any, ctype: Any, codes: Mapping | None,
                         problems: list[str]):
    """Validate the ``expected_sign`` key; "+"/"-", {code: sign} or None."""
    if raw is None:
        return None
    key = f"{where}, key 'expected_sign'"
    how = 'write "+" or "-" (quoted in YAML), positive or negative'
    if ctype == "id":
        problems.append(f"{key}: an id column is not a proxy and takes no expected sign; remove it.")
        return None
    if ctype == "categorical":
        if not isinstance(raw, Mapping) or not raw:
            problems.append(
                f"{key}: a categorical column takes a mapping code -> sign for the levels "
                f"whose dummy (against the model's base level) has an expected sign, e.g. "
                f'{{4: "-"}}; got {raw!r}.'
            )
            return None
        out: dict[Any, str] = {}
        for code, sign in raw.items():
            sv = sign_value(sign)
            if sv is None:
                problems.append(f"{key}: code {code!r} has sign {sign!r}; {how}.")
                continue
            if codes is not None and code not in codes:
                problems.append(
                    f"{key}: code {code!r} is not among the column's codes "
                    f"({', '.join(map(str, list(codes)[:15]))}); use a declared code."
                )
                continue
            out[code] = sv
        return out or None
    if isinstance(raw, Mapping):
        problems.append(
            f"{key}: a mapping of codes is for categorical columns; a {ctype} column takes "
            f"one sign: {how}."
        )
        return None
    sv = sign_value(raw)
    if sv is None:
        problems.append(f"{key}: {raw!r} is not a sign; {how}.")
    return sv


class DataSpec:
    """A parsed data spec: column types, roles, labels, questions, codes and ranges.

    Build with :meth:`load` (a YAML file) or :meth:`from_dict`. Check a DataFrame with
    :meth:`validate`.
    """

    def __init__(self, name: str, columns: Mapping[str, ColumnSpec], version: Any = 1,
                 description: str | None = None):
        self.name = name
        self.version = version
        self.description = description
        self._columns: dict[str, ColumnSpec] = dict(columns)

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping, source: str = "the data spec") -> DataSpec:
        """Parse the YAML content (as a dict); DataSpecError lists every problem in it."""
        if not isinstance(raw, Mapping):
            raise DataSpecError(f"{source}: the top level must be a mapping with 'name' and 'columns'.")
        problems: list[str] = []
        unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
        if unknown:
            problems.append(
                f"unknown top-level key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_KEYS))}."
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            problems.append("key 'name': the spec needs a non-empty text name (recorded in artifacts).")
        cols = raw.get("columns")
        parsed: dict[str, ColumnSpec] = {}
        if not isinstance(cols, Mapping) or not cols:
            problems.append("key 'columns': must be a non-empty mapping of column name -> declaration.")
        else:
            for cname, craw in cols.items():
                c = _parse_column(str(cname), craw, problems)
                if c is not None:
                    parsed[str(cname)] = c
            ids = [c.name for c in parsed.values() if c.role == "id"]
            if len(ids) > 1:
                problems.append(f"roles: only one column may have role 'id'; got {', '.join(ids)}.")
            for role in ("weight", "size", "strata", "psu", *ROSTER_ROLES):
                have = [c.name for c in parsed.values() if c.role == role]
                if len(have) > 1:
                    problems.append(
                        f"roles: only one column may have role '{role}'; got {', '.join(have)}."
                    )
            _check_roster_roles(parsed, problems)
        if problems:
            raise DataSpecError(
                f"{source} is not a valid data spec ({len(problems)} problem"
                f"{'s' if len(problems) > 1 else ''}):\n- " + "\n- ".join(problems),
                problems,
            )
        assert isinstance(name, str)  # a non-str name was recorded in problems and raised above
        return cls(name, parsed, raw.get("version", 1), raw.get("description"))

    @classmethod
    def load(cls, path: str | Path) -> DataSpec:
        """Read a YAML data spec; DataSpecError for a missing, unreadable or invalid file."""
        raw = read_yaml_file(path, DataSpecError, "data spec")
        return cls.from_dict(raw, source=f"data spec '{Path(path)}'")

    def to_dict(self) -> dict:
        """The data spec as a mapping (the content of a spec file)."""
        d: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.description is not None:
            d["description"] = self.description
        d["columns"] = {k: c.to_dict() for k, c in self._columns.items()}
        return d

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The spec as YAML text (written to ``path`` when given)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            from pmt._files import atomic_write

            with atomic_write(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    @property
    def hash(self) -> str:
        """sha256 of the canonical content (keys sorted, defaults filled, comments and
        layout ignored), recorded in model artifacts to tie a model to its input spec.
        """
        canon = yaml.safe_dump(self.to_dict(), sort_keys=True, allow_unicode=True)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    # --- look-ups ---------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Names of the columns the spec declares, in order."""
        return list(self._columns)

    def __contains__(self, col: object) -> bool:
        return col in self._columns

    def __getitem__(self, col: str) -> ColumnSpec:
        return self._get(col)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return f"DataSpec({self.name!r}, {len(self)} columns)"

    def _get(self, col: str) -> ColumnSpec:
        if col not in self._columns:
            raise DataSpecError(
                f"column '{col}' is not in data spec '{self.name}'; its columns are "
                f"{', '.join(self.columns[:30])}{' ...' if len(self) > 30 else ''}."
            )
        return self._columns[col]

    @property
    def labels(self) -> dict[str, str]:
        """Column name -> label."""
        return {k: c.label for k, c in self._columns.items()}

    def question(self, col: str) -> str | None:
        """The question a field form shows for ``col`` (None if not given)."""
        return self._get(col).question

    def codes(self, col: str) -> dict | None:
        """Code -> label mapping of a categorical column (None if codes are not declared)."""
        c = self._get(col).codes
        return dict(c) if c is not None else None

    def columns_with_role(self, role: str) -> list[str]:
        """Columns with the given role, in spec order."""
        if role not in ROLES:
            raise DataSpecError(f"unknown role {role!r}; roles are {', '.join(ROLES)}.")
        return [k for k, c in self._columns.items() if c.role == role]

    def design(self) -> dict[str, str | None]:
        """Keyword arguments for :class:`pmt.Survey`: weight, size, strata and psu columns."""
        out: dict[str, str | None] = {}
        for role in ("weight", "size", "strata", "psu"):
            cols = self.columns_with_role(role)
            out[role] = cols[0] if cols else None
        return out

    def subset(self, columns: Iterable[str]) -> DataSpec:
        """A spec with only ``columns`` (in the order given)."""
        cols = list(columns)
        missing = [c for c in cols if c not in self._columns]
        if missing:
            raise DataSpecError(
                f"subset: column(s) {', '.join(missing)} are not in data spec '{self.name}'."
            )
        return DataSpec(self.name, {c: self._columns[c] for c in cols}, self.version,
                        self.description)

    def with_nullable(self, nullable: bool | Mapping[str, bool]) -> DataSpec:
        """A copy whose columns allow missing values (``nullable=True``), or not, or take
        each column's flag from a mapping column -> bool (columns not in it keep theirs).
        """
        flags = (nullable if isinstance(nullable, Mapping)
                 else dict.fromkeys(self._columns, bool(nullable)))
        cols = {name: replace(c, nullable=bool(flags.get(name, c.nullable)))
                for name, c in self._columns.items()}
        return DataSpec(self.name, cols, self.version, self.description)

    def with_file_labels(
        self,
        variable_labels: Mapping[str, str] | None,
        value_labels: Mapping[str, Mapping[Any, str]] | None,
        *,
        source: str | None = None,
        data: pd.DataFrame | None = None,
    ) -> DataSpec:
        """A copy of the spec completed with a data file's labels, after checking them.

        Checks first: for a column with declared ``codes`` and value labels in the file,
        the same code with a different label (compared after trimming and ignoring case),
        or a file label that the spec gives to another code, is an error: the spec and the
        file disagree about what the numbers mean, and nothing is recoded through labels.
        Codes the file labels but the spec does not know are not an error by themselves
        (:meth:`validate` checks the values present in the data).

        Then fills in: a column whose ``label`` the YAML did not give takes the file's
        variable label; a categorical or binary column without ``codes`` takes the file's
        value labels as its codes (binary: only codes 0 and 1). When ``data`` is given and
        the column holds values the file does not label, the codes are not taken (a
        warning names the values): declare them in the spec.

        Parameters
        ----------
        variable_labels : mapping column -> label
            The file's variable labels (``df.attrs["variable_labels"]`` of :func:`pmt.read_data`).
        value_labels : mapping column -> {code: label}
            The file's value labels (``df.attrs["value_labels"]``).
        source : str, optional
            The file's name, for messages.
        data : pandas.DataFrame, optional
            The file's data with codes (not labels): conflicts then give row counts and
            example ids, and codes are only filled where every value present is labelled.

        Returns
        -------
        pmt.DataSpec
            A new spec; this one is unchanged.

        Raises
        ------
        pmt.DataSpecError
            With one problem per conflicting code, naming the file, column, code, both
            labels and the rows concerned.
        """
        where = f"'{source}'" if source else "the data file"
        variable_labels = dict(variable_labels or {})
        value_labels = dict(value_labels or {})
        row_ref = _row_referencer(self, data)
        problems: list[str] = []
        cols: dict[str, ColumnSpec] = {}
        for name, c in self._columns.items():
            changes: dict[str, Any] = {}
            file_codes = value_labels.get(name)
            if file_codes:
                int_codes = c.codes is None or all(isinstance(k, int) for k in c.codes)
                file_codes = _file_codes(file_codes, int_codes)
            column = data[name] if data is not None and name in data.columns else None
            if c.codes is not None and file_codes:
                problems += _label_conflicts(c, file_codes, column, row_ref)
            elif c.codes is None and file_codes and c.type in ("categorical", "binary"):
                codes = _codes_from_file(c, file_codes, column, where)
                if codes is not None:
                    changes["codes"] = codes
            label = variable_labels.get(name)
            if not c.label_given and isinstance(label, str) and label.strip():
                changes.update(label=label.strip(), label_given=True)
            cols[name] = replace(c, **changes) if changes else c
        if problems:
            raise DataSpecError(
                f"{where}: its value labels disagree with data spec '{self.name}' "
                f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n- "
                + "\n- ".join(problems),
                problems,
            )
        return DataSpec(self.name, cols, self.version, self.description)

    # --- validation -------------------------------------------------------------------
    def validate(
        self, df: pd.DataFrame, extra: Literal["warn", "ignore", "error"] = "warn"
    ) -> pd.DataFrame:
        """Check ``df`` against the spec; return a typed copy or raise with every problem.

        Checks: missing columns; types (non-numeric values where numbers are expected,
        non-integer counts, binary values outside {0, 1}); categorical codes not declared
        (values may be given as codes or as their labels, e.g. from Stata value labels);
        ranges; missing values where ``nullable`` is false; duplicate ids; non-positive
        weights; household sizes below 1; non-positive values in a column that will be
        logged (``log: true``, or a welfare column whose range starts above 0).

        Parameters
        ----------
        df : pandas.DataFrame
            The data, one row per unit.
        extra : {"warn", "ignore", "error"}
            What to do about columns not in the spec: they are always passed through;
            "warn" issues a warning naming them, "error" makes them a problem.

        Returns
        -------
        pandas.DataFrame
            A copy: categoricals as pandas Categorical over the declared codes (labels via
            :meth:`codes`), binary and count columns as integers (nullable ``Int64`` when
            missing values are allowed), other numeric columns as floats; extra columns
            unchanged and listed in ``result.attrs["extra_columns"]``.

        Raises
        ------
        pmt.DataSpecError
            With ``.problems``, one line per problem naming column, rows and the fix.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataSpecError(f"data spec '{self.name}': data must be a pandas DataFrame.")
        problems: list[str] = []
        dup_names = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        if dup_names:
            raise DataSpecError(
                f"data spec '{self.name}': column name(s) {', '.join(dup_names)} appear more than "
                "once in the data; rename or drop the duplicates first.",
                [f"duplicate column name(s): {', '.join(dup_names)}"],
            )
        out = df.copy()
        rows = _row_referencer(self, df)

        missing_cols = [c for c in self.columns if c not in df.columns]
        for mc in missing_cols:
            problems.append(
                f"column '{mc}' ({self._columns[mc].label}) is missing: add it or remove it from "
                f"spec '{self.name}'."
            )
        extras = [c for c in df.columns if c not in self._columns]
        if extras and extra == "error":
            problems.append(
                f"column(s) {', '.join(map(str, extras))} are not in spec '{self.name}': drop "
                "them or declare them."
            )
        for name, c in self._columns.items():
            if name not in df.columns:
                continue
            s = df[name]
            new = self._check_column(c, s, problems, rows)
            if new is not None:
                out[name] = new
        self._check_person_ids(df, problems, rows)
        if problems:
            raise DataSpecError(
                f"data do not match spec '{self.name}' ({len(problems)} problem"
                f"{'s' if len(problems) > 1 else ''}):\n- " + "\n- ".join(problems),
                problems,
            )
        if extras and extra == "warn":
            warnings.warn(
                f"{len(extras)} column(s) not in spec '{self.name}' passed through unchecked: "
                f"{', '.join(map(str, extras[:20]))}{' ...' if len(extras) > 20 else ''}.",
                stacklevel=2,
            )
        out.attrs = copy.deepcopy(dict(df.attrs))
        out.attrs["extra_columns"] = [str(e) for e in extras]
        out.attrs["spec_name"] = self.name
        out.attrs["spec_hash"] = self.hash
        return out

    def _check_column(self, c: ColumnSpec, s: pd.Series, problems: list[str], rows):
        name = f"column '{c.name}'"
        n_before = len(problems)
        isna = s.isna().to_numpy()
        if isna.any() and not c.nullable:
            problems.append(
                f"{name}: {int(isna.sum())} missing values at {rows(isna)}; fill them, drop those "
                "rows (and report it), or declare `nullable: true`."
            )
        if c.type == "id":
            if c.role in ("household_id", "person_id"):
                return None  # repeat by design: (household, person) pairs are checked
            dup = s.duplicated(keep=False).to_numpy() & ~isna
            if dup.any():
                ids = [str(v) for v in pd.unique(s[dup])]
                problems.append(
                    f"{name}: {len(ids)} duplicate id value(s) ({', '.join(ids[:5])}"
                    f"{' ...' if len(ids) > 5 else ''}) on {int(dup.sum())} rows at {rows(dup)}; "
                    "each row must be one unit: remove duplicated rows or fix the ids."
                )
            return None
        if c.type == "categorical":
            return self._check_categorical(c, s, problems, rows)
        # numeric types: binary, count, continuous
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if pd.api.types.is_bool_dtype(s.dtype):
            num = s.astype("Float64").astype(float)
        else:
            num = pd.to_numeric(s, errors="coerce")
        num = num.astype(float)
        nonnum = num.isna().to_numpy() & ~isna
        if nonnum.any():
            bad_vals = sorted({str(v) for v in s[nonnum].tolist()})[:5]
            problems.append(
                f"{name}: {int(nonnum.sum())} non-numeric values ({', '.join(bad_vals)}) at "
                f"{rows(nonnum)}; {c.type} columns must hold numbers: recode them."
            )
        v = num.to_numpy()
        ok = ~np.isnan(v)
        if c.type == "binary":
            bad = ok & ~np.isin(v, (0.0, 1.0))
            if bad.any():
                vals = sorted({_fmt(x) for x in v[bad]})[:5]
                problems.append(
                    f"{name}: binary values must be 0 or 1; found {', '.join(vals)} at {rows(bad)}. "
                    "Recode (e.g. 1 = yes, 2 = no -> 1/0)."
                )
        if c.type == "count":
            bad = ok & ((v < 0) | (v != np.floor(v)) | ~np.isfinite(v))
            if bad.any():
                vals = sorted({_fmt(x) for x in v[bad]})[:5]
                problems.append(
                    f"{name}: counts must be non-negative whole numbers; found {', '.join(vals)} "
                    f"at {rows(bad)}."
                )
        if c.range is not None:
            lo, hi = c.range
            bad = ok & outside_range(v, lo, hi)
            if bad.any():
                vals = sorted({_fmt(x) for x in v[bad]})[:5]
                problems.append(
                    f"{name}: values outside the range [{_fmt(lo)}, {_fmt(hi)}] ({', '.join(vals)}) "
                    f"at {rows(bad)}; correct them or widen the spec's range."
                )
        if c.role == "weight":
            bad = ok & ~(v > 0)
            if bad.any():
                problems.append(
                    f"{name}: survey weights must be positive; {int(bad.sum())} zero or negative "
                    f"weights at {rows(bad)}. Drop those households and re-calibrate the weights."
                )
        if c.role == "size":
            bad = ok & ~(v >= 1)
            if bad.any():
                problems.append(
                    f"{name}: household size must be at least 1; {int(bad.sum())} households of "
                    f"size {', '.join(sorted({_fmt(x) for x in v[bad]}))} at {rows(bad)}. Fix "
                    "the roster count."
                )
        if c.must_be_positive:
            bad = ok & ~(v > 0)
            if bad.any():
                problems.append(
                    f"{name}: {int(bad.sum())} zero or negative values at {rows(bad)}, but the "
                    f"column will be logged; log({_fmt(float(v[bad].min()))}) is undefined. Check "
                    "the welfare aggregate of those households (or drop them and report it)."
                )
        if len(problems) > n_before:
            return None
        if c.type in ("binary", "count"):
            return pd.Series(num, index=s.index).astype("Int64" if np.isnan(v).any() else "int64")
        return pd.Series(v, index=s.index, name=s.name)

    def _check_person_ids(self, df: pd.DataFrame, problems: list[str], rows) -> None:
        """A roster (household_id and person_id columns): each (household, person) pair once."""
        hh, pid = self.columns_with_role("household_id"), self.columns_with_role("person_id")
        if not (hh and pid and hh[0] in df.columns and pid[0] in df.columns):
            return
        key = df[[hh[0], pid[0]]]
        dup = key.duplicated(keep=False).to_numpy() & key.notna().all(axis=1).to_numpy()
        if dup.any():
            pairs = list(dict.fromkeys(f"{_show(h)}/{_show(p)}" for h, p in key[dup].to_numpy()))
            problems.append(
                f"columns '{hh[0]}'/'{pid[0]}': {len(pairs)} (household, person) pair(s) "
                f"appear more than once ({', '.join(pairs[:5])}{' ...' if len(pairs) > 5 else ''}) "
                f"on {int(dup.sum())} rows at {rows(dup)}; each person is one row: remove "
                "duplicated rows or renumber the persons within their household."
            )

    def _check_categorical(self, c: ColumnSpec, s: pd.Series, problems, rows):
        if c.codes is None:
            if isinstance(s.dtype, pd.CategoricalDtype):
                return None
            return pd.Series(pd.Categorical(s), index=s.index, name=s.name)
        codes = list(c.codes)
        by_label = {str(lab).strip().casefold(): code for code, lab in c.codes.items()}
        values = s.astype(object).to_numpy() if isinstance(s.dtype, pd.CategoricalDtype) else s.to_numpy(dtype=object)
        int_codes = all(isinstance(k, int) for k in codes)
        # map each distinct value once (registries can have millions of rows)
        inverse, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        lookup = np.empty(len(uniq), dtype=object)
        unknown = np.zeros(len(uniq), dtype=bool)
        for j, val in enumerate(uniq):
            code = _as_code(val, int_codes)
            if code is None or code not in c.codes:
                code = by_label.get(str(val).strip().casefold())
            unknown[j] = code is None
            lookup[j] = code
        valid = inverse >= 0
        mapped = np.full(len(values), None, dtype=object)
        mapped[valid] = lookup[inverse[valid]]
        bad = np.zeros(len(values), dtype=bool)
        bad[valid] = unknown[inverse[valid]]
        if bad.any():
            vals = sorted({_show(v) for v in values[bad]})
            problems.append(
                f"column '{c.name}': {int(bad.sum())} values with codes not in the spec "
                f"({', '.join(vals[:8])}{' ...' if len(vals) > 8 else ''}) at {rows(bad)}; "
                f"allowed codes: {', '.join(f'{k} ({v})' for k, v in list(c.codes.items())[:15])}"
                f"{' ...' if len(codes) > 15 else ''}. Recode them or add the codes to the spec."
            )
            return None
        return pd.Series(
            pd.Categorical(list(mapped), categories=codes), index=s.index, name=s.name
        )


def _row_referencer(spec: DataSpec, data: pd.DataFrame | None):
    """A function mask -> "hh_id 4, 9 (and 3 more)"; None without data.

    Rows are named by the spec's id column when it is in the data and unique; else, in a
    roster, by (household id, person id) as "hh_id/line 001/2, 001/3" when neither has
    missing values; else by row label.
    """
    if data is None:
        return None
    ids = [c for c in spec.columns_with_role("id") if c in data.columns]
    id_col = None
    if ids and not data[ids[0]].duplicated().any() and not data[ids[0]].isna().any():
        id_col = ids[0]
    pair = None
    if id_col is None:
        hh = [c for c in spec.columns_with_role("household_id") if c in data.columns]
        pid = [c for c in spec.columns_with_role("person_id") if c in data.columns]
        if hh and pid and not data[[hh[0], pid[0]]].isna().any().any():
            pair = (data[hh[0]].to_numpy(), data[pid[0]].to_numpy())
            id_col = f"{hh[0]}/{pid[0]}"
    labels = data[id_col].to_numpy() if pair is None and id_col else data.index.to_numpy()

    def ref(mask) -> str:
        m = np.asarray(mask, dtype=bool)
        if pair is not None:  # formatted only for the rows shown (rosters are long)
            where = np.flatnonzero(m)
            shown = where[: _MAX_PROBLEM_ROWS]
            picked = [f"{_show(pair[0][i])}/{_show(pair[1][i])}" for i in shown]
            text = example_rows(picked + [None] * (len(where) - len(shown)), _MAX_PROBLEM_ROWS)
        else:
            text = example_rows(list(labels[m]), _MAX_PROBLEM_ROWS)
        return f"{id_col} {text.split(' ', 1)[1]}" if id_col else text

    return ref


def _file_codes(labels: Mapping[Any, str], int_codes: bool) -> dict[Any, str]:
    """A file's value labels with codes as the spec writes them (whole numbers as int)."""
    out: dict[Any, str] = {}
    for k, v in labels.items():
        code = _as_code(k, True) if int_codes else str(k)
        out[code if code is not None else k] = str(v)
    return out


def _norm(label: Any) -> str:
    return str(label).strip().casefold()


def _code_mask(column: pd.Series, code: Any) -> np.ndarray:
    if isinstance(code, int):
        return (pd.to_numeric(column.astype(object), errors="coerce") == code).to_numpy()
    return (column.astype(object).astype(str) == str(code)).to_numpy() & column.notna().to_numpy()


def _label_conflicts(c: ColumnSpec, file_codes: Mapping[Any, str], column: pd.Series | None,
                     row_ref) -> list[str]:
    assert c.codes is not None  # the only caller checks `c.codes is not None` first
    spec_by_label = {_norm(v): k for k, v in c.codes.items()}
    out = []
    for code, label in file_codes.items():
        if code in c.codes and _norm(c.codes[code]) == _norm(label):
            continue
        other = spec_by_label.get(_norm(label))
        if code in c.codes:
            text = (
                f"column '{c.name}': the file labels code {code} {label!r} but the spec says "
                f"{code} is {c.codes[code]!r}"
            )
            if other is not None:
                text += f" (and gives {label!r} code {other})"
        elif other is not None:
            text = (
                f"column '{c.name}': the file labels code {code} {label!r} but the spec gives "
                f"{c.codes[other]!r} code {other}"
            )
        else:
            continue  # a code the spec does not know: validate() checks the values present
        if column is not None and row_ref is not None:
            mask = _code_mask(column, code)
            text += (
                f"; {int(mask.sum())} rows hold code {code}"
                + (f" ({row_ref(mask)})" if mask.any() else "")
            )
        out.append(text + ". Fix the spec's codes or recode the file.")
    return out


def _codes_from_file(c: ColumnSpec, file_codes: Mapping[Any, str], column: pd.Series | None,
                     where: str) -> dict | None:
    kinds = {type(k) for k in file_codes}
    if not (kinds <= {int} or kinds <= {str}):
        return None  # e.g. labels on fractional codes: leave the spec as it is
    if c.type == "binary" and set(file_codes) - {0, 1}:
        return None
    if column is not None:
        int_codes = kinds <= {int}
        present = {_as_code(v, int_codes) for v in pd.unique(column.dropna().astype(object))}
        unlabelled = sorted((v for v in present if v not in file_codes), key=str)
        if unlabelled:
            warnings.warn(
                f"{where}, column '{c.name}': values {', '.join(map(str, unlabelled[:8]))} have "
                "no value label in the file, so its value labels were not taken as the spec's "
                "codes; declare `codes` for this column in the spec.",
                stacklevel=4,
            )
            return None
    order = sorted(file_codes, key=lambda k: (isinstance(k, str), k))
    return {k: file_codes[k] for k in order}


def outside_range(x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """True where x lies below ``lo`` or above ``hi`` (None: unbounded on that side; NaN is
    never outside). The one range check of spec validation, scorecard questions and
    registry scoring.
    """
    out = np.zeros(x.shape, dtype=bool)
    if lo is not None:
        out |= x < lo
    if hi is not None:
        out |= x > hi
    return out


def _as_code(val, int_codes: bool):
    """Turn a data value into a spec code (int for integer codes), or None."""
    if int_codes:
        if isinstance(val, bool | np.bool_):
            return int(val)
        if isinstance(val, int | np.integer):
            return int(val)
        if isinstance(val, float | np.floating):
            return int(val) if float(val).is_integer() else None
        if isinstance(val, str):
            try:
                f = float(val.strip())
            except ValueError:
                return None
            return int(f) if f.is_integer() else None
        return None
    return str(val)


def _show(v) -> str:
    """A data value as text; whole floats (codes read from Stata/SPSS) without ".0"."""
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _fmt(x) -> str:
    if x is None:
        return "null"
    xf = float(x)
    return str(int(xf)) if xf.is_integer() else f"{xf:g}"
