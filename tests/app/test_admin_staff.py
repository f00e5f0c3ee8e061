"""Staff and roles (issue 9): the staff list, a staff member's roles, deactivating and
reactivating, a provider's own portal switches and numbers, and adding a colleague
who is emailed a set-your-password link. Refusals are 422 with a reason and change
nothing; every change is audited once; only admins, only their own practice."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from models.audit import AuditEvent
from models.people import StaffMember, User
from models.practice import Practice
from models.security import Session
from tests.helpers import HX, csrf_token, post, sign_in
from tests.mailserver import sent_mail

PUBLIC = "https://portal.example.test"
NEW_PASSWORD = "lantern orchard pebble"
ACTION = "settings.staff"


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url, "public_url": PUBLIC}


def page_of(member) -> str:
    return f"/admin/staff/{member.id}"


async def send(http, path: str, pairs: list, headers=None):
    """POST ``pairs`` as a browser sends a form (a ``role`` per ticked box)."""
    token = await csrf_token(http, "/admin/staff")
    return await http.post(
        path,
        data=urlencode([("csrf_token", token), *pairs]),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


async def roles(http, member, *names: str, headers=None):
    return await send(http, page_of(member) + "/roles", [("role", n) for n in names], headers)


async def active(http, member, value: str):
    return await send(http, page_of(member) + "/active", [("active", value)])


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


async def events() -> list[dict]:
    return [e.details for e in await AuditEvent.filter(action=ACTION).order_by("id")]


# ---- the list and the page -------------------------------------------------------------


async def test_the_list_shows_everyone_with_roles_and_state(client, cast):
    await StaffMember.filter(id=cast.bea.id).update(active=False)
    await sign_in(client, "ada")
    response = await client.get("/admin/staff")
    html = await html_of(response)
    assert response.status_code == 200
    for member, role in ((cast.penny, "Provider"), (cast.sid, "Scheduler"), (cast.ada, "Admin")):
        row = html[html.index(f'id="staff-{member.id}"') :]
        row = row[: row.index("</li>")]
        assert f'href="/admin/staff/{member.id}"' in row and role in row
        assert "Inactive" not in row
    bea = html[html.index(f'id="staff-{cast.bea.id}"') :]
    assert "Biller" in bea[: bea.index("</li>")] and "Inactive" in bea[: bea.index("</li>")]
    partial = await html_of(await client.get("/admin/staff", headers=HX))
    assert "<html" not in partial and 'id="main"' in partial


async def test_a_staff_members_page_shows_roles_and_provider_settings(client, cast):
    await sign_in(client, "ada")
    html = await html_of(await client.get(page_of(cast.penny)))
    assert 'id="edit-role-provider" checked' in html
    assert 'id="edit-role-admin" checked' not in html
    assert 'id="sw-messaging" checked' in html and 'name="booking_horizon_days"' in html
    # a scheduler has no provider settings
    sid = await html_of(await client.get(page_of(cast.sid)))
    assert 'id="edit-role-scheduler" checked' in sid and 'id="sw-messaging"' not in sid


# ---- roles -----------------------------------------------------------------------------


async def test_changing_roles_saves_and_audits_once(client, cast):
    await sign_in(client, "ada")
    response = await roles(client, cast.sid, "biller", "scheduler")
    assert response.status_code == 303
    assert response.headers["Location"] == page_of(cast.sid) + "?notice=saved"
    assert (await StaffMember.get(id=cast.sid.id)).roles == ["scheduler", "biller"]
    event = await AuditEvent.get(action=ACTION)
    assert event.category == "settings" and event.actor_id == cast.ada.user_id
    assert (event.object_type, event.object_id) == ("staffmember", str(cast.sid.id))
    assert event.details == {"field": "roles", "old": ["scheduler"], "new": ["scheduler", "biller"]}
    again = await roles(client, cast.sid, "scheduler", "biller", headers=HX)
    assert again.status_code == 200 and "Nothing was changed." in await html_of(again)
    assert len(await events()) == 1


async def test_a_new_admin_role_works_at_once(app, client, cast):
    sid = app.test_client()
    await sign_in(sid, "sid")
    assert (await sid.get("/admin/staff")).status_code == 403
    await sign_in(client, "ada")
    assert (await roles(client, cast.sid, "scheduler", "admin")).status_code == 303
    assert (await sid.get("/admin/staff")).status_code == 200


@pytest.mark.parametrize(
    "chosen, message",
    [
        ([], "Choose at least one role."),
        (["scheduler", "owner"], "Choose roles from the list."),
        (["SCHEDULER"], "Choose roles from the list."),
    ],
)
async def test_bad_roles_are_422_and_change_nothing(client, cast, chosen, message):
    await sign_in(client, "ada")
    response = await roles(client, cast.sid, *chosen)
    assert response.status_code == 422
    html = await html_of(response)
    assert message in html and 'id="edit-roles-error"' in html
    assert (await StaffMember.get(id=cast.sid.id)).roles == ["scheduler"]
    assert await events() == []


async def test_an_admin_cannot_remove_their_own_admin_role(client, cast):
    await StaffMember.filter(id=cast.penny.id).update(roles=["provider", "admin"])
    await sign_in(client, "ada")
    response = await roles(client, cast.ada, "scheduler")
    assert response.status_code == 422
    assert "You cannot remove your own admin role." in await html_of(response)
    assert (await StaffMember.get(id=cast.ada.id)).roles == ["admin"]
    assert await events() == []


async def test_an_inactive_admin_may_lose_the_role(client, cast):
    await StaffMember.filter(id=cast.penny.id).update(roles=["provider", "admin"], active=False)
    await sign_in(client, "ada")
    response = await roles(client, cast.penny, "provider")
    assert response.status_code == 303
    assert (await StaffMember.get(id=cast.penny.id)).roles == ["provider"]


async def test_the_practice_keeps_at_least_one_active_admin(cast):
    """Through the pages the acting admin is always another active admin, so the rule
    is checked where it lives (it also settles two admins acting at once)."""
    from models import staff_admin
    from models.errors import RuleError

    await StaffMember.filter(id=cast.penny.id).update(roles=["provider", "admin"], active=False)
    sid = await StaffMember.get(id=cast.sid.id)
    for change in (
        staff_admin.change_roles(cast.practice.id, cast.ada.id, ["biller"], by=sid),
        staff_admin.set_active(cast.practice.id, cast.ada.id, False, by=sid),
    ):
        with pytest.raises(RuleError) as refused:
            await change
        assert refused.value.code == "staff_last_admin"
    fresh = await StaffMember.get(id=cast.ada.id)
    assert fresh.roles == ["admin"] and fresh.active is True
    assert await events() == []
    # with Penny active, Ada is no longer the last one
    await StaffMember.filter(id=cast.penny.id).update(active=True)
    assert await staff_admin.change_roles(cast.practice.id, cast.ada.id, ["biller"], by=sid)


# ---- deactivate and reactivate ---------------------------------------------------------


async def test_a_deactivated_staff_member_is_signed_out_and_refused(app, client, cast):
    sid = app.test_client()
    await sign_in(sid, "sid")
    assert (await sid.get("/staff/")).status_code == 200
    await sign_in(client, "ada")
    response = await active(client, cast.sid, "0")
    assert response.headers["Location"] == page_of(cast.sid) + "?notice=deactivated"
    assert (await StaffMember.get(id=cast.sid.id)).active is False
    assert await Session.filter(user_id=cast.sid.user_id).count() == 0
    assert (await sid.get("/staff/")).status_code == 303  # signed out
    await sign_in(sid, "sid")
    assert (await sid.get("/staff/")).status_code == 404
    assert (await sid.get("/staff/clients")).status_code == 404
    assert await events() == [{"field": "active", "old": True, "new": False}]
    html = await html_of(await client.get("/admin/staff"))
    row = html[html.index(f'id="staff-{cast.sid.id}"') :]
    assert "Inactive" in row[: row.index("</li>")]
    # a repeat changes nothing; then reactivate
    assert (await active(client, cast.sid, "0")).headers["Location"].endswith("unchanged")
    back = await active(client, cast.sid, "1")
    assert back.headers["Location"].endswith("?notice=reactivated")
    assert (await sid.get("/staff/")).status_code == 200  # still signed in: welcome back
    assert len(await events()) == 2


async def test_an_admin_cannot_deactivate_themselves(client, cast):
    await StaffMember.filter(id=cast.penny.id).update(roles=["provider", "admin"])
    await sign_in(client, "ada")
    response = await active(client, cast.ada, "0")
    assert response.status_code == 422
    assert "You cannot deactivate yourself." in await html_of(response)
    assert (await StaffMember.get(id=cast.ada.id)).active is True
    assert await events() == []


async def test_a_tampered_active_value_is_422(client, cast):
    await sign_in(client, "ada")
    response = await active(client, cast.sid, "maybe")
    assert response.status_code == 422
    assert (await StaffMember.get(id=cast.sid.id)).active is True


# ---- a provider's switches and numbers ------------------------------------------------


async def portal(http, member, off=(), numbers=None, extra=(), headers=None):
    from models.settings import OVERRIDABLE

    practice = await Practice.get(id=member.practice_id)
    from models.settings import practice_settings

    on = practice_settings(practice)
    pairs = [(k, "1") for k in OVERRIDABLE if k not in off and on[k]]
    pairs += list((numbers or {}).items()) + list(extra)
    return await send(http, page_of(member) + "/portal", pairs, headers)


async def test_messaging_off_for_a_provider_closes_it_for_their_clients(app, client, cast):
    alice = app.test_client()
    await sign_in(alice, "alice")
    assert (await alice.get("/messages")).status_code == 200
    await StaffMember.filter(id=cast.penny.id).update(portal_overrides={"color": "blue"})
    await sign_in(client, "ada")
    response = await portal(client, cast.penny, off=("messaging",))
    assert response.headers["Location"] == page_of(cast.penny) + "?notice=saved"
    stored = (await StaffMember.get(id=cast.penny.id)).portal_overrides
    assert stored == {"color": "blue", "messaging": False}  # other keys kept
    assert await events() == [{"field": "messaging", "old": True, "new": False}]
    assert (await alice.get("/messages")).status_code == 404
    why = await html_of(await client.get(f"/admin/clients/{cast.alice.id}/portal"))
    start = why.index('id="set-messaging-why"')
    assert "Off for every client of their provider, Penny." in why[start : why.index("</p>", start)]
    page = await html_of(await client.get(page_of(cast.penny)))
    assert 'id="sw-messaging" aria-describedby' in page  # unticked
    # a repeat changes nothing; ticking it again follows the practice
    again = await portal(client, cast.penny, off=("messaging",))
    assert again.headers["Location"].endswith("?notice=unchanged")
    back = await portal(client, cast.penny, headers=HX)
    assert back.status_code == 200 and "Changes saved." in await html_of(back)
    assert (await StaffMember.get(id=cast.penny.id)).portal_overrides == {"color": "blue"}
    assert (await alice.get("/messages")).status_code == 200
    assert len(await events()) == 2


async def test_a_feature_off_for_the_practice_cannot_be_turned_on(client, cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"documents": False})
    await sign_in(client, "ada")
    html = await html_of(await client.get(page_of(cast.penny)))
    assert 'id="sw-documents" disabled' in html
    response = await portal(client, cast.penny, off=("messaging",), extra=[("documents", "1")])
    assert response.status_code == 422
    assert "cannot be turned on for one provider" in await html_of(response)
    assert (await StaffMember.get(id=cast.penny.id)).portal_overrides == {}
    assert await events() == []


async def test_a_providers_numbers_are_saved_and_cleared(client, cast):
    await sign_in(client, "ada")
    numbers = {"booking_horizon_days": "30", "late_cancel_fee_cents": " 25 "}
    response = await portal(client, cast.penny, numbers=numbers)
    assert response.status_code == 303
    stored = (await StaffMember.get(id=cast.penny.id)).portal_overrides
    assert stored == {"booking_horizon_days": 30, "late_cancel_fee_cents": 2500}
    assert await events() == [
        {"field": "booking_horizon_days", "old": None, "new": 30},
        {"field": "late_cancel_fee_cents", "old": None, "new": 2500},
    ]
    html = await html_of(await client.get(page_of(cast.penny)))
    assert 'name="late_cancel_fee_cents"' in html and 'value="25"' in html
    again = await portal(client, cast.penny, numbers=numbers)
    assert again.headers["Location"].endswith("?notice=unchanged")
    cleared = await portal(client, cast.penny, numbers={"booking_horizon_days": ""})
    assert cleared.status_code == 303
    assert (await StaffMember.get(id=cast.penny.id)).portal_overrides == {}
    assert len(await events()) == 4


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "99999999", "731", "٣"])
async def test_bad_numbers_are_422_and_change_nothing(client, cast, value):
    await sign_in(client, "ada")
    response = await portal(
        client, cast.penny, off=("messaging",), numbers={"booking_horizon_days": value}
    )
    assert response.status_code == 422
    html = await html_of(response)
    assert 'id="num-booking_horizon_days-error"' in html and "whole number" in html
    assert (await StaffMember.get(id=cast.penny.id)).portal_overrides == {}
    assert await events() == []


async def test_a_tampered_switch_is_422(client, cast):
    await sign_in(client, "ada")
    response = await portal(client, cast.penny, off=("messaging",), extra=[("messaging", "on")])
    assert response.status_code == 422
    assert (await StaffMember.get(id=cast.penny.id)).portal_overrides == {}


async def test_a_non_provider_has_no_portal_settings(client, cast):
    await sign_in(client, "ada")
    response = await portal(client, cast.sid, off=("messaging",))
    assert response.status_code == 422
    assert "Only a provider" in await html_of(response)
    assert (await StaffMember.get(id=cast.sid.id)).portal_overrides == {}


# ---- adding a staff member -------------------------------------------------------------


async def add(http, name="Nora New", email="nora@example.test", chosen=("scheduler",)):
    return await send(
        http, "/admin/staff", [("name", name), ("email", email), *[("role", r) for r in chosen]]
    )


async def test_adding_a_staff_member_emails_a_set_password_link(app, client, cast, smtp_server):
    await sign_in(client, "ada")
    response = await add(client, email="Nora@Example.test", chosen=("provider", "biller"))
    assert response.status_code == 303
    nora = await User.get(email="nora@example.test")
    assert nora.password_hash == "" and nora.display_name == "Nora New"
    member = await StaffMember.get(user_id=nora.id)
    assert member.practice_id == cast.practice.id and member.roles == ["provider", "biller"]
    assert response.headers["Location"] == page_of(member) + "?notice=added"
    assert await events() == [{"field": "added", "old": None, "new": ["provider", "biller"]}]
    [message] = [m for m in await sent_mail(app, smtp_server) if m["To"] == "nora@example.test"]
    link = re.search(re.escape(PUBLIC) + r"(/password/reset/\S+)", message.get_content())[1]
    newcomer = app.test_client()
    assert (await newcomer.get(link)).status_code == 200
    token = await csrf_token(newcomer, "/password/forgot")
    chosen = await newcomer.post(link, form={"new_password": NEW_PASSWORD, "csrf_token": token})
    assert chosen.status_code == 303
    signed = await sign_in(newcomer, "nora@example.test", NEW_PASSWORD)
    assert signed.status_code == 303 and signed.headers["Location"] == "/staff/"
    assert (await newcomer.get("/staff/")).status_code == 200
    html = await html_of(await client.get("/admin/staff"))
    assert f'href="/admin/staff/{member.id}">Nora New</a>' in html


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"email": "sid@test.example"}, "email", "already belongs to a staff member here"),
        ({"email": "SID@test.example"}, "email", "already belongs to a staff member here"),
        ({"email": "alice@test.example"}, "email", "Staff and client logins stay separate"),
        ({"email": "gina@test.example"}, "email", "Staff and client logins stay separate"),
        ({"email": "not an email"}, "email", "Enter an email address"),
        ({"name": "  "}, "name", "Enter the staff member"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"name": "A\x00B"}, "name", "at most 200"),
        ({"chosen": ()}, "roles", "Choose at least one role."),
        ({"chosen": ("wizard",)}, "roles", "Choose roles from the list."),
    ],
)
async def test_a_refused_new_staff_member_is_422(
    app, client, cast, smtp_server, kwargs, field, message
):
    await sign_in(client, "ada")
    before = await User.all().count()
    response = await add(client, **kwargs)
    assert response.status_code == 422
    html = await html_of(response)
    assert message in html and f'id="new-{field}-error"' in html
    assert await User.all().count() == before
    assert await events() == []
    invitations = [m for m in await sent_mail(app, smtp_server) if "invited" in m["Subject"]]
    assert invitations == []


async def test_an_email_of_another_practices_staff_is_refused(client, cast):
    other = await Practice.create(name="Elsewhere")
    far = await User.create(email="far@example.test", display_name="Far")
    await StaffMember.create(practice=other, user=far, roles=["admin"])
    await sign_in(client, "ada")
    response = await add(client, email="far@example.test")
    assert response.status_code == 422
    assert "already belongs to a portal account" in await html_of(response)


# ---- who may ---------------------------------------------------------------------------


async def test_another_practices_staff_member_is_404(client, cast):
    other = await Practice.create(name="Elsewhere")
    far = await User.create(email="far@example.test", display_name="Far")
    stranger = await StaffMember.create(practice=other, user=far, roles=["admin"])
    await sign_in(client, "ada")
    assert (await client.get(page_of(stranger))).status_code == 404
    for path, pairs in (
        ("/roles", [("role", "biller")]),
        ("/active", [("active", "0")]),
        ("/portal", []),
    ):
        assert (await send(client, page_of(stranger) + path, pairs)).status_code == 404
    fresh = await StaffMember.get(id=stranger.id)
    assert fresh.roles == ["admin"] and fresh.active is True
    assert await events() == []


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_admins_manage_staff(client, cast, who, status):
    await sign_in(client, who)
    home = "/dashboard" if who == "alice" else "/staff/"
    assert (await client.get("/admin/staff")).status_code == status
    assert (await client.get(page_of(cast.sid))).status_code == status
    token = await csrf_token(client, home)
    for path, form in (
        (page_of(cast.sid) + "/roles", {"role": "admin"}),
        (page_of(cast.sid) + "/active", {"active": "0"}),
        (page_of(cast.penny) + "/portal", {}),
        ("/admin/staff", {"name": "X", "email": "x@example.test", "role": "admin"}),
    ):
        response = await client.post(path, form={**form, "csrf_token": token})
        assert response.status_code == status
    assert (await StaffMember.get(id=cast.sid.id)).roles == ["scheduler"]
    assert await User.filter(email="x@example.test").count() == 0
    assert await events() == []


async def test_an_absurd_id_is_404(client, cast):
    await sign_in(client, "ada")
    assert (await client.get("/admin/staff/99999999999")).status_code == 404
    assert (await client.get("/admin/staff/0")).status_code == 404
    response = await post(
        client, "/admin/staff/99999999/roles", {"role": "admin"}, token_from="/staff/"
    )
    assert response.status_code == 404


async def test_adding_with_htmx_answers_the_new_members_page(client, cast):
    await sign_in(client, "ada")
    token = await csrf_token(client, "/admin/staff")
    form = {"name": "Olga", "email": "olga@example.test", "role": "biller", "csrf_token": token}
    response = await client.post("/admin/staff", form=form, headers=HX)
    member = await StaffMember.get(user__email="olga@example.test")
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == page_of(member)
    html = await html_of(response)
    assert "Staff member added." in html and 'id="edit-role-biller" checked' in html
    again = await client.post("/admin/staff", form=form, headers=HX)
    assert again.status_code == 422  # a double submit adds no one twice
    assert await StaffMember.filter(user__email="olga@example.test").count() == 1
    assert len(await events()) == 1
