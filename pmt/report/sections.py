"""The report's words: step results of :mod:`pmt.workflow` turned into report sections.

Each function here takes the result one workflow step returned and the run it belongs
to (for labels, the poverty line, the currency and the config's evaluation settings), and
adds to an :class:`pmt.report.outputs.Outputs` what the report says about it: the
section title, the tables with their notes (and which only go to the workbook), the
figures with their captions, and the paragraphs in between. Nothing here computes an
estimate; the numbers are the steps'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from pmt.report.format import format_money
from pmt.report.outputs import Outputs, Section

if TYPE_CHECKING:
    from pmt.workflow import (
        ComparisonResult,
        DecayResult,
        HmtResult,
        ModelsResult,
        Run,
        ScorecardResult,
        SimulationResult,
        SubgroupResult,
        SummaryResult,
        Verdict,
        WelfareResult,
    )

__all__ = ["comparison_section", "decay_section", "describe_models", "executive_summary",
           "hmt_section", "models_sections", "parity_section", "scorecard_section",
           "simulation_section", "subgroup_section", "summary_section", "verdict_text",
           "welfare_section", "welfare_words"]


# --------------------------------------------------------------------------------------
# survey, welfare and poverty
# --------------------------------------------------------------------------------------
def summary_section(out: Outputs, result: SummaryResult, run: Run) -> None:
    """Section "Survey, welfare and poverty": the config's notes, the survey summary, the
    person roster, the households dropped for missing values and the poverty measures.
    """
    cfg = run.cfg
    out.section("Survey, welfare and poverty")
    for note in cfg.notes:
        out.text(note)
    out.table("Survey summary", result.survey,
              f"Welfare: {run.welfare_name} ({cfg.welfare}){run.money}; person-weighted.",
              currency=cfg.currency)
    if result.roster is not None:
        _roster_tables(out, result, run)
    if result.dropped is not None:
        out.table("Dropped for missing values", result.dropped,
                  "`missing: drop`: households with a missing value in a column the models use "
                  "are left out of every step; counts are households in the sample.")
    notes = " ".join(result.poverty.attrs.get("notes", []) or [])
    out.table("Poverty", result.poverty,
              f"FGT(0, 1, 2) and Watts at the line {format_money(run.line)}{run.money}; person-weighted; "
              "standard errors linearised with PSU clustering within strata." + (
                  f" {notes}" if notes else ""), level=0.95)


def _roster_tables(out: Outputs, result: SummaryResult, run: Run) -> None:
    """Persons, households and families of the person roster, and the family rules'
    fallbacks (workbook only).
    """
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
    out.table("Person roster", cast(pd.DataFrame, result.roster), note)
    if result.family_fallbacks is not None:
        out.table("Family rules: fallbacks", result.family_fallbacks, show=False, note=
                  "Members the family rules could not place by their main rule, by "
                  "case: how many households and persons, and the rule applied instead.")


# --------------------------------------------------------------------------------------
# models in sample
# --------------------------------------------------------------------------------------
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


def models_sections(out: Outputs, result: ModelsResult, run: Run) -> None:
    """Sections "Models" (what each model is, coefficients, unexpected signs) and
    "Targeting accuracy in sample" (metrics, decile overlap, coverage by decile, figures).
    """
    from pmt.report import figures

    cfg, src = run.cfg, run.source_note
    out.section("Models")
    out.text(describe_models(run))
    for name, table in result.coefficients.items():
        out.table(f"Coefficients: {name}", table, show=False)
    if result.regression is not None:
        out.table("Coefficients", result.regression,
                  "Coefficient (standard error); *** p<0.01, ** p<0.05, * p<0.1. Full tables "
                  "with p-values are in tables.xlsx.")
        if result.signs is not None and len(result.signs):
            out.table("Unexpected coefficient signs", result.signs,
                      "Coefficients whose sign contradicts the expected_sign of the data spec; "
                      "'significant' at 5 %. Check the variable's coding, or whether it proxies "
                      "something else, before using it in a scorecard.")
        elif result.signs is not None:
            out.text("Every coefficient with an expected sign in the data spec has it.")
    out.section("Targeting accuracy in sample")
    first = result.first
    out.table("In-sample targeting (rate rule)", result.targeting,
              f"In sample. Poor: {run.welfare_name} below the line (headcount "
              f"{run.headcount:.1%}); selected: the poorest {run.headcount:.1%} of predicted "
              "welfare (rate rule). In-sample figures flatter flexible models most: judge them "
              "out of sample.")
    out.table("Decile overlap shares", result.overlap_shares,
              "In sample. Diagonal: share of people in the same decile of actual and predicted "
              "welfare; within one: in the same or a neighbouring decile; overlap_k: share of the "
              "bottom k deciles of actual welfare also in the bottom k of predicted welfare.")
    out.table(f"Decile overlap: {first}", result.overlaps[first], "In sample. Rows: actual "
              "decile; columns: predicted decile; cells: % of the population (all cells sum to "
              "100 %).", kind="share")
    out.figure("overlap_heatmap", figures.overlap_heatmap(
        result.overlaps[first], f"Decile overlap, {first} (% of population)", source=src),
        f"Decile overlap of actual and predicted welfare, {first}, in sample")
    out.table("Coverage by decile (in sample)", result.coverage,
              "In sample. Share of the people of each decile of actual welfare selected by "
              "each model.", kind="share")
    out.figure("coverage_by_decile", figures.coverage_by_group(
        result.coverage.drop(index="Total", errors="ignore"),
        f"Coverage by decile of {run.welfare_name}",
        xlabel=f"Decile of actual {run.welfare_name} (1 = poorest)", source=src),
        f"Share of each decile of actual {run.welfare_name} selected by each model (rate "
        "rule, in sample)")
    out.figure("coverage_incidence", figures.coverage_incidence_by_decile(
        result.first_groups, f"Coverage and incidence by decile, {first} (in sample)",
        xlabel=f"Decile of actual {run.welfare_name} (1 = poorest)", source=src),
        f"Share of each decile selected (coverage) and share of the selected in each decile "
        f"(incidence), {first}, rate rule, in sample")
    actual = result.actual
    if result.predicts_welfare(first):
        out.figure("predicted_vs_actual", figures.predicted_vs_actual(
            actual, result.predictions[first], run.log_line, f"{first}: predicted vs actual",
            source=src, welfare=run.welfare_name, currency=cfg.currency),
            f"Predicted vs actual log {run.welfare_name}, {first}, in sample; red lines: the "
            "poverty line")
        out.figure("residuals", figures.residuals_vs_actual(
            actual, result.predictions[first], f"{first}: residuals", source=src,
            welfare=run.welfare_name, currency=cfg.currency),
            f"Residuals against actual log {run.welfare_name}, {first}, in sample")
    welfare_models = {n: result.predictions[n] for n in result.models
                      if result.predicts_welfare(n)}
    if welfare_models:
        out.figure("welfare_distribution", figures.welfare_distribution(
            actual, welfare_models, run.sv.person_weight, run.log_line, kind="cdf",
            currency=cfg.currency, welfare=run.welfare_name, source=src,
            title=f"Actual and predicted {run.welfare_name} (in sample)"),
            f"Distribution of actual and predicted log {run.welfare_name} (person-weighted), "
            "in sample, with the poverty line: predictions are compressed towards the mean")
    if run.step == "fit":  # with a comparison, the trade-off is drawn out of sample
        targeting = result.targeting
        out.figure("tradeoff_curves", figures.tradeoff_curves(
            result.curves, "Inclusion vs exclusion error over all cut-offs (in sample)",
            source=src, operating_points={
                n: (targeting.loc[n, "exclusion_error"], targeting.loc[n, "inclusion_error"])
                for n in result.models}),
            "Error trade-off of all models at every cut-off of the predicted score, in sample; "
            "markers: each model at the programme's coverage (rate rule)")
    out.table("Area under the ROC curve", result.auc,
              "In sample. Probability that a random poor person is ranked below a random "
              "non-poor person.")


# --------------------------------------------------------------------------------------
# out of sample
# --------------------------------------------------------------------------------------
def verdict_text(verdict: Verdict | None) -> str:
    """The recommendation in words ("" without a verdict): the best model's exclusion
    error with its interval, and whether its lead over the runner-up is within the paired
    interval.
    """
    if verdict is None:
        return ""
    best, level = verdict.best, verdict.level
    text = (f"Verdict: at the programme's coverage ({verdict.line} of people), {best['model']} "
            f"has the lowest out-of-sample exclusion error, {best['estimate']:.1%} "
            f"({level:.0%} CI {best['lower']:.1%} to {best['upper']:.1%}).")
    if verdict.runner_up is None or verdict.difference is None:
        return text
    diff = verdict.difference
    gap = (f"{verdict.runner_up['model']} is {100 * diff['estimate']:.1f} percentage points "
           f"behind (paired {level:.0%} CI {100 * diff['lower']:.1f} to "
           f"{100 * diff['upper']:.1f})")
    if diff["lower"] <= 0:
        text += (f" Its lead is within the paired interval: {gap}, so the data do not tell the "
                 "two apart; prefer the simpler or more transparent one.")
    else:
        text += f" Its lead is larger than the paired interval: {gap}."
    return text


def comparison_section(out: Outputs, result: ComparisonResult, run: Run) -> None:
    """Section "Model comparison out of sample": how the comparison is made, the error
    trade-off, the paired comparison, the in-sample optimism and the verdict.
    """
    from pmt.report import figures

    ev = run.cfg.evaluation
    lines = ", ".join(f"{q:.0%}" for q in result.shares)
    level = float(ev["level"])
    out.section("Model comparison out of sample")
    out.text(
        "Every figure in this section is out of sample: each household is scored by a model "
        f"fitted without its fold ({ev['folds']} folds of whole PSUs, balanced within strata), "
        f"so flexible models cannot flatter themselves. Models are compared at the same "
        f"coverage ({ev['rule']} rule): the poorest {lines} of people by {run.welfare_name} "
        "against as many people with the lowest predicted welfare."
    )
    note = (f"Out of sample: {ev['folds']}-fold cross-validation, {ev['repeats']} repeat(s); "
            "oos_mean is the mean over folds; fold_min and fold_max are the lowest and highest "
            "fold results (a spread, not a confidence interval); in_sample is the same model "
            "fitted and judged on all households.")
    if ev["rule"] == "line":
        note += (" Line rule: each model selects the households predicted below the line, so "
                 "differences mix ranking quality with coverage (see the coverage rows).")
    out.table("Cross-validation (all)", result.cross_validation, note, show=False)
    out.table("Cross-validation", result.cross_validation_key, note, show=False)
    out.figure("tradeoff_curves", figures.tradeoff_curves(
        result.tradeoff_curves, "Inclusion vs exclusion error over all cut-offs (out of sample)",
        source=run.source_note, operating_points=result.operating_points),
        "Error trade-off of all models at every cut-off of the cross-fitted score, out of "
        "sample; markers: each model at the programme's coverage (rate rule)")
    pct = f"{level:.0%}"
    note = (f"Out of sample (cross-fitted predictions); {ev['replicates']} replicates of a "
            f"PSU-clustered, strata-aware bootstrap shared by all models; lower/upper: {pct} "
            "confidence interval covering the sampling of households given the fitted fold "
            f"models. Rows 'model - {result.reference}' are paired differences.")
    out.table("Out-of-sample comparison (all)", result.comparison, note, show=False)
    out.table("Out-of-sample comparison", result.comparison_key, note, level=level)
    out.table("In-sample optimism", result.optimism,
              "Exclusion error of each model judged on the households it was fitted on (in "
              "sample) and out of sample; the gap is how much the in-sample figure flatters the "
              "model.", kind="share")
    boot = result.comparison
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
    out.text(verdict_text(result.verdict))


def welfare_words(result: WelfareResult, level: float) -> str:
    """The best model against the best baseline by the change in the poverty gap, in one or
    two sentences ("" when there is no such comparison).
    """
    d = result.difference
    if d is None:
        return ""
    pct = f"{level:.0%}"
    levels = result.poverty_gap
    words = (f"At the same budget, {result.best} lowers the poverty gap (FGT1) by "
             f"{-100 * levels.loc[result.best, 'estimate']:.2f} points against "
             f"{-100 * levels.loc[result.best_baseline, 'estimate']:.2f} for the best baseline "
             f"({result.best_baseline}): an advantage of {100 * d['estimate']:.2f} points "
             f"(paired {pct} CI {100 * d['lower']:.2f} to {100 * d['upper']:.2f}).")
    if d["lower"] <= 0:
        words += (" The difference is within the paired interval: the data do not show that the "
                  "model beats the simple rule.")
    return words


def welfare_section(out: Outputs, result: WelfareResult, run: Run) -> None:
    """Section "Models against baselines: poverty and welfare": the headline measures of
    every scheme at the same coverage and budget, the change in the poverty gap, and the
    best model against the best baseline in words.
    """
    from pmt.report import figures

    baselines = run.cfg.baselines or {}
    ev = run.cfg.evaluation
    table = result.table
    out.section("Models against baselines: poverty and welfare")
    budget = table.attrs.get("budget")
    pct = f"{float(ev['level']):.0%}"
    note = (f"Out of sample (cross-fitted model scores). Every scheme reaches {run.headcount:.1%} "
            "of people (the universal transfer everyone) and spends the same budget"
            + (f" (total {format_money(budget)}, in the welfare measure's units)" if budget is not None else "")
            + f" as a {baselines.get('benefit', 'flat')} benefit; lower/upper: {pct} confidence "
            f"intervals from a PSU bootstrap shared by all schemes; rows 'scheme - "
            f"{result.reference}' are paired differences. Social welfare: equally-distributed-"
            f"equivalent welfare with inequality aversion rho = "
            f"{float(baselines.get('rho', 2.0)):g}.")
    out.table("Baselines and welfare (all)", table, note, show=False)
    out.table("Baselines and welfare", result.key, note)
    levels = result.poverty_gap
    if len(levels):
        column = "change in the poverty gap"
        out.figure("poverty_gap_by_scheme", figures.bar_chart(
            levels[["estimate"]].rename(columns={"estimate": column}),
            "Change in the poverty gap (FGT1) at the same budget (out of sample)",
            "Change in FGT1 (% points)", lower=levels[["lower"]].rename(columns={"lower": column}),
            upper=levels[["upper"]].rename(columns={"upper": column}),
            interval=f"{pct} confidence interval", source=run.source_note),
            f"Change in the poverty gap of each model and baseline at the same coverage and "
            f"budget, out of sample; bars: {pct} confidence intervals")
    words = welfare_words(result, float(ev["level"]))
    if words:
        out.text(words)


def subgroup_section(out: Outputs, result: SubgroupResult, run: Run) -> None:
    """Section "Subgroup performance": coverage by quintile with its tests, and the coverage
    of the poor by subgroup (chart; the full table in the workbook).
    """
    from pmt.report import figures

    first, table = result.model, result.table
    ev = run.cfg.evaluation
    out.section("Subgroup performance")
    note = (result.quintiles.attrs.get("significance", {}).get("coverage", {})
            .get("note", ""))
    out.table(f"Coverage by quintile: {first}", result.quintiles,
              f"Out of sample (cross-fitted), rate rule at 20 %. coverage_diff, coverage_p: "
              "each quintile against the poorest (paired PSU bootstrap); *** p<0.01, ** "
              f"p<0.05, * p<0.1. {note}".strip())
    out.table(f"Subgroup performance: {first}", table,
              "Out of sample (cross-fitted). Poorest 20 % of people by actual welfare against "
              "the poorest 20 % "
              f"by {first}, by {', '.join(run.label(g) for g in result.groups)}; small "
              "subgroups are flagged; coverage_poor_lower/upper: confidence interval (PSU "
              "bootstrap, selection held fixed). The chart below shows the coverage of the "
              "poor.", show=False)
    if "coverage_poor" in table.columns:
        pct = f"{float(ev['level']):.0%}"
        out.figure("subgroup_coverage", figures.bar_chart(
            table[["coverage_poor"]].rename(columns={"coverage_poor": first}),
            "Coverage of the poorest 20% by subgroup (out of sample)", "Coverage (%)",
            lower=table[["coverage_poor_lower"]].set_axis([first], axis=1),
            upper=table[["coverage_poor_upper"]].set_axis([first], axis=1),
            interval=f"{pct} confidence interval", xlabel="Subgroup",
            source=run.source_note),
            f"Share of the poorest quintile selected by {first}, by subgroup, out of sample; "
            f"bars: {pct} confidence intervals (PSU bootstrap, selection held fixed)")
    parity_section(out, result, run)


def parity_section(out: Outputs, result: SubgroupResult, run: Run) -> None:
    """Annex section "Fairness: errors by group": each group's exclusion and inclusion
    errors against everyone's, the groups flagged worse named first.
    """
    parity = result.parity
    out.section("Fairness: errors by group")
    worse = parity[parity["flag"] == "worse"]
    if len(worse):
        out.text(f"Out of sample, {result.model} errs significantly more often than for "
                 "everyone in: " + "; ".join(
                     f"{r.block} {r.group} ({str(r.metric).replace('_', ' ')} "
                     f"{100 * r.estimate:.1f} % against {100 * r.total:.1f} %, ratio "
                     f"{r.ratio:.2f})" for r in worse.itertuples()) + ".")
    else:
        out.text(f"Out of sample, no group's exclusion or inclusion error under "
                 f"{result.model} is significantly worse than everyone's.")
    shown = parity.set_index(["block", "group", "metric"])
    out.table(f"Parity of errors: {result.model}", shown,
              "Out of sample (cross-fitted), poorest 20 % against the poorest 20 % by the "
              f"model. {parity.attrs.get('note', '')} ratio: the group's error over "
              "everyone's.",
              columns=["estimate", "total", "ratio", "ratio_lower", "ratio_upper",
                       "p_adjusted", "flag", "too_small"])


def decay_section(out: Outputs, result: DecayResult, run: Run) -> None:
    """Annex section "Decay over survey rounds": each model fitted on the first round and
    judged on the later ones (table and chart).
    """
    from pmt.report import figures

    out.section("Decay over survey rounds")
    first = next(iter(result.tables.values()))
    pct = f"{float(run.cfg.evaluation['level']):.0%}"
    lines = []
    for name, table in result.tables.items():
        per_year = table.attrs.get("per_year", {}).get("exclusion_error")
        last = table[table["metric"] == "exclusion_error"].iloc[-1]
        lines.append(f"{name}: exclusion error {100 * last['estimate']:.1f} % in "
                     f"{last['round']}, {100 * last['change']:+.1f} points against the first "
                     f"round (CI {100 * last['change_lower']:+.1f} to "
                     f"{100 * last['change_upper']:+.1f})"
                     + (f"; {100 * per_year:+.2f} points per unit of '{result.round}'"
                        if per_year is not None else ""))
    out.text("Every model is fitted on the first survey round and applied unchanged to the "
             "later ones; the first round is judged by cross-fitting. " + "; ".join(lines)
             + ".")
    stacked = pd.concat({name: t.set_index(["round", "metric"])
                         for name, t in result.tables.items()}, names=["model"])
    out.table("Decay over survey rounds", stacked, first.attrs.get("note", ""),
              columns=["basis", "estimate", "lower", "upper", "change", "change_lower",
                       "change_upper"])
    out.figure("decay_by_round", figures.decay_chart(
        result.tables, interval=f"{pct} confidence interval", source=run.source_note),
        f"Exclusion error of each model over survey rounds, fitted on the first; bars: {pct} "
        "confidence intervals (PSU bootstrap of each round)")


# --------------------------------------------------------------------------------------
# hybrid means test, scorecard, policies
# --------------------------------------------------------------------------------------
def hmt_section(out: Outputs, result: HmtResult, run: Run) -> None:
    """Section "Hybrid means test": the two-part models of hard-to-verify income, their
    validation and the four targeting methods.
    """
    out.section("Hybrid means test")
    out.text("Verifiable income plus a Heckman-model prediction of hard-to-verify income "
             "(probit of having any, then the log amount with the inverse Mills ratio).")
    for part, table in result.coefficients.items():
        heck = result.model.models_[part]
        out.table(f"HMT coefficients: {part}", table,
                  f"Two-part model of hard-to-verify income ({part}): a probit of having any "
                  "(selection) and the log amount with the inverse Mills ratio (outcome); "
                  f"N = {heck.nobs:,}, {heck.n_selected:,} with the income; rho = "
                  f"{heck.rho:.3f}, sigma = {heck.sigma:.3f}. *** p<0.01, ** p<0.05, * p<0.1.")
    out.table("HMT validation", result.validation,
              "In sample. Predicted vs actual income per capita.")
    out.table("HMT decile cross-tab", result.crosstab, "In sample. Rows: actual decile of "
              "income per capita; columns: HMT decile; population shares.")
    out.table("Four targeting methods", result.methods,
              f"In sample. Verifiable-income means test (VMT), PMT, HMT and perfect targeting, at the same "
              f"threshold ({format_money(run.line)}{run.money}) and at the same budget; benefits top up "
              "income to the threshold.")


def scorecard_section(out: Outputs, result: ScorecardResult, run: Run) -> None:
    """Section "Scorecard": the rounding warning, the points (workbook), the rounding loss
    and the enumerator and analyst forms.
    """
    sc = result.scorecard
    out.section("Scorecard")
    if sc.rounding_warning:
        out.text(f"Warning: {sc.rounding_warning}")
    out.table("Scorecard points", result.points,
              f"Integer points per answer from the {result.model} model; base answers score 0; "
              f"eligible below the cut-off of {sc.cutoff} points.", show=False)
    if result.rounding_loss is not None:
        out.table("Scorecard rounding loss", result.rounding_loss,
                  "In sample. Targeting of the exact model and of the rounded scorecard, and the "
                  "share of households whose eligibility changes.")
    if result.likelihood is not None:
        out.table("Poverty likelihood by score", result.likelihood,
                  "In sample, the whole survey scored with the scorecard. Share of people in "
                  "each score band (deciles of the score) who are poor at half the line, the "
                  "line and 1.5 times the line, with PSU-bootstrap intervals, as the Poverty "
                  "Probability Index publishes; the estimated poverty rate of a group is the "
                  "average likelihood of its households.")
    if result.likelihood_accuracy is not None:
        out.table("Poverty likelihood: accuracy on held-out PSUs", result.likelihood_accuracy,
                  "Out of sample: model, scorecard and likelihood table rebuilt on half of the "
                  "PSUs (balanced within strata); the other half's poverty rate estimated from "
                  "the table against its true rate. bias: estimated minus true; precision: "
                  "half-width of the interval of the bias (PSU bootstrap of the held-out "
                  "half).")
    out.html(sc.enumerator_form("html", fragment=True, spec=run.spec), "Field form (enumerator)")
    out.html(sc.analyst_form("html", fragment=True, spec=run.spec), "Scorecard (analyst)")


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
#: the tables of a simulation that go to the workbook, in order
SIM_TABLES = ("counts", "families", "budget", "poverty_display", "targeting", "deciles",
              "winners_losers", "cost_effectiveness", "assumptions", "threshold_solution",
              "amount_solution", "coverage_solution", "repeated_eligibility", "scenario_grid")
#: the simulation tables the report shows
SIM_SHOWN = ("poverty_display", "deciles", "budget", "families")


def simulation_section(out: Outputs, result: SimulationResult, run: Run) -> None:
    """Section "Policy simulation": each policy in words with its tables, the first
    policy's distributional charts, persons by group, poverty before and after, and the
    budget-neutral comparison.
    """
    from pmt.report import figures

    out.section("Policy simulation")
    if result.scoring_model is not None:
        out.text(f"In sample: the simulations score every household with the "
                 f"{result.scoring_model} model fitted on all households of the survey.")
    fgt = {}
    for policy in result.policies:
        sim, title = policy.result, policy.title
        out.text(f"Policy: {title}. " + "; ".join(
            line.strip() for line in sim.policy.describe().splitlines()[1:] if line.strip())
            + ".")
        for key in SIM_TABLES:
            if key in sim.tables:
                out.table(f"{title}: {key}", sim.tables[key], SIM_NOTES.get(key, ""),
                          show=key in SIM_SHOWN,
                          columns=DECILE_COLUMNS if key == "deciles" else None,
                          currency=policy.currency)
        if policy.persons is not None:
            out.table(
                f"{title}: persons", policy.persons,
                "Persons of the roster by group (the config's `roster.groups`), person-weighted "
                "(household weight for each member): poverty before and after the policy, and "
                "the share living in a household that receives the benefit"
                + (" and the share in a beneficiary family" if policy.by_family else "")
                + "; standard errors linearised with PSU clustering within strata; in sample.",
                show=False, shares=["se_before", "change", "se_change"])
        fgt[title] = sim.tables["poverty"]
        if len(fgt) == 1:  # the first policy's distributional charts
            _policy_figures(out, policy, result.person_weight, run)
    if result.persons_by_group is not None:
        out.table("Persons by group under each policy", result.persons_by_group,
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
    if result.budget_neutral_skipped:
        out.text("The budget-neutral comparison needs household sizes (survey.size): "
                 "skipped.")
    elif result.budget_neutral is not None:
        bn = run.cfg.budget_neutral or {}
        out.table("Budget-neutral comparison", result.budget_neutral,
                  "One budget spent through the PMT (top-up to the line), a universal "
                  "transfer" + (" and categorical transfers" if any(bn.values()) else "")
                  + " (Brown, Ravallion and van de Walle 2018); in sample.")


def _policy_figures(out: Outputs, policy, weights: np.ndarray, run: Run) -> None:
    """Welfare under the reform against the baseline, and who receives the benefit."""
    from pmt.report import figures

    title = policy.title
    base = policy.result.welfare["pre_transfer"].to_numpy(dtype=float)
    reform = policy.result.welfare["reform"].to_numpy(dtype=float)
    out.figure("welfare_under_reform", figures.welfare_under_reform(
        base, reform, weights, thresholds={"Poverty line": run.line}, currency=run.cfg.currency,
        welfare=run.welfare_name, source=run.source_note,
        title=f"{run.welfare_name.capitalize()} before and after: {title}"),
        f"Distribution of {run.welfare_name} before transfers and under the policy "
        f"'{title}' (person-weighted), with the poverty line; in sample")
    if policy.benefit_per_person is not None:
        out.figure("lorenz_concentration", figures.lorenz_concentration(
            base, {title: policy.benefit_per_person}, weights, welfare_label=run.welfare_name,
            source=run.source_note,
            title="Lorenz curve of welfare and concentration curve of benefits"),
            f"Lorenz curve of {run.welfare_name} before transfers and concentration curve of "
            f"the benefits of '{title}' (people ranked by welfare), in sample; above the "
            "Lorenz curve: progressive relative to welfare")


# --------------------------------------------------------------------------------------
# the summary at the top
# --------------------------------------------------------------------------------------
def _with_interval(row) -> str:
    return f"{row['estimate']:.1%} ({row['lower']:.1%} to {row['upper']:.1%})"


def executive_summary(run: Run, comparison: ComparisonResult | None = None,
                      welfare: WelfareResult | None = None,
                      scorecard: ScorecardResult | None = None) -> Section:
    """The report's first section, written from the step results in plain words: the
    programme, the recommended model and why, its errors and poverty impact with intervals
    beside the baselines, and what the user must still decide.
    """
    cfg = run.cfg
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
    verdict = verdict_text(comparison.verdict) if comparison is not None else ""
    if verdict:
        say(("text", verdict.replace("Verdict: ", "Recommendation: ", 1), ""))
    rows = {}
    best = comparison.best if comparison is not None else None
    if comparison is not None and best is not None:
        boot = comparison.comparison
        line = next((x for x in boot["line"].dropna().unique()
                     if str(x).startswith("poorest")), None)
        at = boot[(boot["line"] == line) & (boot["model"] == best)
                  & (boot["rule"] == cfg.evaluation["rule"])].set_index("metric")
        if {"exclusion_error", "inclusion_error"} <= set(at.index):
            rows[f"{best}: exclusion error"] = _with_interval(at.loc["exclusion_error"])
            rows[f"{best}: inclusion error"] = _with_interval(at.loc["inclusion_error"])
    if welfare is not None:
        table = welfare.table
        level = table[table["kind"] != "difference"].set_index(["scheme", "measure"])
        schemes = [x for x in dict.fromkeys(table["scheme"])
                   if x != "No transfer" and " - " not in x
                   and (x == best or table.loc[table["scheme"] == x, "kind"].iloc[0]
                        == "baseline")]
        headline = pd.DataFrame({
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
        budget = table.attrs.get("budget")
        say(("table", headline, "Headline numbers: the recommended model and simple rules at "
             "the same coverage and budget, out of sample, with "
             f"{float(cfg.evaluation['level']):.0%} confidence intervals"
             + (f" (budget {format_money(budget)}, in the welfare measure's units)"
                if budget is not None else "")))
        words = welfare_words(welfare, float(cfg.evaluation["level"]))
        if words:
            say(("text", words, ""))
    elif rows:
        say(("table", pd.Series(rows, name="estimate").to_frame(),
             "Headline errors of the recommended model, out of sample"))
    decide = ["the coverage or budget of the programme (these figures use the poverty "
              f"headcount, {run.headcount:.1%} of people, as coverage)"]
    if "within the paired interval" in verdict:
        decide.append("which of the statistically equivalent models to use: prefer the one "
                      "that is simpler to explain and to collect")
    unverifiable = [run.label(c) for c in (run.spec.columns_with_role("proxy")
                                            if run.spec is not None else [])
                    if not run.spec[c].verifiable]
    if unverifiable:
        decide.append("how to verify the answers the spec does not mark as verifiable: "
                      + ", ".join(unverifiable[:8]) + (" ..." if len(unverifiable) > 8 else ""))
    rounding = scorecard.scorecard.rounding_warning if scorecard is not None else None
    if rounding:
        decide.append(f"whether the scorecard's rounding is acceptable: {rounding}")
    decide.append("the benefit design and take-up assumptions (see the policy simulation)"
                  if cfg.policies else "the benefit design: no policy was simulated")
    say(("text", "Still to decide: " + "; ".join(decide) + ".", ""))
    return sec
