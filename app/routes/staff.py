"""The staff shell: requests, clients and calendar, by role (the inbox: app/routes/inbox.py)."""

from datetime import timedelta

from quart import Blueprint, abort, g, redirect, request
from tortoise.expressions import Q

from app.auth import staff_only
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.routes.staff_accounts import clients_page
from app.rules import rule_message
from models import clock, requests
from models.errors import RuleError
from models.people import Role
from models.scheduling import UPCOMING_STATUSES, Appointment, AppointmentStatus

blueprint = Blueprint("staff", __name__, url_prefix="/staff")
CALENDAR_DAYS = 7


def _own_calendar(query):
    if g.staff.has_role(Role.PROVIDER) and not (
        g.staff.has_role(Role.SCHEDULER) or g.staff.has_role(Role.ADMIN)
    ):
        return query.filter(provider_id=g.staff.id)
    return query


REQUEST_NOTICES = {
    "accepted": _l("Request accepted: the appointment is scheduled."),
    "declined": _l("Request declined."),
    "undone": _l("Decision undone: the request is waiting again."),
}


async def requests_page(*, notice: str = "", error: str = "", status: int = 200):
    """Requests waiting for a decision, and those decided in the last 3 minutes (with Undo)."""
    decided = Q(
        status__in=requests.DECIDED_STATUSES,
        decided_at__gte=clock.now() - requests.UNDO_WINDOW,
    )
    waiting = (
        await _own_calendar(
            Appointment.filter(
                Q(status=AppointmentStatus.REQUESTED) | decided,
                client__practice_id=g.staff.practice_id,
            )
        )
        .select_related("client", "provider__user", "service")
        .order_by("starts_at", "id")
    )
    return await render_page(
        "views/staff/requests.html",
        status=status,
        requests=waiting,
        can_undo=requests.can_undo,
        undo_until=requests.undo_until,
        notice=str(REQUEST_NOTICES.get(notice or request.args.get("notice", ""), "")),
        error=error,
    )


@blueprint.get("/requests")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def get_requests():
    return await requests_page()


async def _request_of(appointment_id: int) -> Appointment:
    """An appointment of this practice (a provider: of their own calendar), else 404."""
    appointment = await _own_calendar(
        Appointment.filter(id=appointment_id, client__practice_id=g.staff.practice_id)
    ).first()
    if appointment is None:
        abort(404)
    return appointment


async def _decided(appointment_id: int, action, notice: str):
    """Run one decision; answer the updated row (htmx) or go back to the list."""
    appointment = await _request_of(appointment_id)
    error = ""
    try:
        await action(appointment, by=g.user, ip=client_ip())
    except RuleError as exc:
        error = rule_message(exc.code)
    if is_htmx():
        row = (
            await Appointment.filter(id=appointment.id)
            .select_related("client", "provider__user", "service")
            .get()
        )
        return await render_partial(
            "partials/_request_row.html",
            status=422 if error else 200,
            a=row,
            can_undo=requests.can_undo,
            undo_until=requests.undo_until,
            notice="" if error else str(REQUEST_NOTICES[notice]),
            error=error,
        )
    if error:
        return await requests_page(error=error, status=422)
    return redirect(f"/staff/requests?notice={notice}", 303)


@blueprint.post("/requests/<id:appointment_id>/accept")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def post_accept(appointment_id: int):
    return await _decided(appointment_id, requests.accept_request, "accepted")


@blueprint.post("/requests/<id:appointment_id>/decline")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def post_decline(appointment_id: int):
    return await _decided(appointment_id, requests.decline_request, "declined")


@blueprint.post("/requests/<id:appointment_id>/undo")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def post_undo(appointment_id: int):
    return await _decided(appointment_id, requests.undo_decision, "undone")


@blueprint.get("/clients")
@staff_only()
async def get_clients():
    return await clients_page()  # with each client's portal status and account actions


@blueprint.get("/calendar")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def get_calendar():
    now = clock.now()
    appointments = (
        await _own_calendar(
            Appointment.filter(
                client__practice_id=g.staff.practice_id,
                starts_at__gte=now - timedelta(hours=2),
                starts_at__lt=now + timedelta(days=CALENDAR_DAYS),
                status__in=UPCOMING_STATUSES,
            )
        )
        .select_related("client", "provider__user", "service", "location")
        .order_by("starts_at")
    )
    return await render_page(
        "views/staff/calendar.html", appointments=appointments, days=CALENDAR_DAYS
    )
