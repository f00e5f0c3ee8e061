"""SQLite client that takes the write lock when a transaction begins.

Tortoise's stock SQLite client opens transactions with a deferred ``BEGIN``: a
read-then-write unit only asks for the write lock at its first write, and when
another process (the worker) holds it SQLite answers SQLITE_BUSY at once instead
of waiting, because a deferred reader cannot be upgraded safely. ``BEGIN
IMMEDIATE`` asks for the lock up front, where ``busy_timeout`` makes it wait.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        import sqlite3

        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", 5000)
        kwargs.setdefault("synchronous", "NORMAL")
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
