"""The practice's insurance payers, as admins and billers keep them (issue 9).

A payer's name is required and unique within the practice whatever its case (a client
picking "Blue Shield" should never see two of them); the electronic payer id, phone
and address are optional. Changes are made under the practice's row lock, so two
people adding the same name at once make one payer; each changed field is audited
once (action ``settings.payer``, with the field, its old and new value) and a repeat
changes and audits nothing.

A deactivated payer is no longer offered to clients (``insurance_rules.choosable_payers``
takes active payers only); the policies that name it keep it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tortoise.transactions import in_transaction

from models.audit import audit
from models.errors import RuleError
from models.insurance import Payer
from models.onboarding import has_control_characters
from models.people import User
from models.practice import Practice

# Sizes from models/insurance.py.
LIMITS = {"name": 200, "payer_code": 32, "phone": 32, "address": 300}
FIELDS = tuple(LIMITS)
_CODE = re.compile(r"[A-Za-z0-9-]+")
_PHONE = re.compile(r"[0-9+() .-]+")


class PayerInvalid(RuleError):
    """Some fields were refused: ``errors`` maps each field to its rule code."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("payer_invalid")
        self.errors = errors


def check(form: Mapping[str, str]) -> dict[str, str]:
    """The cleaned payer (spaces collapsed), or PayerInvalid."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for key, limit in LIMITS.items():
        raw = form.get(key)
        value = " ".join(raw.split()) if isinstance(raw, str) else ""
        if len(value) > limit or has_control_characters(raw or ""):
            errors[key] = f"payer_{key}_invalid"
        clean[key] = value
    if not clean["name"]:
        errors["name"] = "payer_name_invalid"
    if clean["payer_code"] and not _CODE.fullmatch(clean["payer_code"]):
        errors["payer_code"] = "payer_payer_code_invalid"
    if clean["phone"] and not _PHONE.fullmatch(clean["phone"]):
        errors["phone"] = "payer_phone_invalid"
    if errors:
        raise PayerInvalid(errors)
    return clean


def form_of(payer: Payer | None) -> dict[str, str]:
    """A payer's values as its form shows them (empty for a new one)."""
    return {key: (getattr(payer, key) if payer else "") for key in FIELDS}


def posted(form: Mapping[str, str]) -> dict[str, str]:
    """What was posted, to show again beside its errors."""
    return {key: str(form.get(key) or "") for key in FIELDS}


async def _name_taken(practice_id: int, name: str, *, other_than: int | None = None) -> bool:
    query = Payer.filter(practice_id=practice_id, name__iexact=name)
    if other_than is not None:
        query = query.exclude(id=other_than)
    return await query.exists()


async def _audit(by: User, payer: Payer, changes: dict, ip: str) -> None:
    for key, (old, new) in changes.items():
        await audit(
            by, "settings.payer", obj=payer, category="settings", ip=ip, field=key, old=old, new=new
        )


async def add(practice_id: int, clean: Mapping[str, str], *, by: User, ip: str = "") -> Payer:
    """Add a reviewed payer (``clean`` from ``check``); its name must be new to the
    practice (PayerInvalid on ``name`` otherwise, so a double submit adds one)."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        if await _name_taken(practice_id, clean["name"]):
            raise PayerInvalid({"name": "payer_name_taken"})
        payer = await Payer.create(practice_id=practice_id, **clean)
        await _audit(by, payer, {key: (None, value) for key, value in clean.items() if value}, ip)
    return payer


async def change(
    practice_id: int, payer_id: int, clean: Mapping[str, str], *, by: User, ip: str = ""
) -> list[str] | None:
    """Store what differs; the changed fields, or None when the payer is not the practice's."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        payer = await Payer.get_or_none(id=payer_id, practice_id=practice_id)
        if payer is None:
            return None
        changes = {
            key: (getattr(payer, key), value)
            for key, value in clean.items()
            if getattr(payer, key) != value
        }
        if not changes:
            return []
        if "name" in changes and await _name_taken(practice_id, clean["name"], other_than=payer.id):
            raise PayerInvalid({"name": "payer_name_taken"})
        await Payer.filter(id=payer.id).update(**{key: clean[key] for key in changes})
        await _audit(by, payer, changes, ip)
    return list(changes)


async def set_active(
    practice_id: int, payer_id: int, active: bool, *, by: User, ip: str = ""
) -> bool | None:
    """Deactivate or reactivate a payer: True when it changed, False for a repeat, None
    when the payer is not the practice's. Policies on file keep their payer."""
    async with in_transaction():
        await Practice.select_for_update().get(id=practice_id)
        payer = await Payer.get_or_none(id=payer_id, practice_id=practice_id)
        if payer is None:
            return None
        if payer.active == active:
            return False
        await Payer.filter(id=payer.id).update(active=active)
        await _audit(by, payer, {"active": (payer.active, active)}, ip)
    return True
