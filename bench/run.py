"""Benchmark the portal's dashboard against the floor route (``make bench``).

One run, on a throwaway SQLite database (or ``--database-url``):

1. ``portal migrate`` + ``portal demo``, then ``portal serve`` (``--workers``, default 1)
   in its own process group on 127.0.0.1; the group is always stopped at the end.
2. Saturation throughput with ``wrk`` (closed loop, N connections): the floor
   ``GET /healthz/live``, the dashboard page and the dashboard htmx fragment, as the
   demo client; the ratios page ÷ floor and fragment ÷ floor.
3. Latency under a constant open-loop load (default 100 requests/s, latency measured
   from each request's scheduled send time) for the floor, the page and the fragment.
4. A sign-in storm beside the fragment (bench/signin_storm.py), and the slot engine in
   process on its own throwaway database (bench/slots_bench.py: open slots for a month,
   one provider with a year of history <= 5 ms, any of 50 providers <= 100 ms).
5. Live delivery over ``/ws`` with its own servers and database (bench/live_bench.py):
   message posted -> 50 staff sockets, p99 <= 30 ms in one process and <= 150 ms across
   two processes through Redis; memory per open socket < 100 KiB.
6. Texts, each in its own process and database: reminder planning for 100,000
   appointments <= 10 s (bench/reminder_bench.py), the SMS sending rate within 5 % of
   1/s and 100/s against the fake Twilio (bench/sms_rate_bench.py), and the inbound
   webhook p99 <= 50 ms (bench/sms_inbound_bench.py).
7. PDFs (bench/pdf_bench.py): a superbill for a year of weekly sessions, median <= 150 ms,
   and the event loop's lag while 10 render at once < 50 ms.

Prints a table, writes ``bench/results/latest.json``. A missed target is reported, not
an error: the exit status is non-zero only when the run itself broke (server did not
start, sign-in failed, a response other than 200, socket errors).

    .venv/bin/python bench/run.py [--workers 2] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import live_bench
import loadgen  # bench/ is on sys.path when this file is run as a script
import pdf_bench
import reminder_bench
import signin_storm
import slots_bench
import sms_inbound_bench
import sms_rate_bench

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only
DEMO_USERNAME = "client@demo.test"
DEMO_PASSWORD = "demo-portal-2026"
TARGET_PAGE_RATIO = 0.35  # dashboard page req/s ÷ floor req/s, at saturation
TARGET_FRAGMENT_P99_MS = 20.0  # fragment p99 under the open-loop load
OPEN_LOOP_TIMEOUT_S = 10.0  # an open-loop request unanswered this long counts at this bound

WRK_STATUS_LUA = """\
-- Count 200s exactly (wrk itself counts 3xx as success: an expired session's
-- redirect to /login would pass unnoticed).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("other") end
  io.write(string.format("BENCH_STATUS ok=%d other=%d\\n", o, b))
end
"""


@dataclass(frozen=True)
class Route:
    key: str
    label: str
    path: str
    signed_in: bool
    headers: dict[str, str] = field(default_factory=dict)

    def request_headers(self, session_cookie: str) -> dict[str, str]:
        headers = dict(self.headers)
        if self.signed_in:
            headers["Cookie"] = session_cookie
        return headers


# The floor is sent without the session cookie: a public route still resolves a
# session when one is presented, and the floor is meant to touch no database.
FLOOR = Route("floor", "floor    GET /healthz/live", "/healthz/live", signed_in=False)
PAGE = Route("page", "page     GET /dashboard", "/dashboard", signed_in=True)
FRAGMENT = Route(
    "fragment",
    "fragment GET /dashboard (HX)",
    "/dashboard",
    signed_in=True,
    headers={"HX-Request": "true"},
)
ROUTES = (FLOOR, PAGE, FRAGMENT)


class BenchError(Exception):
    """The run itself broke (as opposed to a target being missed)."""


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def portal_executable() -> str:
    candidate = Path(sys.prefix) / "bin" / "portal"  # the venv running this script
    if candidate.exists():
        return str(candidate)
    found = shutil.which("portal")
    if not found:
        raise BenchError("no `portal` command: install the project (make install) first")
    return found


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def process_group_cpu(pgid: int) -> dict[int, float]:
    """User + system CPU seconds of each live process in the group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            usage[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return usage


class Server:
    """``portal serve`` in its own process group (hypercorn: a master plus workers)."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path, access_log: bool):
        self.env = env
        self.workers = workers
        self.log_path = log_path
        self.access_log = access_log
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def run_cli(self, *command: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [portal_executable(), *command],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise BenchError(
                f"`portal {' '.join(command)}` exited {result.returncode}:\n"
                + (result.stdout + result.stderr)[-3000:]
            )
        return result.stdout.strip()

    def start(self) -> None:
        self.port = free_port()
        argv = [
            portal_executable(),
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if not self.access_log and "--quiet" in self.run_cli("serve", "--help", timeout=60):
            argv.append("--quiet")
        env = dict(self.env, PUBLIC_URL=f"http://{HOST}:{self.port}")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills it whole
            )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Until ``/healthz`` (the database answers) is 200 several times in a row."""
        deadline = time.monotonic() + timeout
        streak = 0
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"the server exited early:\n{self.log_tail()}")
            try:
                response = await loadgen.fetch(HOST, self.port, "GET", "/healthz", timeout=5)
                streak = streak + 1 if response.status == 200 else 0
            except (OSError, loadgen.ProtocolError, TimeoutError):
                streak = 0
            if streak >= 3 * self.workers:
                return
            await asyncio.sleep(0.1)
        raise BenchError(f"the server was not ready within {timeout:g} s:\n{self.log_tail()}")

    @property
    def pgid(self) -> int:
        assert self.process is not None
        return self.process.pid  # start_new_session: the leader's pid is the group id

    def cpu_by_process(self) -> dict[int, float]:
        return process_group_cpu(self.pgid) if self.process else {}

    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_process().values())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the group, give it the graceful timeout, then SIGKILL what is left."""
        if self.process is None:
            return
        pgid = self.pgid
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if self._group_gone(pgid, grace):
                break
        self.process.wait(timeout=5)
        self.process = None

    def _group_gone(self, pgid: int, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process is not None
            self.process.poll()  # reap the leader, or its zombie keeps the group alive
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


# ---------------------------------------------------------------- signing in


class _CsrfFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "csrf_token" and self.token is None:
            self.token = values.get("value")


async def sign_in(port: int) -> str:
    """Sign the demo client in; returns the ``Cookie`` header value for its session."""
    form = await loadgen.fetch(HOST, port, "GET", "/login")
    if form.status != 200:
        raise BenchError(f"GET /login answered {form.status}")
    finder = _CsrfFinder()
    finder.feed(form.body.decode("utf-8", "replace"))
    anon = form.cookies().get("portal_anon")
    if not finder.token or not anon:
        raise BenchError("GET /login gave no csrf_token field or no portal_anon cookie")
    body = urlencode(
        {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "csrf_token": finder.token}
    ).encode()
    answer = await loadgen.fetch(
        HOST,
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"portal_anon={anon}"},
        body,
    )
    session = {k: v for k, v in answer.cookies().items() if k.endswith("portal_session")}
    if answer.status != 303 or not session:
        raise BenchError(
            f"POST /login answered {answer.status} without a session cookie "
            "(is the demo seeded? `portal demo`)"
        )
    name, value = next(iter(session.items()))
    return f"{name}={value}"


async def probe(port: int, route: Route, cookie: str) -> dict[str, Any]:
    """One request, checked: 200, and the body has the expected shape."""
    response = await loadgen.fetch(HOST, port, "GET", route.path, route.request_headers(cookie))
    if response.status != 200:
        raise BenchError(f"{route.label} answered {response.status}, not 200")
    lowered = response.body.lower()
    warnings = []
    if route is FLOOR and response.body.strip() != b"ok":
        warnings.append(f"{route.path} body is not 'ok'")
    if route is PAGE and b"<html" not in lowered:
        warnings.append("the dashboard page is not a full HTML document")
    if route is FRAGMENT and b"<html" in lowered:
        warnings.append("the dashboard fragment (HX-Request) returned a full HTML document")
    return {"bytes": len(response.body), "warnings": warnings}


# ---------------------------------------------------------------- saturation


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(output: str) -> dict[str, Any]:
    """The numbers out of ``wrk --latency`` output (with WRK_STATUS_LUA loaded)."""

    def number(pattern: str, cast: Callable[[str], Any] = float) -> Any:
        match = re.search(pattern, output, re.MULTILINE)
        return cast(match.group(1)) if match else None

    requests_per_s = number(r"^Requests/sec:\s+([\d.]+)")
    if requests_per_s is None:
        raise BenchError(f"could not read wrk's output:\n{output}")
    latency = {
        f"p{p}": float(v) * _UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    socket_errors: dict[str, int] = {}
    errors_line = re.search(r"^\s*Socket errors: (.*)$", output, re.MULTILINE)
    if errors_line:  # "connect 0, read 3, write 0, timeout 0"
        for name, count in re.findall(r"(\w+) (\d+)", errors_line.group(1)):
            socket_errors[name] = int(count)
    status = re.search(r"BENCH_STATUS ok=(\d+) other=(\d+)", output)
    return {
        "requests_per_s": requests_per_s,
        "requests": number(r"^\s+(\d+) requests in", int),
        "latency_ms": latency,
        "socket_errors": socket_errors,
        "non_2xx_3xx": number(r"Non-2xx or 3xx responses: (\d+)", int) or 0,
        "status_200": int(status.group(1)) if status else None,
        "status_other": int(status.group(2)) if status else None,
    }


async def run_wrk(
    args: argparse.Namespace, port: int, route: Route, cookie: str, seconds: float, lua: Path
) -> dict[str, Any]:
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(lua),
    ]
    for name, value in route.request_headers(cookie).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}{route.path}")
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 60)
    except TimeoutError:
        raise BenchError(f"wrk did not finish for {route.path}") from None
    finally:
        if process.returncode is None:  # timed out, or this run is being stopped
            process.kill()
            await process.wait()
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise BenchError(f"wrk exited {process.returncode}:\n{text}")
    return parse_wrk(text)


async def saturate(
    args: argparse.Namespace, server: Server, route: Route, cookie: str, lua: Path | None
) -> dict[str, Any]:
    if args.warmup > 0:
        await _load(args, server.port, route, cookie, args.warmup, lua)
    cpu_before, started = server.cpu_by_process(), time.monotonic()
    result = await _load(args, server.port, route, cookie, args.duration, lua)
    elapsed = time.monotonic() - started
    busy = sorted(
        (used - cpu_before.get(pid, 0.0) for pid, used in server.cpu_by_process().items()),
        reverse=True,
    )
    cpu = sum(busy)
    requests = result.get("requests") or 0
    result["server_cpu_cores"] = round(cpu / elapsed, 2)
    # Busiest processes first (hypercorn: the workers, then the master and helpers).
    result["server_cpu_cores_by_process"] = [
        round(b / elapsed, 2) for b in busy[: args.workers + 1]
    ]
    result["server_cpu_ms_per_request"] = round(cpu * 1000 / requests, 3) if requests else None
    return result


async def _load(
    args: argparse.Namespace, port: int, route: Route, cookie: str, seconds: float, lua: Path | None
) -> dict[str, Any]:
    if lua is not None:
        return await run_wrk(args, port, route, cookie, seconds, lua)
    closed = await loadgen.closed_loop(
        HOST,
        port,
        route.path,
        route.request_headers(cookie),
        connections=args.connections,
        duration=seconds,
    )
    return {
        "requests_per_s": closed.requests_per_s,
        "requests": closed.completed + sum(closed.errors.values()),
        "latency_ms": {k: v for k, v in closed.latency_ms.items() if k in ("p50", "p90", "p99")},
        "socket_errors": {k: v for k, v in closed.errors.items() if not k.startswith("status")},
        "non_2xx_3xx": 0,
        "status_200": closed.completed,
        "status_other": sum(v for k, v in closed.errors.items() if k.startswith("status")),
    }


def saturation_problems(route: Route, result: dict[str, Any]) -> list[str]:
    problems = []
    if result["status_200"] is None:
        problems.append(f"{route.label}: wrk's status count is missing")
    if result["status_other"]:
        problems.append(f"{route.label}: {result['status_other']} responses were not 200")
    if result["non_2xx_3xx"]:
        problems.append(f"{route.label}: {result['non_2xx_3xx']} non-2xx/3xx responses")
    # wrk's "timeout" count is an overloaded server (reported in the table), not a fault
    errors = {k: v for k, v in result["socket_errors"].items() if v and k != "timeout"}
    if errors:
        problems.append(f"{route.label}: socket errors {errors}")
    if not result["requests_per_s"]:
        problems.append(f"{route.label}: no request completed")
    return problems


# ---------------------------------------------------------------- the run


async def measure(args: argparse.Namespace, server: Server, lua: Path | None) -> dict[str, Any]:
    server.start()
    await server.wait_ready()
    port = server.port
    problems: list[str] = []
    warnings: list[str] = []

    cookie = await sign_in(port)
    shapes = {}
    for route in ROUTES:
        shapes[route.key] = await probe(port, route, cookie)
        warnings += shapes[route.key]["warnings"]

    generator = "wrk" if lua else "python-closed-loop"
    saturation: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        say(f"saturation: {route.label} ({generator}, {args.duration:g} s) ...")
        cookie = await sign_in(port) if route.signed_in else cookie
        saturation[route.key] = await saturate(args, server, route, cookie, lua)
        saturation[route.key]["response_bytes"] = shapes[route.key]["bytes"]
        problems += saturation_problems(route, saturation[route.key])
        per_process = saturation[route.key]["server_cpu_cores_by_process"]
        if args.workers > 1 and len(per_process) > 1 and per_process[1] < per_process[0] / 2:
            warnings.append(
                f"saturation {route.label}: the workers were unevenly loaded "
                f"(CPU cores per process {per_process}): wrk's keep-alive connections stay on "
                "the worker that accepted them, so this figure is closer to one worker's"
            )
        await asyncio.sleep(1)

    floor = saturation["floor"]["requests_per_s"] or 0.0
    ratios = {
        f"{key}_over_floor": (saturation[key]["requests_per_s"] / floor) if floor else None
        for key in ("page", "fragment")
    }

    open_loop: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        say(f"open loop: {route.label} ({args.rate:g} req/s, {args.open_duration:g} s) ...")
        cookie = await sign_in(port)  # sessions idle-expire: a fresh one per measurement
        await probe(port, route, cookie)
        cpu_before = server.cpu_seconds()
        result = await loadgen.open_loop(
            HOST,
            port,
            route.path,
            route.request_headers(cookie),
            rate=args.rate,
            duration=args.open_duration,
            timeout=OPEN_LOOP_TIMEOUT_S,
        )
        entry = dataclasses.asdict(result)
        entry["server_cpu_cores"] = round(
            (server.cpu_seconds() - cpu_before) / result.duration_s, 3
        )
        open_loop[route.key] = entry
        if result.errors:
            problems.append(f"open loop {route.label}: errors {result.errors}")
        if result.timeouts:
            warnings.append(
                f"open loop {route.label}: overloaded at {args.rate:g} req/s, {result.timeouts} "
                f"requests had no answer within {OPEN_LOOP_TIMEOUT_S:g} s (counted in the "
                "latencies at that bound)"
            )
        if result.send_lag_ms["p99"] > 5:
            warnings.append(
                f"open loop {route.label}: the generator itself dispatched late "
                f"(p99 lag {result.send_lag_ms['p99']:.1f} ms); latencies include it"
            )
        await asyncio.sleep(1)

    say(
        f"sign-in storm: {signin_storm.STORM_SIGNINS} sign-ins at once beside the fragment "
        f"at {signin_storm.STORM_RATE:g} req/s ..."
    )
    cookie = await sign_in(port)
    storm = await signin_storm.storm(
        HOST,
        port,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        path=FRAGMENT.path,
        headers=FRAGMENT.request_headers(cookie),
    )
    if storm["signin_statuses"] != {"303": storm["signins"]}:
        problems.append(f"sign-in storm: statuses {storm['signin_statuses']}, expected all 303")
    storm_p99 = storm["storm_latency_ms"]["p99"]

    page_ratio = ratios["page_over_floor"]
    fragment_p99 = open_loop["fragment"]["latency_ms"]["p99"]
    targets = [
        {
            "name": "dashboard page ÷ floor throughput",
            "target": f">= {TARGET_PAGE_RATIO}",
            "value": page_ratio,
            "pass": page_ratio is not None and page_ratio >= TARGET_PAGE_RATIO,
        },
        {
            "name": f"fragment p99 at {args.rate:g} req/s (ms)",
            "target": f"<= {TARGET_FRAGMENT_P99_MS}",
            "value": fragment_p99,
            "pass": not math.isnan(fragment_p99) and fragment_p99 <= TARGET_FRAGMENT_P99_MS,
        },
        {
            "name": f"fragment p99 during {storm['signins']} sign-ins (ms)",
            "target": f"<= {signin_storm.TARGET_P99_MS:g}",
            "value": storm_p99,
            "pass": not math.isnan(storm_p99) and storm_p99 <= signin_storm.TARGET_P99_MS,
        },
    ]
    if generator != "wrk":
        warnings.append(
            "saturation measured with the Python closed-loop generator, not wrk: it "
            "shares the CPU with the server and undercounts, most for the floor; install "
            "wrk (apt-get install -y wrk) for comparable figures"
        )
    return {
        "saturation": {"generator": generator, "routes": saturation, **ratios},
        "open_loop": open_loop,
        "signin_storm": storm,
        "targets": targets,
        "problems": problems,
        "warnings": warnings,
    }


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or value != value else f"{value:,.{digits}f}"


def print_report(report: dict[str, Any]) -> None:
    config = report["config"]
    sat = report["saturation"]
    print()
    machine = report["machine"]
    print(
        f"portal benchmark — {config['workers']} worker(s), {config['database']}, "
        f"{machine['cpus']} CPUs, 1-min load average {machine['loadavg_1m']} at start and "
        f"{machine['loadavg_1m_end']} at end (other work on the machine skews the figures)"
    )
    print()
    if sat["generator"] == "wrk":
        how = f"wrk, {config['threads']} threads, {config['connections']} connections"
    else:
        how = f"PYTHON CLOSED-LOOP FALLBACK, {config['connections']} connections"
    print(f"Saturation ({how}, {config['duration_s']:g} s each; latency is closed-loop)")
    header = f"  {'route':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}"
    print(header + f"{'CPU ms/req':>12}{'bytes':>8}")
    for route in ROUTES:
        r = sat["routes"][route.key]
        errors = (r["status_other"] or 0) + sum(
            v for k, v in r["socket_errors"].items() if k != "timeout"
        )
        print(
            f"  {route.label:<30}{fmt(r['requests_per_s']):>10}"
            f"{fmt(r['latency_ms'].get('p50'), 2):>9}{fmt(r['latency_ms'].get('p99'), 2):>9}"
            f"{errors:>9}{fmt(r['server_cpu_ms_per_request'], 2):>12}{r['response_bytes']:>8}"
        )
    print(
        f"  ratio page ÷ floor {fmt(sat['page_over_floor'], 3)}"
        f"   fragment ÷ floor {fmt(sat['fragment_over_floor'], 3)}"
    )
    print()
    print(
        f"Open loop ({config['rate']:g} req/s offered, {config['open_duration_s']:g} s each; "
        "latency from the scheduled send time)"
    )
    columns = ("p50", "p90", "p99", "max")
    print(
        f"  {'route':<30}{'req/s':>8}{'errors':>8}{'t/outs':>8}"
        + "".join(f"{c + ' ms':>10}" for c in columns)
        + f"{'gen lag p99':>13}"
    )
    for route in ROUTES:
        r = report["open_loop"][route.key]
        print(
            f"  {route.label:<30}{fmt(r['achieved_rate']):>8}{sum(r['errors'].values()):>8}"
            f"{r['timeouts']:>8}"
            + "".join(f"{fmt(r['latency_ms'][c], 2):>10}" for c in columns)
            + f"{fmt(r['send_lag_ms']['p99'], 2):>13}"
        )
    print()
    storm = report["signin_storm"]
    print(
        f"Sign-in storm ({storm['signins']} sign-ins sent at once, real argon2 parameters; the "
        f"fragment at {storm['rate']:g} req/s beside them)"
    )
    for label, key in (
        ("fragment alone", "baseline_latency_ms"),
        ("fragment during storm", "storm_latency_ms"),
    ):
        r = storm[key]
        print(
            f"  {label:<30}" + "".join(f"{fmt(r[c], 2):>10}" for c in ("p50", "p90", "p99", "max"))
        )
    print(
        f"  sign-ins: p50 {fmt(storm['signin_ms']['p50'], 0)} ms, slowest "
        f"{fmt(storm['signin_ms']['max'], 0)} ms, statuses {storm['signin_statuses']}"
    )
    print()
    print_parts(report)
    print("Targets")
    for target in report["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        print(f"  {mark}  {target['name']:<40} {fmt(target['value'], 3):>8}  ({target['target']})")
    for warning in report["warnings"]:
        print(f"  note: {warning}")
    for problem in report["problems"]:
        print(f"  BROKEN: {problem}")
    print()


def json_safe(value: Any) -> Any:
    """Strict JSON: NaN (an empty measurement) becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def run_part(script: str, what: str, database_url: str | None, timeout: float) -> dict[str, Any]:
    """``bench/<script>.py --json`` in its own process (its own event loop and database);
    a run that breaks is a problem in the report, never the end of ``make bench``."""
    argv = [sys.executable, str(Path(__file__).with_name(f"{script}.py")), "--json"]
    if database_url:
        argv += ["--database-url", database_url]
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return {
            "database": redact(database_url) if database_url else "sqlite (temp)",
            "targets": [],
            "warnings": [],
            "problems": [f"{what} benchmark broke: {type(exc).__name__}: {exc}"],
        }


# The benchmarks beside the HTTP one: (key, module, script, what it measures, timeout s).
PARTS = (
    ("slots", slots_bench, "slots_bench", "slot engine: open slots for a month", 600),
    ("live", live_bench, "live_bench", "live delivery over /ws", 900),
    ("reminders", reminder_bench, "reminder_bench", "reminder planning, 100k appointments", 900),
    ("sms_rate", sms_rate_bench, "sms_rate_bench", "SMS sending rate, 1/s and 100/s", 900),
    ("sms_inbound", sms_inbound_bench, "sms_inbound_bench", "inbound SMS webhook", 600),
    ("pdf", pdf_bench, "pdf_bench", "PDFs: a year's superbill, 10 at once", 600),
)


def print_parts(report: dict[str, Any]) -> None:
    for key, module, *_ in PARTS:
        if key in report:
            module.print_report(report[key])
            print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="hypercorn workers (default 1)")
    parser.add_argument(
        "--database-url",
        help="bench this database instead of a throwaway SQLite file "
        "(it is migrated and seeded with the demo practice)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per saturation run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per route")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rate", type=float, default=100, help="open-loop requests/s")
    parser.add_argument("--open-duration", type=float, default=15, help="seconds per open loop")
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="saturation load generator (auto: wrk if installed, else the Python fallback)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="keep hypercorn's access log on (default off)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.connections < 1 or args.threads < 1 or args.rate <= 0:
        parser.error("--workers, --connections, --threads and --rate must be positive")
    if not (0 < args.duration <= 600 and 0 < args.open_duration <= 600 and args.warmup <= 60):
        parser.error("durations are bounded: 0 < --duration, --open-duration <= 600")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    wrk = shutil.which("wrk")
    if args.generator == "wrk" and not wrk:
        say("wrk is not installed: apt-get install -y wrk (or use --generator python)")
        return 2
    if args.generator == "auto" and not wrk:
        say(
            "WARNING: wrk is not installed (apt-get install -y wrk); falling back to a Python "
            "closed-loop generator for saturation: its figures are NOT comparable to wrk's"
        )
    use_wrk = args.generator != "python" and wrk is not None

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database_url = args.database_url or f"sqlite://{tmp / 'bench.db'}"
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            PORTAL_EMBEDDED_WORKER="0",
            SECRET_KEY=secrets.token_urlsafe(32),  # shared by all workers
            PORTAL_DATA_DIR=str(tmp / "var"),
        )
        env.pop("PORTAL_FAST_HASH", None)  # the real argon2 parameters, as in production
        lua: Path | None = None
        if use_wrk:
            lua = tmp / "status.lua"
            lua.write_text(WRK_STATUS_LUA)
        server = Server(env, args.workers, tmp / "server.log", args.access_log)
        report: dict[str, Any] = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "loadavg_1m": round(os.getloadavg()[0], 2),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "config": {
                "workers": args.workers,
                "database": redact(args.database_url) if args.database_url else "sqlite (temp)",
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "connections": args.connections,
                "threads": args.threads,
                "rate": args.rate,
                "open_duration_s": args.open_duration,
                "access_log": args.access_log,
            },
        }
        try:
            say(f"preparing the database ({report['config']['database']}) ...")
            server.run_cli("migrate")
            server.run_cli("demo")
            say(f"starting portal serve --workers {args.workers} ...")
            report |= asyncio.run(measure(args, server, lua))
        except (BenchError, OSError, loadgen.ProtocolError, TimeoutError) as exc:
            say(f"benchmark broke: {type(exc).__name__}: {exc}")
            say("".join(traceback.format_exception(exc)[-6:]))
            if server.process is not None:
                say(f"server log (last lines):\n{server.log_tail()}")
            broke = True
        else:
            broke = False
        finally:
            server.stop()

    for key, _module, script, what, timeout in PARTS:
        say(f"{what} ...")
        report[key] = run_part(script, what, args.database_url, timeout)
    if broke:  # the HTTP figures are void; the other benchmarks' still stand
        print()
        print_parts(report)
        return 1
    for key, *_ in PARTS:
        report["targets"] += report[key]["targets"]
        report["problems"] += report[key]["problems"]
    report["machine"]["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    print_report(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(json_safe(report), indent=2) + "\n")
    print(f"results written to {args.output}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
