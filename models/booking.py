"""Booking an open slot: instant or as a request, rescheduling, and undo.

Skeleton: the names and signatures are final; the rules are being filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.people import Client, User
from models.scheduling import Appointment


@dataclass(frozen=True)
class BookingRequest:
    provider_id: int
    starts_at: datetime  # aware
    telehealth: bool
    location_id: int | None
    service_id: int | None  # None: "I don't know"


UNDO_WINDOW = timedelta(minutes=3)


async def book(
    client: Client, request: BookingRequest, *, by: User, via: str = "web", ip: str = ""
) -> Appointment:
    """Book an open slot for ``client``. Raises RuleError("slot_taken" |
    "slot_not_offered" | "booking_cap_reached" | "self_scheduling_off")."""
    raise NotImplementedError


async def reschedule(
    appointment: Appointment,
    request: BookingRequest,
    *,
    by: User,
    via: str = "web",
    ip: str = "",
) -> Appointment:
    """Take the new slot and cancel the old appointment in one transaction."""
    raise NotImplementedError


async def undo_booking(appointment: Appointment, *, by: User, ip: str = "") -> None:
    """Undo a booking within UNDO_WINDOW of its creation; RuleError("undo_too_late") after."""
    raise NotImplementedError
