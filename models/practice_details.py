"""The practice's own details (issue 9): name, phone, email, tax id, time zone and
terms of service, as an admin edits them. New terms raise the terms version, so
every client and guardian accepts them again at their next sign-in."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.onboarding import has_control_characters
from models.people import User
from models.practice import Practice
from models.profile import ZONES, normalize_email, normalize_phone

MAX_NAME = 200
MAX_TERMS = 50_000
FIELDS = ("name", "phone", "email", "tax_id", "time_zone", "terms_of_service")
_TAX_ID = re.compile(r"\d{2}-\d{7}")  # an EIN, as printed on superbills


class DetailsInvalid(RuleError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("practice_details_invalid")
        self.errors = errors


def current(practice: Practice) -> dict[str, str]:
    return {key: getattr(practice, key) or "" for key in FIELDS}


def check(form: Mapping[str, str]) -> dict[str, str]:
    """The cleaned details, or DetailsInvalid naming each refused field."""
    raw = {key: (form.get(key) or "") for key in FIELDS}
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    name = raw["name"].strip()
    if not name or len(name) > MAX_NAME or has_control_characters(name):
        errors["name"] = "practice_name_invalid"
    clean["name"] = name
    phone = raw["phone"].strip()
    clean["phone"] = (normalize_phone(phone) or "") if phone else ""
    if phone and not clean["phone"]:
        errors["phone"] = "phone_invalid"
    email = raw["email"].strip()
    clean["email"] = (normalize_email(email) or "") if email else ""
    if email and not clean["email"]:
        errors["email"] = "email_invalid"
    tax_id = raw["tax_id"].strip()
    if tax_id and not _TAX_ID.fullmatch(tax_id):
        errors["tax_id"] = "tax_id_invalid"
    clean["tax_id"] = tax_id
    if raw["time_zone"] not in ZONES:
        errors["time_zone"] = "time_zone_unknown"
    clean["time_zone"] = raw["time_zone"]
    terms = raw["terms_of_service"].replace("\r\n", "\n").strip()
    if len(terms) > MAX_TERMS or "\x00" in terms:
        errors["terms_of_service"] = "terms_too_long"
    clean["terms_of_service"] = terms
    if errors:
        raise DetailsInvalid(errors)
    return clean


async def change(
    practice_id: int, clean: Mapping[str, str], *, by: User, ip: str = ""
) -> list[str]:
    """Store what differs, under a row lock; one audit event per field (the terms'
    version numbers, not their text). Returns the fields that changed."""
    async with in_transaction():
        practice = await Practice.select_for_update().get(id=practice_id)
        before = current(practice)
        changed = [key for key in FIELDS if clean[key] != before[key]]
        if not changed:
            return []
        values: dict[str, object] = {key: clean[key] for key in changed}
        if "terms_of_service" in changed:
            values["terms_version"] = practice.terms_version + 1
            values["terms_updated_at"] = clock.now()
        await Practice.filter(id=practice.id).update(**values)
        for key in changed:
            if key == "terms_of_service":
                old, new = practice.terms_version, values["terms_version"]
                key = "terms_version"
            else:
                old, new = before[key], clean[key]
            await audit(
                by,
                "settings.practice_details",
                obj=practice,
                category="settings",
                ip=ip,
                setting=key,
                old=old,
                new=new,
            )
    return changed
