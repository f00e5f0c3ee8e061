"""Password reset by email, and changing password and username from My Profile."""

import re
from datetime import timedelta

import pytest

from models import clock
from models.people import User
from models.security import PasswordReset, Session
from tests.cast import PASSWORD
from tests.helpers import csrf_token, post, sign_in
from tests.mailserver import sent_mail
from tests.security_helpers import enrol

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url, "public_url": "https://portal.example.test"}


async def ask(client, email: str, headers=None):
    token = await csrf_token(client, "/password/forgot")
    return await client.post(
        "/password/forgot", form={"email": email, "csrf_token": token}, headers=headers
    )


def link_in(message) -> str:
    match = re.search(r"https?://\S+/password/reset/\S+", message.get_content())
    assert match, message.get_content()
    return match.group(0)


async def choose(client, path: str, password: str = NEW_PASSWORD):
    token = await csrf_token(client, "/password/forgot")
    return await client.post(path, form={"new_password": password, "csrf_token": token})


async def test_a_reset_link_comes_from_public_url_whatever_the_host_header(
    app, client, cast, smtp_server
):
    response = await ask(client, "alice@test.example", headers={"Host": "evil.example"})
    assert response.status_code == 200
    [message] = await sent_mail(app, smtp_server)
    assert message["To"] == "alice@test.example"
    link = link_in(message)
    assert link.startswith("https://portal.example.test/password/reset/")
    assert "evil.example" not in message.get_content()
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 22  # at least 128 bits, base64url
    stored = await PasswordReset.get(user_id=cast.alice.user_id)
    assert stored.token_hash != token


async def test_unknown_and_known_emails_get_the_same_reply_and_only_one_gets_mail(
    app, client, cast, smtp_server
):
    known = await ask(client, "alice@test.example")
    unknown = await ask(client, "nobody@test.example")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'(nonce|value)="[^"]+"', "", html)  # noqa: E731
    assert strip(await known.get_data(as_text=True)) == strip(await unknown.get_data(as_text=True))
    assert len(await sent_mail(app, smtp_server)) == 1


async def test_a_reset_sets_the_password_ends_sessions_and_works_once(
    app, client, cast, smtp_server
):
    other = app.test_client()
    await sign_in(other, "alice")
    await sent_mail(app, smtp_server)
    smtp_server.clear()  # the new-device notice
    await ask(client, "alice@test.example")
    [message] = await sent_mail(app, smtp_server)
    path = "/" + link_in(message).split("/", 3)[3]
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    weak = await choose(client, path, "password123")
    assert weak.status_code == 422
    done = await choose(client, path)
    assert done.status_code == 303 and done.headers["Location"].startswith("/login")
    assert await Session.filter(user_id=cast.alice.user_id).count() == 0
    assert (await other.get("/dashboard")).status_code == 303  # the old session is gone
    assert (await sign_in(client, "alice", password=NEW_PASSWORD)).status_code == 303
    again = await choose(client, path, "yet another passphrase")
    assert again.status_code == 410
    user = await User.get(id=cast.alice.user_id)
    assert (await sign_in(app.test_client(), "alice", password=NEW_PASSWORD)).status_code == 303
    assert user.password_changed_at is not None
    notices = await sent_mail(app, smtp_server)
    assert any("password was changed" in m["Subject"] for m in notices)


async def test_a_link_older_than_30_minutes_is_refused(app, client, cast, smtp_server):
    await ask(client, "alice@test.example")
    [message] = await sent_mail(app, smtp_server)
    path = "/" + link_in(message).split("/", 3)[3]
    clock.travel(timedelta(minutes=30, seconds=1))
    assert (await client.get(path)).status_code == 410
    assert (await choose(client, path)).status_code == 410
    assert (await sign_in(client, "alice")).status_code == 303  # the old password still works


async def test_a_reset_does_not_skip_two_factor(app, client, cast, smtp_server):
    await enrol(cast.alice.user_id)
    await ask(client, "alice@test.example")
    [message] = await sent_mail(app, smtp_server)
    await choose(client, "/" + link_in(message).split("/", 3)[3])
    response = await sign_in(client, "alice", password=NEW_PASSWORD)
    assert response.headers["Location"].startswith("/login/code")


async def test_at_most_five_links_an_hour(app, client, cast, smtp_server):
    for _ in range(6):
        assert (await ask(client, "alice@test.example")).status_code == 200
    assert len(await sent_mail(app, smtp_server)) == 5


async def test_a_made_up_token_is_refused(client, cast):
    assert (await client.get("/password/reset/" + "x" * 43)).status_code == 410
    assert (await client.get("/password/reset/" + "x" * 500)).status_code == 410


async def test_change_password_needs_the_current_one_and_signs_out_others(app, client, cast):
    other = app.test_client()
    await sign_in(other, "alice")
    await sign_in(client, "alice")
    wrong = await post(
        client,
        "/profile/security/password",
        {"current_password": "nope nope nope", "new_password": NEW_PASSWORD},
        token_from="/profile/security",
    )
    assert wrong.status_code == 422
    common = await post(
        client,
        "/profile/security/password",
        {"current_password": PASSWORD, "new_password": "iloveyou1"},
        token_from="/profile/security",
    )
    assert common.status_code == 422
    assert "too easy to guess" in await common.get_data(as_text=True)
    done = await post(
        client,
        "/profile/security/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        token_from="/profile/security",
    )
    assert done.status_code == 303
    assert (await client.get("/dashboard")).status_code == 200
    assert (await other.get("/dashboard")).status_code == 303
    assert await Session.filter(user_id=cast.alice.user_id).count() == 1


@pytest.mark.parametrize(
    ("password", "ok"),
    [("seven77", False), ("eight888 ", True), ("x" * 128, True), ("x" * 129, False)],
)
def test_password_rules(password, ok):
    from models.passwords import password_problem

    assert (password_problem(password) is None) == ok


def test_passwords_are_not_truncated():
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    base = "p" * 72
    stored = hasher.hash(base + "A")
    with pytest.raises(Exception):  # noqa: B017
        hasher.verify(stored, base + "B")


async def test_change_username(app, client, cast):
    await sign_in(client, "alice")
    await User.filter(id=cast.sid.user_id).update(username="sid")
    taken = await post(
        client,
        "/profile/security/username",
        {"current_password": PASSWORD, "username": "SID"},
        token_from="/profile/security",
    )
    assert taken.status_code == 422
    done = await post(
        client,
        "/profile/security/username",
        {"current_password": PASSWORD, "username": "Alice.W"},
        token_from="/profile/security",
    )
    assert done.status_code == 303
    assert (await User.get(id=cast.alice.user_id)).username == "alice.w"
    fresh = app.test_client()
    token = await csrf_token(fresh)
    by_username = await fresh.post(
        "/login", form={"username": "alice.w", "password": PASSWORD, "csrf_token": token}
    )
    assert by_username.status_code == 303
