"""The practice, its locations and services, and its portal switches."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Modality(StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"
    BOTH = "both"


class Practice(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=32, default="")
    sms_number = fields.CharField(max_length=32, default="")
    email = fields.CharField(max_length=254, default="")
    tax_id = fields.CharField(max_length=32, default="")
    time_zone = fields.CharField(max_length=64, default="America/New_York")
    terms_of_service = fields.TextField(default="")
    terms_version = fields.IntField(default=1)  # raised whenever the terms change
    terms_updated_at = fields.DatetimeField(null=True)
    # Organisation-wide portal switches; keys and defaults live in models.settings.
    portal_settings: dict = fields.JSONField(default=dict)
    # "" when no card processor is configured; "demo" or "stripe" otherwise.
    payment_processor = fields.CharField(max_length=16, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "practice"


class Location(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="locations")
    name = fields.CharField(max_length=120)
    address_line1 = fields.CharField(max_length=200, default="")
    address_line2 = fields.CharField(max_length=200, default="")
    city = fields.CharField(max_length=100, default="")
    region = fields.CharField(max_length=64, default="")
    postal_code = fields.CharField(max_length=16, default="")
    telehealth = fields.BooleanField(default=False)
    hide_address = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "location"

    def __str__(self) -> str:
        return self.name


class Service(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="services")
    name = fields.CharField(max_length=120)
    cpt_code = fields.CharField(max_length=10, default="")
    duration_minutes = fields.IntField(default=50)
    buffer_minutes = fields.IntField(default=10)
    fee_cents = fields.IntField(default=0)
    self_schedulable = fields.BooleanField(default=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "service"

    def __str__(self) -> str:
        return self.name
