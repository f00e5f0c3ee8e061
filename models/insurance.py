"""Insurance payers and a client's policies (sent to staff for review)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PolicyStatus(StrEnum):
    PENDING = "pending_review"
    VERIFIED = "verified"
    NEEDS_INFO = "needs_info"
    ENDED = "ended"


class Payer(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="payers")
    name = fields.CharField(max_length=200)
    payer_code = fields.CharField(max_length=32, default="")  # electronic payer id
    phone = fields.CharField(max_length=32, default="")
    address = fields.CharField(max_length=300, default="")
    added_by_client = fields.BooleanField(default=False)
    added_by = fields.ForeignKeyField("portal.User", related_name="payers_added", null=True)
    reviewed_at = fields.DatetimeField(null=True)  # a client-added payer is flagged until then
    active = fields.BooleanField(default=True)

    class Meta:
        table = "payer"


class InsurancePolicy(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="policies")
    payer = fields.ForeignKeyField("portal.Payer", related_name="policies")
    rank = fields.CharField(max_length=16, default="primary")  # primary | secondary
    member_id = fields.CharField(max_length=64)
    group_number = fields.CharField(max_length=64, default="")
    subscriber_name = fields.CharField(max_length=200, default="")
    subscriber_dob = fields.DateField(null=True)
    relationship = fields.CharField(max_length=32, default="self")
    copay_cents = fields.IntField(default=0)
    # "pending_review" | "verified" | "needs_info" | "ended" (see PolicyStatus)
    status = fields.CharField(max_length=16, default="pending_review")
    review_note = fields.CharField(
        max_length=1000, default="", db_default=""
    )  # what staff need, shown to the client
    card_front = fields.ForeignKeyField(
        "portal.Document", related_name="policy_fronts", null=True, on_delete=fields.SET_NULL
    )
    card_back = fields.ForeignKeyField(
        "portal.Document", related_name="policy_backs", null=True, on_delete=fields.SET_NULL
    )
    submitted_by = fields.ForeignKeyField("portal.User", related_name="policies_sent", null=True)
    submitted_at = fields.DatetimeField(auto_now_add=True)
    reviewed_by = fields.ForeignKeyField("portal.User", related_name="policies_reviewed", null=True)
    reviewed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "insurance_policy"
