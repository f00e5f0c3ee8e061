"""My Profile > Sign-in and security: new-device emails, sessions, devices, history, terms."""

import pytest

from models.people import User
from models.practice import Practice
from models.security import Device, LoginEvent, Session
from tests.helpers import post, sign_in
from tests.mailserver import sent_mail
from tests.security_helpers import enrol, sign_in_with_code

CHROME = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/140 Safari"}


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url}


async def test_a_new_browser_gets_one_email_and_a_known_one_none(app, client, cast, smtp_server):
    await sign_in(client, "alice")
    [notice] = await sent_mail(app, smtp_server)
    assert notice["To"] == "alice@test.example"
    assert "New sign-in" in notice["Subject"]
    body = notice.get_content()
    assert "http://localhost/profile/security" in body and "UTC" in body
    assert "Session" not in notice["Subject"]  # nothing about appointments or care
    await post(client, "/logout", {})
    await sign_in(client, "alice")  # the device cookie is back
    smtp_server.clear()
    assert await sent_mail(app, smtp_server) == []


async def test_a_burst_of_new_browser_sign_ins_sends_one_email_an_hour(app, cast, smtp_server):
    for _ in range(20):
        await sign_in(app.test_client(), "alice")
    assert len(await sent_mail(app, smtp_server)) == 1
    assert await Device.filter(user_id=cast.alice.user_id).count() == 20


async def test_history_lists_successes_failures_and_two_factor(app, client, cast, smtp_server):
    secret, _ = await enrol(cast.alice.user_id)
    await sign_in(app.test_client(), "alice", password="wrong password here")
    await sign_in_with_code(client, "alice", secret)
    page = await client.get("/profile/security", headers=CHROME)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Wrong password" in html and "Signed in with two-factor" in html
    assert "Password right, code asked" in html
    assert await LoginEvent.filter(user_id=cast.alice.user_id).count() == 3


async def test_sign_out_other_sessions(app, client, cast):
    other = app.test_client()
    await sign_in(other, "alice")
    await sign_in(client, "alice")
    page = await client.get("/profile/security")
    assert "Sign out all other sessions" in await page.get_data(as_text=True)
    done = await post(
        client, "/profile/security/sessions/sign-out-others", {}, token_from="/profile/security"
    )
    assert done.status_code == 303
    assert (await other.get("/dashboard")).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200


async def test_forgetting_a_device_asks_for_the_code_again_and_ends_its_sessions(app, cast):
    secret, _ = await enrol(cast.alice.user_id)
    phone = app.test_client()
    await sign_in_with_code(phone, "alice", secret, remember=True)
    laptop = app.test_client()
    from datetime import timedelta

    from models import clock

    clock.travel(timedelta(seconds=30))
    await sign_in_with_code(laptop, "alice", secret)
    phone_device = await Device.filter(user_id=cast.alice.user_id).order_by("id").first()
    done = await post(
        laptop,
        f"/profile/security/devices/{phone_device.id}/forget",
        {},
        token_from="/profile/security",
    )
    assert done.status_code == 303
    assert (await phone.get("/dashboard")).status_code == 303
    again = await sign_in(phone, "alice")
    assert again.headers["Location"].startswith("/login/code")


async def test_someone_elses_device_is_a_404(app, client, cast):
    await sign_in(app.test_client(), "bob")
    bobs = await Device.get(user_id=cast.bob.user_id)
    await sign_in(client, "alice")
    response = await post(
        client, f"/profile/security/devices/{bobs.id}/forget", {}, token_from="/profile/security"
    )
    assert response.status_code == 404
    assert (await Device.get(id=bobs.id)).revoked_at is None


async def test_staff_reach_their_security_page_too(client, cast):
    await sign_in(client, "sid")
    page = await client.get("/profile/security")
    assert page.status_code == 200
    assert "Two-factor sign-in" in await page.get_data(as_text=True)


async def test_terms_are_accepted_at_first_sign_in_and_again_when_changed(app, client, cast):
    practice = await Practice.get(id=cast.practice.id)
    practice.terms_of_service = "Be kind. Cancel 24 hours ahead."
    await practice.save()
    first = await sign_in(client, "alice")
    assert first.headers["Location"] == "/terms?next=/dashboard"
    blocked = await client.get("/appointments")
    assert blocked.status_code == 303 and blocked.headers["Location"] == "/terms"
    page = await client.get("/terms")
    assert "Be kind." in await page.get_data(as_text=True)
    stale = await post(client, "/terms/accept", {"version": "99"}, token_from="/terms")
    assert stale.headers["Location"] == "/terms"
    done = await post(
        client, "/terms/accept", {"version": "1", "next": "/appointments"}, token_from="/terms"
    )
    assert done.headers["Location"] == "/appointments"
    assert (await client.get("/appointments")).status_code == 200
    user = await User.get(id=cast.alice.user_id)
    assert user.terms_version == 1 and user.terms_accepted_at is not None
    assert await Session.filter(user_id=user.id, stage="").count() == 1

    practice.terms_version = 2
    practice.terms_of_service = "Be kind. Cancel 48 hours ahead."
    await practice.save()
    await post(client, "/logout", {})
    again = await sign_in(client, "alice")
    assert again.headers["Location"].startswith("/terms")
    # Staff are not asked.
    staff = await sign_in(app.test_client(), "sid")
    assert staff.headers["Location"] == "/staff/"
