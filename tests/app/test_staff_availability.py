"""/staff/availability: weekly hours and dated exceptions, who may edit whose, bad input."""

import asyncio
from datetime import timedelta

import pytest

from models import availability
from models.audit import AuditEvent
from models.errors import RuleError
from models.people import StaffMember, User
from models.practice import Location, Practice
from models.scheduling import AvailabilityBlock, AvailabilityException
from tests.helpers import HX, post, sign_in

PAGE = "/staff/availability"
TZ = "America/New_York"


async def make_provider(practice, name: str, roles=("provider",)) -> StaffMember:
    user = await User.create(
        email=f"{name.lower()}@test.example",
        display_name=name,
        password_hash=(await User.filter(email="penny@test.example").first()).password_hash,
    )
    return await StaffMember.create(practice=practice, user=user, roles=list(roles))


@pytest.fixture
async def paul(cast):
    """A second provider of the cast's practice."""
    return await make_provider(cast.practice, "Paul")


@pytest.fixture
async def elsewhere(cast):
    """Another practice, with a provider (Quinn), an admin (Olga) and an office."""
    practice = await Practice.create(name="Elsewhere")
    quinn = await make_provider(practice, "Quinn")
    olga = await make_provider(practice, "Olga", roles=("admin",))
    office = await Location.create(practice=practice, name="Far office")
    return practice, quinn, olga, office


def block_form(cast, **fields) -> dict:
    return {
        "provider": str(cast.penny.id),
        "weekday": "0",
        "start": "09:00",
        "end": "12:00",
        "location": str(cast.office.id),
        "modality": "both",
        **fields,
    }


def exception_form(cast, days_ahead: int = 7, **fields) -> dict:
    day = availability.practice_today(TZ) + timedelta(days=days_ahead)
    return {
        "provider": str(cast.penny.id),
        "date": day.isoformat(),
        "kind": "off",
        "start": "",
        "end": "",
        "location": "",
        "modality": "both",
        **fields,
    }


async def add_block(client, cast, headers=None, **fields):
    return await post(
        client, PAGE + "/blocks", block_form(cast, **fields), token_from=PAGE, headers=headers
    )


async def add_exception(client, cast, days_ahead=7, headers=None, **fields):
    return await post(
        client,
        PAGE + "/exceptions",
        exception_form(cast, days_ahead, **fields),
        token_from=PAGE,
        headers=headers,
    )


async def state():
    """Everything a refused request must leave alone."""
    return (
        await AvailabilityBlock.all().order_by("id").values(),
        await AvailabilityException.all().order_by("id").values(),
        await AuditEvent.filter(action="availability.changed").count(),
    )


async def text(response) -> str:
    return await response.get_data(as_text=True)


async def signed_in(app, who: str):
    """A fresh browser signed in as ``who`` (a cast name or an email)."""
    client = app.test_client()
    assert (await sign_in(client, who)).status_code == 303, who
    return client


# ---- weekly blocks --------------------------------------------------------------------


async def test_a_provider_adds_and_removes_a_weekly_block_without_javascript(client, cast):
    await sign_in(client, "penny")
    response = await add_block(client, cast)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}?provider={cast.penny.id}&notice=block_added"
    block = await AvailabilityBlock.get(provider_id=cast.penny.id)
    assert (block.weekday, block.start_minute, block.end_minute) == (0, 540, 720)
    assert block.location_id == cast.office.id and block.modality == "both"

    html = await text(await client.get(response.headers["Location"]))
    assert "Weekly hours added." in html
    assert "Monday 09:00–12:00" in html and "In person or telehealth · Office" in html

    event = await AuditEvent.get(action="availability.changed")
    assert event.category == "scheduling" and event.actor_id == cast.penny.user_id
    assert event.object_type == "availabilityblock" and event.object_id == str(block.id)
    assert event.details["change"] == "block_added"
    assert event.details["provider_id"] == cast.penny.id
    assert event.client_id is None and event.ip

    response = await post(client, f"{PAGE}/blocks/{block.id}/delete", token_from=PAGE)
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "notice=block_deleted"
    )
    assert not await AvailabilityBlock.exists(id=block.id)
    changes = await AuditEvent.filter(action="availability.changed").order_by("id")
    assert [e.details["change"] for e in changes] == ["block_added", "block_deleted"]
    assert "No weekly hours yet" in await text(await client.get(PAGE))


async def test_with_htmx_the_page_block_comes_back_in_place(client, cast):
    await sign_in(client, "penny")
    response = await add_block(client, cast, headers=HX, weekday="5", modality="telehealth")
    html = await text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and 'id="main"' in html
    assert "Weekly hours added." in html and "Saturday 09:00–12:00" in html
    block = await AvailabilityBlock.get()
    response = await post(client, f"{PAGE}/blocks/{block.id}/delete", token_from=PAGE, headers=HX)
    assert response.status_code == 200 and "Weekly hours removed." in await text(response)
    assert await AvailabilityBlock.all().count() == 0


@pytest.mark.parametrize("end", ["24:00", "00:00"])
async def test_an_end_of_midnight_is_the_end_of_the_day(client, cast, end):
    await sign_in(client, "penny")
    assert (await add_block(client, cast, start="18:00", end=end)).status_code == 303
    assert (await AvailabilityBlock.get()).end_minute == 24 * 60
    assert "18:00–24:00" in await text(await client.get(PAGE))


async def test_blocks_may_touch_and_other_days_are_independent(client, cast):
    await sign_in(client, "penny")
    assert (await add_block(client, cast)).status_code == 303
    assert (await add_block(client, cast, start="12:00", end="13:00")).status_code == 303
    assert (await add_block(client, cast, weekday="1", start="10:00")).status_code == 303
    assert await AvailabilityBlock.all().count() == 3


BAD_BLOCKS = [
    ({"start": "12:00", "end": "09:00"}, "The end must be after the start."),
    ({"start": "09:00", "end": "09:00"}, "The end must be after the start."),
    ({"start": "09:10"}, "quarter hour"),
    ({"end": "12:05"}, "quarter hour"),
    ({"start": "25:00"}, "Enter a time like 09:00"),
    ({"start": "24:00", "end": "24:00"}, "Enter a time like 09:00"),
    ({"end": "24:15"}, "Enter a time like 09:00"),
    ({"start": "9:00"}, "Enter a time like 09:00"),
    ({"start": "09:60"}, "Enter a time like 09:00"),
    ({"start": ""}, "Enter a time like 09:00"),
    ({"start": "\x0009:00"}, "Enter a time like 09:00"),
    ({"start": "０９:００"}, "Enter a time like 09:00"),
    ({"start": "99999999999999999999:00"}, "Enter a time like 09:00"),
    ({"weekday": "7"}, "Choose one of the options."),
    ({"weekday": "-1"}, "Choose one of the options."),
    ({"weekday": "9" * 40}, "Choose one of the options."),
    ({"weekday": "²"}, "Choose one of the options."),
    ({"modality": "virtual"}, "Choose one of the options."),
    ({"location": "abc"}, "Choose one of the options."),
    ({"location": "9" * 40}, "Choose one of the options."),
    ({"location": "0"}, "Choose one of the options."),
    ({"modality": "in_person", "location": ""}, "need an office"),
    ({"modality": "both", "location": ""}, "need an office"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_BLOCKS, ids=lambda v: repr(v)[:40])
async def test_a_bad_block_is_422_with_the_form_and_nothing_changes(client, cast, fields, message):
    await sign_in(client, "penny")
    before = await state()
    for headers in (None, HX):
        response = await add_block(client, cast, headers=headers, **fields)
        html = await text(response)
        assert response.status_code == 422, html[-2000:]
        assert message in html and 'aria-invalid="true"' in html
    assert await state() == before


async def test_an_overlapping_block_is_refused(client, cast):
    await sign_in(client, "penny")
    await add_block(client, cast)
    before = await state()
    for start, end in (
        ("11:00", "13:00"),
        ("08:00", "09:15"),
        ("10:00", "11:00"),
        ("00:00", "24:00"),
    ):
        response = await add_block(client, cast, start=start, end=end)
        assert response.status_code == 422, (start, end)
        html = await text(response)
        assert "overlaps other hours on that day" in html
        assert f'value="{start}"' in html  # the input is kept
    assert await state() == before


async def test_another_practices_or_an_inactive_location_is_refused(client, cast, elsewhere):
    _, _, _, far_office = elsewhere
    closed = await Location.create(practice=cast.practice, name="Closed", active=False)
    await sign_in(client, "penny")
    before = await state()
    for location in (far_office, closed):
        response = await add_block(client, cast, location=str(location.id))
        assert response.status_code == 422
    assert await state() == before
    html = await text(await client.get(PAGE))
    assert "Far office" not in html and "Closed" not in html


async def test_a_telehealth_block_needs_no_location(client, cast):
    await sign_in(client, "penny")
    response = await add_block(client, cast, location="", modality="telehealth")
    assert response.status_code == 303
    block = await AvailabilityBlock.get()
    assert block.location_id is None and block.modality == "telehealth"


async def test_overlapping_blocks_added_at_once_do_not_both_pass(cast):
    async def add(start: int, end: int):
        return await availability.add_block(
            cast.penny,
            weekday=2,
            start_minute=start,
            end_minute=end,
            location=cast.office,
            modality="both",
            by=cast.penny.user_id,
        )

    results = await asyncio.gather(
        add(540, 720), add(600, 780), add(660, 840), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, RuleError)]
    assert len(refused) == 2 and {r.code for r in refused} == {"availability_overlap"}
    assert await AvailabilityBlock.all().count() == 1


# ---- exceptions -----------------------------------------------------------------------


async def test_a_provider_adds_a_day_off_time_off_and_extra_hours_then_removes_one(client, cast):
    await sign_in(client, "penny")
    response = await add_exception(client, cast)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("notice=exception_added")
    assert (await add_exception(client, cast, 8, start="13:00", end="15:30")).status_code == 303
    response = await add_exception(
        client,
        cast,
        9,
        kind="extra",
        start="17:00",
        end="19:00",
        location=str(cast.office.id),
        modality="in_person",
    )
    assert response.status_code == 303
    day_off, afternoon, extra = await AvailabilityException.all().order_by("date")
    assert (day_off.kind, day_off.start_minute, day_off.end_minute) == ("off", None, None)
    assert day_off.date == availability.practice_today(TZ) + timedelta(days=7)
    assert (afternoon.kind, afternoon.start_minute, afternoon.end_minute) == ("off", 780, 930)
    assert afternoon.location_id is None
    assert (extra.kind, extra.start_minute, extra.end_minute) == ("extra", 1020, 1140)
    assert extra.location_id == cast.office.id and extra.modality == "in_person"

    html = await text(await client.get(PAGE))
    assert "All day" in html and "13:00–15:30" in html and "17:00–19:00" in html
    assert "Time off" in html and "Extra hours" in html

    response = await post(client, f"{PAGE}/exceptions/{afternoon.id}/delete", token_from=PAGE)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("notice=exception_deleted")
    assert await AvailabilityException.all().count() == 2
    changes = await AuditEvent.filter(action="availability.changed").order_by("id")
    assert [e.details["change"] for e in changes] == [
        "exception_added",
        "exception_added",
        "exception_added",
        "exception_deleted",
    ]
    assert changes[0].details["date"] == day_off.date.isoformat()


async def test_today_and_a_year_ahead_are_the_edges(client, cast):
    await sign_in(client, "penny")
    today = availability.practice_today(TZ)
    last = availability.a_year_after(today)
    assert (await add_exception(client, cast, 0)).status_code == 303
    assert (await add_exception(client, cast, (last - today).days)).status_code == 303
    before = await state()
    for days in (-1, (last - today).days + 1):
        response = await add_exception(client, cast, days)
        assert response.status_code == 422, days
    assert await state() == before


BAD_EXCEPTIONS = [
    ({"date": ""}, "This field is required."),
    ({"date": "2026-02-30"}, "Enter a date like 2026-01-31."),
    ({"date": "99999-01-01"}, "Enter a date like 2026-01-31."),
    ({"date": "\x00"}, "Enter a date like 2026-01-31."),
    ({"date": "1999-01-01"}, "from today on"),
    ({"date": "2199-01-01"}, "at most a year ahead"),
    ({"kind": "vacation"}, "Choose one of the options."),
    ({"start": "10:00"}, "Enter a time like 09:00"),
    ({"start": "15:00", "end": "14:00"}, "The end must be after the start."),
    ({"start": "10:07", "end": "11:00"}, "quarter hour"),
    ({"kind": "extra"}, "Enter a time like 09:00"),
    ({"kind": "extra", "start": "10:00", "end": "11:00"}, "need an office"),
    (
        {"kind": "extra", "start": "10:00", "end": "11:00", "location": "9" * 30},
        "Choose one of the options.",
    ),
    (
        {"kind": "extra", "start": "10:00", "end": "11:00", "modality": "\x00"},
        "Choose one of the options.",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_EXCEPTIONS, ids=lambda v: repr(v)[:40])
async def test_a_bad_exception_is_422_with_the_form_and_nothing_changes(
    client, cast, fields, message
):
    await sign_in(client, "penny")
    before = await state()
    for headers in (None, HX):
        response = await add_exception(client, cast, headers=headers, **fields)
        html = await text(response)
        assert response.status_code == 422, html[-2000:]
        assert message in html and 'aria-invalid="true"' in html
    assert await state() == before


async def test_past_exceptions_are_not_listed(client, cast):
    today = availability.practice_today(TZ)
    await AvailabilityException.create(
        provider=cast.penny, date=today - timedelta(days=1), kind="off"
    )
    await sign_in(client, "penny")
    assert "No time off or extra hours coming up." in await text(await client.get(PAGE))


# ---- services -------------------------------------------------------------------------


async def test_services_show_their_length_and_buffer(client, cast):
    await sign_in(client, "sid")
    html = await text(await client.get(PAGE))
    assert "Session" in html and "45 min" in html and "10 min" in html


# ---- who may edit whose calendar ------------------------------------------------------


async def test_schedulers_and_admins_pick_any_provider_of_their_practice(app, client, cast, paul):
    await sign_in(client, "sid")
    html = await text(await client.get(PAGE))
    assert 'id="pick-provider"' in html and "Paul" in html and "Penny" in html
    assert "Sid" not in html.split('id="pick-provider"')[1].split("</select>")[0]
    html = await text(await client.get(f"{PAGE}?provider={paul.id}"))
    assert "Availability: Paul" in html
    response = await add_block(client, cast, provider=str(paul.id))
    assert response.headers["Location"] == f"{PAGE}?provider={paul.id}&notice=block_added"
    block = await AvailabilityBlock.get()
    assert block.provider_id == paul.id
    assert (await AuditEvent.get(action="availability.changed")).actor_id == cast.sid.user_id

    ada = await signed_in(app, "ada")
    response = await post(ada, f"{PAGE}/blocks/{block.id}/delete", token_from=PAGE)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{PAGE}?provider={paul.id}&")
    assert await AvailabilityBlock.all().count() == 0


async def test_a_provider_sees_no_picker_and_cannot_touch_another_calendar(client, cast, paul):
    theirs = await AvailabilityBlock.create(
        provider=paul, weekday=0, start_minute=540, end_minute=600, modality="telehealth"
    )
    day_off = await AvailabilityException.create(
        provider=paul, date=availability.practice_today(TZ) + timedelta(days=3), kind="off"
    )
    await sign_in(client, "penny")
    html = await text(await client.get(PAGE))
    assert 'id="pick-provider"' not in html and "Paul" not in html
    assert (await client.get(f"{PAGE}?provider={cast.penny.id}")).status_code == 200
    before = await state()
    assert (await client.get(f"{PAGE}?provider={paul.id}")).status_code == 404
    assert (await add_block(client, cast, provider=str(paul.id))).status_code == 404
    assert (await add_exception(client, cast, provider=str(paul.id))).status_code == 404
    for path in (f"{PAGE}/blocks/{theirs.id}/delete", f"{PAGE}/exceptions/{day_off.id}/delete"):
        assert (await post(client, path, token_from=PAGE)).status_code == 404
    assert await state() == before


async def test_another_practices_provider_is_a_404(app, cast, elsewhere):
    _, quinn, _, _ = elsewhere
    theirs = await AvailabilityBlock.create(
        provider=quinn, weekday=0, start_minute=540, end_minute=600, modality="telehealth"
    )
    before = await state()
    for who in ("sid", "ada"):
        client = await signed_in(app, who)
        assert (await client.get(f"{PAGE}?provider={quinn.id}")).status_code == 404
        assert (await add_block(client, cast, provider=str(quinn.id))).status_code == 404
        assert (await add_exception(client, cast, provider=str(quinn.id))).status_code == 404
        response = await post(client, f"{PAGE}/blocks/{theirs.id}/delete", token_from=PAGE)
        assert response.status_code == 404
    assert await state() == before


async def test_another_practices_admin_cannot_see_or_change_ours(app, cast, elsewhere):
    _, _, olga, _ = elsewhere
    ours = await AvailabilityBlock.create(
        provider=cast.penny, weekday=0, start_minute=540, end_minute=600, modality="telehealth"
    )
    client = await signed_in(app, "olga@test.example")
    html = await text(await client.get(PAGE))
    assert "Penny" not in html
    before = await state()
    assert (await client.get(f"{PAGE}?provider={cast.penny.id}")).status_code == 404
    assert (await add_block(client, cast)).status_code == 404
    assert (
        await post(client, f"{PAGE}/blocks/{ours.id}/delete", token_from=PAGE)
    ).status_code == 404
    assert await state() == before


async def test_a_biller_gets_403_and_a_client_404(app, cast):
    block = await AvailabilityBlock.create(
        provider=cast.penny, weekday=0, start_minute=540, end_minute=600, modality="telehealth"
    )
    before = await state()
    for who, status in (("bea", 403), ("alice", 404), ("gina", 404)):
        client = await signed_in(app, who)
        assert (await client.get(PAGE)).status_code == status, who
        token_from = "/staff/" if who == "bea" else "/dashboard"
        for path, form in (
            (PAGE + "/blocks", block_form(cast)),
            (PAGE + "/exceptions", exception_form(cast)),
            (f"{PAGE}/blocks/{block.id}/delete", {}),
        ):
            response = await post(client, path, form, token_from=token_from)
            assert response.status_code == status, (who, path)
    assert await state() == before


async def test_anonymous_visitors_are_sent_to_sign_in(client, cast):
    response = await client.get(PAGE)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


async def test_the_staff_menu_links_availability_by_role(app, cast):
    for who, shown in (("penny", True), ("sid", True), ("ada", True), ("bea", False)):
        client = await signed_in(app, who)
        html = await text(await client.get("/staff/"))
        assert ('href="/staff/availability"' in html) is shown, who


# ---- hostile input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["abc", "0", "-1", "9" * 40, "\x00", "1\x00", "²", "１", " 1", "0x1", "1.0"]
)
async def test_a_tampered_provider_id_is_a_404_never_a_500(client, cast, value):
    await sign_in(client, "sid")
    before = await state()
    assert (await client.get(PAGE, query_string={"provider": value})).status_code == 404
    assert (await add_block(client, cast, provider=value)).status_code == 404
    assert (await add_exception(client, cast, provider=value)).status_code == 404
    assert await state() == before


@pytest.mark.parametrize(
    "path",
    [
        "/blocks/99999999999999999999/delete",
        "/blocks/0/delete",
        "/blocks/-1/delete",
        "/blocks/abc/delete",
        "/blocks/2147483647/delete",
        "/exceptions/2147483648/delete",
        "/exceptions/1/delete",
        "/blocks/1",
    ],
)
async def test_tampered_ids_on_delete_are_404_never_500(client, cast, path):
    await sign_in(client, "ada")
    response = await post(client, PAGE + path, token_from=PAGE)
    assert response.status_code in (404, 405), (path, response.status_code)


async def test_junk_forms_never_500(client, cast):
    await sign_in(client, "ada")
    before = await state()
    junk = [
        {},
        {"provider": str(cast.penny.id)},
        {k: "\x00" * 50 for k in block_form(cast)},
        {k: "9" * 5000 for k in block_form(cast)},
        {**block_form(cast), "start": "09:00:00.000", "end": "12:00\n"},
        {**exception_form(cast), "date": "2026-W01-1", "kind": ["off", "extra"][0] * 100},
        {**exception_form(cast), "start": "-1:00", "end": "+1:00"},
    ]
    for form in junk:
        for path in (PAGE + "/blocks", PAGE + "/exceptions"):
            response = await post(client, path, form, token_from=PAGE, headers=HX)
            assert response.status_code in (404, 422), (path, form, response.status_code)
    assert await state() == before
