"""The migrations in migrations/ build exactly the schema the models describe."""

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from app.config import ROOT
from models.db import APP_LABEL, tortoise_config

MIGRATIONS = ROOT / "migrations"


async def test_it_has_no_model_change_missing_a_migration(app, database_url):
    config = tortoise_config(database_url)
    detector = MigrationAutodetector(Tortoise.apps, {APP_LABEL: config["apps"][APP_LABEL]})
    changes = await detector.changes()
    assert changes == [], "run: tortoise -c models.db.TORTOISE_ORM makemigrations"


async def test_it_recorded_every_migration_as_applied(app):
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT name FROM tortoise_migrations WHERE app = 'portal'"
    )
    on_disk = {p.stem for p in MIGRATIONS.glob("0*.py")}
    assert "0001_initial" in on_disk
    assert {r["name"] for r in rows} == on_disk
