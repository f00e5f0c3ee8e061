"""A small HTTP/1.1 keep-alive client and two load generators, for loopback benchmarks.

* ``open_loop``: requests are *scheduled* at fixed times (``rate`` per second) whatever
  the server does, and each latency is measured from its scheduled send time, so a
  stalled server shows up as latency instead of silently lowering the offered load
  (no coordinated omission).
* ``closed_loop``: N connections each send the next request as soon as the previous
  answer arrives. Only a fallback for saturation throughput when ``wrk`` is missing:
  this generator shares the CPU with the server and is far slower than ``wrk``.

Standard library only (asyncio streams), so it runs in any venv.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field

HEADER_LIMIT = 64 * 1024


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 we understand."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def cookies(self) -> dict[str, str]:
        """``name -> value`` from every ``Set-Cookie`` (attributes dropped)."""
        jar: dict[str, str] = {}
        for raw in self.header_all("set-cookie"):
            pair = raw.split(";", 1)[0]
            if "=" in pair:
                name, value = pair.split("=", 1)
                jar[name.strip()] = value.strip().strip('"')
        return jar


def build_request(
    method: str,
    path: str,
    host: str,
    port: int,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: portal-bench"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive HTTP/1.1 connection; requests on it are strictly sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = 0  # responses received on this connection
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=HEADER_LIMIT)
        return cls(reader, writer)

    async def send(self, raw_request: bytes) -> Response:
        self.writer.write(raw_request)
        await self.writer.drain()
        response = await self._read_response(head=raw_request.startswith(b"HEAD "))
        self.used += 1
        connection = (response.header("connection") or "").lower()
        if connection == "close":
            self.close()
        return response

    async def _read_response(self, *, head: bool) -> Response:
        try:
            raw_head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ConnectionResetError("connection closed before a response") from exc
            raise ProtocolError("connection closed inside the response head") from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError("response head too large") from exc
        lines = raw_head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line!r}")
            headers.append((name.strip().lower(), value.strip()))
        response = Response(status, headers, b"")
        if head or status in (204, 304) or 100 <= status < 200:
            return response
        encoding = (response.header("transfer-encoding") or "").lower()
        length = response.header("content-length")
        if "chunked" in encoding:
            response.body = await self._read_chunked()
        elif length is not None:
            response.body = await self.reader.readexactly(int(length))
        else:  # body runs to the end of the connection
            response.body = await self.reader.read()
            self.close()
        return response

    async def _read_chunked(self) -> bytes:
        chunks = []
        for _ in range(1_000_000):  # bounded: a chunked body of a million chunks is a bug
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        raise ProtocolError("too many chunks")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


class Pool:
    """Keep-alive connections to one server, at most ``max_connections`` in flight.

    Idle connections are reused first-in first-out, so every one stays warm and none
    idles into the server's keep-alive timeout; a new one is opened only when all the
    open ones are busy."""

    def __init__(self, host: str, port: int, max_connections: int) -> None:
        self.host, self.port = host, port
        self.slots = asyncio.Semaphore(max_connections)
        self.max_connections = max_connections
        self.idle: deque[Connection] = deque()
        self.opened_total = 0

    async def _new(self) -> Connection:
        connection = await Connection.open(self.host, self.port)
        self.opened_total += 1
        return connection

    async def prewarm(self, count: int) -> None:
        for _ in range(min(count, self.max_connections)):
            self.idle.append(await self._new())

    async def send(self, raw_request: bytes) -> Response:
        """Send on a pooled connection. A reused connection the server has already
        closed is replaced once (the usual keep-alive race), never more."""
        async with self.slots:
            for attempt in range(2):
                connection = self.idle.popleft() if self.idle else await self._new()
                reused = connection.used > 0
                try:
                    response = await connection.send(raw_request)
                except (ConnectionResetError, BrokenPipeError):
                    connection.close()
                    if reused and attempt == 0:
                        continue
                    raise
                except BaseException:
                    connection.close()
                    raise
                if not connection.closed:
                    self.idle.append(connection)
                return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        while self.idle:
            self.idle.popleft().close()


async def fetch(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> Response:
    """One request on a fresh connection (probes, sign-in)."""
    connection = await asyncio.wait_for(Connection.open(host, port), timeout)
    try:
        raw = build_request(method, path, host, port, headers, body)
        return await asyncio.wait_for(connection.send(raw), timeout)
    finally:
        connection.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class OpenLoopResult:
    path: str
    offered_rate: float
    duration_s: float
    scheduled: int
    completed: int  # answered with the expected status
    timeouts: int  # no answer within the timeout: counted in latency_ms at that lower bound
    errors: dict[str, int]  # other statuses, connection and protocol errors
    achieved_rate: float  # expected-status answers per second, first send to last answer
    latency_ms: dict[str, float]  # completed + timed out: p50, p90, p99, p99.9, max, mean
    send_lag_ms: dict[str, float]  # how late the generator itself dispatched (p50, p99, max)
    connections_opened: int
    generator_cpu_s: float
    statuses: dict[str, int] = field(default_factory=dict)


def _summary(values: list[float], points: tuple[float, ...]) -> dict[str, float]:
    ordered = sorted(values)
    out = {f"p{p:g}": percentile(ordered, p) * 1000 for p in points}
    out["max"] = (ordered[-1] * 1000) if ordered else math.nan
    out["mean"] = (sum(ordered) / len(ordered) * 1000) if ordered else math.nan
    return out


async def open_loop(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    rate: float,
    duration: float,
    expect_status: int = 200,
    max_connections: int = 64,
    prewarm: int = 8,
    timeout: float = 10.0,
) -> OpenLoopResult:
    """Offer ``rate`` requests/s for ``duration`` s on schedule, whatever the answers.

    A request that finds no idle connection opens a new one (up to ``max_connections``)
    or queues; either way its latency still counts from its scheduled time.
    """
    loop = asyncio.get_running_loop()
    pool = Pool(host, port, max_connections)
    await pool.prewarm(prewarm)
    raw = build_request("GET", path, host, port, headers)
    total = int(rate * duration)
    latencies: list[float] = []
    timed_out: list[float] = []
    lags: list[float] = []
    errors: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    tasks: list[asyncio.Task[None]] = []
    cpu_start = time.process_time()

    async def one(scheduled: float) -> None:
        try:
            response = await asyncio.wait_for(pool.send(raw), timeout)
        except TimeoutError:
            # An overloaded server, not a broken run: keep the request in the latency
            # distribution at what is known of it (at least this long), never drop it.
            timed_out.append(loop.time() - scheduled)
            return
        except (OSError, ProtocolError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] += 1
            return
        latency = loop.time() - scheduled
        statuses[str(response.status)] += 1
        if response.status == expect_status:
            latencies.append(latency)
        else:
            errors[f"status {response.status}"] += 1

    start = loop.time() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0.002:
            # asyncio wakes up to ~1 ms late (epoll's millisecond timeout), so sleep
            # short and yield the last millisecond away; being late would add to
            # every measured latency.
            await asyncio.sleep(delay - 0.001)
        while loop.time() < scheduled:  # bounded: at most ~1 ms of yielding
            await asyncio.sleep(0)
        lags.append(loop.time() - scheduled)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    generator_cpu = time.process_time() - cpu_start
    pool.close()
    return OpenLoopResult(
        path=path,
        offered_rate=rate,
        duration_s=round(elapsed, 3),
        scheduled=total,
        completed=len(latencies),
        timeouts=len(timed_out),
        errors=dict(errors),
        achieved_rate=len(latencies) / elapsed if elapsed > 0 else 0.0,
        latency_ms=_summary(latencies + timed_out, (50, 90, 99, 99.9)),
        send_lag_ms=_summary(lags, (50, 99)),
        connections_opened=pool.opened_total,
        generator_cpu_s=round(generator_cpu, 3),
        statuses=dict(statuses),
    )


@dataclass
class ClosedLoopResult:
    path: str
    connections: int
    duration_s: float
    completed: int
    errors: dict[str, int]
    requests_per_s: float
    latency_ms: dict[str, float]


async def closed_loop(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    expect_status: int = 200,
    timeout: float = 10.0,
) -> ClosedLoopResult:
    """Saturation fallback: each connection sends back-to-back until the deadline."""
    loop = asyncio.get_running_loop()
    raw = build_request("GET", path, host, port, headers)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    deadline = loop.time() + duration
    max_per_connection = int(duration * 100_000)  # bound: far above any reachable rate

    async def worker() -> None:
        connection: Connection | None = None
        try:
            for _ in range(max_per_connection):
                if loop.time() >= deadline:
                    return
                if connection is None or connection.closed:
                    connection = await Connection.open(host, port)
                sent = loop.time()
                try:
                    response = await asyncio.wait_for(connection.send(raw), timeout)
                except TimeoutError:
                    errors[f"timeout>{timeout:g}s"] += 1
                    connection.close()
                    continue
                except (OSError, ProtocolError, asyncio.IncompleteReadError) as exc:
                    errors[type(exc).__name__] += 1
                    connection.close()
                    continue
                if response.status == expect_status:
                    latencies.append(loop.time() - sent)
                else:
                    errors[f"status {response.status}"] += 1
        finally:
            if connection is not None:
                connection.close()

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = loop.time() - started
    return ClosedLoopResult(
        path=path,
        connections=connections,
        duration_s=round(elapsed, 3),
        completed=len(latencies),
        errors=dict(errors),
        requests_per_s=len(latencies) / elapsed if elapsed > 0 else 0.0,
        latency_ms=_summary(latencies, (50, 90, 99)),
    )
