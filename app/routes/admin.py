"""Practice settings (admins), and a client's access log. Settings are read-only
here; the settings issue makes them editable."""

from quart import Blueprint, abort, g, request

from app.auth import audit_read, staff_only
from app.htmx import render_page
from models.audit import AuditEvent
from models.people import Client, Contact, Role, StaffMember
from models.practice import Location, Practice, Service
from models.settings import practice_settings

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/")
@staff_only(Role.ADMIN)
async def get_portal_settings():
    practice = await Practice.get(id=g.staff.practice_id)
    return await render_page(
        "views/admin/settings.html",
        practice=practice,
        settings=practice_settings(practice),
        locations=await Location.filter(practice_id=practice.id).order_by("name"),
        services=await Service.filter(practice_id=practice.id).order_by("name"),
    )


ACCESS_LOG_PAGE = 50
MAX_EVENT_ID = 2**63 - 1


@blueprint.get("/clients/<id:client_id>/access-log")
@staff_only(Role.ADMIN)
async def get_access_log(client_id: int):
    """Who read or changed this client's record: newest first, 50 a page
    (``?before=<event id>`` for older ones)."""
    client = await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
    if client is None:
        abort(404)
    raw = request.args.get("before", "")
    before = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_EVENT_ID else None
    if raw and before is None:
        abort(400)
    query = AuditEvent.filter(client_id=client.id)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.select_related("actor").order_by("-id").limit(ACCESS_LOG_PAGE + 1)
    events, more = rows[:ACCESS_LOG_PAGE], len(rows) > ACCESS_LOG_PAGE
    actor_ids = {e.actor_id for e in events if e.actor_id}
    staff_ids = set(
        await StaffMember.filter(
            practice_id=g.staff.practice_id, user_id__in=actor_ids
        ).values_list("user_id", flat=True)
    )
    contact_ids = set(
        await Contact.filter(client_id=client.id, user_id__in=actor_ids).values_list(
            "user_id", flat=True
        )
    )
    kinds = {
        uid: "client" if uid == client.user_id else "staff" if uid in staff_ids else "contact"
        for uid in actor_ids
        if uid == client.user_id or uid in staff_ids or uid in contact_ids
    }
    # Reading a client's access log is itself a read of their record.
    await audit_read(client.id, "audit_log")
    return await render_page(
        "views/admin/access_log.html",
        subject=client,
        events=events,
        kinds=kinds,
        older=events[-1].id if more else None,
        paged=before is not None,
    )
