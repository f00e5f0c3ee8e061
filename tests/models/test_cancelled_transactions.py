"""A request cancelled while its transaction begins (a browser closing mid-request)
must not leave the database lock or a pooled connection behind: later requests go on."""

import asyncio

from tortoise import connections
from tortoise.transactions import in_transaction

from models.db import is_postgres
from models.people import User


async def test_a_transaction_cancelled_as_it_begins_releases_what_it_held(app, cast, monkeypatch):
    wrapper = (
        type(connections.get("default")._in_transaction().connection)
        if not is_postgres()
        else type(connections.get("default")._in_transaction().client)
    )
    real_begin = wrapper.begin
    started = asyncio.Event()

    async def slow_begin(self):
        started.set()
        await asyncio.sleep(30)  # cancelled here, inside BEGIN

    monkeypatch.setattr(wrapper, "begin", slow_begin)

    async def unlucky():
        async with in_transaction():
            await User.all().count()

    for _ in range(12):  # more than a pool holds, so a leak would starve PostgreSQL
        started.clear()
        task = asyncio.create_task(unlucky())
        await started.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    monkeypatch.setattr(wrapper, "begin", real_begin)

    async def lucky():
        async with in_transaction():
            return await User.all().count()

    assert await asyncio.wait_for(lucky(), timeout=5) > 0
    assert await asyncio.wait_for(User.all().count(), timeout=5) > 0
