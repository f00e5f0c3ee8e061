"""Booking an open slot: instant or as a request, rescheduling, and undo.

Never a double booking. The check (is this still an open slot?) and the insert
happen in one write transaction that is serialised per provider:

- SQLite: ``in_transaction()`` begins with ``BEGIN IMMEDIATE`` (models.sqlite_backend),
  so the whole check-and-insert runs under the database's write lock.
- PostgreSQL: ``pg_advisory_xact_lock`` on the client, then on the provider, inside
  the transaction (always in that order), then the check, then the insert. Behind
  it, the exclusion constraint of migrations/0005_no_double_booking.py refuses two
  requested/scheduled/confirmed appointments of one provider that overlap; its
  IntegrityError becomes ``RuleError("slot_taken")`` too.

Rule codes raised: "slot_taken" (another booking holds that time now: show fresh
times), "slot_not_offered" (not an open slot: past, outside availability, inside the
notice, beyond the horizon, another practice's service, tampered), "booking_cap_reached",
"self_scheduling_off", and for reschedule "appointment_not_reschedulable" (not an
upcoming appointment) and "appointment_too_late_to_cancel" (inside the blocked tier of
the cancellation policy); for undo "undo_too_late" and "undo_not_allowed".

Undo marks the appointment cancelled (``cancel_reason`` "undone"), it is not deleted:
the audit trail, waitlist offers and notices can still point at it, and a cancelled
appointment holds no time, so the slot is free again at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock, policy
from models.access import BOOKING, scopes_allow
from models.audit import AuditEvent, audit
from models.db import is_postgres
from models.errors import RuleError
from models.people import Client, Contact, StaffMember, User
from models.practice import Practice, Service
from models.reminders import replan
from models.scheduling import UPCOMING_STATUSES, Appointment, AppointmentStatus, WaitlistOffer
from models.settings import practice_settings, settings_for
from models.slots import (
    Length,
    Slot,
    SlotQuery,
    _find,
    booking_blocked_reason,
    overlapping,
    resolve_length,
)


@dataclass(frozen=True)
class BookingRequest:
    provider_id: int
    starts_at: datetime  # aware
    telehealth: bool
    location_id: int | None
    service_id: int | None  # None: "I don't know"


UNDO_WINDOW = timedelta(minutes=3)
# Advisory-lock namespaces (the two-key form of pg_advisory_xact_lock).
LOCK_CLIENT = 40
LOCK_PROVIDER = 41
RESCHEDULED = "rescheduled"
UNDONE = "undone"


def scheduling_mode(practice: Practice, provider: StaffMember) -> str:
    """ "instant" or "request": the provider's own choice where they made one
    (``portal_overrides["scheduling_mode"]``), else the practice's."""
    own = (provider.portal_overrides or {}).get("scheduling_mode")
    if own in ("instant", "request"):
        return own
    mode = practice_settings(practice)["scheduling_mode"].value
    return mode if mode in ("instant", "request") else "request"


# ---------------------------------------------------------------- public API


async def book(
    client: Client, request: BookingRequest, *, by: User, via: str = "web", ip: str = ""
) -> Appointment:
    """Book an open slot for ``client``: SCHEDULED where the scheduling mode is
    "instant", else REQUESTED (staff accept or decline it).

    A time held for this client by a live waitlist offer (same provider, start and
    modality) is theirs to take even off the availability grid: it was a booked
    time; only a live appointment on it refuses ("slot_taken")."""
    practice = await Practice.get(id=client.practice_id)
    try:
        async with in_transaction():
            await _lock(client.id, request.provider_id)
            blocked = await booking_blocked_reason(practice, client)
            if blocked:
                raise RuleError(blocked)
            held = await _held_for(client, request)
            if held is not None:
                provider, slot, length = await _take_held(practice, held)
            else:
                service, length = await _service(practice, request.service_id)
                provider, slot = await _take(practice, client, service, request)
            appointment = await _create(client, provider, practice, slot, length, by, via)
            await audit(
                by,
                "appointment.book",
                client_id=client.id,
                obj=appointment,
                category="appointments",
                via=via,
                ip=ip,
                status=str(appointment.status),
            )
            await replan(client.id)
    except IntegrityError as exc:  # the exclusion constraint (PostgreSQL) said no
        raise RuleError("slot_taken") from exc
    return appointment


async def reschedule(
    appointment: Appointment,
    request: BookingRequest,
    *,
    by: User,
    via: str = "web",
    ip: str = "",
) -> Appointment:
    """Take the new slot and cancel the old appointment (CANCELLED, no fee,
    ``cancel_reason`` "rescheduled") in one transaction; ``new.rescheduled_from`` is
    the old one. If the new slot cannot be had, the old appointment is untouched.
    The client's cap does not apply (one appointment replaces another); the blocked
    tier of the cancellation policy does."""
    client = await Client.get(id=appointment.client_id)
    practice = await Practice.get(id=client.practice_id)
    service, length = await _service(practice, request.service_id)
    try:
        async with in_transaction():
            await _lock(client.id, request.provider_id)
            old = await Appointment.select_for_update().get(id=appointment.id)
            now = clock.now()
            if old.status not in UPCOMING_STATUSES or old.starts_at <= now:
                raise RuleError("appointment_not_reschedulable")
            settings = await settings_for(client)
            if not settings["self_scheduling"] or not client.portal_enabled:
                raise RuleError("self_scheduling_off")
            old_provider = await StaffMember.get(id=old.provider_id)
            rules = policy.cancellation_rules(
                practice, old_provider, within_24h=bool(settings["within_24h"])
            )
            if policy.cancellation_terms(old, rules, now).tier == "blocked":
                raise RuleError("appointment_too_late_to_cancel")
            provider, slot = await _take(practice, client, service, request, exclude=(old.id,))
            from_status = str(old.status)
            # The old one goes first: on PostgreSQL the constraint would see both.
            old.status = AppointmentStatus.CANCELLED
            old.cancelled_at = now
            old.cancel_reason = RESCHEDULED
            old.version += 1
            await old.save(update_fields=["status", "cancelled_at", "cancel_reason", "version"])
            new = await _create(
                client, provider, practice, slot, length, by, via, rescheduled_from=old
            )
            await audit(
                by,
                "appointment.reschedule",
                client_id=client.id,
                obj=new,
                category="appointments",
                via=via,
                ip=ip,
                from_id=old.id,
                from_status=from_status,
                status=str(new.status),
            )
            await replan(client.id)
    except IntegrityError as exc:
        raise RuleError("slot_taken") from exc
    return new


async def undo_booking(appointment: Appointment, *, by: User, ip: str = "") -> None:
    """Undo a booking within UNDO_WINDOW of its creation (3:00 is still in), whatever
    the cancellation policy: the appointment is marked CANCELLED ("undone") and its
    time is free again. Undoing a reschedule also puts the old appointment back as it
    was, when its time is still free. Only the person who booked it, or someone on the
    client's side (the client, a contact with appointments access), may undo.
    Undoing twice is not an error."""
    providers = [appointment.provider_id]
    if appointment.rescheduled_from_id is not None:
        old_provider = await Appointment.filter(id=appointment.rescheduled_from_id).values_list(
            "provider_id", flat=True
        )
        providers += old_provider
    async with in_transaction():
        # The locks first, then the rows: the order book() and reschedule() use.
        await _lock(appointment.client_id, *providers)
        fresh = await Appointment.select_for_update().get(id=appointment.id)
        if fresh.status == AppointmentStatus.CANCELLED and fresh.cancel_reason == UNDONE:
            return
        if not await _on_client_side(by, fresh):
            raise RuleError("undo_not_allowed")
        if fresh.status not in UPCOMING_STATUSES:
            raise RuleError("appointment_not_cancellable")
        if not policy.undo_open(fresh.created_at, clock.now()):
            raise RuleError("undo_too_late")
        fresh.status = AppointmentStatus.CANCELLED
        fresh.cancelled_at = clock.now()
        fresh.cancel_reason = UNDONE
        fresh.version += 1
        await fresh.save(update_fields=["status", "cancelled_at", "cancel_reason", "version"])
        restored = await _restore_rescheduled(fresh)
        await audit(
            by,
            "appointment.undo_booking",
            client_id=fresh.client_id,
            obj=fresh,
            category="appointments",
            via="web",
            ip=ip,
            restored_id=restored,
        )
        await replan(fresh.client_id)


# ---------------------------------------------------------------- internals


async def _service(practice: Practice, service_id: int | None) -> tuple[Service | None, Length]:
    """The service asked for (None: "I don't know") and the length a booking takes."""
    service = None
    if service_id is not None:
        service = await Service.get_or_none(id=service_id, practice_id=practice.id)
        if service is None:
            raise RuleError("slot_not_offered")
    length = await resolve_length(practice, service)
    if length is None:  # inactive, or not self-schedulable
        raise RuleError("slot_not_offered")
    return service, length


async def _lock(client_id: int, *provider_ids: int) -> None:
    """Serialise bookings per client (the cap) and per provider (the slot) until the
    transaction ends: the client first, then providers by id. SQLite already holds
    the write lock (BEGIN IMMEDIATE)."""
    if not is_postgres():
        return
    from tortoise import connections

    conn = connections.get("default")
    keys = [(LOCK_CLIENT, client_id)] + [(LOCK_PROVIDER, p) for p in sorted(set(provider_ids))]
    for space, key in keys:
        await conn.execute_query("SELECT pg_advisory_xact_lock($1, $2)", [space, key % 2**31])


async def _take(
    practice: Practice,
    client: Client,
    service: Service | None,
    request: BookingRequest,
    *,
    exclude: tuple[int, ...] = (),
):
    """Under the lock: the provider and the open slot asked for, or RuleError."""
    starts_at = request.starts_at
    if starts_at.tzinfo is None:
        raise RuleError("slot_not_offered")
    provider = await StaffMember.get_or_none(id=request.provider_id, practice_id=practice.id)
    if provider is None:
        raise RuleError("slot_not_offered")
    day = starts_at.astimezone(UTC).date()
    query = SlotQuery(
        practice=practice,
        start=day,
        end=day,
        tz="UTC",
        provider_ids=[provider.id],
        service=service,
        client=client,
    )
    where = dict(telehealth=request.telehealth, location_id=request.location_id)
    slot = await _find(query, provider.id, starts_at, exclude_appointment_ids=exclude, **where)
    if slot is None:
        free = await _find(query, provider.id, starts_at, ignore_busy=True, **where)
        raise RuleError("slot_taken" if free is not None else "slot_not_offered")
    return provider, slot


async def _held_for(client: Client, request: BookingRequest) -> WaitlistOffer | None:
    """This client's live waitlist offer for exactly the time asked for, if any."""
    if request.starts_at.tzinfo is None:
        return None
    offers = await WaitlistOffer.filter(
        entry__client_id=client.id,
        status="offered",
        hold_until__gt=clock.now(),
        provider_id=request.provider_id,
        telehealth=request.telehealth,
    )
    wanted = request.starts_at.timestamp()
    for offer in offers:
        if offer.starts_at.timestamp() == wanted:
            return offer
    return None


async def _take_held(practice: Practice, held: WaitlistOffer):
    provider = await StaffMember.get_or_none(id=held.provider_id, practice_id=practice.id)
    if provider is None or held.starts_at <= clock.now():
        raise RuleError("slot_not_offered")
    if await overlapping(provider.id, held.starts_at, held.ends_at):
        raise RuleError("slot_taken")
    slot = Slot(
        provider_id=provider.id,
        starts_at=held.starts_at.astimezone(UTC),
        ends_at=held.ends_at.astimezone(UTC),
        location_id=None if held.telehealth else held.location_id,
        telehealth=held.telehealth,
        in_person=not held.telehealth,
    )
    minutes = int((held.ends_at - held.starts_at).total_seconds() // 60)
    return provider, slot, Length(held.service_id, minutes, 0)


async def _create(client, provider, practice, slot, length, by, via, rescheduled_from=None):
    instant = scheduling_mode(practice, provider) == "instant"
    return await Appointment.create(
        client_id=client.id,
        provider_id=provider.id,
        service_id=length.service_id,
        location_id=None if slot.telehealth and not slot.in_person else slot.location_id,
        telehealth=slot.telehealth and not slot.in_person,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        status=AppointmentStatus.SCHEDULED if instant else AppointmentStatus.REQUESTED,
        created_via=via[:16],
        booked_by_id=getattr(by, "id", by),
        created_at=clock.now(),
        rescheduled_from_id=rescheduled_from.id if rescheduled_from else None,
    )


async def _on_client_side(by, appointment: Appointment) -> bool:
    user_id = getattr(by, "id", by)
    if user_id is None:
        return False
    if user_id == appointment.booked_by_id:
        return True
    if await Client.exists(id=appointment.client_id, user_id=user_id):
        return True
    contacts = await Contact.filter(
        client_id=appointment.client_id, user_id=user_id, portal_access=True
    ).values_list("scopes", flat=True)
    return any(scopes_allow(scopes, BOOKING) for scopes in contacts)


async def _restore_rescheduled(undone: Appointment) -> int | None:
    """After undoing a reschedule: the old appointment back in its old status, when it is
    still upcoming and no other appointment took its time meanwhile."""
    if undone.rescheduled_from_id is None:
        return None
    old = await Appointment.select_for_update().get_or_none(id=undone.rescheduled_from_id)
    if (
        old is None
        or old.status != AppointmentStatus.CANCELLED
        or old.cancel_reason != RESCHEDULED
        or old.starts_at <= clock.now()
    ):
        return None
    if await overlapping(old.provider_id, old.starts_at, old.ends_at, exclude=(old.id,)):
        return None
    event = (
        await AuditEvent.filter(
            action="appointment.reschedule", object_type="appointment", object_id=str(undone.id)
        )
        .order_by("-id")
        .first()
    )
    status = (event.details or {}).get("from_status") if event else None
    if status not in UPCOMING_STATUSES:
        status = AppointmentStatus.REQUESTED  # unknown: staff look at it again
    old.status = AppointmentStatus(status)
    old.cancelled_at = None
    old.cancel_reason = ""
    old.version += 1
    await old.save(update_fields=["status", "cancelled_at", "cancel_reason", "version"])
    return old.id
