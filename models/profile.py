"""My Profile's rules (issue 8): phones and emails (one default of each kind), personal
details applied at once, details staff must check first (kept as ``ProfileChange``
requests), the photo ID and the client's contacts.

Contacts' portal access and rights are staff's to grant: nothing here changes
``portal_access``, ``scopes`` or ``user``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from zoneinfo import available_timezones

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import clock, document_files
from models.documents import Document
from models.errors import RuleError
from models.people import Client, Contact, ContactPoint, User
from models.profile_changes import ChangeStatus, ProfileChange

MAX_POINTS = 5  # of each kind
PHONE_LABELS = ("Mobile", "Work", "Home")
EMAIL_LABELS = ("Primary Email", "Work Email", "Other Email")
LANGUAGES = ("en", "es")
US_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
)
ZONES = frozenset(available_timezones())
PRONOUN_SUGGESTIONS = ("she/her", "he/him", "they/them", "she/they", "he/they")
# The details staff check before they count (a Client attribute each).
REVIEWED = (
    "first_name",
    "last_name",
    "date_of_birth",
    "address_line1",
    "city",
    "region",
    "postal_code",
)
MAX_CONTACTS = 10
RELATIONSHIPS = ("Parent/Guardian", "Spouse/Partner", "Emergency contact", "Other")

_PHONE_CHARS = re.compile(r"[\s().-]")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def zone_choices() -> list[str]:
    """The US zones first, then every other zone name."""
    return list(US_ZONES) + sorted(ZONES.difference(US_ZONES))


def normalize_phone(raw: str) -> str | None:
    """E.164 for a typed US phone number ("(555) 010-0001", "+1 555 010 0001"), or None."""
    compact = _PHONE_CHARS.sub("", raw or "")
    if compact.startswith("+1"):
        compact = compact[2:]
    elif compact.startswith("1") and len(compact) == 11:
        compact = compact[1:]
    if not (compact.isascii() and compact.isdigit() and len(compact) == 10):
        return None
    if compact[0] in "01":  # no US area code starts with 0 or 1
        return None
    return "+1" + compact


def normalize_email(raw: str) -> str | None:
    value = (raw or "").strip()
    if len(value) > 254 or not value.isascii() or not _EMAIL.fullmatch(value):
        return None
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _clean_point(kind: str, label: str, value: str) -> tuple[str, str]:
    if kind not in ("phone", "email"):
        raise RuleError("point_kind_invalid")
    if label not in (PHONE_LABELS if kind == "phone" else EMAIL_LABELS):
        raise RuleError("point_label_invalid")
    clean = normalize_phone(value) if kind == "phone" else normalize_email(value)
    if clean is None:
        raise RuleError("phone_invalid" if kind == "phone" else "email_invalid")
    return label, clean


async def _lock_client(client_id: int) -> None:
    """One profile change at a time per client (PostgreSQL; SQLite writes one at a time)."""
    await Client.filter(id=client_id).select_for_update().first()


async def _refuse_duplicate(client_id: int, kind: str, value: str, but: int | None = None) -> None:
    query = ContactPoint.filter(client_id=client_id, kind=kind)
    if but is not None:
        query = query.exclude(id=but)
    values = await query.values_list("value", flat=True)
    if value.casefold() in {v.casefold() for v in values}:
        raise RuleError("point_duplicate")


async def _replan(client_id: int) -> None:
    from models import reminders

    await reminders.replan(client_id)


async def add_point(client: Client, *, kind: str, label: str, value: str) -> ContactPoint:
    """A new phone or email; the first of its kind is the default. At most MAX_POINTS."""
    label, value = _clean_point(kind, label, value)
    async with in_transaction():
        await _lock_client(client.id)
        count = await ContactPoint.filter(client_id=client.id, kind=kind).count()
        if count >= MAX_POINTS:
            raise RuleError("points_full")
        await _refuse_duplicate(client.id, kind, value)
        point = await ContactPoint.create(
            client_id=client.id, kind=kind, label=label, value=value, is_default=count == 0
        )
        await _replan(client.id)
    return point


async def edit_point(point: ContactPoint, *, label: str, value: str) -> ContactPoint:
    label, value = _clean_point(point.kind, label, value)
    async with in_transaction():
        await _lock_client(point.client_id)
        await _refuse_duplicate(point.client_id, point.kind, value, but=point.id)
        changes: dict = {"label": label, "value": value}
        if value != point.value:
            # A new number: the old one's STOP or failed deliveries say nothing about it
            # (the opt-out table, keyed by number, still speaks for the new one).
            changes.update(sms_opted_out_at=None, sms_undeliverable_at=None)
        await ContactPoint.filter(id=point.id).update(**changes)
        await _replan(point.client_id)
    return await ContactPoint.get(id=point.id)


async def make_default(point: ContactPoint) -> None:
    """Exactly one default of its kind: this one."""
    async with in_transaction():
        await _lock_client(point.client_id)
        await (
            ContactPoint.filter(client_id=point.client_id, kind=point.kind)
            .exclude(id=point.id)
            .update(is_default=False)
        )
        await ContactPoint.filter(id=point.id).update(is_default=True)
        await _replan(point.client_id)


async def remove_point(point: ContactPoint) -> None:
    """Remove a phone or email; removing the default makes the oldest other one default."""
    async with in_transaction():
        await _lock_client(point.client_id)
        deleted = await ContactPoint.filter(id=point.id).delete()
        if deleted and point.is_default:
            heir = (
                await ContactPoint.filter(client_id=point.client_id, kind=point.kind)
                .order_by("id")
                .first()
            )
            if heir is not None:
                await ContactPoint.filter(id=heir.id).update(is_default=True)
        await _replan(point.client_id)


# ---- personal details, applied at once ----------------------------------------------


async def update_details(
    client: Client,
    *,
    by: User,
    preferred_name: str,
    pronouns: str,
    time_zone: str,
    preferred_language: str,
) -> Client:
    """Preferred name, pronouns, time zone and language (lengths checked by the form).
    The client's own language is also their sign-in's, so the portal follows it."""
    if time_zone not in ZONES:
        raise RuleError("time_zone_unknown")
    if preferred_language not in LANGUAGES:
        raise RuleError("language_unknown")
    if len(preferred_name) > 100 or len(pronouns) > 32:
        raise RuleError("detail_too_long")
    async with in_transaction():
        zone_changed = time_zone != client.time_zone
        await Client.filter(id=client.id).update(
            preferred_name=preferred_name,
            pronouns=pronouns,
            time_zone=time_zone,
            preferred_language=preferred_language,
        )
        if client.user_id is not None and client.user_id == by.id:
            await User.filter(id=by.id).update(language=preferred_language)
            by.language = preferred_language
        if zone_changed:  # reminders go at local times
            await _replan(client.id)
    return await Client.get(id=client.id)


# ---- details staff check first -------------------------------------------------------


def current_value(client: Client, field: str) -> str:
    value = getattr(client, field)
    if isinstance(value, date):
        return value.isoformat()
    return value or ""


def changes_to_review(practice_id: int) -> QuerySet[ProfileChange]:
    """The practice's profile changes waiting for staff, oldest first."""
    return ProfileChange.filter(
        status=ChangeStatus.PENDING, client__practice_id=practice_id
    ).order_by("created_at", "id")


async def pending_changes(client_id: int) -> dict[str, ProfileChange]:
    rows = await ProfileChange.filter(client_id=client_id, status=ChangeStatus.PENDING)
    return {row.field: row for row in rows}


async def request_changes(client: Client, *, by: User, values: dict[str, str]) -> int:
    """Ask for changes to reviewed details (values already checked). Per field: one
    pending request, the newest replacing the older; asking for the current value
    withdraws it. Returns how many requests are pending afterwards."""
    if any(field not in REVIEWED for field in values):
        raise RuleError("detail_not_reviewed")
    async with in_transaction():
        await _lock_client(client.id)
        client = await Client.get(id=client.id)
        pending = await pending_changes(client.id)
        for field, new in values.items():
            old = current_value(client, field)
            row = pending.get(field)
            if new == old:
                if row is not None:
                    await row.delete()
            elif row is not None:
                if row.new_value != new:
                    await ProfileChange.filter(id=row.id).update(
                        new_value=new, old_value=old, requested_by_id=by.id, created_at=clock.now()
                    )
            else:
                await ProfileChange.create(
                    client_id=client.id,
                    requested_by_id=by.id,
                    field=field,
                    old_value=old,
                    new_value=new,
                )
        return await ProfileChange.filter(client_id=client.id, status=ChangeStatus.PENDING).count()


def _typed(field: str, value: str):
    if field == "date_of_birth":
        return date.fromisoformat(value) if value else None
    return value


async def approve(change: ProfileChange, *, by: User) -> bool:
    """Apply a pending change to the client (the new value, whatever the current one).
    False, and nothing done, when it was already reviewed (a double click)."""
    if change.field not in REVIEWED:
        raise RuleError("detail_not_reviewed")
    async with in_transaction():
        done = await ProfileChange.filter(id=change.id, status=ChangeStatus.PENDING).update(
            status=ChangeStatus.APPLIED, reviewed_by_id=by.id, reviewed_at=clock.now()
        )
        if not done:
            return False
        await Client.filter(id=change.client_id).update(
            **{change.field: _typed(change.field, change.new_value)}
        )
    return True


async def decline(change: ProfileChange, *, by: User, note: str) -> bool:
    """Decline a pending change with a note the client sees. False when already reviewed."""
    if len(note) > 1000:
        raise RuleError("decline_note_too_long")
    done = await ProfileChange.filter(id=change.id, status=ChangeStatus.PENDING).update(
        status=ChangeStatus.DECLINED, reviewed_by_id=by.id, reviewed_at=clock.now(), note=note
    )
    return bool(done)


# ---- photo ID ------------------------------------------------------------------------


async def set_photo_id(client: Client, document: Document, data_dir: Path) -> None:
    """The new photo ID replaces the old one, whose file is discarded."""
    try:
        async with in_transaction():
            await _lock_client(client.id)
            old_id = await Client.filter(id=client.id).first().values_list("photo_id_id", flat=True)
            await Client.filter(id=client.id).update(photo_id_id=document.id)
    except BaseException:
        await document_files.discard(document, data_dir)
        raise
    client.photo_id_id = document.id
    if old_id and old_id != document.id:
        old = await Document.get_or_none(id=old_id)
        if old is not None:
            await document_files.discard(old, data_dir)


# ---- contacts ------------------------------------------------------------------------

CONTACT_FIELDS = (
    "name",
    "relationship",
    "phone",
    "email",
    "address",
    "emergency",
    "responsible_party",
)


def clean_contact(
    *, name: str, relationship: str, phone: str, email: str, address: str
) -> dict[str, str]:
    """The checked values of a contact (the form checks lengths); RuleError on the first
    bad one."""
    if relationship not in RELATIONSHIPS:
        raise RuleError("relationship_unknown")
    clean = {"name": name, "relationship": relationship, "address": address}
    clean["phone"] = normalize_phone(phone) if phone else ""
    if clean["phone"] is None:
        raise RuleError("phone_invalid")
    clean["email"] = normalize_email(email) if email else ""
    if clean["email"] is None:
        raise RuleError("email_invalid")
    return clean


async def save_contact(
    client: Client, contact: Contact | None, *, emergency: bool, responsible_party: bool, **values
) -> Contact:
    """Add (``contact`` None) or edit one of the client's contacts. Only the listed
    details change: never portal access, rights or the linked sign-in."""
    clean = clean_contact(**values)
    async with in_transaction():
        await _lock_client(client.id)
        if contact is None:
            if await Contact.filter(client_id=client.id).count() >= MAX_CONTACTS:
                raise RuleError("contacts_full")
            return await Contact.create(
                client_id=client.id,
                emergency=bool(emergency),
                responsible_party=bool(responsible_party),
                **clean,
            )
        await Contact.filter(id=contact.id, client_id=client.id).update(
            emergency=bool(emergency), responsible_party=bool(responsible_party), **clean
        )
    return await Contact.get(id=contact.id)


async def remove_contact(contact: Contact) -> None:
    """A contact who can sign in for the client stays until the practice removes that."""
    if contact.portal_access or contact.user_id is not None:
        raise RuleError("contact_has_portal_access")
    await Contact.filter(id=contact.id, portal_access=False, user_id=None).delete()
