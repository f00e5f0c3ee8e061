"""Benchmark the slot engine (``models.slots.open_slots``) in process.

Seeds a throwaway database (a SQLite file; with ``--database-url postgres://...`` a
temporary database created on that server and dropped afterwards): one practice,
50 providers with weekly blocks (mornings in person, afternoons by telehealth) and
a few upcoming appointments each, and one provider with a year of history (about
1,200 appointments, the next month's among them). Then times ``open_slots`` for a
month:

- for the provider with the history: median of 50 runs, target <= 5 ms;
- for "any provider" (all 50): median of 10 runs, target <= 100 ms.

    .venv/bin/python bench/slots_bench.py [--database-url postgres://...] [--json]

``make bench`` runs it after the HTTP benchmark (bench/run.py), which adds the figures
to bench/results/latest.json. A missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import throwaway  # noqa: E402  (bench/ is on sys.path: these run as scripts)

TZ = "America/New_York"
PROVIDERS = 50
ONE_RUNS, ANY_RUNS = 50, 10
TARGET_ONE_MS = 5.0
TARGET_ANY_MS = 100.0


async def seed() -> dict[str, Any]:
    from models.people import Client, StaffMember, User
    from models.practice import Location, Practice, Service
    from models.scheduling import Appointment, AppointmentStatus, AvailabilityBlock

    rng = random.Random(2026)
    zone = ZoneInfo(TZ)
    practice = await Practice.create(name="Bench Practice", time_zone=TZ)
    office = await Location.create(practice=practice, name="Office")
    video = await Location.create(practice=practice, name="Telehealth", telehealth=True)
    service = await Service.create(
        practice=practice, name="Session", duration_minutes=50, buffer_minutes=10
    )
    providers = []
    for i in range(PROVIDERS):
        user = await User.create(email=f"bench-p{i}@bench.test", display_name=f"Provider {i}")
        providers.append(await StaffMember.create(practice=practice, user=user, roles=["provider"]))
    blocks = []
    for i, provider in enumerate(providers):
        shift = (i % 3) * 30
        for weekday in range(5):
            blocks.append(
                AvailabilityBlock(
                    provider_id=provider.id,
                    weekday=weekday,
                    start_minute=8 * 60 + shift,
                    end_minute=12 * 60 + shift,
                    location_id=office.id,
                    modality="both",
                )
            )
            blocks.append(
                AvailabilityBlock(
                    provider_id=provider.id,
                    weekday=weekday,
                    start_minute=13 * 60,
                    end_minute=18 * 60,
                    location_id=video.id,
                    modality="telehealth",
                )
            )
    await AvailabilityBlock.bulk_create(blocks, batch_size=500)
    clients = [
        await Client.create(
            practice=practice, number=f"B{n:05d}", first_name="Bench", last_name=str(n)
        )
        for n in range(100)
    ]

    today = datetime.now(zone).date()
    rows: list[Appointment] = []

    def add(provider, day: date, hour: int, future: bool) -> None:
        starts = datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)
        if future:
            status = rng.choice(
                [
                    AppointmentStatus.SCHEDULED,
                    AppointmentStatus.CONFIRMED,
                    AppointmentStatus.REQUESTED,
                ]
            )
        else:
            status = rng.choice(
                [AppointmentStatus.COMPLETED] * 8
                + [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]
            )
        rows.append(
            Appointment(
                client_id=rng.choice(clients).id,
                provider_id=provider.id,
                service_id=service.id,
                location_id=office.id if hour < 12 else None,
                telehealth=hour >= 13,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=50),
                status=status,
            )
        )

    # The busy provider: a year back and a month ahead, about 4.6 a weekday.
    busy = providers[0]
    day = today - timedelta(days=330)
    while day <= today + timedelta(days=35):
        if day.weekday() < 5:
            for hour in (9, 10, 11, 14, 15, 16):
                if rng.random() < 0.77:
                    add(busy, day, hour, day > today)
        day += timedelta(days=1)
    history = len(rows)
    # Everyone else: a couple of upcoming appointments a weekday.
    for provider in providers[1:]:
        day = today + timedelta(days=1)
        while day <= today + timedelta(days=35):
            if day.weekday() < 5:
                for hour in rng.sample((9, 10, 14, 15, 16), 2):
                    add(provider, day, hour, True)
            day += timedelta(days=1)
    await Appointment.bulk_create(rows, batch_size=500)
    return {
        "practice": practice,
        "service": service,
        "busy": busy,
        "history": history,
        "appointments": len(rows),
        "today": today,
    }


async def timed(fn, runs: int, warmup: int) -> tuple[list[float], Any]:
    result = None
    for _ in range(warmup):
        result = await fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "runs": len(ordered),
    }


async def measure(database_url: str) -> dict[str, Any]:
    from models.db import close_db, init_db, migrate_db
    from models.slots import SlotQuery, open_slots

    await migrate_db(database_url)
    await init_db(database_url)
    try:
        seeded = await seed()
        practice, service = seeded["practice"], seeded["service"]
        start = seeded["today"] + timedelta(days=1)
        end = start + timedelta(days=29)

        def one():
            query = SlotQuery(
                practice, start, end, TZ, provider_ids=[seeded["busy"].id], service=service
            )
            return open_slots(query)

        def any_provider():
            return open_slots(SlotQuery(practice, start, end, TZ, service=service))

        one_times, one_slots = await timed(one, ONE_RUNS, warmup=5)
        any_times, any_slots = await timed(any_provider, ANY_RUNS, warmup=2)
    finally:
        await close_db()
    one_ms, any_ms = summary(one_times), summary(any_times)
    return {
        "providers": PROVIDERS,
        "history_appointments": seeded["history"],
        "appointments": seeded["appointments"],
        "month": [start.isoformat(), end.isoformat()],
        "one_provider_ms": one_ms,
        "one_provider_slots": len(one_slots),
        "any_provider_ms": any_ms,
        "any_provider_slots": len(any_slots),
    }


def run(database_url: str | None = None) -> dict[str, Any]:
    """One measurement on a throwaway database; returns figures, targets and problems."""
    label, figures, problems = throwaway.measure_on(
        database_url, "slotbench", "slot engine", measure
    )
    targets = []
    if figures:
        one = figures["one_provider_ms"]["median"]
        many = figures["any_provider_ms"]["median"]
        targets = [
            {
                "name": "slots: one provider, a month (ms)",
                "target": f"<= {TARGET_ONE_MS:g}",
                "value": one,
                "pass": one <= TARGET_ONE_MS,
            },
            {
                "name": f"slots: any of {PROVIDERS} providers, a month (ms)",
                "target": f"<= {TARGET_ANY_MS:g}",
                "value": many,
                "pass": many <= TARGET_ANY_MS,
            },
        ]
        if not figures["one_provider_slots"] or not figures["any_provider_slots"]:
            problems.append("slot engine benchmark: no open slots were found")
    return {"database": label, **figures, "targets": targets, "problems": problems}


def print_report(result: dict[str, Any]) -> None:
    print(f"Slot engine (open_slots in process, {result['database']})")
    if "one_provider_ms" in result:
        for label, key, slots in (
            (
                f"one provider, a month ({result['history_appointments']:,} appts of history)",
                "one_provider_ms",
                "one_provider_slots",
            ),
            (f"any of {result['providers']} providers, a month", "any_provider_ms", None),
        ):
            r = result[key]
            count = result[slots] if slots else result["any_provider_slots"]
            print(
                f"  {label:<52} median {r['median']:>8.2f} ms  p90 {r['p90']:>8.2f} ms"
                f"  ({r['runs']} runs, {count:,} slots)"
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
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = run(args.database_url)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
