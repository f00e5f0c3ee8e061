"""``/ws``: the handshake's checks, and live delivery to the client and to staff."""

from __future__ import annotations

import pytest
from quart.testing import WebsocketResponseError

from channels.chat.broker import message_posted
from models import conversations
from models.messaging import Message
from models.people import User
from tests.channels.live_helpers import ORIGIN, frames_until, message_ids, quiet
from tests.helpers import sign_in


async def test_it_refuses_a_socket_without_a_session(client):
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws", headers=ORIGIN) as ws:
            await ws.receive()
    assert refused.value.response.status_code == 401


async def test_it_refuses_a_socket_from_another_origin(client):
    await sign_in(client, "alice")
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws", headers={"Origin": "https://evil.test"}) as ws:
            await ws.receive()
    assert refused.value.response.status_code == 403


async def test_a_staff_reply_reaches_the_clients_open_thread(app, cast):
    alice, penny = app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await sign_in(penny, "penny")
    last = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    url = f"/ws?view=thread&thread={cast.thread.id}&after={last.id}"
    async with alice.websocket(url, headers=ORIGIN) as ws:
        await quiet(ws)  # the badges at connect
        message = await conversations.post(
            cast.thread,
            by=await User.get(id=cast.penny.user_id),
            from_client_side=False,
            body="See you Tuesday.",
        )
        await message_posted(message, client_id=cast.alice.id, practice_id=cast.alice.practice_id)
        frames = await frames_until(ws, lambda f: "See you Tuesday." in f)
    newest = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    assert message_ids(frames) == [newest.id]


async def test_a_pushed_message_carries_its_attachment_links(app, cast, tmp_path):
    from models import attachments

    alice = app.test_client()
    await sign_in(alice, "alice")
    penny = await User.get(id=cast.penny.user_id)
    last = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    url = f"/ws?view=thread&thread={cast.thread.id}&after={last.id}"
    async with alice.websocket(url, headers=ORIGIN) as ws:
        await quiet(ws)
        stored = await attachments.store(
            b"%PDF-1.4 test",
            filename="plan.pdf",
            client_id=cast.alice.id,
            uploaded_by_id=penny.id,
            data_dir=tmp_path,
        )
        message = await conversations.post(
            cast.thread,
            by=penny,
            from_client_side=False,
            body="Your plan",
            attachment_ids=[stored.id],
        )
        await message_posted(message, client_id=cast.alice.id, practice_id=cast.alice.practice_id)
        frames = await frames_until(ws, lambda f: "Your plan" in f)
    assert f'href="/messages/attachments/{stored.id}"' in "".join(frames)


async def test_two_schedulers_share_work_but_not_what_is_assigned_to_each(app, cast):
    """Sockets of people who see the same threads share one catch-up per hint, except
    "assigned to me", which is each person's own."""
    from models.auth import hash_password
    from models.people import StaffMember
    from tests.cast import PASSWORD

    sam_user = await User.create(
        email="sam@test.example", display_name="Sam", password_hash=await hash_password(PASSWORD)
    )
    await StaffMember.create(practice=cast.practice, user=sam_user, roles=["scheduler"])
    thread = await conversations.chat_thread(cast.alice)
    await conversations.assign(thread, cast.sid, by=cast.ada)
    sid, sam = app.test_client(), app.test_client()
    await sign_in(sid, "sid")
    await sign_in(sam, "sam@test.example")
    alice = await User.get(id=cast.alice.user_id)
    newest = await Message.all().order_by("-id").first()
    url = f"/ws?view=inbox&show=mine&after={newest.id}"
    async with (
        sid.websocket(url, headers=ORIGIN) as ws_sid,
        sam.websocket(url, headers=ORIGIN) as ws_sam,
    ):
        await quiet(ws_sid)
        await quiet(ws_sam)
        message = await conversations.post(
            thread, by=alice, from_client_side=True, body="Can we talk?"
        )
        await message_posted(message, client_id=cast.alice.id, practice_id=cast.alice.practice_id)
        got_sid = await frames_until(ws_sid, lambda f: f'id="inbox-thread-{thread.id}"' in f)
        got_sam = await quiet(ws_sam, 0.5)
    assert any('hx-swap-oob="afterbegin"' in f for f in got_sid)
    assert not any(f'<li id="inbox-thread-{thread.id}" class=' in f for f in got_sam)
