"""Fan-out across processes: two real ``portal serve`` (hypercorn) processes on one
database. A message posted through process A reaches a socket held by process B:
through Redis pub/sub within 2 s (in practice milliseconds), and with no Redis at
all through the broker's 2 s poll of the newest message id (within 5 s).

Real processes, a real websocket client (``websockets``), sign-in through the real
login form, the portal's Origin: nothing of the app is imported here.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from tests.channels.live_helpers import (
    CURSOR,
    MESSAGE_ID,
    REDIS_TEST_URL,
    RealServer,
    demo_database,
    http_sign_in,
    portal_env,
    require_redis,
    sql_rows,
    start_server,
    ws_connect,
)

CLIENT, PROVIDER = "client@demo.test", "provider@demo.test"
REDIS_WITHIN_S = 2.0  # the requirement (C-4 / issue 5)
REDIS_BUS_PROOF_S = 0.5  # well under the 2 s poll: only the bus explains it
POLL_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def live_db(template_db, tmp_path_factory):
    yield from demo_database(template_db, tmp_path_factory)


def _pair(live_db: str, tmp_path_factory, redis_url: str):
    workdir = tmp_path_factory.mktemp("pair")
    env = portal_env(live_db, workdir / "var", REDIS_URL=redis_url)
    servers: list[RealServer] = []
    try:
        for name in ("a", "b"):
            servers.append(start_server(env, workdir / f"{name}.log"))
        yield tuple(servers)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def redis_pair(live_db, tmp_path_factory):
    require_redis()
    yield from _pair(live_db, tmp_path_factory, REDIS_TEST_URL)


@pytest.fixture(scope="module")
def poll_pair(live_db, tmp_path_factory):
    yield from _pair(live_db, tmp_path_factory, "")


async def _thread_and_newest(live_db: str) -> tuple[int, int]:
    """The demo client's thread with Dr. Chen, and the newest message id overall."""
    rows = await sql_rows(
        live_db,
        "SELECT t.id FROM thread t JOIN client c ON c.id = t.client_id "
        "JOIN staff_member s ON s.id = t.provider_id JOIN user_account u ON u.id = s.user_id "
        "WHERE u.email = $1 AND t.topic = 'provider' ORDER BY t.id LIMIT 1",
        PROVIDER,
    )
    newest = await sql_rows(live_db, "SELECT COALESCE(MAX(id), 0) FROM message")
    return rows[0][0], newest[0][0]


async def _settle(ws, timeout: float = 5.0) -> None:
    """Read the frames a socket sends on connect (badges, rows, the cursor)."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), timeout)
        if CURSOR.search(frame):
            return


async def _arrival(ws, marker: str, timeout: float) -> tuple[float, str]:
    """Seconds until a frame containing ``marker`` arrives on ``ws``, and the frame."""
    started = time.monotonic()

    async def wait() -> str:
        while True:
            frame = await ws.recv()
            if marker in frame:
                return frame

    frame = await asyncio.wait_for(wait(), timeout)
    return time.monotonic() - started, frame


async def test_a_reply_posted_through_one_process_reaches_a_client_on_another_through_redis(
    redis_pair, live_db
):
    a, b = redis_pair
    thread_id, newest = await _thread_and_newest(live_db)
    staff_cookie = await http_sign_in(a, PROVIDER)
    client_cookie = await http_sign_in(b, CLIENT)
    view = {"view": "thread", "thread": thread_id, "after": newest}
    staff_view = {"view": "staff_thread", "thread": thread_id, "after": newest}
    async with (
        ws_connect(b, client_cookie, **view) as client_ws,
        ws_connect(a, staff_cookie, **staff_view) as staff_ws,
    ):
        await _settle(client_ws)
        await _settle(staff_ws)
        delays = []
        for n in range(5):
            body = f"fan-out {n} {uuid.uuid4().hex}"
            await staff_ws.send(json.dumps({"type": "send", "thread": thread_id, "body": body}))
            delay, frame = await _arrival(client_ws, body, timeout=REDIS_WITHIN_S)
            delays.append(delay)
            (message_id,) = [int(i) for i in MESSAGE_ID.findall(frame)]
            stored = await sql_rows(
                live_db, "SELECT thread_id, body FROM message WHERE id = $1", message_id
            )
            assert stored == [(thread_id, body)]
    assert max(delays) <= REDIS_WITHIN_S
    assert max(delays) < REDIS_BUS_PROOF_S, (
        f"delivery took {delays} s: that is the 2 s poll's pace, not Redis's"
    )


async def test_a_client_message_through_one_process_reaches_the_staff_inbox_on_another(
    redis_pair, live_db
):
    a, b = redis_pair
    thread_id, newest = await _thread_and_newest(live_db)
    staff_cookie = await http_sign_in(a, PROVIDER)
    client_cookie = await http_sign_in(b, CLIENT)
    async with (
        ws_connect(a, staff_cookie, view="inbox", after=newest) as inbox_ws,
        ws_connect(b, client_cookie, view="thread", thread=thread_id, after=newest) as client_ws,
    ):
        await _settle(inbox_ws)
        await _settle(client_ws)
        delays = []
        for n in range(3):
            body = f"a question {n} {uuid.uuid4().hex}"
            await client_ws.send(json.dumps({"type": "send", "thread": thread_id, "body": body}))
            row = f'id="inbox-thread-{thread_id}"'
            delay, frame = await _arrival(inbox_ws, row, REDIS_WITHIN_S)
            delays.append(delay)
            assert "row--unread" in frame  # the row is redrawn as unread
            assert body not in frame  # the inbox lists threads, not what was written
            await _settle(inbox_ws)  # the rest of this message's frames
    assert max(delays) < REDIS_BUS_PROOF_S, f"{delays} s: the poll's pace, not Redis's"


async def test_without_redis_the_poll_still_delivers_across_processes(poll_pair, live_db):
    a, b = poll_pair
    thread_id, newest = await _thread_and_newest(live_db)
    staff_cookie = await http_sign_in(a, PROVIDER)
    client_cookie = await http_sign_in(b, CLIENT)
    async with (
        ws_connect(b, client_cookie, view="thread", thread=thread_id, after=newest) as client_ws,
        ws_connect(a, staff_cookie, view="staff_thread", thread=thread_id, after=newest) as staff,
    ):
        await _settle(client_ws)
        await _settle(staff)
        body = f"no bus {uuid.uuid4().hex}"
        await staff.send(json.dumps({"type": "send", "thread": thread_id, "body": body}))
        delay, _ = await _arrival(client_ws, body, timeout=POLL_WITHIN_S)
    assert delay <= POLL_WITHIN_S
