"""The staff shell: inbox, requests, clients and calendar, by role."""

from datetime import timedelta

from quart import Blueprint, g
from tortoise.expressions import Q

from app.auth import staff_only
from app.htmx import render_page
from app.routes.staff_accounts import clients_page
from models import clock
from models.messaging import Thread
from models.people import Role
from models.scheduling import UPCOMING_STATUSES, Appointment, AppointmentStatus

blueprint = Blueprint("staff", __name__, url_prefix="/staff")
CALENDAR_DAYS = 7


def _threads_for(staff):
    query = Thread.filter(client__practice_id=staff.practice_id)
    if staff.has_role(Role.ADMIN):
        return query
    topics = [r for r in ("scheduler", "biller") if staff.has_role(r)]
    if staff.has_role(Role.PROVIDER):
        return query.filter(Q(provider_id=staff.id) | Q(topic__in=topics))
    return query.filter(topic__in=topics)


@blueprint.get("/")
@staff_only()
async def get_inbox():
    threads = (
        await _threads_for(g.staff)
        .select_related("client", "provider__user")
        .order_by("-last_message_at")
        .limit(50)
    )
    return await render_page("views/staff/inbox.html", threads=threads)


def _own_calendar(query):
    if g.staff.has_role(Role.PROVIDER) and not (
        g.staff.has_role(Role.SCHEDULER) or g.staff.has_role(Role.ADMIN)
    ):
        return query.filter(provider_id=g.staff.id)
    return query


@blueprint.get("/requests")
@staff_only(Role.SCHEDULER, Role.PROVIDER)
async def get_requests():
    requests = (
        await _own_calendar(
            Appointment.filter(
                status=AppointmentStatus.REQUESTED, client__practice_id=g.staff.practice_id
            )
        )
        .select_related("client", "provider__user", "service")
        .order_by("starts_at")
    )
    return await render_page("views/staff/requests.html", requests=requests)


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
