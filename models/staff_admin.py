"""The practice's staff as an admin manages them (issue 9): roles, active or not, a
provider's own portal switches and calendar numbers, and adding a colleague.

Refusals keep the practice manageable: an admin cannot take away their own admin role
or deactivate themselves, and the practice always keeps at least one active admin.
The practice's staff rows are locked while a change is decided, so two admins
demoting each other at once cannot both succeed. A provider's switches can only
narrow what the practice allows (``models.settings.effective_settings``): "off"
closes a feature for all their clients; one the practice has off cannot be turned on.
Every change is one audit event ("settings.staff") with the field, old and new value;
a repeat changes and audits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models.audit import audit
from models.auth import normalize_email
from models.errors import RuleError
from models.onboarding import Send, has_control_characters, valid_email
from models.people import Client, Contact, Role, StaffMember, User
from models.practice import Practice
from models.resets import invitation_mail
from models.security import Session
from models.settings import OVERRIDABLE, PROVIDER_NUMBERS, practice_settings

ROLES = tuple(r.value for r in Role)  # in the page's order
MAX_NAME = 200
# The most a provider may set for each of their numbers, in the unit the form uses.
NUMBER_MAX = {
    "booking_min_notice_hours": 720,  # 30 days
    "booking_short_notice_hours": 720,
    "booking_horizon_days": 730,  # two years
    "cancel_free_hours": 720,
    "cancel_block_hours": 720,
    "late_cancel_fee_cents": 1000,  # dollars on the form
}
# The form asks for the late fee in whole dollars; it is stored in cents.
NUMBER_UNIT = {"late_cancel_fee_cents": 100}


class StaffInvalid(RuleError):
    """Some fields were refused: ``errors`` maps each field to its rule code."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("staff_invalid")
        self.errors = errors


@dataclass(frozen=True)
class Switch:
    """One overridable feature as it stands for a provider's clients."""

    key: str
    practice_on: bool  # on for the practice: the provider's choice counts
    provider_off: bool  # the provider has it off for all their clients

    @property
    def on(self) -> bool:
        return self.practice_on and not self.provider_off


def switches(practice: Practice, member: StaffMember) -> list[Switch]:
    on = practice_settings(practice)
    own = member.portal_overrides or {}
    return [Switch(key, bool(on[key]), own.get(key) is False) for key in OVERRIDABLE]


def numbers(member: StaffMember) -> dict[str, int | None]:
    """The provider's own numbers as the form shows them (None: the practice's)."""
    own = member.portal_overrides or {}
    result: dict[str, int | None] = {}
    for key in PROVIDER_NUMBERS:
        value = own.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        result[key] = value // NUMBER_UNIT.get(key, 1) if ok else None
    return result


def practice_numbers(practice: Practice) -> dict[str, int]:
    """The practice's numbers, in the form's units (shown as what "empty" means)."""
    on = practice_settings(practice)
    return {key: int(on[key].value) // NUMBER_UNIT.get(key, 1) for key in PROVIDER_NUMBERS}


# ---- reading forms --------------------------------------------------------------------


def read_roles(values: Iterable[object]) -> list[str]:
    """Known roles in a fixed order; an unknown one or none at all is refused."""
    values = list(values)
    wanted = {v for v in values if isinstance(v, str)}
    if any(not isinstance(v, str) for v in values) or wanted - set(ROLES):
        raise StaffInvalid({"roles": "staff_role_unknown"})
    if not wanted:
        raise StaffInvalid({"roles": "staff_role_missing"})
    return [r for r in ROLES if r in wanted]


def read_portal(
    form: Mapping[str, str], practice: Practice, member: StaffMember
) -> tuple[dict[str, bool], dict[str, int | None]]:
    """``(off, numbers)`` from the provider's form. A switch is "follow the practice"
    when ticked ("1") and "off for all their clients" when absent; one the practice has
    off is disabled on the page and keeps what it had (sent ticked, it is refused).
    A number is empty (use the practice's) or a whole number from 0 to its maximum."""
    errors: dict[str, str] = {}
    off: dict[str, bool] = {}
    for switch in switches(practice, member):
        raw = form.get(switch.key)
        if raw not in (None, "1"):
            errors[switch.key] = "setting_invalid"
        elif not switch.practice_on:
            if raw == "1":
                errors[switch.key] = "staff_switch_off_for_practice"
            off[switch.key] = switch.provider_off
        else:
            off[switch.key] = raw != "1"
    wanted: dict[str, int | None] = {}
    for key in PROVIDER_NUMBERS:
        raw = form.get(key, "")
        raw = raw.strip() if isinstance(raw, str) else "?"
        if not raw:
            wanted[key] = None
        elif raw.isascii() and raw.isdigit() and len(raw) <= 6 and int(raw) <= NUMBER_MAX[key]:
            wanted[key] = int(raw) * NUMBER_UNIT.get(key, 1)
        else:
            errors[key] = "staff_number_invalid"
    if errors:
        raise StaffInvalid(errors)
    return off, wanted


def read_new(form: Mapping[str, str], roles: Iterable[object]) -> tuple[str, str, list[str]]:
    """``(name, email, roles)`` for a new staff member, or every field's refusal."""
    errors: dict[str, str] = {}
    name = form.get("name", "")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "staff_name_missing"
    elif len(name) > MAX_NAME or has_control_characters(name):
        errors["name"] = "staff_name_invalid"
    email = form.get("email", "")
    email = normalize_email(email) if isinstance(email, str) else ""
    if not valid_email(email):
        errors["email"] = "email_invalid"
    try:
        chosen = read_roles(list(roles))
    except StaffInvalid as invalid:
        errors.update(invalid.errors)
        chosen = []
    if errors:
        raise StaffInvalid(errors)
    return name, email, chosen


# ---- changes --------------------------------------------------------------------------


async def _locked(practice_id: int, staff_id: int) -> tuple[StaffMember, list[StaffMember]]:
    """The target and every staff member of the practice, locked (in id order)."""
    everyone = await StaffMember.select_for_update().filter(practice_id=practice_id).order_by("id")
    for member in everyone:
        if member.id == staff_id:
            return member, everyone
    raise RuleError("staff_not_found")


def _admins_left(everyone: list[StaffMember], target: StaffMember, roles, active) -> int:
    return sum(
        1
        for m in everyone
        if ("admin" in (roles if m.id == target.id else m.roles or []))
        and (active if m.id == target.id else m.active)
    )


async def change_roles(
    practice_id: int, staff_id: int, roles: list[str], *, by: StaffMember, ip: str = ""
) -> bool:
    """Give ``staff_id`` exactly ``roles`` (already read by ``read_roles``)."""
    async with in_transaction():
        target, everyone = await _locked(practice_id, staff_id)
        before = [r for r in ROLES if r in (target.roles or [])]
        if before == roles:
            return False
        if target.id == by.id and "admin" in before and "admin" not in roles:
            raise RuleError("staff_own_admin")
        if "admin" in before and _admins_left(everyone, target, roles, target.active) < 1:
            raise RuleError("staff_last_admin")
        await StaffMember.filter(id=target.id).update(roles=roles)
        await audit(
            by.user_id,
            "settings.staff",
            obj=target,
            category="settings",
            ip=ip,
            field="roles",
            old=before,
            new=roles,
        )
    return True


async def set_active(
    practice_id: int, staff_id: int, active: bool, *, by: StaffMember, ip: str = ""
) -> bool:
    """Deactivate (staff pages refuse them at once, and every session of their login
    is signed out) or reactivate a staff member."""
    async with in_transaction():
        target, everyone = await _locked(practice_id, staff_id)
        if target.active == active:
            return False
        if not active and target.id == by.id:
            raise RuleError("staff_deactivate_self")
        roles = target.roles or []
        if not active and "admin" in roles and _admins_left(everyone, target, roles, False) < 1:
            raise RuleError("staff_last_admin")
        await StaffMember.filter(id=target.id).update(active=active)
        if not active:
            await Session.filter(user_id=target.user_id).delete()
        await audit(
            by.user_id,
            "settings.staff",
            obj=target,
            category="settings",
            ip=ip,
            field="active",
            old=target.active,
            new=active,
        )
    return True


async def change_portal(
    practice_id: int,
    staff_id: int,
    off: Mapping[str, bool],
    wanted: Mapping[str, int | None],
    *,
    by: StaffMember,
    ip: str = "",
) -> list[str]:
    """Store a provider's switches (``off``: True = off for all their clients) and
    numbers (None = the practice's), keeping every other key of ``portal_overrides``;
    one audit event per changed key, which are returned."""
    if set(off) - set(OVERRIDABLE) or set(wanted) - set(PROVIDER_NUMBERS):
        raise RuleError("setting_invalid")
    async with in_transaction():
        target, _ = await _locked(practice_id, staff_id)
        stored = dict(target.portal_overrides or {})
        events: list[tuple[str, object, object]] = []
        for key in OVERRIDABLE:
            if key in off and off[key] != (stored.get(key) is False):
                events.append((key, off[key], not off[key]))  # on before, on after
                if off[key]:
                    stored[key] = False
                else:
                    stored.pop(key, None)
        for key in PROVIDER_NUMBERS:
            if key not in wanted:
                continue
            old = stored.get(key)
            old = old if isinstance(old, int) and not isinstance(old, bool) else None
            if wanted[key] != old:
                events.append((key, old, wanted[key]))
                if wanted[key] is None:
                    stored.pop(key, None)
                else:
                    stored[key] = wanted[key]
        if not events:
            return []
        await StaffMember.filter(id=target.id).update(portal_overrides=stored)
        for key, old, new in events:
            await audit(
                by.user_id,
                "settings.staff",
                obj=target,
                category="settings",
                ip=ip,
                field=key,
                old=old,
                new=new,
            )
    return [key for key, _, _ in events]


async def add_staff(
    practice_id: int,
    name: str,
    email: str,
    roles: list[str],
    *,
    by: StaffMember,
    send: Send | None = None,
    ip: str = "",
) -> StaffMember:
    """A new colleague: a login with no password and a staff member with ``roles``,
    and an email with a 7-day set-your-password link (a ``PasswordReset``, so
    /password/reset/<token> serves it). Staff and client logins stay separate: an
    email that already belongs to any login is refused, with a reason."""
    async with in_transaction():
        await _locked(practice_id, by.id)  # one add at a time per practice
        existing = await User.get_or_none(email=email)
        if existing is not None:
            staff = await StaffMember.get_or_none(user_id=existing.id)
            if staff is not None and staff.practice_id == practice_id:
                raise RuleError("staff_email_is_staff")
            if (
                await Client.exists(user_id=existing.id)
                or await Contact.exists(user_id=existing.id)
                or staff is None
            ):
                raise RuleError("staff_email_is_client")
            raise RuleError("email_in_use")
        practice = await Practice.get(id=practice_id)
        user = await User.create(email=email, display_name=name, language="en")
        member = await StaffMember.create(practice_id=practice_id, user=user, roles=roles)
        mail = await invitation_mail(user, practice, kind="staff-invitation", ip=ip)
        if send is not None:
            await send(mail)
        await audit(
            by.user_id,
            "settings.staff",
            obj=member,
            category="settings",
            ip=ip,
            field="added",
            old=None,
            new=roles,
        )
    return member
