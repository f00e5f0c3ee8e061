"""My Insurance in a real browser: the demo client says they have insurance, adds it
with photos of the front and back of the card (PNGs made here), and sees it sent to
staff for review with the photos shown; without JavaScript the demo guardian updates a
child's policy. The demo data keeps the new policy (nothing else changes)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
GUARDIAN = "guardian@demo.test"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour with a darker stripe (a stand-in for a card photo)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    dark = tuple(c // 2 for c in rgb)
    rows = b"".join(
        b"\x00" + bytes(dark if height // 3 <= y < height // 2 else rgb) * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_the_demo_client_adds_insurance_with_card_photos(page, portal):
    portal.sign_in(page, CLIENT)
    page.get_by_role("link", name="My Insurance", exact=True).click()
    main = page.locator("main#main")
    expect(main.locator("h1")).to_have_text("My Insurance")
    page.get_by_label("I have insurance").check()
    page.get_by_role("button", name="Save").click()
    expect(main).to_contain_text("You plan to use insurance.")

    page.get_by_role("link", name="Add insurance").click()
    expect(main.locator("h1")).to_have_text("Add primary insurance")
    assert portal.path_of(page) == "/insurance/policies/new"
    portal.check_widths(page, "insurance-policy-form")

    page.get_by_label("Insurance company", exact=True).select_option(label="Blue Ridge Health Plan")
    page.get_by_label("Member ID").fill("BRX5500121")
    page.get_by_label("Group number (if your card shows one)").fill("GRP-4410")
    expect(page.get_by_label("Subscriber's name (the person who holds the policy)")).to_have_value(
        "Alex Rivera"
    )
    expect(page.get_by_label("Subscriber's date of birth")).to_have_value("1990-08-08")
    page.get_by_label("Photo of the front of the card (optional)").set_input_files(
        {"name": "front.png", "mimeType": "image/png", "buffer": png(320, 200, (40, 90, 160))}
    )
    page.get_by_label("Photo of the back of the card (optional)").set_input_files(
        {"name": "back.png", "mimeType": "image/png", "buffer": png(320, 200, (200, 200, 210))}
    )
    page.get_by_role("button", name="Send for review").click()

    expect(main.locator("h1")).to_have_text("My Insurance")
    expect(main).to_contain_text("Sent to staff for review")
    expect(main).to_contain_text("BRX5500121")
    expect(page).to_have_url(re.compile(r"/insurance\?notice=sent$"))
    for side in ("Front of the card", "Back of the card"):
        image = page.get_by_role("img", name=side)
        expect(image).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth === 320", arg=image.element_handle()
        )
    portal.check_widths(page, "insurance")


def test_a_guardian_updates_a_policy_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, GUARDIAN)
    page.goto("/insurance")
    main = page.locator("main#main")
    expect(main.locator("h1")).to_have_text("My Insurance")
    page.get_by_role("link", name="Update").first.click()
    expect(main.locator("h1")).to_have_text("Update primary insurance")
    page.get_by_label("Group number (if your card shows one)").fill("FAM-2026")
    page.get_by_label("Subscriber's date of birth").fill("1984-02-29")
    page.get_by_role("button", name="Send for review").click()
    assert portal.path_of(page) == "/insurance"
    expect(main).to_contain_text("Sent to staff for review")
    expect(main).to_contain_text("FAM-2026")

    # A bad member ID comes back as the form with its error, nothing saved.
    page.get_by_role("link", name="Update").first.click()
    page.get_by_label("Member ID").fill("")
    page.get_by_role("button", name="Send for review").click()
    expect(main).to_contain_text("This field is required.")
    expect(page.get_by_label("Member ID")).to_have_attribute("aria-invalid", "true")


def test_a_biller_reviews_the_queue(page, portal, problems):
    portal.sign_in(page, "biller@demo.test")
    page.goto("/staff/insurance")
    main = page.locator("main#main")
    expect(main.locator("h1")).to_have_text("Insurance to review")
    portal.check_widths(page, "staff-insurance")
    rows = main.locator("section", has_text="Policies waiting for review").locator("li")
    count = rows.count()
    assert count >= 1
    rows.first.get_by_role("link").click()
    expect(main.get_by_role("button", name="Verify")).to_be_visible()
    # An empty note is refused (422) with the form and its error, checked as it shows.
    # (axe runs after the swap: it leaves style="" behind, which htmx's settle would copy.)
    problems.allow("status of 422")
    page.get_by_role("button", name="Ask for information").click()
    expect(page.get_by_label("What the client needs to send or correct")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(main).to_contain_text("This field is required.")
    portal.check_widths(page, "staff-insurance-policy")
    page.get_by_label("What the client needs to send or correct").fill(
        "Please add a photo of the back of the card."
    )
    page.get_by_role("button", name="Ask for information").click()
    expect(main).to_contain_text("The client is asked for more information")
    assert portal.path_of(page) == "/staff/insurance"
    expect(rows).to_have_count(count - 1)
