"""Developer pages, only where there is no production: ``/dev/mail`` shows the email
the portal would have sent (no ``SMTP_URL`` and an http ``PUBLIC_URL``), ``/dev/sms``
the texts (no Twilio and an http ``PUBLIC_URL``), where one replies as the client.

A reply from ``/dev/sms`` is signed as Twilio signs a webhook and goes through
``channels.sms.inbound.receive``: the same path, checks and effects as a real text.
"""

from __future__ import annotations

import re
import secrets

from quart import Blueprint, Response, abort, current_app, redirect, request

from app.auth import public
from app.config import Config
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import _
from models import clock
from models.outbox import InboundSms, OutboxMessage
from models.practice import Practice

blueprint = Blueprint("dev", __name__, url_prefix="/dev")
SHOWN = 50
SMS_SHOWN = 200  # the newest texts each way
MAX_REPLY = 1600  # Twilio's longest body
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}"
_E164 = re.compile(r"\+[0-9]{7,15}")


def linkify(text: str) -> list[tuple[str, str | None]]:
    """``text`` cut into ``(text, url)`` pieces; ``url`` is set for http(s) links.

    The template escapes both: nothing here is marked safe.
    """
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        if start > position:
            pieces.append((text[position:start], None))
        pieces.append((url, url))
        position = end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


@blueprint.get("/mail")
@public
async def get_mail():
    if not current_app.config["PORTAL"].dev_outbox:
        abort(404)
    rows = await OutboxMessage.filter(channel="email").order_by("-id").limit(SHOWN)
    messages = [{"row": row, "pieces": linkify(row.body)} for row in rows]
    return await render_page("views/dev/mail.html", messages=messages)


# ---- /dev/sms: the texts, and replies as the client ----------------------------------


def _sms_config() -> Config:
    """The config, or a 404 anywhere texts really go out (Twilio, or https)."""
    config = current_app.config["PORTAL"]
    if not config.sms_dev_outbox:
        abort(404)
    return config


async def _practice_number(config: Config) -> tuple[Practice | None, str]:
    practice = await Practice.all().order_by("id").first()
    number = (practice.sms_number if practice else "") or config.twilio_from
    return practice, number


def _anchor(phone: str) -> str:
    return "sms-" + re.sub(r"\D", "", phone)


async def _conversations(phone: str | None = None) -> list[dict]:
    """Texts grouped by the other side's number: newest conversation first, each in
    the order it happened (a text out at its send time, or its due time while planned)."""
    outbound = OutboxMessage.filter(channel="sms")
    inbound = InboundSms.all()
    if phone is not None:
        outbound, inbound = outbound.filter(to=phone), inbound.filter(from_number=phone)
    by_number: dict[str, list[dict]] = {}
    for row in await outbound.order_by("-id").limit(SMS_SHOWN):
        at = row.sent_at or row.due_at
        by_number.setdefault(row.to, []).append({"out": True, "row": row, "at": at})
    for row in await inbound.order_by("-id").limit(SMS_SHOWN):
        by_number.setdefault(row.from_number, []).append(
            {"out": False, "row": row, "at": row.received_at}
        )
    conversations = []
    for number, items in by_number.items():
        items.sort(key=lambda item: (item["at"], item["out"], item["row"].id))
        for item in items:
            item["pieces"] = linkify(item["row"].body)
        conversations.append(
            {"phone": number, "anchor": _anchor(number), "items": items, "latest": items[-1]["at"]}
        )
    conversations.sort(key=lambda c: c["latest"], reverse=True)
    return conversations


async def _sms_page(config: Config, *, status: int = 200, error: str = "") -> Response:
    practice, number = await _practice_number(config)
    return await render_page(
        "views/dev/sms.html",
        status=status,
        conversations=await _conversations(),
        practice_number=number,
        tz=practice.time_zone if practice else "UTC",
        now=clock.now(),
        error=error,
    )


async def _after(config: Config, phone: str, *, error: str = "") -> Response:
    """htmx: the conversation swapped in place; otherwise back to the page (303).
    With ``error``: the same, status 422, the error shown (no JavaScript: the page)."""
    if not is_htmx():
        if error:
            return await _sms_page(config, status=422, error=error)
        return redirect(f"/dev/sms#{_anchor(phone)}", 303)
    practice, number = await _practice_number(config)
    found = await _conversations(phone) if _E164.fullmatch(phone) else []
    conversation = found[0] if found else {"phone": phone, "anchor": _anchor(phone), "items": []}
    return await render_partial(
        "partials/_sms_conversation.html",
        status=422 if error else 200,
        conversation=conversation,
        practice_number=number,
        tz=practice.time_zone if practice else "UTC",
        now=clock.now(),
        conversation_error=error,
    )


@blueprint.get("/sms")
@public
async def get_sms():
    return await _sms_page(_sms_config())


@blueprint.post("/sms/reply")
@public
async def post_sms_reply():
    """A text from ``from`` to the practice, as Twilio would post it, signed."""
    config = _sms_config()
    form = await request.form
    phone = form.get("from", "").strip()
    body = form.get("body", "")
    if not _E164.fullmatch(phone) or len(body) > MAX_REPLY:
        error = _("Reply from a number like +15550100001, in at most 1,600 characters.")
        return await _after(config, phone, error=error)
    _practice, number = await _practice_number(config)
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + secrets.token_hex(16),
        "From": phone,
        "To": number,
        "Body": body,
        "NumMedia": "0",
    }
    from channels.sms.inbound import receive
    from channels.sms.signature import public_url, sign

    url = public_url(config, "/sms/inbound")
    await receive(config, url, params, sign(config, url, params))
    return await _after(config, phone)


@blueprint.post("/sms/<id:message_id>/send")
@public
async def post_sms_send_now(message_id: int):
    """A planned text due now, so the demo need not wait for it."""
    config = _sms_config()
    row = await OutboxMessage.get_or_none(id=message_id, channel="sms", status="pending")
    if row is None:
        abort(404)
    await OutboxMessage.filter(id=row.id, status="pending").update(due_at=clock.now())
    from channels.sms import wake

    wake()
    return await _after(config, row.to)
