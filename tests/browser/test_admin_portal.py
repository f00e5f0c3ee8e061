"""Practice settings in a real browser: the demo admin turns secure messaging off at
/admin/portal, and the demo client's menu loses Messages and /messages is gone; the
page is axe-clean and fits a 390 px phone. Without JavaScript the same form saves as a
plain post. The admin turns self-scheduling off for the demo client alone, and their
appointments page loses "Schedule New Appointment" and /appointments/new is gone.

Settings change the whole demo practice, so this module runs on a demo of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import Portal, Server, make_context, own_demo_server  # noqa: E402

pytestmark = pytest.mark.browser
ADMIN = "admin@demo.test"
CLIENT = "client@demo.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with own_demo_server(tmp_path_factory, "portal-admin-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def test_the_admin_turns_messaging_off_and_the_client_loses_it(page, portal, browser, server):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/")
    page.get_by_role("link", name="Change client portal settings").click()
    expect(page.locator("main#main h1")).to_have_text("Client portal settings")

    page.get_by_label("Allow secure messaging").uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    expect(page.get_by_label("Allow secure messaging")).not_to_be_checked()
    portal.check_widths(page, "admin-portal")  # last: axe leaves marks an htmx swap copies

    context = make_context(browser, server)
    try:
        client_page = context.new_page()
        portal.sign_in(client_page, CLIENT)
        expect(client_page.locator('nav a[href="/dashboard"]')).to_be_visible()
        expect(client_page.locator('nav a[href="/messages"]')).to_have_count(0)
        response = client_page.goto("/messages")
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_without_javascript_the_settings_save_as_a_plain_post(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, ADMIN)
    page.goto("/admin/portal")
    page.get_by_label("booked at once").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save settings").click()
    assert page.url.endswith("/admin/portal?notice=saved")
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("booked at once")).to_be_checked()


def test_the_admin_turns_self_scheduling_off_for_one_client(page, portal, browser, server):
    portal.sign_in(page, ADMIN)
    page.goto("/staff/clients")
    row = page.locator("tr", has_text="Rivera, Alex")
    row.get_by_role("link", name="Portal settings").click()
    expect(page.locator("main#main h1")).to_have_text("Portal settings for Alex Rivera")
    page.get_by_label("Allow self-scheduling").uncheck()
    page.get_by_role("button", name="Save for this client").click()
    expect(page.get_by_role("status").filter(has_text="Saved for this client.")).to_be_visible()
    expect(page.locator("#set-self_scheduling-why")).to_contain_text("Off for this client only.")
    portal.check_widths(page, "admin-client-portal")

    context = make_context(browser, server)
    try:
        client_page = context.new_page()
        portal.sign_in(client_page, CLIENT)
        client_page.goto("/appointments")
        expect(client_page.locator("main#main h1")).to_have_text("My Appointments")
        expect(client_page.get_by_role("link", name="Schedule New Appointment")).to_have_count(0)
        response = client_page.goto("/appointments/new")
        assert response is not None and response.status == 404
    finally:
        context.close()

    page.goto("/admin/clients")
    expect(page.locator("li", has_text="Rivera, Alex")).to_contain_text("Allow self-scheduling")
    portal.check_widths(page, "admin-clients")


def test_the_clients_page_for_staff(page, portal):
    portal.sign_in(page, ADMIN)
    page.goto("/staff/clients")
    page.get_by_role("link", name="Rivera, Alex").click()
    expect(page.locator("main#main h1")).to_have_text("Alex Rivera")
    expect(page.get_by_role("heading", name="Upcoming appointments")).to_be_visible()
    expect(page.get_by_role("heading", name="Balance")).to_be_visible()
    portal.check_widths(page, "staff-client")


def test_the_practice_details_page(page, portal, problems):
    problems.allow("status of 422")  # the refused tax id, shown next to its field
    portal.sign_in(page, ADMIN)
    page.goto("/admin/")
    page.get_by_role("link", name="Practice details").click()
    expect(page.locator("main#main h1")).to_have_text("Practice details")
    page.get_by_label("Tax id (EIN), printed on superbills").fill("123")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("#pd-tax_id-error")).to_contain_text("like 12-3456789")
    portal.check_widths(page, "admin-practice")


def test_the_admin_previews_a_clients_portal(page, portal):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/clients")
    page.get_by_role("link", name="Rivera, Alex").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the portal as Alex").click()
    expect(page.locator("main#main h1")).to_have_text("Welcome, Alex")
    expect(page.locator(".preview-bar")).to_contain_text("Nothing can be changed here.")
    page.locator("#client-menu").get_by_role("link", name="My Appointments").click()
    expect(page.locator("main#main h1")).to_have_text("My Appointments")
    expect(page.locator(".preview-bar")).to_be_visible()
    portal.check_widths(page, "admin-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="End preview").click()
    expect(page.locator("main#main h1")).to_have_text("Portal settings for Alex Rivera")
