"""Practice settings (admins): the overview, the client portal switches at
``/admin/portal`` (rules in models/portal_settings.py), the practice's details at
``/admin/practice`` (models/practice_details.py), and a client's access log."""

from quart import Blueprint, abort, g, redirect, request

from app import setting_names
from app.auth import audit_read, staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import portal_settings, practice_details
from models.audit import AuditEvent
from models.people import Client, Contact, Role, StaffMember
from models.practice import Location, Practice, Service
from models.profile import zone_choices
from models.settings import practice_settings, processor_usable

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
NOTICES = {"saved": _l("Settings saved."), "unchanged": _l("Nothing was changed.")}


@blueprint.get("/")
@staff_only(Role.ADMIN)
async def get_portal_settings():
    practice = await Practice.get(id=g.staff.practice_id)
    return await render_page(
        "views/admin/settings.html",
        practice=practice,
        settings=practice_settings(practice),
        labels=setting_names.LABELS,
        overview=setting_names.OVERVIEW,
        locations=await Location.filter(practice_id=practice.id).order_by("name"),
        services=await Service.filter(practice_id=practice.id).order_by("name"),
    )


async def _portal_page(
    practice: Practice,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    notice: str = "",
    status: int = 200,
):
    return await render_page(
        "views/admin/portal.html",
        status=status,
        practice=practice,
        values=portal_settings.stored_values(practice) if values is None else values,
        errors={key: rule_message(code) for key, code in (errors or {}).items()},
        processor_ready=processor_usable(practice),
        labels=setting_names.LABELS,
        notices=portal_settings.NOTICES,
        notice=str(NOTICES.get(notice, "")),
    )


@blueprint.get("/portal")
@staff_only(Role.ADMIN)
async def get_portal():
    practice = await Practice.get(id=g.staff.practice_id)
    return await _portal_page(practice, notice=request.args.get("notice", ""))


@blueprint.post("/portal")
@staff_only(Role.ADMIN)
async def post_portal():
    practice = await Practice.get(id=g.staff.practice_id)
    posted = await request.form
    try:
        wanted = portal_settings.read_form(posted, practice)
    except portal_settings.SettingsInvalid as invalid:
        shown = {key: posted.get(key) for key in portal_settings.EDITABLE}
        shown.update({k: posted.get(k) == "1" for k in portal_settings.SWITCHES})
        shown.update({k: posted.get(k) == "1" for k in portal_settings.NOTICES})
        return await _portal_page(practice, values=shown, errors=invalid.errors, status=422)
    changed = await portal_settings.change_settings(practice.id, wanted, by=g.user, ip=client_ip())
    notice = "saved" if changed else "unchanged"
    if is_htmx():
        practice = await Practice.get(id=practice.id)
        return await _portal_page(practice, notice=notice)
    return redirect(f"/admin/portal?notice={notice}", 303)


async def _details_page(practice: Practice, *, values=None, errors=None, notice="", status=200):
    return await render_page(
        "views/admin/practice.html",
        status=status,
        practice=practice,
        form=Form(
            practice_details.current(practice) if values is None else values,
            {key: rule_message(code) for key, code in (errors or {}).items()},
        ),
        zones=zone_choices(),
        limits={"name": practice_details.MAX_NAME, "terms": practice_details.MAX_TERMS},
        notice=str(NOTICES.get(notice, "")),
    )


@blueprint.get("/practice")
@staff_only(Role.ADMIN)
async def get_practice():
    practice = await Practice.get(id=g.staff.practice_id)
    return await _details_page(practice, notice=request.args.get("notice", ""))


@blueprint.post("/practice")
@staff_only(Role.ADMIN)
async def post_practice():
    practice = await Practice.get(id=g.staff.practice_id)
    posted = await request.form
    try:
        clean = practice_details.check(posted)
    except practice_details.DetailsInvalid as invalid:
        values = {key: posted.get(key, "") for key in practice_details.FIELDS}
        return await _details_page(practice, values=values, errors=invalid.errors, status=422)
    changed = await practice_details.change(practice.id, clean, by=g.user, ip=client_ip())
    notice = "saved" if changed else "unchanged"
    if is_htmx():
        return await _details_page(await Practice.get(id=practice.id), notice=notice)
    return redirect(f"/admin/practice?notice={notice}", 303)


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
