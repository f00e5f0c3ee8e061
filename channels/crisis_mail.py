"""The provider is told at once when a client's text or chat message holds crisis words.

One email per staff member: the client's provider, or the practice's admins when the
client has none. It carries no content and no name (it says to sign in to the inbox);
the message itself waits, flagged and unread, in the client's thread. Queued in the
caller's transaction; ``dedupe`` names the message, so a retried webhook or a double
post alerts once.
"""

from __future__ import annotations

from channels.email import queue_email
from models.people import Client, StaffMember
from models.practice import Practice


async def alert_provider(client: Client, *, dedupe: str) -> int:
    """Queue the alert for ``client``'s provider (or admins); returns how many."""
    practice = client.practice
    if not isinstance(practice, Practice):  # not joined by the caller
        practice = await Practice.get(id=client.practice_id)
    staff = []
    if client.primary_provider_id:
        staff = await StaffMember.filter(id=client.primary_provider_id).select_related("user")
    if not staff:  # no provider on file: the practice's admins
        members = await StaffMember.filter(
            practice_id=client.practice_id, active=True
        ).select_related("user")
        staff = [m for m in members if m.has_role("admin")]
    queued = 0
    for member in staff:
        user = member.user
        if not user.is_active:
            continue
        await queue_email(
            to=user.email,
            template="crisis_alert",
            context={"name": user.display_name, "practice_name": practice.name},
            lang=user.language,
            dedupe_key=f"crisis:{dedupe}:{member.id}",
            client_id=client.id,
        )
        queued += 1
    return queued
