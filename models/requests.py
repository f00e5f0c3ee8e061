"""Appointment requests: staff accept or decline them, and may undo either for 3 minutes.

A client's request is an appointment in ``REQUESTED``. Accepting schedules it
(``SCHEDULED``), declining ends it (``DECLINED``); both record ``decided_at`` and
``decided_by``. Within ``UNDO_WINDOW`` of the decision, ``undo_decision`` puts it
back to ``REQUESTED`` and clears both (the audit trail keeps who did what).

Each action is one transaction on the locked appointment and is idempotent:
accepting an accepted request, declining a declined one, or undoing a decision
already undone returns the appointment unchanged.

Accepting never double-books: under the provider's row lock (SQLite holds the
whole write lock from ``BEGIN IMMEDIATE``) it refuses with ``slot_taken`` when
another requested, scheduled or confirmed appointment of that provider overlaps
the time (the statuses PostgreSQL's exclusion constraint covers; its refusal
is mapped to ``slot_taken`` too). Undoing a decline puts the request back on
the calendar, so it is refused the same way when the time was taken meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.people import StaffMember
from models.reminders import replan
from models.scheduling import UPCOMING_STATUSES, Appointment, AppointmentStatus

UNDO_WINDOW = timedelta(minutes=3)
# Appointments that hold their time on the provider's calendar (a request holds it too).
HOLDING_STATUSES = list(UPCOMING_STATUSES)
DECIDED_STATUSES = [AppointmentStatus.SCHEDULED, AppointmentStatus.DECLINED]


def can_undo(appointment: Appointment) -> bool:
    """Whether the decision on this appointment can still be undone (for showing Undo)."""
    return (
        appointment.status in DECIDED_STATUSES
        and appointment.decided_at is not None
        and clock.now() - appointment.decided_at <= UNDO_WINDOW
    )


def undo_until(appointment: Appointment):
    return appointment.decided_at + UNDO_WINDOW if appointment.decided_at else None


async def _overlapping(fresh: Appointment) -> bool:
    return (
        await Appointment.filter(
            provider_id=fresh.provider_id,
            status__in=HOLDING_STATUSES,
            starts_at__lt=fresh.ends_at,
            ends_at__gt=fresh.starts_at,
        )
        .exclude(id=fresh.id)
        .exists()
    )


async def _audit(by, action: str, fresh: Appointment, ip: str, **details) -> None:
    await audit(
        by,
        action,
        client_id=fresh.client_id,
        obj=fresh,
        category="appointments",
        via="web",
        ip=ip,
        **details,
    )


async def _lock_with_provider(appointment: Appointment) -> Appointment:
    """The appointment, locked, after its provider's row (the parent first: one order for all)."""
    await StaffMember.select_for_update().get(id=appointment.provider_id)
    fresh = await Appointment.select_for_update().get(id=appointment.id)
    if fresh.provider_id != appointment.provider_id:
        await StaffMember.select_for_update().get(id=fresh.provider_id)
    return fresh


async def accept_request(appointment: Appointment, *, by, ip: str = "") -> Appointment:
    """Schedule a requested appointment, unless its time is no longer free."""
    try:
        async with in_transaction():
            fresh = await _lock_with_provider(appointment)
            if fresh.status == AppointmentStatus.SCHEDULED and fresh.decided_at is not None:
                return fresh  # already accepted
            if fresh.status != AppointmentStatus.REQUESTED:
                raise RuleError("request_not_pending")
            if fresh.starts_at <= clock.now():
                raise RuleError("request_in_past")
            if await _overlapping(fresh):
                raise RuleError("slot_taken")
            fresh.status = AppointmentStatus.SCHEDULED
            fresh.decided_at = clock.now()
            fresh.decided_by_id = getattr(by, "id", by)
            fresh.version += 1
            await fresh.save(update_fields=["status", "decided_at", "decided_by_id", "version"])
            await _audit(by, "appointment.request_accepted", fresh, ip)
            await replan(fresh.client_id)
    except IntegrityError as exc:
        # A database constraint against overlapping appointments (PostgreSQL) said no.
        raise RuleError("slot_taken") from exc
    return fresh


async def decline_request(
    appointment: Appointment, *, by, reason: str = "", ip: str = ""
) -> Appointment:
    """Decline a requested appointment; ``reason`` is kept in ``cancel_reason``."""
    async with in_transaction():
        fresh = await Appointment.select_for_update().get(id=appointment.id)
        if fresh.status == AppointmentStatus.DECLINED:
            return fresh  # already declined
        if fresh.status != AppointmentStatus.REQUESTED:
            raise RuleError("request_not_pending")
        fresh.status = AppointmentStatus.DECLINED
        fresh.decided_at = clock.now()
        fresh.decided_by_id = getattr(by, "id", by)
        fresh.cancel_reason = (reason or "")[:200]
        fresh.version += 1
        await fresh.save(
            update_fields=["status", "decided_at", "decided_by_id", "cancel_reason", "version"]
        )
        await _audit(by, "appointment.request_declined", fresh, ip)
        await replan(fresh.client_id)
    return fresh


async def undo_decision(appointment: Appointment, *, by, ip: str = "") -> Appointment:
    """Put an accepted or declined request back to waiting, within 3 minutes of the decision."""
    try:
        async with in_transaction():
            fresh = await _lock_with_provider(appointment)
            if fresh.status == AppointmentStatus.REQUESTED:
                return fresh  # nothing decided (or already undone)
            if fresh.status not in DECIDED_STATUSES or fresh.decided_at is None:
                raise RuleError("request_not_undoable")
            if clock.now() - fresh.decided_at > UNDO_WINDOW:
                raise RuleError("undo_too_late")
            # A declined request gave its time up: someone may have taken it since.
            if fresh.status == AppointmentStatus.DECLINED and await _overlapping(fresh):
                raise RuleError("slot_taken")
            undone = str(fresh.status)
            fresh.status = AppointmentStatus.REQUESTED
            fresh.decided_at = None
            fresh.decided_by_id = None
            fresh.cancel_reason = ""
            fresh.version += 1
            await fresh.save(
                update_fields=["status", "decided_at", "decided_by_id", "cancel_reason", "version"]
            )
            await _audit(by, "appointment.request_decision_undone", fresh, ip, undone=undone)
            await replan(fresh.client_id)
    except IntegrityError as exc:
        raise RuleError("slot_taken") from exc
    return fresh
