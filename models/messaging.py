"""Secure message threads between a client's side and the practice."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Thread(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="threads")
    # Who the client is writing to: "provider", "scheduler" or "biller".
    topic = fields.CharField(max_length=16, default="provider")
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="threads", null=True)
    subject = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_at = fields.DatetimeField(null=True)

    class Meta:
        table = "thread"


class Message(Model):
    id = fields.IntField(primary_key=True)
    thread = fields.ForeignKeyField("portal.Thread", related_name="messages")
    sender = fields.ForeignKeyField("portal.User", related_name="messages_sent", null=True)
    from_client_side = fields.BooleanField()  # the client or their contact wrote it
    body = fields.TextField()
    via = fields.CharField(max_length=8, default="web")  # web | sms | chat
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)  # read by the other side

    class Meta:
        table = "message"
        indexes = (("thread_id", "id"),)


async def unread_for_client(client_id: int) -> int:
    return await Message.filter(
        thread__client_id=client_id, from_client_side=False, read_at__isnull=True
    ).count()
