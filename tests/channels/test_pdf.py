"""channels/pdf.py: the fetcher serves only static/pdf files by name; renders time out
cleanly and give their slot back."""

import asyncio
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pypdf import PdfReader

from channels import pdf


class Canary:
    """A local HTTP server counting the requests it gets."""

    def __init__(self):
        self.hits = 0
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                canary.hits += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary():
    with Canary() as server:
        yield server


def test_the_fetcher_serves_the_stylesheet_by_name():
    assert pdf.static_file(pdf.BASE_URL + "document.css") == pdf.STATIC / "document.css"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/x.css",
        "https://portal.invalid/static/pdf/../pdf/document.css",
        pdf.BASE_URL + "..%2f..%2fapp%2fconfig.py",
        pdf.BASE_URL + "../../app/config.py",
        pdf.BASE_URL + "sub/document.css",
        pdf.BASE_URL + ".hidden.css",
        pdf.BASE_URL + "missing.css",
        "data:text/css,body{color:red}",
        "https://portal.invalid/static/document.css",
    ],
)
def test_the_fetcher_refuses_anything_else(url):
    assert pdf.static_file(url) is None
    with pytest.raises(ValueError):
        pdf._fetcher().fetch(url)


def test_the_fetcher_refuses_other_suffixes(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("secret")
    (tmp_path / "ok.css").write_text("body {}")
    monkeypatch.setattr(pdf, "STATIC", tmp_path.resolve())
    assert pdf.static_file(pdf.BASE_URL + "notes.txt") is None
    assert pdf.static_file(pdf.BASE_URL + "ok.css") == tmp_path.resolve() / "ok.css"


async def test_a_hostile_document_fetches_nothing_and_attaches_nothing(canary):
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="document.css">
      <link rel="stylesheet" href="http://127.0.0.1:{canary.port}/style.css">
      <link rel="attachment" href="file:///etc/passwd">
      <link rel="attachment" href="http://127.0.0.1:{canary.port}/attach">
      <style>body {{ background: url(file:///etc/hostname); }}
             p {{ background: url(http://127.0.0.1:{canary.port}/bg.png); }}</style>
      </head><body>
      <img src="http://127.0.0.1:{canary.port}/x">
      <img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E">
      <iframe src="file:///etc/passwd"></iframe>
      <p>Visible text</p></body></html>"""
    data = await pdf.render_pdf(html, title="Hostile")
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert canary.hits == 0
    assert reader.attachments == {}
    assert "Visible text" in text and "root:" not in text
    assert set(reader.metadata) == {"/Title", "/Producer"}
    assert reader.metadata["/Title"] == "Hostile"


async def test_a_slow_render_times_out_and_gives_its_slot_back(monkeypatch):
    real = pdf._render
    finished = threading.Event()

    def slow(html, title):
        time.sleep(0.5)
        try:
            return real(html, title)
        finally:
            finished.set()

    monkeypatch.setattr(pdf, "_render", slow)
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 0.01)
    monkeypatch.setattr(pdf, "workers", lambda: 1)
    pdf._slots.pop(asyncio.get_running_loop(), None)
    with pytest.raises(pdf.PdfTimeout):
        await pdf.render_pdf("<p>slow</p>", title="Slow")
    slots = pdf._semaphore()
    assert slots.locked()  # the thread still runs and still holds the one slot
    await asyncio.to_thread(finished.wait, 10)
    await asyncio.sleep(0.05)  # the done callback runs on the loop
    assert not slots.locked()
    monkeypatch.setattr(pdf, "_render", real)
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 30.0)
    data = await pdf.render_pdf("<p>fast</p>", title="Fast")
    assert data.startswith(b"%PDF")
