"""The client portal in a real browser: htmx navigation, no-JS fallback, confirming
an appointment, an expired session, and axe-core on every section."""

from __future__ import annotations

import os
import re
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

CLIENT = "client@demo.test"
# Menu order, each with the h1 its page shows for the demo client (Alex Rivera).
SECTIONS = {
    "/dashboard": "Welcome, Alex",
    "/profile": "My Profile: Alex Rivera",
    "/appointments": "My Appointments",
    "/messages": "My Messages",
    "/account": "My Account",
    "/pay": "Make Payment",
    "/documents": "My Docs & Forms",
    "/insurance": "My Insurance",
}
# Start away from the landing page so every click really changes the page.
VISIT_ORDER = [*list(SECTIONS)[1:], "/dashboard"]


def menu_link(page, path: str):
    return page.locator(f'nav#client-menu a[href="{path}"]')


def track_page_loads(page) -> list[str]:
    """URLs of full document loads from now on (htmx swaps are XHRs, not documents)."""
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
    return loads


def test_menu_sections_by_htmx_are_accessible(page, portal):
    portal.sign_in(page, CLIENT)
    assert portal.path_of(page) == "/dashboard"
    expect(page.locator("nav#client-menu a")).to_have_count(len(SECTIONS))
    page.evaluate("() => { window.__marker = 1 }")
    loads = track_page_loads(page)

    for path in VISIT_ORDER:
        link = menu_link(page, path)
        expect(link).to_have_attribute("hx-get", path)
        with page.expect_response(
            lambda r, path=path: r.url.endswith(path) and r.request.headers.get("hx-request")
        ) as response:
            link.click()
        assert response.value.status == 200, f"{path}: HTTP {response.value.status}"
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        assert page.url.endswith(path)
        expect(page.locator("main#main h1")).to_have_text(SECTIONS[path])
        # the menu came back out of band with the new current entry
        expect(menu_link(page, path)).to_have_attribute("aria-current", "page")
        expect(page.locator('nav#client-menu a[aria-current="page"]')).to_have_count(1)
        expect(page).to_have_title(re.compile(r"· Client Portal$"))
        # portal.js moves focus to the new heading for screen readers
        expect(page.locator("main#main h1")).to_be_focused()
        assert page.evaluate("() => window.__marker") == 1, f"{path} reloaded the page"
        assert loads == [], f"{path} was a page load, not an htmx swap: {loads}"
        portal.check_widths(page, path.strip("/"))


def test_menu_sections_work_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    assert portal.path_of(page) == "/dashboard"
    expect(page.locator("main#main h1")).to_have_text(SECTIONS["/dashboard"])
    for path in VISIT_ORDER:
        with page.expect_navigation() as navigation:
            menu_link(page, path).click()
        assert navigation.value.status == 200, f"{path}: HTTP {navigation.value.status}"
        assert navigation.value.request.headers.get("hx-request") is None
        assert page.url.endswith(path)
        expect(page.locator("main#main h1")).to_have_text(SECTIONS[path])
        expect(menu_link(page, path)).to_have_attribute("aria-current", "page")


def test_confirm_appointment_from_dashboard(page, portal):
    portal.sign_in(page, CLIENT)
    page.evaluate("() => { window.__marker = 1 }")
    loads = track_page_loads(page)

    to_confirm = page.locator("#upcoming article.appt").filter(
        has=page.get_by_role("button", name=re.compile(r"^Confirm\b"))
    )
    expect(to_confirm.first).to_be_visible()
    card_id = to_confirm.first.get_attribute("id")
    card = page.locator(f"#{card_id}")
    expect(card.locator(".status--ask")).to_have_text("Please confirm")

    with page.expect_response(
        lambda r: r.url.endswith(f"/appointments/{card_id[5:]}/confirm")
    ) as r:
        card.get_by_role("button", name=re.compile(r"^Confirm\b")).click()
    assert r.value.status == 200
    assert r.value.request.headers.get("hx-request") == "true"

    expect(card.locator(".status--confirmed")).to_have_text("Confirmed")
    expect(card.get_by_role("button", name=re.compile(r"^Confirm\b"))).to_have_count(0)
    expect(card.locator(".status--ask")).to_have_count(0)
    assert page.evaluate("() => window.__marker") == 1, "confirming reloaded the page"
    assert loads == [], f"confirming loaded a page: {loads}"

    # it is in the database: a fresh load of My Appointments shows it confirmed
    page.goto("/appointments")
    saved = page.locator(f"#{card_id}")
    expect(saved.locator(".status--confirmed")).to_have_text("Confirmed")
    expect(saved.get_by_role("button", name=re.compile(r"^Confirm\b"))).to_have_count(0)
    portal.assert_axe_clean(page, "/appointments after confirming")


def test_expired_session_on_htmx_request_goes_to_login(page, context, portal, problems):
    problems.allow("status of 401")  # the htmx request that finds no session
    portal.sign_in(page, CLIENT)
    page.evaluate("() => { window.__marker = 1 }")
    context.clear_cookies()

    with page.expect_response(lambda r: r.url.endswith("/profile")) as response:
        menu_link(page, "/profile").click()
    assert response.value.status == 401
    page.wait_for_url(re.compile(r"/login\?next=/profile$"))
    assert portal.path_of(page) == "/login"
    expect(page.locator("main#main h1")).to_have_text("Sign in to your portal")
    expect(page.locator("nav#client-menu")).to_have_count(0)

    # signing in again returns to the section that was asked for
    page.get_by_label("Email or username").fill(CLIENT)
    page.get_by_label("Password").fill(portal.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert portal.path_of(page) == "/profile"
    expect(page.locator("main#main h1")).to_have_text(SECTIONS["/profile"])


def cancellable_card(page):
    """An upcoming card that can be cancelled and does not ask for confirmation
    (the confirm test needs that one)."""
    return (
        page.locator("article.appt")
        .filter(has=page.get_by_role("link", name=re.compile(r"^Cancel\b")))
        .filter(has_not=page.get_by_role("button", name=re.compile(r"^Confirm\b")))
        .first
    )


def test_cancel_asks_first_then_swaps_the_card(page, portal):
    portal.sign_in(page, CLIENT)
    # The page that asks when JavaScript is off must be accessible too.
    cancel_link = cancellable_card(page).get_by_role("link", name=re.compile(r"^Cancel\b"))
    page.goto(cancel_link.get_attribute("href"))
    expect(page.locator("main#main h1")).to_have_text("Cancel this appointment?")
    portal.assert_axe_clean(page, "cancel confirmation page")
    page.goto("/dashboard")
    page.evaluate("() => { window.__marker = 1 }")
    loads = track_page_loads(page)
    card_id = cancellable_card(page).get_attribute("id")
    card = page.locator(f"#{card_id}")

    page.once("dialog", lambda dialog: dialog.dismiss())  # "Cancel this appointment?" - no
    card.get_by_role("link", name=re.compile(r"^Cancel\b")).click()
    expect(card.locator(".status--cancelled")).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{card_id[5:]}/cancel")):
        card.get_by_role("link", name=re.compile(r"^Cancel\b")).click()
    expect(card.locator(".status--cancelled")).to_have_text("Cancelled")
    assert page.evaluate("() => window.__marker") == 1 and loads == []
    portal.assert_axe_clean(page, "/dashboard after cancelling")


def test_cancel_without_javascript_goes_through_a_confirmation_page(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    card_id = cancellable_card(page).get_attribute("id")
    page.locator(f"#{card_id}").get_by_role("link", name=re.compile(r"^Cancel\b")).click()
    expect(page.locator("main#main h1")).to_have_text("Cancel this appointment?")
    page.get_by_role("button", name="Yes, cancel it").click()
    assert portal.path_of(page) == "/appointments"
    expect(page.locator(f"#{card_id} .status--cancelled")).to_have_text("Cancelled")
