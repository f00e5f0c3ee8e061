"""Database configuration: one URL picks SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = [
    "models.practice",
    "models.people",
    "models.scheduling",
    "models.ledger",
    "models.payments",
    "models.cards",
    "models.processor_events",
    "models.messaging",
    "models.documents",
    "models.insurance",
    "models.profile_changes",
    "models.security",
    "models.audit",
    "models.onboarding",
    "models.outbox",
]
APP_LABEL = "portal"


def connection_config(database_url: str) -> dict[str, Any]:
    """Turn ``DATABASE_URL`` into a Tortoise connection dict.

    ``postgres://`` and ``postgresql://`` go to asyncpg; ``sqlite://`` goes to our
    client that begins write transactions with ``BEGIN IMMEDIATE``. Both clients
    release their lock or pooled connection when a transaction is cancelled as it
    begins (models/sqlite_backend.py, models/postgres_backend.py).
    """
    scheme = urlsplit(database_url).scheme
    if scheme == "postgresql":
        database_url = "postgres" + database_url[len("postgresql") :]
        scheme = "postgres"
    if scheme not in ("sqlite", "postgres"):
        raise ValueError(f"DATABASE_URL must be sqlite:// or postgres://, not {scheme}://")
    config = expand_db_url(database_url)
    if scheme == "sqlite":
        config["engine"] = "models.sqlite_backend"
    else:
        config["engine"] = "models.postgres_backend"
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate_db(database_url: str) -> None:
    """Apply every migration in ``migrations/`` (``portal migrate``)."""
    from tortoise.migrations.api.migrate import migrate

    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


def is_postgres() -> bool:
    from tortoise import connections

    return connections.get("default").capabilities.dialect == "postgres"


def _env_config() -> dict[str, Any]:
    import os

    return tortoise_config(os.environ.get("DATABASE_URL", "sqlite://portal.db"))


# For Tortoise's own CLI: `tortoise -c models.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = _env_config()
