"""Provider availability and appointments, with the confirm and cancel rules.

Every way in (a button, an SMS reply, a chat message) calls the same
``Appointment.confirm`` and ``Appointment.cancel``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.policy import (
    UNDO_WINDOW,
    CancellationTerms,
    cancellation_rules,
    cancellation_terms,
    join_window_open,
    undo_open,
)
from models.settings import rules_for


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
CANCELLED_STATUSES = [AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED]
# The old fixed notice (``can_cancel``); the tiers live in ``models.policy``.
CANCEL_NOTICE = timedelta(hours=24)
# The late-cancellation fee in the ledger: its description (as the demo's) and a
# marker that tells it from the session's own charge.
LATE_FEE_DESCRIPTION = "Late cancellation fee"
LATE_FEE_REVERSED = "Late cancellation fee reversed"
LATE_FEE_REFERENCE = "late-cancel"
# cancel_reason of the cancellations models/booking.py makes (not undoable here).
NOT_CLIENT_CANCELS = ("rescheduled", "undone")


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
        """The old 24-hour rule, kept for callers that know no practice (see
        ``cancellation_terms`` for the practice's and provider's tiers)."""
        if not self.is_upcoming:
            return False
        return within_24h_allowed or self.starts_at - clock.now() >= CANCEL_NOTICE

    def cancellation_terms(self, practice, *, within_24h: bool, now=None) -> CancellationTerms:
        """The tier that applies now under ``practice``'s and this appointment's
        provider's rules (``provider`` must be loaded, as every list selects it)."""
        rules = cancellation_rules(practice, self.provider, within_24h=within_24h)
        return cancellation_terms(self, rules, now or clock.now())

    @property
    def join_open(self) -> bool:
        return join_window_open(self, clock.now())

    @property
    def address(self) -> str:
        """The location's address on one line, or "" where the location hides it (or
        for telehealth). ``location`` must be loaded."""
        location = self.location
        if self.telehealth or location is None or location.hide_address:
            return ""
        region = " ".join(p for p in (location.region, location.postal_code) if p)
        parts = (location.address_line1, location.address_line2, location.city, region)
        return ", ".join(p.strip() for p in parts if p and p.strip())

    @property
    def map_url(self) -> str:
        address = self.address
        if not address:
            return ""
        return "https://www.openstreetmap.org/search?" + urlencode({"query": address})

    @property
    def video_link(self) -> str:
        """The telehealth room, only when it is a plain https (or http) URL."""
        url = (self.video_url or "").strip()
        parts = urlsplit(url)
        if parts.scheme in ("https", "http") and parts.netloc and " " not in url:
            return url
        return ""

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
        self,
        *,
        by,
        via: str,
        within_24h_allowed: bool | None = None,
        reason: str = "",
        ip: str = "",
        rules: dict | None = None,
        by_staff: bool = False,
        waive_fee: bool = False,
        fee_shown_cents: int | None = None,
    ) -> Appointment:
        """Cancel an upcoming appointment under the cancellation policy (``models.policy``).

        Free at least N hours ahead; late between N and M hours (status
        LATE_CANCELLED, and the late fee charged to the ledger in the same
        transaction, linked to the appointment); blocked inside M hours with
        RuleError("appointment_too_late_to_cancel"). Cancelling twice is not an
        error and never charges twice.

        ``rules``: ``models.policy.cancellation_rules(...)``; by default the
        practice's and this provider's, with ``within_24h_allowed`` (default: the
        practice's switch). ``by_staff``: staff cancelling for the client, never
        blocked (inside M hours it is a late cancellation) and not undoable by the
        client. ``waive_fee``: record the tier but charge nothing.
        ``fee_shown_cents``: the fee the person was shown before confirming; a
        higher fee now raises RuleError("cancel_fee_changed") and changes nothing.
        """
        from models.audit import audit
        from models.ledger import EntryKind, LedgerEntry
        from models.people import Client, StaffMember
        from models.reminders import replan

        async with in_transaction():
            fresh = await Appointment.select_for_update().get(id=self.id)
            if fresh.status in CANCELLED_STATUSES:
                return fresh
            if not fresh.is_upcoming:
                raise RuleError("appointment_not_cancellable")
            client = await Client.filter(id=fresh.client_id).select_related("practice").get()
            if rules is None:
                provider = await StaffMember.get(id=fresh.provider_id)
                if within_24h_allowed is None:
                    within_24h_allowed = bool(rules_for(client.practice)["within_24h"])
                rules = cancellation_rules(client.practice, provider, within_24h=within_24h_allowed)
            elif within_24h_allowed is not None:
                rules = {**rules, "within_24h": within_24h_allowed}
            now = clock.now()
            terms = cancellation_terms(fresh, rules, now)
            if terms.tier == "blocked" and not by_staff:
                raise RuleError("appointment_too_late_to_cancel")
            late = terms.tier != "free"
            fee = 0 if waive_fee or not late else terms.late_fee_cents
            if fee_shown_cents is not None and fee > max(fee_shown_cents, 0):
                raise RuleError("cancel_fee_changed")
            previous = fresh.status
            fresh.status = AppointmentStatus.LATE_CANCELLED if late else AppointmentStatus.CANCELLED
            fresh.cancelled_at = now
            fresh.cancel_reason = reason[:200]
            fresh.version += 1
            await fresh.save(update_fields=["status", "cancelled_at", "cancel_reason", "version"])
            fee_entry = None
            if fee > 0:
                fee_entry = await LedgerEntry.create(
                    client_id=fresh.client_id,
                    kind=EntryKind.CHARGE,
                    posted_on=now.astimezone(ZoneInfo(client.practice.time_zone)).date(),
                    amount_cents=fee,
                    appointment_id=fresh.id,
                    description=LATE_FEE_DESCRIPTION,
                    reference=LATE_FEE_REFERENCE,
                )
            await audit(
                by,
                "appointment.cancel",
                client_id=fresh.client_id,
                obj=fresh,
                category="appointments",
                via=via,
                ip=ip,
                tier=terms.tier,
                previous_status=str(previous),
                by_staff=bool(by_staff),
                fee_cents=fee,
                fee_entry_id=fee_entry.id if fee_entry else None,
            )
            await replan(fresh.client_id)
        return fresh

    async def last_cancel(self) -> dict | None:
        """The audit row of this appointment's latest cancellation through ``cancel``:
        who, the status before, the fee entry (the audit trail is the append-only
        record of it). None for a booking undone or an appointment rescheduled
        (models/booking.py cancels those itself)."""
        from models.audit import AuditEvent

        if self.cancelled_at is None or self.cancel_reason in NOT_CLIENT_CANCELS:
            return None
        event = (
            await AuditEvent.filter(
                client_id=self.client_id,
                at__gte=self.cancelled_at - timedelta(seconds=1),
                action="appointment.cancel",
                object_type="appointment",
                object_id=str(self.id),
            )
            .order_by("-id")
            .first()
        )
        return dict(event.details or {}) if event else None

    async def undoable_cancel(self, now=None) -> tuple[datetime, int] | None:
        """(until when, the fee it charged) while the client may undo this cancellation;
        None when they may not (not cancelled, cancelled by staff, 3 minutes passed)."""
        now = now or clock.now()
        if self.status not in CANCELLED_STATUSES or not undo_open(self.cancelled_at, now):
            return None
        if self.starts_at <= now:
            return None
        last = await self.last_cancel()
        if last is None or last.get("by_staff"):
            return None
        return self.cancelled_at + UNDO_WINDOW, int(last.get("fee_cents") or 0)

    async def undo_cancel(self, *, by, via: str = "web", ip: str = "") -> Appointment:
        """Undo the client's cancellation within 3 minutes: the previous status comes
        back and the late fee goes, in one transaction. The fee charge is deleted when
        nothing was paid against it (it was never on a statement); otherwise a
        reversing adjustment linked to the appointment is added. Undoing twice is not
        an error; after 3 minutes RuleError("undo_too_late")."""
        from models.audit import audit
        from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
        from models.reminders import replan

        async with in_transaction():
            fresh = await Appointment.select_for_update().get(id=self.id)
            if fresh.status in UPCOMING_STATUSES:
                return fresh  # already undone (a double click)
            if fresh.status not in CANCELLED_STATUSES:
                raise RuleError("appointment_not_restorable")
            now = clock.now()
            if not undo_open(fresh.cancelled_at, now) or fresh.starts_at <= now:
                raise RuleError("undo_too_late")
            last = await fresh.last_cancel()
            if last is None or last.get("by_staff"):
                raise RuleError("appointment_not_restorable")
            taken = (
                await Appointment.filter(
                    provider_id=fresh.provider_id,
                    status__in=UPCOMING_STATUSES,
                    starts_at__lt=fresh.ends_at,
                    ends_at__gt=fresh.starts_at,
                )
                .exclude(id=fresh.id)
                .exists()
            )
            if taken:
                raise RuleError("undo_slot_taken")
            previous = last.get("previous_status")
            fresh.status = (
                AppointmentStatus(previous)
                if previous in UPCOMING_STATUSES
                else AppointmentStatus.SCHEDULED
            )
            fresh.cancelled_at = None
            fresh.cancel_reason = ""
            fresh.version += 1
            try:
                await fresh.save(
                    update_fields=["status", "cancelled_at", "cancel_reason", "version"]
                )
            except IntegrityError:  # PostgreSQL's no-double-booking constraint, in a race
                raise RuleError("undo_slot_taken") from None
            reversed_how = ""
            fee = await LedgerEntry.get_or_none(
                id=last.get("fee_entry_id") or 0,
                appointment_id=fresh.id,
                kind=EntryKind.CHARGE,
                reference=LATE_FEE_REFERENCE,
            )
            if fee is not None:
                if await PaymentAllocation.filter(charge_id=fee.id).exists():
                    await LedgerEntry.create(
                        client_id=fresh.client_id,
                        kind=EntryKind.ADJUSTMENT,
                        posted_on=fee.posted_on,
                        amount_cents=fee.amount_cents,
                        appointment_id=fresh.id,
                        description=LATE_FEE_REVERSED,
                        reference=LATE_FEE_REFERENCE,
                    )
                    reversed_how = "adjustment"
                else:
                    await fee.delete()
                    reversed_how = "deleted"
            await audit(
                by,
                "appointment.cancel_undone",
                client_id=fresh.client_id,
                obj=fresh,
                category="appointments",
                via=via,
                ip=ip,
                status=str(fresh.status),
                fee_reversed=reversed_how,
            )
            await replan(fresh.client_id)
        return fresh


async def unpaid_by_appointment(appointment_ids: list[int]) -> dict[int, int]:
    """The client's part still unpaid for each session: the charges linked to it,
    less what insurance is expected to pay, less client payments allocated to those
    charges and adjustments linked to it (never below 0). Absent: nothing owed."""
    from models.ledger import EntryKind, LedgerEntry, PaymentAllocation

    if not appointment_ids:
        return {}
    entries = await LedgerEntry.filter(
        appointment_id__in=appointment_ids,
        kind__in=[EntryKind.CHARGE, EntryKind.ADJUSTMENT],
    ).values_list("id", "appointment_id", "kind", "amount_cents", "insurance_expected_cents")
    due: dict[int, int] = {}
    charge_of: dict[int, int] = {}
    for entry_id, appointment_id, kind, amount, expected in entries:
        if kind == EntryKind.CHARGE:
            due[appointment_id] = due.get(appointment_id, 0) + amount - expected
            charge_of[entry_id] = appointment_id
        else:
            due[appointment_id] = due.get(appointment_id, 0) - amount
    if charge_of:
        paid = await PaymentAllocation.filter(
            charge_id__in=list(charge_of), payment__kind=EntryKind.CLIENT_PAYMENT
        ).values_list("charge_id", "amount_cents")
        for charge_id, amount in paid:
            due[charge_of[charge_id]] -= amount
    return {key: value for key, value in due.items() if value > 0}


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
