"""Progress bars: drawn on terminals only, silenced by --quiet, never change results."""

import io

import numpy as np

from pmt import progress
from pmt.evaluate._parallel import run_tasks


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_bar_counts_rate_and_eta():
    stream = FakeTTY()
    with progress.Progress("fits", total=4, stream=stream) as bar:
        for _ in range(4):
            bar.update()
    text = stream.getvalue()
    assert "fits [####################] 4/4" in text and text.endswith("\n")
    assert "ETA" in text


def test_silent_when_not_a_terminal_or_disabled():
    plain = io.StringIO()
    with progress.Progress("fits", total=2, stream=plain) as bar:
        bar.update(2)
    assert plain.getvalue() == ""
    tty = FakeTTY()
    with progress.enabled(False), progress.Progress("fits", total=2, stream=tty) as bar:
        bar.update(2)
    assert tty.getvalue() == ""


def test_unknown_total_shows_count():
    bar = progress.Progress("rows", stream=FakeTTY())
    bar.update(1500)
    assert bar.line().startswith("rows 1,500 ")


def test_run_tasks_same_results_with_progress_and_processes():
    tasks = list(range(6))
    serial = run_tasks(np.sqrt, tasks, n_jobs=1, desc="tasks")
    parallel = run_tasks(np.sqrt, tasks, n_jobs=2, desc="tasks")
    assert serial == parallel == [np.sqrt(t) for t in tasks]
