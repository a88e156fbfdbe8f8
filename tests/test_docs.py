"""Every docs page's Python examples run as written, top to bottom (on a smaller survey).

The ```python blocks of each ``docs/*.md`` page are executed in order in one namespace,
inside a temporary working directory, with the survey sizes 20_000, 100_000 and 200_000
replaced by 3_000 so the test stays fast. Pages without Python blocks are not tested.
"""

import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
# the survey sizes used on the pages, as whole literals (not inside e.g. 1_200_000)
SIZES = re.compile(r"(?<![\d_.])(?:20_000|100_000|200_000)(?![\d_.])")
SMALL = "3_000"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def shrink(code: str) -> str:
    return SIZES.sub(SMALL, code)


PAGES = sorted(page for page in DOCS.glob("*.md") if python_blocks(page))


def test_pages_found():
    assert PAGES, f"no docs page with ```python blocks under {DOCS}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, block in enumerate(python_blocks(page), start=1):
            code = compile(shrink(block), f"{page.name} (python block {i})", "exec")
            exec(code, namespace)
