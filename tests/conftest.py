"""Fixtures: a fresh, migrated database per test, the app, and a cast of principals.

The schema comes from the real migrations, applied once per run to a template
(a SQLite file that each test copies, or a PostgreSQL database each test clones
with CREATE DATABASE ... TEMPLATE). ``TEST_DATABASE_URL=postgres://...`` switches
the whole suite to PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

pytest_plugins = ["tests.mailserver"]  # the smtp_server fixture: a real local SMTP server
from tests.fakes.stripe_server import fake_stripe  # noqa: E402, F401  (a fixture for every test)

os.environ.setdefault("PORTAL_FAST_HASH", "1")  # argon2id with cheap parameters

import asyncpg  # noqa: E402
import pytest  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ROOT, Config  # noqa: E402
from models import clock  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _admin_dsn() -> str:
    return _with_database(PG_URL, "postgres").replace("postgres://", "postgresql://", 1)


async def pg_admin(sql: str) -> None:
    """Run one statement on the PostgreSQL server's maintenance database."""
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _migrate(database_url: str) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> str:
    """A database with every migration applied, made once per test run."""
    if PG_URL:
        import asyncio

        name = f"portal_tmpl_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        _migrate(_with_database(PG_URL, name))
        yield name
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite://{path}")
        yield str(path)


@pytest.fixture
async def database_url(template_db, tmp_path) -> str:
    """A fresh copy of the migrated template for this one test."""
    if PG_URL:
        name = f"portal_test_{uuid.uuid4().hex[:12]}"
        await pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield _with_database(PG_URL, name)
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = Path(tmp_path) / "test.db"
        shutil.copyfile(template_db, path)
        yield f"sqlite://{path}"


def make_config(database_url: str, **overrides) -> Config:
    values = dict(
        database_url=database_url,
        secret_key="test-secret-key",
        public_url="http://localhost",
        testing=True,
        embedded_worker=False,
        data_dir=Path("/nonexistent-data-dir"),
    )
    values.update(overrides)
    return Config(**values)


@pytest.fixture
def config_overrides() -> dict:
    """Override in a test module to run the app with other settings (e.g. https)."""
    return {}


@pytest.fixture
async def app(database_url, config_overrides):
    application = create_app(make_config(database_url, **config_overrides))
    async with application.test_app() as test_app:
        yield test_app
    clock.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
async def cast(app):
    from tests.cast import build_cast

    return await build_cast()


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


# ---- CI guard: browser tests may skip on a laptop without Chromium, never in CI ----

_skipped_browser: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and "tests/browser" in report.nodeid.replace("\\", "/"):
        _skipped_browser.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1" and _skipped_browser:
        print(f"\nPORTAL_REQUIRE_BROWSER=1 but {len(_skipped_browser)} browser tests skipped")
        session.exitstatus = 1
