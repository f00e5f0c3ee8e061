"""Everyone who signs in, and the clients they act for.

One ``User`` is one sign-in identity. It may be a client (``Client.user``), a
contact with portal access to one or more clients (``Contact.user``, e.g. a
parent of two children), a staff member (``StaffMember.user``), or several.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    PROVIDER = "provider"
    SCHEDULER = "scheduler"
    BILLER = "biller"
    ADMIN = "admin"


class Scope(StrEnum):
    """What a contact with portal access may do for a client."""

    APPOINTMENTS = "appointments"  # see appointments
    BOOKING = "booking"  # book, confirm and cancel appointments
    MESSAGES = "messages"
    BILLING = "billing"
    FORMS = "forms"
    INSURANCE = "insurance"
    PROFILE = "profile"


ALL_SCOPES = [s.value for s in Scope]


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # stored NFKC-casefolded
    username = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=200, default="")
    display_name = fields.CharField(max_length=200)
    language = fields.CharField(max_length=8, default="en")
    is_active = fields.BooleanField(default=True)
    # A secret with no enabled_at is an enrolment in progress.
    totp_secret = fields.CharField(max_length=64, null=True)
    totp_enabled_at = fields.DatetimeField(null=True)
    totp_last_counter = fields.BigIntField(default=0)  # each 30-second step is usable once
    password_changed_at = fields.DatetimeField(null=True)
    # Failed sign-ins before this moment no longer count (a reset, or staff unlocked).
    throttle_reset_at = fields.DatetimeField(null=True)
    terms_version = fields.IntField(null=True)  # the practice terms version accepted
    terms_accepted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_account"

    def __str__(self) -> str:
        return self.display_name


class StaffMember(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="staff")
    user = fields.OneToOneField("portal.User", related_name="staff_member")
    roles: list = fields.JSONField(default=list)
    title = fields.CharField(max_length=64, default="")  # e.g. "LCSW", "PhD"
    npi = fields.CharField(max_length=10, default="")
    # Provider-level overrides of portal switches, e.g. {"self_scheduling": false}.
    portal_overrides: dict = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "staff_member"

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.roles


class Client(Model):
    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="clients")
    user = fields.OneToOneField("portal.User", related_name="client", null=True)
    number = fields.CharField(max_length=16, unique=True)  # "C000105812" in the seeds
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    preferred_name = fields.CharField(max_length=100, default="")
    pronouns = fields.CharField(max_length=32, default="", db_default="")
    date_of_birth = fields.DateField(null=True)
    gender = fields.CharField(max_length=32, default="")
    marital_status = fields.CharField(max_length=32, default="")
    employment = fields.CharField(max_length=100, default="")
    address_line1 = fields.CharField(max_length=200, default="")
    city = fields.CharField(max_length=100, default="")
    region = fields.CharField(max_length=64, default="")
    postal_code = fields.CharField(max_length=16, default="")
    time_zone = fields.CharField(max_length=64, default="America/New_York")
    preferred_language = fields.CharField(max_length=8, default="en")
    primary_provider = fields.ForeignKeyField(
        "portal.StaffMember", related_name="primary_clients", null=True
    )
    # "" (not answered yet), "self_pay" or "insurance" (seed 000, My Insurance).
    insurance_choice = fields.CharField(max_length=16, default="")
    diagnosis_codes: list = fields.JSONField(default=list)  # ICD-10, for the superbill
    # Per-client switches, e.g. {"messaging": false}; see models.settings.
    portal_overrides: dict = fields.JSONField(default=dict)
    portal_enabled = fields.BooleanField(default=True)
    # The photo ID the client uploaded (seed 004), one of their documents.
    photo_id = fields.ForeignKeyField(
        "portal.Document", related_name="photo_id_of", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "client"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Contact(Model):
    """A person related to a client. With ``user`` set, they can sign in for them."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="contacts")
    user = fields.ForeignKeyField("portal.User", related_name="contact_roles", null=True)
    name = fields.CharField(max_length=200)
    relationship = fields.CharField(max_length=64)  # "Parent/Guardian", "Spouse", ...
    phone = fields.CharField(max_length=32, default="")
    email = fields.CharField(max_length=254, default="")
    address = fields.CharField(max_length=300, default="")
    responsible_party = fields.BooleanField(default=False)
    emergency = fields.BooleanField(default=False, db_default=False)  # call in an emergency
    portal_access = fields.BooleanField(default=False)
    scopes: list = fields.JSONField(default=list)

    class Meta:
        table = "contact"


class ContactPoint(Model):
    """A client's phone or email, with its reminder preferences (seed 000, My Profile)."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="contact_points")
    kind = fields.CharField(max_length=8)  # "phone" | "email"
    label = fields.CharField(max_length=32, default="")  # "Mobile", "Work", "Primary Email"
    value = fields.CharField(max_length=254)  # E.164 for phones
    is_default = fields.BooleanField(default=False)
    reminders = fields.BooleanField(default=False)
    reminder_days_before = fields.IntField(default=1)
    request_confirmation = fields.BooleanField(default=False)
    sms_opted_out_at = fields.DatetimeField(null=True)  # mirrors models.outbox.SmsOptOut
    # Twilio reported the number cannot get texts (30003, 30006, 21211, 21610).
    sms_undeliverable_at = fields.DatetimeField(null=True)

    class Meta:
        table = "contact_point"
