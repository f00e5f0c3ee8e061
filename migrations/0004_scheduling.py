from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0003_audit_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WaitlistEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='waitlist_entries', on_delete=OnDelete.CASCADE)),
                ('provider', fields.ForeignKeyField('portal.StaffMember', source_field='provider_id', null=True, db_constraint=True, to_field='id', related_name='waitlist', on_delete=OnDelete.CASCADE)),
                ('service', fields.ForeignKeyField('portal.Service', source_field='service_id', null=True, db_constraint=True, to_field='id', related_name='waitlist', on_delete=OnDelete.CASCADE)),
                ('modality', fields.CharField(default='any', max_length=16)),
                ('weekdays', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('day_parts', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='waiting', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'waitlist_entry', 'app': 'portal', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A client waiting for an earlier or a wanted time (no therapy portal has one).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WaitlistOffer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('portal.WaitlistEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='offers', on_delete=OnDelete.CASCADE)),
                ('provider', fields.ForeignKeyField('portal.StaffMember', source_field='provider_id', db_constraint=True, to_field='id', related_name='waitlist_offers', on_delete=OnDelete.CASCADE)),
                ('service', fields.ForeignKeyField('portal.Service', source_field='service_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_offers', on_delete=OnDelete.CASCADE)),
                ('location', fields.ForeignKeyField('portal.Location', source_field='location_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_offers', on_delete=OnDelete.CASCADE)),
                ('telehealth', fields.BooleanField(default=False)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('hold_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='offered', max_length=16)),
                ('appointment', fields.ForeignKeyField('portal.Appointment', source_field='appointment_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_offers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'waitlist_offer', 'app': 'portal', 'indexes': [Index(fields=['status', 'hold_until']), Index(fields=['provider_id', 'starts_at'])], 'pk_attr': 'id', 'table_description': 'An opening offered to one waiting client, held for them for 15 minutes.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Appointment',
            name='booked_by',
            field=fields.ForeignKeyField('portal.User', source_field='booked_by_id', null=True, db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Appointment',
            name='decided_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Appointment',
            name='decided_by',
            field=fields.ForeignKeyField('portal.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Appointment',
            name='rescheduled_from',
            field=fields.ForeignKeyField('portal.Appointment', source_field='rescheduled_from_id', null=True, db_constraint=True, to_field='id', related_name='rescheduled_to', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Appointment',
            name='video_url',
            field=fields.CharField(default='', max_length=300),
        ),
    ]
