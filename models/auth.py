"""Passwords and sign-in. Hashing runs off the event loop (argon2id is slow on purpose)."""

from __future__ import annotations

import asyncio
import os
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models import clock
from models.people import User
from models.security import LoginEvent

# Tests set PORTAL_FAST_HASH=1: the same algorithm with cheap parameters.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("PORTAL_FAST_HASH") == "1"
    else PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
)
# Verified when the account is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("no such account")
MAX_PASSWORD = 256


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().casefold()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


async def authenticate(identifier: str, password: str, *, ip: str, user_agent: str):
    """The active user for an email or username and password, or None.

    A wrong password and an unknown account cost the same hash and give the same answer.
    """
    ident = normalize_email(identifier)
    user = None
    if ident and len(ident) <= 254:
        user = await User.get_or_none(email=ident) or await User.get_or_none(username=ident)
    ok = await _verify(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.is_active
    await LoginEvent.create(
        user=user,
        at=clock.now(),
        success=ok,
        ip=ip[:64],
        user_agent=user_agent[:300],
        detail="password" if ok else "bad_credentials",
    )
    if not ok:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = clock.now()
    await user.save(update_fields=["password_hash", "last_login_at"])
    return user
