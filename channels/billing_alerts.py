"""The practice's billers are told when a card payment is disputed at the bank.

One email per active biller (the practice's admins when it has none), with no client
name, amount or reason: it says to sign in. Queued in the caller's transaction (the
webhook event's), with a dedupe key, so a repeated event alerts once.
"""

from __future__ import annotations

from channels.email import queue_email
from models.people import Client, StaffMember
from models.practice import Practice


async def alert_billers(client: Client, *, dedupe: str) -> int:
    """Queue the alert about ``client``'s payment; returns how many were queued."""
    practice = await Practice.get(id=client.practice_id)
    members = await StaffMember.filter(practice_id=client.practice_id, active=True).select_related(
        "user"
    )
    staff = [m for m in members if m.has_role("biller")] or [
        m for m in members if m.has_role("admin")
    ]
    queued = 0
    for member in staff:
        user = member.user
        if not user.is_active:
            continue
        row = await queue_email(
            to=user.email,
            template="dispute_alert",
            context={"name": user.display_name, "practice_name": practice.name},
            lang=user.language,
            dedupe_key=f"{dedupe}:{member.id}"[:128],
            client_id=client.id,
        )
        queued += row is not None
    return queued
