"""Booking (models/booking.py): never a double booking, instant or request,
the client's cap, notice at its boundary, undo at 2:59 and 3:01, reschedule in
one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.exceptions import IntegrityError

from models import booking, clock
from models.audit import AuditEvent
from models.booking import UNDO_WINDOW, BookingRequest, book, reschedule, undo_booking
from models.db import is_postgres
from models.errors import RuleError
from models.ledger import LedgerEntry
from models.people import Client, User
from models.practice import Location, Practice, Service
from models.scheduling import (
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityBlock,
)
from models.slots import SlotQuery, open_slots
from tests.conftest import PG_URL

NY = ZoneInfo("America/New_York")


def set_now(moment: datetime) -> None:
    clock.reset()
    clock.travel(moment - clock.now())


async def office_hours(cast, **rules) -> None:
    """Penny sees clients every day from 9 to 17, in person at the office or by video."""
    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=cast.penny,
            weekday=weekday,
            start_minute=9 * 60,
            end_minute=17 * 60,
            location=cast.office,
            modality="both",
        )
    if rules:
        cast.practice.portal_settings = (cast.practice.portal_settings or {}) | rules
        await cast.practice.save()


def local(days: int, hour: int, minute: int = 0) -> datetime:
    """A wall time in New York ``days`` from today (New York's today)."""
    day = clock.now().astimezone(NY).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), NY)


def request(cast, at: datetime, *, service=None, telehealth=False, location=True):
    service = cast.service if service is None else service
    return BookingRequest(
        provider_id=cast.penny.id,
        starts_at=at,
        telehealth=telehealth,
        location_id=cast.office.id if location and not telehealth else None,
        service_id=service.id if service else None,
    )


async def user_of(client: Client) -> User:
    return await User.get(id=client.user_id)


async def new_clients(cast, n: int) -> list[tuple[Client, User]]:
    people = []
    for i in range(n):
        user = await User.create(email=f"racer{i}@test.example", display_name=f"Racer {i}")
        client = await Client.create(
            practice=cast.practice,
            user=user,
            number=f"R{i:03d}",
            first_name="Racer",
            last_name=str(i),
            primary_provider=cast.penny,
        )
        people.append((client, user))
    return people


async def holding(provider_id: int, at: datetime) -> list[Appointment]:
    return await Appointment.filter(
        provider_id=provider_id, starts_at=at.astimezone(UTC), status__in=UPCOMING_STATUSES
    )


# ---------------------------------------------------------------- the race


async def test_fifty_clients_racing_for_one_slot_give_one_winner(cast):
    await office_hours(cast)
    racers = await new_clients(cast, 50)
    for round_ in range(3):
        at = local(7 + round_, 10)
        wanted = request(cast, at)
        results = await asyncio.gather(
            *(book(client, wanted, by=user) for client, user in racers),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, Appointment)]
        refused = [r for r in results if isinstance(r, RuleError)]
        others = [r for r in results if not isinstance(r, Appointment | RuleError)]
        assert others == []
        assert len(won) == 1 and len(refused) == 49
        assert {r.code for r in refused} == {"slot_taken"}
        assert [a.id for a in await holding(cast.penny.id, at)] == [won[0].id]


async def test_the_database_refuses_a_double_booking_without_the_lock(cast, monkeypatch):
    """The backstop: with the per-provider lock gone, PostgreSQL's exclusion
    constraint (SQLite: the write lock) still lets exactly one through."""

    async def no_lock(*args):
        return None

    monkeypatch.setattr(booking, "_lock", no_lock)
    await office_hours(cast)
    racers = await new_clients(cast, 20)
    at = local(8, 11)
    results = await asyncio.gather(
        *(book(client, request(cast, at), by=user) for client, user in racers),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Appointment) for r in results) == 1
    assert {r.code for r in results if not isinstance(r, Appointment)} == {"slot_taken"}
    assert len(await holding(cast.penny.id, at)) == 1


async def test_overlapping_starts_of_different_lengths_cannot_both_be_booked(cast):
    await office_hours(cast, slot_step_minutes=10)
    long = await Service.create(
        practice=cast.practice, name="Long", duration_minutes=50, buffer_minutes=0
    )
    short = await Service.create(
        practice=cast.practice, name="Short", duration_minutes=30, buffer_minutes=0
    )
    (c1, u1), (c2, u2) = await new_clients(cast, 2)
    for days in (7, 8, 9):
        first = book(c1, request(cast, local(days, 10), service=long), by=u1)
        second = book(c2, request(cast, local(days, 10, 30), service=short), by=u2)
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert sum(isinstance(r, Appointment) for r in results) == 1
        assert [r.code for r in results if isinstance(r, RuleError)] == ["slot_taken"]
        await Appointment.filter(client_id__in=[c1.id, c2.id]).update(
            status=AppointmentStatus.CANCELLED
        )
    # One after the other: the 30-minute one fits only once the 50 minutes are over.
    await book(c1, request(cast, local(10, 10), service=long), by=u1)
    with pytest.raises(RuleError) as exc:
        await book(c2, request(cast, local(10, 10, 40), service=short), by=u2)
    assert exc.value.code == "slot_taken"
    assert await book(c2, request(cast, local(10, 10, 50), service=short), by=u2)


@pytest.mark.skipif(not PG_URL, reason="the exclusion constraint is PostgreSQL's")
async def test_postgres_constraint_refuses_overlaps_written_directly(cast):
    assert is_postgres()
    at = local(9, 13).astimezone(UTC)
    base = dict(client=cast.alice, provider=cast.penny, ends_at=at + timedelta(minutes=45))
    await Appointment.create(starts_at=at, status=AppointmentStatus.SCHEDULED, **base)
    # Back to back is fine, and so is an overlap with a cancelled one.
    await Appointment.create(
        starts_at=at - timedelta(minutes=45),
        ends_at=at,
        client=cast.bob,
        provider=cast.penny,
        status=AppointmentStatus.REQUESTED,
    )
    await Appointment.create(starts_at=at, status=AppointmentStatus.CANCELLED, **base)
    with pytest.raises(IntegrityError):
        await Appointment.create(
            starts_at=at + timedelta(minutes=20),
            ends_at=at + timedelta(minutes=80),
            client=cast.bob,
            provider=cast.penny,
            status=AppointmentStatus.REQUESTED,
        )


@pytest.mark.skipif(not PG_URL, reason="advisory locks are PostgreSQL's")
async def test_postgres_booking_holds_the_provider_lock_until_commit(cast, database_url):
    """The lock is taken on the transaction's own connection (a lock taken on another
    pool connection would be released at once and serialise nothing)."""
    import asyncpg
    from tortoise.transactions import in_transaction

    dsn = database_url.replace("postgres://", "postgresql://", 1)
    watcher = await asyncpg.connect(dsn)
    query = (
        "SELECT classid::int, objid::int FROM pg_locks"
        " WHERE locktype = 'advisory' AND granted AND database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        async with in_transaction():
            await booking._lock(cast.alice.id, cast.penny.id)
            held = {tuple(row) for row in await watcher.fetch(query)}
            assert (booking.LOCK_CLIENT, cast.alice.id) in held
            assert (booking.LOCK_PROVIDER, cast.penny.id) in held
        assert await watcher.fetch(query) == []
    finally:
        await watcher.close()


# ---------------------------------------------------------------- book


async def test_request_mode_books_a_request_and_audits_it(cast):
    await office_hours(cast)
    at = local(7, 10)
    appt = await book(
        cast.alice, request(cast, at), by=await user_of(cast.alice), via="web", ip="203.0.113.9"
    )
    assert appt.status == AppointmentStatus.REQUESTED
    assert appt.created_via == "web" and appt.booked_by_id == cast.alice.user_id
    assert appt.starts_at == at and appt.ends_at == at + timedelta(minutes=45)
    assert appt.location_id == cast.office.id and not appt.telehealth
    assert appt.service_id == cast.service.id
    event = await AuditEvent.get(action="appointment.book")
    assert event.category == "appointments" and event.client_id == cast.alice.id
    assert event.object_id == str(appt.id) and event.ip == "203.0.113.9"
    # The time is gone for everyone else.
    slots = await open_slots(SlotQuery(cast.practice, at.date(), at.date(), "America/New_York"))
    assert at not in {s.starts_at for s in slots}


async def test_instant_mode_schedules_and_a_provider_may_choose_otherwise(cast):
    await office_hours(cast, scheduling_mode="instant")
    alice = await user_of(cast.alice)
    appt = await book(cast.alice, request(cast, local(7, 10), telehealth=True), by=alice)
    assert appt.status == AppointmentStatus.SCHEDULED
    assert appt.telehealth and appt.location_id is None
    cast.penny.portal_overrides = {"scheduling_mode": "request"}
    await cast.penny.save()
    appt = await book(cast.bob, request(cast, local(7, 11)), by=await user_of(cast.bob))
    assert appt.status == AppointmentStatus.REQUESTED


async def test_i_dont_know_books_the_first_self_schedulable_service(cast):
    await office_hours(cast)
    appt = await book(
        cast.alice, request(cast, local(7, 10), service=False), by=await user_of(cast.alice)
    )
    assert appt.service_id == cast.service.id
    assert appt.ends_at - appt.starts_at == timedelta(minutes=cast.service.duration_minutes)


async def test_the_cap_counts_upcoming_appointments(cast):
    await office_hours(cast, booking_max_upcoming=3)
    alice = await user_of(cast.alice)
    await book(cast.alice, request(cast, local(7, 10)), by=alice)  # her third
    with pytest.raises(RuleError) as exc:
        await book(cast.alice, request(cast, local(7, 12)), by=alice)
    assert exc.value.code == "booking_cap_reached"
    # A cancelled one no longer counts.
    await Appointment.filter(id=cast.a_soon.id).update(status=AppointmentStatus.CANCELLED)
    assert await book(cast.alice, request(cast, local(7, 12)), by=alice)


async def test_self_scheduling_off_refuses(cast):
    await office_hours(cast)
    cast.alice.portal_overrides = {"self_scheduling": False}
    await cast.alice.save()
    with pytest.raises(RuleError) as exc:
        await book(cast.alice, request(cast, local(7, 10)), by=await user_of(cast.alice))
    assert exc.value.code == "self_scheduling_off"


async def test_minimum_notice_at_its_boundary(cast):
    await office_hours(cast, booking_min_notice_hours=24, booking_short_notice_hours=2)
    at = local(7, 10)
    bob = await user_of(cast.bob)
    set_now(at - timedelta(hours=24) + timedelta(seconds=1))
    with pytest.raises(RuleError) as exc:
        await book(cast.bob, request(cast, at), by=bob)
    assert exc.value.code == "slot_not_offered"
    set_now(at - timedelta(hours=24) - timedelta(seconds=30))
    assert await book(cast.bob, request(cast, at), by=bob)
    # With "within 24 hours" on, the short notice applies.
    later = at + timedelta(hours=3)
    set_now(later - timedelta(hours=2) + timedelta(seconds=1))
    cast.practice.portal_settings = cast.practice.portal_settings | {"within_24h": True}
    await cast.practice.save()
    with pytest.raises(RuleError):
        await book(cast.bob, request(cast, later), by=bob)
    set_now(later - timedelta(hours=2) - timedelta(seconds=30))
    assert await book(cast.bob, request(cast, later), by=bob)


async def test_times_that_are_not_offered_are_refused(cast):
    await office_hours(cast)
    alice = await user_of(cast.alice)
    other_practice = await Practice.create(name="Elsewhere")
    foreign = await Service.create(practice=other_practice, name="Foreign")
    hidden = await Service.create(practice=cast.practice, name="Staff only", self_schedulable=False)
    elsewhere = await Location.create(practice=cast.practice, name="Annex")
    cases = [
        request(cast, local(-1, 10)),  # the past
        request(cast, local(7, 10, 10)),  # off the grid
        request(cast, local(7, 7)),  # before hours
        request(cast, local(7, 16, 30)),  # would end after hours
        request(cast, local(90, 10)),  # beyond the horizon
        request(cast, local(7, 10).replace(tzinfo=None)),  # naive
        request(cast, local(7, 10), service=foreign),
        request(cast, local(7, 10), service=hidden),
        BookingRequest(cast.sid.id, local(7, 10), False, cast.office.id, cast.service.id),
        BookingRequest(10**6, local(7, 10), False, cast.office.id, cast.service.id),
        BookingRequest(cast.penny.id, local(7, 10), False, elsewhere.id, cast.service.id),
        BookingRequest(cast.penny.id, local(7, 10), False, cast.office.id, 10**6),
    ]
    for wanted in cases:
        with pytest.raises(RuleError) as exc:
            await book(cast.alice, wanted, by=alice)
        assert exc.value.code == "slot_not_offered", wanted
    assert await Appointment.filter(booked_by_id=alice.id).count() == 0


# ---------------------------------------------------------------- undo


async def test_undo_at_2_59_frees_the_slot_and_at_3_01_is_too_late(cast):
    await office_hours(cast)
    alice, bob = await user_of(cast.alice), await user_of(cast.bob)
    at = local(7, 10)
    appt = await book(cast.alice, request(cast, at), by=alice)
    clock.travel(UNDO_WINDOW - timedelta(seconds=1))
    with pytest.raises(RuleError) as exc:
        await undo_booking(appt, by=bob)  # not Bob's booking
    assert exc.value.code == "undo_not_allowed"
    await undo_booking(appt, by=alice)
    await undo_booking(appt, by=alice)  # twice: no error
    fresh = await Appointment.get(id=appt.id)
    assert fresh.status == AppointmentStatus.CANCELLED and fresh.cancel_reason == "undone"
    assert await book(cast.bob, request(cast, at), by=bob)  # the slot is free again

    late = await book(cast.alice, request(cast, local(7, 12)), by=alice)
    clock.travel(UNDO_WINDOW + timedelta(seconds=1))
    with pytest.raises(RuleError) as exc:
        await undo_booking(late, by=alice)
    assert exc.value.code == "undo_too_late"
    assert (await Appointment.get(id=late.id)).status == AppointmentStatus.REQUESTED


async def test_undo_ignores_the_cancellation_policy(cast):
    # Booked 3 hours ahead; cancelling is blocked inside 24 hours, undo still works.
    await office_hours(cast, within_24h=True, booking_short_notice_hours=2, cancel_block_hours=24)
    now = local(7, 7)
    set_now(now)
    appt = await book(cast.alice, request(cast, local(7, 10)), by=await user_of(cast.alice))
    await undo_booking(appt, by=await user_of(cast.alice))
    assert (await Appointment.get(id=appt.id)).status == AppointmentStatus.CANCELLED


async def test_a_guardian_with_appointments_access_may_undo_a_childs_booking(cast):
    await office_hours(cast)
    appt = await book(cast.charlie, request(cast, local(7, 10)), by=cast.gina)
    sid = await User.get(id=cast.sid.user_id)
    with pytest.raises(RuleError):
        await undo_booking(appt, by=sid)
    await undo_booking(appt, by=cast.gina)


# ---------------------------------------------------------------- reschedule


async def test_reschedule_moves_in_one_transaction(cast):
    await office_hours(cast, scheduling_mode="instant")
    alice, bob = await user_of(cast.alice), await user_of(cast.bob)
    old = await book(cast.alice, request(cast, local(7, 10)), by=alice)
    await book(cast.bob, request(cast, local(7, 14)), by=bob)

    # The new time is taken: nothing changes.
    with pytest.raises(RuleError) as exc:
        await reschedule(old, request(cast, local(7, 14)), by=alice)
    assert exc.value.code == "slot_taken"
    same = await Appointment.get(id=old.id)
    assert (same.status, same.version, same.cancel_reason) == (old.status, old.version, "")
    with pytest.raises(RuleError) as exc:
        await reschedule(old, request(cast, local(7, 10, 10)), by=alice)
    assert exc.value.code == "slot_not_offered"
    assert (await Appointment.get(id=old.id)).status == AppointmentStatus.SCHEDULED

    # Half an hour later overlaps only the old appointment itself: allowed.
    new = await reschedule(old, request(cast, local(7, 10, 30)), by=alice, via="web")
    assert new.rescheduled_from_id == old.id and new.status == AppointmentStatus.SCHEDULED
    moved = await Appointment.get(id=old.id)
    assert moved.status == AppointmentStatus.CANCELLED and moved.cancel_reason == "rescheduled"
    assert await LedgerEntry.filter(appointment_id=old.id).count() == 0  # no fee
    assert await AuditEvent.filter(action="appointment.reschedule").count() == 1
    # The old time is free again for someone else.
    slots = await open_slots(
        SlotQuery(cast.practice, local(7, 0).date(), local(7, 0).date(), "America/New_York")
    )
    assert local(7, 9, 30) in {s.starts_at for s in slots}


async def test_undoing_a_reschedule_puts_the_old_appointment_back(cast):
    await office_hours(cast, scheduling_mode="instant")
    alice = await user_of(cast.alice)
    old = await book(cast.alice, request(cast, local(7, 10)), by=alice)
    new = await reschedule(old, request(cast, local(8, 10)), by=alice)
    await undo_booking(new, by=alice)
    assert (await Appointment.get(id=old.id)).status == AppointmentStatus.SCHEDULED
    assert (await Appointment.get(id=new.id)).status == AppointmentStatus.CANCELLED


async def test_reschedule_refuses_past_cancelled_and_blocked_appointments(cast):
    await office_hours(cast)
    alice = await user_of(cast.alice)
    with pytest.raises(RuleError) as exc:
        await reschedule(cast.a_past, request(cast, local(7, 10)), by=alice)
    assert exc.value.code == "appointment_not_reschedulable"
    # a_tomorrow is 10 hours away: inside the 24 hours where cancelling is blocked.
    with pytest.raises(RuleError) as exc:
        await reschedule(cast.a_tomorrow, request(cast, local(7, 10)), by=alice)
    assert exc.value.code == "appointment_too_late_to_cancel"
    assert (await Appointment.get(id=cast.a_tomorrow.id)).status == AppointmentStatus.SCHEDULED
    # The cap does not apply to a reschedule.
    cast.practice.portal_settings = {"booking_max_upcoming": 2}
    await cast.practice.save()
    assert await reschedule(cast.a_soon, request(cast, local(7, 10)), by=alice)


def test_undo_window_is_three_minutes():
    assert timedelta(minutes=3) == UNDO_WINDOW


# ---------------------------------------------------------------- waitlist holds


async def test_a_waitlist_hold_is_taken_for_others_and_bookable_by_its_client(cast):
    from models.scheduling import WaitlistEntry, WaitlistOffer

    await office_hours(cast)
    now = clock.now()
    entry = await WaitlistEntry.create(client=cast.alice, created_at=now, updated_at=now)
    at = local(7, 10, 5)  # a freed time off the grid
    await WaitlistOffer.create(
        entry=entry,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=at,
        ends_at=at + timedelta(minutes=45),
        token_hash="x" * 64,
        hold_until=now + timedelta(minutes=15),
        created_at=now,
    )
    day = at.astimezone(NY).date()
    q = SlotQuery(cast.practice, day, day, "America/New_York", client=cast.bob)
    times = {s.starts_at for s in await open_slots(q)}
    assert local(7, 10) not in times and local(7, 9) in times  # 9:00 + 55 min ends before
    q.client = cast.alice
    assert local(7, 10) in {s.starts_at for s in await open_slots(q)}
    with pytest.raises(RuleError) as exc:
        await book(cast.bob, request(cast, local(7, 10)), by=await user_of(cast.bob))
    assert exc.value.code == "slot_taken"
    appt = await book(cast.alice, request(cast, at), by=await user_of(cast.alice), via="waitlist")
    assert appt.starts_at == at and appt.created_via == "waitlist"
    assert appt.location_id == cast.office.id
    # Once the hold lapses, the rest of the day is open to everyone again.
    clock.travel(timedelta(minutes=16))
    await Appointment.filter(id=appt.id).update(status=AppointmentStatus.CANCELLED)
    assert await book(cast.bob, request(cast, local(7, 10)), by=await user_of(cast.bob))
