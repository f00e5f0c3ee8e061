"""The waitlist: clients waiting for a time that suits them, offered openings in turn.

A client joins for a provider (or any), a service (or any), a modality and, if
they like, weekdays and parts of the day. When an appointment that was booked is
cancelled, declined or moved, its time is an *opening*; the worker finds them
(``find_openings``), so every way a time is freed is caught without hooks, and a
crash in between loses nothing.

An opening is offered to the first waiting client whose wishes it matches and who
may still book, with a 15-minute hold: the slot engine treats a held time as taken
for everyone else. An offer not taken in time, or passed on, goes to the next client.
Emails are queued through ``send`` (a callable from the caller) in the same
transaction as the offer, so the model imports nothing from ``channels``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.people import Client, Role, StaffMember
from models.practice import Service
from models.scheduling import (
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    WaitlistEntry,
    WaitlistOffer,
)
from models.security import token_digest

HOLD = timedelta(minutes=15)
MAX_ENTRIES = 3  # waiting entries a client may hold at once
MODALITIES = ("any", "in_person", "telehealth")
DAY_PARTS = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
FREED = (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED)
LOOK_BACK = timedelta(days=2)  # openings freed this recently are still looked at
# A cancellation or a decline can be undone for 3 minutes: its time is an opening after.
SETTLE = timedelta(minutes=3)

Send = Callable[[WaitlistOffer, str], Awaitable[None]]


@dataclass(frozen=True)
class Opening:
    provider_id: int
    starts_at: datetime
    ends_at: datetime
    service_id: int | None
    location_id: int | None
    telehealth: bool

    @classmethod
    def of(cls, row: Appointment | WaitlistOffer) -> Opening:
        """The time an appointment held, or the one an offer holds."""
        return cls(
            provider_id=row.provider_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            service_id=row.service_id,
            location_id=row.location_id,
            telehealth=row.telehealth,
        )


async def join(
    client: Client,
    *,
    provider_id: int | None,
    service_id: int | None,
    modality: str,
    weekdays: list[int],
    day_parts: list[str],
) -> WaitlistEntry:
    """Add a client to the waitlist; RuleError for anything the practice does not offer."""
    if modality not in MODALITIES:
        raise RuleError("waitlist_bad_choice")
    if any(d not in range(7) for d in weekdays) or any(p not in DAY_PARTS for p in day_parts):
        raise RuleError("waitlist_bad_choice")
    if provider_id is not None:
        provider = await StaffMember.get_or_none(
            id=provider_id, practice_id=client.practice_id, active=True
        )
        if provider is None or not provider.has_role(Role.PROVIDER):
            raise RuleError("waitlist_bad_choice")
    if service_id is not None and not await Service.exists(
        id=service_id, practice_id=client.practice_id, active=True, self_schedulable=True
    ):
        raise RuleError("waitlist_bad_choice")
    async with in_transaction():
        waiting = WaitlistEntry.filter(client_id=client.id, status="waiting")
        if await waiting.count() >= MAX_ENTRIES:
            raise RuleError("waitlist_full")
        if await waiting.filter(
            provider_id=provider_id, service_id=service_id, modality=modality
        ).exists():
            raise RuleError("waitlist_duplicate")
        now = clock.now()
        return await WaitlistEntry.create(
            client_id=client.id,
            provider_id=provider_id,
            service_id=service_id,
            modality=modality,
            weekdays=sorted(set(weekdays)),
            day_parts=sorted(set(day_parts)),
            created_at=now,
            updated_at=now,
        )


async def leave(entry: WaitlistEntry) -> None:
    async with in_transaction():
        await WaitlistEntry.filter(id=entry.id, status="waiting").update(
            status="left", updated_at=clock.now()
        )
        await WaitlistOffer.filter(entry_id=entry.id, status="offered").update(status="passed")


async def places(entries: list[WaitlistEntry], practice_id: int) -> dict[int, int]:
    """Each waiting entry's place in line: 1 + the waiting entries that joined earlier
    and could take the same openings (same provider, or either wants any)."""
    ahead = await WaitlistEntry.filter(
        status="waiting", client__practice_id=practice_id
    ).values_list("id", "provider_id", "created_at")
    result = {}
    for entry in entries:
        result[entry.id] = 1 + sum(
            1
            for other_id, provider_id, created_at in ahead
            if other_id != entry.id
            and (created_at, other_id) < (entry.created_at, entry.id)
            and (
                provider_id is None or entry.provider_id is None or provider_id == entry.provider_id
            )
        )
    return result


def matches(entry: WaitlistEntry, opening: Opening, tz: str) -> bool:
    """Whether an opening is what this entry waits for (times in the client's zone)."""
    if entry.provider_id is not None and entry.provider_id != opening.provider_id:
        return False
    if entry.service_id is not None and entry.service_id != opening.service_id:
        return False
    if entry.modality == "telehealth" and not opening.telehealth:
        return False
    if entry.modality == "in_person" and opening.telehealth:
        return False
    local = opening.starts_at.astimezone(ZoneInfo(tz))
    if entry.weekdays and local.weekday() not in entry.weekdays:
        return False
    hours = [DAY_PARTS[p] for p in entry.day_parts]
    return not hours or any(start <= local.hour < end for start, end in hours)


async def _still_open(opening: Opening, now: datetime) -> bool:
    """No live appointment and no live hold on the time, and it is still ahead."""
    if opening.starts_at <= now:
        return False
    busy = await Appointment.filter(
        provider_id=opening.provider_id,
        status__in=UPCOMING_STATUSES,
        starts_at__lt=opening.ends_at,
        ends_at__gt=opening.starts_at,
    ).exists()
    if busy:
        return False
    return not await WaitlistOffer.filter(
        provider_id=opening.provider_id,
        status="offered",
        hold_until__gt=now,
        starts_at__lt=opening.ends_at,
        ends_at__gt=opening.starts_at,
    ).exists()


async def offer(opening: Opening, send: Send) -> WaitlistOffer | None:
    """Offer an opening to the next waiting client it suits, or to no one."""
    now = clock.now()
    async with in_transaction():
        if not await _still_open(opening, now):
            return None
        provider = await StaffMember.get_or_none(id=opening.provider_id)
        if provider is None:
            return None
        already = set(
            await WaitlistOffer.filter(
                provider_id=opening.provider_id, starts_at=opening.starts_at
            ).values_list("entry_id", flat=True)
        )
        busy_clients = set(
            await WaitlistOffer.filter(status="offered", hold_until__gt=now).values_list(
                "entry__client_id", flat=True
            )
        )
        candidates = (
            await WaitlistEntry.filter(status="waiting", client__practice_id=provider.practice_id)
            .select_related("client")
            .order_by("created_at", "id")
        )
        for entry in candidates:
            if entry.id in already or entry.client_id in busy_clients:
                continue
            if not entry.client.portal_enabled or not matches(
                entry, opening, entry.client.time_zone
            ):
                continue
            token = secrets.token_urlsafe(32)
            made = await WaitlistOffer.create(
                entry=entry,
                provider_id=opening.provider_id,
                service_id=opening.service_id,
                location_id=opening.location_id,
                telehealth=opening.telehealth,
                starts_at=opening.starts_at,
                ends_at=opening.ends_at,
                token_hash=token_digest(token),
                hold_until=now + HOLD,
                created_at=now,
            )
            made.entry = entry
            await send(made, token)
            return made
    return None


async def find_openings(send: Send) -> int:
    """The worker's pass: expire lapsed offers and offer every freed time not offered
    yet, or whose last offer lapsed. Idempotent; returns the offers made."""
    now = clock.now()
    lapsed = await WaitlistOffer.filter(status="offered", hold_until__lte=now)
    for stale in lapsed:
        await WaitlistOffer.filter(id=stale.id, status="offered").update(status="expired")
    made = 0
    freed = await Appointment.filter(
        status__in=FREED,
        starts_at__gt=now,
        cancelled_at__gte=now - LOOK_BACK,
        cancelled_at__lte=now - SETTLE,
    ).order_by("starts_at")
    declined = await Appointment.filter(
        status=AppointmentStatus.DECLINED,
        starts_at__gt=now,
        decided_at__gte=now - LOOK_BACK,
        decided_at__lte=now - SETTLE,
    )
    seen: set[tuple[int, datetime]] = set()
    for appointment in [*freed, *declined]:
        key = (appointment.provider_id, appointment.starts_at)
        if key in seen:
            continue
        seen.add(key)
        live = await WaitlistOffer.filter(
            provider_id=appointment.provider_id,
            starts_at=appointment.starts_at,
            status__in=("offered", "taken"),
        ).exists()
        if live:
            continue
        if await offer(Opening.of(appointment), send) is not None:
            made += 1
    return made


async def open_offer(token: str, client: Client) -> WaitlistOffer:
    """The offer a link names, for this client; RuleError when it cannot be taken."""
    if not token or len(token) > 128:
        raise RuleError("offer_not_found")
    found = await WaitlistOffer.get_or_none(token_hash=token_digest(token)).select_related("entry")
    if found is None or found.entry.client_id != client.id:
        raise RuleError("offer_not_found")
    if found.status == "taken":
        raise RuleError("offer_taken")
    if found.status != "offered" or found.hold_until <= clock.now():
        raise RuleError("offer_expired")
    return found


async def mark_taken(found: WaitlistOffer, appointment: Appointment) -> None:
    """After the booking: the offer is spent and the client stops waiting for it."""
    async with in_transaction():
        await WaitlistOffer.filter(id=found.id).update(
            status="taken", appointment_id=appointment.id
        )
        await WaitlistEntry.filter(id=found.entry_id).update(
            status="booked", updated_at=clock.now()
        )


async def pass_offer(found: WaitlistOffer, send: Send) -> None:
    """No, thanks: the next client in line is offered the time now."""
    await WaitlistOffer.filter(id=found.id, status="offered").update(status="passed")
    await offer(Opening.of(found), send)


async def holds_against(client: Client | None, start: datetime, end: datetime):
    """Held times others may not book between ``start`` and ``end``: (provider, from, to).

    The slot engine subtracts these; the client an offer is for may book it."""
    query = WaitlistOffer.filter(
        status="offered", hold_until__gt=clock.now(), starts_at__lt=end, ends_at__gt=start
    )
    if client is not None:
        query = query.exclude(entry__client_id=client.id)
    return await query.values_list("provider_id", "starts_at", "ends_at")
