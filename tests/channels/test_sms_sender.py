# ruff: noqa: F811  (pytest fixtures imported from tests.fakes.twilio_server)
"""The SMS sender, through the real twilio SDK against the fake Twilio: what reaches
Twilio (To, From, Body, StatusCallback, ValidityPeriod), how often, and each outbox
row's state after."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta

import pytest

from channels.sms import queue_sms, sender, twilio_client
from models import clock
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint
from models.scheduling import Appointment, AppointmentStatus
from tests.fakes.twilio_server import DEFAULT_FROM, fake_twilio  # noqa: F401

PHONE = "+15550101234"


@pytest.fixture
def config_overrides(fake_twilio):
    return fake_twilio.config_overrides(sms_rate=1000.0)


@pytest.fixture
def config(app):
    return app.app.config["PORTAL"]


async def queue(n: int = 0, to: str = PHONE, **kw) -> OutboxMessage:
    values = dict(to=to, body=f"Hello {n}", dedupe_key=f"test:{to}:{n}", kind="notice")
    values.update(kw)
    row = await queue_sms(**values)
    assert row is not None
    return row


async def appointment_in(cast, delta: timedelta) -> Appointment:
    start = clock.now() + delta
    return await Appointment.create(
        client=cast.alice,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        status=AppointmentStatus.SCHEDULED,
        confirmation_requested=True,
    )


async def test_a_queued_text_is_sent_once_with_its_fields(app, config, fake_twilio):
    row = await queue(1)
    assert await sender.deliver_due(config) == 1
    assert await sender.deliver_due(config) == 0
    [attempt] = fake_twilio.attempts
    assert attempt.form == {
        "To": PHONE,
        "From": DEFAULT_FROM,
        "Body": "Hello 1",
        "StatusCallback": f"http://localhost/sms/status?rid={row.id}",
        "ValidityPeriod": "14400",
    }
    await row.refresh_from_db()
    assert (row.status, row.provider_ref, row.delivery_state) == ("sent", attempt.sid, "queued")
    assert row.sent_at is not None and row.attempts == 1


async def test_a_messaging_service_sends_as_the_service(app, config, fake_twilio):
    service = "MG" + "a" * 32
    await queue(1)
    await sender.deliver_due(dataclasses.replace(config, twilio_from=service))
    [attempt] = fake_twilio.attempts
    assert attempt.form["MessagingServiceSid"] == service and "From" not in attempt.form


async def test_a_reminder_is_rendered_at_send_time_and_expires_before_the_visit(
    app,
    cast,
    config,
    fake_twilio,
):
    visit = await appointment_in(cast, timedelta(hours=2))
    row = await queue(
        body="",
        kind="reminder",
        client_id=cast.alice.id,
        context={"appointments": [visit.id], "confirm": True},
    )
    assert await sender.deliver_due(config) == 1
    [attempt] = fake_twilio.attempts
    # min(4 h, 2 h - 30 min) = 90 minutes, less the seconds the test took.
    assert 5300 <= int(attempt.form["ValidityPeriod"]) <= 5400
    await row.refresh_from_db()
    assert row.body and row.body == attempt.form["Body"]
    assert "STOP" in row.body and row.status == "sent"


async def test_a_reminder_with_nothing_upcoming_is_cancelled_unsent(
    app,
    cast,
    config,
    fake_twilio,
):
    visit = await appointment_in(cast, timedelta(days=1))
    row = await queue(
        body="", kind="reminder", client_id=cast.alice.id, context={"appointments": [visit.id]}
    )
    visit.status = AppointmentStatus.CANCELLED
    await visit.save()
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    assert row.status == "cancelled" and fake_twilio.attempts == []


async def test_a_reminder_too_late_to_arrive_in_time_is_not_sent(
    app,
    cast,
    config,
    fake_twilio,
):
    visit = await appointment_in(cast, timedelta(minutes=25))
    row = await queue(
        body="", kind="reminder", client_id=cast.alice.id, context={"appointments": [visit.id]}
    )
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    assert row.status == "cancelled" and "too late" in row.last_error
    assert fake_twilio.attempts == []


async def test_two_concurrent_passes_send_each_row_once(app, config, fake_twilio):
    rows = [await queue(n, to=f"+1555020{n:04d}") for n in range(30)]
    sent = await asyncio.gather(*(sender.deliver_due(config) for _ in range(3)))
    assert sum(sent) == 30
    assert Counter(a.form["Body"] for a in fake_twilio.attempts) == {
        f"Hello {n}": 1 for n in range(30)
    }
    statuses = await OutboxMessage.filter(id__in=[r.id for r in rows]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {"sent"}


async def test_an_opted_out_number_gets_no_request(app, config, fake_twilio):
    row = await queue(1)
    await SmsOptOut.create(phone=PHONE, opted_out_at=clock.now(), keyword="STOP")
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    assert row.status == "suppressed"
    assert fake_twilio.attempts == []


async def test_twilio_21610_suppresses_and_records_the_opt_out(
    app,
    cast,
    config,
    fake_twilio,
):
    point = await ContactPoint.create(client=cast.alice, kind="phone", value=PHONE)
    fake_twilio.blocklist.add(PHONE)
    row = await queue(1, client_id=cast.alice.id)
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    await point.refresh_from_db()
    assert row.status == "suppressed"
    assert await SmsOptOut.exists(phone=PHONE)
    assert point.sms_opted_out_at is not None
    assert len(fake_twilio.attempts) == 1
    assert await queue_sms(to=PHONE, body="again", dedupe_key="again", kind="notice") is None


async def test_an_invalid_number_fails_without_retry(app, config, fake_twilio):
    fake_twilio.invalid.add(PHONE)
    row = await queue(1)
    await sender.deliver_due(config)
    clock.travel(timedelta(hours=2))
    await sender.deliver_due(config)
    await row.refresh_from_db()
    assert row.status == "failed" and "21211" in row.last_error
    assert len(fake_twilio.attempts) == 1


async def test_a_500_is_retried_later_and_sent_once(app, config, fake_twilio):
    fake_twilio.fail_next = 1
    row = await queue(1)
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    assert row.status == "pending" and row.due_at > clock.now()
    assert await sender.deliver_due(config) == 0  # not before its backoff
    clock.travel(sender.backoff(1) + timedelta(seconds=1))
    assert await sender.deliver_due(config) == 1
    await row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2
    assert [a.status for a in fake_twilio.attempts] == [500, 201]
    assert len(fake_twilio.created(PHONE)) == 1


async def test_no_answer_is_reconciled_before_any_resend(
    app,
    config,
    fake_twilio,
    monkeypatch,
):
    monkeypatch.setattr(twilio_client, "TIMEOUT_SECONDS", 0.3)
    fake_twilio.delay = 1.0  # Twilio takes the message, the answer never comes in time
    row = await queue(1)
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    assert row.status == "sending" and row.provider_ref == ""
    fake_twilio.delay = 0
    clock.travel(sender.backoff(1) + timedelta(seconds=1))
    assert await sender.deliver_due(config) == 0
    await row.refresh_from_db()
    [message] = fake_twilio.created(PHONE)
    assert (row.status, row.provider_ref) == ("sent", message.sid)
    assert len(fake_twilio.attempts) == 1


async def test_an_expired_lease_with_nothing_at_twilio_is_sent_once(
    app,
    config,
    fake_twilio,
):
    row = await queue(1)
    now = clock.now()
    await OutboxMessage.filter(id=row.id).update(
        status="sending", claimed_at=now, lease_until=now + sender.LEASE, attempts=1
    )
    assert await sender.deliver_due(config) == 0  # leased: not touched
    clock.travel(sender.LEASE + timedelta(seconds=1))
    assert await sender.deliver_due(config) == 1
    await row.refresh_from_db()
    assert row.status == "sent" and len(fake_twilio.attempts) == 1


async def test_the_same_text_twice_to_one_number_is_not_taken_for_the_other(
    app,
    config,
    fake_twilio,
):
    first = await queue(1, body="Same words", dedupe_key="one")
    assert await sender.deliver_due(config) == 1
    second = await queue(2, body="Same words", dedupe_key="two")
    now = clock.now()
    await OutboxMessage.filter(id=second.id).update(
        status="sending", claimed_at=now, lease_until=now - timedelta(seconds=1), attempts=1
    )
    assert await sender.deliver_due(config) == 1
    await first.refresh_from_db()
    await second.refresh_from_db()
    assert first.provider_ref != second.provider_ref
    assert len(fake_twilio.created(PHONE)) == 2


async def test_development_without_twilio_sends_nothing_out(app, config, fake_twilio):
    dev = dataclasses.replace(config, twilio_account_sid="", twilio_auth_token="")
    assert dev.sms_dev_outbox
    row = await queue(1)
    assert await sender.deliver_due(dev) == 1
    await row.refresh_from_db()
    assert (row.status, row.provider_ref, row.delivery_state) == (
        "sent",
        sender.DEV_OUTBOX_REF,
        "delivered",
    )
    assert fake_twilio.attempts == []


async def test_production_without_twilio_keeps_texts_queued(app, config, fake_twilio):
    production = dataclasses.replace(
        config, twilio_account_sid="", twilio_auth_token="", public_url="https://portal.example"
    )
    row = await queue(1)
    assert await sender.deliver_due(production) == 0
    await row.refresh_from_db()
    assert row.status == "pending" and fake_twilio.attempts == []


async def test_the_loop_sends_what_is_queued_and_stops(app, config, fake_twilio):
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, config))
    await asyncio.sleep(0.05)
    row = await queue(1)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if fake_twilio.attempts:
            break
    stop.set()
    await asyncio.wait_for(task, 5)
    await row.refresh_from_db()
    assert row.status == "sent" and len(fake_twilio.attempts) == 1
