"""End-to-end workflows behind the CLI: the demo, project configs, scorecards, scoring.

A *project config* (YAML, format in ``data_spec/project.md``) names the data, its spec
and design, the welfare measure and poverty lines, the models to compare, the hybrid means
test, the scorecard, the policies to simulate and the output folder. ``pmt demo`` is the
same workflow run on :data:`DEMO_CONFIG` (the embedded synthetic survey).

This module sits at the end of the data flow with ``cli.py`` and ``report/``: it may
import anything, and nothing imports it.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pmt.errors import DataError, PMTError
from pmt.survey import Survey

Say = Callable[..., None]

# The demo: every step of the workflow on the embedded survey.
DEMO_CONFIG: dict[str, Any] = {
    "name": "pmt demo: embedded synthetic household budget survey",
    "data": {"source": "synthetic", "n_households": 20_000, "seed": 0},
    "spec": "hbs",
    "survey": {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"},
    "welfare": {"column": "pcc", "log_column": "log_pcc", "line": "poverty_line",
                "currency": "UZS per person per month"},
    "proxies": "default",
    "lines": [0.2, 0.4],
    "models": {
        "OLS": {"type": "ols"},
        "Truncated OLS (bottom 40%)": {"type": "truncated_ols", "quantile": 0.4},
        "Quantile regression (q = headcount)": {"type": "quantreg", "q": "headcount"},
        "Probit of poverty": {"type": "probit"},
        "Gradient boosting": {"type": "gradient_boosting", "max_iter": 150, "n_threads": 1},
    },
    "evaluation": {"folds": 5, "repeats": 1, "replicates": 200, "seed": 0, "rule": "rate",
                   "level": 0.9, "n_jobs": 2},
    "hmt": {"verifiable": "inc_verifiable", "selection": "default", "outcome": "default",
            "income": "income", "method": "twostep"},
    "scorecard": {"model": "OLS", "max_points": 100},
    "policies": ["policy_gmi_topup.yaml", "policy_uzbek_option3.yaml"],
    "budget_neutral": True,
    "outputs": {"dir": "out"},
}


@dataclass
class Outputs:
    """What a workflow run produced: tables, figures, artifacts and printed sections."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    figures: dict[str, tuple[Any, str]] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    html_fragments: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------
def packaged_spec_path(name: str) -> Path:
    """Path of a data spec shipped with pmt (``hbs``, ``registry``, ``vlss``)."""
    path = Path(str(resources.files("pmt") / "data_spec" / f"{name}.yaml"))
    if not path.exists():
        raise DataError(f"no packaged data spec named '{name}' (looked for {path}).")
    return path


def packaged_example(name: str) -> Path:
    path = Path(str(resources.files("pmt") / "data_spec" / "examples" / name))
    if not path.exists():
        raise DataError(f"no packaged example '{name}' (looked for {path}).")
    return path


def load_config(path: str | Path) -> dict:
    """Read a project config YAML and fill in defaults from :data:`DEMO_CONFIG`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"project config {path} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"project config {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"project config {path} must be a mapping of keys (see data_spec/project.md).")
    unknown = set(raw) - set(DEMO_CONFIG)
    if unknown:
        raise DataError(
            f"project config {path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            f"{', '.join(DEMO_CONFIG)}."
        )
    config = copy.deepcopy(DEMO_CONFIG)
    config.update(raw)
    config["_base"] = str(path.parent)
    return config


class Timer:
    """Print each step with its duration."""

    def __init__(self, say: Say):
        self.say = say
        self.start = time.perf_counter()

    def step(self, text: str) -> None:
        self.say(f"[{time.perf_counter() - self.start:6.1f} s] {text}", flush=True)


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def load_project_data(config: Mapping) -> tuple[pd.DataFrame, Any]:
    """Load and validate the data named in a config; returns (validated data, spec)."""
    from pmt.datasets import synthetic_hbs
    from pmt.io import read_data
    from pmt.spec import DataSpec

    data_cfg = config["data"]
    spec_name = config.get("spec")
    spec = None
    if spec_name:
        spec_path = Path(spec_name)
        if spec_path.suffix not in (".yaml", ".yml"):
            spec_path = packaged_spec_path(str(spec_name))
        elif not spec_path.is_absolute():
            spec_path = Path(config.get("_base", ".")) / spec_path
        spec = DataSpec.load(spec_path)
    if data_cfg.get("source") == "synthetic":
        df = synthetic_hbs(int(data_cfg.get("n_households", 20_000)), int(data_cfg.get("seed", 0)))
    elif "path" in data_cfg:
        path = Path(data_cfg["path"])
        if not path.is_absolute():
            path = Path(config.get("_base", ".")) / path
        df = read_data(path)
    else:
        raise DataError("config `data` needs `source: synthetic` or `path: <file>`.")
    if spec is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = spec.validate(df)
    return df, spec


def make_survey(df: pd.DataFrame, config: Mapping) -> Survey:
    s = config["survey"]
    return Survey(df, weight=s.get("weight"), size=s.get("size"), strata=s.get("strata"),
                  psu=s.get("psu"))


def proxies_rhs(config: Mapping) -> str:
    """Right side of the PMT formulas: the config's ``proxies`` or the generating spec."""
    rhs = config.get("proxies", "default")
    if rhs == "default":
        from pmt.datasets import PMT_FORMULA

        return PMT_FORMULA.split("~", 1)[1].strip()
    return str(rhs)


def line_value(df: pd.DataFrame, config: Mapping) -> float:
    line = config["welfare"]["line"]
    if isinstance(line, str):
        values = pd.to_numeric(df[line]).unique()
        if len(values) != 1:
            raise DataError(f"poverty line column '{line}' must hold one value (a national line).")
        return float(values[0])
    return float(line)


# --------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------
def step_summary(df: pd.DataFrame, sv: Survey, config: Mapping, out: Outputs) -> None:
    """Welfare and poverty summary with design-based standard errors."""
    from pmt.welfare import poverty_measures

    welfare = config["welfare"]["column"]
    z = line_value(df, config)
    pov = poverty_measures(sv, welfare, z)
    out.tables["Poverty"] = pov
    mean, se = sv.mean_se(welfare)
    deciles = sv.weighted_quantile(welfare, np.arange(1, 10) / 10)
    summary = pd.DataFrame(
        {
            "value": [sv.n_households, sv.n_psu, int(sv.strata_codes.max()) + 1,
                      float(sv.person_weight.sum()), mean, se, z, deciles[0], deciles[4], deciles[8]],
        },
        index=pd.Index(["households (sample)", "PSUs", "strata", "population (persons)",
                        "mean welfare", "s.e. of mean welfare", "poverty line",
                        "welfare P10", "welfare P50 (median)", "welfare P90"], name="statistic"),
    )
    out.tables["Survey summary"] = summary
    out.notes["Poverty"] = (
        f"Welfare: {welfare} ({config['welfare'].get('currency', '')}); line {z:,.0f}; "
        "person-weighted; standard errors linearised with PSU clustering within strata."
    )


def fit_models(df: pd.DataFrame, sv: Survey, config: Mapping, headcount: float) -> dict:
    """Fit every model of the config on the whole sample; returns name -> result."""
    fits = model_fitters(df, config, headcount)
    return {name: fit(df) for name, fit in fits.items()}


def model_fitters(df: pd.DataFrame, config: Mapping, headcount: float) -> dict[str, Callable]:
    """name -> fit(train_df) callables for cross-validation and in-sample fits."""
    import pmt

    rhs = proxies_rhs(config)
    logw = config["welfare"]["log_column"]
    s = config["survey"]
    weight, psu = s.get("weight"), s.get("psu")
    fitters: dict[str, Callable] = {}
    for name, m in config["models"].items():
        kind = m.get("type")
        formula = m.get("formula") or (
            f"poor ~ {rhs}" if kind in ("probit", "logit") else f"{logw} ~ {rhs}"
        )
        if kind == "ols":
            fitters[name] = lambda d, f=formula: pmt.ols(f, d, weights=weight, cluster=psu)
        elif kind == "truncated_ols":
            q = float(m.get("quantile", 0.4))
            fitters[name] = lambda d, f=formula, q=q: pmt.truncated_ols(
                f, d, quantile=q, weights=weight, cluster=psu)
        elif kind == "quantreg":
            q = headcount if m.get("q", 0.5) == "headcount" else float(m["q"])
            fitters[name] = lambda d, f=formula, q=q: pmt.quantreg(
                f, d, q=q, weights=weight, se="none")
        elif kind in ("probit", "logit"):
            fn = pmt.probit if kind == "probit" else pmt.logit
            fitters[name] = lambda d, f=formula, fn=fn: fn(f, d, weights=weight, cluster=psu)
        elif kind in ("gradient_boosting", "random_forest"):
            fn = pmt.gradient_boosting if kind == "gradient_boosting" else pmt.random_forest
            params = {k: v for k, v in m.items() if k not in ("type", "formula")}
            fitters[name] = lambda d, f=formula, fn=fn, p=params: fn(f, d, weights=weight, seed=0,
                                                                       **p)
        else:
            raise DataError(
                f"model '{name}': unknown type {kind!r}; use ols, truncated_ols, quantreg, "
                "probit, logit, gradient_boosting or random_forest."
            )
    return fitters


def is_binary_model(result) -> bool:
    return getattr(result, "model_type", "") in ("probit", "logit")


def step_models(df, sv, config, out: Outputs, timer: Timer) -> dict:
    from pmt.evaluate import decile_overlap, error_curve, overlap_shares, select_by, targeting_metrics
    from pmt.report import figures

    headcount = float(np.average(df["poor"], weights=sv.person_weight)) if "poor" in df else 0.2
    models = fit_models(df, sv, config, headcount)
    logw = config["welfare"]["log_column"]
    actual = df[logw].to_numpy(dtype=float)
    z = np.log(line_value(df, config))
    poor = df["poor"].to_numpy() if "poor" in df else (df[config["welfare"]["column"]] < np.exp(z))
    coverage_by_decile = {}
    curves = {}
    rows = {}
    for name, r in models.items():
        if hasattr(r, "coef_table") and not name.startswith("Gradient"):
            try:
                out.tables[f"Coefficients: {name}"] = r.coef_table()
            except PMTError:
                pass
        pred = np.asarray(r.predict(df), dtype=float)
        higher = is_binary_model(r)
        selected = select_by(pred, coverage=headcount, weights=sv.person_weight, method="rate",
                             higher_is_poorer=higher)
        rows[name] = targeting_metrics(poor, selected, sv.person_weight)
        score = -pred if higher else pred
        curves[name] = error_curve(poor, score, sv.person_weight)
        groups = sv.quantile_groups(logw, 10).to_numpy()
        v = sv.person_weight
        sel = np.asarray(selected, dtype=float)
        coverage_by_decile[name] = pd.Series(
            [np.sum(v[groups == g] * sel[groups == g]) / np.sum(v[groups == g]) for g in range(1, 11)],
            index=range(1, 11),
        )
        if not higher:
            table = decile_overlap(actual, pred, sv.person_weight)
            out.tables[f"Decile overlap: {name}"] = table
            if name == next(iter(models)):
                out.figures["overlap_heatmap"] = (
                    figures.overlap_heatmap(table, f"Decile overlap, {name} (% of population)"),
                    f"Decile overlap of actual and predicted welfare, {name} (in sample).",
                )
                out.figures["predicted_vs_actual"] = (
                    figures.predicted_vs_actual(actual, pred, z, f"{name}: predicted vs actual"),
                    f"Predicted vs actual log per-capita consumption, {name}; red lines: poverty line.",
                )
                out.figures["residuals"] = (
                    figures.residuals_vs_actual(actual, pred, f"{name}: residuals"),
                    f"Residuals against actual log per-capita consumption, {name}.",
                )
                out.tables["Overlap shares"] = overlap_shares(table).to_frame(name)
    insample = pd.DataFrame(rows).T
    insample.index.name = "model"
    out.tables["In-sample targeting (rate rule)"] = insample
    out.notes["In-sample targeting (rate rule)"] = (
        f"Poor: pcc below the line (headcount {headcount:.1%}); selected: the poorest "
        f"{headcount:.1%} of predicted welfare (rate rule)."
    )
    cov = pd.DataFrame(coverage_by_decile)
    cov.index.name = "decile"
    out.tables["Coverage by decile (in sample)"] = cov
    out.figures["coverage_by_decile"] = (
        figures.coverage_by_group(cov, "Coverage by decile of actual consumption"),
        "Share of each actual consumption decile selected by each model (rate rule, in sample).",
    )
    out.figures["tradeoff_curves"] = (
        figures.tradeoff_curves(curves, "Inclusion vs exclusion error over all cut-offs"),
        "Error trade-off of all models: every cut-off of the predicted score.",
    )
    timer.step(f"fitted {len(models)} models: {', '.join(models)}")
    return models


def step_compare(df, sv, config, out: Outputs, timer: Timer, headcount: float) -> None:
    from pmt.evaluate import compare, cross_validate

    ev = config["evaluation"]
    fitters = model_fitters(df, config, headcount)
    logw = config["welfare"]["log_column"]
    binary = {name: config["models"][name]["type"] in ("probit", "logit") for name in fitters}
    s = config["survey"]
    common = dict(shares=list(config["lines"]), rule=ev.get("rule", "rate"),
                  weight=s.get("weight"), size=s.get("size"), strata=s.get("strata"),
                  psu=s.get("psu"), higher_is_poorer=binary, seed=int(ev.get("seed", 0)),
                  level=float(ev.get("level", 0.9)), n_jobs=int(ev.get("n_jobs", 1)))
    cv = cross_validate(fitters, df, logw, n_folds=int(ev.get("folds", 5)),
                        n_repeats=int(ev.get("repeats", 1)), **common)
    out.tables["Out-of-sample comparison"] = cv
    out.notes["Out-of-sample comparison"] = (
        f"{ev.get('folds', 5)}-fold cross-validation with whole PSUs in a fold, stratified by "
        f"strata, {ev.get('repeats', 1)} repeat(s); lines at the {', '.join(f'{q:.0%}' for q in config['lines'])} "
        f"percentiles of {logw}; interval over folds at level {ev.get('level', 0.9)}."
    )
    timer.step("cross-validated the models out of sample")
    boot = compare(fitters, df, logw, n_replicates=int(ev.get("replicates", 200)),
                   reference=next(iter(fitters)), **common)
    out.tables["In-sample with bootstrap intervals"] = boot
    out.notes["In-sample with bootstrap intervals"] = (
        f"PSU-clustered, strata-aware bootstrap ({ev.get('replicates', 200)} replicates, shared "
        "by all models so differences against the first model are paired); percentile intervals."
    )
    timer.step("bootstrapped the in-sample metrics with paired intervals")


def step_hmt(df, sv, config, out: Outputs, timer: Timer, pmt_model) -> Any:
    import pmt
    from pmt.datasets import HTV_OUTCOME_FORMULA, HTV_SELECTION_FORMULA
    from pmt.evaluate.methods import compare_methods, prediction_validation

    h = config.get("hmt")
    if not h:
        return None
    selection = HTV_SELECTION_FORMULA if h.get("selection") == "default" else h["selection"]
    outcome = HTV_OUTCOME_FORMULA if h.get("outcome") == "default" else h["outcome"]
    s = config["survey"]
    model = pmt.HybridMeansTest(verifiable=h.get("verifiable", "inc_verifiable"),
                                selection=selection, outcome=outcome, size=s.get("size"),
                                method=h.get("method", "twostep"))
    model.fit(df, weights=s.get("weight"), cluster=s.get("psu"))
    out.text["HMT"] = model.summary()
    z = line_value(df, config)
    table = compare_methods(df, z, income=h.get("income", "income"),
                            verifiable=h.get("verifiable", "inc_verifiable"),
                            size=s.get("size"), weight=s.get("weight"), pmt=pmt_model, hmt=model,
                            poverty_line=z)
    out.tables["HMT: four methods (Belarus Table 13)"] = table
    try:
        val = prediction_validation(df, model, income=h.get("income", "income"),
                                    size=s.get("size"), weight=s.get("weight"))
        for key, value in (val.items() if isinstance(val, dict) else [("HMT validation", val)]):
            if isinstance(value, pd.DataFrame | pd.Series):
                out.tables[f"HMT validation: {key}"] = (
                    value if isinstance(value, pd.DataFrame) else value.to_frame())
    except TypeError:
        pass
    timer.step("fitted the hybrid means test and compared four methods")
    return model


def step_scorecard(df, sv, config, out: Outputs, timer: Timer, models, spec, models_dir: Path) -> Any:
    from pmt.scorecard import Scorecard

    sc_cfg = config.get("scorecard")
    if not sc_cfg:
        return None
    model = models[sc_cfg.get("model", "OLS")]
    z = float(np.log(line_value(df, config)))
    sc = Scorecard.from_model(model, data=df, weights=config["survey"].get("weight"),
                              threshold=z, max_points=int(sc_cfg.get("max_points", 100)),
                              spec=spec, name=f"PMT scorecard ({sc_cfg.get('model', 'OLS')})")
    path = models_dir / "scorecard.json"
    sc.to_json(path)
    out.artifacts["scorecard"] = path
    form_html = sc.to_html() if hasattr(sc, "to_html") else None
    if form_html:
        (models_dir.parent / "field_form.html").write_text(form_html, encoding="utf-8")
        out.artifacts["field form (HTML)"] = models_dir.parent / "field_form.html"
        out.html_fragments["Scorecard field form"] = form_html
    if hasattr(sc, "to_markdown"):
        (models_dir.parent / "field_form.md").write_text(sc.to_markdown(), encoding="utf-8")
        out.artifacts["field form (Markdown)"] = models_dir.parent / "field_form.md"
    if hasattr(sc, "table"):
        out.tables["Scorecard points"] = sc.table()
    loss = getattr(sc, "rounding_loss", None)
    if isinstance(loss, pd.DataFrame | pd.Series):
        out.tables["Scorecard rounding loss"] = loss if isinstance(loss, pd.DataFrame) else loss.to_frame()
    timer.step("built the scorecard and its field form")
    return sc


def step_simulate(df, sv, config, out: Outputs, timer: Timer, models) -> None:
    from pmt.simulate import Policy, budget_neutral_comparison, simulate

    policies = config.get("policies") or []
    sim_tables = {}
    # in-sample PMT score columns the policies can use
    scored = df.copy()
    ols_name = config.get("scorecard", {}).get("model", "OLS")
    if ols_name in models:
        scored["pmt_score"] = np.asarray(models[ols_name].predict(df), dtype=float)
        scored["pmt_level"] = np.asarray(models[ols_name].predict(df, scale="level"), dtype=float)
    ssv = Survey(scored, **{k: v for k, v in config["survey"].items()})
    for item in policies:
        path = Path(item)
        if not path.exists():
            path = packaged_example(str(item))
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        sim_cfg = dict(raw.pop("simulation", {}) or {})
        for key in ("data", "survey", "scores"):
            raw.pop(key, None)
        sim_cfg.pop("scenarios", None)
        sim_cfg.pop("solve", None)
        if "gdp" in sim_cfg:
            sim_cfg["gdp"] = float(sim_cfg["gdp"])
        policy = Policy.from_dict(raw)
        result = simulate(ssv, policy, **sim_cfg)
        name = raw.get("name", path.stem)
        out.text[f"Simulation: {name}"] = result.summary()
        for key, table in result.tables.items():
            sim_tables[f"{name[:18]}: {key}"] = table
    for key, table in sim_tables.items():
        out.tables[f"Sim {key}"] = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    if config.get("budget_neutral") and "pmt_level" in scored:
        bn = budget_neutral_comparison(ssv, {"PMT (OLS)": "pmt_level"},
                                       welfare=config["welfare"]["column"],
                                       line=config["welfare"]["line"])
        out.tables["Budget-neutral comparison"] = bn
        out.notes["Budget-neutral comparison"] = (
            "The same budget spent through the PMT (top-up to the line), a universal transfer and "
            "categorical transfers (Brown, Ravallion and van de Walle 2018)."
        )
    timer.step(f"simulated {len(policies)} policies and a budget-neutral comparison")


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def write_outputs(out: Outputs, out_dir: Path, title: str, say: Say) -> dict[str, Path]:
    from pmt.report import HtmlReport, write_xlsx

    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    report = HtmlReport(title, "Generated by pmt. Every table is also in tables.xlsx.")
    for key, text in out.text.items():
        report.heading(key)
        report.preformatted(text)
    for key, table in out.tables.items():
        report.heading(key)
        if key in out.notes:
            report.text(out.notes[key], note=True)
        report.table(table.head(60) if len(table) > 60 else table)
    for key, (fig, caption) in out.figures.items():
        report.heading(f"Figure: {caption.split(',')[0].split(':')[0]}")
        report.figure(fig, caption)
        path = fig_dir / f"{key}.png"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        paths[f"figure {key}"] = path
    for key, fragment in out.html_fragments.items():
        report.heading(key)
        report.raw_html(fragment)
    paths["report"] = report.save(out_dir / "report.html")
    paths["tables"] = write_xlsx(out.tables, out_dir / "tables.xlsx", notes=out.notes)
    paths.update({f"artifact {k}": v for k, v in out.artifacts.items()})
    import matplotlib.pyplot as plt

    plt.close("all")
    return paths


def run_project(config: Mapping | str | Path, step: str = "report", out: str | Path | None = None,
                say: Say = print, models_dir: str | Path | None = None) -> dict[str, Path]:
    """Run a project config: ``step`` is "fit", "compare" or "report" (everything)."""
    from pmt.artifacts import save_model

    from threadpoolctl import threadpool_limits

    cfg = load_config(config) if isinstance(config, str | Path) else copy.deepcopy(dict(config))
    # One BLAS/OpenMP thread per process: on small machines nested threading makes the
    # many small fits of cross-validation and bootstrap many times slower.
    with threadpool_limits(1):
        return _run_project(cfg, step, out, say, models_dir)


def _run_project(cfg: dict, step: str, out, say: Say, models_dir) -> dict[str, Path]:
    from pmt.artifacts import save_model

    out_dir = Path(out or cfg["outputs"]["dir"])
    timer = Timer(say)
    df, spec = load_project_data(cfg)
    sv = make_survey(df, cfg)
    timer.step(f"loaded and validated {len(df):,} households ({sv})")
    result = Outputs()
    step_summary(df, sv, cfg, result)
    say(result.tables["Poverty"].to_string())
    headcount = float(np.average(df["poor"], weights=sv.person_weight)) if "poor" in df else 0.2
    models = step_models(df, sv, cfg, result, timer)
    art_dir = out_dir / "models"
    art_dir.mkdir(parents=True, exist_ok=True)
    z = float(np.log(line_value(df, cfg)))
    for name, r in models.items():
        if getattr(r, "model_type", None) and not name.startswith("Gradient"):
            slug = "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
            slug = "_".join(p for p in slug.split("_") if p)
            path = save_model(r, art_dir / f"pmt_{slug}.json", spec=spec,
                              thresholds={"poverty_line": z}, data=df,
                              weights=cfg["survey"].get("weight"), name=name)
            result.artifacts[f"model {name}"] = path
    if step in ("compare", "report"):
        step_compare(df, sv, cfg, result, timer, headcount)
        say(result.tables["Out-of-sample comparison"].head(20).to_string())
    if step == "report":
        first_ols = next((m for m in models.values() if getattr(m, "model_type", "") == "ols"), None)
        hmt = step_hmt(df, sv, cfg, result, timer, first_ols)
        if hmt is not None:
            path = save_model(hmt, art_dir / "hmt.json", spec=spec, name="Hybrid means test")
            result.artifacts["model HMT"] = path
            say(result.tables["HMT: four methods (Belarus Table 13)"].to_string())
        step_scorecard(df, sv, cfg, result, timer, models, spec, art_dir)
        step_simulate(df, sv, cfg, result, timer, models)
    paths = write_outputs(result, out_dir, cfg.get("name", "pmt report"), say)
    if models_dir is not None:
        dest = Path(models_dir)
        dest.mkdir(parents=True, exist_ok=True)
        for p in art_dir.glob("*.json"):
            shutil.copyfile(p, dest / p.name)
    timer.step("wrote the outputs")
    for key, path in paths.items():
        say(f"  {key:<28} {path}")
    return paths


def run_demo(out: Path = Path("out"), n_households: int = 20_000, seed: int = 0,
             models_dir: str | Path | None = None, say: Say = print) -> dict[str, Path]:
    """The main job: the whole workflow on the embedded synthetic survey."""
    if n_households < 500:
        raise DataError(f"--households must be at least 500 for the demo; got {n_households}.")
    cfg = copy.deepcopy(DEMO_CONFIG)
    cfg["data"].update(n_households=int(n_households), seed=int(seed))
    cfg["outputs"]["dir"] = str(out)
    say(f"pmt demo: {n_households:,} synthetic households (seed {seed}) -> {out}/")
    return run_project(cfg, step="report", out=out, say=say, models_dir=models_dir)


# --------------------------------------------------------------------------------------
# other commands
# --------------------------------------------------------------------------------------
def validate_file(data: str | Path, spec: str | Path, say: Say = print) -> pd.DataFrame:
    """Validate a data file against a spec; print a one-line summary."""
    from pmt.io import read_data
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec)
    df = read_data(data)
    validated = sp.validate(df)
    say(f"{data}: {len(validated):,} rows and {validated.shape[1]} columns match spec '{sp.name}'.")
    return validated


def make_scorecard(model: str | Path, data=None, spec=None, max_points: int = 100,
                   threshold: float | None = None, out: Path = Path("scorecard"),
                   say: Say = print) -> dict[str, Path]:
    """Build a scorecard from a saved model; write JSON, HTML and Markdown forms."""
    from pmt.artifacts import load_model
    from pmt.io import read_data
    from pmt.scorecard import Scorecard
    from pmt.spec import DataSpec

    m = load_model(model)
    df = read_data(data) if data else None
    sp = DataSpec.load(spec) if spec else None
    sc = Scorecard.from_model(m, data=df, threshold=threshold, max_points=max_points, spec=sp)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"scorecard": out / "scorecard.json"}
    sc.to_json(paths["scorecard"])
    if hasattr(sc, "to_html"):
        paths["form_html"] = out / "field_form.html"
        paths["form_html"].write_text(sc.to_html(), encoding="utf-8")
    if hasattr(sc, "to_markdown"):
        paths["form_md"] = out / "field_form.md"
        paths["form_md"].write_text(sc.to_markdown(), encoding="utf-8")
    for key, path in paths.items():
        say(f"  {key:<12} {path}")
    return paths


def score_registry(model, registry, output, rejects=None, spec=None, chunksize: int = 500_000,
                   engine: str = "pandas", say: Say = print):
    """Score a registry file; print rows in = scored + rejected."""
    from pmt.artifacts import load_model
    from pmt.scorecard import Scorecard
    from pmt.scoring import score_file
    from pmt.spec import DataSpec

    doc = json.loads(Path(model).read_text(encoding="utf-8"))
    obj = Scorecard.from_json(model) if "questions" in doc else load_model(model)
    sp = DataSpec.load(spec) if spec else None
    summary = score_file(obj, registry, output, rejects_path=rejects, chunksize=chunksize,
                         engine=engine, spec=sp)
    say(str(summary))
    return summary


def simulate_policy_file(policy: str | Path, out: str | Path | None = None, say: Say = print):
    """Run a policy file (data_spec/policy.md); print its summary; optionally write XLSX."""
    from pmt.report import write_xlsx
    from pmt.simulate import run_policy_file

    result = run_policy_file(policy)
    say(result.summary())
    if out:
        path = write_xlsx({k: v if isinstance(v, pd.DataFrame) else pd.DataFrame(v)
                           for k, v in result.tables.items()}, out)
        say(f"  tables {path}")
    return result
