"""Emails (and the waitlist offer's text) about appointments. Minimum necessary: the
practice, a time and a link; never the service, the provider's specialty or anything
clinical."""

from __future__ import annotations

import logging
from datetime import timedelta

from models import clock
from models.people import Client
from models.scheduling import WaitlistOffer

log = logging.getLogger("portal.appointment_mail")


def _queue(**kwargs):
    from channels.email import queue_email

    return queue_email(**kwargs)


async def waitlist_offer(offer: WaitlistOffer, token: str) -> None:
    """A time opened up: held for the client for 15 minutes, with a link to take it
    by email, and by text ("Reply 1 to take it") to their reminder phone."""
    client = offer.entry.client
    if not isinstance(client, Client):
        client = await Client.get(id=offer.entry.client_id)
    await _text_offer(offer, client)
    to = await _email_of(client)
    if not to:
        return  # nobody to tell: the hold lapses and the next client is offered the time
    await _queue(
        to=to,
        template="waitlist_offer",
        lang=client.preferred_language,
        client_id=client.id,
        dedupe_key=f"waitlist-offer:{offer.id}",
        context={
            "name": client.preferred_name or client.first_name,
            "starts_at": offer.starts_at,
            "hold_until": offer.hold_until,
            "time_zone": client.time_zone,
            "path": f"/waitlist/offers/{token}",
        },
    )


async def _text_offer(offer: WaitlistOffer, client: Client) -> None:
    """The offer by text, to the phone that gets reminders (the default first), else
    the default phone; numbers that replied STOP are skipped. A reply "1" takes it
    (channels.sms.inbound reads ``context["offer"]``)."""
    from channels.sms import opted_out, queue_sms, texts
    from models.people import ContactPoint
    from models.practice import Practice

    phones = await ContactPoint.filter(client_id=client.id, kind="phone").order_by(
        "-reminders", "-is_default", "id"
    )
    usable = [
        p
        for p in phones
        if (p.reminders or p.is_default)
        and not p.sms_opted_out_at
        and not p.sms_undeliverable_at
        and not await opted_out(p.value)
    ]
    if not usable:
        return
    practice = await Practice.get(id=client.practice_id)
    tz = client.time_zone or practice.time_zone
    lang = client.preferred_language
    try:
        body = texts.render_sms(
            "waitlist_offer",
            lang=lang,
            practice=practice.name,
            phone=practice.phone,
            when=texts.when(offer.starts_at, tz, lang),
            until=texts.time_only(offer.hold_until, tz, lang),
        )
        await queue_sms(
            to=usable[0].value,
            body=body,
            # The email has "waitlist-offer:<id>"; keys are unique across the outbox.
            dedupe_key=f"waitlist-offer-sms:{offer.id}",
            kind="waitlist",
            client_id=client.id,
            context={"offer": offer.id},
            language=lang,
        )
    except ValueError:  # a number on file that is not E.164, a text too long: email only
        log.warning("waitlist offer %s: no text for client %s", offer.id, client.id)


async def _email_of(client: Client) -> str:
    """The client's own account email, else their default email on file."""
    from models.people import ContactPoint, User

    if client.user_id:
        user = await User.get_or_none(id=client.user_id)
        if user is not None and user.is_active:
            return user.email
    point = (
        await ContactPoint.filter(client_id=client.id, kind="email")
        .order_by("-is_default", "id")
        .first()
    )
    return point.value if point else ""


# ---- appointment events, after the undo window --------------------------------------

# Audit action -> (the practice's notify_* switch, the template's event name, the
# statuses the appointment must still have for the event to stand).
EVENTS = {
    "appointment.book": ("notify_created", "created", ("requested", "scheduled", "confirmed")),
    "appointment.reschedule": (
        "notify_rescheduled",
        "rescheduled",
        ("requested", "scheduled", "confirmed"),
    ),
    "appointment.cancel": ("notify_cancelled", "cancelled", ("cancelled", "late_cancelled")),
    "appointment.request_accepted": (
        "notify_request_confirmed",
        "request_confirmed",
        ("scheduled", "confirmed"),
    ),
    "appointment.request_declined": ("notify_request_declined", "request_declined", ("declined",)),
}
SETTLE = timedelta(minutes=3, seconds=30)  # the 3-minute undo window, and a margin
LOOK_BACK = timedelta(days=1)


async def send_event_notices() -> int:
    """Email each appointment event whose undo window has passed and which still
    stands (an undone booking or cancellation sends nothing), when the practice's
    switch for that event is on. Idempotent: one email per audit event."""
    from models.audit import AuditEvent
    from models.outbox import OutboxMessage
    from models.scheduling import Appointment
    from models.settings import practice_settings

    now = clock.now()
    events = await AuditEvent.filter(
        action__in=list(EVENTS),
        at__lte=now - SETTLE,
        at__gte=now - LOOK_BACK,
        object_type="appointment",
    ).order_by("id")
    if not events:
        return 0
    done = set(
        await OutboxMessage.filter(
            dedupe_key__in=[f"appt-event:{e.id}" for e in events]
        ).values_list("dedupe_key", flat=True)
    )
    queued = 0
    for event in events:
        key = f"appt-event:{event.id}"
        if key in done or not event.object_id.isdigit():
            continue
        switch, name, standing = EVENTS[event.action]
        appointment = await Appointment.get_or_none(id=int(event.object_id)).select_related(
            "client__practice"
        )
        if appointment is None or str(appointment.status) not in standing:
            continue
        if appointment.cancel_reason in ("undone", "rescheduled") and name == "cancelled":
            continue  # an undone booking, or the old half of a move: told otherwise
        client = appointment.client
        if not practice_settings(client.practice)[switch]:
            continue
        to = await _email_of(client)
        if not to:
            continue
        created = await _queue(
            to=to,
            template="appointment_event",
            lang=client.preferred_language,
            client_id=client.id,
            dedupe_key=key,
            context={
                "event": name,
                "name": client.preferred_name or client.first_name,
                "starts_at": appointment.starts_at,
                "time_zone": client.time_zone,
                "telehealth": appointment.telehealth,
            },
        )
        queued += created is not None
    return queued
