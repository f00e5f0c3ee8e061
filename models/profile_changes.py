"""Changes a client asks for to details staff must check before they count (name, date
of birth, address): kept as requests in a staff review queue, applied on approval."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    DECLINED = "declined"


class ProfileChange(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="profile_changes")
    requested_by = fields.ForeignKeyField("portal.User", related_name="profile_changes_asked")
    field = fields.CharField(max_length=32)  # a Client attribute, e.g. "last_name"
    old_value = fields.TextField(default="")
    new_value = fields.TextField(default="")
    status = fields.CharEnumField(ChangeStatus, max_length=16, default="pending")
    note = fields.TextField(default="")  # staff's reason when declined
    created_at = fields.DatetimeField(auto_now_add=True)
    reviewed_by = fields.ForeignKeyField(
        "portal.User", related_name="profile_changes_reviewed", null=True
    )
    reviewed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "profile_change"
