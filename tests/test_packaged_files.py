"""Files published in data_spec/ and shipped inside the package are the same."""

from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PUBLISHED = sorted(
    p.relative_to(ROOT / "data_spec")
    for pattern in ("*.yaml", "*.json", "examples/*.yaml")
    for p in (ROOT / "data_spec").glob(pattern)
)


def test_something_is_published():
    assert Path("hbs.yaml") in PUBLISHED and Path("registry.yaml") in PUBLISHED


@pytest.mark.parametrize("rel", PUBLISHED, ids=str)
def test_packaged_copy_identical(rel):
    packaged = ROOT / "pmt" / "data_spec" / rel
    assert packaged.exists(), f"pmt/data_spec/{rel} is missing: copy data_spec/{rel} there"
    assert packaged.read_bytes() == (ROOT / "data_spec" / rel).read_bytes()
