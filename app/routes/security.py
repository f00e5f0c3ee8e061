"""My Profile > Sign-in and security: password, username, sessions, devices, history.

Open to everyone who signs in (clients, guardians and staff); two-factor has its
own blueprint (app/routes/two_factor.py). Every change asks for the current password.
"""

from __future__ import annotations

import re

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import signed_in
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import _
from app.net import client_ip
from app.rules import rule_message
from channels import account_mail
from channels.chat import broker as live
from models import clock, devices, signin, two_factor
from models.access import client_accesses, pick_access, staff_member_for
from models.audit import audit
from models.auth import check_password, set_password
from models.passwords import password_problem
from models.people import User
from models.security import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Device, LoginEvent, Session
from models.settings import settings_for

blueprint = Blueprint("security", __name__, url_prefix="/profile/security")
HISTORY_SHOWN = 20
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


async def shell() -> str:
    """Put the person's own menu around the page; returns their time zone."""
    accesses = await client_accesses(g.user, own=g.own_client)
    if accesses:
        g.accesses = accesses
        g.access = pick_access(accesses, g.session.acting_client_id)
        g.settings = await settings_for(g.access.client)
        return g.access.client.time_zone
    g.staff = await staff_member_for(g.user)
    practice = await signin.practice_of(g.user)
    return practice.time_zone if practice else "UTC"


async def render_security(status: int = 200, **context) -> Response:
    user = g.user
    now = clock.now()
    tz = await shell()
    sessions = await Session.filter(
        user_id=user.id,
        stage="",
        last_seen_at__gte=now - IDLE_TIMEOUT,
        created_at__gte=now - ABSOLUTE_TIMEOUT,
    ).order_by("-last_seen_at")
    context.setdefault("forms", {})
    context["blank"] = Form({})
    return await render_page(
        "views/security/index.html",
        status=status,
        tz=tz,
        sessions=sessions,
        this_session=g.session,
        known_devices=await Device.filter(user_id=user.id, revoked_at__isnull=True).order_by(
            "-last_seen_at"
        ),
        history=await LoginEvent.filter(user_id=user.id).order_by("-at").limit(HISTORY_SHOWN),
        codes_left=await two_factor.recovery_codes_left(user) if user.totp_enabled_at else 0,
        required=await signin.two_factor_required(user),
        describe=devices.describe_agent,
        place=devices.approximate_place,
        now=now,
        **context,
    )


def back_to_page(anchor: str = "") -> Response:
    target = "/profile/security" + (f"#{anchor}" if anchor else "")
    if is_htmx():
        return hx_redirect(Response("", 200), target)
    return redirect(target, 303)


async def current_password_ok(form: Form) -> bool:
    """Re-authentication for a sensitive change; marks the form when it fails."""
    password = form.data.get("current_password", "")
    if (
        not password
        or len(password) > 256
        or not await check_password(g.user.password_hash, password)
    ):
        form.errors["current_password"] = _("That is not your current password.")
        return False
    return True


@blueprint.get("")
@signed_in
async def get_security():
    return await render_security()


@blueprint.post("/password")
@signed_in
async def post_password():
    form = Form.of(await request.form)
    new = form.data.get("new_password", "")
    problem = password_problem(new, personal=(g.user.email, g.user.username or ""))
    if problem:
        form.errors["new_password"] = rule_message(problem)
    if not await current_password_ok(form) or not form.ok:
        form.data.pop("current_password", None)
        form.data.pop("new_password", None)
        return await render_security(422, forms={"password": form})
    await set_password(g.user, new)
    # Everyone else signed in as this person is signed out (ASVS 7.4.3).
    await Session.filter(user_id=g.user.id).exclude(id=g.session.id).delete()
    await audit(g.user, "account.password_changed", ip=client_ip())
    await account_mail.security_notice(g.user, "password")
    return back_to_page("password")


@blueprint.post("/username")
@signed_in
async def post_username():
    form = Form.of(await request.form)
    username = form.text("username", max_length=64)
    if username is not None:
        username = username.casefold()
        if not USERNAME.match(username) or "@" in username:
            form.errors["username"] = _(
                "Use 3 to 64 letters, digits, dots, dashes or underscores, starting with a "
                "letter or digit."
            )
        elif await User.filter(username=username).exclude(id=g.user.id).exists():
            form.errors["username"] = _("That username is taken. Try another.")
    if not await current_password_ok(form) or not form.ok:
        form.data.pop("current_password", None)
        return await render_security(422, forms={"username": form})
    await User.filter(id=g.user.id).update(username=username)
    await audit(g.user, "account.username_changed", ip=client_ip())
    await account_mail.security_notice(g.user, "username")
    return back_to_page("username")


@blueprint.post("/sessions/sign-out-others")
@signed_in
async def post_sign_out_others():
    ended = await Session.filter(user_id=g.user.id).exclude(id=g.session.id).delete()
    await audit(g.user, "session.sign_out_others", ip=client_ip(), ended=ended)
    await live.session_ended(g.user.id)
    return back_to_page("sessions")


@blueprint.post("/devices/<id:device_id>/forget")
@signed_in
async def post_forget_device(device_id: int):
    if not await devices.revoke(g.user, device_id):
        abort(404)
    await audit(g.user, "device.revoked", ip=client_ip(), device=device_id)
    # Forgetting the browser in use signs it out too (its sessions end with the device).
    if not await Session.exists(id=g.session.id):
        return redirect("/login", 303)
    return back_to_page("devices")
