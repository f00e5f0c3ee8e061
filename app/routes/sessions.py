"""Sign in (password, then a two-factor code when one is owed), sign out, switch the
client a guardian acts for, pick a language."""

from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import quote

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import (
    clear_session_cookie,
    public,
    safe_next,
    set_session_cookie,
    signed_in,
)
from app.devices import device_token, set_device_cookie
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import LANGUAGES, _, ngettext
from app.net import client_ip, user_agent
from channels import account_mail
from channels.chat import broker as live
from models import devices, signin, throttle, two_factor
from models.access import client_accesses, staff_member_for
from models.audit import audit
from models.auth import MAX_PASSWORD, authenticate, record_login
from models.people import Client
from models.security import Device, Session

blueprint = Blueprint("sessions", __name__)


async def _home_for(user) -> str:
    if await client_accesses(user):
        return "/dashboard"
    if await staff_member_for(user):
        return "/staff/"
    return "/profile/security"


def _retry_message(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return ngettext(
        "Too many attempts. Try again in %(num)s minute, or reset your password.",
        "Too many attempts. Try again in %(num)s minutes, or reset your password.",
        minutes,
    )


async def _start(user, stage: str, *, device=None, two_factor: bool = False, target: str):
    """A fresh session (never an old id across a step) and where to go from here."""
    for old in (g.session, g.pending):
        if old is not None:
            await old.delete()
    token, session = await Session.start(
        user.id,
        ip=client_ip(),
        user_agent=user_agent(),
        stage=stage,
        device_id=device.id if device else None,
        two_factor=two_factor,
    )
    if stage == signin.CODE:
        target = "/login/code?next=" + quote(target, safe="/")
    elif stage == signin.ENROL:
        target = "/profile/security/two-factor"
    elif stage == signin.TERMS:
        target = "/terms?next=" + quote(target, safe="/")
    response = redirect(target, 303)
    if is_htmx():
        response = hx_redirect(Response("", 200), target)
    set_session_cookie(response, token)
    return response


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
    status = 422
    attempt = None
    if form.ok:
        attempt = await authenticate(identifier, password, ip=client_ip(), user_agent=user_agent())
        if attempt.retry_after is not None:
            form.errors["__all__"] = _retry_message(attempt.retry_after)
            status = 429
        elif attempt.user is None:
            form.errors["__all__"] = _("That email or username and password do not match.")
    if not form.ok:
        form.data.pop("password", None)
        return await render_page("views/sessions/login.html", status=status, form=form)

    user = attempt.user
    device, device_token_value, is_new = await devices.note_sign_in(
        user, device_token(), ip=client_ip(), user_agent=user_agent()
    )
    stage = await signin.stage_after_password(user, device)
    await record_login(
        user,
        success=True,
        detail="password" if stage != signin.CODE else "code_required",
        ip=client_ip(),
        user_agent=user_agent(),
        device_label=device.label,
        identifier_digest=attempt.identifier_digest,
    )
    if is_new and await devices.claim_notice(device):
        await account_mail.new_device(user, device, ip=client_ip())
    if stage != signin.CODE:
        await audit(user, "session.login", ip=client_ip())
    target = safe_next(form.value("next"), await _home_for(user))
    response = await _start(user, stage, device=device, target=target)
    set_device_cookie(response, device_token_value)
    return response


@blueprint.get("/login/code")
@public
async def get_code():
    if g.pending is None:
        return redirect("/login", 303)
    form = Form({"next": safe_next(request.args.get("next"), "")})
    return await render_page("views/sessions/code.html", form=form)


@blueprint.post("/login/code")
@public
async def post_code():
    if g.pending is None:  # timed out, or signed out meanwhile: start over
        if is_htmx():
            return hx_redirect(Response("", 200), "/login")
        return redirect("/login", 303)
    user = g.pending.user
    form = Form.of(await request.form)
    code = form.text("code", max_length=24)
    status = 422
    used = None
    if form.ok:
        if await throttle.code_attempts_left(user) <= 0:
            form.errors["code"] = _(
                "Too many wrong codes today. Use a recovery code tomorrow, or call the practice."
            )
            status = 429
        else:
            used = await two_factor.verify_code(user, code)
            if used == two_factor.REPLAYED:
                await account_mail.security_notice(user, "code_replayed")
            if used not in two_factor.GOOD:
                await record_login(
                    user,
                    success=False,
                    detail=throttle.CODE_FAILURE,
                    ip=client_ip(),
                    user_agent=user_agent(),
                )
                form.errors["code"] = _(
                    "That code did not work. Codes change every 30 seconds and each works once."
                )
    if not form.ok:
        form.data.pop("code", None)
        return await render_page("views/sessions/code.html", status=status, form=form)

    device = await Device.get_or_none(id=g.pending.device_id) if g.pending.device_id else None
    if device is not None and form.value("remember") == "1":
        await devices.remember(device)
    await record_login(
        user,
        success=True,
        detail="recovery_code" if used == "recovery" else "two_factor",
        two_factor=True,
        ip=client_ip(),
        user_agent=user_agent(),
        device_label=device.label if device else "",
    )
    await audit(user, "session.login", ip=client_ip(), two_factor=True)
    stage = await signin.stage_after_code(user)
    target = safe_next(form.value("next"), await _home_for(user))
    return await _start(user, stage, device=device, two_factor=True, target=target)


@blueprint.get("/logout")
@public
async def get_logout():
    if g.user is None and g.pending is None:
        return redirect("/login", 303)
    return await render_page("views/sessions/logout.html")


@blueprint.post("/logout")
@public
async def post_logout():
    if g.session is not None:
        await audit(g.user, "session.logout", ip=client_ip())
        await g.session.delete()
        await live.session_ended(g.user.id)  # its sockets close now, not at the next sweep
    if g.pending is not None:
        await g.pending.delete()
    response = redirect("/login", 303)
    if is_htmx():
        response = hx_redirect(Response("", 200), "/login")
    clear_session_cookie(response)
    # Nothing of the session stays in the browser; cookies are kept, as the device
    # cookie is what spares a person a code and a new-device email next time.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
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
