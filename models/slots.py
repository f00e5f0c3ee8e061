"""The slot engine: open appointment times from availability, minus appointments
and buffers, under the practice's booking rules.

How a slot is made, for each provider who takes self-scheduled clients:

- Availability is kept in the practice's time zone: weekly blocks (weekday and
  minutes after local midnight, a modality and a location) and dated exceptions.
  On a date with exceptions, "off" ones remove the whole day (no minutes) or a
  range from the weekly blocks, then "extra" ones add hours (so "off all day" plus
  "extra 14:00-16:00" means only those two hours).
- Candidate starts lie on the ``slot_step_minutes`` grid counted from the block's
  start; a candidate must end (start + the service's duration) inside its block and
  overlap no "off" range.
- Local wall times become instants through zoneinfo: a wall time that does not
  exist (spring forward) is skipped, an ambiguous one (fall back) is taken with
  fold=0 (the first), and everything after that is compared in UTC, so a block
  across a change is as long as the clock really runs.
- Appointments in the statuses requested, scheduled and confirmed are busy from
  their start to their end plus their service's buffer (10 minutes without a
  service); a candidate plus its own service's buffer must not overlap one. A time
  held for a waiting client (a live waitlist offer) is busy for everyone else.
- A slot starts no earlier than the minimum notice (``booking_min_notice_hours``,
  or ``booking_short_notice_hours`` where ``within_24h`` is on and neither the
  provider nor the client turned it off) and less than ``booking_horizon_days``
  from now; a provider's own numbers come from ``rules_for``.

Every query is made once for the whole range (providers, blocks, exceptions,
appointments); the rest is integer arithmetic on epoch seconds with bisect.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import clock
from models.people import Client, Role, StaffMember
from models.practice import Modality, Practice, Service
from models.scheduling import (
    UPCOMING_STATUSES,
    Appointment,
)
from models.settings import practice_settings, rules_for, settings_for

# "I don't know" with no self-schedulable service: a standard session.
DEFAULT_DURATION = 50
DEFAULT_BUFFER = 10
MAX_RANGE_DAYS = 366  # a query never spans more than this many days
# SQLite compares datetimes as text, and a value written with a non-UTC offset (the
# demo's local times) sorts up to 14 hours off: range filters in SQL are widened by
# this much and then made exact in Python.
SQL_SLACK = timedelta(days=2)
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Slot:
    provider_id: int
    starts_at: datetime  # aware UTC
    ends_at: datetime  # starts_at + service duration
    location_id: int | None  # the in-person location, if offered in person
    telehealth: bool  # offered as telehealth
    in_person: bool  # offered in person (both may be True)


@dataclass
class SlotQuery:
    practice: Practice
    start: date  # first day, in tz
    end: date  # last day, inclusive, in tz
    tz: str  # the client's time zone (days are that zone's days)
    provider_ids: list[int] | None = None  # None: any provider who takes self-scheduled clients
    service: Service | None = None  # None: "I don't know"
    location_id: int | None = None  # only slots at this location (in person)
    telehealth: bool | None = None  # True telehealth only, False in person only, None either
    client: Client | None = None  # for the per-client cap


@dataclass(frozen=True)
class Length:
    """How long a booking of a service takes, and the buffer kept after it."""

    service_id: int | None
    duration_minutes: int
    buffer_minutes: int


# ---------------------------------------------------------------- public API


async def open_slots(q: SlotQuery) -> list[Slot]:
    """Open slots, sorted by starts_at, provider_id."""
    if q.client is not None and await booking_blocked_reason(q.practice, q.client):
        return []
    return await _compute(q)


def days_with_slots(slots: list[Slot], tz: str) -> dict[date, set[str]]:
    """{"telehealth", "in_person"} per local day in ``tz``, for the calendar dots."""
    zone = ZoneInfo(tz)
    days: dict[date, set[str]] = {}
    for slot in slots:
        kinds = days.setdefault(slot.starts_at.astimezone(zone).date(), set())
        if slot.telehealth:
            kinds.add("telehealth")
        if slot.in_person:
            kinds.add("in_person")
    return days


async def slot_is_open(
    q: SlotQuery,
    provider_id: int,
    starts_at: datetime,
    *,
    telehealth: bool,
    location_id: int | None,
) -> Slot | None:
    """The open slot at ``starts_at`` with that provider, offered with that modality
    (and, in person, at that location; None takes the slot's), or None.

    Only that instant is computed: ``q.start`` and ``q.end`` are not used. The client's
    cap is not checked here (see ``booking_blocked_reason``)."""
    return await _find(q, provider_id, starts_at, telehealth=telehealth, location_id=location_id)


async def booking_blocked_reason(practice: Practice, client: Client) -> str | None:
    """Why ``client`` may not book now: "self_scheduling_off" when their effective
    settings turn it off, "booking_cap_reached" when they already hold
    ``booking_max_upcoming`` upcoming appointments; None when they may."""
    settings = await settings_for(client)
    if not settings["self_scheduling"] or not client.portal_enabled:
        return "self_scheduling_off"
    cap = practice_settings(practice)["booking_max_upcoming"].value
    now = clock.now()
    starts = await Appointment.filter(
        client_id=client.id, status__in=UPCOMING_STATUSES, starts_at__gt=now - SQL_SLACK
    ).values_list("starts_at", flat=True)
    upcoming = sum(1 for moment in starts if _epoch(moment) > now.timestamp())
    if upcoming >= cap:
        return "booking_cap_reached"
    return None


async def resolve_length(practice: Practice, service: Service | None) -> Length | None:
    """The length a booking of ``service`` takes. ``None`` ("I don't know") is the
    practice's first self-schedulable service, else 50 minutes and a 10-minute
    buffer. A service of another practice, inactive or not self-schedulable: None."""
    if service is None:
        service = (
            await Service.filter(practice_id=practice.id, self_schedulable=True, active=True)
            .order_by("id")
            .first()
        )
        if service is None:
            return Length(None, DEFAULT_DURATION, DEFAULT_BUFFER)
    if service.practice_id != practice.id or not service.self_schedulable or not service.active:
        return None
    return Length(service.id, max(1, service.duration_minutes), max(0, service.buffer_minutes))


# ---------------------------------------------------------------- internals


@dataclass
class _Provider:
    id: int
    notice_s: int
    horizon_s: int
    step_min: int


async def _providers(practice: Practice, ids: list[int] | None, client: Client | None):
    """Active providers of the practice who take self-scheduled clients, with their
    notice, horizon and grid."""
    base = practice_settings(practice)
    if not base["self_scheduling"]:
        return []
    query = StaffMember.filter(practice_id=practice.id, active=True)
    if ids is not None:
        if not ids:
            return []
        query = query.filter(id__in=list(ids))
    client_24h = client is None or (client.portal_overrides or {}).get("within_24h") is not False
    found = []
    for staff in await query.order_by("id"):
        overrides = staff.portal_overrides or {}
        if not staff.has_role(Role.PROVIDER) or overrides.get("self_scheduling") is False:
            continue
        rules = rules_for(practice, staff)
        short = rules["within_24h"] and overrides.get("within_24h") is not False and client_24h
        notice_h = rules["booking_short_notice_hours" if short else "booking_min_notice_hours"]
        step = rules["slot_step_minutes"]
        found.append(
            _Provider(
                id=staff.id,
                notice_s=int(notice_h) * 3600,
                horizon_s=int(rules["booking_horizon_days"]) * 86400,
                step_min=step if isinstance(step, int) and 5 <= step <= 24 * 60 else 30,
            )
        )
    return found


async def overlapping(
    provider_id: int, starts_at: datetime, ends_at: datetime, *, exclude: tuple[int, ...] = ()
) -> bool:
    """Whether another requested/scheduled/confirmed appointment of the provider
    overlaps [starts_at, ends_at) (plain intervals, no buffers)."""
    query = Appointment.filter(
        provider_id=provider_id,
        status__in=UPCOMING_STATUSES,
        starts_at__lt=ends_at + SQL_SLACK,
        ends_at__gt=starts_at - SQL_SLACK,
    )
    if exclude:
        query = query.exclude(id__in=list(exclude))
    lo, hi = _epoch(starts_at), _epoch(ends_at)
    return any(
        _epoch(start) < hi and lo < _epoch(end)
        for start, end in await query.values_list("starts_at", "ends_at")
    )


class _Sql:
    """Raw SQL for either database: ``mark`` adds a parameter where it appears
    (SQLite's "?" are positional, PostgreSQL's are numbered)."""

    def __init__(self) -> None:
        from tortoise import connections

        self.conn = connections.get("default")  # the transaction's, inside one
        self.postgres = self.conn.capabilities.dialect == "postgres"
        self.params: list = []

    def mark(self, value) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def marks(self, values) -> str:
        return ", ".join(self.mark(value) for value in values)

    async def rows(self, sql: str) -> list[tuple]:
        _, rows = await self.conn.execute_query(sql, self.params)
        return [tuple(row) for row in rows]


# Raw SQL, two queries for everything a range needs: with a few thousand rows
# (50 providers for a month) Tortoise's per-value datetime parsing was half the
# engine's time, and each round trip to PostgreSQL costs about half a millisecond.
# On SQLite times come back as ISO text and dates as "YYYY-MM-DD", booleans as 0/1.


async def _availability_rows(ids: list[int], first: date, last: date) -> list[tuple]:
    """Weekly blocks and the exceptions dated first..last, with their location's kind:
    (weekday, date, kind, provider, start, end, location, modality, telehealth, active)."""
    sql = _Sql()
    columns = (
        "x.provider_id, x.start_minute, x.end_minute, x.location_id, x.modality,"
        " l.telehealth, l.active"
    )
    query = (
        "SELECT x.weekday, CAST(NULL AS DATE), CAST(NULL AS VARCHAR(8)), "
        + columns
        + " FROM availability_block x LEFT OUTER JOIN location l ON l.id = x.location_id"
        + f" WHERE x.provider_id IN ({sql.marks(ids)})"
        + " UNION ALL SELECT CAST(NULL AS SMALLINT), x.date, x.kind, "
        + columns
        + " FROM availability_exception x LEFT OUTER JOIN location l ON l.id = x.location_id"
        + f" WHERE x.provider_id IN ({sql.marks(ids)})"
        + f" AND x.date >= {sql.mark(first)} AND x.date <= {sql.mark(last)}"
    )
    return await sql.rows(query)


async def _busy_rows(
    ids: list[int],
    after: datetime,
    before: datetime,
    *,
    exclude: tuple[int, ...],
    client_id: int | None,
    now: datetime,
) -> list[tuple]:
    """(provider, starts_at, ends_at, buffer minutes after) of the live appointments
    of these providers that overlap [after, before), and of the live waitlist holds
    there that are not ``client_id``'s."""
    sql = _Sql()
    query = (
        "SELECT a.provider_id, a.starts_at, a.ends_at,"
        f" COALESCE(s.buffer_minutes, {DEFAULT_BUFFER})"
        " FROM appointment a LEFT OUTER JOIN service s ON s.id = a.service_id"
        f" WHERE a.provider_id IN ({sql.marks(ids)})"
        f" AND a.status IN ({sql.marks(str(status) for status in UPCOMING_STATUSES)})"
        f" AND a.starts_at < {sql.mark(before)} AND a.ends_at > {sql.mark(after)}"
    )
    if exclude:
        query += f" AND a.id NOT IN ({sql.marks(exclude)})"
    query += (
        " UNION ALL SELECT o.provider_id, o.starts_at, o.ends_at, 0"
        " FROM waitlist_offer o JOIN waitlist_entry e ON e.id = o.entry_id"
        f" WHERE o.provider_id IN ({sql.marks(ids)}) AND o.status = 'offered'"
        f" AND o.hold_until > {sql.mark(now)}"
        f" AND o.starts_at < {sql.mark(before)} AND o.ends_at > {sql.mark(after)}"
    )
    if client_id is not None:
        query += f" AND e.client_id <> {sql.mark(client_id)}"
    return await sql.rows(query)


def _epoch(moment: datetime | str) -> int:
    if isinstance(moment, str):  # SQLite's text, e.g. "2027-03-14 07:00:00+00:00"
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # naive is UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class _Day:
    """Local wall minutes on one date of a time zone -> epoch seconds (or None)."""

    __slots__ = ("zone", "naive", "base", "steady")

    def __init__(self, zone: ZoneInfo, day: date) -> None:
        self.zone = zone
        self.naive = datetime(day.year, day.month, day.day)
        start = self.naive.replace(tzinfo=zone)
        end = (self.naive + timedelta(days=1)).replace(tzinfo=zone)
        offset = start.utcoffset()
        # No change of offset that day (the usual case): plain arithmetic.
        self.steady = offset == end.utcoffset()
        self.base = int((self.naive - _EPOCH - offset).total_seconds())

    def at(self, minute: int) -> int | None:
        if self.steady:
            return self.base + minute * 60
        wall = self.naive + timedelta(minutes=minute)
        aware = wall.replace(tzinfo=self.zone, fold=0)
        instant = aware.astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) != wall:
            return None  # skipped by a spring-forward change
        return int(instant.timestamp())

    def bound(self, minute: int) -> int:
        """Like ``at`` for a block's end, which may fall in a gap (then the
        instant the clock jumps over it, as zoneinfo reads it with fold=0)."""
        if self.steady:
            return self.base + minute * 60
        wall = self.naive + timedelta(minutes=minute)
        return int(wall.replace(tzinfo=self.zone, fold=0).timestamp())


def _subtract(ranges: list[tuple[int, int]], cut: tuple[int, int]) -> list[tuple[int, int]]:
    out = []
    for a, b in ranges:
        if cut[1] <= a or cut[0] >= b:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0]))
        if cut[1] < b:
            out.append((cut[1], b))
    return out


def _merge(busy: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Sorted, merged busy intervals as two lists (starts, ends)."""
    busy.sort()
    starts: list[int] = []
    ends: list[int] = []
    for a, b in busy:
        if ends and a <= ends[-1]:
            if b > ends[-1]:
                ends[-1] = b
        else:
            starts.append(a)
            ends.append(b)
    return starts, ends


async def _compute(
    q: SlotQuery,
    *,
    window: tuple[int, int] | None = None,
    ignore_busy: bool = False,
    exclude_appointment_ids: tuple[int, ...] = (),
) -> list[Slot]:
    """The engine. ``window`` (epoch seconds) narrows the range further;
    ``ignore_busy`` leaves appointments out (to tell "taken" from "not offered");
    ``exclude_appointment_ids`` leaves those appointments out (a reschedule)."""
    practice = q.practice
    if q.telehealth is True and q.location_id is not None:
        return []
    length = await resolve_length(practice, q.service)
    if length is None:
        return []
    providers = await _providers(practice, q.provider_ids, q.client)
    if not providers:
        return []

    # The client's days, as instants, narrowed by notice and horizon.
    client_zone = ZoneInfo(q.tz)
    last = min(q.end, q.start + timedelta(days=MAX_RANGE_DAYS - 1))
    lo = _epoch(datetime.combine(q.start, time(0), client_zone))
    hi = _epoch(datetime.combine(last + timedelta(days=1), time(0), client_zone))
    if window is not None:
        lo, hi = max(lo, window[0]), min(hi, window[1])
    now = _epoch(clock.now())
    lo = max(lo, now + min(p.notice_s for p in providers))
    hi = min(hi, now + max(p.horizon_s for p in providers))
    if lo >= hi:
        return []

    zone = ZoneInfo(practice.time_zone)
    first_day = datetime.fromtimestamp(lo, zone).date()
    last_day = datetime.fromtimestamp(hi, zone).date()
    ids = [p.id for p in providers]

    # Weekly blocks and exceptions, with their location's kind.
    weekly: dict[tuple[int, int], list] = {}
    extras: dict[tuple[int, date], list] = {}
    offs: dict[tuple[int, date], list] = {}
    for (
        weekday,
        day,
        kind,
        pid,
        begin,
        finish,
        loc,
        modality,
        tele,
        active,
    ) in await _availability_rows(ids, first_day, last_day):
        row = [
            pid,
            begin,
            finish,
            loc,
            modality,
            None if tele is None else bool(tele),
            None if active is None else bool(active),
        ]
        if weekday is not None:
            weekly.setdefault((pid, weekday), []).append(row)
            continue
        if isinstance(day, str):
            day = date.fromisoformat(day)
        if begin is None or finish is None:
            row[1], row[2] = 0, 24 * 60
        (offs if kind == "off" else extras).setdefault((pid, day), []).append(row)

    # Busy: live appointments plus their buffers, and times held for waiting clients
    # (models/waitlist.py, 15 minutes) for everyone but that client.
    own_buffer = length.buffer_minutes * 60
    busy: dict[int, list[tuple[int, int]]] = {pid: [] for pid in ids}
    if not ignore_busy:
        # Wide enough for any service and buffer, and for SQLite's text comparison of
        # a time stored with its own UTC offset (up to 14 hours off): the exact test
        # is done below, on instants.
        for pid, starts, ends, after in await _busy_rows(
            ids,
            datetime.fromtimestamp(lo, UTC) - SQL_SLACK,
            datetime.fromtimestamp(hi, UTC) + SQL_SLACK,
            exclude=exclude_appointment_ids,
            client_id=q.client.id if q.client is not None else None,
            now=clock.now(),
        ):
            busy[pid].append((_epoch(starts), _epoch(ends) + after * 60))

    want_tele = q.telehealth is not False and q.location_id is None
    want_person = q.telehealth is not True
    duration = length.duration_minutes * 60
    found: dict[tuple[int, int], list] = {}  # (start, provider) -> [tele, person, location]
    days = []
    day = first_day
    while day <= last_day:
        days.append((day, _Day(zone, day)))
        day += timedelta(days=1)

    for provider in providers:
        pid = provider.id
        starts, ends = _merge(busy[pid])
        earliest = max(lo, now + provider.notice_s)
        latest = min(hi, now + provider.horizon_s)  # starts before this
        if earliest >= latest:
            continue
        step = provider.step_min
        for day, local in days:
            blocks = weekly.get((pid, day.weekday()), [])
            cuts = offs.get((pid, day))
            if cuts:
                whole = [(b[1], b[2]) for b in cuts]
                pieces_of = {}
                for i, block in enumerate(blocks):
                    pieces = [(block[1], block[2])]
                    for cut in whole:
                        pieces = _subtract(pieces, cut)
                    pieces_of[i] = pieces
            more = extras.get((pid, day))
            if more:
                blocks = blocks + more
            for i, (_, begin, finish, location_id, modality, loc_tele, loc_active) in enumerate(
                blocks
            ):
                if finish <= begin:
                    continue
                tele = modality in (Modality.TELEHEALTH, Modality.BOTH)
                person = (
                    modality in (Modality.IN_PERSON, Modality.BOTH)
                    and location_id is not None
                    and not loc_tele
                    and loc_active is not False
                )
                if q.location_id is not None and location_id != q.location_id:
                    person = False
                tele, person = tele and want_tele, person and want_person
                if not (tele or person):
                    continue
                pieces = pieces_of.get(i) if cuts and i in pieces_of else None
                end_at = local.bound(finish)
                minute = begin
                while minute < finish:
                    t = local.at(minute)
                    minute += step
                    if t is None or t < earliest:
                        continue
                    if t >= latest:
                        break
                    e = t + duration
                    if e > end_at:
                        break
                    if pieces is not None and not _inside(pieces, local, t, e):
                        continue
                    # The candidate plus its buffer against the busy intervals.
                    k = bisect_left(starts, e + own_buffer)
                    if k and ends[k - 1] > t:
                        continue
                    key = (t, pid)
                    entry = found.get(key)
                    if entry is None:
                        found[key] = [tele, person, location_id if person else None]
                    else:
                        entry[0] = entry[0] or tele
                        if person and not entry[1]:
                            entry[1], entry[2] = True, location_id

    # One datetime per distinct instant (providers share the grid).
    starts = {t for t, _ in found}
    moments = {t: datetime.fromtimestamp(t, UTC) for t in starts | {t + duration for t in starts}}
    return [
        Slot(pid, moments[t], moments[t + duration], loc, tele, person)
        for (t, pid), (tele, person, loc) in sorted(found.items())
    ]


def _inside(pieces: list[tuple[int, int]], local: _Day, t: int, e: int) -> bool:
    """Whether [t, e) lies inside one of the pieces (local minutes) left of a block."""
    for a, b in pieces:
        start = local.bound(a)
        if start <= t and e <= local.bound(b):
            return True
    return False


async def _find(
    q: SlotQuery,
    provider_id: int,
    starts_at: datetime,
    *,
    telehealth: bool,
    location_id: int | None,
    ignore_busy: bool = False,
    exclude_appointment_ids: tuple[int, ...] = (),
) -> Slot | None:
    if starts_at.tzinfo is None:
        return None
    if q.provider_ids is not None and provider_id not in q.provider_ids:
        return None
    exact = starts_at.timestamp()
    if exact != int(exact):
        return None
    t = int(exact)
    day = starts_at.astimezone(ZoneInfo(q.tz)).date()
    narrowed = SlotQuery(
        practice=q.practice,
        start=day,
        end=day,
        tz=q.tz,
        provider_ids=[provider_id],
        service=q.service,
        location_id=None if telehealth else location_id,
        telehealth=telehealth,
        client=q.client,
    )
    for slot in await _compute(
        narrowed,
        window=(t, t + 1),
        ignore_busy=ignore_busy,
        exclude_appointment_ids=exclude_appointment_ids,
    ):
        if slot.provider_id == provider_id and _epoch(slot.starts_at) == t:
            return slot
    return None
