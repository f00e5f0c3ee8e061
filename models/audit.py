"""The audit trail: who read or changed whose record, when and from where.

Rows are append-only and hash-chained (``digest`` = HMAC of the previous digest
and this row); ``AuditHead`` keeps the chain's last digest apart from the rows,
so deleting the newest row is detected too. Rows never hold health values.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models import clock


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.ForeignKeyField("portal.User", related_name="audit_events", null=True)
    client = fields.ForeignKeyField("portal.Client", related_name="audit_events", null=True)
    action = fields.CharField(max_length=64)  # "appointment.confirm", "session.login", ...
    category = fields.CharField(max_length=32, default="")  # "appointments", "billing", ...
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=32, default="")
    via = fields.CharField(max_length=8, default="web")
    ip = fields.CharField(max_length=64, default="")
    details: dict = fields.JSONField(default=dict)
    digest = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_event"
        indexes = (("client_id", "at"),)


class AuditHead(Model):
    """One row: the id and digest of the newest audit event."""

    id = fields.IntField(primary_key=True)
    last_event_id = fields.BigIntField(default=0)
    digest = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_head"


async def audit(
    actor,
    action: str,
    *,
    client_id: int | None = None,
    obj: Model | None = None,
    category: str = "",
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
        category=category,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        via=via,
        ip=ip[:64],
        details=details,
    )
