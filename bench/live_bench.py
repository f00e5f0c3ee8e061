"""Benchmark live delivery over ``/ws`` with real ``portal serve`` processes.

On a throwaway database (a SQLite file; with ``--database-url postgres://...`` a
temporary database created on that server and dropped afterwards), migrated and
seeded with the demo practice:

a. **One process.** ``--staff-sockets`` (50) staff sockets on the inbox view (the
   demo provider's and the admin's sessions, both of whom see the thread) and
   ``--client-sockets`` (10) sockets of the demo client on its thread. The client
   posts ``--messages`` (500) messages with the socket's ``send`` frame, spread over
   its sockets (each stays under the 30 frames / 10 s limit), open loop at
   ``--rate`` (20) per second. Latency: from each message's *scheduled* send time to
   its arrival on each staff socket (the first frame whose ``#live-cursor`` reaches
   the message's id), over every message x socket; target p99 <= 30 ms.
b. **Two processes through Redis** (``--redis-url``): the client's sockets on
   process A, the staff sockets on process B; target p99 <= 150 ms. Skipped (and
   said) when Redis does not answer.
c. **Memory per open socket**: the server's RSS (all its processes) before and after
   opening ``--idle-sockets`` (500) idle sockets (the dashboard's view), divided;
   target < 100 KiB.

    .venv/bin/python bench/live_bench.py [--database-url postgres://...] [--json]

``make bench`` runs it after the slot engine (bench/run.py adds the figures to
bench/results/latest.json). A missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "demo-portal-2026"
CLIENT, PROVIDER, ADMIN = "client@demo.test", "provider@demo.test", "admin@demo.test"
TARGET_ONE_P99_MS = 30.0
TARGET_TWO_P99_MS = 150.0
TARGET_SOCKET_KIB = 100.0
RATE_LIMIT_PER_SOCKET = 2.5  # frames/s a socket may send (30 per 10 s), kept under
CURSOR = re.compile(r'id="live-cursor"[^>]*data-after="(\d+)"')
MESSAGE = re.compile(r'<li id="message-(\d+)".*?bench-([0-9a-f]{8})-(\d+)', re.S)


class BenchError(Exception):
    """The run itself broke (as opposed to a target being missed)."""


# ---------------------------------------------------------------- servers and database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _portal(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(parts.password, "***")))
    return url


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg

    dsn = _with_database(server_url, "postgres").replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else 0


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = Path(entry.path, "stat").read_text()
            if int(raw[raw.rindex(")") + 2 :].split()[2]) == pgid:
                pids.append(int(entry.name))
    return pids


@dataclass
class Server:
    """One ``portal serve`` (hypercorn, one worker) in its own process group."""

    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.port = _free_port()
        env = dict(self.env, PUBLIC_URL=self.url)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                _portal("serve", "--host", HOST, "--port", str(self.port), "--quiet"),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, http, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"the server exited early:\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                if (await http.get(self.url + "/healthz", timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise BenchError(f"the server was not ready within {timeout:g} s:\n{self.log_tail()}")

    def rss_kib(self) -> int:
        """Resident memory of every process of the server (hypercorn and its worker)."""
        return sum(_rss_kib(pid) for pid in _group_pids(self.process.pid)) if self.process else 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


def _run_cli(env: dict[str, str], command: str) -> None:
    done = subprocess.run(
        _portal(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise BenchError(f"portal {command} exited {done.returncode}:\n{done.stderr[-2000:]}")


async def _sql(database_url: str, query: str, *args) -> list[tuple]:
    if database_url.startswith("sqlite"):
        path = database_url.split("://", 1)[1]
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
            return db.execute(re.sub(r"\$\d+", "?", query), args).fetchall()
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return [tuple(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def _thread_and_newest(database_url: str) -> tuple[int, int]:
    rows = await _sql(
        database_url,
        "SELECT t.id FROM thread t JOIN staff_member s ON s.id = t.provider_id "
        "JOIN user_account u ON u.id = s.user_id "
        "WHERE u.email = $1 AND t.topic = 'provider' ORDER BY t.id LIMIT 1",
        PROVIDER,
    )
    if not rows:
        raise BenchError("the demo has no thread between the client and the provider")
    newest = await _sql(database_url, "SELECT COALESCE(MAX(id), 0) FROM message")
    return rows[0][0], newest[0][0]


# ---------------------------------------------------------------- talking to the portal


async def sign_in(http, server: Server, email: str) -> str:
    """The real sign-in form; the ``Cookie`` header value of the new session."""
    import httpx

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as fresh:
        form = await fresh.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or not token:
            raise BenchError(f"GET /login answered {form.status_code} without a csrf_token")
        answer = await fresh.post(
            "/login", data={"username": email, "password": PASSWORD, "csrf_token": token[1]}
        )
        session = fresh.cookies.get("portal_session")
        if answer.status_code != 303 or not session:
            raise BenchError(f"signing in as {email} answered {answer.status_code}")
        return f"portal_session={session}"


def connect(server: Server, cookie: str, **params):
    from websockets.asyncio.client import connect as ws_connect

    query = urlencode({k: v for k, v in params.items() if v is not None})
    return ws_connect(
        f"ws://{HOST}:{server.port}/ws?{query}",
        origin=server.url,
        additional_headers={"Cookie": cookie},
        compression=None,
        proxy=None,
        open_timeout=30,
        close_timeout=2,
        max_size=1024 * 1024,
        ping_interval=None,
    )


async def _settle(ws, timeout: float = 30) -> int:
    """Read a new socket's first frames, up to its cursor; the cursor."""
    async with asyncio.timeout(timeout):
        while True:
            found = CURSOR.search(await ws.recv())
            if found:
                return int(found.group(1))


@dataclass
class Watcher:
    """A staff socket: when its cursor reached each value (monotonic seconds)."""

    ws: Any
    times: list[float] = field(default_factory=list)
    cursors: list[int] = field(default_factory=list)
    frames: int = 0

    async def run(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                now = time.perf_counter()
                self.frames += 1
                for raw in CURSOR.findall(frame):
                    value = int(raw)
                    if not self.cursors or value > self.cursors[-1]:
                        self.times.append(now)
                        self.cursors.append(value)

    def arrival(self, message_id: int) -> float | None:
        index = bisect.bisect_left(self.cursors, message_id)
        return self.times[index] if index < len(self.times) else None


@dataclass
class Poster:
    """A client socket that sends messages and learns their ids from its own echo."""

    ws: Any
    run_id: str
    ids: dict[int, int] = field(default_factory=dict)  # sequence number -> message id
    statuses: list[str] = field(default_factory=list)

    async def run(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                for message_id, run_id, seq in MESSAGE.findall(frame):
                    if run_id == self.run_id:
                        self.ids[int(seq)] = int(message_id)
                if 'id="live-status"' in frame:
                    self.statuses.append(re.sub(r"<[^>]+>", "", frame).strip())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[rank]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


async def delivery(
    args: argparse.Namespace,
    post_on: Server,
    watch_on: Server,
    database_url: str,
    cookies: dict[str, str],
) -> dict[str, Any]:
    """Post through ``post_on``'s client sockets, watch ``watch_on``'s staff sockets."""
    thread_id, newest = await _thread_and_newest(database_url)
    run_id = uuid.uuid4().hex[:8]
    async with contextlib.AsyncExitStack() as stack:
        watchers: list[Watcher] = []
        staff = [cookies[PROVIDER], cookies[ADMIN]]
        for n in range(args.staff_sockets):
            ws = await stack.enter_async_context(
                connect(watch_on, staff[n % 2], view="inbox", after=newest)
            )
            await _settle(ws)
            watchers.append(Watcher(ws))
        posters: list[Poster] = []
        for _ in range(args.client_sockets):
            ws = await stack.enter_async_context(
                connect(post_on, cookies[CLIENT], view="thread", thread=thread_id, after=newest)
            )
            await _settle(ws)
            posters.append(Poster(ws, run_id))
        tasks = [asyncio.create_task(w.run()) for w in watchers + posters]  # type: ignore[operator]
        try:
            total = args.warmup + args.messages
            scheduled: dict[int, float] = {}
            started = time.perf_counter() + 0.2
            for seq in range(total):
                at = started + seq / args.rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                scheduled[seq] = at
                body = f"bench-{run_id}-{seq} Could we move Thursday's session?"
                frame = json.dumps({"type": "send", "thread": thread_id, "body": body})
                await posters[seq % len(posters)].ws.send(frame)
            # Until every message reached every staff socket, or 10 s after the last.
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                known = {}
                for poster in posters:
                    known.update(poster.ids)
                if len(known) == total and known:
                    last = max(known.values())
                    if all(w.cursors and w.cursors[-1] >= last for w in watchers):
                        break
                await asyncio.sleep(0.05)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    ids: dict[int, int] = {}
    for poster in posters:
        ids.update(poster.ids)
    latencies: list[float] = []
    first: list[float] = []
    missing = 0
    for seq in range(args.warmup, args.warmup + args.messages):
        message_id = ids.get(seq)
        if message_id is None:
            missing += len(watchers)
            continue
        arrivals = [w.arrival(message_id) for w in watchers]
        got = [(a - scheduled[seq]) * 1000 for a in arrivals if a is not None]
        missing += len(arrivals) - len(got)
        latencies += got
        if got:
            first.append(min(got))
    statuses = sorted({s for p in posters for s in p.statuses})
    return {
        "messages": args.messages,
        "rate": args.rate,
        "staff_sockets": len(watchers),
        "client_sockets": len(posters),
        "samples": len(latencies),
        "missing": missing,
        "latency_ms": _summary(latencies),
        "first_socket_ms": _summary(first),
        "staff_frames": sum(w.frames for w in watchers),
        "statuses": statuses,
    }


async def socket_memory(args, server: Server, cookie: str) -> dict[str, Any]:
    """RSS before and after ``args.idle_sockets`` idle sockets (the dashboard's view)."""
    await asyncio.sleep(1)
    before = server.rss_kib()
    async with contextlib.AsyncExitStack() as stack:
        opened = 0
        while opened < args.idle_sockets:
            batch = min(50, args.idle_sockets - opened)
            sockets = await asyncio.gather(
                *(
                    stack.enter_async_context(connect(server, cookie, view="page"))
                    for _ in range(batch)
                )
            )
            await asyncio.gather(*(_settle(ws) for ws in sockets))
            opened += batch
        await asyncio.sleep(2.5)  # a session sweep runs over all of them
        after = server.rss_kib()
    per_socket = (after - before) / args.idle_sockets if args.idle_sockets else math.nan
    return {
        "sockets": args.idle_sockets,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "per_socket_kib": per_socket,
    }


# ---------------------------------------------------------------- the run


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


async def measure(args: argparse.Namespace, database_url: str, tmp: Path) -> dict[str, Any]:
    import httpx

    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        PORTAL_EMBEDDED_WORKER="0",
        SECRET_KEY=secrets.token_urlsafe(32),
        PORTAL_DATA_DIR=str(tmp / "var"),
        REDIS_URL="",
    )
    env.pop("PORTAL_FAST_HASH", None)
    _run_cli(env, "migrate")
    _run_cli(env, "demo")
    result: dict[str, Any] = {"problems": [], "warnings": []}
    servers: list[Server] = []
    try:
        async with httpx.AsyncClient() as http:
            one = Server(env, tmp / "one.log")
            servers.append(one)
            one.start()
            await one.wait_ready(http)
            cookies = {who: await sign_in(http, one, who) for who in (CLIENT, PROVIDER, ADMIN)}
            say(
                f"live a: {args.staff_sockets} staff sockets, {args.messages} messages at "
                f"{args.rate:g}/s, one process ..."
            )
            result["one_process"] = await delivery(args, one, one, database_url, cookies)
            say(f"live c: {args.idle_sockets} idle sockets ...")
            result["memory"] = await socket_memory(args, one, cookies[CLIENT])
            one.stop()
            if not redis_answers(args.redis_url):
                result["warnings"].append(
                    f"two processes through Redis not measured: no Redis at {args.redis_url}"
                )
                return result
            say("live b: two processes through Redis ...")
            redis_env = dict(env, REDIS_URL=args.redis_url)
            a, b = Server(redis_env, tmp / "a.log"), Server(redis_env, tmp / "b.log")
            servers += [a, b]
            for server in (a, b):
                server.start()
            for server in (a, b):
                await server.wait_ready(http)
            cookies = {who: await sign_in(http, a, who) for who in (CLIENT, PROVIDER, ADMIN)}
            result["two_processes"] = await delivery(args, a, b, database_url, cookies)
    except BenchError as exc:
        result["problems"].append(f"live benchmark broke: {exc}")
        for server in servers:
            if server.process is not None and server.process.poll() is not None:
                result["problems"].append(f"server log:\n{server.log_tail()}")
    finally:
        for server in servers:
            server.stop()
    return result


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    targets = []
    for key, label, bound in (
        ("one_process", "1 process", TARGET_ONE_P99_MS),
        ("two_processes", "2 via Redis", TARGET_TWO_P99_MS),
    ):
        if key in result:
            r = result[key]
            p99 = r["latency_ms"]["p99"]
            targets.append(
                {
                    "name": f"live p99 to {r['staff_sockets']} staff, {label} (ms)",
                    "target": f"<= {bound:g}",
                    "value": p99,
                    "pass": not math.isnan(p99) and p99 <= bound and not r["missing"],
                }
            )
    if "memory" in result:
        value = result["memory"]["per_socket_kib"]
        targets.append(
            {
                "name": "live memory per open socket (KiB)",
                "target": f"< {TARGET_SOCKET_KIB:g}",
                "value": value,
                "pass": not math.isnan(value) and value < TARGET_SOCKET_KIB,
            }
        )
    return targets


def run(args: argparse.Namespace) -> dict[str, Any]:
    label = redact(args.database_url) if args.database_url else "sqlite (temp)"
    with tempfile.TemporaryDirectory(prefix="portal-live-bench-") as tmp_name:
        tmp = Path(tmp_name)
        name = ""
        if args.database_url:
            name = f"portal_live_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg_admin(args.database_url, f'CREATE DATABASE "{name}"'))
            database_url = _with_database(args.database_url, name)
        else:
            database_url = f"sqlite://{tmp / 'live.db'}"
        try:
            result = asyncio.run(measure(args, database_url, tmp))
        except Exception as exc:  # a broken run is reported, never a traceback alone
            result = {"problems": [f"live benchmark broke: {type(exc).__name__}: {exc}"]}
            result["warnings"] = []
        finally:
            if name:
                asyncio.run(
                    _pg_admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
    for key in ("one_process", "two_processes"):
        r = result.get(key)
        if r and r["missing"]:
            result["problems"].append(
                f"live {key}: {r['missing']} of {r['messages'] * r['staff_sockets']} "
                "deliveries never arrived"
            )
        if r and r["statuses"]:
            result["warnings"].append(f"live {key}: the server answered {r['statuses']}")
    result["database"] = label
    result["targets"] = _targets(result)
    return result


def print_report(result: dict[str, Any]) -> None:
    def fmt(value: float) -> str:
        return "-" if value is None or value != value else f"{value:,.2f}"

    print(f"Live delivery over /ws ({result['database']}; latency from the scheduled send)")
    for key, label in (("one_process", "one process"), ("two_processes", "two via Redis")):
        r = result.get(key)
        if not r:
            continue
        lat, first = r["latency_ms"], r["first_socket_ms"]
        print(
            f"  {label:<15} {r['messages']} msgs at {r['rate']:g}/s -> {r['staff_sockets']} "
            f"staff sockets: p50 {fmt(lat['p50'])}  p90 {fmt(lat['p90'])}  p99 "
            f"{fmt(lat['p99'])}  max {fmt(lat['max'])} ms (first socket p99 "
            f"{fmt(first['p99'])} ms; {r['samples']:,} samples, {r['missing']} missing)"
        )
    m = result.get("memory")
    if m:
        print(
            f"  memory          {m['sockets']} idle sockets: RSS {m['rss_before_kib']:,} -> "
            f"{m['rss_after_kib']:,} KiB, {fmt(m['per_socket_kib'])} KiB per socket"
        )
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        print(f"  {mark}  {target['name']:<40} {fmt(target['value']):>8}  ({target['target']})")
    for warning in result.get("warnings", []):
        print(f"  note: {warning}")
    for problem in result["problems"]:
        print(f"  BROKEN: {problem}")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to bench on (a temporary database is created and dropped)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--staff-sockets", type=int, default=50)
    parser.add_argument(
        "--client-sockets", type=int, default=0, help="default: enough for --rate (2/s each)"
    )
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10, help="messages not measured")
    parser.add_argument("--rate", type=float, default=2, help="messages per second")
    parser.add_argument("--idle-sockets", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    if args.client_sockets <= 0:
        args.client_sockets = max(1, math.ceil(args.rate / 2))
    if args.rate > args.client_sockets * RATE_LIMIT_PER_SOCKET:
        parser.error(
            f"--rate {args.rate:g} needs at least {math.ceil(args.rate / RATE_LIMIT_PER_SOCKET)} "
            "--client-sockets (each may send 30 frames per 10 s)"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
