"""End-to-end workflows behind the CLI: the demo, project configs, scorecards, scoring.

A *project config* (YAML, format in ``data_spec/project.md``; parsed and checked by
:mod:`pmt.config`) names the data, its spec, the welfare measure and poverty line, and
optionally the models, evaluation, hybrid means test, scorecard and policies. ``pmt demo``
is the same workflow run on :data:`pmt.config.DEMO_CONFIG` (the embedded synthetic survey).

A run reads the data once through its spec, handles missing values as the config says,
builds one :class:`pmt.Survey`, and passes one :class:`Run` (data, survey, config, spec,
poverty line) to every step. Each step computes its tables and returns them as a small
dataclass (:class:`SummaryResult`, :class:`ModelsResult`, ...); :mod:`pmt.report.sections`
turns each result into report sections (titles, notes, captions, figures, which tables
are shown and which only go to the workbook). Outputs are written to a temporary folder
and moved into the output folder only when the run succeeds, so a failed run never leaves
partial files beside those of an earlier good run.

This module sits at the end of the data flow with ``cli.py`` and ``report/``: it may
import anything, and nothing imports it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from pmt.config import DEMO_CONFIG, ProjectConfig, load_config, parse_config, resolve_config
from pmt.errors import ConfigError, DataError, DataSpecError, example_rows
from pmt.report import sections
from pmt.report.format import format_money

# Outputs, Section and MAIN_SECTIONS moved to pmt.report.outputs; still importable from here
from pmt.report.outputs import MAIN_SECTIONS, Outputs, Section, write_outputs  # noqa: F401
from pmt.survey import Survey

Say = Callable[..., None]

__all__ = ["DEMO_CONFIG", "Run", "run_project", "run_demo", "load_project_data"]

POOR = "poor_at_line"  # poverty status at the config's line, added to the data
MANIFEST = ".pmt-outputs.json"  # files the last successful run wrote into an output folder


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------
def packaged_spec_path(name: str) -> Path:
    """Path of a data spec shipped with pmt (``hbs``, ``registry``, ``vlss``)."""
    path = Path(str(resources.files("pmt") / "data_spec" / f"{name}.yaml"))
    if not path.exists():
        raise ConfigError(f"spec: no packaged data spec named '{name}' and no such YAML file; "
                          "give the path of your spec (e.g. spec: hh.yaml).")
    return path


def packaged_example(name: str) -> Path:
    path = Path(str(resources.files("pmt") / "data_spec" / "examples" / name))
    if not path.exists():
        raise ConfigError(f"policies: no policy file '{name}' (relative to the config) and no "
                          "packaged example of that name.")
    return path


class Timer:
    """Print each step with its duration."""

    def __init__(self, say: Say):
        self.say = say
        self.start = time.perf_counter()

    def step(self, text: str) -> None:
        self.say(f"[{time.perf_counter() - self.start:6.1f} s] {text}", flush=True)


def slug(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "_" for ch in name.lower())
    return "_".join(p for p in text.split("_") if p)


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@dataclass
class Run:
    """Everything the steps of one run share: read once, passed to each step."""

    cfg: ProjectConfig
    spec: Any
    df: pd.DataFrame
    sv: Survey
    line: float  # poverty line in welfare units
    headcount: float  # person-weighted share of the poor at the line
    dropped: pd.DataFrame | None = None  # households dropped for missing values, by column
    roster: Any = None  # pmt.project_roster.ProjectRoster: persons, families, groups
    step: str = "report"  # fit, compare or report
    results: dict = field(default_factory=dict)  # step name -> what the step returned
    out: Outputs = field(default_factory=lambda: Outputs())
    timer: Timer | None = None

    def note_step(self, message: str) -> None:
        """Report a finished step through the run's timer (none until run_project sets it)."""
        if self.timer is not None:
            self.timer.step(message)

    @property
    def log_line(self) -> float:
        """Natural log of the poverty line."""
        return float(np.log(self.line))

    @property
    def welfare_name(self) -> str:
        """What the welfare measure is called in the report (its spec label)."""
        # resolve_config sets the welfare column (or reports it missing)
        return self.cfg.welfare_label or cast(str, self.cfg.welfare)

    @property
    def money(self) -> str:
        """Currency suffix for labels, e.g. `` (VND)`` ("" without a currency)."""
        return f" ({self.cfg.currency})" if self.cfg.currency else ""

    @property
    def source_note(self) -> str:
        """Source line of every figure."""
        if self.cfg.is_demo_data:
            return "Source: pmt, embedded synthetic household budget survey"
        name = self.spec.description or self.spec.name if self.spec is not None else None
        return f"Source: {name}; computed with pmt" if name else "Source: computed with pmt"

    def label(self, column: str) -> str:
        """Label of a column: its spec label, a label for derived columns, or the name."""
        derived = {"household_type": "Household type", POOR: "Poor at the line"}
        if self.spec is not None and column in self.spec:
            return self.spec.labels[column]
        return derived.get(column, column)

    def value_label(self, column: str, code) -> str:
        """Label of the value ``code`` of a column (its code label when known)."""
        known = self.spec is not None and column in self.spec
        codes = self.spec.codes(column) if known else None
        if not codes and known and self.spec[column].type == "binary":
            codes = {0: "No", 1: "Yes"}
        if not codes:
            return str(code)
        lookup = {str(k): v for k, v in codes.items()}
        return lookup.get(str(code), str(code))


def load_spec(cfg: ProjectConfig):
    """The data spec a config names: a packaged name (hbs, registry, vlss) or a YAML path."""
    from pmt.spec import DataSpec

    path = cfg.path(cfg.spec)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = packaged_spec_path(str(cfg.spec))
    elif not path.is_file():
        raise ConfigError(f"spec: data spec '{path}' does not exist (paths are relative to the "
                          "config file's folder).")
    return DataSpec.load(path)


def read_project_file(cfg: ProjectConfig, spec) -> tuple[pd.DataFrame, Any]:
    """Read the config's data file through its spec; returns (typed frame, spec with the
    file's variable and value labels filling what the spec leaves out).
    """
    from pmt.io import read_with_spec

    path = cfg.path(cfg.data["path"])
    opts = {k: cfg.data[k] for k in ("sheet", "sep", "decimal", "encoding")
            if cfg.data.get(k) is not None}
    return read_with_spec(path, spec, **opts)


def load_project_data(cfg: ProjectConfig, say: Say = print
                      ) -> tuple[pd.DataFrame, Any, ProjectConfig, pd.DataFrame | None, Any]:
    """Load, validate and complete the data of a config, before anything is fitted.

    Returns the typed data (with the log of welfare and poverty status added, and the
    household proxies built from the person roster when the config has one), the data
    spec (labels filled from the file, an entry per roster proxy), the config resolved
    against the spec and data (:func:`pmt.config.resolve_config`), the table of households
    dropped for missing values (None when none were) and the person roster linked to the
    kept households (:class:`pmt.project_roster.ProjectRoster`; None without a roster).
    """
    from pmt.datasets import synthetic_hbs
    from pmt.project_roster import add_roster_proxies, finish_roster, read_project_roster

    spec = load_spec(cfg)
    # every column may be missing while reading: the project's `missing` policy decides for
    # the columns it uses, the spec's `nullable` for the others (handle_missing)
    relaxed = spec.with_nullable(True)
    source = cfg.data.get("source")
    with warnings.catch_warnings():
        _quiet_extra_columns_warning()
        raw = None
        if source == "synthetic":
            raw = synthetic_hbs(int(cfg.data["n_households"]), int(cfg.data["seed"]))
            df = relaxed.validate(raw)
        elif source == "vlss_1997":
            from pmt.datasets import vlss_1997

            df = relaxed.validate(vlss_1997())
        else:
            df, relaxed = read_project_file(cfg, relaxed)
            spec = relaxed.with_nullable({c: spec[c].nullable for c in spec.columns})
        roster = None
        proxies: tuple[str, ...] = ()
        if cfg.roster is not None:
            roster, roster_spec = read_project_roster(cfg, raw if raw is not None else df)
            df, spec, proxies = add_roster_proxies(cfg, roster, roster_spec, df, spec)
    cfg = resolve_config(cfg, spec, df.columns)
    df, dropped = handle_missing(df, cfg, spec, say)
    if roster is not None:
        roster = finish_roster(cfg, roster, df, spec, proxies)
    if cfg.log_welfare is None:
        df, cfg = _add_log_welfare(df, cfg, spec)
    return df, spec, cfg, dropped, roster


def _quiet_extra_columns_warning() -> None:
    """Columns outside the spec pass through by design; every other reading warning (an
    encoding fallback, file labels that do not cover the data) still shows.
    """
    warnings.filterwarnings("ignore", message=r".*not in spec .* passed through unchecked",
                            category=UserWarning)


def _row_names(df: pd.DataFrame, spec, mask) -> str:
    """Rows of ``mask`` named by the spec's id column (else by row position)."""
    ids = spec.columns_with_role("id") if spec is not None else []
    mask = np.asarray(mask, dtype=bool)
    if ids and ids[0] in df.columns:
        text = example_rows(df[ids[0]].to_numpy()[mask])
        return f"{ids[0]} {text.split(' ', 1)[1]}"
    return example_rows(np.flatnonzero(mask))


def handle_missing(df: pd.DataFrame, cfg: ProjectConfig, spec, say: Say
                   ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Apply the config's ``missing`` policy to the columns the run uses.

    ``missing: error`` raises a DataError naming each column, its count of missing values
    and example households; ``missing: drop`` drops those households, prints and returns
    the count per column. Columns the run does not use follow their spec (``nullable``).
    """
    from pmt.config import used_columns

    used = [c for c in used_columns(cfg) if c in df.columns]
    isna = df[used].isna()
    counts = isna.sum()
    counts = counts[counts > 0]
    # columns outside the run: the spec decides (nullable: false is an error)
    others = [c for c in spec.columns if c not in used and c in df.columns
              and not spec[c].nullable and df[c].isna().any()]
    if others:
        problems = [f"column '{c}': {int(df[c].isna().sum())} missing values at "
                    f"{_row_names(df, spec, df[c].isna())}; declare `nullable: true` in the "
                    "spec or fill them." for c in others]
        raise DataSpecError(f"data do not match spec '{spec.name}' ({len(problems)} problem"
                            f"{'s' if len(problems) > 1 else ''}):\n- " + "\n- ".join(problems),
                            problems)
    if counts.empty:
        return _tighten(df, spec), None
    if cfg.missing == "error":
        lines = [f"'{c}': {int(n):,} missing at {_row_names(df, spec, isna[c])}"
                 for c, n in counts.items()]
        raise DataError(
            f"{len(counts)} column(s) the models use have missing values:\n- "
            + "\n- ".join(lines)
            + "\nSet `missing: drop` in the project config to drop those households (they are "
            "counted in the report), or fill the values."
        )
    any_missing = isna.any(axis=1).to_numpy()
    table = pd.DataFrame({
        "label": [spec.labels.get(c, c) if spec is not None else c for c in counts.index],
        "households_missing": counts.to_numpy(dtype=int),
    }, index=pd.Index(counts.index, name="column"))
    total = pd.DataFrame({"label": ["Households dropped (any of the above)"],
                          "households_missing": [int(any_missing.sum())]},
                         index=pd.Index(["total"], name="column"))
    table = pd.concat([table, total])
    say(f"missing: drop: dropped {int(any_missing.sum()):,} of {len(df):,} households with a "
        f"missing value in {', '.join(counts.index)}")
    if any_missing.all():
        raise DataError("every household has a missing value in a column the models use: "
                        f"{', '.join(counts.index)}. Check the data or the proxies.")
    # positions, not labels, tie the steps' arrays together: renumber the kept rows
    kept = df.loc[~any_missing].reset_index(drop=True)
    kept.attrs = df.attrs
    return _tighten(kept, spec), table


def _tighten(df: pd.DataFrame, spec) -> pd.DataFrame:
    """Nullable integer columns without missing values back to plain integers."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.Int64Dtype) and not df[c].isna().any():
            df[c] = df[c].astype("int64")
    return df


def _add_log_welfare(df: pd.DataFrame, cfg: ProjectConfig, spec):
    """Add log(welfare) when the config names no log column; welfare must be positive."""
    y = pd.to_numeric(df[cfg.welfare], errors="coerce").to_numpy(dtype=float)
    bad = ~(y > 0)
    if bad.any():
        raise DataError(
            f"welfare column '{cfg.welfare}' has {int(bad.sum()):,} zero, negative or missing "
            f"values at {_row_names(df, spec, bad)}; its log is undefined. Fix the welfare "
            "aggregate of those households, or drop them before the run and report it."
        )
    name = f"log_{cfg.welfare}"
    while name in df.columns:
        name = f"{name}_"
    df = df.assign(**{name: np.log(y)})
    return df, replace(cfg, log_welfare=name)


def line_value(df: pd.DataFrame, cfg: ProjectConfig, sv: Survey) -> float:
    """The poverty line in welfare units: a number, a column with one value, or
    ``{share: q}`` for the weighted (person) quantile of welfare at q (DESIGN.md section 4).
    """
    line = cfg.line
    if isinstance(line, Mapping):
        return float(sv.weighted_quantile(cfg.welfare, float(line["share"])))
    if isinstance(line, str):
        values = pd.to_numeric(df[line], errors="coerce").unique()
        if len(values) != 1 or not np.isfinite(values[0]) or values[0] <= 0:
            raise ConfigError(f"welfare.line: column '{line}' must hold one positive value (a "
                              f"national line); it holds {len(values)} distinct values. Write "
                              "the line as a number, or {share: q}.")
        return float(values[0])
    return float(line)


def prepare_run(cfg: ProjectConfig, say: Say = print) -> Run:
    """Read and check everything a run needs, before any model is fitted."""
    df, spec, cfg, dropped, roster = load_project_data(cfg, say)
    sv = Survey(df, **cfg.design())
    z = line_value(df, cfg, sv)
    welfare = df[cfg.welfare].to_numpy(dtype=float)
    # absolute line: poor if y < z; relative line {share: q}: poor if y <= the quantile
    below = welfare <= z if cfg.relative_line else welfare < z
    df[POOR] = below.astype(int)  # df is this run's own copy; the Survey holds the same frame
    headcount = float(np.average(below, weights=sv.person_weight))
    if not 0 < headcount < 1:
        raise ConfigError(f"welfare.line: at the line {format_money(z)} {headcount:.0%} of people are "
                          "poor; the models need both poor and non-poor households.")
    return Run(cfg=cfg, spec=spec, df=df, sv=sv, line=z, headcount=headcount, dropped=dropped,
               roster=roster)


# --------------------------------------------------------------------------------------
# steps: each computes its tables and returns them; pmt.report.sections writes the report
# --------------------------------------------------------------------------------------
@dataclass
class SummaryResult:
    """Survey, welfare and poverty (:func:`step_summary`).

    Attributes
    ----------
    survey : pandas.Series
        Sample sizes, weighted population, mean welfare with its standard error, the poverty
        line and welfare percentiles (welfare units).
    poverty : pandas.DataFrame
        FGT(0, 1, 2) and Watts at the line with linearised standard errors
        (:func:`pmt.welfare.poverty_measures`).
    roster : pandas.DataFrame or None
        Persons, households and families of the person roster (None without a roster).
    family_fallbacks : pandas.DataFrame or None
        Members the family rules placed by a fallback rule, by case (None when none were).
    dropped : pandas.DataFrame or None
        Households dropped for missing values, by column (None when none were).
    """

    survey: pd.Series
    poverty: pd.DataFrame
    roster: pd.DataFrame | None = None
    family_fallbacks: pd.DataFrame | None = None
    dropped: pd.DataFrame | None = None


def step_summary(run: Run) -> SummaryResult:
    """Welfare and poverty summary with design-based standard errors."""
    from pmt.project_roster import family_rules_table
    from pmt.welfare import poverty_measures

    sv, cfg = run.sv, run.cfg
    mean, se = sv.mean_se(cfg.welfare)
    deciles = sv.weighted_quantile(cfg.welfare, np.arange(1, 10) / 10)
    summary = pd.Series(
        [sv.n_households, sv.n_psu, int(sv.strata_codes.max()) + 1,
         round(float(sv.person_weight.sum())), mean, se, run.line, deciles[0], deciles[4],
         deciles[8]],
        dtype=object,
        index=pd.Index(["households (sample)", "PSUs", "strata", "population (persons)",
                        "mean welfare", "s.e. of mean welfare", "poverty line",
                        "welfare P10", "welfare P50 (median)", "welfare P90"], name="statistic"),
        name="value",
    )
    result = SummaryResult(survey=summary, poverty=poverty_measures(sv, cfg.welfare, run.line),
                           dropped=run.dropped)
    if run.roster is not None:
        result.roster = run.roster.summary(sv.household_weight)
        result.family_fallbacks = family_rules_table(run.roster)
    return result


def model_formula(run_or_cfg, model) -> str:
    """The formula of a configured model: its own, or ``<log welfare or poor> ~ proxies``."""
    cfg = run_or_cfg.cfg if isinstance(run_or_cfg, Run) else run_or_cfg
    if model.formula:
        return model.formula
    lhs = POOR if model.type in ("probit", "logit") else cfg.log_welfare
    return f"{lhs} ~ {cfg.proxies}"


def model_fitters(run: Run, standard_errors: bool = False) -> dict[str, Callable]:
    """Name -> fit(train_df) callables for cross-validation and in-sample fits.

    Cross-validation needs only predictions, so quantile regressions skip their (kernel)
    standard errors unless ``standard_errors`` is set.
    """
    import pmt

    cfg = run.cfg
    weight, psu = cfg.weight, cfg.psu
    fitters: dict[str, Callable] = {}
    for name, m in cfg.models.items():
        formula = model_formula(run, m)
        if m.type == "ols":
            fitters[name] = lambda d, f=formula: pmt.ols(f, d, weights=weight, cluster=psu)
        elif m.type == "truncated_ols":
            q = float(m.params["quantile"])
            # cut at the poorest share of people (household size), DESIGN.md section 3
            fitters[name] = lambda d, f=formula, q=q: pmt.truncated_ols(
                f, d, share=q, weights=weight, cluster=psu, size=cfg.size,
                **({} if cfg.size else {"unit": "household"}))
        elif m.type == "quantreg":
            q = run.headcount if m.params["q"] == "headcount" else float(m.params["q"])
            cov = "kernel" if standard_errors else "none"
            fitters[name] = lambda d, f=formula, q=q, cov=cov: pmt.quantreg(
                f, d, q=q, weights=weight, cov_type=cov)
        elif m.type in ("probit", "logit"):
            fn = pmt.probit if m.type == "probit" else pmt.logit
            fitters[name] = lambda d, f=formula, fn=fn: fn(f, d, weights=weight, cluster=psu)
        else:
            fn = pmt.gradient_boosting if m.type == "gradient_boosting" else pmt.random_forest
            fitters[name] = lambda d, f=formula, fn=fn, p=dict(m.params): fn(
                f, d, weights=weight, seed=0, **p)
    return fitters


def fit_models(run: Run) -> dict:
    """Fit every model of the config on the whole sample; returns name -> result."""
    return {name: fit(run.df) for name, fit in model_fitters(run, standard_errors=True).items()}


def unexpected_signs(run: Run, linear: Mapping) -> pd.DataFrame | None:
    """Coefficients whose sign contradicts the spec's ``expected_sign`` (welfare models).

    Returns None when the spec expects no sign, else one row per flagged coefficient
    (model, label, coefficient, p_value, expected, flag): empty when every sign is as
    expected. Models of P(poor) are left out (every sign is reversed).
    """
    from pmt.models.signs import check_signs

    spec = run.spec
    if spec is None or not any(getattr(spec[c], "expected_sign", None) for c in spec.columns):
        return None
    rows = []
    for name, r in linear.items():
        if getattr(r, "higher_is_poorer", False):
            continue
        table = check_signs(r, spec)
        flagged = table[table["flag"] != ""]
        if len(flagged):
            rows.append(flagged.assign(model=name))
    if not rows:
        return pd.DataFrame()
    table = pd.concat(rows, ignore_index=True)
    cols = ["model", "label", "coefficient", "p_value", "expected", "flag"]
    return table[[c for c in cols if c in table]]


def ranking_of(model, pred) -> np.ndarray:
    """Scores ranked so that low = poor: models of P(poor) (probit, logit) declare it and
    are ranked by -P.
    """
    pred = np.asarray(pred, dtype=float)
    return -pred if getattr(model, "higher_is_poorer", False) else pred


@dataclass
class ModelsResult:
    """The PMT family fitted on the whole sample and judged in sample (:func:`step_models`).

    Attributes
    ----------
    models : dict
        Model name -> fitted result, in config order (the first is the reference).
    coefficients : dict of str to pandas.DataFrame
        Full coefficient table of each linear model (not the machine-learning benchmarks).
    regression : pandas.DataFrame or None
        Side-by-side regression table of the linear models (None without one).
    signs : pandas.DataFrame or None
        :func:`unexpected_signs` of the linear models (None: the spec expects no sign).
    targeting : pandas.DataFrame
        Targeting metrics of each model (rows) at the rate rule, poorest ``headcount`` share.
    overlap_shares : pandas.DataFrame
        Diagonal, within-one and bottom-k overlap shares of each model (rows).
    overlaps : dict of str to pandas.DataFrame
        10 x 10 decile overlap of actual and predicted welfare, by model.
    coverage : pandas.DataFrame
        Coverage by decile of actual welfare (rows, with "Total"), one column per model.
    first_groups : pandas.DataFrame
        Coverage and incidence by decile of the first model.
    curves : dict of str to pandas.DataFrame
        Exclusion-inclusion error curve of each model over every cut-off.
    auc : pandas.Series
        Area under the ROC curve of each model.
    actual : numpy.ndarray
        Log welfare of each household.
    predictions : dict of str to numpy.ndarray
        In-sample prediction of each model on its own scale.
    """

    models: dict
    coefficients: dict[str, pd.DataFrame]
    regression: pd.DataFrame | None
    signs: pd.DataFrame | None
    targeting: pd.DataFrame
    overlap_shares: pd.DataFrame
    overlaps: dict[str, pd.DataFrame]
    coverage: pd.DataFrame
    first_groups: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    auc: pd.Series
    actual: np.ndarray
    predictions: dict[str, np.ndarray]

    @property
    def first(self) -> str:
        """Name of the first (reference) model."""
        return next(iter(self.models))

    def predicts_welfare(self, name: str) -> bool:
        """Whether model ``name`` predicts welfare (not the probability of being poor)."""
        return not getattr(self.models[name], "higher_is_poorer", False)


def step_models(run: Run) -> ModelsResult:
    """Fit the PMT family; coefficient tables and in-sample targeting."""
    from pmt.evaluate import (
        decile_overlap,
        error_curve,
        group_table,
        overlap_shares,
        select_by,
        targeting_metrics,
    )
    from pmt.models.regression_table import regression_table

    cfg, df, spec = run.cfg, run.df, run.spec
    models = fit_models(run)
    run.note_step(f"fitted {len(models)} models: {', '.join(models)}")
    logw = cfg.log_welfare
    actual = df[logw].to_numpy(dtype=float)
    poor = df[POOR].to_numpy()
    v = run.sv.person_weight
    linear = {name: r for name, r in models.items() if getattr(r, "model_type", "") != "sklearn"}
    coefficients = {name: r.coef_table(spec) for name, r in linear.items()}
    regression = regression_table(linear, spec) if linear else None
    signs = unexpected_signs(run, linear) if linear else None
    coverage, curves, metrics, overlaps, preds = {}, {}, {}, {}, {}
    groups: dict[str, Any] = {}
    for name, r in models.items():
        preds[name] = pred = np.asarray(r.predict(df), dtype=float)
        ranking = ranking_of(r, pred)
        selected = select_by(ranking, share=run.headcount, weights=v, rule="rate").to_numpy()
        metrics[name] = targeting_metrics(poor, selected, v)
        curves[name] = error_curve(poor, ranking, v)
        table = group_table(df[logw], selected, weights=v, n_groups=10, ranked_by=f"{logw} (actual)")
        coverage[name] = table["coverage"]
        groups.setdefault("first", table)
        overlaps[name] = decile_overlap(actual, ranking, v)
    return ModelsResult(
        models=models, coefficients=coefficients, regression=regression, signs=signs,
        targeting=pd.DataFrame(metrics).T.rename_axis("model"),
        overlap_shares=pd.DataFrame({name: overlap_shares(t) for name, t in overlaps.items()}
                                    ).T.rename_axis("model"),
        overlaps=overlaps, coverage=pd.DataFrame(coverage), first_groups=groups["first"],
        curves=curves,
        auc=pd.Series({name: c.attrs.get("auc", np.nan) for name, c in curves.items()},
                      name="auc"),
        actual=actual, predictions=preds)


@dataclass
class Verdict:
    """The model with the lowest out-of-sample exclusion error at the programme's coverage,
    and its lead over the runner-up (:func:`verdict`).

    Attributes
    ----------
    line : str
        The programme's line as the comparison labels it ("poorest 20.1%").
    level : float
        Confidence level of the intervals.
    best : pandas.Series
        Comparison row of the best model (model, estimate, lower, upper).
    runner_up : pandas.Series or None
        Comparison row of the runner-up (None with one model).
    difference : pandas.Series or None
        Paired difference runner-up minus best (estimate, lower, upper; None when it could
        not be computed).
    """

    line: str
    level: float
    best: pd.Series
    runner_up: pd.Series | None = None
    difference: pd.Series | None = None

    @property
    def model(self) -> str:
        """Name of the recommended model."""
        return str(self.best["model"])


@dataclass
class ComparisonResult:
    """The models compared out of sample (:func:`step_compare`).

    Attributes
    ----------
    cross_validation : pandas.DataFrame
        Every cross-validation result (:func:`pmt.evaluate.cross_validate`).
    cross_validation_key : pandas.DataFrame
        Its exclusion error, inclusion error and coverage, by line, metric and model.
    predictions : pandas.DataFrame
        Cross-fitted predictions, one column per model.
    tradeoff_curves : dict of str to pandas.DataFrame
        Out-of-sample error curve of each model over every cut-off.
    operating_points : dict of str to tuple of float
        (exclusion error, inclusion error) of each model at the programme's coverage.
    comparison : pandas.DataFrame
        Paired PSU-bootstrap comparison of every model and difference
        (:func:`pmt.evaluate.compare`).
    comparison_key : pandas.DataFrame
        Its headline rows (exclusion error; with the line rule also coverage).
    optimism : pandas.DataFrame
        Exclusion error in sample against out of sample, by model and line.
    reference : str
        The model the paired differences are taken against.
    shares : list of float
        The population shares compared (:func:`compare_shares`), the programme's first.
    verdict : Verdict or None
        The recommendation (None when the comparison has no row at the programme's line).
    """

    cross_validation: pd.DataFrame
    cross_validation_key: pd.DataFrame
    predictions: pd.DataFrame
    tradeoff_curves: dict[str, pd.DataFrame]
    operating_points: dict[str, tuple[float, float]]
    comparison: pd.DataFrame
    comparison_key: pd.DataFrame
    optimism: pd.DataFrame
    reference: str
    shares: list[float]
    verdict: Verdict | None

    @property
    def best(self) -> str | None:
        """Name of the recommended model (None without a verdict)."""
        return self.verdict.model if self.verdict is not None else None


def step_compare(run: Run) -> ComparisonResult:
    """Compare the models out of sample: cross-validation means, then the paired PSU
    bootstrap over cross-fitted predictions (every model and every difference with a
    design-based interval), the in-sample optimism beside it, and the recommendation.
    """
    from pmt.evaluate import compare, cross_validate

    cfg = run.cfg
    ev = cfg.evaluation
    fitters = model_fitters(run)
    logw = cast(str, cfg.log_welfare)  # load_project_data sets it (_add_log_welfare)
    design = cfg.design()
    shares = compare_shares(run)
    level = float(ev["level"])
    with warnings.catch_warnings():
        _quiet_line_rule_warning()  # the line rule's caveat is said in the report's note
        # one pass of fold fits gives the table and the cross-fitted predictions (those of
        # cross_fit), and the whole-sample fits of step_models give its in-sample column
        cv, predictions = cross_validate(
            fitters, run.df, logw, n_folds=int(ev["folds"]), n_repeats=int(ev["repeats"]),
            shares=list(cfg.lines), rule=ev["rule"], seed=int(ev["seed"]), level=level,
            n_jobs=int(ev["n_jobs"]), return_predictions=True,
            in_sample=_in_sample_predictions(run), **design)
    key = cv[cv["metric"].isin(["exclusion_error", "inclusion_error", "coverage"])]
    value_cols = [c for c in cv.columns if c not in ("model", "line", "rule", "metric")]
    cv_key = key.set_index(["line", "metric", "model"])[value_cols].sort_index()
    run.note_step("cross-validated the models")
    curves, points = _tradeoff_out_of_sample(run, predictions)
    reference = next(iter(fitters))
    common = dict(shares=shares, rule=ev["rule"], reference=reference,
                  n_replicates=int(ev["replicates"]), seed=int(ev["seed"]), level=level,
                  n_jobs=int(ev["n_jobs"]), **design)
    if ev.get("benefit") is not None:
        # a benefit per person: every model also spends the same budget ("budget" rule)
        common.update(benefits=ev["benefit"],
                      rule=None if ev["rule"] == "rate" else ev["rule"])
    with warnings.catch_warnings():
        _quiet_line_rule_warning()
        boot = compare(predictions, run.df, logw, **common)
        in_sample = compare(_in_sample_predictions(run), run.df, logw, basis="in_sample",
                            **common)
    shown = boot[boot["metric"].isin(["exclusion_error", "coverage"])
                 if ev["rule"] == "line" else boot["metric"] == "exclusion_error"]
    result = ComparisonResult(
        cross_validation=cv, cross_validation_key=cv_key, predictions=predictions,
        tradeoff_curves=curves, operating_points=points, comparison=boot,
        comparison_key=shown.set_index(["line", "rule", "metric", "model"])[
            ["basis", "estimate", "se", "lower", "upper"]].sort_index(),
        optimism=_optimism(boot, in_sample), reference=reference, shares=shares,
        verdict=verdict(run, predictions, boot, common))
    run.note_step("compared the models out of sample with paired intervals")
    return result


def _in_sample_predictions(run: Run) -> pd.DataFrame:
    """The whole-sample fits' own predictions (:func:`step_models`), as :func:`compare`
    takes them, so the in-sample comparison refits nothing.
    """
    fitted: ModelsResult = run.results["models"]
    frame = pd.DataFrame(fitted.predictions, index=run.df.index)
    frame.attrs.update(basis="in_sample", n_folds=None, seed=None, folds=None,
                       higher_is_poorer={name: bool(getattr(m, "higher_is_poorer", False))
                                         for name, m in fitted.models.items()})
    return frame


def _tradeoff_out_of_sample(run: Run, predictions: pd.DataFrame
                            ) -> tuple[dict[str, pd.DataFrame], dict[str, tuple[float, float]]]:
    """Error trade-off of every model over all cut-offs of its cross-fitted score, and its
    operating point (exclusion, inclusion error) at the programme's coverage.
    """
    from pmt.evaluate import error_curve, select_by, targeting_metrics

    v = run.sv.person_weight
    poor = run.df[POOR].to_numpy()
    curves, points = {}, {}
    for name in predictions.columns:
        score = predictions[name].to_numpy(dtype=float)
        if predictions.attrs.get("higher_is_poorer", {}).get(name, False):
            score = -score
        curves[name] = error_curve(poor, score, v)
        chosen = select_by(score, share=run.headcount, weights=v, rule="rate").to_numpy()
        m = targeting_metrics(poor, chosen, v)
        points[name] = (m["exclusion_error"], m["inclusion_error"])
    return curves, points


def _quiet_line_rule_warning() -> None:
    """Silence only the line-rule caveat of compare/cross_validate (the report's notes say
    it); every other warning still shows.
    """
    warnings.filterwarnings("ignore", message="rule='line' compares models at different",
                            category=UserWarning)


def compare_shares(run: Run) -> list[float]:
    """The evaluation lines, with the programme's own headcount first (rounded to 0.1 %)."""
    shares = [round(run.headcount, 3)] + [q for q in run.cfg.lines
                                          if abs(q - run.headcount) > 0.005]
    return list(dict.fromkeys(shares))


def _optimism(boot: pd.DataFrame, in_sample: pd.DataFrame) -> pd.DataFrame:
    keep = ["model", "line", "rule", "estimate"]
    a = boot[(boot["metric"] == "exclusion_error") & ~boot["model"].str.contains(" - ")][keep]
    b = in_sample[(in_sample["metric"] == "exclusion_error")
                  & ~in_sample["model"].str.contains(" - ")][keep]
    table = a.merge(b, on=["model", "line", "rule"], suffixes=("_out_of_sample", "_in_sample"))
    table = table.rename(columns={"estimate_out_of_sample": "out_of_sample",
                                  "estimate_in_sample": "in_sample"})
    table["optimism"] = table["out_of_sample"] - table["in_sample"]
    return table[["line", "rule", "model", "in_sample", "out_of_sample", "optimism"]]


def verdict(run: Run, predictions: pd.DataFrame, boot: pd.DataFrame, common: dict
            ) -> Verdict | None:
    """The model with the lowest out-of-sample exclusion error at the programme's coverage,
    and its paired difference with the runner-up (None without a row at that line).
    """
    from pmt.evaluate import compare

    # the programme's own line comes first (compare_shares); its label as compare wrote it
    line = next((x for x in boot["line"].dropna().unique() if str(x).startswith("poorest")), "")
    at = boot[(boot["metric"] == "exclusion_error") & (boot["line"] == line)
              & (boot["rule"] == run.cfg.evaluation["rule"])
              & ~boot["model"].str.contains(" - ")].sort_values("estimate")
    if at.empty:
        return None
    found = Verdict(line=str(line), level=float(common["level"]), best=at.iloc[0])
    if len(at) < 2:
        return found
    found.runner_up = runner = at.iloc[1]
    with warnings.catch_warnings():
        _quiet_line_rule_warning()
        paired = compare(predictions, run.df, cast(str, run.cfg.log_welfare),
                         **{**common, "shares": [compare_shares(run)[0]],
                            "reference": found.model})
    row = paired[(paired["model"] == f"{runner['model']} - {found.model}")
                 & (paired["metric"] == "exclusion_error")
                 & (paired["rule"] == run.cfg.evaluation["rule"])]
    if not row.empty:
        found.difference = row.iloc[0]
    return found


@dataclass
class WelfareResult:
    """Models against baselines at the same coverage and budget (:func:`step_welfare`).

    Attributes
    ----------
    table : pandas.DataFrame
        Every scheme and paired difference, by measure, with intervals
        (:func:`pmt.evaluate.welfare_comparison`; ``attrs["budget"]``: the total budget).
    key : pandas.DataFrame
        Headline measures (columns) of each scheme (rows).
    reference : str
        The model the paired differences are taken against.
    poverty_gap : pandas.DataFrame
        Change in the poverty gap (FGT1) of each scheme (index), with lower and upper.
    best, best_baseline : str or None
        The recommended model and the baseline with the largest fall in the poverty gap
        (None when there is no comparison of the two).
    difference : pandas.Series or None
        Paired difference of the change in the poverty gap, best baseline minus best model.
    """

    table: pd.DataFrame
    key: pd.DataFrame
    reference: str
    poverty_gap: pd.DataFrame
    best: str | None = None
    best_baseline: str | None = None
    difference: pd.Series | None = None


def step_welfare(run: Run, predictions: pd.DataFrame, best: str | None
                 ) -> WelfareResult | None:
    """Models against baselines at the same coverage and budget, judged by poverty and
    welfare (Brown, Ravallion and van de Walle 2018), out of sample; None without
    ``baselines`` in the config or without household sizes.
    """
    from pmt.evaluate import (
        Categorical,
        Geographic,
        RandomSelection,
        Universal,
        welfare_comparison,
    )

    cfg = run.cfg.baselines
    if cfg is None or run.cfg.size is None:
        return None
    baselines = {"Random selection": RandomSelection(), "Universal transfer": Universal()}
    cat = cfg.get("categorical")
    if cat:
        label = run.label(cat["column"])
        baselines[f"Category: {label}"] = Categorical(cat["column"],
                                                      above=float(cat.get("above", 0)))
    geo = cfg.get("geographic")
    if geo:
        rates = None
        if geo.get("rates"):
            table = pd.read_csv(run.cfg.path(geo["rates"]))
            if table.shape[1] < 2:
                raise ConfigError("baselines.geographic.rates: a CSV with two columns, area "
                                  "and poverty rate.")
            rates = dict(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))
        baselines[f"Geographic: {run.label(geo['area'])}"] = Geographic(
            geo["area"], rates=rates, n_folds=int(run.cfg.evaluation["folds"]),
            seed=int(run.cfg.evaluation["seed"]))
    ev = run.cfg.evaluation
    reference = best if best in predictions.columns else predictions.columns[0]
    table = welfare_comparison(
        predictions, run.sv, run.cfg.welfare, run.line, share=run.headcount,
        benefit=cfg.get("benefit", "flat"), baselines=baselines, reference=reference,
        rho=float(cfg.get("rho", 2.0)), n_replicates=int(ev["replicates"]),
        level=float(ev["level"]), seed=int(ev["seed"]))
    table.insert(2, "basis", predictions.attrs["basis"])  # cross_fit: out_of_sample
    key = ["coverage", "exclusion_error", "budget_share_poor", "FGT0_change", "FGT1_change",
           "welfare_ede_change", "weighted_exclusion_error"]
    wide = (table[table["measure"].isin(key) & (table["kind"] != "difference")]
            .pivot_table(index="scheme", columns="measure", values="estimate", sort=False)
            .reindex(columns=[k for k in key if k in set(table["measure"])]))
    gap = table[(table["measure"] == "FGT1_change") & (table["scheme"] != "No transfer")]
    levels = gap[gap["kind"] != "difference"].set_index("scheme")
    result = WelfareResult(table=table, key=wide, reference=str(reference), poverty_gap=levels)
    base = levels[levels["kind"] == "baseline"] if len(levels) else levels
    if best is None or base.empty or best not in levels.index:
        return result
    top = base["estimate"].idxmin()  # the largest fall in the poverty gap
    diff = gap[gap["scheme"] == f"{top} - {reference}"]
    if not diff.empty:
        result.best, result.best_baseline, result.difference = best, str(top), diff.iloc[0]
    return result


@dataclass
class SubgroupResult:
    """Out-of-sample performance of the first model by subgroup (:func:`step_subgroups`).

    Attributes
    ----------
    model : str
        The model judged (the config's first).
    groups : list of str
        Columns whose groups are compared (with ``household_type`` when it could be built).
    table : pandas.DataFrame
        Targeting metrics by (column label, group label) with the bootstrap interval of the
        coverage of the poor (poorest 20 % by actual and by predicted welfare).
    quintiles : pandas.DataFrame
        Coverage by quintile of actual welfare, each against the poorest with paired tests
        and a Rao-Scott test of equal coverage (``attrs["significance"]``).
    parity : pandas.DataFrame
        Exclusion and inclusion errors of each group against everyone's, with parity ratios,
        paired PSU-bootstrap intervals and Holm-adjusted flags
        (:func:`pmt.evaluate.parity_table`), groups labelled.
    """

    model: str
    groups: list[str]
    table: pd.DataFrame
    quintiles: pd.DataFrame
    parity: pd.DataFrame


def step_subgroups(run: Run, models, predictions: pd.DataFrame) -> SubgroupResult | None:
    """Performance of the first model by the config's subgroups (region, urban, ...), out of
    sample: from the cross-fitted predictions of :func:`step_compare`; None without
    subgroups in the data.
    """
    from pmt.evaluate import bootstrap_metrics, classify_poor, select_by, subgroup_metrics

    groups = [c for c in run.cfg.subgroups or () if c in run.df.columns]
    if not groups:
        return None
    first = next(iter(models))
    groups = _with_household_type(run, groups)
    v = run.sv.person_weight
    pred = predictions[first].to_numpy(dtype=float)
    if predictions.attrs.get("higher_is_poorer", {}).get(first, False):
        pred = -pred
    poor = classify_poor(run.df[run.cfg.welfare], share=0.2, weights=v)
    selected = select_by(pred, share=0.2, weights=v, rule="rate")
    table = subgroup_metrics(poor, selected, run.df[groups], weights=v)
    # design-based intervals of each subgroup's coverage of the poor (selection held fixed)
    ev = run.cfg.evaluation
    boot = bootstrap_metrics(run.sv, np.asarray(poor), np.asarray(selected), groups=groups,
                             n_replicates=int(ev["replicates"]), seed=int(ev["seed"]),
                             level=float(ev["level"]))
    cp = boot[boot["metric"] == "coverage_poor"].set_index(["block", "group"])
    keys = [(b, g if b == "Total" else g) for b, g in table.index]
    lookup = {(str(b), str(g)): (lo, hi) for (b, g), lo, hi in
              zip(cp.index, cp["lower"], cp["upper"], strict=True)}
    bounds = [lookup.get((str(b), str(g)), (np.nan, np.nan)) for b, g in keys]
    pos = list(table.columns).index("coverage_poor") + 1 if "coverage_poor" in table else None
    if pos is not None:
        table.insert(pos, "coverage_poor_lower", [lo for lo, _ in bounds])
        table.insert(pos + 1, "coverage_poor_upper", [hi for _, hi in bounds])
    names = [(block if block == "Total" else run.label(block),
              group if block == "Total" else run.value_label(block, group))
             for block, group in table.index]
    table.index = pd.MultiIndex.from_tuples(names, names=table.index.names)
    return SubgroupResult(model=first, groups=groups, table=table,
                          quintiles=_quintile_coverage_test(run, np.asarray(selected)),
                          parity=parity_of(run, np.asarray(poor), np.asarray(selected), groups))


def parity_of(run: Run, poor: np.ndarray, selected: np.ndarray, groups: list[str]
              ) -> pd.DataFrame:
    """:func:`pmt.evaluate.parity_table` of a selection by the run's groups, labelled."""
    from pmt.evaluate.parity import parity_table

    ev = run.cfg.evaluation
    parity = parity_table(run.sv, poor, selected, groups, n_replicates=int(ev["replicates"]),
                          seed=int(ev["seed"]), level=float(ev["level"]))
    labelled = parity.assign(
        group=[run.value_label(b, g) for b, g in zip(parity["block"], parity["group"],
                                                      strict=True)],
        block=[run.label(b) for b in parity["block"]])
    labelled.attrs = parity.attrs
    return labelled


def _with_household_type(run: Run, groups: list[str]) -> list[str]:
    """Add the household type (pmt.household_typology) when the data have the member
    counts it needs (adults, children, elderly).
    """
    from pmt.errors import PMTError
    from pmt.typology import household_typology

    if "household_type" in run.df.columns:
        return groups
    try:
        kind = household_typology(run.df, size=run.cfg.size)
    except PMTError:
        return groups  # the counts are not in the data
    run.df["household_type"] = kind.to_numpy()  # run.sv holds the same frame
    return [*groups, "household_type"]


def _quintile_coverage_test(run: Run, selected: np.ndarray) -> pd.DataFrame:
    """Coverage of a selection by quintile of actual welfare, each quintile against the
    poorest with paired PSU-bootstrap tests, and a Rao-Scott test of equal coverage.
    """
    from pmt.evaluate import group_table
    from pmt.evaluate.significance import flag_significance, group_differences, rao_scott_test

    ev = run.cfg.evaluation
    v = run.sv.person_weight
    quintile = run.sv.quantile_groups(run.cfg.welfare, 5)
    differences = group_differences(run.sv, selected.astype(float), quintile, reference=1,
                                    n_replicates=int(ev["replicates"]), seed=int(ev["seed"]),
                                    level=float(ev["level"]))
    test = rao_scott_test(run.sv, selected.astype(float), quintile)
    table = group_table(run.df[run.cfg.welfare], selected, weights=v, n_groups=5,
                        ranked_by=f"{run.welfare_name} (actual)")
    return flag_significance(table, differences, column="coverage", test=test)


@dataclass
class HmtResult:
    """The hybrid means test and the four-method comparison (:func:`step_hmt`).

    Attributes
    ----------
    model : pmt.HybridMeansTest
        The fitted hybrid means test.
    coefficients : dict of str to pandas.DataFrame
        Regression table (selection probit and outcome) of each hard-to-verify income part.
    validation : pandas.DataFrame
        Predicted against actual income per capita, in sample.
    crosstab : pandas.DataFrame
        Decile cross-tabulation of actual and predicted income per capita.
    methods : pandas.DataFrame
        Verifiable-income means test, PMT, HMT and perfect targeting at the same threshold
        and budget (:func:`pmt.simulate.methods.compare_methods`).
    """

    model: Any
    coefficients: dict[str, pd.DataFrame]
    validation: pd.DataFrame
    crosstab: pd.DataFrame
    methods: pd.DataFrame


def step_hmt(run: Run, pmt_model) -> HmtResult | None:
    """Fit the hybrid means test; validation and the four-method comparison (None without
    ``hmt`` in the config).
    """
    import pmt
    from pmt.datasets import HTV_OUTCOME_FORMULA, HTV_SELECTION_FORMULA
    from pmt.evaluate.methods import prediction_validation
    from pmt.models.regression_table import regression_table
    from pmt.simulate.methods import compare_methods

    h, cfg, df = run.cfg.hmt, run.cfg, run.df
    if not h:
        return None
    selection = HTV_SELECTION_FORMULA if h["selection"] == "default" else h["selection"]
    outcome = HTV_OUTCOME_FORMULA if h["outcome"] == "default" else h["outcome"]
    model = pmt.HybridMeansTest(verifiable=h["verifiable"], selection=selection,
                                outcome=outcome, size=cfg.size, method=h["method"])
    model.fit(df, weights=cfg.weight, cluster=cfg.psu)
    coefficients = {part: regression_table(
        {"selection (probit)": heck.selection, "outcome (log amount)": heck}, run.spec)
        for part, heck in model.models_.items()}
    size = df[cfg.size].to_numpy(dtype=float)
    summary, table = prediction_validation(df[h["income"]].to_numpy(dtype=float) / size,
                                           np.asarray(model.predict(df), dtype=float),
                                           df[cfg.weight], size=size)
    # the HMT step reads the size and weight columns above: a config with an HMT names both
    methods = compare_methods(df, run.line, income=h["income"], verifiable=h["verifiable"],
                              size=cast(str, cfg.size), weight=cast(str, cfg.weight),
                              pmt=pmt_model, hmt=model,
                              poverty_line=run.line)
    run.note_step("fitted the hybrid means test and compared four methods")
    return HmtResult(model=model, coefficients=coefficients, validation=summary,
                     crosstab=table, methods=methods)


@dataclass
class ScorecardResult:
    """The scorecard and its forms (:func:`step_scorecard`).

    Attributes
    ----------
    scorecard : pmt.Scorecard
        The integer-point scorecard.
    model : str
        The model it was built from.
    points : pandas.DataFrame
        Points per answer (:meth:`pmt.Scorecard.points_table`).
    rounding_loss : pandas.DataFrame or None
        Targeting of the exact model against the rounded scorecard (None without it).
    files : dict of str to Path
        The scorecard JSON and the enumerator and analyst forms written, by name.
    likelihood : pandas.DataFrame or None
        Poverty likelihood by score decile band at the line and at half and 1.5 times it,
        with PSU-bootstrap intervals (:func:`pmt.evaluate.poverty_likelihood`); None for a
        relative line, whose multiples mean nothing.
    likelihood_accuracy : pandas.DataFrame or None
        Bias and precision of poverty rates estimated with a likelihood table built on half
        of the PSUs (model, scorecard and table) and applied to the other half
        (:func:`pmt.evaluate.likelihood_accuracy`).
    """

    scorecard: Any
    model: str
    points: pd.DataFrame
    rounding_loss: pd.DataFrame | None
    files: dict[str, Path]
    likelihood: pd.DataFrame | None = None
    likelihood_accuracy: pd.DataFrame | None = None


def step_scorecard(run: Run, models, art_dir: Path) -> ScorecardResult | None:
    """Turn the chosen model into an integer-point scorecard, an enumerator form (questions
    and answers only) and an analyst form (points, cut-off, rounding loss); writes them
    beside the models (None without ``scorecard`` in the config).
    """
    from pmt.scorecard import Scorecard

    sc_cfg = run.cfg.scorecard
    if not sc_cfg:
        return None
    name = sc_cfg["model"]
    with warnings.catch_warnings():
        # the rounding warning is printed here and shown in the report
        warnings.filterwarnings("ignore", message="banding and rounding change",
                                category=UserWarning)
        sc = Scorecard.from_model(models[name], data=run.df, weights=run.cfg.weight,
                                  threshold=run.log_line, max_points=int(sc_cfg["max_points"]),
                                  spec=run.spec, name=f"PMT scorecard ({name})")
    files = {"scorecard": sc.to_json(art_dir / "scorecard.json"),
             **sc.write_forms(art_dir.parent, spec=run.spec)}
    if sc.rounding_warning and run.timer is not None:
        run.timer.say(f"warning: {sc.rounding_warning}")
    loss = None
    if sc.rounding:
        loss = pd.DataFrame(sc.rounding) if isinstance(
            next(iter(sc.rounding.values())), dict | list) else pd.Series(sc.rounding, name="value")
    run.note_step("built the scorecard, its enumerator form and its analyst form")
    likelihood = accuracy = None
    if not run.cfg.relative_line:
        likelihood, accuracy = _likelihood_tables(run, sc, name, int(sc_cfg["max_points"]))
        run.note_step("tabulated the poverty likelihood by score and checked it on held-out "
                      "PSUs")
    return ScorecardResult(scorecard=sc, model=name, points=sc.points_table(),
                           rounding_loss=loss, files=files, likelihood=likelihood,
                           likelihood_accuracy=accuracy)


#: poverty lines of the likelihood table, as multiples of the config's line
LIKELIHOOD_LINES = (0.5, 1.0, 1.5)


def _likelihood_tables(run: Run, sc, name: str, max_points: int
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The poverty-likelihood table of the scorecard, and its accuracy out of sample.

    The published table scores everyone with the scorecard of the whole sample. Its
    accuracy is judged honestly: the model, its scorecard and the table are rebuilt on half
    of the PSUs (balanced within strata) and the estimated poverty rates of the other half
    are compared with their true rates.
    """
    from pmt.evaluate import psu_folds
    from pmt.evaluate.likelihood import likelihood_accuracy, poverty_likelihood
    from pmt.scorecard import Scorecard

    ev = run.cfg.evaluation
    reps, seed = int(ev["replicates"]), int(ev["seed"])
    lines = {f"{k:g} x line": k * run.line for k in LIKELIHOOD_LINES}
    welfare = run.df[run.cfg.welfare].to_numpy(dtype=float)
    scores = sc.score(run.df)["score"].to_numpy(dtype=float)
    table = poverty_likelihood(scores, welfare, lines, survey=run.sv, bands=10,
                               n_replicates=reps, seed=seed, level=float(ev["level"]))
    half = psu_folds(run.sv, 2, np.random.SeedSequence([seed, 1])) == 0
    train, test = run.df.loc[half], run.df.loc[~half]
    fit = model_fitters(run)[name]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="banding and rounding change",
                                category=UserWarning)
        half_card = Scorecard.from_model(fit(train), data=train, weights=run.cfg.weight,
                                         threshold=run.log_line,
                                         max_points=max_points, spec=run.spec)
    train_sv = Survey(train, **run.cfg.design())
    test_sv = Survey(test, **run.cfg.design())
    half_table = poverty_likelihood(
        half_card.score(train)["score"].to_numpy(dtype=float), welfare[half], lines,
        survey=train_sv, bands=10, n_replicates=reps, seed=seed)
    accuracy = likelihood_accuracy(
        half_table, half_card.score(test)["score"].to_numpy(dtype=float), welfare[~half],
        lines, survey=test_sv, n_replicates=reps, seed=seed)
    return table, accuracy


@dataclass
class DecayResult:
    """Decay of the models over survey rounds (:func:`step_decay`).

    Attributes
    ----------
    round : str
        The column naming the round (``evaluation.rounds``).
    tables : dict of str to pandas.DataFrame
        :func:`pmt.evaluate.decay_table` of every model that can be saved, by name.
    """

    round: str
    tables: dict[str, pd.DataFrame]


def step_decay(run: Run, models: Mapping) -> DecayResult | None:
    """Each model fitted on the first survey round and judged out of sample on it and on the
    later rounds (``evaluation.rounds``); None without rounds.
    """
    from pmt.evaluate.decay import decay_table

    column = run.cfg.evaluation.get("rounds")
    if not column:
        return None
    n_rounds = run.df[column].nunique()
    if n_rounds < 2:
        raise ConfigError(f"evaluation.rounds: column '{column}' holds {n_rounds} round; "
                          "decay needs two or more (or set `rounds: null`).")
    ev = run.cfg.evaluation
    fitters = model_fitters(run)
    tables = {}
    for name, model in models.items():
        if getattr(model, "model_type", "") == "sklearn":
            continue
        share = None if not run.cfg.relative_line else run.headcount
        line = None if run.cfg.relative_line else (
            run.cfg.line if isinstance(run.cfg.line, str) else run.line)
        tables[name] = decay_table(
            fitters[name], run.df, round=column, welfare=cast(str, run.cfg.welfare),
            weight=cast(str, run.cfg.weight), size=run.cfg.size, strata=run.cfg.strata,
            psu=run.cfg.psu, share=share, line=line,
            higher_is_poorer=bool(getattr(model, "higher_is_poorer", False)),
            n_folds=int(ev["folds"]), n_replicates=int(ev["replicates"]),
            seed=int(ev["seed"]), level=float(ev["level"]))
    run.note_step(f"judged {len(tables)} models fitted on the first of {n_rounds} rounds")
    return DecayResult(round=column, tables=tables)


def step_model_cards(run: Run, models: Mapping, art_dir: Path) -> dict[str, Path]:
    """Write a model card (Markdown and HTML, :func:`pmt.report.model_card.model_card`)
    beside every exported PMT model; returns the paths by name.

    Performance and parity are out of sample (cross-fitted predictions, paired PSU
    bootstrap) at the programme's coverage when the models were compared, in sample
    otherwise; the scorecard's rounding loss goes on its model's card.
    """
    from pmt.evaluate import select_by
    from pmt.report.model_card import model_card

    compared: ComparisonResult | None = run.results.get("compare")
    subgroups: SubgroupResult | None = run.results.get("subgroups")
    scorecard: ScorecardResult | None = run.results.get("scorecard")
    ev = run.cfg.evaluation
    groups = subgroups.groups if subgroups is not None else []
    poor = run.df[POOR].to_numpy()
    source = run.source_note.removeprefix("Source: ").replace("; computed with pmt", "")
    population = (f"the population the survey represents: {run.sv.person_weight.sum():,.0f} "
                  f"people in {run.sv.n_households:,} sample households, weighted")
    paths: dict[str, Path] = {}
    for name, model in models.items():
        if getattr(model, "model_type", "") == "sklearn":
            continue  # no artifact, no card
        basis, performance, parity = "in sample", None, None
        fitted: ModelsResult | None = run.results.get("models")
        if compared is not None:
            rows = compared.comparison
            # the first line and rule of the comparison are the programme's (compare_shares)
            rows = rows[(rows["model"] == name) & (rows["line"] == rows["line"].iloc[0])
                        & (rows["rule"] == rows["rule"].iloc[0])
                        & rows["metric"].isin(["exclusion_error", "inclusion_error",
                                               "coverage"])]
            performance, basis = rows, "out of sample"
            if groups:
                score = ranking_of(model, compared.predictions[name])
                selected = select_by(score, share=run.headcount, weights=run.sv.person_weight,
                                     rule="rate").to_numpy()
                parity = parity_of(run, poor, selected, groups)
                parity.attrs["note"] = (
                    f"Out of sample (cross-fitted predictions): the poor are those below the "
                    f"line ({run.headcount:.1%} of people), the selected the same share with "
                    f"the lowest predicted welfare (rate rule). {parity.attrs.get('note', '')}")
        elif fitted is not None and name in fitted.targeting.index:
            row = fitted.targeting.loc[name]
            performance = pd.DataFrame({"metric": list(row.index), "estimate": row.to_numpy()})
            performance = performance[performance["metric"].isin(
                ["exclusion_error", "inclusion_error", "coverage"])]
        rounding = (getattr(scorecard.scorecard, "rounding_table", None)
                    if scorecard is not None and scorecard.model == name else None)
        decay: DecayResult | None = run.results.get("decay")
        card = model_card(
            model, name=name, spec=run.spec, data_source=source, population=population,
            coverage=run.headcount, performance=performance, basis=basis,
            level=float(ev["level"]), parity=parity, rounding=rounding,
            decay=None if decay is None else decay.tables.get(name))
        written = card.write(art_dir, f"model_card_{slug(name)}")
        paths[f"model card {name}"] = written["markdown"]
        paths[f"model card {name} (HTML)"] = written["html"]
    run.note_step(f"wrote {len(paths) // 2} model cards")
    return paths


@dataclass
class PolicyOutcome:
    """One simulated policy (part of :class:`SimulationResult`).

    Attributes
    ----------
    title : str
        The policy's name.
    result : pmt.simulate.PolicyFileResult
        Everything :func:`pmt.simulate.run_policy_file` returned (policy, tables, welfare,
        outcome).
    currency : str or None
        The policy's currency (else the config's).
    persons : pandas.DataFrame or None
        Poverty and coverage of the roster's person groups (None without roster groups).
    by_family : bool
        Whether the policy assesses families inside households.
    benefit_per_person : numpy.ndarray or None
        Each household's benefit divided by its size (None without household sizes).
    """

    title: str
    result: Any
    currency: str | None
    persons: pd.DataFrame | None
    by_family: bool
    benefit_per_person: np.ndarray | None


@dataclass
class SimulationResult:
    """The config's policies and the budget-neutral comparison (:func:`step_simulate`).

    Attributes
    ----------
    scoring_model : str or None
        The model whose predictions score households (None when it was not fitted).
    policies : list of PolicyOutcome
        Each policy, in config order.
    person_weight : numpy.ndarray
        Person weight of each household in the simulations' survey.
    persons_by_group : pandas.DataFrame or None
        Poverty and coverage of the person groups under every policy (None without them).
    budget_neutral : pandas.DataFrame or None
        :func:`pmt.simulate.budget_neutral_comparison` (None when not asked or skipped).
    budget_neutral_skipped : bool
        True when the comparison was asked but the survey has no household sizes.
    """

    scoring_model: str | None
    policies: list[PolicyOutcome]
    person_weight: np.ndarray
    persons_by_group: pd.DataFrame | None = None
    budget_neutral: pd.DataFrame | None = None
    budget_neutral_skipped: bool = False


def step_simulate(run: Run, models) -> SimulationResult | None:
    """Simulate the config's policies and a budget-neutral comparison (None when the config
    has neither).
    """
    from pmt.simulate import budget_neutral_comparison, run_policy_file
    from pmt.simulate.persons import person_results
    from pmt.simulate.units import with_families

    cfg = run.cfg
    policies = list(cfg.policies)
    bn = cfg.budget_neutral
    if not policies and bn is None:
        return None
    scored = run.df.copy()
    name = (cfg.scorecard or {}).get("model") or next(
        (k for k, m in cfg.models.items() if m.type in ("ols", "truncated_ols", "quantreg")),
        None)
    if name in models:
        scored["pmt_score"] = np.asarray(models[name].predict(run.df), dtype=float)
        scored["pmt_level"] = np.asarray(models[name].predict(run.df, scale="level"),
                                         dtype=float)
    ssv = Survey(scored, **cfg.design())
    units = run.roster.units(scored) if run.roster is not None else None
    if units is not None:
        ssv = with_families(ssv, units)
    outcomes = []
    persons = {}
    for item in policies:
        path = cfg.path(item)
        if not path.exists():
            path = packaged_example(str(item))
        # the policy file's own scores, solve and scenario settings apply; its data section
        # is replaced by the project's survey
        result = run_policy_file(path, data=ssv)
        title = result.policy.name
        by_family = result.outcome.units is not None
        table = None
        if run.roster is not None and run.roster.groups:
            roster = run.roster
            table = persons[title] = person_results(
                result, ssv, household_row=roster.household_row, groups=roster.groups,
                family_row=roster.family_row if by_family else None)
        per_person = None
        if cfg.size is not None:
            per_person = np.asarray(result.outcome.benefit, dtype=float) / run.df[
                cfg.size].to_numpy(dtype=float)
        outcomes.append(PolicyOutcome(
            title=title, result=result,
            currency=getattr(result.policy, "currency", None) or cfg.currency,
            persons=table, by_family=by_family, benefit_per_person=per_person))
    simulated = SimulationResult(scoring_model=name if name in models else None,
                                 policies=outcomes, person_weight=ssv.person_weight)
    if persons:
        columns = ["poverty_before", "poverty_after", "change", "se_change",
                   "coverage_household", "coverage_family"]
        simulated.persons_by_group = pd.concat(
            {t: tab.reindex(columns=columns) for t, tab in persons.items()},
            names=["policy", "group"]).dropna(axis=1, how="all")
    if bn is not None and "pmt_level" in scored:
        if cfg.size is None:
            simulated.budget_neutral_skipped = True
        else:
            simulated.budget_neutral = budget_neutral_comparison(
                ssv, {f"PMT ({name})": "pmt_level"}, welfare=cast(str, cfg.welfare),
                line=run.line,
                children=bn.get("children") or None, elderly=bn.get("elderly"),
                disabled=bn.get("disabled"), female_head=bn.get("female_head"))
    run.note_step(f"simulated {len(policies)} policies"
                   + (" and a budget-neutral comparison" if bn is not None else ""))
    return simulated


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def check_out_dir(out_dir: Path) -> Path:
    """An output folder that can be written: not a file, not under a file."""
    out_dir = Path(out_dir)
    for p in [out_dir, *out_dir.parents]:
        if p.exists() and not p.is_dir():
            raise ConfigError(f"output folder '{out_dir}': '{p}' is a file, not a folder; choose "
                              "another output folder (--out or outputs.dir).")
        if p.exists():
            break
    return out_dir


def publish(staging: Path, out_dir: Path, paths: Mapping[str, Path]) -> dict[str, Path]:
    """Move a successful run's files from ``staging`` into ``out_dir``.

    Each file is moved with an atomic rename; files that the previous run recorded in the
    folder's manifest and this run did not write are removed, so the folder never mixes
    outputs of two runs. Other files in the folder are left alone.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST
    previous: list[str] = []
    if manifest.is_file():
        try:
            previous = list(json.loads(manifest.read_text(encoding="utf-8")).get("files", []))
        except (ValueError, AttributeError):
            previous = []
    moved: dict[str, Path] = {}
    written: list[str] = []
    for key, path in paths.items():
        rel = Path(path).relative_to(staging)
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        moved[key] = dest
        written.append(rel.as_posix())
    for old in previous:
        stale = out_dir / old
        if old not in written and stale.is_file() and stale.resolve().is_relative_to(
                out_dir.resolve()):
            stale.unlink()
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text(json.dumps({"files": sorted(written)}, indent=1), encoding="utf-8")
    os.replace(tmp, manifest)
    return moved


def run_project(config: Mapping | str | Path | ProjectConfig, step: str = "report",
                out: str | Path | None = None, say: Say = print,
                models_dir: str | Path | None = None, pdf: bool | None = False
                ) -> dict[str, Path]:
    """Run a project config: ``step`` is "fit", "compare" or "report" (everything).

    ``config`` is a YAML path, the YAML content as a dict, or a parsed
    :class:`pmt.config.ProjectConfig`. ``pdf=True`` also prints ``report.pdf`` through
    headless Chromium (an error when none is installed); ``pdf=None`` prints it when
    Chromium is found and says so when not. Returns a mapping of output names to the files
    written.
    """
    if pdf is None:
        from pmt.report.pdf import find_chromium

        pdf = find_chromium() is not None
        if not pdf:
            say("note: no Chromium found, so no report.pdf (install chromium, or `make "
                "browser`); report.html prints to PDF from any browser.")
    from threadpoolctl import threadpool_limits

    if step not in ("fit", "compare", "report"):
        raise ConfigError(f"step must be 'fit', 'compare' or 'report'; got {step!r}.")
    if isinstance(config, ProjectConfig):
        cfg = config
    elif isinstance(config, str | Path):
        cfg = load_config(config)
    else:
        cfg = parse_config(config)
    out_dir = check_out_dir(Path(out) if out is not None else cfg.out_dir)
    # One BLAS/OpenMP thread per process: on small machines nested threading makes the
    # many small fits of cross-validation and bootstrap many times slower.
    with threadpool_limits(1):
        return _run_project(cfg, step, out_dir, say, models_dir, bool(pdf))


def _run_project(cfg: ProjectConfig, step: str, out_dir: Path, say: Say, models_dir,
                 pdf: bool = False) -> dict[str, Path]:
    from pmt.artifacts import save_model

    timer = Timer(say)
    run = prepare_run(cfg, say)
    run.timer = timer
    run.step = step
    cfg = run.cfg
    timer.step(f"loaded and validated {len(run.df):,} households ({run.sv})")
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    try:
        art_dir = staging / "models"
        art_dir.mkdir()
        results = run.results
        out = run.out
        summary = results["summary"] = step_summary(run)
        sections.summary_section(out, summary, run)
        say(summary.poverty.to_string())
        fitted = results["models"] = step_models(run)
        sections.models_sections(out, fitted, run)
        say(fitted.targeting.round(3).to_string())
        models = fitted.models
        for name, r in models.items():
            if getattr(r, "model_type", "") != "sklearn":
                # "threshold" is on the model's own scale, the key scorecards and registry
                # scoring read: the log line for welfare models; models of P(poor) have no
                # natural probability cut-off, so none is saved for them
                thresholds = (None if getattr(r, "higher_is_poorer", False)
                              else {"threshold": run.log_line})
                out.artifacts[f"model {name}"] = save_model(
                    r, art_dir / f"pmt_{slug(name)}.json", spec=run.spec, thresholds=thresholds,
                    data=run.df, weights=cfg.weight, name=name)
        if step in ("compare", "report"):
            compared = results["compare"] = step_compare(run)
            sections.comparison_section(out, compared, run)
            welfare = step_welfare(run, compared.predictions, compared.best)
            if welfare is not None:
                results["welfare"] = welfare
                sections.welfare_section(out, welfare, run)
                if welfare.difference is not None:
                    run.note_step("compared the models with baselines by poverty and welfare")
            say(compared.comparison_key.round(3).to_string())
            subgroups = step_subgroups(run, models, compared.predictions)
            if subgroups is not None:
                results["subgroups"] = subgroups
                sections.subgroup_section(out, subgroups, run)
            decay = step_decay(run, models)
            if decay is not None:
                results["decay"] = decay
                sections.decay_section(out, decay, run)
        if step == "report":
            first_ols = next((m for m in models.values()
                              if getattr(m, "model_type", "") == "ols"), None)
            hmt = step_hmt(run, first_ols)
            if hmt is not None:
                results["hmt"] = hmt
                sections.hmt_section(out, hmt, run)
                out.artifacts["model HMT"] = save_model(
                    hmt.model, art_dir / "hmt.json", spec=run.spec, name="Hybrid means test")
                say(hmt.methods.round(3).to_string())
            card = step_scorecard(run, models, art_dir)
            if card is not None:
                results["scorecard"] = card
                out.artifacts.update(card.files)
                sections.scorecard_section(out, card, run)
            simulated = step_simulate(run, models)
            if simulated is not None:
                results["simulate"] = simulated
                sections.simulation_section(out, simulated, run)
                if simulated.budget_neutral is not None:
                    say(simulated.budget_neutral.round(3).to_string())
        out.artifacts.update(step_model_cards(run, models, art_dir))
        out.sections.insert(0, sections.executive_summary(
            run, results.get("compare"), results.get("welfare"), results.get("scorecard")))
        title = cfg.name or (run.spec.description or run.spec.name if run.spec else "pmt report")
        subtitle = (f"{run.source_note}. Every table is also in tables.xlsx; figures are in "
                    "figures/.")
        staged = write_outputs(run.out, staging, title, subtitle, pdf=pdf)
        paths = publish(staging, out_dir, staged)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if models_dir is not None:
        dest = Path(models_dir)
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted((out_dir / "models").glob("*.json")):
            shutil.copyfile(p, dest / p.name)
    timer.step("wrote the outputs")
    for key, path in paths.items():
        say(f"  {key:<34} {path}")
    say(f"Report: {paths['report']}")
    return paths


def run_demo(out: Path = Path("out"), n_households: int = 20_000, seed: int = 0,
             models_dir: str | Path | None = None, say: Say = print,
             pdf: bool | None = None) -> dict[str, Path]:
    """The main job: the whole workflow on the embedded synthetic survey.

    Parameters
    ----------
    out : Path
        Output folder: report.html, tables.xlsx, figures/*.png, models/*.json.
    n_households : int
        Size of the synthetic survey (at least 1,000).
    seed : int
        Seed of the synthetic survey (the models and bootstrap use their own fixed seeds).
    models_dir : Path, optional
        Also copy the model and scorecard artifacts here (the repository's ``models/``).
    pdf : bool or None
        Print ``report.pdf``: None (default) when Chromium is installed.
    """
    if n_households < 1000:
        raise ConfigError(f"--households must be at least 1000 for the demo; got {n_households}.")
    cfg = parse_config({"data": {"source": "synthetic", "n_households": int(n_households),
                                 "seed": int(seed)},
                        "outputs": {"dir": str(out)}})
    say(f"pmt demo: {n_households:,} synthetic households (seed {seed}) -> {out}/")
    return run_project(cfg, step="report", out=out, say=say, models_dir=models_dir, pdf=pdf)


# --------------------------------------------------------------------------------------
# the other commands' bodies live in pmt.cli (validate, scorecard, score, simulate)
# --------------------------------------------------------------------------------------
_MOVED_TO_CLI = ("validate_file", "make_scorecard", "score_registry", "simulate_policy_file")


def __getattr__(name: str):
    if name in _MOVED_TO_CLI:
        warnings.warn(f"pmt.workflow.{name} moved to pmt.cli.{name}; the old path goes in the "
                      "next release.", DeprecationWarning, stacklevel=2)
        import pmt.cli

        return getattr(pmt.cli, name)
    raise AttributeError(f"module 'pmt.workflow' has no attribute {name!r}")
