"""``POST /sms/status``: Twilio's delivery reports for the texts we sent.

Signed by Twilio (``X-Twilio-Signature`` over ``PUBLIC_URL`` + path + query and the
form); anything else is a 403 and changes nothing. A good report is applied forward
only (``channels.sms.status``) and answered 204; a report Twilio could not have sent
(no SID, an unknown status word) is a 400; an unknown SID a 200.
"""

from __future__ import annotations

from quart import Blueprint, current_app, request

from app.auth import webhook
from channels.sms import status as sms_status
from channels.sms.signature import public_url, valid

blueprint = Blueprint("sms_status", __name__)

MAX_BODY = 16 * 1024  # a status report is a few hundred bytes
MAX_FIELD = 256


@blueprint.post("/sms/status")
@webhook
async def status():
    config = current_app.config["PORTAL"]
    if (request.content_length or 0) > MAX_BODY:
        return "", 413
    form = await request.form
    url = public_url(config, request.path, request.query_string.decode("latin-1"))
    if not valid(config, url, form, request.headers.get("X-Twilio-Signature", "")):
        return "", 403
    sid = form.get("MessageSid", "")
    word = form.get("MessageStatus", "")
    error_code = form.get("ErrorCode", "")
    rid = request.args.get("rid", "")
    if any(len(value) > MAX_FIELD for value in (sid, word, error_code, rid)):
        return "", 400
    outcome = await sms_status.apply(sid, word, error_code, rid)
    if outcome == "invalid":
        return "", 400
    if outcome == "unknown":
        return "", 200
    return "", 204
