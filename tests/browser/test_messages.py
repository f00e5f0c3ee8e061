"""Messaging in real browsers: the demo client writes in one context and the provider's
inbox in another shows it without a reload; the provider answers and the client's open
thread shows the answer live; the chat page answers a quick reply at once.

The demo data keeps one more message in a demo thread (nothing else changes)."""

from __future__ import annotations

import os
import secrets
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import make_context  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
PROVIDER = "provider@demo.test"
THREAD = "Next week's session"


def test_a_message_reaches_the_live_inbox_and_the_answer_reaches_the_client(
    browser, server, portal, page, problems
):
    staff_context = make_context(browser, server)
    staff = staff_context.new_page()
    portal.watch(staff, problems)
    try:
        portal.sign_in(staff, PROVIDER)
        staff.goto("/staff/inbox")
        row = staff.locator("#inbox-rows li", has_text=THREAD)
        expect(row).to_be_visible()
        portal.check_widths(staff, "staff-inbox")

        portal.sign_in(page, CLIENT)
        page.goto("/messages")
        portal.check_widths(page, "messages")
        page.get_by_role("link", name=THREAD).click()
        expect(page.locator("main#main h1")).to_have_text(THREAD)
        question = f"Can we move to the afternoon? ({secrets.token_hex(3)})"
        page.get_by_label("Your message").fill(question)
        page.get_by_role("button", name="Send").click()
        expect(page.locator("ol.messages")).to_contain_text(question)
        expect(page.get_by_label("Your message")).to_have_value("")

        # The provider's inbox, never reloaded: the row moves to the top, unread.
        expect(staff.locator("#inbox-rows li").first).to_contain_text(THREAD)
        expect(staff.locator("#inbox-rows li").first).to_contain_text("unread")

        staff.locator("#inbox-rows li", has_text=THREAD).get_by_role("link").click()
        expect(staff.locator("ol.messages")).to_contain_text(question)
        answer = f"Yes, 3 pm works ({secrets.token_hex(3)})"
        staff.get_by_label("Your message").fill(answer)
        staff.get_by_role("button", name="Send").click()
        expect(staff.locator("ol.messages")).to_contain_text(answer)
        portal.check_widths(staff, "staff-thread")

        # The client's open thread, never reloaded, shows the answer once.
        expect(page.locator("ol.messages")).to_contain_text(answer)
        expect(page.locator("ol.messages li", has_text=question)).to_have_count(1)
        expect(page.locator("ol.messages li", has_text=answer)).to_have_count(1)
        portal.check_widths(page, "message-thread")
    finally:
        staff_context.close()


def test_the_chat_page_answers_the_balance_at_once(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/messages/chat")
    expect(page.locator("main#main h1")).to_have_text("Quick answers")
    page.locator("#quick-replies").get_by_role("button", name="Balance").click()
    expect(page.locator("ol.messages li.message--automated").last).to_contain_text("$")
    portal.check_widths(page, "chat")


def test_messages_work_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/messages/new")
    page.get_by_label("Scheduling").check()
    page.get_by_label("Subject").fill("Parking")
    page.get_by_label("Message").fill("Where can I park?")
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    expect(page.locator("main#main h1")).to_have_text("Parking")
    expect(page.locator("ol.messages")).to_contain_text("Where can I park?")
