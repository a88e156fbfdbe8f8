"""The Scorecard class: questions, points and a cut-off; scoring records; saving and loading.

Construction from a model is in :mod:`pmt.scorecard.build`, the rounding loss in
:mod:`pmt.scorecard.rounding`, the field forms in :mod:`pmt.scorecard.forms` and the JSON
document in :mod:`pmt.scorecard.document`; the methods here delegate to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt._json import dump_json, read_json_document, validate_schema
from pmt._literals import Direction
from pmt._validation import check_option
from pmt.errors import ArtifactError, DataError, example_rows
from pmt.scorecard import document, fieldforms, forms
from pmt.scorecard.build import _build
from pmt.scorecard.questions import Question, condition_text, reasons_text
from pmt.scorecard.rounding import rounding_loss as _rounding_loss


class Scorecard:
    """Integer-points scorecard: questions, answers, points and a cut-off.

    Build one with :meth:`from_model`; load one with :meth:`from_json`.

    Attributes
    ----------
    questions : list of Question
    cutoff : int or None
        Eligible when the total score is **below** the cut-off.
    max_points : int
        Highest attainable total (every question at its best answer).
    direction : {"welfare", "poverty"}
        The model's index direction; points always run "more = better off".
    scale : dict
        ``points_per_unit`` (k), ``constant`` (shifted constant on the model scale),
        ``threshold`` (model scale, after the direction flip) and ``cutoff_exact``: so that
        ``score ~= k * (xb - constant)`` and xb = constant + score / k.
    model : dict
        model_type, formula and left side of the source model.
    rounding : dict
        The rounding loss on the training data (see :meth:`rounding_loss`), if computed.
    rounding_table : DataFrame or None
        The full :meth:`rounding_loss` table when built with training data and a cut-off.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        cutoff: int | None = None,
        max_points: int | None = None,
        direction: Direction = "welfare",
        scale: Mapping | None = None,
        model: Mapping | None = None,
        rounding: Mapping | None = None,
        name: str | None = None,
    ):
        self.questions = list(questions)
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ArtifactError(f"scorecard question ids must be unique; got {ids}.")
        self.cutoff = None if cutoff is None else int(cutoff)
        self.max_points = (
            int(max_points) if max_points is not None else sum(q.max_points for q in self.questions)
        )
        self.direction = direction
        self.scale = dict(scale or {})
        self.model = dict(model or {})
        self.rounding = dict(rounding or {})
        self.rounding_table: pd.DataFrame | None = None
        self.name = name

    def __repr__(self) -> str:
        return (
            f"<Scorecard {len(self.questions)} questions, max {self.max_points} points, "
            f"cut-off {self.cutoff}>"
        )

    @property
    def fields(self) -> list[str]:
        """Registry columns the scorecard reads.

        Fields of questions worth 0 points for every answer (:attr:`dropped_questions`)
        are not read: they cannot change a score, and the enumerator form does not ask them.
        """
        out: list[str] = []
        for q in self.questions:
            if q.is_zero:
                continue
            for f in q.fields:
                if f not in out:
                    out.append(f)
        return out

    @property
    def dropped_questions(self) -> list[Question]:
        """Questions worth 0 points for every answer (left out of the enumerator form)."""
        return [q for q in self.questions if q.is_zero]

    @property
    def rounding_warning(self) -> str | None:
        """Why the scorecard's eligibility departs too far from the exact model, or None.

        A text when banding and rounding change the eligibility of more than
        ``rounding["warn_changed"]`` (2 % by default) of the training households,
        **household-weighted** (survey weights w_h, not person weights): the share in
        ``rounding["changed_households"]``. :meth:`from_model` issues it as a
        ``UserWarning``; the workflow can print it and put it in the report. None when
        the scorecard was built without data or a cut-off, or the loss is within bounds.
        """
        from pmt.scorecard.build import rounding_warning

        return rounding_warning(self.rounding)

    # --- construction from a model ----------------------------------------------------
    @classmethod
    def from_model(
        cls,
        model,
        data: pd.DataFrame | None = None,
        weights=None,
        threshold: float | None = None,
        max_points: int = 100,
        spec=None,
        n_bands: int = 5,
        bands: Mapping[str, Sequence[float]] | None = None,
        quadratic: Mapping[str, str] | None = None,
        ratios: Mapping[str, tuple[str, str]] | None = None,
        cap_quadratic: bool = True,
        direction: Direction | None = None,
        poor=None,
        size=None,
        name: str | None = None,
        banding: Literal["quantile", "optimal"] = "quantile",
        shares: Mapping[str, tuple[str, str]] | Literal["auto"] | None = "auto",
        warn_changed: float = 0.02,
    ) -> Scorecard:
        """Build a scorecard from a fitted linear-index model.

        Parameters
        ----------
        model : ModelResult
            OLS / truncated OLS / quantile regression of log welfare, or a probit/logit of
            being poor (single equation, one coefficient per design term).
        data : DataFrame, optional
            Training data: continuous proxies are banded at its weighted quantiles and each
            band's points are the model's mean contribution in it; with a threshold, the
            rounding loss is computed on it. Without data, the weighted profile stored in a
            loaded artifact (``save_model(..., data=df)``) is used.
        weights : str or array-like, optional
            Household weights of ``data`` (column name or array). Equal if omitted.
        threshold : float, optional
            Eligibility threshold on the model's scale (e.g. log poverty line); for a
            probit/logit a probability of being poor (eligible when above it). Defaults to
            the model's saved ``poverty_line``/``threshold``; without one the scorecard has
            no cut-off (scores only).
        max_points : int
            Maximum total score (default 100).
        spec : DataSpec, optional
            Question texts, answer labels (codes) and valid ranges of the registry fields.
        n_bands : int
            Answers for continuous/count proxies (default 5: quintile bands, or 1-2-3-4-5+).
        bands : dict, optional
            ``{variable: [c1, c2, ...]}`` upper band edges (x <= c1, c1 < x <= c2, ..., x > ck).
        quadratic : dict, optional
            ``{x: x_squared_column}``; detected automatically from the names.
        ratios : dict, optional
            ``{share_variable: (numerator_count, denominator_count)}``: asked as two counts.
        cap_quadratic : bool
            Cap quadratic proxies at the vertex of the fitted curve (default True).
        direction : {"welfare", "poverty"}, optional
            "poverty" when a higher index means more likely poor (default for probit/logit).
        poor : str or array-like, optional
            True poverty status in ``data`` for targeting metrics of the model and the
            scorecard in the rounding report.
        size : str or array-like, optional
            Household size in ``data``: shares in the rounding report are then person-weighted.
        name : str, optional
            Title of the scorecard.
        banding : {"quantile", "optimal"}
            Band edges of continuous proxies: weighted quantiles (default), or the edges
            that minimise the weighted squared error between the proxy's exact contribution
            and its band value (Fisher's optimal partition by dynamic programming): fewer
            households change eligibility when a proxy has a large effect in a thin tail
            (e.g. land). Counts and ratios keep their own bands in both modes.
        shares : "auto", dict or None
            Share proxies asked as two counts (see :mod:`pmt.scorecard.shares`): the
            question reads the numerator and denominator counts and the scorecard computes
            the share; bands and points are those of the share. ``"auto"`` (default) finds
            them in ``data`` (a proxy in [0, 1] equal to count / count on every row);
            ``{"share_x": ("n_x", "hh_size")}`` declares them (checked against ``data``);
            None asks shares as shares.
        warn_changed : float
            Tolerance of the rounding loss (default 0.02): with ``data`` and a cut-off, a
            ``UserWarning`` (also in :attr:`rounding_warning`) when banding and rounding
            change the eligibility of more than this share of households, household-
            weighted.

        Warns
        -----
        UserWarning
            When the cut-off lies outside 0-max_points, and when the rounding loss exceeds
            ``warn_changed``.
        """
        return _build(
            cls, model, data, weights, threshold, max_points, spec, n_bands, bands, quadratic,
            ratios, cap_quadratic, direction, poor, size, name, banding, shares, warn_changed,
        )

    # --- scoring ----------------------------------------------------------------------
    def evaluate(self, columns: Mapping[str, Any], n: int):
        """Points of each question (a list of n-arrays) and problems (mask, reason).

        ``columns`` maps each registry field (:attr:`fields`) to an array of n values.
        Rows with a problem have -1 points in the failing question; questions worth 0 for
        every answer give 0 without reading their field. Points arrays use int16 (int32 when the
        maximum exceeds 32,767) to keep memory low on large chunks.
        """
        dtype = np.int16 if self.max_points <= np.iinfo(np.int16).max else np.int32
        parts: list[np.ndarray] = []
        problems: list[tuple[np.ndarray, str]] = []
        for q in self.questions:
            if q.is_zero:  # worth 0 whatever the answer: not read
                parts.append(np.zeros(n, dtype=dtype))
                continue
            per = columns[q.per] if q.per else None
            pts, probs = q.points_of(columns[q.field], per, dtype)
            parts.append(pts.astype(dtype, copy=False))
            problems.extend(probs)
        return parts, problems

    @staticmethod
    def total(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
        """Sum of the questions' points (int32)."""
        out = np.zeros(n, dtype=np.int32)
        for p in parts:
            out += p
        return out

    def validate(self, df: pd.DataFrame) -> pd.Series:
        """Reasons each record cannot be scored ("" when it can), indexed like ``df``."""
        self._check_columns(df)
        _, problems = self.evaluate({f: df[f].to_numpy() for f in self.fields}, len(df))
        return pd.Series(reasons_text(problems, len(df)), index=df.index, name="reject_reason")

    def _check_columns(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataError("score() takes a pandas DataFrame of registry records.")
        missing = [f for f in self.fields if f not in df.columns]
        if missing:
            raise DataError(
                f"the records lack field(s) the scorecard asks for: {', '.join(missing)}. "
                "Rename the registry columns or map them first."
            )

    def score(
        self,
        df: pd.DataFrame,
        breakdown: bool = False,
        errors: Literal["raise", "reject"] = "raise",
    ) -> pd.DataFrame:
        """Score registry records.

        Parameters
        ----------
        df : DataFrame
            One row per household with the scorecard's fields (:attr:`fields`).
        breakdown : bool
            Add one ``points_<question>`` column per question (for appeals).
        errors : {"raise", "reject"}
            "raise": DataError naming the rows that cannot be scored (missing answers,
            unknown codes, out-of-range values). "reject": those rows get a missing score
            and eligibility (never 0) and a ``reject_reason``.

        Returns
        -------
        DataFrame
            ``score`` (integer points), ``eligible`` (score < cutoff; only with a cut-off),
            the breakdown columns when asked, indexed like ``df``.
        """
        check_option(errors, ("raise", "reject"), name="errors")
        self._check_columns(df)
        n = len(df)
        parts, problems = self.evaluate({f: df[f].to_numpy() for f in self.fields}, n)
        bad = np.zeros(n, dtype=bool)
        for m, _ in problems:
            bad |= m
        if bad.any() and errors == "raise":
            reasons = reasons_text(problems, n)
            first = np.flatnonzero(bad)[:3]
            detail = "; ".join(f"{df.index[i]}: {reasons[i]}" for i in first)
            raise DataError(
                f"{int(bad.sum())} record(s) cannot be scored ({example_rows(df.index[bad])}): "
                f"{detail}. Fix them, or pass errors='reject' to score the others."
            )
        total = self.total(parts, n)
        out = pd.DataFrame(index=df.index)
        out["score"] = pd.array(np.where(bad, 0, total), dtype="Int64")
        if bad.any():
            out.loc[bad, "score"] = pd.NA
        if self.cutoff is not None:
            elig = pd.array(total < self.cutoff, dtype="boolean")
            if bad.any():
                elig[bad] = pd.NA
            out["eligible"] = elig
        if breakdown:
            for q, p in zip(self.questions, parts, strict=True):
                col = pd.array(p.astype(np.int64), dtype="Int64")
                col[p < 0] = pd.NA
                out[f"points_{q.id}"] = col
        if errors == "reject":
            out["reject_reason"] = reasons_text(problems, n)
        return out

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """The total score of each record as an integer Series (like ``model.predict``).

        Higher = better off. Records that cannot be scored raise DataError naming them (use
        :meth:`score` with ``errors="reject"`` to keep the others).
        """
        return self.score(df)["score"].astype("int64").rename("score")

    # --- rounding loss ----------------------------------------------------------------
    def rounding_loss(self, model, data, weights=None, poor=None, size=None) -> pd.DataFrame:
        """Eligibility under the exact model vs the scorecard on ``data``.

        Rows: ``model`` (prediction below the threshold), ``banded`` (bands with exact,
        unrounded answer values) and ``scorecard`` (integer points vs the cut-off). Columns:
        ``eligible`` (weighted share eligible), ``changed`` (weighted share of households
        whose eligibility differs from the exact model; person-weighted with ``size``),
        ``changed_households`` (the same with household weights only), ``n_changed``
        (households), and the
        section-4 targeting metrics when ``poor`` is given. Rows that cannot be scored are
        excluded and counted in ``n_excluded``.
        """
        return _rounding_loss(self, model, data, weights, poor, size)

    # --- tables and forms ---------------------------------------------------------------
    def points_table(self) -> pd.DataFrame:
        """One row per answer: question, field(s), answer, registry condition, points."""
        rows = []
        for i, q in enumerate(self.questions, 1):
            for a in q.answers:
                rows.append(
                    {
                        "question": i,
                        "id": q.id,
                        "field": q.field if not q.per else f"{q.field}/{q.per}",
                        "text": q.text,
                        "answer": a.label,
                        "condition": condition_text(a.condition, q),
                        "points": a.points,
                    }
                )
        return pd.DataFrame(rows)

    def to_markdown(self, path=None) -> str:
        """Field form as Markdown: each question, its answers with points, a points box."""
        return forms.to_markdown(self, path)

    def to_html(self, path=None, fragment: bool = False) -> str:
        """Printable, self-contained HTML points form (inline CSS with print rules).

        Every answer with its points, a points box per question, the total and the cut-off:
        for checking and training; field workers get :meth:`enumerator_form` (no points).
        The styles sit in a ``<style>`` inside ``<div class="pmt-form">``, all scoped under
        that class, so the page's ``<body>`` keeps its look when embedded in another page;
        ``fragment=True`` gives just that ``<div>``.
        """
        return forms.to_html(self, path, fragment)

    def enumerator_form(
        self,
        format: Literal["html", "markdown"] = "html",
        path=None,
        fragment: bool = False,
        spec=None,
        title: str | None = None,
    ) -> str:
        """The enumerator's questionnaire: questions and check boxes, no points.

        Counts instead of shares (a share question asks its numerator and denominator
        counts, each denominator once), the data spec's question wording and code labels,
        no variable names, no points, total or cut-off, and no question worth 0 points for
        every answer. See :mod:`pmt.scorecard.fieldforms` for the layout and
        :meth:`enumerator_pages` for its length.

        Parameters
        ----------
        format : {"html", "markdown"}
            HTML: a printable page (A4, two columns) whose styles all sit inside one
            ``<div class="pmt-ef">`` scoped under that class, so the ``<body>`` of the page,
            or the ``fragment=True`` output, can be embedded in another page as is.
        path : str or Path, optional
            Also write the text to this file.
        fragment : bool
            HTML only: return the embeddable ``<div class="pmt-ef">`` (with its ``<style>``)
            instead of a full page.
        spec : DataSpec, optional
            Question wording and code labels; needed for a scorecard loaded from JSON
            (the wording of a share's two counts is kept only in memory after
            :meth:`from_model`).
        title : str, optional
            Heading (default "Household questionnaire").

        Returns
        -------
        str
        """
        return fieldforms.enumerator_form(self, format, path, fragment, spec, title)

    def enumerator_pages(self, spec=None) -> int:
        """Estimated A4 pages of :meth:`enumerator_form` (lines of text per column; see
        :func:`pmt.scorecard.fieldforms.estimate_pages`).
        """
        return fieldforms.estimate_pages(self, spec)

    def analyst_form(
        self,
        format: Literal["html", "markdown"] = "html",
        path=None,
        fragment: bool = False,
        spec=None,
        title: str | None = None,
    ) -> str:
        """The analyst's sheet: points per answer, cut-off, variables, dropped questions.

        A summary (model, direction, maximum, cut-off and exact cut-off, scale, questions
        asked and dropped, the enumerator form's estimated pages, and the rounding loss:
        the household-weighted share of households whose eligibility changes between the
        exact model and the scorecard, with the banding part and the eligible shares, when
        built with data), the :attr:`rounding_warning` if any, one row per answer (question,
        the variables it reads, e.g. ``share_x = n_x / hh_size``, notes, answer, registry
        condition, points), and the questions dropped because they are worth 0 points for
        every answer with their unrounded effect in points.

        Parameters
        ----------
        format : {"html", "markdown"}
            HTML styles are scoped under ``.pmt-af`` inside the fragment, as for
            :meth:`enumerator_form`.
        path : str or Path, optional
            Also write the text to this file.
        fragment : bool
            HTML only: return the embeddable ``<div class="pmt-af">``.
        spec : DataSpec, optional
            Used for the enumerator form's page estimate.
        title : str, optional
            Heading (default "<name>: analyst form").

        Returns
        -------
        str
        """
        return fieldforms.analyst_form(self, format, path, fragment, spec, title)

    #: the forms :meth:`write_forms` writes: (name, audience, format, file name)
    FORMS: tuple[tuple[str, str, Literal["html", "markdown"], str], ...] = (
        ("field form (HTML)", "enumerator", "html", "field_form.html"),
        ("field form (Markdown)", "enumerator", "markdown", "field_form.md"),
        ("analyst form (HTML)", "analyst", "html", "scorecard_analyst.html"),
        ("analyst form (Markdown)", "analyst", "markdown", "scorecard_analyst.md"),
    )

    def write_forms(self, folder: str | Path, spec=None) -> dict[str, Path]:
        """Write the enumerator form (questions and answers only) and the analyst form
        (points, cut-off, rounding loss), each as HTML and Markdown, into ``folder``.

        Returns
        -------
        dict
            The files written, by name (:attr:`FORMS`).
        """
        folder = Path(folder)
        paths = {}
        for name, audience, fmt, file in self.FORMS:
            method = self.enumerator_form if audience == "enumerator" else self.analyst_form
            paths[name] = folder / file
            method(fmt, path=paths[name], spec=spec)
        return paths

    def to_xlsx(self, path) -> Path:
        """The points table as a formatted XLSX (one row per answer), cut-off beneath."""
        return forms.to_xlsx(self, path)

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The registry JSON document (validated by ``data_spec/scorecard.schema.json``)."""
        return document.to_dict(self)

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as deterministic JSON (sorted keys) and return the path."""
        doc = self.to_dict()
        validate_schema(doc, "scorecard", "the scorecard")
        p = Path(path)
        p.write_text(dump_json(doc), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, doc: Any, what: str = "the scorecard") -> Scorecard:
        """Rebuild from :meth:`to_dict` output after schema and consistency checks."""
        return document.from_dict(cls, doc, what)

    @classmethod
    def from_json(cls, path, max_bytes: int = 5_000_000) -> Scorecard:
        """Load a scorecard JSON file (untrusted input: size cap, schema, partition checks)."""
        doc = read_json_document(path, "scorecard", max_bytes)
        return cls.from_dict(doc, f"scorecard {str(path)!r}")
