"""The crash matrix (security plan C-2, T-9): a sender process dies right after its
claim, right after Twilio accepted a text (before the SID was stored) and right after
the SID was stored; a fresh process started once the lease has expired reconciles
against Twilio, and every text reaches Twilio exactly once, its row ``sent`` with the
SID Twilio gave.

The sender runs in a real subprocess on this test's database (a SQLite file, or the
PostgreSQL database with TEST_DATABASE_URL) and talks to the fake Twilio over
loopback. ``PORTAL_SMS_CRASH_ROUNDS=100`` repeats each crash point that many times.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes.twilio_server)

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from channels.sms import queue_sms
from models.outbox import OutboxMessage
from tests.channels.live_helpers import ROOT, portal_env
from tests.fakes.twilio_server import fake_twilio  # noqa: F401

ROUNDS = int(os.environ.get("PORTAL_SMS_CRASH_ROUNDS", "1"))
TEXTS = 4
LEASE_SECONDS = 1.0
CRASH_POINTS = ["claimed", "accepted", "recorded"]

# One sender pass in a process of its own (what `portal worker` runs, minus the loop).
SENDER = """
import asyncio, sys
from app.config import Config
from channels.sms import sender, twilio_client
from models.db import close_db, init_db

async def main():
    config = Config.from_env()
    await init_db(config.database_url)
    try:
        sent = await sender.deliver_due(config)
        await twilio_client.close()
    finally:
        await close_db()
    print("sent", sent)

asyncio.run(main())
"""


@pytest.fixture
def config_overrides(fake_twilio):
    return fake_twilio.config_overrides()


def run_sender(database_url: str, fake, data_dir: Path, crash_at: str = "") -> int:
    env = portal_env(
        database_url,
        data_dir,
        **fake.env(),
        PUBLIC_URL="http://localhost",
        SMS_RATE="200",
        PORTAL_SMS_LEASE_SECONDS=str(LEASE_SECONDS),
        PORTAL_SMS_CRASH_AT=crash_at,
    )
    done = subprocess.run(
        [sys.executable, "-c", SENDER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode not in (0, 86):
        raise AssertionError(f"sender failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.returncode


async def leases_run_out() -> None:
    """Wait until every lease a dead sender held has expired. A lease is LEASE_SECONDS
    plus the time its batch takes to send (batch size / SMS_RATE), so a fixed sleep of
    LEASE_SECONDS could end first on a fast machine, and the next sender would rightly
    leave those texts alone."""
    from datetime import UTC, datetime

    leases = await OutboxMessage.filter(status="sending").values_list("lease_until", flat=True)
    latest = max((lease for lease in leases if lease is not None), default=None)
    if latest is not None:
        time.sleep(max((latest - datetime.now(UTC)).total_seconds(), 0) + 0.2)


async def queue_texts(label: str, round_: int) -> list[int]:
    ids = []
    for n in range(TEXTS):
        row = await queue_sms(
            to=f"+1555{CRASH_POINTS.index(label) if label in CRASH_POINTS else 9}"
            f"{round_ % 1000:03d}{n:04d}",
            body=f"Crash {label} {round_} {n}",
            dedupe_key=f"crash:{label}:{round_}:{n}",
            kind="notice",
        )
        ids.append(row.id)
    return ids


async def test_every_text_goes_out_exactly_once_after_crashes(
    app, database_url, fake_twilio, tmp_path
):
    """Each round: texts queued, then a sender killed after its claim; more texts, a
    sender that reconciles the first ones and is killed right after Twilio accepted one;
    more texts, one killed right after storing a SID; then a sender with no fault. Each
    restart comes after the dead one's lease expired."""
    for round_ in range(ROUNDS):
        fake_twilio.reset()
        ids: list[int] = []
        for crash_at in CRASH_POINTS:
            ids += await queue_texts(crash_at, round_)
            assert run_sender(database_url, fake_twilio, tmp_path, crash_at) == 86, crash_at
            await leases_run_out()  # the dead process's leases expire before the next one
        assert run_sender(database_url, fake_twilio, tmp_path) == 0

        rows = await OutboxMessage.filter(id__in=ids).order_by("id")
        created = fake_twilio.created()
        assert Counter(m.to for m in created) == {row.to: 1 for row in rows}, round_
        sid_of = {m.to: m.sid for m in created}
        for row in rows:
            assert (row.status, row.provider_ref) == ("sent", sid_of[row.to]), round_
            assert row.delivery_state == "queued"
        # Every refused or repeated create would show here too.
        assert len(fake_twilio.attempts) == len(rows)
