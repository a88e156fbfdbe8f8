"""Print an HTML report to PDF through headless Chromium (A4, page numbers, a paged TOC).

Chromium is driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``:
messages are JSON, separated by NUL bytes, on file descriptors 3 and 4 of the browser), so
no websocket library, port or network is needed, only the Python standard library.

How a report is printed (:func:`html_to_pdf`):

1. The page is loaded from ``file://`` and printed with ``Page.printToPDF`` on A4 (the
   report's print CSS sets ``@page { size: A4 }`` and its margins), with a footer that
   carries the report title and ``page / pages`` (Chromium fills the ``pageNumber`` and
   ``totalPages`` spans of the footer template; CSS ``@page`` margin boxes are not
   supported by Chromium). The PDF gets bookmarks from the headings
   (``generateDocumentOutline``).
2. The PDF's named destinations (every heading the table of contents links to) give the
   page of each section; those numbers are written into the table of contents of the live
   page (the HTML file is not changed) and the page is printed again. Numbers that do not
   move the layout settle after that second print; a third print is made if they did not.
3. The PDF is written atomically (:func:`pmt.io.atomic_write`).

Where the DevTools pipe is unavailable (Windows), ``engine="cli"`` prints with
``chromium --print-to-pdf``: the same A4 layout, bookmarks and page breaks, but without the
page-number footer and without page numbers in the table of contents.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmt.errors import PdfError
from pmt.io import atomic_write

__all__ = [
    "Chromium",
    "PdfResult",
    "chromium_flags",
    "find_chromium",
    "html_to_pdf",
    "pdf_destinations",
    "pdf_page_count",
    "A4_MM",
    "PAGE_MARGINS_MM",
]

#: A4 paper, width and height in millimetres
A4_MM = (210.0, 297.0)
#: page margins (top, right, bottom, left) in millimetres; the report's ``@page`` rule uses
#: the same values, and the footer with the page numbers sits in the bottom margin
PAGE_MARGINS_MM = (16.0, 15.0, 18.0, 15.0)

#: the environment variable that names the Chromium (or Chrome) executable to use
ENV_VAR = "PMT_CHROMIUM"

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
          "microsoft-edge", "msedge")
_PLACES = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
)

INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium` or "
    "`chromium-browser`; macOS/Windows: Google Chrome or Microsoft Edge), or set "
    f"{ENV_VAR}=/path/to/chromium; `make browser` installs it on Debian when run as root"
)

# Started by Python between fork and exec would be unsafe with threads; instead a tiny
# Python launcher moves the two pipe ends to descriptors 3 and 4 and execs the browser.
_LAUNCHER = (
    "import fcntl,os,sys\n"
    "a,b=int(sys.argv[1]),int(sys.argv[2])\n"
    "r=fcntl.fcntl(a,fcntl.F_DUPFD,10);w=fcntl.fcntl(b,fcntl.F_DUPFD,10)\n"
    "os.close(a);os.close(b)\n"
    "os.dup2(r,3);os.dup2(w,4);os.close(r);os.close(w)\n"
    "os.execv(sys.argv[3],sys.argv[3:])\n"
)


def find_chromium(executable: str | os.PathLike | None = None) -> str | None:
    """The path of a Chromium-family browser, or None when there is none.

    Parameters
    ----------
    executable : str or path-like, optional
        Use this executable (a name on ``PATH`` or a path). Otherwise the environment
        variable ``PMT_CHROMIUM``, then ``chromium``, ``chromium-browser``,
        ``google-chrome``, ``chrome`` and Edge on ``PATH``, then the usual install folders
        on macOS and Windows.

    Returns
    -------
    str or None
        An absolute path, or None if nothing was found.
    """
    wanted = executable if executable is not None else os.environ.get(ENV_VAR) or None
    if wanted is not None:
        found = shutil.which(str(wanted))
        if found:
            return os.path.abspath(found)
        return str(Path(wanted).resolve()) if Path(wanted).is_file() else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return os.path.abspath(found)
    for place in _PLACES:
        if Path(place).is_file():
            return place
    return None


def chromium_flags(profile: str | os.PathLike) -> list[str]:
    """Command-line flags for a headless Chromium that stays off the network.

    Parameters
    ----------
    profile : str or path-like
        A fresh, empty folder for the browser profile (``--user-data-dir``).

    Returns
    -------
    list of str
    """
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
        f"--user-data-dir={profile}",
    ]


def _require(executable) -> str:
    exe = find_chromium(executable)
    if exe is None:
        where = (f"'{executable}' was not found" if executable is not None
                 else f"no Chromium, Chrome or Edge was found on PATH (nor in {ENV_VAR})")
        raise PdfError(f"cannot print the PDF report: {where}; {INSTALL_HINT}. The HTML "
                       "report needs no browser: leave out the PDF to write it alone.")
    return exe


class Chromium:
    """A headless Chromium with one page, driven over the DevTools protocol on a pipe.

    Use it as a context manager; the browser and its child processes end on exit.

    Parameters
    ----------
    executable : str or path-like, optional
        The browser to run (see :func:`find_chromium`).
    timeout : float, default 120
        Seconds allowed for the whole session (start, load, prints, screenshots). When they
        run out the browser is killed and :class:`pmt.PdfError` is raised.

    Attributes
    ----------
    console : list of str
        Console messages, uncaught exceptions and browser log entries of the page.

    Raises
    ------
    pmt.PdfError
        If no browser is found, it cannot start, a page fails to load, or time runs out.

    Examples
    --------
    >>> with Chromium() as browser:  # doctest: +SKIP
    ...     browser.open(Path("report.html"))
    ...     width = browser.evaluate("document.documentElement.scrollWidth")
    ...     pdf = browser.print_pdf()
    """

    def __init__(self, executable: str | os.PathLike | None = None, timeout: float = 120.0):
        if os.name != "posix":
            raise PdfError("the DevTools pipe needs a POSIX system; use engine='cli'.")
        self.executable = _require(executable)
        self.timeout = float(timeout)
        self.console: list[str] = []
        self._deadline = 0.0
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._buf = bytearray()
        self._id = 0
        self._session: str | None = None
        self._events: list[dict] = []
        self._stderr: Any = None

    # -- lifetime ---------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        self._deadline = time.monotonic() + self.timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="pmt-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._stderr = open(Path(self._tmp.name) / "stderr.txt", "w+b")  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(to_browser_r), str(from_browser_w),
                 self.executable, *chromium_flags(Path(self._tmp.name) / "profile"),
                 "--remote-debugging-pipe", "about:blank"],
                pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
            )
        except OSError as exc:
            self._cleanup()
            raise PdfError(f"cannot start '{self.executable}': {exc}; {INSTALL_HINT}.") from exc
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget",
                                      {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the browser (politely, then by killing its process group)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError, PdfError):
                self._send("Browser.close", {}, session=False)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        self._cleanup()

    def _kill(self) -> None:
        """End the browser: TERM, so that it ends its helper processes, then KILL its whole
        process group (it was started in a session of its own) if it is still there after 3
        seconds.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for kill, sig, wait in ((os.kill, signal.SIGTERM, 3), (os.killpg, signal.SIGKILL, 5)):
            with contextlib.suppress(OSError):
                kill(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _cleanup(self) -> None:
        for name in ("_to_browser", "_from_browser"):
            fd = getattr(self, name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, None)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None
        self._proc = None

    def _browser_log(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError):
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").splitlines()
            lines = [ln for ln in lines if ln.strip() and "dbus" not in ln.lower()]
            errors = [ln for ln in lines if "ERROR" in ln or "FATAL" in ln]
            return " | ".join(errors[-3:])[:600]
        return ""

    def _fail(self, message: str) -> PdfError:
        log = self._browser_log()
        self._kill()
        return PdfError(f"{message} (Chromium '{self.executable}'"
                        + (f"; it said: {log}" if log else "") + ")")

    # -- protocol ---------------------------------------------------------------------
    def _send(self, method: str, params: Mapping | None, session: bool = True) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": dict(params or {})}
        if session and self._session:
            msg["sessionId"] = self._session
        data = json.dumps(msg).encode("utf-8") + b"\0"
        while data:
            try:
                n = os.write(self._to_browser, data)
            except OSError as exc:  # BrokenPipeError: the browser is gone
                raise self._fail(f"the browser stopped while sending {method}") from exc
            data = data[n:]
        return self._id

    def _recv(self) -> dict:
        while True:
            end = self._buf.find(b"\0")
            if end >= 0:
                raw = bytes(self._buf[:end])
                del self._buf[:end + 1]
                return json.loads(raw)
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"the browser did not finish within {self.timeout:g} seconds; "
                                 "raise the timeout for very large reports")
            ready, _, _ = select.select([self._from_browser], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise self._fail("the browser ended unexpectedly")
            self._buf += chunk

    def _event(self, msg: dict) -> None:
        method = msg.get("method", "")
        params = msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in
                            params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console.append(f"exception: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append(f"log.{entry.get('level')}: {entry.get('text')}")
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed"):
            raise self._fail("the page crashed while rendering")
        self._events.append(msg)

    def call(self, method: str, params: Mapping | None = None) -> dict:
        """Send one DevTools command to the page (or the browser) and return its result.

        Parameters
        ----------
        method : str
            A DevTools protocol method, e.g. ``"Page.printToPDF"``.
        params : mapping, optional
            Its parameters.

        Returns
        -------
        dict
            The command's ``result``.
        """
        mid = self._send(method, params, session=not method.startswith(("Target.", "Browser.")))
        while True:
            msg = self._recv()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise self._fail(f"{method} failed: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg)

    def _wait_event(self, method: str) -> dict:
        for i, msg in enumerate(self._events):
            if msg.get("method") == method:
                del self._events[: i + 1]
                return msg
        while True:
            msg = self._recv()
            if "method" in msg:
                self._event(msg)
                if msg["method"] == method:
                    self._events.clear()
                    return msg

    # -- page -------------------------------------------------------------------------
    def open(self, page: str | os.PathLike) -> None:
        """Load a local HTML file (or a URL) and wait for its load event and fonts.

        Parameters
        ----------
        page : str or path-like
            A path to an HTML file, or a ``file:``/``data:``/``about:`` URL.
        """
        url = str(page)
        if not re.match(r"^(file|data|about|https?):", url):
            path = Path(page)
            if not path.is_file():
                raise PdfError(f"'{path}' does not exist or is not a file.")
            url = path.resolve().as_uri()
        self._events.clear()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise PdfError(f"Chromium could not open '{page}': {result['errorText']}.")
        self._wait_event("Page.loadEventFired")
        self.evaluate("document.fonts.ready.then(() => true)")

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (awaiting a returned promise); return the value.

        Parameters
        ----------
        expression : str
            A JavaScript expression whose value is JSON-serialisable.

        Returns
        -------
        object
            The value, converted from JSON.
        """
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise PdfError(f"a script in the page failed: {text}")
        return result.get("result", {}).get("value")

    def emulate(self, width: int, height: int, media: str | None = None) -> None:
        """Lay the page out in a viewport of ``width`` x ``height`` CSS pixels.

        Parameters
        ----------
        width, height : int
            Viewport size in CSS pixels (96 per inch).
        media : {"print", "screen"}, optional
            Apply the print (or screen) style sheet to the on-screen layout.
        """
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": int(width), "height": int(height), "deviceScaleFactor": 1,
            "mobile": False})
        self.call("Emulation.setEmulatedMedia", {"media": media or ""})

    def screenshot(self, full_page: bool = True, max_height: int = 16000) -> bytes:
        """A PNG of the viewport, or of the whole page up to ``max_height`` pixels.

        Returns
        -------
        bytes
            PNG data.
        """
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            width = self.evaluate("document.documentElement.scrollWidth")
            height = min(self.evaluate("document.documentElement.scrollHeight"), max_height)
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def print_pdf(self, footer: str | None = "", **options: Any) -> bytes:
        """Print the page to PDF on A4 and return the PDF bytes.

        Parameters
        ----------
        footer : str or None, default ""
            Left-hand footer text (the document title when empty); None prints no header or
            footer at all. The right-hand footer is ``page / pages``.
        **options
            Further ``Page.printToPDF`` parameters, overriding the defaults.

        Returns
        -------
        bytes
        """
        mm = 1 / 25.4
        top, right, bottom, left = PAGE_MARGINS_MM
        params: dict[str, Any] = {
            "paperWidth": A4_MM[0] * mm, "paperHeight": A4_MM[1] * mm,
            "marginTop": top * mm, "marginRight": right * mm, "marginBottom": bottom * mm,
            "marginLeft": left * mm, "printBackground": True, "preferCSSPageSize": True,
            "generateDocumentOutline": True, "displayHeaderFooter": footer is not None,
        }
        if footer is not None:
            label = html.escape(footer) if footer else "<span class='title'></span>"
            params["headerTemplate"] = "<span></span>"
            params["footerTemplate"] = (
                "<div style='font:7.5pt Helvetica,Arial,sans-serif;color:#555;width:100%;"
                f"box-sizing:border-box;padding:0 {right}mm 0 {left}mm;display:flex;"
                "justify-content:space-between'>"
                f"<span style='overflow:hidden;white-space:nowrap;max-width:75%'>{label}</span>"
                "<span><span class='pageNumber'></span> / <span class='totalPages'></span>"
                "</span></div>")
        params.update(options)
        return base64.b64decode(self.call("Page.printToPDF", params)["data"])


# --------------------------------------------------------------------------------------
# reading the PDFs Chromium writes (uncompressed object syntax; no PDF library needed)
# --------------------------------------------------------------------------------------
_OBJ = re.compile(rb"(\d+)\s+0\s+obj\s*(.*?)(?:\bstream\r?\n|\bendobj)", re.S)


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in _OBJ.finditer(data)}


def _page_order(data: bytes) -> list[int]:
    """Object numbers of the pages, in reading order (walking the page tree)."""
    objs = _objects(data)
    root = re.search(rb"/Type\s*/Catalog.*?/Pages\s+(\d+)\s+0\s+R", data, re.S)
    if root is None:
        return []
    pages: list[int] = []

    def walk(num: int, depth: int = 0) -> None:
        body = objs.get(num, b"")
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
        if kids and depth < 50:
            for kid in re.findall(rb"(\d+)\s+0\s+R", kids.group(1)):
                walk(int(kid), depth + 1)
        elif re.search(rb"/Type\s*/Page\b", body):
            pages.append(num)

    walk(int(root.group(1)))
    return pages


def pdf_page_count(pdf: bytes | str | os.PathLike) -> int:
    """The number of pages of a PDF written by Chromium.

    Parameters
    ----------
    pdf : bytes or path-like
        PDF data, or the path of a PDF file.

    Returns
    -------
    int
        Pages in the page tree (or, failing that, the number of ``/Type /Page`` objects).
    """
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    order = _page_order(data)
    return len(order) or len(re.findall(rb"/Type\s*/Page\b", data))


def pdf_destinations(pdf: bytes | str | os.PathLike) -> dict[str, int]:
    """The page (1-based) of each named destination of a PDF written by Chromium.

    Chromium names a destination after the ``id`` of every element a link of the page
    points to, so the headings of the report's table of contents are found here.

    Parameters
    ----------
    pdf : bytes or path-like

    Returns
    -------
    dict
        ``{name: page}``; empty if the PDF has none (or a layout this reader does not know).
    """
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    order = {num: i + 1 for i, num in enumerate(_page_order(data))}
    objs = _objects(data)
    dests = re.search(rb"/Dests\s+(\d+)\s+0\s+R", data)
    body = objs.get(int(dests.group(1)), b"") if dests else b""
    out: dict[str, int] = {}
    for name, num in re.findall(rb"/([^\s/\[\]<>()]+)\s*\[\s*(\d+)\s+0\s+R", body):
        page = order.get(int(num))
        if page is not None:
            key = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)
            out[key.decode("utf-8", "replace")] = page
    return out


# --------------------------------------------------------------------------------------
# html -> pdf
# --------------------------------------------------------------------------------------
@dataclass
class PdfResult:
    """What :func:`html_to_pdf` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The PDF.
    pages : int
        Its number of pages.
    main_pages : int
        Pages before the annex (title page and table of contents included); equal to
        ``pages`` when the report has no annex (:meth:`HtmlReport.annex`).
    section_pages : dict
        ``{heading: first page}`` for each entry of the table of contents, in order
        (empty with ``engine="cli"``).
    engine : str
        ``"devtools"`` or ``"cli"``.
    seconds : float
        Time taken.
    """

    path: Path
    pages: int
    main_pages: int
    section_pages: dict[str, int] = field(default_factory=dict)
    engine: str = "devtools"
    seconds: float = 0.0


_TOC_ENTRIES = """Array.from(document.querySelectorAll('nav.toc a[href^="#"]')).map(
  a => [a.getAttribute('href').slice(1), (a.querySelector('.toc-text') || a).textContent])"""

_SET_TOC_PAGES = """(pages => {
  for (const a of document.querySelectorAll('nav.toc a[href^="#"]')) {
    const slot = a.querySelector('.toc-page');
    const page = pages[a.getAttribute('href').slice(1)];
    if (slot && page) slot.textContent = String(page);
  }
  document.documentElement.classList.add('toc-paged');
  return true;
})(%s)"""


def html_to_pdf(
    html_path: str | os.PathLike,
    pdf_path: str | os.PathLike,
    *,
    timeout: float = 180.0,
    executable: str | os.PathLike | None = None,
    page_numbers: bool = True,
    engine: str = "auto",
) -> PdfResult:
    """Print an HTML report to an A4 PDF with headless Chromium.

    Sections start on new pages (the report's print CSS), the table of contents shows the
    page of each section (``engine="devtools"``), every page has a footer with the report
    title and ``page / pages``, and the PDF has bookmarks from the headings.

    Parameters
    ----------
    html_path : str or path-like
        A self-contained HTML file, e.g. the ``report.html`` of :class:`HtmlReport`.
    pdf_path : str or path-like
        The PDF to write (atomically: a failed print leaves any earlier file untouched).
        Its folder is created if needed.
    timeout : float, default 180
        Seconds allowed for the browser; then it is killed and :class:`pmt.PdfError`
        raised.
    executable : str or path-like, optional
        The browser to use (default: :func:`find_chromium`).
    page_numbers : bool, default True
        Footer with page numbers, and page numbers in the table of contents.
    engine : {"auto", "devtools", "cli"}
        ``"devtools"`` drives Chromium over its DevTools pipe (POSIX); ``"cli"`` uses
        ``--print-to-pdf`` (no page numbers); ``"auto"`` picks devtools where it works.

    Returns
    -------
    PdfResult
        The path, page counts and the first page of each section.

    Raises
    ------
    pmt.PdfError
        If no Chromium is found (the message says how to install one), the page cannot be
        loaded, the browser fails, or it runs out of time.

    Examples
    --------
    >>> report.save("out/report.html")  # doctest: +SKIP
    >>> html_to_pdf("out/report.html", "out/report.pdf").pages  # doctest: +SKIP
    14
    """
    start = time.monotonic()
    html_path = Path(html_path)
    pdf_path = Path(pdf_path)
    if not html_path.is_file():
        raise PdfError(f"cannot print '{html_path}': the file does not exist; write the HTML "
                       "report first.")
    if engine not in ("auto", "devtools", "cli"):
        raise PdfError(f"engine={engine!r}: choose 'auto', 'devtools' or 'cli'.")
    if engine == "auto":
        engine = "devtools" if os.name == "posix" else "cli"
    exe = _require(executable)
    if engine == "devtools":
        data, section_pages = _print_devtools(html_path, exe, timeout, page_numbers)
    else:
        data, section_pages = _print_cli(html_path, exe, timeout), {}
    if not data.startswith(b"%PDF"):
        raise PdfError(f"Chromium '{exe}' did not return a PDF for '{html_path}'.")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(pdf_path) as tmp:
        tmp.write_bytes(data)
    pages = pdf_page_count(data)
    dests = pdf_destinations(data)
    main_pages = dests["annex"] - 1 if "annex" in dests else pages
    return PdfResult(pdf_path, pages, main_pages, section_pages, engine,
                     time.monotonic() - start)


def _print_devtools(html_path: Path, exe: str, timeout: float,
                    page_numbers: bool) -> tuple[bytes, dict[str, int]]:
    with Chromium(exe, timeout=timeout) as browser:
        browser.open(html_path)
        footer = "" if page_numbers else None
        data = browser.print_pdf(footer=footer)
        entries = browser.evaluate(_TOC_ENTRIES) or []
        if not page_numbers or not entries:
            return data, _section_pages(entries, pdf_destinations(data))
        dests = pdf_destinations(data)
        for _ in range(3):  # numbers in the TOC could (in theory) move the layout: settle it
            browser.evaluate(_SET_TOC_PAGES % json.dumps(dests))
            data = browser.print_pdf(footer=footer)
            after = pdf_destinations(data)
            if after == dests:
                break
            dests = after
        return data, _section_pages(entries, dests)


def _section_pages(entries, dests: Mapping[str, int]) -> dict[str, int]:
    return {text: dests[anchor] for anchor, text in entries if anchor in dests}


def _print_cli(html_path: Path, exe: str, timeout: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pmt-chromium-") as tmp:
        out = Path(tmp) / "report.pdf"
        cmd = [exe, *chromium_flags(Path(tmp) / "profile"), "--no-pdf-header-footer",
               "--generate-pdf-document-outline", "--virtual-time-budget=10000",
               f"--print-to-pdf={out}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"Chromium did not print '{html_path}' within {timeout:g} seconds; "
                           "raise the timeout for very large reports.") from exc
        except OSError as exc:
            raise PdfError(f"cannot start '{exe}': {exc}; {INSTALL_HINT}.") from exc
        if not out.is_file():
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfError(f"Chromium '{exe}' failed to print '{html_path}' (exit "
                           f"{proc.returncode}): {' | '.join(err)}")
        return out.read_bytes()
