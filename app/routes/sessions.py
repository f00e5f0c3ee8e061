"""Sign in, sign out, switch the client a guardian acts for, pick a language."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import (
    clear_session_cookie,
    public,
    safe_next,
    set_session_cookie,
    signed_in,
)
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import LANGUAGES, _
from models.access import client_accesses, staff_member_for
from models.audit import audit
from models.auth import MAX_PASSWORD, authenticate
from models.people import Client
from models.security import Session

blueprint = Blueprint("sessions", __name__)


def _client_ip() -> str:
    return request.remote_addr or ""


async def _home_for(user) -> str:
    if await client_accesses(user):
        return "/dashboard"
    if await staff_member_for(user):
        return "/staff/"
    return "/profile"


@blueprint.get("/login")
@public
async def get_login():
    if g.user is not None:
        return redirect(await _home_for(g.user), 303)
    form = Form({"next": safe_next(request.args.get("next"), "")})
    return await render_page("views/sessions/login.html", form=form)


@blueprint.post("/login")
@public
async def post_login():
    form = Form.of(await request.form)
    identifier = form.text("username", max_length=254)
    password = form.data.get("password", "")
    if not password:
        form.errors["password"] = _("This field is required.")
    elif len(password) > MAX_PASSWORD:
        form.errors["password"] = _("Use at most %(n)s characters.", n=MAX_PASSWORD)
    user = None
    if form.ok:
        user = await authenticate(
            identifier, password, ip=_client_ip(), user_agent=request.headers.get("User-Agent", "")
        )
        if user is None:
            form.errors["__all__"] = _("That email or username and password do not match.")
    if not form.ok:
        form.data.pop("password", None)
        return await render_page("views/sessions/login.html", status=422, form=form)

    if g.session is not None:  # never carry an old session id across a sign-in
        await g.session.delete()
    token, session = await Session.start(
        user.id, ip=_client_ip(), user_agent=request.headers.get("User-Agent", "")
    )
    await audit(user, "session.login", ip=_client_ip())
    target = safe_next(form.value("next"), await _home_for(user))
    response = redirect(target, 303)
    if is_htmx():
        response = hx_redirect(Response("", 200), target)
    set_session_cookie(response, token)
    return response


@blueprint.get("/logout")
@public
async def get_logout():
    if g.user is None:
        return redirect("/login", 303)
    return await render_page("views/sessions/logout.html")


@blueprint.post("/logout")
@public
async def post_logout():
    if g.session is not None:
        await audit(g.user, "session.logout", ip=_client_ip())
        await g.session.delete()
    response = redirect("/login", 303)
    if is_htmx():
        response = hx_redirect(Response("", 200), "/login")
    clear_session_cookie(response)
    return response


@blueprint.post("/switch-client")
@signed_in
async def post_switch_client():
    """Seed 004's Switch Account: a guardian picks which client they act for."""
    form = Form.of(await request.form)
    client_id = form.integer("client_id")
    accesses = await client_accesses(g.user)
    if client_id is None or all(a.client.id != client_id for a in accesses):
        abort(404)
    g.session.acting_client_id = client_id
    await Session.filter(id=g.session.id).update(acting_client_id=client_id)
    if is_htmx():
        return hx_redirect(Response("", 200), "/dashboard")
    return redirect("/dashboard", 303)


@blueprint.post("/language")
@public
async def post_language():
    form = Form.of(await request.form)
    lang = form.value("lang")
    if lang not in LANGUAGES:
        abort(400)
    if g.user is not None:
        g.user.language = lang
        await g.user.save(update_fields=["language"])
        await Client.filter(user_id=g.user.id).update(preferred_language=lang)
    response = redirect(safe_next(form.value("next"), "/login"), 303)
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
