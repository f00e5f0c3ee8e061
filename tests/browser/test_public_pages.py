"""Pages anyone can reach: sign-in (and its error state) and the 404 page."""

from __future__ import annotations

import os
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_login_page_is_accessible(page, portal):
    response = page.goto("/login")
    assert response is not None and response.status == 200
    expect(page.locator("main#main h1")).to_have_text("Sign in to your portal")
    portal.check_widths(page, "login")


def test_not_found_page_is_accessible(page, portal, problems):
    problems.allow("status of 404")
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.locator("main#main h1")).to_have_text("Page not found")
    portal.check_widths(page, "not-found")


def test_wrong_password_shows_error_and_keeps_username(page, portal, problems):
    problems.allow("status of 422")
    page.goto("/login")
    page.get_by_label("Email or username").fill("client@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    assert navigation.value.status == 422
    assert portal.path_of(page) == "/login"
    expect(page.get_by_role("alert")).to_have_text(
        "That email or username and password do not match."
    )
    expect(page.get_by_label("Email or username")).to_have_value("client@demo.test")
    expect(page.get_by_label("Password")).to_have_value("")
    portal.check_widths(page, "login-error")
