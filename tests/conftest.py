"""Shared test helpers: published reference values (tests/references/) and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REFERENCES = Path(__file__).parent / "references"


def load_reference(name: str) -> dict:
    """The ``values`` of ``tests/references/<name>.yaml`` (with its source checked)."""
    raw = yaml.safe_load((REFERENCES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert raw.get("source") and raw.get("where"), f"{name}.yaml must cite its source"
    return raw["values"]


@pytest.fixture
def reference():
    """``reference(name)``: published values with their source (tests/references/)."""
    return load_reference


@pytest.fixture
def cli(capsys):
    """Run ``pmt.cli.main(args)`` as a user would: returns (exit code, stdout, stderr) and
    checks that no traceback reached the user."""
    from pmt.cli import main

    def run(args: list[str]) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out, captured.err

    return run
