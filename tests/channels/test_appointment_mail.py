"""Appointment emails: sent once the 3-minute undo window has passed, only for events
that still stand, only where the practice's switch is on, and never twice."""

from datetime import timedelta

from channels.appointment_mail import send_event_notices
from models import clock, requests
from models.outbox import OutboxMessage
from models.practice import Practice
from models.scheduling import AppointmentStatus


async def mails() -> list[OutboxMessage]:
    return await OutboxMessage.filter(dedupe_key__startswith="appt-event:").order_by("id")


async def test_a_cancellation_is_emailed_after_the_undo_window_once(app, cast):
    await cast.a_soon.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=False)
    assert await send_event_notices() == 0  # it could still be undone
    clock.travel(timedelta(minutes=3, seconds=31))
    assert await send_event_notices() == 1
    assert await send_event_notices() == 0
    [mail] = await mails()
    assert mail.to == "alice@test.example" and "cancelled" in mail.subject
    assert "/appointments" in mail.body
    assert "Session" not in mail.body and "Penny" not in mail.body  # minimum necessary


async def test_an_undone_cancellation_sends_nothing(app, cast):
    await cast.a_soon.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=False)
    await cast.a_soon.undo_cancel(by=cast.alice.user_id)
    clock.travel(timedelta(minutes=4))
    assert await send_event_notices() == 0
    assert await mails() == []


async def test_a_request_accepted_or_declined_is_emailed(app, cast):
    cast.b_soon.status = AppointmentStatus.REQUESTED
    await cast.b_soon.save()
    cast.c_soon.status = AppointmentStatus.REQUESTED
    await cast.c_soon.save()
    await requests.accept_request(cast.b_soon, by=cast.sid.user)
    await requests.decline_request(cast.c_soon, by=cast.sid.user)
    clock.travel(timedelta(minutes=4))
    assert await send_event_notices() == 1  # Charlie has no email: nobody to tell
    [mail] = await mails()
    assert mail.to == "bob@test.example" and "accepted" in mail.subject


async def test_the_practice_switch_turns_an_event_off(app, cast):
    practice = await Practice.get(id=cast.practice.id)
    practice.portal_settings = {**practice.portal_settings, "notify_cancelled": False}
    await practice.save()
    await cast.a_soon.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=False)
    clock.travel(timedelta(minutes=4))
    assert await send_event_notices() == 0
