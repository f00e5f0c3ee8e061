"""My Appointments in a real browser: the demo client cancels an appointment that is
free to cancel, sees Undo, undoes it, and the appointment is back (with htmx and
without JavaScript); the printable list. Each test leaves the demo data as it was."""

from __future__ import annotations

import os
import re
import shutil

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

CLIENT = "client@demo.test"
CANCEL = re.compile(r"^Cancel\b")
UNDO = re.compile(r"^Undo\b")


def free_to_cancel(page):
    """An upcoming card that is free to cancel and does not ask for confirmation
    (the confirm test in test_client_portal.py needs that one)."""
    return (
        page.locator('section[aria-labelledby="upcoming-title"] article.appt')
        .filter(has=page.get_by_role("link", name=CANCEL))
        .filter(has_not=page.get_by_role("button", name=re.compile(r"^Confirm\b")))
        .filter(has_text="Free to cancel until")
        .first
    )


def status_of(card) -> str:
    return card.locator(".appt-status .status").first.inner_text()


def test_cancel_shows_undo_and_undo_puts_it_back(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    card_id = free_to_cancel(page).get_attribute("id")
    card = page.locator(f"#{card_id}")
    before = status_of(card)
    expect(card.get_by_role("link", name=re.compile(r"^Add to calendar\b"))).to_have_attribute(
        "href", f"/appointments/{card_id[5:]}/calendar.ics"
    )
    page.evaluate("() => { window.__marker = 1 }")

    asked: list[str] = []

    def accept(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{card_id[5:]}/cancel")):
        card.get_by_role("link", name=CANCEL).click()
    assert asked == ["Cancel this appointment?"]  # free: no fee named
    expect(card.locator(".status--cancelled")).to_have_text("Cancelled")
    undo = card.get_by_role("button", name=UNDO)
    expect(undo).to_be_visible()
    portal.check_widths(page, "appointments-cancelled-undo")

    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{card_id[5:]}/undo")) as r:
        undo.click()
    assert r.value.status == 200
    expect(card.locator(".appt-status .status").first).to_have_text(before)
    expect(card.get_by_role("button", name=UNDO)).to_have_count(0)
    expect(card.get_by_role("link", name=CANCEL)).to_be_visible()
    assert page.evaluate("() => window.__marker") == 1, "cancel or undo reloaded the page"

    # In the database: a fresh load lists it as upcoming again.
    page.goto("/appointments")
    upcoming = page.locator(f'section[aria-labelledby="upcoming-title"] #{card_id}')
    expect(upcoming.locator(".appt-status .status").first).to_have_text(before)


def test_cancel_and_undo_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    card_id = free_to_cancel(page).get_attribute("id")
    before = status_of(page.locator(f"#{card_id}"))
    page.locator(f"#{card_id}").get_by_role("link", name=CANCEL).click()
    expect(page.locator("main#main h1")).to_have_text("Cancel this appointment?")
    expect(page.get_by_text("Free to cancel until")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel it").click()
    assert portal.path_of(page) == "/appointments"
    card = page.locator(f"#{card_id}")
    expect(card.locator(".status--cancelled")).to_have_text("Cancelled")
    card.get_by_role("button", name=UNDO).click()
    assert portal.path_of(page) == "/appointments"
    upcoming = page.locator(f'section[aria-labelledby="upcoming-title"] #{card_id}')
    expect(upcoming.locator(".appt-status .status").first).to_have_text(before)


def test_printable_list(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    with page.expect_navigation():
        page.get_by_role("link", name="Printable list").click()
    assert portal.path_of(page) == "/appointments/print"
    expect(page.locator("main#main h1")).to_have_text("Upcoming appointments")
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # portal.js shows it
    expect(page.locator("main table tbody tr").first).to_be_visible()
    portal.check_widths(page, "appointments-print")
