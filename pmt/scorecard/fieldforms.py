"""Two field forms of a scorecard: the enumerator's questionnaire and the analyst's sheet.

**Enumerator form** (:meth:`Scorecard.enumerator_form <pmt.scorecard.Scorecard.enumerator_form>`):
what a field worker fills in, and nothing that helps game the score.

* the data spec's question wording (``question:``), else the label without a trailing
  variable name in parentheses; answer labels from the spec's codes;
* answer options as check boxes, **without points**, no total, no cut-off;
* **counts instead of shares**: a share or ratio question (``per`` set, see
  :mod:`pmt.scorecard.shares`) is asked as its two counts, each in a number box, in a
  "Household members" block at the top; each denominator (e.g. the household size) is
  asked once; the scorecard computes the share when scoring;
* no variable names, registry conditions or formula notes;
* questions worth 0 points for every answer are left out (the analyst form lists them);
* HTML: one ``<div class="pmt-ef">`` holding its own ``<style>`` whose rules are all
  scoped under ``.pmt-ef``, so the fragment (``fragment=True``, or the ``<body>`` of the
  full page) keeps its look when embedded in a report; the full page adds
  ``@page {size: A4; margin: 12mm}``; two columns, questions never split across columns
  or pages.

**Page estimate** (:func:`estimate_pages`). The form is laid out in lines of text, the
way the CSS sets it: A4 portrait with 12 mm margins leaves 186 x 273 mm; two columns of
90 mm (6 mm gap); 9 pt text at line height 1.3 is 4.13 mm a line, 66 lines a column, of
which :data:`LINES_PER_COLUMN` = 60 are counted as usable; a 90 mm column holds about 56
characters of 9 pt Arial, counted as :data:`CHARS_PER_LINE` = 48. Each question takes the
lines of its wrapped text, plus the lines of its options packed left to right (an option
is its label plus 4 characters for the box and the gap; a count question adds 8
characters for the number box), plus :data:`GAP_LINES` between questions; a section
heading takes 1.5 lines; the page head (title, household id line, instruction) takes
:data:`HEAD_LINES` lines of both columns of page 1, the signature line
:data:`FOOT_LINES` at the end. Questions fill a column until the next does not fit (no
question is split), then the next column; two columns make a page. The measure is
conservative by construction (fewer characters and lines than the page holds); the demo
scorecard's form prints on 2 pages in headless Chromium and is estimated at 2.

**Analyst form** (:meth:`Scorecard.analyst_form <pmt.scorecard.Scorecard.analyst_form>`):
every answer with its registry condition and points, the variables each question reads
(``share = numerator / denominator`` for shares), notes (e.g. quadratic caps), the
cut-off, the scale, the questions dropped because they are worth 0 for every answer, and
the rounding loss with the warning of :attr:`Scorecard.rounding_warning`.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

from pmt.errors import ArtifactError
from pmt.models.formula import level_label
from pmt.scorecard.fieldinfo import _codes_of, _plain, _question_of
from pmt.scorecard.questions import condition_text

#: Usable lines of 9 pt text in one column of an A4 page (see the module docstring).
LINES_PER_COLUMN = 60
#: Characters of 9 pt text counted in one line of a 90 mm column.
CHARS_PER_LINE = 48
#: Lines between two questions (margin and rule).
GAP_LINES = 0.4
#: Lines of the page head (title, household id, instruction), in both columns of page 1.
HEAD_LINES = 6.0
#: Lines of the signature block at the end.
FOOT_LINES = 3.0
_HEADING_LINES = 1.5
_OPTION_EXTRA = 4  # check box and gap, in characters
#: Options whose labels add up to at most this many characters (e.g. No / Yes) are set on
#: the question's own line, at its right end.
INLINE_CHARS = 12
_NUMBER_BOX = 8  # number box after a count question, in characters

_FORMATS = ("html", "markdown")


# --------------------------------------------------------------------------------------
# the enumerator form's content
# --------------------------------------------------------------------------------------
@dataclass
class FormItem:
    """One entry of the enumerator form: a count (number box) or a choice (check boxes)."""

    kind: str  # "count" or "choice"
    text: str
    options: list[str] = field(default_factory=list)
    section: str = ""


def _check_format(fmt: str) -> str:
    if fmt not in _FORMATS:
        raise ArtifactError(f"format must be 'html' or 'markdown'; got {fmt!r}.")
    return fmt


def _text_of(spec, col: str, fallback: str | None) -> str:
    """The wording for ``col``: the spec's question, else ``fallback``, else a plain name."""
    return _question_of(spec, col) or fallback or f"How many: {col.replace('_', ' ')}?"


def form_items(sc, spec=None) -> list[FormItem]:
    """The enumerator form's entries in order: counts first, then the other questions.

    Questions worth 0 points for every answer are left out. Count entries: for each
    denominator (in order of first use) its question, then the numerators that use it.
    """
    active = [q for q in sc.questions if not q.is_zero]
    counts: dict[str, list] = {}
    for q in active:
        if q.per:
            counts.setdefault(q.per, []).append(q)
    items: list[FormItem] = []
    members = "Household members"
    for per, qs in counts.items():
        ask = qs[0].ask or (None, None)
        items.append(FormItem("count", _plain(_text_of(spec, per, ask[1])), section=members))
        seen = set()
        for q in qs:
            if q.field in seen:
                continue
            seen.add(q.field)
            fallback = (q.ask or (None, None))[0] or q.text
            items.append(FormItem("count", _plain(_text_of(spec, q.field, fallback)),
                                  section=members))
    for q in active:
        if q.per:
            continue
        text = _plain(_question_of(spec, q.field) or q.text)
        codes = _codes_of(spec, q.field) or {}
        opts = []
        for a in q.answers:
            if q.kind == "categorical":
                opts.append(codes.get(level_label(a.condition["equals"]), a.label))
            else:
                opts.append(a.label)
        items.append(FormItem("choice", text, opts, section="The household"))
    return items


# --------------------------------------------------------------------------------------
# page estimate
# --------------------------------------------------------------------------------------
def _inline(item: FormItem) -> bool:
    return item.kind == "choice" and sum(len(o) for o in item.options) <= INLINE_CHARS


def _wrapped(n_chars: int) -> int:
    return max(1, math.ceil(n_chars / CHARS_PER_LINE))


def item_lines(item: FormItem) -> float:
    """Lines one entry takes in a column (see the module docstring)."""
    prefix = 4  # question number
    if item.kind == "count":
        return _wrapped(prefix + len(item.text) + _NUMBER_BOX) + GAP_LINES
    if _inline(item):
        width = sum(len(o) + _OPTION_EXTRA for o in item.options)
        return _wrapped(prefix + len(item.text) + width) + GAP_LINES
    lines = _wrapped(prefix + len(item.text))
    row, n_rows = 0, 1
    for o in item.options:
        width = len(o) + _OPTION_EXTRA
        if row and row + width > CHARS_PER_LINE:
            n_rows += 1
            row = 0
        row += width
    return lines + n_rows + GAP_LINES


def estimate_pages(sc, spec=None) -> int:
    """Estimated A4 pages of the enumerator form (the measure of the module docstring)."""
    items = form_items(sc, spec)
    columns = 1
    used = HEAD_LINES
    section = None
    for it in items:
        need = item_lines(it) + (_HEADING_LINES if it.section != section else 0.0)
        section = it.section
        if used + need > LINES_PER_COLUMN and used > (HEAD_LINES if columns <= 2 else 0):
            columns += 1
            used = HEAD_LINES if columns <= 2 else 0.0
        used += need
    if used + FOOT_LINES > LINES_PER_COLUMN:
        columns += 1
    return math.ceil(columns / 2)


# --------------------------------------------------------------------------------------
# the enumerator form: HTML and Markdown
# --------------------------------------------------------------------------------------
_EF_CSS = """
.pmt-ef{font-family:Arial,Helvetica,sans-serif;font-size:9pt;line-height:1.3;color:#000;background:#fff;max-width:186mm;margin:0 auto;text-align:left}
.pmt-ef *{box-sizing:border-box}
.pmt-ef h1{font-size:13pt;margin:0 0 2mm;font-weight:bold}
.pmt-ef h2{font-size:9.5pt;margin:0 0 1mm;padding:0.5mm 1mm;background:#e6e6e6;break-after:avoid}
.pmt-ef .pmt-ef-head{display:flex;gap:5mm;margin:0 0 2mm}
.pmt-ef .pmt-ef-head span{flex:1;border-bottom:1px solid #000;padding-top:3mm}
.pmt-ef p.pmt-ef-lead{margin:0 0 2mm;font-style:italic}
.pmt-ef .pmt-ef-cols{column-count:2;column-gap:6mm;column-fill:balance}
.pmt-ef .pmt-ef-q{break-inside:avoid;page-break-inside:avoid;margin:0 0 1.2mm;padding:0 0 0.8mm;border-bottom:0.5px solid #aaa}
.pmt-ef .pmt-ef-t{margin:0}
.pmt-ef .pmt-ef-no{font-weight:bold;margin-right:1mm}
.pmt-ef .pmt-ef-o{display:inline-block;white-space:nowrap;margin:0.3mm 3.5mm 0 0}
.pmt-ef .pmt-ef-cb{display:inline-block;width:3mm;height:3mm;border:1px solid #000;margin-right:1.2mm;vertical-align:-0.5mm}
.pmt-ef .pmt-ef-inl{float:right;margin-left:2mm}
.pmt-ef .pmt-ef-inl .pmt-ef-o{margin:0 0 0 2.5mm}
.pmt-ef .pmt-ef-q::after{content:"";display:block;clear:both}
.pmt-ef .pmt-ef-num{display:inline-block;width:13mm;height:4.6mm;border:1px solid #000;vertical-align:middle;margin-left:2mm;float:right}
.pmt-ef .pmt-ef-sign{display:flex;gap:8mm;margin-top:7mm}
.pmt-ef .pmt-ef-sign span{flex:1;border-top:1px solid #000;padding-top:0.5mm;font-size:8pt}
@media print{.pmt-ef{max-width:none}.pmt-ef .pmt-ef-q{break-inside:avoid}.pmt-ef h2{break-after:avoid}}
"""
_PAGE_CSS = "@page{size:A4;margin:12mm}body{margin:0;padding:0}@media screen{body{padding:12mm}}"

_LEAD = ("Ask every question. Tick one box per question; write the number of people in each "
         "box (0 if none).")


def _title(sc, title: str | None) -> str:
    return title or "Household questionnaire"


def enumerator_html(sc, spec=None, title=None, fragment=False) -> str:
    """Enumerator form as HTML: a full A4 page, or the ``<div class="pmt-ef">`` with ``fragment``."""
    e = html.escape
    items = form_items(sc, spec)
    parts = [f'<div class="pmt-ef"><style>{_EF_CSS.strip()}</style>',
             f"<h1>{e(_title(sc, title))}</h1>",
             '<div class="pmt-ef-head"><span>Household ID:</span><span>Date:</span>'
             "<span>Interviewer:</span></div>",
             f'<p class="pmt-ef-lead">{e(_LEAD)}</p>',
             '<div class="pmt-ef-cols">']
    section = None
    for i, it in enumerate(items, 1):
        if it.section != section:
            parts.append(f"<h2>{e(it.section)}</h2>")
            section = it.section
        if it.kind == "count":
            parts.append(f'<div class="pmt-ef-q"><p class="pmt-ef-t"><span class="pmt-ef-num">'
                         f'</span><span class="pmt-ef-no">{i}.</span>{e(it.text)}</p></div>')
            continue
        opts = "".join(f'<span class="pmt-ef-o"><span class="pmt-ef-cb"></span>{e(o)}</span>'
                       for o in it.options)
        if _inline(it):
            parts.append(f'<div class="pmt-ef-q"><p class="pmt-ef-t"><span class="pmt-ef-inl">'
                         f'{opts}</span><span class="pmt-ef-no">{i}.</span>{e(it.text)}</p></div>')
            continue
        parts.append(f'<div class="pmt-ef-q"><p class="pmt-ef-t"><span class="pmt-ef-no">{i}.'
                     f"</span>{e(it.text)}</p><div>{opts}</div></div>")
    parts.append("</div>")
    parts.append('<div class="pmt-ef-sign"><span>Signature of the interviewer</span>'
                 "<span>Signature of the respondent</span></div>")
    parts.append("</div>")
    frag = "\n".join(parts) + "\n"
    if fragment:
        return frag
    return _page(_title(sc, title), frag)


def _page(title: str, frag: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_PAGE_CSS}</style></head><body>\n"
        f"{frag}</body></html>\n"
    )


def enumerator_markdown(sc, spec=None, title=None) -> str:
    """Enumerator form as Markdown: check boxes as ☐, counts as number boxes, no points."""
    items = form_items(sc, spec)
    lines = [f"# {_title(sc, title)}", "",
             "Household ID: ____________  Date: ____________  Interviewer: ____________", "",
             f"_{_LEAD}_", ""]
    section = None
    for i, it in enumerate(items, 1):
        if it.section != section:
            lines += [f"## {it.section}", ""]
            section = it.section
        if it.kind == "count":
            lines += [f"{i}. {it.text} **[ &nbsp;&nbsp;&nbsp;&nbsp; ]**", ""]
        else:
            opts = " &nbsp; ".join(f"☐ {o}" for o in it.options)
            lines += [f"{i}. {it.text}  ", f"   {opts}", ""]
    lines.append("Signature of the interviewer: ____________  "
                 "Signature of the respondent: ____________")
    return "\n".join(lines) + "\n"


def _form(render_html, render_markdown, sc, format, path, fragment, spec, title) -> str:
    """One form as HTML or Markdown, also written to ``path`` when given."""
    if _check_format(format) == "html":
        text = render_html(sc, spec, title, fragment)
    else:
        text = render_markdown(sc, spec, title)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def enumerator_form(sc, format="html", path=None, fragment=False, spec=None, title=None) -> str:
    """:meth:`Scorecard.enumerator_form` (see its docstring)."""
    return _form(enumerator_html, enumerator_markdown, sc, format, path, fragment, spec, title)


# --------------------------------------------------------------------------------------
# the analyst form
# --------------------------------------------------------------------------------------
_AF_CSS = """
.pmt-af{font-family:Arial,Helvetica,sans-serif;font-size:9pt;line-height:1.3;color:#000;background:#fff;text-align:left}
.pmt-af h1{font-size:13pt;margin:0 0 2mm}
.pmt-af h2{font-size:10.5pt;margin:4mm 0 1.5mm}
.pmt-af table{border-collapse:collapse;width:100%;margin:0 0 2mm}
.pmt-af th,.pmt-af td{border:1px solid #999;padding:0.6mm 1.5mm;vertical-align:top;text-align:left}
.pmt-af th{background:#e6e6e6}
.pmt-af td.pmt-af-n{text-align:right;white-space:nowrap}
.pmt-af tr.pmt-af-first td{border-top:1.5px solid #000}
.pmt-af code{font-family:Consolas,Menlo,monospace;font-size:8.5pt}
.pmt-af .pmt-af-note{font-style:italic;font-size:8pt;margin:0.5mm 0 0}
.pmt-af .pmt-af-warn{border:1.5px solid #a00;background:#fff0f0;padding:1.5mm 2mm;margin:2mm 0}
@media print{.pmt-af tr{break-inside:avoid}.pmt-af h2{break-after:avoid}}
"""


def _variables(q) -> str:
    """The registry field(s) a question reads, e.g. ``share_x = n_x / hh_size``."""
    if q.per:
        return f"{q.id} = {q.field} / {q.per}"
    return q.field if q.field == q.id else f"{q.id} ({q.field})"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * float(x):.2f} %"


def summary_rows(sc, spec=None) -> list[tuple[str, str]]:
    """(what, value) rows of the analyst form's summary: cut-off, scale, rounding loss."""
    rows: list[tuple[str, str]] = []
    m = sc.model or {}
    if m.get("formula"):
        rows.append(("Model", f"{m.get('model_type', 'linear')}: {m['formula']}"))
    rows.append(("Direction", "more points = better off"
                 + (" (index of a model of being poor, times -1)" if sc.direction == "poverty"
                    else "")))
    rows.append(("Maximum score", str(sc.max_points)))
    if sc.cutoff is None:
        rows.append(("Cut-off", "none: the score ranks households"))
    else:
        rows.append(("Cut-off", f"eligible when the total score is below {sc.cutoff} "
                                f"({sc.cutoff - 1} or fewer)"))
    sc_ = sc.scale or {}
    if sc_.get("cutoff_exact") is not None:
        rows.append(("Exact cut-off", f"{sc_['cutoff_exact']:.3f} points "
                                      f"(model threshold {sc_.get('threshold', float('nan')):.4g})"))
    if sc_.get("points_per_unit") is not None:
        rows.append(("Scale", f"{sc_['points_per_unit']:.4g} points per unit of the model index; "
                              f"index = {sc_.get('constant', 0.0):.4g} + score / "
                              f"{sc_['points_per_unit']:.4g}"))
    active = [q for q in sc.questions if not q.is_zero]
    rows.append(("Questions", f"{len(active)} asked, {len(sc.questions) - len(active)} dropped "
                              "(worth 0 points for every answer)"))
    rows.append(("Enumerator form", f"about {estimate_pages(sc, spec)} A4 page(s)"))
    r = sc.rounding or {}
    if r:
        hh = r.get("changed_households", r.get("changed"))
        rows.append(("Rounding loss", f"{_pct(hh)} of households (household-weighted) change "
                                      "eligibility between the exact model and the scorecard"))
        if r.get("changed") is not None and hh is not None and r["changed"] != hh:
            rows.append(("Rounding loss (as computed)", f"{_pct(r['changed'])} (person-weighted)"))
        if r.get("changed_banding") is not None:
            rows.append(("of which banding", f"{_pct(r['changed_banding'])} change with the "
                                             "bands alone (exact band values, no rounding)"))
        if r.get("eligible_model") is not None:
            rows.append(("Eligible", f"{_pct(r['eligible_model'])} under the exact model, "
                                     f"{_pct(r.get('eligible_scorecard'))} under the scorecard"))
    else:
        rows.append(("Rounding loss", "not computed (built without training data or cut-off)"))
    return rows


def analyst_html(sc, spec=None, title=None, fragment=False) -> str:
    """Analyst form as HTML: a full page, or the ``<div class="pmt-af">`` with ``fragment``."""
    e = html.escape
    name = title or f"{sc.name or 'Scorecard'}: analyst form"
    parts = [f'<div class="pmt-af"><style>{_AF_CSS.strip()}</style>', f"<h1>{e(name)}</h1>"]
    warning = sc.rounding_warning
    if warning:
        parts.append(f'<p class="pmt-af-warn"><strong>Warning:</strong> {e(warning)}</p>')
    parts.append("<table>")
    for k, v in summary_rows(sc, spec):
        parts.append(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Points per answer</h2>")
    parts.append("<table><tr><th>#</th><th>Question</th><th>Variables</th><th>Answer</th>"
                 "<th>Registry condition</th><th>Points</th></tr>")
    i = 0
    for q in sc.questions:
        if q.is_zero:
            continue
        i += 1
        n = len(q.answers)
        note = f'<p class="pmt-af-note">{e(q.note)}</p>' if q.note else ""
        for j, a in enumerate(q.answers):
            head = ""
            if j == 0:
                head = (f'<td rowspan="{n}">{i}</td><td rowspan="{n}">{e(q.text)}{note}</td>'
                        f'<td rowspan="{n}"><code>{e(_variables(q))}</code></td>')
            cls = ' class="pmt-af-first"' if j == 0 else ""
            parts.append(f"<tr{cls}>{head}<td>{e(a.label)}</td>"
                         f"<td><code>{e(condition_text(a.condition, q))}</code></td>"
                         f'<td class="pmt-af-n">{a.points}</td></tr>')
    parts.append("</table>")
    parts.append("<h2>Questions dropped (worth 0 points for every answer)</h2>")
    dropped = sc.dropped_questions
    if dropped:
        parts.append("<p>Not on the enumerator form and not read when scoring: every "
                     "answer rounds to 0 points at this scale (the unrounded effect, the "
                     "spread of the question's answer values in points, is in the last "
                     "column; raise max_points to keep them).</p>")
        parts.append("<table><tr><th>Question</th><th>Variables</th><th>Answers</th>"
                     "<th>Effect (points, unrounded)</th></tr>")
        for q in dropped:
            parts.append(f"<tr><td>{e(q.text)}</td><td><code>{e(_variables(q))}</code></td>"
                         f"<td>{e(', '.join(a.label for a in q.answers))}</td>"
                         f'<td class="pmt-af-n">{e(_effect(sc, q))}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("</div>")
    frag = "\n".join(parts) + "\n"
    return frag if fragment else _page(name, frag)


def _effect(sc, q) -> str:
    """The unrounded spread of a question in points, k * (max value - min value)."""
    vals = [a.value for a in q.answers if a.value is not None]
    k = (sc.scale or {}).get("points_per_unit")
    if not vals or k is None:
        return "-"
    return f"{k * (max(vals) - min(vals)):.2f}"


def analyst_markdown(sc, spec=None, title=None) -> str:
    """Analyst form as Markdown tables: summary, points per answer, questions dropped."""
    name = title or f"{sc.name or 'Scorecard'}: analyst form"

    def cell(x) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = [f"# {name}", ""]
    warning = sc.rounding_warning
    if warning:
        lines += [f"> **Warning:** {warning}", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {cell(k)} | {cell(v)} |" for k, v in summary_rows(sc, spec)]
    lines += ["", "## Points per answer", "",
              "| # | Question | Variables | Answer | Registry condition | Points |",
              "|---:|---|---|---|---|---:|"]
    i = 0
    for q in sc.questions:
        if q.is_zero:
            continue
        i += 1
        for j, a in enumerate(q.answers):
            text = q.text + (f" _({q.note})_" if q.note else "")
            first = (str(i), cell(text), f"`{_variables(q)}`") if j == 0 else ("", "", "")
            lines.append(f"| {first[0]} | {first[1]} | {first[2]} | {cell(a.label)} | "
                         f"`{condition_text(a.condition, q)}` | {a.points} |")
    lines += ["", "## Questions dropped (worth 0 points for every answer)", ""]
    dropped = sc.dropped_questions
    if dropped:
        lines += ["| Question | Variables | Answers | Effect (points, unrounded) |",
                  "|---|---|---|---:|"]
        for q in dropped:
            lines.append(f"| {cell(q.text)} | `{_variables(q)}` | "
                         f"{cell(', '.join(a.label for a in q.answers))} | {_effect(sc, q)} |")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def analyst_form(sc, format="html", path=None, fragment=False, spec=None, title=None) -> str:
    """:meth:`Scorecard.analyst_form` (see its docstring)."""
    return _form(analyst_html, analyst_markdown, sc, format, path, fragment, spec, title)
