"""channels/pdf.py: the fetcher serves only static/pdf files by name; renders run in
worker processes, and a runaway or dying worker is killed and replaced."""

import asyncio
import io
import os
import signal
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


def slow_document(rows: int = 3000) -> str:
    """A real document that takes seconds to lay out (a long table)."""
    row = "<tr><td>2026-01-05</td><td>90837</td><td>11</td><td>1</td><td>$180.00</td></tr>"
    return (
        '<!doctype html><html><head><link rel="stylesheet" href="document.css"></head>'
        f"<body><table>{row * rows}</table></body></html>"
    )


def crash(html, title):
    """A worker function that dies the way a segfault or the OOM killer would."""
    os._exit(3)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def warm_workers() -> set[int]:
    assert (await pdf.render_pdf("<p>warm</p>", title="Warm")).startswith(b"%PDF")
    pids = pdf.worker_pids()
    assert pids and os.getpid() not in pids  # rendered in another process
    return pids


async def test_a_runaway_render_times_out_and_its_worker_is_killed(monkeypatch):
    before = await warm_workers()
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 0.5)
    began = time.monotonic()
    with pytest.raises(pdf.PdfTimeout):
        await pdf.render_pdf(slow_document(), title="Slow")
    assert time.monotonic() - began < 5  # not the seconds the document would take
    assert all(gone(pid) for pid in before)  # killed and reaped, not left running
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 30.0)
    data = await pdf.render_pdf("<p>fast</p>", title="Fast")
    assert data.startswith(b"%PDF")
    assert pdf.worker_pids().isdisjoint(before)  # a new pool


async def test_a_caller_that_stops_waiting_still_gets_the_runaway_killed(monkeypatch):
    before = await warm_workers()
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 0.5)
    task = asyncio.create_task(pdf.render_pdf(slow_document(), title="Slow"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: all(gone(pid) for pid in before))
    monkeypatch.setattr(pdf, "TIMEOUT_SECONDS", 30.0)
    assert (await pdf.render_pdf("<p>fast</p>", title="Fast")).startswith(b"%PDF")


async def test_a_worker_that_died_is_replaced_and_the_render_succeeds():
    before = await warm_workers()
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    data = await pdf.render_pdf("<p>after</p>", title="After")
    assert data.startswith(b"%PDF")
    assert pdf.worker_pids().isdisjoint(before)


async def test_a_document_that_kills_its_worker_twice_raises(monkeypatch):
    await warm_workers()
    monkeypatch.setattr(pdf, "_render", crash)  # pickled by name: the worker runs it
    with pytest.raises(pdf.PdfWorkerDied):
        await asyncio.wait_for(pdf.render_pdf("<p>x</p>", title="X"), 60)
    monkeypatch.undo()
    assert (await pdf.render_pdf("<p>fine</p>", title="Fine")).startswith(b"%PDF")


async def test_at_most_workers_render_at_once_and_all_finish():
    pages = [f"<p>document {n}</p>" for n in range(pdf.workers() + 3)]
    results = await asyncio.gather(*(pdf.render_pdf(p, title="Many") for p in pages))
    assert all(r.startswith(b"%PDF") for r in results)
    assert len(pdf.worker_pids()) <= pdf.workers()


async def test_shutdown_stops_the_workers_and_a_later_render_starts_new_ones():
    before = await warm_workers()
    await asyncio.to_thread(pdf.shutdown)
    assert all(gone(pid) for pid in before)
    assert pdf.worker_pids() == set()
    assert (await pdf.render_pdf("<p>again</p>", title="Again")).startswith(b"%PDF")


DAEMON_SCRIPT = """
import asyncio, multiprocessing, os, sys, time

def serve(queue):
    from channels import pdf
    data = asyncio.run(pdf.render_pdf("<p>hello</p>", title="t"))
    queue.put((data[:4], sorted(pdf.worker_pids())))
    time.sleep(60)

if __name__ == "__main__":
    queue = multiprocessing.get_context("spawn").Queue()
    # As hypercorn runs the app: in a daemonic process.
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(queue,), daemon=True)
    server.start()
    head, pids = queue.get(timeout=60)
    print(server.pid, head.decode(), *pids, flush=True)
    server.join()
"""


async def test_a_daemonic_server_renders_and_its_workers_die_with_it(tmp_path):
    """hypercorn's workers are daemonic processes: the pool still starts there, and when
    that process is killed outright (-9) its PDF workers leave by themselves."""
    import subprocess
    import sys

    def dead(pid: int) -> bool:  # gone, or a zombie nobody reaps (pid 1 in a container)
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] == "Z"
        except OSError:
            return gone(pid)

    script = tmp_path / "daemon_server.py"
    script.write_text(DAEMON_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=str(pdf.ROOT),
        env={**os.environ, "PYTHONPATH": str(pdf.ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 90)
        server_pid, head, *workers = line.split()
        assert head == "%PDF" and workers
        os.kill(int(server_pid), signal.SIGKILL)
        assert await wait_until(lambda: all(dead(int(pid)) for pid in workers), 15)
    finally:
        proc.kill()
        proc.wait()


def test_every_element_the_pdf_templates_use_has_its_user_agent_rules():
    """The PDFs are laid out with static/pdf/user-agent.css, not WeasyPrint's whole HTML
    stylesheet: an element a template starts to use must get its rules there (or it
    would show, say, a <ul> as plain inline text)."""
    import re

    sheet = (pdf.STATIC / "user-agent.css").read_text()
    selectors = set(re.findall(r"(?<![-\w.#:])([a-z][a-z0-9]*)(?=[\s,{:\[])", sheet))
    used = set()
    for template in (pdf.ROOT / "views" / "pdf").glob("*.html"):
        used |= set(re.findall(r"<([a-z][a-z0-9]*)[\s>/]", template.read_text()))
    inline_by_default = {"span"}  # needs no rule: inline, as WeasyPrint's sheet leaves it
    assert used - selectors - inline_by_default == set()
