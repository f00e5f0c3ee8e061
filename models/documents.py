"""Online forms assigned to clients, and documents shared either way."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    DRAFT = "draft"
    SUBMITTED = "submitted"


class FormTemplate(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="form_templates")
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    # [{"key": "reason", "type": "long_text", "label": "...", "required": true}, ...]
    fields_schema: list = fields.JSONField(default=list)
    requires_signature = fields.BooleanField(default=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "form_template"


class FormAssignment(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="form_assignments")
    template = fields.ForeignKeyField("portal.FormTemplate", related_name="assignments")
    # A guardian who is to sign for a minor; null: the client (or any contact with forms).
    signer = fields.ForeignKeyField("portal.User", related_name="forms_to_sign", null=True)
    status = fields.CharEnumField(AssignmentStatus, max_length=16, default="assigned")
    answers: dict = fields.JSONField(default=dict)
    assigned_at = fields.DatetimeField(auto_now_add=True)
    due_on = fields.DateField(null=True)
    submitted_at = fields.DatetimeField(null=True)
    signature_name = fields.CharField(max_length=200, default="")
    signature_ip = fields.CharField(max_length=64, default="")
    # An optional drawn signature: SVG path data ("M10 20 L30 40 ..."), checked on save.
    signature_drawn = fields.CharField(max_length=20000, default="", db_default="")
    signed_by = fields.ForeignKeyField("portal.User", related_name="forms_signed", null=True)
    draft_saved_at = fields.DatetimeField(null=True)
    document = fields.ForeignKeyField("portal.Document", related_name="from_form", null=True)

    class Meta:
        table = "form_assignment"


class Document(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="documents")
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # "shared" | "uploaded" | "form_pdf" | "statement"
    content_type = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=128, default="")  # path under the data dir
    size_bytes = fields.IntField(default=0)
    sha256 = fields.CharField(max_length=64, default="")
    uploaded_by = fields.ForeignKeyField("portal.User", related_name="uploads", null=True)
    requires_ack = fields.BooleanField(default=False)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.ForeignKeyField(
        "portal.User", related_name="documents_acknowledged", null=True
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "document"


async def open_tasks_for(client_id: int) -> tuple[int, int]:
    """(forms to complete, documents to acknowledge): the menu badge is their sum."""
    forms = await FormAssignment.filter(
        client_id=client_id, status__not=AssignmentStatus.SUBMITTED
    ).count()
    acks = await Document.filter(
        client_id=client_id, requires_ack=True, acknowledged_at__isnull=True
    ).count()
    return forms, acks
