"""The staff review queue for profile changes: schedulers and admins approve (the new
value is applied) or decline with a note the client sees; once only; this practice's
clients only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import clock
from models.people import Client
from models.practice import Practice
from models.profile_changes import ProfileChange
from tests.helpers import HX, badge, post, sign_in


@pytest.fixture
async def changes(cast):
    older = await ProfileChange.create(
        client=cast.alice,
        requested_by_id=cast.alice.user_id,
        field="last_name",
        old_value="Example",
        new_value="Smith",
    )
    await ProfileChange.filter(id=older.id).update(created_at=clock.now() - timedelta(days=2))
    newer = await ProfileChange.create(
        client=cast.bob,
        requested_by_id=cast.bob.user_id,
        field="date_of_birth",
        old_value="",
        new_value="1990-05-01",
    )
    return {"older": older, "newer": newer}


async def send(client, path, data=None, token_from="/staff/profile-changes", **kw):
    return await post(client, path, data or {}, token_from=token_from, **kw)


async def test_the_queue_lists_pending_changes_oldest_first(client, cast, changes):
    await sign_in(client, "sid")
    response = await client.get("/staff/profile-changes")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.index("Alice Example") < html.index("Bob Example")
    assert "Example → <strong>Smith</strong>" in html
    assert "1990-05-01" in html and "Legal last name" in html


async def test_approving_applies_the_change_once(client, cast, changes):
    await sign_in(client, "sid")
    change = changes["older"]
    response = await send(client, f"/staff/profile-changes/{change.id}/approve")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/profile-changes?notice=approved"
    assert (await Client.get(id=cast.alice.id)).last_name == "Smith"
    saved = await ProfileChange.get(id=change.id)
    assert (saved.status, saved.reviewed_by_id) == ("applied", cast.sid.user_id)
    assert saved.reviewed_at is not None
    # the client changes it again meanwhile; a second click must not apply it twice
    await Client.filter(id=cast.alice.id).update(last_name="Other")
    again = await send(client, f"/staff/profile-changes/{change.id}/approve")
    assert again.headers["Location"] == "/staff/profile-changes?notice=already"
    assert (await Client.get(id=cast.alice.id)).last_name == "Other"
    html = await (await client.get("/staff/profile-changes")).get_data(as_text=True)
    assert "Alice Example" not in html


async def test_approving_a_date_of_birth_sets_a_date(client, cast, changes):
    await sign_in(client, "ada")
    response = await send(
        client, f"/staff/profile-changes/{changes['newer'].id}/approve", headers=HX
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith("<li")
    assert "Applied" in html and "The change is applied." in html
    assert (await Client.get(id=cast.bob.id)).date_of_birth == date(1990, 5, 1)


async def test_a_value_changed_since_the_request_is_shown_and_approval_still_applies(
    client, cast, changes
):
    await Client.filter(id=cast.alice.id).update(last_name="Jones")
    await sign_in(client, "sid")
    html = await (await client.get("/staff/profile-changes")).get_data(as_text=True)
    assert "it is now “Jones”" in html
    await send(client, f"/staff/profile-changes/{changes['older'].id}/approve")
    assert (await Client.get(id=cast.alice.id)).last_name == "Smith"


async def test_declining_keeps_the_value_and_the_client_sees_the_note(client, app, cast, changes):
    await sign_in(client, "sid")
    change = changes["older"]
    note = "Please bring your ID to your next session."
    response = await send(client, f"/staff/profile-changes/{change.id}/decline", {"note": note})
    assert response.status_code == 303
    saved = await ProfileChange.get(id=change.id)
    assert (saved.status, saved.note, saved.reviewed_by_id) == ("declined", note, cast.sid.user_id)
    assert (await Client.get(id=cast.alice.id)).last_name == "Example"
    approve = await send(client, f"/staff/profile-changes/{change.id}/approve")
    assert approve.headers["Location"].endswith("notice=already")
    assert (await ProfileChange.get(id=change.id)).status == "declined"
    alice = app.test_client()
    await sign_in(alice, "alice")
    html = await (await alice.get("/profile")).get_data(as_text=True)
    assert note in html and "did not accept your change" in html


async def test_a_note_over_1000_characters_is_a_422(client, cast, changes):
    await sign_in(client, "sid")
    change = changes["older"]
    response = await send(
        client, f"/staff/profile-changes/{change.id}/decline", {"note": "x" * 1001}, headers=HX
    )
    assert response.status_code == 422
    assert "at most 1000 characters" in await response.get_data(as_text=True)
    assert (await ProfileChange.get(id=change.id)).status == "pending"
    response = await send(client, f"/staff/profile-changes/{change.id}/decline", {"note": "a\x00"})
    assert response.status_code == 422
    assert (await ProfileChange.get(id=change.id)).status == "pending"


@pytest.mark.parametrize("who", ["penny", "bea"])
async def test_providers_and_billers_are_refused(client, cast, changes, who):
    await sign_in(client, who)
    assert (await client.get("/staff/profile-changes")).status_code == 403
    change = changes["older"]
    response = await send(
        client, f"/staff/profile-changes/{change.id}/approve", token_from="/staff/"
    )
    assert response.status_code == 403
    assert (await ProfileChange.get(id=change.id)).status == "pending"


async def test_clients_cannot_reach_the_queue(client, cast, changes):
    await sign_in(client, "alice")
    assert (await client.get("/staff/profile-changes")).status_code == 404
    response = await post(client, f"/staff/profile-changes/{changes['older'].id}/approve")
    assert response.status_code == 404
    assert (await ProfileChange.get(id=changes["older"].id)).status == "pending"


async def test_another_practices_change_is_a_404(client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(practice=other, number="X1", first_name="Xa", last_name="Y")
    change = await ProfileChange.create(
        client=stranger, requested_by_id=cast.alice.user_id, field="city", new_value="Far"
    )
    await sign_in(client, "sid")
    html = await (await client.get("/staff/profile-changes")).get_data(as_text=True)
    assert "Xa Y" not in html
    for action in ("approve", "decline"):
        response = await send(client, f"/staff/profile-changes/{change.id}/{action}")
        assert response.status_code == 404
    assert (await ProfileChange.get(id=change.id)).status == "pending"
    assert (await Client.get(id=stranger.id)).city == ""
    assert (await send(client, "/staff/profile-changes/999999/approve")).status_code == 404


async def test_the_whole_flow_from_the_client_to_staff(client, app, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    await post(
        alice,
        "/profile/review",
        {"first_name": "Alice", "last_name": "Example", "address_line1": "9 Elm St"},
        token_from="/profile",
    )
    await sign_in(client, "sid")
    html = await (await client.get("/staff/profile-changes")).get_data(as_text=True)
    assert "9 Elm St" in html
    change = await ProfileChange.get(client=cast.alice, field="address_line1")
    await send(client, f"/staff/profile-changes/{change.id}/approve")
    assert (await Client.get(id=cast.alice.id)).address_line1 == "9 Elm St"
    page = await (await alice.get("/profile")).get_data(as_text=True)
    assert "Waiting for the practice to review" not in page and "9 Elm St" in page


async def test_the_menu_counts_changes_to_review_for_schedulers_only(client, app, cast, changes):
    await sign_in(client, "sid")
    html = await (await client.get("/staff/")).get_data(as_text=True)
    assert "2 to review" in badge(html, "profile_changes")
    await send(client, f"/staff/profile-changes/{changes['older'].id}/approve")
    html = await (await client.get("/staff/")).get_data(as_text=True)
    assert "1 to review" in badge(html, "profile_changes")

    provider = app.test_client()
    await sign_in(provider, "penny")
    html = await (await provider.get("/staff/")).get_data(as_text=True)
    assert 'id="menu-badge-profile_changes"' not in html and "to review" not in html
