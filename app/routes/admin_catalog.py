"""Locations and services (admins, issue 9): list, add, edit, deactivate and
reactivate; the rules live in models/catalog.py. ``GET /admin/locations/<id>`` is the
list with that location's edit form (so editing works without JavaScript), and the
same for services."""

from __future__ import annotations

from dataclasses import dataclass

from quart import Blueprint, abort, g, redirect, request
from tortoise.models import Model

from app.auth import staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import catalog
from models.errors import RuleError
from models.people import Role
from models.practice import Location, Service

blueprint = Blueprint("admin_catalog", __name__, url_prefix="/admin")
NOTICES = {
    "added": _l("Added."),
    "saved": _l("Changes saved."),
    "unchanged": _l("Nothing was changed."),
    "deactivated": _l("Deactivated."),
    "reactivated": _l("Reactivated."),
}


@dataclass(frozen=True)
class Kind:
    """What differs between the two lists."""

    model: type[Model]
    path: str
    template: str
    keys: tuple[str, ...]
    boxes: tuple[str, ...]


LOCATIONS = Kind(
    Location,
    "/admin/locations",
    "views/admin/locations.html",
    ("name", *catalog.ADDRESS_FIELDS),
    ("telehealth", "hide_address"),
)
SERVICES = Kind(
    Service,
    "/admin/services",
    "views/admin/services.html",
    ("name", "cpt_code", "duration_minutes", "buffer_minutes", "fee"),
    ("self_schedulable",),
)


def _blank(kind: Kind, row: Model | None = None) -> dict:
    if kind is LOCATIONS:
        return catalog.location_form(row)
    return catalog.service_form(row)


async def _row(kind: Kind, row_id: int) -> Model:
    row = await kind.model.get_or_none(id=row_id, practice_id=g.staff.practice_id)
    if row is None:
        abort(404)
    return row


async def _page(
    kind: Kind,
    *,
    editing: Model | None = None,
    values: dict | None = None,
    errors: dict | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
):
    rows = await kind.model.filter(practice_id=g.staff.practice_id).order_by("-active", "name")
    return await render_page(
        kind.template,
        status=status,
        rows=rows,
        editing=editing,
        form=Form(
            _blank(kind, editing) if values is None else values,
            {key: rule_message(code) for key, code in (errors or {}).items()},
        ),
        notice=str(NOTICES.get(notice, "")),
        error=error,
    )


def _check(kind: Kind, posted) -> dict:
    return (catalog.check_location if kind is LOCATIONS else catalog.check_service)(posted)


async def _done(kind: Kind, notice: str):
    if is_htmx():
        return await _page(kind, notice=notice)
    return redirect(f"{kind.path}?notice={notice}", 303)


async def _list(kind: Kind):
    return await _page(kind, notice=request.args.get("notice", ""))


async def _edit_page(kind: Kind, row_id: int):
    return await _page(kind, editing=await _row(kind, row_id))


async def _add(kind: Kind):
    posted = await request.form
    try:
        clean = _check(kind, posted)
        await catalog.add(kind.model, g.staff.practice_id, clean, by=g.user, ip=client_ip())
    except catalog.CatalogInvalid as invalid:
        shown = catalog.posted_form(posted, kind.keys, kind.boxes)
        return await _page(kind, values=shown, errors=invalid.errors, status=422)
    return await _done(kind, "added")


async def _edit(kind: Kind, row_id: int):
    row = await _row(kind, row_id)
    posted = await request.form
    try:
        clean = _check(kind, posted)
        changed = await catalog.change(
            kind.model, g.staff.practice_id, row.id, clean, by=g.user, ip=client_ip()
        )
    except catalog.CatalogInvalid as invalid:
        shown = catalog.posted_form(posted, kind.keys, kind.boxes)
        return await _page(kind, editing=row, values=shown, errors=invalid.errors, status=422)
    if changed is None:
        abort(404)
    return await _done(kind, "saved" if changed else "unchanged")


async def _active(kind: Kind, row_id: int):
    row = await _row(kind, row_id)
    wanted = (await request.form).get("active")
    if wanted not in ("0", "1"):
        return await _page(kind, error=rule_message("setting_invalid"), status=422)
    try:
        changed = await catalog.set_active(
            kind.model, g.staff.practice_id, row.id, wanted == "1", by=g.user, ip=client_ip()
        )
    except RuleError as refused:
        message = rule_message(refused.code, row.name)
        return await _page(kind, error=message, status=422)
    if changed is None:
        abort(404)
    if not changed:
        return await _done(kind, "unchanged")
    return await _done(kind, "reactivated" if wanted == "1" else "deactivated")


# ---------------------------------------------------------------- locations


@blueprint.get("/locations")
@staff_only(Role.ADMIN)
async def get_locations():
    return await _list(LOCATIONS)


@blueprint.post("/locations")
@staff_only(Role.ADMIN)
async def post_locations():
    return await _add(LOCATIONS)


@blueprint.get("/locations/<id:location_id>")
@staff_only(Role.ADMIN)
async def get_location(location_id: int):
    return await _edit_page(LOCATIONS, location_id)


@blueprint.post("/locations/<id:location_id>")
@staff_only(Role.ADMIN)
async def post_location(location_id: int):
    return await _edit(LOCATIONS, location_id)


@blueprint.post("/locations/<id:location_id>/active")
@staff_only(Role.ADMIN)
async def post_location_active(location_id: int):
    return await _active(LOCATIONS, location_id)


# ---------------------------------------------------------------- services


@blueprint.get("/services")
@staff_only(Role.ADMIN)
async def get_services():
    return await _list(SERVICES)


@blueprint.post("/services")
@staff_only(Role.ADMIN)
async def post_services():
    return await _add(SERVICES)


@blueprint.get("/services/<id:service_id>")
@staff_only(Role.ADMIN)
async def get_service(service_id: int):
    return await _edit_page(SERVICES, service_id)


@blueprint.post("/services/<id:service_id>")
@staff_only(Role.ADMIN)
async def post_service(service_id: int):
    return await _edit(SERVICES, service_id)


@blueprint.post("/services/<id:service_id>/active")
@staff_only(Role.ADMIN)
async def post_service_active(service_id: int):
    return await _active(SERVICES, service_id)
