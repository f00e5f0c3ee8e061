"""Insurance payers at /admin/payers (issue 9): admins and billers add, rename and
deactivate the practice's payers; a deactivated payer leaves the client's choice but
stays on the policies that name it; every change is audited once with its old and new
value; bad input is a 422 that changes nothing; other staff 403, clients 404."""

from __future__ import annotations

from datetime import date

import pytest

from models.audit import AuditEvent
from models.insurance import InsurancePolicy, Payer
from models.practice import Practice
from tests.helpers import HX, post, sign_in

PAGE = "/admin/payers"


def form(name="Blue Ridge Health Plan", **more) -> dict:
    return {"name": name, "payer_code": "", "phone": "", "address": "", **more}


async def audits() -> list[dict]:
    rows = await AuditEvent.filter(action="settings.payer").order_by("id")
    return [e.details for e in rows]


async def text(response) -> str:
    return await response.get_data(as_text=True)


async def test_a_biller_adds_a_payer_and_sees_it(client, cast):
    await sign_in(client, "bea")
    data = form(payer_code="94036", phone="(555) 010-2000")
    response = await post(client, PAGE, data, token_from=PAGE)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}?notice=added"
    payer = await Payer.get(practice_id=cast.practice.id)
    assert (payer.name, payer.payer_code, payer.phone, payer.active) == (
        "Blue Ridge Health Plan",
        "94036",
        "(555) 010-2000",
        True,
    )
    assert not payer.added_by_client
    page = await text(await client.get(f"{PAGE}?notice=added"))
    assert "Payer added." in page and "Blue Ridge Health Plan" in page and "94036" in page
    assert await audits() == [
        {"field": "name", "old": None, "new": "Blue Ridge Health Plan"},
        {"field": "payer_code", "old": None, "new": "94036"},
        {"field": "phone", "old": None, "new": "(555) 010-2000"},
    ]
    event = await AuditEvent.filter(action="settings.payer").first()
    assert event.category == "settings" and event.object_type == "payer"
    assert event.object_id == str(payer.id) and event.actor_id == cast.bea.user_id


async def test_a_double_submit_adds_one_payer(client, cast):
    await sign_in(client, "ada")
    assert (await post(client, PAGE, form(), token_from=PAGE)).status_code == 303
    again = await post(client, PAGE, form(name="blue ridge  HEALTH plan"), token_from=PAGE)
    assert again.status_code == 422
    assert "already has a payer with this name" in await text(again)
    assert await Payer.filter(practice_id=cast.practice.id).count() == 1
    assert len(await audits()) == 1


@pytest.mark.parametrize(
    "data, field, message",
    [
        (form(name=""), "name", "at most 200 characters"),
        (form(name="   "), "name", "at most 200 characters"),
        (form(name="x" * 201), "name", "at most 200 characters"),
        (form(name="Bad\x00Name"), "name", "at most 200 characters"),
        (form(payer_code="9" * 33), "payer_code", "letters, digits and dashes"),
        (form(payer_code="94 036;DROP"), "payer_code", "letters, digits and dashes"),
        (form(phone="call me"), "phone", "Enter a phone number"),
        (form(address="a" * 301), "address", "at most 300 characters"),
    ],
)
async def test_bad_input_is_422_next_to_its_field_and_changes_nothing(
    client, cast, data, field, message
):
    await sign_in(client, "ada")
    response = await post(client, PAGE, data, token_from=PAGE)
    html = await text(response)
    assert response.status_code == 422
    assert f'id="payer-{field}-error"' in html and message in html
    assert 'aria-invalid="true"' in html
    assert await Payer.filter(practice_id=cast.practice.id).count() == 0
    assert await audits() == []


async def test_editing_a_payer_audits_each_changed_field_once(client, cast):
    payer = await Payer.create(practice=cast.practice, name="Evergreen", payer_code="E1")
    taken = await Payer.create(practice=cast.practice, name="Sunrise Health")
    await sign_in(client, "ada")
    page = await text(await client.get(f"{PAGE}/{payer.id}"))
    assert 'value="Evergreen"' in page and f'action="{PAGE}/{payer.id}"' in page

    data = form(name="Evergreen Mutual", payer_code="E1", address="PO Box 1, Salem OR")
    response = await post(client, f"{PAGE}/{payer.id}", data, token_from=PAGE, headers=HX)
    assert response.status_code == 200 and "Changes saved." in await text(response)
    payer = await Payer.get(id=payer.id)
    assert (payer.name, payer.address) == ("Evergreen Mutual", "PO Box 1, Salem OR")
    assert await audits() == [
        {"field": "name", "old": "Evergreen", "new": "Evergreen Mutual"},
        {"field": "address", "old": "", "new": "PO Box 1, Salem OR"},
    ]
    again = await post(client, f"{PAGE}/{payer.id}", data, token_from=PAGE)
    assert again.headers["Location"] == f"{PAGE}?notice=unchanged"

    clash = await post(client, f"{PAGE}/{payer.id}", form(name="SUNRISE health"), token_from=PAGE)
    assert clash.status_code == 422
    assert (await Payer.get(id=payer.id)).name == "Evergreen Mutual"
    assert (await Payer.get(id=taken.id)).name == "Sunrise Health"
    assert len(await audits()) == 2


async def test_a_deactivated_payer_leaves_the_choice_but_stays_on_policies(app, client, cast):
    payer = await Payer.create(practice=cast.practice, name="Evergreen Mutual")
    await InsurancePolicy.create(
        client=cast.alice,
        payer=payer,
        member_id="M123",
        subscriber_name="Alice",
        subscriber_dob=date(1990, 1, 1),
    )
    alice = app.test_client()
    await sign_in(alice, "alice")
    assert "Evergreen Mutual" in await text(await alice.get("/insurance/policies/new"))

    await sign_in(client, "bea")
    off = await post(client, f"{PAGE}/{payer.id}/active", {"active": "0"}, token_from=PAGE)
    assert off.headers["Location"] == f"{PAGE}?notice=deactivated"
    assert not (await Payer.get(id=payer.id)).active
    assert await audits() == [{"field": "active", "old": True, "new": False}]
    repeat = await post(client, f"{PAGE}/{payer.id}/active", {"active": "0"}, token_from=PAGE)
    assert repeat.headers["Location"] == f"{PAGE}?notice=unchanged"
    assert len(await audits()) == 1

    assert "Evergreen Mutual" not in await text(await alice.get("/insurance/policies/new"))
    assert "Evergreen Mutual" in await text(await alice.get("/insurance"))
    assert (await InsurancePolicy.get(client_id=cast.alice.id)).payer_id == payer.id

    on = await post(client, f"{PAGE}/{payer.id}/active", {"active": "1"}, token_from=PAGE)
    assert on.headers["Location"] == f"{PAGE}?notice=reactivated"
    assert "Evergreen Mutual" in await text(await alice.get("/insurance/policies/new"))


async def test_a_bad_active_value_is_422(client, cast):
    payer = await Payer.create(practice=cast.practice, name="Evergreen Mutual")
    await sign_in(client, "ada")
    response = await post(client, f"{PAGE}/{payer.id}/active", {"active": "no"}, token_from=PAGE)
    assert response.status_code == 422
    assert (await Payer.get(id=payer.id)).active and await audits() == []


async def test_payers_added_by_clients_link_to_the_review(client, cast):
    await Payer.create(
        practice=cast.practice,
        name="Tiny Local Plan",
        added_by_client=True,
        added_by=cast.alice.user,
    )
    await sign_in(client, "bea")
    page = await text(await client.get(PAGE))
    assert "Tiny Local Plan" in page and 'href="/staff/insurance"' in page
    assert "waiting for review" in page


async def test_another_practices_payer_is_404(client, cast):
    elsewhere = await Practice.create(name="Elsewhere")
    far = await Payer.create(practice=elsewhere, name="Far Away Health")
    await sign_in(client, "ada")
    assert "Far Away Health" not in await text(await client.get(PAGE))
    assert (await client.get(f"{PAGE}/{far.id}")).status_code == 404
    edit = await post(client, f"{PAGE}/{far.id}", form(name="Mine now"), token_from=PAGE)
    assert edit.status_code == 404
    off = await post(client, f"{PAGE}/{far.id}/active", {"active": "0"}, token_from=PAGE)
    assert off.status_code == 404
    far = await Payer.get(id=far.id)
    assert (far.name, far.active) == ("Far Away Health", True)
    assert await audits() == []


@pytest.mark.parametrize("who, status", [("penny", 403), ("sid", 403), ("alice", 404)])
async def test_only_admins_and_billers_manage_payers(client, cast, who, status):
    payer = await Payer.create(practice=cast.practice, name="Evergreen Mutual")
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    assert (await client.get(PAGE)).status_code == status
    assert (await client.get(f"{PAGE}/{payer.id}")).status_code == status
    assert (await post(client, PAGE, form(), token_from=home)).status_code == status
    edit = await post(client, f"{PAGE}/{payer.id}", form(name="Renamed"), token_from=home)
    assert edit.status_code == status
    off = await post(client, f"{PAGE}/{payer.id}/active", {"active": "0"}, token_from=home)
    assert off.status_code == status
    assert await Payer.filter(practice_id=cast.practice.id).count() == 1
    assert (await Payer.get(id=payer.id)).active and await audits() == []
