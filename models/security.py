"""Server-side sessions, sign-in history, remembered devices and the audit trail."""

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

    class Meta:
        table = "session"

    @classmethod
    async def start(cls, user_id: int, *, ip: str, user_agent: str) -> tuple[str, Session]:
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
    detail = fields.CharField(max_length=32, default="")  # "password", "bad_password", ...

    class Meta:
        table = "login_event"


class TrustedDevice(Model):
    """A browser that passed two-factor and asked to be remembered (30 days)."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("portal.User", related_name="devices")
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "trusted_device"


class AuditEvent(Model):
    """Who did what to whose record, when and from where. Never holds PHI values."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.ForeignKeyField("portal.User", related_name="audit_events", null=True)
    client = fields.ForeignKeyField("portal.Client", related_name="audit_events", null=True)
    action = fields.CharField(max_length=64)  # "appointment.confirm", "session.login", ...
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=32, default="")
    via = fields.CharField(max_length=8, default="web")
    ip = fields.CharField(max_length=64, default="")
    details: dict = fields.JSONField(default=dict)

    class Meta:
        table = "audit_event"
        indexes = (("client_id", "at"),)


async def audit(
    actor,
    action: str,
    *,
    client_id: int | None = None,
    obj: Model | None = None,
    via: str = "web",
    ip: str = "",
    **details,
) -> AuditEvent:
    actor_id = getattr(actor, "id", actor)
    return await AuditEvent.create(
        at=clock.now(),
        actor_id=actor_id,
        client_id=client_id,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        via=via,
        ip=ip[:64],
        details=details,
    )
