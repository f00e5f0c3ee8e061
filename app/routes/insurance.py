"""My Insurance (seed 000): self-pay or insurance, and the policies sent for review."""

from quart import Blueprint, g

from app.auth import client_section
from app.htmx import render_page
from models.insurance import InsurancePolicy

blueprint = Blueprint("insurance", __name__)


@blueprint.get("/insurance")
@client_section(scope="insurance", feature="insurance_display")
async def get_insurance():
    policies = (
        await InsurancePolicy.filter(client_id=g.access.client.id)
        .select_related("payer")
        .order_by("rank", "-submitted_at")
    )
    return await render_page("views/client/insurance.html", policies=policies)
