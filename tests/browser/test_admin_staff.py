"""Staff and roles in a real browser: the demo admin opens the staff list, gives the
demo scheduler the biller role too, and the page says so; the pages are axe-clean
and fit a 390 px phone. Without JavaScript the same form saves as a plain post.

Roles change the demo practice, so this module runs on a demo of its own."""

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
SCHEDULER = "Priya Natarajan"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with own_demo_server(tmp_path_factory, "portal-admin-staff-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def test_the_staff_list_fits_a_phone(page, portal):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/staff")
    expect(page.locator("main#main h1")).to_have_text("Staff and roles")
    expect(page.get_by_role("link", name=SCHEDULER)).to_be_visible()
    portal.check_widths(page, "admin-staff")


def test_the_admin_changes_a_schedulers_roles(page, portal, problems):
    problems.allow("status of 422")  # no role at all, refused next to the boxes
    portal.sign_in(page, ADMIN)
    page.goto("/admin/staff")
    page.get_by_role("link", name=SCHEDULER).click()
    expect(page.locator("main#main h1")).to_have_text(SCHEDULER)
    expect(page.get_by_label("Scheduler")).to_be_checked()
    page.get_by_label("Biller").check()
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_role("status").filter(has_text="Changes saved.")).to_be_visible()
    expect(page.get_by_label("Biller")).to_be_checked()
    expect(page.get_by_label("Scheduler")).to_be_checked()
    # no role at all is refused, with the reason next to the boxes
    page.get_by_label("Biller").uncheck()
    page.get_by_label("Scheduler").uncheck()
    page.get_by_role("button", name="Save roles").click()
    expect(page.locator("#edit-roles-error")).to_have_text("Choose at least one role.")
    page.goto("/admin/staff")
    row = page.locator("li.row", has_text=SCHEDULER)
    expect(row).to_contain_text("Scheduler, Biller")
    page.get_by_role("link", name=SCHEDULER).click()
    expect(page.get_by_label("Biller")).to_be_checked()
    portal.check_widths(page, "admin-staff-member")  # last: after every htmx swap


def test_a_providers_page_fits_a_phone(page, portal):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/staff")
    page.locator("li.row", has_text="Provider").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Portal features for their clients")).to_be_visible()
    portal.check_widths(page, "admin-staff-provider")


def test_without_javascript_roles_save_as_a_plain_post(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, ADMIN)
    page.goto("/admin/staff")
    page.get_by_role("link", name=SCHEDULER).click()
    page.get_by_label("Admin").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save roles").click()
    assert page.url.endswith("?notice=saved")
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(page.get_by_label("Admin")).to_be_checked()
