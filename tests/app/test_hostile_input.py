"""No request input produces a 500, and none changes anything it should not."""

import pytest

from models.scheduling import Appointment
from tests.helpers import HX, post, sign_in

HOSTILE_PATHS = [
    "/messages/99999999999999999999",
    "/messages/0",
    "/messages/-1",
    "/messages/abc",
    "/appointments/%00",
    "/account?start=%00&end=%ff",
    "/account?start=2026-01-01&start=2027-01-01",
    "/documents?q=%27%3B%20DROP%20TABLE%20client%3B--",
    "/documents?q=" + "%F0%9F%98%80" * 50,
    "/login?next=%0d%0aSet-Cookie:%20x=y",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
async def test_it_answers_hostile_urls_without_a_server_error(client, cast, path):
    await sign_in(client, "alice")
    response = await client.get(path)
    assert response.status_code < 500, (path, response.status_code)
    assert "Set-Cookie: x" not in str(response.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/appointments/99999999999999999999/confirm",
        "/appointments/0/cancel",
        "/switch-client",
        "/language",
    ],
)
async def test_it_answers_hostile_posts_without_a_server_error(client, cast, path):
    await sign_in(client, "alice")
    for form in (
        {},
        {"client_id": "9" * 40, "lang": "xx"},
        {"next": "//evil", "lang": "\x00"},
        {"client_id": "²"},  # a digit to str.isdigit(), not to int()
    ):
        response = await post(client, path, form, headers=HX)
        # 405: werkzeug's answer when an id the converter refuses (0) sits on a path
        # that also has a GET rule; like 404, a clear refusal that changes nothing.
        assert response.status_code in (400, 404, 405, 422), (path, form, response.status_code)
    assert await Appointment.filter(status="confirmed").count() == 0


async def test_it_answers_a_malformed_form_body_without_a_server_error(client, cast):
    response = await client.post(
        "/login",
        data=b"\xff\xfe%%%&&&=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403  # no CSRF token could be read from it
    response = await client.post(
        "/login", data=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code in (400, 403)


SECURITY_POSTS = [
    "/profile/security/password",
    "/profile/security/username",
    "/profile/security/two-factor/start",
    "/profile/security/two-factor/confirm",
    "/profile/security/two-factor/off",
    "/profile/security/two-factor/recovery-codes",
    "/profile/security/devices/99999999999999999999/forget",
    "/terms/accept",
]
JUNK_FORMS = [
    {},
    {"current_password": "\x00" * 10, "new_password": "a" * 5000, "username": "\x00x\x00"},
    {"code": "9" * 40, "version": "-1", "username": "ab", "next": "//evil.example"},
    {"code": "\x00123456", "current_password": "x" * 300, "version": "9" * 30},
]


@pytest.mark.parametrize("path", SECURITY_POSTS)
async def test_account_security_forms_refuse_junk_without_a_server_error(client, cast, path):
    from models.people import User

    await sign_in(client, "alice")
    before = await User.get(id=cast.alice.user_id)
    for form in JUNK_FORMS:
        response = await post(client, path, form, token_from="/profile/security")
        assert response.status_code < 500, (path, form, response.status_code)
    after = await User.get(id=cast.alice.user_id)
    assert after.password_hash == before.password_hash
    assert after.username == before.username and after.totp_enabled_at is None


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/login", {"username": "\x00alice@test.example", "password": "x"}),
        ("/login", {"username": "a" * 5000, "password": "\x00"}),
        ("/login/code", {"code": "\x00"}),
        ("/password/forgot", {"email": "\x00@x.y"}),
        ("/password/forgot", {"email": "a@" + "b" * 300}),
        ("/password/reset/%00", {"new_password": "a long enough password"}),
        ("/password/reset/" + "x" * 300, {"new_password": "a long enough password"}),
    ],
)
async def test_sign_in_and_reset_forms_refuse_junk_without_a_server_error(client, cast, path, form):
    from tests.helpers import csrf_token

    token = await csrf_token(client)
    response = await client.post(path, form={**form, "csrf_token": token})
    assert response.status_code < 500, (path, response.status_code)
