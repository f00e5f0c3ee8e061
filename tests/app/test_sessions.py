"""Sign-in, server-side sessions, timeouts and sign-out."""

from datetime import timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.security import LoginEvent, Session
from tests.helpers import HX, csrf_token, post, sign_in


def cookie_header(response, name: str) -> str:
    for value in response.headers.getlist("Set-Cookie"):
        if value.startswith(name + "="):
            return value
    raise AssertionError(f"no {name} cookie set")


async def test_it_signs_a_client_in_and_lands_on_the_dashboard(client, cast):
    response = await sign_in(client, "alice")
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard"
    cookie = cookie_header(response, "portal_session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert await Session.filter(user_id=cast.alice.user_id).count() == 1
    assert await LoginEvent.filter(user_id=cast.alice.user_id, success=True).count() == 1
    assert await AuditEvent.filter(action="session.login", actor_id=cast.alice.user_id).exists()


async def test_it_signs_staff_in_to_the_staff_inbox(client, cast):
    response = await sign_in(client, "sid")
    assert response.headers["Location"] == "/staff/"


async def test_it_accepts_the_username_or_any_case_of_the_email(client, cast):
    response = await sign_in(client, "ALICE@Test.Example")
    assert response.headers["Location"] == "/dashboard"


async def test_it_stores_only_a_hash_of_the_session_cookie(client, cast):
    response = await sign_in(client, "alice")
    token = cookie_header(response, "portal_session").split(";")[0].split("=", 1)[1]
    assert not await Session.filter(id=token).exists()
    assert len(token) >= 43  # 256 random bits


async def test_it_answers_a_wrong_password_and_an_unknown_account_alike(client, cast):
    wrong = await sign_in(client, "alice", password="not the password")
    unknown = await sign_in(client, "nobody@test.example", password="not the password")
    assert wrong.status_code == unknown.status_code == 422
    wrong_html = await wrong.get_data(as_text=True)
    unknown_html = await unknown.get_data(as_text=True)
    message = "That email or username and password do not match."
    assert message in wrong_html and message in unknown_html
    assert "not the password" not in wrong_html
    assert 'value="alice@test.example"' in wrong_html  # the username is kept
    assert await Session.all().count() == 0
    assert await LoginEvent.filter(success=False).count() == 2


async def test_it_gives_a_new_session_id_at_each_sign_in(client, cast):
    await sign_in(client, "alice")
    first = await Session.get(user_id=cast.alice.user_id)
    await sign_in(client, "bob", token_from="/dashboard")
    assert not await Session.filter(id=first.id).exists()
    assert await Session.filter(user_id=cast.bob.user_id).count() == 1


async def test_it_signs_out_and_deletes_the_session(client, cast):
    await sign_in(client, "alice")
    response = await post(client, "/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert await Session.all().count() == 0
    assert (await client.get("/dashboard")).status_code == 303


async def test_it_ends_a_session_after_15_idle_minutes(client, cast):
    await sign_in(client, "alice")
    clock.travel(timedelta(minutes=14))
    assert (await client.get("/dashboard")).status_code == 200
    clock.travel(timedelta(minutes=14))  # active 14 minutes ago: still alive
    assert (await client.get("/dashboard")).status_code == 200
    clock.travel(timedelta(minutes=16))
    response = await client.get("/dashboard")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert await Session.all().count() == 0


async def test_it_ends_a_session_after_12_hours_however_active(client, cast):
    await sign_in(client, "alice")
    for _ in range(12 * 6):
        clock.travel(timedelta(minutes=10))
        if (await client.get("/healthz/live")).status_code != 200:
            break
        await client.get("/dashboard")
    response = await client.get("/dashboard")
    assert response.status_code == 303
    assert await Session.all().count() == 0


async def test_it_refuses_a_post_without_a_valid_csrf_token(client, cast):
    await sign_in(client, "alice")
    for form in ({}, {"csrf_token": "forged"}):
        response = await client.post(f"/appointments/{cast.a_soon.id}/confirm", form=form)
        assert response.status_code == 403
        assert "This form has expired" in await response.get_data(as_text=True)
    await cast.a_soon.refresh_from_db()
    assert cast.a_soon.status == "scheduled"


async def test_it_accepts_the_csrf_token_as_an_htmx_header(client, cast):
    await sign_in(client, "alice")
    token = await csrf_token(client, "/dashboard")
    response = await client.post(
        f"/appointments/{cast.a_soon.id}/confirm", headers={**HX, "X-CSRF-Token": token}
    )
    assert response.status_code == 200
    await cast.a_soon.refresh_from_db()
    assert cast.a_soon.status == "confirmed"


async def test_it_refuses_a_login_post_without_the_anonymous_csrf_token(client, cast):
    response = await client.post(
        "/login", form={"username": "alice@test.example", "password": "correct horse battery"}
    )
    assert response.status_code == 403
    assert await Session.all().count() == 0


@pytest.mark.parametrize(
    "form",
    [
        {"username": "", "password": ""},
        {"username": "a" * 300, "password": "x"},
        {"username": "alice@test.example", "password": "p" * 300},
        {"username": "alice@test.example"},
    ],
)
async def test_it_answers_a_malformed_login_form_with_422_and_the_form(client, cast, form):
    token = await csrf_token(client)
    response = await client.post("/login", form={**form, "csrf_token": token})
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert 'id="login-form"' in html and "field-error" in html
    assert await Session.all().count() == 0


async def test_it_answers_an_oversized_body_with_413(client, cast):
    token = await csrf_token(client)
    response = await client.post(
        "/login", form={"username": "x", "password": "y" * 2_000_000, "csrf_token": token}
    )
    assert response.status_code == 413
    assert "Too large" in await response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
async def test_it_never_redirects_off_site_after_sign_in(client, cast, target):
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        form={
            "username": "alice@test.example",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": target,
        },
    )
    assert response.headers["Location"] == "/dashboard"


async def test_it_lets_a_guardian_switch_client_but_not_to_a_stranger(client, cast):
    await sign_in(client, "gina")
    first = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Charlie&#39;s portal" in first or "Charlie's portal" in first
    response = await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    assert response.status_code == 303
    page = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Dana" in page and "Balance" in page  # Dana's scopes include billing
    response = await post(client, "/switch-client", {"client_id": str(cast.alice.id)})
    assert response.status_code == 404
    response = await post(client, "/switch-client", {"client_id": "not-a-number"})
    assert response.status_code == 404
    session = await Session.get(user_id=cast.gina.id)
    assert session.acting_client_id == cast.dana.id
