"""How people get a portal account: staff invitations and self-registration.

Both are links carrying a random token; only the token's hash is stored.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Invitation(Model):
    """Staff invite an existing client to the portal: single use, 7 days."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="invitations")
    email = fields.CharField(max_length=254)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField("portal.User", related_name="invitations_sent", null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"


class Registration(Model):
    """Someone new signing up through the practice's new-invitation link.

    ``status``: "pending" until the emailed link is followed, "review" when it may
    duplicate an existing client (staff decide), "done" or "dismissed" after.
    """

    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="registrations")
    email = fields.CharField(max_length=254)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    date_of_birth = fields.DateField()
    phone = fields.CharField(max_length=32, default="")
    password_hash = fields.CharField(max_length=200, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    status = fields.CharField(max_length=16, default="pending")
    match_reason = fields.CharField(max_length=32, default="")  # "email", "name_dob"
    client = fields.ForeignKeyField("portal.Client", related_name="registrations", null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "registration"
