"""My Appointments: the list, Confirm / Cancel under the practice's policy (the same
rules SMS and chat use), Undo, Add to calendar, a printable list and telehealth Join."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import client_section, safe_next
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import money
from app.net import client_ip
from app.rules import rule_message
from models import clock
from models.access import BOOKING, SEE_APPOINTMENTS
from models.dashboard import upcoming_appointments
from models.errors import RuleError
from models.ics import CalendarEvent, calendar_file
from models.policy import undo_open
from models.scheduling import (
    CANCELLED_STATUSES,
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    unpaid_by_appointment,
)

blueprint = Blueprint("appointments", __name__)
PAST_SHOWN = 20

# Sentences for this section's rule codes (app/rules.py holds the shared ones).
MESSAGES = {
    "undo_too_late": _l(
        "It is too late to undo: undo works for 3 minutes. "
        "Please call the practice if you need this appointment back."
    ),
    "undo_slot_taken": _l(
        "Someone else has booked this time in the meantime, so it cannot be restored."
    ),
    "appointment_not_restorable": _l("This cancellation cannot be undone here."),
    "undo_not_allowed": _l("Only the person who booked this appointment can undo it."),
}


@dataclass
class CardInfo:
    """What a card shows beyond the appointment row (computed per request)."""

    undo_cancel_until: datetime | None = None
    undo_seconds: int = 0  # left in the Undo window, rounded up (the card refreshes then)
    undo_booking: bool = False
    fee_cents: int = 0  # the late fee this cancellation charged (while undo is open)
    unpaid_cents: int = 0  # the client's part of this session still unpaid


def _message(code: str, **values) -> str:
    practice = g.access.client.practice
    if code == "appointment_too_late_to_cancel":
        return blocked_message(practice.phone)
    if code == "cancel_fee_changed":
        return _(
            "The cancellation terms have changed: cancelling now costs %(fee)s. "
            "Review them and cancel again if you still want to.",
            fee=money(values.get("fee", 0)),
        )
    if code in MESSAGES:
        return str(MESSAGES[code])
    return rule_message(code)


def blocked_message(phone: str) -> str:
    if phone:
        return _(
            "Too close to the start to cancel online. Please call %(phone)s to cancel.", phone=phone
        )
    return _("Too close to the start to cancel online. Please call the practice to cancel.")


async def _own_appointment(appointment_id: int) -> Appointment:
    appointment = (
        await Appointment.filter(id=appointment_id, client_id=g.access.client.id)
        .select_related("provider__user", "service", "location")
        .first()
    )
    if appointment is None:
        abort(404)
    return appointment


def _terms(appointment: Appointment):
    return appointment.cancellation_terms(
        g.access.client.practice, within_24h=bool(g.settings["within_24h"])
    )


async def _card_infos(appointments: list[Appointment]) -> dict[int, CardInfo]:
    now = clock.now()
    infos = {a.id: CardInfo() for a in appointments}
    for appt in appointments:
        if appt.status in CANCELLED_STATUSES and undo_open(appt.cancelled_at, now):
            undo = await appt.undoable_cancel(now)
            if undo is not None:
                info = infos[appt.id]
                info.undo_cancel_until, info.fee_cents = undo
                info.undo_seconds = math.ceil((info.undo_cancel_until - now).total_seconds()) + 1
        elif (
            appt.status in UPCOMING_STATUSES
            and appt.booked_by_id == g.user.id
            and undo_open(appt.created_at, now)
        ):
            infos[appt.id].undo_booking = True
    telehealth = [a.id for a in appointments if a.telehealth and a.join_open]
    for appointment_id, cents in (await unpaid_by_appointment(telehealth)).items():
        infos[appointment_id].unpaid_cents = cents
    return infos


async def _card(appointment: Appointment, *, status: int = 200, error: str | None = None):
    return await render_partial(
        "partials/_appointment_card.html",
        status=status,
        appt=appointment,
        error=error,
        settings=g.settings,
        cards=await _card_infos([appointment]),
        tz=g.access.client.time_zone,
    )


@blueprint.get("/appointments")
@client_section(scope=SEE_APPOINTMENTS)
async def get_appointments():
    # Upcoming, and a telehealth session still under way (Join stays until its end).
    upcoming = (
        await Appointment.filter(
            client_id=g.access.client.id,
            status__in=UPCOMING_STATUSES,
            ends_at__gt=clock.now(),
        )
        .select_related("provider__user", "service", "location")
        .order_by("starts_at")
    )
    # Everything else: past visits, and cancelled or declined ones at any date.
    past = (
        await Appointment.filter(client_id=g.access.client.id)
        .exclude(id__in=[a.id for a in upcoming])
        .select_related("provider__user", "service", "location")
        .order_by("-starts_at")
        .limit(PAST_SHOWN)
    )
    return await render_page(
        "views/client/appointments.html",
        upcoming=upcoming,
        past=past,
        settings=g.settings,
        cards=await _card_infos([*upcoming, *past]),
    )


@blueprint.get("/appointments/print")
@client_section(scope=SEE_APPOINTMENTS)
async def get_print():
    """The upcoming appointments as a list to print (the browser's Print works too)."""
    return await render_page(
        "views/client/appointments_print.html",
        upcoming=await upcoming_appointments(g.access.client.id),
        printed_at=clock.now(),
    )


@blueprint.get("/appointments/<id:appointment_id>/card")
@client_section(scope=SEE_APPOINTMENTS)
async def get_card(appointment_id: int):
    """One card (htmx refreshes it when its Undo runs out)."""
    appointment = await _own_appointment(appointment_id)
    if not is_htmx():
        return redirect(f"/appointments#appt-{appointment.id}", 303)
    return await _card(appointment)


def _fee_shown(value: str | None) -> int:
    """The fee the page showed before the client confirmed (only ever compared with the
    fee the server computes; never charged as such)."""
    value = (value or "").strip()
    ok = value.isascii() and value.isdigit() and len(value) <= 9  # "²".isdigit() is True
    return int(value) if ok else 0


async def _act(appointment_id: int, action: str):
    appointment = await _own_appointment(appointment_id)
    form = await request.form
    error = None
    try:
        if action == "confirm":
            await appointment.confirm(by=g.user, via="web", ip=client_ip())
        elif action == "cancel":
            await appointment.cancel(
                by=g.user,
                via="web",
                within_24h_allowed=bool(g.settings["within_24h"]),
                ip=client_ip(),
                fee_shown_cents=_fee_shown(form.get("fee")),
            )
        elif form.get("what") == "booking":
            await _undo_booking(appointment)
        else:
            await appointment.undo_cancel(by=g.user, via="web", ip=client_ip())
    except RuleError as exc:
        error = _message(exc.code, fee=_terms(appointment).fee_cents)
        if exc.code == "cancel_fee_changed" and not is_htmx():
            return await _cancel_page(appointment, error=error, next=form.get("next"))
    appointment = await _own_appointment(appointment_id)
    if is_htmx():
        return await _card(appointment, status=422 if error else 200, error=error)
    if error:
        return await render_page(
            "views/client/appointment_error.html",
            status=422,
            appt=appointment,
            error=error,
            settings=g.settings,
            cards=await _card_infos([appointment]),
        )
    return redirect(safe_next(form.get("next"), "/appointments"), 303)


async def _undo_booking(appointment: Appointment) -> None:
    """A booking this person made in the last 3 minutes: models/booking.py marks it
    cancelled ("undone"), whatever the cancellation policy."""
    from models.booking import undo_booking

    if appointment.booked_by_id != g.user.id:
        raise RuleError("undo_not_allowed")
    await undo_booking(appointment, by=g.user, ip=client_ip())


@blueprint.post("/appointments/<id:appointment_id>/confirm")
@client_section(scope=BOOKING, category="appointments")
async def post_confirm(appointment_id: int):
    return await _act(appointment_id, "confirm")


async def _cancel_page(appointment: Appointment, *, error: str | None = None, next=None):
    terms = _terms(appointment)
    return await render_page(
        "views/client/cancel_appointment.html",
        status=422 if error else 200,
        appt=appointment,
        terms=terms,
        can_cancel=appointment.is_upcoming and terms.allowed,
        error=error,
        message=blocked_message(g.access.client.practice.phone)
        if appointment.is_upcoming
        else rule_message("appointment_not_cancellable"),
        next=safe_next(next, "/appointments"),
    )


@blueprint.get("/appointments/<id:appointment_id>/cancel")
@client_section(scope=BOOKING, category="appointments")
async def get_cancel(appointment_id: int):
    """Ask before cancelling, with the fee if any (the path without JavaScript; htmx
    asks in a dialog that names the same fee)."""
    appointment = await _own_appointment(appointment_id)
    return await _cancel_page(appointment, next=request.args.get("next"))


@blueprint.post("/appointments/<id:appointment_id>/cancel")
@client_section(scope=BOOKING, category="appointments")
async def post_cancel(appointment_id: int):
    return await _act(appointment_id, "cancel")


@blueprint.post("/appointments/<id:appointment_id>/undo")
@client_section(scope=BOOKING, category="appointments")
async def post_undo(appointment_id: int):
    """Undo the client's cancellation (``what=cancel``, the default) or their booking
    (``what=booking``) within 3 minutes."""
    return await _act(appointment_id, "undo")


@blueprint.get("/appointments/<id:appointment_id>/calendar.ics")
@client_section(scope=SEE_APPOINTMENTS)
async def get_calendar_file(appointment_id: int):
    """Add to calendar: one VEVENT. A cancelled or declined appointment is served
    marked STATUS:CANCELLED (same UID, higher SEQUENCE), so importing it again
    updates the event a calendar already holds."""
    from quart import current_app

    appointment = await _own_appointment(appointment_id)
    provider = appointment.provider.user.display_name
    summary = _("Appointment with %(name)s", name=provider)
    status = {
        AppointmentStatus.REQUESTED: "TENTATIVE",
        AppointmentStatus.SCHEDULED: "CONFIRMED",
        AppointmentStatus.CONFIRMED: "CONFIRMED",
        AppointmentStatus.COMPLETED: "CONFIRMED",
    }.get(appointment.status, "CANCELLED")
    if status == "CANCELLED":
        summary = _("Cancelled: %(what)s", what=summary)
    host = current_app.config["PORTAL"].public_url.split("//", 1)[-1].split("/", 1)[0]
    event = CalendarEvent(
        uid=f"appointment-{appointment.id}@{host.split(':', 1)[0] or 'portal'}",
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        summary=summary,
        location=appointment.address,
        status=status,
        sequence=appointment.version,
    )
    return Response(
        calendar_file(event, clock.now()),
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'},
    )


@blueprint.get("/appointments/<id:appointment_id>/join")
@client_section(scope=SEE_APPOINTMENTS)
async def get_join(appointment_id: int):
    """Telehealth Join: to the video room from 10 minutes before the start until the
    end; with the practice's "pay before joining", to Make Payment until this
    session is paid. Checked here, at the moment of joining, whatever a page showed."""
    appointment = await _own_appointment(appointment_id)
    if not appointment.telehealth or not appointment.video_link:
        abort(404)
    error = None
    if not appointment.join_open:
        error = _("The video room opens 10 minutes before the start of the appointment.")
    elif g.settings["pay_before_joining"]:
        unpaid = (await unpaid_by_appointment([appointment.id])).get(appointment.id, 0)
        if unpaid and g.settings["payments"]:
            return redirect("/pay", 303)
        if unpaid:
            error = _("Please pay for this session before joining: call the practice.")
    if error:
        return await render_page(
            "views/client/appointment_error.html",
            status=409,
            appt=appointment,
            error=error,
            settings=g.settings,
            cards=await _card_infos([appointment]),
        )
    return redirect(appointment.video_link, 303)
