"""The durable outbox: every SMS and email is a row first, sent by the worker after.

A row is committed in the same transaction as the change that caused it, so a
crash never loses a message and a retry never sends one twice (``dedupe_key``).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OutboxMessage(Model):
    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=8)  # "sms" | "email"
    to = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=200, default="")
    body = fields.TextField()
    dedupe_key = fields.CharField(max_length=128, unique=True)
    client = fields.ForeignKeyField("portal.Client", related_name="outbox", null=True)
    due_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="pending")  # sending | sent | failed
    lease_until = fields.DatetimeField(null=True)
    attempts = fields.SmallIntField(default=0)
    provider_ref = fields.CharField(max_length=64, default="")  # Twilio SM..., SMTP id
    delivery_state = fields.CharField(max_length=16, default="")
    last_error = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        indexes = (("status", "due_at"),)
