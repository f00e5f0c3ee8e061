"""Fixtures for the browser suite: a real server (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` is set), one Debian Chromium per session, a fresh context per test.

The tests are plain ``def`` functions: Playwright's sync API refuses to run inside an
event loop, and the server is a subprocess, so nothing here needs asyncio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AXE_JS = HERE / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = HERE / "screenshots"
# axe is served to the page from the app's own origin (a route in ``make_context``):
# ``add_script_tag(path=...)`` would inline it, which the app's strict CSP
# (script-src 'self' + nonce) blocks, and the CSP is part of what is under test.
AXE_URL_PATH = "/__browser_tests__/axe.min.js"
DEMO_PASSWORD = "demo-portal-2026"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDE, NARROW = 1280, 390


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: end-to-end test in a real Chromium against a running portal"
    )


# --- the database ------------------------------------------------------------------


def _run_async(coro) -> object:
    """Run a coroutine on its own thread: safe whatever loop the caller's thread has."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg

    dsn = _with_database(server_url, "postgres").replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite file, or a PostgreSQL database (on TEST_DATABASE_URL's server) dropped after."""
    server_url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not server_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('portal-db')}/portal.db"
        return
    name = f"portal_browser_{secrets.token_hex(6)}"
    _run_async(_pg_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_url, name)
    finally:
        _run_async(_pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def browser_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory) as url:
        yield url


# --- the server --------------------------------------------------------------------


@dataclass
class Server:
    url: str
    database_url: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _portal(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def demo_server(
    database_url: str, workdir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``portal migrate`` + ``portal demo`` + ``portal serve`` on a free port
    (``extra_env``: more settings, e.g. a fake Stripe's keys)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "browser-tests-" + secrets.token_hex(16),
        "PUBLIC_URL": url,
        "PORTAL_EMBEDDED_WORKER": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    # argon2id with cheap parameters (as tests/conftest.py does): sign-ins stay fast
    env.setdefault("PORTAL_FAST_HASH", "1")
    env.pop("TEST_DATABASE_URL", None)
    for step in ("migrate", "demo"):
        done = subprocess.run(
            _portal(step), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"portal {step} failed:\n{done.stdout}\n{done.stderr}"

    log = workdir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _portal("serve", "--host", "127.0.0.1", "--port", str(port), "--quiet"),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Server(url=url, database_url=database_url, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"portal serve exited with {proc.returncode}:\n{running.log_tail()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"portal serve not healthy after 30 s:\n{running.log_tail()}")
            time.sleep(0.1)
        yield running
    finally:
        _stop(proc)


@contextlib.contextmanager
def own_demo_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """A fresh demo on its own database, for a module whose changes (payments, sent
    texts) must not meet the shared demo's: override ``server`` and ``portal`` with it."""
    with (
        throwaway_database(tmp_path_factory) as database_url,
        demo_server(database_url, tmp_path_factory.mktemp(name), extra_env) as running,
    ):
        yield running


@pytest.fixture(scope="session")
def server(browser_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with demo_server(browser_database_url, tmp_path_factory.mktemp("portal-server")) as running:
        yield running


# --- the browser -------------------------------------------------------------------


# Package scope: sync Playwright runs an event loop of its own, which must be closed
# before the async tests in other packages start theirs.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    assert executable, "Chromium not installed: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageProblems:
    """What the browser complained about: JS errors, CSP violations, failed loads."""

    messages: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if not any(fragment in text for fragment in self.allowed):
            self.messages.append(text)

    def allow(self, fragment: str) -> None:
        """Expect a message containing ``fragment`` (say, an error status the test provokes)."""
        self.allowed.append(fragment)


def _watch(page, problems: PageProblems) -> None:
    def on_console(message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if where.endswith("/favicon.ico"):
            return
        problems.add(f"console error: {message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.add(f"page error: {error}"))


def make_context(browser, server: Server, **options):
    """A fresh context: base URL, a desktop viewport, and axe served same-origin."""
    options.setdefault("viewport", {"width": WIDE, "height": 900})
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    context.route(
        f"**{AXE_URL_PATH}",
        lambda route: route.fulfill(path=AXE_JS, content_type="text/javascript"),
    )
    return context


@pytest.fixture
def context(browser, server: Server) -> Iterator[object]:
    context = make_context(browser, server)
    yield context
    context.close()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def no_js_page(browser, server: Server, problems: PageProblems) -> Iterator[object]:
    """A watched page in a fresh context with JavaScript turned off."""
    context = make_context(browser, server, java_script_enabled=False)
    page = context.new_page()
    _watch(page, problems)
    yield page
    context.close()


@pytest.fixture
def page(context, problems: PageProblems) -> Iterator[object]:
    page = context.new_page()
    _watch(page, problems)
    yield page
    assert not problems.messages, "the browser reported problems:\n" + "\n".join(problems.messages)


# --- helpers the tests share (imported through the ``portal`` fixture) ---------------


class Portal:
    """Small verbs over a Playwright page, for readable tests."""

    password = DEMO_PASSWORD

    def __init__(self, server: Server) -> None:
        self.server = server

    @staticmethod
    def watch(page, problems: PageProblems) -> None:
        _watch(page, problems)

    def sign_in(self, page, username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("Email or username").fill(username)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()

    @staticmethod
    def path_of(page) -> str:
        return urlsplit(page.url).path

    def axe_violations(self, page) -> list[dict]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(url=self.server.url + AXE_URL_PATH)
        return page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )

    def assert_axe_clean(self, page, what: str) -> None:
        violations = self.axe_violations(page)
        assert not violations, f"axe found {len(violations)} violation(s) on {what}:\n" + (
            format_violations(violations)
        )

    @staticmethod
    def screenshot(page, name: str, width: int) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"{name}-{width}.png"
        # animations="disabled" finishes the loading bar's fade-out before the shot
        page.screenshot(path=str(target), full_page=True, animations="disabled")
        return target

    @staticmethod
    def assert_layout_fits(page, what: str) -> None:
        """Nothing wider than the viewport, and the current menu entry not scrolled away."""
        layout = page.evaluate(LAYOUT_PROBE)
        assert layout["pageWidth"] <= layout["viewport"], (
            f"{what}: the page is {layout['pageWidth']} px wide in a {layout['viewport']} px "
            f"viewport; widest culprits: {layout['culprits']}"
        )
        assert not layout["hiddenCurrent"], (
            f"{what}: the current menu entry is scrolled out of sight: {layout['hiddenCurrent']}"
        )

    def check_widths(self, page, name: str, *, axe: bool = True) -> None:
        """Layout, axe and a screenshot, at 1280 px and at 390 px wide."""
        size = page.viewport_size or {"width": WIDE, "height": 900}
        for width in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": size["height"]})
            what = f"{name} at {width} px"
            self.assert_layout_fits(page, what)
            if axe:
                self.assert_axe_clean(page, what)
            self.screenshot(page, name, width)
        page.set_viewport_size(size)


LAYOUT_PROBE = """async () => {
  // let a frame pass: media-query listeners (portal.js) run in the rendering step
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const viewport = document.documentElement.clientWidth;
  const pageWidth = document.documentElement.scrollWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  // Elements sticking out; those inside a scroller first (they are usually fine, unless
  // absolutely positioned against an outer containing block, as visually-hidden text is).
  let culprits = [];
  if (pageWidth > viewport) {
    const out = [...document.body.querySelectorAll("*")].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > viewport + 1;
    });
    const unclipped = out.filter((el) => !clipped(el));
    const right = (el) => Math.round(el.getBoundingClientRect().right);
    culprits = (unclipped.length ? unclipped : out).map(
      (el) => `${el.tagName.toLowerCase()}.${el.className} (right edge ${right(el)})`
    );
  }
  const hiddenCurrent = [];
  for (const link of document.querySelectorAll('.menu a[aria-current="page"]')) {
    const row = link.closest("ul").getBoundingClientRect();
    const r = link.getBoundingClientRect();
    if (r.left < row.left - 1 || r.right > row.right + 1) {
      hiddenCurrent.push(link.textContent.replace(/\\s+/g, " ").trim());
    }
  }
  return {
    viewport,
    pageWidth,
    culprits: culprits.slice(0, 8),
    hiddenCurrent,
  };
}"""


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v.get('impact')}] {v['id']}: {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", [])[:8]:
            target = " ".join(json.dumps(t) for t in node.get("target", []))
            lines.append(f"    at {target}")
            lines.append(f"       {node.get('html', '')[:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n       ")
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def portal(server: Server) -> Portal:
    return Portal(server)
