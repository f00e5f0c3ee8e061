"""Password reset links: 128+ bits, stored hashed, 30 minutes, single use.

Asking never tells whether an account exists; at most five links an hour go to
one account. Following a link sets a new password, ends every session of the
account and lifts the sign-in throttle, but signs no one in: the next sign-in
still asks for the two-factor code.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from tortoise.transactions import in_transaction

from models import clock
from models.auth import hash_password, normalize_email, store_password_hash
from models.errors import RuleError
from models.onboarding import Mail
from models.people import User
from models.practice import Practice
from models.security import PasswordReset, Session, token_digest

LIFETIME = timedelta(minutes=30)
PER_HOUR = 5
INVITE_LIFETIME = timedelta(days=7)  # a first set-your-password link (staff, contacts)


async def request_reset(email: str, *, ip: str) -> tuple[User, str, PasswordReset] | None:
    """A new link for the account with this email, or None (unknown, disabled, too many)."""
    address = normalize_email(email)
    user = await User.get_or_none(email=address, is_active=True) if address else None
    if user is None:
        return None
    now = clock.now()
    if (
        await PasswordReset.filter(
            user_id=user.id, created_at__gte=now - timedelta(hours=1)
        ).count()
        >= PER_HOUR
    ):
        return None
    token = secrets.token_urlsafe(32)  # 256 bits
    reset = await PasswordReset.create(
        user_id=user.id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + LIFETIME,
        ip=ip[:64],
    )
    return user, token, reset


async def open_reset(token: str) -> PasswordReset:
    """The reset a link names, if it can still be used; RuleError otherwise."""
    if not token or len(token) > 128:
        raise RuleError("reset_link_invalid")
    reset = await PasswordReset.get_or_none(token_hash=token_digest(token)).select_related("user")
    if reset is None:
        raise RuleError("reset_link_invalid")
    if reset.used_at is not None:
        raise RuleError("reset_link_used")
    if clock.now() >= reset.expires_at or not reset.user.is_active:
        raise RuleError("reset_link_expired")
    return reset


async def complete_reset(token: str, password: str) -> User:
    """Spend the link and set the password, in one transaction (a double submit spends it once)."""
    await open_reset(token)  # refuse a dead link before spending a hash on it
    password_hash = await hash_password(password)
    async with in_transaction():
        reset = await open_reset(token)
        spent = await PasswordReset.filter(id=reset.id, used_at__isnull=True).update(
            used_at=clock.now()
        )
        if not spent:
            raise RuleError("reset_link_used")
        user = reset.user
        await store_password_hash(user, password_hash)
        await Session.filter(user_id=user.id).delete()
        # Other links sent before this one die with it.
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(
            used_at=clock.now()
        )
        return user


async def invitation_mail(
    user: User, practice: Practice, *, kind: str, ip: str = "", client_id: int | None = None
) -> Mail:
    """A 7-day set-your-password link for a login made without a password (a new
    colleague, a client's contact), as the invitation email that carries it. The link
    is a ``PasswordReset``, so /password/reset/<token> serves it; ``kind`` names the
    mail's dedupe key ("staff-invitation", "contact-invitation")."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    await PasswordReset.create(
        user_id=user.id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
        ip=ip[:64],
    )
    return Mail(
        to=user.email,
        template="invitation",
        dedupe_key=f"{kind}:{token_digest(token)[:32]}",
        practice_name=practice.name,
        path=f"/password/reset/{token}",
        expires_at=now + INVITE_LIFETIME,
        time_zone=practice.time_zone,
        language=user.language,
        client_id=client_id,
    )
