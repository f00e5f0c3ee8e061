"""Locations and services at /admin/locations and /admin/services (issue 9): an admin
adds, edits, deactivates and reactivates each; every change is audited once with the
fields it changed; bad input is a 422 next to its field that changes nothing; a
location with upcoming appointments, or the last active one, stays active; a
deactivated service is no longer offered to clients; only admins get in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.routes.booking import offer_for
from models.audit import AuditEvent
from models.ledger import LedgerEntry
from models.practice import Location, Practice, Service
from models.scheduling import AppointmentStatus, AvailabilityBlock
from tests.helpers import HX, post, sign_in

LOCATIONS = "/admin/locations"
SERVICES = "/admin/services"

A_LOCATION = {
    "name": "Riverside office",
    "address_line1": "12 Main St",
    "address_line2": "Suite 4",
    "city": "Asheville",
    "region": "NC",
    "postal_code": "28801",
}
A_SERVICE = {
    "name": "Couples therapy",
    "cpt_code": "90847",
    "duration_minutes": "50",
    "buffer_minutes": "10",
    "fee": "175.50",
    "self_schedulable": "1",
}


async def audits(action: str) -> list[AuditEvent]:
    return await AuditEvent.filter(action=action).order_by("id")


async def text(response) -> str:
    return await response.get_data(as_text=True)


async def other_practice() -> tuple[Location, Service]:
    other = await Practice.create(name="Elsewhere")
    location = await Location.create(practice=other, name="Their office")
    service = await Service.create(practice=other, name="Their session", cpt_code="90834")
    return location, service


# ---------------------------------------------------------------- locations


async def test_an_admin_adds_edits_and_reactivates_a_location(client, cast):
    await sign_in(client, "ada")
    page = await client.get(LOCATIONS)
    assert page.status_code == 200 and "Office" in await text(page)

    added = await post(client, LOCATIONS, A_LOCATION, token_from=LOCATIONS)
    assert added.status_code == 303 and added.headers["Location"] == f"{LOCATIONS}?notice=added"
    row = await Location.get(practice_id=cast.practice.id, name="Riverside office")
    assert (row.city, row.postal_code, row.active, row.telehealth) == (
        "Asheville",
        "28801",
        True,
        False,
    )
    listed = await text(await client.get(f"{LOCATIONS}?notice=added"))
    assert "Added." in listed and "12 Main St, Suite 4, Asheville, NC 28801" in listed
    [event] = await audits("settings.location")
    assert event.category == "settings" and event.object_type == "location"
    assert event.object_id == str(row.id) and event.actor_id == cast.ada.user_id
    assert event.details["change"] == "add"
    assert event.details["fields"]["name"] == {"old": None, "new": "Riverside office"}

    edit = await client.get(f"{LOCATIONS}/{row.id}")
    assert edit.status_code == 200 and 'value="12 Main St"' in await text(edit)
    changed = {**A_LOCATION, "postal_code": "28801-1234", "hide_address": "1"}
    saved = await post(client, f"{LOCATIONS}/{row.id}", changed, token_from=LOCATIONS)
    assert saved.headers["Location"] == f"{LOCATIONS}?notice=saved"
    row = await Location.get(id=row.id)
    assert (row.postal_code, row.hide_address) == ("28801-1234", True)
    event = (await audits("settings.location"))[-1]
    assert event.details == {
        "change": "edit",
        "fields": {
            "postal_code": {"old": "28801", "new": "28801-1234"},
            "hide_address": {"old": False, "new": True},
        },
    }
    again = await post(client, f"{LOCATIONS}/{row.id}", changed, token_from=LOCATIONS)
    assert again.headers["Location"] == f"{LOCATIONS}?notice=unchanged"
    assert len(await audits("settings.location")) == 2

    off = await post(client, f"{LOCATIONS}/{row.id}/active", {"active": "0"}, token_from=LOCATIONS)
    assert off.headers["Location"] == f"{LOCATIONS}?notice=deactivated"
    assert (await Location.get(id=row.id)).active is False
    repeat = await post(
        client, f"{LOCATIONS}/{row.id}/active", {"active": "0"}, token_from=LOCATIONS
    )
    assert repeat.headers["Location"] == f"{LOCATIONS}?notice=unchanged"
    on = await post(
        client, f"{LOCATIONS}/{row.id}/active", {"active": "1"}, token_from=LOCATIONS, headers=HX
    )
    assert on.status_code == 200 and "Reactivated." in await text(on)
    assert (await Location.get(id=row.id)).active is True
    changes = [e.details["change"] for e in await audits("settings.location")]
    assert changes == ["add", "edit", "deactivate", "reactivate"]
    assert (await audits("settings.location"))[-1].details["fields"] == {
        "active": {"old": False, "new": True}
    }


async def test_a_telehealth_location_has_no_address(client, cast):
    await sign_in(client, "ada")
    video = {**A_LOCATION, "name": "Video", "telehealth": "1", "postal_code": "not a zip"}
    response = await post(client, LOCATIONS, video, token_from=LOCATIONS, headers=HX)
    assert response.status_code == 200 and "Added." in await text(response)
    row = await Location.get(name="Video")
    assert row.telehealth and (row.address_line1, row.city, row.postal_code) == ("", "", "")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"address_line1": "x" * 201}, "address_line1"),
        ({"city": "x" * 101}, "city"),
        ({"region": "x" * 65}, "region"),
        ({"postal_code": "2880"}, "postal_code"),
        ({"postal_code": "28801-12"}, "postal_code"),
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"telehealth": "yes"}, "telehealth"),
        ({"name": "Bad\x00name"}, "name"),
    ],
)
async def test_bad_location_input_is_422_next_to_its_field(client, cast, changes, field):
    await sign_in(client, "ada")
    before = await Location.filter(practice_id=cast.practice.id).count()
    for path in (LOCATIONS, f"{LOCATIONS}/{cast.office.id}"):
        response = await post(client, path, {**A_LOCATION, **changes}, token_from=LOCATIONS)
        html = await text(response)
        assert response.status_code == 422, path
        assert f'id="loc-{field}-error"' in html and 'aria-invalid="true"' in html
    assert await Location.filter(practice_id=cast.practice.id).count() == before
    office = await Location.get(id=cast.office.id)
    assert (office.name, office.city) == ("Office", "")
    assert await audits("settings.location") == []


async def test_a_location_with_upcoming_appointments_stays_active(client, cast):
    await sign_in(client, "ada")
    spare = await Location.create(practice=cast.practice, name="Spare room")
    response = await post(
        client, f"{LOCATIONS}/{cast.office.id}/active", {"active": "0"}, token_from=LOCATIONS
    )
    html = await text(response)
    assert response.status_code == 422 and "upcoming appointments" in html
    assert (await Location.get(id=cast.office.id)).active is True
    assert await audits("settings.location") == []

    # Once they are cancelled, or have passed, it can go.
    for appointment in (cast.a_soon, cast.a_tomorrow, cast.b_soon, cast.c_soon):
        appointment.status = AppointmentStatus.CANCELLED
        await appointment.save()
    past = await post(
        client, f"{LOCATIONS}/{cast.office.id}/active", {"active": "0"}, token_from=LOCATIONS
    )
    assert past.status_code == 303 and (await Location.get(id=cast.office.id)).active is False
    assert (await Location.get(id=spare.id)).active is True


async def test_the_last_active_location_stays_active(client, cast):
    await sign_in(client, "ada")
    empty = await Location.create(practice=cast.practice, name="Annex")
    cast.office.active = False
    await cast.office.save()
    response = await post(
        client, f"{LOCATIONS}/{empty.id}/active", {"active": "0"}, token_from=LOCATIONS
    )
    html = await text(response)
    assert response.status_code == 422 and "Keep at least one active location" in html
    assert (await Location.get(id=empty.id)).active is True
    assert await audits("settings.location") == []


async def test_a_tampered_active_value_is_422(client, cast):
    await sign_in(client, "ada")
    for value in ("", "yes", "2"):
        response = await post(
            client, f"{LOCATIONS}/{cast.office.id}/active", {"active": value}, token_from=LOCATIONS
        )
        assert response.status_code == 422
    assert (await Location.get(id=cast.office.id)).active is True


# ---------------------------------------------------------------- services


async def test_an_admin_adds_edits_deactivates_and_reactivates_a_service(client, cast):
    await sign_in(client, "ada")
    added = await post(client, SERVICES, A_SERVICE, token_from=SERVICES)
    assert added.headers["Location"] == f"{SERVICES}?notice=added"
    row = await Service.get(practice_id=cast.practice.id, name="Couples therapy")
    assert (row.cpt_code, row.duration_minutes, row.buffer_minutes, row.fee_cents) == (
        "90847",
        50,
        10,
        17550,
    )
    assert row.self_schedulable and row.active
    listed = await text(await client.get(SERVICES))
    assert "Couples therapy" in listed and "$175.50" in listed
    assert "applies to new charges only" in listed

    edit = await text(await client.get(f"{SERVICES}/{row.id}"))
    assert 'value="175.50"' in edit and 'value="90847"' in edit
    changed = {**A_SERVICE, "cpt_code": "0591t", "fee": "$200", "duration_minutes": "480"}
    del changed["self_schedulable"]
    saved = await post(client, f"{SERVICES}/{row.id}", changed, token_from=SERVICES, headers=HX)
    assert saved.status_code == 200 and "Changes saved." in await text(saved)
    row = await Service.get(id=row.id)
    assert (row.cpt_code, row.fee_cents, row.duration_minutes, row.self_schedulable) == (
        "0591T",
        20000,
        480,
        False,
    )
    event = (await audits("settings.service"))[-1]
    assert event.object_type == "service" and event.object_id == str(row.id)
    assert event.details == {
        "change": "edit",
        "fields": {
            "cpt_code": {"old": "90847", "new": "0591T"},
            "duration_minutes": {"old": 50, "new": 480},
            "fee_cents": {"old": 17550, "new": 20000},
            "self_schedulable": {"old": True, "new": False},
        },
    }
    again = await post(client, f"{SERVICES}/{row.id}", changed, token_from=SERVICES)
    assert again.headers["Location"] == f"{SERVICES}?notice=unchanged"

    off = await post(client, f"{SERVICES}/{row.id}/active", {"active": "0"}, token_from=SERVICES)
    assert off.headers["Location"] == f"{SERVICES}?notice=deactivated"
    assert (await Service.get(id=row.id)).active is False
    on = await post(client, f"{SERVICES}/{row.id}/active", {"active": "1"}, token_from=SERVICES)
    assert on.headers["Location"] == f"{SERVICES}?notice=reactivated"
    assert (await Service.get(id=row.id)).active is True
    changes = [e.details["change"] for e in await audits("settings.service")]
    assert changes == ["add", "edit", "deactivate", "reactivate"]


async def test_a_fee_change_leaves_the_ledger_alone(client, cast):
    await sign_in(client, "ada")
    before = sorted(await LedgerEntry.all().values_list("amount_cents", flat=True))
    data = {**A_SERVICE, "name": "Session", "cpt_code": "90834", "duration_minutes": "45"}
    data["fee"] = "99"
    saved = await post(client, f"{SERVICES}/{cast.service.id}", data, token_from=SERVICES)
    assert saved.status_code == 303 and (await Service.get(id=cast.service.id)).fee_cents == 9900
    assert sorted(await LedgerEntry.all().values_list("amount_cents", flat=True)) == before


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"cpt_code": ""}, "cpt_code"),
        ({"cpt_code": "9083"}, "cpt_code"),
        ({"cpt_code": "908345"}, "cpt_code"),
        ({"cpt_code": "A0591"}, "cpt_code"),
        ({"cpt_code": "90-34"}, "cpt_code"),
        ({"duration_minutes": "0"}, "duration_minutes"),
        ({"duration_minutes": "4"}, "duration_minutes"),
        ({"duration_minutes": "481"}, "duration_minutes"),
        ({"duration_minutes": "abc"}, "duration_minutes"),
        ({"duration_minutes": "-5"}, "duration_minutes"),
        ({"duration_minutes": "99999999999999999999"}, "duration_minutes"),
        ({"buffer_minutes": "121"}, "buffer_minutes"),
        ({"fee": "-1"}, "fee"),
        ({"fee": "12.345"}, "fee"),
        ({"fee": "abc"}, "fee"),
        ({"fee": "100001"}, "fee"),
        ({"fee": ""}, "fee"),
        ({"fee": "1e3"}, "fee"),
        ({"self_schedulable": "on"}, "self_schedulable"),
    ],
)
async def test_bad_service_input_is_422_next_to_its_field(client, cast, changes, field):
    await sign_in(client, "ada")
    for path in (SERVICES, f"{SERVICES}/{cast.service.id}"):
        response = await post(client, path, {**A_SERVICE, **changes}, token_from=SERVICES)
        html = await text(response)
        assert response.status_code == 422, path
        assert f'id="svc-{field}-error"' in html and 'aria-invalid="true"' in html
    assert await Service.filter(practice_id=cast.practice.id).count() == 1
    session = await Service.get(id=cast.service.id)
    assert (session.name, session.cpt_code, session.fee_cents, session.duration_minutes) == (
        "Session",
        "90834",
        15000,
        45,
    )
    assert await audits("settings.service") == []


@pytest.mark.parametrize(
    "fee, cents", [("150", 15000), ("150.00", 15000), ("0", 0), ("100000", 10_000_000), ("0.5", 50)]
)
async def test_fees_are_read_in_dollars(client, cast, fee, cents):
    await sign_in(client, "ada")
    response = await post(client, SERVICES, {**A_SERVICE, "fee": fee}, token_from=SERVICES)
    assert response.status_code == 303
    assert (await Service.get(name="Couples therapy")).fee_cents == cents


async def test_a_deactivated_service_is_no_longer_offered_to_clients(app, client, cast):
    for weekday in range(7):
        await AvailabilityBlock.create(
            provider=cast.penny,
            weekday=weekday,
            start_minute=9 * 60,
            end_minute=17 * 60,
            location=cast.office,
            modality="both",
        )
    await sign_in(client, "ada")
    await post(client, SERVICES, A_SERVICE, token_from=SERVICES)
    couples = await Service.get(name="Couples therapy")
    alice = app.test_client()
    await sign_in(alice, "alice")
    what = f"/appointments/new?provider={cast.penny.id}"
    assert "Couples therapy" in await text(await alice.get(what))

    off = await post(
        client, f"{SERVICES}/{couples.id}/active", {"active": "0"}, token_from=SERVICES
    )
    assert off.status_code == 303
    page = await alice.get(what)
    assert page.status_code == 200 and "Couples therapy" not in await text(page)
    assert "Session" in await text(page)
    offer = await offer_for(cast.practice, cast.alice)
    assert [s.name for s in offer.services] == ["Session"]
    # Picking it anyway (an old link) does not offer it either.
    chosen = await alice.get(f"{what}&service={couples.id}")
    assert chosen.status_code in (200, 404, 422)
    assert "Couples therapy" not in await text(chosen)


# ---------------------------------------------------------------- who may


async def test_another_practices_rows_are_404(client, cast):
    location, service = await other_practice()
    await sign_in(client, "ada")
    for path, data in (
        (f"{LOCATIONS}/{location.id}", A_LOCATION),
        (f"{SERVICES}/{service.id}", A_SERVICE),
    ):
        assert (await client.get(path)).status_code == 404
        assert (await post(client, path, data, token_from=LOCATIONS)).status_code == 404
        off = await post(client, f"{path}/active", {"active": "0"}, token_from=LOCATIONS)
        assert off.status_code == 404
    assert (await client.get(f"{LOCATIONS}/99999999999")).status_code == 404
    assert (await client.get(f"{SERVICES}/0")).status_code == 404
    assert (await Location.get(id=location.id)).name == "Their office"
    assert (await Location.get(id=location.id)).active is True
    assert (await Service.get(id=service.id)).active is True
    listed = await text(await client.get(LOCATIONS))
    assert "Their office" not in listed
    assert await AuditEvent.filter(category="settings").count() == 0


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_an_admin_may_manage_locations_and_services(client, cast, who, status):
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    for path, data in ((LOCATIONS, A_LOCATION), (SERVICES, A_SERVICE)):
        assert (await client.get(path)).status_code == status
        assert (await post(client, path, data, token_from=home)).status_code == status
    for path in (f"{LOCATIONS}/{cast.office.id}", f"{SERVICES}/{cast.service.id}"):
        assert (await client.get(path)).status_code == status
        assert (await post(client, path, A_LOCATION, token_from=home)).status_code == status
        off = await post(client, f"{path}/active", {"active": "0"}, token_from=home)
        assert off.status_code == status
    assert await Location.filter(practice_id=cast.practice.id).count() == 1
    assert (await Location.get(id=cast.office.id)).active is True
    assert (await Service.get(id=cast.service.id)).active is True
    assert await AuditEvent.filter(category="settings").count() == 0


async def test_the_settings_overview_links_to_both(client, cast):
    await sign_in(client, "ada")
    html = await text(await client.get("/admin/"))
    assert 'href="/admin/locations"' in html and 'href="/admin/services"' in html
    assert f'href="/admin/services/{cast.service.id}"' in html and "Office" in html
    fragment = await text(await client.get(LOCATIONS, headers=HX))
    assert "<html" not in fragment and 'id="main"' in fragment


async def test_an_upcoming_appointment_in_the_past_does_not_block(client, cast):
    """Only appointments still to come hold a location."""
    await sign_in(client, "ada")
    for appointment in (cast.a_soon, cast.a_tomorrow, cast.b_soon, cast.c_soon):
        appointment.starts_at -= timedelta(days=30)
        appointment.ends_at -= timedelta(days=30)
        await appointment.save()
    await Location.create(practice=cast.practice, name="Spare room")
    response = await post(
        client, f"{LOCATIONS}/{cast.office.id}/active", {"active": "0"}, token_from=LOCATIONS
    )
    assert response.status_code == 303


async def test_a_double_submitted_add_adds_one_row(client, cast):
    await sign_in(client, "ada")
    for path, data, model in (
        (LOCATIONS, A_LOCATION, Location),
        (SERVICES, A_SERVICE, Service),
    ):
        first = await post(client, path, data, token_from=path)
        second = await post(client, path, data, token_from=path)
        assert first.status_code == 303 and second.status_code == 422
        assert "already has a" in await text(second)
        assert await model.filter(name=data["name"]).count() == 1
    assert await AuditEvent.filter(category="settings").count() == 2
    # Renaming one to another's name is refused too.
    taken = {**A_LOCATION, "name": "Riverside office"}
    renamed = await post(client, f"{LOCATIONS}/{cast.office.id}", taken, token_from=LOCATIONS)
    assert renamed.status_code == 422 and 'id="loc-name-error"' in await text(renamed)
    assert (await Location.get(id=cast.office.id)).name == "Office"
