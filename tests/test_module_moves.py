"""The moves of issue 16 item 5: each job in its room, old import paths kept.

* one ROC AUC (:mod:`pmt.evaluate.curves`), used by cross-validation too, equal to
  scikit-learn's weighted ``roc_auc_score``;
* one budget solver: the four-method comparison moved to :mod:`pmt.simulate.methods` and
  solves its same-budget thresholds with :func:`pmt.simulate.solve_threshold`, with the
  numbers of the closed-form inversion it replaced;
* ``IncomeTest`` moved to :mod:`pmt.simulate.income_test`;
* the safe-JSON layer is :mod:`pmt._json`, shared by artifacts and scorecards;
* ``pmt.evaluate.validation`` -> ``pmt.evaluate.cross_validation`` and ``pmt.scoring`` ->
  ``pmt.registry_scoring``, the old modules re-exporting the new ones.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import pmt
from pmt.errors import ArtifactError, PolicyError

ROOT = Path(__file__).parent.parent


# --------------------------------------------------------------------------------------
# one AUC
# --------------------------------------------------------------------------------------
def _auc_cases(n_cases: int = 60, seed: int = 11):
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        n = int(rng.integers(5, 600))
        x = np.round(rng.normal(size=n), int(rng.integers(0, 3)))  # many ties
        p = (x + rng.normal(size=n) < -0.4).astype(int)
        if p.all() or not p.any():
            p[:2] = [0, 1]
        w = rng.uniform(0, 4, n)
        w[rng.random(n) < 0.1] = 0.0  # zero weights too
        size = rng.integers(1, 8, n)
        yield p, x, w, size


def test_roc_auc_equals_sklearn_weighted_with_ties():
    from pmt.evaluate.curves import roc_auc

    for p, x, w, size in _auc_cases():
        v = w * size
        expected = roc_auc_score(p, -x, sample_weight=v)
        assert roc_auc(p, x, w, size=size) == pytest.approx(expected, abs=1e-12)
        assert roc_auc(p, x, v, unit="household") == pytest.approx(expected, abs=1e-12)
        # a need score (higher = poorer)
        assert roc_auc(p, -x, w, size=size, higher_is_poorer=True) == pytest.approx(
            expected, abs=1e-12)


def test_every_auc_is_the_one_auc():
    """error_curve's attrs["auc"], roc_auc and cross-validation's AUC are one number."""
    from pmt.evaluate import cross_validation, curves

    for p, x, w, size in _auc_cases(20, seed=3):
        v = w * size
        one = curves._roc_auc_arrays(p, x, v)
        assert pmt.roc_auc(p, x, w, size=size) == one
        assert pmt.error_curve(p, x, w, size=size).attrs["auc"] == one
        assert cross_validation._auc(p.astype(bool), x, v) == one
        assert curves.auc_from_curve(pmt.error_curve(p, x, w, size=size)) == pytest.approx(
            one, abs=1e-15)


def test_auc_undefined_without_poor_or_nonpoor():
    from pmt.evaluate import cross_validation

    x = np.array([1.0, 2.0, 3.0])
    assert np.isnan(pmt.roc_auc([0, 0, 0], x))
    assert np.isnan(pmt.roc_auc([1, 1, 1], x))
    assert np.isnan(cross_validation._auc(np.array([True] * 3), x, np.ones(3)))
    # poor present but with zero weight: undefined as well
    assert np.isnan(pmt.roc_auc([1, 0, 0], x, [0.0, 1.0, 1.0], unit="household"))


def test_auc_by_hand():
    # 2 poor (scores 1, 3), 2 non-poor (2, 3): pairs (1<2 yes, 1<3 yes, 3<2 no, 3=3 half)
    assert pmt.roc_auc([1, 0, 1, 0], [1.0, 2.0, 3.0, 3.0]) == pytest.approx(2.5 / 4)
    # weighted: the first poor person counts 3 times
    got = pmt.roc_auc([1, 0, 1, 0], [1.0, 2.0, 3.0, 3.0], [3, 1, 1, 1], unit="household")
    assert got == pytest.approx((3 * 2 + 1 * 0.5) / (4 * 2))


def test_cross_validate_auc_uses_the_one_auc():
    df = pmt.datasets.synthetic_hbs(n_households=1500, seed=4)

    class Fit:
        def __init__(self, d):
            self.m = pmt.ols("log_pcc ~ rooms + car + C(region)", d, weights="weight")

        def predict(self, d):
            return self.m.predict(d)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pmt.cross_validate({"m": Fit}, df, "log_pcc", shares=[0.2], rule="rate",
                                 n_folds=3, seed=0, weight="weight", size="hh_size")
    auc = out[out["metric"] == "auc"].iloc[0]
    score = Fit(df).predict(df)
    v = df["weight"] * df["hh_size"]
    poor = df["log_pcc"] <= pmt.weighted_quantile(df["log_pcc"], v, 0.2)
    assert auc["in_sample"] == pmt.roc_auc(poor, score, v, unit="household")
    assert auc["in_sample"] == pytest.approx(
        roc_auc_score(poor, -score, sample_weight=v), abs=1e-12)


# --------------------------------------------------------------------------------------
# one budget solver
# --------------------------------------------------------------------------------------
def _closed_form_threshold(score, weights, size, budget):
    """The solver pmt.evaluate.methods.budget_threshold used before the move (verbatim
    arithmetic): invert the piecewise-linear cost after one sort, snap to a score."""
    s = np.asarray(score, dtype=float)
    v = np.asarray(weights, dtype=float) * np.asarray(size, dtype=float)
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    W = np.cumsum(v)
    S = np.cumsum(v * s)
    nxt = np.append(s[1:], np.inf)
    cost_next = nxt * W - S
    k = min(int(np.searchsorted(cost_next, budget, side="left")), s.size - 1)
    z = (budget + S[k]) / W[k]
    return float(s[k]) if np.isclose(z, s[k], rtol=1e-12, atol=0) else float(z)


def tiny():
    return pd.DataFrame(
        {
            "income": [160.0, 300, 240, 900, 500],  # per capita: 80, 150, 120, 300, 100
            "inc_verifiable": [80.0, 150, 60, 900, 500],  # per capita: 40, 75, 30, 300, 100
            "hh_size": [2, 2, 2, 3, 5],
            "weight": [1.0, 2, 1, 1, 1],
            "good": [90.0, 200, 130, 280, 95],
        }
    )


def test_budget_threshold_numbers_as_before():
    """Values of the closed-form solver before the move (same seed), to rounding."""
    from pmt.simulate.methods import budget_threshold

    rng = np.random.default_rng(0)
    s = rng.lognormal(12, 0.6, 500)
    w = rng.uniform(1, 3, 500)
    n = rng.integers(1, 7, 500)
    before = {1e5: 22533.79112517188, 3e7: 111458.67388137332, 2e9: 755179.4178932301}
    for budget, z in before.items():
        assert budget_threshold(s, w, n, budget) == pytest.approx(z, rel=1e-14)


def test_budget_threshold_equals_the_closed_form():
    from pmt.simulate.methods import budget_threshold, gap_benefit

    rng = np.random.default_rng(7)
    for case in range(40):
        m = int(rng.integers(2, 800))
        s = rng.lognormal(12, 0.6, m)
        if case % 3 == 0:
            s = np.round(s, -4)  # ties
        w = rng.uniform(0, 3, m)
        n = rng.integers(1, 7, m)
        gap = np.sum(w * n * np.maximum(0, np.median(s) - s))
        for budget in (gap * rng.uniform(0.01, 1), gap, 3 * gap):
            if budget <= 0:
                continue
            z = budget_threshold(s, w, n, budget)
            ref = _closed_form_threshold(s, w, n, budget)
            assert z == pytest.approx(ref, rel=1e-13)
            # same households selected, same cost
            np.testing.assert_array_equal(s < z, s < ref)
            cost = float(np.sum(w * n * gap_benefit(s, z)))
            assert cost == pytest.approx(budget, rel=1e-12)


def test_budget_threshold_is_solved_by_solve_threshold(monkeypatch):
    """The comparison has no solver of its own: it calls pmt.simulate.solve_threshold on
    the gap-filling policy."""
    import pmt.simulate.methods as methods

    calls = []
    real = methods.solve_threshold

    def spy(survey, policy, parameter, budget=None, coverage=None):
        calls.append((policy, parameter, budget))
        return real(survey, policy, parameter, budget=budget, coverage=coverage)

    monkeypatch.setattr(methods, "solve_threshold", spy)
    t = methods.compare_methods(tiny(), 100.0, scores={"Good": "good"}, budget=200.0)
    assert len(calls) == 3 and all(c[1] == "threshold" and c[2] == 200.0 for c in calls)
    pol = calls[0][0]
    assert pol.eligibility.to_dict() == {"score_test": {"threshold": "threshold",
                                                       "score": "score"}}
    assert pol.benefit.to_dict() == {"top_up": {"threshold": "threshold", "income": "score",
                                                "per": "capita"}}
    assert len(t.xs("same budget")) == 4


def test_same_budget_thresholds_by_hand():
    """Person weights 2, 4, 2, 3, 5. Budget 200: VMT (40, 75, 30, 300, 100 p.c.):
    2(z-30) + 2(z-40) + 4(z-75) = 200 -> z = 80; Good (90, 200, 130, 280, 95):
    2(z-90) + 5(z-95) = 200 -> z = 855/7; Perfect (80, 150, 120, 300, 100):
    2(z-80) + 5(z-100) + 2(z-120) = 200 -> z = 1100/9."""
    t = pmt.compare_methods(tiny(), 100.0, scores={"Good": "good"}, budget=200.0)
    z = t.xs("same budget")["threshold"]
    assert z["VMT"] == pytest.approx(80.0, rel=1e-14)
    assert z["Good"] == pytest.approx(855 / 7, rel=1e-14)
    assert z["Perfect"] == pytest.approx(1100 / 9, rel=1e-14)
    # default budget (perfect targeting's cost, 40): Perfect comes back to the line exactly
    t = pmt.compare_methods(tiny(), 100.0, scores={"Good": "good"})
    assert t.loc[("same budget", "Perfect"), "threshold"] == 100.0
    assert t.loc[("same budget", "VMT"), "threshold"] == pytest.approx(45.0, rel=1e-14)


def test_compare_methods_table_as_before_on_a_survey():
    """Every cell equals the table computed with the thresholds of the closed-form solver
    the comparison used before the move (same threshold rows bit for bit)."""
    from pmt.simulate import methods

    df = pmt.datasets.synthetic_hbs(n_households=2000, seed=1)
    ypc = df.income / df.hh_size
    rng = np.random.default_rng(5)
    df["noisy"] = ypc * np.exp(rng.normal(0, 0.3, len(df)))
    df["rounded"] = np.round(ypc, -4)  # ties, and households exactly at round lines
    v = df.weight * df.hh_size
    scores = {"noisy": "noisy", "rounded": "rounded"}
    for q in (0.1, 0.3):
        z = float(pmt.weighted_quantile(ypc, v, q))
        for budget in ("perfect", 5e8):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = methods.compare_methods(df, z, scores=scores, budget=budget)
            same = got.xs("same threshold")
            amount = same.loc["Perfect", "cost"] if budget == "perfect" else budget
            n = df.hh_size.to_numpy(dtype=float)
            w = df.weight.to_numpy(dtype=float)
            method_scores = {
                "VMT": df.inc_verifiable.to_numpy() / n, "noisy": df.noisy.to_numpy(),
                "rounded": df.rounded.to_numpy(), "Perfect": ypc.to_numpy(),
            }
            for name, s in method_scores.items():
                ref_z = _closed_form_threshold(s, w, n, amount)
                ref = pd.Series(methods._simulate(ypc.to_numpy(), s, ref_z, z, w, n))
                row = got.loc[("same budget", name)]
                assert row["threshold"] == pytest.approx(ref_z, rel=1e-13)
                pd.testing.assert_series_equal(row[ref.index], ref, check_names=False,
                                               rtol=1e-11, atol=1e-12)


def test_budget_threshold_errors_and_zero_weights():
    from pmt.simulate.methods import budget_threshold

    s, w, n = [10.0, 20.0, 30.0], [1.0, 0.0, 1.0], [1, 1, 1]
    # the zero-weight household costs nothing: 10 + (z - 30)... z in [10, 30]: z - 10 = 5
    assert budget_threshold(s, w, n, 5.0) == pytest.approx(15.0, rel=1e-14)
    assert budget_threshold(s, w, n, 30.0) == pytest.approx(35.0, rel=1e-14)
    for bad in (0, -1.0, np.inf, np.nan):
        with pytest.raises(PolicyError, match="budget must be a positive amount"):
            budget_threshold(s, w, n, bad)


# --------------------------------------------------------------------------------------
# old and new import paths
# --------------------------------------------------------------------------------------
MOVED = ("compare_methods", "budget_threshold", "gap_benefit")


def test_compare_methods_paths():
    from pmt.simulate import methods

    assert pmt.compare_methods is methods.compare_methods
    assert pmt.simulate.compare_methods is methods.compare_methods
    for name in MOVED:
        new = getattr(methods, name)
        assert getattr(pmt.simulate, name) is new
        for old in ("pmt.evaluate", "pmt.evaluate.methods"):
            with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to pmt.simulate"):
                assert getattr(importlib.import_module(old), name) is new
    with pytest.warns(DeprecationWarning):
        from pmt.evaluate.methods import compare_methods
    assert compare_methods is methods.compare_methods
    with pytest.raises(AttributeError):
        pmt.evaluate.methods.no_such_name  # noqa: B018


def test_evaluate_star_import_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ns: dict = {}
        exec("from pmt.evaluate import *", ns)
        exec("from pmt.evaluate.methods import *", ns)
    assert "prediction_validation" in ns and "compare_methods" not in ns


def test_income_test_paths():
    from pmt.simulate.income_test import IncomeTest

    assert pmt.IncomeTest is IncomeTest and pmt.simulate.IncomeTest is IncomeTest
    hmt = importlib.import_module("pmt.hmt")

    with pytest.warns(DeprecationWarning, match="pmt.hmt.IncomeTest moved"):
        assert hmt.IncomeTest is IncomeTest
    with pytest.warns(DeprecationWarning):
        from pmt.hmt import IncomeTest as old
    assert old is IncomeTest
    assert "IncomeTest" not in hmt.__all__
    with pytest.raises(AttributeError):
        hmt.no_such_name  # noqa: B018
    # behaviour is the class's: a bad rule set is a PolicyError
    with pytest.raises(PolicyError, match="needs components"):
        IncomeTest()


def test_cross_validation_paths():
    from pmt.evaluate import cross_validation as new
    from pmt.evaluate import validation as old

    assert set(new.__all__) == {"Rule", "compare", "cross_fit", "cross_validate", "psu_folds",
                                "sklearn_fit"}
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name)
        if name != "Rule":
            assert getattr(pmt.evaluate, name) is getattr(new, name)
    assert old._auc is new._auc and old._evaluate is new._evaluate  # private helpers too
    assert pmt.cross_validate is new.cross_validate
    assert "old name" in old.__doc__.lower() or "Old name" in old.__doc__


def test_registry_scoring_paths():
    import pmt.registry_scoring as new
    import pmt.scoring as old

    assert set(old.__all__) == set(new.__all__) == {"ModelScorer", "ScoreSummary",
                                                    "ScorecardScorer", "score_file"}
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name)
    assert old._ChunkScorer is new._ChunkScorer and old.NA_TOKENS is new.NA_TOKENS
    assert pmt.score_file is new.score_file
    assert old.__doc__.startswith("Old name of :mod:`pmt.registry_scoring`")


def test_json_layer_paths():
    import pmt._json as js
    import pmt.artifacts as art
    from pmt.scorecard import card, document

    for name in ("dump_json", "read_json_document", "validate_schema", "load_schema",
                 "MAX_BYTES"):
        assert getattr(art, name) is getattr(js, name), name
    assert card.dump_json is js.dump_json and card.read_json_document is js.read_json_document
    assert card.validate_schema is js.validate_schema
    assert document._jsonable is js.jsonable and document.validate_schema is js.validate_schema


# --------------------------------------------------------------------------------------
# the JSON layer
# --------------------------------------------------------------------------------------
def test_jsonable_and_dump_json():
    from pmt._json import dump_json, jsonable
    from pmt.artifacts import _jsonable

    doc = {"b": np.float64(1.5), "a": [np.int64(2), True, None, "x"], "bse": [np.nan, 1.0]}
    assert _jsonable(doc, "model") == {"b": 1.5, "a": [2, True, None, "x"], "bse": [None, 1.0]}
    with pytest.raises(ArtifactError, match=r"model.bse\[0\] is nan"):
        jsonable(doc, "model")
    assert jsonable(doc, "m", nan_ok=True)["bse"] == [None, 1.0]
    assert jsonable(doc, "m", nan_ok_keys=frozenset({"bse"}))["bse"] == [None, 1.0]
    with pytest.raises(ArtifactError, match="non-text key"):
        jsonable({1: 2}, "m")
    with pytest.raises(ArtifactError, match="holds a set"):
        jsonable({"a": {1}}, "m")
    text = dump_json({"b": 0.1, "a": 1})
    assert text == '{\n "a": 1,\n "b": 0.1\n}\n'
    with pytest.raises(ArtifactError, match="non-finite"):
        dump_json({"a": float("nan")})


def test_read_json_document_refuses_unsafe_files(tmp_path):
    from pmt._json import read_json_document

    p = tmp_path / "d.json"
    p.write_text('{"a": 1.5, "b": [1, 2]}', encoding="utf-8")
    assert read_json_document(p, "doc") == {"a": 1.5, "b": [1, 2]}
    for text, msg in (('{"a": NaN}', "non-finite number NaN"), ('{"a": 1e999}', "overflows"),
                      ("{", "not valid JSON")):
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ArtifactError, match=msg):
            read_json_document(p, "doc")
    p.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ArtifactError, match="not UTF-8"):
        read_json_document(p, "doc")
    p.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(ArtifactError, match="more than the 3-byte limit"):
        read_json_document(p, "doc", max_bytes=3)
    with pytest.raises(ArtifactError, match="does not exist"):
        read_json_document(tmp_path / "none.json", "doc")


def test_write_json_is_atomic(tmp_path, monkeypatch):
    import pmt._json as js

    p = tmp_path / "d.json"
    assert js.write_json({"b": 1, "a": [1.25]}, p) == p
    assert p.read_text(encoding="utf-8") == js.dump_json({"a": [1.25], "b": 1})
    # a document that cannot be written leaves the earlier file untouched, no temp files
    with pytest.raises(ArtifactError):
        js.write_json({"a": float("inf")}, p)
    assert json.loads(p.read_text(encoding="utf-8")) == {"a": [1.25], "b": 1}

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        js.write_json({"new": 1}, p)
    monkeypatch.undo()
    assert json.loads(p.read_text(encoding="utf-8")) == {"a": [1.25], "b": 1}
    assert sorted(f.name for f in tmp_path.iterdir()) == ["d.json"]
    with pytest.raises(ArtifactError, match="does not exist: create it first"):
        js.write_json({}, tmp_path / "missing" / "d.json")


def test_save_model_bytes_unchanged(tmp_path):
    """save_model writes dump_json of model_document, atomically: the bytes are those the
    previous direct write produced."""
    from pmt._json import dump_json
    from pmt.artifacts import model_document, save_model

    df = pmt.datasets.synthetic_hbs(n_households=600, seed=2)
    r = pmt.ols("log_pcc ~ rooms + C(region)", df, weights="weight")
    path = save_model(r, tmp_path / "m.json", thresholds={"line": 10.0})
    assert path.read_bytes() == dump_json(
        model_document(r, thresholds={"line": 10.0})).encode("utf-8")
    np.testing.assert_array_equal(pmt.load_model(path).predict(df), r.predict(df))


def test_schema_messages_name_the_version():
    from pmt._json import validate_schema

    with pytest.raises(ArtifactError, match="does not match the pmt scorecard schema version 1"):
        validate_schema({"format": "pmt-scorecard"}, "scorecard", "the scorecard")
    with pytest.raises(ArtifactError, match="does not match the pmt artifact schema version 1"):
        validate_schema({}, "artifact", "the model")


# --------------------------------------------------------------------------------------
# layering (DESIGN.md section 2): no module imports from its right at import time
# --------------------------------------------------------------------------------------
def _module_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions) by a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_moved_code_respects_the_layering():
    for path in [*sorted((ROOT / "pmt" / "evaluate").glob("*.py")), ROOT / "pmt" / "hmt.py"]:
        bad = {m for m in _module_level_imports(path) if m.startswith("pmt.simulate")}
        assert not bad, f"{path.name} imports {bad} at module level"
    for name in ("_json.py", "_columns.py"):
        pmt_imports = {m for m in _module_level_imports(ROOT / "pmt" / name)
                       if m.startswith("pmt")}
        assert pmt_imports <= {"pmt.errors", "pmt.errors.ArtifactError",
                               "pmt.errors.DataError", "pmt._files",
                               "pmt._files.atomic_write"}, (name, pmt_imports)
    for path in sorted((ROOT / "pmt" / "scorecard").glob("*.py")):
        assert not {m for m in _module_level_imports(path) if m.startswith("pmt.artifacts")}, path
    code = ("import sys, pmt.evaluate, pmt.hmt, pmt.artifacts, pmt.scorecard; "
            "print(sorted(m for m in sys.modules if m.startswith('pmt.simulate')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_cli_command_bodies_live_in_cli():
    """Issue 16 item 5: the command bodies moved from pmt.workflow to pmt.cli; the old
    path still works for one release, with a DeprecationWarning."""
    import pmt.cli
    import pmt.workflow

    for name in ("validate_file", "make_scorecard", "score_registry", "simulate_policy_file"):
        assert name not in pmt.workflow.__all__
        with pytest.warns(DeprecationWarning, match=f"pmt.cli.{name}"):
            old = getattr(pmt.workflow, name)
        assert old is getattr(pmt.cli, name)
