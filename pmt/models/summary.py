"""The object returned by every model's ``summary()``.

:class:`Summary` is a ``str`` (its value is the plain-text summary the models have always
printed, so ``print(r.summary())``, ``"term" in r.summary()`` and ``text + r.summary()``
keep working) that also renders itself as HTML, as linearmodels' ``_SummaryStr`` and
statsmodels' ``Summary`` do:

* ``str(s)`` / ``s.as_text()``: the text table;
* ``s.as_html()``: one HTML block per equation (title, fit statistics, coefficient table
  with standard errors, t or z statistics, p-values and confidence intervals, notes);
* ``s._repr_html_()``: the same, so that notebooks show the HTML table.

``s.sections`` keeps the structured parts (a list of :class:`SummarySection`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Summary", "SummarySection"]


@dataclass
class SummarySection:
    """One equation of a summary: a title, ``(name, value)`` statistics, a coefficient
    table (DataFrame indexed by term) and free-text notes.
    """

    title: str
    stats: list[tuple[str, object]] = field(default_factory=list)
    table: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


class Summary(str):
    """Text summary of a fitted model that also renders as HTML (see the module docstring)."""

    sections: list[SummarySection]

    def __new__(cls, text: str, sections=()):
        """Summary with text ``text`` and the ``sections`` it was rendered from."""
        obj = super().__new__(cls, text)
        obj.sections = list(sections)
        return obj

    def as_text(self) -> str:
        """The plain-text summary (what ``str()`` and ``print`` give)."""
        return str.__str__(self)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def as_html(self) -> str:
        """The summary as an HTML fragment: per section a caption, a table of fit
        statistics, the coefficient table and notes.
        """
        if not self.sections:
            return f"<pre>{html.escape(self.as_text())}</pre>"
        parts = ['<div class="pmt-summary">']
        for sec in self.sections:
            parts.append(f"<h4>{html.escape(sec.title)}</h4>")
            if sec.stats:
                rows = "".join(
                    f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                    for k, v in sec.stats
                )
                parts.append(f'<table class="pmt-summary-stats">{rows}</table>')
            if sec.table is not None:
                parts.append(
                    sec.table.to_html(
                        float_format=lambda x: f"{x:.5f}", na_rep="", classes="pmt-summary-coef"
                    )
                )
            for note in sec.notes:
                parts.append(f"<p>{html.escape(note)}</p>")
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()

    @classmethod
    def join(cls, parts, sep: str = "\n") -> Summary:
        """Concatenate texts (plain strings or Summaries) keeping every Summary's sections."""
        sections: list[SummarySection] = []
        for p in parts:
            sections.extend(getattr(p, "sections", []))
        return cls(sep.join(str(p) for p in parts), sections)
