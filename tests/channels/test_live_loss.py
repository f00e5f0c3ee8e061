"""Nothing lost, nothing doubled (C-4): 5 senders post 1,000 messages while two tabs
(the client's thread and the provider's view of it) each lose their socket 20 times
at random points and reconnect with the cursor they last saw, as static/js/portal.js
does. At the end each tab lists exactly the database's messages of its thread: no
gaps, no duplicates, ascending by id. Once with the broker in process, once through
Redis.

Some messages go to threads the tabs do not show (another thread of the client's,
another client's thread): they move the client's cursor without being listed, and
must never show up in a tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from channels.chat.broker import message_posted
from models import conversations
from models.messaging import Message, Thread
from models.people import User
from tests.channels.live_helpers import (
    CURSOR,
    ORIGIN,
    REDIS_TEST_URL,
    Tab,
    require_redis,
)
from tests.helpers import sign_in

SENDERS = 5
MESSAGES = 1000
DROPS = 20
OFF_THREAD = 0.2  # share of messages to threads the tabs do not list


@pytest.fixture(params=["in-process", "redis"])
def config_overrides(request) -> dict:
    """The broker in process, and through Redis (publish, then relay to this process)."""
    if request.param == "redis":
        require_redis()
        return {"redis_url": REDIS_TEST_URL}
    return {}


class Receiver:
    """A tab whose socket is dropped ``DROPS`` times, then left open to catch up."""

    def __init__(self, client, view: str, thread_id: int, after: int, rng: random.Random):
        self.client = client
        self.view = view
        self.thread_id = thread_id
        self.tab = Tab(after)
        self.rng = rng
        self.drops = 0
        self.drops_while_sending = 0
        self.catching_up = 0.0

    def url(self) -> str:
        return f"/ws?view={self.view}&thread={self.thread_id}&after={self.tab.after}"

    async def _frames(self, ws):
        while True:
            frame = await ws.receive()
            self.tab.take(frame)
            yield frame

    async def run(self, sending: asyncio.Event, final_cursor) -> None:
        while self.drops < DROPS:
            budget = self.rng.randint(1, 90)  # frames this connection lives for
            async with self.client.websocket(self.url(), headers=ORIGIN) as ws:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.rng.uniform(0.05, 0.6)):
                        async for _ in self._frames(ws):
                            budget -= 1
                            if budget <= 0:
                                break
            self.drops += 1  # leaving the block drops the socket, frames in flight too
            if not sending.is_set():
                self.drops_while_sending += 1
            await asyncio.sleep(self.rng.uniform(0, 0.05))  # offline a moment
        await sending.wait()
        wanted = await final_cursor()
        started = time.monotonic()
        async with self.client.websocket(self.url(), headers=ORIGIN) as ws:
            async with asyncio.timeout(30):
                async for frame in self._frames(ws):
                    if CURSOR.search(frame) and self.tab.after >= wanted:
                        break
        self.catching_up = time.monotonic() - started


async def test_a_thousand_messages_and_twenty_drops_lose_nothing_and_double_nothing(app, cast):
    rng = random.Random(20_261_105)
    alice_user = await User.get(id=cast.alice.user_id)
    penny_user = await User.get(id=cast.penny.user_id)
    bob_user = await User.get(id=cast.bob.user_id)
    shown = cast.thread
    other = await Thread.create(client=cast.alice, topic="scheduler", subject="Parking")
    practice_id = cast.practice.id
    start = await Message.all().order_by("-id").first().values_list("id", flat=True)

    alice_tab, penny_tab = app.test_client(), app.test_client()
    await sign_in(alice_tab, "alice")
    await sign_in(penny_tab, "penny")
    receivers = [
        Receiver(alice_tab, "thread", shown.id, start, random.Random(rng.random())),
        Receiver(penny_tab, "staff_thread", shown.id, start, random.Random(rng.random())),
    ]

    async def send(sender: int) -> None:
        own = random.Random(rng.random())
        staff = sender < 3  # three write as the provider, two as the client
        for n in range(MESSAGES // SENDERS):
            roll = own.random()
            if roll < OFF_THREAD / 2:
                thread, by, client_side = other, alice_user, True
            elif roll < OFF_THREAD:
                thread, by, client_side = cast.bob_thread, bob_user, True
            else:
                thread, by, client_side = shown, penny_user if staff else alice_user, not staff
            message = await conversations.post(
                thread, by=by, from_client_side=client_side, body=f"sender {sender} #{n}"
            )
            await message_posted(message, client_id=thread.client_id, practice_id=practice_id)
            await asyncio.sleep(own.uniform(0, 0.012))

    sending_done = asyncio.Event()

    async def senders() -> None:
        try:
            await asyncio.gather(*(send(i) for i in range(SENDERS)))
        finally:  # a sender that failed must not leave the tabs waiting for ever
            sending_done.set()

    def newest_for(receiver: Receiver):
        """The last message id the receiver's socket may see, once sending is over."""

        async def newest() -> int:
            if receiver.view == "thread":
                query = Message.filter(thread__client_id=cast.alice.id)
            else:
                query = Message.filter(thread__provider_id=cast.penny.id)
            return (await query.order_by("-id").first()).id

        return newest

    started = time.monotonic()
    async with asyncio.timeout(180):  # a hang fails here, saying where, instead of stalling CI
        await asyncio.gather(senders(), *(r.run(sending_done, newest_for(r)) for r in receivers))
    elapsed = time.monotonic() - started

    in_thread = await Message.filter(thread_id=shown.id, id__gt=start).order_by("id")
    expected = [m.id for m in in_thread]
    elsewhere = set(
        await Message.filter(id__gt=start).exclude(thread_id=shown.id).values_list("id", flat=True)
    )
    assert await Message.filter(id__gt=start).count() == MESSAGES
    assert len(expected) > MESSAGES * (1 - OFF_THREAD) * 0.8
    for receiver in receivers:
        who = receiver.view
        assert receiver.drops == DROPS
        # The drops fell while the messages were being sent, not after.
        assert receiver.drops_while_sending >= DROPS // 2, (who, receiver.drops_while_sending)
        # What the tab lists: exactly the thread's messages, in order.
        assert receiver.tab.shown == expected, who
        # Nor was anything sent twice (each message frame carries the cursor, so a
        # reconnect resumes after the last message delivered), or out of order.
        assert receiver.tab.received == expected, who
        assert not elsewhere & set(receiver.tab.received), who
        assert receiver.catching_up < 2.0, (who, receiver.catching_up)
    print(
        f"\n{MESSAGES} messages in {elapsed:.1f} s; per tab: drops while sending "
        f"{[r.drops_while_sending for r in receivers]}, final catch-up "
        f"{[round(r.catching_up, 3) for r in receivers]} s"
    )
