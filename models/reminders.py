"""Appointment reminders: which texts and emails are due, and when.

``plan`` is pure: from a client's upcoming appointments, the phones and emails
that want reminders and the texts already sent, it decides every reminder's send
time, or why there is none. The rules (security plan T-5, T-6):

- a point (phone or email) reminds ``reminder_days_before`` days before the start
  (the same wall-clock time in the client's zone); 0 days means 3 hours before;
- only between 09:00 and 20:00 in the client's zone (the practice's for a bad zone
  name, then UTC): earlier moves to 09:00, later to 09:00 the next day; if that
  is less than 30 minutes before the start, the latest moment of the window before
  (19:30 at the latest, so a queue can drain before 20:00); if that has passed,
  now when now is inside the window; otherwise the reminder is dropped and why is
  recorded. A reminder due in the past (booked late) goes now, or at the next
  window start, while that is still 30 minutes before the start;
- appointments on the same local day share one message;
- texts, per client and across phones: at most one a local calendar day and three
  in any 7 days, the texts already sent included. One over the cap is merged into
  an earlier planned text to the same phone (the text names both), else dropped
  ("daily_cap", "weekly_cap"). Emails have the quiet hours but no caps.

``replan(client_id)`` runs inside the transaction of every appointment or
preference change and makes the outbox match the plan: new reminder rows pending,
pending rows no longer planned cancelled, cancelled ones planned again revived;
rows being sent or sent are never touched and their reminders never planned again.
The body stays empty: ``channels.sms.reminder_text`` renders it when it goes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.outbox import OutboxMessage, SmsOptOut
from models.people import Client, ContactPoint

WINDOW_OPENS = time(9, 0)
WINDOW_CLOSES = time(20, 0)  # exclusive
LAST_PLANNED = time(19, 30)  # the latest planned moment of a day's window
MARGIN = timedelta(minutes=30)  # a reminder goes at least this long before the start
SAME_DAY_LEAD = timedelta(hours=3)  # a 0-days-before reminder
DAILY_CAP = 1
WEEKLY_CAP = 3
WEEK = timedelta(days=7)
MAX_DAYS_BEFORE = 14
# A sent reminder's appointments are looked up this far back (the longest lead is 14 days).
LOOKBACK = timedelta(days=30)
REMINDING = ("scheduled", "confirmed")  # a request is not an appointment yet
# Advisory-lock namespace (PostgreSQL): one replan at a time per client. Taken last in
# a transaction, so it never waits while holding the booking locks' order.
LOCK_REMINDERS = 42


@dataclass
class Planned:
    contact_point_id: int
    channel: str  # "sms" | "email"
    to: str
    appointments: list[int]
    send_at: datetime  # UTC; for a dropped one, when it would have gone (or the start)
    confirm: bool
    status: str = "pending"  # "pending" | "dropped"
    reason: str = ""  # why dropped: "too_late", "daily_cap", "weekly_cap"
    first_start: datetime | None = None
    local_day: date | None = None

    @property
    def key(self) -> str:
        return dedupe_key(self)


@dataclass(frozen=True)
class Sent:
    """A text already sent (or being sent): it counts towards the caps, and the
    appointments it named are not reminded of again on that point."""

    at: datetime
    contact_point_id: int | None = None
    appointments: tuple[int, ...] = ()
    channel: str = "sms"  # an email counts towards no cap


@dataclass
class _Group:
    ids: list[int] = field(default_factory=list)
    first_start: datetime | None = None
    confirm_wanted: bool = False


def zone(client_tz: str | None, practice_tz: str | None = None) -> ZoneInfo:
    for name in (client_tz, practice_tz):
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError, OSError):
                continue
    return ZoneInfo("UTC")


def in_window(t: datetime, tz: ZoneInfo) -> bool:
    local = t.astimezone(tz).time()
    return WINDOW_OPENS <= local < WINDOW_CLOSES


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """``moment`` on local ``day`` as UTC (a wall time skipped by DST lands after the gap)."""
    return datetime.combine(day, moment, tz).astimezone(UTC)


def _forward(t: datetime, tz: ZoneInfo) -> datetime:
    """``t`` itself inside the window, else the next window start."""
    local = t.astimezone(tz)
    if local.time() < WINDOW_OPENS:
        opens = _at(local.date(), WINDOW_OPENS, tz)
    elif local.time() >= WINDOW_CLOSES:
        opens = _at(local.date() + timedelta(days=1), WINDOW_OPENS, tz)
    else:
        return t
    while not in_window(opens, tz):  # never expected: no zone skips 09:00
        opens += timedelta(minutes=30)
    return opens


def _latest_before(deadline: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest planned moment inside a window at or before ``deadline``."""
    local = deadline.astimezone(tz)
    if WINDOW_OPENS <= local.time() <= LAST_PLANNED:
        return deadline
    day = local.date() if local.time() > LAST_PLANNED else local.date() - timedelta(days=1)
    for _ in range(3):
        candidate = _at(day, LAST_PLANNED, tz)
        if candidate <= deadline and in_window(candidate, tz):
            return candidate
        day -= timedelta(days=1)
    return None


def _ideal(start: datetime, days_before: int, tz: ZoneInfo) -> datetime:
    if days_before <= 0:
        return start - SAME_DAY_LEAD
    local = start.astimezone(tz)
    # Wall-clock arithmetic: the same local time N days earlier, whatever DST did.
    earlier = datetime.combine(local.date() - timedelta(days=days_before), local.time(), tz)
    return earlier.astimezone(UTC)


def send_time(
    start: datetime, days_before: int, tz: ZoneInfo, now: datetime
) -> tuple[datetime | None, str]:
    """When one reminder goes out, or (None, why not)."""
    deadline = start - MARGIN
    if deadline < now:
        return None, "too_late"
    ideal = _ideal(start, days_before, tz)
    t = _forward(max(ideal, now), tz)
    if t <= deadline:
        return t, ""
    latest = _latest_before(deadline, tz)
    if latest is not None and latest >= now:
        return latest, ""
    if in_window(now, tz) and now <= deadline:
        return now, ""
    return None, "too_late"


def _groups(appointments: Sequence[Any], tz: ZoneInfo, skip: set[int]) -> list[_Group]:
    """The appointments by local day of their start, in start order."""
    by_day: dict[date, _Group] = {}
    for appt in sorted(appointments, key=lambda a: (a.starts_at, a.id)):
        if appt.id in skip:
            continue
        day = appt.starts_at.astimezone(tz).date()
        group = by_day.get(day)
        if group is None:
            group = by_day[day] = _Group(first_start=appt.starts_at)
        group.ids.append(appt.id)
        group.confirm_wanted = group.confirm_wanted or bool(appt.confirmation_requested)
    return list(by_day.values())


def _usable(point: Any) -> bool:
    if not getattr(point, "reminders", True):
        return False
    if point.kind == "phone":
        return (
            getattr(point, "sms_opted_out_at", None) is None
            and getattr(point, "sms_undeliverable_at", None) is None
        )
    return point.kind == "email"


class _Caps:
    """Texts per local day and in any 7 days (absolute time), sent ones included."""

    def __init__(self, times: Iterable[datetime], tz: ZoneInfo):
        self.tz = tz
        self.times = sorted(times)
        self.days: dict[date, int] = {}
        for t in self.times:
            day = t.astimezone(tz).date()
            self.days[day] = self.days.get(day, 0) + 1

    def refusal(self, t: datetime) -> str:
        if self.days.get(t.astimezone(self.tz).date(), 0) >= DAILY_CAP:
            return "daily_cap"
        near = sorted([x for x in self.times if abs(x - t) < WEEK] + [t])
        for i in range(len(near) - WEEKLY_CAP):
            if near[i + WEEKLY_CAP] - near[i] < WEEK:
                return "weekly_cap"
        return ""

    def add(self, t: datetime) -> None:
        self.times.append(t)
        day = t.astimezone(self.tz).date()
        self.days[day] = self.days.get(day, 0) + 1


def plan(
    appointments: Sequence[Any],
    points: Sequence[Any],
    history: Iterable[datetime | Sent] = (),
    *,
    client_tz: str | None,
    practice_tz: str | None,
    now: datetime,
) -> list[Planned]:
    """Every reminder due for one client: pending ones with their send time, dropped
    ones with the reason. ``appointments``: objects with ``id``, ``starts_at`` and
    ``confirmation_requested`` (past ones are ignored); ``points``: ContactPoint-like
    (``id``, ``kind``, ``value``, ``reminder_days_before``, ``request_confirmation``);
    ``history``: texts already sent, as datetimes or ``Sent``."""
    tz = zone(client_tz, practice_tz)
    sent = [h if isinstance(h, Sent) else Sent(at=h) for h in history]
    upcoming = [a for a in appointments if a.starts_at > now]
    start_of = {a.id: a.starts_at for a in upcoming}
    candidates: list[Planned] = []
    for point in sorted(points, key=lambda p: p.id):
        if not _usable(point):
            continue
        channel = "sms" if point.kind == "phone" else "email"
        done = {i for s in sent if s.contact_point_id == point.id for i in s.appointments}
        days = min(max(int(point.reminder_days_before or 0), 0), MAX_DAYS_BEFORE)
        for group in _groups(upcoming, tz, done):
            at, reason = send_time(group.first_start, days, tz, now)
            candidates.append(
                Planned(
                    contact_point_id=point.id,
                    channel=channel,
                    to=point.value,
                    appointments=list(group.ids),
                    send_at=at or group.first_start,
                    confirm=bool(point.request_confirmation) and group.confirm_wanted,
                    status="pending" if at else "dropped",
                    reason=reason,
                    first_start=group.first_start,
                )
            )
    caps = _Caps((s.at for s in sent if s.channel == "sms"), tz)
    result: list[Planned] = []
    order = sorted(candidates, key=lambda p: (p.send_at, p.first_start, p.contact_point_id))
    for item in order:
        if item.status == "pending" and not in_window(item.send_at, tz):
            item.status, item.reason = "dropped", "quiet_hours"  # never expected
        if item.status == "dropped" or item.channel != "sms":
            result.append(item)
            continue
        refusal = caps.refusal(item.send_at)
        if not refusal:
            caps.add(item.send_at)
            result.append(item)
            continue
        earlier = [
            p
            for p in result
            if p.status == "pending"
            and p.channel == "sms"
            and p.contact_point_id == item.contact_point_id
            and p.send_at < item.first_start
        ]
        if earlier:
            into = earlier[-1]
            into.appointments = sorted(
                into.appointments + item.appointments, key=lambda i: (start_of[i], i)
            )
            into.first_start = min(into.first_start, item.first_start)
            into.confirm = into.confirm or item.confirm
            continue
        item.status, item.reason = "dropped", refusal
        result.append(item)
    for item in result:
        item.local_day = item.send_at.astimezone(tz).date()
    return result


def dedupe_key(item: Planned) -> str:
    """Stable for the same reminder: the point, the appointments, the first start and
    the local send day (a dropped one: no day, it is recorded once)."""
    ids = ",".join(str(i) for i in item.appointments)
    start = int(item.first_start.timestamp()) if item.first_start else 0
    tail = "x" if item.status == "dropped" else (item.local_day or item.send_at.date()).isoformat()
    key = f"reminder:{item.contact_point_id}:{ids}:{start}:{tail}"
    if len(key) <= 128:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"reminder:{item.contact_point_id}:h{digest}:{tail}"


# ---- the outbox ------------------------------------------------------------------------


@dataclass
class _Appt:
    id: int
    starts_at: datetime
    confirmation_requested: bool


ROW_FIELDS = (
    "id",
    "dedupe_key",
    "status",
    "channel",
    "due_at",
    "to",
    "context",
    "language",
    "contact_point_id",
    "sent_at",
    "claimed_at",
    "client_id",
)


@dataclass
class _Row:
    """The columns of an outbox row the reconciliation reads (no model instances:
    plan_all reads tens of thousands)."""

    id: int
    dedupe_key: str
    status: str
    channel: str
    due_at: datetime
    to: str
    context: Any
    language: str
    contact_point_id: int | None
    sent_at: datetime | None
    claimed_at: datetime | None
    client_id: int | None


POINT_FIELDS = (
    "id",
    "kind",
    "value",
    "reminders",
    "reminder_days_before",
    "request_confirmation",
    "sms_opted_out_at",
    "sms_undeliverable_at",
)


@dataclass
class _Point:
    id: int
    kind: str
    value: str
    reminders: bool
    reminder_days_before: int
    request_confirmation: bool
    sms_opted_out_at: datetime | None
    sms_undeliverable_at: datetime | None


def _history_of(rows: Iterable[_Row]) -> list[Sent]:
    out = []
    for row in rows:
        if row.status in ("sending", "sent"):
            at = row.sent_at or row.claimed_at or row.due_at
            ids = (row.context or {}).get("appointments", [])
            ids = tuple(int(i) for i in ids if isinstance(i, int) or str(i).isdigit())
            out.append(Sent(at, row.contact_point_id, ids, row.channel))
    return out


INSERT_COLUMNS = (
    "channel",
    "to",
    "subject",
    "body",
    "dedupe_key",
    "client_id",
    "due_at",
    "status",
    "kind",
    "context",
    "contact_point_id",
    "language",
    "attempts",
    "provider_ref",
    "delivery_state",
    "delivery_error",
    "last_error",
    "created_at",
)


def _reconcile(
    client_id: int, language: str, planned: list[Planned], rows: list[_Row], now: datetime
) -> tuple[list[tuple], list[int], list[tuple[int, dict]]]:
    """What to insert (values in INSERT_COLUMNS order), which pending rows to cancel,
    which rows to update (id, fields)."""
    by_key = {row.dedupe_key: row for row in rows}
    wanted: set[str] = set()
    new: list[tuple] = []
    updates: list[tuple[int, dict]] = []
    for item in planned:
        key = item.key
        if key in wanted:
            continue
        wanted.add(key)
        context = {"appointments": list(item.appointments), "confirm": bool(item.confirm)}
        row = by_key.get(key)
        if row is None:
            new.append(
                (
                    item.channel,
                    item.to,
                    "",
                    "",
                    key,
                    client_id,
                    item.send_at,
                    item.status,
                    "reminder",
                    _context_json(item),
                    item.contact_point_id,
                    language,
                    0,
                    "",
                    "",
                    "",
                    item.reason,
                    now,
                )
            )
            continue
        if item.status != "pending" or row.status not in ("pending", "cancelled"):
            continue  # recorded once; or being sent, sent: never again
        fields: dict[str, Any] = {}
        if row.status != "pending":
            fields.update(status="pending", last_error="")
        if row.due_at != item.send_at:
            fields["due_at"] = item.send_at
        if row.to != item.to:
            fields["to"] = item.to
        if row.context != context:
            fields["context"] = context
        if row.language != language:
            fields["language"] = language
        if fields:
            updates.append((row.id, fields))
    cancel = [row.id for row in rows if row.status == "pending" and row.dedupe_key not in wanted]
    return new, cancel, updates


def _context_json(item: Planned) -> str:
    """The context as JSONField stores it (compact), without json.dumps per row."""
    ids = ",".join(str(int(i)) for i in item.appointments)
    return f'{{"appointments":[{ids}],"confirm":{"true" if item.confirm else "false"}}}'


# PostgreSQL types of INSERT_COLUMNS, for one array per column (see _insert).
PG_TYPES = dict.fromkeys(INSERT_COLUMNS, "varchar") | {
    "body": "text",
    "client_id": "int",
    "due_at": "timestamptz",
    "context": "jsonb",
    "contact_point_id": "int",
    "attempts": "smallint",
    "created_at": "timestamptz",
}


async def _insert(new: list[tuple]) -> None:
    """Insert the new rows; a key another transaction planned meanwhile is skipped
    (ON CONFLICT DO NOTHING), never an error. PostgreSQL gets one array per column
    (``unnest``): a statement with tens of thousands of parameters costs it seconds
    to parse and plan. SQLite gets one multi-row INSERT per batch."""
    from tortoise import connections

    from models.db import is_postgres

    if not new:
        return
    conn = connections.get("default")
    columns = ", ".join(f'"{c}"' for c in INSERT_COLUMNS)
    conflict = " ON CONFLICT (dedupe_key) DO NOTHING"
    width = len(INSERT_COLUMNS)
    if is_postgres():
        arrays = ", ".join(
            f"${n}::{'text' if PG_TYPES[c] == 'jsonb' else PG_TYPES[c]}[]"
            for n, c in enumerate(INSERT_COLUMNS, start=1)
        )
        picks = ", ".join(
            f"c{n}::jsonb" if PG_TYPES[c] == "jsonb" else f"c{n}"
            for n, c in enumerate(INSERT_COLUMNS, start=1)
        )
        names = ", ".join(f"c{n}" for n in range(1, width + 1))
        sql = (
            f"INSERT INTO outbox_message ({columns}) SELECT {picks}"
            f" FROM unnest({arrays}) AS t({names}){conflict}"
        )
        for i in range(0, len(new), 20000):
            chunk = new[i : i + 20000]
            await conn.execute_query(sql, [list(column) for column in zip(*chunk, strict=True)])
        return
    batch = 30000 // width
    for i in range(0, len(new), batch):
        chunk = new[i : i + batch]
        marks = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
        sql = f"INSERT INTO outbox_message ({columns}) VALUES {marks}{conflict}"
        await conn.execute_query(sql, [value for row in chunk for value in row])


async def _apply(new, cancel, updates) -> None:
    await _insert(new)
    for i in range(0, len(cancel), 500):
        await OutboxMessage.filter(id__in=cancel[i : i + 500], status="pending").update(
            status="cancelled", lease_until=None
        )
    for row_id, fields in updates:
        status = ["pending", "cancelled"]
        await OutboxMessage.filter(id=row_id, status__in=status).update(**fields)


async def _lock(client_id: int) -> None:
    from models.db import is_postgres

    if not is_postgres():
        return  # SQLite: the transaction already holds the write lock
    from tortoise import connections

    conn = connections.get("default")
    await conn.execute_query(
        "SELECT pg_advisory_xact_lock($1, $2)", [LOCK_REMINDERS, client_id % 2**31]
    )


async def _rows(now: datetime, **filters) -> list[_Row]:
    query = OutboxMessage.filter(kind="reminder", **filters).filter(
        Q(status="pending") | Q(due_at__gte=now - LOOKBACK)
    )
    return [_Row(*values) for values in await query.values_list(*ROW_FIELDS)]


async def _opted_out(phones: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(phones), 500):
        chunk = phones[i : i + 500]
        found.update(await SmsOptOut.filter(phone__in=chunk).values_list("phone", flat=True))
    return found


async def replan(client_id: int, *, now: datetime | None = None) -> None:
    """Make the client's reminder rows match the plan (call it inside the transaction
    of the change; a few queries)."""
    from models.scheduling import Appointment

    now = now or clock.now()
    async with in_transaction():
        await _lock(client_id)
        client = await Client.filter(id=client_id).select_related("practice").first()
        if client is None:
            return
        appointments = [
            _Appt(*row)
            for row in await Appointment.filter(
                client_id=client_id, status__in=REMINDING, starts_at__gt=now
            ).values_list("id", "starts_at", "confirmation_requested")
        ]
        points = await ContactPoint.filter(client_id=client_id, reminders=True)
        out = await _opted_out([p.value for p in points if p.kind == "phone"])
        points = [p for p in points if not (p.kind == "phone" and p.value in out)]
        rows = await _rows(now, client_id=client_id)
        planned = plan(
            appointments,
            points,
            _history_of(rows),
            client_tz=client.time_zone,
            practice_tz=client.practice.time_zone,
            now=now,
        )
        await _apply(*_reconcile(client_id, client.preferred_language, planned, rows, now))


async def plan_all(now: datetime | None = None) -> int:
    """Plan every client with upcoming appointments at once (a nightly safety net, and
    the benchmark): a few queries in all. Returns how many clients were planned."""
    from models.scheduling import Appointment

    now = now or clock.now()
    by_client: dict[int, list[_Appt]] = {}
    appointment_rows = await Appointment.filter(
        status__in=REMINDING, starts_at__gt=now
    ).values_list("client_id", "id", "starts_at", "confirmation_requested")
    for client_id, *rest in appointment_rows:
        by_client.setdefault(client_id, []).append(_Appt(*rest))
    points_of: dict[int, list[_Point]] = {}
    for client_id, *values in await ContactPoint.filter(reminders=True).values_list(
        "client_id", *POINT_FIELDS
    ):
        if client_id in by_client:
            points_of.setdefault(client_id, []).append(_Point(*values))
    out = set(await SmsOptOut.all().values_list("phone", flat=True))
    rows_of: dict[int, list[_Row]] = {}
    for row in await _rows(now, client_id__isnull=False):
        rows_of.setdefault(row.client_id, []).append(row)
    wanted = set(by_client) | {
        c for c, rows in rows_of.items() if any(r.status == "pending" for r in rows)
    }
    clients = [
        row
        for row in await Client.all().values_list(
            "id", "time_zone", "preferred_language", "practice__time_zone"
        )
        if row[0] in wanted
    ]
    new_all, cancel_all, updates_all = [], [], []
    for client_id, tz, language, practice_tz in clients:
        points = [
            p for p in points_of.get(client_id, []) if not (p.kind == "phone" and p.value in out)
        ]
        rows = rows_of.get(client_id, [])
        planned = plan(
            by_client.get(client_id, []),
            points,
            _history_of(rows),
            client_tz=tz,
            practice_tz=practice_tz,
            now=now,
        )
        new, cancel, updates = _reconcile(client_id, language, planned, rows, now)
        new_all += new
        cancel_all += cancel
        updates_all += updates
    async with in_transaction():
        await _apply(new_all, cancel_all, updates_all)
    return len(clients)


# ---- the switches ----------------------------------------------------------------------


class Switched(list):
    """The points a switch is about, and whether it changed them: reminders off lists
    the points it turned off; reminders on lists the points turned on
    (``changed``) or the ones already on (not ``changed``)."""

    changed: bool = False


POINT_ORDER = ("kind", "-is_default", "id")


async def set_reminders(client_id: int, on: bool) -> Switched:
    """REMIND OFF: every point with reminders off. REMIND ON: where none is on, the
    default phone that has not opted out of texts (nor been found undeliverable) and
    the default email. The plan is rebuilt in the same transaction."""
    async with in_transaction():
        already = await ContactPoint.filter(client_id=client_id, reminders=True).order_by(
            *POINT_ORDER
        )
        if not on:
            result = Switched(already)
            result.changed = bool(already)
            if already:
                await ContactPoint.filter(id__in=[p.id for p in already]).update(reminders=False)
                for point in already:
                    point.reminders = False
        elif already:
            result = Switched(already)
        else:
            chosen = await _default_points(client_id)
            result = Switched(chosen)
            result.changed = bool(chosen)
            if chosen:
                await ContactPoint.filter(id__in=[p.id for p in chosen]).update(reminders=True)
                for point in chosen:
                    point.reminders = True
        if result.changed:
            await replan(client_id)
    return result


async def _default_points(client_id: int) -> list[ContactPoint]:
    phone = (
        await ContactPoint.filter(
            client_id=client_id,
            kind="phone",
            sms_opted_out_at__isnull=True,
            sms_undeliverable_at__isnull=True,
        )
        .order_by("-is_default", "id")
        .first()
    )
    email = (
        await ContactPoint.filter(client_id=client_id, kind="email")
        .order_by("-is_default", "id")
        .first()
    )
    chosen = [p for p in (phone, email) if p is not None]
    return sorted(chosen, key=lambda p: (p.kind, not p.is_default, p.id))


async def set_preferences(
    point: ContactPoint, *, reminders: bool, days_before: int, request_confirmation: bool
) -> ContactPoint:
    """One phone's or email's reminder preferences (My Profile). ``days_before`` 0..14,
    else RuleError("reminder_days_invalid"). The plan is rebuilt in the same transaction."""
    try:
        days = int(days_before)
    except (TypeError, ValueError):
        raise RuleError("reminder_days_invalid") from None
    if not 0 <= days <= MAX_DAYS_BEFORE or isinstance(days_before, bool):
        raise RuleError("reminder_days_invalid")
    async with in_transaction():
        await ContactPoint.filter(id=point.id).update(
            reminders=bool(reminders),
            reminder_days_before=days,
            request_confirmation=bool(request_confirmation),
        )
        point.reminders = bool(reminders)
        point.reminder_days_before = days
        point.request_confirmation = bool(request_confirmation)
        await replan(point.client_id)
    return point
