"""Every page of a client's record leaves one audit row, and admins can read them."""

from __future__ import annotations

import re

import pytest

from models.audit import AuditEvent, audit, verify_chain
from models.documents import Document
from models.insurance import InsurancePolicy, Payer
from models.ledger import EntryKind, LedgerEntry
from models.messaging import Message
from models.people import Client
from models.practice import Practice
from tests.helpers import CLIENT_PAGES, HX, post, sign_in

IP = "203.0.113.9"
FROM = {"client": (IP, 40000)}
CATEGORY = {
    "/dashboard": "dashboard",
    "/profile": "profile",
    "/appointments": "appointments",
    "/messages": "messages",
    "/account": "billing",
    "/pay": "billing",
    "/documents": "documents",
    "/insurance": "insurance",
}
CANARY = "CANARY-7f3a91"


def test_every_client_page_has_a_category():
    assert set(CATEGORY) == set(CLIENT_PAGES)


async def reads(**filters) -> list[AuditEvent]:
    return await AuditEvent.filter(action="read", **filters).order_by("id")


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
async def test_each_section_view_writes_exactly_one_read_row(client, cast, headers):
    await sign_in(client, "alice")
    for path in CLIENT_PAGES:
        before = await AuditEvent.all().count()
        response = await client.get(path, headers=headers, scope_base=FROM)
        assert response.status_code == 200, path
        rows = await AuditEvent.filter(id__gt=before)
        assert len(rows) == 1, path
        row = rows[0]
        assert (row.action, row.category, row.via, row.ip) == ("read", CATEGORY[path], "web", IP)
        assert (row.actor_id, row.client_id) == (cast.alice.user_id, cast.alice.id)
        assert row.at is not None and len(row.digest) == 64
    assert (await verify_chain()).ok


async def test_a_page_about_one_object_names_it(client, cast):
    await sign_in(client, "alice")
    await client.get(f"/messages/{cast.thread.id}", scope_base=FROM)
    await client.get(f"/appointments/{cast.a_soon.id}/cancel", scope_base=FROM)
    thread, appointment = await reads()
    assert (thread.category, thread.object_type, thread.object_id) == (
        "messages",
        "thread",
        str(cast.thread.id),
    )
    assert (appointment.category, appointment.object_type, appointment.object_id) == (
        "appointments",
        "appointment",
        str(cast.a_soon.id),
    )


async def test_a_guardian_reads_as_themselves_for_the_child(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    await client.get("/account", scope_base=FROM)
    [row] = await reads(category="billing")
    assert (row.actor_id, row.client_id, row.category) == (cast.gina.id, cast.dana.id, "billing")


async def test_a_refused_page_writes_no_read_row(app, client, cast):
    await sign_in(client, "alice")
    assert (await client.get(f"/messages/{cast.bob_thread.id}")).status_code == 404
    assert (await client.get(f"/appointments/{cast.b_soon.id}/cancel")).status_code == 404
    assert await reads() == []
    guardian = app.test_client()
    await sign_in(guardian, "gina")  # Charlie's contact: appointments and forms only
    await post(guardian, "/switch-client", {"client_id": str(cast.charlie.id)})
    before = await AuditEvent.all().count()
    assert (await guardian.get("/account")).status_code == 404
    assert await AuditEvent.all().count() == before


async def test_no_health_value_reaches_the_audit_trail(app, client, cast):
    await Message.create(
        thread=cast.thread, sender_id=cast.alice.user_id, from_client_side=True, body=CANARY
    )
    cast.thread.subject = CANARY
    await cast.thread.save()
    await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CHARGE,
        posted_on=cast.a_past.starts_at.date(),
        amount_cents=100,
        description=CANARY,
    )
    await Document.create(client=cast.alice, name=CANARY, kind="shared", content_type="text/plain")
    payer = await Payer.create(practice=cast.practice, name=CANARY)
    await InsurancePolicy.create(client=cast.alice, payer=payer, member_id=CANARY)
    await sign_in(client, "alice")
    shown = []
    for path in CLIENT_PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        if CANARY in await response.get_data(as_text=True):
            shown.append(path)
    assert {"/messages", "/account", "/documents", "/insurance"} <= set(shown)
    await client.get(f"/messages/{cast.thread.id}")
    await client.get(f"/documents?q={CANARY}")
    await post(client, f"/appointments/{cast.a_soon.id}/confirm")
    admin = app.test_client()
    await sign_in(admin, "ada")
    await admin.get(f"/admin/clients/{cast.alice.id}/access-log")
    rows = await AuditEvent.all().values()
    assert len(rows) >= len(CLIENT_PAGES) + 4
    assert CANARY not in repr(rows) and CANARY.lower() not in repr(rows).lower()


# ---- the admin's access log ----


def log_url(client_id: int, before: int | None = None) -> str:
    url = f"/admin/clients/{client_id}/access-log"
    return url if before is None else f"{url}?before={before}"


async def test_an_admin_sees_who_read_and_changed_a_record_newest_first(app, client, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    await alice.get("/account", scope_base=FROM)
    await post(alice, f"/appointments/{cast.a_soon.id}/confirm")
    await sign_in(client, "ada")
    response = await client.get(log_url(cast.alice.id))
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Access log: Alice Example" in html
    confirmed, viewed = html.index("Confirmed an appointment"), html.index("Viewed")
    assert confirmed < viewed  # newest first
    assert "Billing" in html and IP in html and "(the client)" in html
    # The admin's own look is on the record too, shown next time.
    [own] = await reads(category="audit_log")
    assert (own.actor_id, own.client_id) == (cast.ada.user_id, cast.alice.id)
    assert "Access log" in await (await client.get(log_url(cast.alice.id))).get_data(as_text=True)


async def test_it_pages_fifty_at_a_time(client, cast):
    for _ in range(60):
        await audit(cast.penny.user_id, "read", client_id=cast.alice.id, category="messages")
    await audit(cast.penny.user_id, "read", client_id=cast.bob.id, category="profile")
    await sign_in(client, "ada")
    first = await (await client.get(log_url(cast.alice.id))).get_data(as_text=True)
    assert first.count('<li class="row">') == 50 and "(staff)" in first
    older = re.search(r"access-log\?before=(\d+)", first)
    assert older
    second_response = await client.get(log_url(cast.alice.id, int(older.group(1))))
    second = await second_response.get_data(as_text=True)
    assert second.count('<li class="row">') == 10 and "before=" not in second
    assert "Newest" in second


@pytest.mark.parametrize("before", ["abc", "0", "-1", "99999999999999999999999"])
async def test_a_bad_page_marker_is_a_400(client, cast, before):
    await sign_in(client, "ada")
    response = await client.get(f"{log_url(cast.alice.id)}?before={before}")
    assert response.status_code == 400


async def test_another_practices_client_is_a_404(client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(
        practice=other, number="X1", first_name="Xavier", last_name="Else"
    )
    await sign_in(client, "ada")
    assert (await client.get(log_url(stranger.id))).status_code == 404
    assert (await client.get(log_url(2**31 - 1))).status_code == 404
    assert await reads(client_id=stranger.id) == []


@pytest.mark.parametrize("who, status", [("penny", 403), ("sid", 403), ("bea", 403)])
async def test_only_admins_may_read_it(client, cast, who, status):
    await sign_in(client, who)
    assert (await client.get(log_url(cast.alice.id))).status_code == status


@pytest.mark.parametrize("who", ["alice", "gina"])
async def test_clients_and_contacts_cannot_reach_it(client, cast, who):
    await sign_in(client, who)
    assert (await client.get(log_url(cast.alice.id))).status_code == 404


async def test_signed_out_it_asks_to_sign_in(client, cast):
    response = await client.get(log_url(cast.alice.id))
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


async def test_the_clients_list_links_to_it_for_admins_only(app, client, cast):
    await sign_in(client, "ada")
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert f'href="{log_url(cast.alice.id)}"' in html
    provider = app.test_client()
    await sign_in(provider, "penny")
    html = await (await provider.get("/staff/clients")).get_data(as_text=True)
    assert "access-log" not in html
