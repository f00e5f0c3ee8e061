"""The delivery log: the client's "Texts and emails we sent you" in My Profile, and
every text and email of a client for the staff who may see that client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.audit import AuditEvent
from models.outbox import InboundSms, OutboxMessage
from models.people import Client, ContactPoint
from models.practice import Practice
from tests.helpers import sign_in

PHONE = "+15550100001"
TUESDAY_9_02_EASTERN = datetime(2026, 11, 24, 14, 2, tzinfo=UTC)


async def page_text(client, path):
    """The page, with babel's narrow no-break spaces ("9:02\u202fAM") as spaces."""
    html = await (await client.get(path)).get_data(as_text=True)
    return html.replace("\u202f", " ").replace("\xa0", " ")


async def outbox(client, *, channel="sms", status="sent", key, at=TUESDAY_9_02_EASTERN, **kw):
    values = dict(
        channel=channel,
        to=PHONE if channel == "sms" else "alice@test.example",
        body="Test Practice: appointment Tue, Nov 24. Reply STOP to opt out.",
        client=client,
        status=status,
        dedupe_key=key,
        due_at=at,
        sent_at=at if status == "sent" else None,
    )
    values.update(kw)
    return await OutboxMessage.create(**values)


# ---- the client's log in My Profile --------------------------------------------------


async def test_my_profile_says_what_we_texted_and_emailed_and_how_it_went(client, cast):
    await outbox(cast.alice, key="t1", delivery_state="delivered")
    await outbox(
        cast.alice,
        key="t2",
        delivery_state="undelivered",
        at=TUESDAY_9_02_EASTERN + timedelta(hours=1),
    )
    await outbox(
        cast.alice,
        key="e1",
        channel="email",
        subject="Appointment reminder from Test Practice",
        body="hello",
        at=TUESDAY_9_02_EASTERN - timedelta(days=1),
    )
    await outbox(cast.alice, key="planned", status="pending", kind="reminder", body="")
    await outbox(cast.alice, key="stale", status="cancelled", body="never sent")
    await outbox(cast.bob, key="bobs", body="Bob's text", to="+15550100002")
    await sign_in(client, "alice")
    html = await page_text(client, "/profile")
    log = html[html.index('id="sent-to-you"') :]
    log = log[: log.index("</section>")]
    assert "We texted you Tue, Nov 24, 9:02 AM — delivered" in log
    assert "We texted you Tue, Nov 24, 10:02 AM — not delivered" in log
    assert "We emailed you Mon, Nov 23, 9:02 AM — sent" in log
    assert log.index("10:02 AM") < log.index("9:02 AM — delivered") < log.index("We emailed")
    assert "Reply STOP to opt out." in log and "Appointment reminder from Test Practice" in log
    assert "never sent" not in log and "Bob&#39;s text" not in log and "Bob's text" not in log
    assert log.count("<li") == 3


async def test_it_shows_the_time_in_the_clients_zone(client, cast):
    cast.alice.time_zone = "America/Los_Angeles"
    await cast.alice.save()
    await outbox(cast.alice, key="t1", delivery_state="sent")
    await sign_in(client, "alice")
    html = await page_text(client, "/profile")
    assert "We texted you Tue, Nov 24, 6:02 AM — sent" in html


async def test_a_failed_text_says_failed(client, cast):
    await outbox(cast.alice, key="t1", status="failed", last_error="21610")
    await sign_in(client, "alice")
    html = await page_text(client, "/profile")
    assert "We texted you Tue, Nov 24, 9:02 AM — failed" in html


async def test_it_shows_the_newest_twenty(client, cast):
    for n in range(25):
        await outbox(cast.alice, key=f"t{n}", at=TUESDAY_9_02_EASTERN + timedelta(minutes=n))
    await sign_in(client, "alice")
    html = await page_text(client, "/profile")
    log = html[html.index('id="sent-to-you"') :]
    log = log[: log.index("</section>")]
    assert log.count("<li") == 20 and "9:26 AM" in log and "9:06 AM" not in log


async def test_with_nothing_sent_it_says_so(client, cast):
    await sign_in(client, "alice")
    html = await page_text(client, "/profile")
    assert "No texts or emails yet." in html


async def test_in_spanish_the_log_is_spanish(client, cast):
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await outbox(cast.alice, key="t1", delivery_state="delivered")
    await sign_in(client, "alice")
    response = await client.get("/profile")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "mar, 24 nov" in html  # the date in Spanish; the sentence once translated


# ---- staff: /staff/clients/<id>/deliveries -----------------------------------------


@pytest.fixture
async def history(cast):
    await ContactPoint.create(client=cast.alice, kind="phone", value=PHONE, is_default=True)
    sent = await outbox(cast.alice, key="t1", delivery_state="undelivered", delivery_error="30003")
    mail = await outbox(
        cast.alice,
        key="e1",
        channel="email",
        subject="Appointment reminder from Test Practice",
        body="hello",
    )
    planned = await outbox(cast.alice, key="p1", status="pending", kind="reminder", body="")
    heard = await InboundSms.create(
        message_sid="SM" + "1" * 32,
        from_number=PHONE,
        to_number="+15550109999",
        body="1",
        client=cast.alice,
        outcome="confirmed",
        received_at=TUESDAY_9_02_EASTERN,
    )
    await outbox(cast.bob, key="bobs", body="Bob's text", to="+15550100002")
    return {"sent": sent, "mail": mail, "planned": planned, "heard": heard}


@pytest.mark.parametrize("who", ["ada", "sid", "penny"])
async def test_staff_who_see_the_client_get_every_text_and_email(client, cast, history, who):
    await sign_in(client, who)
    response = await client.get(f"/staff/clients/{cast.alice.id}/deliveries")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    for row in ("sent", "mail", "planned"):
        assert f'id="delivery-{history[row].id}"' in html
    assert f'id="inbound-{history["heard"].id}"' in html
    assert "Undelivered" in html and "Error 30003" in html and "Planned" in html
    assert "Appointment reminder from Test Practice" in html and "confirmed" in html
    assert "Bob" not in html.split("<main", 1)[1]
    staff_user = {"ada": cast.ada, "sid": cast.sid, "penny": cast.penny}[who].user_id
    read = await AuditEvent.filter(
        actor_id=staff_user, client_id=cast.alice.id, action="read"
    ).count()
    assert read == 1


async def test_a_biller_gets_a_404(client, cast, history):
    await sign_in(client, "bea")
    assert (await client.get(f"/staff/clients/{cast.alice.id}/deliveries")).status_code == 404


async def test_a_provider_gets_a_404_for_someone_elses_client(client, cast, history):
    from models.auth import hash_password
    from models.people import StaffMember, User

    user = await User.create(
        email="otto@test.example",
        display_name="Otto",
        password_hash=await hash_password("correct horse battery"),
    )
    await StaffMember.create(practice=cast.practice, user=user, roles=["provider"])
    await sign_in(client, "otto@test.example")
    assert (await client.get(f"/staff/clients/{cast.alice.id}/deliveries")).status_code == 404
    assert not await AuditEvent.filter(actor_id=user.id, client_id=cast.alice.id).exists()


async def test_another_practices_client_is_a_404(client, cast, history):
    other = await Practice.create(name="Other", payment_processor="demo")
    stranger = await Client.create(practice=other, number="X1", first_name="X", last_name="Y")
    await sign_in(client, "ada")
    for client_id in (stranger.id, 999999):
        assert (await client.get(f"/staff/clients/{client_id}/deliveries")).status_code == 404


async def test_a_client_cannot_open_it(client, cast, history):
    await sign_in(client, "alice")
    assert (await client.get(f"/staff/clients/{cast.alice.id}/deliveries")).status_code == 404


async def test_staff_see_an_empty_log_explained(client, cast):
    await sign_in(client, "ada")
    html = await (await client.get(f"/staff/clients/{cast.bob.id}/deliveries")).get_data(
        as_text=True
    )
    assert "No texts or emails for this client yet." in html
    assert "No texts received from this client" in html


async def test_the_inbox_thread_links_to_it(client, cast):
    await sign_in(client, "penny")
    html = await (await client.get(f"/staff/inbox/{cast.thread.id}")).get_data(as_text=True)
    assert f'href="/staff/clients/{cast.alice.id}/deliveries"' in html
