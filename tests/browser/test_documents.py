"""My Docs & Forms in a real browser: the demo client uploads a PNG, sees it listed
at once (htmx), and finds it again by searching for its name.

The demo data keeps one more document for the demo client (nothing else changes)."""

from __future__ import annotations

import os
import re
import secrets
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import make_context  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
PROVIDER = "provider@demo.test"
# A real 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e2d9e1a40000000049454e44ae426082"
)


def test_the_client_uploads_a_png_and_finds_it_by_name(page, portal, tmp_path):
    name = f"Referral letter {secrets.token_hex(3)}"
    picture = tmp_path / "IMG_0001.png"
    picture.write_bytes(PNG)
    portal.sign_in(page, CLIENT)
    page.goto("/documents")
    expect(page.locator("main#main h1")).to_have_text("My Docs & Forms")
    page.get_by_label("File").set_input_files(str(picture))
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("main#main [role=status]")).to_contain_text("Your document was uploaded.")
    row = page.locator("#document-list li", has_text=f"{name}.png")
    expect(row).to_be_visible()
    expect(row).to_contain_text("You")

    page.get_by_label("Search by name").fill(name.upper())
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/documents\?q="))
    expect(page.locator("#document-list li")).to_have_count(1)
    expect(page.locator("#document-list li")).to_contain_text(f"{name}.png")
    # Last: the probes and screenshots leave attributes that a later swap would copy.
    portal.check_widths(page, "documents")


# A minimal PDF: its first bytes are what the portal checks.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_provider_shares_a_pdf_the_client_acknowledges(browser, server, page, portal, tmp_path):
    title = f"Office policies {secrets.token_hex(3)}"
    policy = tmp_path / "policies.pdf"
    policy.write_bytes(PDF)
    staff_context = make_context(browser, server)
    staff = staff_context.new_page()
    try:
        portal.sign_in(staff, PROVIDER)
        staff.goto("/staff/clients")
        staff.locator("tr", has_text="Rivera, Alex").get_by_role("link", name="Documents").click()
        expect(staff.locator("main#main h1")).to_have_text("Documents: Alex Rivera")
        staff.get_by_label("PDF file").set_input_files(str(policy))
        staff.get_by_label("Name (optional)").fill(title)
        staff.get_by_label("Ask the client to read and acknowledge it").check()
        staff.get_by_role("button", name="Share", exact=True).click()
        expect(staff.locator("main#main [role=status]")).to_contain_text("shared with the client")
        expect(staff.locator("main#main li", has_text=title)).to_contain_text(
            "Not acknowledged yet"
        )

        portal.sign_in(page, CLIENT)
        page.goto("/documents")
        row = page.locator("#todo-title + ul li", has_text=title)
        expect(row).to_contain_text("To read and acknowledge")
        row.get_by_role("button", name="I have read it").click()
        expect(page.locator("main#main [role=status]")).to_contain_text("you read it")
        expect(page.locator("#document-list li", has_text=title)).to_contain_text("Acknowledged")

        staff.reload()
        expect(staff.locator("main#main li", has_text=title)).to_contain_text("Acknowledged")
        portal.check_widths(staff, "staff-client-documents")
    finally:
        staff_context.close()
