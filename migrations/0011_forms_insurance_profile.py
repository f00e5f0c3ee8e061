"""Forms (drawn signature, who signed, draft time), documents (who acknowledged),
insurance (card photos, review by whom and why, client-added payers flagged), profile
(pronouns, photo ID, emergency contacts, changes awaiting review), and the contacts'
"booking" right split from "appointments" (seeing them).

Data: a contact who could use appointments keeps booking too (it was one right), and
policy statuses take their new names (active -> verified, rejected -> needs_info)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.profile_changes import ChangeStatus
from tortoise.fields.base import OnDelete
from tortoise import fields


POLICY_STATUSES = (
    "UPDATE insurance_policy SET status = CASE status "
    "WHEN 'active' THEN 'verified' WHEN 'rejected' THEN 'needs_info' ELSE status END"
)
BOOKING = {
    "sqlite": (
        "UPDATE contact SET scopes = REPLACE(scopes, '\"appointments\"', "
        '\'"appointments","booking"\') '
        "WHERE scopes LIKE '%\"appointments\"%' AND scopes NOT LIKE '%\"booking\"%'"
    ),
    "postgres": (
        "UPDATE contact SET scopes = scopes || '[\"booking\"]'::jsonb "
        "WHERE scopes @> '[\"appointments\"]'::jsonb AND NOT scopes @> '[\"booking\"]'::jsonb"
    ),
}


async def backfill(apps, schema_editor) -> None:
    dialect = schema_editor.client.capabilities.dialect
    for sql in (POLICY_STATUSES, BOOKING[dialect]):
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(sql + ";")
        else:
            await schema_editor.client.execute_query(sql)


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("portal", "0010_cards_and_processor_events")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ProfileChange",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "client",
                    fields.ForeignKeyField(
                        "portal.Client",
                        source_field="client_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="profile_changes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "requested_by",
                    fields.ForeignKeyField(
                        "portal.User",
                        source_field="requested_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="profile_changes_asked",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("field", fields.CharField(max_length=32)),
                ("old_value", fields.TextField(default="", unique=False)),
                ("new_value", fields.TextField(default="", unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default="pending",
                        description="PENDING: pending\nAPPLIED: applied\nDECLINED: declined",
                        enum_type=ChangeStatus,
                        max_length=16,
                    ),
                ),
                ("note", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "reviewed_by",
                    fields.ForeignKeyField(
                        "portal.User",
                        source_field="reviewed_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="profile_changes_reviewed",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "reviewed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "profile_change", "app": "portal", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Client",
            name="photo_id",
            field=fields.ForeignKeyField(
                "portal.Document",
                source_field="photo_id_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="photo_id_of",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="Client",
            name="pronouns",
            field=fields.CharField(default="", db_default="", max_length=32),
        ),
        ops.AddField(
            model_name="Contact",
            name="emergency",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="Document",
            name="acknowledged_by",
            field=fields.ForeignKeyField(
                "portal.User",
                source_field="acknowledged_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="documents_acknowledged",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="FormAssignment",
            name="draft_saved_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="FormAssignment",
            name="signature_drawn",
            field=fields.CharField(default="", db_default="", max_length=20000),
        ),
        ops.AddField(
            model_name="FormAssignment",
            name="signed_by",
            field=fields.ForeignKeyField(
                "portal.User",
                source_field="signed_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="forms_signed",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="InsurancePolicy",
            name="card_back",
            field=fields.ForeignKeyField(
                "portal.Document",
                source_field="card_back_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="policy_backs",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="InsurancePolicy",
            name="card_front",
            field=fields.ForeignKeyField(
                "portal.Document",
                source_field="card_front_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="policy_fronts",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="InsurancePolicy",
            name="review_note",
            field=fields.CharField(default="", db_default="", max_length=1000),
        ),
        ops.AddField(
            model_name="InsurancePolicy",
            name="reviewed_by",
            field=fields.ForeignKeyField(
                "portal.User",
                source_field="reviewed_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="policies_reviewed",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="InsurancePolicy",
            name="submitted_by",
            field=fields.ForeignKeyField(
                "portal.User",
                source_field="submitted_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="policies_sent",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Payer",
            name="added_by",
            field=fields.ForeignKeyField(
                "portal.User",
                source_field="added_by_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="payers_added",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Payer",
            name="reviewed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(backfill, nothing),
    ]
