"""Waking a sender in this process: the email worker and the SMS sender each wait on
one ``asyncio.Event`` per event loop (an Event binds to the loop that first waits on
it), set when something is queued here; other processes' work is found by polling."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

SETTLE_SECONDS = 0.2  # after a wake, let the transaction that queued the work commit


class Wakeup:
    def __init__(self) -> None:
        self._events: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
            weakref.WeakKeyDictionary()
        )

    def event(self) -> asyncio.Event:
        """This event loop's event."""
        loop = asyncio.get_running_loop()
        found = self._events.get(loop)
        if found is None:
            found = self._events[loop] = asyncio.Event()
        return found

    def set(self) -> None:
        """Wake the waiter in this process (a no-op outside an event loop)."""
        with contextlib.suppress(RuntimeError):
            self.event().set()


async def wait(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    """Until ``stop`` or ``wake`` is set, or ``timeout`` seconds have passed; after a
    wake, a moment more (``SETTLE_SECONDS``) unless stopped."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if wake.is_set() and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SETTLE_SECONDS)
