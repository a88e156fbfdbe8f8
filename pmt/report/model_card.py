"""A PMT model card: what a targeting formula is, how well it works and where it fails.

In the spirit of Mitchell et al. (2019), "Model cards for model reporting", adapted to
proxy means tests: the data and year the formula was fitted on, the population it is meant
for, its proxies and which of them an official can verify, its out-of-sample performance
at the chosen coverage with confidence intervals, subgroup parity, drift and decay where
they were measured, the rounding loss of its scorecard, known limitations, the date and
the pmt version. Written as Markdown (for a repository or a ministry's wiki) and as a
self-contained HTML page beside every exported model.

Every section states its basis; a section whose evidence was not produced says so ("not
measured"), never leaves a blank that reads as "no problem".
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pmt.errors import DataError

__all__ = ["ModelCard", "model_card"]

_PERCENT = ("exclusion_error", "inclusion_error", "coverage", "coverage_poor",
            "coverage_nonpoor", "targeting_differential", "benefit_leakage")


def _today() -> str:
    """ISO date of the card: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC).date().isoformat()
    return _dt.date.today().isoformat()


def _pct(x) -> str:
    return "" if pd.isna(x) else f"{100 * float(x):.1f} %"


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v).replace("|", "/")
                                       for v in row) + " |")
    return "\n".join(lines)


@dataclass
class ModelCard:
    """A model card: titled sections of prose and tables, rendered to Markdown or HTML.

    Build it with :func:`model_card`; ``sections`` is a list of (title, paragraphs,
    tables) in reading order.
    """

    name: str
    date: str
    version: str
    sections: list[tuple[str, list[str], list[pd.DataFrame]]] = field(default_factory=list)

    def to_markdown(self) -> str:
        """The card as Markdown (GitHub-flavoured tables)."""
        out = [f"# Model card: {self.name}", "",
               f"Date: {self.date}. Written by pmt {self.version}.", ""]
        for title, paragraphs, tables in self.sections:
            out += [f"## {title}", ""]
            for p in paragraphs:
                out += [p, ""]
            for t in tables:
                out += [_md_table(t), ""]
        return "\n".join(out)

    def to_html(self) -> str:
        """The card as one self-contained HTML page."""
        from pmt.report.html import table_html

        esc = html.escape
        body = [f"<h1>Model card: {esc(self.name)}</h1>",
                f"<p class='meta'>Date: {esc(self.date)}. Written by pmt {esc(self.version)}.</p>"]
        for title, paragraphs, tables in self.sections:
            body.append(f"<h2>{esc(title)}</h2>")
            body += [f"<p>{esc(p)}</p>" for p in paragraphs]
            body += [table_html(t.set_index(t.columns[0]) if len(t.columns) > 1 else t)
                     for t in tables]
        style = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;"
                 "line-height:1.45;color:#222}table{border-collapse:collapse;margin:.5em 0 1em}"
                 "td,th{border-bottom:1px solid #ccc;padding:.2em .6em;text-align:left}"
                 ".meta{color:#555}")
        return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>Model card: {esc(self.name)}</title><style>{style}</style></head>"
                f"<body>{''.join(body)}</body></html>")

    def write(self, directory: str | Path, stem: str) -> dict[str, Path]:
        """Write ``<stem>.md`` and ``<stem>.html`` into ``directory`` (atomically).

        Returns
        -------
        dict
            ``{"markdown": path, "html": path}``.
        """
        from pmt.io import atomic_write

        directory = Path(directory)
        paths = {"markdown": directory / f"{stem}.md", "html": directory / f"{stem}.html"}
        for key, text in (("markdown", self.to_markdown()), ("html", self.to_html())):
            with atomic_write(paths[key]) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return paths


def _proxies_table(model, spec) -> pd.DataFrame:
    variables = list(getattr(getattr(model, "design", None), "variables", []) or [])
    if not variables:
        raise DataError("model_card: the model records no proxies (design.variables); pass "
                        "a fitted pmt model or a loaded model artifact.")
    terms = model.design.terms_table()
    per_variable = terms["variable"].value_counts()
    rows = []
    for v in variables:
        col = spec[v] if spec is not None and v in getattr(spec, "columns", {}) else None
        rows.append({
            "proxy": v,
            "label": getattr(col, "label", None) or "",
            "verifiable": ("yes" if getattr(col, "verifiable", False) else "no")
            if col is not None else "not in the spec",
            "terms": int(per_variable.get(v, 0)),
        })
    return pd.DataFrame(rows)


def _performance_table(performance: pd.DataFrame) -> pd.DataFrame:
    need = {"metric", "estimate"}
    if not need <= set(performance.columns):
        raise DataError(f"model_card: `performance` needs the columns {sorted(need)} (and "
                        "lower/upper for intervals); got " + ", ".join(map(str, performance.columns)))
    rows = []
    for _, r in performance.iterrows():
        fmt = _pct if r["metric"] in _PERCENT else (lambda x: "" if pd.isna(x) else f"{x:.3g}")
        interval = (f"{fmt(r['lower'])} to {fmt(r['upper'])}"
                    if {"lower", "upper"} <= set(performance.columns) else "")
        rows.append({"measure": str(r["metric"]).replace("_", " "),
                     "estimate": fmt(r["estimate"]), "confidence interval": interval})
    return pd.DataFrame(rows)


def model_card(
    model,
    *,
    name: str | None = None,
    spec=None,
    data_source: str,
    population: str,
    coverage: float,
    performance: pd.DataFrame | None = None,
    basis: str = "out of sample",
    level: float = 0.95,
    parity: pd.DataFrame | None = None,
    drift: pd.DataFrame | None = None,
    decay: pd.DataFrame | None = None,
    rounding: pd.DataFrame | None = None,
    limitations: Sequence[str] = (),
    intended_use: str | None = None,
    date: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> ModelCard:
    """Assemble the model card of a fitted PMT.

    Parameters
    ----------
    model : fitted pmt model or loaded artifact
        Its formula, number of observations, coefficients and proxies are described.
    name : str, optional
        Title (default: the model's name or type).
    spec : pmt.DataSpec, optional
        Labels and ``verifiable`` flags of the proxies.
    data_source : str
        The survey and its year (e.g. "Household budget survey 2018, 20,000 households").
    population : str
        Whom the formula is meant to rank (e.g. "all resident households of Uzbekistan").
    coverage : float
        Share of people the programme reaches at the chosen cut-off (0-1).
    performance : pandas.DataFrame, optional
        Targeting metrics at that coverage: columns ``metric``, ``estimate``, ``lower``,
        ``upper`` (e.g. rows of :func:`pmt.evaluate.bootstrap_metrics` on cross-fitted
        predictions).
    basis : str
        How ``performance`` was measured ("out of sample" or "in sample"), printed with it.
    level : float
        Confidence level of the intervals given.
    parity : pandas.DataFrame, optional
        :func:`pmt.evaluate.parity_table` output; flagged groups are listed.
    drift : pandas.DataFrame, optional
        Drift table (columns ``proxy``, ``psi``, ``flag``) between survey and registry.
    decay : pandas.DataFrame, optional
        :func:`pmt.evaluate.decay_table` output.
    rounding : pandas.DataFrame, optional
        :meth:`pmt.Scorecard.rounding_loss` output.
    limitations : sequence of str
        Known limitations written by the analyst (added to those derived here).
    intended_use : str, optional
        What the formula is for; a default sentence otherwise.
    date : str, optional
        Date printed on the card (default: ``SOURCE_DATE_EPOCH`` or today, ISO 8601).
    extra : mapping, optional
        Further titled paragraphs.

    Returns
    -------
    ModelCard
    """
    from pmt import __version__

    if not 0 < coverage < 1:
        raise DataError(f"model_card: `coverage` is a share between 0 and 1; got {coverage}.")
    title = name or getattr(model, "name", None) or getattr(model, "model_type", "model")
    card = ModelCard(name=str(title), date=date or _today(), version=__version__)
    auto_limits: list[str] = []

    card.sections.append(("Intended use", [intended_use or (
        f"Rank households by predicted welfare to select the poorest {coverage:.0%} of "
        "people for social assistance. Not for judging individual households without the "
        "grievance procedure, and not for populations other than the one below.")], []))
    formula = getattr(model, "formula", "")
    nobs = getattr(model, "nobs", None)
    facts = [f"Data: {data_source}.", f"Population: {population}."]
    facts.append(f"Model: {getattr(model, 'model_type', type(model).__name__)}"
                 + (f", {int(nobs):,} households" if nobs is not None else "")
                 + (f"; formula `{formula}`." if formula else "."))
    r2 = getattr(model, "rsquared", None)
    if r2 is not None:
        facts.append(f"R-squared (in sample): {float(r2):.3f}.")
    card.sections.append(("Data and population", facts, []))

    proxies = _proxies_table(model, spec)
    unverifiable = proxies.loc[proxies["verifiable"] == "no", "proxy"].tolist()
    text = [f"{len(proxies)} proxies."]
    if spec is None:
        text.append("No data spec was given: verifiability is not known.")
    elif unverifiable:
        text.append(f"{len(unverifiable)} of them cannot be verified by an official "
                    f"(not marked `verifiable: true` in the spec): {', '.join(unverifiable)}. "
                    "Answers to those are the easiest to misreport.")
        auto_limits.append(f"{len(unverifiable)} proxies cannot be verified; check registry "
                           "scores for bunching below the cut-off (pmt.density_test).")
    card.sections.append(("Proxies", text, [proxies]))

    if performance is not None:
        perf = _performance_table(performance)
        card.sections.append((f"Performance at {coverage:.0%} coverage", [
            f"{basis.capitalize()}; {level:.0%} confidence intervals (PSU bootstrap) where "
            "shown."], [perf]))
        if basis != "out of sample":
            auto_limits.append("Performance was measured in sample; expect worse on new data.")
    else:
        card.sections.append((f"Performance at {coverage:.0%} coverage",
                              ["Not measured."], []))
        auto_limits.append("Targeting performance was not measured.")

    if parity is not None and len(parity):
        worse = parity[parity["flag"] == "worse"]
        lines = [parity.attrs.get("note", "")] if parity.attrs.get("note") else []
        if len(worse):
            for _, r in worse.iterrows():
                lines.append(f"{r['block']} = {r['group']}: {str(r['metric']).replace('_', ' ')} "
                             f"{_pct(r['estimate'])} against {_pct(r['total'])} for everyone "
                             f"(ratio {r['ratio']:.2f}, {level:.0%} CI {r['ratio_lower']:.2f} "
                             f"to {r['ratio_upper']:.2f}).")
            auto_limits.append("Errors are significantly worse for: " + "; ".join(
                f"{r['block']} = {r['group']} ({str(r['metric']).replace('_', ' ')})"
                for _, r in worse.iterrows()) + ".")
        else:
            lines.append("No group's exclusion or inclusion error is significantly worse "
                         "than everyone's.")
        show = parity[["block", "group", "metric", "estimate", "ratio", "flag"]].copy()
        show["estimate"] = show["estimate"].map(_pct)
        show["ratio"] = show["ratio"].map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
        show["metric"] = show["metric"].str.replace("_", " ")
        card.sections.append(("Subgroup parity", lines, [show]))
    else:
        card.sections.append(("Subgroup parity", ["Not measured."], []))
        auto_limits.append("Errors by group were not measured.")

    if drift is not None and len(drift):
        flagged = drift[~drift["flag"].astype(str).isin(["", "none"])]
        card.sections.append(("Drift between survey and registry", [
            f"{len(flagged)} of {len(drift)} proxies flagged (population stability index)."
            + (" Flagged: " + ", ".join(map(str, flagged["proxy"])) + "." if len(flagged) else "")],
            [drift[[c for c in ("proxy", "psi", "flag") if c in drift.columns]].round(3)]))
    else:
        card.sections.append(("Drift between survey and registry", [
            "Not measured yet: run `pmt drift` on the registry once applications arrive."], []))
    if decay is not None and len(decay):
        per_year = decay.attrs.get("per_year", {})
        words = [decay.attrs.get("note", "")]
        if per_year:
            words.append("Change per year: " + "; ".join(
                f"{k.replace('_', ' ')} {100 * v:+.2f} points" for k, v in per_year.items()) + ".")
        card.sections.append(("Decay over survey rounds", words, [
            decay[["round", "metric", "estimate", "change"]].round(3)]))
    else:
        card.sections.append(("Decay over survey rounds", [
            "Not measured (one survey round). Formulas lose accuracy over time (1.5 to 1.9 "
            "points a year in Aiken, Ohlenburg and Blumenstock 2023): re-estimate on each new "
            "survey round."], []))
        auto_limits.append("Decay over time is unknown: plan re-estimation on new rounds.")

    if rounding is not None and "changed" in rounding.columns and "scorecard" in rounding.index:
        changed = float(rounding.loc["scorecard", "changed"])
        card.sections.append(("Scorecard rounding loss", [
            f"The integer-point scorecard changes the eligibility of {_pct(changed)} of people "
            "against the exact model."], []))
        if changed > 0.02:
            auto_limits.append(f"Rounding to integer points changes {_pct(changed)} of "
                               "decisions; consider more points.")
    else:
        card.sections.append(("Scorecard rounding loss", ["No scorecard was made."], []))

    for key, value in (extra or {}).items():
        card.sections.append((key, [value], []))
    card.sections.append(("Known limitations", [*auto_limits, *limitations] or [
        "None recorded."], []))
    return card
