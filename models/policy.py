"""The cancellation policy in three tiers, and the telehealth join window: pure rules.

A practice (and each provider, for their own calendar) sets two numbers of hours
before an appointment starts (``models.settings``):

- at least ``cancel_free_hours`` (N) ahead, cancelling is **free**;
- between N and ``cancel_block_hours`` (M) ahead, it is **late**: allowed, recorded
  as a late cancellation, and charged ``late_cancel_fee_cents`` (0: late but free);
- less than M ahead (or once the appointment has started) it is **blocked**: the
  client calls the practice.

The boundaries belong to the earlier tier: exactly N hours ahead is free, exactly M
hours ahead is late. With the practice's ``within_24h`` switch off, M is at least N,
so there is no late tier (the portal's old rule: no online cancelling inside the
notice). A request the practice has not accepted yet is always free to withdraw.

Nothing here reads the database or the clock: callers pass ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Tier = Literal["free", "late", "blocked"]

# A cancellation (or a booking) made by the client may be undone for this long.
UNDO_WINDOW = timedelta(minutes=3)
# Telehealth: Join is offered from this long before the start until the end.
JOIN_EARLY = timedelta(minutes=10)

_ACTIVE = ("requested", "scheduled", "confirmed")


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling ``now`` means.

    ``fee_cents`` is what cancelling now would charge (only in the late tier);
    ``late_fee_cents`` is the late tier's fee whatever the tier, to tell the
    client in advance. ``free_until`` is the last instant a cancel is free;
    online cancelling stops once the clock passes ``blocked_from``.
    """

    tier: Tier
    fee_cents: int
    free_until: datetime
    blocked_from: datetime
    late_fee_cents: int = 0

    @property
    def allowed(self) -> bool:
        return self.tier != "blocked"

    @property
    def late(self) -> bool:
        return self.tier == "late"

    @property
    def has_late_tier(self) -> bool:
        return self.blocked_from > self.free_until


def _hours(rules: dict, key: str, default: int) -> int:
    value = rules.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return default
    return value


def cancellation_terms(appointment, rules: dict, now: datetime) -> CancellationTerms:
    """The tier that applies to cancelling ``appointment`` at ``now`` under ``rules``
    (``models.settings.rules_for`` plus the effective ``within_24h`` switch)."""
    free_hours = _hours(rules, "cancel_free_hours", 24)
    block_hours = _hours(rules, "cancel_block_hours", 0)
    if not rules.get("within_24h", False):
        block_hours = max(block_hours, free_hours)
    late_fee = _hours(rules, "late_cancel_fee_cents", 0)
    starts_at = appointment.starts_at
    blocked_from = starts_at - timedelta(hours=block_hours)
    free_until = min(starts_at - timedelta(hours=free_hours), blocked_from)
    if appointment.status not in _ACTIVE or now >= starts_at:
        tier: Tier = "blocked"
    elif appointment.status == "requested":
        tier = "free"  # withdrawing a request the practice has not accepted
        free_until = blocked_from = starts_at
    elif now <= free_until:
        tier = "free"
    elif now <= blocked_from:
        tier = "late"
    else:
        tier = "blocked"
    return CancellationTerms(
        tier=tier,
        fee_cents=late_fee if tier == "late" else 0,
        free_until=free_until,
        blocked_from=blocked_from,
        late_fee_cents=late_fee,
    )


def cancellation_rules(practice, provider, *, within_24h: bool) -> dict:
    """``rules_for(practice, provider)`` with the effective ``within_24h`` switch: the
    client's (practice, primary provider, client override) and this provider's own
    off-switch."""
    from models.settings import rules_for

    rules = rules_for(practice, provider)
    overrides = getattr(provider, "portal_overrides", None) or {}
    rules["within_24h"] = bool(within_24h) and overrides.get("within_24h") is not False
    return rules


def join_window_open(appointment, now: datetime) -> bool:
    """Telehealth Join: from JOIN_EARLY before the start until the end."""
    return (
        bool(appointment.telehealth)
        and appointment.status in ("scheduled", "confirmed")
        and appointment.starts_at - JOIN_EARLY <= now < appointment.ends_at
    )


def undo_open(done_at: datetime | None, now: datetime) -> bool:
    """Whether something done at ``done_at`` may still be undone (inclusive: 3:00 is in)."""
    return done_at is not None and timedelta(0) <= now - done_at <= UNDO_WINDOW
