"""Staff manage a client's contacts: portal access and the rights of each link (issue 8).

Schedulers and admins only. Every action is a POST from the contacts page: without
JavaScript it redirects back (``?notice=``), with htmx it answers the page's ``main``.
"""

from __future__ import annotations

from quart import Blueprint, abort, g, redirect, request

from app.auth import staff_only
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.routes.onboarding import send_mail
from app.rules import rule_message
from models.access import invite_contact, set_contact_access
from models.errors import RuleError
from models.people import Client, Contact, Role, Scope, User
from models.settings import settings_for

blueprint = Blueprint("staff_contacts", __name__, url_prefix="/staff")

# The rights staff tick, in the order shown.
RIGHTS = [
    (Scope.APPOINTMENTS.value, _l("See appointments")),
    (Scope.BOOKING.value, _l("Book and cancel")),
    (Scope.BILLING.value, _l("Pay")),
    (Scope.FORMS.value, _l("Sign forms")),
    (Scope.MESSAGES.value, _l("Message")),
    (Scope.INSURANCE.value, _l("Insurance")),
    (Scope.PROFILE.value, _l("Profile")),
]
NOTICES = {
    "saved": _l("Portal access saved."),
    "unchanged": _l("Nothing to change: portal access was already like this."),
    "linked": _l(
        "Linked to the account that already uses this email: they sign in as before "
        "and find this client under Switch Account."
    ),
    "invited": _l("Invitation sent. The link works once, for 7 days."),
}
MAX_SCOPES = 20  # more ticked boxes than rights exist is not a form this page sent


async def _client_of_practice(client_id: int) -> Client:
    client = await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
    if client is None:
        abort(404)
    return client


async def _contact_of(client: Client, contact_id: int) -> Contact:
    contact = await Contact.get_or_none(id=contact_id, client_id=client.id)
    if contact is None:
        abort(404)
    return contact


async def _page(client: Client, *, notice: str = "", error: str = "", status: int = 200):
    contacts = await Contact.filter(client_id=client.id).order_by("name", "id")
    user_ids = [c.user_id for c in contacts if c.user_id]
    users = {u.id: u for u in await User.filter(id__in=user_ids)} if user_ids else {}
    return await render_page(
        "views/staff/client_contacts.html",
        status=status,
        the_client=client,
        contacts=contacts,
        users=users,
        rights=RIGHTS,
        contact_access=bool((await settings_for(client))["contact_access"]),
        notice=NOTICES.get(notice or request.args.get("notice", ""), ""),
        error=error,
    )


async def _done(client: Client, notice: str = "", error: str = ""):
    if error:
        return await _page(client, error=error, status=422)
    if is_htmx():
        return await _page(client, notice=notice)
    return redirect(f"/staff/clients/{client.id}/contacts?notice={notice}", 303)


@blueprint.get("/clients/<id:client_id>/contacts")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def get_contacts(client_id: int):
    return await _page(await _client_of_practice(client_id))


@blueprint.post("/clients/<id:client_id>/contacts/<id:contact_id>/access")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def post_access(client_id: int, contact_id: int):
    client = await _client_of_practice(client_id)
    contact = await _contact_of(client, contact_id)
    form = await request.form
    scopes = form.getlist("scope")
    if len(scopes) > MAX_SCOPES:
        return await _done(client, error=rule_message("contact_rights_invalid"))
    changed = await set_contact_access(
        contact,
        portal_access=form.get("portal_access") == "1",
        scopes=scopes,
        by=g.user,
        ip=client_ip(),
    )
    return await _done(client, "saved" if changed else "unchanged")


@blueprint.post("/clients/<id:client_id>/contacts/<id:contact_id>/invite")
@staff_only(Role.ADMIN, Role.SCHEDULER)
async def post_invite(client_id: int, contact_id: int):
    client = await _client_of_practice(client_id)
    contact = await _contact_of(client, contact_id)
    try:
        outcome = await invite_contact(contact, client, by=g.user, send=send_mail, ip=client_ip())
    except RuleError as exc:
        return await _done(client, error=rule_message(exc.code))
    return await _done(client, outcome)
