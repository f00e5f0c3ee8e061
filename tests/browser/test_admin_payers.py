"""Payers and template previews in a real browser: the demo admin adds an insurance
payer at /admin/payers, then opens the previews of the texts and emails sent to
clients and switches them to Spanish; both pages are axe-clean and fit a 390 px phone.

Adding a payer changes the demo practice, so this module runs on a demo of its own."""

from __future__ import annotations

import os
import re
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
    with own_demo_server(tmp_path_factory, "portal-payers-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def test_the_admin_adds_a_payer_then_previews_the_templates(page, portal, problems):
    portal.sign_in(page, ADMIN)
    page.goto("/admin/payers")
    expect(page.locator("main#main h1")).to_have_text("Insurance payers")
    page.get_by_label("Name").fill("Cascade Test Health")
    page.get_by_label("Payer id (optional)").fill("CT123")
    page.get_by_role("button", name="Add payer").click()
    expect(page.get_by_role("status").filter(has_text="Payer added.")).to_be_visible()
    expect(page.locator("li.row").filter(has_text="Cascade Test Health")).to_contain_text("CT123")

    problems.allow("status of 422")  # the empty name, refused next to its field
    page.get_by_role("button", name="Add payer").click()
    expect(page.locator("#payer-name-error")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    portal.check_widths(page, "admin-payers")  # last for this page

    page.goto("/admin/templates")
    expect(page.locator("main#main h1")).to_have_text("Texts and emails to clients")
    expect(page.locator("main")).to_contain_text("Reply STOP to opt out.")
    page.get_by_role("link", name="Español").click()
    expect(page).to_have_url(re.compile(r"/admin/templates\?lang=es$"))
    expect(page.locator("main")).to_contain_text("Responda STOP para darse de baja.")
    portal.check_widths(page, "admin-templates")  # last: after the switch
