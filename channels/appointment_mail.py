"""Emails about appointments. Minimum necessary: the practice, a time and a link;
never the service, the provider's specialty or anything clinical."""

from __future__ import annotations

from models.people import Client
from models.scheduling import WaitlistOffer


def _queue(**kwargs):
    from channels.email import queue_email

    return queue_email(**kwargs)


async def waitlist_offer(offer: WaitlistOffer, token: str) -> None:
    """A time opened up: held for the client for 15 minutes, with a link to take it."""
    client = offer.entry.client
    if not isinstance(client, Client):
        client = await Client.get(id=offer.entry.client_id)
    to = await _email_of(client)
    if not to:
        return  # nobody to tell: the hold lapses and the next client is offered the time
    await _queue(
        to=to,
        template="waitlist_offer",
        lang=client.preferred_language,
        client_id=client.id,
        dedupe_key=f"waitlist-offer:{offer.id}",
        context={
            "name": client.preferred_name or client.first_name,
            "starts_at": offer.starts_at,
            "hold_until": offer.hold_until,
            "time_zone": client.time_zone,
            "path": f"/waitlist/offers/{token}",
        },
    )


async def _email_of(client: Client) -> str:
    """The client's own account email, else their default email on file."""
    from models.people import ContactPoint, User

    if client.user_id:
        user = await User.get_or_none(id=client.user_id)
        if user is not None and user.is_active:
            return user.email
    point = (
        await ContactPoint.filter(client_id=client.id, kind="email")
        .order_by("-is_default", "id")
        .first()
    )
    return point.value if point else ""
