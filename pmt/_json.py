"""Safe JSON: untrusted reading, deterministic writing and the packaged JSON Schemas.

This module sits at the bottom of the layering of DESIGN.md section 2 (it imports only
numpy, :mod:`pmt.errors` and :mod:`pmt._files`), so that model artifacts
(:mod:`pmt.artifacts`) and scorecards (:mod:`pmt.scorecard`) share one JSON layer without
one importing the other's internals.

Reading (:func:`read_json_document`)
    The file is untrusted: its size is capped, it must be UTF-8, and ``NaN``,
    ``Infinity`` and numbers that overflow a float are refused while parsing.
Number encoding (:func:`jsonable`)
    A plain-Python copy of a document (dicts with text keys, lists, bools, ints, finite
    floats, strings, None); numpy scalars and arrays are converted, non-finite floats become
    ``null`` only where allowed, anything else raises.
Writing (:func:`dump_json`, :func:`write_json`)
    Sorted keys, ``repr``-precision floats (a loaded model predicts bit-identical values),
    no NaN, a final newline; :func:`write_json` writes atomically.
Schemas (:func:`load_schema`, :func:`validate_schema`)
    ``pmt/data_spec/<name>.schema.json`` ("artifact", "scorecard"), validated with
    ``jsonschema``.

Every problem raises :class:`pmt.errors.ArtifactError` naming the file or field at fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pmt._files import atomic_write
from pmt.errors import ArtifactError

__all__ = [
    "MAX_BYTES",
    "dump_json",
    "json_path",
    "jsonable",
    "load_schema",
    "read_json_document",
    "validate_schema",
    "write_json",
]

#: Largest JSON file :func:`read_json_document` reads unless told otherwise (bytes).
MAX_BYTES = 20_000_000


# --------------------------------------------------------------------------------------
# schemas
# --------------------------------------------------------------------------------------
_SCHEMAS: dict[str, dict] = {}


def load_schema(name: str) -> dict:
    """The packaged JSON Schema ``name`` as a dict.

    Parameters
    ----------
    name : str
        ``"artifact"`` or ``"scorecard"`` (the file ``pmt/data_spec/<name>.schema.json``).

    Returns
    -------
    dict
        The parsed schema (cached: do not modify it).
    """
    if name not in _SCHEMAS:
        text = resources.files("pmt").joinpath("data_spec", f"{name}.schema.json").read_text(
            encoding="utf-8"
        )
        _SCHEMAS[name] = json.loads(text)
    return _SCHEMAS[name]


def _schema_version(schema: Mapping) -> Any:
    """The ``schema_version`` a schema requires (its ``const``), for messages."""
    prop = schema.get("properties", {}).get("schema_version", {})
    return prop.get("const") if isinstance(prop, Mapping) else None


def validate_schema(doc: Any, name: str, what: str) -> None:
    """Validate ``doc`` against the packaged schema ``name``.

    Parameters
    ----------
    doc : object
        A parsed JSON document.
    name : str
        The schema (see :func:`load_schema`).
    what : str
        How messages call the document (e.g. ``"model artifact 'm.json'"``).

    Raises
    ------
    pmt.errors.ArtifactError
        Listing the first five problems, each with its JSON path.
    """
    import jsonschema

    schema = load_schema(name)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        lines = []
        for e in errors[:5]:
            where = json_path(e.absolute_path) or "(document)"
            msg = e.message if len(e.message) < 300 else e.message[:300] + "..."
            lines.append(f"{where}: {msg}")
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ArtifactError(
            f"{what} does not match the pmt {name} schema version {_schema_version(schema)}: "
            + "; ".join(lines)
            + more
            + ". Re-save it with this version of pmt, or fix the fields named."
        )


def json_path(path) -> str:
    """A readable JSON path, ``a.b[0].c``.

    Parameters
    ----------
    path : iterable of str and int
        Keys and list positions (e.g. a jsonschema error's ``absolute_path``).

    Returns
    -------
    str
        Empty for the document itself.
    """
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def _refuse_constant(token: str):
    raise ArtifactError(
        f"the file contains the non-finite number {token}; artifacts hold finite numbers only "
        "(a NaN or infinite coefficient cannot predict anything)."
    )


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ArtifactError(f"the number {token} overflows a float; artifacts hold finite numbers.")
    return value


def read_json_document(path, what: str, max_bytes: int = MAX_BYTES) -> Any:
    """Read an untrusted JSON file: size cap, UTF-8, finite numbers only.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    what : str
        How messages call the file (``"model artifact"``, ``"scorecard"``).
    max_bytes : int
        Largest size read; a larger file raises.

    Returns
    -------
    object
        The parsed document (dicts, lists, strings, finite numbers, bools, None).

    Raises
    ------
    pmt.errors.ArtifactError
        For a missing, oversized, non-UTF-8 or invalid file, a non-finite or overflowing
        number, or nesting too deep to parse.
    """
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{what} file {str(p)!r} does not exist (check the path).")
    size = p.stat().st_size
    if size > max_bytes:
        raise ArtifactError(
            f"{what} file {str(p)!r} is {size:,} bytes, more than the {max_bytes:,}-byte limit; "
            "a pmt artifact is normally a few kilobytes. If you trust the file, pass a larger "
            "max_bytes=."
        )
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{what} file {str(p)!r} is not UTF-8 text ({exc}).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            f"{what} file {str(p)!r} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}."
        ) from None
    except RecursionError:
        raise ArtifactError(f"{what} file {str(p)!r} is nested too deeply to be an artifact.") from None
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        raise ArtifactError(f"{what} file {str(p)!r} has an unreadable number: {exc}.") from None


# --------------------------------------------------------------------------------------
# number encoding and writing
# --------------------------------------------------------------------------------------
def jsonable(value: Any, where: str, nan_ok: bool = False,
             nan_ok_keys: frozenset[str] = frozenset()) -> Any:
    """Plain-Python, finite copy of ``value`` that JSON stores exactly.

    Parameters
    ----------
    value : object
        Mappings with text keys, lists, tuples, numpy arrays, bools, integers, floats
        (numpy scalars included), strings and None, nested.
    where : str
        The path of ``value`` for messages (``"model"``, ``"scorecard"``).
    nan_ok : bool
        Store non-finite floats as None (``null``) instead of raising.
    nan_ok_keys : frozenset of str
        Keys under which non-finite floats are stored as None at any depth (e.g. standard
        errors that may be undefined).

    Returns
    -------
    object
        The copy: dicts, lists, bools, ints, finite floats, strings and None.

    Raises
    ------
    pmt.errors.ArtifactError
        For a non-text key, a non-finite float where not allowed, or a value of another
        type, naming its path.
    """
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ArtifactError(f"{where} has a non-text key {k!r}; keys must be strings.")
            out[k] = jsonable(v, f"{where}.{k}", nan_ok or k in nan_ok_keys, nan_ok_keys)
        return out
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v, f"{where}[{i}]", nan_ok, nan_ok_keys) for i, v in enumerate(value)]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isfinite(v):
            return v
        if nan_ok:
            return None
        raise ArtifactError(
            f"{where} is {v}: a model with non-finite values cannot be saved. Refit the model "
            "(check for collinear terms or empty categories)."
        )
    if value is None or isinstance(value, str):
        return value
    raise ArtifactError(
        f"{where} holds a {type(value).__name__}, which JSON cannot store safely; model state "
        "must be numbers, strings, lists and dicts."
    )


def dump_json(doc: Any) -> str:
    """Deterministic JSON text: sorted keys, repr-precision floats, no NaN, final newline.

    Parameters
    ----------
    doc : object
        A document made of JSON types (see :func:`jsonable`).

    Returns
    -------
    str
        The text; the same document always gives the same text.

    Raises
    ------
    pmt.errors.ArtifactError
        If ``doc`` holds a non-finite float.
    """
    try:
        return json.dumps(doc, sort_keys=True, indent=1, allow_nan=False, ensure_ascii=True) + "\n"
    except ValueError as exc:
        raise ArtifactError(f"cannot write a non-finite number to JSON: {exc}") from None


def write_json(doc: Any, path) -> Path:
    """Write :func:`dump_json` of ``doc`` to ``path`` atomically (UTF-8).

    The text is produced before the file is touched, and written to a temporary file in the
    same folder that is then renamed over ``path``: a failure leaves any earlier file as it
    was.

    Parameters
    ----------
    doc : object
        A document made of JSON types.
    path : str or pathlib.Path
        The file to create or replace; its folder must exist.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    pmt.errors.ArtifactError
        If ``doc`` holds a non-finite float, or the folder does not exist.
    """
    text = dump_json(doc)
    p = Path(path)
    if not p.parent.is_dir():
        raise ArtifactError(f"folder '{p.parent}' does not exist: create it first.")
    with atomic_write(p) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return p
