"""Field forms: the enumerator's questionnaire, the analyst's sheet, shares asked as counts,
questions worth 0 points left out, the page estimate and the rounding-loss warning.

Everything on the embedded survey (3,000 households, seed 0) and the OLS of the Uzbek PMT
specification; expected values come from the data spec, the data or the points table,
never from the form code.
"""

from __future__ import annotations

import html
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import ArtifactError, ModelError
from pmt.scorecard import Answer, Question, Scorecard
from pmt.scorecard import fieldforms as ff

ROOT = Path(__file__).resolve().parent.parent
WARNING = "banding and rounding change"


@pytest.fixture(scope="module")
def df():
    return pmt.datasets.synthetic_hbs(3000, seed=0)


@pytest.fixture(scope="module")
def spec():
    return pmt.DataSpec.load(ROOT / "data_spec" / "hbs.yaml")


@pytest.fixture(scope="module")
def model(df):
    return pmt.ols(pmt.datasets.PMT_FORMULA, df, weights="weight")


@pytest.fixture(scope="module")
def line(df):
    return float(np.log(df["poverty_line"].iloc[0]))


def build(model, df, line, spec, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sc = Scorecard.from_model(model, data=df, weights="weight", threshold=line, spec=spec, **kw)
    return sc, [w for w in caught if issubclass(w.category, UserWarning) and WARNING in str(w.message)]


@pytest.fixture(scope="module")
def card(model, df, line, spec):
    sc, caught = build(model, df, line, spec)
    assert caught == []  # the default scorecard does not warn
    return sc


@pytest.fixture(scope="module")
def small(model, df, line, spec):
    """Few points: several questions round to 0 for every answer, and the loss is large."""
    sc, caught = build(model, df, line, spec, max_points=12)
    return sc, caught


def share_pairs(spec) -> dict[str, tuple[str, str]]:
    """The shares of the embedded survey as its data spec documents them: 'n / d.'"""
    out = {}
    for name in spec.columns:
        desc = spec[name].description or ""
        m = re.fullmatch(r"(\w+) / (\w+)\.", desc.strip())
        if name.startswith("share_") and m:
            out[name] = (m.group(1), m.group(2))
    return out


def proxies(model) -> set[str]:
    return {t.variable for t in model.design.terms if t.kind != "intercept"}


def visible_text(form: str) -> str:
    """The words a reader sees: no <style>, no tags, entities decoded."""
    form = re.sub(r"<style>.*?</style>", " ", form, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", form))


def options_in_html(form: str) -> list[list[str]]:
    """Answer options of each question of the HTML enumerator form, as printed."""
    out = []
    for q in re.findall(r'<div class="pmt-ef-q">(.*?)</div>\n', form, flags=re.S):
        opts = re.findall(r'<span class="pmt-ef-cb"></span>(.*?)</span>', q)
        if opts:
            out.append([html.unescape(o) for o in opts])
    return out


# --- shares asked as counts -------------------------------------------------------------------
def test_share_proxies_read_their_two_counts(card, spec, model):
    expected = share_pairs(spec)
    shares_in_model = {v for v in proxies(model) if v in expected}
    assert len(shares_in_model) == 7
    for q in card.questions:
        if q.id in expected:
            assert (q.field, q.per) == expected[q.id], q.id
        else:
            assert q.per is None and q.field == q.id


def test_scoring_from_counts_equals_scoring_from_shares(card, model, df, line, spec):
    """By hand: each answer's band applied to the survey's own share column, points summed."""
    pt = card.points_table()
    expected = np.zeros(len(df), dtype=int)
    for q in card.questions:
        x = df[q.id].to_numpy()  # the share itself for share questions
        hit = np.zeros(len(df), dtype=int)
        for a in q.answers:
            c = a.condition
            if "equals" in c:
                m = x == c["equals"]
            else:
                m = np.ones(len(df), dtype=bool)
                m &= x > c["gt"] if "gt" in c else (x >= c["ge"] if "ge" in c else True)
                m &= x <= c["le"] if "le" in c else (x < c["lt"] if "lt" in c else True)
            hit += m
            expected += np.where(m, a.points, 0)
        assert (hit == 1).all(), q.id
    counts_only = df.drop(columns=[q.id for q in card.questions if q.per])
    got = card.score(counts_only)
    np.testing.assert_array_equal(got["score"].to_numpy(dtype=int), expected)
    np.testing.assert_array_equal(got["eligible"].to_numpy(dtype=bool), expected < card.cutoff)
    # the same scorecard asking the shares themselves: same bands, same points, same scores
    as_shares, _ = build(model, df, line, spec, shares=None)
    assert all(q.per is None for q in as_shares.questions)
    pd.testing.assert_series_equal(as_shares.points_table()["points"], pt["points"])
    np.testing.assert_array_equal(as_shares.score(df)["score"].to_numpy(dtype=int), expected)


def test_zero_denominator_counts_as_share_zero(card, df):
    q = next(q for q in card.questions if q.per == "n_members_15plus")
    nums = {p.field: 0 for p in card.questions if p.per == "n_members_15plus"}
    rec = df.head(1).assign(n_members_15plus=0, **nums)
    zero_band = next(a for a in q.answers if "gt" not in a.condition and "ge" not in a.condition)
    assert card.score(rec, breakdown=True)[f"points_{q.id}"].iloc[0] == zero_band.points
    over = df.head(1).assign(n_members_15plus=1, **{q.field: 2})
    assert "exceeds" in card.score(over, errors="reject")["reject_reason"].iloc[0]


def test_explicit_shares_are_checked(model, df, line, spec):
    sc, _ = build(model, df, line, spec, shares={"share_mobile": ("n_mobile", "n_members_15plus")})
    asked = {q.id: (q.field, q.per) for q in sc.questions if q.per}
    assert asked == {"share_mobile": ("n_mobile", "n_members_15plus")}
    with pytest.raises(ModelError, match=r"shares\['share_mobile'\].*n_mobile / hh_size"):
        Scorecard.from_model(model, data=df, threshold=line,
                             shares={"share_mobile": ("n_mobile", "hh_size")})
    with pytest.raises(ModelError, match="shares must be"):
        Scorecard.from_model(model, data=df, threshold=line, shares="yes")
    with pytest.raises(ModelError, match=r"shares\['rooms'\]"):
        Scorecard.from_model(model, data=df, threshold=line, shares={"rooms": ("a", "b")})


def test_detection_needs_an_exact_ratio_of_counts():
    from pmt.scorecard.shares import detect_shares

    rng = np.random.default_rng(3)
    n = 500
    size = rng.integers(1, 9, n)
    kids = rng.binomial(size, 0.4)
    d = pd.DataFrame({"size": size, "kids": kids, "share_kids": kids / size,
                      "noise": rng.random(n), "rooms": rng.integers(1, 5, n),
                      # share of a count that is not in the data: nothing to ask instead
                      "share_old": rng.binomial(size, 0.1) / size})
    d.loc[0, "share_kids"] += 1e-4  # off by a little on one row: not a ratio of counts
    assert detect_shares(d, ["share_kids", "noise", "share_old", "rooms"]) == {}
    d.loc[0, "share_kids"] = kids[0] / size[0]
    assert detect_shares(d, ["share_kids", "noise", "share_old", "rooms"]) == {
        "share_kids": ("kids", "size")}


# --- the enumerator form --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_enumerator_form_asks_counts_in_the_spec_wording(card, spec, fmt):
    form = card.enumerator_form(fmt)
    text = visible_text(form) if fmt == "html" else form
    pairs = share_pairs(spec)
    for q in card.questions:
        if q.id in pairs:
            num, den = pairs[q.id]
            assert spec.question(num) in text
            assert text.count(spec.question(den)) == 1  # each denominator asked once
            assert spec.labels[q.id].split(" (")[0] not in text  # never the share itself
        else:
            assert (spec.question(q.field) or spec.labels[q.field]) in text
    assert "Share of" not in text


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_enumerator_form_has_no_points_and_no_variable_names(card, model, spec, fmt):
    form = card.enumerator_form(fmt)
    text = visible_text(form) if fmt == "html" else form
    # no points, totals or cut-off
    assert not re.search(r"point|score|cut-off|total|eligib", text, flags=re.I)
    # options are exactly the answer labels (the spec's code labels), nothing appended
    choice_qs = [q for q in card.questions if not q.per and not q.is_zero]
    labels = [[(spec.codes(q.field) or {}).get(a.condition["equals"], a.label)
               if q.kind == "categorical" else a.label for a in q.answers] for q in choice_qs]
    if fmt == "html":
        assert options_in_html(form) == labels
    else:
        printed = [[o.strip() for o in re.findall(r"☐ ([^☐]+?)(?= &nbsp; |$)", ln)]
                   for ln in form.splitlines() if "☐" in ln]
        assert printed == labels
    # no variable names: every proxy, square, numerator and denominator
    names = proxies(model) | {f for q in card.questions for f in q.fields}
    raw = re.sub(r"<style>.*?</style>", "", form, flags=re.S)
    legit = {spec.question(c) for c in spec.columns if spec.question(c)}
    legit |= {a for lab in labels for a in lab}
    legit |= {spec.labels[c] for c in spec.columns}
    stripped = text
    for t in sorted(legit, key=len, reverse=True):
        stripped = stripped.replace(t, " ")
    for name in names:
        if "_" in name:
            assert name not in raw, name  # not even in an attribute
        assert not re.search(rf"\b{re.escape(name)}\b", stripped), name
    assert "Intercept" not in raw and "formula" not in text.lower() and "capped" not in text


def test_zero_point_questions_left_out_and_not_read(small, df, spec):
    sc, _ = small
    pt = sc.points_table()
    best = pt.groupby("id", sort=False)["points"].max()
    zero = set(best.index[best == 0])
    assert 0 < len(zero) < len(best)
    assert {q.id for q in sc.dropped_questions} == zero
    text = visible_text(sc.enumerator_form())
    md = sc.enumerator_form("markdown")
    for q in sc.questions:
        wording = spec.question(q.field) or spec.labels[q.field]
        if q.per:
            wording = spec.question(q.field)
        assert (wording in text) == (q.id not in zero), q.id
        assert (wording in md) == (q.id not in zero), q.id
    # their fields are not read: scoring without them gives the same scores
    fields_zero = {f for q in sc.questions if q.id in zero for f in q.fields}
    fields_other = {f for q in sc.questions if q.id not in zero for f in q.fields}
    gone = sorted(fields_zero - fields_other)
    assert gone and not set(gone) & set(sc.fields)
    pd.testing.assert_frame_equal(sc.score(df.drop(columns=gone)), sc.score(df))


def test_default_card_keeps_every_question(card):
    best = card.points_table().groupby("id")["points"].max()
    assert (best > 0).all() and card.dropped_questions == []
    # one entry per question, the shares as their numerators, plus each denominator once
    choices = [q for q in card.questions if not q.per]
    numerators = {q.field for q in card.questions if q.per}
    denominators = {q.per for q in card.questions if q.per}
    assert len(ff.form_items(card)) == len(choices) + len(numerators) + len(denominators) == 30


def test_enumerator_form_fits_two_pages(card, spec, model, df, line):
    assert card.enumerator_pages() <= 2
    assert card.enumerator_pages(spec) <= 2
    # the demo's scorecard (2,000 households, as `pmt demo --households 2000`)
    demo = pmt.datasets.synthetic_hbs(2000, seed=0)
    m = pmt.ols(pmt.datasets.PMT_FORMULA, demo, weights="weight", cluster="psu")
    sc, _ = build(m, demo, line, spec)
    assert len(sc.questions) == 28 and sc.enumerator_pages() <= 2


def test_page_estimate_follows_its_documented_measure():
    """N yes/no questions of 30 characters: 4 + 30 + (2 + 4) + (3 + 4) = 47 characters fit one
    48-character line, 1 + 0.4 lines each. Page 1: column 1 holds 6 (head) + 1.5 (section
    heading) + 37 x 1.4 = 59.3 <= 60 lines; column 2, when it is the last, 6 + 36 x 1.4 + 3
    (signatures) = 59.4: 73 questions fit one page, 74 do not. Otherwise column 2 holds 38
    (59.2 lines), a column of a later page 42 (58.8), a last column 40 (56 + 3): two pages
    hold 37 + 38 + 42 + 40 = 157 questions."""

    def card_of(n):
        qs = [Question(f"q{i}", f"q{i}", "x" * 29 + "?", "categorical",
                       [Answer("No", {"equals": 0}, 0), Answer("Yes", {"equals": 1}, 1)])
              for i in range(n)]
        return Scorecard(qs, cutoff=1)

    assert card_of(73).enumerator_pages() == 1
    assert card_of(74).enumerator_pages() == 2
    assert card_of(157).enumerator_pages() == 2
    assert card_of(158).enumerator_pages() == 3


def assert_scoped(frag: str, cls: str) -> str:
    """Every CSS rule of the fragment's <style> applies only inside ``.cls``; returns the CSS."""
    assert frag.startswith(f'<div class="{cls}"><style>') and "<html" not in frag
    css = re.search(r"<style>(.*?)</style>", frag, flags=re.S).group(1)
    rules = re.findall(r"([^{}]+)\{[^{}]*\}", re.sub(r"@media print\{(.*)\}", r"\1", css))
    assert rules
    for sel in rules:
        for part in sel.split(","):
            assert part.strip().startswith(f".{cls}"), part
    assert "@page" not in css  # page rules belong to the full page, not to an embed
    return css


@pytest.mark.parametrize("form", ["enumerator_form", "analyst_form"])
def test_forms_embed_with_their_styles(card, form):
    page = getattr(card, form)()
    frag = getattr(card, form)(fragment=True)
    body = page[page.index("<body>") + len("<body>"): page.rindex("</body>")]
    assert body.strip() == frag.strip()  # what the report embeds is the styled fragment
    css = assert_scoped(frag, "pmt-ef" if form == "enumerator_form" else "pmt-af")
    assert "@page{size:A4" in page and "@media print" in frag
    assert "<script" not in page and "http" not in page.replace("<!DOCTYPE html>", "")
    if form == "enumerator_form":
        assert "column-count:2" in css


def test_points_form_keeps_its_styles_when_embedded(card):
    page = card.to_html()
    body = page[page.index("<body>") + len("<body>"): page.rindex("</body>")]
    assert body.strip() == card.to_html(fragment=True).strip()
    assert ".pmt-form td.pts" in assert_scoped(body.strip(), "pmt-form")


# --- the analyst form -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_analyst_form_lists_points_cutoff_and_dropped(small, fmt):
    sc, _ = small
    form = sc.analyst_form(fmt)
    text = visible_text(form) if fmt == "html" else form
    assert f"below {sc.cutoff}" in text
    dropped_at = text.index("Questions dropped")
    for _, row in sc.points_table().iterrows():
        q = next(q for q in sc.questions if q.id == row["id"])
        if q.is_zero:
            assert row["text"] in text[dropped_at:]
            continue
        if fmt == "markdown":
            assert f"| {row['answer']} | `{row['condition']}` | {row['points']} |" in form
        else:
            assert re.search(rf"<td>{re.escape(html.escape(row['answer']))}</td><td><code>"
                             rf"{re.escape(html.escape(row['condition']))}</code></td>"
                             rf'<td class="pmt-af-n">{row["points"]}</td>', form)
        assert row["text"] in text[:dropped_at]
    for q in sc.questions:
        if q.per:
            assert f"{q.id} = {q.field} / {q.per}" in text
    assert f"{100 * sc.rounding['changed_households']:.2f} %" in text
    assert "Warning" in text and WARNING in text


def test_analyst_form_without_dropped_questions(card):
    md = card.analyst_form("markdown")
    assert md.split("Questions dropped")[1].strip().splitlines()[-1] == "None."
    assert "Warning" not in md


# --- the rounding-loss warning --------------------------------------------------------------
def changed_by_hand(sc, model, df, line) -> float:
    """Household-weighted share whose eligibility differs: exact model vs scorecard."""
    exact = model.predict(df).to_numpy() < line
    card = sc.score(df)["eligible"].to_numpy(dtype=bool)
    w = df["weight"].to_numpy()
    return float(w[exact != card].sum() / w.sum())


def test_no_warning_on_the_default(card, model, df, line):
    share = changed_by_hand(card, model, df, line)
    assert card.rounding["changed_households"] == pytest.approx(share, abs=1e-12)
    assert share <= 0.02 and card.rounding_warning is None


def test_warning_when_rounding_changes_many_decisions(small, model, df, line, tmp_path):
    sc, caught = small
    share = changed_by_hand(sc, model, df, line)
    assert share > 0.02
    assert len(caught) == 1 and f"{share:.1%}" in str(caught[0].message)
    assert sc.rounding_warning == str(caught[0].message)
    assert "household-weighted" in sc.rounding_warning
    loaded = Scorecard.from_json(sc.to_json(tmp_path / "sc.json"))
    assert loaded.rounding_warning == sc.rounding_warning
    # person weights in the rounding table do not change the warning's measure
    with pytest.warns(UserWarning, match=WARNING):
        p = Scorecard.from_model(model, data=df, weights="weight", threshold=line, max_points=12,
                                 size="hh_size")
    assert p.rounding["changed_households"] == pytest.approx(share, abs=1e-12)
    hh = df["hh_size"].to_numpy() * df["weight"].to_numpy()
    e = model.predict(df).to_numpy() < line
    c = p.score(df)["eligible"].to_numpy(dtype=bool)
    assert p.rounding["changed"] == pytest.approx(hh[e != c].sum() / hh.sum(), abs=1e-12)
    # a stricter tolerance turns the default into a warning; bad values are refused
    with pytest.warns(UserWarning, match=WARNING):
        Scorecard.from_model(model, data=df, weights="weight", threshold=line, warn_changed=0.001)
    with pytest.raises(ModelError, match="warn_changed"):
        Scorecard.from_model(model, data=df, threshold=line, warn_changed=2)


# --- round trip and argument checks ---------------------------------------------------------
def test_loaded_scorecard_forms_take_wording_from_spec(card, spec, df, tmp_path):
    loaded = Scorecard.from_json(card.to_json(tmp_path / "sc.json"))
    assert loaded.enumerator_form(spec=spec) == card.enumerator_form()
    assert loaded.enumerator_form("markdown", spec=spec) == card.enumerator_form("markdown")
    pd.testing.assert_frame_equal(loaded.score(df), card.score(df))
    path = tmp_path / "ef.md"
    assert card.enumerator_form("markdown", path=path) == path.read_text(encoding="utf-8")
    with pytest.raises(ArtifactError, match="format"):
        card.enumerator_form("pdf")
    with pytest.raises(ArtifactError, match="format"):
        card.analyst_form("docx")


def test_page_estimate_is_a_whole_number_of_pages(card):
    lines = sum(ff.item_lines(i) for i in ff.form_items(card))
    assert card.enumerator_pages() >= math.ceil(lines / (2 * ff.LINES_PER_COLUMN))
