"""Talking to ``/ws`` the way the browser does, with Quart's test client."""

from __future__ import annotations

import asyncio
import contextlib
import re

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
