"""Properties of the pure reminder plan over random appointments, zones and dates,
both daylight-saving changes included: no text outside 09:00-20:00 local, none after
its first appointment's start, at most 1 text a local day and 3 in any 7 days per
client (texts already sent included), and every upcoming appointment either named by
a pending text or recorded as dropped on every point."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.reminders import WEEK, Sent, in_window, plan

# More with REMINDER_EXAMPLES=10000 (the security plan's run); 200 keeps the suite fast.
EXAMPLES = int(os.environ.get("REMINDER_EXAMPLES", "200"))
DERANDOMIZE = "REMINDER_EXAMPLES" not in os.environ
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "UTC",
]
# Around both changes of each zone (2030): planning starts within a week before.
ANCHORS = [
    datetime(2030, 3, 10, tzinfo=UTC),  # New York springs forward
    datetime(2030, 11, 3, tzinfo=UTC),  # New York falls back
    datetime(2030, 3, 31, tzinfo=UTC),  # London forward
    datetime(2030, 10, 27, tzinfo=UTC),  # London back
    datetime(2030, 4, 7, tzinfo=UTC),  # Lord Howe (30 minutes) and Chatham back, Santiago
    datetime(2030, 9, 8, tzinfo=UTC),  # Santiago forward
    datetime(2030, 9, 29, tzinfo=UTC),  # Chatham forward
    datetime(2030, 10, 6, tzinfo=UTC),  # Lord Howe forward
]


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS))
    now = anchor + timedelta(minutes=draw(st.integers(-7 * 24 * 60, 24 * 60)))
    # Starts on a 5-minute grid, some on the same day, some back to back.
    starts = draw(st.lists(st.integers(-2 * 12, 21 * 24 * 12), min_size=0, max_size=8, unique=True))
    appointments = [
        SimpleNamespace(
            id=i + 1,
            starts_at=now + timedelta(minutes=5 * s),
            confirmation_requested=draw(st.booleans()),
        )
        for i, s in enumerate(starts)
    ]
    n_phones = draw(st.integers(0, 2))
    n_emails = draw(st.integers(0, 1))
    points = []
    for i in range(n_phones + n_emails):
        points.append(
            SimpleNamespace(
                id=100 + i,
                kind="phone" if i < n_phones else "email",
                value=f"+1555010{i:04d}" if i < n_phones else f"c{i}@test.example",
                reminders=True,
                reminder_days_before=draw(st.integers(0, 14)),
                request_confirmation=draw(st.booleans()),
                sms_opted_out_at=None,
                sms_undeliverable_at=None,
            )
        )
    history = [
        Sent(now - timedelta(minutes=draw(st.integers(1, 8 * 24 * 60))))
        for _ in range(draw(st.integers(0, 3)))
    ]
    return tz, now, appointments, points, history


def assert_caps(texts: list[datetime], history: list[datetime], tz: ZoneInfo) -> None:
    """No planned text shares a local day with another text, and no 7 days hold more
    than 3 texts where one of them is planned (the history alone may be anything)."""
    everything = sorted([(t, True) for t in texts] + [(t, False) for t in history])
    for t in texts:
        day = t.astimezone(tz).date()
        assert sum(1 for x, _ in everything if x.astimezone(tz).date() == day) == 1, t
    for i in range(len(everything) - 3):
        four = everything[i : i + 4]
        if any(planned for _, planned in four):
            assert four[-1][0] - four[0][0] >= WEEK, four


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=DERANDOMIZE,
)
@given(scenarios())
def test_the_plan_keeps_quiet_hours_caps_and_accounts_for_every_appointment(scenario):
    tz_name, now, appointments, points, history = scenario
    tz = ZoneInfo(tz_name)
    result = plan(appointments, points, history, client_tz=tz_name, practice_tz=None, now=now)
    start_of = {a.id: a.starts_at for a in appointments}
    pending = [p for p in result if p.status == "pending"]
    for item in pending:
        assert in_window(item.send_at, tz), item
        local = item.send_at.astimezone(tz).time()
        assert local.hour >= 9 and local.hour < 20
        assert item.send_at >= now - timedelta(seconds=1)
        assert item.send_at <= min(start_of[i] for i in item.appointments) - timedelta(minutes=30)
        assert item.appointments == sorted(item.appointments, key=lambda i: (start_of[i], i))
    texts = [p.send_at for p in pending if p.channel == "sms"]
    assert_caps(texts, [h.at for h in history], tz)
    # Every upcoming appointment: in a pending message or recorded dropped, on each point.
    upcoming = {a.id for a in appointments if a.starts_at > now}
    for point in points:
        covered = set()
        for item in result:
            if item.contact_point_id == point.id:
                covered.update(item.appointments)
        assert covered == upcoming, (point.id, covered, upcoming)
    for item in result:
        assert item.status in ("pending", "dropped")
        assert (item.status == "dropped") == bool(item.reason)
        assert len(item.key) <= 128


@settings(max_examples=50, deadline=None, derandomize=True)
@given(scenarios())
def test_the_plan_is_deterministic_and_its_keys_are_unique(scenario):
    tz_name, now, appointments, points, history = scenario
    first = plan(appointments, points, history, client_tz=tz_name, practice_tz=None, now=now)
    second = plan(appointments, points, history, client_tz=tz_name, practice_tz=None, now=now)
    assert [(p.key, p.send_at, p.status) for p in first] == [
        (p.key, p.send_at, p.status) for p in second
    ]
    keys = [p.key for p in first]
    assert len(keys) == len(set(keys))
