"""What a person still owes after their password: a code, an enrolment, the terms.

A session carries the step it is at (``Session.stage``). With a code owed the
session is not signed in at all; with enrolment or terms owed it may reach only
the pages that settle them.
"""

from __future__ import annotations

from models.access import client_accesses, own_client, staff_member_for
from models.devices import is_remembered
from models.people import User
from models.practice import Practice
from models.security import Device
from models.settings import DEFAULTS

CODE = "two_factor"  # password accepted, a two-factor code owed
ENROL = "enrol"  # the practice requires two-factor and this person has none yet
TERMS = "terms"  # the practice's terms (or a new version of them) are not accepted yet
DONE = ""


async def practice_of(user: User) -> Practice | None:
    staff = await staff_member_for(user)
    if staff is not None:
        return staff.practice
    client = await own_client(user)
    if client is not None:
        return client.practice
    accesses = await client_accesses(user, own=None)
    return accesses[0].client.practice if accesses else None


async def two_factor_required(user: User, practice: Practice | None = None) -> bool:
    practice = practice or await practice_of(user)
    if practice is None:
        return False
    rule = (practice.portal_settings or {}).get(
        "require_two_factor", DEFAULTS["require_two_factor"]
    )
    if rule == "all":
        return True
    return rule == "staff" and await staff_member_for(user) is not None


async def terms_owed(user: User, practice: Practice | None = None) -> bool:
    """Clients and guardians accept the practice's terms; staff agreed to them otherwise."""
    practice = practice or await practice_of(user)
    if practice is None or not practice.terms_of_service.strip():
        return False
    if user.terms_version == practice.terms_version:
        return False
    return bool(await client_accesses(user))


async def stage_after_password(user: User, device: Device | None) -> str:
    if user.totp_enabled_at is not None and not is_remembered(device):
        return CODE
    return await stage_after_code(user)


async def stage_after_code(user: User) -> str:
    practice = await practice_of(user)
    if user.totp_enabled_at is None and await two_factor_required(user, practice):
        return ENROL
    if await terms_owed(user, practice):
        return TERMS
    return DONE


async def accept_terms(user: User, practice: Practice) -> None:
    from models import clock

    user.terms_version = practice.terms_version
    user.terms_accepted_at = clock.now()
    await User.filter(id=user.id).update(
        terms_version=user.terms_version, terms_accepted_at=user.terms_accepted_at
    )
