"""Planned email reminders: ``models.reminders`` stores ids; the words are written
just before sending, from the appointments still upcoming, and a reminder with
nothing left to remind of is cancelled, never sent. Delivered over real SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.email import deliver_pending, render_planned
from models import clock
from models.outbox import OutboxMessage
from models.scheduling import AppointmentStatus
from tests.mailserver import portal_config, sent_mail

TO = "alice@test.example"
CLINICAL = ("session", "therapy", "therapist", "counsel", "diagnos", "psych", "90834")


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url}


async def planned(cast, appointments, *, confirm=False, key="rem:1", language="en", due_in=None):
    return await OutboxMessage.create(
        channel="email",
        kind="reminder",
        to=TO,
        subject="",
        body="",
        dedupe_key=key,
        client=cast.alice,
        context={"appointments": [a.id for a in appointments], "confirm": confirm},
        language=language,
        due_at=clock.now() + (due_in or timedelta(0)),
    )


async def test_it_writes_and_sends_a_reminder_of_the_upcoming_appointments(app, cast, smtp_server):
    row = await planned(cast, [cast.a_tomorrow, cast.a_soon], confirm=True)
    [message] = await sent_mail(app, smtp_server)
    assert message["To"] == TO
    assert message["Subject"] == "Appointment reminder from Test Practice"
    body = message.get_content()
    assert "Hello Alice," in body
    assert "A reminder of your appointments:" in body and body.count("\n- ") == 2
    assert "Office" in body
    assert "Please confirm" in body
    assert "http://localhost/appointments" in body
    assert not any(word in body.lower() for word in CLINICAL)
    saved = await OutboxMessage.get(id=row.id)
    assert saved.status == "sent" and saved.body == body.replace("\r\n", "\n")


async def test_it_asks_for_no_confirmation_once_confirmed_or_not_asked(app, cast, smtp_server):
    cast.a_tomorrow.status = AppointmentStatus.CONFIRMED
    await cast.a_tomorrow.save()
    await planned(cast, [cast.a_tomorrow], confirm=True, key="rem:confirmed")
    await planned(cast, [cast.a_soon], confirm=False, key="rem:not-asked")
    messages = await sent_mail(app, smtp_server)
    assert len(messages) == 2
    assert all("Please confirm" not in m.get_content() for m in messages)
    assert all("A reminder of your appointment:" in m.get_content() for m in messages)


async def test_a_telehealth_appointment_says_online(app, cast, smtp_server):
    cast.a_soon.telehealth = True
    cast.a_soon.location = None
    await cast.a_soon.save()
    await planned(cast, [cast.a_soon])
    [message] = await sent_mail(app, smtp_server)
    assert "Online (telehealth)" in message.get_content()


async def test_the_time_is_the_clients_and_the_words_their_language(app, cast, smtp_server):
    cast.alice.time_zone = "America/Los_Angeles"
    await cast.alice.save()
    await planned(cast, [cast.a_soon], language="es")
    [message] = await sent_mail(app, smtp_server)
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    expected = format_datetime(
        cast.a_soon.starts_at, "medium", tzinfo=ZoneInfo("America/Los_Angeles"), locale="es"
    )
    assert expected in message.get_content()


async def test_a_reminder_of_nothing_upcoming_is_cancelled_not_sent(app, cast, smtp_server):
    cast.a_soon.status = AppointmentStatus.CANCELLED
    await cast.a_soon.save()
    gone = await planned(cast, [cast.a_soon], key="rem:cancelled")
    past = await planned(cast, [cast.a_past], key="rem:past")
    empty = await planned(cast, [], key="rem:empty")
    assert await sent_mail(app, smtp_server) == []
    for row in (gone, past, empty):
        saved = await OutboxMessage.get(id=row.id)
        assert saved.status == "cancelled" and saved.body == "" and saved.sent_at is None


async def test_a_reminder_not_due_yet_is_not_written(app, cast, smtp_server):
    row = await planned(cast, [cast.a_soon], due_in=timedelta(hours=1))
    assert await sent_mail(app, smtp_server) == []
    saved = await OutboxMessage.get(id=row.id)
    assert saved.status == "pending" and saved.body == ""


async def test_it_is_written_once_however_often_it_runs(app, cast, smtp_server):
    row = await planned(cast, [cast.a_soon])
    config = portal_config(app)
    assert await render_planned(config) == 1
    first = (await OutboxMessage.get(id=row.id)).body
    assert await render_planned(config) == 0
    assert (await OutboxMessage.get(id=row.id)).body == first
    assert len(await sent_mail(app, smtp_server)) == 1
    assert len(await sent_mail(app, smtp_server)) == 1  # nothing sent twice


async def test_the_ordinary_email_is_untouched(app, cast, smtp_server):
    from channels.email import queue_email

    await queue_email(to=TO, template="test_message", context={"name": "A"}, dedupe_key="plain:1")
    [message] = await sent_mail(app, smtp_server)
    assert message["Subject"] != "Appointment reminder from Test Practice"


@pytest.mark.parametrize("config_overrides", [{}], ids=["development"])
async def test_in_the_developer_outbox_it_is_written_before_it_is_shown(app, client, cast):
    row = await planned(cast, [cast.a_soon])
    assert await deliver_pending(portal_config(app)) == 1
    saved = await OutboxMessage.get(id=row.id)
    assert saved.status == "sent" and saved.subject.startswith("Appointment reminder")
    html = await (await client.get("/dev/mail")).get_data(as_text=True)
    assert "Appointment reminder from Test Practice" in html


@pytest.mark.parametrize("config_overrides", [{}], ids=["development"])
async def test_in_the_developer_outbox_a_planned_reminder_is_named_before_it_is_written(
    app, client, cast
):
    await planned(cast, [cast.a_tomorrow], due_in=timedelta(days=1))
    html = await (await client.get("/dev/mail")).get_data(as_text=True)
    assert '<h2 class="mail-subject"></h2>' not in html
    assert "Reminder (written when it is sent)" in html
