"""Brute-force limits on sign-in and two-factor codes, checked before any hashing.

Failures are the ``LoginEvent`` rows already kept for the login history, so the
limits need no table of their own. A known account is counted by its user id
(whether the email or the username was typed); an unknown name by a digest of
what was typed, so an unknown account is throttled exactly like a known one and
the answers never tell them apart.

- per account: 10 failures in 15 minutes, then a delay that doubles from 30 s
  with each further failure (at most 15 minutes); never more than 100 an hour;
- per IP address: 20 failures an hour;
- two-factor codes: 96 wrong codes a day per account.

A password reset or a staff "unlock" sets ``User.throttle_reset_at``; failures
before it stop counting, so a throttled person always recovers by resetting.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from tortoise.expressions import Q

from models import clock
from models.people import User
from models.security import LoginEvent

WINDOW = timedelta(minutes=15)
FREE_FAILURES = 10
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
HOURLY_CAP = 100
IP_HOURLY_CAP = 20
CODE_DAILY_CAP = 96
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# LoginEvent.detail values that count as a guess (a throttled try is logged, not counted).
PASSWORD_FAILURE = "bad_credentials"
CODE_FAILURE = "bad_code"


def identifier_digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


async def _failure_times(user: User | None, digest: str, since: datetime) -> list[datetime]:
    """Failures since ``since``, newest first, stopping at the last success."""
    events = LoginEvent.filter(at__gte=since)
    if user is not None:
        events = events.filter(user_id=user.id)
        if user.throttle_reset_at is not None:
            events = events.filter(at__gt=user.throttle_reset_at)
    else:
        events = events.filter(identifier_digest=digest, user_id=None)
    rows = (
        await events.filter(Q(detail=PASSWORD_FAILURE) | Q(success=True))
        .order_by("-at")
        .limit(HOURLY_CAP + 1)
        .values_list("at", "success")
    )
    times: list[datetime] = []
    for at, success in rows:
        if success:
            break
        times.append(at)
    return times


def _account_wait(times: list[datetime], now: datetime) -> timedelta:
    waits = [timedelta(0)]
    if len(times) >= HOURLY_CAP:
        waits.append(times[HOURLY_CAP - 1] + HOUR - now)
    recent = [t for t in times if now - t < WINDOW]
    if len(recent) >= FREE_FAILURES:
        delay = min(FIRST_DELAY * 2 ** (len(recent) - FREE_FAILURES), MAX_DELAY)
        waits.append(recent[0] + delay - now)
    return max(waits)


async def sign_in_wait(user: User | None, digest: str, ip: str) -> timedelta:
    """How long this sign-in must wait; zero when it may go ahead."""
    now = clock.now()
    wait = _account_wait(await _failure_times(user, digest, now - HOUR), now)
    if ip:
        ip_failures = (
            await LoginEvent.filter(
                ip=ip[:64], success=False, detail=PASSWORD_FAILURE, at__gte=now - HOUR
            )
            .order_by("-at")
            .limit(IP_HOURLY_CAP)
            .values_list("at", flat=True)
        )
        if len(ip_failures) >= IP_HOURLY_CAP:
            wait = max(wait, ip_failures[-1] + HOUR - now)
    return wait


async def account_locked(user: User) -> bool:
    """Whether the account is throttled right now (shown to staff as "locked")."""
    now = clock.now()
    return _account_wait(await _failure_times(user, "", now - HOUR), now) > timedelta(0)


async def unlock(user: User) -> None:
    user.throttle_reset_at = clock.now()
    await User.filter(id=user.id).update(throttle_reset_at=user.throttle_reset_at)


async def code_attempts_left(user: User) -> int:
    since = clock.now() - DAY
    if user.throttle_reset_at is not None and user.throttle_reset_at > since:
        since = user.throttle_reset_at
    used = await LoginEvent.filter(user_id=user.id, detail=CODE_FAILURE, at__gte=since).count()
    return max(0, CODE_DAILY_CAP - used)
