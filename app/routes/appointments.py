"""My Appointments: the list, and Confirm / Cancel (the same rules SMS and chat use)."""

from quart import Blueprint, abort, g, redirect, request

from app.auth import client_section, safe_next
from app.htmx import is_htmx, render_page, render_partial
from app.net import client_ip
from app.rules import rule_message
from models import clock
from models.dashboard import upcoming_appointments
from models.errors import RuleError
from models.scheduling import CANCEL_NOTICE, Appointment

blueprint = Blueprint("appointments", __name__)
PAST_SHOWN = 20


async def _own_appointment(appointment_id: int) -> Appointment:
    appointment = (
        await Appointment.filter(id=appointment_id, client_id=g.access.client.id)
        .select_related("provider__user", "service", "location")
        .first()
    )
    if appointment is None:
        abort(404)
    return appointment


@blueprint.get("/appointments")
@client_section(scope="appointments")
async def get_appointments():
    upcoming = await upcoming_appointments(g.access.client.id)
    # Everything else: past visits, and cancelled or declined ones at any date.
    past = (
        await Appointment.filter(client_id=g.access.client.id)
        .exclude(id__in=[a.id for a in upcoming])
        .select_related("provider__user", "service", "location")
        .order_by("-starts_at")
        .limit(PAST_SHOWN)
    )
    return await render_page(
        "views/client/appointments.html", upcoming=upcoming, past=past, settings=g.settings
    )


async def _act(appointment_id: int, action: str):
    appointment = await _own_appointment(appointment_id)
    error = None
    try:
        if action == "confirm":
            await appointment.confirm(by=g.user, via="web", ip=client_ip())
        else:
            await appointment.cancel(
                by=g.user,
                via="web",
                within_24h_allowed=bool(g.settings["within_24h"]),
                ip=client_ip(),
            )
    except RuleError as exc:
        error = rule_message(exc.code)
    appointment = await _own_appointment(appointment_id)
    if is_htmx():
        return await render_partial(
            "partials/_appointment_card.html",
            status=422 if error else 200,
            appt=appointment,
            error=error,
            settings=g.settings,
            tz=g.access.client.time_zone,
        )
    if error:
        return await render_page(
            "views/client/appointment_error.html",
            status=422,
            appt=appointment,
            error=error,
            settings=g.settings,
        )
    form = await request.form
    return redirect(safe_next(form.get("next"), "/appointments"), 303)


@blueprint.post("/appointments/<id:appointment_id>/confirm")
@client_section(scope="appointments")
async def post_confirm(appointment_id: int):
    return await _act(appointment_id, "confirm")


@blueprint.get("/appointments/<id:appointment_id>/cancel")
@client_section(scope="appointments")
async def get_cancel(appointment_id: int):
    """Ask before cancelling (the path without JavaScript; htmx asks in a dialog)."""
    appointment = await _own_appointment(appointment_id)
    within_24h = bool(g.settings["within_24h"])
    can_cancel = appointment.can_cancel(within_24h_allowed=within_24h)
    return await render_page(
        "views/client/cancel_appointment.html",
        appt=appointment,
        can_cancel=can_cancel,
        late=can_cancel and appointment.starts_at - clock.now() < CANCEL_NOTICE,
        message=rule_message(
            "appointment_too_late_to_cancel"
            if appointment.is_upcoming
            else "appointment_not_cancellable"
        ),
        next=safe_next(request.args.get("next"), "/appointments"),
    )


@blueprint.post("/appointments/<id:appointment_id>/cancel")
@client_section(scope="appointments")
async def post_cancel(appointment_id: int):
    return await _act(appointment_id, "cancel")
