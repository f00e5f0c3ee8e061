"""The practice's details at /admin/practice (issue 9): an admin edits the name, phone,
email, tax id, time zone and terms; each change is audited; new terms are a new
version that clients accept at their next sign-in; bad input is a 422 next to its
field and changes nothing; only admins get in."""

from __future__ import annotations

import pytest

from models.audit import AuditEvent
from models.practice import Practice
from tests.helpers import HX, post, sign_in

PAGE = "/admin/practice"


async def details(practice_id: int, **changes) -> dict:
    practice = await Practice.get(id=practice_id)
    data = {
        "name": practice.name,
        "phone": practice.phone,
        "email": practice.email,
        "tax_id": practice.tax_id,
        "time_zone": practice.time_zone,
        "terms_of_service": practice.terms_of_service,
    }
    data.update(changes)
    return data


async def save(client, practice_id: int, headers=None, **changes):
    data = await details(practice_id, **changes)
    return await post(client, PAGE, data, token_from=PAGE, headers=headers)


async def audits() -> list[dict]:
    rows = await AuditEvent.filter(action="settings.practice_details").order_by("id")
    return [e.details for e in rows]


async def test_an_admin_edits_the_details_and_each_change_is_audited(client, cast):
    await sign_in(client, "ada")
    page = await client.get(PAGE)
    assert page.status_code == 200 and 'value="Test Practice"' in await page.get_data(as_text=True)
    response = await save(
        client,
        cast.practice.id,
        name="Riverbend Wellness",
        phone="(828) 555-0100",
        tax_id="12-3456789",
    )
    assert response.status_code == 303 and response.headers["Location"] == f"{PAGE}?notice=saved"
    saved = await Practice.get(id=cast.practice.id)
    assert (saved.name, saved.phone, saved.tax_id) == (
        "Riverbend Wellness",
        "+18285550100",
        "12-3456789",
    )
    assert await audits() == [
        {"setting": "name", "old": "Test Practice", "new": "Riverbend Wellness"},
        {"setting": "phone", "old": "", "new": "+18285550100"},
        {"setting": "tax_id", "old": "", "new": "12-3456789"},
    ]
    again = await save(client, cast.practice.id)
    assert again.headers["Location"] == f"{PAGE}?notice=unchanged" and len(await audits()) == 3


async def test_new_terms_are_a_new_version_clients_accept_at_sign_in(app, client, cast):
    await sign_in(client, "ada")
    before = (await Practice.get(id=cast.practice.id)).terms_version
    response = await save(
        client, cast.practice.id, headers=HX, terms_of_service="Be kind.\r\nCancel early."
    )
    assert response.status_code == 200 and "Settings saved." in await response.get_data(
        as_text=True
    )
    saved = await Practice.get(id=cast.practice.id)
    assert saved.terms_of_service == "Be kind.\nCancel early."
    assert saved.terms_version == before + 1 and saved.terms_updated_at is not None
    assert await audits() == [{"setting": "terms_version", "old": before, "new": before + 1}]

    alice = app.test_client()
    signed_in = await sign_in(alice, "alice")
    assert signed_in.status_code == 303 and signed_in.headers["Location"].startswith("/terms")
    terms = await alice.get("/terms")
    assert "Cancel early." in await terms.get_data(as_text=True)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"phone": "call us"}, "phone"),
        ({"email": "not an email"}, "email"),
        ({"tax_id": "123"}, "tax_id"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"terms_of_service": "x" * 50_001}, "terms_of_service"),
    ],
)
async def test_bad_input_is_422_next_to_its_field_and_changes_nothing(client, cast, changes, field):
    await sign_in(client, "ada")
    response = await save(client, cast.practice.id, **{"tax_id": "98-7654321", **changes})
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="field-error" id="pd-' in html and f'id="pd-{field}' in html
    assert 'aria-invalid="true"' in html
    saved = await Practice.get(id=cast.practice.id)
    assert (saved.name, saved.tax_id) == ("Test Practice", "")
    assert await audits() == []


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_an_admin_may_edit_the_details(client, cast, who, status):
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    data = await details(cast.practice.id, name="Taken over")
    assert (await post(client, PAGE, data, token_from=home)).status_code == status
    assert (await client.get(PAGE)).status_code == status
    assert (await Practice.get(id=cast.practice.id)).name == "Test Practice"
