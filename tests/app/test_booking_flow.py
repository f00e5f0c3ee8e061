"""Find an Appointment (/appointments/new): each step as a page and as an htmx fragment,
times in the client's time zone, booking, bad input, a slot taken, and rescheduling."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import clock
from models.people import Contact, StaffMember, User
from models.practice import Location, Practice, Service
from models.scheduling import Appointment, AppointmentStatus, AvailabilityBlock
from tests.helpers import HX, post, sign_in

NY = ZoneInfo("America/New_York")
NEW = "/appointments/new"


async def open_hours(cast, *, modality: str = "both", mode: str = "instant") -> date:
    """Penny works 9:00-17:00 every day at the office (in person and telehealth);
    returns a day a week ahead, clear of the cast's appointments."""
    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=cast.penny,
            weekday=weekday,
            start_minute=9 * 60,
            end_minute=17 * 60,
            location=cast.office,
            modality=modality,
        )
    cast.practice.portal_settings = {**cast.practice.portal_settings, "scheduling_mode": mode}
    await cast.practice.save()
    return clock.now().astimezone(NY).date() + timedelta(days=7)


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = NY) -> datetime:
    return datetime.combine(day, time(hour, minute), tz).astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def flow(cast, day: date | None = None, **extra) -> dict[str, str]:
    """The query of a flow with Who, What and Where answered (Penny, Session, Office)."""
    values = {"provider": str(cast.penny.id), "service": str(cast.service.id), "where": "either"}
    if day is not None:
        values["day"] = day.isoformat()
    values.update(extra)
    return values


def pick(cast, day: date, hour: int = 10, mode: str = "in_person", **extra) -> dict[str, str]:
    values = flow(cast, at=stamp(at(day, hour)), p=str(cast.penny.id), mode=mode, **extra)
    if mode == "in_person":
        values["loc"] = str(cast.office.id)
    return values


def query(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return NEW + "?" + urlencode(values)


async def text(response) -> str:
    return await response.get_data(as_text=True)


# ---------------------------------------------------------------- the steps


async def test_each_step_is_a_page_and_an_htmx_fragment(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    steps = [
        ({}, ["Who", "Penny", "Your provider"], "What"),
        ({"provider": str(cast.penny.id)}, ["Choose the kind of appointment", "Session"], None),
        (
            {"provider": str(cast.penny.id), "service": str(cast.service.id)},
            ["Choose an office, telehealth, or either", "Office", "Telehealth", "Either"],
            None,
        ),
        (flow(cast), ["<table", 'id="booking-when"', "Telehealth appointments available"], None),
        (flow(cast, day), ['id="booking-times"', "Times on", "10:00"], None),
        (pick(cast, day), ["Review", "Book appointment", 'name="csrf_token"'], None),
    ]
    for values, wanted, _ in steps:
        url = query(values) if values else NEW
        page = await client.get(url)
        assert page.status_code == 200, url
        html = await text(page)
        assert "<html" in html and 'id="client-menu"' in html
        for fragment in wanted:
            assert fragment in html, (url, fragment)
        part = await client.get(url, headers=HX)
        assert part.status_code == 200
        assert "HX-Request" in part.headers["Vary"]
        fragment_html = await text(part)
        assert "<html" not in fragment_html and '<main id="main"' in fragment_html
        for fragment in wanted:
            assert fragment in fragment_html, (url, fragment)
    # "45 minutes" beside the service, and the choices are links to the next step
    html = await text(await client.get(query({"provider": str(cast.penny.id)})))
    assert "45 minutes" in html and "I don't know" in html
    assert (
        f'href="/appointments/new?provider={cast.penny.id}&amp;service={cast.service.id}"' in html
    )


async def test_month_and_day_links_swap_only_the_calendar_and_times(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    headers = {**HX, "HX-Target": "booking-when"}
    part = await client.get(query(flow(cast, day)), headers=headers)
    assert part.status_code == 200
    html = await text(part)
    assert html.lstrip().startswith('<div id="booking-when"')
    assert "<main" not in html and "Times on" in html
    assert f'id="day-{day.isoformat()}"' in html and 'aria-current="true"' in html
    # a day with openings carries its kinds in words, not colour alone
    assert "telehealth and in person times" in html
    assert "HX-Target" in part.headers["Vary"]


async def test_calendar_marks_today_and_telehealth_only_days(client, cast):
    day = await open_hours(cast, modality="telehealth")
    await sign_in(client, "alice")
    html = await text(await client.get(query(flow(cast, month=day.strftime("%Y-%m")))))
    assert "cal-day--today" in html or day.month != clock.now().astimezone(NY).month
    assert "telehealth times" in html and "in person times" not in html
    assert 'class="dot dot--person"' not in html.split('class="cal-legend"')[0]
    # a month past the booking horizon is just empty, not an error
    far = (clock.now() + timedelta(days=400)).strftime("%Y-%m")
    page = await client.get(query(flow(cast, month=far)))
    assert page.status_code == 200
    assert "No open times in" in await text(page)
    assert 'class="cal-link"' not in await text(page)


async def test_times_are_shown_in_the_clients_time_zone(client, cast):
    day = await open_hours(cast)
    cast.alice.time_zone = "America/Los_Angeles"
    await cast.alice.save()
    await sign_in(client, "alice")
    html = await text(await client.get(query(flow(cast, day))))
    times = re.findall(r'<span class="time">([^<]+)</span>', html)
    # 9:00-17:00 in New York is 6:00-14:00 in Los Angeles (45 minutes ends by 14:00)
    assert times[0] == "6:00\u202fAM", times
    assert "1:00\u202fPM" in times and "2:00\u202fPM" not in times
    assert "America/Los_Angeles" in html
    # the review speaks the client's time too
    review = await text(await client.get(query(pick(cast, day, hour=10))))
    assert "7:00\u202fAM – 7:45\u202fAM" in review


async def test_any_provider_lists_whose_time_each_is(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    html = await text(await client.get(query({**flow(cast, day), "provider": "any"})))
    assert 'class="time-provider">Penny<' in html


# ---------------------------------------------------------------- booking


async def test_booking_creates_the_appointment(client, cast):
    day = await open_hours(cast, mode="instant")
    await sign_in(client, "alice")
    values = pick(cast, day, hour=11, mode="telehealth")
    response = await post(client, NEW, values)
    assert response.status_code == 303
    booked = await Appointment.filter(client=cast.alice, starts_at=at(day, 11)).get()
    assert response.headers["Location"] == f"{NEW}/booked/{booked.id}"
    assert booked.provider_id == cast.penny.id
    assert booked.service_id == cast.service.id
    assert booked.telehealth is True
    assert booked.ends_at == at(day, 11, 45)
    assert booked.status == AppointmentStatus.SCHEDULED
    page = await client.get(response.headers["Location"])
    html = await text(page)
    assert page.status_code == 200 and "Appointment booked" in html
    assert "Undo" in html and "Schedule New Appointment" in html


async def test_in_request_mode_booking_is_a_request(client, cast):
    day = await open_hours(cast, mode="request")
    await sign_in(client, "alice")
    review = await text(await client.get(query(pick(cast, day))))
    assert "This is a request the practice will confirm" in review
    assert "Request appointment" in review
    response = await post(client, NEW, pick(cast, day), headers=HX)
    assert response.status_code == 200
    booked = await Appointment.filter(client=cast.alice, starts_at=at(day, 10)).get()
    assert booked.status == AppointmentStatus.REQUESTED
    assert booked.location_id == cast.office.id and booked.telehealth is False
    assert response.headers["HX-Push-Url"] == f"{NEW}/booked/{booked.id}"
    assert "Appointment requested" in await text(response)


async def test_undo_within_three_minutes(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    await post(client, NEW, pick(cast, day))
    booked = await Appointment.filter(client=cast.alice, starts_at=at(day, 10)).get()
    response = await post(client, f"{NEW}/booked/{booked.id}/undo")
    assert response.status_code == 303
    assert "undone=1" in response.headers["Location"]
    assert not await Appointment.filter(
        id=booked.id, status__in=["requested", "scheduled", "confirmed"]
    ).exists()
    assert "Your booking was undone." in await text(await client.get(response.headers["Location"]))


async def test_undo_after_three_minutes_is_refused(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    await post(client, NEW, pick(cast, day))
    booked = await Appointment.filter(client=cast.alice, starts_at=at(day, 10)).get()
    clock.travel(timedelta(minutes=4))
    page = await text(await client.get(f"{NEW}/booked/{booked.id}"))
    assert "/undo" not in page
    response = await post(client, f"{NEW}/booked/{booked.id}/undo")
    assert response.status_code == 422
    assert await Appointment.filter(id=booked.id, status="scheduled").exists()


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "values, status",
    [
        ({"provider": "abc"}, 400),
        ({"provider": "99999"}, 404),
        ({"provider": "9" * 40}, 400),
        ({"provider": "-1"}, 400),
        ({"service": "\x00"}, 400),
        ({"where": "moon"}, 400),
        ({"where": "99999"}, 404),
        ({"month": "2026-13"}, 400),
        ({"month": "0001-01"}, 400),
        ({"day": "2026-02-30"}, 400),
        ({"reschedule": "99999"}, 404),
        ({"reschedule": "x"}, 400),
    ],
)
async def test_malformed_or_unknown_parameters_are_4xx(client, cast, values, status):
    await open_hours(cast)
    await sign_in(client, "alice")
    response = await client.get(query({**flow(cast), **values}))
    assert response.status_code == status, (values, response.status_code)


async def test_a_tampered_time_is_refused(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    bad = [
        ({**pick(cast, day), "at": "2026-01-01T25:00Z"}, 400),
        ({**pick(cast, day), "at": "tomorrow"}, 400),
        ({**pick(cast, day), "mode": "teleport"}, 400),
        ({**pick(cast, day), "loc": ""}, 400),  # in person needs its office
        ({**pick(cast, day, mode="telehealth"), "loc": str(cast.office.id)}, 400),
        ({**pick(cast, day), "p": "99999"}, 404),
        ({k: v for k, v in pick(cast, day).items() if k != "where"}, 400),
    ]
    for values, status in bad:
        assert (await client.get(query(values))).status_code == status, values
        assert (await post(client, NEW, values)).status_code == status, values
    assert not await Appointment.filter(client=cast.alice, starts_at__gte=at(day, 0)).exists()


async def test_a_slot_not_offered_or_in_the_past_books_nothing(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    before = await Appointment.all().count()
    refusals = [
        pick(cast, day, hour=20),  # outside Penny's hours
        {**pick(cast, day), "at": stamp(at(day, 10, 7))},  # off the half-hour grid
        pick(cast, clock.now().astimezone(NY).date() - timedelta(days=2)),  # the past
        pick(cast, day + timedelta(days=120)),  # past the horizon
    ]
    for values in refusals:
        response = await post(client, NEW, values)
        assert response.status_code in (409, 422), (values, response.status_code)
        assert "Here are the times still open that day" in await text(response)
        review = await client.get(query(values))
        assert review.status_code in (409, 422)
    assert await Appointment.all().count() == before


async def test_another_practices_provider_service_or_location_is_404(client, cast):
    day = await open_hours(cast)
    other = await Practice.create(name="Elsewhere")
    their_service = await Service.create(practice=other, name="Theirs", duration_minutes=30)
    their_office = await Location.create(practice=other, name="Their office")
    user = await User.create(email="olga@test.example", display_name="Olga")
    olga = await StaffMember.create(practice=other, user=user, roles=["provider"])
    await AvailabilityBlock.create(
        provider=olga, weekday=day.weekday(), start_minute=540, end_minute=1020
    )
    hidden = await Service.create(practice=cast.practice, name="Staff only", self_schedulable=False)
    await sign_in(client, "alice")
    before = await Appointment.all().count()
    for values in (
        {**pick(cast, day), "service": str(their_service.id)},
        {**pick(cast, day), "service": str(hidden.id)},
        {**pick(cast, day), "provider": str(olga.id), "p": str(olga.id)},
        {**pick(cast, day), "where": str(their_office.id), "loc": str(their_office.id)},
        {**pick(cast, day), "loc": str(their_office.id)},
    ):
        assert (await client.get(query(values))).status_code == 404, values
        assert (await post(client, NEW, values)).status_code == 404, values
    assert await Appointment.all().count() == before


async def test_no_500_for_junk_forms(client, cast):
    await open_hours(cast)
    await sign_in(client, "alice")
    for form in ({}, {"at": "\x00", "p": "9" * 40}, {"provider": "any", "p": "1", "at": "x"}):
        response = await post(client, NEW, form, headers=HX)
        assert response.status_code in (400, 404, 422), (form, response.status_code)


async def test_a_slot_just_taken_shows_the_fresh_times(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    values = pick(cast, day, hour=10)
    assert (await client.get(query(values))).status_code == 200  # the review page
    # Bob books that time first.
    await Appointment.create(
        client=cast.bob,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=at(day, 10),
        ends_at=at(day, 10, 45),
        status=AppointmentStatus.SCHEDULED,
    )
    response = await post(client, NEW, values)
    assert response.status_code == 409
    html = await text(response)
    assert "That time was just taken" in html
    times = re.findall(r'<span class="time">([^<]+)</span>', html)
    assert "10:00\u202fAM" not in times and "9:00\u202fAM" in times and "2:00\u202fPM" in times
    assert await Appointment.filter(client=cast.alice, starts_at=at(day, 10)).count() == 0
    # with htmx the same page comes as a fragment htmx swaps (422)
    response = await post(client, NEW, values, headers=HX)
    assert response.status_code == 422
    assert "That time was just taken" in await text(response)


async def test_the_cap_on_upcoming_appointments_is_explained(client, cast):
    day = await open_hours(cast)
    cast.practice.portal_settings = {**cast.practice.portal_settings, "booking_max_upcoming": 2}
    await cast.practice.save()
    await sign_in(client, "alice")  # Alice already has two upcoming appointments
    page = await client.get(NEW)
    html = await text(page)
    assert page.status_code == 200
    assert "as many upcoming appointments as the practice allows" in html
    assert 'href="/appointments"' in html and "Go to My Appointments" in html
    response = await post(client, NEW, pick(cast, day))
    assert response.status_code == 422
    assert await Appointment.filter(client=cast.alice).count() == 3


async def test_self_scheduling_off_is_404(client, cast):
    await open_hours(cast)
    cast.alice.portal_overrides = {"self_scheduling": False}
    await cast.alice.save()
    await sign_in(client, "alice")
    assert (await client.get(NEW)).status_code == 404
    assert (await client.get(NEW, headers=HX)).status_code == 404


async def test_a_provider_who_does_not_take_online_bookings_is_not_offered(client, cast):
    day = await open_hours(cast)
    user = await User.create(email="nora@test.example", display_name="Nora")
    nora = await StaffMember.create(
        practice=cast.practice,
        user=user,
        roles=["provider"],
        portal_overrides={"self_scheduling": False},
    )
    await AvailabilityBlock.create(provider=nora, weekday=0, start_minute=540, end_minute=1020)
    await sign_in(client, "alice")
    assert "Nora" not in await text(await client.get(NEW))
    assert (
        await client.get(query({**flow(cast, day), "provider": str(nora.id)}))
    ).status_code == 404


# ---------------------------------------------------------------- rescheduling


async def test_reschedule_preselects_and_moves_the_appointment(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    start = await client.get(f"{NEW}?reschedule={cast.a_soon.id}")
    assert start.status_code == 303
    location = start.headers["Location"]
    assert f"provider={cast.penny.id}" in location and f"service={cast.service.id}" in location
    page = await text(await client.get(location))
    assert "Reschedule an Appointment" in page and "Moving your appointment of" in page
    values = pick(cast, day, hour=14, reschedule=str(cast.a_soon.id))
    review = await text(await client.get(query(values)))
    assert 'name="reschedule"' in review
    response = await post(client, NEW, values)
    assert response.status_code == 303, await text(response)
    old = await Appointment.get(id=cast.a_soon.id)
    new = await Appointment.filter(client=cast.alice, starts_at=at(day, 14)).get()
    assert old.status in (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED)
    assert new.rescheduled_from_id == old.id
    assert new.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.REQUESTED)


async def test_undoing_a_reschedule_puts_the_old_appointment_back(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    await post(client, NEW, pick(cast, day, hour=14, reschedule=str(cast.a_soon.id)))
    new = await Appointment.filter(client=cast.alice, starts_at=at(day, 14)).get()
    page = await text(await client.get(f"{NEW}/booked/{new.id}"))
    assert "This replaces your appointment of" in page
    response = await post(client, f"{NEW}/booked/{new.id}/undo")
    assert response.status_code == 303 and "undone=moved" in response.headers["Location"]
    assert (await Appointment.get(id=cast.a_soon.id)).status == AppointmentStatus.SCHEDULED
    assert (await Appointment.get(id=new.id)).status == AppointmentStatus.CANCELLED
    html = await text(await client.get(response.headers["Location"]))
    assert "Undone: your appointment is back at its old time." in html


async def test_a_providers_own_scheduling_mode_is_what_the_review_says(client, cast):
    day = await open_hours(cast, mode="request")
    cast.penny.portal_overrides = {"scheduling_mode": "instant"}
    await cast.penny.save()
    await sign_in(client, "alice")
    review = await text(await client.get(query(pick(cast, day))))
    assert "This books the appointment now" in review and "Book appointment" in review


async def test_another_clients_or_a_past_appointment_cannot_be_rescheduled(client, cast):
    day = await open_hours(cast)
    await sign_in(client, "alice")
    for appointment in (cast.b_soon, cast.c_soon, cast.a_past):
        assert (await client.get(f"{NEW}?reschedule={appointment.id}")).status_code == 404
        values = pick(cast, day, reschedule=str(appointment.id))
        assert (await post(client, NEW, values)).status_code == 404
    assert (await Appointment.get(id=cast.b_soon.id)).status == AppointmentStatus.SCHEDULED
    assert not await Appointment.filter(starts_at=at(day, 10)).exists()


async def test_another_clients_booking_page_is_404(client, cast):
    await sign_in(client, "alice")
    assert (await client.get(f"{NEW}/booked/{cast.b_soon.id}")).status_code == 404
    assert (await post(client, f"{NEW}/booked/{cast.b_soon.id}/undo")).status_code == 404
    assert (await Appointment.get(id=cast.b_soon.id)).status == AppointmentStatus.SCHEDULED


async def test_a_guardian_books_for_the_child_they_act_for(client, cast):
    day = await open_hours(cast)
    # Booking is its own right (models/access.py): Gina gets it for Charlie.
    await Contact.filter(client_id=cast.charlie.id, user_id=cast.gina.id).update(
        scopes=["appointments", "booking", "forms"]
    )
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    response = await post(client, NEW, pick(cast, day))
    assert response.status_code == 303
    booked = await Appointment.filter(starts_at=at(day, 10)).get()
    assert booked.client_id == cast.charlie.id


async def test_the_calendar_speaks_the_clients_language(client, cast):
    day = await open_hours(cast)
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await sign_in(client, "alice")
    html = await text(await client.get(query(flow(cast, day))))
    headers = re.findall(r'<abbr title="([^"]+)">', html)
    assert headers[0] == "lunes" and headers[-1] == "domingo"  # weeks start on Monday
    assert " de " in re.search(r'id="times-title">([^<]+)<', html)[1]  # "martes, 1 de diciembre"


async def test_a_client_at_the_cap_may_still_reschedule(client, cast):
    day = await open_hours(cast)
    cast.practice.portal_settings = {**cast.practice.portal_settings, "booking_max_upcoming": 2}
    await cast.practice.save()
    await sign_in(client, "alice")
    values = pick(cast, day, hour=15, reschedule=str(cast.a_soon.id))
    page = await client.get(query(values))
    assert page.status_code == 200 and "Move my appointment" in await text(page)
    assert (await post(client, NEW, values)).status_code == 303
    assert await Appointment.filter(client=cast.alice, starts_at=at(day, 15)).exists()


async def test_with_no_provider_hours_the_page_says_so(client, cast):
    await sign_in(client, "alice")  # Penny has no availability yet
    html = await text(await client.get(NEW))
    assert "No provider takes online bookings at the moment" in html
    assert 'class="choices"' not in html
