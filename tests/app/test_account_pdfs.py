"""My Account's PDFs through the app: headers, contents, access, dates, audit, and
hostile names that must be printed, not interpreted (security plan D-1, D-2, D-4)."""

import asyncio
import io
import string
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from channels import billing_pdfs
from models import billing_documents
from models.audit import AuditEvent
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
from tests.app.test_onboarding import comparable
from tests.channels.test_pdf import Canary
from tests.helpers import sign_in

YEAR = "?start=2026-01-01&end=2026-12-31"


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def bill_ready(cast):
    """Alice's October payment allocated to her October charge; NPI and tax id set."""
    cast.penny.npi, cast.penny.title = "1234567893", "LCSW"
    await cast.penny.save()
    cast.practice.tax_id = "12-3456789"
    await cast.practice.save()
    cast.alice.diagnosis_codes = ["F41.1"]
    await cast.alice.save()
    charge = await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CHARGE).first()
    payment = await LedgerEntry.get(client=cast.alice, kind=EntryKind.CLIENT_PAYMENT)
    await PaymentAllocation.create(payment=payment, charge=charge, amount_cents=3000)
    return payment


def assert_download(response, filename: str) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_each_document_downloads_as_a_pdf_with_its_numbers(client, cast):
    payment = await bill_ready(cast)
    await sign_in(client, "alice")
    expected = {
        f"/account/receipts/{payment.id}.pdf": (
            f"receipt-{payment.id}.pdf",
            ["Payment receipt", "$30.00", "Visa 4242", "90834"],
        ),
        f"/account/statement.pdf{YEAR}": (
            "statement-2026-01-01-2026-12-31.pdf",
            ["Statement", "$300.00", "$30.00", "$270.00"],
        ),
        f"/account/superbill.pdf{YEAR}": (
            "superbill-2026-01-01-2026-12-31.pdf",
            ["Superbill", "90834", "F41.1", "1234567893", "12-3456789", "$300.00", "11 Office"],
        ),
        f"/account/flex-spending.pdf{YEAR}": (
            "flex-spending-2026-01-01-2026-12-31.pdf",
            ["Flex spending statement", "Total paid: $30.00", "90834"],
        ),
    }
    for path, (filename, words) in expected.items():
        response = await client.get(path)
        assert_download(response, filename)
        data = await response.get_data()
        text = text_of(data)
        for word in ["Alice Example", "Test Practice", *words]:
            assert word in text, (path, word)
        reader = PdfReader(io.BytesIO(data))
        assert set(reader.metadata) == {"/Title", "/Producer"}
        assert "Alice" not in reader.metadata["/Title"]
        assert reader.attachments == {}


async def test_dates_are_optional_and_the_name_says_which_were_used(client, cast):
    await sign_in(client, "alice")
    response = await client.get("/account/statement.pdf?end=2026-10-31")
    assert_download(response, "statement-2026-10-01-2026-10-31.pdf")
    text = text_of(await response.get_data())
    assert "$150.00" in text and "$120.00" in text  # October only: charged, then paid 30


async def test_a_pdf_is_in_the_clients_language(client, cast):
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await sign_in(client, "alice")
    response = await client.get(f"/account/statement.pdf{YEAR}")
    text = text_of(await response.get_data())
    assert "1 oct 2026" in text  # Spanish date formatting
    assert "300,00" in text


async def test_someone_elses_receipt_is_a_404_like_a_missing_one(client, cast):
    bob_paid = await LedgerEntry.create(
        client=cast.bob, kind=EntryKind.CLIENT_PAYMENT, posted_on=date(2026, 11, 2), amount_cents=99
    )
    charge = await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CHARGE).first()
    await sign_in(client, "alice")
    missing = await client.get("/account/receipts/999999.pdf")
    assert missing.status_code == 404
    body = comparable(await missing.get_data(as_text=True))
    for path in (f"/account/receipts/{bob_paid.id}.pdf", f"/account/receipts/{charge.id}.pdf"):
        response = await client.get(path)
        assert response.status_code == 404
        assert comparable(await response.get_data(as_text=True)) == body
    assert not await AuditEvent.filter(action="export").exists()


async def test_a_guardian_without_the_billing_scope_gets_404(client, cast):
    await sign_in(client, "gina")  # acting for Charlie: appointments and forms only
    for path in ("/account/statement.pdf", "/account/superbill.pdf", "/account/receipts/1.pdf"):
        assert (await client.get(path)).status_code == 404
    assert not await AuditEvent.filter(action="export").exists()


async def test_bad_dates_answer_the_account_page_with_the_error_and_no_pdf(client, cast):
    await sign_in(client, "alice")
    bad = {
        "/account/superbill.pdf?start=2026-12-31&end=2026-01-01": (
            "The end date must be on or after the start date."
        ),
        "/account/statement.pdf?start=31/12/2026": "Enter a date like 2026-01-31.",
        "/account/flex-spending.pdf?end=soon": "Enter a date like 2026-01-31.",
    }
    for path, error in bad.items():
        response = await client.get(path)
        assert response.status_code == 422
        assert response.headers["Content-Type"].startswith("text/html")
        html = await response.get_data(as_text=True)
        assert error in html and "My Account" in html
        assert 'id="doc-end"' in html or 'id="doc-start"' in html
    assert not await AuditEvent.filter(action="export").exists()


async def test_each_download_writes_one_export_row(client, cast):
    payment = await bill_ready(cast)
    await sign_in(client, "alice")
    await client.get(f"/account/superbill.pdf{YEAR}")
    await client.get(f"/account/receipts/{payment.id}.pdf")
    rows = await AuditEvent.filter(action="export").order_by("id")
    assert [(r.client_id, r.category, r.object_type, r.object_id) for r in rows] == [
        (cast.alice.id, "billing", "superbill", ""),
        (cast.alice.id, "billing", "receipt", str(payment.id)),
    ]
    assert rows[0].actor_id == cast.alice.user_id
    assert rows[0].details["start"] == "2026-01-01" and rows[0].details["end"] == "2026-12-31"


async def test_a_render_timeout_answers_503(client, cast, monkeypatch):
    from channels import pdf

    async def too_slow(html, *, title):
        raise pdf.PdfTimeout("slow")

    monkeypatch.setattr(billing_pdfs, "render_pdf", too_slow)
    await sign_in(client, "alice")
    response = await client.get(f"/account/statement.pdf{YEAR}")
    assert response.status_code == 503
    assert "try again" in await response.get_data(as_text=True)
    assert not await AuditEvent.filter(action="export").exists()


async def test_the_account_page_offers_the_documents(client, cast):
    payment = await LedgerEntry.get(client=cast.alice, kind=EntryKind.CLIENT_PAYMENT)
    await sign_in(client, "alice")
    html = await (await client.get("/account")).get_data(as_text=True)
    assert 'id="documents-title"' in html
    for action in (
        "/account/statement.pdf",
        "/account/superbill.pdf",
        "/account/flex-spending.pdf",
    ):
        assert f'formaction="{action}"' in html
    assert f'href="/account/receipts/{payment.id}.pdf"' in html
    assert '<label for="doc-start">' in html and '<label for="doc-end">' in html


async def test_d1_markup_in_names_and_addresses_is_printed_not_fetched(client, cast):
    with Canary() as canary:
        img = f'<img src="http://127.0.0.1:{canary.port}/x">'
        link = '<link rel="attachment" href="file:///etc/passwd">'
        cast.alice.first_name = img
        cast.alice.last_name = link
        cast.alice.address_line1 = (
            f"{link} <style>@import url(http://127.0.0.1:{canary.port}/s);</style>"
        )
        cast.alice.city = img
        await cast.alice.save()
        await sign_in(client, "alice")
        response = await client.get(f"/account/superbill.pdf{YEAR}")
        data = await response.get_data()
    assert response.status_code == 200
    assert canary.hits == 0
    assert PdfReader(io.BytesIO(data)).attachments == {}
    text = " ".join(text_of(data).split())
    assert img in text and link in text
    assert "root:" not in text


# What the PDF font prints (text extraction cannot return glyphs a font lacks), with
# every character that means something in HTML, CSS or a URL.
NAME_CHARACTERS = string.ascii_letters + string.digits + "<>&\"'/=;:(){}[]!?#%*-_.,@ áéíóúñüÑçß"


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.text(NAME_CHARACTERS, min_size=1, max_size=30)
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
def test_d2_any_client_name_renders_and_is_printed(name):
    header = billing_documents.Header(
        practice_name="Test Practice",
        practice_address=(),
        practice_phone="",
        tax_id="12-3456789",
        client_name=name,
        client_number="C1",
        date_of_birth=None,
        client_address=(name,),
        language="en",
    )
    doc = billing_documents.Superbill(header, date(2026, 1, 1), date(2026, 1, 31), (), ())
    title, html = billing_pdfs.document_html("superbill", doc, today=date(2026, 2, 1))
    data = asyncio.run(billing_pdfs.render_pdf(html, title=title))
    assert data.startswith(b"%PDF")
    assert name in text_of(data)
