"""The slot engine: open appointment times from availability, minus appointments
and buffers, under the practice's booking rules.

Skeleton: the names and signatures are final; the engine is being filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.people import Client
from models.practice import Practice, Service


@dataclass(frozen=True)
class Slot:
    provider_id: int
    starts_at: datetime  # aware UTC
    ends_at: datetime  # starts_at + service duration
    location_id: int | None  # the in-person location, if offered in person
    telehealth: bool  # offered as telehealth
    in_person: bool  # offered in person (both may be True)


@dataclass
class SlotQuery:
    practice: Practice
    start: date  # first day, in tz
    end: date  # last day, inclusive, in tz
    tz: str  # the client's time zone (days are that zone's days)
    provider_ids: list[int] | None = None  # None: any provider who takes self-scheduled clients
    service: Service | None = None  # None: "I don't know"
    location_id: int | None = None  # only slots at this location (in person)
    telehealth: bool | None = None  # True telehealth only, False in person only, None either
    client: Client | None = None  # for the per-client cap


async def open_slots(q: SlotQuery) -> list[Slot]:
    """Open slots, sorted by starts_at, provider_id."""
    return []


def days_with_slots(slots: list[Slot], tz: str) -> dict[date, set[str]]:
    """{"telehealth", "in_person"} per local day in ``tz``, for the calendar dots."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    days: dict[date, set[str]] = {}
    for slot in slots:
        kinds = days.setdefault(slot.starts_at.astimezone(zone).date(), set())
        if slot.telehealth:
            kinds.add("telehealth")
        if slot.in_person:
            kinds.add("in_person")
    return days


async def slot_is_open(
    q: SlotQuery,
    provider_id: int,
    starts_at: datetime,
    *,
    telehealth: bool,
    location_id: int | None,
) -> Slot | None:
    """The open slot at ``starts_at`` with that provider and modality, or None."""
    return None


async def booking_blocked_reason(practice: Practice, client: Client) -> str | None:
    """Why ``client`` may not book now ("self_scheduling_off", "booking_cap_reached")."""
    return None
