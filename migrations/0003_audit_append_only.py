"""Audit rows are append-only: the database refuses UPDATE and DELETE on
audit_event, and lets the chain head (audit_head) only move forward.

Trigger bodies hold ';', and Tortoise's SQLite schema editor splits raw SQL on
';', so each statement is executed whole here instead of through RunSQL.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

MESSAGE = "audit rows are append-only"
HEAD_MESSAGE = "the audit chain head only moves forward"

SQLITE_FORWARD = [
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
    WHEN NEW.id <> OLD.id OR NEW.last_event_id <= OLD.last_event_id
    BEGIN SELECT RAISE(ABORT, '{HEAD_MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, '{HEAD_MESSAGE}'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
]

POSTGRES_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
    f"""CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_event_id > OLD.last_event_id THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{HEAD_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()""",
    """CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
    "DROP FUNCTION IF EXISTS audit_head_forward_only()",
]


async def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in statements:
        raise RuntimeError(f"no append-only triggers for {dialect}")
    for sql in statements[dialect]:
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(sql + ";")
        else:
            await schema_editor.client.execute_query(sql)


async def forward(apps, schema_editor) -> None:
    await _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgres": POSTGRES_FORWARD})


async def backward(apps, schema_editor) -> None:
    await _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgres": POSTGRES_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_account_security")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
