"""The summary of `python -m benchmarks` (issue 18): one line per target, collected from
whatever the benchmark modules return; a module without targets, a missing module or a
failing one gets a line and the others still run."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import Target, target  # noqa: E402
from benchmarks.__main__ import BENCHMARKS, main, summary, targets_of  # noqa: E402


def test_every_registered_benchmark_exists():
    for name in BENCHMARKS:
        assert (ROOT / "benchmarks" / f"{name}.py").exists(), name
    assert {"startup", "demo"} <= set(BENCHMARKS)


def test_rows_are_read_from_every_accepted_shape():
    row = target("a", "< 1 s", "0.5 s", 0.5, True)
    assert targets_of("m", {"targets": [row], "other": 1}) == [row]
    assert targets_of("m", [row]) == [row]
    assert targets_of("m", [("< 2 s", "1 s", 0.5, 1)]) == [
        Target("m", "< 2 s", "1 s", 0.5, True)]
    assert targets_of("m", [("x", "t", "m", None, None)]) == [Target("x", "t", "m", None, None)]
    for nothing in (None, {}, 0, {"targets": None}, "text", {"targets": []}):
        assert targets_of("m", nothing) == []


def test_summary_table_has_one_line_per_target_and_aligned_columns():
    rows = [target("startup: import pmt", "< 0.3 s", "0.041 s", 0.0627, True),
            target("demo", "< 20 s", "52.3 s", 2.615, False),
            target("roster", "(no target)", "0.03 s", None, None)]
    lines = summary(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[2].split()[-2:] == ["0.0627", "yes"]
    assert lines[3].split()[-2:] == ["2.62", "NO"]
    assert lines[4].split()[-2:] == ["-", "-"]
    start = lines[0].index("met")
    assert all(line[start:start + 3] in ("met", "---", "yes", "NO", "-") for line in lines)


def fake_module(monkeypatch, name, result):
    module = types.ModuleType(f"benchmarks.{name}")
    if isinstance(result, Exception):
        def run(argv):
            raise result
    else:
        def run(argv):
            return result
    module.main = run
    monkeypatch.setitem(sys.modules, f"benchmarks.{name}", module)


def test_main_tolerates_none_missing_and_failing_modules(monkeypatch, capsys):
    fake_module(monkeypatch, "fake_none", None)
    fake_module(monkeypatch, "fake_ok", {"targets": [target("ok", "< 1 s", "0.1 s", 0.1, True)]})
    fake_module(monkeypatch, "fake_fails", RuntimeError("boom"))
    status = main(["--quick", "fake_none", "fake_ok", "fake_fails", "fake_absent_xyz"])
    out = capsys.readouterr().out
    table = out.split("=== summary", 1)[1]
    assert "fake_none" in table and "(no targets returned)" in table
    assert "ok" in table and "0.1 s" in table
    assert "fake_fails" in table and "RuntimeError: boom" in table
    assert "fake_absent_xyz" in table and "(benchmark module missing)" in table
    assert status == 1  # a benchmark failed


def test_exit_status_is_zero_only_when_every_judged_target_is_met(monkeypatch, capsys):
    fake_module(monkeypatch, "fake_met", [target("a", "t", "m", 1.0, True),
                                          target("b", "t", "m", None, None)])
    assert main(["fake_met"]) == 0
    fake_module(monkeypatch, "fake_missed", [target("c", "t", "m", 3.0, False)])
    assert main(["fake_met", "fake_missed"]) == 1
    capsys.readouterr()


@pytest.mark.parametrize("ratio", [None, 2, 0.5])
def test_target_coerces_ratio_and_met(ratio):
    import numpy as np

    row = target("n", "t", "m", ratio, np.bool_(True))
    assert row.met is True and type(row.met) is bool
    assert row.ratio is None if ratio is None else isinstance(row.ratio, float)
