"""One client's portal switches (issue 9): Manage Clients lists what is off for whom;
a client's page names the level that decided each switch (practice, provider,
client, no processor); an admin turns a feature off for one client and that client's
portal and the server change, the others' do not; a feature the practice or provider
has off cannot be turned on for one client; every change is audited; only admins."""

from __future__ import annotations

import pytest

from models.audit import AuditEvent
from models.client_overrides import features
from models.people import Client, StaffMember
from models.practice import Practice
from models.settings import OVERRIDABLE
from tests.helpers import HX, post, sign_in


def page_of(client_id: int) -> str:
    return f"/admin/clients/{client_id}/portal"


async def form_now(client_id: int, **changes) -> dict:
    """The client's form as the page sends it: a box for each feature on for the client
    (``False`` unticks it, ``True`` ticks it, a string is sent as it is)."""
    client = await Client.get(id=client_id).select_related("practice", "primary_provider")
    found = {f.key: f for f in features(client.practice, client, client.primary_provider)}
    data = {}
    for key in OVERRIDABLE:
        value = changes.get(key, found[key].allowed_above and not found[key].client_off)
        if value is True:
            data[key] = "1"
        elif value not in (False, None):
            data[key] = value
    return data


async def save(http, client_id: int, headers=None, **changes):
    data = await form_now(client_id, **changes)
    return await post(
        http, page_of(client_id), data, token_from=page_of(client_id), headers=headers
    )


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


def why(html: str, key: str) -> str:
    start = html.index(f'id="set-{key}-why"')
    return html[start : html.index("</p>", start)]


async def test_the_page_names_the_level_that_turned_each_feature_off(client, cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"messaging": False})
    await StaffMember.filter(id=cast.penny.id).update(portal_overrides={"documents": False})
    await Client.filter(id=cast.alice.id).update(portal_overrides={"insurance_display": False})
    await sign_in(client, "ada")
    html = await html_of(await client.get(page_of(cast.alice.id)))
    assert "Off for the whole practice" in why(html, "messaging")
    assert "Off for every client of their provider, Penny." in why(html, "documents")
    assert "Off for this client only." in why(html, "insurance_display")
    assert "On, as the practice has it by default." in why(html, "self_scheduling")
    # Off above the client: the box cannot be ticked; the client's own choice can.
    assert 'id="set-messaging" disabled' in html and 'id="set-documents" disabled' in html
    assert 'id="set-insurance_display" aria-describedby' in html  # unticked, not disabled


async def test_no_card_processor_is_named_as_the_reason(client, cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="")
    await sign_in(client, "ada")
    html = await html_of(await client.get(page_of(cast.alice.id)))
    assert "no card processor" in why(html, "payments")


async def test_turning_messaging_off_for_one_client_closes_it_for_them_only(app, client, cast):
    alice, bob = app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await sign_in(bob, "bob")
    await sign_in(client, "ada")
    response = await save(client, cast.alice.id, messaging=False)
    assert response.status_code == 303
    assert response.headers["Location"] == page_of(cast.alice.id) + "?notice=saved"
    assert (await Client.get(id=cast.alice.id)).portal_overrides == {"messaging": False}
    event = await AuditEvent.get(action="settings.client")
    assert event.client_id == cast.alice.id and event.actor_id == cast.ada.user_id
    assert event.details == {"setting": "messaging", "old": True, "new": False}

    assert (await alice.get("/messages")).status_code == 404
    assert 'href="/messages"' not in await html_of(await alice.get("/dashboard"))
    assert (await bob.get("/messages")).status_code == 200

    html = await html_of(await client.get("/admin/clients"))
    row = html[html.index(f'href="/admin/clients/{cast.alice.id}/portal"') :]
    assert "Off: Allow secure messaging" in row[: row.index("</li>")]

    # and back on: the client follows the practice again
    back = await save(client, cast.alice.id, messaging=True, headers=HX)
    assert back.status_code == 200 and "Saved for this client." in await html_of(back)
    assert (await Client.get(id=cast.alice.id)).portal_overrides == {}
    assert (await alice.get("/messages")).status_code == 200
    assert await AuditEvent.filter(action="settings.client").count() == 2


async def test_self_scheduling_off_for_one_client_closes_booking(app, client, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    await sign_in(client, "ada")
    await save(client, cast.alice.id, self_scheduling=False)
    assert (await alice.get("/appointments/new")).status_code == 404


async def test_a_repeat_changes_and_audits_nothing(client, cast):
    await sign_in(client, "ada")
    await save(client, cast.alice.id, documents=False)
    again = await save(client, cast.alice.id)
    assert again.headers["Location"].endswith("?notice=unchanged")
    assert await AuditEvent.filter(action="settings.client").count() == 1


async def test_a_feature_off_above_cannot_be_turned_on_for_one_client(client, cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"messaging": False})
    await sign_in(client, "ada")
    response = await save(client, cast.alice.id, messaging=True, documents=False)
    html = await html_of(response)
    assert response.status_code == 422
    assert 'id="set-messaging-error"' in html and "cannot be turned on for one client" in html
    assert (await Client.get(id=cast.alice.id)).portal_overrides == {}
    assert await AuditEvent.filter(action="settings.client").count() == 0


async def test_a_tampered_value_is_422_and_changes_nothing(client, cast):
    await sign_in(client, "ada")
    response = await save(client, cast.alice.id, messaging="on", documents=False)
    assert response.status_code == 422
    assert (await Client.get(id=cast.alice.id)).portal_overrides == {}


async def test_another_practices_client_is_404(client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(practice=other, number="X1", first_name="Far", last_name="Away")
    await sign_in(client, "ada")
    assert (await client.get(page_of(stranger.id))).status_code == 404
    response = await post(client, page_of(stranger.id), {}, token_from="/admin/clients")
    assert response.status_code == 404
    assert (await Client.get(id=stranger.id)).portal_overrides == {}


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_an_admin_may_set_a_clients_switches(client, cast, who, status):
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    response = await post(client, page_of(cast.alice.id), {}, token_from=home)
    assert response.status_code == status
    assert (await client.get(page_of(cast.alice.id))).status_code == status
    assert (await client.get("/admin/clients")).status_code == status
    assert (await Client.get(id=cast.alice.id)).portal_overrides == {}
