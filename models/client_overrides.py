"""One client's portal switches (issue 9; seeds 002/003: "organisation wide, but can be
turned off at the client level"), and why each one is what it is.

A client override can only narrow: it turns a feature off for this client, or takes
its own "off" back so the client follows the practice (and their provider) again. A
feature the practice or the provider has off cannot be turned on for one client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models.audit import audit
from models.errors import RuleError
from models.people import Client, StaffMember, User
from models.practice import Practice
from models.settings import OVERRIDABLE, effective_settings


@dataclass(frozen=True)
class Feature:
    """One switch as it applies to a client, and the level that decided it."""

    key: str
    on: bool
    source: str  # "default" | "practice" | "provider" | "client" | "processor"
    allowed_above: bool  # on at the practice and the provider: the client's own choice counts
    client_off: bool  # this client has their own "off"


class OverridesInvalid(RuleError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("overrides_invalid")
        self.errors = errors


async def context_of(client: Client) -> tuple[Practice, StaffMember | None]:
    practice = await Practice.get(id=client.practice_id)
    provider = None
    if client.primary_provider_id:
        provider = await StaffMember.get_or_none(id=client.primary_provider_id).select_related(
            "user"
        )
    return practice, provider


def features(practice: Practice, client: Client, provider: StaffMember | None) -> list[Feature]:
    """Each overridable switch for ``client``: its value and the level that set it."""
    effective = effective_settings(practice, client, provider)
    above = effective_settings(practice, _without_overrides(client), provider)
    own = client.portal_overrides or {}
    return [
        Feature(
            key=key,
            on=bool(effective[key]),
            source=effective[key].source,
            allowed_above=bool(above[key]),
            client_off=own.get(key) is False,
        )
        for key in OVERRIDABLE
    ]


def _without_overrides(client: Client) -> Client:
    bare = Client(id=client.id, practice_id=client.practice_id)
    bare.portal_overrides = {}
    return bare


def read_form(form: Mapping[str, str], found: list[Feature]) -> dict[str, bool]:
    """Which switches the form turns off for the client (True: the client's own "off").
    A switch the practice or provider has off is not on the form (its box is disabled)
    and keeps what it had; sent ticked anyway, it is refused."""
    errors: dict[str, str] = {}
    wanted: dict[str, bool] = {}
    for feature in found:
        raw = form.get(feature.key)
        if raw not in (None, "1"):
            errors[feature.key] = "setting_invalid"
        elif not feature.allowed_above:
            if raw == "1":
                errors[feature.key] = "setting_off_above"
            wanted[feature.key] = feature.client_off
        else:
            wanted[feature.key] = raw != "1"
    if errors:
        raise OverridesInvalid(errors)
    return wanted


async def change_overrides(
    client_id: int, off: Mapping[str, bool], *, by: User, ip: str = ""
) -> list[str]:
    """Store the client's own "off" for each key of ``off`` (True) or take it back
    (False); one audit event per change; return the keys that changed. A repeat
    changes and audits nothing."""
    if set(off) - set(OVERRIDABLE):
        raise RuleError("setting_invalid")
    async with in_transaction():
        client = await Client.select_for_update().get(id=client_id)
        stored = dict(client.portal_overrides or {})
        changed = [
            key for key in OVERRIDABLE if key in off and off[key] != (stored.get(key) is False)
        ]
        if not changed:
            return []
        for key in changed:
            if off[key]:
                stored[key] = False
            else:
                stored.pop(key, None)
        await Client.filter(id=client.id).update(portal_overrides=stored)
        for key in changed:
            await audit(
                by,
                "settings.client",
                client_id=client.id,
                obj=client,
                category="settings",
                ip=ip,
                setting=key,
                old=off[key],  # on for the client before (their own "off" came with the change)
                new=not off[key],
            )
    return changed


def off_summary(found: list[Feature]) -> list[Feature]:
    """The features that are off for the client (for the Manage Clients list)."""
    return [f for f in found if not f.on]
