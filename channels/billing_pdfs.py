"""The My Account PDFs, callable without HTTP: build the data, render the template in
the client's language, turn it into PDF bytes (``channels.pdf.render_pdf``).

The routes in ``app/routes/account_documents.py`` call these; so can a benchmark.
"""

from __future__ import annotations

import asyncio
from datetime import date
from zoneinfo import ZoneInfo

from app import i18n
from app.i18n import _
from channels.pdf import render_pdf
from models import billing_documents, clock
from models.people import Client

# The documents' titles, translated when a document is rendered.
TITLES = {
    "receipt": lambda: _("Payment receipt"),
    "statement": lambda: _("Statement"),
    "superbill": lambda: _("Superbill"),
    "flex_spending": lambda: _("Flex spending statement"),
}


async def receipt_pdf(client: Client, payment_id: int) -> bytes | None:
    """The receipt for one of ``client``'s payments; None for any other id."""
    doc = await billing_documents.receipt(client.id, payment_id)
    return None if doc is None else await _pdf(client, "receipt", doc)


async def statement_pdf(client: Client, start: date | None, end: date | None) -> bytes:
    return await _pdf(client, "statement", await billing_documents.statement(client.id, start, end))


async def superbill_pdf(client: Client, start: date | None, end: date | None) -> bytes:
    return await _pdf(client, "superbill", await billing_documents.superbill(client.id, start, end))


async def flex_spending_pdf(client: Client, start: date | None, end: date | None) -> bytes:
    doc = await billing_documents.flex_spending(client.id, start, end)
    return await _pdf(client, "flex_spending", doc)


def document_html(template: str, doc, *, today: date) -> tuple[str, str]:
    """The title and HTML of ``doc`` (a models.billing_documents value), in the
    language of the client it is about."""
    from app.templates import environment

    with i18n.speaking(doc.header.language):
        title = TITLES[template]()
        html = environment.get_template(f"views/pdf/{template}.html").render(
            doc=doc, title=title, printed_on=today
        )
    return title, html


async def _pdf(client: Client, template: str, doc) -> bytes:
    today = clock.now().astimezone(ZoneInfo(client.time_zone)).date()
    # A year of lines is tens of milliseconds of Jinja: off the event loop too.
    title, html = await asyncio.to_thread(document_html, template, doc, today=today)
    return await render_pdf(html, title=title)
