"""Save and load fitted models as versioned, schema-validated JSON (never pickle).

An artifact is one JSON document per model (schema: ``data_spec/artifact.schema.json``,
shipped as ``pmt/data_spec/artifact.schema.json``)::

    {"format": "pmt-model", "schema_version": 1, "model_type": "ols",
     "formula": "log_pcc ~ rooms + C(region)",
     "model": {...},        # ModelResult.to_dict(): design (terms with their source
                            # variables, categorical levels and base levels), params,
                            # bse, cov, retransformation, sigma2, smearing factor, info
     "thresholds": {"poverty_line": 12.1},
     "training": {"nobs": ..., "n_dropped": ..., "weighted_nobs": ..., "rsquared": ...,
                  "fit_date": ..., "pmt_version": ..., "data_spec": {"name", "sha256"},
                  "profile": {...}}}

Floats are written with ``repr`` precision (Python's json does this), so a loaded model
predicts bit-identical values. Output is deterministic (sorted keys, no timestamp unless
``fit_date`` is passed), so regenerating an artifact from the same fit gives the same bytes.

Loading treats the file as untrusted: its size is capped, NaN/Infinity and numbers that
overflow are refused, the document is validated against the JSON Schema, the formula is
re-parsed with :func:`pmt.models.formula.parse_formula` (never evaluated) and must agree
with the listed terms, and every term variable must be a plain column name. Any problem
raises :class:`pmt.ArtifactError` naming the field at fault.

The JSON Schema check uses ``jsonschema``; the formula/term consistency checks are our own
because no schema language can express them. The generic JSON layer (untrusted reading,
number encoding, deterministic and atomic writing, the packaged schemas) lives in
:mod:`pmt._json`, shared with :mod:`pmt.scorecard`; its functions are still importable from
here.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from pmt._json import (
    MAX_BYTES,
    dump_json,  # noqa: F401  (re-exported: pmt.artifacts was the home of the JSON layer)
    json_path,
    jsonable,
    load_schema,
    read_json_document,
    validate_schema,
    write_json,
)
from pmt._validation import check_weights
from pmt.errors import ArtifactError, ModelError
from pmt.models.base import MODEL_TYPES, ModelResult, training_profile
from pmt.models.formula import (
    _NAME_RE,
    INTERCEPT,
    Categorical,
    Design,
    compound_terms,
    level_label,
    parse_formula,
)

SCHEMA_VERSION = 1
FORMAT = "pmt-model"
# MAX_BYTES (imported from pmt._json): the largest file load_model reads unless told otherwise


def _pmt_version() -> str:
    import pmt

    return pmt.__version__


#: Fields where an undefined (NaN) value is legitimate and stored as null, at any depth.
_NAN_OK = frozenset({"bse", "cov", "df_resid"})


def _jsonable(value: Any, where: str, nan_ok: bool = False) -> Any:
    """Plain-Python, finite copy of ``value``; ArtifactError naming ``where`` otherwise.

    Non-finite floats become None only when ``nan_ok`` or inside a field named in
    ``_NAN_OK`` (standard errors, covariances, residual degrees of freedom). The encoding
    is :func:`pmt._json.jsonable`.
    """
    return jsonable(value, where, nan_ok, _NAN_OK)


# --------------------------------------------------------------------------------------
# document checks beyond the schema
# --------------------------------------------------------------------------------------
def _equations(node: Any, where: str = "model"):
    """Yield (path, equation) for every fitted equation inside a saved model.

    An equation is any object with ``design`` and ``params`` (ModelResult.to_dict()); the
    walk covers nested equations of two-equation models (Heckman's ``selection``, HMT parts)
    and lists of them (one model per group).
    """
    if isinstance(node, Mapping):
        if "design" in node and "params" in node:
            yield where, node
        for key in sorted(node):
            if key == "design":
                continue
            yield from _equations(node[key], f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, Mapping | list):
                yield from _equations(item, f"{where}[{i}]")


def check_design(design: Mapping, where: str) -> None:
    """The terms of a saved design must be exactly those its formula implies.

    The formula is parsed with our restricted grammar (never evaluated); term variables must
    be plain column names; categorical base levels must be among the levels.
    """
    formula = design["formula"]
    try:
        parsed = parse_formula(formula, require_lhs=False)
    except ModelError as exc:
        raise ArtifactError(f"{where}.formula is not a valid pmt formula: {exc}") from None
    if parsed.lhs != design["lhs"]:
        raise ArtifactError(
            f"{where}.lhs is {design['lhs']!r} but the formula's left side is {parsed.lhs!r}."
        )
    cats = design["categoricals"]
    wanted = set(parsed.categorical_variables)
    if set(cats) != wanted:
        raise ArtifactError(
            f"{where}.categoricals lists {sorted(cats)} but the formula has C() terms for "
            f"{sorted(wanted)}."
        )
    for name in parsed.categorical_variables:
        cat = cats[name]
        if cat["variable"] != name:
            raise ArtifactError(f"{where}.categoricals.{name}.variable is {cat['variable']!r}.")
        if cat["base"] not in cat["levels"]:
            raise ArtifactError(
                f"{where}.categoricals.{name}: base level {cat['base']!r} is not among the levels "
                f"{cat['levels'][:20]}."
            )
        requested = parsed.bases.get(name)
        if requested is not None and level_label(requested) != cat["base"]:
            raise ArtifactError(
                f"{where}.categoricals.{name}: base level {cat['base']!r} disagrees with the "
                f"formula's Treatment(reference={requested!r})."
            )
    expected: list[tuple] = []
    if parsed.intercept:
        expected.append((INTERCEPT, None, "intercept", None, None))
    for kind, name in parsed.order:
        if kind == "compound":
            levels = {v: Categorical(v, list(cats[v]["levels"]), cats[v]["base"]) for v in wanted}
            expected.extend(
                (t.name, t.variable, t.kind, t.level, t.factors)
                for t in compound_terms(parsed.compound[name], levels)
            )
            continue
        if not _NAME_RE.match(name):  # parse_formula guarantees this; kept as a guard
            raise ArtifactError(f"{where}: variable {name!r} is not a plain column name.")
        if kind == "numeric":
            expected.append((name, name, "numeric", None, None))
            continue
        cat = cats[name]
        for lab in cat["levels"]:
            if lab != cat["base"]:
                expected.append((f"C({name})[T.{lab}]", name, "level", lab, None))
    got = [
        (t["name"], t["variable"], t["kind"], t["level"], t.get("factors"))
        for t in design["terms"]
    ]
    if got != expected:
        diff = next(
            (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
            min(len(got), len(expected)),
        )
        shown_got = got[diff][0] if diff < len(got) else "(none)"
        shown_exp = expected[diff][0] if diff < len(expected) else "(none)"
        raise ArtifactError(
            f"{where}.terms do not agree with the formula {formula!r}: term {diff + 1} is "
            f"{shown_got!r} but the formula and categorical levels imply {shown_exp!r} "
            f"({len(got)} terms listed, {len(expected)} implied)."
        )


def check_equation(eq: Mapping, where: str) -> None:
    """Schema-level and consistency checks of one saved equation."""
    validate_schema_fragment(eq, where)
    check_design(eq["design"], f"{where}.design")
    terms = [t["name"] for t in eq["design"]["terms"]]
    names = eq.get("param_names", terms)
    if not (isinstance(names, list) and all(isinstance(n, str) and len(n) <= 300 for n in names)):
        raise ArtifactError(f"{where}.param_names must be a list of term names.")
    missing = [t for t in terms if t not in names]
    if missing or len(set(names)) != len(names):
        raise ArtifactError(
            f"{where}.param_names must list each design term once; missing or repeated: "
            f"{(missing or names)[:5]}."
        )
    k = len(names)
    if len(eq["params"]) != k or len(eq["bse"]) != k:
        raise ArtifactError(
            f"{where}: {len(eq['params'])} coefficients and {len(eq['bse'])} standard errors for "
            f"{k} terms; they must match one to one."
        )
    cov = eq.get("cov")
    if cov is not None:
        if len(cov) != k or any(not isinstance(row, list) or len(row) != k for row in cov):
            raise ArtifactError(f"{where}.cov must be a {k} x {k} matrix.")
        for i, row in enumerate(cov):
            for j, v in enumerate(row):
                if v is not None and (type(v) not in (int, float)):
                    raise ArtifactError(f"{where}.cov[{i}][{j}] is {v!r}, not a number or null.")


def validate_schema_fragment(eq: Mapping, where: str) -> None:
    """Validate a nested equation against the schema's ``$defs/equation``."""
    import jsonschema

    schema = load_schema("artifact")
    sub = {"$ref": "#/$defs/equation", "$defs": schema["$defs"]}
    errors = list(jsonschema.Draft202012Validator(sub).iter_errors(eq))
    if errors:
        e = errors[0]
        raise ArtifactError(
            f"{where}{('.' + json_path(e.absolute_path)) if e.absolute_path else ''}: "
            f"{e.message[:300]} (pmt artifact schema version {SCHEMA_VERSION})."
        )


# --------------------------------------------------------------------------------------
# training profile (for scorecard bands)
# --------------------------------------------------------------------------------------
def profile_variables(model: ModelResult, data: pd.DataFrame, weights=None) -> dict:
    """Weighted distribution of each numeric proxy of ``model`` in ``data``.

    See :func:`pmt.models.base.training_profile`; stored in the artifact's
    ``training.profile`` so that :class:`pmt.Scorecard` can band continuous proxies.
    """
    # missing and zero weights leave their rows out of the profile
    w = None if weights is None else check_weights(weights, data=data, allow_nan=True,
                                                   allow_zero_sum=True)
    missing = [t.variable for t in model.design.terms
               if t.kind == "numeric" and t.variable not in data.columns]
    if missing:
        raise ArtifactError(f"profile: column {missing[0]!r} of the model is not in the data.")
    return training_profile(model.design, data, w)


# --------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------
def _spec_summary(spec) -> dict | None:
    """Name and SHA-256 of a data spec (a DataSpec, a path to its YAML, or a dict)."""
    if spec is None:
        return None
    if isinstance(spec, str | Path | Mapping):
        from pmt.spec import DataSpec

        # the same digest as DataSpec.hash, whether a spec object, its file or its dict is given
        spec = DataSpec.load(spec) if isinstance(spec, str | Path) else DataSpec.from_dict(spec)
    name = getattr(spec, "name", None)
    digest = getattr(spec, "sha256", None) or getattr(spec, "hash", None)
    if callable(digest):
        digest = digest()
    if not (isinstance(digest, str) and len(digest) == 64):  # a spec-like object of another kind
        path = getattr(spec, "path", None)
        if path is not None and Path(path).is_file():
            payload = Path(path).read_bytes()
            name = name or Path(path).stem
        elif hasattr(spec, "to_dict"):
            payload = json.dumps(spec.to_dict(), sort_keys=True, default=str).encode()
        else:
            raise ArtifactError(
                "spec= must be a DataSpec, the path of its YAML file, or a dict; got "
                f"{type(spec).__name__}."
            )
        digest = hashlib.sha256(payload).hexdigest()
    return {"name": None if name is None else str(name), "sha256": digest}


def model_document(
    result: ModelResult,
    spec=None,
    thresholds: Mapping[str, float] | float | None = None,
    fit_date: str | None = None,
    data: pd.DataFrame | None = None,
    weights=None,
    name: str | None = None,
    description: str | None = None,
) -> dict:
    """The artifact document of ``result`` (validated) without writing it; see save_model."""
    kind = type(result).__name__
    module = type(result).__module__
    if "sklearn" in module or module.startswith("pmt.models.ml") or hasattr(result, "estimator"):
        raise ArtifactError(
            f"{kind} wraps a scikit-learn estimator, which can only be serialised with "
            "pickle/joblib: code that runs on load, unsafe to exchange. pmt artifacts are "
            "JSON with coefficients only. Save a linear model (ols, quantreg, probit, "
            "heckman) for exchange, and keep the ML model for analysis."
        )
    mtype = getattr(result, "model_type", None)
    if not (isinstance(mtype, str) and hasattr(result, "to_dict")):
        raise ArtifactError(f"save_model needs a fitted pmt model result; got {kind}.")
    if MODEL_TYPES.get(mtype) is not type(result):
        raise ArtifactError(
            f"model type {mtype!r} ({type(result).__name__}) is not registered with "
            "pmt.models.base.register_model, so it could not be loaded again."
        )
    if thresholds is None:
        thresholds = {}
    elif not isinstance(thresholds, Mapping):
        thresholds = {"threshold": thresholds}
    # standard errors and covariances may legitimately be undefined (NaN -> null)
    model = _jsonable(result.to_dict(), "model")
    thr = {}
    for k, v in thresholds.items():
        v = _jsonable(v, f"thresholds.{k}")
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise ArtifactError(f"threshold {k!r} must be a number; got {v!r}.")
        thr[str(k)] = float(v)
    rsq = getattr(result, "rsquared", None)
    rsq = rsq if isinstance(rsq, int | float | np.floating) else None  # grouped: per group
    wn = getattr(result, "weighted_nobs", None)
    wn = wn if isinstance(wn, int | float | np.floating) else None
    training = {
        "nobs": int(getattr(result, "nobs", 0)),
        "n_dropped": int(getattr(result, "n_dropped", 0)),
        "weighted_nobs": None if wn is None or not np.isfinite(wn) else float(wn),
        "rsquared": None if rsq is None or not np.isfinite(rsq) else float(rsq),
        "fit_date": None if fit_date is None else str(fit_date),
        "pmt_version": _pmt_version(),
        "data_spec": _spec_summary(spec),
    }
    if data is not None:
        training["profile"] = profile_variables(result, data, weights)
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "model_type": mtype,
        "formula": _formula_of(result, model),
        "model": model,
        "thresholds": thr,
        "training": training,
    }
    if name is not None:
        doc["name"] = str(name)
    if description is not None:
        doc["description"] = str(description)
    check_document(doc, "the model")
    return doc


def _formula_of(result, model: dict) -> str:
    formula = getattr(result, "formula", None)
    if isinstance(formula, str):
        return formula
    first = next(_equations(model), None)
    if first is None:
        raise ArtifactError(f"{type(result).__name__} holds no fitted equation to save.")
    return first[1]["design"]["formula"]


def check_document(doc: Any, what: str) -> None:
    """Every load-time check of an artifact document (schema, formula, terms)."""
    if isinstance(doc, Mapping) and doc.get("format") == FORMAT:
        version = doc.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ArtifactError(
                f"{what} has schema_version {version!r}; this pmt ({_pmt_version()}) reads "
                f"version {SCHEMA_VERSION}. Re-save the model with a matching pmt version."
            )
    elif isinstance(doc, Mapping) and doc.get("format") == "pmt-scorecard":
        raise ArtifactError(
            f"{what} is a scorecard, not a model: load it with pmt.Scorecard.from_json."
        )
    validate_schema(doc, "artifact", what)
    if doc["model"]["model_type"] != doc["model_type"]:
        raise ArtifactError(
            f"{what}: model_type {doc['model_type']!r} disagrees with model.model_type "
            f"{doc['model']['model_type']!r}."
        )
    top = doc["model"].get("design")
    if isinstance(top, Mapping) and top.get("formula") != doc["formula"]:
        raise ArtifactError(f"{what}: formula disagrees with model.design.formula.")
    equations = list(_equations(doc["model"]))
    if not equations:
        raise ArtifactError(f"{what}: model holds no fitted equation (design and params).")
    for where, eq in equations:
        check_equation(eq, where)
    for var, prof in (doc["training"].get("profile") or {}).items():
        if len(prof["values"]) != len(prof["weights"]):
            raise ArtifactError(f"{what}: training.profile.{var} values and weights differ in length.")


def save_model(
    result: ModelResult,
    path,
    spec=None,
    thresholds: Mapping[str, float] | float | None = None,
    fit_date: str | None = None,
    data: pd.DataFrame | None = None,
    weights=None,
    name: str | None = None,
    description: str | None = None,
) -> Path:
    """Save a fitted model as a versioned JSON artifact.

    Parameters
    ----------
    result : ModelResult
        A fitted pmt model (OLS, quantile, probit, Heckman, HMT...). scikit-learn models
        cannot be saved (they need pickle): ArtifactError.
    path : str or Path
        Output file (``.json``).
    spec : DataSpec, path or dict, optional
        Data spec of the training data; its name and SHA-256 are recorded.
    thresholds : dict or float, optional
        Named thresholds on the model's scale, e.g. ``{"poverty_line": np.log(z)}``. A bare
        number is stored as ``"threshold"``. :class:`pmt.Scorecard` uses them as the cut-off.
    fit_date : str, optional
        Recorded as given (e.g. "2026-11-23"). None by default so files are reproducible.
    data, weights : optional
        Training data (and weights column/array): stores the weighted distribution of each
        numeric proxy (``training.profile``) so that scorecards can band continuous proxies
        without the data.
    name, description : str, optional
        Free text stored in the artifact.

    Returns
    -------
    Path
        The file written. Its bytes depend only on the model and the arguments.
    """
    doc = model_document(result, spec, thresholds, fit_date, data, weights, name, description)
    return write_json(doc, path)


class ArtifactColumnError(ArtifactError, ModelError):
    """A loaded artifact names a column the data lack (both an ArtifactError and a
    ModelError, so code catching either sees it).
    """


class _ArtifactDesign(Design):
    """A Design restored from an artifact: missing columns are reported with the file."""

    _source = "an artifact"

    def check_columns(self, data, cols=None) -> None:
        try:
            super().check_columns(data, cols)
        except ModelError as exc:
            raise ArtifactColumnError(
                f"{exc} The model was loaded from {self._source}: its terms name these "
                "columns, so the data to predict must have them (rename or derive them)."
            ) from None


def _mark_designs(obj, source: str, depth: int = 0) -> None:
    """Switch every Design inside a loaded model to _ArtifactDesign (no state is added)."""
    if depth > 4:
        return
    design = getattr(obj, "design", None)
    if isinstance(design, Design) and type(design) is Design:
        design.__class__ = _ArtifactDesign
        cast(_ArtifactDesign, design)._source = source  # its class was switched just above
    values = obj.values() if isinstance(obj, dict) else getattr(obj, "__dict__", {}).values()
    for v in list(values):
        if isinstance(v, dict) or (hasattr(v, "__dict__") and hasattr(v, "to_dict")):
            _mark_designs(v, source, depth + 1)


@dataclass
class Artifact:
    """A loaded model artifact: the model and what was saved with it."""

    model: ModelResult
    thresholds: dict[str, float] = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    name: str | None = None
    description: str | None = None


#: Where each built-in model type is defined, so that loading imports only what it needs.
MODEL_MODULE_OF = {
    "ols": "pmt.models.ols",
    "truncated_ols": "pmt.models.ols",
    "ols_by": "pmt.models.ols",
    "quantreg": "pmt.models.quantile",
    "probit": "pmt.models.binary",
    "logit": "pmt.models.binary",
    "heckman": "pmt.models.heckman",
    "heckman_selection": "pmt.models.heckman",
    "hybrid_means_test": "pmt.hmt",
}
#: Modules that define registered model classes; imported before loading so that
#: ``MODEL_TYPES`` knows every type (modules not present in this install are skipped).
MODEL_MODULES = tuple(dict.fromkeys(MODEL_MODULE_OF.values()))


def _import_model_modules(model_type: str | None = None) -> None:
    """Import the module defining ``model_type`` (all model modules if unknown)."""
    if model_type in MODEL_TYPES:
        return
    mod = MODEL_MODULE_OF.get(model_type) if model_type is not None else None
    if mod is not None:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
        if model_type in MODEL_TYPES:
            return
    for mod in MODEL_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:  # a real missing dependency inside the module
                raise


def model_from_document(doc: Any, what: str = "the artifact") -> Artifact:
    """Validate an artifact document and rebuild its model (no code is executed)."""
    check_document(doc, what)
    _import_model_modules(doc["model_type"])
    # registered ModelResult subclasses (MODEL_TYPES is typed as dict[str, type])
    cls: Any = MODEL_TYPES.get(doc["model_type"])
    if cls is None:
        raise ArtifactError(
            f"{what} holds a model of type {doc['model_type']!r}, unknown to this pmt "
            f"(known: {', '.join(sorted(MODEL_TYPES)) or 'none'})."
        )
    try:
        model = cls.from_dict(doc["model"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ArtifactError(
            f"{what}: the {doc['model_type']} model could not be rebuilt from its fields "
            f"({type(exc).__name__}: {exc})."
        ) from None
    _mark_designs(model, what)
    model.thresholds = dict(doc["thresholds"])
    model.training = dict(doc["training"])
    model.training_profile = doc["training"].get("profile")
    return Artifact(model, dict(doc["thresholds"]), dict(doc["training"]), doc.get("name"),
                    doc.get("description"))


def read_artifact(path, max_bytes: int = MAX_BYTES) -> Artifact:
    """Load an artifact with its thresholds and training summary; see :func:`load_model`."""
    doc = read_json_document(path, "model artifact", max_bytes)
    return model_from_document(doc, f"model artifact {str(path)!r}")


def load_model(path, max_bytes: int = MAX_BYTES) -> ModelResult:
    """Load a model saved by :func:`save_model`.

    The file is treated as untrusted: it is size-capped (``max_bytes``), parsed as JSON
    with finite numbers only, validated against the artifact JSON Schema, and its formula
    re-parsed and checked against the listed terms. No code is executed (no pickle, no
    eval). The returned model predicts exactly what the saved one did; it also carries
    ``.thresholds``, ``.training`` and ``.training_profile`` from the file.

    Raises
    ------
    ArtifactError
        For any malformed, unsafe or incompatible file, naming the field at fault.
    """
    return read_artifact(path, max_bytes).model


# --------------------------------------------------------------------------------------
# coefficient tables
# --------------------------------------------------------------------------------------
def write_coef_table(result: ModelResult, path, labels=None, decimals: int = 4) -> Path:
    """Write the coefficient table of ``result`` to CSV or a formatted XLSX (by suffix).

    Columns: term, label, base level, coefficient, standard error, p-value and stars
    (*** p<0.01, ** p<0.05, * p<0.1). The XLSX has a styled header, fixed number formats,
    frozen header row, the N / R^2 beneath and a stars footnote. ``labels`` maps variables
    to labels (a DataSpec works).
    """
    table = result.coef_table(labels)
    terms = result.terms
    out = pd.DataFrame(
        {
            "term": table.index,
            "label": table["label"].to_numpy(),
            "base": terms["base"].reindex(table.index).to_numpy(),
            "coef": table["coef"].to_numpy(),
            "se": table["se"].to_numpy(),
            "p": table["p"].to_numpy(),
            "stars": table["stars"].to_numpy(),
        }
    )
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        out.to_csv(p, index=False)
        return p
    if suffix != ".xlsx":
        raise ArtifactError(f"coefficient tables are written as .csv or .xlsx; got {p.name!r}.")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "coefficients"
    headers = ["Term", "Variable", "Base level", "Coefficient", "Std. error", "p-value", ""]
    ws.append(headers)
    fill = PatternFill("solid", fgColor="1F3864")
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(bottom=Side(style="thin"))
    fmt = "0." + "0" * decimals
    for row in out.itertuples(index=False):
        base = row.base if isinstance(row.base, str) else None
        ws.append(
            [
                row.term,
                row.label,
                base,
                float(row.coef),
                None if not np.isfinite(row.se) else float(row.se),
                None if not np.isfinite(row.p) else float(row.p),
                row.stars,
            ]
        )
        r = ws.max_row
        ws.cell(r, 4).number_format = fmt
        ws.cell(r, 5).number_format = fmt
        ws.cell(r, 6).number_format = "0.000"
    ws.append([])
    ws.append(["N", result.nobs])
    rsq = getattr(result, "rsquared", None)
    if rsq is not None:
        ws.append(["R-squared", float(rsq)])
        ws.cell(ws.max_row, 2).number_format = "0.000"
    ws.append([f"Model: {result.model_type}; formula: {result.formula}"])
    ws.append(["*** p<0.01, ** p<0.05, * p<0.1"])
    widths = [max(8, min(50, max(len(str(v)) for v in out["term"]) + 2)), 30, 12, 13, 12, 10, 5]
    for i, wdt in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = wdt
    ws.freeze_panes = "A2"
    wb.save(p)
    return p


__all__ = [
    "Artifact",
    "SCHEMA_VERSION",
    "load_model",
    "model_document",
    "model_from_document",
    "profile_variables",
    "read_artifact",
    "save_model",
    "write_coef_table",
]
