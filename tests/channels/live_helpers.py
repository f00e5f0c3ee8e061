"""Talking to ``/ws`` the way the browser does: with Quart's test client, and with real
portal processes (hypercorn) and a real websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-portal-2026"

ORIGIN = {"Origin": "http://localhost"}
MESSAGE_ID = re.compile(r'id="message-(\d+)"')
CURSOR = re.compile(r'id="live-cursor"[^>]*data-after="(\d+)"')


async def frames_until(ws, predicate, timeout: float = 5.0) -> list[str]:
    """Frames received until one satisfies ``predicate`` (or fail after ``timeout``)."""
    got: list[str] = []

    async def collect():
        while True:
            frame = await ws.receive()
            got.append(frame)
            if predicate(frame):
                return

    await asyncio.wait_for(collect(), timeout)
    return got


async def quiet(ws, seconds: float = 0.3) -> list[str]:
    """Whatever arrives within ``seconds`` (often nothing)."""
    got: list[str] = []
    with contextlib.suppress(TimeoutError):
        while True:
            got.append(await asyncio.wait_for(ws.receive(), seconds))
    return got


def message_ids(frames: list[str]) -> list[int]:
    return [int(i) for frame in frames for i in MESSAGE_ID.findall(frame)]


# ---- a browser tab's view of the live feed ------------------------------------------


class Tab:
    """What a tab keeps of the socket's frames, as static/js/portal.js does: the
    messages it lists (a message already shown is not appended twice) and the cursor
    (``#live-cursor``'s data-after) it reconnects with."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.shown: list[int] = []
        self.received: list[int] = []  # every message item, re-sent ones included
        self._seen: set[int] = set()

    def take(self, frame: str) -> None:
        for raw in MESSAGE_ID.findall(frame):
            message_id = int(raw)
            self.received.append(message_id)
            if message_id not in self._seen:
                self._seen.add(message_id)
                self.shown.append(message_id)
        for raw in CURSOR.findall(frame):
            self.after = int(raw)


# ---- real portal processes (hypercorn), for fan-out across processes ------------------

REDIS_TEST_URL = "redis://127.0.0.1:6379/7"  # pub/sub ignores the number; keys would not


def redis_reachable(url: str = REDIS_TEST_URL) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> None:
    """Skip without Redis on a laptop; in CI (.ci/run sets PORTAL_REQUIRE_REDIS, and
    CI=true elsewhere) a missing Redis is a failure."""
    if redis_reachable():
        return
    message = f"Redis is not reachable at {REDIS_TEST_URL}"
    if os.environ.get("CI") or os.environ.get("PORTAL_REQUIRE_REDIS"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _portal(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def portal_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-tests-secret-key-shared-by-every-process",
        "PORTAL_EMBEDDED_WORKER": "0",
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_FAST_HASH": "1",
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": "",
        **extra,
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


def seed_demo(env: dict[str, str]) -> None:
    """``portal demo`` on an already migrated database."""
    done = subprocess.run(
        _portal("demo"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"portal demo failed:\n{done.stdout}\n{done.stderr}"


@dataclass
class RealServer:
    """One ``portal serve`` process (hypercorn with hypercorn.toml) on its own port."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, **params) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"ws://127.0.0.1:{self.port}/ws" + (f"?{query}" if query else "")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def start_server(env: dict[str, str], log: Path, timeout: float = 30) -> RealServer:
    """``portal serve`` on a free port, its own process group; returns once healthy."""
    port = free_port()
    env = dict(env, PUBLIC_URL=f"http://127.0.0.1:{port}")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            _portal("serve", "--host", "127.0.0.1", "--port", str(port), "--quiet"),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RealServer(port, process, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"portal serve exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"portal serve not healthy after {timeout:g} s:\n{server.log_tail()}")
        time.sleep(0.1)


async def http_sign_in(server: RealServer, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the real login form; the ``Cookie`` header for the session."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        form = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token, "no sign-in form"
        answer = await http.post(
            "/login", data={"username": email, "password": password, "csrf_token": token[1]}
        )
        assert answer.status_code == 303, f"sign-in as {email}: {answer.status_code}"
        session = http.cookies.get("portal_session")
        assert session, f"sign-in as {email} set no session cookie"
        return f"portal_session={session}"


def ws_connect(server: RealServer, cookie: str, close_timeout: float = 10, **params):
    """A websocket to ``server`` with the session cookie and the portal's Origin
    (``async with ws_connect(...) as ws``)."""
    from websockets.asyncio.client import connect

    return connect(
        server.ws_url(**params),
        origin=server.url,
        additional_headers={"Cookie": cookie},
        compression=None,
        proxy=None,
        open_timeout=10,
        close_timeout=close_timeout,
        max_size=4 * 1024 * 1024,
    )


async def sql_rows(database_url: str, query: str, *args) -> list[tuple]:
    """Read the portal's database directly (a test's check, never the app's path)."""
    if database_url.startswith("sqlite"):
        path = database_url.split("://", 1)[1]
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
            return db.execute(re.sub(r"\$\d+", "?", query), args).fetchall()
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return [tuple(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def _pg_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name)).replace("postgres://", "postgresql://", 1)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_url(os.environ["TEST_DATABASE_URL"], "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def demo_database(template_db: str, tmp_path_factory) -> Iterator[str]:
    """A migrated copy of the test template with the demo seeded, shared by real
    server processes (a SQLite file, or a PostgreSQL database dropped afterwards)."""
    workdir = tmp_path_factory.mktemp("live-real")
    if os.environ.get("TEST_DATABASE_URL"):
        name = f"portal_live_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        url = _pg_url(os.environ["TEST_DATABASE_URL"], name).replace(
            "postgresql://", "postgres://", 1
        )
    else:
        name = ""
        path = workdir / "portal.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite://{path}"
    try:
        seed_demo(portal_env(url, workdir / "var"))
        yield url
    finally:
        if name:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
