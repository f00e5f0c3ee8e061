"""Locations and services in a real browser: the demo admin opens Services from
Practice settings, adds one and sees it listed; a bad fee is shown next to its field.
The pages are axe-clean and fit a 390 px phone. Without JavaScript the location form
adds a location as a plain post.

Adding services changes the demo practice, so this module runs on a demo of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import Portal, Server, own_demo_server  # noqa: E402

pytestmark = pytest.mark.browser
ADMIN = "admin@demo.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with own_demo_server(tmp_path_factory, "portal-catalog-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def test_the_admin_adds_a_service_and_sees_it_listed(page, portal, problems):
    problems.allow("status of 422")  # the bad fee, refused next to its field
    portal.sign_in(page, ADMIN)
    page.goto("/admin/")
    page.get_by_role("link", name="Services", exact=True).first.click()
    expect(page.locator("main#main h1")).to_have_text("Services")

    page.get_by_label("Name").fill("Family therapy")
    page.get_by_label("CPT code").fill("90847")
    page.get_by_label("Length in minutes").fill("50")
    page.get_by_label("Fee in dollars").fill("12.345")
    page.get_by_role("button", name="Add service").click()
    expect(page.locator("#svc-fee-error")).to_be_visible()
    expect(page.get_by_label("Fee in dollars")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Fee in dollars").fill("180")
    page.get_by_role("button", name="Add service").click()
    expect(page.get_by_role("status").filter(has_text="Added.")).to_be_visible()
    row = page.locator("li.row", has_text="Family therapy")
    expect(row).to_contain_text("90847")
    expect(row).to_contain_text("$180.00")
    portal.check_widths(page, "admin-services")  # last: axe leaves marks an htmx swap copies


def test_a_location_is_added_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, ADMIN)
    page.goto("/admin/locations")
    page.get_by_label("Name").fill("Annex")
    page.get_by_label("Address line 1").fill("1 Elm St")
    page.get_by_label("ZIP code").fill("28801")
    with page.expect_navigation():
        page.get_by_role("button", name="Add location").click()
    assert page.url.endswith("/admin/locations?notice=added")
    expect(page.locator("li.row", has_text="Annex")).to_contain_text("1 Elm St")


def test_the_locations_page_is_clean_and_fits(page, portal):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/locations")
    expect(page.locator("main#main h1")).to_have_text("Locations")
    page.get_by_role("link", name="Edit Main Office").click()
    expect(page.get_by_role("button", name="Save location")).to_be_visible()
    portal.check_widths(page, "admin-locations")
