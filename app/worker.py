"""The background worker: housekeeping now; reminders and the outbox sender join it
with the SMS and email issues. Runs as ``portal worker`` or inside the web process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from models import clock
from models.security import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session

log = logging.getLogger("portal.worker")
TICK_SECONDS = 60


async def purge_expired_sessions() -> int:
    now = clock.now()
    idle = await Session.filter(last_seen_at__lt=now - IDLE_TIMEOUT).delete()
    old = await Session.filter(created_at__lt=now - ABSOLUTE_TIMEOUT).delete()
    return idle + old


async def tick() -> None:
    purged = await purge_expired_sessions()
    if purged:
        log.info("purged %d expired sessions", purged)


async def run_forever(stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            await tick()
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("worker tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
