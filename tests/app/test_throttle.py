"""Brute force: limits per account and per IP, checked before hashing, and no enumeration."""

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from models import auth, clock
from models.security import LoginEvent, Session
from tests.cast import PASSWORD
from tests.helpers import csrf_token, sign_in


@pytest.fixture
def hasher_calls(monkeypatch):
    """Count argon2 verifications, the way Django's timing test counts hasher calls."""
    calls = []

    class CountingHasher(PasswordHasher):
        def verify(self, *args, **kwargs):
            calls.append(1)
            return super().verify(*args, **kwargs)

    real = auth._hasher
    counting = CountingHasher(
        time_cost=real.time_cost, memory_cost=real.memory_cost, parallelism=real.parallelism
    )
    monkeypatch.setattr(auth, "_hasher", counting)
    return calls


async def test_an_unknown_account_and_a_wrong_password_each_hash_exactly_once(
    client, cast, hasher_calls
):
    await sign_in(client, "alice", password="wrong password 1")
    assert len(hasher_calls) == 1
    await sign_in(client, "nobody@test.example", password="wrong password 1")
    assert len(hasher_calls) == 2


async def test_answers_for_unknown_and_known_accounts_are_identical(client, cast, app):
    async def body(name: str) -> tuple[int, str]:
        fresh = app.test_client()
        response = await sign_in(fresh, name, password="wrong password 1")
        html = await response.get_data(as_text=True)
        token = await csrf_token(fresh)
        html = re.sub(r'nonce="[^"]+"', "", html.replace(token, "").replace(name, "NAME"))
        return response.status_code, html

    assert await body("alice@test.example") == await body("nobody@test.example")


PEER = {"client": ("127.0.0.1", 40000)}  # the TCP peer the server sees


async def sign_in_from_peer(client, email: str, password: str = PASSWORD):
    token = await csrf_token(client)
    return await client.post(
        "/login",
        form={"username": email, "password": password, "csrf_token": token},
        scope_base=PEER,
    )


async def fail(client, name: str, times: int, ip: str | None = None) -> list[int]:
    statuses = []
    for i in range(times):
        headers = {"X-Forwarded-For": ip} if ip else None
        token = await csrf_token(client)
        response = await client.post(
            "/login",
            form={"username": name, "password": f"wrong {i}", "csrf_token": token},
            headers=headers,
            scope_base=PEER,
        )
        statuses.append(response.status_code)
    return statuses


async def test_ten_failures_then_a_growing_delay_and_no_hash_while_throttled(
    client, cast, hasher_calls
):
    assert await fail(client, "alice@test.example", 10) == [422] * 10
    assert len(hasher_calls) == 10
    refused = await sign_in(client, "alice")  # even the right password waits
    assert refused.status_code == 429
    assert "Too many attempts" in await refused.get_data(as_text=True)
    assert len(hasher_calls) == 10  # refused before hashing
    assert await Session.all().count() == 0
    clock.travel(timedelta(seconds=31))
    assert await fail(client, "alice@test.example", 1) == [422]  # the 11th gets through, fails
    assert (await sign_in(client, "alice")).status_code == 429  # now 60 s to wait
    clock.travel(timedelta(seconds=61))
    assert (await sign_in(client, "alice")).status_code == 303


async def test_an_unknown_account_is_throttled_exactly_like_a_known_one(client, cast):
    known = await fail(client, "alice@test.example", 11)
    unknown = await fail(client, "nobody@test.example", 11)
    assert known == unknown == [422] * 10 + [429]


async def test_twenty_failures_an_hour_from_one_ip_stop_that_ip(client, cast, hasher_calls):
    names = [f"user{i}@test.example" for i in range(20)]
    for name in names:
        await fail(client, name, 1)
    assert len(hasher_calls) == 20
    refused = await sign_in_from_peer(client, "bob@test.example")
    assert refused.status_code == 429 and len(hasher_calls) == 20
    clock.travel(timedelta(hours=1, seconds=1))
    assert (await sign_in_from_peer(client, "bob@test.example")).status_code == 303


async def test_an_untrusted_peer_cannot_pick_its_ip_with_x_forwarded_for(client, cast):
    for i in range(20):
        await fail(client, f"user{i}@test.example", 1, ip=f"203.0.113.{i}")
    events = await LoginEvent.filter(success=False).values_list("ip", flat=True)
    assert set(events) == {"127.0.0.1"}
    assert (await sign_in_from_peer(client, "bob@test.example")).status_code == 429


async def test_behind_a_trusted_proxy_the_forwarded_address_is_used(app, cast):
    app.app.config["PORTAL"] = replace(app.app.config["PORTAL"], trusted_proxies="127.0.0.1/32")
    client = app.test_client()
    await fail(client, "nobody@test.example", 1, ip="198.51.100.7, 203.0.113.9")
    event = await LoginEvent.get(success=False)
    assert event.ip == "203.0.113.9"  # the right-most hop the proxy saw, not the client's claim


async def test_a_reset_lifts_the_throttle(client, cast):
    await fail(client, "alice@test.example", 10)
    assert (await sign_in(client, "alice")).status_code == 429
    from models.people import User

    user = await User.get(id=cast.alice.user_id)
    await auth.set_password(user, PASSWORD)
    assert (await sign_in(client, "alice")).status_code == 303


async def test_no_more_than_100_failures_an_hour_for_one_account(app, cast):
    from models import throttle
    from models.people import User

    user = await User.get(id=cast.alice.user_id)
    start = clock.now()
    for i in range(100):  # spread out so the 15-minute delay alone never stops them
        await LoginEvent.create(
            user_id=user.id,
            at=start - timedelta(minutes=59) + timedelta(seconds=30 * i),
            success=False,
            detail="bad_credentials",
            ip=f"198.51.100.{i}",
        )
    wait = await throttle.sign_in_wait(user, "", "192.0.2.1")
    assert wait > timedelta(0)


async def test_sign_in_events_are_logged_by_name_without_secrets(client, cast, caplog):
    caplog.set_level("INFO", logger="portal.security")
    await sign_in(client, "alice", password="wrong password 1")
    await sign_in(client, "alice")
    token = await csrf_token(client, "/dashboard")
    await client.post("/logout", form={"csrf_token": token + "x"})
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert [line.split()[0] for line in lines] == [
        "authn_login_fail",
        "authn_login_success",
        "authz_fail",
    ]
    text = "\n".join(lines)
    assert "wrong password" not in text and PASSWORD not in text and "alice@" not in text
