"""The worked notebooks run top to bottom (on a small draw), are stored without outputs, show
their figures inline and do not silence warnings wholesale."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

# `warnings.simplefilter("ignore", ...)` hides every warning (of a category); a notebook may
# only filter a notice it names, `warnings.filterwarnings("ignore", message=..., ...)`
# with a comment saying why.
BLANKET = re.compile(r"simplefilter\(\s*['\"]ignore['\"]|filterwarnings\(\s*['\"]ignore['\"]\s*\)")


def test_five_notebooks_exist():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_blanket_warning_filter(path):
    book = nbformat.read(path, as_version=4)
    found = [line.strip() for cell in book.cells if cell.cell_type == "code"
             for line in cell.source.splitlines() if BLANKET.search(line)]
    assert not found, f"{path.name} silences warnings wholesale: {found}"


def test_blanket_pattern():
    assert BLANKET.search('warnings.simplefilter("ignore")')
    assert BLANKET.search("warnings.simplefilter('ignore', UserWarning)")
    assert BLANKET.search('warnings.filterwarnings("ignore")')
    assert not BLANKET.search('warnings.filterwarnings("ignore", message="x", category=UserWarning)')
    assert not BLANKET.search('warnings.simplefilter("default")')


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("PMT_NB_HOUSEHOLDS", "3000")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    # figures are shown inline, not only written to files: at least one PNG per notebook
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} displays no figure"
