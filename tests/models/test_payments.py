"""Online payments' rules: amounts, methods (a guardian pays only with their own cards),
one payment per form token even under concurrency, and settling exactly once with the
payment spread over the open charges oldest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from channels import demo_processor
from models.audit import AuditEvent
from models.errors import RuleError
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation, SavedCard, totals_for
from models.payments import (
    MAX_PAYMENT_CENTS,
    Payment,
    PaymentStatus,
    cards_for,
    open_charges,
    settle,
    start_payment,
)
from models.practice import Practice

TOKEN = "tok_" + "a" * 28

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # when the test cards were consented to


def token(n: int) -> str:
    return f"tok_{n:028d}"


async def alice_user(cast):
    await cast.alice.fetch_related("user")
    return cast.alice.user


async def card_of(client, added_by, processor_ref="pm_card_visa", last4="4242") -> SavedCard:
    return await SavedCard.create(
        consented_at=NOW,
        client=client,
        added_by=added_by,
        processor_ref=processor_ref,
        brand="visa",
        last4=last4,
        exp_month=12,
        exp_year=2030,
    )


async def pay(cast, amount, *, tok=TOKEN, method="pm_card_visa", client=None, by=None):
    client = client or cast.alice
    by = by or await alice_user(cast)
    return await start_payment(client, by=by, amount_cents=amount, token=tok, method=method)


# --- amounts -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, -15000, 12.5, "100", True, None])
async def test_an_amount_must_be_whole_cents_above_zero(cast, amount):
    with pytest.raises(RuleError) as exc:
        await pay(cast, amount)
    assert exc.value.code == "payment_amount_invalid"
    assert await Payment.all().count() == 0


async def test_an_amount_is_at_most_the_balance_unless_the_practice_allows_credit(cast):
    balance = (await totals_for(cast.alice.id)).balance  # 150 + 150 - 30 = 270.00
    assert balance == 27000
    with pytest.raises(RuleError) as exc:
        await pay(cast, balance + 1)
    assert exc.value.code == "payment_more_than_balance"
    assert (await pay(cast, balance)).amount_cents == balance
    await Practice.filter(id=cast.practice.id).update(portal_settings={"allow_credit": True})
    assert (await pay(cast, balance + 1, tok=token(2))).amount_cents == balance + 1


async def test_an_amount_is_never_more_than_fifty_thousand_dollars(cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"allow_credit": True})
    with pytest.raises(RuleError) as exc:
        await pay(cast, MAX_PAYMENT_CENTS + 1)
    assert exc.value.code == "payment_amount_too_large"
    assert (await pay(cast, MAX_PAYMENT_CENTS)).amount_cents == MAX_PAYMENT_CENTS


async def test_nothing_can_be_paid_without_a_processor_or_a_token(cast):
    with pytest.raises(RuleError) as exc:
        await pay(cast, 1000, tok="")
    assert exc.value.code == "payment_token_missing"
    with pytest.raises(RuleError) as exc:
        await pay(cast, 1000, tok="short")
    assert exc.value.code == "payment_token_missing"
    await Practice.filter(id=cast.practice.id).update(payment_processor="")
    with pytest.raises(RuleError) as exc:
        await pay(cast, 1000)
    assert exc.value.code == "payments_unavailable"
    assert await Payment.all().count() == 0


# --- methods -----------------------------------------------------------------------


async def test_a_method_is_a_card_of_this_client_or_a_demo_test_method(cast):
    alice = await alice_user(cast)
    await cast.bob.fetch_related("user")
    bobs = await card_of(cast.bob, cast.bob.user)
    for method in (f"card:{bobs.id}", "card:999999", "card:x", "card:-1", "4242424242424242", ""):
        with pytest.raises(RuleError) as exc:
            await pay(cast, 1000, method=method, tok=token(len(method)))
        assert exc.value.code == "payment_method_invalid", method
    mine = await card_of(cast.alice, alice)
    payment = await pay(cast, 1000, method=f"card:{mine.id}")
    assert payment.card_id == mine.id and payment.method_label == "Visa 4242"
    assert payment.test_method == "pm_card_visa"  # the demo charges the card's test method


async def test_demo_methods_only_exist_with_the_demo_processor(cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="stripe")
    with pytest.raises(RuleError) as exc:
        await pay(cast, 1000, method="pm_card_visa")
    assert exc.value.code == "payment_method_invalid"


async def test_a_guardian_pays_only_with_the_cards_they_added(cast):
    await LedgerEntry.create(
        client=cast.dana, kind=EntryKind.CHARGE, posted_on=date(2026, 11, 2), amount_cents=8000
    )
    parents = await card_of(cast.dana, cast.gina, last4="1111")
    other = await another_adult()
    someone_elses = await card_of(cast.dana, other, last4="5556")
    assert [c.id for c in await cards_for(cast.dana.id, cast.gina.id, is_self=False)] == [
        parents.id
    ]
    with pytest.raises(RuleError) as exc:
        await pay(cast, 1000, client=cast.dana, by=cast.gina, method=f"card:{someone_elses.id}")
    assert exc.value.code == "payment_method_invalid"
    payment = await pay(cast, 1000, client=cast.dana, by=cast.gina, method=f"card:{parents.id}")
    assert payment.paid_by_id == cast.gina.id and payment.card_id == parents.id


async def another_adult():  # who added a card for Dana too
    from models.people import User

    return await User.create(email="other@test.example", display_name="Other", password_hash="x")


# --- one payment per token -----------------------------------------------------------


async def test_the_same_token_gives_the_same_payment(cast):
    first = await pay(cast, 1000)
    again = await pay(cast, 1000)
    assert again.id == first.id
    assert first.idempotency_key == f"pay_{cast.alice.id}_{TOKEN}"
    with pytest.raises(RuleError) as exc:  # the same key with other values is surfaced
        await pay(cast, 2000)
    assert exc.value.code == "payment_token_reused"
    assert await Payment.all().count() == 1


async def test_concurrent_starts_with_one_token_make_one_row(cast):
    results = await asyncio.gather(*(pay(cast, 1000) for _ in range(8)))
    assert len({p.id for p in results}) == 1
    assert await Payment.all().count() == 1


# --- settling ----------------------------------------------------------------------


async def test_a_payment_is_spread_over_open_charges_oldest_first(cast):
    charges = await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CHARGE).order_by(
        "posted_on"
    )
    # An earlier allocation already paid 100.00 of the October charge.
    earlier = await LedgerEntry.create(
        client=cast.alice,
        kind=EntryKind.CLIENT_PAYMENT,
        posted_on=date(2026, 10, 5),
        amount_cents=10000,
    )
    await PaymentAllocation.create(payment=earlier, charge=charges[0], amount_cents=10000)
    assert [owed for _, owed in await open_charges(cast.alice.id)] == [5000, 15000]
    payment = await demo_processor.submit(await pay(cast, 7000))
    assert payment.status == PaymentStatus.SUCCEEDED
    entry = await LedgerEntry.get(id=payment.ledger_entry_id)
    assert entry.kind == EntryKind.CLIENT_PAYMENT and entry.amount_cents == 7000
    assert entry.reference == payment.processor_ref and payment.processor_ref.startswith("demo_pi_")
    allocations = await PaymentAllocation.filter(payment=entry).order_by("id")
    assert [(a.charge_id, a.amount_cents) for a in allocations] == [
        (charges[0].id, 5000),
        (charges[1].id, 2000),
    ]


async def test_what_is_left_over_stays_a_credit(cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"allow_credit": True})
    before = (await totals_for(cast.alice.id)).balance
    payment = await demo_processor.submit(await pay(cast, 40000))
    allocated = sum(
        a.amount_cents for a in await PaymentAllocation.filter(payment_id=payment.ledger_entry_id)
    )
    assert allocated == 30000  # both charges in full; 100.00 unallocated
    assert (await totals_for(cast.alice.id)).balance == before - 40000


async def test_settling_happens_exactly_once(cast):
    payment = await pay(cast, 5000)
    results = await asyncio.gather(*(settle(payment, True) for _ in range(5)))
    assert {p.status for p in results} == {PaymentStatus.SUCCEEDED}
    assert len({p.ledger_entry_id for p in results}) == 1
    again = await settle(payment, False, failure_code="card_declined")
    assert again.status == PaymentStatus.SUCCEEDED and again.failure_code == ""
    entries = await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CLIENT_PAYMENT)
    assert [e.amount_cents for e in entries] == [3000, 5000]
    events = await AuditEvent.filter(object_type="payment", object_id=str(payment.id))
    assert [e.action for e in events] == ["payment.succeeded"]
    assert events[0].details["amount_cents"] == 5000


async def test_a_declined_payment_writes_no_ledger_entry(cast):
    payment = await demo_processor.submit(await pay(cast, 5000, method="pm_card_chargeDeclined"))
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert payment.failure_message == "Your card was declined."
    assert payment.ledger_entry_id is None
    assert await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CLIENT_PAYMENT).count() == 1
    assert await demo_processor.submit(payment) is payment  # settled: nothing more happens


async def test_a_payment_the_bank_questions_waits_for_the_client(cast):
    payment = await demo_processor.submit(
        await pay(cast, 5000, method="pm_card_authenticationRequired")
    )
    assert payment.status == PaymentStatus.REQUIRES_ACTION and payment.ledger_entry_id is None
    confirmed = await demo_processor.confirm(payment)
    assert confirmed.status == PaymentStatus.SUCCEEDED and confirmed.ledger_entry_id
    assert (await demo_processor.confirm(confirmed)).ledger_entry_id == confirmed.ledger_entry_id
    assert (await demo_processor.cancel(confirmed)).status == PaymentStatus.SUCCEEDED
    other = await demo_processor.submit(
        await pay(cast, 5000, tok=token(9), method="pm_card_authenticationRequired")
    )
    cancelled = await demo_processor.cancel(other)
    assert cancelled.status == PaymentStatus.FAILED
    assert cancelled.failure_code == "authentication_cancelled"
    assert await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CLIENT_PAYMENT).count() == 2
