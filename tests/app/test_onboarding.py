"""Invitations, the new-invitation link (/register), and staff account controls, over HTTP."""

import re
from datetime import date, timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.onboarding import Invitation, Registration
from models.people import Client, StaffMember, User
from models.practice import Practice
from models.security import LoginEvent, Session
from tests.cast import PASSWORD
from tests.helpers import HX, csrf_token, post, sign_in
from tests.mailserver import sent_mail

PUBLIC = "https://portal.example.test"
NEW_PASSWORD = "lantern orchard pebble"
DOB = "1991-04-12"


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url, "public_url": PUBLIC}


def link_in(message, path: str) -> str:
    match = re.search(r"https?://\S+" + re.escape(path) + r"\S+", message.get_content())
    assert match, message.get_content()
    return match.group(0)


def mail_to(messages, address: str):
    found = [m for m in messages if m["To"] == address]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in messages]
    return found[0]


async def invite(client, cast, who="charlie", email="charlie@example.test", headers=None):
    target = getattr(cast, who)
    return await post(
        client,
        f"/staff/clients/{target.id}/invite",
        {"email": email},
        token_from="/staff/clients",
        headers=headers,
    )


async def register(app, **fields):
    """POST /register from a fresh browser; returns (response, its html)."""
    client = app.test_client()
    form = {
        "first_name": "Nora",
        "last_name": "Newman",
        "date_of_birth": DOB,
        "email": "nora@example.test",
        "phone": "(555) 010-1234",
        "password": NEW_PASSWORD,
        **fields,
    }
    token = await csrf_token(client, "/register")
    response = await client.post("/register", form={**form, "csrf_token": token})
    return response, await response.get_data(as_text=True)


def comparable(html: str) -> str:
    """A page without what differs on every response: the CSRF token and CSP nonces."""
    html = re.sub(r'name="csrf_token" value="[^"]+"', "", html)
    html = re.sub(r'"X-CSRF-Token": "[^"]+"', "", html)
    return re.sub(r'nonce="[^"]+"', "", html)


# ---- invitations ----------------------------------------------------------------------


async def test_an_invitation_is_mailed_from_public_url_accepted_once_and_signs_in(
    app, client, cast, smtp_server
):
    await sign_in(client, "sid")
    response = await invite(client, cast, headers={"Host": "evil.example"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/clients?notice=invited"
    message = mail_to(await sent_mail(app, smtp_server), "charlie@example.test")
    assert message["Subject"] == "You're invited to the client portal of Test Practice"
    body = message.get_content()
    assert "evil.example" not in body and "Example" not in body  # no surname, no Host
    link = link_in(message, "/invite/")
    assert link.startswith(PUBLIC + "/invite/")
    path = link.removeprefix(PUBLIC)

    visitor = app.test_client()
    page = await visitor.get(path)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Welcome, Charlie" in html and "Test Practice" in html
    assert "Example" not in html and "charlie@example.test" not in html
    token = await csrf_token(visitor, path)
    done = await visitor.post(path, form={"password": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 200
    assert "Your account is ready" in await done.get_data(as_text=True)
    charlie = await Client.get(id=cast.charlie.id).select_related("user")
    assert charlie.user.email == "charlie@example.test"
    assert (await sign_in(visitor, "charlie@example.test", NEW_PASSWORD)).status_code == 303
    assert await AuditEvent.filter(action="invitation.accepted", client_id=charlie.id).exists()

    # The link is spent: 410, and a second try changes nothing.
    users = await User.all().count()
    again = app.test_client()
    token = await csrf_token(again, "/register")
    response = await again.post(path, form={"password": "another passphrase", "csrf_token": token})
    assert response.status_code == 410
    assert "already been used" in await response.get_data(as_text=True)
    assert (await again.get(path)).status_code == 410
    assert await User.all().count() == users
    assert (await sign_in(again, "charlie@example.test", NEW_PASSWORD)).status_code == 303


async def test_an_expired_invitation_is_refused_with_410_and_nothing_changes(
    app, client, cast, smtp_server
):
    await sign_in(client, "ada")
    await invite(client, cast)
    message = mail_to(await sent_mail(app, smtp_server), "charlie@example.test")
    path = link_in(message, "/invite/").removeprefix(PUBLIC)
    clock.travel(timedelta(days=7, minutes=1))
    visitor = app.test_client()
    page = await visitor.get(path)
    assert page.status_code == 410
    assert "has expired" in await page.get_data(as_text=True)
    token = await csrf_token(visitor, "/register")
    response = await visitor.post(path, form={"password": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 410
    assert (await Client.get(id=cast.charlie.id)).user_id is None
    assert not await User.exists(email="charlie@example.test")


async def test_inviting_again_replaces_the_first_link(app, client, cast, smtp_server):
    await sign_in(client, "sid")
    await invite(client, cast)
    await invite(client, cast)
    first, second = [
        m for m in await sent_mail(app, smtp_server) if m["To"] == "charlie@example.test"
    ]
    old = link_in(first, "/invite/").removeprefix(PUBLIC)
    new = link_in(second, "/invite/").removeprefix(PUBLIC)
    visitor = app.test_client()
    assert (await visitor.get(old)).status_code == 410
    assert (await visitor.get(new)).status_code == 200


async def test_an_unknown_invitation_link_is_a_404(app, cast):
    visitor = app.test_client()
    for path in ("/invite/nope", "/invite/" + "x" * 400, "/register/confirm/" + "y" * 43):
        response = await visitor.get(path)
        assert response.status_code == 404, path
        assert "This link is not valid" in await response.get_data(as_text=True)


async def test_an_invitation_goes_to_the_email_on_file_when_none_is_typed(
    app, client, cast, smtp_server
):
    from models.people import ContactPoint

    await ContactPoint.create(client=cast.dana, kind="email", value="dana.work@example.test")
    await ContactPoint.create(
        client=cast.dana, kind="email", value="dana@example.test", is_default=True
    )
    await sign_in(client, "ada")
    response = await invite(client, cast, who="dana", email="")
    assert response.status_code == 303
    mail_to(await sent_mail(app, smtp_server), "dana@example.test")
    # Without an email on file or typed: a clear refusal, nothing sent.
    response = await invite(client, cast, who="charlie", email="")
    assert response.status_code == 422
    assert "no email address on file" in await response.get_data(as_text=True)
    assert await Invitation.filter(client_id=cast.charlie.id).count() == 0


async def test_inviting_with_htmx_updates_the_list_in_place(app, client, cast, smtp_server):
    await sign_in(client, "sid")
    token = await csrf_token(client, "/staff/clients")
    response = await client.post(
        f"/staff/clients/{cast.charlie.id}/invite",
        form={"email": "charlie@example.test"},
        headers={**HX, "X-CSRF-Token": token},
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert '<main id="main"' in html and "Invitation sent" in html
    assert "Invite again" in html


# ---- the new-invitation link -------------------------------------------------------


async def test_a_new_person_registers_confirms_once_and_signs_in(app, cast, smtp_server):
    clients = await Client.all().count()
    page = await app.test_client().get("/register")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "Test Practice" in html
    assert "Already a client?" in html and 'href="/login"' in html
    response, html = await register(app)
    assert response.status_code == 200 and "Check your email to finish" in html
    [message] = await sent_mail(app, smtp_server)
    link = link_in(message, "/register/confirm/")
    assert link.startswith(PUBLIC)
    assert await Client.all().count() == clients

    visitor = app.test_client()
    path = link.removeprefix(PUBLIC)
    confirmed = await visitor.get(path)
    assert confirmed.status_code == 200
    assert "Your account is ready" in await confirmed.get_data(as_text=True)
    again = await visitor.get(path)
    assert again.status_code == 410
    assert await Client.all().count() == clients + 1
    nora = await Client.get(first_name="Nora").select_related("user")
    assert nora.practice_id == cast.practice.id and nora.date_of_birth == date(1991, 4, 12)
    assert nora.user.email == "nora@example.test"
    assert (await sign_in(visitor, "nora@example.test", NEW_PASSWORD)).status_code == 303


async def test_a_known_email_gets_the_same_answer_and_a_sign_in_email(app, cast, smtp_server):
    """A-4: the reply never tells whether the address is known; the email does, to its owner."""
    clients = await Client.all().count()
    new, new_html = await register(app, email="nora@example.test")
    known, known_html = await register(app, email="alice@test.example")
    twin, twin_html = await register(app, email="other.bob@example.test", first_name="Bob")
    assert new.status_code == known.status_code == twin.status_code == 200
    assert comparable(new_html) == comparable(known_html) == comparable(twin_html)
    messages = await sent_mail(app, smtp_server)
    exists = mail_to(messages, "alice@test.example")
    assert "already belongs to a portal account" in exists.get_content()
    assert f"{PUBLIC}/login" in exists.get_content()
    assert "/register/confirm/" not in exists.get_content()
    assert await Client.all().count() == clients
    assert await User.filter(email="alice@test.example").count() == 1


async def test_a_possible_duplicate_waits_for_staff_and_is_created_only_on_approval(
    app, client, cast, smtp_server
):
    await Client.filter(id=cast.bob.id).update(date_of_birth=date(1991, 4, 12))
    clients = await Client.all().count()
    response, html = await register(
        app, email="bob2@example.test", first_name="BOB", last_name="example"
    )
    assert response.status_code == 200 and "Check your email to finish" in html
    message = mail_to(await sent_mail(app, smtp_server), "bob2@example.test")
    assert "will email you when yours is ready" in message.get_content()
    assert "Bob Example" not in message.get_content()  # it does not name the match
    assert await Client.all().count() == clients

    await sign_in(client, "sid")
    page = await client.get("/staff/registrations")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "bob2@example.test" in html and "(C2)" in html
    assert f"{PUBLIC}/register" in html and f"{PUBLIC}/login" in html
    registration = await Registration.get(email="bob2@example.test")
    response = await post(
        client, f"/staff/registrations/{registration.id}/approve", token_from="/staff/clients"
    )
    assert response.status_code == 303
    assert await Client.all().count() == clients + 1
    smtp_server.clear()
    ready = mail_to(await sent_mail(app, smtp_server), "bob2@example.test")
    assert "is ready" in ready["Subject"] and f"{PUBLIC}/login" in ready.get_content()
    # Decided once: a second approval is a 404, nothing more created.
    again = await post(
        client, f"/staff/registrations/{registration.id}/approve", token_from="/staff/clients"
    )
    assert again.status_code == 404 and await Client.all().count() == clients + 1


async def test_dismissing_a_duplicate_creates_nothing(app, client, cast, smtp_server):
    await Client.filter(id=cast.bob.id).update(date_of_birth=date(1991, 4, 12))
    await register(app, email="bob2@example.test", first_name="Bob", last_name="Example")
    registration = await Registration.get(email="bob2@example.test")
    clients = await Client.all().count()
    await sign_in(client, "ada")
    response = await post(
        client, f"/staff/registrations/{registration.id}/dismiss", token_from="/staff/clients"
    )
    assert response.status_code == 303
    assert (await Registration.get(id=registration.id)).status == "dismissed"
    assert await Client.all().count() == clients
    assert "Nothing to review" in await (await client.get("/staff/registrations")).get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"first_name": "x" * 5000}, "first_name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 300 + "@example.test"}, "email"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "31/01/1990"}, "date_of_birth"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"date_of_birth": "0001-01-01"}, "date_of_birth"),
        ({"date_of_birth": "9" * 500}, "date_of_birth"),
        ({"date_of_birth": ""}, "date_of_birth"),
        ({"phone": "call me maybe"}, "phone"),
        ({"password": "short"}, "password"),
        ({"password": "Nora Newman"}, "password"),
        ({"password": "p" * 300}, "password"),
        ({"password": ""}, "password"),
    ],
)
async def test_a_malformed_registration_is_a_422_with_the_form(app, cast, fields, field):
    response, html = await register(app, **fields)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in html and 'id="register-form"' in html
    assert "lantern orchard pebble" not in html  # the password is never echoed
    assert await Registration.all().count() == 0


async def test_a_registration_takes_only_its_own_fields(app, cast, smtp_server):
    """Z-2: extra fields change nothing the server decides."""
    other = await Practice.create(name="Elsewhere")
    response, _ = await register(
        app,
        practice_id=str(other.id),
        status="done",
        client_id=str(cast.alice.id),
        match_reason="",
        is_staff="1",
        role="admin",
    )
    assert response.status_code == 200
    registration = await Registration.get()
    assert registration.practice_id == cast.practice.id
    assert (registration.status, registration.client_id) == ("pending", None)


async def test_the_registration_link_names_its_practice(app, cast):
    other = await Practice.create(name="Elsewhere Counseling")
    visitor = app.test_client()
    page = await visitor.get(f"/register?practice={other.id}")
    html = await page.get_data(as_text=True)
    assert "Elsewhere Counseling" in html and f'action="/register?practice={other.id}"' in html
    for bad in ("abc", "0x1", "99999", "9" * 40, "-1"):
        assert (await visitor.get(f"/register?practice={bad}")).status_code == 404, bad


# ---- staff account controls -------------------------------------------------------


async def test_disabling_an_account_signs_it_out_everywhere(app, client, cast):
    alice_phone, alice_laptop = app.test_client(), app.test_client()
    for browser in (alice_phone, alice_laptop):
        await sign_in(browser, "alice")
        assert (await browser.get("/dashboard")).status_code == 200
    await sign_in(client, "ada")
    response = await post(
        client,
        f"/staff/clients/{cast.alice.id}/portal-access",
        {"action": "disable"},
        token_from="/staff/clients",
    )
    assert response.status_code == 303
    assert await Session.filter(user_id=cast.alice.user_id).count() == 0
    for browser in (alice_phone, alice_laptop):
        response = await browser.get("/dashboard")
        assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert (await sign_in(alice_phone, "alice")).status_code == 422
    assert await AuditEvent.filter(action="account.disabled", client_id=cast.alice.id).exists()
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert "Disabled" in html and 'value="enable"' in html

    await post(
        client,
        f"/staff/clients/{cast.alice.id}/portal-access",
        {"action": "enable"},
        token_from="/staff/clients",
    )
    assert (await sign_in(alice_phone, "alice")).status_code == 303


async def test_unlock_clears_a_throttled_account(app, client, cast):
    for _ in range(10):
        await LoginEvent.create(
            user_id=cast.alice.user_id, at=clock.now(), success=False, detail="bad_credentials"
        )
    alice = app.test_client()
    assert (await sign_in(alice, "alice")).status_code != 303  # throttled
    await sign_in(client, "ada")
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert "Locked" in html and f"/staff/clients/{cast.alice.id}/unlock" in html
    response = await post(
        client, f"/staff/clients/{cast.alice.id}/unlock", token_from="/staff/clients"
    )
    assert response.status_code == 303
    assert (await sign_in(alice, "alice")).status_code == 303
    assert await AuditEvent.filter(action="account.unlocked", client_id=cast.alice.id).exists()


async def test_the_clients_list_shows_portal_status_and_the_actions_a_role_allows(
    app, client, cast
):
    await User.filter(id=cast.bob.user_id).update(totp_enabled_at=clock.now())
    await sign_in(client, "sid")
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert "Active" in html and "Not invited" in html and "2FA on" in html
    assert f"/staff/clients/{cast.charlie.id}/invite" in html
    assert "/portal-access" not in html and "/unlock" not in html  # admin only
    await sign_in(client, "ada", token_from="/staff/clients")
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert f"/staff/clients/{cast.alice.id}/portal-access" in html
    await sign_in(client, "bea", token_from="/staff/clients")
    html = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert "/invite" not in html and "Not invited" in html


@pytest.mark.parametrize(
    ("who", "status"), [("sid", 200), ("ada", 200), ("penny", 403), ("bea", 403)]
)
async def test_registrations_in_review_are_for_admins_and_schedulers(client, cast, who, status):
    await sign_in(client, who)
    assert (await client.get("/staff/registrations")).status_code == status


STAFF_POSTS = [
    ("invite", {"email": "x@example.test"}),
    ("portal-access", {"action": "disable"}),
    ("unlock", {}),
]


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("sid", "portal-access", 403),
        ("sid", "unlock", 403),
        ("penny", "invite", 403),
        ("bea", "invite", 403),
        ("penny", "portal-access", 403),
    ],
)
async def test_each_role_may_do_only_its_part(client, cast, who, action, status):
    await sign_in(client, who)
    form = dict(STAFF_POSTS)[action]
    response = await post(
        client, f"/staff/clients/{cast.alice.id}/{action}", form, token_from="/staff/clients"
    )
    assert response.status_code == status
    assert (await User.get(id=cast.alice.user_id)).is_active
    assert await Invitation.all().count() == 0


async def test_staff_of_another_practice_get_404_and_change_nothing(app, cast, smtp_server):
    other = await Practice.create(name="Elsewhere")
    user = await User.create(
        email="olga@elsewhere.test",
        display_name="Olga",
        password_hash=(await User.get(id=cast.ada.user_id)).password_hash,
    )
    await StaffMember.create(practice=other, user=user, roles=["admin"])
    await Client.filter(id=cast.bob.id).update(date_of_birth=date(1991, 4, 12))
    await register(app, email="bob2@example.test", first_name="Bob", last_name="Example")
    registration = await Registration.get()
    olga = app.test_client()
    assert (await sign_in(olga, "olga@elsewhere.test", PASSWORD)).status_code == 303
    for action, form in STAFF_POSTS:
        for target in (cast.alice, cast.charlie):
            response = await post(
                olga, f"/staff/clients/{target.id}/{action}", form, token_from="/staff/clients"
            )
            assert response.status_code == 404, (action, target.first_name)
    for action in ("approve", "dismiss"):
        response = await post(
            olga, f"/staff/registrations/{registration.id}/{action}", token_from="/staff/clients"
        )
        assert response.status_code == 404
    html = await (await olga.get("/staff/registrations")).get_data(as_text=True)
    assert "bob2@example.test" not in html
    assert (await User.get(id=cast.alice.user_id)).is_active
    assert await Invitation.all().count() == 0
    assert (await Registration.get()).status == "review"


@pytest.mark.parametrize("who", ["alice", "gina"])
async def test_a_client_gets_404_on_the_staff_urls(client, cast, who):
    await sign_in(client, who)
    assert (await client.get("/staff/registrations")).status_code == 404
    for action, form in STAFF_POSTS:
        response = await post(client, f"/staff/clients/{cast.bob.id}/{action}", form)
        assert response.status_code == 404
    assert (await User.get(id=cast.bob.user_id)).is_active


@pytest.mark.parametrize(
    "path",
    [
        "/staff/clients/99999999999999999999/invite",
        "/staff/clients/0/unlock",
        "/staff/clients/-1/portal-access",
        "/staff/clients/abc/invite",
        "/staff/clients/2147483647/portal-access",
        "/staff/registrations/2147483647/approve",
        "/staff/registrations/1/dismiss",
    ],
)
async def test_tampered_ids_are_404_never_500(client, cast, path):
    await sign_in(client, "ada")
    response = await post(client, path, {"action": "disable"}, token_from="/staff/clients")
    assert response.status_code in (404, 405), (path, response.status_code)


@pytest.mark.parametrize(
    "form",
    [
        {"action": "explode"},
        {"action": "x" * 5000},
        {},
        {"action": "disable", "client_id": str(2**40), "is_active": "1"},
    ],
)
async def test_a_bad_portal_access_form_changes_nothing(client, cast, form):
    await sign_in(client, "ada")
    response = await post(
        client, f"/staff/clients/{cast.bob.id}/portal-access", form, token_from="/staff/clients"
    )
    assert response.status_code in (303, 422)
    if form.get("action") != "disable":
        assert response.status_code == 422 and (await User.get(id=cast.bob.user_id)).is_active


@pytest.mark.parametrize("email", ["not an email", "a" * 300, "x@y", "\x00@example.test"])
async def test_a_bad_invitation_email_is_a_422(app, client, cast, smtp_server, email):
    await sign_in(client, "ada")
    response = await invite(client, cast, email=email)
    assert response.status_code == 422
    assert await Invitation.all().count() == 0


async def test_inviting_a_client_who_has_an_account_is_refused_clearly(client, cast):
    await sign_in(client, "sid")
    response = await invite(client, cast, who="alice", email="alice.new@example.test")
    assert response.status_code == 422
    assert "already has a portal account" in await response.get_data(as_text=True)
    assert await Invitation.all().count() == 0


async def test_a_spent_link_sent_with_htmx_loads_the_410_page(app, client, cast, smtp_server):
    await sign_in(client, "ada")
    await invite(client, cast)
    message = mail_to(await sent_mail(app, smtp_server), "charlie@example.test")
    path = link_in(message, "/invite/").removeprefix(PUBLIC)
    visitor = app.test_client()
    token = await csrf_token(visitor, path)
    form = {"password": NEW_PASSWORD, "csrf_token": token}
    assert (await visitor.post(path, form=form, headers=HX)).status_code == 200
    again = await visitor.post(path, form=form, headers=HX)
    assert again.headers["HX-Redirect"] == path
    assert await User.filter(email="charlie@example.test").count() == 1
    for odd in ("/invite/%00", "/invite/" + "%F0%9F%98%80" * 40, "/register/confirm/%00"):
        assert (await visitor.get(odd)).status_code == 404, odd
