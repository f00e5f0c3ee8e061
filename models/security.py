"""Server-side sessions, sign-in history, devices, recovery codes and reset tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from tortoise import fields
from tortoise.models import Model

from models import clock

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Writing last_seen on every request would make every page a write; a minute of
# slack on a 15-minute idle timeout is not worth a write lock per click.
TOUCH_EVERY = timedelta(seconds=60)


def token_digest(token: str) -> str:
    """Sessions are looked up by a hash, so a copy of the table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


class Session(Model):
    id = fields.CharField(max_length=64, primary_key=True)  # sha256 of the cookie value
    user = fields.ForeignKeyField("portal.User", related_name="sessions")
    csrf_token = fields.CharField(max_length=64)
    # For a guardian: the client they are acting for now ("Switch Account").
    acting_client = fields.ForeignKeyField("portal.Client", related_name="+", null=True)
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")
    # "" once fully signed in; otherwise the step still owed (see STAGES).
    stage = fields.CharField(max_length=16, default="")
    two_factor = fields.BooleanField(default=False)  # a code was given for this session
    device = fields.ForeignKeyField("portal.Device", related_name="sessions", null=True)

    class Meta:
        table = "session"

    @classmethod
    async def start(
        cls,
        user_id: int,
        *,
        ip: str,
        user_agent: str,
        stage: str = "",
        device_id: int | None = None,
        two_factor: bool = False,
    ) -> tuple[str, Session]:
        """Create a session; returns the cookie value (never stored) and the row."""
        token = secrets.token_urlsafe(32)
        now = clock.now()
        row = await cls.create(
            id=token_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:300],
            stage=stage,
            device_id=device_id,
            two_factor=two_factor,
        )
        return token, row

    @classmethod
    async def resume(cls, token: str) -> Session | None:
        """The live session for a cookie value, or None (expired ones are deleted)."""
        if not token or len(token) > 128:
            return None
        row = await cls.get_or_none(id=token_digest(token)).select_related("user")
        if row is None:
            return None
        now = clock.now()
        if (
            now - row.last_seen_at > IDLE_TIMEOUT
            or now - row.created_at > ABSOLUTE_TIMEOUT
            or not row.user.is_active
        ):
            await row.delete()
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            await cls.filter(id=row.id).update(last_seen_at=now)
        return row


class LoginEvent(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("portal.User", related_name="login_events", null=True)
    at = fields.DatetimeField()
    success = fields.BooleanField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")
    detail = fields.CharField(max_length=32, default="")  # see models.auth.LoginDetail
    two_factor = fields.BooleanField(default=False)
    device_label = fields.CharField(max_length=100, default="")
    # sha256 of the normalised identifier typed, so throttling counts unknown names too.
    identifier_digest = fields.CharField(max_length=64, default="")

    class Meta:
        table = "login_event"
        indexes = (("identifier_digest", "at"), ("ip", "at"), ("user_id", "at"))


class Device(Model):
    """A browser a user signed in from, known by a random cookie (only its hash is kept).

    ``remembered_until`` is set when the user passed two-factor and asked to be
    remembered: until then the code is not asked again on this browser.
    """

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("portal.User", related_name="devices")
    token_hash = fields.CharField(max_length=64)
    label = fields.CharField(max_length=100, default="")  # "Firefox on Android"
    # sha256 of user agent and network, to send one new-device email per hour, not one per login.
    fingerprint = fields.CharField(max_length=64, default="")
    first_seen_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    last_ip = fields.CharField(max_length=64, default="")
    remembered_until = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    notified_at = fields.DatetimeField(null=True)

    class Meta:
        table = "device"
        unique_together = (("user", "token_hash"),)


class RecoveryCode(Model):
    """A single-use two-factor recovery code, stored as an argon2 hash.

    ``lookup`` is a few bits of a digest of the code, so a sign-in checks one hash, not ten.
    """

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("portal.User", related_name="recovery_codes")
    lookup = fields.CharField(max_length=8)
    code_hash = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "recovery_code"


class PasswordReset(Model):
    """A password reset link: the token is in the email, only its hash is here."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("portal.User", related_name="password_resets")
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    ip = fields.CharField(max_length=64, default="")

    class Meta:
        table = "password_reset"
