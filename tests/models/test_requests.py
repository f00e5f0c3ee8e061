"""Staff decisions on appointment requests: accept, decline, undo within 3 minutes."""

import asyncio
from datetime import timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.errors import RuleError
from models.requests import accept_request, can_undo, decline_request, undo_decision
from models.scheduling import Appointment, AppointmentStatus

JUST_IN_TIME = timedelta(minutes=2, seconds=59)
TOO_LATE = timedelta(minutes=3, seconds=1)


BASE = timedelta(days=5, hours=2)
NOW = {}


@pytest.fixture(autouse=True)
def _anchor():
    """One "now" per test, so that times built from the same offsets meet exactly."""
    NOW["at"] = clock.now()


async def request_for(cast, who=None, starts_in=BASE, minutes=45, **kw):
    """An appointment of Penny's starting ``starts_in`` after the test's start."""
    start = NOW["at"] + starts_in
    return await Appointment.create(
        client=who or cast.alice,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        status=kw.pop("status", AppointmentStatus.REQUESTED),
        created_via="portal",
        **kw,
    )


async def without_overlap_constraint():
    """Let overlapping appointments exist, to test the application's own check (as on
    SQLite): PostgreSQL's exclusion constraint would refuse to create them at all."""
    from tortoise import connections

    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(
            "ALTER TABLE appointment DROP CONSTRAINT IF EXISTS appointment_no_double_booking"
        )


async def fields_of(appointment):
    fresh = await Appointment.get(id=appointment.id)
    return fresh.status, fresh.decided_at, fresh.decided_by_id, fresh.version


async def status(appointment) -> str:
    return str((await Appointment.get(id=appointment.id)).status)


async def actions():
    return [
        e.action
        for e in await AuditEvent.filter(action__startswith="appointment.request").order_by("id")
    ]


async def test_accepting_schedules_it_once_and_audits_who(cast):
    request = await request_for(cast)
    sid = await cast.sid.user
    done = await accept_request(request, by=sid, ip="203.0.113.9")
    again = await accept_request(request, by=sid, ip="203.0.113.9")
    assert done.status == again.status == AppointmentStatus.SCHEDULED
    status, decided_at, decided_by, version = await fields_of(request)
    assert status == "scheduled" and decided_by == sid.id and version == 2
    assert decided_at is not None and abs(decided_at - clock.now()) < timedelta(seconds=5)
    events = await AuditEvent.filter(action="appointment.request_accepted")
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == sid.id and event.client_id == cast.alice.id
    assert event.category == "appointments" and event.ip == "203.0.113.9"
    assert event.object_type == "appointment" and event.object_id == str(request.id)


async def test_declining_records_the_reason_once(cast):
    request = await request_for(cast)
    await decline_request(request, by=cast.sid.user_id, reason="Fully booked that week")
    await decline_request(request, by=cast.sid.user_id, reason="again")
    fresh = await Appointment.get(id=request.id)
    assert fresh.status == "declined" and fresh.cancel_reason == "Fully booked that week"
    assert fresh.decided_by_id == cast.sid.user_id and fresh.decided_at is not None
    assert await actions() == ["appointment.request_declined"]


@pytest.mark.parametrize("decide", [accept_request, decline_request])
async def test_a_decision_can_be_undone_at_2_59(cast, decide):
    request = await request_for(cast)
    await decide(request, by=cast.sid.user_id)
    clock.travel(JUST_IN_TIME)
    assert can_undo(await Appointment.get(id=request.id))
    undone = await undo_decision(request, by=cast.ada.user_id, ip="198.51.100.1")
    assert undone.status == AppointmentStatus.REQUESTED
    status, decided_at, decided_by, _ = await fields_of(request)
    assert (status, decided_at, decided_by) == ("requested", None, None)
    assert (await Appointment.get(id=request.id)).cancel_reason == ""
    # Undoing again changes nothing; the request can be decided afresh.
    await undo_decision(request, by=cast.ada.user_id)
    event = await AuditEvent.get(action="appointment.request_decision_undone")
    assert event.actor_id == cast.ada.user_id and event.ip == "198.51.100.1"
    assert event.details["undone"] in ("scheduled", "declined")
    assert len(await actions()) == 2
    await decide(request, by=cast.sid.user_id)
    assert (await Appointment.get(id=request.id)).status != "requested"


@pytest.mark.parametrize("decide", [accept_request, decline_request])
async def test_undo_after_3_01_is_too_late_and_changes_nothing(cast, decide):
    request = await request_for(cast)
    await decide(request, by=cast.sid.user_id)
    before = await fields_of(request)
    clock.travel(TOO_LATE)
    assert not can_undo(await Appointment.get(id=request.id))
    with pytest.raises(RuleError) as exc:
        await undo_decision(request, by=cast.sid.user_id)
    assert exc.value.code == "undo_too_late"
    assert await fields_of(request) == before
    assert len(await actions()) == 1


@pytest.mark.parametrize("other", ["requested", "scheduled", "confirmed"])
async def test_accepting_refuses_a_time_the_provider_has_taken_otherwise(cast, other):
    await without_overlap_constraint()
    request = await request_for(cast)
    await request_for(cast, cast.bob, BASE + timedelta(minutes=30), status=other)
    before = await fields_of(request)
    with pytest.raises(RuleError) as exc:
        await accept_request(request, by=cast.sid.user_id)
    assert exc.value.code == "slot_taken"
    assert await fields_of(request) == before
    assert await actions() == []


async def test_touching_cancelled_declined_or_other_providers_do_not_block_acceptance(cast):
    request = await request_for(cast)
    # Ends exactly when the request starts; starts exactly when it ends.
    await request_for(cast, cast.bob, BASE - timedelta(minutes=45), status="scheduled")
    await request_for(cast, cast.bob, BASE + timedelta(minutes=45), status="confirmed")
    await request_for(cast, cast.bob, BASE, status="cancelled")
    await request_for(cast, cast.bob, BASE, status="late_cancelled")
    await request_for(cast, cast.bob, BASE, status="declined")
    # Another provider's appointment at the same time is theirs.
    other = await request_for(cast, cast.bob, BASE, status="cancelled")
    await Appointment.filter(id=other.id).update(provider_id=cast.sid.id, status="scheduled")
    assert (await accept_request(request, by=cast.sid.user_id)).status == "scheduled"


async def test_undoing_a_decline_is_refused_once_the_time_is_taken(cast):
    request = await request_for(cast)
    await decline_request(request, by=cast.sid.user_id)
    await request_for(cast, cast.bob, BASE + timedelta(minutes=15), status="scheduled")
    before = await fields_of(request)
    clock.travel(timedelta(minutes=1))
    with pytest.raises(RuleError) as exc:
        await undo_decision(request, by=cast.sid.user_id)
    assert exc.value.code == "slot_taken"
    assert await fields_of(request) == before
    assert await actions() == ["appointment.request_declined"]


async def test_accepting_and_undoing_a_decline_over_one_time_at_once_give_one_booking(cast):
    """Two staff at once: one accepts a request, the other undoes the decline of another
    request for an overlapping time. Exactly one of them gets that time."""
    waiting = await request_for(cast)
    declined = await request_for(
        cast,
        cast.bob,
        BASE + timedelta(minutes=15),
        status="declined",  # a minute ago: its time is free again
        decided_at=clock.now() - timedelta(minutes=1),
        decided_by_id=cast.sid.user_id,
    )
    results = await asyncio.gather(
        accept_request(waiting, by=cast.sid.user_id),
        undo_decision(declined, by=cast.ada.user_id),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RuleError)]
    assert len(refused) == 1 and refused[0].code == "slot_taken", results
    statuses = sorted([await status(waiting), await status(declined)])
    assert statuses in (["declined", "scheduled"], ["requested", "requested"])
    assert len(await actions()) == 1


async def test_a_decided_request_cannot_be_decided_the_other_way(cast):
    accepted = await request_for(cast)
    declined = await request_for(cast, cast.bob, timedelta(days=6))
    await accept_request(accepted, by=cast.sid.user_id)
    await decline_request(declined, by=cast.sid.user_id)
    for action, appointment in ((decline_request, accepted), (accept_request, declined)):
        with pytest.raises(RuleError) as exc:
            await action(appointment, by=cast.sid.user_id)
        assert exc.value.code == "request_not_pending"
    assert len(await actions()) == 2


async def test_only_requests_are_decided_and_only_decisions_undone(cast):
    # a_soon was scheduled by staff: it is no request, and there is nothing to undo.
    for action in (accept_request, decline_request):
        with pytest.raises(RuleError) as exc:
            await action(cast.a_soon, by=cast.sid.user_id)
        assert exc.value.code == "request_not_pending"
    with pytest.raises(RuleError) as exc:
        await undo_decision(cast.a_soon, by=cast.sid.user_id)
    assert exc.value.code == "request_not_undoable"
    # An accepted request the client then confirmed is no longer a decision to undo.
    request = await request_for(cast)
    await accept_request(request, by=cast.sid.user_id)
    await request.confirm(by=cast.alice.user_id, via="web")
    with pytest.raises(RuleError) as exc:
        await undo_decision(request, by=cast.sid.user_id)
    assert exc.value.code == "request_not_undoable"
    assert (await Appointment.get(id=request.id)).status == "confirmed"


async def test_a_request_whose_time_has_passed_cannot_be_accepted_but_can_be_declined(cast):
    request = await request_for(cast, starts_in=timedelta(hours=1))
    clock.travel(timedelta(hours=2))
    with pytest.raises(RuleError) as exc:
        await accept_request(request, by=cast.sid.user_id)
    assert exc.value.code == "request_in_past"
    assert (await decline_request(request, by=cast.sid.user_id)).status == "declined"
