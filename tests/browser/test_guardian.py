"""The demo guardian (Sam Taylor) switches between Jamie and Riley with Switch Account:
the name, the menu's "Acting for" and the appointments follow (issue 8)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

GUARDIAN = "guardian@demo.test"


def switch_to(page, name: str) -> None:
    page.get_by_label("Acting for").select_option(label=f"{name} Taylor")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()


def appointment_cards(page) -> list[str]:
    """Each upcoming card's id and when it is, as My Appointments shows them."""
    page.goto("/appointments")
    expect(page.get_by_role("heading", level=1)).to_have_text("My Appointments")
    cards = page.locator("section[aria-labelledby=upcoming-title] article.appt")
    return [
        f"{cards.nth(i).get_attribute('id')} {cards.nth(i).locator('.appt-when').inner_text()}"
        for i in range(cards.count())
    ]


def test_the_guardian_switches_between_the_two_children(page, portal):
    portal.sign_in(page, GUARDIAN)
    assert portal.path_of(page) == "/dashboard"
    expect(page.get_by_role("heading", level=1)).to_have_text("Jamie's portal")
    expect(page.get_by_label("Acting for")).to_have_value(
        page.locator("#switch-client-select option", has_text="Jamie Taylor").get_attribute("value")
    )
    jamie = appointment_cards(page)
    assert jamie, "the demo gives Jamie an upcoming appointment"
    # Sam holds every right, booking included: the booking actions are there.
    expect(page.get_by_role("link", name="Schedule New Appointment")).to_be_visible()

    switch_to(page, "Riley")
    assert portal.path_of(page) == "/dashboard"
    expect(page.get_by_role("heading", level=1)).to_have_text("Riley's portal")
    riley = appointment_cards(page)
    assert riley and not set(riley) & set(jamie), (jamie, riley)
    expect(page.get_by_label("Acting for")).to_have_value(
        page.locator("#switch-client-select option", has_text="Riley Taylor").get_attribute("value")
    )
    portal.check_widths(page, "guardian-riley-appointments")

    switch_to(page, "Jamie")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jamie's portal")
    assert appointment_cards(page) == jamie
    portal.assert_axe_clean(page, "Jamie's appointments")


def test_a_scheduler_sees_the_childs_contacts_and_rights(page, portal):
    portal.sign_in(page, "scheduler@demo.test")
    page.goto("/staff/clients")
    row = page.locator("tr", has_text="Taylor, Jamie")
    row.get_by_role("link", name=re.compile("^Contacts and portal access")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts of Jamie Taylor")
    sam = page.locator("section", has=page.get_by_role("heading", name="Sam Taylor"))
    expect(sam.get_by_label("Book and cancel")).to_be_checked()
    expect(sam.get_by_label("Portal access")).to_be_checked()
    portal.check_widths(page, "staff-client-contacts")
    # Saving what is already there changes nothing, and says so (htmx, in place).
    sam.get_by_role("button", name="Save").click()
    expect(page.locator("p.alert--ok")).to_have_text(
        "Nothing to change: portal access was already like this."
    )
    portal.assert_axe_clean(page, "the contacts page after saving")
