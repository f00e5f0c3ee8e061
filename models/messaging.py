"""Secure message threads between a client's side and the practice: the data.

The rules that act on them (who sees which thread, posting, reading, assigning)
are in ``models.conversations``; attachments' files in ``models.attachments``.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# Who the client writes to, and the staff queue each lands in.
TOPICS = ("provider", "scheduler", "biller")
QUEUE_OF_TOPIC = {"provider": "clinical", "scheduler": "scheduling", "biller": "billing"}
TOPIC_OF_QUEUE = {queue: topic for topic, queue in QUEUE_OF_TOPIC.items()}


class Thread(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="threads")
    # Who the client is writing to: "provider", "scheduler" or "biller".
    topic = fields.CharField(max_length=16, default="provider")
    provider = fields.ForeignKeyField("portal.StaffMember", related_name="threads", null=True)
    subject = fields.CharField(max_length=200)
    # "message" (a conversation the client started) or "chat" (the one thread per
    # client holding the chat panel and text replies the assistant did not settle).
    kind = fields.CharField(max_length=8, default="message")
    status = fields.CharField(max_length=8, default="open")  # open | done
    assigned_to = fields.ForeignKeyField(
        "portal.StaffMember", related_name="assigned_threads", null=True, on_delete=fields.SET_NULL
    )
    done_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_at = fields.DatetimeField(null=True)

    class Meta:
        table = "thread"
        indexes = (("client_id", "kind"),)

    @property
    def queue(self) -> str:
        return QUEUE_OF_TOPIC.get(self.topic, "scheduling")


class Message(Model):
    id = fields.IntField(primary_key=True)
    thread = fields.ForeignKeyField("portal.Thread", related_name="messages")
    sender = fields.ForeignKeyField("portal.User", related_name="messages_sent", null=True)
    from_client_side = fields.BooleanField()  # the client or their contact wrote it
    body = fields.TextField()
    via = fields.CharField(max_length=8, default="web")  # web | sms | chat
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)  # read by the other side
    # The assistant's own answer (chat and SMS), not a person's.
    automated = fields.BooleanField(default=False)
    # What the assistant understood in a client's chat or text ("confirm", ...),
    # "" when it went to staff.
    intent = fields.CharField(max_length=16, default="")
    # "crisis" when the words call for the provider's attention at once.
    flag = fields.CharField(max_length=16, default="")
    # The email notice of an unread message from the practice was handled (sent,
    # or not needed): see channels.message_mail.
    notified = fields.BooleanField(default=False)

    class Meta:
        table = "message"
        indexes = (("thread_id", "id"), ("notified", "read_at"))


class Attachment(Model):
    """A file sent with a message. The bytes live under the data directory, outside
    the web root, named by ``storage_key``; only the thread's participants get them."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="attachments")
    message = fields.ForeignKeyField("portal.Message", related_name="attachments", null=True)
    uploaded_by = fields.ForeignKeyField(
        "portal.User", related_name="message_uploads", null=True, on_delete=fields.SET_NULL
    )
    filename = fields.CharField(max_length=120)
    content_type = fields.CharField(max_length=64)  # sniffed from the bytes, never trusted
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachment"


async def unread_for_client(client_id: int) -> int:
    return await Message.filter(
        thread__client_id=client_id, from_client_side=False, read_at__isnull=True
    ).count()
