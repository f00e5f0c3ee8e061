"""The durable outbox: every SMS and email is a row first, sent by the worker after.

A row is committed in the same transaction as the change that caused it, so a
crash never loses a message and a retry never sends one twice (``dedupe_key``).

Statuses: ``pending`` (waiting for ``due_at``), ``sending`` (an SMS claimed by a
worker until ``lease_until``; an expired one is reconciled against Twilio before
any resend), ``sent``, ``failed`` (gave up), and, for planned reminders,
``cancelled`` (the plan changed before it was due), ``dropped`` (it could not go
out inside quiet hours or the caps; ``last_error`` says why) and ``suppressed``
(the number opted out of texts).

``kind`` says what the row is for: ``reminder`` (planned by ``models.reminders``;
its body is rendered when it is sent), ``reply`` (an answer to a text),
``waitlist`` (a freed time offered), ``alert`` or ``notice``. ``context`` holds what
a reply to an SMS refers to: ``{"appointments": [ids], "confirm": bool}`` for a
reminder, ``{"offer": id}`` for a waitlist offer, ``{"ask": "confirm"|"cancel",
"appointments": [...]}`` after "which one?", ``{"late_fee": cents, "appointments":
[id]}`` after a late-cancel warning. Ids and amounts only, never health details.
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
    status = fields.CharField(max_length=16, default="pending")  # see the module docstring
    kind = fields.CharField(max_length=16, default="notice")
    context: dict = fields.JSONField(default=dict)
    # The phone or email a reminder was planned for (its preferences).
    contact_point = fields.ForeignKeyField(
        "portal.ContactPoint", related_name="outbox", null=True, on_delete=fields.SET_NULL
    )
    language = fields.CharField(max_length=8, default="en")
    claimed_at = fields.DatetimeField(null=True)  # the latest claim (reconciliation)
    lease_until = fields.DatetimeField(null=True)
    attempts = fields.SmallIntField(default=0)
    provider_ref = fields.CharField(max_length=64, default="")  # Twilio SM..., SMTP id
    delivery_state = fields.CharField(max_length=16, default="")  # Twilio's, forward only
    delivery_error = fields.CharField(max_length=16, default="")  # Twilio ErrorCode
    delivery_updated_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        indexes = (("status", "due_at"), ("client_id", "kind"), ("to", "channel"))


class SmsOptOut(Model):
    """A phone number that replied STOP (or CANCEL, QUIT, ...): no text goes to it
    from any of the practice's numbers until it replies START or UNSTOP. Keyed by
    the number, not the client: one phone can belong to several clients, or none."""

    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=32, unique=True)  # E.164
    opted_out_at = fields.DatetimeField()
    keyword = fields.CharField(max_length=16, default="")

    class Meta:
        table = "sms_opt_out"


class InboundSms(Model):
    """One text received at /sms/inbound, stored once per Twilio MessageSid (a
    retried or replayed webhook finds its row and does nothing again)."""

    id = fields.IntField(primary_key=True)
    message_sid = fields.CharField(max_length=64, unique=True)
    from_number = fields.CharField(max_length=32)
    to_number = fields.CharField(max_length=32)
    body = fields.TextField()
    client = fields.ForeignKeyField(
        "portal.Client", related_name="inbound_sms", null=True, on_delete=fields.SET_NULL
    )
    intent = fields.CharField(max_length=16, default="")
    # What was done: "confirmed", "cancelled", "asked", "to_staff", "opted_out", ...
    outcome = fields.CharField(max_length=32, default="")
    received_at = fields.DatetimeField()

    class Meta:
        table = "inbound_sms"
        indexes = (("from_number", "received_at"),)
