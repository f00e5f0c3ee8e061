"""Benchmark reminder planning (``models.reminders.plan_all``) in process.

Seeds a throwaway database (a SQLite file; with ``--database-url postgres://...`` a
temporary database created on that server and dropped afterwards): one practice,
20,000 clients in a few time zones, each with a mobile phone that wants text
reminders (1 to 3 days before, some asking for confirmation) and half with an email
too, and 5 upcoming appointments each over the next four weeks (100,000 in all, some
on the same day), all with bulk_create. Then times one ``plan_all`` from an empty
outbox (every reminder row created), and a second one over the rows it left
(nothing to change: the nightly safety net's usual case).

Target: the first run plans the 100,000 appointments in <= 10 s.

    .venv/bin/python bench/reminder_bench.py [--database-url postgres://...] [--json]
    [--clients N]

bench/run.py can call ``run(database_url)`` (figures, targets, problems) or run this
file with ``--json`` in its own process, like slots_bench.py.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import throwaway  # noqa: E402  (bench/ is on sys.path: these run as scripts)

CLIENTS = 20_000
PER_CLIENT = 5
PROVIDERS = 500  # 500 x 28 days x 12 hours: room for 100,000 without overlaps
TARGET_S = 10.0
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]


async def seed(clients: int) -> dict[str, Any]:
    from models.people import Client, ContactPoint, StaffMember, User
    from models.practice import Practice
    from models.scheduling import Appointment, AppointmentStatus

    rng = random.Random(2026)
    practice = await Practice.create(name="Bench Practice", time_zone="America/New_York")
    users = [
        User(email=f"bench-p{i}@bench.test", display_name=f"Provider {i}") for i in range(PROVIDERS)
    ]
    await User.bulk_create(users, batch_size=500)
    user_ids = await User.filter(email__startswith="bench-p").values_list("id", flat=True)
    await StaffMember.bulk_create(
        [StaffMember(practice_id=practice.id, user_id=u, roles=["provider"]) for u in user_ids],
        batch_size=500,
    )
    provider_ids = list(await StaffMember.all().values_list("id", flat=True))
    await Client.bulk_create(
        [
            Client(
                practice_id=practice.id,
                number=f"R{n:06d}",
                first_name="Bench",
                last_name=str(n),
                time_zone=ZONES[n % len(ZONES)],
                preferred_language="es" if n % 5 == 0 else "en",
            )
            for n in range(clients)
        ],
        batch_size=1000,
    )
    client_rows = await Client.filter(number__startswith="R").values_list("id", "time_zone")
    points, appointments = [], []
    today = datetime.now(UTC).date()
    # Starts fall on whole UTC hours (every zone here is a whole number of hours off),
    # and each (provider, start) is used once: no two 50-minute appointments of one
    # provider overlap (PostgreSQL's exclusion constraint refuses that).
    taken: set[tuple[int, datetime]] = set()
    for n, (client_id, tz) in enumerate(client_rows):
        points.append(
            ContactPoint(
                client_id=client_id,
                kind="phone",
                label="Mobile",
                value=f"+1555{n:07d}",
                is_default=True,
                reminders=True,
                reminder_days_before=rng.choice((1, 1, 2, 3)),
                request_confirmation=rng.random() < 0.5,
            )
        )
        if n % 2 == 0:
            points.append(
                ContactPoint(
                    client_id=client_id,
                    kind="email",
                    label="Primary Email",
                    value=f"r{n}@bench.test",
                    is_default=True,
                    reminders=True,
                    reminder_days_before=2,
                )
            )
        zone = ZoneInfo(tz)
        for _ in range(PER_CLIENT):
            while True:
                provider = rng.choice(provider_ids)
                date = today + timedelta(days=rng.randint(1, 28))
                local = datetime(date.year, date.month, date.day, rng.randint(8, 19), tzinfo=zone)
                start = local.astimezone(UTC)
                if (provider, start) not in taken:
                    taken.add((provider, start))
                    break
            appointments.append(
                Appointment(
                    client_id=client_id,
                    provider_id=provider,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=50),
                    status=rng.choice(
                        [AppointmentStatus.SCHEDULED] * 3 + [AppointmentStatus.CONFIRMED]
                    ),
                    confirmation_requested=rng.random() < 0.5,
                )
            )
    await ContactPoint.bulk_create(points, batch_size=1000)
    await Appointment.bulk_create(appointments, batch_size=1000)
    return {"clients": clients, "points": len(points), "appointments": len(appointments)}


async def measure(database_url: str, clients: int) -> dict[str, Any]:
    from models.db import close_db, init_db, migrate_db
    from models.outbox import OutboxMessage
    from models.reminders import plan_all

    await migrate_db(database_url)
    await init_db(database_url)
    try:
        started = time.perf_counter()
        seeded = await seed(clients)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        planned = await plan_all()
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        await plan_all()
        again_s = time.perf_counter() - started
        counts = {}
        for status in ("pending", "dropped"):
            for channel in ("sms", "email"):
                counts[f"{channel}_{status}"] = await OutboxMessage.filter(
                    kind="reminder", status=status, channel=channel
                ).count()
    finally:
        await close_db()
    return {
        **seeded,
        "seed_s": round(seed_s, 2),
        "clients_planned": planned,
        "plan_all_s": round(first_s, 2),
        "plan_all_again_s": round(again_s, 2),
        "rows": counts,
    }


def run(database_url: str | None = None, clients: int = CLIENTS) -> dict[str, Any]:
    """One measurement on a throwaway database; returns figures, targets and problems."""
    label, figures, problems = throwaway.measure_on(
        database_url, "remindbench", "reminder", lambda url: measure(url, clients)
    )
    targets = []
    if figures:
        seconds = figures["plan_all_s"]
        targets.append(
            {
                "name": f"reminders: plan {figures['appointments']:,} appts (s)",
                "target": f"<= {TARGET_S:g}",
                "value": seconds,
                "pass": seconds <= TARGET_S,
            }
        )
        if not figures["rows"]["sms_pending"]:
            problems.append("reminder benchmark planned no texts")
    return {"database": label, **figures, "targets": targets, "problems": problems}


def print_report(result: dict[str, Any]) -> None:
    print(f"Reminder planning (plan_all in process, {result['database']})")
    if "plan_all_s" in result:
        print(
            f"  {result['clients']:,} clients, {result['appointments']:,} appointments,"
            f" {result['points']:,} phones and emails (seeded in {result['seed_s']:.1f} s)"
        )
        print(
            f"  plan_all from an empty outbox {result['plan_all_s']:>7.2f} s;"
            f" again over its rows {result['plan_all_again_s']:>7.2f} s"
        )
        rows = result["rows"]
        print(
            f"  rows: {rows['sms_pending']:,} texts and {rows['email_pending']:,} emails pending,"
            f" {rows['sms_dropped']:,} texts and {rows['email_dropped']:,} emails dropped"
        )
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        print(f"  {mark}  {target['name']:<52} {target['value']:>8.2f}  ({target['target']})")
    for problem in result["problems"]:
        print(f"  BROKEN: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to bench on (a temporary database is created and dropped)",
    )
    parser.add_argument("--clients", type=int, default=CLIENTS, help="clients (5 appts each)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = run(args.database_url, args.clients)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
