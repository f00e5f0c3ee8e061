"""The cancellation policy in three tiers (free / late with a fee / blocked), at its
boundaries, with provider overrides and the within_24h switch; the fee in the
ledger, charged once; Undo within 3 minutes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from models import clock
from models.audit import AuditEvent
from models.errors import RuleError
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
from models.people import StaffMember
from models.policy import cancellation_rules, cancellation_terms, join_window_open
from models.practice import Practice
from models.scheduling import Appointment, AppointmentStatus

FROZEN = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)


@pytest.fixture
def frozen(monkeypatch):
    """Stop the wall clock (models.clock.travel still moves it), so a boundary is
    exactly a boundary."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return FROZEN.astimezone(tz) if tz else FROZEN.replace(tzinfo=None)

    monkeypatch.setattr(clock, "datetime", Frozen)
    return FROZEN


def appointment(starts_in: timedelta, status: str = "scheduled") -> SimpleNamespace:
    start = FROZEN + starts_in
    return SimpleNamespace(
        starts_at=start, ends_at=start + timedelta(minutes=45), status=status, telehealth=True
    )


def rules(**values) -> dict:
    base = {
        "cancel_free_hours": 24,
        "cancel_block_hours": 2,
        "late_cancel_fee_cents": 5000,
        "within_24h": True,
    }
    return {**base, **values}


def tier_after(appt, travel: timedelta, **values) -> tuple[str, int]:
    """The tier once the clock has moved ``travel`` forward."""
    clock.reset()
    clock.travel(travel)
    terms = cancellation_terms(appt, rules(**values), clock.now())
    return terms.tier, terms.fee_cents


# --- the pure rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_before_start", "tier", "fee"),
    [
        (24 * H + S, "free", 0),
        (24 * H, "free", 0),  # exactly N hours ahead is still free
        (24 * H - S, "late", 5000),
        (2 * H + S, "late", 5000),
        (2 * H, "late", 5000),  # exactly M hours ahead may still cancel, late
        (2 * H - S, "blocked", 0),
        (S, "blocked", 0),
        (timedelta(0), "blocked", 0),  # started
    ],
)
def test_tiers_at_their_boundaries(frozen, hours_before_start, tier, fee):
    appt = appointment(timedelta(days=3))
    assert tier_after(appt, appt.starts_at - FROZEN - hours_before_start) == (tier, fee)


def test_the_boundaries_are_reported(frozen):
    appt = appointment(timedelta(days=3))
    terms = cancellation_terms(appt, rules(), FROZEN)
    assert terms.tier == "free" and terms.late_fee_cents == 5000 and terms.has_late_tier
    assert terms.free_until == appt.starts_at - 24 * H
    assert terms.blocked_from == appt.starts_at - 2 * H


@pytest.mark.parametrize(
    ("hours_before_start", "tier"),
    [(24 * H + S, "free"), (24 * H, "free"), (24 * H - S, "blocked"), (H, "blocked")],
)
def test_within_24h_off_leaves_no_late_tier(frozen, hours_before_start, tier):
    appt = appointment(timedelta(days=3))
    travel = appt.starts_at - FROZEN - hours_before_start
    assert tier_after(appt, travel, within_24h=False) == (tier, 0)
    terms = cancellation_terms(appt, rules(within_24h=False), clock.now())
    assert terms.free_until == terms.blocked_from and not terms.has_late_tier


def test_within_24h_on_with_no_block_hours_is_late_until_the_start(frozen):
    appt = appointment(timedelta(hours=3))
    assert tier_after(appt, timedelta(0), cancel_block_hours=0, late_cancel_fee_cents=0) == (
        "late",
        0,
    )
    assert tier_after(appt, 3 * H - S, cancel_block_hours=0)[0] == "late"
    assert tier_after(appt, 3 * H, cancel_block_hours=0)[0] == "blocked"


def test_a_block_window_wider_than_the_free_window_means_no_late_tier(frozen):
    appt = appointment(timedelta(days=3))
    travel = appt.starts_at - FROZEN - 30 * H
    assert tier_after(appt, travel, cancel_free_hours=24, cancel_block_hours=48) == ("blocked", 0)


def test_a_request_is_always_free_to_withdraw_and_a_cancelled_one_is_blocked(frozen):
    assert tier_after(appointment(3 * H, "requested"), timedelta(0))[0] == "free"
    assert tier_after(appointment(timedelta(days=3), "cancelled"), timedelta(0))[0] == "blocked"


def test_odd_stored_numbers_fall_back_to_the_defaults(frozen):
    appt = appointment(timedelta(hours=10))
    odd = {"cancel_free_hours": "24", "cancel_block_hours": -3, "late_cancel_fee_cents": True}
    terms = cancellation_terms(appt, odd, FROZEN)
    assert (terms.tier, terms.fee_cents) == ("blocked", 0)  # within_24h missing: off


def test_the_provider_numbers_win_and_their_within_24h_off_switch_counts():
    practice = Practice(
        name="P",
        portal_settings={"cancel_free_hours": 24, "within_24h": True, "late_cancel_fee_cents": 10},
    )
    provider = StaffMember(
        portal_overrides={"cancel_free_hours": 48, "late_cancel_fee_cents": 7500}
    )
    got = cancellation_rules(practice, provider, within_24h=True)
    assert got["cancel_free_hours"] == 48 and got["late_cancel_fee_cents"] == 7500
    assert got["within_24h"] is True
    provider.portal_overrides["within_24h"] = False
    assert cancellation_rules(practice, provider, within_24h=True)["within_24h"] is False
    assert cancellation_rules(practice, None, within_24h=False)["within_24h"] is False


def test_join_opens_ten_minutes_before_and_closes_at_the_end(frozen):
    appt = appointment(timedelta(minutes=10))
    assert join_window_open(appt, FROZEN)
    assert not join_window_open(appt, FROZEN - S)
    assert join_window_open(appt, appt.ends_at - S)
    assert not join_window_open(appt, appt.ends_at)
    appt.telehealth = False
    assert not join_window_open(appt, FROZEN)


# --- Appointment.cancel: tiers, the fee in the ledger ---------------------------------


async def _policy(cast, **settings) -> None:
    await Practice.filter(id=cast.practice.id).update(
        portal_settings={
            "cancel_free_hours": 24,
            "cancel_block_hours": 2,
            "late_cancel_fee_cents": 5000,
            "within_24h": True,
            **settings,
        },
        phone="+15550109000",
    )


async def _fees(appointment_id: int) -> list[LedgerEntry]:
    return await LedgerEntry.filter(appointment_id=appointment_id, kind=EntryKind.CHARGE)


async def test_a_free_cancel_charges_nothing(cast):
    await _policy(cast)
    done = await cast.a_soon.cancel(by=cast.alice.user_id, via="web")
    assert done.status == "cancelled" and await _fees(cast.a_soon.id) == []


async def test_a_late_cancel_charges_the_fee_once_linked_to_the_appointment(cast):
    await _policy(cast)
    appt = cast.a_tomorrow  # 10 hours away: late
    first = await appt.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=True)
    again = await appt.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=True)
    assert first.status == again.status == "late_cancelled"
    [fee] = await _fees(appt.id)
    assert fee.amount_cents == 5000 and fee.client_id == cast.alice.id
    assert fee.description == "Late cancellation fee"
    [event] = await AuditEvent.filter(action="appointment.cancel")
    assert event.details["tier"] == "late" and event.details["fee_entry_id"] == fee.id


async def test_two_cancels_at_once_charge_once(cast):
    await _policy(cast)
    appt = cast.a_tomorrow
    results = await asyncio.gather(
        *(_cancel_fresh(appt.id, cast.alice.user_id) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, Appointment) for r in results), results
    assert len(await _fees(appt.id)) == 1
    assert await AuditEvent.filter(action="appointment.cancel").count() == 1


async def _cancel_fresh(appointment_id: int, user_id: int) -> Appointment:
    appt = await Appointment.get(id=appointment_id)
    return await appt.cancel(by=user_id, via="web", within_24h_allowed=True)


async def test_a_late_fee_of_zero_is_late_but_free(cast):
    await _policy(cast, late_cancel_fee_cents=0)
    done = await cast.a_tomorrow.cancel(by=None, via="web", within_24h_allowed=True)
    assert done.status == "late_cancelled" and await _fees(cast.a_tomorrow.id) == []


async def test_inside_the_block_window_the_client_is_refused_and_nothing_changes(cast):
    await _policy(cast, cancel_block_hours=12)
    with pytest.raises(RuleError) as exc:
        await cast.a_tomorrow.cancel(by=None, via="sms", within_24h_allowed=True)
    assert exc.value.code == "appointment_too_late_to_cancel"
    assert (await Appointment.get(id=cast.a_tomorrow.id)).status == "scheduled"
    assert await _fees(cast.a_tomorrow.id) == []


async def test_staff_cancel_inside_the_block_window_as_late_with_the_fee_or_waived(cast):
    await _policy(cast, cancel_block_hours=12)
    done = await cast.a_tomorrow.cancel(by=cast.sid.user_id, via="web", by_staff=True)
    assert done.status == "late_cancelled" and len(await _fees(cast.a_tomorrow.id)) == 1
    waived = await cast.c_soon.cancel(by=cast.sid.user_id, via="web", by_staff=True, waive_fee=True)
    assert waived.status == "cancelled"  # four days away: free anyway
    clock.travel(timedelta(days=3, hours=20))
    soon = clock.now() + H
    await Appointment.filter(id=cast.b_soon.id).update(starts_at=soon, ends_at=soon + H)
    b = await Appointment.get(id=cast.b_soon.id)
    done = await b.cancel(by=cast.sid.user_id, via="web", by_staff=True, waive_fee=True)
    assert done.status == "late_cancelled" and await _fees(b.id) == []


async def test_the_provider_numbers_apply_to_their_appointments(cast):
    await _policy(cast)
    await StaffMember.filter(id=cast.penny.id).update(
        portal_overrides={"cancel_free_hours": 96, "late_cancel_fee_cents": 7500}
    )
    done = await cast.a_soon.cancel(by=None, via="web", within_24h_allowed=True)  # 72 h away
    assert done.status == "late_cancelled"
    [fee] = await _fees(cast.a_soon.id)
    assert fee.amount_cents == 7500


async def test_without_rules_it_reads_the_practice_switch(cast):
    await _policy(cast, within_24h=False)
    with pytest.raises(RuleError):
        await cast.a_tomorrow.cancel(by=None, via="chat")
    await _policy(cast, within_24h=True)
    assert (await cast.a_tomorrow.cancel(by=None, via="chat")).status == "late_cancelled"


async def test_a_fee_higher_than_the_one_shown_is_refused(cast):
    await _policy(cast)
    with pytest.raises(RuleError) as exc:
        await cast.a_tomorrow.cancel(by=None, via="web", within_24h_allowed=True, fee_shown_cents=0)
    assert exc.value.code == "cancel_fee_changed"
    assert (await Appointment.get(id=cast.a_tomorrow.id)).status == "scheduled"
    assert await _fees(cast.a_tomorrow.id) == []
    done = await cast.a_tomorrow.cancel(
        by=None, via="web", within_24h_allowed=True, fee_shown_cents=5000
    )
    assert done.status == "late_cancelled"


async def test_a_past_appointment_cannot_be_cancelled(cast):
    with pytest.raises(RuleError) as exc:
        await cast.a_past.cancel(by=None, via="web", within_24h_allowed=True)
    assert exc.value.code == "appointment_not_cancellable"


# --- Undo --------------------------------------------------------------------------


async def test_undo_within_3_minutes_restores_the_status_and_removes_the_fee(cast):
    await _policy(cast)
    await cast.a_tomorrow.confirm(by=None, via="web")
    appt = await cast.a_tomorrow.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=True)
    assert len(await _fees(appt.id)) == 1
    clock.travel(timedelta(minutes=2, seconds=59))
    assert (await appt.undoable_cancel()) is not None
    back = await appt.undo_cancel(by=cast.alice.user_id)
    assert back.status == "confirmed" and back.cancelled_at is None
    assert await LedgerEntry.filter(appointment_id=appt.id).count() == 0  # deleted, unposted
    again = await appt.undo_cancel(by=cast.alice.user_id)  # a double click
    assert again.status == "confirmed"
    [event] = await AuditEvent.filter(action="appointment.cancel_undone")
    assert event.details["fee_reversed"] == "deleted"


async def test_undo_after_3_minutes_is_too_late_and_the_fee_stays(cast):
    await _policy(cast)
    appt = await cast.a_tomorrow.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=True)
    clock.travel(timedelta(minutes=3, seconds=1))
    assert (await appt.undoable_cancel()) is None
    with pytest.raises(RuleError) as exc:
        await appt.undo_cancel(by=cast.alice.user_id)
    assert exc.value.code == "undo_too_late"
    fresh = await Appointment.get(id=appt.id)
    assert fresh.status == "late_cancelled" and len(await _fees(appt.id)) == 1


async def test_undo_after_a_payment_reverses_the_fee_with_an_adjustment(cast):
    await _policy(cast)
    appt = await cast.a_tomorrow.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=True)
    [fee] = await _fees(appt.id)
    payment = await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CLIENT_PAYMENT,
        posted_on=fee.posted_on,
        amount_cents=5000,
    )
    await PaymentAllocation.create(payment=payment, charge=fee, amount_cents=5000)
    back = await appt.undo_cancel(by=cast.alice.user_id)
    assert back.status == "scheduled"
    [reversal] = await LedgerEntry.filter(appointment_id=appt.id, kind=EntryKind.ADJUSTMENT)
    assert reversal.amount_cents == 5000 and len(await _fees(appt.id)) == 1


async def test_a_staff_cancellation_is_not_undone_by_the_client(cast):
    appt = await cast.a_soon.cancel(by=cast.sid.user_id, via="web", by_staff=True)
    assert (await appt.undoable_cancel()) is None
    with pytest.raises(RuleError) as exc:
        await appt.undo_cancel(by=cast.alice.user_id)
    assert exc.value.code == "appointment_not_restorable"


async def test_undo_refuses_when_the_time_was_booked_meanwhile(cast):
    appt = await cast.a_soon.cancel(by=cast.alice.user_id, via="web", within_24h_allowed=False)
    await Appointment.create(
        client=cast.bob,
        provider=cast.penny,
        starts_at=appt.starts_at + timedelta(minutes=15),
        ends_at=appt.ends_at + timedelta(minutes=15),
        status=AppointmentStatus.SCHEDULED,
    )
    with pytest.raises(RuleError) as exc:
        await appt.undo_cancel(by=cast.alice.user_id)
    assert exc.value.code == "undo_slot_taken"
    assert (await Appointment.get(id=appt.id)).status == "cancelled"


async def test_undo_of_something_never_cancelled_is_refused(cast):
    await Appointment.filter(id=cast.a_past.id).update(status=AppointmentStatus.NO_SHOW)
    past = await Appointment.get(id=cast.a_past.id)
    with pytest.raises(RuleError) as exc:
        await past.undo_cancel(by=None)
    assert exc.value.code == "appointment_not_restorable"


async def test_a_booking_undone_by_models_booking_is_not_restored_here(cast):
    from models.booking import undo_booking
    from models.people import User

    await Appointment.filter(id=cast.a_soon.id).update(booked_by_id=cast.alice.user_id)
    appt = await Appointment.get(id=cast.a_soon.id)
    await undo_booking(appt, by=await User.get(id=cast.alice.user_id))
    appt = await Appointment.get(id=cast.a_soon.id)
    assert appt.status == "cancelled" and appt.cancel_reason == "undone"
    assert await appt.undoable_cancel() is None
    with pytest.raises(RuleError) as exc:
        await appt.undo_cancel(by=cast.alice.user_id)
    assert exc.value.code == "appointment_not_restorable"
