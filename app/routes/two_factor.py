"""Two-factor sign-in from My Profile: set up with a QR code, recovery codes, turn off."""

from __future__ import annotations

import segno
from markupsafe import Markup
from quart import Blueprint, g, request

from app.auth import signed_in
from app.forms import Form
from app.htmx import render_page
from app.i18n import _
from app.net import client_ip
from app.routes.security import back_to_page, current_password_ok, render_security, shell
from app.rules import rule_message
from channels import account_mail
from models import signin, two_factor
from models.audit import audit
from models.errors import RuleError
from models.security import Session

blueprint = Blueprint("two_factor", __name__, url_prefix="/profile/security/two-factor")


async def _enrol_page(form: Form | None = None, status: int = 200):
    user = g.user
    qr = secret = None
    if user.totp_secret:
        practice = await signin.practice_of(user)
        issuer = practice.name if practice else _("Client Portal")
        uri = two_factor.provisioning_uri(user, user.totp_secret, issuer)
        # segno draws only rectangles from our own data: safe to inline.
        qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, border=2, omitsize=True))
        secret = two_factor.format_secret(user.totp_secret)
    await shell()
    return await render_page(
        "views/security/two_factor_setup.html",
        status=status,
        form=form or Form({}),
        qr=qr,
        secret=secret,
        required=g.session.stage == signin.ENROL,
    )


@blueprint.get("")
@signed_in
async def get_two_factor():
    """The setup page while setting up (or when required); else the security page."""
    if g.user.totp_enabled_at is None:
        return await _enrol_page()
    return await render_security()


@blueprint.post("/start")
@signed_in
async def post_start():
    """A new secret (also for someone whose app never got the first one)."""
    if g.user.totp_enabled_at is not None:
        return await render_security()
    await two_factor.begin_enrolment(g.user)
    return await _enrol_page()


@blueprint.post("/confirm")
@signed_in
async def post_confirm():
    form = Form.of(await request.form)
    code = form.text("code", max_length=24)
    if form.ok:
        if g.user.totp_secret is None or g.user.totp_enabled_at is not None:
            return await render_security()
        try:
            codes = await two_factor.confirm_enrolment(g.user, code)
        except RuleError as error:
            form.errors["code"] = rule_message(error.code)
    if not form.ok:
        form.data.pop("code", None)
        return await _enrol_page(form, status=422)
    next_stage = await signin.stage_after_code(g.user) if g.session.stage else ""
    await Session.filter(id=g.session.id).update(two_factor=True, stage=next_stage)
    await audit(g.user, "account.two_factor_on", ip=client_ip())
    await account_mail.security_notice(g.user, "two_factor_on")
    await shell()
    return await render_page(
        "views/security/recovery_codes.html",
        codes=codes,
        next_url="/terms" if next_stage == signin.TERMS else "/profile/security",
    )


@blueprint.post("/recovery-codes")
@signed_in
async def post_recovery_codes():
    form = Form.of(await request.form)
    if g.user.totp_enabled_at is None:
        return await render_security()
    if not await current_password_ok(form):
        return await render_security(422, forms={"recovery": form})
    codes = await two_factor.new_recovery_codes(g.user)
    await audit(g.user, "account.recovery_codes", ip=client_ip())
    await account_mail.security_notice(g.user, "recovery_codes")
    await shell()
    return await render_page(
        "views/security/recovery_codes.html", codes=codes, next_url="/profile/security"
    )


@blueprint.post("/off")
@signed_in
async def post_off():
    form = Form.of(await request.form)
    if g.user.totp_enabled_at is None:
        return await render_security()
    if await signin.two_factor_required(g.user):
        form.errors["__all__"] = _("Your practice requires two-factor sign-in.")
        return await render_security(422, forms={"off": form})
    if not await current_password_ok(form):
        return await render_security(403, forms={"off": form})
    await two_factor.turn_off(g.user)
    await audit(g.user, "account.two_factor_off", ip=client_ip())
    await account_mail.security_notice(g.user, "two_factor_off")
    return back_to_page("two-factor")
