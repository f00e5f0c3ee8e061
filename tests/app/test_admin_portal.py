"""The practice's client portal settings at /admin/portal (issue 9): an admin changes a
switch and the client's portal and the server's answers change with it; each change is
audited with its old and new value; bad or tampered values are a 422 that changes
nothing; payments stay off without a card processor; nobody but an admin gets in."""

from __future__ import annotations

import pytest

from models.audit import AuditEvent
from models.portal_settings import CHOICES, EDITABLE, stored_values
from models.practice import Practice
from tests.helpers import HX, post, sign_in

PAGE = "/admin/portal"


async def form_now(practice_id: int, **changes) -> dict:
    """The settings form as the page would send it now, with ``changes`` applied
    (a switch: True / False; a choice: its value; None leaves a field out)."""
    values = {**stored_values(await Practice.get(id=practice_id)), **changes}
    data = {}
    for key, value in values.items():
        if key in CHOICES:
            if value is not None:
                data[key] = value
        elif value is True:
            data[key] = "1"
        elif value not in (False, None):
            data[key] = value  # a tampered value, sent as is
    return data


async def save(client, practice_id: int, headers=None, **changes):
    return await post(
        client, PAGE, await form_now(practice_id, **changes), token_from=PAGE, headers=headers
    )


async def audits() -> list[dict]:
    rows = await AuditEvent.filter(action="settings.practice").order_by("id")
    return [e.details for e in rows]


async def test_an_admin_sees_every_setting_with_its_value(client, cast):
    await sign_in(client, "ada")
    response = await client.get(PAGE)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    for key in EDITABLE:
        assert f'name="{key}"' in html, key
    assert 'id="set-messaging" checked' in html
    assert 'name="scheduling_mode" value="request" checked' in html


async def test_turning_messaging_off_hides_it_and_the_server_refuses_it(app, client, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    assert (await alice.get("/messages")).status_code == 200

    await sign_in(client, "ada")
    response = await save(client, cast.practice.id, messaging=False)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}?notice=saved"
    assert (await Practice.get(id=cast.practice.id)).portal_settings["messaging"] is False
    assert await audits() == [{"setting": "messaging", "old": True, "new": False}]
    event = await AuditEvent.get(action="settings.practice")
    assert event.actor_id == cast.ada.user_id and event.object_type == "practice"

    assert (await alice.get("/messages")).status_code == 404
    dashboard = await (await alice.get("/dashboard")).get_data(as_text=True)
    assert 'href="/messages"' not in dashboard


async def test_turning_self_scheduling_off_closes_booking(app, client, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    assert (await alice.get("/appointments/new")).status_code == 200
    await sign_in(client, "ada")
    assert (await save(client, cast.practice.id, self_scheduling=False)).status_code == 303
    assert (await alice.get("/appointments/new")).status_code == 404


async def test_a_choice_is_saved_and_shown(client, cast):
    await sign_in(client, "ada")
    response = await save(client, cast.practice.id, scheduling_mode="instant", headers=HX)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and "Settings saved." in html
    assert 'name="scheduling_mode" value="instant" checked' in html
    saved = await Practice.get(id=cast.practice.id)
    assert saved.portal_settings["scheduling_mode"] == "instant"


async def test_saving_the_same_values_again_changes_and_audits_nothing(client, cast):
    await sign_in(client, "ada")
    await save(client, cast.practice.id, documents=False)
    again = await save(client, cast.practice.id)
    assert again.headers["Location"] == f"{PAGE}?notice=unchanged"
    assert await audits() == [{"setting": "documents", "old": True, "new": False}]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"scheduling_mode": "weekly"}, "scheduling_mode"),
        ({"scheduling_mode": None}, "scheduling_mode"),
        ({"require_two_factor": "everyone"}, "require_two_factor"),
        ({"messaging": "yes"}, "messaging"),
        ({"notify_cancelled": "0"}, "notify_cancelled"),
    ],
)
async def test_a_bad_value_is_422_next_to_its_field_and_changes_nothing(
    client, cast, changes, field
):
    await sign_in(client, "ada")
    before = (await Practice.get(id=cast.practice.id)).portal_settings
    response = await save(client, cast.practice.id, documents=False, **changes)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="set-{field}-error"' in html
    assert (await Practice.get(id=cast.practice.id)).portal_settings == before
    assert await audits() == []


async def test_payments_stay_off_without_a_card_processor(client, cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="")
    await sign_in(client, "ada")
    html = await (await client.get(PAGE)).get_data(as_text=True)
    assert 'name="payments" value="1" id="set-payments" checked disabled' in html
    assert "Unavailable until the practice has a card processor" in html

    tampered = await save(client, cast.practice.id, payments=True, messaging=False)
    assert tampered.status_code == 422
    assert "Client payments need a card processor first" in await tampered.get_data(as_text=True)
    assert await audits() == []

    # The disabled box is not sent: the stored value stays, the other change counts.
    plain = await save(client, cast.practice.id, payments=False, messaging=False)
    assert plain.status_code == 303
    assert await audits() == [{"setting": "messaging", "old": True, "new": False}]


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_an_admin_may_change_settings(client, cast, who, status):
    await sign_in(client, who)
    data = await form_now(cast.practice.id, messaging=False)
    home = "/dashboard" if who == "alice" else "/staff/"
    response = await post(client, PAGE, data, token_from=home)
    assert response.status_code == status
    assert (await client.get(PAGE)).status_code == status
    assert "messaging" not in ((await Practice.get(id=cast.practice.id)).portal_settings or {})
    assert await audits() == []


async def test_an_admin_changes_only_their_own_practice(client, cast):
    other = await Practice.create(name="Elsewhere", portal_settings={"messaging": True})
    await sign_in(client, "ada")
    await save(client, cast.practice.id, messaging=False)
    assert (await Practice.get(id=other.id)).portal_settings == {"messaging": True}
