"""My Account (seed 000): the ledger table with totals, filtered by date range."""

from quart import Blueprint, g, request

from app.auth import client_section
from app.forms import Form
from app.htmx import render_page
from app.i18n import _
from models.ledger import entries_for, totals_for, totals_of, with_running_balance

blueprint = Blueprint("account", __name__)


@blueprint.get("/account")
@client_section(scope="billing")
async def get_account():
    form = Form({k: request.args.get(k, "") for k in ("start", "end")})
    start, end = form.optional_date("start"), form.optional_date("end")
    if start and end and start > end:
        form.errors["end"] = _("The end date must be on or after the start date.")
    client_id = g.access.client.id
    entries = await entries_for(client_id, start, end) if form.ok else []
    opening = 0
    if form.ok and start:
        before = await entries_for(client_id, None, None)
        opening = totals_of([e for e in before if e.posted_on < start]).balance
    return await render_page(
        "views/client/account.html",
        status=200 if form.ok else 422,
        form=form,
        rows=with_running_balance(entries, opening),
        period=totals_of(entries),
        totals=await totals_for(client_id),
        filtered=bool(start or end),
    )
