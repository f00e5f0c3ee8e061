"""The background worker: housekeeping, and the outbox senders for email and SMS. Runs
as ``portal worker`` or inside the web process.

The SMS sender (``channels.sms.sender.run``) is a task of its own beside this loop, so
its pacing (``SMS_RATE``) never holds up email; it stops with the same ``stop``.

Email is sent within about a second of being queued in this process (``queue_email``
wakes the loop); a poll every few seconds picks up mail queued by other processes and
retries that have come due. Housekeeping keeps its own, slower cadence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.config import Config
from channels import appointment_mail, email, message_mail, wakeup
from models import clock, waitlist
from models.security import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session

log = logging.getLogger("portal.worker")
TICK_SECONDS = 60  # housekeeping
OUTBOX_POLL_SECONDS = 5  # mail queued elsewhere, retries come due


async def purge_expired_sessions() -> int:
    now = clock.now()
    idle = await Session.filter(last_seen_at__lt=now - IDLE_TIMEOUT).delete()
    old = await Session.filter(created_at__lt=now - ABSOLUTE_TIMEOUT).delete()
    return idle + old


async def tick() -> None:
    purged = await purge_expired_sessions()
    if purged:
        log.info("purged %d expired sessions", purged)


async def deliver(config: Config) -> None:
    sent = await email.deliver_pending(config)
    if sent:
        log.info("sent %d email(s)", sent)


async def offer_openings() -> None:
    """Freed times to the waitlist, lapsed holds to the next in line; appointment
    events emailed once their undo window has passed."""
    made = await waitlist.find_openings(appointment_mail.waitlist_offer)
    if made:
        log.info("offered %d freed time(s) to the waitlist", made)
    told = await appointment_mail.send_event_notices()
    if told:
        log.info("queued %d appointment email(s)", told)


async def message_notices() -> None:
    """Email notices of secure messages left unread a few minutes (no content)."""
    noticed = await message_mail.send_message_notices()
    if noticed:
        log.info("queued %d message notice(s)", noticed)


async def _sms_sender(stop: asyncio.Event, config: Config) -> None:
    """The SMS sender's loop; restarted after a crash (it logs its own pass errors)."""
    from channels.sms import sender

    while not stop.is_set():
        try:
            await sender.run(stop, config)
        except Exception:
            log.exception("SMS sender stopped; restarting")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), OUTBOX_POLL_SECONDS)


async def run_forever(stop: asyncio.Event | None = None, config: Config | None = None) -> None:
    stop = stop or asyncio.Event()
    config = config or Config.from_env()
    email.configure(config)
    sms_task = asyncio.create_task(_sms_sender(stop, config), name="sms-sender")
    try:
        await _email_and_housekeeping(stop, config)
    finally:
        if not stop.is_set():  # cancelled: take the sender down with us
            sms_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sms_task


async def _email_and_housekeeping(stop: asyncio.Event, config: Config) -> None:
    wake = email.wake_event()
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while not stop.is_set():
        if loop.time() >= next_tick:
            next_tick = loop.time() + TICK_SECONDS
            try:
                await tick()
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("worker tick failed")
        wake.clear()
        try:
            await offer_openings()
        except Exception:
            log.exception("waitlist pass failed")
        try:
            await message_notices()
        except Exception:
            log.exception("message notice pass failed")
        try:
            await deliver(config)
        except Exception:
            log.exception("email delivery failed")
        await wakeup.wait(stop, wake, min(OUTBOX_POLL_SECONDS, max(0.0, next_tick - loop.time())))
