"""Side-by-side regression tables: ``pmt.regression_table({"OLS": r1, "Q20": r2})``.

One text column per model, cells ``"coef*** (se)"`` (or ``"coef*** [lower, upper]"``)
with three significant digits (:func:`pmt.report.format.coef_cell`), rows labelled with a
DataSpec's variable and value labels, and footer rows: observations, R² (pseudo R² for
probit/logit), clusters, standard-error type and the reference categories.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from pmt.errors import ModelError
from pmt.models.base import stars as stars_of

__all__ = ["regression_table", "RegressionTable"]

FOOTER_ROWS = ("N", "R2", "clusters", "se_type", "reference")
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}"}


class RegressionTable(pd.DataFrame):
    """A DataFrame of text cells (index ``term``; column ``label`` then one per model)
    with ``to_excel``, ``to_html``, ``to_markdown`` and ``to_latex`` that need no optional
    package besides openpyxl for Excel. ``notes`` holds the footnote (stars, s.e.).
    """

    _metadata = ["notes"]

    @property
    def _constructor(self):
        return RegressionTable

    def _note(self) -> str:
        return getattr(self, "notes", "") or ""

    def to_markdown(self, buf=None, **kwargs) -> str | None:
        """A GitHub-style Markdown table (pipes escaped) followed by the note."""
        def cell(v) -> str:
            return str(v).replace("|", "\\|")

        cols = [self.index.name or "term", *map(str, self.columns)]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        for term, row in self.iterrows():
            lines.append("| " + " | ".join([cell(term), *map(cell, row)]) + " |")
        if self._note():
            lines += ["", self._note()]
        text = "\n".join(lines) + "\n"
        if buf is None:
            return text
        with open(buf, "w", encoding="utf-8") if isinstance(buf, str) else _nullctx(buf) as fh:
            fh.write(text)
        return None

    def to_html(self, buf=None, **kwargs) -> str | None:
        """HTML table (pandas' ``to_html``) followed by the note as a paragraph."""
        kwargs.setdefault("na_rep", "")
        text = pd.DataFrame(self).to_html(**kwargs)
        if self._note():
            text += f"\n<p>{html.escape(self._note())}</p>"
        if buf is None:
            return text
        with open(buf, "w", encoding="utf-8") if isinstance(buf, str) else _nullctx(buf) as fh:
            fh.write(text)
        return None

    def to_latex(self, buf=None, **kwargs) -> str | None:
        """A LaTeX ``tabular`` (special characters escaped), the note below it."""
        def esc(v) -> str:
            out = "".join(_LATEX.get(ch, ch) for ch in str(v))
            return re.sub(r"(\*+)", r"$^{\1}$", out)

        cols = [self.index.name or "term", *map(str, self.columns)]
        lines = [r"\begin{tabular}{l" + "l" * len(self.columns) + "}", r"\hline",
                 " & ".join(map(esc, cols)) + r" \\", r"\hline"]
        for term, row in self.iterrows():
            if term == FOOTER_ROWS[0]:
                lines.append(r"\hline")
            lines.append(" & ".join([esc(term), *map(esc, row)]) + r" \\")
        lines += [r"\hline", r"\end{tabular}"]
        if self._note():
            lines.append(esc(self._note()))
        text = "\n".join(lines) + "\n"
        if buf is None:
            return text
        with open(buf, "w", encoding="utf-8") if isinstance(buf, str) else _nullctx(buf) as fh:
            fh.write(text)
        return None

    def to_excel(self, excel_writer, sheet_name: str = "Regression table", **kwargs) -> None:
        """Write the table (and the note under it) to an .xlsx file (openpyxl)."""
        frame = pd.DataFrame(self)
        if self._note():
            note = pd.DataFrame([[self._note()] + [""] * (frame.shape[1] - 1)],
                                index=pd.Index([""], name=frame.index.name),
                                columns=frame.columns)
            frame = pd.concat([frame, note])
        frame.to_excel(excel_writer, sheet_name=sheet_name, **kwargs)


class _nullctx:
    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self.fh

    def __exit__(self, *exc):
        return False


def _expand(models) -> dict[str, object]:
    """Name -> result; a grouped OLS becomes one column per group."""
    if isinstance(models, Mapping):
        items = list(models.items())
    elif isinstance(models, Sequence) and not isinstance(models, str):
        items = [(f"({i})", m) for i, m in enumerate(models, 1)]
    else:
        raise ModelError("models must be a mapping {name: result} or a list of results.")
    if not items:
        raise ModelError("regression_table needs at least one model.")
    out: dict[str, object] = {}
    for name, r in items:
        groups = getattr(r, "results", None)
        if isinstance(groups, Mapping) and hasattr(r, "by"):
            for g, sub in groups.items():
                out[f"{name} ({r.by} = {g})"] = sub
            continue
        if not hasattr(r, "coef_table") or not hasattr(r, "params"):
            raise ModelError(
                f"model {name!r} ({type(r).__name__}) has no coefficients to tabulate; "
                "regression_table takes ols, quantreg, probit/logit and heckman results."
            )
        out[str(name)] = r
    return out


def _code_labels(spec, var) -> dict | None:
    """The spec's value labels of ``var`` keyed by the code as text, or None."""
    codes_of = getattr(spec, "codes", None)
    codes = (codes_of(var) if codes_of is not None and isinstance(var, str) and var in spec
             else None)
    return {str(k): v for k, v in codes.items()} if codes else None


def _reference_categories(models: Mapping, spec) -> list[str]:
    out: dict[str, str] = {}
    for r in models.values():
        design = getattr(r, "design", None)
        for var, cat in (getattr(design, "categoricals", None) or {}).items():
            names = spec.labels if hasattr(spec, "labels") else (spec or {})
            label = names.get(var, var)
            codes = _code_labels(spec, var)
            base = codes.get(str(cat.base), cat.base) if codes else cat.base
            out.setdefault(var, f"{label}: {base}")
    return list(out.values())


def regression_table(
    models,
    spec=None,
    se: str = "se",
    level: float = 0.95,
    stars: bool = True,
) -> RegressionTable:
    """Coefficients of several models side by side.

    Parameters
    ----------
    models : mapping of str to result, or list of results
        E.g. ``{"OLS": pmt.ols(...), "Q20": pmt.quantreg(..., q=0.2)}``; a list gets
        column names "(1)", "(2)", ... A grouped OLS (``ols(by=...)``) gives one column
        per group.
    spec : pmt.DataSpec or mapping, optional
        Variable labels (and value labels of categorical levels) for the ``label`` column.
    se : {"se", "ci"}
        Under the coefficient: its standard error in parentheses, or its confidence
        interval ``[lower, upper]`` at ``level`` (each model's t or normal quantiles, as
        its ``conf_int``).
    level : float
        Coverage of the intervals when ``se="ci"``.
    stars : bool
        Significance stars (*** p<0.01, ** p<0.05, * p<0.1, from each model's p-values).

    Returns
    -------
    RegressionTable
        A DataFrame of strings, index ``term`` (coefficient rows, then ``N``, ``R2``,
        ``clusters`` when any model has them, ``se_type`` and ``reference`` when a model
        has categorical terms), columns ``label`` and one per model; ``to_excel``,
        ``to_html``, ``to_markdown``, ``to_latex``; ``notes`` is the footnote.
    """
    from pmt.report.format import coef_cell, format_coef

    if se not in ("se", "ci"):
        raise ModelError(f"se must be 'se' or 'ci'; got {se!r}.")
    models = _expand(models)
    label_map = spec
    if spec is not None and not hasattr(spec, "labels") and not isinstance(spec, Mapping):
        raise ModelError("spec must be a pmt.DataSpec or a mapping of variable labels.")
    columns: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    for name, r in models.items():
        table = r.coef_table(label_map)
        marks = [stars_of(p) if stars else "" for p in table["p"]]
        if se == "se":
            cells = [coef_cell(c, s, m) for c, s, m in
                     zip(table["coef"], table["se"], marks, strict=True)]
        else:
            ci = r.conf_int(level).reindex(table.index)
            cells = [f"{format_coef(c)}{m} [{format_coef(lo)}, {format_coef(hi)}]"
                     for c, m, lo, hi in zip(table["coef"], marks, ci[0], ci[1], strict=True)]
        columns[name] = pd.Series(cells, index=table.index)
        for term, var, lev, label in zip(table.index, table["variable"], table["level"],
                                         table["label"], strict=True):
            codes = _code_labels(spec, var)
            if codes and isinstance(lev, str):
                label = f"{label}: {codes.get(lev, lev)}"
            labels.setdefault(term, label)
    order = list(dict.fromkeys(t for col in columns.values() for t in col.index))
    frame = pd.DataFrame({n: c.reindex(order) for n, c in columns.items()}, index=order)
    frame = frame.fillna("")
    frame.insert(0, "label", [labels.get(t, t) for t in frame.index])
    footer: dict[str, dict] = {
        "N": {"label": "Observations", **{n: f"{r.nobs:,}" for n, r in models.items()}}
    }
    fit, clusters, se_type = {}, {}, {}
    for name, r in models.items():
        info = getattr(r, "info", {}) or {}
        value = info.get("rsquared", info.get("prsquared"))
        fit[name] = f"{value:.3f}" if value is not None else ""
        g = info.get("n_clusters")
        clusters[name] = f"{int(g):,}" if g else ""
        se_type[name] = str(getattr(r, "cov_type", ""))
    footer["R2"] = {"label": "R² (pseudo R² for probit/logit)", **fit}
    if any(clusters.values()):
        footer["clusters"] = {"label": "Clusters (PSUs)", **clusters}
    footer["se_type"] = {"label": "Standard errors", **se_type}
    refs = _reference_categories(models, spec)
    if refs:
        footer["reference"] = {"label": "Reference categories: " + "; ".join(refs),
                               **{n: "" for n in models}}
    out = pd.concat([frame, pd.DataFrame.from_dict(footer, orient="index")]).rename_axis("term")
    result = RegressionTable(out)
    what = ("standard errors in parentheses" if se == "se"
            else f"{level:.0%} confidence intervals in brackets")
    result.notes = what + ("; * p<0.1, ** p<0.05, *** p<0.01" if stars else "") + "."
    return result
