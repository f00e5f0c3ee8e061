"""Twilio's inbound-text webhook, ``POST /sms/inbound`` (``channels.sms.inbound``).

No session or CSRF token: Twilio proves itself with ``X-Twilio-Signature`` over the
URL it called (rebuilt from ``PUBLIC_URL``) and every form parameter, repeated ones
included (the form is passed on as the MultiDict it is)."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request

from app.auth import webhook
from channels.sms import inbound, signature

blueprint = Blueprint("sms", __name__)


@blueprint.post("/sms/inbound")
@webhook
async def post_inbound():
    config = current_app.config["PORTAL"]
    query = request.query_string.decode("utf-8", "replace")
    url = signature.public_url(config, request.path, query)
    params = await request.form
    header = request.headers.get("X-Twilio-Signature", "")
    status, body = await inbound.receive(config, url, params, header)
    return Response(body, status=status, content_type=inbound.TWIML_TYPE)
