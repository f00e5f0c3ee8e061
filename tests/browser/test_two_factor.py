"""Two-factor sign-in in a real browser: enrol by reading the key off the page, then
sign in from a fresh browser with a code and find that browser in the history.

Named to run after the other browser files: it changes the biller's account, and
turns two-factor off again at the end.
"""

from __future__ import annotations

import os
import shutil
import time

import pyotp
import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import make_context  # noqa: E402

pytestmark = pytest.mark.browser
BILLER = "biller@demo.test"


def test_enrol_then_sign_in_from_a_new_browser_with_a_code(page, portal, browser, server):
    portal.sign_in(page, BILLER)
    page.goto("/profile/security")
    expect(page.locator("#two-factor")).to_contain_text("Off")
    portal.check_widths(page, "security")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert len(secret) == 32
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    portal.check_widths(page, "two-factor-setup")
    totp = pyotp.TOTP(secret)
    # The previous step's code enrols; the sign-in below then uses a later step.
    page.get_by_label("6-digit code").fill(totp.at(time.time() - 30))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    portal.check_widths(page, "recovery-codes")
    page.get_by_role("link", name="I saved them, continue").click()
    expect(page.locator("#two-factor")).to_contain_text("On")
    with page.expect_navigation():
        page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    assert portal.path_of(page) == "/login"

    fresh = make_context(browser, server)
    try:
        other = fresh.new_page()
        portal.sign_in(other, BILLER)
        assert portal.path_of(other) == "/login/code"
        portal.check_widths(other, "two-factor-code")
        other.get_by_label("Code").fill(totp.now())
        other.get_by_label("Remember this browser for 30 days").check()
        with other.expect_navigation():
            other.get_by_role("button", name="Continue").click()
        assert portal.path_of(other) == "/staff/"
        other.goto("/profile/security")
        history = other.locator("#history")
        expect(history).to_contain_text("Signed in with two-factor")
        devices = other.locator("#devices li")
        assert devices.count() >= 2
        expect(other.locator("#devices")).to_contain_text("This browser")
        expect(other.locator("#devices")).to_contain_text("Chrome on Linux")
        portal.check_widths(other, "security-with-two-factor")

        # Leave the demo account as it was for any later run against this server.
        other.locator("summary", has_text="Turn off two-factor sign-in").click()
        form = other.locator("form[action='/profile/security/two-factor/off']")
        form.get_by_label("Current password").fill(portal.password)
        form.get_by_role("button", name="Turn off").click()
        expect(other.locator("#two-factor")).to_contain_text("Off")
    finally:
        fresh.close()
