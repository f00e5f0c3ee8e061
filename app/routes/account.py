"""My Account (seed 000): the ledger table with totals, filtered by date range,
and the Documents card (its PDFs are in ``account_documents``)."""

from quart import Blueprint, Response, g, request

from app.auth import client_section
from app.forms import Form
from app.htmx import render_page
from app.i18n import _
from models.ledger import entries_for, opening_balance, totals_for, totals_of, with_running_balance

blueprint = Blueprint("account", __name__)


@blueprint.get("/account")
@client_section(scope="billing")
async def get_account():
    form = period_form()
    return await account_page(form, documents=Form(dict(form.data)))


def period_form() -> Form:
    """The query string's From and To dates, checked (``cleaned`` holds them)."""
    form = Form({k: request.args.get(k, "") for k in ("start", "end")})
    start, end = form.optional_date("start"), form.optional_date("end")
    if start and end and start > end:
        form.errors["end"] = _("The end date must be on or after the start date.")
    return form


async def account_page(form: Form, *, documents: Form) -> Response:
    """The page: the history for ``form``'s dates and the Documents card's ``documents``
    form; 422 when either has errors."""
    start, end = form.cleaned.get("start"), form.cleaned.get("end")
    client_id = g.access.client.id
    entries = await entries_for(client_id, start, end) if form.ok else []
    opening = await opening_balance(client_id, start) if form.ok else 0
    return await render_page(
        "views/client/account.html",
        status=200 if form.ok and documents.ok else 422,
        form=form,
        documents=documents,
        rows=with_running_balance(entries, opening),
        period=totals_of(entries),
        totals=await totals_for(client_id),
        filtered=bool(start or end),
    )
