"""The newest migration upgrades a database that already holds data, as `make run`'s
demo database and every real practice do: a column added NOT NULL without a default
the database knows fails only when its table has rows, which a fresh test database
never has."""

import asyncio
import os
import sqlite3

import pytest

from app.config import ROOT
from models.db import APP_LABEL, migrate_db

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="SQLite is the stricter here (ALTER TABLE cannot add NOT NULL without a default)",
)


def _migrate_to(url: str, target: str | None) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api.migrate import migrate

    from models.db import tortoise_config

    async def run():
        try:
            await migrate(config=tortoise_config(url), target=target)
        finally:
            await Tortoise.close_connections()

    asyncio.run(run())


def _value(sql_type: str) -> object:
    kind = sql_type.upper()
    if kind.startswith(("INT", "BIGINT", "SMALLINT", "BOOL", "REAL", "DECIMAL", "NUMERIC")):
        return 1
    if kind.startswith("JSON"):
        return "[]"
    if kind.startswith("DATE") and kind != "DATETIME":
        return "2026-01-01"
    if kind.startswith(("TIMESTAMP", "DATETIME")):
        return "2026-01-01 00:00:00+00:00"
    if kind.startswith("TIME"):
        return "09:00:00"
    return "x"


def _one_row_everywhere(path) -> None:
    """Insert one row (id 1) into every table, parents first, every required column set."""
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'tortoise_migrations'"
            )
        ]
        parents = {
            t: {row[2] for row in db.execute(f'PRAGMA foreign_key_list("{t}")')} - {t}
            for t in tables
        }
        done: list[str] = []
        while len(done) < len(tables):
            ready = [t for t in tables if t not in done and parents[t] <= set(done)]
            assert ready, "a foreign-key cycle between tables"
            for table in ready:
                columns = list(db.execute(f'PRAGMA table_info("{table}")'))
                names, values = [], []
                for _, name, sql_type, notnull, _default, pk in columns:
                    if pk or notnull:
                        names.append(f'"{name}"')
                        values.append(1 if pk else _value(sql_type))
                marks = ", ".join("?" for _ in values)
                db.execute(f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})', values)
                done.append(table)


def test_the_newest_migration_upgrades_a_database_with_data(tmp_path):
    migrations = sorted(p.stem for p in (ROOT / "migrations").glob("0*.py"))
    db = tmp_path / "portal.db"
    url = f"sqlite://{db}"
    _migrate_to(url, f"{APP_LABEL}.{migrations[-2]}")
    _one_row_everywhere(db)
    asyncio.run(migrate_db(url))  # raises if any step fails
    with sqlite3.connect(db) as conn:
        applied = {r[0] for r in conn.execute("SELECT name FROM tortoise_migrations")}
    assert migrations[-1] in applied


def test_0011_keeps_booking_for_contacts_and_renames_policy_statuses(tmp_path):
    db = tmp_path / "portal.db"
    url = f"sqlite://{db}"
    _migrate_to(url, f"{APP_LABEL}.0010_cards_and_processor_events")
    _one_row_everywhere(db)
    with sqlite3.connect(db) as conn:
        conn.execute("""UPDATE contact SET scopes = '["appointments","forms"]' WHERE id = 1""")
        conn.execute(
            "INSERT INTO contact (id, client_id, name, relationship, phone, email, address, "
            "responsible_party, portal_access, scopes) "
            """VALUES (2, 1, 'b', 'x', '', '', '', 0, 1, '["forms"]')"""
        )
        conn.execute("UPDATE insurance_policy SET status = 'active' WHERE id = 1")
    asyncio.run(migrate_db(url))
    with sqlite3.connect(db) as conn:
        scopes = dict(conn.execute("SELECT id, scopes FROM contact"))
        status = conn.execute("SELECT status FROM insurance_policy").fetchone()[0]
        pronouns = conn.execute("SELECT pronouns FROM client").fetchone()[0]
    assert scopes == {1: '["appointments","booking","forms"]', 2: '["forms"]'}
    assert status == "verified"
    assert pronouns == ""
