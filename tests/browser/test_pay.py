"""Make Payment and the PDFs in a real browser: the demo client pays $20.00 with the
demo processor's card that succeeds, downloads the receipt (a PDF naming the client,
the amount and the distribution), finds the payment on My Account and downloads a
statement; a declined card without JavaScript shows why and pays nothing.

Payments change the demo's balance, so this module runs on a demo of its own."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from tests.browser.conftest import Portal, Server, own_demo_server  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """A fresh demo for this module (it overrides the shared session server)."""
    with own_demo_server(tmp_path_factory, "portal-pay-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def pdf_text(download) -> str:
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pay_with_the_demo_card_and_download_the_receipt(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/pay")
    expect(page.locator("main#main h1")).to_have_text("Make Payment")
    portal.check_widths(page, "pay")
    page.get_by_label("Amount (USD)").fill("20.00")
    page.get_by_label("Demo card that succeeds").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("main#main")).to_contain_text("Payment received: $20.00")
    portal.check_widths(page, "pay-received")

    with page.expect_download() as info:
        page.get_by_role("link", name="Receipt (PDF)").click()
    receipt = pdf_text(info.value)
    assert "Payment receipt" in receipt and "Alex Rivera" in receipt and "$20.00" in receipt

    page.goto("/account")
    payment_row = page.locator("table.ledger tbody tr", has_text="$20.00").filter(
        has=page.get_by_role("link", name="Receipt (PDF)")
    )
    expect(payment_row.first).to_be_visible()
    portal.check_widths(page, "account-documents")
    with page.expect_download() as info:
        page.get_by_role("button", name="Statement", exact=True).click()
    statement = pdf_text(info.value)
    assert "Statement" in statement and "Alex Rivera" in statement and "20.00" in statement


def test_a_declined_card_without_javascript_pays_nothing(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/account")
    rows_before = page.locator("table.ledger tbody tr").count()
    page.goto("/pay")
    page.get_by_label("Amount (USD)").fill("15.00")
    page.get_by_label("Demo card that is declined").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    page.goto("/account")
    expect(page.locator("table.ledger tbody tr")).to_have_count(rows_before)


def test_add_a_demo_card_without_javascript_make_it_default_and_remove_it(no_js_page, portal):
    """My Profile's cards on file with the demo processor, as plain forms: the consent is
    required, the new card can be made the default, and removing it leaves the old one."""
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/profile/cards/new")
    page.get_by_label("Demo card that asks you to confirm").check()
    page.get_by_label("Nickname (optional)").fill("Travel")
    with page.expect_navigation():
        page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-consent-error")).to_contain_text("Tick the box")
    page.get_by_role("checkbox").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save card").click()
    cards = page.locator("#cards")
    expect(cards).to_contain_text("The card is on file.")
    expect(cards).to_contain_text("Travel")
    with page.expect_navigation():
        page.get_by_role("button", name="Make default (Visa 3184)").click()
    expect(cards).to_contain_text("That card is now your default.")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove (Visa 3184)").click()
    expect(cards).to_contain_text("The card was removed.")
    expect(cards).not_to_contain_text("Travel")
    expect(cards).to_contain_text("4242")
