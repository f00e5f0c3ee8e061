from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0005_no_double_booking')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('message', fields.ForeignKeyField('portal.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('uploaded_by', fields.ForeignKeyField('portal.User', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name='message_uploads', on_delete=OnDelete.SET_NULL)),
                ('filename', fields.CharField(max_length=120)),
                ('content_type', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('storage_key', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attachment', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A file sent with a message. The bytes live under the data directory, outside'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Message',
            name='automated',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Message',
            name='flag',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='Message',
            name='intent',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='Message',
            name='notified',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['notified', 'read_at']),
        ),
        ops.AddField(
            model_name='Thread',
            name='assigned_to',
            field=fields.ForeignKeyField('portal.StaffMember', source_field='assigned_to_id', null=True, db_constraint=True, to_field='id', related_name='assigned_threads', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Thread',
            name='done_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Thread',
            name='kind',
            field=fields.CharField(default='message', max_length=8),
        ),
        ops.AddField(
            model_name='Thread',
            name='status',
            field=fields.CharField(default='open', max_length=8),
        ),
        ops.AddIndex(
            model_name='Thread',
            index=Index(fields=['client_id', 'kind']),
        ),
    ]
