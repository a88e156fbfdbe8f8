"""A self-contained HTML report: headings, text, tables and embedded PNG figures."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from pmt.io import atomic_write

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{margin-top:2em;border-bottom:1px solid #aaa}
table{border-collapse:collapse;margin:1em 0;font-size:0.88em;font-family:Helvetica,Arial,sans-serif}
th,td{border:1px solid #bbb;padding:3px 7px;text-align:left}th{background:#e8edf3}
td.num{text-align:right}
pre{white-space:pre-wrap;font-size:0.85em}
figure{margin:1.5em 0}figcaption{font-size:0.85em;color:#555}
img{max-width:100%}
.note{font-size:0.85em;color:#555}
nav ul{columns:2}
@media print{body{margin:0;max-width:none}h2{page-break-before:always}}
"""


def figure_to_base64(fig, dpi: int = 110) -> str:
    """PNG bytes of a matplotlib figure, base64-encoded."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def table_html(df: pd.DataFrame, digits: int = 3, caption: str | None = None) -> str:
    """An HTML table with numbers right-aligned and text left-aligned."""
    frame = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    head = "".join(f"<th class='text'>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float | np.floating):
                places = 0 if abs(v) >= 1000 else digits
                text = "" if np.isnan(v) else f"{v:,.{places}f}"
                cells.append(f"<td class='num'>{text}</td>")
            elif isinstance(v, int | np.integer):
                cells.append(f"<td class='num'>{int(v):,}</td>")
            else:
                cells.append(f"<td class='text'>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class HtmlReport:
    """Build a single self-contained HTML file (figures embedded as data URIs).

    Sections are added in order; :meth:`save` writes the file (atomically) with a table of
    contents.
    """

    def __init__(self, title: str, subtitle: str | None = None):
        self.title = title
        self.subtitle = subtitle
        self._parts: list[str] = []
        self._toc: list[tuple[str, str]] = []

    def heading(self, text: str) -> None:
        anchor = f"s{len(self._toc) + 1}"
        self._toc.append((anchor, text))
        self._parts.append(f"<h2 id='{anchor}'>{html.escape(text)}</h2>")

    def text(self, text: str, note: bool = False) -> None:
        cls = " class='note'" if note else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def preformatted(self, text: str) -> None:
        self._parts.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, df: pd.DataFrame, caption: str | None = None, digits: int = 3) -> None:
        self._parts.append(table_html(df, digits, caption))

    def figure(self, fig, caption: str) -> None:
        data = figure_to_base64(fig)
        alt = html.escape(caption)
        self._parts.append(
            f"<figure><img alt='{alt}' src='data:image/png;base64,{data}'/>"
            f"<figcaption>{alt}</figcaption></figure>"
        )

    def raw_html(self, fragment: str) -> None:
        """Insert trusted HTML produced by pmt itself (e.g. a scorecard form)."""
        self._parts.append(fragment)

    def render(self) -> str:
        toc = "".join(f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in self._toc)
        sub = f"<p class='note'>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{sub}<nav><ul>{toc}</ul></nav>"
            + "".join(self._parts)
            + "</body></html>"
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.render()
        with atomic_write(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path
