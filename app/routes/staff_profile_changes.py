"""The staff review queue for profile changes that need checking (issue 8): a client's
legal name, date of birth and address change only when a scheduler or an admin
approves. Only this practice's clients: anything else is a 404."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import lazy_gettext as _l
from app.routes.profile_details import FIELD_NAMES
from app.rules import rule_message
from models import profile as rules
from models.errors import RuleError
from models.people import Role
from models.profile_changes import ProfileChange

blueprint = Blueprint("staff_profile_changes", __name__, url_prefix="/staff")
SHOWN = 200  # the oldest pending changes on the page
NOTICES = {
    "approved": _l("The change is applied."),
    "declined": _l("The change is declined; the client sees your note."),
    "already": _l("That change was already reviewed: nothing more was done."),
}


async def _rows(query) -> list[tuple[ProfileChange, str]]:
    """Each change with the client's value now (it may differ from the value at request)."""
    changes = await query.select_related("client", "requested_by")
    return [(c, rules.current_value(c.client, c.field)) for c in changes]


async def _page(*, notice: str = "", forms: dict | None = None, status: int = 200) -> Response:
    pending = rules.changes_to_review(g.staff.practice_id)
    return await render_page(
        "views/staff/profile_changes.html",
        status=status,
        rows=await _rows(pending.limit(SHOWN)),
        field_names=FIELD_NAMES,
        notice=NOTICES.get(notice, ""),
        forms=forms or {},
    )


@blueprint.get("/profile-changes")
@staff_only(Role.SCHEDULER)
async def get_profile_changes() -> Response:
    return await _page(notice=request.args.get("notice", ""))


async def _change(change_id: int) -> ProfileChange:
    change = await ProfileChange.get_or_none(id=change_id, client__practice_id=g.staff.practice_id)
    if change is None:
        abort(404)
    return change


async def _answer(change: ProfileChange, notice: str, form: Form | None = None) -> Response:
    status = 422 if form is not None and form.errors else 200
    if is_htmx():
        (row,) = await _rows(ProfileChange.filter(id=change.id))
        return await render_partial(
            "partials/_profile_change_row.html",
            status=status,
            change=row[0],
            now=row[1],
            field_names=FIELD_NAMES,
            row_notice=NOTICES.get(notice, ""),
            form=form,
        )
    if status == 422:
        return await _page(forms={change.id: form}, status=422)
    return redirect(f"/staff/profile-changes?notice={notice}", 303)


@blueprint.post("/profile-changes/<id:change_id>/approve")
@staff_only(Role.SCHEDULER)
async def post_approve(change_id: int) -> Response:
    change = await _change(change_id)
    done = await rules.approve(change, by=g.user)
    return await _answer(change, "approved" if done else "already")


@blueprint.post("/profile-changes/<id:change_id>/decline")
@staff_only(Role.SCHEDULER)
async def post_decline(change_id: int) -> Response:
    change = await _change(change_id)
    form = Form.of(await request.form)
    note = form.text("note", required=False, max_length=1000)
    if not form.ok:
        return await _answer(change, "", form)
    try:
        done = await rules.decline(change, by=g.user, note=note or "")
    except RuleError as error:
        form.errors["note"] = rule_message(error.code)
        return await _answer(change, "", form)
    return await _answer(change, "declined" if done else "already")
