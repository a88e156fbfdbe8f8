"""Person rosters: read one (one row per person) and link it to the household file.

A household survey comes as two files: the household file (one row per household, the
unit of the PMT) and the person roster (one row per member: age, sex, relationship to the
head, education, work, income). The roster's data spec declares the household id with
role ``household_id``, the person's number within the household with role ``person_id``
and, optionally, the relationship to the head with role ``relation`` (see :mod:`pmt.spec`;
the synthetic roster's spec is ``data_spec/roster.yaml``).

:func:`read_roster` reads and validates a roster through :func:`pmt.io.read_with_spec`
(the one reading path for survey files: Stata/SPSS value labels checked against the spec,
text ids kept as text so that ``"001"`` stays ``"001"``) and
:func:`link_roster` matches its members to the household file, checking that

* no household id or person id is missing (in either file),
* each (household, person) pair appears once,
* every member's household is in the household file (and appears there once),
* every household has at least one member,
* optionally, the household file's size column equals the number of members.

All problems are reported together in one :class:`pmt.DataError` that names the ids,
counts them and says how to fix them.

**Matching ids.** Ids are matched exactly as written, never through a text conversion:
the text ``"001"`` matches only ``"001"`` (not ``"1"`` nor the number 1). Numbers match
by value, whatever their storage: the integer 1 matches the float 1.0 (Stata and SPSS
store numbers as doubles). A column mixing text and numbers, or text ids in one file and
numeric ids in the other, is an error that says so, rather than a silent mismatch:
convert one side (e.g. ``roster["hh_id"].astype(str).str.zfill(3)``) or read both files
with specs that declare the id as ``type: id``. The ids kept in the results are the
original values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt.errors import DataError, DataSpecError, example_rows
from pmt.io import read_with_spec
from pmt.spec import DataSpec

__all__ = ["read_roster", "link_roster", "RosterLink", "roster_spec_path", "match_keys", "id_codes"]

_SHOW = 5  # ids shown per problem


def roster_spec_path() -> Path:
    """Path of the data spec of the synthetic roster shipped with pmt (``roster.yaml``)."""
    return Path(str(resources.files("pmt") / "data_spec" / "roster.yaml"))


def read_roster(
    source: str | Path | pd.DataFrame,
    spec: DataSpec | str | Path | None = None,
    *,
    extra: Literal["warn", "ignore", "error"] = "warn",
    **kwargs: Any,
) -> pd.DataFrame:
    """Read and validate a person roster (one row per person).

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A data file in any format :func:`pmt.io.read_data` reads (CSV, Stata ``.dta``,
        SPSS ``.sav``, Parquet, Excel; labelled files keep their numeric codes), or a
        DataFrame already in memory.
    spec : pmt.DataSpec or path, optional
        The roster's data spec. It must declare exactly one column with role
        ``household_id`` and one with role ``person_id`` (both ``type: id``), and may
        declare one with role ``relation``. Default: the synthetic roster's spec
        (:func:`roster_spec_path`).
    extra : {"warn", "ignore", "error"}
        Columns not in the spec (see :meth:`pmt.DataSpec.validate`).
    **kwargs
        Reading options for a file (``sep``, ``encoding``, ``sheet`` ...), as in
        :func:`pmt.io.read_with_spec`.

    Returns
    -------
    pandas.DataFrame
        The validated, typed roster (see :meth:`pmt.DataSpec.validate`: categorical columns
        as Categoricals of their codes, binary and count columns as integers), ids as they
        were written. ``attrs["roster"]`` holds ``{"household": ..., "person": ...,
        "relation": ...}`` (the column names of the three roles; ``relation`` may be None),
        which :func:`pmt.roster.aggregate.household_proxies` uses when its own arguments
        are not given.

    Raises
    ------
    pmt.DataSpecError
        The spec lacks the roster roles; the data do not match the spec (including a
        repeated (household, person) pair), or a labelled file's value labels contradict
        it. ``problems`` lists each problem with its rows as ``hh_id/line 001/2``.
    pmt.DataError
        The file cannot be read.
    """
    if spec is None:
        spec = roster_spec_path()
    if not isinstance(spec, DataSpec):
        spec = DataSpec.load(spec)
    roles = _roster_roles(spec)
    if isinstance(source, pd.DataFrame):
        if kwargs:
            raise DataError(
                f"read_roster: reading options ({', '.join(sorted(kwargs))}) apply to files, "
                "not to a DataFrame."
            )
        out = spec.validate(source, extra=extra)
    elif isinstance(source, str | Path):
        out, _ = read_with_spec(source, spec, extra=extra, **kwargs)
    else:
        raise DataError(
            f"read_roster needs a file path or a pandas DataFrame; got {type(source).__name__}."
        )
    out.attrs["roster"] = roles
    return out


def _roster_roles(spec: DataSpec) -> dict[str, str | None]:
    problems = []
    for role in ("household_id", "person_id"):
        if len(spec.columns_with_role(role)) != 1:
            problems.append(
                f"data spec '{spec.name}' declares no column with role '{role}': a roster "
                f"spec needs one ({'the household id shared with the household file' if role == 'household_id' else 'the person number within the household'}, "
                "`type: id`)."
            )
    if problems:
        raise DataSpecError(" ".join(problems), problems)
    rel = spec.columns_with_role("relation")
    return {
        "household": spec.columns_with_role("household_id")[0],
        "person": spec.columns_with_role("person_id")[0],
        "relation": rel[0] if rel else None,
    }


@dataclass(frozen=True, eq=False)
class RosterLink:
    """A roster matched to its household file (built by :func:`link_roster`).

    Attributes
    ----------
    roster : pandas.DataFrame
        The roster as given (not copied or reordered).
    household, person : str
        The roster's household id and person id columns.
    household_key : str
        The household file's id column.
    household_ids : numpy.ndarray
        The household file's ids in its row order, as written (not converted).
    row_of_person : numpy.ndarray of int64
        For each roster row (in order), the position (0-based) of its household among the
        household file's rows: ``household_ids[row_of_person]`` is each person's household.
    """

    roster: pd.DataFrame
    household: str
    person: str
    household_key: str
    household_ids: np.ndarray
    row_of_person: np.ndarray

    @property
    def n_households(self) -> int:
        """Rows of the household file."""
        return len(self.household_ids)

    @property
    def n_persons(self) -> int:
        """Rows of the roster."""
        return len(self.row_of_person)

    @property
    def members(self) -> np.ndarray:
        """Members of each household (int64, in the household file's order; all >= 1)."""
        return np.bincount(self.row_of_person, minlength=self.n_households)

    def to_households(self, values) -> np.ndarray:
        """Sum a per-person array to the households (float64, household file order).

        ``values`` has one value per roster row; missing values (NaN) propagate to their
        household's sum.
        """
        v = np.asarray(values, dtype=float)
        if v.shape != self.row_of_person.shape:
            raise DataError(
                f"to_households: got {v.size} values for a roster of {self.n_persons} persons."
            )
        return np.bincount(self.row_of_person, weights=v, minlength=self.n_households)


def link_roster(
    roster: pd.DataFrame,
    households: pd.DataFrame,
    *,
    household: str,
    person: str,
    household_key: str | None = None,
    size: str | None = None,
    check_size: Literal["error", "warn", "ignore"] = "error",
) -> RosterLink:
    """Match roster members to the household file and check that the two agree.

    Parameters
    ----------
    roster : pandas.DataFrame
        One row per person (e.g. from :func:`read_roster`).
    households : pandas.DataFrame
        One row per household.
    household : str
        The roster's household id column.
    person : str
        The roster's person id column (unique within a household).
    household_key : str, optional
        The household file's id column (default: ``household``, the same name).
    size : str, optional
        The household file's household size column (members). When given, it is compared
        with the number of roster members of each household.
    check_size : {"error", "warn", "ignore"}
        What a size that differs from the member count (or a missing size) gives: a
        problem in the :class:`pmt.DataError` (default), a warning naming the households,
        or nothing.

    Returns
    -------
    RosterLink
        The roster, the household file's ids and the household row of each person.

    Raises
    ------
    pmt.DataError
        A column is missing; ids mix text and numbers, or are text in one file and numbers
        in the other; and, all reported together with counts, example ids and the fix:
        missing household or person ids, repeated (household, person) pairs, members of
        households not in the household file, households repeated in or missing a
        household id in the household file, households without members, and (with
        ``size`` and ``check_size="error"``) sizes that differ from the member count.

    Notes
    -----
    Ids are matched exactly as written: text ``"001"`` matches only ``"001"``; the number
    1 matches 1.0 (see the module docstring).
    """
    household_key = household_key or household
    for frame, cols, what in ((roster, (household, person), "roster"),
                              (households, (household_key, *([size] if size else [])),
                               "household file")):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"link_roster: the {what} must be a pandas DataFrame.")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(
                f"link_roster: the {what} has no column(s) {', '.join(map(repr, missing))}; its "
                f"columns are {', '.join(map(str, list(frame.columns)[:30]))}."
            )
    if check_size not in ("error", "warn", "ignore"):
        raise DataError(f"check_size must be 'error', 'warn' or 'ignore'; got {check_size!r}.")
    hh_in_roster, hh_in_file = match_keys(
        roster[household], households[household_key],
        f"roster column '{household}'", f"household file column '{household_key}'",
    )
    problems: list[str] = []
    labels = roster.index.to_numpy()
    ids = roster[household].to_numpy()
    pids = roster[person].to_numpy()

    # 1. missing ids
    no_hh = roster[household].isna().to_numpy()
    if no_hh.any():
        problems.append(
            f"{_n(no_hh.sum(), 'roster row')} {_has(no_hh.sum())} no household id in '{household}' "
            f"({example_rows(labels[no_hh], _SHOW)} of the roster): fill them in or drop those "
            "persons."
        )
    no_p = roster[person].isna().to_numpy()
    if no_p.any():
        shown = [f"{_text(h)} (row {_text(r)})" for h, r in zip(ids[no_p], labels[no_p], strict=True)]
        problems.append(
            f"{_n(no_p.sum(), 'roster row')} {_has(no_p.sum())} no person id in '{person}' (households "
            f"{_examples(shown)}): number every member within the household."
        )
    no_key = households[household_key].isna().to_numpy()
    if no_key.any():
        problems.append(
            f"{_n(no_key.sum(), 'household file row')} {_has(no_key.sum())} no household id in "
            f"'{household_key}' "
            f"({example_rows(households.index[no_key], _SHOW)}): fill them in or drop them."
        )
    # 2. repeated (household, person) pairs
    pcodes = id_codes(roster[person], f"roster column '{person}'")
    pair = pd.DataFrame({"h": hh_in_roster.codes, "p": pcodes})
    dup = pair.duplicated(keep=False).to_numpy() & ~no_hh & ~no_p
    if dup.any():
        shown = list(dict.fromkeys(f"{_text(h)}/{_text(p)}" for h, p in
                                   zip(ids[dup], pids[dup], strict=True)))
        problems.append(
            f"{_n(len(shown), '(household, person) pair')} {_appear(len(shown))} more than once in the roster "
            f"('{household}'/'{person}' {_examples(shown)}; {int(dup.sum())} rows): each "
            "person is one row: drop duplicated rows or renumber the members."
        )
    # 3. household file: repeated ids
    file_codes = hh_in_file.codes
    dup_file = pd.Series(file_codes).duplicated(keep=False).to_numpy() & ~no_key
    if dup_file.any():
        shown = list(dict.fromkeys(_text(v) for v in households[household_key].to_numpy()[dup_file]))
        problems.append(
            f"{_n(len(shown), 'household id')} {_appear(len(shown))} more than once in the household file "
            f"('{household_key}' {_examples(shown)}): one row per household is needed."
        )
    # 4. members of unknown households, households without members
    row = hh_in_file.position_of(hh_in_roster.codes)
    unknown = (row < 0) & ~no_hh
    if unknown.any():
        shown = list(dict.fromkeys(_text(v) for v in ids[unknown]))
        problems.append(
            f"{_n(unknown.sum(), 'roster member')} {'belongs' if unknown.sum() == 1 else 'belong'} "
            f"to {_n(len(shown), 'household')} not in the household file ('{household}' "
            f"{_examples(shown)}): drop them from the "
            "roster or add the households (check that both files use the same ids)."
        )
    n_hh = len(households)
    members = np.bincount(row[row >= 0], minlength=n_hh)
    # members are counted on the first row of a repeated household id (reported above):
    # judge each id by that count, not its later rows
    first_row = hh_in_file.position_of(file_codes)
    empty = ~no_key & (members[np.maximum(first_row, 0)] == 0)
    if empty.any():
        shown = list(dict.fromkeys(_text(v) for v in households[household_key].to_numpy()[empty]))
        problems.append(
            f"{_n(len(shown), 'household')} of the household file {_has(len(shown))} no member in the roster "
            f"('{household_key}' {_examples(shown)}): add their members or drop them from the "
            "household file (every household has at least one member)."
        )
    # 5. size
    if size is not None and check_size != "ignore":
        given = pd.to_numeric(households[size], errors="coerce").to_numpy(dtype=float)
        bad = ~(given == members) & ~no_key & ~empty & ~dup_file
        if bad.any():
            hh_ids = households[household_key].to_numpy()[bad]
            shown = [f"{_text(h)} ({_num(g)} vs {m})" for h, g, m in
                     zip(hh_ids, given[bad], members[bad], strict=True)]
            text = (
                f"{_n(bad.sum(), 'household')} {_has(bad.sum())} a size '{size}' different from their number "
                f"of roster members ('{household_key}' {_examples(shown)}, size vs members): "
                "correct the size or the roster, or pass check_size='warn'."
            )
            if check_size == "error":
                problems.append(text)
            else:
                warnings.warn(text, stacklevel=2)
    if problems:
        raise DataError(
            f"the roster and the household file do not match ({len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}):\n- " + "\n- ".join(problems)
        )
    return RosterLink(
        roster=roster,
        household=household,
        person=person,
        household_key=household_key,
        household_ids=households[household_key].to_numpy(),
        row_of_person=row.astype(np.int64),
    )


# --- matching ids ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Coded:
    """Ids as integer codes shared by two columns (-1 = missing)."""

    codes: np.ndarray

    def position_of(self, other_codes: np.ndarray) -> np.ndarray:
        """For each code in ``other_codes``, the first position of that code here (-1 if
        absent or missing).
        """
        n = int(max(self.codes.max(initial=-1), other_codes.max(initial=-1))) + 1
        first = np.full(n + 1, -1, dtype=np.int64)
        ok = self.codes >= 0
        pos = np.flatnonzero(ok)
        # first occurrence wins: assign in reverse so that earlier rows overwrite later ones
        first[self.codes[pos][::-1]] = pos[::-1]
        out = np.full(other_codes.shape, -1, dtype=np.int64)
        known = other_codes >= 0
        out[known] = first[other_codes[known]]
        return out


def match_keys(left: pd.Series, right: pd.Series, left_name: str,
               right_name: str) -> tuple[_Coded, _Coded]:
    """Code two id columns on a common set of ids, compared exactly as written.

    Numbers compare by value (1 == 1.0), text by its characters ("001" != "1"). Raises
    :class:`pmt.DataError` if a column mixes text and numbers, or if one column holds
    text and the other numbers.
    """
    a, kind_a = _comparable(left, left_name)
    b, kind_b = _comparable(right, right_name)
    if None not in (kind_a, kind_b) and kind_a != kind_b:
        ta, tb = (left, right) if kind_a == "text" else (right, left)
        name_t, name_n = (left_name, right_name) if kind_a == "text" else (right_name, left_name)
        raise DataError(
            f"household ids are text in {name_t} (e.g. {_examples(_first(ta, True))}) but numbers in {name_n} "
            f"(e.g. {_examples(_first(tb))}); ids are matched exactly as written, so text "
            "'001' never matches the number 1. Convert one of them (e.g. "
            "df[col].astype(str).str.zfill(3), or pd.to_numeric(df[col])) or read both files "
            "with data specs that declare the id as `type: id`."
        )
    if {a.dtype.kind, b.dtype.kind} == {"i", "f"}:  # whole numbers against fractional ones
        a, b = a.astype(float), b.astype(float)
    both = np.concatenate([a, b]) if a.dtype == b.dtype else np.concatenate(
        [a.astype(object), b.astype(object)])  # one side has no ids at all
    na = np.concatenate([left.isna().to_numpy(), right.isna().to_numpy()])
    codes = np.full(len(both), -1, dtype=np.int64)
    if (~na).any():
        codes[~na], _ = pd.factorize(pd.Series(both[~na]), sort=False)
    return _Coded(codes[: len(a)]), _Coded(codes[len(a):])


def id_codes(s: pd.Series, name: str) -> np.ndarray:
    """One id column as int64 codes (first-appearance order; -1 = missing), compared as
    written (see :func:`match_keys`).
    """
    v, _ = _comparable(s, name)
    na = s.isna().to_numpy()
    codes = np.full(len(v), -1, dtype=np.int64)
    if (~na).any():
        codes[~na], _ = pd.factorize(pd.Series(v[~na]), sort=False)
    return codes


def _comparable(s: pd.Series, name: str) -> tuple[np.ndarray, str | None]:
    """Values of an id column in a form that compares as written, and their kind.

    Returns an int64 array (whole numbers), a float64 array (other numbers) or an object
    array of str (text); missing values are placeholders (0 or "") that the caller masks.
    The kind is "number", "text" or None (no values at all).
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    na = s.isna().to_numpy()
    kind = None if na.all() else "number"
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        return np.asarray(s.to_numpy(dtype="int64", na_value=0), dtype=np.int64), kind
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _numbers(s.to_numpy(dtype=float, na_value=np.nan), na), kind
    values = s.to_numpy(dtype=object)
    present = values[~na]
    is_text = np.fromiter((isinstance(v, str) for v in present), bool, len(present))
    if is_text.all():
        out = np.full(len(values), "", dtype=object)
        out[~na] = present
        return out, ("text" if len(present) else None)
    is_num = np.fromiter(
        (isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
         for v in present), bool, len(present))
    if is_num.all():
        f = np.full(len(values), np.nan)
        f[~na] = present.astype(float)
        return _numbers(f, na), "number"
    texts = [repr(v) for v in present[is_text][:3]]
    others = [repr(v) for v in present[~is_text][:3]]
    raise DataError(
        f"{name} mixes text ({', '.join(texts)}) and other values ({', '.join(others)}): ids "
        "are matched exactly as written, so make them all text or all numbers."
    )


def _numbers(f: np.ndarray, na: np.ndarray) -> np.ndarray:
    """Floats as int64 when every present value is whole (1.0 -> 1), else as floats."""
    f = np.where(na, 0.0, f)
    if np.isfinite(f).all() and (f == np.floor(f)).all() and (np.abs(f) < 2**63).all():
        return f.astype(np.int64)
    return f


def _first(s: pd.Series, quote: bool = False) -> list[str]:
    return [repr(v) if quote else _text(v) for v in pd.unique(s.dropna())[:3]]


def _n(count, word: str) -> str:
    count = int(count)
    return f"{count} {word}{'' if count == 1 else 's'}"


def _has(count) -> str:
    return "has" if int(count) == 1 else "have"


def _appear(count) -> str:
    return "appears" if int(count) == 1 else "appear"


def _text(v) -> str:
    if isinstance(v, str):
        return repr(v) if (v != v.strip() or not v) else v
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _num(v: float) -> str:
    return "missing" if np.isnan(v) else (str(int(v)) if float(v).is_integer() else f"{v:g}")


def _examples(shown: Sequence[str]) -> str:
    items = list(shown)
    more = f" (and {len(items) - _SHOW} more)" if len(items) > _SHOW else ""
    return ", ".join(items[:_SHOW]) + more
