"""The broker: live hints from whoever changed something to the sockets that care.

A hint is small JSON ("message 41 in thread 7 of client 3, practice 1"); it carries
no message text. The database is the source of truth: a socket that gets a hint
reads what is new from the database (``channels.chat.socket``), so a lost hint
costs latency, never a message.

- One web process: hints go straight to this process's sockets.
- ``REDIS_URL`` set: hints are published on one Redis channel per deployment
  (named from a digest of its database URL: pub/sub ignores Redis's database
  numbers, so two portals sharing a Redis must not share a channel) and every web
  process (this one included) hands them to its own sockets.
- Whatever the bus, a poll every ``POLL_SECONDS`` compares the newest message id
  with the last one this process has heard of and wakes every socket if it is
  behind (a hint lost with a Redis restart, or SQLite shared by processes with no
  Redis): delivery within seconds even then.

Publish only after the transaction commits: ``await publish(...)`` after the
model call returned, never inside ``in_transaction()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from models.messaging import Message

log = logging.getLogger("portal.live")
CHANNEL = "portal:live"
POLL_SECONDS = 2.0

Listener = Callable[[dict[str, Any]], None]


class Broker:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._redis = None
        self._tasks: list[asyncio.Task] = []
        self.last_message_id = 0
        self.generation = 0  # one more for every hint heard (see channels.chat.shared)
        self.redis_url = ""
        self.channel = CHANNEL

    # ---- this process's sockets ----

    def listen(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def unlisten(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def dispatch(self, event: dict[str, Any]) -> None:
        """Hand a hint to every socket of this process (each filters for itself)."""
        self.generation += 1
        if event.get("kind") == "message":
            self.last_message_id = max(self.last_message_id, int(event.get("message_id", 0)))
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken socket must not starve the others
                log.exception("live listener failed")

    # ---- publishing ----

    async def publish(self, event: dict[str, Any]) -> None:
        if self._redis is not None:
            try:
                await self._redis.publish(self.channel, json.dumps(event, separators=(",", ":")))
                return
            except Exception as exc:  # Redis down: this process's sockets still hear it
                log.warning("redis publish failed (%s); local delivery only", type(exc).__name__)
        self.dispatch(event)

    # ---- lifecycle ----

    async def start(self, redis_url: str = "", deployment: str = "") -> None:
        """``deployment``: what names this portal's channel (its database URL)."""
        self.redis_url = redis_url
        self.generation += 1  # nothing computed before a restart is reused
        digest = hashlib.sha256(deployment.encode()).hexdigest()[:16]
        self.channel = f"{CHANNEL}:{digest}" if deployment else CHANNEL
        self.last_message_id = await _newest_message_id()
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)
            ready = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._subscribe(ready)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 5)
        self._tasks.append(asyncio.create_task(self._poll()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    async def _subscribe(self, ready: asyncio.Event) -> None:
        """Relay the Redis channel to this process's sockets; resubscribe after errors."""
        delay = 0.5
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    ready.set()
                    delay = 0.5
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        try:
                            event = json.loads(item["data"])
                        except (TypeError, ValueError):
                            continue
                        if isinstance(event, dict):
                            self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis subscription lost (%s); retrying", type(exc).__name__)
                ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                self.dispatch({"kind": "poll"})  # catch up whatever was missed meanwhile

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self._listeners:
                continue
            try:
                newest = await _newest_message_id()
            except Exception:
                log.exception("live poll failed")
                continue
            if newest > self.last_message_id:
                self.last_message_id = newest
                self.dispatch({"kind": "poll"})


async def _newest_message_id() -> int:
    row = await Message.all().order_by("-id").first().values_list("id", flat=True)
    return int(row or 0)


broker = Broker()


async def message_posted(message: Message, *, client_id: int, practice_id: int) -> None:
    """Tell the sockets a message was committed."""
    await broker.publish(
        {
            "kind": "message",
            "message_id": message.id,
            "thread_id": message.thread_id,
            "client_id": client_id,
            "practice_id": practice_id,
        }
    )


async def thread_changed(thread_id: int, *, client_id: int, practice_id: int) -> None:
    """Assigned, done or reopened: the inbox rows showing it are redrawn."""
    await broker.publish(
        {
            "kind": "thread",
            "thread_id": thread_id,
            "client_id": client_id,
            "practice_id": practice_id,
        }
    )


async def session_ended(user_id: int) -> None:
    """A sign-out: that user's sockets re-check their session now, not at the next sweep."""
    await broker.publish({"kind": "session", "user_id": user_id})
