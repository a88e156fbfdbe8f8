"""The points form of a scorecard (printable HTML, Markdown) and a formatted XLSX points table.

The points form shows every answer's points (for checking and training); the forms for
the field are in :mod:`pmt.scorecard.fieldforms`.
"""

from __future__ import annotations

import html
from pathlib import Path


def _cutoff_sentence(sc) -> str:
    if sc.cutoff is None:
        return "No cut-off set: the score ranks households (higher = better off)."
    return (
        f"Eligible if the TOTAL is below {sc.cutoff} points ({sc.cutoff - 1} or fewer). "
        f"Maximum {sc.max_points} points."
    )


def to_markdown(sc, path=None) -> str:
    """Field form as Markdown: each question, its answers with points, a points box."""
    lines = [f"# {sc.name or 'Household scorecard'}", ""]
    lines.append("Household ID: ____________  Date: ____________  Interviewer: ____________")
    lines.append("")
    lines.append("Tick one answer per question and write its points in the box.")
    lines.append("")
    for i, q in enumerate(sc.questions, 1):
        lines.append(f"**{i}. {q.text}**" + (f"  \n_{q.note}_" if q.note else ""))
        lines.append("")
        if q.per:
            lines.append(f"{q.per}: [ &nbsp;&nbsp; ] &nbsp; {q.field}: [ &nbsp;&nbsp; ]")
            lines.append("")
        lines.append("| | Answer | Points |")
        lines.append("|---|---|---:|")
        for a in q.answers:
            lines.append(f"| ☐ | {a.label} | {a.points} |")
        lines.append("")
        lines.append("Points: [ &nbsp;&nbsp;&nbsp;&nbsp; ]")
        lines.append("")
    lines.append("**TOTAL SCORE: [ &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp; ]**")
    lines.append("")
    lines.append(_cutoff_sentence(sc))
    lines.append("")
    lines.append("Signature of the interviewer: ____________  Checked by: ____________")
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def to_html(sc, path=None, fragment: bool = False) -> str:
    """Printable, self-contained HTML points form (inline CSS with print rules).

    The styles sit inside ``<div class="pmt-form">``, scoped under that class, so the
    page's ``<body>`` keeps its look when embedded; ``fragment=True`` gives just the
    ``<div>``.
    """
    e = html.escape
    css = """
.pmt-form{font-family:Arial,Helvetica,sans-serif;font-size:11pt;color:#000;background:#fff;text-align:left}
h1{font-size:16pt;margin:0 0 .3em}
p.lead{margin:0 0 1em}
section.q{border:1px solid #444;padding:.4em .6em;margin:0 0 .6em;page-break-inside:avoid;break-inside:avoid}
section.q h2{font-size:11pt;margin:0 0 .3em}
.note{font-style:italic;font-size:9pt;margin:.1em 0 .3em}
table{border-collapse:collapse;width:100%}
td{padding:2px 6px;border-bottom:1px dotted #999}
td.tick{width:1.2em;font-size:13pt}
td.pts{text-align:right;width:4em}
.box{display:inline-block;border:1.5px solid #000;width:4em;height:1.4em;vertical-align:middle}
.pointsline{text-align:right;margin-top:.3em}
.total{font-size:13pt;font-weight:bold;margin-top:1em;text-align:right}
.total .box{width:6em;height:1.8em}
.cutoff{margin-top:.6em;border-top:2px solid #000;padding-top:.4em}
.head{display:flex;gap:2em;margin:0 0 .8em}.head span{flex:1;border-bottom:1px solid #000}
.counts{margin:.2em 0 .4em}.sign{margin-top:2em;display:flex;gap:3em}
.sign span{flex:1;border-top:1px solid #000;padding-top:.2em;font-size:9pt}
"""
    # every rule scoped under .pmt-form and kept inside the <div>: the page's <body>, or the
    # fragment, keeps its look when embedded in another page (e.g. the report)
    scoped = []
    for r in css.strip().splitlines():
        if r.startswith(".pmt-form"):
            scoped.append(r)
        else:
            scoped.append(".pmt-form " + r.replace("}.", "} .pmt-form ."))
    scoped.append("@media print{.pmt-form section.q{break-inside:avoid}}")
    style = "\n".join(scoped)
    title = e(sc.name or "Household scorecard")
    head = [f'<div class="pmt-form"><style>{style}</style>']
    if not fragment:
        head = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{title}</title>",
            "<style>@page{size:A4;margin:1.5cm}body{margin:1.5cm}"
            "@media print{body{margin:0}}</style></head><body>",
        ] + head
    parts = head + [
        f"<h1>{e(sc.name or 'Household scorecard')}</h1>",
        '<div class="head"><span>Household ID:</span><span>Date:</span>'
        "<span>Interviewer:</span></div>",
        '<p class="lead">Tick one answer per question and write its points in the box.</p>',
    ]
    for i, q in enumerate(sc.questions, 1):
        parts.append('<section class="q">')
        parts.append(f"<h2>{i}. {e(q.text)}</h2>")
        if q.note:
            parts.append(f'<p class="note">{e(q.note)}</p>')
        if q.per:
            parts.append(
                f'<p class="counts">{e(q.per)}: <span class="box"></span> &nbsp; '
                f'{e(q.field)}: <span class="box"></span></p>'
            )
        parts.append("<table>")
        for a in q.answers:
            parts.append(
                f'<tr><td class="tick">&#9744;</td><td>{e(a.label)}</td>'
                f'<td class="pts">{a.points}</td></tr>'
            )
        parts.append("</table>")
        parts.append('<div class="pointsline">Points: <span class="box"></span></div>')
        parts.append("</section>")
    parts.append('<div class="total">TOTAL SCORE: <span class="box"></span></div>')
    parts.append(f'<p class="cutoff">{e(_cutoff_sentence(sc))}</p>')
    parts.append('<div class="sign"><span>Signature of the interviewer</span>'
                 "<span>Checked by</span></div>")
    parts.append("</div>" if fragment else "</div>\n</body></html>")
    text = "\n".join(parts) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def to_xlsx(sc, path) -> Path:
    """The points table as a formatted XLSX (one row per answer), cut-off beneath."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "scorecard"
    ws.append(["#", "Question", "Field", "Answer", "Registry condition", "Points"])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F3864")
        cell.alignment = Alignment(horizontal="center")
    for row in sc.points_table().itertuples(index=False):
        ws.append([row.question, row.text, row.field, row.answer, row.condition, row.points])
        ws.cell(ws.max_row, 6).number_format = "0"
    ws.append([])
    ws.append(["", "Maximum total", "", "", "", sc.max_points])
    if sc.cutoff is not None:
        ws.append(["", "Cut-off: eligible if total below", "", "", "", sc.cutoff])
    for col, wdt in zip("ABCDEF", (4, 50, 22, 30, 30, 8), strict=True):
        ws.column_dimensions[col].width = wdt
    ws.freeze_panes = "A2"
    wb.save(path)
    return Path(path)
