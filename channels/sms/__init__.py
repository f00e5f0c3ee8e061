"""SMS over Twilio: the outbox queue for texts, the sender, the webhooks.

- ``channels.sms.texts``: the templates (160 GSM-7 characters at most).
- ``queue_sms`` (here): a text becomes an outbox row in the caller's transaction.
- ``channels.sms.sender``: the worker's loop that claims due rows with a lease, sends
  them through the Twilio SDK at ``SMS_RATE`` texts a second, and reconciles a lease
  that expired mid-send against Twilio before sending again.
- ``channels.sms.signature``: ``X-Twilio-Signature`` checked against ``PUBLIC_URL``.
- ``channels.sms.inbound`` and ``channels.sms.status``: what ``POST /sms/inbound`` and
  ``POST /sms/status`` do.

Opted-out numbers (``models.outbox.SmsOptOut``) get nothing: ``queue_sms`` records no
row for them, and the sender checks again just before each send.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from channels.wakeup import Wakeup
from models import clock
from models.outbox import OutboxMessage, SmsOptOut

CHANNEL = "sms"
MAX_BODY = 1600  # Twilio's limit; our templates stay within 160

_wakeup = Wakeup()
wake_event = _wakeup.event  # what the SMS sender waits on (besides its poll) in this loop
wake = _wakeup.set  # a text is waiting: wake the sender in this process


async def opted_out(phone: str) -> bool:
    return await SmsOptOut.exists(phone=phone)


async def queue_sms(
    *,
    to: str,
    body: str,
    dedupe_key: str,
    kind: str,
    client_id: int | None = None,
    context: dict | None = None,
    language: str = "en",
    due_at: datetime | None = None,
) -> OutboxMessage | None:
    """Queue one text to ``to`` (E.164). ``None``, and nothing queued, when that
    ``dedupe_key`` was queued before or the number opted out.

    Runs in the caller's transaction when there is one; a concurrent duplicate rolls
    back only its own insert (a savepoint). ``body`` may be "" only for a planned
    reminder (``kind="reminder"``), which the sender renders when it goes out.
    """
    to = (to or "").strip()
    if not to.startswith("+") or not to[1:].isdigit() or not 8 <= len(to) <= 16:
        raise ValueError("not an E.164 phone number")
    if not dedupe_key or len(dedupe_key) > 128:
        raise ValueError("dedupe_key must be 1 to 128 characters")
    if len(body) > MAX_BODY or (not body and kind != "reminder"):
        raise ValueError("an SMS body must be 1 to 1600 characters")
    if await OutboxMessage.exists(dedupe_key=dedupe_key) or await opted_out(to):
        return None
    try:
        async with in_transaction():
            row = await OutboxMessage.create(
                channel=CHANNEL,
                kind=kind,
                to=to,
                body=body,
                dedupe_key=dedupe_key,
                client_id=client_id,
                context=context or {},
                language=language,
                due_at=due_at or clock.now(),
            )
    except IntegrityError:
        if await OutboxMessage.exists(dedupe_key=dedupe_key):
            return None
        raise
    wake()
    return row
