"""My Appointments on the web: the cancellation terms shown before confirming, the fee
charged once, Undo, Add to calendar (.ics), the map link, the printable list, and
telehealth Join / Pay Now; other clients' appointments and hostile ids are 404s."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest

from models import clock
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
from models.people import User
from models.practice import Location, Practice
from models.scheduling import Appointment, AppointmentStatus
from tests.helpers import HX, post, sign_in

PHONE = "+15550109000"
VIDEO = "https://video.example/room/abc123"


async def late_fee_policy(cast, **settings) -> None:
    await Practice.filter(id=cast.practice.id).update(
        portal_settings={
            "cancel_free_hours": 24,
            "cancel_block_hours": 2,
            "late_cancel_fee_cents": 5000,
            "within_24h": True,
            **settings,
        },
        phone=PHONE,
    )


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


async def fees(appointment_id: int) -> list[LedgerEntry]:
    return await LedgerEntry.filter(appointment_id=appointment_id, kind=EntryKind.CHARGE)


def card(html: str, appointment_id: int) -> str:
    match = re.search(rf'<article id="appt-{appointment_id}".*?</article>', html, re.S)
    assert match, f"no card for appointment {appointment_id}"
    return match.group(0)


# --- the terms, shown before confirming --------------------------------------------


async def test_the_fee_is_shown_on_the_card_the_dialog_and_the_cancel_page(client, cast):
    await late_fee_policy(cast)
    await sign_in(client, "alice")
    html = await html_of(await client.get("/appointments"))
    late = card(html, cast.a_tomorrow.id)
    assert "a fee of $50.00 will be charged" in late  # the htmx dialog (hx-confirm)
    assert 'hx-vals=\'{"fee": "5000"}\'' in late
    assert "Cancelling now is late: a $50.00 fee applies." in late
    assert "Reschedule" not in late  # only while cancelling is free
    free = card(html, cast.a_soon.id)
    assert 'hx-confirm="Cancel this appointment?"' in free and 'fee": "0"' in free
    assert "Free to cancel until" in free and "$50.00 late-cancellation fee applies" in free
    assert f'href="/appointments/new?reschedule={cast.a_soon.id}"' in free
    page = await html_of(await client.get(f"/appointments/{cast.a_tomorrow.id}/cancel"))
    assert "a fee of $50.00 will be charged to your account" in page
    assert 'name="fee" value="5000"' in page and "Yes, cancel it" in page
    assert await fees(cast.a_tomorrow.id) == []  # asking charges nothing


async def test_a_late_cancel_is_charged_once_even_when_submitted_twice(client, cast):
    await late_fee_policy(cast)
    await sign_in(client, "alice")
    url = f"/appointments/{cast.a_tomorrow.id}/cancel"
    first = await post(client, url, {"fee": "5000"}, headers=HX)
    second = await post(client, url, {"fee": "5000"}, headers=HX)
    assert first.status_code == second.status_code == 200
    html = await html_of(first)
    assert "Cancelled late" in html and ">Undo<" in html
    assert "A late-cancellation fee of $50.00 was added to your account." in html
    [fee] = await fees(cast.a_tomorrow.id)
    assert fee.amount_cents == 5000
    await cast.a_tomorrow.refresh_from_db()
    assert cast.a_tomorrow.status == "late_cancelled"


async def test_a_fee_the_client_was_not_shown_is_not_charged(client, cast):
    await sign_in(client, "alice")
    # The page said "free"; the practice set a fee meanwhile.
    await late_fee_policy(cast)
    url = f"/appointments/{cast.a_tomorrow.id}/cancel"
    response = await post(client, url, {"fee": "0"}, headers=HX)
    assert response.status_code == 422
    html = await html_of(response)
    assert "The cancellation terms have changed: cancelling now costs $50.00." in html
    assert "a fee of $50.00 will be charged" in html  # the card asks again, with the fee
    no_js = await post(client, url, {"fee": "junk", "next": "/dashboard"})
    assert no_js.status_code == 422
    page = await html_of(no_js)
    assert "The cancellation terms have changed" in page and 'name="fee" value="5000"' in page
    assert await fees(cast.a_tomorrow.id) == []
    await cast.a_tomorrow.refresh_from_db()
    assert cast.a_tomorrow.status == "scheduled"


async def test_inside_the_block_window_the_client_is_told_to_call_the_practice(client, cast):
    await late_fee_policy(cast, cancel_block_hours=12)
    await sign_in(client, "alice")
    html = await html_of(await client.get("/appointments"))
    blocked = card(html, cast.a_tomorrow.id)
    assert f"Please call {PHONE} to cancel." in blocked
    assert f"/appointments/{cast.a_tomorrow.id}/cancel" not in blocked
    page = await html_of(await client.get(f"/appointments/{cast.a_tomorrow.id}/cancel"))
    assert f"Please call {PHONE} to cancel." in page and "Yes, cancel it" not in page
    response = await post(client, f"/appointments/{cast.a_tomorrow.id}/cancel", headers=HX)
    assert response.status_code == 422
    assert f"Please call {PHONE} to cancel." in await html_of(response)
    assert (await Appointment.get(id=cast.a_tomorrow.id)).status == "scheduled"


# --- Undo ---------------------------------------------------------------------------


async def test_undo_with_htmx_within_3_minutes_and_not_after(client, cast):
    await late_fee_policy(cast)
    await sign_in(client, "alice")
    await post(client, f"/appointments/{cast.a_tomorrow.id}/cancel", {"fee": "5000"}, headers=HX)
    await post(client, f"/appointments/{cast.a_soon.id}/cancel", headers=HX)
    clock.travel(timedelta(minutes=2, seconds=59))
    html = await html_of(await client.get("/appointments"))
    assert ">Undo<" in card(html, cast.a_tomorrow.id)
    assert 'hx-trigger="load delay:2s"' in card(html, cast.a_tomorrow.id)
    response = await post(client, f"/appointments/{cast.a_tomorrow.id}/undo", headers=HX)
    assert response.status_code == 200
    restored = await html_of(response)
    assert "Scheduled" in restored and ">Undo<" not in restored
    assert f"/appointments/{cast.a_tomorrow.id}/cancel" in restored
    assert await LedgerEntry.filter(appointment_id=cast.a_tomorrow.id).count() == 0
    clock.travel(timedelta(seconds=2))  # 3:01 after the second cancel
    html = await html_of(await client.get("/appointments"))
    assert ">Undo<" not in card(html, cast.a_soon.id)
    late = await post(client, f"/appointments/{cast.a_soon.id}/undo", headers=HX)
    assert late.status_code == 422 and "too late to undo" in await html_of(late)
    assert (await Appointment.get(id=cast.a_soon.id)).status == "cancelled"


async def test_undo_without_javascript(client, cast):
    await sign_in(client, "alice")
    await post(client, f"/appointments/{cast.a_soon.id}/cancel", {"next": "/appointments"})
    html = await html_of(await client.get("/appointments"))
    form = card(html, cast.a_soon.id)
    assert f'action="/appointments/{cast.a_soon.id}/undo"' in form
    assert 'name="what" value="cancel"' in form
    response = await post(client, f"/appointments/{cast.a_soon.id}/undo", {"next": "/dashboard"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"
    assert (await Appointment.get(id=cast.a_soon.id)).status == "scheduled"


async def test_the_card_refreshes_itself_and_only_for_its_owner(client, cast):
    await sign_in(client, "alice")
    response = await client.get(f"/appointments/{cast.a_soon.id}/card", headers=HX)
    assert response.status_code == 200
    assert (await html_of(response)).startswith(f'<article id="appt-{cast.a_soon.id}"')
    plain = await client.get(f"/appointments/{cast.a_soon.id}/card")
    assert plain.status_code == 303


# --- Add to calendar, map, print ---------------------------------------------------


def parse_ics(body: bytes) -> dict[str, list[str]]:
    """A strict reading of RFC 5545's line rules, then the properties by name."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    raw = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in raw), "a line is over 75 octets"
    lines: list[str] = []
    for line in raw:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    props: dict[str, list[str]] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        assert sep and re.fullmatch(r"[A-Z-]+", name), line
        props.setdefault(name, []).append(value)
    assert props["BEGIN"] == ["VCALENDAR", "VEVENT"] and props["END"] == ["VEVENT", "VCALENDAR"]
    return props


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


async def test_the_calendar_file_is_rfc_5545_with_nothing_about_the_care(client, cast):
    long_name = "Dr. Zoë Ångström-Núñez, PhD; Family & Couples \\ Counselling Ünïcödé Name"
    await User.filter(id=cast.penny.user_id).update(display_name=long_name)
    await Location.filter(id=cast.office.id).update(
        address_line1="12 Riverside Drive, Suite 200", city="Asheville", region="NC"
    )
    await sign_in(client, "alice")
    response = await client.get(f"/appointments/{cast.a_soon.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.get_data()
    assert b"\r\n " in body  # the long summary was folded
    props = parse_ics(body)
    assert props["VERSION"] == ["2.0"] and props["PRODID"]
    assert props["UID"] == [f"appointment-{cast.a_soon.id}@localhost"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"][0])
    start = cast.a_soon.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    end = cast.a_soon.ends_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert props["DTSTART"] == [start] and props["DTEND"] == [end]
    assert unescape(props["SUMMARY"][0]) == f"Appointment with {long_name}"
    assert "\\;" in props["SUMMARY"][0] and "\\," in props["SUMMARY"][0]
    assert unescape(props["LOCATION"][0]) == "12 Riverside Drive, Suite 200, Asheville, NC"
    assert props["STATUS"] == ["CONFIRMED"]
    text = body.decode()
    assert "Session" not in text and "90834" not in text and "DESCRIPTION" not in text


async def test_no_address_and_no_map_where_the_location_hides_it(client, cast):
    await Location.filter(id=cast.office.id).update(
        address_line1="1 Quiet Lane", city="Hidden", hide_address=True
    )
    await sign_in(client, "alice")
    props = parse_ics(
        await (await client.get(f"/appointments/{cast.a_soon.id}/calendar.ics")).get_data()
    )
    assert "LOCATION" not in props
    html = await html_of(await client.get("/appointments"))
    assert "openstreetmap" not in html and "Quiet Lane" not in html
    printed = await html_of(await client.get("/appointments/print"))
    assert "Quiet Lane" not in printed


async def test_a_map_link_for_in_person_visits_with_an_address(client, cast):
    await Location.filter(id=cast.office.id).update(
        address_line1="12 Riverside Drive", city="Asheville", region="NC", postal_code="28801"
    )
    await Appointment.filter(id=cast.a_tomorrow.id).update(telehealth=True)
    await sign_in(client, "alice")
    html = await html_of(await client.get("/appointments"))
    link = "https://www.openstreetmap.org/search?query=12+Riverside+Drive%2C+Asheville%2C+NC+28801"
    in_person = card(html, cast.a_soon.id)
    assert f'href="{link}" target="_blank" rel="noopener noreferrer"' in in_person
    assert "openstreetmap" not in card(html, cast.a_tomorrow.id)  # telehealth
    assert f'href="/appointments/{cast.a_soon.id}/calendar.ics"' in in_person


async def test_a_cancelled_appointments_calendar_file_is_marked_cancelled(client, cast):
    await sign_in(client, "alice")
    before = parse_ics(
        await (await client.get(f"/appointments/{cast.a_soon.id}/calendar.ics")).get_data()
    )
    await post(client, f"/appointments/{cast.a_soon.id}/cancel", headers=HX)
    after = parse_ics(
        await (await client.get(f"/appointments/{cast.a_soon.id}/calendar.ics")).get_data()
    )
    assert after["STATUS"] == ["CANCELLED"] and after["SUMMARY"][0].startswith("Cancelled: ")
    assert after["UID"] == before["UID"]
    assert int(after["SEQUENCE"][0]) > int(before["SEQUENCE"][0])


async def test_the_printable_list(client, cast):
    await Location.filter(id=cast.office.id).update(address_line1="12 Riverside Drive")
    await sign_in(client, "alice")
    listing = await html_of(await client.get("/appointments"))
    assert 'href="/appointments/print"' in listing
    response = await client.get("/appointments/print")
    html = await html_of(response)
    assert response.status_code == 200 and "Upcoming appointments" in html
    assert "12 Riverside Drive" in html and "data-print hidden" in html and "no-print" in html
    assert html.count("<tr>") == 1 + 2  # the header and Alice's two upcoming
    fragment = await client.get("/appointments/print", headers=HX)
    assert "<html" not in await html_of(fragment)


# --- telehealth: Join and Pay Now ----------------------------------------------------


async def telehealth(cast, starts_in: timedelta) -> Appointment:
    start = clock.now() + starts_in
    return await Appointment.create(
        client=cast.alice,
        provider=cast.penny,
        service=cast.service,
        telehealth=True,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        status=AppointmentStatus.CONFIRMED,
        video_url=VIDEO,
    )


async def test_join_only_from_ten_minutes_before_until_the_end(client, cast):
    appt = await telehealth(cast, timedelta(minutes=11))
    await sign_in(client, "alice")
    join = f'href="/appointments/{appt.id}/join" target="_blank" rel="noopener"'
    assert join not in card(await html_of(await client.get("/appointments")), appt.id)
    early = await client.get(f"/appointments/{appt.id}/join")
    assert early.status_code == 409 and "opens 10 minutes before" in await html_of(early)
    clock.travel(timedelta(minutes=1, seconds=1))  # inside the window
    assert join in card(await html_of(await client.get("/appointments")), appt.id)
    assert join in card(await html_of(await client.get("/dashboard")), appt.id)
    response = await client.get(f"/appointments/{appt.id}/join")
    assert response.status_code == 303 and response.headers["Location"] == VIDEO
    # Under way (the session's 45 minutes; steps under the 15-minute idle sign-out).
    for step in (timedelta(minutes=14), timedelta(minutes=14), timedelta(minutes=14)):
        clock.travel(step)
        assert join in card(await html_of(await client.get("/appointments")), appt.id)
    clock.travel(appt.ends_at - clock.now() - timedelta(seconds=1))  # 1 second before the end
    assert join in card(await html_of(await client.get("/appointments")), appt.id)
    clock.travel(timedelta(seconds=2))  # ended
    assert join not in await html_of(await client.get("/appointments"))
    assert (await client.get(f"/appointments/{appt.id}/join")).status_code == 409


async def test_pay_now_instead_of_join_until_the_session_is_paid(client, cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"pay_before_joining": True})
    appt = await telehealth(cast, timedelta(minutes=5))
    charge = await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CHARGE,
        posted_on=clock.now().date(),
        amount_cents=15000,
        insurance_expected_cents=12000,
        appointment=appt,
        description="Session",
    )
    await sign_in(client, "alice")
    html = card(await html_of(await client.get("/appointments")), appt.id)
    assert (
        'href="/pay"' in html and "Pay Now" in html and f"/appointments/{appt.id}/join" not in html
    )
    response = await client.get(f"/appointments/{appt.id}/join")
    assert response.status_code == 303 and response.headers["Location"] == "/pay"
    # The client's part (150 - 120 from insurance) paid: Join.
    payment = await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CLIENT_PAYMENT,
        posted_on=clock.now().date(),
        amount_cents=3000,
    )
    await PaymentAllocation.create(payment=payment, charge=charge, amount_cents=3000)
    html = card(await html_of(await client.get("/appointments")), appt.id)
    assert "Pay Now" not in html and f"/appointments/{appt.id}/join" in html
    response = await client.get(f"/appointments/{appt.id}/join")
    assert response.headers["Location"] == VIDEO


async def test_join_without_pay_before_joining_ignores_the_balance(client, cast):
    appt = await telehealth(cast, timedelta(minutes=5))
    await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CHARGE,
        posted_on=clock.now().date(),
        amount_cents=15000,
        appointment=appt,
    )
    await sign_in(client, "alice")
    response = await client.get(f"/appointments/{appt.id}/join")
    assert response.headers["Location"] == VIDEO


async def test_no_join_for_a_video_link_that_is_not_a_web_address(client, cast):
    appt = await telehealth(cast, timedelta(minutes=5))
    await Appointment.filter(id=appt.id).update(video_url="javascript:alert(1)")
    await sign_in(client, "alice")
    html = card(await html_of(await client.get("/appointments")), appt.id)
    assert "javascript:" not in html and "No video link yet" in html
    assert (await client.get(f"/appointments/{appt.id}/join")).status_code == 404


# --- whose appointment, and hostile ids ----------------------------------------------

NEW_GETS = ["card", "calendar.ics", "join", "cancel"]


async def test_another_clients_appointment_is_404_at_every_url(client, cast):
    soon = clock.now() + timedelta(minutes=5)
    await Appointment.filter(id=cast.b_soon.id).update(
        telehealth=True, video_url=VIDEO, starts_at=soon, ends_at=soon + timedelta(minutes=45)
    )
    await cast.b_soon.refresh_from_db()
    await cast.b_soon.cancel(by=cast.bob.user_id, via="web", within_24h_allowed=True)
    await sign_in(client, "alice")
    for tail in NEW_GETS:
        for headers in ({}, HX):
            response = await client.get(f"/appointments/{cast.b_soon.id}/{tail}", headers=headers)
            assert response.status_code == 404, (tail, headers, response.status_code)
    for action in ("undo", "cancel", "confirm"):
        for what in ("cancel", "booking"):
            response = await post(
                client, f"/appointments/{cast.b_soon.id}/{action}", {"what": what}, headers=HX
            )
            assert response.status_code == 404, (action, what)
    assert (await Appointment.get(id=cast.b_soon.id)).status == "late_cancelled"
    printed = await html_of(await client.get("/appointments/print"))
    assert f"appt-{cast.b_soon.id}" not in printed
    # A guardian with the appointments scope sees only the acting child's.
    await sign_in(client, "gina", token_from="/dashboard")
    ics = await client.get(f"/appointments/{cast.a_soon.id}/calendar.ics")
    assert ics.status_code == 404
    assert (await client.get(f"/appointments/{cast.c_soon.id}/calendar.ics")).status_code == 200


@pytest.mark.parametrize(
    "appointment_id", ["0", "-1", "99999999999999999999", "2147483648", "abc", "1e3", "%00", "1.0"]
)
async def test_hostile_ids_never_500(client, cast, appointment_id):
    await sign_in(client, "alice")
    for tail in [*NEW_GETS, ""]:
        response = await client.get(f"/appointments/{appointment_id}/{tail}", headers=HX)
        assert response.status_code in (404, 405), (tail, response.status_code)
    for action in ("undo", "cancel"):
        response = await post(client, f"/appointments/{appointment_id}/{action}", headers=HX)
        assert response.status_code in (404, 405), (action, response.status_code)


@pytest.mark.parametrize(
    "form",
    [
        {"fee": "9" * 40},
        {"fee": "-5000"},
        {"fee": "\x00"},
        {"fee": "²"},
        {"fee": "５０００"},
        {"what": "booking"},
        {"what": "x" * 5000},
        {"next": "//evil.example"},
    ],
)
async def test_hostile_forms_never_500(client, cast, form):
    await late_fee_policy(cast)
    await sign_in(client, "alice")
    for action in ("cancel", "undo"):
        response = await post(client, f"/appointments/{cast.a_tomorrow.id}/{action}", form)
        assert response.status_code in (303, 400, 422), (action, form, response.status_code)
        if response.status_code == 303:
            assert response.headers["Location"] == "/appointments"
    charged = await fees(cast.a_tomorrow.id)
    assert len(charged) <= 1 and all(fee.amount_cents == 5000 for fee in charged)


# --- Undo of a booking (models/booking.py's undo_booking) -----------------------------


async def just_booked(cast, by_user_id: int, days: int = 5) -> Appointment:
    start = clock.now() + timedelta(days=days)
    return await Appointment.create(
        client=cast.alice,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        status=AppointmentStatus.REQUESTED,
        created_via="portal",
        booked_by_id=by_user_id,
    )


async def test_a_booking_just_made_offers_undo_on_its_card(client, cast):
    appt = await just_booked(cast, cast.alice.user_id)
    await sign_in(client, "alice")
    html = card(await html_of(await client.get("/appointments")), appt.id)
    assert 'name="what" value="booking"' in html and "Undo booking" in html
    response = await post(client, f"/appointments/{appt.id}/undo", {"what": "booking"}, headers=HX)
    assert response.status_code == 200
    undone = await html_of(response)
    assert "Cancelled" in undone and "Undo" not in undone  # no undoing the undo
    fresh = await Appointment.get(id=appt.id)
    assert fresh.status == "cancelled" and fresh.cancel_reason == "undone"
    again = await post(client, f"/appointments/{appt.id}/undo", {"what": "cancel"}, headers=HX)
    assert again.status_code == 422
    assert (await Appointment.get(id=appt.id)).status == "cancelled"


async def test_a_booking_undo_is_only_for_its_booker_and_3_minutes(client, cast):
    by_staff = await just_booked(cast, cast.sid.user_id)
    mine = await just_booked(cast, cast.alice.user_id, days=6)
    await sign_in(client, "alice")
    html = await html_of(await client.get("/appointments"))
    assert "Undo booking" not in card(html, by_staff.id)
    refused = await post(client, f"/appointments/{by_staff.id}/undo", {"what": "booking"})
    assert refused.status_code == 422
    assert "Only the person who booked this appointment can undo it." in await html_of(refused)
    await Appointment.filter(id=mine.id).update(
        created_at=clock.now() - timedelta(minutes=3, seconds=1)
    )
    html = await html_of(await client.get("/appointments"))
    assert "Undo booking" not in card(html, mine.id)
    late = await post(client, f"/appointments/{mine.id}/undo", {"what": "booking"})
    assert late.status_code == 422
    assert (await Appointment.get(id=mine.id)).status == "requested"
