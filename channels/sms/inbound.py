"""``POST /sms/inbound``: a text from a client, checked, stored once, acted on once.

``receive`` is the whole webhook (the route and the developer page /dev/sms call it):

1. ``X-Twilio-Signature`` is checked against ``PUBLIC_URL`` first: 403 and nothing
   done otherwise (``channels.sms.signature``).
2. The parameters Twilio always sends are checked: ``MessageSid`` (SM or MM and 32
   hex digits), ``From`` and ``To`` (E.164) and ``Body`` (empty only for a picture
   message, ``NumMedia`` > 0), each exactly once. Anything else is a 400 with nothing
   stored. A body longer than Twilio's 1,600 characters is cut to them.
3. The text is stored (``InboundSms``, unique by ``MessageSid``) and acted on
   (``channels.sms.replies``) in ONE transaction, so a retried, replayed or
   concurrent copy of the webhook finds the row, rolls back, and changes nothing.
   The answer to the client is queued in the outbox in that same transaction
   (``reply:<MessageSid>``), never sent inline as TwiML: it shows in the delivery
   log, and a retry cannot send it twice.
4. The messages posted to the client's chat thread are published to the live
   sockets only after the commit; the answer is an empty TwiML ``<Response/>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction
from twilio.twiml.messaging_response import MessagingResponse

from app.config import Config
from channels.sms import MAX_BODY, signature
from channels.sms.replies import Handled, handle
from models import clock
from models.outbox import InboundSms

EMPTY_TWIML = str(MessagingResponse())  # <?xml ...?><Response />
TWIML_TYPE = "text/xml; charset=utf-8"
MAX_MEDIA = 10  # Twilio's limit for one MMS

_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# What PostgreSQL text cannot hold (NUL) and what a message may not carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadRequest(ValueError):
    """A webhook without the parameters Twilio always sends."""


def _one(params: Mapping, key: str) -> str | None:
    """The one value of ``key``; None when it is missing or repeated."""
    getlist = getattr(params, "getlist", None)
    values = getlist(key) if getlist is not None else ([params[key]] if key in params else [])
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    return values[0]


def clean_body(body: str) -> str:
    """The first 1,600 characters, as text a database and a message can hold."""
    body = body[:MAX_BODY].encode("utf-8", "replace").decode("utf-8")
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", body)


def read_params(params: Mapping) -> tuple[str, str, str, str, int]:
    """(MessageSid, From, To, Body, NumMedia), or BadRequest."""
    sid, sender, to, body = (_one(params, k) for k in ("MessageSid", "From", "To", "Body"))
    media = _one(params, "NumMedia") if "NumMedia" in params else "0"
    if sid is None or not _SID.fullmatch(sid):
        raise BadRequest("MessageSid")
    if sender is None or not _E164.fullmatch(sender):
        raise BadRequest("From")
    if to is None or not _E164.fullmatch(to):
        raise BadRequest("To")
    if media is None or not media.isascii() or not media.isdigit() or len(media) > 2:
        raise BadRequest("NumMedia")
    num_media = int(media)
    if num_media > MAX_MEDIA:
        raise BadRequest("NumMedia")
    if body is None or (not body.strip() and num_media == 0):
        raise BadRequest("Body")
    return sid, sender, to, clean_body(body), num_media


async def receive(config: Config, url: str, params: Mapping, signature_header: str):
    """One inbound webhook: (HTTP status, body). 200 with empty TwiML for a text
    handled now or before; 403 for a bad signature, 400 for bad parameters, both
    with nothing stored."""
    if not signature.valid(config, url, params, signature_header or ""):
        return 403, ""
    try:
        sid, sender, to, body, num_media = read_params(params)
    except BadRequest:
        return 400, ""
    if await InboundSms.exists(message_sid=sid):  # a retry: done already
        return 200, EMPTY_TWIML
    try:
        async with in_transaction():
            row = await InboundSms.create(
                message_sid=sid,
                from_number=sender,
                to_number=to,
                body=body,
                received_at=clock.now(),
            )
            handled = await handle(row, num_media=num_media)
            row.client_id = handled.client_id
            row.intent = handled.intent[:16]
            row.outcome = handled.outcome[:32]
            await row.save(update_fields=["client_id", "intent", "outcome"])
    except IntegrityError:
        if await InboundSms.exists(message_sid=sid):  # a concurrent copy won
            return 200, EMPTY_TWIML
        raise
    await publish(handled)
    return 200, EMPTY_TWIML


async def publish(handled: Handled) -> None:
    """Tell the live sockets about the messages posted, after they are committed."""
    if not handled.posted:
        return
    from channels.chat.broker import message_posted

    for message, client_id, practice_id in handled.posted:
        await message_posted(message, client_id=client_id, practice_id=practice_id)
