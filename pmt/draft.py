"""Draft a data spec from a data file: ``pmt draft-spec DATA`` and :func:`draft_spec`.

A new survey file needs a data spec (``data_spec/*.yaml``) before anything else. Writing it
by hand for a few hundred columns is slow; the draft does the mechanical part and marks
every guess with a trailing ``# check`` comment for the analyst to confirm:

type (guessed per column)
    ``id``: unique values with an id-like name (hhid, hh_id, household_id, id, ...), or
    unique text; ``binary``: values within {0, 1}, or two value labels on 0 and 1;
    ``categorical``: value-labelled codes, text with few levels, or the codes of a region,
    strata or PSU column; ``count``: non-negative whole numbers; ``continuous``: other
    numbers. Dates and free text become categoricals without codes.
role (guessed from the column name)
    weight (weight, wt, hhweight, pweight, wgt, factor, ...), size (hhsize, hh_size, size,
    members), psu (psu, cluster, ea, commune, village), strata (strata, stratum), id (hhid,
    hh_id, household_id, id), region (region, province, oblast, viloyat), welfare (pcc,
    pcexp, consumption, expenditure, income per capita, ... also their logs). The other
    columns get ``proxy`` when they are binary, categorical (with codes) or counts, the
    usual shapes of PMT proxies, and ``other`` when continuous (income and expenditure
    components are continuous and must not enter a PMT by accident: promote the real
    continuous proxies, e.g. land area, to ``proxy`` by hand). A role that must be unique
    (id, weight, size, strata, psu) goes to the first column that qualifies; a weight must
    be positive and a size at least 1, else the role is not given.
codes
    From the file's value labels; codes present in the data without a label, and the
    observed codes of unlabelled categoricals, are listed with the code as the label.
label, range, nullable
    The file's variable label (else the column name); the observed range of count and
    continuous columns (continuous ones rounded outward to three significant digits);
    ``nullable: true`` where values are missing.

The draft is plain YAML that :meth:`pmt.DataSpec.load` reads, and the file it was drafted
from validates against it (:func:`pmt.io.read_with_spec`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pmt.errors import DataError
from pmt.io import _read_file, atomic_write

__all__ = ["draft_spec", "write_draft"]

#: at most this many levels make an unlabelled text or code column a categorical with codes
MAX_LEVELS = 30

_ROLE_NAMES = {
    "id": {"hhid", "hh_id", "household_id", "householdid", "id", "hhcode", "hh_code", "idhh",
           "hid", "hh_no", "hhno", "hhnum", "hh_num"},
    "weight": {"weight", "weights", "wt", "hhweight", "hh_weight", "hhwt", "hh_wt", "pweight",
               "wgt", "factor", "wta_hh", "popweight", "hhweights", "expfactor", "fexp"},
    "size": {"hhsize", "hh_size", "size", "members", "hhmembers", "hh_members", "famsize",
             "household_size", "nmembers", "n_members", "hsize"},
    "psu": {"psu", "cluster", "clust", "ea", "ea_id", "eacode", "commune", "village", "psu_id"},
    "strata": {"strata", "stratum", "strat", "stratum_id", "strata_id"},
    "region": {"region", "province", "oblast", "viloyat", "reg", "regions", "region_id"},
}
_WELFARE_EXACT = {"pcc", "pcexp", "pce", "pcinc", "consumption", "expenditure", "welfare",
                  "totexp", "tot_exp", "pccons", "pc_cons", "pc_exp", "pc_inc", "rpcexp",
                  "rpce", "pcexpend", "income_pc", "inc_pc", "cons_pc", "exp_pc"}
_WELFARE_PATTERN = re.compile(
    r"^(log_?|ln_?)?("
    r"r?pc_?(c|cons|consumption|e|exp|expend|expenditure|i|inc|income)"
    r"|(real_?)?(cons|consumption|exp|expend|expenditure|inc|income)_?(pc|percap|per_?capita)"
    r"|per_?capita_?(cons|consumption|exp|expenditure|inc|income)"
    r"|welfare|consumption|expenditure|pcc|pce)$"
)
_UNIQUE_ROLES = ("id", "weight", "size", "strata", "psu")


def draft_spec(
    data: str | Path | pd.DataFrame,
    name: str | None = None,
    *,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> str:
    """Draft a data spec (YAML text) from a data file or a DataFrame.

    Parameters
    ----------
    data : str, pathlib.Path or pandas.DataFrame
        A ``.dta``, ``.sav``, ``.csv``, ``.parquet`` or ``.xlsx`` file (any format of
        :func:`pmt.read_data`), or a frame (its ``attrs["variable_labels"]`` and
        ``attrs["value_labels"]`` are used when present).
    name : str, optional
        The spec's ``name`` (default: the file name without extension, or ``"data"``).
    sheet, sep, decimal, encoding : optional
        Reading options as in :func:`pmt.read_data`.

    Returns
    -------
    str
        YAML text with one entry per column; guessed types and roles carry a ``# check``
        comment (see the module docstring for the rules).

    Raises
    ------
    pmt.DataError
        The file cannot be read, or the frame has no rows or non-text column names.

    Examples
    --------
    >>> text = pmt.draft_spec("hbs_2018.dta")                     # doctest: +SKIP
    >>> df, spec = pmt.io.read_with_spec("hbs_2018.dta", pmt.DataSpec.from_dict(yaml.safe_load(text)))
    """
    if isinstance(data, pd.DataFrame):
        df = data
        text_df = None
        source = None
        if len(df) == 0:
            raise DataError("draft_spec: the frame has no rows; the draft needs data to look at.")
    else:
        p = Path(data)
        opts: dict[str, Any] = dict(sheet=sheet, sep=sep, decimal=decimal, encoding=encoding,
                                    kwargs={})
        df, fmt = _read_file(p, keep_codes=True, text_columns=(), **opts)
        text_df = None
        if fmt in ("csv", "tsv"):
            # as read_with_spec reads id columns: text, unless every value is a plain integer
            text_df, _ = _read_file(p, keep_codes=True, text_columns=tuple(df.columns), **opts)
        source = p.name
    bad = [c for c in df.columns if not isinstance(c, str) or not c]
    if bad:
        raise DataError(
            f"draft_spec: column names must be non-empty text; got {', '.join(map(repr, bad[:5]))}. "
            "Rename the columns first."
        )
    var_labels = dict(df.attrs.get("variable_labels") or {})
    val_labels = dict(df.attrs.get("value_labels") or {})
    taken: dict[str, str] = {}
    entries = []
    for col in df.columns:
        s = df[col]
        if text_df is not None and col in text_df and not _is_numeric(text_df[col]) and _is_numeric(s):
            raw = text_df[col]
            if raw.notna().all() and not raw.duplicated().any():
                s = raw  # unique numbers written with leading zeros: an id kept as text
        entries.append(_draft_column(col, s, var_labels.get(col), val_labels.get(col), taken))
    spec_name = name or (_safe_name(Path(source).stem) if source else "data")
    lines = [
        f"# Data spec drafted by `pmt draft-spec` from {source or 'a DataFrame'} "
        f"({len(df):,} rows, {len(df.columns)} columns).",
        "# Every `# check` marks a guess: confirm or correct it, then delete the comment.",
        "# Add `question:` and `verifiable:` to the proxies a field form will ask.",
        f"name: {_scalar(spec_name)}",
        "version: 1",
        f"description: {_scalar(f'Drafted from {source}' if source else 'Drafted from a DataFrame')}",
        "columns:",
    ]
    for e in entries:
        lines += _render(e)
    return "\n".join(lines) + "\n"


def write_draft(
    data: str | Path,
    out: str | Path | None = None,
    *,
    force: bool = False,
    name: str | None = None,
    sheet: str | int | None = None,
    say: Callable[..., Any] = print,
) -> str:
    """Draft a spec from ``data`` and print it, or write it atomically to ``out``.

    The ``pmt draft-spec`` command. An existing ``out`` is only replaced with
    ``force=True``. Returns the YAML text.

    Raises
    ------
    pmt.DataError
        ``out`` exists and ``force`` is false, its folder does not exist, or the data
        cannot be read.
    """
    if out is not None:
        target = Path(out)
        if target.exists() and not force:
            raise DataError(
                f"'{target}' already exists; pass --force to overwrite it, or choose another "
                "--out file."
            )
        if not target.parent.is_dir():
            raise DataError(f"folder '{target.parent}' of --out does not exist: create it first.")
    text = draft_spec(data, name=name, sheet=sheet)
    if out is None:
        sys.stdout.write(text)
        return text
    with atomic_write(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    n_check = text.count("# check")
    say(f"wrote {target}: {text.count(chr(10) + '    type: ')} columns, {n_check} guesses marked "
        "`# check` to review.")
    return text


# --------------------------------------------------------------------------------------
# guessing
# --------------------------------------------------------------------------------------
def _is_numeric(s: pd.Series) -> bool:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return pd.api.types.is_numeric_dtype(dt.categories.dtype)
    return pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)


def _name_role(col: str) -> str | None:
    low = col.strip().lower()
    squeezed = re.sub(r"[^a-z0-9]", "", low)
    for role, names in _ROLE_NAMES.items():
        if low in names or squeezed in {re.sub(r"[^a-z0-9]", "", n) for n in names}:
            return role
    if low in _WELFARE_EXACT or _WELFARE_PATTERN.match(low):
        return "welfare"
    return None


def _safe_name(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_") or "data"


def _int_code(v: Any):
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    return None


def _draft_column(col: str, s: pd.Series, var_label, value_labels, taken: dict) -> dict:
    e: dict[str, Any] = {"name": col, "label": col, "codes": None, "range": None}
    if isinstance(var_label, str) and var_label.strip():
        e["label"] = " ".join(var_label.split())
    n_missing = int(s.isna().sum())
    e["nullable"] = n_missing
    name_role = _name_role(col)
    present = s.dropna()
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
        present = present.astype(object)
    labels = None
    if value_labels:
        labels = {}
        for k, v in dict(value_labels).items():
            code = _int_code(k)
            labels[code if code is not None else k] = str(v)
    ctype, why = _guess_type(col, s, present, labels, name_role)
    e["type"], e["type_why"] = ctype, why
    if ctype == "categorical":
        e["codes"], e["codes_note"] = _guess_codes(present, labels, name_role)
    elif ctype == "binary" and labels:
        e["codes"] = {k: labels.get(k, str(k)) for k in (0, 1)}
        e["codes_note"] = None
    if ctype in ("count", "continuous") and len(present):
        v = pd.to_numeric(present).astype(float)
        lo, hi = float(v.min()), float(v.max())
        e["range"] = (int(lo), int(hi)) if ctype == "count" else (_nice(lo, False), _nice(hi, True))
    e["role"], e["role_why"] = _guess_role(e, present, name_role, taken)
    return e


def _guess_type(col, s, present, labels, name_role) -> tuple[str, str]:
    nunique = present.nunique()
    unique = nunique == len(present) and len(present) > 0
    if pd.api.types.is_bool_dtype(s.dtype):
        return "binary", "true/false values"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "categorical", "dates: any value allowed"
    numeric = _is_numeric(s) or (
        len(present) > 0 and all(isinstance(v, int | float | np.integer | np.floating)
                                 and not isinstance(v, bool) for v in present)
    )
    if numeric:
        v = pd.to_numeric(present).astype(float)
        whole = bool(np.all(np.isfinite(v)) and np.all(v == np.floor(v)))
        values = set(v.unique())
        if name_role in ("region", "strata", "psu") and whole:
            return "categorical", f"codes of a {name_role} column"
        if name_role in ("weight", "welfare"):
            return "continuous", f"numbers ({name_role})"
        if labels:
            if set(labels) == {0, 1} and values <= {0.0, 1.0}:
                return "binary", "values 0/1 with value labels"
            return "categorical", "value-labelled codes"
        if values <= {0.0, 1.0} and name_role != "size":
            return "binary", "values are 0/1"
        if name_role == "id" and unique and whole:
            return "id", "unique values, id-like name"
        if whole and v.min() >= 0:
            return "count", "non-negative whole numbers"
        return "continuous", "numbers"
    if not all(isinstance(x, str) for x in present):
        return "categorical", "mixed values: any value allowed"
    if name_role in ("region", "strata", "psu"):
        return "categorical", f"text codes of a {name_role} column"
    if unique and (name_role == "id" or nunique > MAX_LEVELS or nunique == len(s)):
        return "id", "unique text" + (", id-like name" if name_role == "id" else "")
    if nunique <= MAX_LEVELS:
        return "categorical", f"text with {nunique} level{'s' if nunique != 1 else ''}"
    return "categorical", f"text with {nunique} levels: any value allowed"


def _guess_codes(present: pd.Series, labels: dict | None, name_role) -> tuple[dict | None, str | None]:
    observed = list(pd.unique(present))
    numeric = all(_int_code(x) is not None for x in observed)
    if labels:
        codes = dict(labels)
        # a frame read without a spec holds the labels themselves: those are covered
        known = {str(v).strip().casefold() for v in labels.values()}
        missing = [c for c in (_int_code(x) if numeric else str(x) for x in observed)
                   if c not in codes and (numeric or c.strip().casefold() not in known)]
        for c in missing:
            codes[c] = str(c)
        kinds = {type(k) for k in codes}
        if not (kinds <= {int} or kinds <= {str}):
            return None, None  # labels on fractional codes: leave the codes open
        note = (f"codes {', '.join(map(str, sorted(missing, key=str)[:8]))} have no value label "
                "in the file") if missing else None
        return _sorted(codes), note
    if len(observed) > MAX_LEVELS or not observed:
        return None, None
    if numeric:
        codes = {_int_code(x): str(_int_code(x)) for x in observed}
    elif all(isinstance(x, str) for x in observed):
        codes = {x: x for x in observed}
    else:
        return None, None
    return _sorted(codes), "observed codes without labels: give each its label"


def _sorted(codes: dict) -> dict:
    return {k: codes[k] for k in sorted(codes, key=lambda k: (isinstance(k, str), k))}


def _guess_role(e: dict, present: pd.Series, name_role, taken: dict) -> tuple[str, str]:
    ctype = e["type"]
    role, why = None, None
    if name_role is not None:
        ok, reason = True, f"name looks like the {name_role} column"
        if name_role == "id" and ctype != "id":
            ok, reason = False, "id-like name but the values repeat or are missing"
        elif name_role in ("weight", "welfare") and ctype not in ("count", "continuous"):
            ok, reason = False, f"{name_role}-like name but not numbers"
        elif name_role == "weight" and not (pd.to_numeric(present).astype(float) > 0).all():
            ok, reason = False, "weight-like name but some values are zero or negative"
        elif name_role == "size" and (ctype != "count" or not (pd.to_numeric(present) >= 1).all()):
            ok, reason = False, "size-like name but not whole numbers of at least 1"
        elif name_role in _UNIQUE_ROLES and name_role in taken:
            ok, reason = False, f"'{taken[name_role]}' already has role {name_role}"
        if ok:
            role, why = name_role, reason
            if role in _UNIQUE_ROLES:
                taken[role] = e["name"]
        else:
            why = reason
    if role is None:
        if ctype == "id":
            if "id" not in taken:
                taken["id"] = e["name"]
                return "id", why or "unique values"
            return "other", why or f"an identifier; '{taken['id']}' has role id"
        if ctype in ("binary", "count") or (ctype == "categorical" and e["codes"]):
            return "proxy", why or "a possible proxy"
        return "other", why or ("continuous: set `proxy` if it is one" if ctype == "continuous"
                                else "not a proxy as it stands")
    assert why is not None  # role came from name_role above, which always sets why
    return role, why


def _nice(x: float, up: bool) -> float | int:
    """``x`` rounded outward (down or up) to three significant digits."""
    if x == 0 or not np.isfinite(x):
        return int(x) if np.isfinite(x) and float(x).is_integer() else x
    d = Decimal(repr(float(x)))
    quantum = Decimal(1).scaleb(d.adjusted() - 2)
    r = (d / quantum).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR) * quantum
    out = float(r)
    if (up and out < x) or (not up and out > x):  # never inside the observed range
        out = x
    return int(out) if out.is_integer() and abs(out) < 2**53 else out


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------
def _scalar(v: Any) -> str:
    """One YAML scalar (quoted when needed: 'yes', '01', 'null', ...)."""
    if isinstance(v, str):
        v = " ".join(v.splitlines())
    if isinstance(v, np.generic):
        v = v.item()
    text = yaml.safe_dump(v, default_flow_style=True, allow_unicode=True, width=10**9)
    lines = [ln for ln in text.splitlines() if ln.strip() != "..."]
    return " ".join(lines).strip()


def _render(e: dict) -> list[str]:
    out = [f"  {_scalar(e['name'])}:"]
    out.append(f"    type: {e['type']}  # check: {e['type_why']}")
    out.append(f"    role: {e['role']}  # check: {e['role_why']}")
    out.append(f"    label: {_scalar(e['label'])}")
    if e["codes"]:
        note = f"  # check: {e['codes_note']}" if e.get("codes_note") else ""
        out.append(f"    codes:{note}")
        for k, v in e["codes"].items():
            out.append(f"      {_scalar(k)}: {_scalar(v)}")
    if e["range"] is not None:
        lo, hi = e["range"]
        out.append(f"    range: [{_scalar(lo)}, {_scalar(hi)}]  # observed")
    if e["nullable"]:
        n = e["nullable"]
        out.append(f"    nullable: true  # {n:,} missing value{'s' if n != 1 else ''}")
    return out
