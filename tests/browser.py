"""Render an HTML file in headless Chromium and report broken images and console messages.

The page is copied with a small checker script appended (the report itself carries no
script); Chromium loads it from file://, runs the checker after the load event, and
``--dump-dom`` returns the DOM with the checker's verdict; ``--enable-logging=stderr``
returns console messages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHECKER = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement('div');
  out.id = 'pmt-browser-check';
  out.setAttribute('data-images', String(imgs.length));
  out.setAttribute('data-broken', String(broken.length));
  document.body.appendChild(out);
});
</script>
"""

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=1", "--virtual-time-budget=10000", "--dump-dom",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(html_path: Path, timeout: float = 120) -> dict:
    """Load the page; return image count, broken images and console error lines."""
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        text = html_path.read_text(encoding="utf-8")
        page.write_text(text.replace("</body>", CHECKER + "</body>"), encoding="utf-8")
        profile = Path(tmp) / "profile"
        proc = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", page.as_uri()],
            capture_output=True, text=True, timeout=timeout,
        )
    m = re.search(r'id="pmt-browser-check" data-images="(\d+)" data-broken="(\d+)"', proc.stdout)
    console = [
        line for line in proc.stderr.splitlines()
        if ":CONSOLE" in line
    ]
    return {
        "checked": m is not None,
        "images": int(m.group(1)) if m else 0,
        "broken": int(m.group(2)) if m else -1,
        "console_messages": console,
        "returncode": proc.returncode,
    }
