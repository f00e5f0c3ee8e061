"""The practice's terms of service: read and print them; accept them at first sign-in
and again whenever the practice changes them."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import public, safe_next, signed_in
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.net import client_ip
from models import signin
from models.audit import audit
from models.practice import Practice
from models.security import Session

blueprint = Blueprint("terms", __name__, url_prefix="/terms")


async def _practice() -> Practice | None:
    if g.user is not None:
        practice = await signin.practice_of(g.user)
        if practice is not None:
            return practice
    return await Practice.all().order_by("id").first()


@blueprint.get("")
@public
async def get_terms():
    practice = await _practice()
    if practice is None or not practice.terms_of_service.strip():
        abort(404)
    owed = g.session is not None and g.session.stage == signin.TERMS
    return await render_page(
        "views/sessions/terms.html",
        practice=practice,
        owed=owed,
        accepted=g.user is not None and g.user.terms_version == practice.terms_version,
        next=safe_next(request.args.get("next"), ""),
    )


@blueprint.post("/accept")
@signed_in
async def post_accept():
    form = Form.of(await request.form)
    practice = await signin.practice_of(g.user)
    if practice is None or not practice.terms_of_service.strip():
        abort(404)
    version = form.value("version")
    if not version.isdigit() or int(version) != practice.terms_version:
        # The terms changed while the page was open: show the new ones.
        return redirect("/terms", 303)
    await signin.accept_terms(g.user, practice)
    await audit(g.user, "account.terms_accepted", ip=client_ip(), version=practice.terms_version)
    if g.session.stage == signin.TERMS:
        await Session.filter(id=g.session.id).update(stage="")
    target = safe_next(form.value("next"), "/dashboard")
    if is_htmx():
        return hx_redirect(Response("", 200), target)
    return redirect(target, 303)
