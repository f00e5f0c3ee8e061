"""Changing the practice's client portal settings (issue 9; seeds 002/003).

``models/settings.py`` decides what applies to a client; this module is the one way
an admin changes the practice's switches: every value is checked against its kind,
payments stay off while the practice has no card processor this server can use, and
each value that really changes is audited with who, when, the old and the new value.
"""

from __future__ import annotations

from collections.abc import Mapping

from tortoise.transactions import in_transaction

from models.audit import audit
from models.errors import RuleError
from models.people import User
from models.practice import Practice
from models.settings import DEFAULTS, processor_usable

# On/off switches an admin sets for the whole practice, in the page's order.
SWITCHES = (
    "payments",
    "allow_credit",
    "messaging",
    "self_scheduling",
    "within_24h",
    "documents",
    "insurance_display",
    "insurance_add_payers",
    "contact_access",
    "hide_location_address",
)
# Settings with one of a few values.
CHOICES: dict[str, tuple[str, ...]] = {
    "scheduling_mode": ("request", "instant"),
    "require_two_factor": ("none", "staff", "all"),
}
# The appointment events that email the client (channels/appointment_mail.EVENTS).
NOTICES = (
    "notify_created",
    "notify_rescheduled",
    "notify_cancelled",
    "notify_request_confirmed",
    "notify_request_declined",
)
EDITABLE = SWITCHES + tuple(CHOICES) + NOTICES


class SettingsInvalid(RuleError):
    """Some fields were refused: ``errors`` maps each field to its rule code."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("settings_invalid")
        self.errors = errors


def stored_values(practice: Practice) -> dict[str, object]:
    """The practice's value for every editable setting (its default where unset)."""
    stored = practice.portal_settings or {}
    values = {}
    for key in EDITABLE:
        default = DEFAULTS[key]
        value = stored.get(key, default)
        values[key] = value if isinstance(value, type(default)) else default
    return values


def read_form(form: Mapping[str, str], practice: Practice) -> dict[str, object]:
    """The settings a submitted form asks for. A switch is on when its box is ticked
    ("1") and off when it is absent, as browsers send checkboxes. Payments cannot be
    turned on without a usable processor (its box is disabled, so it is never sent;
    sent anyway, it is refused) and otherwise keep their stored value."""
    errors: dict[str, str] = {}
    wanted: dict[str, object] = {}
    for key in SWITCHES + NOTICES:
        raw = form.get(key)
        if raw not in (None, "1"):
            errors[key] = "setting_invalid"
        wanted[key] = raw == "1"
    for key, allowed in CHOICES.items():
        raw = form.get(key)
        if raw not in allowed:
            errors[key] = "setting_choice_invalid"
        wanted[key] = raw
    if not processor_usable(practice):
        if wanted["payments"]:
            errors["payments"] = "payments_need_processor"
        wanted["payments"] = stored_values(practice)["payments"]
    if errors:
        raise SettingsInvalid(errors)
    return wanted


async def change_settings(
    practice_id: int, wanted: Mapping[str, object], *, by: User, ip: str = ""
) -> list[str]:
    """Store the values of ``wanted`` (already read by ``read_form``) that differ from
    the practice's, with one audit event each; return the keys that changed. The row
    is locked while it is read and written, so two admins saving at once both count
    and a repeated submit changes and audits nothing."""
    unknown = set(wanted) - set(EDITABLE)
    if unknown:
        raise RuleError("setting_invalid")
    async with in_transaction():
        practice = await Practice.select_for_update().get(id=practice_id)
        before = stored_values(practice)
        changed = [key for key in EDITABLE if key in wanted and wanted[key] != before[key]]
        if not changed:
            return []
        stored = dict(practice.portal_settings or {})
        stored.update({key: wanted[key] for key in changed})
        await Practice.filter(id=practice.id).update(portal_settings=stored)
        for key in changed:
            await audit(
                by,
                "settings.practice",
                obj=practice,
                category="settings",
                ip=ip,
                setting=key,
                old=before[key],
                new=wanted[key],
            )
    return changed
