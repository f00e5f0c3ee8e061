"""The audit trail: who read or changed whose record, when and from where.

Rows are append-only (database triggers abort UPDATE and DELETE, see
``migrations/0003_audit_append_only.py``) and hash-chained: each row's ``digest``
is ``HMAC-SHA256(key, previous digest || canonical(row))``. ``AuditHead`` keeps
the id and digest of the newest row apart from the rows, so deleting the newest
row is detected too; ids are handed out under the head's lock, one after the
other, so a deleted row leaves a gap. ``verify_chain()`` recomputes the chain
(``portal audit verify``). Rows never hold health values: who, which client,
which category, which action, which object id, when, from where.

The key comes from configuration (``AUDIT_KEY``) and never lives in the
database: the process calls ``configure(key)`` once at start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock

HEAD_ID = 1
# What a page view of a client's record is, by the section's category.
READ = "read"
CATEGORIES = (
    "dashboard",
    "appointments",
    "messages",
    "billing",
    "documents",
    "insurance",
    "profile",
    "audit_log",
)

_key: bytes | None = None


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.ForeignKeyField("portal.User", related_name="audit_events", null=True)
    client = fields.ForeignKeyField("portal.Client", related_name="audit_events", null=True)
    action = fields.CharField(max_length=64)  # "appointment.confirm", "session.login", ...
    category = fields.CharField(max_length=32, default="")  # "appointments", "billing", ...
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=32, default="")
    via = fields.CharField(max_length=8, default="web")
    ip = fields.CharField(max_length=64, default="")
    details: dict = fields.JSONField(default=dict)
    digest = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_event"
        indexes = (("client_id", "at"),)


class AuditHead(Model):
    """One row: the id and digest of the newest audit event."""

    id = fields.IntField(primary_key=True)
    last_event_id = fields.BigIntField(default=0)
    digest = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_head"


def configure(key: str | bytes) -> None:
    """Set the HMAC key (from ``AUDIT_KEY``); every process that writes or
    verifies audit rows calls this once before it does."""
    global _key
    if not key:
        raise ValueError("the audit key must not be empty")
    _key = key.encode() if isinstance(key, str) else bytes(key)


def _require_key() -> bytes:
    if _key is None:
        raise RuntimeError("models.audit.configure(key) has not been called")
    return _key


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(
    id: int,
    at: datetime,
    actor_id: int | None,
    client_id: int | None,
    action: str,
    category: str,
    object_type: str,
    object_id: str,
    via: str,
    ip: str,
    details: dict,
) -> bytes:
    """A stable serialisation of every field but ``digest``."""
    return json.dumps(
        [
            id,
            _iso(at),
            actor_id,
            client_id,
            action,
            category,
            object_type,
            object_id,
            via,
            ip,
            details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def chain_digest(key: bytes, prev_digest: str, row: bytes) -> str:
    return hmac.new(key, prev_digest.encode() + row, hashlib.sha256).hexdigest()


async def _locked_head(conn) -> AuditHead:
    """The head row, locked until the transaction ends (created on first use)."""
    head = await AuditHead.select_for_update().using_db(conn).get_or_none(id=HEAD_ID)
    if head is None:
        # Rows written before the chain existed (digest "") stay before it.
        await conn.execute_query(
            "INSERT INTO audit_head (id, last_event_id, digest) "
            "SELECT 1, COALESCE(MAX(id), 0), '' FROM audit_event WHERE true "
            "ON CONFLICT (id) DO NOTHING"
        )
        head = await AuditHead.select_for_update().using_db(conn).get(id=HEAD_ID)
    return head


async def audit(
    actor,
    action: str,
    *,
    client_id: int | None = None,
    obj: Model | None = None,
    category: str = "",
    via: str = "web",
    ip: str = "",
    object_type: str = "",
    object_id: str | int = "",
    **details,
) -> AuditEvent:
    """Append one event to the chain. ``details`` must hold no health values:
    ids and codes only."""
    key = _require_key()
    actor_id = getattr(actor, "id", actor)
    if obj is not None:
        object_type, object_id = type(obj).__name__.lower(), obj.pk
    # Exactly what is stored is what is hashed: cut to the columns' sizes, and
    # details as they come back from JSON.
    values = dict(
        at=clock.now().astimezone(UTC),
        actor_id=actor_id,
        client_id=client_id,
        action=action[:64],
        category=category[:32],
        object_type=object_type[:32],
        object_id=str(object_id)[:32],
        via=via[:8],
        ip=(ip or "")[:64],
        details=json.loads(json.dumps(details, default=str)),
    )
    async with in_transaction() as conn:
        head = await _locked_head(conn)
        event_id = head.last_event_id + 1
        digest = chain_digest(key, head.digest, canonical(event_id, **values))
        event = await AuditEvent.create(id=event_id, digest=digest, using_db=conn, **values)
        await (
            AuditHead.filter(id=HEAD_ID)
            .using_db(conn)
            .update(last_event_id=event_id, digest=digest)
        )
    return event


@dataclass
class VerifyResult:
    ok: bool
    events: int  # chained events checked
    legacy: int = 0  # events written before the chain existed (no digest)
    bad_id: int | None = None
    problem: str = ""

    def message(self) -> str:
        if self.ok:
            text = f"audit chain OK: {self.events} events"
            if self.legacy:
                text += f" ({self.legacy} earlier events predate the chain and are not covered)"
            return text
        return f"audit chain BROKEN at event {self.bad_id}: {self.problem}"


_SELECT = (
    "SELECT id, at, actor_id, client_id, action, category, object_type, object_id,"
    " via, ip, details, digest FROM audit_event WHERE id > {} ORDER BY id LIMIT {}"
)


async def _batches(batch: int):
    """Raw rows in id order (the ORM's per-field conversion was most of the time)."""
    from tortoise import connections

    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    sql = _SELECT.format(*(("$1", "$2") if postgres else ("?", "?")))
    last_id = 0
    while True:
        _, rows = await conn.execute_query(sql, [last_id, batch])
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]


def _row_values(row) -> tuple:
    """A raw row as ``canonical()`` takes it: aware datetimes, decoded JSON."""
    at, details = row[1], row[10]
    if isinstance(at, str):  # SQLite keeps ISO text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if isinstance(details, (str, bytes)):
        details = json.loads(details)
    return (row[0], at, *row[2:10], details)


async def verify_chain(batch: int = 5000) -> VerifyResult:
    """Recompute the chain in id order, ``batch`` rows at a time, and compare
    its end with the head. Reports the first event that was edited, the first
    id that is missing (a deleted row), or a head that does not match (the
    newest rows deleted)."""
    key = _require_key()
    prev = ""
    last_id = 0  # the last id seen, chained or not
    events = legacy = 0
    started = False
    async for rows in _batches(batch):
        for row in rows:
            event_id, digest = row[0], row[11]
            if not started:
                if digest == "":
                    legacy += 1
                    last_id = event_id
                    continue
                started = True
            if event_id != last_id + 1:
                return VerifyResult(
                    False, events, legacy, last_id + 1, "missing (the row was deleted)"
                )
            expected = chain_digest(key, prev, canonical(*_row_values(row)))
            if not hmac.compare_digest(expected, digest):
                return VerifyResult(
                    False, events, legacy, event_id, "does not match its digest (edited)"
                )
            prev, last_id = expected, event_id
            events += 1
    head = await AuditHead.get_or_none(id=HEAD_ID)
    if head is None:
        if events:
            return VerifyResult(False, events, legacy, last_id, "the chain head is missing")
        return VerifyResult(True, 0, legacy)
    if head.last_event_id > last_id:
        return VerifyResult(
            False,
            events,
            legacy,
            last_id + 1,
            f"missing (the head records event {head.last_event_id}: the newest rows were deleted)",
        )
    if head.last_event_id < last_id:
        return VerifyResult(
            False, events, legacy, head.last_event_id + 1, "was not written through the chain"
        )
    if not hmac.compare_digest(head.digest, prev):
        return VerifyResult(False, events, legacy, last_id, "does not match the chain head")
    return VerifyResult(True, events, legacy)
