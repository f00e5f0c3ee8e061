"""Two-factor sign-in: TOTP by RFC 6238, replay, the device cookie, recovery codes."""

import base64
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from models import clock, two_factor
from models.outbox import OutboxMessage
from models.people import User
from models.practice import Practice
from models.security import Device, LoginEvent, RecoveryCode, Session
from tests.helpers import csrf_token, post, sign_in
from tests.security_helpers import (
    code_now,
    enrol,
    send_code,
    session_cookie,
    sign_in_with_code,
)

# RFC 6238 appendix B, SHA-1: the 8-digit values; a 6-digit code is their last six digits.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_codes_match_the_rfc_6238_test_vectors(unix_time, expected):
    moment = datetime.fromtimestamp(unix_time, UTC)
    counter = two_factor.counter_at(moment)
    assert two_factor.totp(RFC_SECRET).generate_otp(counter) == expected[-6:]


async def test_it_accepts_a_code_made_by_oathtool(app, cast):
    oathtool = shutil.which("oathtool")
    if oathtool is None:
        pytest.fail("oathtool is missing: apt-get install oathtool (.ci/run installs it)")
    user = await User.get(id=cast.alice.user_id)
    secret = await two_factor.begin_enrolment(user)
    # Fix oathtool's time to the start of the current step, so a step boundary can't split us.
    start = two_factor.counter_at(clock.now()) * 30
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    code = subprocess.run(
        [oathtool, "--totp", "-b", secret, "-N", stamp],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    assert len(code) == 6
    codes = await two_factor.confirm_enrolment(user, code)
    assert len(codes) == 10
    assert (await User.get(id=user.id)).totp_enabled_at is not None


async def test_a_code_works_once_and_only_for_now_or_one_step_back(app, cast):
    secret, _ = await enrol(cast.alice.user_id)
    clock.travel(timedelta(seconds=30))  # so one step back is not the enrolment's own step
    user = await User.get(id=cast.alice.user_id)
    assert await two_factor.verify_code(user, code_now(secret, steps_back=2)) is None
    future = pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30))
    assert await two_factor.verify_code(user, future) is None
    assert await two_factor.verify_code(user, code_now(secret, steps_back=1)) == "totp"
    assert await two_factor.verify_code(user, code_now(secret)) == "totp"
    user = await User.get(id=cast.alice.user_id)
    assert await two_factor.verify_code(user, code_now(secret)) == "replayed"
    assert await two_factor.verify_code(user, code_now(secret, steps_back=1)) == "replayed"


async def test_sign_in_asks_for_the_code_and_changes_the_session_id_twice(client, cast):
    secret, _ = await enrol(cast.alice.user_id)
    before = await client.get("/login")
    assert session_cookie(before) is None
    first = await sign_in(client, "alice")
    assert first.headers["Location"] == "/login/code?next=/dashboard"
    pending_cookie = session_cookie(first)
    # Half signed in is not signed in.
    blocked = await client.get("/dashboard")
    assert blocked.status_code == 303 and blocked.headers["Location"].startswith("/login")
    page = await client.get("/login/code")
    assert "Enter your code" in await page.get_data(as_text=True)

    second = await send_code(client, code_now(secret), next_path="/dashboard")
    assert second.status_code == 303 and second.headers["Location"] == "/dashboard"
    full_cookie = session_cookie(second)
    assert full_cookie and pending_cookie and full_cookie != pending_cookie
    assert await Session.filter(user_id=cast.alice.user_id).count() == 1
    session = await Session.get(user_id=cast.alice.user_id)
    assert session.stage == "" and session.two_factor is True
    assert (await client.get("/dashboard")).status_code == 200
    event = await LoginEvent.filter(user_id=cast.alice.user_id).order_by("-id").first()
    assert event.success and event.two_factor and event.detail == "two_factor"


async def test_a_replayed_code_is_refused_at_sign_in(client, cast, app):
    secret, _ = await enrol(cast.alice.user_id)
    code = code_now(secret)
    await sign_in(client, "alice")
    assert (await send_code(client, code)).status_code == 303
    other = app.test_client()
    await sign_in(other, "alice")
    replay = await send_code(other, code)
    assert replay.status_code == 422
    assert "each works once" in await replay.get_data(as_text=True)
    assert await Session.filter(user_id=cast.alice.user_id, stage="").count() == 1
    [notice] = await OutboxMessage.filter(dedupe_key__startswith="security:code_replayed")
    assert notice.to == "alice@test.example" and "already been used" in notice.body


async def test_a_remembered_browser_skips_the_code_for_30_days(client, cast):
    secret, _ = await enrol(cast.alice.user_id)
    await sign_in_with_code(client, "alice", secret, remember=True)
    device = await Device.get(user_id=cast.alice.user_id)
    assert device.remembered_until is not None
    await post(client, "/logout", {})
    again = await sign_in(client, "alice")
    assert again.headers["Location"] == "/dashboard"
    await post(client, "/logout", {})
    clock.travel(timedelta(days=31))
    later = await sign_in(client, "alice")
    assert later.headers["Location"].startswith("/login/code")


async def test_a_forged_device_cookie_is_treated_as_a_new_browser(client, cast, app):
    secret, _ = await enrol(cast.alice.user_id)
    await sign_in_with_code(client, "alice", secret, remember=True)
    stranger = app.test_client()
    forged = "A" * 43 + "." + "0" * 32
    stranger.set_cookie("localhost", "portal_device", forged)
    response = await sign_in(stranger, "alice")
    assert response.headers["Location"].startswith("/login/code")
    assert await Device.filter(user_id=cast.alice.user_id).count() == 2


async def test_a_recovery_code_signs_in_once(client, cast, app):
    _, codes = await enrol(cast.alice.user_id)
    await sign_in(client, "alice")
    ok = await send_code(client, codes[0].lower())
    assert ok.status_code == 303 and ok.headers["Location"] == "/dashboard"
    assert await RecoveryCode.filter(user_id=cast.alice.user_id, used_at__isnull=False).count() == 1
    other = app.test_client()
    await sign_in(other, "alice")
    again = await send_code(other, codes[0])
    assert again.status_code == 422


async def test_wrong_codes_stop_after_96_a_day(client, cast):
    secret, _ = await enrol(cast.alice.user_id)
    await sign_in(client, "alice")
    for _ in range(96):
        await LoginEvent.create(
            user_id=cast.alice.user_id, at=clock.now(), success=False, detail="bad_code"
        )
    refused = await send_code(client, code_now(secret))
    assert refused.status_code == 429
    assert await Session.filter(user_id=cast.alice.user_id, stage="").count() == 0
    clock.travel(timedelta(days=1, minutes=1))
    await sign_in(client, "alice")
    assert (await send_code(client, code_now(secret))).status_code == 303


async def test_enrolment_from_my_profile_shows_a_qr_code_and_the_secret(client, cast):
    await sign_in(client, "alice")
    intro = await client.get("/profile/security/two-factor")
    assert "Set up two-factor sign-in" in await intro.get_data(as_text=True)
    page = await post(client, "/profile/security/two-factor/start", {})
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    user = await User.get(id=cast.alice.user_id)
    assert two_factor.format_secret(user.totp_secret) in html
    assert user.totp_enabled_at is None
    bad = await post(client, "/profile/security/two-factor/confirm", {"code": "000000"})
    assert bad.status_code == 422
    done = await post(
        client, "/profile/security/two-factor/confirm", {"code": code_now(user.totp_secret)}
    )
    html = await done.get_data(as_text=True)
    assert done.status_code == 200 and html.count("<li>") >= 10
    assert (await User.get(id=user.id)).totp_enabled_at is not None
    assert await RecoveryCode.filter(user_id=user.id).count() == 10
    assert all("-" not in r.code_hash[:10] for r in await RecoveryCode.filter(user_id=user.id))


async def test_turning_two_factor_off_needs_the_password(client, cast):
    secret, _ = await enrol(cast.alice.user_id)
    await sign_in_with_code(client, "alice", secret)
    refused = await post(
        client,
        "/profile/security/two-factor/off",
        {"current_password": "wrong password"},
        token_from="/profile/security",
    )
    assert refused.status_code == 403
    assert (await User.get(id=cast.alice.user_id)).totp_enabled_at is not None
    from tests.cast import PASSWORD

    done = await post(
        client,
        "/profile/security/two-factor/off",
        {"current_password": PASSWORD},
        token_from="/profile/security",
    )
    assert done.status_code == 303
    user = await User.get(id=cast.alice.user_id)
    assert user.totp_enabled_at is None and user.totp_secret is None
    assert await RecoveryCode.filter(user_id=user.id).count() == 0


async def test_a_practice_requiring_two_factor_sends_staff_to_enrol(client, cast):
    practice = await Practice.get(id=cast.practice.id)
    practice.portal_settings = {**practice.portal_settings, "require_two_factor": "staff"}
    await practice.save()
    response = await sign_in(client, "sid")
    assert response.headers["Location"] == "/profile/security/two-factor"
    inbox = await client.get("/staff/")
    assert inbox.status_code == 303 and inbox.headers["Location"] == "/profile/security/two-factor"
    await post(
        client, "/profile/security/two-factor/start", {}, token_from="/profile/security/two-factor"
    )
    user = await User.get(id=cast.sid.user_id)
    done = await post(
        client,
        "/profile/security/two-factor/confirm",
        {"code": code_now(user.totp_secret)},
        token_from="/profile/security/two-factor",
    )
    assert done.status_code == 200
    assert (await client.get("/staff/")).status_code == 200


async def test_a_client_is_not_asked_to_enrol_when_only_staff_must(client, cast):
    practice = await Practice.get(id=cast.practice.id)
    practice.portal_settings = {**practice.portal_settings, "require_two_factor": "staff"}
    await practice.save()
    response = await sign_in(client, "alice")
    assert response.headers["Location"] == "/dashboard"


async def test_the_code_page_without_a_pending_sign_in_goes_back_to_login(client, cast):
    response = await client.get("/login/code")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    token = await csrf_token(client)
    posted = await client.post("/login/code", form={"code": "123456", "csrf_token": token})
    assert posted.status_code == 303
