"""Manage Clients (admins): each client's portal switches, the level that set each one
("why can't this client ...?"), the client's own "off" (rules in
models/client_overrides.py), and a read-only preview of the client's portal: the
admin's session acts for the client (``acting_client_id``, as a guardian's does) and
app/auth.client_section refuses every change while it does. Start and end are audited,
and each page the admin opens is audited as their read of the client's record."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app import setting_names
from app.auth import staff_only
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import client_overrides
from models.audit import audit
from models.people import Client, Role
from models.practice import Practice
from models.security import Session

blueprint = Blueprint("admin_clients", __name__, url_prefix="/admin")
NOTICES = {"saved": _l("Saved for this client."), "unchanged": _l("Nothing was changed.")}


@blueprint.get("/clients")
@staff_only(Role.ADMIN)
async def get_clients():
    practice = await Practice.get(id=g.staff.practice_id)
    clients = (
        await Client.filter(practice_id=practice.id)
        .select_related("primary_provider__user")
        .order_by("last_name", "first_name")
    )
    rows = [
        (c, [f for f in client_overrides.features(practice, c, c.primary_provider) if not f.on])
        for c in clients
    ]
    return await render_page(
        "views/admin/clients.html", rows=rows, labels=setting_names.LABELS, practice=practice
    )


async def _client(client_id: int) -> Client:
    client = await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
    if client is None:
        abort(404)
    return client


async def _page(client: Client, *, errors=None, notice: str = "", status: int = 200):
    practice, provider = await client_overrides.context_of(client)
    found = client_overrides.features(practice, client, provider)
    return await render_page(
        "views/admin/client_portal.html",
        status=status,
        the_client=client,
        provider=provider,
        features=found,
        why={f.key: setting_names.why(f, provider) for f in found},
        labels=setting_names.LABELS,
        errors={key: rule_message(code) for key, code in (errors or {}).items()},
        notice=str(NOTICES.get(notice, "")),
    )


@blueprint.get("/clients/<id:client_id>/portal")
@staff_only(Role.ADMIN)
async def get_client_portal(client_id: int):
    client = await _client(client_id)
    return await _page(client, notice=request.args.get("notice", ""))


@blueprint.post("/clients/<id:client_id>/portal")
@staff_only(Role.ADMIN)
async def post_client_portal(client_id: int):
    client = await _client(client_id)
    practice, provider = await client_overrides.context_of(client)
    found = client_overrides.features(practice, client, provider)
    try:
        off = client_overrides.read_form(await request.form, found)
    except client_overrides.OverridesInvalid as invalid:
        return await _page(client, errors=invalid.errors, status=422)
    changed = await client_overrides.change_overrides(client.id, off, by=g.user, ip=client_ip())
    notice = "saved" if changed else "unchanged"
    if is_htmx():
        return await _page(await Client.get(id=client.id), notice=notice)
    return redirect(f"/admin/clients/{client.id}/portal?notice={notice}", 303)


def _go(target: str) -> Response:
    if is_htmx():
        return hx_redirect(Response("", 200), target)
    return redirect(target, 303)


@blueprint.post("/clients/<id:client_id>/preview")
@staff_only(Role.ADMIN)
async def post_preview(client_id: int):
    client = await _client(client_id)
    g.session.acting_client_id = client.id
    await Session.filter(id=g.session.id).update(acting_client_id=client.id)
    await audit(g.user, "client.preview_started", client_id=client.id, obj=client, ip=client_ip())
    return _go("/dashboard")


@blueprint.post("/preview/end")
@staff_only()
async def post_preview_end():
    client_id = g.session.acting_client_id
    if client_id is None:
        return _go("/admin/clients" if g.staff.has_role(Role.ADMIN) else "/staff/")
    g.session.acting_client_id = None
    await Session.filter(id=g.session.id).update(acting_client_id=None)
    await audit(g.user, "client.preview_ended", client_id=client_id, ip=client_ip())
    return _go(f"/admin/clients/{client_id}/portal")
