"""Texts in a real browser: the demo client's planned reminder on /dev/sms, "Send
now", the worker sends it (the developer outbox: no Twilio), the client replies "1"
from the page (signed as Twilio signs, through /sms/inbound), the appointment is
confirmed on /appointments, and My Profile says "We texted you ... — delivered".

This module has a demo of its own (the other browser tests confirm and cancel the
shared demo's appointments, and the reminder here must ask for a confirmation), and a
``portal worker`` beside its server (the server's own worker is off)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import (  # noqa: E402
    ROOT,
    Portal,
    Server,
    _stop,
    make_context,
    own_demo_server,
)

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
MOBILE = "+15550100001"
CONVERSATION = "#sms-15550100001"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """A fresh demo for this module (it overrides the shared session server)."""
    with own_demo_server(tmp_path_factory, "portal-sms-server") as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


@pytest.fixture(scope="module")
def worker(server, tmp_path_factory) -> Iterator[subprocess.Popen]:
    """``portal worker`` on the server's database: it sends what is due."""
    log = tmp_path_factory.mktemp("portal-worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": server.database_url,
        "PUBLIC_URL": server.url,
        "PORTAL_DATA_DIR": str(log.parent),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_URL", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        _stop(proc)


def reload_until(page, locator, text: str, timeout: float = 20.0) -> None:
    """The worker is another process: reload until ``text`` shows (or fail)."""
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        if text in (locator.text_content() or ""):
            return
        if time.monotonic() > deadline:
            expect(locator).to_contain_text(text)  # fails, saying what was there
        time.sleep(0.5)


def confirmed_count(page) -> int:
    page.goto("/appointments")
    return page.locator("main .status--confirmed").count()


def test_a_reminder_is_sent_answered_by_text_and_logged(browser, server, portal, page, worker):
    client = make_context(browser, server)
    mine = client.new_page()
    try:
        portal.sign_in(mine, CLIENT)
        before = confirmed_count(mine)

        page.goto("/dev/sms")
        expect(page.locator("main#main h1")).to_have_text("Developer texts")
        conversation = page.locator(CONVERSATION)
        expect(conversation).to_contain_text("A planned reminder")
        portal.check_widths(page, "dev-sms-planned")
        # axe leaves style="" on inputs; htmx would settle it onto the swapped-in
        # inputs of the same id, which the CSP refuses: a fresh page first.
        page.reload()

        conversation.get_by_role("button", name="Send now").first.click()
        reload_until(page, conversation, "Reply 1 to confirm, 2 to cancel.")
        expect(conversation).to_contain_text("delivered")

        conversation.get_by_label(f"Reply as {MOBILE}").fill("1")
        conversation.get_by_role("button", name="Send reply").click()
        expect(conversation.locator("li.message--mine").last).to_contain_text("1")
        answer = conversation.locator("li.message", has_text="is confirmed")
        reload_until(page, answer, "delivered")
        portal.check_widths(page, "dev-sms")

        assert confirmed_count(mine) == before + 1
        mine.goto("/profile")
        log = mine.locator("#sent-to-you")
        expect(log).to_contain_text("We texted you")
        expect(log).to_contain_text("— delivered")
        expect(log).to_contain_text("Reply 1 to confirm, 2 to cancel.")
        portal.check_widths(mine, "profile")
    finally:
        client.close()


def test_dev_sms_works_without_javascript(no_js_page, portal, worker):
    page = no_js_page
    page.goto("/dev/sms")
    conversation = page.locator(CONVERSATION)
    expect(conversation).to_be_visible()
    conversation.get_by_label(f"Reply as {MOBILE}").fill("HELP")
    with page.expect_navigation():
        conversation.get_by_role("button", name="Send reply").click()
    assert portal.path_of(page) == "/dev/sms"
    expect(page.locator(CONVERSATION + " li.message--mine").last).to_contain_text("HELP")


def test_reminder_settings_save_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/profile")
    item = page.locator("li.contact-point", has_text=MOBILE)
    item.locator("summary", has_text="Reminder settings").click()  # a <details>: no script
    item.get_by_label("When").select_option("2")
    with page.expect_navigation():
        item.get_by_role("button", name="Save reminder settings").click()
    item = page.locator("li.contact-point", has_text=MOBILE)
    expect(item).to_contain_text("Saved.")
    expect(item).to_contain_text("2 days in advance")
    item.locator("summary", has_text="Reminder settings").click()
    item.get_by_label("When").select_option("1")
    with page.expect_navigation():
        item.get_by_role("button", name="Save reminder settings").click()
    expect(page.locator("li.contact-point", has_text=MOBILE)).to_contain_text("1 day in advance")
