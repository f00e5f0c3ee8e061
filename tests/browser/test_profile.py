"""My Profile in a real browser: the demo client adds a phone and makes it the default,
sets pronouns and a time zone, and asks for an address change that waits for the
practice; axe finds nothing and the long page fits a 390 px phone. Without JavaScript
the same forms work as plain posts.

Profile changes would meet other modules' expectations of the demo client, so this
module runs on a demo of its own."""

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
CLIENT = "client@demo.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with own_demo_server(tmp_path_factory, "portal-profile-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def test_the_client_edits_their_profile(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/profile")
    expect(page.locator("main#main h1")).to_contain_text("My Profile")
    portal.check_widths(page, "profile")
    # axe leaves empty style attributes behind, which htmx would copy onto swapped
    # elements (a CSP report): start the edits on a fresh page.
    page.reload()

    points = page.locator("#profile-points .profile-add")
    points.get_by_text("Add a phone or email").click()
    points.get_by_label("Kind").select_option("Work")
    points.get_by_label("Phone number or email address").fill("(555) 010-0077")
    points.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#profile-points")).to_contain_text("Added.")
    new_row = page.locator("#profile-points li.contact-point", has_text="+15550100077")
    expect(new_row).to_have_count(1)

    new_row.get_by_role("button", name="Make default").click()
    expect(page.locator("#profile-points")).to_contain_text("That one is now your default.")
    new_row = page.locator("#profile-points li.contact-point", has_text="+15550100077")
    expect(new_row.locator(".star")).to_have_count(1)
    expect(
        page.locator("#profile-points li.contact-point", has_text="+15550100001").locator(".star")
    ).to_have_count(0)

    details = page.locator("#profile-details")
    details.get_by_text("Change these details").click()
    details.get_by_label("Pronouns").fill("they/them")
    details.get_by_label("Time zone").select_option("America/Chicago")
    details.get_by_role("button", name="Save details").click()
    expect(page.locator("#profile-details")).to_contain_text("Your details are saved.")
    expect(page.locator("#profile-details dl")).to_contain_text("they/them")
    expect(page.locator("#profile-details dl")).to_contain_text("America / Chicago")

    review = page.locator("#profile-review")
    review.get_by_text("Ask for a change").click()
    review.get_by_label("Street address").fill("12 Harbor Road")
    review.get_by_label("City").fill("Portland")
    review.get_by_label("ZIP code").fill("04101")
    review.get_by_role("button", name="Send for review").click()
    section = page.locator("#profile-review")
    expect(section).to_contain_text("Waiting for the practice to review:")
    expect(section.locator(".profile-pending")).to_contain_text("12 Harbor Road")
    expect(section.locator("dl")).not_to_contain_text("12 Harbor Road")  # not yet

    page.reload()
    expect(page.locator("#profile-review .profile-pending")).to_contain_text("Portland")
    portal.check_widths(page, "profile-edited")


def test_a_bad_phone_shows_its_error_in_place(page, portal, problems):
    problems.allow("422")
    portal.sign_in(page, CLIENT)
    page.goto("/profile")
    points = page.locator("#profile-points .profile-add")
    points.get_by_text("Add a phone or email").click()
    points.get_by_label("Phone number or email address").fill("12345")
    points.get_by_role("button", name="Add", exact=True).click()
    field = page.locator("#point-new-value")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#point-new-value-error")).to_contain_text("Enter a US phone number")
    portal.assert_axe_clean(page, "profile with an error")


def test_without_javascript_the_forms_post_and_come_back(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/profile")
    page.locator("#profile-details summary").click()
    page.locator("#profile-details").get_by_label("Preferred name").fill("Sam")
    with page.expect_navigation():
        page.locator("#profile-details").get_by_role("button", name="Save details").click()
    assert "/profile?notice=details_saved" in page.url
    expect(page.locator("#profile-details")).to_contain_text("Your details are saved.")
    expect(page.locator("#profile-details dl")).to_contain_text("Sam")


def test_a_scheduler_approves_the_address_change(page, portal):
    """After the first test's request: the queue shows it and approving applies it."""
    portal.sign_in(page, "client@demo.test")
    page.goto("/profile")
    review = page.locator("#profile-review")
    review.get_by_text("Ask for a change").click()
    review.get_by_label("City").fill("Bangor")
    review.get_by_role("button", name="Send for review").click()
    expect(page.locator("#profile-review .profile-pending")).to_contain_text("Bangor")
    page.context.clear_cookies()

    portal.sign_in(page, "scheduler@demo.test")
    page.goto("/staff/profile-changes")
    expect(page.locator("main#main h1")).to_have_text("Profile changes to review")
    row = page.locator("li.profile-change", has_text="Bangor")
    expect(row).to_have_count(1)
    portal.check_widths(page, "staff-profile-changes")
    page.reload()
    row = page.locator("li.profile-change", has_text="Bangor")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator("li.profile-change", has_text="Bangor")).to_contain_text(
        "The change is applied."
    )
