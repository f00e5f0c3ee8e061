"""PDFs with WeasyPrint: rendered in worker processes, bounded, fetching nothing.

``render_pdf(html, title=...)`` turns an HTML document (a Jinja template rendered
with autoescape, ``views/pdf/*.html``) into PDF bytes:

- in a small pool of worker processes (``concurrent.futures.ProcessPoolExecutor``,
  ``workers()`` of them: the machine's cores less one, at least one), started with
  "spawn" (the parent runs an event loop, database drivers and threads: no fork).
  WeasyPrint is synchronous, CPU-bound Python; in a process it holds no lock the
  event loop needs, so the loop keeps serving while PDFs render (security plan C-7,
  D-3). At most ``workers()`` documents render at once per event loop (a semaphore:
  a render's clock starts when it has a worker, not while it queues). The pool is
  created on first use, once per process, and serves every event loop; each worker
  imports WeasyPrint and renders a small document once when it starts, so fonts,
  fontconfig and the stylesheet machinery are loaded before the first real render;
- with a URL fetcher that serves only the app's own files under ``static/pdf/`` by
  name, through the fake origin ``BASE_URL``: ``file:``, ``http(s):``, ``data:`` and
  every other URL raise, and nothing is attached (security plan D-1). The fetcher is
  built inside the worker;
- waiting at most ``TIMEOUT_SECONDS`` for a render: then the caller gets
  ``PdfTimeout``, and the pool's worker processes are killed and the pool replaced
  (a pool can't lose one worker without breaking, so the whole pool goes; another
  render that was running in it is retried once on the new pool). A runaway document
  can't pin a CPU: D-3. A caller that stops waiting (cancelled) leaves a watchdog
  that does the same at the deadline;
- a worker that dies (``BrokenProcessPool``: a crash, the OOM killer) replaces the
  pool and the render is tried once more; a second death raises ``PdfWorkerDied``;
- with no metadata beyond the title and the creation time (D-4).

``shutdown()`` stops the pool: ``app/asgi.py`` calls it after serving; an
``atexit`` hook is the fallback (and what a test run relies on).

Where a render's time goes (a year's superbill: 52 lines, 3 pages, on a 2-core VM):
Jinja about 3 ms and the data about 10 ms (both in the app's process); in the worker
WeasyPrint's layout about 140 ms (styles, table, line breaking: Python, about 2 ms a
table row; no change to document.css measurably shortened it) and ``write_pdf``
about 40 ms, down from about 250 ms, most of which was subsetting the two DejaVu
fonts with fontTools. (This system has no HarfBuzz-Subset library, which WeasyPrint
would use instead, in C.) The installed fontTools reads a font's whole GSUB and
GPOS tables to convert their formats before dropping them, as WeasyPrint asks it
to: the worker drops them first (the subset is byte-for-byte the same, two to three
times faster). And the worker keeps each font's subset for the common Latin
characters (``COMMON_TEXT``), reusing it for every document whose glyphs it covers:
the fonts in such a PDF hold those glyphs (about 15 kB more), and depend on that
fixed set only, never on another document's text; other documents are subset on
their own. The worker also reuses one ``FontConfiguration`` (about 10 ms a
document) and, after its warm-up, freezes what it loaded out of the garbage
collector and collects less often (a render allocates hundreds of thousands of
objects; the collector walking the loaded modules cost 10 to 60 ms a render).
Caching the parsed ``document.css`` would save about 3 ms and is not done.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import mimetypes
import multiprocessing
import os
import threading
import time
import weakref
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

# Not app.config.ROOT: a worker process imports this module and should not have to
# import the web app to find the stylesheet.
ROOT = Path(__file__).resolve().parent.parent
STATIC = (ROOT / "static" / "pdf").resolve()
BASE_URL = "https://portal.invalid/static/pdf/"
TIMEOUT_SECONDS = 30.0
ALLOWED_SUFFIXES = frozenset({".css", ".png", ".svg", ".woff2"})

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


class PdfTimeout(Exception):
    """A document took longer than TIMEOUT_SECONDS to render (its worker was killed)."""


class PdfWorkerDied(RuntimeError):
    """The worker process rendering a document died, twice (a crash, the OOM killer)."""


def workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    found = _slots.get(loop)
    if found is None:
        found = _slots[loop] = asyncio.Semaphore(workers())
    return found


def static_file(url: str) -> Path | None:
    """The file ``url`` names under ``static/pdf/``, or None for anything else."""
    if not url.startswith(BASE_URL):
        return None
    name = url[len(BASE_URL) :].split("?", 1)[0].split("#", 1)[0]
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = (STATIC / name).resolve()
    if path.parent != STATIC or path.suffix not in ALLOWED_SUFFIXES or not path.is_file():
        return None
    return path


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = static_file(url)
            if path is None:
                raise ValueError("PDFs fetch only the app's own static files")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})

    return StaticOnly(allowed_protocols=("https",), allow_redirects=False)


# --- In the worker process -------------------------------------------------------

_fonts = None  # the worker's one weasyprint FontConfiguration
_subsets: dict[tuple[bytes, int, bool], tuple[frozenset[int], bytes]] = {}
# The characters whose glyphs a font's reusable subset holds: ASCII, Latin-1, the
# Latin ligatures Pango shapes "fi" and "fl" into, and common punctuation.
COMMON_TEXT = (
    "".join(map(chr, range(0x20, 0x7F)))
    + "".join(map(chr, range(0xA0, 0x100)))
    + "".join(map(chr, range(0xFB00, 0xFB07)))
    + "\u2010\u2011\u2012\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026"
    + "\u2032\u2033\u2039\u203a\u20ac\u2122\u2212"
)


_document_class = None  # weasyprint.HTML with the PDFs' own user-agent stylesheet


def _html_class():
    """``weasyprint.HTML`` laid out with ``static/pdf/user-agent.css`` (the rules of
    WeasyPrint's HTML stylesheet for the elements our templates use) instead of the
    whole HTML stylesheet: the style cascade was a third of a superbill's layout."""
    global _document_class
    if _document_class is None:
        from weasyprint import CSS, HTML

        sheet = CSS(filename=str(STATIC / "user-agent.css"))

        class PdfHTML(HTML):
            def _ua_stylesheets(self, forms: bool = False):
                return [sheet]

        _document_class = PdfHTML
    return _document_class


def _render(html: str, title: str) -> bytes:
    """Runs in a worker process: the PDF bytes of ``html``."""
    document = _html_class()(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).render(
        font_config=_font_config()
    )
    document.metadata.title = title
    document.metadata.authors = []
    document.metadata.description = None
    document.metadata.keywords = []
    document.metadata.generator = None
    document.metadata.attachments = []
    return document.write_pdf()


def _font_config():
    global _fonts
    if _fonts is None:
        from weasyprint.text.fonts import FontConfiguration

        _speed_up_font_subsetting()
        _fonts = FontConfiguration()
    return _fonts


def _warm_worker() -> None:
    """The pool's initializer: load WeasyPrint, fonts and the subsets of the common
    glyphs, then keep the garbage collector off what stays loaded."""
    import gc

    _watch_parent()

    with contextlib.suppress(Exception):  # a real render will show any problem
        _render(
            '<!doctype html><html><head><link rel="stylesheet" href="document.css">'
            f"</head><body><h1>{COMMON_TEXT}</h1><p>{COMMON_TEXT}</p>"
            "<table><tr><th>1</th><td>2</td></tr></table></body></html>",
            "warm-up",
        )
    gc.collect()
    gc.freeze()  # the modules, caches and fonts loaded so far are never garbage
    # A render allocates hundreds of thousands of objects, few of them cyclic garbage:
    # collect the youngest generation less often than every 700 allocations.
    gc.set_threshold(50_000, 20, 20)


def _speed_up_font_subsetting() -> None:
    """Make WeasyPrint's fontTools subsetting cheaper (see the module docstring).

    Only when WeasyPrint subsets with fontTools (no HarfBuzz-Subset library)."""
    from fontTools import subset
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset is not None or getattr(subset.Subsetter, "_portal_fast", False):
        return
    subset_font = subset.Subsetter.subset

    def drop_layout_first(self, font):
        # Deleting an unread table reads nothing; Subsetter.subset itself would read
        # GSUB and GPOS whole (to convert their formats) before dropping them. "kern"
        # goes as it would have (dropped when GPOS is present, unless legacy_kern).
        drop = self.options.drop_tables
        if "GPOS" in drop and "GPOS" in font and "kern" in font and not self.options.legacy_kern:
            del font["kern"]
        for tag in ("GSUB", "GPOS"):
            if tag in drop and tag in font:
                del font[tag]
        return subset_font(self, font)

    subset.Subsetter.subset = drop_layout_first
    subset.Subsetter._portal_fast = True

    font_subset = fonts.Font.subset

    def reuse_common_subset(self, to_unicode, hinting):
        if not to_unicode or self.missing:
            return font_subset(self, to_unicode, hinting)
        key = (hashlib.sha256(self.file_content).digest(), self.index, bool(hinting))
        found = _subsets.get(key)
        if found is None:
            common = _common_glyphs(self.file_content, self.index)
            full = self.file_content
            font_subset(self, dict.fromkeys(sorted(common), ""), hinting)
            if len(_subsets) >= 32:
                _subsets.clear()
            found = _subsets[key] = (common, self.file_content if common else b"")
            self.file_content = full
        if found[0] and found[0].issuperset(to_unicode):
            self.file_content = found[1]
            return None
        return font_subset(self, to_unicode, hinting)  # glyphs beyond the common set

    fonts.Font.subset = reuse_common_subset


def _common_glyphs(content: bytes, index: int) -> frozenset[int]:
    """The ids of the glyphs ``COMMON_TEXT`` maps to in a font (empty if unreadable)."""
    import io

    from fontTools.ttLib import TTFont

    try:
        font = TTFont(io.BytesIO(content), fontNumber=index, lazy=True)
        cmap = font.getBestCmap() or {}
        return frozenset(
            font.getGlyphID(cmap[ord(char)]) for char in COMMON_TEXT if ord(char) in cmap
        )
    except Exception:  # noqa: BLE001  (an odd font is subset document by document)
        return frozenset()


# --- In the app's process --------------------------------------------------------


def _allow_children() -> None:
    """hypercorn runs the app in daemonic worker processes, and multiprocessing refuses
    to start children from one ("daemonic processes are not allowed to have children").
    The PDF workers are this process's own: they are shut down with it (``shutdown``,
    at exit) and each one leaves by itself when its parent is gone (``_watch_parent``),
    so the flag may be lifted for this process."""
    current = multiprocessing.current_process()
    if current.daemon:
        current._config["daemon"] = False  # noqa: SLF001 - no public way to lift it


def _watch_parent() -> None:
    """In a worker: exit when the process that started it is gone (killed with -9, say),
    so no PDF worker outlives the web process."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="pdf-parent-watch", daemon=True).start()


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _allow_children()
            _pool = ProcessPoolExecutor(
                max_workers=workers(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_worker,
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    """Kill ``pool``'s worker processes and forget the pool (blocking: a thread)."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):  # already gone
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(5)


def worker_pids() -> set[int]:
    """The process ids of the current pool's workers (none before the first render)."""
    with _pool_lock:
        pool = _pool
    return set((getattr(pool, "_processes", None) or {}) if pool else ())


def shutdown() -> None:
    """Stop the pool: idle workers exit, a render still running after 5 s is killed."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 5
    for process in processes:
        try:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        except (OSError, ValueError, AssertionError):
            pass


atexit.register(shutdown)


def _watch(pool: ProcessPoolExecutor, future: Future, deadline: float) -> None:
    """Kill ``pool`` at ``deadline`` if ``future`` is still running then."""

    def check() -> None:
        if not future.done():
            _discard(pool)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), check)
    timer.daemon = True
    timer.start()


async def render_pdf(html: str, *, title: str) -> bytes:
    """PDF bytes for ``html``; raises PdfTimeout after TIMEOUT_SECONDS (and kills the
    render), PdfWorkerDied if the worker died twice."""
    async with _semaphore():
        died: BaseException | None = None
        for _attempt in range(2):
            pool = _get_pool()
            try:
                future = pool.submit(_render, html, title)
            except (BrokenProcessPool, RuntimeError) as exc:  # broken, or shut down
                died = exc
                await asyncio.to_thread(_discard, pool)
                continue
            deadline = time.monotonic() + TIMEOUT_SECONDS
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS)
            except TimeoutError as exc:
                await asyncio.to_thread(_discard, pool)
                raise PdfTimeout(f"PDF not rendered in {TIMEOUT_SECONDS:g} s") from exc
            except BrokenProcessPool as exc:
                died = exc
                await asyncio.to_thread(_discard, pool)
            except asyncio.CancelledError:
                if not future.done():
                    _watch(pool, future, deadline)
                raise
        raise PdfWorkerDied("the PDF worker process died twice") from died
