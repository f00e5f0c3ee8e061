"""Cards on file with a consent record and their processor; processor events (Stripe's
webhooks, applied once); refunds and disputes on payments; the client's processor
customer. Cards already on file (the demo's test methods, the only ones before this)
count as consented when they were added."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ledger import EntryKind
from tortoise.fields.base import OnDelete
from tortoise import fields

BACKFILL = (
    "UPDATE saved_card SET consented_at = created_at, processor = 'demo' "
    "WHERE consented_at IS NULL AND processor_ref LIKE 'pm_card_%'"
)


async def backfill(apps, schema_editor) -> None:
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(BACKFILL + ";")
    else:
        await schema_editor.client.execute_query(BACKFILL)


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('portal', '0009_payments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProcessorCustomer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.OneToOneField('portal.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='processor_customer', on_delete=OnDelete.CASCADE)),
                ('processor', fields.CharField(max_length=16)),
                ('ref', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'processor_customer', 'app': 'portal', 'pk_attr': 'id', 'table_description': "The client's customer at the card processor (``cus_...``): cards attach to it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProcessorEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('processor', fields.CharField(max_length=16)),
                ('event_id', fields.CharField(unique=True, max_length=100)),
                ('type', fields.CharField(max_length=64)),
                ('object_ref', fields.CharField(default='', max_length=64)),
                ('payment', fields.ForeignKeyField('portal.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.SET_NULL)),
                ('outcome', fields.CharField(default='', max_length=32)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'processor_event', 'app': 'portal', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='LedgerEntry',
            name='kind',
            field=fields.CharEnumField(description='CHARGE: charge\nCLIENT_PAYMENT: client_payment\nINSURANCE_PAYMENT: insurance_payment\nADJUSTMENT: adjustment\nTO_DEDUCTIBLE: to_deductible\nDIST_ADJUSTMENT: dist_adjustment\nREFUND: refund', enum_type=EntryKind, max_length=20),
        ),
        ops.AddField(
            model_name='Payment',
            name='disputed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Payment',
            name='refunded_cents',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='SavedCard',
            name='consented_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SavedCard',
            name='processor',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.RunPython(backfill, nothing),
    ]
