"""``/ws`` within limits (W-2, W-3, W-4): oversized frames and floods close the socket,
an ended session closes it within 5 s, nobody hears another's messages, a frame for
someone else's thread changes nothing, and a client whose messaging is off gets no
socket. Quart's test client, and one real hypercorn process for the frame limit it
enforces itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta

import pytest
from quart.testing import WebsocketResponseError
from quart.testing.connections import WebsocketDisconnectError

from channels.chat.broker import message_posted
from models import clock, conversations
from models.messaging import Message, Thread
from models.people import Client, StaffMember, User
from models.practice import Practice
from models.security import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session
from tests.channels.live_helpers import (
    CURSOR,
    ORIGIN,
    demo_database,
    frames_until,
    http_sign_in,
    message_ids,
    portal_env,
    quiet,
    start_server,
    ws_connect,
)
from tests.helpers import post, sign_in

CLOSE_WITHIN_S = 5.0
NOT_FOUND = "That conversation was not found."


async def closed_with(ws, timeout: float = CLOSE_WITHIN_S + 1) -> tuple[int, list[str]]:
    """Read until the server closes the socket: the close code and the frames before."""
    frames: list[str] = []

    async def drain() -> int:
        while True:
            try:
                frames.append(await ws.receive())
            except WebsocketDisconnectError as closed:
                return closed.args[0]

    return await asyncio.wait_for(drain(), timeout), frames


async def _settled(ws) -> None:
    await frames_until(ws, lambda f: CURSOR.search(f) is not None)


def _thread_url(cast) -> str:
    return f"/ws?view=thread&thread={cast.thread.id}&after=0"


# ---- W-4: frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("x" * (65 * 1024), id="65 KiB"),
        pytest.param("x" * (1024 * 1024), id="1 MiB"),
        # 40,000 characters, 120,000 bytes: the limit is in bytes, not characters
        pytest.param("€" * 40_000, id="120 KB of 3-byte characters"),
        pytest.param(b"\0" * (65 * 1024), id="65 KiB binary"),
    ],
)
async def test_a_frame_over_64_kib_closes_the_socket_with_1009(app, cast, frame):
    alice = app.test_client()
    await sign_in(alice, "alice")
    async with alice.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        await _settled(ws)
        await ws.send(frame)
        code, _ = await closed_with(ws)
    assert code == 1009


async def test_a_frame_of_64_kib_is_still_read(app, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    async with alice.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        await _settled(ws)
        head = '{"type": "nothing", "pad": "'
        frame = head + "x" * (64 * 1024 - len(head) - 2) + '"}'
        assert len(frame.encode()) == 64 * 1024
        await ws.send(frame)
        frames = await frames_until(ws, lambda f: "live-status" in f)
    assert "That was not understood." in frames[-1]


async def test_a_flood_of_frames_closes_the_socket_with_1008(app, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    async with alice.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        await _settled(ws)
        for _ in range(31):  # the 31st frame within 10 s is one too many
            await ws.send(json.dumps({"type": "hello"}))
        code, frames = await closed_with(ws)
    assert code == 1008
    assert sum("That was not understood." in f for f in frames) == 30


# ---- W-3: the session ends, the socket closes -----------------------------------------


async def _close_time(ws, end_the_session) -> tuple[float, int, list[str]]:
    await _settled(ws)
    started = time.monotonic()
    await end_the_session()
    code, frames = await closed_with(ws)
    return time.monotonic() - started, code, frames


def _session_cookie(client) -> str:
    return next(c.value for c in client.cookie_jar if c.name == "portal_session")


async def test_signing_out_in_another_tab_closes_the_socket_at_once(app, cast):
    tab, other_tab = app.test_client(), app.test_client()
    await sign_in(tab, "alice")
    other_tab.set_cookie("localhost", "portal_session", _session_cookie(tab))

    async def sign_out():
        response = await post(other_tab, "/logout")
        assert response.status_code == 303

    async with tab.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        took, code, frames = await _close_time(ws, sign_out)
    assert code == 1008
    assert "You have been signed out." in frames[-1]
    assert took <= CLOSE_WITHIN_S
    assert took < 1.0  # this process's own sign-out wakes the socket: no sweep needed


async def _alice_session(cast) -> Session:
    return await Session.get(user_id=cast.alice.user_id)


@pytest.mark.parametrize(
    "ending",
    ["signed out elsewhere", "idle timeout", "absolute timeout", "user disabled"],
)
async def test_an_ended_session_closes_the_socket_within_5_s(app, cast, ending):
    """Ended behind this process's back (another web process, a timeout, an admin):
    only the sweep notices."""
    tab = app.test_client()
    await sign_in(tab, "alice")

    async def end():
        session = await _alice_session(cast)
        if ending == "signed out elsewhere":
            await session.delete()
        elif ending == "idle timeout":
            back = clock.now() - IDLE_TIMEOUT - timedelta(minutes=1)
            await Session.filter(id=session.id).update(last_seen_at=back)
        elif ending == "absolute timeout":
            back = clock.now() - ABSOLUTE_TIMEOUT - timedelta(minutes=1)
            await Session.filter(id=session.id).update(created_at=back)
        else:
            await User.filter(id=cast.alice.user_id).update(is_active=False)

    async with tab.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        took, code, frames = await _close_time(ws, end)
    assert code == 1008
    assert "You have been signed out." in frames[-1]
    assert took <= CLOSE_WITHIN_S


async def test_a_disabled_staff_member_loses_the_inbox_within_5_s(app, cast):
    tab = app.test_client()
    await sign_in(tab, "penny")
    async with tab.websocket("/ws?view=inbox&after=0", headers=ORIGIN) as ws:

        async def disable():
            await User.filter(id=cast.penny.user_id).update(is_active=False)

        took, code, _ = await _close_time(ws, disable)
    assert code == 1008
    assert took <= CLOSE_WITHIN_S


async def test_another_session_of_the_same_person_stays_open(app, cast):
    """Signing out one browser closes that browser's sockets only."""
    kept, ended = app.test_client(), app.test_client()
    await sign_in(kept, "alice")
    await sign_in(ended, "alice")
    async with kept.websocket(_thread_url(cast), headers=ORIGIN) as ws:
        await _settled(ws)
        assert (await post(ended, "/logout")).status_code == 303
        frames = await quiet(ws, 2.5)  # longer than a sweep
        message = await conversations.post(
            cast.thread,
            by=await User.get(id=cast.penny.user_id),
            from_client_side=False,
            body="Still here?",
        )
        await message_posted(message, client_id=cast.alice.id, practice_id=cast.practice.id)
        frames += await frames_until(ws, lambda f: "Still here?" in f)
    assert not any("signed out" in f for f in frames)


# ---- W-2: nobody hears what is not theirs -----------------------------------------------


async def test_staff_who_cannot_see_a_thread_hear_nothing_of_it(app, cast):
    """A canary: messages in Alice's clinical thread, posted by both sides and read by
    the provider, reach neither an admin of another practice nor the practice's own
    biller; both still hear what is theirs."""
    elsewhere = await Practice.create(name="Elsewhere", payment_processor="demo")
    stranger_user = await User.create(
        email="stranger@test.example",
        display_name="Stranger",
        password_hash=(await User.get(id=cast.ada.user_id)).password_hash,
    )
    await StaffMember.create(practice=elsewhere, user=stranger_user, roles=["admin"])
    their_client = await Client.create(
        practice=elsewhere, number="E1", first_name="Eve", last_name="Example"
    )
    their_thread = await Thread.create(client=their_client, topic="scheduler", subject="Hello")

    stranger, bea, penny, alice = (app.test_client() for _ in range(4))
    await sign_in(stranger, "stranger@test.example")
    await sign_in(bea, "bea")
    await sign_in(penny, "penny")
    await sign_in(alice, "alice")
    canary = "canary-7f3a9"
    secret = cast.thread.id
    async with (
        stranger.websocket("/ws?view=inbox&after=0", headers=ORIGIN) as stranger_ws,
        bea.websocket("/ws?view=inbox&after=0", headers=ORIGIN) as bea_ws,
        penny.websocket(f"/ws?view=staff_thread&thread={secret}&after=0", headers=ORIGIN) as p_ws,
        alice.websocket(_thread_url(cast), headers=ORIGIN) as alice_ws,
    ):
        for ws in (stranger_ws, bea_ws, p_ws, alice_ws):
            await _settled(ws)
        heard = {"stranger": [], "bea": []}
        for n in range(3):
            ask = f"{canary} ask {n}"
            await alice_ws.send(json.dumps({"type": "send", "thread": secret, "body": ask}))
            # The provider reads this very message (not the echo of an earlier reply,
            # which holds the canary too), so it is stored before we count below.
            await frames_until(p_ws, lambda f, ask=ask: ask in f)
            await p_ws.send(
                json.dumps({"type": "send", "thread": secret, "body": f"{canary} reply {n}"})
            )
            await frames_until(alice_ws, lambda f, n=n: f"{canary} reply {n}" in f)
        secret_ids = set(await Message.filter(thread_id=secret).values_list("id", flat=True))
        # What is theirs still reaches them (so the sockets were listening all along).
        for thread, by, who, ws in (
            (their_thread, None, "stranger", stranger_ws),
            (cast.bob_thread, await User.get(id=cast.bob.user_id), "bea", bea_ws),
        ):
            mine = await conversations.post(thread, by=by, from_client_side=True, body="ours")
            practice_id = elsewhere.id if who == "stranger" else cast.practice.id
            await message_posted(mine, client_id=thread.client_id, practice_id=practice_id)
            row = f'id="inbox-thread-{thread.id}"'
            heard[who] = await frames_until(ws, lambda f, row=row: row in f)
            heard[who] += await quiet(ws, 0.5)
    assert len(secret_ids) >= 7
    for who, frames in heard.items():
        text = "\n".join(frames)
        assert canary not in text, who
        assert not re.search(rf"thread-{secret}\b", text), who  # not even its row's id
        assert not secret_ids & set(message_ids(frames)), who


async def test_a_send_frame_for_someone_elses_thread_changes_nothing(app, cast):
    alice, penny = app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await sign_in(penny, "penny")
    before = await Message.all().order_by("id").values_list("id", "thread_id", "body")
    bob_thread_before = await Thread.get(id=cast.bob_thread.id)
    attempts = [
        (alice, cast.bob_thread.id),  # another client's thread
        (penny, cast.bob_thread.id),  # a billing thread: not the provider's
        (alice, 999_999),  # no such thread
        (alice, "1 OR 1=1"),
        (alice, None),
    ]
    for client, thread_id in attempts:
        async with client.websocket(_thread_url(cast), headers=ORIGIN) as ws:
            await _settled(ws)
            await ws.send(json.dumps({"type": "send", "thread": thread_id, "body": "psst"}))
            frames = await frames_until(ws, lambda f: "live-status" in f)
            assert NOT_FOUND in frames[-1], thread_id
            assert not any("psst" in f for f in frames)
    assert await Message.all().order_by("id").values_list("id", "thread_id", "body") == before
    after = await Thread.get(id=cast.bob_thread.id)
    assert (after.last_message_at, after.status) == (
        bob_thread_before.last_message_at,
        bob_thread_before.status,
    )


# ---- the practice's switch -------------------------------------------------------------


@pytest.mark.parametrize("where", ["practice", "client override"])
async def test_no_socket_for_a_client_whose_messaging_is_off(app, cast, where):
    if where == "practice":
        await Practice.filter(id=cast.practice.id).update(portal_settings={"messaging": False})
    else:
        await Client.filter(id=cast.alice.id).update(portal_overrides={"messaging": False})
    alice, bob, penny = app.test_client(), app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await sign_in(bob, "bob")
    await sign_in(penny, "penny")
    with pytest.raises(WebsocketResponseError) as refused:
        async with alice.websocket(_thread_url(cast), headers=ORIGIN) as ws:
            await ws.receive()
    assert refused.value.response.status_code == 403
    # Bob is refused only when the whole practice is off; staff keep their inbox.
    checks = [(penny, "/ws?view=inbox&after=0")]
    if where != "practice":
        checks.append((bob, "/ws?view=threads&after=0"))
    for client, url in checks:
        async with client.websocket(url, headers=ORIGIN) as ws:
            await _settled(ws)
    if where == "practice":
        with pytest.raises(WebsocketResponseError):
            async with bob.websocket("/ws?view=threads&after=0", headers=ORIGIN) as ws:
                await ws.receive()


# ---- the same limit in a real hypercorn process ------------------------------------------


@pytest.fixture(scope="module")
def real_server(template_db, tmp_path_factory):
    for url in demo_database(template_db, tmp_path_factory):
        workdir = tmp_path_factory.mktemp("limits-server")
        server = start_server(portal_env(url, workdir / "var"), workdir / "server.log")
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize(
    "size", [pytest.param(65 * 1024, id="65 KiB"), pytest.param(1024 * 1024, id="1 MiB")]
)
async def test_hypercorn_closes_an_oversized_frame_with_1009(real_server, size):
    """hypercorn enforces ``websocket_max_message_size`` before the app sees the frame.
    (When the frame is large, hypercorn 0.18 sends the close frame but leaves the TCP
    connection open until the client gives up: the close frame received is what is
    checked.)"""
    cookie = await http_sign_in(real_server, "client@demo.test")
    async with ws_connect(real_server, cookie, close_timeout=1, view="threads", after=0) as ws:
        await asyncio.wait_for(_real_settled(ws), 5)
        await ws.send("x" * size)
        async with asyncio.timeout(5):
            while ws.protocol.close_rcvd is None:
                await asyncio.sleep(0.05)
        assert ws.protocol.close_rcvd.code == 1009


async def _real_settled(ws) -> None:
    while not CURSOR.search(await ws.recv()):
        pass


async def test_a_socket_that_opens_while_a_sweep_runs_is_not_closed_by_it(monkeypatch):
    """The sweep reads the live sessions of the sockets open when it starts. A tab that
    reconnects while that query runs (its session not asked about) must not be told
    "you have been signed out": test_live_loss's reconnecting tabs hit this under load."""
    from types import SimpleNamespace

    from channels.chat import socket

    class Socket:
        def __init__(self, session_id: int):
            self.viewer = SimpleNamespace(session_id=session_id)
            self.check_session = True
            self.closed = None

        def close(self, code: int, reason: str = "") -> None:
            self.closed = (code, reason)

    before, reconnected, ended = Socket(1), Socket(2), Socket(3)

    class LiveSessions:
        def values_list(self, *args, **kwargs):
            return self

        def __await__(self):
            socket._open.add(reconnected)  # opens while the query runs

            async def rows():
                return [1]  # session 1 is live; session 3 ended

            return rows().__await__()

    monkeypatch.setattr(socket, "_open", {before, ended})
    monkeypatch.setattr(socket.Session, "filter", lambda *a, **k: LiveSessions())
    await socket.sweep_once()
    assert before.closed is None and reconnected.closed is None
    assert ended.closed == (socket.CLOSE_POLICY, "session ended")
    assert reconnected.check_session  # the next sweep asks about it
