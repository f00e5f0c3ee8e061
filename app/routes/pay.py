"""Make Payment: what is due and the cards on file. Taking a card payment arrives
with the billing issue (Stripe and the offline demo processor)."""

from quart import Blueprint, g

from app.auth import client_section
from app.htmx import render_page
from models.ledger import SavedCard, totals_for

blueprint = Blueprint("pay", __name__)


@blueprint.get("/pay")
@client_section(scope="billing", feature="payments")
async def get_pay():
    client = g.access.client
    cards = SavedCard.filter(client_id=client.id)
    if not g.access.is_self:
        cards = cards.filter(added_by_id=g.user.id)
    return await render_page(
        "views/client/pay.html",
        totals=await totals_for(client.id),
        cards=await cards.order_by("-is_default", "id"),
    )
