"""PostgreSQL client (asyncpg) whose transactions never leak a pooled connection.

Tortoise 1.1's pooled transaction context takes a connection from the pool in
``__aenter__`` and then awaits ``BEGIN``; when that await fails or is cancelled (a
browser closing mid-request makes Quart cancel the request), ``__aexit__`` never
runs and the connection is never returned: enough of those and the pool is empty
and every request waits. This context gives it back on any failure before entry.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections


class SafePooledTransactionContext(TransactionContextPooled):
    async def __aenter__(self):
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        try:
            self.token = get_connections().set(self.connection_name, self.client)
            try:
                await self.client.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:  # cancelled or refused before we were entered
            await pool.release(self.client._connection)
            raise
        return self.client


class SafeAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return SafePooledTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = SafeAsyncpgClient
