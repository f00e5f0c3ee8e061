"""A sign-in storm: many people signing in at once must not stall everyone else.

argon2 is slow on purpose (about 90 ms a hash here) and runs in a bounded pool off
the event loop. This measures the dashboard fragment under a steady open-loop load,
first alone (baseline) and then while ``signins`` sign-ins with the real hash
parameters arrive at the same instant.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

import loadgen

STORM_SIGNINS = 50
STORM_RATE = 20.0  # fragment requests/s beside the storm (about 2x a practice's peak)
STORM_DURATION = 8.0
FIRE_AT = 1.5  # seconds into the open loop when the sign-ins are sent
TARGET_P99_MS = 100.0


async def _login_form(host: str, port: int) -> tuple[str, str]:
    form = await loadgen.fetch(host, port, "GET", "/login")
    text = form.body.decode("utf-8", "replace")
    marker = 'name="csrf_token" value="'
    start = text.index(marker) + len(marker)
    token = text[start : text.index('"', start)]
    return token, form.cookies()["portal_anon"]


async def _sign_in_once(
    host: str, port: int, username: str, password: str, token: str, anon: str
) -> tuple[int, float]:
    body = urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    started = time.perf_counter()
    answer = await loadgen.fetch(
        host,
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"portal_anon={anon}"},
        body,
        timeout=120,
    )
    return answer.status, (time.perf_counter() - started) * 1000


async def _fragment_load(host: str, port: int, path: str, headers: dict[str, str]):
    return await loadgen.open_loop(
        host, port, path, headers, rate=STORM_RATE, duration=STORM_DURATION, timeout=10
    )


async def storm(
    host: str,
    port: int,
    *,
    username: str,
    password: str,
    path: str,
    headers: dict[str, str],
    signins: int = STORM_SIGNINS,
) -> dict[str, Any]:
    baseline = await _fragment_load(host, port, path, headers)
    forms = [await _login_form(host, port) for _ in range(signins)]

    async def fire() -> list[tuple[int, float]]:
        await asyncio.sleep(FIRE_AT)
        return await asyncio.gather(
            *(_sign_in_once(host, port, username, password, t, a) for t, a in forms)
        )

    during, results = await asyncio.gather(_fragment_load(host, port, path, headers), fire())
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    times = sorted(ms for _, ms in results)
    return {
        "signins": signins,
        "signin_statuses": statuses,
        "signin_ms": {
            "p50": loadgen.percentile(times, 50),
            "max": times[-1] if times else float("nan"),
        },
        "rate": STORM_RATE,
        "baseline_latency_ms": baseline.latency_ms,
        "storm_latency_ms": during.latency_ms,
        "storm_errors": during.errors,
        "storm_timeouts": during.timeouts,
    }
