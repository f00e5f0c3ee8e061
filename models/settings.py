"""A client's effective portal settings, and where each value comes from.

Practice switches are the default; a provider may turn a feature off for their
clients; a client override may turn it off for one client. An override can
only narrow what the practice allows (seeds 002/003: "organisation wide, but can
be turned off at the client level").
"""

from __future__ import annotations

from dataclasses import dataclass

from models.people import Client, StaffMember
from models.practice import Practice

# key -> practice default. Boolean feature switches, plus two choices.
DEFAULTS: dict[str, object] = {
    "payments": True,
    "allow_credit": False,  # a client may pay more than their balance (kept as a credit)
    "messaging": True,
    "self_scheduling": True,
    "scheduling_mode": "request",  # "instant" | "request"
    "within_24h": False,  # schedule or cancel within 24 hours
    "documents": True,
    "insurance_display": True,
    "insurance_add_payers": False,
    "contact_access": True,
    "hide_location_address": False,
    "require_two_factor": "none",  # "none" | "staff" | "all"
    # Self-scheduling rules (a provider may override the numbers for their own calendar).
    "booking_min_notice_hours": 24,  # with within_24h on: booking_short_notice_hours
    "booking_short_notice_hours": 2,
    "booking_horizon_days": 60,
    "booking_max_upcoming": 4,  # upcoming appointments a client may hold at once
    "slot_step_minutes": 30,  # slots start on this grid
    # Cancellation in three tiers: free at least cancel_free_hours ahead; a late fee
    # between that and cancel_block_hours; blocked inside cancel_block_hours.
    "cancel_free_hours": 24,
    "cancel_block_hours": 0,
    "late_cancel_fee_cents": 0,
    "pay_before_joining": False,
    # Which appointment events email the client (seeds 002/003).
    "notify_created": True,
    "notify_cancelled": True,
    "notify_rescheduled": True,
    "notify_staff_changed": True,
    "notify_deleted": True,
    "notify_request_declined": True,
    "notify_request_confirmed": True,
    "notify_undone": True,
}
# Numbers a provider may set for their own calendar (StaffMember.portal_overrides).
PROVIDER_NUMBERS = (
    "booking_min_notice_hours",
    "booking_short_notice_hours",
    "booking_horizon_days",
    "cancel_free_hours",
    "cancel_block_hours",
    "late_cancel_fee_cents",
)
# Switches that a provider or a client override may turn off.
OVERRIDABLE = (
    "payments",
    "messaging",
    "self_scheduling",
    "within_24h",
    "documents",
    "insurance_display",
    "insurance_add_payers",
    "contact_access",
)


# The card processors this server can use (``configure_processors``, called when the app
# is created): Stripe when its keys are set; the offline demo only outside production
# (its test cards "pay" without money, so never on an https server).
_usable_processors: set[str] = {"demo", "stripe"}


def configure_processors(*, stripe_live: bool, demo: bool) -> None:
    _usable_processors.clear()
    _usable_processors.update({"stripe"} if stripe_live else set())
    _usable_processors.update({"demo"} if demo else set())


def processor_usable(practice: Practice) -> bool:
    """The practice names a card processor and this server can reach it."""
    return practice.payment_processor in _usable_processors


@dataclass(frozen=True)
class Setting:
    value: object
    source: str  # "default" | "practice" | "provider" | "client" | "processor"

    def __bool__(self) -> bool:
        return bool(self.value)


def practice_settings(practice: Practice) -> dict[str, Setting]:
    stored = practice.portal_settings or {}
    result = {}
    for key, default in DEFAULTS.items():
        if key in stored and isinstance(stored[key], type(default)):
            result[key] = Setting(stored[key], "practice")
        else:
            result[key] = Setting(default, "default")
    if not processor_usable(practice):
        # Seeds 002/003: payments are greyed out until a card processor is set up (or,
        # for Stripe, until this server has its keys).
        result["payments"] = Setting(False, "processor")
    return result


def effective_settings(
    practice: Practice, client: Client, provider: StaffMember | None = None
) -> dict[str, Setting]:
    """The switches that apply to ``client``; ``provider`` is their primary provider."""
    result = practice_settings(practice)
    for source, overrides in (
        ("provider", provider.portal_overrides if provider else {}),
        ("client", client.portal_overrides or {}),
    ):
        for key in OVERRIDABLE:
            if overrides.get(key) is False and result[key].value is True:
                result[key] = Setting(False, source)
    return result


async def settings_for(client: Client) -> dict[str, Setting]:
    """Effective settings, using the practice and provider if already joined."""
    # A relation not joined by select_related is a QuerySet, not the instance.
    practice = client.practice
    if not isinstance(practice, Practice):
        practice = await Practice.get(id=client.practice_id)
    provider = None
    if client.primary_provider_id:
        provider = client.primary_provider
        if not isinstance(provider, StaffMember):
            provider = await StaffMember.get_or_none(id=client.primary_provider_id)
    return effective_settings(practice, client, provider)


def rules_for(practice: Practice, provider: StaffMember | None = None) -> dict[str, object]:
    """The booking and cancellation numbers for one provider's calendar: the practice's,
    with the provider's own numbers (``PROVIDER_NUMBERS``) where they set them."""
    rules = {key: setting.value for key, setting in practice_settings(practice).items()}
    overrides = provider.portal_overrides if provider is not None else {}
    for key in PROVIDER_NUMBERS:
        value = (overrides or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            rules[key] = value
    return rules
