"""Help in a real browser: from the demo client's dashboard, a FAQ opened with the
keyboard, the header link following htmx navigation, and the pages signed out."""

from __future__ import annotations

import os
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

CLIENT = "client@demo.test"


def test_help_from_the_dashboard_with_a_faq_opened_by_keyboard(page, portal):
    portal.sign_in(page, CLIENT)
    assert portal.path_of(page) == "/dashboard"
    help_link = page.locator("header #help-link")
    expect(help_link).to_have_attribute("href", "/help/getting-started")
    with page.expect_navigation():
        help_link.click()
    assert portal.path_of(page) == "/help/getting-started"
    expect(page.locator("main#main h1")).to_have_text("Getting started")
    expect(page.locator("nav#client-menu")).to_be_visible()

    # The index, then the appointments guide, by htmx.
    with page.expect_response(lambda r: r.url.endswith("/help") and r.status == 200):
        page.get_by_role("link", name="All help topics").click()
    expect(page.locator("main#main h1")).to_have_text("Help")
    assert portal.path_of(page) == "/help"
    portal.check_widths(page, "help-index")
    with page.expect_response(lambda r: r.url.endswith("/help/appointments")):
        page.locator("main#main h2 a", has_text="Appointments").click()
    expect(page.locator("main#main h1")).to_have_text("Appointments")
    assert portal.path_of(page) == "/help/appointments"

    faq = page.locator("details#faq-reply-cancel")
    answer = faq.get_by_text("Reply START to turn texts back on.")
    expect(answer).to_be_hidden()
    faq.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(faq).to_have_attribute("open", "")
    expect(answer).to_be_visible()
    page.keyboard.press("Space")
    expect(answer).to_be_hidden()
    page.keyboard.press("Enter")
    expect(answer).to_be_visible()
    portal.check_widths(page, "help-appointments")


def test_the_header_link_follows_htmx_navigation(page, portal):
    portal.sign_in(page, CLIENT)
    with page.expect_response(lambda r: r.url.endswith("/account")):
        page.locator('nav#client-menu a[href="/account"]').click()
    expect(page.locator("main#main h1")).to_have_text("My Account")
    help_link = page.locator("#help-link")
    expect(help_link).to_have_count(1)
    expect(help_link).to_have_attribute("href", "/help/billing")
    with page.expect_navigation():
        help_link.click()
    expect(page.locator("main#main h1")).to_have_text("Billing and payments")


def test_help_signed_out_from_the_sign_in_page(page, portal):
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Help with signing in").click()
    assert portal.path_of(page) == "/help/getting-started"
    expect(page.locator("nav#client-menu")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    portal.check_widths(page, "help-signed-out")
