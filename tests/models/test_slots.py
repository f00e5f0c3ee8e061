"""The slot engine (models/slots.py): properties over random calendars, daylight
saving changes, time zones, and the rules that pick providers and services.

The property test runs each example in its own event loop against one throwaway
database (every example makes its own practice, so examples do not see each
other), and compares the engine with a slow, literal oracle written with
datetimes instead of epoch arithmetic, then checks the promises directly: no slot
overlaps a busy appointment plus buffers, every slot lies inside availability and
outside time off, and notice and horizon hold.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import clock
from models.db import close_db, init_db
from models.people import Client, StaffMember, User
from models.practice import Location, Practice, Service
from models.scheduling import (
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityBlock,
    AvailabilityException,
)
from models.slots import (
    Slot,
    SlotQuery,
    booking_blocked_reason,
    days_with_slots,
    open_slots,
    slot_is_open,
)
from tests.conftest import PG_URL, _with_database, pg_admin

EXAMPLES = int(os.environ.get("SLOT_EXAMPLES", "60"))
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute change
    "America/Havana",  # changes at midnight
    "Asia/Kolkata",
    "Pacific/Auckland",
    "UTC",
]
# Days with a change in some zone above, in 2027: now lands near them often.
ANCHORS = [
    datetime(2027, 3, 14, 7, tzinfo=UTC),
    datetime(2027, 11, 7, 6, tzinfo=UTC),
    datetime(2027, 3, 28, 1, tzinfo=UTC),
    datetime(2027, 10, 31, 1, tzinfo=UTC),
    datetime(2027, 4, 4, 0, tzinfo=UTC),
    datetime(2027, 10, 3, 0, tzinfo=UTC),
    datetime(2027, 9, 26, 0, tzinfo=UTC),
]
BUSY = {s.value for s in UPCOMING_STATUSES}


def set_now(moment: datetime) -> None:
    clock.reset()
    clock.travel(moment - clock.now())


# ---------------------------------------------------------------- the database per test


@pytest.fixture
def sync_database_url(template_db, tmp_path):
    """Like ``database_url``, for plain (non-async) tests that run their own loops."""
    if PG_URL:
        name = f"portal_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
        yield _with_database(PG_URL, name)
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "slots.db"
        shutil.copyfile(template_db, path)
        yield f"sqlite://{path}"


def run_with_db(url: str, coro_fn, *args):
    async def main():
        await init_db(url)
        try:
            return await coro_fn(*args)
        finally:
            await close_db()

    try:
        return asyncio.run(main())
    finally:
        clock.reset()


# ---------------------------------------------------------------- random calendars


@dataclass
class World:
    now: datetime
    practice_tz: str
    client_tz: str
    step: int
    notice: int
    short_notice: int
    within_24h: bool
    horizon: int
    # (weekday, start, end, location key, modality)
    blocks: list = field(default_factory=list)
    # (day offset, kind, start or None, end, location key, modality)
    exceptions: list = field(default_factory=list)
    # (minutes from the first day's midnight, duration, status, service key)
    appointments: list = field(default_factory=list)
    services: list = field(default_factory=list)  # (duration, buffer, self_schedulable)
    query_service: int | None = None  # index into services; None: "I don't know"
    query_offset: int = 0
    query_days: int = 7
    telehealth: bool | None = None
    location: str | None = None  # "office" | "annex" | None
    second: tuple = ("provider", True, True, None)  # roles kind, active, self-sched, notice


LOCATIONS = ["office", "video", "annex", None]  # annex is inactive, video is telehealth
MODALITIES = ["in_person", "telehealth", "both"]


@st.composite
def worlds(draw) -> World:
    if draw(st.booleans()):
        anchor = draw(st.sampled_from(ANCHORS))
        now = anchor + timedelta(minutes=draw(st.integers(-5 * 1440, 2 * 1440)))
    else:
        now = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 365 * 1440)))
    minute = st.integers(0, 96).map(lambda q: q * 15)
    blocks = []
    for _ in range(draw(st.sampled_from([0, 1, 2, 3, 4, 6, 8, 10]))):
        start = draw(minute)
        end = min(1440, start + draw(st.integers(1, 40)) * 15)
        blocks.append(
            (
                draw(st.integers(0, 6)),
                start,
                end,
                draw(st.sampled_from(LOCATIONS)),
                draw(st.sampled_from(MODALITIES)),
            )
        )
    if draw(st.booleans()):  # office hours every day, so that appointments bite
        blocks += [(weekday, 9 * 60, 17 * 60, "office", "both") for weekday in range(7)]
    exceptions = []
    for _ in range(draw(st.integers(0, 4))):
        whole = draw(st.booleans())
        start = draw(minute)
        exceptions.append(
            (
                draw(st.integers(-1, 16)),
                draw(st.sampled_from(["off", "extra"])),
                None if whole else start,
                None if whole else min(1440, start + draw(st.integers(1, 24)) * 15),
                draw(st.sampled_from(LOCATIONS)),
                draw(st.sampled_from(MODALITIES)),
            )
        )
    services = [
        (
            draw(st.integers(3, 24)) * 5,
            draw(st.integers(0, 6)) * 5,
            draw(st.sampled_from([True, True, True, False])),
        )
        for _ in range(2)
    ]
    appointments = [
        (
            draw(st.integers(-1440, 17 * 1440)) // 5 * 5,
            draw(st.integers(3, 24)) * 5,
            draw(st.sampled_from(list(AppointmentStatus))).value,
            draw(st.sampled_from([0, 1, None])),
        )
        for _ in range(draw(st.sampled_from([0, 2, 5, 10, 20])))
    ]
    return World(
        now=now,
        practice_tz=draw(st.sampled_from(ZONES)),
        client_tz=draw(st.sampled_from(ZONES)),
        step=draw(st.sampled_from([10, 15, 20, 30, 45, 60])),
        notice=draw(st.sampled_from([0, 1, 2, 12, 24, 48])),
        short_notice=draw(st.integers(0, 6)),
        within_24h=draw(st.booleans()),
        horizon=draw(st.sampled_from([2, 7, 14, 30])),
        blocks=blocks,
        exceptions=exceptions,
        appointments=appointments,
        services=services,
        query_service=draw(st.sampled_from([0, 1, None])),
        query_offset=draw(st.integers(-1, 5)),
        query_days=draw(st.integers(1, 14)),
        telehealth=draw(st.sampled_from([None, None, True, False])),
        location=draw(st.sampled_from([None] * 6 + ["office", "annex"])),
        second=(
            draw(st.sampled_from(["provider", "scheduler"])),
            draw(st.booleans()),
            draw(st.booleans()),
            draw(st.sampled_from([None, 0, 3, 30])),
        ),
    )


@dataclass
class Built:
    practice: Practice
    providers: list[StaffMember]
    eligible: list[StaffMember]
    locations: dict
    services: list[Service]
    query: SlotQuery
    blocks: list  # (provider id, weekday, start, end, location id, modality)
    exceptions: list  # (provider id, date, kind, start, end, location id, modality)
    busy: list  # (provider id, start, end + buffer)


async def build(world: World) -> Built:
    practice = await Practice.create(
        name="P",
        time_zone=world.practice_tz,
        portal_settings={
            "slot_step_minutes": world.step,
            "booking_min_notice_hours": world.notice,
            "booking_short_notice_hours": world.short_notice,
            "within_24h": world.within_24h,
            "booking_horizon_days": world.horizon,
        },
    )
    locations = {
        "office": await Location.create(practice=practice, name="Office"),
        "video": await Location.create(practice=practice, name="Video", telehealth=True),
        "annex": await Location.create(practice=practice, name="Annex", active=False),
        None: None,
    }
    services = [
        await Service.create(
            practice=practice,
            name=f"S{i}",
            duration_minutes=duration,
            buffer_minutes=buffer,
            self_schedulable=own,
        )
        for i, (duration, buffer, own) in enumerate(world.services)
    ]
    tag = uuid.uuid4().hex[:10]
    people = []
    for i in range(2):
        user = await User.create(email=f"p{i}-{tag}@test.example", display_name=f"P{i}")
        kind, active, own, notice = world.second if i else ("provider", True, True, None)
        overrides = {} if own else {"self_scheduling": False}
        if notice is not None:
            overrides["booking_min_notice_hours"] = notice
        people.append(
            await StaffMember.create(
                practice=practice,
                user=user,
                roles=[kind],
                active=active,
                portal_overrides=overrides,
            )
        )
    eligible = [
        p
        for p in people
        if p.active and "provider" in p.roles and p.portal_overrides.get("self_scheduling", True)
    ]
    client_zone = ZoneInfo(world.client_tz)
    first = world.now.astimezone(client_zone).date() + timedelta(days=world.query_offset)
    practice_first = datetime.combine(first, time(0), ZoneInfo(world.practice_tz))
    blocks, exceptions, busy = [], [], []
    for provider in people:
        for weekday, start, end, loc, modality in world.blocks:
            location = locations[loc]
            await AvailabilityBlock.create(
                provider=provider,
                weekday=weekday,
                start_minute=start,
                end_minute=end,
                location=location,
                modality=modality,
            )
            blocks.append((provider.id, weekday, start, end, location and location.id, modality))
        for offset, kind, start, end, loc, modality in world.exceptions:
            location = locations[loc]
            day = first + timedelta(days=offset)
            await AvailabilityException.create(
                provider=provider,
                date=day,
                kind=kind,
                start_minute=start,
                end_minute=end,
                location=location,
                modality=modality,
            )
            exceptions.append(
                (provider.id, day, kind, start, end, location and location.id, modality)
            )
        client = await Client.create(
            practice=practice,
            number=f"C{provider.id}-{tag}",
            first_name="C",
            last_name="X",
        )
        held: list[tuple[datetime, datetime]] = []
        for offset, duration, status, service_key in world.appointments:
            starts = practice_first.astimezone(UTC) + timedelta(minutes=offset)
            service = None if service_key is None else services[service_key]
            ends = starts + timedelta(minutes=duration)
            if status in BUSY:
                # The database refuses overlapping live appointments (PostgreSQL's
                # exclusion constraint): such a draw becomes a cancelled one.
                if any(s < ends and starts < e for s, e in held):
                    status = AppointmentStatus.CANCELLED.value
                else:
                    held.append((starts, ends))
            await Appointment.create(
                client=client,
                provider=provider,
                service=service,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=duration),
                status=status,
            )
            if status in BUSY:
                buffer = 10 if service is None else service.buffer_minutes
                end = starts + timedelta(minutes=duration + buffer)
                busy.append((provider.id, starts, end))
    query = SlotQuery(
        practice=practice,
        start=first,
        end=first + timedelta(days=world.query_days - 1),
        tz=world.client_tz,
        service=None if world.query_service is None else services[world.query_service],
        telehealth=world.telehealth,
        location_id=locations[world.location].id if world.location else None,
    )
    return Built(practice, people, eligible, locations, services, query, blocks, exceptions, busy)


# ---------------------------------------------------------------- the oracle


def wall(zone: ZoneInfo, day: date, minute: int) -> tuple[datetime, bool]:
    """The instant of a wall time (fold=0), and whether that wall time exists."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    aware = naive.replace(tzinfo=zone)
    exists = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    return aware.astimezone(UTC), exists


def length_of(world: World, built: Built) -> tuple[int, int] | None:
    if world.query_service is not None:
        duration, buffer, own = world.services[world.query_service]
        return (duration, buffer) if own else None
    for duration, buffer, own in world.services:
        if own:
            return duration, buffer
    return 50, 10


def oracle(world: World, built: Built) -> set[tuple]:
    """Every open slot, by the rules read literally (datetimes, no shortcuts)."""
    length = length_of(world, built)
    if length is None or (world.telehealth is True and world.location):
        return set()
    duration, own_buffer = timedelta(minutes=length[0]), timedelta(minutes=length[1])
    pzone, czone = ZoneInfo(world.practice_tz), ZoneInfo(world.client_tz)
    q = built.query
    lo = datetime.combine(q.start, time(0), czone).astimezone(UTC)
    hi = datetime.combine(q.end + timedelta(days=1), time(0), czone).astimezone(UTC)
    office = built.locations["office"].id
    want_location = q.location_id
    found: dict[tuple, list] = {}
    for provider in built.eligible:
        notice = provider.portal_overrides.get("booking_min_notice_hours", world.notice)
        if world.within_24h:
            notice = world.short_notice
        earliest = max(lo, world.now + timedelta(hours=notice))
        latest = min(hi, world.now + timedelta(days=world.horizon))
        day = lo.astimezone(pzone).date() - timedelta(days=1)
        while day <= hi.astimezone(pzone).date() + timedelta(days=1):
            offs = [
                (0 if s is None else s, 1440 if e is None else e)
                for pid, d, kind, s, e, _, _ in built.exceptions
                if pid == provider.id and d == day and kind == "off"
            ]
            spans = [
                (s, e, loc, mod, False)
                for pid, wd, s, e, loc, mod in built.blocks
                if pid == provider.id and wd == day.weekday()
            ] + [
                (0 if s is None else s, 1440 if e is None else e, loc, mod, True)
                for pid, d, kind, s, e, loc, mod in built.exceptions
                if pid == provider.id and d == day and kind == "extra"
            ]
            for s0, e0, loc, modality, extra in spans:
                tele = modality in ("telehealth", "both") and want_location is None
                person = modality in ("in_person", "both") and loc == office
                if want_location is not None and loc != want_location:
                    person = False
                tele = tele and world.telehealth is not False
                person = person and world.telehealth is not True
                if not (tele or person):
                    continue
                end_at, _ = wall(pzone, day, e0)
                for m in range(s0, e0, world.step):
                    start, exists = wall(pzone, day, m)
                    if not exists:
                        continue
                    end = start + duration
                    if end > end_at or start < earliest or start >= latest:
                        continue
                    if not extra and any(
                        start < wall(pzone, day, b)[0] and wall(pzone, day, a)[0] < end
                        for a, b in offs
                    ):
                        continue
                    if any(
                        pid == provider.id and start < b_end and b_start < end + own_buffer
                        for pid, b_start, b_end in built.busy
                    ):
                        continue
                    entry = found.setdefault((start, provider.id), [False, False, None])
                    entry[0] = entry[0] or tele
                    if person and not entry[1]:
                        entry[1], entry[2] = True, loc
            day += timedelta(days=1)
    return {
        (pid, start, start + duration, loc, tele, person)
        for (start, pid), (tele, person, loc) in found.items()
    }


def as_tuple(slot: Slot) -> tuple:
    return (
        slot.provider_id,
        slot.starts_at,
        slot.ends_at,
        slot.location_id,
        slot.telehealth,
        slot.in_person,
    )


async def check_world(world: World) -> None:
    set_now(world.now)
    built = await build(world)
    slots = await open_slots(built.query)
    got = [as_tuple(s) for s in slots]
    # Sorted, no duplicates, aware UTC.
    assert got == sorted(got, key=lambda t: (t[1], t[0]))
    assert len(set(got)) == len(got)
    assert all(s.starts_at.utcoffset() == timedelta(0) for s in slots)
    assert set(got) == oracle(world, built)
    from hypothesis import event

    event("slots: none" if not got else f"slots: {min(len(got), 50) // 10 * 10}+")
    event(f"busy: {len(built.busy) > 0}")

    # The promises, checked directly.
    length = length_of(world, built)
    pzone, czone = ZoneInfo(world.practice_tz), ZoneInfo(world.client_tz)
    for slot in slots:
        assert slot.ends_at - slot.starts_at == timedelta(minutes=length[0])
        assert slot.telehealth or slot.in_person
        assert (slot.location_id is not None) == slot.in_person
        local_day = slot.starts_at.astimezone(czone).date()
        assert built.query.start <= local_day <= built.query.end
        assert slot.starts_at - world.now < timedelta(days=world.horizon)
        assert slot.starts_at >= world.now  # at least no slot in the past
        own = timedelta(minutes=length[1])
        for pid, start, end in built.busy:
            if pid == slot.provider_id:
                assert not (slot.starts_at < end and start < slot.ends_at + own)
        local = slot.starts_at.astimezone(pzone)
        assert local.fold == 0
        # Inside a block or an extra of that day, and outside time off (unless extra).
        minute = local.hour * 60 + local.minute
        spans = [
            (s, e, False)
            for pid, wd, s, e, *_ in built.blocks
            if pid == slot.provider_id and wd == local.weekday()
        ] + [
            (0 if s is None else s, 1440 if e is None else e, True)
            for pid, d, kind, s, e, *_ in built.exceptions
            if pid == slot.provider_id and d == local.date() and kind == "extra"
        ]
        offs = [
            (0 if s is None else s, 1440 if e is None else e)
            for pid, d, kind, s, e, *_ in built.exceptions
            if pid == slot.provider_id and d == local.date() and kind == "off"
        ]

        def inside(s, e, extra, slot=slot, local=local, minute=minute, offs=offs):
            if not (s <= minute < e and (minute - s) % world.step == 0):
                return False
            if slot.ends_at > wall(pzone, local.date(), e)[0]:
                return False
            return extra or not any(
                slot.starts_at < wall(pzone, local.date(), b)[0]
                and wall(pzone, local.date(), a)[0] < slot.ends_at
                for a, b in offs
            )

        assert any(inside(*span) for span in spans)

    # The calendar dots agree with the slots.
    dots = days_with_slots(slots, world.client_tz)
    for slot in slots:
        kinds = dots[slot.starts_at.astimezone(czone).date()]
        assert ("telehealth" in kinds) >= slot.telehealth
        assert ("in_person" in kinds) >= slot.in_person


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_slots_match_the_rules_for_random_calendars(sync_database_url, world):
    run_with_db(sync_database_url, check_world, world)


# ---------------------------------------------------------------- fixed scenarios


async def practice_with(tz="America/New_York", **rules) -> tuple[Practice, StaffMember, Location]:
    defaults = {"booking_min_notice_hours": 0, "booking_horizon_days": 400}
    practice = await Practice.create(name="P", time_zone=tz, portal_settings=defaults | rules)
    office = await Location.create(practice=practice, name="Office")
    user = await User.create(email=f"{uuid.uuid4().hex[:8]}@test.example", display_name="P")
    provider = await StaffMember.create(practice=practice, user=user, roles=["provider"])
    return practice, provider, office


def local_times(slots: list[Slot], tz: str) -> list[str]:
    zone = ZoneInfo(tz)
    return [s.starts_at.astimezone(zone).strftime("%H:%M%z") for s in slots]


async def test_spring_forward_skips_the_missing_hour_and_keeps_real_durations(app):
    set_now(datetime(2027, 3, 1, tzinfo=UTC))
    practice, provider, office = await practice_with()
    await AvailabilityBlock.create(
        provider=provider, weekday=6, start_minute=0, end_minute=6 * 60, location=office
    )
    service = await Service.create(
        practice=practice, name="Hour", duration_minutes=60, buffer_minutes=0
    )
    day = date(2027, 3, 14)  # clocks go from 02:00 to 03:00
    slots = await open_slots(SlotQuery(practice, day, day, "America/New_York", service=service))
    assert local_times(slots, "America/New_York") == [
        "00:00-0500",
        "00:30-0500",
        "01:00-0500",
        "01:30-0500",
        "03:00-0400",
        "03:30-0400",
        "04:00-0400",
        "04:30-0400",
        "05:00-0400",
    ]
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)
    # The block is five real hours long: the last slot ends at 06:00 EDT.
    assert slots[-1].ends_at == datetime(2027, 3, 14, 10, tzinfo=UTC)


async def test_fall_back_takes_the_first_of_the_repeated_hour(app):
    set_now(datetime(2027, 11, 1, tzinfo=UTC))
    practice, provider, office = await practice_with()
    await AvailabilityBlock.create(
        provider=provider, weekday=6, start_minute=0, end_minute=4 * 60, location=office
    )
    service = await Service.create(
        practice=practice, name="Hour", duration_minutes=60, buffer_minutes=0
    )
    day = date(2027, 11, 7)  # clocks go from 02:00 back to 01:00
    slots = await open_slots(SlotQuery(practice, day, day, "America/New_York", service=service))
    assert local_times(slots, "America/New_York") == [
        "00:00-0400",
        "00:30-0400",
        "01:00-0400",
        "01:30-0400",
        "02:00-0500",
        "02:30-0500",
        "03:00-0500",
    ]
    # 00:00 EDT to 04:00 EST is five real hours.
    assert slots[-1].ends_at == datetime(2027, 11, 7, 9, tzinfo=UTC)
    assert slots[1].starts_at - slots[0].starts_at == timedelta(minutes=30)
    assert slots[4].starts_at - slots[3].starts_at == timedelta(minutes=90)


async def test_a_client_in_another_zone_sees_the_same_instants(app):
    set_now(datetime(2027, 3, 10, tzinfo=UTC))
    practice, provider, office = await practice_with()
    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=provider,
            weekday=weekday,
            start_minute=8 * 60,
            end_minute=20 * 60,
            location=office,
            modality="both",
        )
    start, end = date(2027, 3, 12), date(2027, 3, 18)  # across the change
    here = await open_slots(SlotQuery(practice, start, end, "America/New_York"))
    for tz in ("Asia/Tokyo", "Europe/Berlin", "Pacific/Honolulu"):
        wide = await open_slots(
            SlotQuery(practice, start - timedelta(days=1), end + timedelta(days=1), tz)
        )
        window = [s for s in wide if here[0].starts_at <= s.starts_at <= here[-1].starts_at]
        assert window == here
        # The days are the client's: Tokyo's calendar dots fall on Tokyo dates.
        dots = days_with_slots(wide, tz)
        assert all(s.starts_at.astimezone(ZoneInfo(tz)).date() in dots for s in window), tz
    # 08:00 New York is 08:00 local on both sides of the change, not 07:00 or 09:00.
    assert {s.starts_at.astimezone(ZoneInfo("America/New_York")).hour for s in here} >= {8}
    assert min(s.starts_at.astimezone(ZoneInfo("America/New_York")).hour for s in here) == 8


async def test_off_and_extra_replace_the_weekly_pattern_for_that_date(app):
    set_now(datetime(2027, 5, 1, tzinfo=UTC))
    practice, provider, office = await practice_with(slot_step_minutes=60)
    service = await Service.create(
        practice=practice, name="Hour", duration_minutes=60, buffer_minutes=0
    )
    monday, tuesday = date(2027, 5, 3), date(2027, 5, 4)
    for day in (monday, tuesday):
        await AvailabilityBlock.create(
            provider=provider,
            weekday=day.weekday(),
            start_minute=9 * 60,
            end_minute=13 * 60,
            location=office,
            modality="in_person",
        )
    # Monday: off all day, but two extra telehealth hours in the evening.
    await AvailabilityException.create(provider=provider, date=monday, kind="off")
    await AvailabilityException.create(
        provider=provider,
        date=monday,
        kind="extra",
        start_minute=18 * 60,
        end_minute=20 * 60,
        modality="telehealth",
    )
    # Tuesday: off from 10:00 to 11:00.
    await AvailabilityException.create(
        provider=provider, date=tuesday, kind="off", start_minute=600, end_minute=660
    )
    tz = "America/New_York"
    slots = await open_slots(SlotQuery(practice, monday, tuesday, tz, service=service))
    by_day = {}
    for slot in slots:
        by_day.setdefault(slot.starts_at.astimezone(ZoneInfo(tz)).date(), []).append(slot)
    assert local_times(by_day[monday], tz) == ["18:00-0400", "19:00-0400"]
    assert all(s.telehealth and not s.in_person for s in by_day[monday])
    assert local_times(by_day[tuesday], tz) == ["09:00-0400", "11:00-0400", "12:00-0400"]
    assert all(s.in_person and s.location_id == office.id for s in by_day[tuesday])
    assert days_with_slots(slots, tz) == {monday: {"telehealth"}, tuesday: {"in_person"}}


async def test_buffers_keep_appointments_apart(app):
    set_now(datetime(2027, 5, 1, tzinfo=UTC))
    practice, provider, office = await practice_with(slot_step_minutes=15)
    service = await Service.create(
        practice=practice, name="S", duration_minutes=45, buffer_minutes=15
    )
    day = date(2027, 5, 3)
    await AvailabilityBlock.create(
        provider=provider,
        weekday=day.weekday(),
        start_minute=9 * 60,
        end_minute=13 * 60,
        location=office,
    )
    client = await Client.create(practice=practice, number="CB", first_name="A", last_name="B")
    zone = ZoneInfo("America/New_York")
    starts = datetime(2027, 5, 3, 11, tzinfo=zone)
    await Appointment.create(
        client=client,
        provider=provider,
        service=service,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=45),
        status=AppointmentStatus.SCHEDULED,
    )
    slots = await open_slots(SlotQuery(practice, day, day, "America/New_York", service=service))
    times = local_times(slots, "America/New_York")
    # 10:00 + 45 + 15 buffer = 11:00: fine; 10:15 would run into it. After: 11:45 + 15.
    assert "10:00-0400" in times and "10:15-0400" not in times
    assert "11:45-0400" not in times and "12:00-0400" in times
    # A cancelled appointment holds nothing.
    await Appointment.filter(client=client).update(status=AppointmentStatus.CANCELLED)
    slots = await open_slots(SlotQuery(practice, day, day, "America/New_York", service=service))
    assert "11:00-0400" in local_times(slots, "America/New_York")


async def test_only_self_scheduling_providers_and_services(app):
    set_now(datetime(2027, 5, 1, tzinfo=UTC))
    practice, provider, office = await practice_with()
    day = date(2027, 5, 3)
    await AvailabilityBlock.create(
        provider=provider,
        weekday=day.weekday(),
        start_minute=9 * 60,
        end_minute=12 * 60,
        location=office,
    )
    q = SlotQuery(practice, day, day, "America/New_York")
    assert await open_slots(q)
    # "I don't know" with no self-schedulable service: 50 minutes.
    assert (await open_slots(q))[0].ends_at - (await open_slots(q))[0].starts_at == timedelta(
        minutes=50
    )
    hidden = await Service.create(practice=practice, name="Staff only", self_schedulable=False)
    q.service = hidden
    assert await open_slots(q) == []
    q.service = None
    provider.portal_overrides = {"self_scheduling": False}
    await provider.save()
    assert await open_slots(q) == []
    provider.portal_overrides = {}
    provider.roles = ["scheduler"]
    await provider.save()
    assert await open_slots(q) == []
    provider.roles = ["provider"]
    provider.active = False
    await provider.save()
    assert await open_slots(q) == []
    provider.active = True
    await provider.save()
    practice.portal_settings = practice.portal_settings | {"self_scheduling": False}
    await practice.save()
    assert await open_slots(q) == []


async def test_notice_horizon_and_the_within_24h_switch(app):
    now = datetime(2027, 5, 3, 12, tzinfo=UTC)  # Monday 08:00 in New York
    set_now(now)
    practice, provider, office = await practice_with(
        booking_min_notice_hours=24, booking_short_notice_hours=2, booking_horizon_days=3
    )
    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=provider,
            weekday=weekday,
            start_minute=0,
            end_minute=24 * 60,
            location=office,
        )
    q = SlotQuery(practice, date(2027, 5, 1), date(2027, 5, 31), "UTC")

    async def slots_now():
        set_now(now)  # the clock runs on while the test works
        return await open_slots(q)

    slots = await slots_now()
    assert slots[0].starts_at == now + timedelta(hours=24)
    assert slots[-1].starts_at < now + timedelta(days=3)
    assert slots[-1].starts_at >= now + timedelta(days=3) - timedelta(minutes=30)
    practice.portal_settings = practice.portal_settings | {"within_24h": True}
    await practice.save()
    assert (await slots_now())[0].starts_at == now + timedelta(hours=2)
    # The provider's own numbers win; a provider can turn within_24h off.
    provider.portal_overrides = {"booking_short_notice_hours": 5, "booking_horizon_days": 1}
    await provider.save()
    slots = await slots_now()
    assert slots[0].starts_at == now + timedelta(hours=5)
    assert slots[-1].starts_at < now + timedelta(days=1)
    provider.portal_overrides = {"within_24h": False}
    await provider.save()
    assert (await slots_now())[0].starts_at == now + timedelta(hours=24)


async def test_slot_is_open_checks_the_instant_and_the_modality(app):
    set_now(datetime(2027, 5, 1, tzinfo=UTC))
    practice, provider, office = await practice_with()
    day = date(2027, 5, 3)
    await AvailabilityBlock.create(
        provider=provider,
        weekday=day.weekday(),
        start_minute=9 * 60,
        end_minute=12 * 60,
        location=office,
        modality="in_person",
    )
    q = SlotQuery(practice, day, day, "America/New_York")
    at = datetime(2027, 5, 3, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    slot = await slot_is_open(q, provider.id, at, telehealth=False, location_id=office.id)
    assert slot is not None and slot.starts_at == at and slot.location_id == office.id
    assert await slot_is_open(q, provider.id, at, telehealth=False, location_id=None)
    assert await slot_is_open(q, provider.id, at, telehealth=True, location_id=None) is None
    other = await Location.create(practice=practice, name="Other")
    assert await slot_is_open(q, provider.id, at, telehealth=False, location_id=other.id) is None
    off_grid = at + timedelta(minutes=10)
    assert await slot_is_open(q, provider.id, off_grid, telehealth=False, location_id=None) is None
    fraction = at + timedelta(microseconds=5)
    assert await slot_is_open(q, provider.id, fraction, telehealth=False, location_id=None) is None
    assert await slot_is_open(q, provider.id + 99, at, telehealth=False, location_id=None) is None
    naive = at.replace(tzinfo=None)
    assert await slot_is_open(q, provider.id, naive, telehealth=False, location_id=None) is None


async def test_booking_blocked_reason_cap_and_switches(cast):
    practice = cast.practice
    # Alice holds two upcoming appointments (a_soon, a_tomorrow).
    assert await booking_blocked_reason(practice, cast.alice) is None
    practice.portal_settings = {"booking_max_upcoming": 2}
    await practice.save()
    assert await booking_blocked_reason(practice, cast.alice) == "booking_cap_reached"
    assert await booking_blocked_reason(practice, cast.dana) is None
    # The cap also empties the client's open slots.
    day = clock.now().date() + timedelta(days=5)
    await AvailabilityBlock.create(
        provider=cast.penny,
        weekday=day.weekday(),
        start_minute=9 * 60,
        end_minute=12 * 60,
        location=cast.office,
    )
    assert await open_slots(SlotQuery(practice, day, day, "UTC", client=cast.alice)) == []
    assert await open_slots(SlotQuery(practice, day, day, "UTC", client=cast.dana))
    cast.dana.portal_overrides = {"self_scheduling": False}
    await cast.dana.save()
    assert await booking_blocked_reason(practice, cast.dana) == "self_scheduling_off"
    practice.portal_settings = {"self_scheduling": False}
    await practice.save()
    assert await booking_blocked_reason(practice, cast.bob) == "self_scheduling_off"


async def test_the_demo_offers_each_provider_in_person_and_telehealth_days(app):
    from models.demo import seed_demo

    await seed_demo()
    practice = await Practice.get()
    zone = ZoneInfo(practice.time_zone)
    today = clock.now().astimezone(zone).date()
    q = SlotQuery(practice, today, today + timedelta(days=20), practice.time_zone)
    slots = await open_slots(q)
    for provider in await StaffMember.filter(practice=practice):
        if "provider" not in provider.roles:
            continue
        mine = [s for s in slots if s.provider_id == provider.id]
        kinds = set().union(*days_with_slots(mine, practice.time_zone).values())
        assert kinds == {"telehealth", "in_person"}, provider.id
    # "I don't know" is the 45-minute session: the practice books intakes itself.
    assert slots[0].ends_at - slots[0].starts_at == timedelta(minutes=45)
