"""The `portal` command as an operator runs it, in a real subprocess."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from app.config import ROOT


def portal(*args: str, db: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=db, PORTAL_FAST_HASH="1")
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def row_counts(db) -> tuple[int, int]:
    """(users, appointments) in an SQLite file."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM user_account), (SELECT count(*) FROM appointment)"
        ).fetchone()


def test_it_migrates_and_seeds_the_demo_idempotently(tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the PostgreSQL run covers migrations through its template database")
    db = tmp_path / "portal.db"
    url = f"sqlite://{db}"
    assert portal("migrate", db=url).returncode == 0
    first = portal("demo", db=url)
    assert first.returncode == 0 and "demo practice seeded" in first.stdout
    counts = row_counts(db)
    second = portal("demo", db=url)
    assert second.returncode == 0 and "already seeded" in second.stdout
    again = row_counts(db)
    assert counts == again and counts[0] == 8  # six staff, the client, the guardian


def test_it_refuses_an_unknown_database_scheme(tmp_path):
    result = portal("migrate", db="mysql://x")
    assert (
        result.returncode != 0 and "DATABASE_URL must be sqlite:// or postgres://" in result.stderr
    )


def test_it_stops_the_worker_cleanly_on_sigterm(tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("process handling is the same on both databases")
    url = f"sqlite://{tmp_path / 'portal.db'}"
    assert portal("migrate", db=url).returncode == 0
    env = dict(os.environ, DATABASE_URL=url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(1.5)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 0
    assert "worker stopped" in output and "Traceback" not in output
