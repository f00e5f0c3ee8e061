from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0001_initial')]

    initial = False

    operations = [
        ops.DeleteModel(name='TrustedDevice'),
        ops.CreateModel(
            name='AuditHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('last_event_id', fields.BigIntField(default=0)),
                ('digest', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_head', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'One row: the id and digest of the newest audit event.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('portal.User', source_field='user_id', db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(max_length=64)),
                ('label', fields.CharField(default='', max_length=100)),
                ('fingerprint', fields.CharField(default='', max_length=64)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_ip', fields.CharField(default='', max_length=64)),
                ('remembered_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'device', 'app': 'portal', 'unique_together': (('user', 'token_hash'),), 'pk_attr': 'id', 'table_description': 'A browser a user signed in from, known by a random cookie (only its hash is kept).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('portal.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invitations_sent', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'Staff invite an existing client to the portal: single use, 7 days.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PasswordReset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('portal.User', source_field='user_id', db_constraint=True, to_field='id', related_name='password_resets', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'password_reset', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A password reset link: the token is in the email, only its hash is here.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('portal.User', source_field='user_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('lookup', fields.CharField(max_length=8)),
                ('code_hash', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_code', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A single-use two-factor recovery code, stored as an argon2 hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('practice', fields.ForeignKeyField('portal.Practice', source_field='practice_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(max_length=254)),
                ('first_name', fields.CharField(max_length=100)),
                ('last_name', fields.CharField(max_length=100)),
                ('date_of_birth', fields.DateField()),
                ('phone', fields.CharField(default='', max_length=32)),
                ('password_hash', fields.CharField(default='', max_length=200)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('match_reason', fields.CharField(default='', max_length=32)),
                ('client', fields.ForeignKeyField('portal.Client', source_field='client_id', null=True, db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registration', 'app': 'portal', 'pk_attr': 'id', 'table_description': "Someone new signing up through the practice's new-invitation link."},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='AuditEvent',
            options={'table': 'audit_event', 'app': 'portal', 'indexes': [Index(fields=['client_id', 'at'])], 'pk_attr': 'id'},
        ),
        ops.AddField(
            model_name='AuditEvent',
            name='category',
            field=fields.CharField(default='', max_length=32),
        ),
        ops.AddField(
            model_name='AuditEvent',
            name='digest',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='LoginEvent',
            name='device_label',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AddField(
            model_name='LoginEvent',
            name='identifier_digest',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='LoginEvent',
            name='two_factor',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='LoginEvent',
            index=Index(fields=['identifier_digest', 'at']),
        ),
        ops.AddIndex(
            model_name='LoginEvent',
            index=Index(fields=['ip', 'at']),
        ),
        ops.AddIndex(
            model_name='LoginEvent',
            index=Index(fields=['user_id', 'at']),
        ),
        ops.AddField(
            model_name='Practice',
            name='terms_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Practice',
            name='terms_version',
            field=fields.IntField(default=1),
        ),
        ops.AddField(
            model_name='Session',
            name='device',
            field=fields.ForeignKeyField('portal.Device', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Session',
            name='stage',
            field=fields.CharField(default='', max_length=16),
        ),
        ops.AddField(
            model_name='Session',
            name='two_factor',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='User',
            name='password_changed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='terms_accepted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='terms_version',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='User',
            name='throttle_reset_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='totp_last_counter',
            field=fields.BigIntField(default=0),
        ),
    ]
