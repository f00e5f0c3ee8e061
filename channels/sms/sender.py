"""The SMS sender: due outbox rows to Twilio, each exactly once, at ``SMS_RATE``.

One pass (``deliver_due``):

1. **Reconcile** rows left ``sending`` with an expired lease (a worker died, or Twilio
   did not answer): ask Twilio for a message to that number with that body created
   since the claim (``twilio_client.find_sent``). Found: the row is ``sent`` with that
   SID. Not found: back to ``pending``, to be sent again.
2. **Claim** due ``pending`` rows in batches sized to the rate: in one transaction
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises
   writers) set ``sending``, ``claimed_at``, ``lease_until`` (longer than the batch
   takes) and ``attempts + 1``.
3. For each row, just before sending: a number that opted out is ``suppressed`` (no
   request to Twilio); a planned reminder is rendered now (nothing upcoming left:
   ``cancelled``) and its text stored *before* the send so a reconcile can match it;
   ``ValidityPeriod`` is ``min(4 h, first appointment - now - 30 min)`` for a reminder
   (under a minute: ``cancelled``, too late), 4 h otherwise. Then Twilio, paced on a
   schedule that does not drift, and the SID stored: ``sent``, delivery ``queued``.

Errors: 21610 (the number replied STOP at Twilio) records the opt-out, ``suppressed``;
other 4xx: ``failed``; 5xx/429: ``pending`` again after a backoff; no answer at all:
left ``sending`` with its lease set to the backoff, so it is reconciled before any
resend. In development without Twilio the row is marked sent into the developer
outbox (``/dev/sms``); in production without Twilio rows wait (one warning).

Logs carry outbox ids and Twilio codes only: never a number or a body.

Test-only switches (read once, at import): ``PORTAL_SMS_CRASH_AT=claimed|accepted|
recorded`` makes the process exit (``os._exit``) right after the claim committed,
right after Twilio accepted a text (SID not yet stored), or right after the SID was
stored; ``PORTAL_SMS_LEASE_SECONDS`` shortens the lease so a restarted worker can
reconcile at once. Never set them in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import weakref
from datetime import timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from app.config import Config
from channels import sms, wakeup
from models import clock
from models.outbox import OutboxMessage
from models.scheduling import UPCOMING_STATUSES, Appointment

from . import status as sms_status
from . import twilio_client
from .reminder_text import render_reminder
from .signature import public_url

log = logging.getLogger("portal.sms")

DEV_OUTBOX_REF = "dev-outbox"
STATUS_PATH = "/sms/status"
POLL_SECONDS = 3.0
BATCH_SECONDS = 5.0  # a batch holds about this many seconds of sending
MAX_BATCH = 200
MAX_IN_FLIGHT = 16
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
VALIDITY_MAX = timedelta(hours=4)
VALIDITY_MARGIN = timedelta(minutes=30)  # a reminder expires this long before the visit
VALIDITY_MIN = timedelta(minutes=1)
RECONCILE_SLACK = timedelta(minutes=1)  # clocks differ: look a little before the claim

LEASE = timedelta(seconds=float(os.environ.get("PORTAL_SMS_LEASE_SECONDS") or 120))  # test-only
CRASH_AT = os.environ.get("PORTAL_SMS_CRASH_AT", "")  # test-only: claimed|accepted|recorded
CRASH_EXIT_CODE = 86

_warned_no_twilio = False


def _crash(point: str) -> None:
    if point == CRASH_AT:
        os._exit(CRASH_EXIT_CODE)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, ... at most 1 h."""
    return min(BACKOFF_FIRST * 2 ** max(0, attempts - 1), BACKOFF_MAX)


def batch_size(config: Config) -> int:
    return max(1, min(MAX_BATCH, math.ceil(config.sms_rate * BATCH_SECONDS)))


# ---- pacing ------------------------------------------------------------------------------


class _Pacer:
    """Send slots ``1/rate`` apart on a fixed schedule: a slow send does not push the
    following ones back (no drift); after an idle spell the schedule restarts."""

    def __init__(self) -> None:
        self.next_at = 0.0

    async def wait(self, rate: float, stop: asyncio.Event | None) -> bool:
        """Wait for the next slot; False if ``stop`` was set meanwhile."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.next_at < now - 1.0:  # idle (or more than a second behind): start afresh
            self.next_at = now
        slot = self.next_at
        self.next_at = slot + 1.0 / rate
        delay = slot - now
        if delay > 0:
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        return not (stop is not None and stop.is_set())


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pacer] = weakref.WeakKeyDictionary()


def _pacer() -> _Pacer:
    loop = asyncio.get_running_loop()
    pacer = _pacers.get(loop)
    if pacer is None:
        pacer = _pacers[loop] = _Pacer()
    return pacer


# ---- claiming ----------------------------------------------------------------------------


async def _claim(where: Q, limit: int, lease: timedelta, *, new_attempt: bool) -> list[int]:
    """Lease up to ``limit`` rows matching ``where``; other workers skip them."""
    now = clock.now()
    async with in_transaction():
        # A model query, not values_list(): Tortoise 1.1 drops FOR UPDATE from values_list.
        rows = (
            await OutboxMessage.filter(where)
            .order_by("due_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
            .only("id")
        )
        ids = [row.id for row in rows]
        if ids:
            changes: dict = {"lease_until": now + lease}
            if new_attempt:
                changes.update(status="sending", claimed_at=now, attempts=F("attempts") + 1)
            await OutboxMessage.filter(id__in=ids).update(**changes)
    return ids


def _due(now) -> Q:
    return Q(channel=sms.CHANNEL, status="pending", due_at__lte=now)


def _expired(now) -> Q:
    return Q(channel=sms.CHANNEL, status="sending", lease_until__lt=now)


# ---- outcomes (each only while the row is still ours: status "sending") ------------------


async def _finish(row: OutboxMessage, status: str, why: str = "") -> None:
    await OutboxMessage.filter(id=row.id, status="sending").update(
        status=status, lease_until=None, last_error=why[:200]
    )


async def _record_sent(row: OutboxMessage, sid: str, delivery_state: str = "queued") -> None:
    now = clock.now()
    async with in_transaction():  # both or neither: a crash between leaves no half
        await OutboxMessage.filter(id=row.id, status="sending").update(
            status="sent", provider_ref=sid, sent_at=now, lease_until=None, last_error=""
        )
        # A status report may have got here first: never move its state back.
        await OutboxMessage.filter(id=row.id, delivery_state="").update(
            delivery_state=delivery_state, delivery_updated_at=now
        )


async def _back_to_pending(row: OutboxMessage, due_at, why: str = "") -> None:
    changes: dict = dict(status="pending", lease_until=None, due_at=due_at, last_error=why[:200])
    if row.kind == "reminder":
        changes["body"] = ""  # nothing went out: render it afresh when it does
    await OutboxMessage.filter(id=row.id, status="sending").update(**changes)


async def _record_error(row: OutboxMessage, exc: twilio_client.TwilioError) -> None:
    code = str(exc.code or "")
    if code == sms_status.OPTED_OUT_CODE:
        await sms_status.mark_opted_out(row.to)
        await _finish(row, "suppressed", "opted out (Twilio 21610)")
        log.info("outbox %s: suppressed, the number opted out at Twilio", row.id)
        return
    now = clock.now()
    if exc.unreachable and row.attempts < MAX_ATTEMPTS:
        # Twilio may have it: reconcile (after the backoff) before any resend.
        await OutboxMessage.filter(id=row.id, status="sending").update(
            lease_until=now + backoff(row.attempts), last_error=str(exc)[:200]
        )
    elif exc.retryable and exc.status not in (401, 403) and row.attempts < MAX_ATTEMPTS:
        await _back_to_pending(row, now + backoff(row.attempts), str(exc))
    elif exc.status in (401, 403):
        # Our credentials, not the message: keep it for when they are fixed.
        await _back_to_pending(row, now + BACKOFF_MAX, str(exc))
        log.error("Twilio refused our credentials (%s): check TWILIO_*", exc.code)
    else:
        await _finish(row, "failed", str(exc))
        if code in ("21211", "21614"):
            await sms_status.mark_undeliverable(row.to)
    log.warning(
        "outbox %s: Twilio error %s/%s (attempt %d)", row.id, exc.status, code, row.attempts
    )


# ---- one row ---------------------------------------------------------------------------


async def _validity(row: OutboxMessage) -> timedelta | None:
    """How long Twilio may hold this text; None when a reminder is too late to send."""
    if row.kind != "reminder":
        return VALIDITY_MAX
    now = clock.now()
    ids = [int(i) for i in (row.context or {}).get("appointments", []) if str(i).isdigit()]
    first = (
        await Appointment.filter(
            id__in=ids, client_id=row.client_id, status__in=UPCOMING_STATUSES, starts_at__gt=now
        )
        .order_by("starts_at")
        .first()
    )
    if first is None:
        return None
    validity = min(VALIDITY_MAX, first.starts_at - now - VALIDITY_MARGIN)
    return validity if validity >= VALIDITY_MIN else None


async def _prepare(row: OutboxMessage) -> tuple[str, int] | None:
    """(body, validity seconds) to send, or None when the row was settled without a send."""
    if await sms.opted_out(row.to):
        await _finish(row, "suppressed", "opted out")
        return None
    body = row.body
    if row.kind == "reminder" and not body:
        body = await render_reminder(row)
        if body is None:
            await _finish(row, "cancelled", "nothing upcoming to remind of")
            return None
        # Stored before the send: a reconcile after a crash looks for this text.
        await OutboxMessage.filter(id=row.id, status="sending").update(body=body)
        row.body = body
    validity = await _validity(row)
    if validity is None:
        await _finish(row, "cancelled", "too late to send before the appointment")
        return None
    return body, int(validity.total_seconds())


async def _send_one(row: OutboxMessage, config: Config) -> bool:
    prepared = await _prepare(row)
    if prepared is None:
        return False
    body, validity = prepared
    if not config.twilio_live:
        await _record_sent(row, DEV_OUTBOX_REF, "delivered")
        return True
    callback = public_url(config, STATUS_PATH, f"rid={row.id}")
    try:
        sid = await twilio_client.send(
            config, to=row.to, body=body, status_callback=callback, validity_seconds=validity
        )
    except twilio_client.TwilioError as exc:
        await _record_error(row, exc)
        return False
    _crash("accepted")
    await _record_sent(row, sid)
    _crash("recorded")
    return True


async def _release(ids: list[int]) -> None:
    """Rows claimed but not begun (the worker is stopping): pending again, at once."""
    if ids:
        await OutboxMessage.filter(id__in=ids, status="sending").update(
            status="pending", lease_until=None, attempts=F("attempts") - 1
        )


async def _send_batch(ids: list[int], config: Config, stop: asyncio.Event | None) -> int:
    rows = await OutboxMessage.filter(id__in=ids, status="sending").order_by("due_at", "id")
    pacer = _pacer()
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    sent = 0

    async def one(row: OutboxMessage) -> None:
        nonlocal sent
        try:
            if await _send_one(row, config):
                sent += 1
        except Exception:
            # The row keeps its lease: once it expires it is reconciled, never lost.
            log.exception("outbox %s: sending failed", row.id)
        finally:
            in_flight.release()

    tasks: list[asyncio.Task] = []
    for index, row in enumerate(rows):
        await in_flight.acquire()
        if config.twilio_live and not await pacer.wait(config.sms_rate, stop):
            in_flight.release()
            await _release([r.id for r in rows[index:]])
            break
        tasks.append(asyncio.create_task(one(row)))
    if tasks:
        await asyncio.gather(*tasks)
    return sent


async def reconcile(config: Config, limit: int = 100) -> int:
    """Settle rows whose lease expired while ``sending``; how many were found sent."""
    found = 0
    for _round in range(20):
        ids = await _claim(_expired(clock.now()), limit, LEASE, new_attempt=False)
        for row in await OutboxMessage.filter(id__in=ids).order_by("id"):
            if row.provider_ref:  # a status report stored the SID
                await _record_sent(row, row.provider_ref)
                found += 1
                continue
            sid = None
            if config.twilio_live and row.body and row.claimed_at is not None:
                taken = set(
                    await OutboxMessage.filter(channel=sms.CHANNEL, to=row.to)
                    .exclude(provider_ref="")
                    .values_list("provider_ref", flat=True)
                )
                try:
                    sid = await twilio_client.find_sent(
                        config,
                        to=row.to,
                        since=row.claimed_at - RECONCILE_SLACK,
                        body=row.body,
                        exclude=taken,
                    )
                except twilio_client.TwilioError as exc:
                    # Cannot ask now: ask again later, never resend blind.
                    await OutboxMessage.filter(id=row.id, status="sending").update(
                        lease_until=clock.now() + backoff(1)
                    )
                    log.warning("outbox %s: reconcile failed (%s)", row.id, exc.status)
                    continue
            if sid:
                await _record_sent(row, sid)
                found += 1
                log.info("outbox %s: reconciled, Twilio had it", row.id)
            else:
                await _back_to_pending(row, clock.now(), "lease expired, not at Twilio")
                log.info("outbox %s: reconciled, not at Twilio: to be sent", row.id)
        if len(ids) < limit:
            break
    return found


async def deliver_due(
    config: Config, *, limit: int | None = None, stop: asyncio.Event | None = None
) -> int:
    """One pass: reconcile expired leases, then send due texts (at most ``limit``).
    Returns how many were sent (or put in the developer outbox)."""
    global _warned_no_twilio
    if not config.twilio_live and not config.sms_dev_outbox:
        if not _warned_no_twilio:
            log.warning("Twilio is not configured (TWILIO_*): texts stay queued until it is")
            _warned_no_twilio = True
        return 0
    await reconcile(config)
    size = batch_size(config)
    lease = LEASE + timedelta(seconds=size / config.sms_rate)
    sent = 0
    remaining = limit if limit is not None else math.inf
    while remaining > 0 and not (stop is not None and stop.is_set()):
        want = int(min(size, remaining))
        ids = await _claim(_due(clock.now()), want, lease, new_attempt=True)
        if not ids:
            break
        _crash("claimed")
        sent += await _send_batch(ids, config, stop)
        remaining -= len(ids)
        if len(ids) < want:
            break
    return sent


async def run(stop: asyncio.Event, config: Config) -> None:
    """The sender's loop: a pass whenever ``queue_sms`` wakes it, or every few seconds."""
    wake = sms.wake_event()
    try:
        while not stop.is_set():
            wake.clear()
            try:
                sent = await deliver_due(config, stop=stop)
                if sent:
                    log.info("sent %d text(s)", sent)
            except Exception:  # keep the loop alive; the next pass retries
                log.exception("SMS pass failed")
            await wakeup.wait(stop, wake, POLL_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await twilio_client.close()
