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

from pmt.errors import DataError
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
    figures: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)

    def section(self, title: str) -> Section:
        self.sections.append(Section(title))
        return self.sections[-1]

    def table(self, title: str, table: pd.DataFrame | pd.Series, note: str = "",
              show: bool = True) -> pd.DataFrame:
        frame = table if isinstance(table, pd.DataFrame) else table.to_frame()
        self.tables[title] = frame
        if note:
            self.notes[title] = note
        if show:
            self.sections[-1].items.append(("table", frame, title))
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
        raise DataError(f"no packaged data spec named '{name}' (looked for {path}).")
    return path


def packaged_example(name: str) -> Path:
    path = Path(str(resources.files("pmt") / "data_spec" / "examples" / name))
    if not path.exists():
        raise DataError(f"no packaged example '{name}' (looked for {path}).")
    return path


def load_config(path: str | Path) -> dict:
    """Read a project config YAML and fill in defaults from :data:`DEMO_CONFIG`."""
    from pmt.spec import read_yaml_file

    path = Path(path)
    raw = read_yaml_file(path, DataError, "project config")
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
    elif data_cfg.get("source") == "vlss_1997":
        from pmt.datasets import vlss_1997

        df = vlss_1997()
    elif "path" in data_cfg:
        path = Path(data_cfg["path"])
        if not path.is_absolute():
            path = Path(config.get("_base", ".")) / path
        df = read_data(path)
    else:
        raise DataError(
            "config `data` needs `source: synthetic`, `source: vlss_1997` or `path: <file>`."
        )
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


POOR = "poor_at_line"  # poverty status at the config's line, added to the data


def line_value(df: pd.DataFrame, config: Mapping) -> float:
    """The poverty line in welfare units: a number, a column with one value, or
    ``{share: q}`` for the weighted (person) quantile of welfare at q (DESIGN.md section 4)."""
    line = config["welfare"]["line"]
    if isinstance(line, Mapping):
        if set(line) != {"share"} or not 0 < float(line["share"]) < 1:
            raise DataError(f"welfare.line {line!r}: write a number, a column, or {{share: q}} "
                            "with 0 < q < 1.")
        return float(make_survey(df, config).weighted_quantile(config["welfare"]["column"],
                                                               float(line["share"])))
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
    out.section("Survey, welfare and poverty")
    mean, se = sv.mean_se(welfare)
    deciles = sv.weighted_quantile(welfare, np.arange(1, 10) / 10)
    summary = pd.Series(
        [sv.n_households, sv.n_psu, int(sv.strata_codes.max()) + 1,
         round(float(sv.person_weight.sum())), mean, se, z, deciles[0], deciles[4], deciles[8]],
        dtype=object,
        index=pd.Index(["households (sample)", "PSUs", "strata", "population (persons)",
                        "mean welfare", "s.e. of mean welfare", "poverty line",
                        "welfare P10", "welfare P50 (median)", "welfare P90"], name="statistic"),
        name="value",
    )
    out.table("Survey summary", summary,
              f"Welfare: {welfare} ({config['welfare'].get('currency', '')}); person-weighted.")
    out.table("Poverty", poverty_measures(sv, welfare, z),
              f"FGT(0, 1, 2) and Watts at the line {z:,.0f}; person-weighted; standard errors "
              "linearised with PSU clustering within strata.")


def fit_models(df: pd.DataFrame, config: Mapping, headcount: float) -> dict:
    """Fit every model of the config on the whole sample; returns name -> result."""
    fitters = model_fitters(df, config, headcount, standard_errors=True)
    return {name: fit(df) for name, fit in fitters.items()}


def model_fitters(df: pd.DataFrame, config: Mapping, headcount: float,
                  standard_errors: bool = False) -> dict[str, Callable]:
    """name -> fit(train_df) callables for cross-validation and in-sample fits.

    Cross-validation needs only predictions, so quantile regressions skip their (kernel)
    standard errors unless ``standard_errors`` is set.
    """
    import pmt

    rhs = proxies_rhs(config)
    logw = config["welfare"]["log_column"]
    s = config["survey"]
    weight, psu = s.get("weight"), s.get("psu")
    fitters: dict[str, Callable] = {}
    for name, m in config["models"].items():
        kind = m.get("type")
        formula = m.get("formula") or (
            f"{POOR} ~ {rhs}" if kind in ("probit", "logit") else f"{logw} ~ {rhs}"
        )
        if kind == "ols":
            fitters[name] = lambda d, f=formula: pmt.ols(f, d, weights=weight, cluster=psu)
        elif kind == "truncated_ols":
            q = float(m.get("quantile", 0.4))
            fitters[name] = lambda d, f=formula, q=q: pmt.truncated_ols(
                f, d, quantile=q, weights=weight, cluster=psu)
        elif kind == "quantreg":
            q = headcount if m.get("q", 0.5) == "headcount" else float(m["q"])
            se = "kernel" if standard_errors else "none"
            fitters[name] = lambda d, f=formula, q=q, se=se: pmt.quantreg(
                f, d, q=q, weights=weight, se=se)
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


def slug(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "_" for ch in name.lower())
    return "_".join(p for p in text.split("_") if p)


def coefficient_columns(models: Mapping, spec=None) -> pd.DataFrame:
    """Side-by-side regression table: one text column per model, 'coef*** (se)'."""
    columns = {}
    labels = {}
    for name, r in models.items():
        table = r.coef_table(spec)
        columns[name] = [
            f"{c:.3f}{st} ({se:.3f})" if np.isfinite(se) else f"{c:.3f}"
            for c, se, st in zip(table["coef"], table["se"], table["stars"], strict=True)
        ]
        columns[name] = pd.Series(columns[name], index=table.index)
        for term, var, level, label in zip(table.index, table["variable"], table["level"],
                                           table["label"], strict=True):
            codes = spec.codes(var) if (spec is not None and isinstance(var, str)
                                        and var in spec) else None
            if codes and isinstance(level, str):
                lookup = {str(k): v for k, v in codes.items()}
                label = f"{label}: {lookup.get(level, level)}"
            labels[term] = label
    frame = pd.DataFrame(columns).fillna("")
    frame.insert(0, "label", [labels.get(t, t) for t in frame.index])
    nobs = {name: f"{r.nobs:,}" for name, r in models.items()}
    footer = pd.DataFrame([{"label": "Observations", **nobs}], index=pd.Index(["N"]))
    return pd.concat([frame, footer]).rename_axis("term")


def step_models(df, sv, config, out: Outputs, timer: Timer, headcount: float, spec=None) -> dict:
    """Fit the PMT family; coefficient tables and in-sample targeting with figures."""
    from pmt.evaluate import (
        decile_overlap,
        error_curve,
        group_table,
        overlap_shares,
        select_by,
        targeting_metrics,
    )
    from pmt.report import figures

    models = fit_models(df, config, headcount)
    timer.step(f"fitted {len(models)} models: {', '.join(models)}")
    logw = config["welfare"]["log_column"]
    actual = df[logw].to_numpy(dtype=float)
    z = float(np.log(line_value(df, config)))
    poor = df[POOR].to_numpy()
    v = sv.person_weight
    out.section("Models")
    out.text(
        f"Each PMT predicts {logw} from the same proxies; the probit predicts the probability of "
        "being poor; gradient boosting is a machine-learning benchmark that cannot become a "
        "scorecard. Standard errors are clustered by PSU."
    )
    linear = {name: r for name, r in models.items() if getattr(r, "model_type", "") != "sklearn"}
    for name, r in linear.items():
        out.table(f"Coefficients: {name}", r.coef_table(spec), show=False)
    out.table("Coefficients", coefficient_columns(linear, spec),
              "Coefficient (standard error); *** p<0.01, ** p<0.05, * p<0.1. Full tables with "
              "p-values are in tables.xlsx.")
    out.section("Targeting accuracy in sample")
    coverage, curves, metrics, overlaps, preds = {}, {}, {}, {}, {}
    for name, r in models.items():
        preds[name] = pred = np.asarray(r.predict(df), dtype=float)
        # models of P(poor) (probit, logit) declare it: rank by -P so that low = poor
        ranking = -pred if getattr(r, "higher_is_poorer", False) else pred
        selected = select_by(ranking, coverage=headcount, weights=v, method="rate").to_numpy()
        metrics[name] = targeting_metrics(poor, selected, v)
        curves[name] = error_curve(poor, ranking, v)
        table = group_table(df[logw], selected, weights=v, n=10, ranked_by=f"{logw} (actual)")
        coverage[name] = table["coverage"]
        overlaps[name] = decile_overlap(actual, ranking, v)
    first = next(iter(models))
    first_pred = preds[first]
    out.table("In-sample targeting (rate rule)", pd.DataFrame(metrics).T.rename_axis("model"),
              f"Poor: {config['welfare']['column']} below the line (headcount {headcount:.1%}); "
              f"selected: the poorest {headcount:.1%} of predicted welfare (rate rule). In-sample "
              "figures flatter flexible models (gradient boosting) most: judge them out of sample.")
    out.table("Decile overlap shares", pd.DataFrame(
        {name: overlap_shares(t) for name, t in overlaps.items()}).T.rename_axis("model"),
        "Diagonal: share of people in the same decile of actual and predicted welfare; "
        "within one: in the same or a neighbouring decile; overlap_k: share of the bottom k "
        "deciles of actual welfare also in the bottom k of predicted welfare.")
    out.table(f"Decile overlap: {first}", overlaps[first], "Rows: actual decile; columns: "
              "predicted decile; cells: share of the population (all cells sum to 1).")
    out.figure("overlap_heatmap", figures.overlap_heatmap(
        overlaps[first], f"Decile overlap, {first} (% of population)"),
        f"Decile overlap of actual and predicted welfare, {first}, in sample")
    cov = pd.DataFrame(coverage)
    out.table("Coverage by decile (in sample)", cov,
              "Share of the people of each decile of actual welfare selected by each model.")
    out.figure("coverage_by_decile", figures.coverage_by_group(
        cov.drop(index="Total", errors="ignore"), "Coverage by decile of actual consumption"),
        "Share of each actual consumption decile selected by each model (rate rule, in sample)")
    out.figure("predicted_vs_actual", figures.predicted_vs_actual(
        actual, first_pred, z, f"{first}: predicted vs actual"),
        f"Predicted vs actual log per-capita consumption, {first}; red lines: the poverty line")
    out.figure("residuals", figures.residuals_vs_actual(actual, first_pred, f"{first}: residuals"),
               f"Residuals against actual log per-capita consumption, {first}")
    out.figure("tradeoff_curves", figures.tradeoff_curves(
        curves, "Inclusion vs exclusion error over all cut-offs"),
        "Error trade-off of all models at every cut-off of the predicted score")
    out.table("Area under the ROC curve", pd.Series(
        {name: c.attrs.get("auc", np.nan) for name, c in curves.items()}, name="auc"),
        "Probability that a random poor person is ranked below a random non-poor person.")
    return models


def step_compare(df, sv, config, out: Outputs, timer: Timer, headcount: float) -> None:
    """Out-of-sample cross-validation and in-sample bootstrap with paired intervals."""
    from pmt.evaluate import compare, cross_validate
    from pmt.report import figures

    ev = config["evaluation"]
    fitters = model_fitters(df, config, headcount)
    logw = config["welfare"]["log_column"]
    s = config["survey"]
    # probit/logit results declare higher_is_poorer themselves; cross_validate reads it
    common = dict(shares=list(config["lines"]), rule=ev.get("rule", "rate"),
                  weight=s.get("weight"), size=s.get("size"), strata=s.get("strata"),
                  psu=s.get("psu"), seed=int(ev.get("seed", 0)),
                  level=float(ev.get("level", 0.9)), n_jobs=int(ev.get("n_jobs", 1)))
    out.section("Model comparison out of sample")
    cv = cross_validate(fitters, df, logw, n_folds=int(ev.get("folds", 5)),
                        n_repeats=int(ev.get("repeats", 1)), **common)
    lines = ", ".join(f"{q:.0%}" for q in config["lines"])
    note = (f"{ev.get('folds', 5)}-fold cross-validation, whole PSUs in a fold, stratified by "
            f"strata, {ev.get('repeats', 1)} repeat(s); poor: the poorest {lines} of {logw}; "
            f"selected by the {ev.get('rule', 'rate')} rule; interval over folds at level "
            f"{ev.get('level', 0.9)}.")
    out.table("Out-of-sample comparison (all)", cv, note, show=False)
    key = cv[cv["metric"].isin(["exclusion_error", "inclusion_error"])]
    value_cols = [c for c in cv.columns if c not in ("model", "line", "rule", "metric")]
    out.table("Out-of-sample comparison", key.set_index(["line", "metric", "model"])[value_cols]
              .sort_index(), note)
    timer.step("cross-validated the models out of sample")
    boot = compare(fitters, df, logw, n_replicates=int(ev.get("replicates", 200)),
                   reference=next(iter(fitters)), **common)
    out.section("Design-based uncertainty (bootstrap)")
    note = (f"In sample; PSU-clustered, strata-aware bootstrap ({ev.get('replicates', 200)} "
            "replicates) re-estimating the relative lines and cut-offs; the replicates are shared "
            "by all models, so rows 'model - reference' are paired differences.")
    out.table("Bootstrap comparison (all)", boot, note, show=False)
    # with the rate rule and matched lines inclusion error equals exclusion error: show one
    shown = boot[boot["metric"].isin(["exclusion_error", "targeting_differential"])]
    out.table("Bootstrap comparison", shown.set_index(["line", "metric", "model"]).sort_index(),
              note)
    sub = shown[(shown["metric"] == "exclusion_error") & ~shown["model"].str.contains(" - ")]
    if len(sub):
        pivot = sub.pivot_table(index="model", columns="line", values="estimate")
        out.figure("exclusion_error_by_model", figures.bar_chart(
            pivot, "Exclusion error by model and line (in sample)", "Exclusion error (%)"),
            "Exclusion error of each model at each relative poverty line")
    timer.step("bootstrapped the in-sample metrics with paired intervals")


def step_subgroups(df, sv, config, out: Outputs, models, headcount: float) -> None:
    """Uzbekistan Table 6: performance of the first model by region and urban/rural."""
    from pmt.evaluate import classify_poor, select_by, subgroup_metrics
    from pmt.report import figures

    first = next(iter(models))
    welfare = config["welfare"]["column"]
    v = sv.person_weight
    pred = np.asarray(models[first].predict(df), dtype=float)
    poor = classify_poor(df[welfare], share=0.2, weights=v)
    selected = select_by(pred, coverage=0.2, weights=v, method="rate")
    groups = [c for c in ("region", "urban", "female_head") if c in df.columns]
    table = subgroup_metrics(poor, selected, df[groups], weights=v)
    out.section("Subgroup performance")
    out.table(f"Subgroup performance: {first}", table,
              "Poorest 20 % of people by actual welfare against the poorest 20 % by the PMT; "
              "by region, urban/rural and female-headed households; small subgroups are flagged.")
    if "coverage_poor" in table.columns:
        series = table["coverage_poor"]
        out.figure("subgroup_coverage", figures.bar_chart(
            series.to_frame(first), "Coverage of the poorest 20% by subgroup", "Coverage (%)"),
            f"Share of the poorest quintile selected by {first}, by subgroup")


def step_hmt(df, sv, config, out: Outputs, timer: Timer, pmt_model) -> Any:
    """Fit the hybrid means test; the Belarus Table 12 and 13 layouts."""
    import pmt
    from pmt.datasets import HTV_OUTCOME_FORMULA, HTV_SELECTION_FORMULA
    from pmt.evaluate.methods import compare_methods, prediction_validation

    h = config.get("hmt")
    if not h:
        return None
    selection = HTV_SELECTION_FORMULA if h.get("selection") == "default" else h["selection"]
    outcome = HTV_OUTCOME_FORMULA if h.get("outcome") == "default" else h["outcome"]
    s = config["survey"]
    income = h.get("income", "income")
    model = pmt.HybridMeansTest(verifiable=h.get("verifiable", "inc_verifiable"),
                                selection=selection, outcome=outcome, size=s.get("size"),
                                method=h.get("method", "twostep"))
    model.fit(df, weights=s.get("weight"), cluster=s.get("psu"))
    out.section("Hybrid means test")
    out.text("Verifiable income plus a Heckman-model prediction of hard-to-verify income "
             "(probit of having any, then the log amount with the inverse Mills ratio).")
    out.text(model.summary(), pre=True)
    z = line_value(df, config)
    size = df[s.get("size")].to_numpy(dtype=float)
    summary, table = prediction_validation(df[income].to_numpy(dtype=float) / size,
                                           np.asarray(model.predict(df), dtype=float),
                                           df[s.get("weight")], size=size)
    out.table("HMT validation", summary,
              "Predicted vs actual income per capita (Belarus Table 12 reports 52.3 % on the "
              "diagonal and 90.4 % within one decile).")
    out.table("HMT decile cross-tab", table, "Rows: actual decile of income per capita; "
              "columns: HMT decile; population shares.")
    methods = compare_methods(df, z, income=income, verifiable=h.get("verifiable", "inc_verifiable"),
                              size=s.get("size"), weight=s.get("weight"), pmt=pmt_model, hmt=model,
                              poverty_line=z)
    out.table("Four methods (Belarus Table 13)", methods,
              f"Verifiable-income means test (VMT), PMT, HMT and perfect targeting, at the same "
              f"threshold ({z:,.0f} per person per month) and at the same budget; benefits top "
              "up income to the threshold.")
    timer.step("fitted the hybrid means test and compared four methods")
    return model


def step_scorecard(df, sv, config, out: Outputs, timer: Timer, models, spec, art_dir: Path):
    """Turn the chosen model into an integer-point scorecard and a field form."""
    from pmt.scorecard import Scorecard

    sc_cfg = config.get("scorecard")
    if not sc_cfg:
        return None
    name = sc_cfg.get("model", "OLS")
    z = float(np.log(line_value(df, config)))
    sc = Scorecard.from_model(models[name], data=df, weights=config["survey"].get("weight"),
                              threshold=z, max_points=int(sc_cfg.get("max_points", 100)),
                              spec=spec, name=f"PMT scorecard ({name})")
    out.artifacts["scorecard"] = sc.to_json(art_dir / "scorecard.json")
    form = art_dir.parent / "field_form.html"
    form.write_text(sc.to_html(), encoding="utf-8")
    out.artifacts["field form (HTML)"] = form
    md = art_dir.parent / "field_form.md"
    md.write_text(sc.to_markdown(), encoding="utf-8")
    out.artifacts["field form (Markdown)"] = md
    out.section("Scorecard")
    out.table("Scorecard points", sc.points_table(),
              f"Integer points per answer from the {name} model; base answers score 0; the "
              f"cut-off is {sc.cutoff} points (eligible at or below it).", show=False)
    if sc.rounding:
        loss = pd.DataFrame(sc.rounding) if isinstance(
            next(iter(sc.rounding.values())), dict | list) else pd.Series(sc.rounding, name="value")
        out.table("Scorecard rounding loss", loss,
                  "Targeting of the exact model and of the rounded scorecard, and the share of "
                  "households whose eligibility changes.")
    out.html(_body(sc.to_html()), "Field form")
    timer.step("built the scorecard and its field form")
    return sc


def _body(html_text: str) -> str:
    """The inside of <body> of a full HTML page (to embed a form in the report)."""
    lower = html_text.lower()
    i, j = lower.find("<body"), lower.rfind("</body>")
    if i < 0 or j < 0:
        return html_text
    return html_text[lower.find(">", i) + 1: j]


SIM_TABLES = ("counts", "budget", "poverty_display", "targeting", "deciles", "winners_losers",
              "cost_effectiveness", "assumptions", "threshold_solution", "scenario_grid")


def step_simulate(df, sv, config, out: Outputs, timer: Timer, models) -> None:
    """Simulate the config's policies and a budget-neutral comparison."""
    from pmt.report import figures
    from pmt.simulate import budget_neutral_comparison, run_policy_file

    policies = config.get("policies") or []
    if not policies and not config.get("budget_neutral"):
        return
    scored = df.copy()
    name = config.get("scorecard", {}).get("model", "OLS")
    if name in models:
        scored["pmt_score"] = np.asarray(models[name].predict(df), dtype=float)
        scored["pmt_level"] = np.asarray(models[name].predict(df, scale="level"), dtype=float)
    ssv = Survey(scored, **dict(config["survey"].items()))
    out.section("Policy simulation")
    fgt = {}
    for item in policies:
        path = Path(item)
        if not path.exists():
            path = packaged_example(str(item))
        # the policy file's own scores, solve and scenario settings apply; its data section
        # is replaced by the project's survey
        result = run_policy_file(path, data=ssv)
        title = result.policy.name
        out.text(f"Policy: {title}")
        out.text(result.summary(), pre=True)
        short = title[:20]
        for key in SIM_TABLES:
            if key in result.tables:
                out.table(f"{short}: {key}", result.tables[key], show=key in (
                    "poverty_display", "deciles", "budget"))
        pov = result.tables["poverty"]
        fgt[title] = pov
    if fgt:
        first = next(iter(fgt.values()))
        cols = [c for c in first.columns if c in ("before", "after")]
        if cols:
            frame = pd.DataFrame({t: p["after"] for t, p in fgt.items()})
            frame.insert(0, "before", first["before"])
            out.figure("simulated_poverty", figures.bar_chart(
                frame, "Poverty before and after each policy", "Index (%)"),
                "FGT measures before (pre-transfer) and after each simulated policy")
    if config.get("budget_neutral") and "pmt_level" in scored:
        bn = budget_neutral_comparison(ssv, {"PMT (OLS)": "pmt_level"},
                                       welfare=config["welfare"]["column"],
                                       line=config["welfare"]["line"])
        out.table("Budget-neutral comparison", bn,
                  "One budget spent through the PMT (top-up to the line), a universal transfer "
                  "and categorical transfers (Brown, Ravallion and van de Walle 2018).")
    timer.step(f"simulated {len(policies)} policies"
               + (" and a budget-neutral comparison" if config.get("budget_neutral") else ""))


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def write_outputs(out: Outputs, out_dir: Path, title: str) -> dict[str, Path]:
    """Write report.html, tables.xlsx and figures/*.png; returns what went where."""
    import matplotlib.pyplot as plt

    from pmt.report import HtmlReport, write_xlsx

    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    report = HtmlReport(title, "Generated by pmt. Every table is also in tables.xlsx; figures "
                        "are in figures/.")
    for section in out.sections:
        report.heading(section.title)
        for kind, payload, caption in section.items:
            if kind == "table":
                report.table(payload.head(80), caption=caption)
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
    for key, fig in out.figures.items():
        path = fig_dir / f"{key}.png"
        fig.savefig(path, dpi=130, bbox_inches="tight")
        paths[f"figure {key}"] = path
    plt.close("all")
    paths["report"] = report.save(out_dir / "report.html")
    paths["tables"] = write_xlsx(out.tables, out_dir / "tables.xlsx", notes=out.notes)
    paths.update({k: v for k, v in out.artifacts.items()})
    return paths


def run_project(config: Mapping | str | Path, step: str = "report", out: str | Path | None = None,
                say: Say = print, models_dir: str | Path | None = None) -> dict[str, Path]:
    """Run a project config: ``step`` is "fit", "compare" or "report" (everything).

    Returns a mapping of output names to the files written.
    """
    from threadpoolctl import threadpool_limits

    if step not in ("fit", "compare", "report"):
        raise DataError(f"step must be 'fit', 'compare' or 'report'; got {step!r}.")
    cfg = load_config(config) if isinstance(config, str | Path) else copy.deepcopy(dict(config))
    # One BLAS/OpenMP thread per process: on small machines nested threading makes the
    # many small fits of cross-validation and bootstrap many times slower.
    with threadpool_limits(1):
        return _run_project(cfg, step, out, say, models_dir)


def _run_project(cfg: dict, step: str, out, say: Say, models_dir) -> dict[str, Path]:
    from pmt.artifacts import save_model

    out_dir = Path(out or cfg["outputs"]["dir"])
    art_dir = out_dir / "models"
    art_dir.mkdir(parents=True, exist_ok=True)
    timer = Timer(say)
    df, spec = load_project_data(cfg)
    welfare = df[cfg["welfare"]["column"]].to_numpy(dtype=float)
    relative = isinstance(cfg["welfare"]["line"], Mapping)
    z_level = line_value(df, cfg)
    # resolve a relative line once; later steps read the number
    cfg["welfare"] = {**cfg["welfare"], "line": z_level}
    # absolute line: poor if y < z; relative line {share: q}: poor if y <= the quantile
    below = welfare <= z_level if relative else welfare < z_level
    df = df.assign(**{POOR: below.astype(int)})
    sv = make_survey(df, cfg)
    timer.step(f"loaded and validated {len(df):,} households ({sv})")
    headcount = float(np.average(below, weights=sv.person_weight))
    result = Outputs()
    step_summary(df, sv, cfg, result)
    say(result.tables["Poverty"].to_string())
    models = step_models(df, sv, cfg, result, timer, headcount, spec)
    say(result.tables["In-sample targeting (rate rule)"].round(3).to_string())
    z = float(np.log(z_level))
    for name, r in models.items():
        if getattr(r, "model_type", "") != "sklearn":
            # "threshold" is on the model's own scale, the key scorecards and registry
            # scoring read: the log line for welfare models; models of P(poor) have no
            # natural probability cut-off, so none is saved for them
            thresholds = None if getattr(r, "higher_is_poorer", False) else {"threshold": z}
            result.artifacts[f"model {name}"] = save_model(
                r, art_dir / f"pmt_{slug(name)}.json", spec=spec, thresholds=thresholds,
                data=df, weights=cfg["survey"].get("weight"), name=name)
    if step in ("compare", "report"):
        step_compare(df, sv, cfg, result, timer, headcount)
        say(result.tables["Out-of-sample comparison"].round(3).to_string())
        step_subgroups(df, sv, cfg, result, models, headcount)
    if step == "report":
        first_ols = next((m for m in models.values() if getattr(m, "model_type", "") == "ols"), None)
        hmt = step_hmt(df, sv, cfg, result, timer, first_ols)
        if hmt is not None:
            result.artifacts["model HMT"] = save_model(hmt, art_dir / "hmt.json", spec=spec,
                                                       name="Hybrid means test")
            say(result.tables["Four methods (Belarus Table 13)"].round(3).to_string())
        step_scorecard(df, sv, cfg, result, timer, models, spec, art_dir)
        step_simulate(df, sv, cfg, result, timer, models)
        if "Budget-neutral comparison" in result.tables:
            say(result.tables["Budget-neutral comparison"].round(3).to_string())
    paths = write_outputs(result, out_dir, cfg.get("name", "pmt report"))
    if models_dir is not None:
        dest = Path(models_dir)
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted(art_dir.glob("*.json")):
            shutil.copyfile(p, dest / p.name)
    timer.step("wrote the outputs")
    for key, path in paths.items():
        say(f"  {key:<34} {path}")
    say(f"Report: {paths['report']}")
    return paths


def run_demo(out: Path = Path("out"), n_households: int = 20_000, seed: int = 0,
             models_dir: str | Path | None = None, say: Say = print) -> dict[str, Path]:
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
    """
    if n_households < 1000:
        raise DataError(f"--households must be at least 1000 for the demo; got {n_households}.")
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
    """Score a registry file; print rows in = scored + rejected.

    ``model`` is the path of a model artifact or a scorecard: :func:`pmt.score_file` tells
    them apart and loads either with its size and schema checks.
    """
    from pmt.scoring import score_file
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec) if spec else None
    summary = score_file(model, registry, output, rejects_path=rejects, chunksize=chunksize,
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
