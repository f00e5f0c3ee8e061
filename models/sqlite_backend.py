"""SQLite client that takes the write lock when a transaction begins, and never
leaks its connection lock.

Tortoise's stock SQLite client opens transactions with a deferred ``BEGIN``: a
read-then-write unit only asks for the write lock at its first write, and when
another process (the worker) holds it SQLite answers SQLITE_BUSY at once instead
of waiting, because a deferred reader cannot be upgraded safely. ``BEGIN
IMMEDIATE`` asks for the lock up front, where ``busy_timeout`` makes it wait.

Tortoise 1.1's SQLite contexts take their asyncio lock in ``__aenter__`` and then
await more (``BEGIN``); when that await fails or is cancelled (a browser closing
mid-request makes Quart cancel the request), ``__aexit__`` never runs and the lock
is never released: every later query of the process waits forever. The contexts
below release it on any failure before they are entered.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import ConnectionWrapper, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        import sqlite3

        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class SafeTransactionContext(SqliteTransactionContext):
    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:  # cancelled or refused before we were entered
            self._trxlock.release()
            raise
        return self.connection


class SafeConnectionWrapper(ConnectionWrapper):
    async def __aenter__(self):
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", 5000)
        kwargs.setdefault("synchronous", "NORMAL")
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return SafeTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    def acquire_connection(self) -> ConnectionWrapper:
        return SafeConnectionWrapper(self._lock, self)


client_class = ImmediateSqliteClient
