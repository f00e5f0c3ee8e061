"""A throwaway database for one in-process benchmark: a SQLite file in a temporary
folder, or a fresh database on the PostgreSQL server ``--database-url`` names,
dropped afterwards (``with_database`` swaps the database name of a URL)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(parts.password, "***")))
    return url


async def pg_admin(url: str, sql: str) -> None:
    """Run ``sql`` on the server's ``postgres`` database (CREATE / DROP DATABASE)."""
    import asyncpg

    dsn = with_database(url, "postgres").replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def is_postgres(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in ("postgres", "postgresql")


@contextlib.contextmanager
def database(server_url: str | None, prefix: str) -> Iterator[tuple[str, str]]:
    """(database URL, label for the report); call outside any event loop."""
    if is_postgres(server_url):
        url = server_url.replace("postgresql://", "postgres://", 1)
        name = f"portal_{prefix}_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(url, f'CREATE DATABASE "{name}"'))
        try:
            label = f"postgres (temp database on {redact(with_database(url, ''))})"
            yield with_database(url, name), label
        finally:
            asyncio.run(pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        with tempfile.TemporaryDirectory(prefix=f"portal-{prefix}-") as tmp:
            yield f"sqlite://{Path(tmp) / 'bench.db'}", "sqlite (temp)"


def measure_on(
    server_url: str | None, prefix: str, what: str, measure: Callable[[str], Awaitable[dict]]
) -> tuple[str, dict[str, Any], list[str]]:
    """(label, figures, problems): ``measure(url)`` on a throwaway database; a broken
    run is reported as a problem, never hidden and never the end of ``make bench``."""
    label, figures, problems = "sqlite (temp)", {}, []
    try:
        with database(server_url, prefix) as (url, label):
            figures = asyncio.run(measure(url))
    except Exception as exc:
        problems.append(f"{what} benchmark broke: {type(exc).__name__}: {exc}")
    return label, figures, problems
