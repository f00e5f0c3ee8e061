"""Staff and clients' portal accounts: invite, disable or enable, unlock, and the
registrations that may duplicate a client (seeds 002/003's client shortcuts).

Every action is a POST from the clients list. Without JavaScript it redirects back
to the list (``?notice=`` names what was done); with htmx it answers the list's
``main`` block, so the page updates in place.
"""

from __future__ import annotations

from quart import Blueprint, abort, current_app, g, redirect, request
from tortoise.transactions import in_transaction

from app.auth import staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import _
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.routes.onboarding import send_mail
from app.rules import rule_message
from models import clock, onboarding, portal_accounts, throttle
from models.audit import audit
from models.errors import RuleError
from models.onboarding import Registration
from models.people import Client, ContactPoint, Role, User
from models.practice import Practice

blueprint = Blueprint("staff_accounts", __name__, url_prefix="/staff")

NOTICES = {
    "invited": _l("Invitation sent. The link works once, for 7 days."),
    "disabled": _l("Portal access disabled. Every session of that account was signed out."),
    "enabled": _l("Portal access enabled again."),
    "unlocked": _l("Account unlocked: the person can sign in again now."),
    "approved": _l("Registration approved: the new client can sign in."),
    "dismissed": _l("Registration dismissed. Nothing was created."),
}


def can_invite(staff) -> bool:
    return staff.has_role(Role.ADMIN) or staff.has_role(Role.SCHEDULER)


async def clients_page(*, notice: str = "", error: str = "", status: int = 200):
    """The staff clients list with each client's portal status (GET /staff/clients)."""
    clients = (
        await Client.filter(practice_id=g.staff.practice_id)
        .select_related("primary_provider__user", "user")
        .order_by("last_name", "first_name")
    )
    reviews = 0
    if can_invite(g.staff):
        reviews = await Registration.filter(
            practice_id=g.staff.practice_id, status="review"
        ).count()
    return await render_page(
        "views/staff/clients.html",
        status=status,
        clients=clients,
        portal=await portal_accounts.portal_statuses(clients),
        can_invite=can_invite(g.staff),
        is_admin=g.staff.has_role(Role.ADMIN),
        reviews=reviews,
        notice=NOTICES.get(notice or request.args.get("notice", ""), ""),
        error=error,
    )


async def _client_of_practice(client_id: int) -> Client:
    client = await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
    if client is None:
        abort(404)
    return client


async def _done(notice: str, error: str = "", path: str = "/staff/clients"):
    """After an action: the updated list (htmx), or back to it (no JavaScript)."""
    if error:
        if path == "/staff/registrations":
            return await registrations_page(error=error, status=422)
        return await clients_page(error=error, status=422)
    if is_htmx():
        if path == "/staff/registrations":
            return await registrations_page(notice=notice)
        return await clients_page(notice=notice)
    return redirect(f"{path}?notice={notice}", 303)


@blueprint.post("/clients/<id:client_id>/invite")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def post_invite(client_id: int):
    client = await _client_of_practice(client_id)
    form = Form.of(await request.form)
    email = form.text("email", required=False, max_length=254)
    if email is None:
        return await _done("", rule_message("email_invalid"))
    if not email:
        emails = (
            await ContactPoint.filter(client_id=client.id, kind="email")
            .order_by("-is_default", "id")
            .values_list("value", flat=True)
        )
        if not emails:
            return await _done("", rule_message("client_has_no_email"))
        email = emails[0]
    try:
        await onboarding.create_invitation(client, email, g.user, send=send_mail, ip=client_ip())
    except RuleError as exc:
        return await _done("", rule_message(exc.code))
    return await _done("invited")


@blueprint.post("/clients/<id:client_id>/portal-access")
@staff_only(Role.ADMIN)
async def post_portal_access(client_id: int):
    client = await _client_of_practice(client_id)
    form = Form.of(await request.form)
    action = form.value("action")
    if action not in ("disable", "enable"):
        return await _done("", _("Choose one of the options."))
    try:
        await portal_accounts.set_portal_access(client, action == "enable", g.user, ip=client_ip())
    except RuleError as exc:
        return await _done("", rule_message(exc.code))
    return await _done("enabled" if action == "enable" else "disabled")


@blueprint.post("/clients/<id:client_id>/unlock")
@staff_only(Role.ADMIN)
async def post_unlock(client_id: int):
    client = await _client_of_practice(client_id)
    user = await User.get_or_none(id=client.user_id) if client.user_id else None
    if user is None:
        return await _done("", rule_message("client_has_no_account"))
    async with in_transaction():
        await throttle.unlock(user)
        await audit(
            g.user, "account.unlocked", client_id=client.id, category="security", ip=client_ip()
        )
    return await _done("unlocked")


# ---- registrations that may duplicate a client, and the shortcut links --------------


async def registrations_page(*, notice: str = "", error: str = "", status: int = 200):
    practice = await Practice.get(id=g.staff.practice_id)
    now = clock.now()
    registrations = await Registration.filter(practice_id=practice.id, status="review").order_by(
        "created_at"
    )
    # Likely matches for all of them: one query (clients born on any of those days).
    days = {r.date_of_birth for r in registrations}
    born = await Client.filter(practice_id=practice.id, date_of_birth__in=list(days)).order_by(
        "last_name", "first_name"
    )
    matches = {
        r.id: [
            c
            for c in born
            if c.date_of_birth == r.date_of_birth
            and onboarding.same_name(c.first_name, r.first_name)
            and onboarding.same_name(c.last_name, r.last_name)
        ]
        for r in registrations
    }
    first = await Practice.all().order_by("id").first().values_list("id", flat=True)
    base = current_app.config["PORTAL"].public_url.rstrip("/")
    suffix = "" if practice.id == first else f"?practice={practice.id}"
    return await render_page(
        "views/staff/registrations.html",
        status=status,
        practice=practice,
        registrations=registrations,
        matches=matches,
        now=now,
        links={
            "login": f"{base}/login",
            "appointment": f"{base}/appointments/new",
            "register": f"{base}/register{suffix}",
        },
        notice=NOTICES.get(notice or request.args.get("notice", ""), ""),
        error=error,
    )


async def _registration_of_practice(registration_id: int) -> Registration:
    registration = await Registration.get_or_none(
        id=registration_id, practice_id=g.staff.practice_id, status="review"
    )
    if registration is None:
        abort(404)
    return registration


@blueprint.get("/registrations")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def get_registrations():
    return await registrations_page()


@blueprint.post("/registrations/<id:registration_id>/approve")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def post_approve(registration_id: int):
    registration = await _registration_of_practice(registration_id)
    try:
        await onboarding.approve_registration(registration, g.user, send=send_mail, ip=client_ip())
    except RuleError as exc:
        return await _done("", rule_message(exc.code), path="/staff/registrations")
    return await _done("approved", path="/staff/registrations")


@blueprint.post("/registrations/<id:registration_id>/dismiss")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def post_dismiss(registration_id: int):
    registration = await _registration_of_practice(registration_id)
    try:
        await onboarding.dismiss_registration(registration, g.user, ip=client_ip())
    except RuleError as exc:
        return await _done("", rule_message(exc.code), path="/staff/registrations")
    return await _done("dismissed", path="/staff/registrations")
