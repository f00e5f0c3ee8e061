"""Staff and roles (admins, issue 9): the practice's staff with their roles and state,
adding a colleague (emailed a set-your-password link), a staff member's page with
their roles, deactivate / reactivate, and for a provider their own portal switches and
calendar numbers. The rules live in models/staff_admin.py.

Each POST answers the page again for htmx, or redirects to it with ``?notice=`` (no
JavaScript); a refusal is a 422 with its reason and changes nothing."""

from __future__ import annotations

from quart import Blueprint, abort, g, redirect, request

from app import setting_names
from app.auth import staff_only
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.routes.onboarding import send_mail
from app.rules import rule_message
from models import staff_admin
from models.errors import RuleError
from models.people import Role, StaffMember
from models.practice import Practice
from models.settings import PROVIDER_NUMBERS

blueprint = Blueprint("admin_staff", __name__, url_prefix="/admin")
NOTICES = {
    "added": _l("Staff member added. They were emailed a link to choose a password (7 days)."),
    "saved": _l("Changes saved."),
    "unchanged": _l("Nothing was changed."),
    "deactivated": _l("Deactivated: they can no longer use the staff pages."),
    "reactivated": _l("Reactivated."),
}
ROLE_NAMES = {
    "provider": _l("Provider"),
    "scheduler": _l("Scheduler"),
    "biller": _l("Biller"),
    "admin": _l("Admin"),
}
NUMBER_LABELS = {
    "booking_min_notice_hours": _l("Booking notice, in hours"),
    "booking_short_notice_hours": _l("Booking notice within 24 hours, in hours"),
    "booking_horizon_days": _l("Booking horizon, in days"),
    "cancel_free_hours": _l("Free cancellation up to, in hours before"),
    "cancel_block_hours": _l("Online cancellation closes, in hours before"),
    "late_cancel_fee_cents": _l("Late cancellation fee, in whole dollars"),
}


def _errors(codes: dict | None) -> dict[str, str]:
    return {key: rule_message(code) for key, code in (codes or {}).items()}


async def _list_page(*, values=None, errors=None, notice: str = "", error="", status=200):
    staff = (
        await StaffMember.filter(practice_id=g.staff.practice_id)
        .select_related("user")
        .order_by("-active", "user__display_name", "id")
    )
    return await render_page(
        "views/admin/staff.html",
        status=status,
        staff=staff,
        roles=staff_admin.ROLES,
        role_names=ROLE_NAMES,
        values=values or {"name": "", "email": "", "roles": []},
        errors=_errors(errors),
        notice=str(NOTICES.get(notice, "")),
        error=error,
    )


async def _member(staff_id: int) -> StaffMember:
    member = await StaffMember.get_or_none(
        id=staff_id, practice_id=g.staff.practice_id
    ).select_related("user")
    if member is None:
        abort(404)
    return member


async def _member_page(
    member: StaffMember,
    *,
    roles=None,
    portal=None,
    errors=None,
    error: str = "",
    notice: str = "",
    status: int = 200,
):
    practice = await Practice.get(id=g.staff.practice_id)
    found = staff_admin.switches(practice, member)
    return await render_page(
        "views/admin/staff_member.html",
        status=status,
        member=member,
        is_self=member.id == g.staff.id,
        roles=staff_admin.ROLES,
        role_names=ROLE_NAMES,
        chosen=member.roles if roles is None else roles,
        switches=found,
        labels=setting_names.LABELS,
        numbers=staff_admin.numbers(member) if portal is None else portal,
        practice_numbers=staff_admin.practice_numbers(practice),
        number_keys=PROVIDER_NUMBERS,
        number_labels=NUMBER_LABELS,
        number_max=staff_admin.NUMBER_MAX,
        errors=_errors(errors),
        error=error,
        notice=str(NOTICES.get(notice, "")),
    )


async def _done(member: StaffMember, notice: str):
    if is_htmx():
        return await _member_page(await _member(member.id), notice=notice)
    return redirect(f"/admin/staff/{member.id}?notice={notice}", 303)


@blueprint.get("/staff")
@staff_only(Role.ADMIN)
async def get_staff():
    return await _list_page(notice=request.args.get("notice", ""))


@blueprint.post("/staff")
@staff_only(Role.ADMIN)
async def post_staff():
    posted = await request.form
    shown = {
        "name": str(posted.get("name", ""))[:300],
        "email": str(posted.get("email", ""))[:300],
        "roles": posted.getlist("role"),
    }
    try:
        name, email, roles = staff_admin.read_new(posted, posted.getlist("role"))
        member = await staff_admin.add_staff(
            g.staff.practice_id, name, email, roles, by=g.staff, send=send_mail, ip=client_ip()
        )
    except staff_admin.StaffInvalid as invalid:
        return await _list_page(values=shown, errors=invalid.errors, status=422)
    except RuleError as refused:
        return await _list_page(values=shown, errors={"email": refused.code}, status=422)
    if is_htmx():
        response = await _member_page(await _member(member.id), notice="added")
        response.headers["HX-Push-Url"] = f"/admin/staff/{member.id}"
        return response
    return redirect(f"/admin/staff/{member.id}?notice=added", 303)


@blueprint.get("/staff/<id:staff_id>")
@staff_only(Role.ADMIN)
async def get_member(staff_id: int):
    return await _member_page(await _member(staff_id), notice=request.args.get("notice", ""))


@blueprint.post("/staff/<id:staff_id>/roles")
@staff_only(Role.ADMIN)
async def post_roles(staff_id: int):
    member = await _member(staff_id)
    chosen = (await request.form).getlist("role")
    try:
        roles = staff_admin.read_roles(chosen)
        changed = await staff_admin.change_roles(
            g.staff.practice_id, member.id, roles, by=g.staff, ip=client_ip()
        )
    except staff_admin.StaffInvalid as invalid:
        return await _member_page(member, roles=chosen, errors=invalid.errors, status=422)
    except RuleError as refused:
        errors = {"roles": refused.code}
        return await _member_page(member, roles=chosen, errors=errors, status=422)
    return await _done(member, "saved" if changed else "unchanged")


@blueprint.post("/staff/<id:staff_id>/active")
@staff_only(Role.ADMIN)
async def post_active(staff_id: int):
    member = await _member(staff_id)
    wanted = (await request.form).get("active")
    if wanted not in ("0", "1"):
        return await _member_page(member, error=rule_message("setting_invalid"), status=422)
    try:
        changed = await staff_admin.set_active(
            g.staff.practice_id, member.id, wanted == "1", by=g.staff, ip=client_ip()
        )
    except RuleError as refused:
        return await _member_page(member, error=rule_message(refused.code), status=422)
    if not changed:
        return await _done(member, "unchanged")
    return await _done(member, "reactivated" if wanted == "1" else "deactivated")


@blueprint.post("/staff/<id:staff_id>/portal")
@staff_only(Role.ADMIN)
async def post_portal(staff_id: int):
    member = await _member(staff_id)
    if not member.has_role(Role.PROVIDER):
        return await _member_page(member, error=rule_message("staff_not_provider"), status=422)
    practice = await Practice.get(id=g.staff.practice_id)
    posted = await request.form
    try:
        off, wanted = staff_admin.read_portal(posted, practice, member)
    except staff_admin.StaffInvalid as invalid:
        shown = {key: str(posted.get(key, ""))[:20] for key in PROVIDER_NUMBERS}
        return await _member_page(member, portal=shown, errors=invalid.errors, status=422)
    changed = await staff_admin.change_portal(
        g.staff.practice_id, member.id, off, wanted, by=g.staff, ip=client_ip()
    )
    return await _done(member, "saved" if changed else "unchanged")
