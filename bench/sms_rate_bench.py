"""SMS sending rate against the fake Twilio (issue 6): does the sender keep SMS_RATE?

On a throwaway database (a SQLite file; with ``--database-url postgres://...`` a
temporary database on that server, dropped afterwards): N texts queued, then the real
sender (``channels.sms.sender.deliver_due``, through the twilio SDK) against the fake
Twilio served from a thread. The rate is what the fake saw: (N - 1) creates over the
time from the first to the last. Targets: within ±5 % of the configured rate, at
SMS_RATE=1 (30 texts, about 30 s) and SMS_RATE=100 (1,000 texts, about 10 s); every
text sent exactly once.

    .venv/bin/python bench/sms_rate_bench.py [--database-url postgres://...] [--quick] [--json]

``run(database_url)`` returns the figures for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import throwaway  # noqa: E402  (bench/ is on sys.path: these run as scripts)

CASES = [(1.0, 30), (100.0, 1000)]  # (SMS_RATE, texts)
QUICK_CASES = [(1.0, 8), (100.0, 300)]
TOLERANCE = 0.05


async def _one_case(fake, database_url: str, rate: float, count: int) -> dict[str, Any]:
    from app.config import Config
    from channels.sms import sender
    from models import clock
    from models.outbox import OutboxMessage

    config = Config(
        database_url=database_url,
        secret_key="bench-secret-key",
        public_url="http://127.0.0.1:8000",
        sms_rate=rate,
        **{k: v for k, v in fake.config_overrides().items()},
    )
    fake.reset()
    tag = uuid.uuid4().hex[:8]
    now = clock.now()
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                channel="sms",
                kind="notice",
                to=f"+1555{n:07d}",
                body=f"Bench text {n}",
                dedupe_key=f"bench:{tag}:{n}",
                due_at=now,
            )
            for n in range(count)
        ]
    )
    started = time.monotonic()
    sent = 0
    while sent < count and time.monotonic() - started < count / rate * 3 + 30:
        sent += await sender.deliver_due(config)
    elapsed = time.monotonic() - started
    times = sorted(a.at for a in fake.attempts)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    measured = (len(times) - 1) / span if span else 0.0
    per_number = Counter(a.to for a in fake.attempts)
    return {
        "configured_per_s": rate,
        "texts": count,
        "sent": sent,
        "requests_at_fake": len(times),
        "duplicates": sum(c - 1 for c in per_number.values() if c > 1),
        "measured_per_s": round(measured, 3),
        "deviation_pct": round((measured / rate - 1) * 100, 2) if measured else None,
        "seconds": round(elapsed, 2),
    }


async def measure(database_url: str, cases) -> dict[str, Any]:
    from channels.sms import twilio_client
    from models.db import close_db, init_db, migrate_db
    from tests.fakes.twilio_server import FakeTwilio

    await migrate_db(database_url)
    await init_db(database_url)
    fake = FakeTwilio().start_thread()
    try:
        results = [await _one_case(fake, database_url, rate, count) for rate, count in cases]
    finally:
        await twilio_client.close()
        fake.stop_thread()
        await close_db()
    return {"cases": results}


def run(database_url: str | None = None, quick: bool = False) -> dict[str, Any]:
    """One measurement on a throwaway database; returns figures, targets and problems."""
    cases = QUICK_CASES if quick else CASES
    label, figures, problems = throwaway.measure_on(
        database_url, "smsbench", "SMS rate", lambda url: measure(url, cases)
    )
    targets = []
    for case in figures.get("cases", []):
        rate = case["configured_per_s"]
        measured = case["measured_per_s"]
        targets.append(
            {
                "name": f"sms: sending rate at {rate:g}/s (/s)",
                "target": f"{rate * (1 - TOLERANCE):g}..{rate * (1 + TOLERANCE):g}",
                "value": measured,
                "pass": abs(measured - rate) <= rate * TOLERANCE,
            }
        )
        if case["sent"] != case["texts"] or case["duplicates"]:
            problems.append(
                f"SMS rate benchmark at {rate:g}/s: {case['sent']} of {case['texts']} sent, "
                f"{case['duplicates']} duplicate(s)"
            )
    return {"database": label, **figures, "targets": targets, "problems": problems}


def print_report(result: dict[str, Any]) -> None:
    print(f"SMS sending rate (sender -> fake Twilio through the SDK, {result['database']})")
    for case in result.get("cases", []):
        print(
            f"  SMS_RATE={case['configured_per_s']:<5g} {case['texts']:>5} texts  "
            f"measured {case['measured_per_s']:>8.3f}/s  ({case['deviation_pct']:+.2f} %)"
            f"  {case['seconds']:.1f} s, {case['duplicates']} duplicates"
        )
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        print(f"  {mark}  {target['name']:<56} {target['value']:>8.3f}  ({target['target']})")
    for problem in result["problems"]:
        print(f"  BROKEN: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to bench on (a temporary database is created and dropped)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer texts (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = run(args.database_url, quick=args.quick)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
