"""PDFs with WeasyPrint: rendered off the event loop, bounded, fetching nothing.

``render_pdf(html, title=...)`` turns an HTML document (a Jinja template rendered
with autoescape, ``views/pdf/*.html``) into PDF bytes:

- in a thread (WeasyPrint is synchronous and CPU-bound), at most ``workers()``
  documents at once (the machine's cores less one, at least one), so the event loop
  keeps serving while PDFs render (security plan C-7, D-3);
- with a URL fetcher that serves only the app's own files under ``static/pdf/`` by
  name, through the fake origin ``BASE_URL``: ``file:``, ``http(s):``, ``data:`` and
  every other URL raise, and nothing is attached (security plan D-1);
- waiting at most ``TIMEOUT_SECONDS`` for a render (``PdfTimeout``: the thread
  finishes on its own and its slot is given back then);
- with no metadata beyond the title and the creation time (D-4).
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import weakref
from pathlib import Path

from app.config import ROOT

STATIC = (ROOT / "static" / "pdf").resolve()
BASE_URL = "https://portal.invalid/static/pdf/"
TIMEOUT_SECONDS = 30.0
ALLOWED_SUFFIXES = frozenset({".css", ".png", ".svg", ".woff2"})

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class PdfTimeout(Exception):
    """A document took longer than TIMEOUT_SECONDS to render."""


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


def _render(html: str, title: str) -> bytes:
    from weasyprint import HTML

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).render()
    document.metadata.title = title
    document.metadata.authors = []
    document.metadata.description = None
    document.metadata.keywords = []
    document.metadata.generator = None
    document.metadata.attachments = []
    return document.write_pdf()


async def render_pdf(html: str, *, title: str) -> bytes:
    """PDF bytes for ``html``; raises PdfTimeout after TIMEOUT_SECONDS."""
    slots = _semaphore()
    await slots.acquire()
    # The slot is given back when the thread ends, not when the caller stops waiting.
    task = asyncio.ensure_future(asyncio.to_thread(_render, html, title))
    task.add_done_callback(lambda _: slots.release())
    try:
        return await asyncio.wait_for(asyncio.shield(task), TIMEOUT_SECONDS)
    except TimeoutError as exc:
        raise PdfTimeout(f"PDF not rendered in {TIMEOUT_SECONDS:g} s") from exc
