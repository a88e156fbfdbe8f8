"""Look at an HTML report and its PDF the way a person would, in headless Chromium.

- :func:`render` loads the page (``--dump-dom``) and reports broken images and console
  messages: the page is copied with a small checker script appended (the report itself
  carries no script); Chromium loads it from file://, runs the checker after the load
  event, and ``--dump-dom`` returns the DOM with the checker's verdict;
  ``--enable-logging=stderr`` returns console messages.
- :func:`inspect_print_layout` lays the page out with the print style sheet at the width of
  an A4 page's text block (DevTools protocol, through :class:`pmt.report.pdf.Chromium`) and
  lists every element wider than the page, checks that every image loaded, and writes a
  PNG screenshot of that layout.
- :func:`pdf_text`, :func:`pdf_words` and :func:`pdf_page_images` read a PDF with
  poppler-utils (``pdftotext``, ``pdftoppm``; ``make browser`` installs them with
  Chromium): text per page, word boxes, and PNGs of pages for a reviewer.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pmt.report.pdf import A4_MM, PAGE_MARGINS_MM, Chromium
from pmt.report.pdf import find_chromium as _find_chromium

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

MM_TO_PX = 96 / 25.4
#: width of the text block of an A4 page in CSS pixels (portrait, landscape)
PRINT_WIDTH_PX = (
    round((A4_MM[0] - PAGE_MARGINS_MM[1] - PAGE_MARGINS_MM[3]) * MM_TO_PX),
    round((A4_MM[1] - PAGE_MARGINS_MM[1] - PAGE_MARGINS_MM[3]) * MM_TO_PX),
)
#: height of the text block of a portrait A4 page in CSS pixels
PRINT_HEIGHT_PX = round((A4_MM[1] - PAGE_MARGINS_MM[0] - PAGE_MARGINS_MM[2]) * MM_TO_PX)

SKIP_NO_CHROMIUM = "chromium is not installed (make test installs it with apt-get where it can)"
SKIP_NO_POPPLER = ("poppler-utils (pdftotext, pdftoppm) are not installed (make browser "
                   "installs them with apt-get where it can)")


def find_chromium() -> str | None:
    """The Chromium the report tests use (``PMT_CHROMIUM``, then PATH), or None."""
    return _find_chromium()


def have_poppler() -> bool:
    return shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None


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


# Every element whose box sticks out of the page's text block. Elements inside a landscape
# block (a very wide table printed on a landscape page) are held to the landscape width.
MEASURE = """((portrait, landscape) => {
  const doc = document.documentElement;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const path = el => { const p = []; for (let e = el; e && e !== document.body && p.length < 4; e = e.parentElement) p.unshift(name(e)); return p.join(' > '); };
  const over = [];
  // the box of an element, or content spilling out of it (visible overflow: long unbroken
  // text), beyond the text block
  const check = (els, limitOf) => {
    for (const el of els) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const right = Math.max(r.right, r.left + el.scrollWidth);
      const limit = limitOf(el);
      if (right > limit + 1 || r.left < -1) {
        const text = (el.textContent || '').trim().slice(0, 60);
        over.push(`${path(el)} [${Math.round(r.left)}..${Math.round(right)} > ${Math.round(limit)}] ${text}`);
      }
    }
  };
  // everything but the landscape blocks, held to the portrait width (landscape blocks hidden)
  const blocks = Array.from(document.querySelectorAll('.landscape'));
  blocks.forEach(b => { b.dataset.display = b.style.display; b.style.display = 'none'; });
  const portraitScroll = doc.scrollWidth;
  check(Array.from(document.body.querySelectorAll('*')).filter(el => !el.closest('.landscape')),
        () => portrait);
  blocks.forEach(b => { b.style.display = b.dataset.display; });
  // a landscape block (a very wide table printed on a landscape page) and its content,
  // held to the landscape width
  const widths = blocks.map(b => b.scrollWidth);
  for (const b of blocks) {
    const left = b.getBoundingClientRect().left;
    check([b, ...b.querySelectorAll('*')], () => left + landscape);
  }
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src.slice(0, 60));
  return {viewport: doc.clientWidth, scroll_width: portraitScroll, overflowing: over,
          images: imgs.length, broken: broken, landscape_widths: widths};
})(%d, %d)"""


def inspect_print_layout(html_path: Path, screenshot: Path | None = None,
                         timeout: float = 120) -> dict:
    """Lay the page out for print at the A4 text-block width and measure it.

    Parameters
    ----------
    html_path : Path
        The report.
    screenshot : Path, optional
        Where to write a PNG of that layout (the top of the page, up to about 8 pages).

    Returns
    -------
    dict
        ``viewport`` and ``scroll_width`` (CSS px; the page is too wide when the second is
        larger; landscape blocks left out), ``landscape_widths`` (the width of each
        landscape block, to compare with ``PRINT_WIDTH_PX[1]``), ``overflowing`` (a description of each element wider than the page, empty
        when all fit; elements of landscape blocks are held to the landscape width),
        ``images`` and ``broken`` (alt texts of images that did not load), ``console``
        (console messages and uncaught errors of the page).
    """
    with Chromium(timeout=timeout) as browser:
        browser.emulate(PRINT_WIDTH_PX[0], PRINT_HEIGHT_PX, media="print")
        browser.open(html_path)
        result = browser.evaluate(MEASURE % PRINT_WIDTH_PX)
        if screenshot is not None:
            screenshot.write_bytes(browser.screenshot(max_height=8 * PRINT_HEIGHT_PX))
        result["console"] = list(browser.console)
    return result


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None,
             layout: bool = True) -> str:
    """Text of pages ``first``..``last`` (1-based) of a PDF, from ``pdftotext``."""
    cmd = ["pdftotext"]
    if first is not None:
        cmd += ["-f", str(first)]
    if last is not None or first is not None:
        cmd += ["-l", str(last if last is not None else first)]
    if layout:
        cmd.append("-layout")
    proc = subprocess.run([*cmd, str(pdf), "-"], capture_output=True, text=True, timeout=60,
                          check=True)
    return proc.stdout


def pdf_pages_text(pdf: Path) -> list[str]:
    """Text of each page (``pdftotext -layout``; pages are separated by form feeds)."""
    pages = pdf_text(pdf).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_words(pdf: Path) -> list[dict]:
    """Word boxes per page from ``pdftotext -bbox``: ``[{width, height, words: [(xmin,
    ymin, xmax, ymax, word), ...]}, ...]`` in points."""
    proc = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, timeout=60, check=True)
    pages = []
    for m in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', proc.stdout,
                         re.S):
        words = [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in
                 re.findall(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" '
                            r'yMax="([\d.-]+)">(.*?)</word>', m.group(3))]
        pages.append({"width": float(m.group(1)), "height": float(m.group(2)), "words": words})
    return pages


def pdf_page_images(pdf: Path, stem: Path, pages: list[int], dpi: int = 60) -> list[Path]:
    """PNGs of the given pages (1-based) of a PDF, written as ``<stem>-page-NN.png``."""
    out = []
    for page in pages:
        target = stem.with_name(f"{stem.name}-page-{page:02d}")
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(dpi), "-f", str(page),
                        "-l", str(page), str(pdf), str(target)], check=True, timeout=60,
                       capture_output=True)
        out.append(target.with_suffix(".png"))
    return out


def page_lines(page_text: str) -> list[str]:
    """Non-empty lines of a page, whitespace collapsed, the footer (``title  N / M``)
    removed."""
    lines = [" ".join(line.split()) for line in page_text.splitlines()]
    lines = [line for line in lines if line]
    if lines and re.search(r"\b\d+ / \d+$", lines[-1]):
        lines = lines[:-1]
    return lines
