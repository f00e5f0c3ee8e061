"""What ``POST /sms/status`` does: Twilio's delivery reports, applied forward only.

A message's delivery state only moves forward: accepted/queued/scheduled < sending <
sent < delivered | undelivered | failed | canceled. The last four are final. A report
that would move a message back, or from one final state to another, is ignored (and
logged); a repeated report changes nothing. Twilio may report before the sender has
stored the SID (the callback URL carries ``rid``, the outbox row's id, and is signed),
so an unknown SID with a ``rid`` whose row has no SID yet is matched to that row.

Error codes that mean the number cannot get texts (30003 unreachable, 30005 unknown,
30006 landline, 21211 invalid, 21610 replied STOP) mark the client's phone contact
points with that number ``sms_undeliverable_at``; 21610 also records the opt-out.
"""

from __future__ import annotations

import logging
import re

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint

log = logging.getLogger("portal.sms.status")

RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
}
FINAL = frozenset(s for s, rank in RANK.items() if rank == 3)
UNDELIVERABLE_CODES = frozenset({"30003", "30005", "30006", "21211", "21610"})
OPTED_OUT_CODE = "21610"
SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
ERROR_CODE = re.compile(r"[0-9]{1,6}")


def _earlier(state: str) -> list[str]:
    """States a report of ``state`` may move a message on from ("" = never reported)."""
    return [""] + [s for s, rank in RANK.items() if rank < RANK[state]]


async def mark_opted_out(phone: str, keyword: str = "") -> None:
    """No text to ``phone`` from now on (Twilio said 21610, or the number said STOP)."""
    now = clock.now()
    if not await SmsOptOut.exists(phone=phone):
        try:
            async with in_transaction():
                await SmsOptOut.create(phone=phone, opted_out_at=now, keyword=keyword[:16])
        except IntegrityError:
            pass  # recorded at the same moment by someone else
    await ContactPoint.filter(kind="phone", value=phone, sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    )


async def mark_undeliverable(phone: str) -> int:
    """Flag every phone contact point with this number; how many were newly flagged."""
    return await ContactPoint.filter(
        kind="phone", value=phone, sms_undeliverable_at__isnull=True
    ).update(sms_undeliverable_at=clock.now())


async def apply(sid: str, status: str, error_code: str = "", rid: str = "") -> str:
    """Apply one delivery report. Returns what happened: "applied", "ignored",
    "duplicate", "unknown" (no such message) or "invalid" (nothing changed)."""
    status = (status or "").strip().lower()
    error_code = (error_code or "").strip()
    if not SID.fullmatch(sid or "") or status not in RANK:
        return "invalid"
    if error_code and not ERROR_CODE.fullmatch(error_code):
        error_code = ""
    row = await OutboxMessage.filter(channel="sms", provider_ref=sid).first()
    if row is None and rid.isdigit() and len(rid) < 12:
        # The report beat the sender to storing the SID: claim the row for it.
        claimed = await OutboxMessage.filter(
            id=int(rid), channel="sms", provider_ref="", status__in=["sending", "sent"]
        ).update(provider_ref=sid)
        if claimed:
            row = await OutboxMessage.filter(id=int(rid)).first()
    if row is None:
        log.info("status report for an unknown message (%s)", status)
        return "unknown"
    if row.delivery_state == status:
        return "duplicate"
    changed = await OutboxMessage.filter(id=row.id, delivery_state__in=_earlier(status)).update(
        delivery_state=status,
        delivery_error=error_code[:16],
        delivery_updated_at=clock.now(),
    )
    if not changed:
        log.info("outbox %s: status report %s after %s ignored", row.id, status, row.delivery_state)
        return "ignored"
    if error_code in UNDELIVERABLE_CODES:
        if error_code == OPTED_OUT_CODE:
            await mark_opted_out(row.to)
        flagged = await mark_undeliverable(row.to)
        log.warning(
            "outbox %s: Twilio error %s, %d contact point(s) marked undeliverable",
            row.id,
            error_code,
            flagged,
        )
    return "applied"
