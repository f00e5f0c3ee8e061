"""The email notice of a new secure message: "You have a new secure message" and a
sign-in link, nothing else (no sender, no subject, no text, no provider).

A message from the practice to a client that is still unread ``NOTICE_DELAY`` after
it was written is told about once: to the client's portal account, or, for a client
without one (a minor), to each guardian contact who may read their messages (portal
access with the "messages" scope). A message the client reads within the delay is
never mailed. One email per client (and recipient) per sweep, however many
messages are waiting; messages waiting longer than ``HORIZON`` are dropped
silently, so an old backlog (a worker that was down for days) never mails.

``Message.notified`` records that a message was handled (mailed, or not needed).
The worker claims messages by flipping it in the transaction that queues the
email, and only sends when its own update changed the rows: a second worker, or a
sweep after a crash, finds them claimed and sends nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import clock
from models.messaging import Message
from models.people import Client, Contact, Scope, User
from models.settings import settings_for

log = logging.getLogger("portal.message_mail")

NOTICE_DELAY = timedelta(minutes=5)  # read by then: no email
HORIZON = timedelta(days=1)  # unread and older than this: never mailed
SCAN = 500  # due messages looked at per sweep (the rest wait for the next one)


def _queue(**kwargs):
    from channels.email import queue_email

    return queue_email(**kwargs)


def _practice_to_client(qs):
    return qs.filter(from_client_side=False, automated=False, read_at__isnull=True)


async def _language_of(user: User) -> str:
    """The language the portal speaks to ``user``: their own client record's, else
    their account's (as the web app picks it)."""
    own = await Client.filter(user_id=user.id).values_list("preferred_language", flat=True)
    return own[0] if own else user.language


async def _recipients(client: Client) -> list[tuple[User, str, str]]:
    """``(user, language, greeting name)`` for everyone to tell about a new message
    to ``client``; empty when nobody can read it in the portal."""
    if not client.portal_enabled:
        return []
    settings = await settings_for(client)
    if not settings["messaging"]:
        return []
    if client.user_id:
        user = await User.get_or_none(id=client.user_id)
        if user is None or not user.is_active or not user.email:
            return []
        return [(user, client.preferred_language, client.preferred_name or client.first_name)]
    # No account of their own (a minor): the guardians who may read their messages.
    if not settings["contact_access"]:
        return []
    contacts = (
        await Contact.filter(client_id=client.id, portal_access=True, user_id__isnull=False)
        .select_related("user")
        .order_by("id")
    )
    result: list[tuple[User, str, str]] = []
    seen: set[int] = set()
    for contact in contacts:
        user = contact.user
        if (
            Scope.MESSAGES.value not in (contact.scopes or [])
            or user.id in seen
            or not user.is_active
            or not user.email
        ):
            continue
        seen.add(user.id)
        result.append((user, await _language_of(user), user.display_name))
    return result


async def _settle_unneeded(now) -> None:
    """Mark what will never be mailed as handled, so no sweep looks at it again:
    the client side's own messages, the assistant's answers, and anything older
    than the horizon (read or not)."""
    await Message.filter(
        Q(notified=False)
        & (Q(from_client_side=True) | Q(automated=True) | Q(created_at__lt=now - HORIZON))
    ).update(notified=True)


async def _notify_client(client_id: int, now) -> int:
    """Claim the client's waiting messages and queue the notices, in one
    transaction; how many emails were queued."""
    client = await Client.get_or_none(id=client_id).select_related("practice", "primary_provider")
    if client is None:
        return 0
    recipients = await _recipients(client)
    waiting = _practice_to_client(
        Message.filter(thread__client_id=client_id, notified=False, created_at__gte=now - HORIZON)
    )
    queued = 0
    async with in_transaction():
        due = await waiting.filter(created_at__lte=now - NOTICE_DELAY).values_list("id", flat=True)
        if not due:
            return 0
        # The claim: rows another worker took (or the client read) are not updated.
        claimed = await _practice_to_client(Message.filter(id__in=due, notified=False)).update(
            notified=True
        )
        if not claimed:
            return 0
        # Newer messages are covered by this notice too: one email for the lot.
        newer = await waiting.filter(created_at__gt=now - NOTICE_DELAY).values_list("id", flat=True)
        if newer:
            await _practice_to_client(Message.filter(id__in=newer, notified=False)).update(
                notified=True
            )
        last = max([*due, *newer])
        for user, lang, name in recipients:
            row = await _queue(
                to=user.email,
                template="message_notice",
                lang=lang,
                client_id=client.id,
                dedupe_key=f"message-notice:{client.id}:{last}:{user.id}",
                context={"name": name},
            )
            queued += row is not None
    return queued


async def send_message_notices() -> int:
    """Queue the email notices that are due; return how many were queued.

    Run by the worker on every pass. Idempotent, and safe with several workers.
    """
    now = clock.now()
    await _settle_unneeded(now)
    client_ids = await (
        _practice_to_client(
            Message.filter(
                notified=False,
                created_at__lte=now - NOTICE_DELAY,
                created_at__gte=now - HORIZON,
            )
        )
        .order_by("id")
        .limit(SCAN)
        .values_list("thread__client_id", flat=True)
    )
    queued = 0
    for client_id in dict.fromkeys(client_ids):
        try:
            queued += await _notify_client(client_id, now)
        except Exception:  # one client's trouble never holds up the others
            log.exception("message notice for client %s failed", client_id)
    return queued
