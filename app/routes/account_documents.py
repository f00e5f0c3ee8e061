"""My Account's PDFs: a receipt per client payment, and for a period a statement,
a superbill and a flex spending statement (channels/billing_pdfs.py).

Each download is an attachment nobody caches, and one "export" audit row besides
the section's "read" row. Bad dates answer the My Account page with the errors.
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, request

from app.auth import client_section
from app.forms import Form
from app.i18n import _
from app.net import client_ip
from app.routes.account import account_page, period_form
from channels import billing_pdfs
from channels.pdf import PdfTimeout
from models.audit import audit
from models.billing_documents import period

blueprint = Blueprint("account_documents", __name__)

EXPORT = "export"
PERIOD_DOCUMENTS = {
    "statement": billing_pdfs.statement_pdf,
    "superbill": billing_pdfs.superbill_pdf,
    "flex-spending": billing_pdfs.flex_spending_pdf,
}


@blueprint.get("/account/receipts/<id:payment_id>.pdf")
@client_section(scope="billing")
async def get_receipt(payment_id: int):
    client = g.access.client
    try:
        pdf = await billing_pdfs.receipt_pdf(client, payment_id)
    except PdfTimeout:
        return _busy()
    if pdf is None:
        abort(404)
    await _audit("receipt", payment_id)
    return _attachment(pdf, f"receipt-{payment_id}.pdf")


@blueprint.get("/account/<any('statement', 'superbill', 'flex-spending'):document>.pdf")
@client_section(scope="billing")
async def get_period_document(document: str):
    form = period_form()
    if not form.ok:
        return await account_page(Form({}), documents=form)
    client = g.access.client
    start, end = await period(client.id, form.cleaned["start"], form.cleaned["end"])
    try:
        pdf = await PERIOD_DOCUMENTS[document](client, start, end)
    except PdfTimeout:
        return _busy()
    await _audit(document.replace("-", "_"), "", start=start.isoformat(), end=end.isoformat())
    return _attachment(pdf, f"{document}-{start.isoformat()}-{end.isoformat()}.pdf")


def _attachment(pdf: bytes, filename: str) -> Response:
    response = Response(pdf, status=200, content_type="application/pdf")
    # no-store and nosniff come with every signed-in response (app/security.py).
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _busy() -> Response:
    response = Response(
        _("The document is taking too long to prepare. Please try again in a few minutes."),
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response.headers["Retry-After"] = "60"
    return response


async def _audit(object_type: str, object_id: object, **details) -> None:
    await audit(
        g.user,
        EXPORT,
        client_id=g.access.client.id,
        category="billing",
        via="web",
        ip=client_ip(),
        object_type=object_type,
        object_id=object_id,
        page=request.endpoint,
        **details,
    )
