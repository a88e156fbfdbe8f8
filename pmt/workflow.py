"""End-to-end workflows behind the CLI: the demo, project configs, scorecards, scoring.

A *project config* (YAML, format in ``data_spec/project.md``; parsed and checked by
:mod:`pmt.config`) names the data, its spec, the welfare measure and poverty line, and
optionally the models, evaluation, hybrid means test, scorecard and policies. ``pmt demo``
is the same workflow run on :data:`pmt.config.DEMO_CONFIG` (the embedded synthetic survey).

A run reads the data once through its spec, handles missing values as the config says,
builds one :class:`pmt.Survey`, and passes one :class:`Run` (data, survey, config, spec,
poverty line) to every step. Outputs are written to a temporary folder and moved into the
output folder only when the run succeeds, so a failed run never leaves partial files
beside those of an earlier good run.

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
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from pmt.config import DEMO_CONFIG, ProjectConfig, load_config, parse_config, resolve_config
from pmt.errors import ConfigError, DataError, DataSpecError, example_rows
from pmt.report.format import format_money
from pmt.survey import Survey

Say = Callable[..., None]

__all__ = ["DEMO_CONFIG", "Run", "run_project", "run_demo", "load_project_data"]

POOR = "poor_at_line"  # poverty status at the config's line, added to the data
MANIFEST = ".pmt-outputs.json"  # files the last successful run wrote into an output folder


@dataclass
class Section:
    """One section of the report: an ordered list of items."""

    title: str
    items: list[tuple[str, Any, str]] = field(default_factory=list)  # (kind, payload, caption)


@dataclass
class Outputs:
    """What a workflow run produced, in report order.

    ``sections`` drive the HTML report; every table also goes to the XLSX workbook under
    its sheet title (``tables``), every figure to ``figures/<key>.png``.
    """

    sections: list[Section] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    display: dict[str, dict] = field(default_factory=dict)  # display_table options by title
    figures: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)

    def section(self, title: str) -> Section:
        self.sections.append(Section(title))
        return self.sections[-1]

    def table(self, title: str, table: pd.DataFrame | pd.Series, note: str = "",
              show: bool = True, columns: list[str] | None = None, **display) -> pd.DataFrame:
        """Add a table (raw numbers, for the workbook); ``display`` are the options of
        :func:`pmt.report.format.display_table` for its plain-language rendering;
        ``columns`` limits the report to those columns (the workbook keeps all).
        """
        frame = table if isinstance(table, pd.DataFrame) else table.to_frame()
        self.tables[title] = frame
        if display:
            self.display[title] = display
        if note:
            self.notes[title] = note
        if show:
            shown = frame if columns is None else frame[[c for c in columns
                                                          if c in frame.columns]]
            self.sections[-1].items.append(("table", shown, title))
            if note:
                self.sections[-1].items.append(("note", note, ""))
        return frame

    def figure(self, key: str, fig, caption: str) -> None:
        self.figures[key] = fig
        self.sections[-1].items.append(("figure", fig, caption))

    def text(self, text: str, pre: bool = False) -> None:
        self.sections[-1].items.append(("pre" if pre else "text", text, ""))

    def html(self, fragment: str, caption: str) -> None:
        self.sections[-1].items.append(("html", fragment, caption))


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
    results: dict = field(default_factory=dict)  # what the summary reports: verdict, tables
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
# steps
# --------------------------------------------------------------------------------------
def _roster_tables(run: Run) -> None:
    """Persons, households and families of the person roster, and the family rules'
    fallbacks.
    """
    from pmt.project_roster import family_rules_table

    roster = run.roster
    note = ("Sample counts from the person roster, linked to the household file by "
            f"'{roster.household_key}'.")
    if roster.proxies:
        note += (" Household proxies built from members are listed by name; their "
                 "definitions are in the config's `roster.proxies`.")
    if roster.families is not None:
        note += (" Nuclear families are rebuilt from " + (roster.method or "the roster") +
                 " (parents with their dependent children; see pmt.roster.families); the "
                 "weighted share uses household weights.")
    run.out.table("Person roster", roster.summary(run.sv.household_weight), note)
    fallbacks = family_rules_table(roster)
    if fallbacks is not None:
        run.out.table("Family rules: fallbacks", fallbacks, show=False, note=
                      "Members the family rules could not place by their main rule, by "
                      "case: how many households and persons, and the rule applied instead.")


def step_summary(run: Run) -> None:
    """Welfare and poverty summary with design-based standard errors."""
    from pmt.welfare import poverty_measures

    out, sv, cfg = run.out, run.sv, run.cfg
    out.section("Survey, welfare and poverty")
    for note in cfg.notes:
        out.text(note)
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
    out.table("Survey summary", summary,
              f"Welfare: {run.welfare_name} ({cfg.welfare}){run.money}; person-weighted.",
              currency=cfg.currency)
    if run.roster is not None:
        _roster_tables(run)
    if run.dropped is not None:
        out.table("Dropped for missing values", run.dropped,
                  "`missing: drop`: households with a missing value in a column the models use "
                  "are left out of every step; counts are households in the sample.")
    poverty = poverty_measures(sv, cfg.welfare, run.line)
    notes = " ".join(poverty.attrs.get("notes", []) or [])
    out.table("Poverty", poverty,
              f"FGT(0, 1, 2) and Watts at the line {format_money(run.line)}{run.money}; person-weighted; "
              "standard errors linearised with PSU clustering within strata." + (
                  f" {notes}" if notes else ""), level=0.95)


def model_formula(run_or_cfg, model) -> str:
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


_MODEL_WORDS = {
    "ols": "least squares on {lhs}",
    "truncated_ols": "least squares on {lhs}, fitted on the poorest households only",
    "quantreg": "quantile regression of {lhs} at a low quantile",
    "probit": "a probit of being poor",
    "logit": "a logit of being poor",
    "gradient_boosting": "gradient-boosted trees (a machine-learning benchmark that cannot "
                         "become a scorecard)",
    "random_forest": "a random forest (a machine-learning benchmark that cannot become a "
                     "scorecard)",
}


def describe_models(run: Run) -> str:
    """One sentence per configured model, in the report's words."""
    lhs = f"log {run.welfare_name}"
    parts = [f"{name}: {_MODEL_WORDS[m.type].format(lhs=lhs)}"
             for name, m in run.cfg.models.items()]
    return ("Every model uses the same proxies. " + "; ".join(parts) + ". Standard errors are "
            + ("clustered by PSU." if run.cfg.psu else "heteroskedasticity-robust."))


def _sign_check(run: Run, linear: Mapping) -> None:
    """Coefficients whose sign contradicts the spec's ``expected_sign`` (welfare models)."""
    from pmt.models.signs import check_signs

    spec = run.spec
    if spec is None or not any(getattr(spec[c], "expected_sign", None) for c in spec.columns):
        return
    rows = []
    for name, r in linear.items():
        if getattr(r, "higher_is_poorer", False):
            continue  # P(poor) models: every sign is reversed
        table = check_signs(r, spec)
        flagged = table[table["flag"] != ""]
        if len(flagged):
            rows.append(flagged.assign(model=name))
    if rows:
        table = pd.concat(rows, ignore_index=True)
        cols = ["model", "label", "coefficient", "p_value", "expected", "flag"]
        run.out.table("Unexpected coefficient signs", table[[c for c in cols if c in table]],
                      "Coefficients whose sign contradicts the expected_sign of the data spec; "
                      "'significant' at 5 %. Check the variable's coding, or whether it proxies "
                      "something else, before using it in a scorecard.")
    else:
        run.out.text("Every coefficient with an expected sign in the data spec has it.")


def ranking_of(model, pred) -> np.ndarray:
    # models of P(poor) (probit, logit) declare it: rank by -P so that low = poor
    pred = np.asarray(pred, dtype=float)
    return -pred if getattr(model, "higher_is_poorer", False) else pred


def step_models(run: Run) -> dict:
    """Fit the PMT family; coefficient tables and in-sample targeting with figures."""
    from pmt.evaluate import (
        decile_overlap,
        error_curve,
        group_table,
        overlap_shares,
        select_by,
        targeting_metrics,
    )
    from pmt.models.regression_table import regression_table
    from pmt.report import figures

    cfg, df, out, spec = run.cfg, run.df, run.out, run.spec
    models = fit_models(run)
    run.note_step(f"fitted {len(models)} models: {', '.join(models)}")
    logw = cfg.log_welfare
    actual = df[logw].to_numpy(dtype=float)
    poor = df[POOR].to_numpy()
    v = run.sv.person_weight
    src = run.source_note
    out.section("Models")
    out.text(describe_models(run))
    linear = {name: r for name, r in models.items() if getattr(r, "model_type", "") != "sklearn"}
    for name, r in linear.items():
        out.table(f"Coefficients: {name}", r.coef_table(spec), show=False)
    if linear:
        out.table("Coefficients", regression_table(linear, spec),
                  "Coefficient (standard error); *** p<0.01, ** p<0.05, * p<0.1. Full tables "
                  "with p-values are in tables.xlsx.")
        _sign_check(run, linear)
    out.section("Targeting accuracy in sample")
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
    first = next(iter(models))
    out.table("In-sample targeting (rate rule)", pd.DataFrame(metrics).T.rename_axis("model"),
              f"In sample. Poor: {run.welfare_name} below the line (headcount "
              f"{run.headcount:.1%}); selected: the poorest {run.headcount:.1%} of predicted "
              "welfare (rate rule). In-sample figures flatter flexible models most: judge them "
              "out of sample.")
    out.table("Decile overlap shares", pd.DataFrame(
        {name: overlap_shares(t) for name, t in overlaps.items()}).T.rename_axis("model"),
        "In sample. Diagonal: share of people in the same decile of actual and predicted "
        "welfare; within one: in the same or a neighbouring decile; overlap_k: share of the "
        "bottom k deciles of actual welfare also in the bottom k of predicted welfare.")
    out.table(f"Decile overlap: {first}", overlaps[first], "In sample. Rows: actual decile; "
              "columns: predicted decile; cells: % of the population (all cells sum to 100 %).",
              kind="share")
    out.figure("overlap_heatmap", figures.overlap_heatmap(
        overlaps[first], f"Decile overlap, {first} (% of population)", source=src),
        f"Decile overlap of actual and predicted welfare, {first}, in sample")
    cov = pd.DataFrame(coverage)
    out.table("Coverage by decile (in sample)", cov,
              "In sample. Share of the people of each decile of actual welfare selected by "
              "each model.", kind="share")
    out.figure("coverage_by_decile", figures.coverage_by_group(
        cov.drop(index="Total", errors="ignore"), f"Coverage by decile of {run.welfare_name}",
        xlabel=f"Decile of actual {run.welfare_name} (1 = poorest)", source=src),
        f"Share of each decile of actual {run.welfare_name} selected by each model (rate "
        "rule, in sample)")
    out.figure("coverage_incidence", figures.coverage_incidence_by_decile(
        groups["first"], f"Coverage and incidence by decile, {first} (in sample)",
        xlabel=f"Decile of actual {run.welfare_name} (1 = poorest)", source=src),
        f"Share of each decile selected (coverage) and share of the selected in each decile "
        f"(incidence), {first}, rate rule, in sample")
    if not getattr(models[first], "higher_is_poorer", False):
        out.figure("predicted_vs_actual", figures.predicted_vs_actual(
            actual, preds[first], run.log_line, f"{first}: predicted vs actual", source=src,
            welfare=run.welfare_name, currency=cfg.currency),
            f"Predicted vs actual log {run.welfare_name}, {first}, in sample; red lines: the "
            "poverty line")
        out.figure("residuals", figures.residuals_vs_actual(
            actual, preds[first], f"{first}: residuals", source=src, welfare=run.welfare_name,
            currency=cfg.currency),
            f"Residuals against actual log {run.welfare_name}, {first}, in sample")
    welfare_models = {n: preds[n] for n in models
                      if not getattr(models[n], "higher_is_poorer", False)}
    if welfare_models:
        out.figure("welfare_distribution", figures.welfare_distribution(
            actual, welfare_models, v, run.log_line, kind="cdf", currency=cfg.currency,
            welfare=run.welfare_name, source=src,
            title=f"Actual and predicted {run.welfare_name} (in sample)"),
            f"Distribution of actual and predicted log {run.welfare_name} (person-weighted), "
            "in sample, with the poverty line: predictions are compressed towards the mean")
    if run.step == "fit":  # with a comparison, the trade-off is drawn out of sample
        out.figure("tradeoff_curves", figures.tradeoff_curves(
            curves, "Inclusion vs exclusion error over all cut-offs (in sample)", source=src,
            operating_points={n: (metrics[n]["exclusion_error"], metrics[n]["inclusion_error"])
                              for n in models}),
            "Error trade-off of all models at every cut-off of the predicted score, in sample; "
            "markers: each model at the programme's coverage (rate rule)")
    out.table("Area under the ROC curve", pd.Series(
        {name: c.attrs.get("auc", np.nan) for name, c in curves.items()}, name="auc"),
        "In sample. Probability that a random poor person is ranked below a random non-poor "
        "person.")
    return models


def step_compare(run: Run) -> pd.DataFrame:
    """Compare the models out of sample: cross-validation means, then the paired PSU
    bootstrap over cross-fitted predictions (every model and every difference with a
    design-based interval), the in-sample optimism beside it, and a stated verdict.

    Returns the cross-fitted predictions (one column per model) for later steps.
    """
    from pmt.evaluate import compare, cross_fit, cross_validate
    from pmt.report import figures

    cfg, out = run.cfg, run.out
    ev = cfg.evaluation
    fitters = model_fitters(run)
    logw = cast(str, cfg.log_welfare)  # load_project_data sets it (_add_log_welfare)
    design = cfg.design()
    shares = compare_shares(run)
    lines = ", ".join(f"{q:.0%}" for q in shares)
    level = float(ev["level"])
    out.section("Model comparison out of sample")
    out.text(
        "Every figure in this section is out of sample: each household is scored by a model "
        f"fitted without its fold ({ev['folds']} folds of whole PSUs, balanced within strata), "
        f"so flexible models cannot flatter themselves. Models are compared at the same "
        f"coverage ({ev['rule']} rule): the poorest {lines} of people by {run.welfare_name} "
        "against as many people with the lowest predicted welfare."
    )
    with warnings.catch_warnings():
        _quiet_line_rule_warning()  # the line rule's caveat is said in the note below
        cv = cross_validate(fitters, run.df, logw, n_folds=int(ev["folds"]),
                            n_repeats=int(ev["repeats"]), shares=list(cfg.lines),
                            rule=ev["rule"], seed=int(ev["seed"]), level=level,
                            n_jobs=int(ev["n_jobs"]), **design)
    note = (f"Out of sample: {ev['folds']}-fold cross-validation, {ev['repeats']} repeat(s); "
            "oos_mean is the mean over folds; fold_min and fold_max are the lowest and highest "
            "fold results (a spread, not a confidence interval); in_sample is the same model "
            "fitted and judged on all households.")
    if ev["rule"] == "line":
        note += (" Line rule: each model selects the households predicted below the line, so "
                 "differences mix ranking quality with coverage (see the coverage rows).")
    out.table("Cross-validation (all)", cv, note, show=False)
    key = cv[cv["metric"].isin(["exclusion_error", "inclusion_error", "coverage"])]
    value_cols = [c for c in cv.columns if c not in ("model", "line", "rule", "metric")]
    out.table("Cross-validation", key.set_index(["line", "metric", "model"])[value_cols]
              .sort_index(), note, show=False)
    run.note_step("cross-validated the models")
    predictions = cross_fit(fitters, run.df, n_folds=int(ev["folds"]), seed=int(ev["seed"]),
                            n_jobs=int(ev["n_jobs"]), **design)
    _tradeoff_out_of_sample(run, predictions)
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
        in_sample = compare(fitters, run.df, logw, basis="in_sample", **common)
    pct = f"{level:.0%}"
    note = (f"Out of sample (cross-fitted predictions); {ev['replicates']} replicates of a "
            f"PSU-clustered, strata-aware bootstrap shared by all models; lower/upper: {pct} "
            "confidence interval covering the sampling of households given the fitted fold "
            f"models. Rows 'model - {reference}' are paired differences.")
    out.table("Out-of-sample comparison (all)", boot, note, show=False)
    shown = boot[boot["metric"].isin(["exclusion_error", "coverage"])
                 if ev["rule"] == "line" else boot["metric"] == "exclusion_error"]
    out.table("Out-of-sample comparison",
              shown.set_index(["line", "rule", "metric", "model"])[
                  ["basis", "estimate", "se", "lower", "upper"]].sort_index(), note,
              level=level)
    optimism = _optimism(boot, in_sample)
    out.table("In-sample optimism", optimism,
              "Exclusion error of each model judged on the households it was fitted on (in "
              "sample) and out of sample; the gap is how much the in-sample figure flatters the "
              "model.", kind="share")
    sub = boot[(boot["metric"] == "exclusion_error") & ~boot["model"].str.contains(" - ")
               & (boot["rule"] == ev["rule"])]
    if len(sub):
        est = sub.pivot_table(index="model", columns="line", values="estimate", sort=False)
        lo = sub.pivot_table(index="model", columns="line", values="lower", sort=False)
        hi = sub.pivot_table(index="model", columns="line", values="upper", sort=False)
        out.figure("exclusion_error_by_model", figures.bar_chart(
            est, "Exclusion error by model and line (out of sample)", "Exclusion error (%)",
            lower=lo, upper=hi, interval=f"{pct} confidence interval", source=run.source_note),
            f"Exclusion error of each model at each relative poverty line, out of sample "
            f"(cross-fitted); bars: {pct} confidence intervals")
    text, best = verdict(run, predictions, boot, common)
    out.text(text)
    run.results.update(verdict=text, best=best, boot=boot)
    run.note_step("compared the models out of sample with paired intervals")
    welfare_words = step_welfare(run, predictions, best)
    if welfare_words:
        out.text(welfare_words)
        run.results["welfare_words"] = welfare_words
        run.note_step("compared the models with baselines by poverty and welfare")
    return predictions


def _tradeoff_out_of_sample(run: Run, predictions: pd.DataFrame) -> None:
    """Error trade-off of every model over all cut-offs of its cross-fitted score, with the
    operating point at the programme's coverage.
    """
    from pmt.evaluate import error_curve, select_by, targeting_metrics
    from pmt.report import figures

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
    run.out.figure("tradeoff_curves", figures.tradeoff_curves(
        curves, "Inclusion vs exclusion error over all cut-offs (out of sample)",
        source=run.source_note, operating_points=points),
        "Error trade-off of all models at every cut-off of the cross-fitted score, out of "
        "sample; markers: each model at the programme's coverage (rate rule)")


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
            ) -> tuple[str, str | None]:
    """The recommendation in words: the model with the lowest out-of-sample exclusion error
    at the programme's coverage, and whether its lead over the runner-up is within the
    paired interval.
    """
    from pmt.evaluate import compare

    # the programme's own line comes first (compare_shares); its label as compare wrote it
    line = next((x for x in boot["line"].dropna().unique() if str(x).startswith("poorest")), "")
    at = boot[(boot["metric"] == "exclusion_error") & (boot["line"] == line)
              & (boot["rule"] == run.cfg.evaluation["rule"])
              & ~boot["model"].str.contains(" - ")].sort_values("estimate")
    if at.empty:
        return "", None
    best = at.iloc[0]
    text = (f"Verdict: at the programme's coverage ({line} of people), {best['model']} has the "
            f"lowest out-of-sample exclusion error, {best['estimate']:.1%} "
            f"({common['level']:.0%} CI {best['lower']:.1%} to {best['upper']:.1%}).")
    if len(at) < 2:
        return text, best["model"]
    runner = at.iloc[1]
    with warnings.catch_warnings():
        _quiet_line_rule_warning()
        paired = compare(predictions, run.df, cast(str, run.cfg.log_welfare),
                         **{**common, "shares": [compare_shares(run)[0]],
                            "reference": best["model"]})
    row = paired[(paired["model"] == f"{runner['model']} - {best['model']}")
                 & (paired["metric"] == "exclusion_error")
                 & (paired["rule"] == run.cfg.evaluation["rule"])]
    if row.empty:
        return text, best["model"]
    diff = row.iloc[0]
    gap = (f"{runner['model']} is {100 * diff['estimate']:.1f} percentage points behind "
           f"(paired {common['level']:.0%} CI {100 * diff['lower']:.1f} to "
           f"{100 * diff['upper']:.1f})")
    if diff["lower"] <= 0:
        text += (f" Its lead is within the paired interval: {gap}, so the data do not tell the "
                 "two apart; prefer the simpler or more transparent one.")
    else:
        text += f" Its lead is larger than the paired interval: {gap}."
    return text, best["model"]


def step_welfare(run: Run, predictions: pd.DataFrame, best: str | None) -> str:
    """Models against baselines at the same coverage and budget, judged by poverty and
    welfare (Brown, Ravallion and van de Walle 2018), out of sample; returns a sentence for
    the verdict (the best model against the best baseline).
    """
    from pmt.evaluate import (
        Categorical,
        Geographic,
        RandomSelection,
        Universal,
        welfare_comparison,
    )
    from pmt.report import figures

    cfg = run.cfg.baselines
    if cfg is None or run.cfg.size is None:
        return ""
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
    out = run.out
    out.section("Models against baselines: poverty and welfare")
    budget = table.attrs.get("budget")
    pct = f"{float(ev['level']):.0%}"
    note = (f"Out of sample (cross-fitted model scores). Every scheme reaches {run.headcount:.1%} "
            "of people (the universal transfer everyone) and spends the same budget"
            + (f" (total {format_money(budget)}, in the welfare measure's units)" if budget is not None else "")
            + f" as a {cfg.get('benefit', 'flat')} benefit; lower/upper: {pct} confidence "
            f"intervals from a PSU bootstrap shared by all schemes; rows 'scheme - {reference}'"
            f" are paired differences. Social welfare: equally-distributed-equivalent welfare "
            f"with inequality aversion rho = {float(cfg.get('rho', 2.0)):g}.")
    out.table("Baselines and welfare (all)", table, note, show=False)
    run.results["welfare"] = table
    key = ["coverage", "exclusion_error", "budget_share_poor", "FGT0_change", "FGT1_change",
           "welfare_ede_change", "weighted_exclusion_error"]
    wide = (table[table["measure"].isin(key) & (table["kind"] != "difference")]
            .pivot_table(index="scheme", columns="measure", values="estimate", sort=False)
            .reindex(columns=[k for k in key if k in set(table["measure"])]))
    out.table("Baselines and welfare", wide, note)
    gap = table[(table["measure"] == "FGT1_change") & (table["scheme"] != "No transfer")]
    levels = gap[gap["kind"] != "difference"].set_index("scheme")
    if len(levels):
        est = levels[["estimate"]].rename(columns={"estimate": "change in the poverty gap"})
        lo = levels[["lower"]].rename(columns={"lower": "change in the poverty gap"})
        hi = levels[["upper"]].rename(columns={"upper": "change in the poverty gap"})
        out.figure("poverty_gap_by_scheme", figures.bar_chart(
            est, "Change in the poverty gap (FGT1) at the same budget (out of sample)",
            "Change in FGT1 (% points)", lower=lo, upper=hi,
            interval=f"{pct} confidence interval", source=run.source_note),
            f"Change in the poverty gap of each model and baseline at the same coverage and "
            f"budget, out of sample; bars: {pct} confidence intervals")
    base = levels[levels["kind"] == "baseline"] if len(levels) else levels
    if best is None or base.empty or best not in levels.index:
        return ""
    top = base["estimate"].idxmin()  # the largest fall in the poverty gap
    diff = gap[gap["scheme"] == f"{top} - {reference}"]
    if diff.empty:
        return ""
    d = diff.iloc[0]
    words = (f"At the same budget, {best} lowers the poverty gap (FGT1) by "
             f"{-100 * levels.loc[best, 'estimate']:.2f} points against "
             f"{-100 * levels.loc[top, 'estimate']:.2f} for the best baseline ({top}): an "
             f"advantage of {100 * d['estimate']:.2f} points (paired {pct} CI "
             f"{100 * d['lower']:.2f} to {100 * d['upper']:.2f}).")
    if d["lower"] <= 0:
        words += (" The difference is within the paired interval: the data do not show that the "
                  "model beats the simple rule.")
    return words


def step_subgroups(run: Run, models, predictions: pd.DataFrame) -> None:
    """Performance of the first model by the config's subgroups (region, urban, ...), out of
    sample: from the cross-fitted predictions of :func:`step_compare`.
    """
    from pmt.evaluate import bootstrap_metrics, classify_poor, select_by, subgroup_metrics
    from pmt.report import figures

    groups = [c for c in run.cfg.subgroups or () if c in run.df.columns]
    if not groups:
        return
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
    run.out.section("Subgroup performance")
    _quintile_coverage_test(run, first, np.asarray(selected))
    run.out.table(f"Subgroup performance: {first}", table,
                  "Out of sample (cross-fitted). Poorest 20 % of people by actual welfare against "
                  "the poorest 20 % "
                  f"by {first}, by {', '.join(run.label(g) for g in groups)}; small subgroups "
                  "are flagged; coverage_poor_lower/upper: confidence interval (PSU bootstrap, "
                  "selection held fixed). The chart below shows the coverage of the poor.",
                  show=False)
    if "coverage_poor" in table.columns:
        pct = f"{float(ev['level']):.0%}"
        run.out.figure("subgroup_coverage", figures.bar_chart(
            table[["coverage_poor"]].rename(columns={"coverage_poor": first}),
            "Coverage of the poorest 20% by subgroup (out of sample)", "Coverage (%)",
            lower=table[["coverage_poor_lower"]].set_axis([first], axis=1),
            upper=table[["coverage_poor_upper"]].set_axis([first], axis=1),
            interval=f"{pct} confidence interval", xlabel="Subgroup",
            source=run.source_note),
            f"Share of the poorest quintile selected by {first}, by subgroup, out of sample; "
            f"bars: {pct} confidence intervals (PSU bootstrap, selection held fixed)")


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


def _quintile_coverage_test(run: Run, first: str, selected: np.ndarray) -> None:
    """Coverage of the first model by quintile of actual welfare, each quintile against the
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
    table = flag_significance(table, differences, column="coverage", test=test)
    note = table.attrs.get("significance", {}).get("coverage", {}).get("note", "")
    run.out.table(f"Coverage by quintile: {first}", table,
                  f"Out of sample (cross-fitted), rate rule at 20 %. coverage_diff, coverage_p: "
                  "each quintile against the poorest (paired PSU bootstrap); *** p<0.01, ** "
                  f"p<0.05, * p<0.1. {note}".strip())


def step_hmt(run: Run, pmt_model) -> Any:
    """Fit the hybrid means test; validation and the four-method comparison."""
    import pmt
    from pmt.datasets import HTV_OUTCOME_FORMULA, HTV_SELECTION_FORMULA
    from pmt.evaluate.methods import prediction_validation
    from pmt.models.regression_table import regression_table
    from pmt.simulate.methods import compare_methods

    h, cfg, df, out = run.cfg.hmt, run.cfg, run.df, run.out
    if not h:
        return None
    selection = HTV_SELECTION_FORMULA if h["selection"] == "default" else h["selection"]
    outcome = HTV_OUTCOME_FORMULA if h["outcome"] == "default" else h["outcome"]
    model = pmt.HybridMeansTest(verifiable=h["verifiable"], selection=selection,
                                outcome=outcome, size=cfg.size, method=h["method"])
    model.fit(df, weights=cfg.weight, cluster=cfg.psu)
    out.section("Hybrid means test")
    out.text("Verifiable income plus a Heckman-model prediction of hard-to-verify income "
             "(probit of having any, then the log amount with the inverse Mills ratio).")
    for part, heck in model.models_.items():
        out.table(f"HMT coefficients: {part}", regression_table(
                      {"selection (probit)": heck.selection, "outcome (log amount)": heck},
                      run.spec),
                  f"Two-part model of hard-to-verify income ({part}): a probit of having any "
                  "(selection) and the log amount with the inverse Mills ratio (outcome); "
                  f"N = {heck.nobs:,}, {heck.n_selected:,} with the income; rho = "
                  f"{heck.rho:.3f}, sigma = {heck.sigma:.3f}. *** p<0.01, ** p<0.05, * p<0.1.")
    size = df[cfg.size].to_numpy(dtype=float)
    summary, table = prediction_validation(df[h["income"]].to_numpy(dtype=float) / size,
                                           np.asarray(model.predict(df), dtype=float),
                                           df[cfg.weight], size=size)
    out.table("HMT validation", summary, "In sample. Predicted vs actual income per capita.")
    out.table("HMT decile cross-tab", table, "In sample. Rows: actual decile of income per "
              "capita; columns: HMT decile; population shares.")
    # the HMT step reads the size and weight columns above: a config with an HMT names both
    methods = compare_methods(df, run.line, income=h["income"], verifiable=h["verifiable"],
                              size=cast(str, cfg.size), weight=cast(str, cfg.weight),
                              pmt=pmt_model, hmt=model,
                              poverty_line=run.line)
    out.table("Four targeting methods", methods,
              f"In sample. Verifiable-income means test (VMT), PMT, HMT and perfect targeting, at the same "
              f"threshold ({format_money(run.line)}{run.money}) and at the same budget; benefits top up "
              "income to the threshold.")
    run.note_step("fitted the hybrid means test and compared four methods")
    return model


def step_scorecard(run: Run, models, art_dir: Path):
    """Turn the chosen model into an integer-point scorecard, an enumerator form (questions
    and answers only) and an analyst form (points, cut-off, rounding loss).
    """
    from pmt.scorecard import Scorecard

    sc_cfg = run.cfg.scorecard
    if not sc_cfg:
        return None
    name = sc_cfg["model"]
    with warnings.catch_warnings():
        # the rounding warning is printed and shown in the report below
        warnings.filterwarnings("ignore", message="banding and rounding change",
                                category=UserWarning)
        sc = Scorecard.from_model(models[name], data=run.df, weights=run.cfg.weight,
                                  threshold=run.log_line, max_points=int(sc_cfg["max_points"]),
                                  spec=run.spec, name=f"PMT scorecard ({name})")
    out = run.out
    out.artifacts["scorecard"] = sc.to_json(art_dir / "scorecard.json")
    folder = art_dir.parent
    forms: tuple[tuple[str, Any, Literal["html", "markdown"], str], ...] = (
            ("field form (HTML)", sc.enumerator_form, "html", "field_form.html"),
            ("field form (Markdown)", sc.enumerator_form, "markdown", "field_form.md"),
            ("analyst form (HTML)", sc.analyst_form, "html", "scorecard_analyst.html"),
            ("analyst form (Markdown)", sc.analyst_form, "markdown", "scorecard_analyst.md"))
    for key, method, fmt, file in forms:
        method(fmt, path=folder / file, spec=run.spec)
        out.artifacts[key] = folder / file
    out.section("Scorecard")
    if sc.rounding_warning:
        run.results["rounding_warning"] = sc.rounding_warning
        out.text(f"Warning: {sc.rounding_warning}")
        if run.timer is not None:
            run.timer.say(f"warning: {sc.rounding_warning}")
    out.table("Scorecard points", sc.points_table(),
              f"Integer points per answer from the {name} model; base answers score 0; "
              f"eligible below the cut-off of {sc.cutoff} points.", show=False)
    if sc.rounding:
        loss = pd.DataFrame(sc.rounding) if isinstance(
            next(iter(sc.rounding.values())), dict | list) else pd.Series(sc.rounding, name="value")
        out.table("Scorecard rounding loss", loss,
                  "In sample. Targeting of the exact model and of the rounded scorecard, and the "
                  "share of households whose eligibility changes.")
    out.html(sc.enumerator_form("html", fragment=True, spec=run.spec), "Field form (enumerator)")
    out.html(sc.analyst_form("html", fragment=True, spec=run.spec), "Scorecard (analyst)")
    run.note_step("built the scorecard, its enumerator form and its analyst form")
    return sc


#: the deciles of a simulation as the report shows them (every column is in the workbook)
DECILE_COLUMNS = ["population_share", "eligible_coverage", "coverage", "beneficiaries_share",
                  "benefits_share", "adequacy_recipients", "benefit_per_capita"]
#: what a simulation table counts, where the table alone does not say
SIM_NOTES = {
    "families": "Families assessed separately inside their households: weighted counts "
                "(each family carries its household's sampling weight; rows ending "
                "'(sample)' are unweighted), in sample (households scored by the model "
                "fitted on all of them).",
}
SIM_TABLES = ("counts", "families", "budget", "poverty_display", "targeting", "deciles", "winners_losers",
              "cost_effectiveness", "assumptions", "threshold_solution", "amount_solution",
              "coverage_solution", "repeated_eligibility", "scenario_grid")


def step_simulate(run: Run, models) -> None:
    """Simulate the config's policies and a budget-neutral comparison."""
    from pmt.report import figures
    from pmt.simulate import budget_neutral_comparison, run_policy_file
    from pmt.simulate.units import with_families

    cfg, out = run.cfg, run.out
    policies = list(cfg.policies)
    bn = cfg.budget_neutral
    if not policies and bn is None:
        return
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
    out.section("Policy simulation")
    if name in models:
        out.text(f"In sample: the simulations score every household with the {name} model "
                 "fitted on all households of the survey.")
    fgt, persons = {}, {}
    for item in policies:
        path = cfg.path(item)
        if not path.exists():
            path = packaged_example(str(item))
        # the policy file's own scores, solve and scenario settings apply; its data section
        # is replaced by the project's survey
        result = run_policy_file(path, data=ssv)
        title = result.policy.name
        out.text(f"Policy: {title}. " + "; ".join(
            line.strip() for line in result.policy.describe().splitlines()[1:] if line.strip())
            + ".")
        currency = getattr(result.policy, "currency", None) or cfg.currency
        for key in SIM_TABLES:
            if key in result.tables:
                out.table(f"{title}: {key}", result.tables[key], SIM_NOTES.get(key, ""),
                          show=key in ("poverty_display", "deciles", "budget", "families"),
                    columns=DECILE_COLUMNS if key == "deciles" else None, currency=currency)
        if run.roster is not None and run.roster.groups:
            persons[title] = _person_table(run, ssv, result, title)
        fgt[title] = result.tables["poverty"]
        if not fgt or len(fgt) == 1:  # the first policy's distributional charts
            _policy_figures(run, ssv, result, title)
    if persons:
        columns = ["poverty_before", "poverty_after", "change", "se_change",
                   "coverage_household", "coverage_family"]
        both = pd.concat({t: tab.reindex(columns=columns) for t, tab in persons.items()},
                         names=["policy", "group"]).dropna(axis=1, how="all")
        out.table("Persons by group under each policy", both,
                  "Persons of the roster by group (the config's `roster.groups`), "
                  "person-weighted: poverty before and after each policy, the paired change "
                  "and its standard error (linearised, PSU clustering within strata), the "
                  "share living in a household that receives the benefit and, for policies "
                  "assessed by family, in a family that receives it; in sample. Standard "
                  "errors of every rate are in the workbook (one sheet per policy).",
                  shares=["change", "se_change"])
    if fgt:
        first = next(iter(fgt.values()))
        if {"before", "after"} <= set(first.columns):
            frame = pd.DataFrame({t: p["after"] for t, p in fgt.items()})
            frame.insert(0, "before", first["before"])
            out.figure("simulated_poverty", figures.bar_chart(
                frame, "Poverty before and after each policy", "Index (%)",
                source=run.source_note),
                "FGT measures before (pre-transfer) and after each simulated policy, in "
                "sample (households scored by the model fitted on all of them)")
    if bn is not None and "pmt_level" in scored:
        if cfg.size is None:
            out.text("The budget-neutral comparison needs household sizes (survey.size): "
                     "skipped.")
        else:
            bn_table = budget_neutral_comparison(
                ssv, {f"PMT ({name})": "pmt_level"}, welfare=cast(str, cfg.welfare),
                line=run.line,
                children=bn.get("children") or None, elderly=bn.get("elderly"),
                disabled=bn.get("disabled"), female_head=bn.get("female_head"))
            out.table("Budget-neutral comparison", bn_table,
                      "One budget spent through the PMT (top-up to the line), a universal "
                      "transfer" + (" and categorical transfers" if any(bn.values()) else "")
                      + " (Brown, Ravallion and van de Walle 2018); in sample.")
    run.note_step(f"simulated {len(policies)} policies"
                   + (" and a budget-neutral comparison" if bn is not None else ""))


def _person_table(run: Run, ssv: Survey, result, title: str) -> pd.DataFrame:
    """Poverty and coverage of the roster's person groups under a policy (workbook)."""
    from pmt.simulate.persons import person_results

    roster = run.roster
    by_family = result.outcome.units is not None
    table = person_results(result, ssv, household_row=roster.household_row,
                           groups=roster.groups,
                           family_row=roster.family_row if by_family else None)
    run.out.table(
        f"{title}: persons", table,
        "Persons of the roster by group (the config's `roster.groups`), person-weighted "
        "(household weight for each member): poverty before and after the policy, and "
        "the share living in a household that receives the benefit"
        + (" and the share in a beneficiary family" if by_family else "")
        + "; standard errors linearised with PSU clustering within strata; in sample.",
        show=False, shares=["se_before", "change", "se_change"])
    return table


def _policy_figures(run: Run, ssv: Survey, result, title: str) -> None:
    """Welfare under the reform against the baseline, and who receives the benefit."""
    from pmt.report import figures

    v = ssv.person_weight
    base = result.welfare["pre_transfer"].to_numpy(dtype=float)
    reform = result.welfare["reform"].to_numpy(dtype=float)
    run.out.figure("welfare_under_reform", figures.welfare_under_reform(
        base, reform, v, thresholds={"Poverty line": run.line}, currency=run.cfg.currency,
        welfare=run.welfare_name, source=run.source_note,
        title=f"{run.welfare_name.capitalize()} before and after: {title}"),
        f"Distribution of {run.welfare_name} before transfers and under the policy "
        f"'{title}' (person-weighted), with the poverty line; in sample")
    if run.cfg.size is not None:
        per_person = np.asarray(result.outcome.benefit, dtype=float) / run.df[
            run.cfg.size].to_numpy(dtype=float)
        run.out.figure("lorenz_concentration", figures.lorenz_concentration(
            base, {title: per_person}, v, welfare_label=run.welfare_name,
            source=run.source_note,
            title="Lorenz curve of welfare and concentration curve of benefits"),
            f"Lorenz curve of {run.welfare_name} before transfers and concentration curve of "
            f"the benefits of '{title}' (people ranked by welfare), in sample; above the "
            "Lorenz curve: progressive relative to welfare")


def _with_interval(row) -> str:
    return f"{row['estimate']:.1%} ({row['lower']:.1%} to {row['upper']:.1%})"


def step_executive_summary(run: Run) -> None:
    """The report's first section, written from the results in plain words: the programme,
    the recommended model and why, its errors and poverty impact with intervals beside the
    baselines, and what the user must still decide.
    """
    cfg, res = run.cfg, run.results
    sec = Section("Summary")
    say = sec.items.append
    n_people = float(run.sv.person_weight.sum())
    line_words = (f"the poorest {cast(dict, cfg.line)['share']:.0%} of people"
                  if cfg.relative_line
                  else f"people whose {run.welfare_name} is below {format_money(run.line)}"
                       f"{run.money}")
    say(("text", f"The programme is meant to reach the poor: {line_words}, "
                 f"{run.headcount:.1%} of the population ({run.headcount * n_people:,.0f} of "
                 f"{n_people:,.0f} people in the survey's weighted population; "
                 f"{len(run.df):,} households in the sample).", ""))
    if run.dropped is not None:
        total = int(run.dropped["households_missing"].iloc[-1])
        say(("text", f"{total:,} households with missing answers were left out "
                     "(`missing: drop`); see the survey section.", ""))
    if res.get("verdict"):
        say(("text", res["verdict"].replace("Verdict: ", "Recommendation: ", 1), ""))
    rows = {}
    boot, best = res.get("boot"), res.get("best")
    if boot is not None and best is not None:
        line = next((x for x in boot["line"].dropna().unique()
                     if str(x).startswith("poorest")), None)
        at = boot[(boot["line"] == line) & (boot["model"] == best)
                  & (boot["rule"] == cfg.evaluation["rule"])].set_index("metric")
        if {"exclusion_error", "inclusion_error"} <= set(at.index):
            rows[f"{best}: exclusion error"] = _with_interval(at.loc["exclusion_error"])
            rows[f"{best}: inclusion error"] = _with_interval(at.loc["inclusion_error"])
    welfare = res.get("welfare")
    if welfare is not None:
        level = welfare[welfare["kind"] != "difference"].set_index(["scheme", "measure"])
        schemes = [x for x in dict.fromkeys(welfare["scheme"])
                   if x != "No transfer" and " - " not in x
                   and (x == best or welfare.loc[welfare["scheme"] == x, "kind"].iloc[0]
                        == "baseline")]
        table = pd.DataFrame({
            scheme: {
                "People reached": f"{level.loc[(scheme, 'coverage'), 'estimate']:.1%}",
                "Poor people missed (exclusion error)":
                    _with_interval(level.loc[(scheme, "exclusion_error")]),
                "Budget reaching the poor":
                    _with_interval(level.loc[(scheme, "budget_share_poor")]),
                "Change in the poverty headcount (FGT0)":
                    _with_interval(level.loc[(scheme, "FGT0_change")]),
                "Change in the poverty gap (FGT1)":
                    _with_interval(level.loc[(scheme, "FGT1_change")]),
            } for scheme in schemes}).T.rename_axis("scheme")
        budget = welfare.attrs.get("budget")
        say(("table", table, "Headline numbers: the recommended model and simple rules at the "
             "same coverage and budget, out of sample, with "
             f"{float(cfg.evaluation['level']):.0%} confidence intervals"
             + (f" (budget {format_money(budget)}, in the welfare measure's units)"
                if budget is not None else "")))
        if res.get("welfare_words"):
            say(("text", res["welfare_words"], ""))
    elif rows:
        say(("table", pd.Series(rows, name="estimate").to_frame(),
             "Headline errors of the recommended model, out of sample"))
    decide = ["the coverage or budget of the programme (these figures use the poverty "
              f"headcount, {run.headcount:.1%} of people, as coverage)"]
    if "within the paired interval" in res.get("verdict", ""):
        decide.append("which of the statistically equivalent models to use: prefer the one "
                      "that is simpler to explain and to collect")
    unverifiable = [run.label(c) for c in (run.spec.columns_with_role("proxy")
                                            if run.spec is not None else [])
                    if not run.spec[c].verifiable]
    if unverifiable:
        decide.append("how to verify the answers the spec does not mark as verifiable: "
                      + ", ".join(unverifiable[:8]) + (" ..." if len(unverifiable) > 8 else ""))
    if res.get("rounding_warning"):
        decide.append(f"whether the scorecard's rounding is acceptable: {res['rounding_warning']}")
    decide.append("the benefit design and take-up assumptions (see the policy simulation)"
                  if cfg.policies else "the benefit design: no policy was simulated")
    say(("text", "Still to decide: " + "; ".join(decide) + ".", ""))
    run.out.sections.insert(0, sec)


# sections of the report body; all others go to the annex
MAIN_SECTIONS = ("Summary", "Survey, welfare and poverty", "Model comparison out of sample",
                 "Models against baselines: poverty and welfare", "Subgroup performance",
                 "Policy simulation")


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


def write_outputs(out: Outputs, out_dir: Path, title: str, subtitle: str,
                  pdf: bool = False) -> dict[str, Path]:
    """Write report.html (and report.pdf), tables.xlsx and figures/*.png into ``out_dir``;
    returns what went where.

    The report body holds the :data:`MAIN_SECTIONS`; every other section goes to the annex.
    Tables are shown in plain words and units (:func:`pmt.report.format.display_parts`,
    split to fit an A4 page); the workbook keeps the raw numbers.
    """
    import matplotlib.pyplot as plt

    from pmt.report import HtmlReport, write_xlsx
    from pmt.report.format import display_parts
    from pmt.report.glossary import glossary_for

    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    main = [sec for sec in out.sections if sec.title in MAIN_SECTIONS]
    report = HtmlReport(title, subtitle, lead=bool(main) and main[0].title == "Summary")
    annex = [sec for sec in out.sections if sec.title not in MAIN_SECTIONS]

    def render(section: Section) -> None:
        report.heading(section.title)
        for kind, payload, caption in section.items:
            if kind == "table":
                options = out.display.get(caption, {})
                parts = display_parts(payload.head(80), **options)
                for k, part in enumerate(parts, 1):
                    report.table(part, caption=caption if len(parts) == 1
                                 else f"{caption} ({k} of {len(parts)})")
            elif kind == "note":
                report.text(payload, note=True)
            elif kind == "text":
                report.text(payload)
            elif kind == "pre":
                report.preformatted(payload)
            elif kind == "figure":
                report.figure(payload, caption)
            elif kind == "html":
                report.raw_html(payload)

    for section in main:
        render(section)
    if annex:
        report.annex("Annex", "Technical detail: model coefficients, accuracy in sample, the "
                     "hybrid means test, the scorecard and its forms, and a glossary.")
        for section in annex:
            render(section)
    report.heading("Glossary")
    report.table(glossary_for(out.tables)[["Term", "Definition", "Formula"]],
                 caption="Definitions of the measures in this report (DESIGN.md section 4)")
    for key, fig in out.figures.items():
        path = fig_dir / f"{key}.png"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        paths[f"figure {key}"] = path
    plt.close("all")
    paths["report"] = report.save(out_dir / "report.html")
    if pdf:
        from pmt.report.pdf import html_to_pdf

        paths["report (PDF)"] = html_to_pdf(paths["report"], out_dir / "report.pdf").path
    paths["tables"] = write_xlsx(out.tables, out_dir / "tables.xlsx", notes=out.notes,
                                 table_options=out.display)
    paths.update({k: v for k, v in out.artifacts.items()})
    return paths


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
        step_summary(run)
        say(run.out.tables["Poverty"].to_string())
        models = step_models(run)
        say(run.out.tables["In-sample targeting (rate rule)"].round(3).to_string())
        for name, r in models.items():
            if getattr(r, "model_type", "") != "sklearn":
                # "threshold" is on the model's own scale, the key scorecards and registry
                # scoring read: the log line for welfare models; models of P(poor) have no
                # natural probability cut-off, so none is saved for them
                thresholds = (None if getattr(r, "higher_is_poorer", False)
                              else {"threshold": run.log_line})
                run.out.artifacts[f"model {name}"] = save_model(
                    r, art_dir / f"pmt_{slug(name)}.json", spec=run.spec, thresholds=thresholds,
                    data=run.df, weights=cfg.weight, name=name)
        if step in ("compare", "report"):
            predictions = step_compare(run)
            say(run.out.tables["Out-of-sample comparison"].round(3).to_string())
            step_subgroups(run, models, predictions)
        if step == "report":
            first_ols = next((m for m in models.values()
                              if getattr(m, "model_type", "") == "ols"), None)
            hmt = step_hmt(run, first_ols)
            if hmt is not None:
                run.out.artifacts["model HMT"] = save_model(
                    hmt, art_dir / "hmt.json", spec=run.spec, name="Hybrid means test")
                say(run.out.tables["Four targeting methods"].round(3).to_string())
            step_scorecard(run, models, art_dir)
            step_simulate(run, models)
            if "Budget-neutral comparison" in run.out.tables:
                say(run.out.tables["Budget-neutral comparison"].round(3).to_string())
        step_executive_summary(run)
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
