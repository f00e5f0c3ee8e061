"""A new client in a real browser: the practice's new-invitation link, the confirm
email read off the developer outbox, the practice's terms at first sign-in."""

from __future__ import annotations

import os
import secrets
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser
PASSWORD = "a calm river at dawn"


def test_a_new_client_registers_confirms_by_email_and_accepts_the_terms(page, portal):
    email = f"new.client.{secrets.token_hex(3)}@example.test"
    page.goto("/login")
    page.get_by_role("link", name="Create a portal account").click()
    expect(page.locator("main#main h1")).to_have_text("Create your portal account")
    portal.check_widths(page, "register")
    page.get_by_label("First name").fill("Robin")
    page.get_by_label("Last name").fill("Okoye")
    page.get_by_label("Date of birth").fill("1991-04-12")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("main#main h1")).to_have_text("Check your email to finish")
    portal.check_widths(page, "register-sent")

    page.goto("/dev/mail")
    message = page.locator("li.mail", has_text=email).first
    expect(message).to_contain_text("Confirm your email")
    portal.check_widths(page, "dev-mail")
    message.get_by_role("link", name="/register/confirm/").click()
    expect(page.locator("main#main h1")).to_have_text("Your account is ready")

    portal.sign_in(page, email, PASSWORD)
    assert portal.path_of(page) == "/terms"
    expect(page.locator("#terms-text")).to_contain_text("not for emergencies")
    portal.check_widths(page, "terms")
    with page.expect_navigation():
        page.get_by_role("button", name="I accept the terms").click()
    assert portal.path_of(page) == "/dashboard"
    expect(page.locator("main#main h1")).to_contain_text("Robin")
