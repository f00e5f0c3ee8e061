"""A client's page for staff (issue 9): portal status, upcoming appointments, balance,
conversations, forms and insurance on one page, each part shown to those who work
with it: appointments and forms to schedulers, admins and the client's providers;
the balance to billers; insurance to billers and schedulers; conversations as the
inbox shows them."""

from __future__ import annotations

from quart import Blueprint, abort, g

from app.auth import audit_read, staff_only
from app.htmx import render_page
from app.routes.staff_deliveries import visible_clients
from models import portal_accounts
from models.conversations import staff_threads, unread_by_thread
from models.dashboard import upcoming_appointments
from models.documents import FormAssignment
from models.insurance import InsurancePolicy
from models.ledger import totals_for
from models.people import Client, Role, StaffMember

blueprint = Blueprint("staff_client", __name__, url_prefix="/staff")
SHOWN = 5


def _may(staff: StaffMember, *roles: Role) -> bool:
    return staff.has_role(Role.ADMIN) or any(staff.has_role(r) for r in roles)


@blueprint.get("/clients/<id:client_id>")
@staff_only()
async def get_client(client_id: int):
    staff = g.staff
    client = await Client.get_or_none(id=client_id, practice_id=staff.practice_id).select_related(
        "user", "primary_provider__user"
    )
    if client is None:
        abort(404)
    await audit_read(client.id, "profile", object_type="client", object_id=client.id)
    # A provider works with their own clients (as on the delivery log); schedulers
    # and admins with everyone's.
    clinical = await visible_clients(staff).filter(id=client.id).exists()
    parts: dict[str, object] = {}
    if clinical:
        parts["appointments"] = await upcoming_appointments(client.id, SHOWN)
    if _may(staff, Role.BILLER):
        parts["totals"] = await totals_for(client.id)
    threads = (
        await staff_threads(staff)
        .filter(client_id=client.id)
        .order_by("-last_message_at", "-id")
        .limit(SHOWN)
    )
    if clinical:
        parts["forms"] = (
            await FormAssignment.filter(client_id=client.id)
            .select_related("template")
            .order_by("-id")
            .limit(SHOWN)
        )
    if _may(staff, Role.BILLER, Role.SCHEDULER):
        parts["policies"] = (
            await InsurancePolicy.filter(client_id=client.id)
            .select_related("payer")
            .order_by("rank", "-id")
        )
    return await render_page(
        "views/staff/client.html",
        the_client=client,
        portal=(await portal_accounts.portal_statuses([client]))[client.id],
        threads=threads,
        unread=await unread_by_thread([t.id for t in threads], for_client=False),
        parts=parts,
        is_admin=staff.has_role(Role.ADMIN),
        can_invite=_may(staff, Role.SCHEDULER),
        clinical=clinical,
    )
