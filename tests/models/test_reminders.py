"""Reminder planning: the pure rules (quiet hours, caps, merging) and the outbox the
plan leaves behind after each appointment or preference change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from models import booking, clock, reminders, requests
from models.errors import RuleError
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint, User
from models.reminders import Sent, plan, set_preferences, set_reminders
from models.scheduling import Appointment, AppointmentStatus

NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def appt(id_, start, confirm=False):
    return SimpleNamespace(id=id_, starts_at=start, confirmation_requested=confirm)


def phone(id_=1, days=1, confirm=False, **kw):
    return SimpleNamespace(
        id=id_,
        kind="phone",
        value=f"+1555010000{id_}",
        reminders=True,
        reminder_days_before=days,
        request_confirmation=confirm,
        sms_opted_out_at=None,
        sms_undeliverable_at=None,
        **kw,
    )


def email(id_=9, days=1):
    return SimpleNamespace(
        id=id_,
        kind="email",
        value="alice@test.example",
        reminders=True,
        reminder_days_before=days,
        request_confirmation=False,
    )


def planned(appointments, points, history=(), now=None, tz="America/New_York"):
    return plan(
        appointments,
        points,
        history,
        client_tz=tz,
        practice_tz="America/New_York",
        now=now or ny(2030, 3, 1, 8, 0),
    )


def local(t: datetime, tz=NY) -> datetime:
    return t.astimezone(tz)


# ---- the pure plan ---------------------------------------------------------------------


def test_it_reminds_the_chosen_days_before_at_the_same_local_time():
    [item] = planned([appt(1, ny(2030, 3, 6, 14, 0))], [phone(days=2)])
    assert (item.status, item.channel, item.appointments) == ("pending", "sms", [1])
    assert item.send_at == ny(2030, 3, 4, 14, 0)


def test_a_reminder_due_at_21_30_goes_at_9_the_next_morning():
    [item] = planned([appt(1, ny(2030, 3, 6, 21, 30))], [phone(days=1)])
    assert local(item.send_at) == datetime(2030, 3, 6, 9, 0, tzinfo=NY)


def test_an_8_30_appointment_gets_a_day_before_text_never_one_before_9():
    [item] = planned([appt(1, ny(2030, 3, 6, 8, 30))], [phone(days=0)])
    sent = local(item.send_at)
    assert sent.date() == datetime(2030, 3, 5).date()
    assert (sent.hour, sent.minute) == (19, 30)


def test_a_same_morning_reminder_waits_for_9_when_there_is_time():
    [item] = planned([appt(1, ny(2030, 3, 6, 10, 0))], [phone(days=0)])
    assert local(item.send_at) == datetime(2030, 3, 6, 9, 0, tzinfo=NY)


def test_a_late_booking_is_reminded_now_inside_the_window():
    now = ny(2030, 3, 6, 11, 0)
    [item] = planned([appt(1, ny(2030, 3, 6, 15, 0))], [phone(days=1)], now=now)
    assert item.send_at == now


def test_a_late_booking_at_night_for_early_next_morning_is_dropped_with_the_reason():
    now = ny(2030, 3, 6, 22, 0)
    [item] = planned([appt(1, ny(2030, 3, 7, 9, 15))], [phone(days=1)], now=now)
    assert (item.status, item.reason) == ("dropped", "too_late")


def test_two_appointments_the_same_day_share_one_text():
    items = planned(
        [appt(2, ny(2030, 3, 6, 15, 0)), appt(1, ny(2030, 3, 6, 14, 0), confirm=True)],
        [phone(confirm=True)],
    )
    [item] = items
    assert item.appointments == [1, 2]
    assert item.confirm
    assert item.send_at == ny(2030, 3, 5, 14, 0)


def test_confirmation_is_asked_only_when_the_point_and_an_appointment_want_it():
    [item] = planned([appt(1, ny(2030, 3, 6, 14, 0), confirm=True)], [phone(confirm=False)])
    assert not item.confirm


def test_a_second_text_on_one_day_is_merged_into_the_earlier_one():
    # Tomorrow 10:00 (text today 10:00) and the day after 10:00 with 2 days' notice
    # (also today): one text names both.
    items = planned(
        [appt(1, ny(2030, 3, 2, 10, 0)), appt(2, ny(2030, 3, 3, 10, 0))],
        [phone(days=1, id_=1)],
        now=ny(2030, 3, 1, 9, 0),
    )
    assert [(i.status, i.appointments) for i in items] == [("pending", [1]), ("pending", [2])]
    # Two phones for the same appointments: the second phone's texts exceed the caps.
    items = planned([appt(1, ny(2030, 3, 2, 10, 0))], [phone(id_=1), phone(id_=2)])
    assert [(i.contact_point_id, i.status, i.reason) for i in items] == [
        (1, "pending", ""),
        (2, "dropped", "daily_cap"),
    ]


def test_a_text_over_the_daily_cap_merges_into_an_earlier_text_to_that_phone():
    points = [phone(id_=1, days=2)]
    appointments = [appt(1, ny(2030, 3, 4, 10, 0)), appt(2, ny(2030, 3, 4, 18, 0))]
    [item] = planned(appointments, points)
    assert item.appointments == [1, 2]
    # A 10:00 appointment in 2 days and one at 10:00 the day after tomorrow with 1 day:
    appointments = [appt(1, ny(2030, 3, 3, 10, 0)), appt(2, ny(2030, 3, 4, 10, 0))]
    items = planned(appointments, [phone(id_=1, days=2), phone(id_=2, days=3)])
    assert all(i.send_at.astimezone(NY).hour >= 9 for i in items)


def test_the_weekly_cap_counts_texts_already_sent():
    history = [ny(2030, 2, 27, 10, 0), ny(2030, 2, 28, 10, 0), ny(2030, 3, 1, 7, 0)]
    [item] = planned([appt(1, ny(2030, 3, 3, 10, 0))], [phone()], history=history)
    assert (item.status, item.reason) == ("dropped", "weekly_cap")
    # A week later the window has room again.
    [item] = planned([appt(1, ny(2030, 3, 9, 10, 0))], [phone()], history=history)
    assert item.status == "pending"


def test_the_daily_cap_counts_a_text_sent_today():
    history = [ny(2030, 3, 1, 9, 5)]
    now = ny(2030, 3, 1, 12, 0)
    [item] = planned([appt(1, ny(2030, 3, 1, 17, 0))], [phone(days=0)], history, now=now)
    assert (item.status, item.reason) == ("dropped", "daily_cap")


def test_a_sent_reminder_is_not_planned_again_on_that_point():
    history = [Sent(ny(2030, 3, 1, 9, 0), contact_point_id=1, appointments=(1,))]
    items = planned([appt(1, ny(2030, 3, 2, 10, 0))], [phone(id_=1)], history)
    assert items == []


def test_emails_keep_quiet_hours_but_have_no_caps():
    history = [ny(2030, 3, 1, 9, 5)] * 3
    items = planned(
        [appt(1, ny(2030, 3, 2, 21, 0)), appt(2, ny(2030, 3, 2, 22, 0))], [email()], history
    )
    [item] = items
    assert (item.channel, item.status, item.appointments) == ("email", "pending", [1, 2])
    assert local(item.send_at) == datetime(2030, 3, 2, 9, 0, tzinfo=NY)


def test_opted_out_and_undeliverable_phones_get_nothing():
    out = phone(id_=1)
    out.sms_opted_out_at = ny(2030, 1, 1)
    bad = phone(id_=2)
    bad.sms_undeliverable_at = ny(2030, 1, 1)
    assert planned([appt(1, ny(2030, 3, 4, 10, 0))], [out, bad]) == []


def test_a_bad_zone_name_falls_back_to_the_practice_zone():
    [item] = planned([appt(1, ny(2030, 3, 6, 21, 30))], [phone()], tz="Mars/Olympus")
    assert local(item.send_at) == datetime(2030, 3, 6, 9, 0, tzinfo=NY)


def test_across_the_spring_change_the_local_time_is_kept():
    # New York springs forward on 2030-03-10: 14:00 the day before is still 14:00 local.
    [item] = planned([appt(1, ny(2030, 3, 11, 14, 0))], [phone(days=2)])
    assert local(item.send_at) == datetime(2030, 3, 9, 14, 0, tzinfo=NY)


def test_keys_are_stable_and_short():
    a = planned([appt(1, ny(2030, 3, 6, 14, 0))], [phone()])[0]
    b = planned([appt(1, ny(2030, 3, 6, 14, 0))], [phone()], now=ny(2030, 3, 2, 10))[0]
    assert a.key == b.key
    many = [appt(i, ny(2030, 3, 6, 9, 0) + timedelta(minutes=i)) for i in range(1, 60)]
    [item] = planned(many, [phone()])
    assert len(item.key) <= 128


# ---- the outbox ------------------------------------------------------------------------


def travel_to(when: datetime) -> None:
    clock.travel(when - clock.now())


@pytest.fixture
async def alice(cast):
    """Alice with a mobile (text reminders 1 day before, confirmation asked) and an
    email (2 days before); the clock on Monday 2030-03-04 08:00 in New York."""
    travel_to(ny(2030, 3, 4, 8, 0))
    cast.mobile = await ContactPoint.create(
        client=cast.alice,
        kind="phone",
        value="+15550100001",
        is_default=True,
        reminders=True,
        reminder_days_before=1,
        request_confirmation=True,
    )
    cast.email = await ContactPoint.create(
        client=cast.alice,
        kind="email",
        value="alice@test.example",
        is_default=True,
        reminders=True,
        reminder_days_before=2,
    )
    return cast


async def add(cast, start, status=AppointmentStatus.SCHEDULED, **kw) -> Appointment:
    appointment = await Appointment.create(
        client=cast.alice,
        provider=cast.penny,
        service=cast.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        status=status,
        confirmation_requested=True,
        **kw,
    )
    await reminders.replan(cast.alice.id)
    return appointment


async def rows(cast, **filters):
    return await OutboxMessage.filter(client_id=cast.alice.id, kind="reminder", **filters).order_by(
        "channel", "due_at", "id"
    )


async def test_replan_queues_a_text_and_an_email_for_a_new_appointment(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    mail, sms = await rows(alice, status="pending")
    assert (sms.channel, sms.to, sms.body) == ("sms", "+15550100001", "")
    assert sms.due_at == ny(2030, 3, 6, 15, 0)
    assert sms.context == {"appointments": [appointment.id], "confirm": True}
    assert sms.contact_point_id == alice.mobile.id
    assert (mail.channel, mail.due_at) == ("email", ny(2030, 3, 5, 15, 0))
    assert mail.context == {"appointments": [appointment.id], "confirm": False}
    # Planning again changes nothing.
    await reminders.replan(alice.alice.id)
    assert [r.id for r in await rows(alice)] == [mail.id, sms.id]


async def test_a_requested_appointment_gets_no_reminder_until_accepted(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0), status=AppointmentStatus.REQUESTED)
    assert await rows(alice) == []
    await requests.accept_request(appointment, by=alice.sid.user_id)
    assert len(await rows(alice, status="pending")) == 2
    await requests.undo_decision(appointment, by=alice.sid.user_id)
    assert await rows(alice, status="pending") == []


async def test_a_cancelled_appointment_has_no_pending_reminder(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    await appointment.cancel(by=alice.alice.user_id, via="web", within_24h_allowed=True)
    assert await rows(alice, status="pending") == []
    assert {r.status for r in await rows(alice)} == {"cancelled"}


async def test_undoing_a_cancellation_revives_the_same_reminders(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    before = [r.id for r in await rows(alice)]
    await appointment.cancel(by=alice.alice.user_id, via="web", within_24h_allowed=True)
    await appointment.undo_cancel(by=alice.alice.user_id)
    assert [(r.id, r.status) for r in await rows(alice)] == [(i, "pending") for i in before]


async def test_a_moved_appointment_is_reminded_at_its_new_time_and_not_the_old(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    appointment.starts_at = ny(2030, 3, 8, 11, 0)
    appointment.ends_at = appointment.starts_at + timedelta(minutes=45)
    await appointment.save()
    await reminders.replan(alice.alice.id)
    pending = await rows(alice, status="pending")
    assert [(r.channel, r.due_at) for r in pending] == [
        ("email", ny(2030, 3, 6, 11, 0)),
        ("sms", ny(2030, 3, 7, 11, 0)),
    ]
    assert len(await rows(alice, status="cancelled")) == 2


async def test_a_reminder_already_sent_is_not_planned_again(alice):
    appointment = await add(alice, ny(2030, 3, 5, 15, 0))
    sms = (await rows(alice, channel="sms"))[0]
    travel_to(ny(2030, 3, 4, 15, 0))
    await OutboxMessage.filter(id=sms.id).update(status="sent", sent_at=clock.now())
    appointment.confirmation_requested = False
    await appointment.save()
    await reminders.replan(alice.alice.id)
    await set_preferences(alice.mobile, reminders=True, days_before=0, request_confirmation=True)
    assert [(r.id, r.status) for r in await rows(alice, channel="sms")] == [(sms.id, "sent")]


async def test_a_row_being_sent_is_never_touched(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    sms = (await rows(alice, channel="sms"))[0]
    await OutboxMessage.filter(id=sms.id).update(status="sending", claimed_at=clock.now())
    await appointment.cancel(by=alice.alice.user_id, via="web", within_24h_allowed=True)
    assert (await OutboxMessage.get(id=sms.id)).status == "sending"


async def test_two_appointments_the_same_day_make_one_text(alice):
    first = await add(alice, ny(2030, 3, 7, 14, 0))
    second = await add(alice, ny(2030, 3, 7, 15, 0))
    [sms] = await rows(alice, status="pending", channel="sms")
    assert sms.context["appointments"] == [first.id, second.id]


async def test_turning_reminders_off_cancels_pending_rows_and_on_brings_them_back(alice):
    await add(alice, ny(2030, 3, 7, 15, 0))
    off = await set_reminders(alice.alice.id, on=False)
    assert off.changed and [p.id for p in off] == [alice.email.id, alice.mobile.id]
    assert await rows(alice, status="pending") == []
    again = await set_reminders(alice.alice.id, on=False)
    assert (list(again), again.changed) == ([], False)
    on = await set_reminders(alice.alice.id, on=True)
    assert on.changed and {p.id for p in on} == {alice.mobile.id, alice.email.id}
    assert len(await rows(alice, status="pending")) == 2
    already = await set_reminders(alice.alice.id, on=True)
    assert not already.changed and len(already) == 2


async def test_an_opted_out_phone_gets_no_text(alice):
    await SmsOptOut.create(phone="+15550100001", opted_out_at=clock.now(), keyword="STOP")
    await add(alice, ny(2030, 3, 7, 15, 0))
    assert [r.channel for r in await rows(alice)] == ["email"]


async def test_set_preferences_validates_the_days_and_replans(alice):
    await add(alice, ny(2030, 3, 8, 15, 0))
    for bad in (-1, 15, "x", None):
        with pytest.raises(RuleError, match="reminder_days_invalid"):
            await set_preferences(
                alice.mobile, reminders=True, days_before=bad, request_confirmation=True
            )
    assert (await ContactPoint.get(id=alice.mobile.id)).reminder_days_before == 1
    await set_preferences(alice.mobile, reminders=True, days_before=3, request_confirmation=False)
    [sms] = await rows(alice, status="pending", channel="sms")
    assert sms.due_at == ny(2030, 3, 5, 15, 0)
    assert sms.context["confirm"] is False
    await set_preferences(alice.mobile, reminders=False, days_before=3, request_confirmation=False)
    assert await rows(alice, status="pending", channel="sms") == []


async def test_a_reminder_that_cannot_go_out_is_recorded_once_as_dropped(alice):
    travel_to(ny(2030, 3, 4, 21, 0))
    await add(alice, ny(2030, 3, 5, 9, 15))
    await reminders.replan(alice.alice.id)
    dropped = await rows(alice, status="dropped")
    assert [(r.channel, r.last_error) for r in dropped] == [
        ("email", "too_late"),
        ("sms", "too_late"),
    ]


async def test_booking_rescheduling_and_undo_keep_the_reminders_in_step(alice):
    from models.scheduling import AvailabilityBlock

    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=alice.penny,
            weekday=weekday,
            start_minute=9 * 60,
            end_minute=17 * 60,
            location=alice.office,
            modality="both",
        )
    alice.practice.portal_settings = (alice.practice.portal_settings or {}) | {
        "scheduling_mode": "instant"
    }
    await alice.practice.save()

    def at(start):
        return booking.BookingRequest(
            provider_id=alice.penny.id,
            starts_at=start,
            telehealth=False,
            location_id=alice.office.id,
            service_id=alice.service.id,
        )

    user = await User.get(id=alice.alice.user_id)
    first = await booking.book(alice.alice, at(ny(2030, 3, 7, 10, 0)), by=user)
    assert first.status == AppointmentStatus.SCHEDULED
    assert [(r.channel, r.due_at) for r in await rows(alice, status="pending")] == [
        ("email", ny(2030, 3, 5, 10, 0)),
        ("sms", ny(2030, 3, 6, 10, 0)),
    ]
    moved = await booking.reschedule(first, at(ny(2030, 3, 8, 11, 0)), by=user)
    pending = await rows(alice, status="pending")
    assert [(r.channel, r.due_at) for r in pending] == [
        ("email", ny(2030, 3, 6, 11, 0)),
        ("sms", ny(2030, 3, 7, 11, 0)),
    ]
    assert all(r.context["appointments"] == [moved.id] for r in pending)
    await booking.undo_booking(moved, by=user)
    # The undone reschedule puts the first appointment back, with its reminders.
    pending = await rows(alice, status="pending")
    assert [(r.channel, r.context["appointments"]) for r in pending] == [
        ("email", [first.id]),
        ("sms", [first.id]),
    ]


async def test_plan_all_matches_replan(alice):
    appointment = await add(alice, ny(2030, 3, 7, 15, 0))
    await OutboxMessage.filter(client_id=alice.alice.id).delete()
    await Appointment.create(
        client=alice.bob,
        provider=alice.penny,
        starts_at=ny(2030, 3, 9, 12, 0),
        ends_at=ny(2030, 3, 9, 13, 0),
        status=AppointmentStatus.SCHEDULED,
    )
    assert await reminders.plan_all() >= 1
    first = [(r.dedupe_key, r.status, r.due_at) for r in await rows(alice)]
    assert len(first) == 2
    await reminders.plan_all()
    await reminders.replan(alice.alice.id)
    assert [(r.dedupe_key, r.status, r.due_at) for r in await rows(alice)] == first
    assert all(r.context["appointments"] == [appointment.id] for r in await rows(alice))


async def test_a_reminder_another_transaction_planned_meanwhile_is_kept_once(alice):
    """plan_all's bulk insert skips a key already stored (ON CONFLICT DO NOTHING), on
    both databases: the row that was there first stands, nothing fails."""
    await add(alice, ny(2030, 3, 7, 15, 0))
    before = [(r.dedupe_key, r.status, r.due_at, r.context) for r in await rows(alice)]
    assert len(before) == 2
    # The rows vanish from what plan_all reads (as if another transaction wrote them
    # after plan_all's reads): move them aside, plan, and put them back under their keys.
    keys = [key for key, *_ in before]
    await OutboxMessage.filter(dedupe_key__in=keys).update(kind="moved")
    await reminders.plan_all()
    assert await OutboxMessage.filter(dedupe_key__in=keys, kind="reminder").count() == 0
    await OutboxMessage.filter(dedupe_key__in=keys).update(kind="reminder")
    await reminders.plan_all()  # sees them again: nothing to insert, nothing doubled
    after = [(r.dedupe_key, r.status, r.due_at, r.context) for r in await rows(alice)]
    assert after == before
