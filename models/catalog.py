"""The practice's locations and services, as an admin keeps them (issue 9).

Forms are read into clean values (``check_location``, ``check_service``) or refused
with a rule code per field; changes are made under the practice's row lock, so two
admins saving at once are serialised (and "keep one active location" holds), and each
change is audited once with the fields it changed, their old and new values. A repeat
changes and audits nothing.

A location with upcoming appointments cannot be deactivated (they would point to a
place that no longer exists); a deactivated service is no longer offered to clients
(the booking flow and the slot engine only take active ones). A fee change applies to
new charges only: the ledger keeps the amounts it charged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.onboarding import has_control_characters
from models.people import User
from models.practice import Location, Practice, Service
from models.scheduling import UPCOMING_STATUSES, Appointment

# Sizes from models/practice.py.
MAX_NAME = 120
LOCATION_TEXT = {"address_line1": 200, "address_line2": 200, "city": 100, "region": 64}
LOCATION_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "telehealth",
    "hide_address",
)
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postal_code")
SERVICE_FIELDS = (
    "name",
    "cpt_code",
    "duration_minutes",
    "buffer_minutes",
    "fee_cents",
    "self_schedulable",
)
MIN_DURATION, MAX_DURATION = 5, 480
MAX_BUFFER = 120
MAX_FEE_CENTS = 100_000 * 100

_ZIP = re.compile(r"\d{5}(-\d{4})?")
# Category I codes are five digits; Category II and III are four digits and a letter.
_CPT = re.compile(r"\d{5}|\d{4}[A-Z]")
_DOLLARS = re.compile(r"\$?(\d{1,9})(\.\d{1,2})?")
_MINUTES = re.compile(r"\d{1,4}")


class CatalogInvalid(RuleError):
    """Some fields were refused: ``errors`` maps each field to its rule code."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("catalog_invalid")
        self.errors = errors


# ---------------------------------------------------------------- reading forms


def _checkbox(form: Mapping[str, str], key: str, errors: dict[str, str]) -> bool:
    """A ticked box sends "1"; an unticked one sends nothing."""
    raw = form.get(key)
    if raw not in (None, "1"):
        errors[key] = "setting_invalid"
    return raw == "1"


def _name(form: Mapping[str, str], code: str, errors: dict[str, str]) -> str:
    name = " ".join((form.get("name") or "").split())
    if not name or len(name) > MAX_NAME or has_control_characters(name):
        errors["name"] = code
    return name


def check_location(form: Mapping[str, str]) -> dict[str, object]:
    """The cleaned location, or CatalogInvalid. A telehealth (video) location has no
    address: its address fields are emptied."""
    errors: dict[str, str] = {}
    clean: dict[str, object] = {"name": _name(form, "location_name_invalid", errors)}
    for key, limit in LOCATION_TEXT.items():
        value = (form.get(key) or "").strip()
        if len(value) > limit or has_control_characters(value):
            errors[key] = f"location_{key}_invalid"
        clean[key] = value
    postal = (form.get("postal_code") or "").strip()
    if postal and not _ZIP.fullmatch(postal):
        errors["postal_code"] = "postal_code_invalid"
    clean["postal_code"] = postal
    clean["telehealth"] = _checkbox(form, "telehealth", errors)
    clean["hide_address"] = _checkbox(form, "hide_address", errors)
    if clean["telehealth"]:
        for key in ADDRESS_FIELDS:
            errors.pop(key, None)
            clean[key] = ""
    if errors:
        raise CatalogInvalid(errors)
    return clean


def parse_fee(raw: str) -> int | None:
    """Dollars as typed ("150", "150.00", "$150.5") in cents, or None."""
    match = _DOLLARS.fullmatch(raw.strip())
    if not match:
        return None
    cents = int(Decimal(match.group(0).lstrip("$")) * 100)
    return cents if 0 <= cents <= MAX_FEE_CENTS else None


def _minutes(raw: str, low: int, high: int) -> int | None:
    raw = raw.strip()
    if not _MINUTES.fullmatch(raw) or not low <= int(raw) <= high:
        return None
    return int(raw)


def check_service(form: Mapping[str, str]) -> dict[str, object]:
    """The cleaned service, or CatalogInvalid."""
    errors: dict[str, str] = {}
    clean: dict[str, object] = {"name": _name(form, "service_name_invalid", errors)}
    cpt = (form.get("cpt_code") or "").strip().upper()
    if not _CPT.fullmatch(cpt):
        errors["cpt_code"] = "cpt_code_invalid"
    clean["cpt_code"] = cpt
    duration = _minutes(form.get("duration_minutes") or "", MIN_DURATION, MAX_DURATION)
    if duration is None:
        errors["duration_minutes"] = "duration_invalid"
    clean["duration_minutes"] = duration
    buffer = _minutes(form.get("buffer_minutes") or "", 0, MAX_BUFFER)
    if buffer is None:
        errors["buffer_minutes"] = "buffer_invalid"
    clean["buffer_minutes"] = buffer
    fee = parse_fee(form.get("fee") or "")
    if fee is None:
        errors["fee"] = "fee_invalid"
    clean["fee_cents"] = fee
    clean["self_schedulable"] = _checkbox(form, "self_schedulable", errors)
    if errors:
        raise CatalogInvalid(errors)
    return clean


def location_form(location: Location | None) -> dict[str, object]:
    """A location's values as its form shows them (an empty form for a new one)."""
    if location is None:
        return {key: "" for key in LOCATION_FIELDS} | {"telehealth": False, "hide_address": False}
    return {key: getattr(location, key) for key in LOCATION_FIELDS}


def service_form(service: Service | None) -> dict[str, object]:
    """A service's values as its form shows them, the fee in dollars ("150.00")."""
    if service is None:
        return {
            "name": "",
            "cpt_code": "",
            "duration_minutes": "50",
            "buffer_minutes": "10",
            "fee": "",
            "self_schedulable": True,
        }
    return {
        "name": service.name,
        "cpt_code": service.cpt_code,
        "duration_minutes": str(service.duration_minutes),
        "buffer_minutes": str(service.buffer_minutes),
        "fee": f"{service.fee_cents // 100}.{service.fee_cents % 100:02d}",
        "self_schedulable": service.self_schedulable,
    }


def posted_form(form: Mapping[str, str], keys: tuple[str, ...], boxes: tuple[str, ...]) -> dict:
    """What was posted, to show again beside its errors."""
    shown: dict[str, object] = {key: str(form.get(key) or "") for key in keys}
    shown.update({key: form.get(key) == "1" for key in boxes})
    return shown


# ---------------------------------------------------------------- changes


async def _audit(by: User, row: Model, change: str, fields: dict, ip: str) -> None:
    action = "settings.location" if isinstance(row, Location) else "settings.service"
    await audit(by, action, obj=row, category="settings", ip=ip, change=change, fields=fields)


async def _name_free(model: type[Model], practice_id: int, name: str, but: int = 0) -> None:
    """Two rows of one name could not be told apart on a client's page; this also
    makes a double-submitted "Add" add one row, not two."""
    same = model.filter(practice_id=practice_id, name=name).exclude(id=but)
    if await same.exists():
        kind = "location" if model is Location else "service"
        raise CatalogInvalid({"name": f"{kind}_name_taken"})


async def add(
    model: type[Model], practice_id: int, clean: Mapping, *, by: User, ip: str = ""
) -> Model:
    """Add a location or a service (``clean`` from ``check_*``), audited with its
    values; a name the practice already uses is refused (CatalogInvalid)."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        await _name_free(model, practice_id, str(clean["name"]))
        row = await model.create(practice_id=practice_id, **clean)
        fields = {key: {"old": None, "new": value} for key, value in clean.items()}
        await _audit(by, row, "add", fields, ip)
    return row


async def change(
    model: type[Model], practice_id: int, row_id: int, clean: Mapping, *, by: User, ip: str = ""
) -> list[str] | None:
    """Store what differs; the changed fields, or None when the row is not the practice's."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        row = await model.get_or_none(id=row_id, practice_id=practice_id)
        if row is None:
            return None
        await _name_free(model, practice_id, str(clean["name"]), but=row.id)
        fields = {
            key: {"old": getattr(row, key), "new": value}
            for key, value in clean.items()
            if getattr(row, key) != value
        }
        if not fields:
            return []
        await model.filter(id=row.id).update(**{key: clean[key] for key in fields})
        await _audit(by, row, "edit", fields, ip)
    return list(fields)


async def upcoming_at(location_id: int) -> int:
    """How many appointments still to come are at this location."""
    return await Appointment.filter(
        location_id=location_id, status__in=UPCOMING_STATUSES, starts_at__gt=clock.now()
    ).count()


async def set_active(
    model: type[Model], practice_id: int, row_id: int, active: bool, *, by: User, ip: str = ""
) -> bool | None:
    """Deactivate or reactivate a location or a service: True when it changed, False
    for a repeat, None when the row is not the practice's. A location with upcoming
    appointments, or the last active one, stays active (RuleError)."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        row = await model.get_or_none(id=row_id, practice_id=practice_id)
        if row is None:
            return None
        if row.active == active:
            return False
        if model is Location and not active:
            if await upcoming_at(row.id):
                raise RuleError("location_has_appointments")
            others = Location.filter(practice_id=practice_id, active=True).exclude(id=row.id)
            if not await others.exists():
                raise RuleError("location_last_active")
        await model.filter(id=row.id).update(active=active)
        change = "reactivate" if active else "deactivate"
        await _audit(by, row, change, {"active": {"old": row.active, "new": active}}, ip)
    return True
