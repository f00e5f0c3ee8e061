"""Provider availability and appointments, with the confirm and cancel rules.

Every way in (a button, an SMS reply, a chat message) calls the same
``Appointment.confirm`` and ``Appointment.cancel``.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError


class AppointmentStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"
    DECLINED = "declined"


UPCOMING_STATUSES = [
    AppointmentStatus.REQUESTED,
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
]
CANCEL_NOTICE = timedelta(hours=24)


class AvailabilityBlock(Model):
    """A weekly block: a provider is available on ``weekday`` between two times."""

    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="availability")
    weekday = fields.SmallIntField()  # 0 = Monday
    start_minute = fields.SmallIntField()  # minutes after local midnight
    end_minute = fields.SmallIntField()
    location = fields.ForeignKeyField("portal.Location", related_name="blocks", null=True)
    modality = fields.CharField(max_length=16, default="both")  # models.practice.Modality

    class Meta:
        table = "availability_block"


class AvailabilityException(Model):
    """A dated change to the weekly pattern: time off, or extra hours."""

    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="exceptions")
    date = fields.DateField()
    start_minute = fields.SmallIntField(null=True)  # null: the whole day
    end_minute = fields.SmallIntField(null=True)
    kind = fields.CharField(max_length=8)  # "off" | "extra"
    location = fields.ForeignKeyField("portal.Location", related_name="exceptions", null=True)
    modality = fields.CharField(max_length=16, default="both")

    class Meta:
        table = "availability_exception"


class Appointment(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="appointments")
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="appointments")
    service = fields.ForeignKeyField("portal.Service", related_name="appointments", null=True)
    location = fields.ForeignKeyField("portal.Location", related_name="appointments", null=True)
    telehealth = fields.BooleanField(default=False)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharEnumField(AppointmentStatus, max_length=16)
    confirmation_requested = fields.BooleanField(default=False)
    confirmed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=200, default="")
    created_via = fields.CharField(max_length=16, default="staff")
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    booked_by = fields.ForeignKeyField("portal.User", related_name="bookings", null=True)
    # A request accepted or declined by staff: when and by whom (undo within 3 minutes).
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.ForeignKeyField("portal.User", related_name="decisions", null=True)
    # The appointment this one replaced, for a reschedule (the old one is cancelled).
    rescheduled_from = fields.ForeignKeyField(
        "portal.Appointment", related_name="rescheduled_to", null=True
    )
    video_url = fields.CharField(max_length=300, default="")  # telehealth room

    class Meta:
        table = "appointment"
        indexes = (("client_id", "starts_at"), ("provider_id", "starts_at"))

    @property
    def is_upcoming(self) -> bool:
        return self.status in UPCOMING_STATUSES and self.starts_at > clock.now()

    @property
    def needs_confirmation(self) -> bool:
        return (
            self.confirmation_requested
            and self.status == AppointmentStatus.SCHEDULED
            and self.is_upcoming
        )

    def can_cancel(self, *, within_24h_allowed: bool) -> bool:
        if not self.is_upcoming:
            return False
        return within_24h_allowed or self.starts_at - clock.now() >= CANCEL_NOTICE

    async def confirm(self, *, by, via: str, ip: str = "") -> Appointment:
        """Confirm a scheduled appointment. Confirming twice is not an error."""
        from models.audit import audit

        async with in_transaction():
            fresh = await Appointment.select_for_update().get(id=self.id)
            if fresh.status == AppointmentStatus.CONFIRMED:
                return fresh
            if fresh.status != AppointmentStatus.SCHEDULED or not fresh.is_upcoming:
                raise RuleError("appointment_not_confirmable")
            fresh.status = AppointmentStatus.CONFIRMED
            fresh.confirmed_at = clock.now()
            fresh.version += 1
            await fresh.save(update_fields=["status", "confirmed_at", "version"])
            await audit(
                by,
                "appointment.confirm",
                client_id=fresh.client_id,
                obj=fresh,
                category="appointments",
                via=via,
                ip=ip,
            )
        return fresh

    async def cancel(
        self, *, by, via: str, within_24h_allowed: bool, reason: str = "", ip: str = ""
    ):
        """Cancel an upcoming appointment under the practice's notice policy.

        Inside the notice window a client may cancel only where the practice
        allows it; that cancellation is recorded as late. Cancelling twice is
        not an error.
        """
        from models.audit import audit

        async with in_transaction():
            fresh = await Appointment.select_for_update().get(id=self.id)
            if fresh.status in (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED):
                return fresh
            if not fresh.can_cancel(within_24h_allowed=within_24h_allowed):
                raise RuleError(
                    "appointment_too_late_to_cancel"
                    if fresh.is_upcoming
                    else "appointment_not_cancellable"
                )
            late = fresh.starts_at - clock.now() < CANCEL_NOTICE
            fresh.status = AppointmentStatus.LATE_CANCELLED if late else AppointmentStatus.CANCELLED
            fresh.cancelled_at = clock.now()
            fresh.cancel_reason = reason[:200]
            fresh.version += 1
            await fresh.save(update_fields=["status", "cancelled_at", "cancel_reason", "version"])
            await audit(
                by,
                "appointment.cancel",
                client_id=fresh.client_id,
                obj=fresh,
                category="appointments",
                via=via,
                ip=ip,
            )
        return fresh


class WaitlistEntry(Model):
    """A client waiting for an earlier or a wanted time (no therapy portal has one).

    ``provider`` and ``service`` null mean "any"; ``modality`` is "in_person",
    "telehealth" or "any"; ``weekdays`` 0-6 (Monday first) and ``day_parts``
    ("morning", "afternoon", "evening") empty mean any. Clients are offered
    openings in the order they joined.
    """

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="waitlist_entries")
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="waitlist", null=True)
    service = fields.ForeignKeyField("portal.Service", related_name="waitlist", null=True)
    modality = fields.CharField(max_length=16, default="any")
    weekdays: list = fields.JSONField(default=list)
    day_parts: list = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="waiting")  # waiting | booked | left
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "waitlist_entry"
        indexes = (("status", "created_at"),)


class WaitlistOffer(Model):
    """An opening offered to one waiting client, held for them for 15 minutes."""

    id = fields.IntField(primary_key=True)
    entry = fields.ForeignKeyField("portal.WaitlistEntry", related_name="offers")
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="waitlist_offers")
    service = fields.ForeignKeyField("portal.Service", related_name="waitlist_offers", null=True)
    location = fields.ForeignKeyField("portal.Location", related_name="waitlist_offers", null=True)
    telehealth = fields.BooleanField(default=False)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    token_hash = fields.CharField(max_length=64, unique=True)
    hold_until = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="offered")  # offered|taken|expired|passed
    appointment = fields.ForeignKeyField(
        "portal.Appointment", related_name="waitlist_offers", null=True
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "waitlist_offer"
        indexes = (("status", "hold_until"), ("provider_id", "starts_at"))
