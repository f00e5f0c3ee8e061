"""Passwords and sign-in, hashed off the event loop in a small bounded pool.

argon2id with m=46 MiB, t=2, p=1 (above OWASP's m=47104/t=1 row): about 90 ms
on one core here. Hashes run in their own pool of ``HASH_WORKERS`` threads
(one core less than the machine has), so fifty sign-ins at once queue for the
hasher instead of taking every core from the pages other people are loading.
"""

from __future__ import annotations

import asyncio
import logging
import os
import unicodedata
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models import clock, throttle
from models.people import User
from models.security import LoginEvent

# Tests set PORTAL_FAST_HASH=1: the same algorithm with cheap parameters.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("PORTAL_FAST_HASH") == "1"
    else PasswordHasher(time_cost=2, memory_cost=47104, parallelism=1)
)
HASH_WORKERS = max(1, (os.cpu_count() or 2) - 1)
_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="argon2")
# Sign-ins checked at once (the limits' queries, the hash, the record): a burst of
# fifty queues here, costing the event loop nothing, instead of running fifty sets of
# queries in one go ahead of everyone else's pages.
SIGN_IN_SLOTS = HASH_WORKERS + 1
_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sign_in_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(SIGN_IN_SLOTS)
    return _slots[loop]


# Verified when the account is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("no such account")
MAX_PASSWORD = 256  # what a sign-in form accepts; new passwords follow models.passwords


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().casefold()


async def _in_pool(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


async def hash_password(password: str) -> str:
    return await _in_pool(_hasher.hash, password)


async def check_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _in_pool(check)


@dataclass
class Attempt:
    """The outcome of a password check: ``user`` when it matched, ``retry_after`` when
    the attempt was refused unchecked because of too many failures."""

    user: User | None = None
    retry_after: timedelta | None = None
    identifier_digest: str = ""


async def find_user(identifier: str) -> User | None:
    ident = normalize_email(identifier)
    if not ident or len(ident) > 254:
        return None
    return await User.get_or_none(email=ident) or await User.get_or_none(username=ident)


# OWASP logging vocabulary names for each LoginEvent.detail (no names, emails or secrets).
SECURITY_LOG = logging.getLogger("portal.security")
_VOCABULARY = {
    "password": "authn_login_success",
    "code_required": "authn_login_success_pending_mfa",
    "two_factor": "authn_login_success_mfa",
    "recovery_code": "authn_login_success_recovery_code",
    "bad_credentials": "authn_login_fail",
    "bad_code": "authn_mfa_fail",
    "throttled": "authn_login_lock",
}


async def record_login(
    user: User | None,
    *,
    success: bool,
    detail: str,
    ip: str,
    user_agent: str,
    two_factor: bool = False,
    device_label: str = "",
    identifier_digest: str = "",
) -> None:
    await LoginEvent.create(
        user=user,
        at=clock.now(),
        success=success,
        ip=ip[:64],
        user_agent=user_agent[:300],
        detail=detail,
        two_factor=two_factor,
        device_label=device_label[:100],
        identifier_digest=identifier_digest,
    )
    SECURITY_LOG.info(
        "%s user=%s ip=%s",
        _VOCABULARY.get(detail, "authn_" + detail),
        user.id if user is not None else "-",
        ip[:64].replace("\n", " ").replace("\r", " "),
    )


async def authenticate(identifier: str, password: str, *, ip: str, user_agent: str) -> Attempt:
    """Check an email or username and password, within the brute-force limits.

    A wrong password and an unknown account cost one hash each and give the same
    answer; a throttled attempt costs none. Failures are recorded here; the
    caller records the success, once it knows whether a code is still owed.
    """
    async with _sign_in_slots():
        return await _authenticate(identifier, password, ip=ip, user_agent=user_agent)


async def _authenticate(identifier: str, password: str, *, ip: str, user_agent: str) -> Attempt:
    digest = throttle.identifier_digest(normalize_email(identifier))
    user = await find_user(identifier)
    wait = await throttle.sign_in_wait(user, digest, ip)
    if wait > timedelta(0):
        await record_login(
            user,
            success=False,
            detail="throttled",
            ip=ip,
            user_agent=user_agent,
            identifier_digest=digest,
        )
        return Attempt(retry_after=wait, identifier_digest=digest)
    ok = await check_password(user.password_hash if user else _DUMMY_HASH, password)
    if not (ok and user is not None and user.is_active):
        await record_login(
            user,
            success=False,
            detail=throttle.PASSWORD_FAILURE,
            ip=ip,
            user_agent=user_agent,
            identifier_digest=digest,
        )
        return Attempt(identifier_digest=digest)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = clock.now()
    await user.save(update_fields=["password_hash", "last_login_at"])
    return Attempt(user=user, identifier_digest=digest)


async def set_password(user: User, password: str) -> None:
    """A new password: other sign-in limits start over (a reset is how a locked person recovers)."""
    await store_password_hash(user, await hash_password(password))


async def store_password_hash(user: User, password_hash: str) -> None:
    """Hash first, then store: a transaction never waits on argon2."""
    user.password_hash = password_hash
    user.password_changed_at = clock.now()
    user.throttle_reset_at = user.password_changed_at
    await User.filter(id=user.id).update(
        password_hash=user.password_hash,
        password_changed_at=user.password_changed_at,
        throttle_reset_at=user.throttle_reset_at,
    )
