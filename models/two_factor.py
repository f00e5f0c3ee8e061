"""Two-factor sign-in with TOTP (RFC 6238: 6 digits, 30-second steps) and recovery codes.

- A code for the current or the previous step is accepted, and each step once:
  the last accepted step is stored and only a later one passes, so a code seen
  over someone's shoulder cannot be replayed (ASVS 6.5.1).
- At most 96 wrong codes a day (models.throttle).
- Ten recovery codes of 80 bits each, shown once, stored as argon2 hashes; a
  short ``lookup`` of each lets a sign-in check one hash instead of ten.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

import pyotp
from tortoise.transactions import in_transaction

from models import clock
from models.auth import check_password, hash_password
from models.errors import RuleError
from models.people import User
from models.security import RecoveryCode

STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def counter_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    return totp(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_counter(secret: str, code: str) -> int | None:
    """The step (now or one step back) whose code this is, or None."""
    now = counter_at(clock.now())
    generator = totp(secret)
    for counter in (now, now - 1):
        if secrets.compare_digest(generator.generate_otp(counter), code):
            return counter
    return None


def clean_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "")


async def begin_enrolment(user: User) -> str:
    """A fresh secret, kept until confirmed (a pending secret has no ``totp_enabled_at``)."""
    if user.totp_enabled_at is not None:
        raise RuleError("two_factor_already_on")
    user.totp_secret = pyotp.random_base32()  # 160 bits
    await User.filter(id=user.id).update(totp_secret=user.totp_secret)
    return user.totp_secret


async def confirm_enrolment(user: User, raw_code: str) -> list[str]:
    """Turn two-factor on once the app shows the right code; returns the recovery codes."""
    if user.totp_enabled_at is not None:
        raise RuleError("two_factor_already_on")
    code = clean_code(raw_code)
    counter = _matching_counter(user.totp_secret, code) if user.totp_secret and code else None
    if counter is None:
        raise RuleError("two_factor_bad_code")
    async with in_transaction():
        user.totp_enabled_at = clock.now()
        user.totp_last_counter = counter
        await User.filter(id=user.id).update(
            totp_enabled_at=user.totp_enabled_at, totp_last_counter=counter
        )
        return await new_recovery_codes(user)


GOOD = ("totp", "recovery")
REPLAYED = "replayed"


async def verify_code(user: User, raw_code: str) -> str | None:
    """``"totp"`` or ``"recovery"`` when the code is good (and now spent); ``"replayed"``
    for a right code whose step was already used (someone may be watching); else None."""
    code = clean_code(raw_code).upper()
    if user.totp_enabled_at is None or not user.totp_secret or not code:
        return None
    if code.isdigit() and len(code) == DIGITS:
        counter = _matching_counter(user.totp_secret, code)
        if counter is None:
            return None
        # Atomic: of two requests racing with one code, exactly one moves the counter.
        moved = await User.filter(id=user.id, totp_last_counter__lt=counter).update(
            totp_last_counter=counter
        )
        return "totp" if moved else REPLAYED
    if len(code) == 16:
        return "recovery" if await _spend_recovery_code(user, code) else None
    return None


def _lookup(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()[:4]


async def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones (shown once, never stored)."""
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16)) for _ in range(10)]
    hashes = [await hash_password(c) for c in codes]
    now = clock.now()
    await RecoveryCode.filter(user_id=user.id).delete()
    await RecoveryCode.bulk_create(
        [
            RecoveryCode(user_id=user.id, lookup=_lookup(c), code_hash=h, created_at=now)
            for c, h in zip(codes, hashes, strict=True)
        ]
    )
    return ["-".join(c[i : i + 4] for i in range(0, 16, 4)) for c in codes]


async def _spend_recovery_code(user: User, code: str) -> bool:
    candidates = await RecoveryCode.filter(
        user_id=user.id, lookup=_lookup(code), used_at__isnull=True
    )
    for candidate in candidates:
        if await check_password(candidate.code_hash, code):
            used = await RecoveryCode.filter(id=candidate.id, used_at__isnull=True).update(
                used_at=clock.now()
            )
            return bool(used)
    return False


async def recovery_codes_left(user: User) -> int:
    return await RecoveryCode.filter(user_id=user.id, used_at__isnull=True).count()


async def turn_off(user: User) -> None:
    from models.devices import forget_all

    async with in_transaction():
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_counter = 0
        await User.filter(id=user.id).update(
            totp_secret=None, totp_enabled_at=None, totp_last_counter=0
        )
        await RecoveryCode.filter(user_id=user.id).delete()
        await forget_all(user)
