"""Each appointment email switch of /admin/portal (issue 9), one by one: with the
switch on the event is emailed after the undo window; turned off, nothing is sent for
that event, and the other events still are."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.appointment_mail import send_event_notices
from models import clock, requests
from models.booking import book, reschedule
from models.outbox import OutboxMessage
from models.practice import Practice
from models.scheduling import AppointmentStatus
from tests.models.test_booking import local, office_hours, request, user_of


async def booked(cast) -> None:
    await book(cast.alice, request(cast, local(7, 10)), by=await user_of(cast.alice))


async def rescheduled(cast) -> None:
    alice = await user_of(cast.alice)
    first = await book(cast.alice, request(cast, local(7, 10)), by=alice)
    clock.travel(timedelta(minutes=4))
    await send_event_notices()  # the booking's own email goes out first (if on)
    await OutboxMessage.filter(dedupe_key__startswith="appt-event:").update(to="sent@before.test")
    await reschedule(first, request(cast, local(8, 11)), by=alice)


async def cancelled(cast) -> None:
    await cast.a_soon.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=False)


async def accepted(cast) -> None:
    cast.a_soon.status = AppointmentStatus.REQUESTED
    await cast.a_soon.save()
    await requests.accept_request(cast.a_soon, by=cast.sid.user)


async def declined(cast) -> None:
    cast.a_soon.status = AppointmentStatus.REQUESTED
    await cast.a_soon.save()
    await requests.decline_request(cast.a_soon, by=cast.sid.user)


EVENTS = {
    "notify_created": booked,
    "notify_rescheduled": rescheduled,
    "notify_cancelled": cancelled,
    "notify_request_confirmed": accepted,
    "notify_request_declined": declined,
}


async def alices_mails() -> list[OutboxMessage]:
    return await OutboxMessage.filter(
        dedupe_key__startswith="appt-event:", to="alice@test.example"
    ).order_by("id")


@pytest.mark.parametrize("switch", list(EVENTS))
@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
async def test_each_switch_decides_its_event_email(app, cast, switch, on):
    await office_hours(cast, scheduling_mode="instant")
    practice = await Practice.get(id=cast.practice.id)
    await Practice.filter(id=practice.id).update(
        portal_settings={**(practice.portal_settings or {}), switch: on}
    )
    await EVENTS[switch](cast)
    clock.travel(timedelta(minutes=4))
    await send_event_notices()
    mails = await alices_mails()
    assert len(mails) == (1 if on else 0)
