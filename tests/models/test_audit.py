"""The audit trail: an append-only, hash-chained log whose tampering the verifier finds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import asynccontextmanager

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from app.config import ROOT
from models import audit as audit_module
from models.audit import AuditEvent, AuditHead, audit, verify_chain
from models.db import is_postgres

REFUSED = (IntegrityError, OperationalError)


@asynccontextmanager
async def triggers_off():
    """What an attacker with the database file or a superuser login can do."""
    conn = connections.get("default")
    if is_postgres():
        await conn.execute_script(
            "ALTER TABLE audit_event DISABLE TRIGGER USER;"
            "ALTER TABLE audit_head DISABLE TRIGGER USER"
        )
        try:
            yield conn
        finally:
            await conn.execute_script(
                "ALTER TABLE audit_event ENABLE TRIGGER USER;"
                "ALTER TABLE audit_head ENABLE TRIGGER USER"
            )
    else:
        _, rows = await conn.execute_query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'"
        )
        for row in rows:
            await conn.execute_query(f"DROP TRIGGER {row[0]}")
        try:
            yield conn
        finally:
            for row in rows:
                await conn.execute_query(row[1])


async def tamper(sql: str) -> None:
    async with triggers_off() as conn:
        await conn.execute_query(sql)


async def five_events(cast) -> list[AuditEvent]:
    events = [
        await audit(cast.alice.user_id, "read", client_id=cast.alice.id, category="billing"),
        await audit(
            cast.penny.user_id,
            "read",
            client_id=cast.alice.id,
            category="messages",
            object_type="thread",
            object_id=cast.thread.id,
            ip="203.0.113.9",
            page="messages.get_thread",
        ),
        await audit(None, "session.login", ip="2001:db8::1", note="ünïcødé ✓", n=3),
    ]
    await cast.a_soon.confirm(by=cast.alice.user_id, via="sms")
    events.append(await AuditEvent.get(action="appointment.confirm"))
    events.append(await audit(cast.ada.user_id, "read", client_id=cast.bob.id, category="profile"))
    return events


async def test_it_chains_every_event_and_verifies(cast):
    events = await five_events(cast)
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert all(len(e.digest) == 64 for e in events)
    assert events[3].category == "appointments" and events[3].via == "sms"
    head = await AuditHead.get(id=1)
    assert (head.last_event_id, head.digest) == (5, events[-1].digest)
    result = await verify_chain(batch=2)  # several batches
    assert result.ok and result.events == 5
    assert result.message() == "audit chain OK: 5 events"


async def test_an_empty_trail_verifies(app):
    result = await verify_chain()
    assert result.ok and result.events == 0


@pytest.mark.parametrize(
    "change",
    [
        "ip = '198.51.100.1'",
        "category = 'insurance'",
        "actor_id = NULL",
        "object_id = '999'",
        'details = \'{"page":"messages.get_messages"}\'',
        "at = at + INTERVAL '1 second'",
        "digest = '" + "0" * 64 + "'",
    ],
)
async def test_it_names_an_edited_row(cast, change):
    await five_events(cast)
    if change.startswith("at =") and not is_postgres():
        change = "at = replace(at, substr(at, 1, 4), '1999')"
    await tamper(f"UPDATE audit_event SET {change} WHERE id = 2")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 2 and "edited" in result.problem
    assert result.message().startswith("audit chain BROKEN at event 2")


async def test_it_finds_a_deleted_row_in_the_middle(cast):
    await five_events(cast)
    await tamper("DELETE FROM audit_event WHERE id = 3")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 3 and "missing" in result.problem


async def test_it_finds_a_deleted_first_row(cast):
    await five_events(cast)
    await tamper("DELETE FROM audit_event WHERE id = 1")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 1


async def test_it_finds_the_newest_row_deleted_through_the_head(cast):
    await five_events(cast)
    await tamper("DELETE FROM audit_event WHERE id = 5")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 5 and "head records event 5" in result.problem


async def test_it_finds_an_edited_or_missing_head(cast):
    await five_events(cast)
    await tamper("UPDATE audit_head SET digest = '" + "a" * 64 + "'")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 5 and "head" in result.problem
    await tamper("DELETE FROM audit_head")
    result = await verify_chain()
    assert not result.ok and "head is missing" in result.problem


async def test_rows_and_head_refuse_update_and_delete(cast):
    events = await five_events(cast)
    with pytest.raises(REFUSED, match="append-only"):
        await AuditEvent.filter(id=events[0].id).update(ip="198.51.100.1")
    row = await AuditEvent.get(id=events[1].id)
    row.category = "insurance"
    with pytest.raises(REFUSED, match="append-only"):
        await row.save()
    with pytest.raises(REFUSED, match="append-only"):
        await row.delete()
    with pytest.raises(REFUSED, match="append-only"):
        await AuditEvent.all().delete()
    if is_postgres():
        with pytest.raises(REFUSED, match="append-only"):
            await connections.get("default").execute_script("TRUNCATE audit_event")
    with pytest.raises(REFUSED, match="only moves forward"):
        await AuditHead.filter(id=1).update(last_event_id=4)
    with pytest.raises(REFUSED, match="only moves forward"):
        await AuditHead.filter(id=1).delete()
    assert await AuditEvent.all().count() == 5
    assert (await verify_chain()).ok


async def test_a_wrong_key_breaks_the_first_event(cast, monkeypatch):
    await five_events(cast)
    monkeypatch.setattr(audit_module, "_key", b"another key")
    result = await verify_chain()
    assert not result.ok and result.bad_id == 1


async def test_it_refuses_to_write_without_a_key(app, monkeypatch):
    monkeypatch.setattr(audit_module, "_key", None)
    with pytest.raises(RuntimeError, match="configure"):
        await audit(None, "session.login")


async def test_concurrent_writers_keep_one_unbroken_chain(cast):
    await asyncio.gather(
        *(
            audit(cast.alice.user_id, "read", client_id=cast.alice.id, category="billing")
            for _ in range(25)
        )
    )
    assert sorted(await AuditEvent.all().values_list("id", flat=True)) == list(range(1, 26))
    assert (await verify_chain()).events == 25


async def test_a_rolled_back_write_leaves_no_gap(cast):
    await audit(None, "session.login")
    with pytest.raises(RuntimeError, match="boom"):
        async with in_transaction():
            await audit(None, "session.login")
            raise RuntimeError("boom")
    await audit(None, "session.logout")
    assert await AuditEvent.all().order_by("id").values_list("id", flat=True) == [1, 2]
    assert (await verify_chain()).ok


async def test_rows_from_before_the_chain_are_counted_apart(cast):
    await AuditEvent.create(at=cast.a_past.starts_at, action="session.login", digest="")
    await AuditEvent.create(at=cast.a_past.starts_at, action="session.logout", digest="")
    await audit(None, "session.login")
    result = await verify_chain()
    assert result.ok and (result.events, result.legacy) == (1, 2)
    assert "2 earlier events predate the chain" in result.message()


async def test_it_keeps_no_more_than_the_columns_hold(cast):
    event = await audit(None, "x" * 100, ip="1" * 100, category="c" * 50, via="telephone")
    fresh = await AuditEvent.get(id=event.id)
    assert (len(fresh.action), len(fresh.ip), len(fresh.category), fresh.via) == (
        64,
        64,
        32,
        "telephon",
    )
    assert (await verify_chain()).ok


# ---- `portal audit verify`, as an operator runs it ----


def portal_verify(database_url: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("AUDIT_KEY", "PUBLIC_URL")}
    environment.update(DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify", "--batch", "2"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_portal_audit_verify_exits_0_then_1_at_the_first_bad_event(cast, database_url):
    await five_events(cast)
    ok = await asyncio.to_thread(portal_verify, database_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "audit chain OK: 5 events"

    wrong_key = await asyncio.to_thread(portal_verify, database_url, AUDIT_KEY="x" * 40)
    assert wrong_key.returncode == 1 and "BROKEN at event 1" in wrong_key.stdout

    await tamper("UPDATE audit_event SET ip = '198.51.100.1' WHERE id = 4")
    edited = await asyncio.to_thread(portal_verify, database_url)
    assert edited.returncode == 1 and "BROKEN at event 4" in edited.stdout


async def test_portal_audit_verify_finds_the_newest_row_deleted(cast, database_url):
    await five_events(cast)
    await tamper("DELETE FROM audit_event WHERE id = 5")
    result = await asyncio.to_thread(portal_verify, database_url)
    assert result.returncode == 1 and "BROKEN at event 5" in result.stdout


def test_https_needs_an_audit_key(tmp_path):
    result = portal_verify(
        f"sqlite://{tmp_path / 'x.db'}", PUBLIC_URL="https://portal.example", SECRET_KEY="s" * 40
    )
    assert result.returncode != 0 and "AUDIT_KEY" in result.stderr
