"""The waitlist in a real browser: the demo client joins for telehealth mornings, sees
their place in line, and leaves again (the shared demo data is left as found)."""

from __future__ import annotations

import os
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"


def test_join_the_waitlist_see_the_place_and_leave(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    page.get_by_role("link", name="Waitlist").click()
    expect(page.locator("main#main h1")).to_have_text("Waitlist")
    expect(page.locator("main#main")).to_contain_text("You are not on the waitlist.")
    page.get_by_label("Telehealth").check()
    page.get_by_label("Tue").check()
    page.get_by_label("Morning").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("status").filter(has_text="You are on the waitlist")).to_be_visible()
    entries = page.locator("#waitlist-entries li")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Telehealth")
    expect(entries.first).to_contain_text("Place in line: 1")
    portal.check_widths(page, "waitlist")
    with page.expect_navigation():
        entries.first.get_by_role("button", name="Leave").click()
    expect(page.locator("main#main")).to_contain_text("You are not on the waitlist.")
