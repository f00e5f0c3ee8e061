from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0006_messaging')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboundSms',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_sid', fields.CharField(unique=True, max_length=64)),
                ('from_number', fields.CharField(max_length=32)),
                ('to_number', fields.CharField(max_length=32)),
                ('body', fields.TextField(unique=False)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='inbound_sms', on_delete=OnDelete.SET_NULL)),
                ('intent', fields.CharField(default='', max_length=16)),
                ('outcome', fields.CharField(default='', max_length=32)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbound_sms', 'app': 'portal', 'indexes': [Index(fields=['from_number', 'received_at'])], 'pk_attr': 'id', 'table_description': 'One text received at /sms/inbound, stored once per Twilio MessageSid (a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsOptOut',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phone', fields.CharField(unique=True, max_length=32)),
                ('opted_out_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('keyword', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'sms_opt_out', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A phone number that replied STOP (or CANCEL, QUIT, ...): no text goes to it'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ContactPoint',
            name='sms_undeliverable_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='claimed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='contact_point',
            field=fields.ForeignKeyField('portal.ContactPoint', source_field='contact_point_id', null=True, db_constraint=True, to_field='id', related_name='outbox', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='context',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='delivery_error',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='delivery_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='kind',
            field=fields.CharField(default='notice', max_length=16),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='language',
            field=fields.CharField(default='en', max_length=8),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['client_id', 'kind']),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['to', 'channel']),
        ),
    ]
