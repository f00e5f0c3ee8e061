"""Forgotten passwords: ask for a link by email, then choose a new password."""

from __future__ import annotations

from quart import Blueprint, g, redirect, request

from app.auth import public
from app.forms import Form
from app.htmx import render_page
from app.i18n import _
from app.net import client_ip
from app.rules import rule_message
from channels import account_mail
from models import resets
from models.audit import audit
from models.errors import RuleError
from models.passwords import password_problem

blueprint = Blueprint("passwords", __name__, url_prefix="/password")


@blueprint.get("/forgot")
@public
async def get_forgot():
    return await render_page("views/sessions/forgot.html", form=Form({}), sent=False)


@blueprint.post("/forgot")
@public
async def post_forgot():
    form = Form.of(await request.form)
    email = form.text("email", max_length=254)
    if email is not None and "@" not in email:
        form.errors["email"] = _("Enter the email address you use for the portal.")
    if not form.ok:
        return await render_page("views/sessions/forgot.html", status=422, form=form, sent=False)
    found = await resets.request_reset(email, ip=client_ip())
    if found is not None:
        user, token, reset = found
        await account_mail.password_reset(user, token, reset.id)
        await audit(user, "account.reset_requested", ip=client_ip())
    # The same page whether or not the account exists, and whether or not we sent.
    return await render_page("views/sessions/forgot.html", form=Form({}), sent=True)


async def _dead_link(error: RuleError):
    response = await render_page(
        "views/sessions/reset_dead.html", status=410, message=rule_message(error.code)
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _reset_page(form: Form, status: int = 200):
    response = await render_page("views/sessions/reset.html", status=status, form=form)
    # The token is in the URL: never send it to another site as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/reset/<token>")
@public
async def get_reset(token: str):
    try:
        await resets.open_reset(token)
    except RuleError as error:
        return await _dead_link(error)
    return await _reset_page(Form({}))


@blueprint.post("/reset/<token>")
@public
async def post_reset(token: str):
    try:
        reset = await resets.open_reset(token)
    except RuleError as error:
        return await _dead_link(error)
    form = Form.of(await request.form)
    password = form.data.get("new_password", "")
    problem = password_problem(password, personal=(reset.user.email, reset.user.username or ""))
    if problem:
        form.errors["new_password"] = rule_message(problem)
        form.data.pop("new_password", None)
        return await _reset_page(form, status=422)
    try:
        user = await resets.complete_reset(token, password)
    except RuleError as error:
        return await _dead_link(error)
    await audit(user, "account.password_reset", ip=client_ip())
    await account_mail.security_notice(user, "password")
    g.session = None  # it was just deleted with every other session of the account
    return redirect("/login?reset=1", 303)
