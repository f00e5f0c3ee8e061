"""Acting through two-factor sign-in in tests: enrol a cast member, make codes, sign in."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp

from models import clock, two_factor
from models.people import User
from tests.helpers import csrf_token, sign_in


def code_now(secret: str, steps_back: int = 0) -> str:
    moment = clock.now() - timedelta(seconds=30 * steps_back)
    return pyotp.TOTP(secret).at(moment)


async def enrol(user_id: int) -> tuple[str, list[str]]:
    """Two-factor on for a user, as if set up from My Profile: ``(secret, recovery codes)``."""
    user = await User.get(id=user_id)
    secret = await two_factor.begin_enrolment(user)
    codes = await two_factor.confirm_enrolment(user, code_now(secret))
    clock.travel(timedelta(seconds=30))  # the enrolment spent this step's code
    return secret, codes


async def send_code(client, code: str, *, remember: bool = False, next_path: str = ""):
    token = await csrf_token(client, "/login/code")
    form = {"code": code, "csrf_token": token, "next": next_path}
    if remember:
        form["remember"] = "1"
    return await client.post("/login/code", form=form)


async def sign_in_with_code(client, name: str, secret: str, *, remember: bool = False):
    first = await sign_in(client, name)
    assert first.status_code == 303 and first.headers["Location"].startswith("/login/code")
    return await send_code(client, code_now(secret), remember=remember)


def session_cookie(response, name: str = "portal_session") -> str | None:
    for value in response.headers.getlist("Set-Cookie"):
        match = re.match(rf"{re.escape(name)}=([^;]*)", value)
        if match:
            return match.group(1)
    return None
