"""An admin previews a client's portal (issue 9): the client's own pages with their
settings, read-only (every change is a 403 that changes nothing, and opening a thread
leaves the client's unread messages unread), audited from start to end, for admins
and their practice's clients only."""

from __future__ import annotations

import pytest

from models.audit import READ, AuditEvent
from models.messaging import Message, Thread
from models.people import Client
from models.practice import Practice
from models.scheduling import Appointment
from models.security import Session
from tests.helpers import post, sign_in


def start(client_id: int) -> str:
    return f"/admin/clients/{client_id}/preview"


async def begin(http, cast) -> None:
    await sign_in(http, "ada")
    response = await post(http, start(cast.alice.id), token_from="/admin/clients")
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"


async def test_the_admin_sees_the_clients_own_portal_with_a_preview_bar(client, cast):
    await begin(client, cast)
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Welcome, Alice" in html
    assert "Preview of Alice Example's portal" in html and "End preview" in html
    assert 'ws-connect="/ws"' not in html  # no live socket in a preview
    started = await AuditEvent.get(action="client.preview_started")
    assert (started.actor_id, started.client_id) == (cast.ada.user_id, cast.alice.id)
    read = await AuditEvent.filter(action=READ, client_id=cast.alice.id).order_by("-id").first()
    assert read is not None and read.actor_id == cast.ada.user_id and read.category == "dashboard"


async def test_every_change_is_refused_and_nothing_changes(client, cast):
    await begin(client, cast)
    before = await Appointment.get(id=cast.a_soon.id)
    response = await post(
        client, f"/appointments/{cast.a_soon.id}/confirm", token_from="/dashboard"
    )
    assert response.status_code == 403
    assert "This is a preview" in await response.get_data(as_text=True)
    after = await Appointment.get(id=cast.a_soon.id)
    assert (after.status, after.confirmed_at) == (before.status, before.confirmed_at)
    threads = await Thread.filter(client_id=cast.alice.id).count()
    refused = await post(
        client, "/messages/new", {"topic": "provider", "subject": "Hi", "body": "x"}
    )
    assert refused.status_code == 403
    assert await Thread.filter(client_id=cast.alice.id).count() == threads


async def test_opening_a_thread_leaves_the_clients_unread_as_it_was(client, cast):
    thread = await Thread.create(client=cast.alice, topic="provider", subject="Sleep")
    message = await Message.create(
        thread=thread, sender_id=cast.penny.user_id, from_client_side=False, body="How are you?"
    )
    await begin(client, cast)
    response = await client.get(f"/messages/{thread.id}")
    assert response.status_code == 200 and "How are you?" in await response.get_data(as_text=True)
    assert (await Message.get(id=message.id)).read_at is None


async def test_ending_the_preview_goes_back_and_is_audited(client, cast):
    await begin(client, cast)
    response = await post(client, "/admin/preview/end", token_from="/dashboard")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/clients/{cast.alice.id}/portal"
    assert await AuditEvent.filter(action="client.preview_ended", client_id=cast.alice.id).exists()
    back = await client.get("/dashboard")
    assert back.status_code == 303 and back.headers["Location"] == "/staff/"


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_an_admin_may_preview(client, cast, who, status):
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    response = await post(client, start(cast.bob.id), token_from=home)
    assert response.status_code == status
    assert not await AuditEvent.filter(action="client.preview_started").exists()


async def test_a_non_admin_session_acting_for_a_client_is_not_a_preview(client, cast):
    await sign_in(client, "sid")
    await Session.filter(user_id=cast.sid.user_id).update(acting_client_id=cast.alice.id)
    response = await client.get("/dashboard")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"


async def test_another_practices_client_cannot_be_previewed(client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(practice=other, number="X1", first_name="Far", last_name="Away")
    await sign_in(client, "ada")
    response = await post(client, start(stranger.id), token_from="/admin/clients")
    assert response.status_code == 404
    # and a session pointed at them anyway shows nothing of theirs
    await Session.filter(user_id=cast.ada.user_id).update(acting_client_id=stranger.id)
    response = await client.get("/dashboard")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
