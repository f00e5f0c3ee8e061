"""No double booking, as a database backstop (PostgreSQL only).

An exclusion constraint refuses two appointments of one provider whose times
overlap while both are requested, scheduled or confirmed (half-open ranges:
back-to-back appointments are fine). ``models.booking`` already serialises
bookings per provider and re-checks before inserting; this catches anything that
slips past it (another code path, a bug), and its IntegrityError is mapped to
RuleError("slot_taken"). ``btree_gist`` lets a GiST index compare provider_id with =.

On SQLite this is a no-op: there every check-and-insert runs under the database's
write lock (BEGIN IMMEDIATE), one at a time.

Existing overlapping appointments make this migration fail: resolve them first.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CONSTRAINT = "appointment_no_double_booking"

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE appointment ADD CONSTRAINT {CONSTRAINT}
    EXCLUDE USING gist (provider_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE (status IN ('requested', 'scheduled', 'confirmed'))""",
]
POSTGRES_BACKWARD = [
    f"ALTER TABLE appointment DROP CONSTRAINT IF EXISTS {CONSTRAINT}",
]


async def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    dialect = schema_editor.client.capabilities.dialect
    for sql in statements.get(dialect, []):  # nothing to do on SQLite
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(sql + ";")
        else:
            await schema_editor.client.execute_query(sql)


async def forward(apps, schema_editor) -> None:
    await _run(schema_editor, {"postgres": POSTGRES_FORWARD})


async def backward(apps, schema_editor) -> None:
    await _run(schema_editor, {"postgres": POSTGRES_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_scheduling")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
