"""Two processes writing one SQLite file never fail with "database is locked"."""

import asyncio
import sqlite3
import threading
from urllib.parse import urlsplit

import pytest
from tortoise.transactions import in_transaction

from models.db import is_postgres
from models.people import Client


async def test_it_uses_wal_and_a_busy_timeout(app, database_url):
    if is_postgres():
        pytest.skip("SQLite-specific")
    from tortoise import connections

    conn = connections.get("default")
    assert (await conn.execute_query_dict("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
    assert (await conn.execute_query_dict("PRAGMA busy_timeout"))[0]["timeout"] == 5000


async def test_it_waits_for_another_writer_instead_of_failing(cast, database_url):
    if is_postgres():
        pytest.skip("SQLite-specific: PostgreSQL has row locks")
    path = urlsplit(database_url).netloc + urlsplit(database_url).path
    holding, release = threading.Event(), threading.Event()

    def other_process_writes():
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE client SET gender = 'held' WHERE id = ?", (cast.bob.id,))
        holding.set()
        release.wait(5)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=other_process_writes)
    thread.start()
    await asyncio.to_thread(holding.wait, 5)
    asyncio.get_running_loop().call_later(0.3, release.set)
    # A read-then-write unit: with a deferred BEGIN this fails with SQLITE_BUSY.
    async with in_transaction():
        alice = await Client.get(id=cast.alice.id)
        alice.gender = "written"
        await alice.save(update_fields=["gender"])
    thread.join(5)
    assert (await Client.get(id=cast.alice.id)).gender == "written"
    assert (await Client.get(id=cast.bob.id)).gender == "held"
