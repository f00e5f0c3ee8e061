"""Insurance payers (admins and billers), issue 9: list, add, edit, deactivate and
reactivate (rules in models/payer_admin.py); ``GET /admin/payers/<id>`` is the list
with that payer's edit form, so editing works without JavaScript. Payers clients
added wait for review at /staff/insurance."""

from __future__ import annotations

from quart import Blueprint, abort, g, redirect, request

from app.auth import staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import payer_admin
from models.insurance import Payer
from models.insurance_review import payers_to_review
from models.people import Role

blueprint = Blueprint("admin_payers", __name__, url_prefix="/admin")
NOTICES = {
    "added": _l("Payer added."),
    "saved": _l("Changes saved."),
    "unchanged": _l("Nothing was changed."),
    "deactivated": _l("Deactivated."),
    "reactivated": _l("Reactivated."),
}


# ---------------------------------------------------------------- payers


async def _payer(payer_id: int) -> Payer:
    payer = await Payer.get_or_none(id=payer_id, practice_id=g.staff.practice_id)
    if payer is None:
        abort(404)
    return payer


async def _page(*, editing=None, values=None, errors=None, notice="", error="", status=200):
    practice_id = g.staff.practice_id
    return await render_page(
        "views/admin/payers.html",
        status=status,
        rows=await Payer.filter(practice_id=practice_id).order_by("-active", "name", "id"),
        waiting={p.id for p in await payers_to_review(practice_id)},
        editing=editing,
        form=Form(
            payer_admin.form_of(editing) if values is None else values,
            {key: rule_message(code) for key, code in (errors or {}).items()},
        ),
        limits=payer_admin.LIMITS,
        notice=str(NOTICES.get(notice, "")),
        error=error,
    )


async def _done(notice: str):
    if is_htmx():
        return await _page(notice=notice)
    return redirect(f"/admin/payers?notice={notice}", 303)


@blueprint.get("/payers")
@staff_only(Role.BILLER)
async def get_payers():
    return await _page(notice=request.args.get("notice", ""))


@blueprint.post("/payers")
@staff_only(Role.BILLER)
async def post_payers():
    posted = await request.form
    try:
        clean = payer_admin.check(posted)
        await payer_admin.add(g.staff.practice_id, clean, by=g.user, ip=client_ip())
    except payer_admin.PayerInvalid as invalid:
        values = payer_admin.posted(posted)
        return await _page(values=values, errors=invalid.errors, status=422)
    return await _done("added")


@blueprint.get("/payers/<id:payer_id>")
@staff_only(Role.BILLER)
async def get_payer(payer_id: int):
    return await _page(editing=await _payer(payer_id))


@blueprint.post("/payers/<id:payer_id>")
@staff_only(Role.BILLER)
async def post_payer(payer_id: int):
    payer = await _payer(payer_id)
    posted = await request.form
    try:
        clean = payer_admin.check(posted)
        changed = await payer_admin.change(
            g.staff.practice_id, payer.id, clean, by=g.user, ip=client_ip()
        )
    except payer_admin.PayerInvalid as invalid:
        values = payer_admin.posted(posted)
        return await _page(editing=payer, values=values, errors=invalid.errors, status=422)
    if changed is None:
        abort(404)
    return await _done("saved" if changed else "unchanged")


@blueprint.post("/payers/<id:payer_id>/active")
@staff_only(Role.BILLER)
async def post_payer_active(payer_id: int):
    payer = await _payer(payer_id)
    wanted = (await request.form).get("active")
    if wanted not in ("0", "1"):
        return await _page(error=rule_message("setting_invalid"), status=422)
    changed = await payer_admin.set_active(
        g.staff.practice_id, payer.id, wanted == "1", by=g.user, ip=client_ip()
    )
    if changed is None:
        abort(404)
    if not changed:
        return await _done("unchanged")
    return await _done("reactivated" if wanted == "1" else "deactivated")


# ---------------------------------------------------------------- template previews
