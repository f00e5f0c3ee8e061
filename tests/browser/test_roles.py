"""A guardian acting for two children, and each staff role's landing page."""

from __future__ import annotations

import os
import re
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

CHILDREN = {"Jamie Taylor": "Jamie's portal", "Riley Taylor": "Riley's portal"}
PRACTICE = "Riverbend Wellness Group"


def test_guardian_switches_between_children(page, portal):
    portal.sign_in(page, "guardian@demo.test")
    assert portal.path_of(page) == "/dashboard"
    select = page.get_by_label("Acting for")
    expect(select).to_be_visible()
    options = select.locator("option")
    expect(options).to_have_count(len(CHILDREN))
    labels = options.all_inner_texts()
    for child in CHILDREN:
        assert any(label.startswith(child) for label in labels), f"{child} not in {labels}"

    heading = page.locator("main#main h1")
    first = next(c for c in CHILDREN if CHILDREN[c] == heading.inner_text())
    portal.check_widths(page, "guardian-dashboard")

    other = next(c for c in CHILDREN if c != first)
    value = options.filter(has_text=other).get_attribute("value")
    # portal.js submits the form as soon as the guardian picks someone else
    with page.expect_navigation():
        select.select_option(value)
    assert portal.path_of(page) == "/dashboard"
    expect(heading).to_have_text(CHILDREN[other])
    expect(page.get_by_label("Acting for")).to_have_value(value)
    portal.assert_axe_clean(page, f"the dashboard acting for {other}")

    # the choice sticks to the session, across htmx navigation too
    page.locator('nav#client-menu a[href="/profile"]').click()
    expect(heading).to_have_text(f"My Profile: {other}")
    expect(page.get_by_label("Acting for")).to_have_value(value)


def test_guardian_switch_works_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, "guardian@demo.test")
    heading = page.locator("main#main h1")
    current = heading.inner_text()
    other = next(c for c, h in CHILDREN.items() if h != current)
    select = page.get_by_label("Acting for")
    select.select_option(select.locator("option").filter(has_text=other).get_attribute("value"))
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
    expect(heading).to_have_text(CHILDREN[other])


STAFF = {
    "provider@demo.test": False,
    "scheduler@demo.test": False,
    "biller@demo.test": False,
    "admin@demo.test": True,
}


@pytest.mark.parametrize("username", list(STAFF))
def test_staff_land_on_staff_pages(page, portal, problems, username):
    is_admin = STAFF[username]
    portal.sign_in(page, username)
    assert portal.path_of(page) == "/staff/"
    expect(page.locator("main#main h1")).to_have_text("Inbox")
    menu = page.locator("nav#staff-menu")
    expect(menu.locator('a[href="/staff/inbox"]')).to_have_attribute("aria-current", "page")
    expect(page.locator("nav#client-menu")).to_have_count(0)
    settings_link = menu.get_by_role("link", name="Practice settings")
    name = username.split("@")[0]
    portal.assert_axe_clean(page, f"/staff/ as {name}")

    if not is_admin:
        expect(settings_link).to_have_count(0)
        problems.allow("status of 403")
        response = page.goto("/admin/")
        assert response is not None and response.status == 403
        expect(page.locator("main#main h1")).to_have_text("Not allowed")
        return

    portal.check_widths(page, "staff-inbox")
    page.evaluate("() => { window.__marker = 1 }")
    settings_link.click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("main#main h1")).to_have_text(PRACTICE)
    expect(menu.locator('a[href="/admin/"]')).to_have_attribute("aria-current", "page")
    assert page.evaluate("() => window.__marker") == 1, "the settings link reloaded the page"
    portal.check_widths(page, "admin-settings")

    # and as a page load of its own
    response = page.goto("/admin/")
    assert response is not None and response.status == 200
    expect(page.locator("main#main h1")).to_have_text(PRACTICE)
    portal.assert_axe_clean(page, "/admin/ (page load)")
