"""Benchmark the PDFs (``make bench`` runs it; or on its own):

1. A superbill for a year of weekly sessions (52 charges, each with a copay and an
   insurance payment distributed over it): the median of 20 renders after 3 warm-ups
   (the first starts the worker pool), data and template and WeasyPrint together
   (``channels.billing_pdfs.superbill_pdf``). Target: median <= 150 ms. Then the
   same document's phases on their own, medians of 10: the data
   (``models.billing_documents.superbill``), the Jinja template, and ``render_pdf``
   (WeasyPrint in a worker process, with the round trip to it).
2. Event-loop lag while 10 such PDFs render at once: a probe sleeps 10 ms in a loop on
   the same event loop and records how late it wakes. Target: worst lag < 50 ms
   (WeasyPrint runs in worker processes, ``channels.pdf.workers()`` of them: the
   cores less one; the event loop's process only fetches the data, renders the
   template in a thread and waits).

The data, the template and the event loop run in this process, on a throwaway
database (SQLite, or a temporary one on ``--database-url``); the PDFs render in
``channels.pdf``'s worker processes.

    .venv/bin/python bench/pdf_bench.py [--database-url postgres://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import throwaway  # noqa: E402  (bench/ is on sys.path: these run as scripts)

WEEKS = 52
RUNS, WARMUP = 20, 3
CONCURRENT = 10
PROBE_S = 0.010
TARGET_MEDIAN_MS = 150.0
TARGET_LAG_MS = 50.0


async def seed() -> tuple[Any, date, date]:
    """A client with a year of weekly sessions, copays and insurance payments."""
    from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
    from models.people import Client, StaffMember, User
    from models.practice import Location, Practice, Service
    from models.scheduling import Appointment, AppointmentStatus

    practice = await Practice.create(
        name="Bench Family Counseling Associates", phone="+15550109000", tax_id="56-1234567"
    )
    user = await User.create(email="provider@bench.test", display_name="Dr. Pat Bench")
    provider = await StaffMember.create(
        practice=practice, user=user, roles=["provider"], title="PhD", npi="1234567893"
    )
    office = await Location.create(practice=practice, name="Main Office", address_line1="1 Main St")
    video = await Location.create(practice=practice, name="Telehealth", telehealth=True)
    service = await Service.create(
        practice=practice, name="Psychotherapy, 53 minutes", cpt_code="90837", fee_cents=18000
    )
    client = await Client.create(
        practice=practice,
        number="B000000001",
        first_name="Robin",
        last_name="Okoye",
        date_of_birth=date(1990, 4, 12),
        address_line1="22 Elm Street",
        city="Columbus",
        region="OH",
        postal_code="43004",
    )
    if hasattr(client, "diagnosis_codes"):
        client.diagnosis_codes = ["F41.1", "F32.1"]
        await client.save()
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=7 * WEEKS - 1)
    for week in range(WEEKS):
        day = start + timedelta(days=7 * week)
        at = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
        tele = week % 3 == 0
        appointment = await Appointment.create(
            client=client,
            provider=provider,
            service=service,
            location=video if tele else office,
            telehealth=tele,
            starts_at=at,
            ends_at=at + timedelta(minutes=53),
            status=AppointmentStatus.COMPLETED,
        )
        charge = await LedgerEntry.create(
            client=client,
            kind=EntryKind.CHARGE,
            posted_on=day,
            amount_cents=18000,
            insurance_expected_cents=15000,
            appointment=appointment,
            service=service,
            cpt_code="90837",
            description=service.name,
        )
        copay = await LedgerEntry.create(
            client=client,
            kind=EntryKind.CLIENT_PAYMENT,
            posted_on=day,
            amount_cents=3000,
            method="Visa 4242",
            reference=f"ch_bench{week:04d}",
        )
        await PaymentAllocation.create(payment=copay, charge=charge, amount_cents=3000)
        insurance = await LedgerEntry.create(
            client=client,
            kind=EntryKind.INSURANCE_PAYMENT,
            posted_on=day + timedelta(days=14),
            amount_cents=12000,
            reference=f"EOB {week:05d}",
        )
        await PaymentAllocation.create(payment=insurance, charge=charge, amount_cents=12000)
    return client, start, end


async def _probe(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(PROBE_S)
        lags.append(max(0.0, loop.time() - before - PROBE_S) * 1000)


async def measure(database_url: str) -> dict[str, Any]:
    from channels.billing_pdfs import superbill_pdf
    from models.db import close_db, init_db, migrate_db
    from models.people import Client

    await migrate_db(database_url)
    await init_db(database_url)
    try:
        client, start, end = await seed()
        client = await Client.get(id=client.id).select_related("practice")
        size = 0
        times = []
        for n in range(WARMUP + RUNS):
            began = time.perf_counter()
            pdf = await superbill_pdf(client, start, end)
            if n >= WARMUP:
                times.append((time.perf_counter() - began) * 1000)
            size = len(pdf)
        phases = await measure_phases(client, start, end)
        lags: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(_probe(stop, lags))
        began = time.perf_counter()
        pdfs = await asyncio.gather(*(superbill_pdf(client, start, end) for _ in range(CONCURRENT)))
        together_ms = (time.perf_counter() - began) * 1000
        stop.set()
        await probe
    finally:
        await close_db()
    ordered = sorted(lags)
    return {
        "weeks": WEEKS,
        "pdf_bytes": size,
        "superbill_ms": {
            "median": round(statistics.median(times), 1),
            "p90": round(ordered_at(sorted(times), 0.9), 1),
            "max": round(max(times), 1),
            "runs": RUNS,
        },
        "phases_ms": phases,
        "concurrent": {
            "pdfs": CONCURRENT,
            "all_ok": all(p.startswith(b"%PDF") for p in pdfs),
            "wall_ms": round(together_ms, 1),
            "lag_ms": {
                "p50": round(ordered_at(ordered, 0.5), 2),
                "p99": round(ordered_at(ordered, 0.99), 2),
                "max": round(ordered[-1], 2) if ordered else 0.0,
                "samples": len(ordered),
            },
        },
    }


async def measure_phases(client: Any, start: date, end: date, runs: int = 10) -> dict:
    """Median ms of each phase of ``superbill_pdf``, each timed on its own."""
    from channels.billing_pdfs import document_html
    from channels.pdf import render_pdf
    from models import billing_documents, clock

    times: dict[str, list[float]] = {"data": [], "template": [], "render_pdf": []}
    for _ in range(runs):
        began = time.perf_counter()
        doc = await billing_documents.superbill(client.id, start, end)
        built = time.perf_counter()
        title, html = document_html("superbill", doc, today=clock.now().date())
        templated = time.perf_counter()
        await render_pdf(html, title=title)
        rendered = time.perf_counter()
        times["data"].append((built - began) * 1000)
        times["template"].append((templated - built) * 1000)
        times["render_pdf"].append((rendered - templated) * 1000)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def ordered_at(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run(database_url: str | None = None) -> dict[str, Any]:
    """One measurement on a throwaway database; returns figures, targets and problems."""
    label, figures, problems = throwaway.measure_on(database_url, "pdfbench", "PDF", measure)
    targets = []
    if figures:
        median = figures["superbill_ms"]["median"]
        lag = figures["concurrent"]["lag_ms"]["max"]
        targets = [
            {
                "name": f"pdf: superbill, {WEEKS} weeks, median (ms)",
                "target": f"<= {TARGET_MEDIAN_MS:g}",
                "value": median,
                "pass": median <= TARGET_MEDIAN_MS,
            },
            {
                "name": f"pdf: loop lag, {CONCURRENT} at once (ms)",
                "target": f"< {TARGET_LAG_MS:g}",
                "value": lag,
                "pass": lag < TARGET_LAG_MS,
            },
        ]
        if not figures["concurrent"]["all_ok"]:
            problems.append("PDF benchmark: a concurrent render did not return a PDF")
    return {"database": label, **figures, "targets": targets, "problems": problems}


def print_report(result: dict[str, Any]) -> None:
    print(f"PDFs (WeasyPrint in worker processes, {result['database']})")
    if "superbill_ms" in result:
        s, c = result["superbill_ms"], result["concurrent"]
        print(
            f"  superbill, {result['weeks']} weekly sessions ({result['pdf_bytes']:,} bytes): "
            f"median {s['median']:.1f} ms  p90 {s['p90']:.1f} ms  max {s['max']:.1f} ms "
            f"({s['runs']} runs)"
        )
        p = result["phases_ms"]
        print(
            f"  phases (medians): data {p['data']:.1f} ms  template {p['template']:.1f} ms  "
            f"render_pdf {p['render_pdf']:.1f} ms"
        )
        lag = c["lag_ms"]
        print(
            f"  {c['pdfs']} at once in {c['wall_ms']:,.0f} ms: event-loop lag p50 "
            f"{lag['p50']:.2f} ms  p99 {lag['p99']:.2f} ms  max {lag['max']:.2f} ms "
            f"({lag['samples']} probes of {PROBE_S * 1000:g} ms)"
        )
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        print(f"  {mark}  {target['name']:<40} {target['value']:>10}  ({target['target']})")
    for problem in result["problems"]:
        print(f"  BROKEN: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to bench on")
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
