"""A client's delivery log for staff: every text and email the portal sent or
planned for them, with Twilio's delivery state, and the texts that came in from
their numbers (issue 6). Admins and schedulers see the practice's clients, a
provider their own; anyone else, and another practice's client, get a 404."""

from __future__ import annotations

from quart import Blueprint, abort, g
from tortoise.expressions import Q

from app.auth import audit_read, staff_only
from app.htmx import render_page
from models.outbox import InboundSms, OutboxMessage
from models.people import Client, ContactPoint, Role, StaffMember

blueprint = Blueprint("staff_deliveries", __name__, url_prefix="/staff")
SHOWN = 200  # the newest of each


def visible_clients(staff: StaffMember):
    """The clients whose delivery log ``staff`` may read."""
    query = Client.filter(practice_id=staff.practice_id)
    if staff.has_role(Role.ADMIN) or staff.has_role(Role.SCHEDULER):
        return query
    if staff.has_role(Role.PROVIDER):
        return query.filter(
            Q(primary_provider_id=staff.id)
            | Q(appointments__provider_id=staff.id)
            | Q(threads__provider_id=staff.id)
        ).distinct()
    return query.filter(id=-1)  # a biller: nobody's


@blueprint.get("/clients/<id:client_id>/deliveries")
@staff_only()
async def get_deliveries(client_id: int):
    client = await visible_clients(g.staff).filter(id=client_id).first()
    if client is None:
        abort(404)
    outbound = (
        await OutboxMessage.filter(client_id=client.id).order_by("-due_at", "-id").limit(SHOWN)
    )
    phones = await ContactPoint.filter(client_id=client.id, kind="phone").values_list(
        "value", flat=True
    )
    inbound = (
        await InboundSms.filter(Q(client_id=client.id) | Q(from_number__in=list(phones) or [""]))
        .order_by("-received_at", "-id")
        .limit(SHOWN)
    )
    await audit_read(client.id, "messages", object_type="deliveries", object_id=client.id)
    return await render_page(
        "views/staff/deliveries.html", client=client, outbound=outbound, inbound=inbound
    )
