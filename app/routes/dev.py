"""Developer pages, only where there is no production: ``/dev/mail`` shows the email
the portal would have sent (no ``SMTP_URL`` and an http ``PUBLIC_URL``)."""

from __future__ import annotations

import re

from quart import Blueprint, abort, current_app

from app.auth import public
from app.htmx import render_page
from models.outbox import OutboxMessage

blueprint = Blueprint("dev", __name__, url_prefix="/dev")
SHOWN = 50
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}"


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
