"""Find an Appointment in a real browser: the demo client picks Who, What, Where, a day
with dots and a time, reviews and books, sees it in My Appointments, then undoes it (so
the shared demo data is left as found). Once with htmx, once with JavaScript off."""

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
BOOK = re.compile(r"^(Book|Request) appointment$")


def open_day(page):
    """The first day with openings, moving to the next month if this one has none."""
    days = page.locator("a.cal-link")
    if days.count() == 0:
        page.locator("#cal-next").click()
        expect(page.locator("a.cal-link").first).to_be_visible()
    return page.locator("a.cal-link").first


def test_find_an_appointment_with_htmx(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/appointments/new")
    expect(page.locator("main#main h1")).to_have_text("Find an Appointment")
    portal.check_widths(page, "booking-who")
    page.evaluate("() => { window.__marker = 1 }")

    # Who: the client's own provider, marked as such
    who = page.get_by_role("link", name=re.compile(r"^Dr\. Maya Chen, PhD\s+Your provider$"))
    with page.expect_response(
        lambda r: "provider=" in r.url and r.request.headers.get("hx-request")
    ):
        who.click()
    expect(page.locator("#step-what")).to_be_visible()
    expect(page.locator("main#main h1")).to_be_focused()  # portal.js, after the push
    assert "provider=" in page.url

    # What: a service with its length
    page.get_by_role(
        "link", name=re.compile(r"^Individual session, 45 minutes\s+45 minutes$")
    ).click()
    expect(page.locator("#step-where")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Either\b"))).to_be_visible()
    portal.assert_axe_clean(page, "Find an Appointment: Where")

    # Where: either
    page.get_by_role("link", name=re.compile(r"^Either\b")).click()
    expect(page.locator("table.cal")).to_be_visible()
    expect(page.locator(".cal-legend")).to_contain_text("Telehealth appointments available")
    day = open_day(page)
    portal.check_widths(page, "booking-calendar")

    # A day with dots: only the calendar and times are swapped, focus stays on the day
    day_id = day.get_attribute("id")
    assert day.locator(".dot").count() >= 1
    with page.expect_response(
        lambda r: "day=" in r.url and r.request.headers.get("hx-target") == "booking-when"
    ):
        day.click()
    expect(page.locator("#booking-times h3")).to_contain_text("Times on")
    expect(page.locator(f"#{day_id}")).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#{day_id}")).to_be_focused()
    expect(page.locator("#booking-times")).to_contain_text("America/New_York")
    portal.check_widths(page, "booking-times")

    # A time: the first option (Telehealth or In Person) of the first row
    option = page.locator("#booking-times a.time-option").first
    label = option.inner_text().strip().splitlines()[0]
    assert label in ("Telehealth", "In Person")
    when = page.locator("#booking-times .time").first.inner_text().strip()
    option.click()
    review = page.locator("section.booking-review")
    expect(review.get_by_role("heading", name="Review")).to_be_visible()
    expect(review).to_contain_text("Dr. Maya Chen")
    expect(review).to_contain_text(when)
    # the demo practice takes requests, which the review says before booking
    expect(review).to_contain_text("This is a request the practice will confirm")
    portal.check_widths(page, "booking-review")

    # Book
    with page.expect_response(lambda r: r.url.endswith("/appointments/new")) as booked:
        review.get_by_role("button", name=BOOK).click()
    assert booked.value.status == 200
    expect(page.locator("main#main h1")).to_have_text("Appointment requested")
    page.wait_for_url(re.compile(r"/appointments/new/booked/\d+$"))
    appt_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    assert page.evaluate("() => window.__marker") == 1, "the flow reloaded the page"
    portal.check_widths(page, "booking-booked")

    # It is on My Appointments
    page.get_by_role("link", name="Go to My Appointments").click()
    expect(page.locator("main#main h1")).to_have_text("My Appointments")
    card = page.locator(f"#appt-{appt_id}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Requested")

    # Undo it, leaving the demo data as found
    page.go_back()
    expect(page.locator("main#main h1")).to_have_text("Appointment requested")
    with page.expect_response(lambda r: r.url.endswith("/undo")):
        page.get_by_role("button", name="Undo").click()
    expect(page.locator("main#main .alert--ok")).to_have_text("Your booking was undone.")
    page.goto("/appointments")
    expect(page.locator(f"#upcoming-title ~ .appt-list #appt-{appt_id}")).to_have_count(0)


def test_find_an_appointment_without_javascript(no_js_page, portal):
    page = no_js_page
    portal.sign_in(page, CLIENT)
    page.goto("/appointments/new")
    page.get_by_role("link", name=re.compile(r"^Dr\. Maya Chen")).click()
    page.get_by_role("link", name=re.compile(r"^Individual session, 60 minutes")).click()
    page.get_by_role("link", name=re.compile(r"^Telehealth\b")).click()
    expect(page.locator("table.cal")).to_be_visible()
    open_day(page).click()
    expect(page.locator("#booking-times h3")).to_contain_text("Times on")
    page.locator("#booking-times a.time-option").last.click()
    review = page.locator("section.booking-review")
    expect(review).to_contain_text("Telehealth")
    with page.expect_navigation() as navigation:
        review.get_by_role("button", name=BOOK).click()
    assert navigation.value.status == 200
    assert re.search(r"/appointments/new/booked/\d+$", page.url)
    expect(page.locator("main#main h1")).to_have_text("Appointment requested")
    with page.expect_navigation():
        page.get_by_role("button", name="Undo").click()
    expect(page.locator("main#main .alert--ok")).to_have_text("Your booking was undone.")
    assert portal.path_of(page) == "/appointments/new"


def test_reschedule_from_my_appointments_then_undo(page, portal):
    portal.sign_in(page, CLIENT)
    page.goto("/appointments")
    reschedulable = (
        page.locator("#upcoming-title ~ .appt-list article.appt")
        .filter(has=page.get_by_role("link", name=re.compile(r"^Reschedule\b")))
        .first
    )
    card_id = reschedulable.get_attribute("id")
    status_before = reschedulable.locator(".status").first.inner_text()
    reschedulable.get_by_role("link", name=re.compile(r"^Reschedule\b")).click()

    # The appointment's provider and service come chosen: Where is the question.
    expect(page.locator("main#main h1")).to_have_text("Reschedule an Appointment")
    expect(page.locator("main#main")).to_contain_text("Moving your appointment of")
    expect(page.locator('li[aria-current="step"] h2')).to_have_text("Where")
    page.get_by_role("link", name=re.compile(r"^Either\b")).click()
    open_day(page).click()
    page.locator("#booking-times a.time-option").first.click()
    review = page.locator("section.booking-review")
    review.get_by_role(
        "button", name=re.compile(r"^(Move my appointment|Request the new time)$")
    ).click()
    expect(page.locator("main#main")).to_contain_text("This replaces your appointment of")
    portal.assert_axe_clean(page, "a rescheduled appointment")

    # Undo: the old appointment is back as it was.
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("main#main .alert--ok")).to_have_text(
        "Undone: your appointment is back at its old time."
    )
    page.goto("/appointments")
    expect(page.locator(f"#{card_id} .status").first).to_have_text(status_before)
