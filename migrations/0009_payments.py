from tortoise import migrations
from tortoise.migrations import operations as ops
from models.payments import PaymentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0008_diagnosis_codes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('paid_by', fields.ForeignKeyField('portal.User', source_field='paid_by_id', db_constraint=True, to_field='id', related_name='payments_made', on_delete=OnDelete.RESTRICT)),
                ('amount_cents', fields.IntField()),
                ('status', fields.CharEnumField(default=PaymentStatus.PENDING, description='PENDING: pending\nREQUIRES_ACTION: requires_action\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=PaymentStatus, max_length=20)),
                ('processor', fields.CharField(max_length=16)),
                ('processor_ref', fields.CharField(default='', max_length=64)),
                ('idempotency_key', fields.CharField(unique=True, max_length=100)),
                ('card', fields.ForeignKeyField('portal.SavedCard', source_field='card_id', null=True, db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.SET_NULL)),
                ('test_method', fields.CharField(default='', max_length=40)),
                ('method_label', fields.CharField(default='', max_length=32)),
                ('failure_code', fields.CharField(default='', max_length=40)),
                ('failure_message', fields.CharField(default='', max_length=200)),
                ('ledger_entry', fields.OneToOneField('portal.LedgerEntry', source_field='ledger_entry_id', null=True, db_constraint=True, to_field='id', related_name='online_payment', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'payment', 'app': 'portal', 'indexes': [Index(fields=['client_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
