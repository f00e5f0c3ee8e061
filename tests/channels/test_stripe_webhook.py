"""Stripe's webhook: Stripe's own signatures (made by the fake with Stripe's algorithm)
are checked on the raw body, events apply once and in any order, and only to our own
payments (security plan P-2, P-3, P-4, Z-3)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest

from channels import stripe_processor
from models.ledger import EntryKind, LedgerEntry
from models.outbox import OutboxMessage
from models.payments import NEW_CARD, Payment, PaymentStatus, start_payment
from models.practice import Practice
from models.processor_events import ProcessorEvent

URL = "/stripe/webhook"


@pytest.fixture
def config_overrides(fake_stripe):
    return fake_stripe.config_overrides()


@pytest.fixture
async def alice(cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="stripe")
    await cast.alice.fetch_related("user")
    return cast.alice


_tokens = itertools.count(1)


async def new_payment(app, alice, fake, amount=2500) -> Payment:
    """A payment with its PaymentIntent made at Stripe, waiting for the card."""
    payment = await start_payment(
        alice,
        by=alice.user,
        amount_cents=amount,
        token=f"webhook-test-token-{next(_tokens):04d}",
        method=NEW_CARD,
    )
    await stripe_processor.start_new_card(app.app.config["PORTAL"], payment)
    return await Payment.get(id=payment.id)


async def confirm(fake, intent: str, token: str) -> None:
    """The browser confirming the Payment Element with a test card (errors are the
    decline, which the fake records as an event)."""
    try:
        await asyncio.to_thread(
            fake.client().v1.payment_intents.confirm, intent, params={"payment_method": token}
        )
    except Exception as exc:  # noqa: BLE001 - a decline is what some tests want
        assert "declined" in str(exc)


async def deliver(client, fake, event: dict, **sign):
    body, headers = fake.webhook_request(event, **sign)
    return await client.post(URL, data=body, headers=headers)


def event_of(fake, object_id: str, kind: str) -> dict:
    [event] = [e for e in fake.events_for(object_id) if e["type"] == kind]
    return event


# --- P-2: the signature ----------------------------------------------------------------


async def test_only_a_valid_signature_over_the_raw_bytes_is_accepted(
    app, client, alice, fake_stripe
):
    payment = await new_payment(app, alice, fake_stripe)
    await confirm(fake_stripe, payment.processor_ref, "pm_card_visa")
    event = event_of(fake_stripe, payment.processor_ref, "payment_intent.succeeded")
    body, headers = fake_stripe.webhook_request(event)
    now = int(time.time())
    bad = {
        "one byte changed": (body.replace(b'"succeeded"', b'"succeedee"'), headers),
        "wrong secret": fake_stripe.webhook_request(event, secret="whsec_wrong"),
        "no header": (body, {"Content-Type": "application/json"}),
        "301 s old": fake_stripe.webhook_request(event, timestamp=now - 301),
        "301 s ahead": fake_stripe.webhook_request(event, timestamp=now + 301),
        "v0 only": (
            body,
            {**headers, "Stripe-Signature": fake_stripe.sign(body, timestamp=now, schemes=("v0",))},
        ),
        "re-serialized": (json.dumps(json.loads(body), separators=(",", ":")).encode(), headers),
    }
    assert bad["re-serialized"][0] != body
    for name, (raw, hdrs) in bad.items():
        response = await client.post(URL, data=raw, headers=hdrs)
        assert response.status_code == 400, name
    assert await ProcessorEvent.all().count() == 0
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.PENDING
    # A rotated secret: two v1 values, one of them right.
    rotated = fake_stripe.sign(body, secret="whsec_old", timestamp=now, extra_v1=())
    right = fake_stripe.sign(body, timestamp=now).split("v1=")[1]
    response = await client.post(
        URL, data=body, headers={**headers, "Stripe-Signature": f"{rotated},v1={right}"}
    )
    assert response.status_code == 200
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.SUCCEEDED


# --- P-3: duplicates ---------------------------------------------------------------------


async def test_one_event_delivered_four_times_applies_once(app, client, alice, fake_stripe):
    payment = await new_payment(app, alice, fake_stripe)
    await confirm(fake_stripe, payment.processor_ref, "pm_card_visa")
    event = event_of(fake_stripe, payment.processor_ref, "payment_intent.succeeded")
    responses = await asyncio.gather(*(deliver(client, fake_stripe, event) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert (await deliver(client, fake_stripe, event)).status_code == 200
    assert await ProcessorEvent.filter(event_id=event["id"]).count() == 1
    payment = await Payment.get(id=payment.id)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.method_label == "Visa 4242"
    entries = await LedgerEntry.filter(
        kind=EntryKind.CLIENT_PAYMENT, reference=payment.processor_ref
    )
    assert [e.amount_cents for e in entries] == [2500]


# --- P-4: any order ----------------------------------------------------------------------


async def test_events_in_every_order_end_where_stripe_ended(app, client, alice, fake_stripe, cast):
    """A first card declined, a second one succeeding on the same intent, part refunded,
    then disputed: all 24 orders of those four events (each also sent twice) leave the
    payment succeeded, $5.00 refunded once, disputed, and one email to the biller."""
    orders = list(itertools.permutations(range(4)))
    cases = []
    for _ in orders:
        payment = await new_payment(app, alice, fake_stripe)
        pi = payment.processor_ref
        await confirm(fake_stripe, pi, "pm_card_chargeDeclined")
        await confirm(fake_stripe, pi, "pm_card_visa")
        charge = fake_stripe.get(pi)["latest_charge"]
        await asyncio.to_thread(
            fake_stripe.client().v1.refunds.create, params={"payment_intent": pi, "amount": 500}
        )
        fake_stripe.dispute(charge)
        events = [
            event_of(fake_stripe, pi, "payment_intent.payment_failed"),
            event_of(fake_stripe, pi, "payment_intent.succeeded"),
            event_of(fake_stripe, charge, "charge.refunded"),
            [e for e in fake_stripe.events if e["type"] == "charge.dispute.created"][-1],
        ]
        cases.append((payment, events))
    for order, (_, events) in zip(orders, cases, strict=True):
        for index in order + order[:2]:  # every event, and two of them again
            assert (await deliver(client, fake_stripe, events[index])).status_code == 200
    for payment, _ in cases:
        payment = await Payment.get(id=payment.id)
        assert payment.status == PaymentStatus.SUCCEEDED, payment.id
        assert payment.refunded_cents == 500 and payment.disputed_at is not None
        refunds = await LedgerEntry.filter(kind=EntryKind.REFUND, client_id=alice.id)
        paid = await LedgerEntry.filter(id=payment.ledger_entry_id)
        assert [p.amount_cents for p in paid] == [2500]
    refunds = await LedgerEntry.filter(kind=EntryKind.REFUND, client_id=alice.id)
    assert sorted(r.amount_cents for r in refunds) == [500] * len(orders)
    await cast.bea.fetch_related("user")
    alerts = await OutboxMessage.filter(to=cast.bea.user.email, subject__contains="disputed")
    assert len(alerts) == len(orders)
    for alert in alerts:
        assert "25.00" not in alert.body and "Alice" not in alert.body


# --- Z-3: only our own payments ----------------------------------------------------------


async def test_an_intent_that_is_not_ours_changes_nothing(app, client, alice, fake_stripe):
    payment = await new_payment(app, alice, fake_stripe)
    stranger = await asyncio.to_thread(
        fake_stripe.client().v1.payment_intents.create,
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method_types": ["card"],
            # Claims our payment, but Stripe's intent for it is another one.
            "metadata": {"payment_id": str(payment.id), "client_id": str(alice.id)},
        },
    )
    await confirm(fake_stripe, stranger.id, "pm_card_visa")
    event = event_of(fake_stripe, stranger.id, "payment_intent.succeeded")
    assert (await deliver(client, fake_stripe, event)).status_code == 200
    assert (await ProcessorEvent.get(event_id=event["id"])).outcome == "not_ours"
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.PENDING
    assert not await LedgerEntry.filter(reference=stranger.id).exists()


async def test_a_refund_larger_than_the_payment_is_capped(app, client, alice, fake_stripe):
    payment = await new_payment(app, alice, fake_stripe, amount=1000)
    await confirm(fake_stripe, payment.processor_ref, "pm_card_visa")
    event = event_of(fake_stripe, payment.processor_ref, "payment_intent.succeeded")
    await deliver(client, fake_stripe, event)
    charge = fake_stripe.get(payment.processor_ref)["latest_charge"]
    forged = {
        "id": "evt_forged_big_refund",
        "object": "event",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": charge,
                "payment_intent": payment.processor_ref,
                "amount_refunded": 99999,
            }
        },
    }
    assert (await deliver(client, fake_stripe, forged)).status_code == 200
    payment = await Payment.get(id=payment.id)
    assert payment.refunded_cents == 1000
    refunds = await LedgerEntry.filter(kind=EntryKind.REFUND, client_id=alice.id)
    assert [r.amount_cents for r in refunds] == [1000]


async def test_a_crash_after_stripe_made_the_intent_is_recovered_by_key_and_webhook(
    app, client, alice, fake_stripe
):
    """P-5 (3): the server made the PaymentIntent (with our key) and died before storing
    its id. The webhook finds our payment by the intent's metadata; the same form sent
    again gets the same intent back (Stripe's idempotency), never a second one."""
    payment = await start_payment(
        alice, by=alice.user, amount_cents=1800, token="crash-test-token-0001", method=NEW_CARD
    )
    config = app.app.config["PORTAL"]
    async with stripe_processor.api(config) as sc:
        customer = await stripe_processor.customer_ref(sc, alice)
        made = await sc.v1.payment_intents.create_async(
            params={
                "amount": 1800,
                "currency": "usd",
                "customer": customer,
                "payment_method_types": ["card"],
                "metadata": {"payment_id": str(payment.id), "client_id": str(alice.id)},
            },
            options={"idempotency_key": payment.idempotency_key},
        )
    assert (await Payment.get(id=payment.id)).processor_ref == ""  # the crash: not stored
    await stripe_processor.start_new_card(config, payment)  # the form sent again
    assert (await Payment.get(id=payment.id)).processor_ref == made.id
    assert len(fake_stripe.payment_intents) == 1
    await confirm(fake_stripe, made.id, "pm_card_visa")
    await Payment.filter(id=payment.id).update(processor_ref="")  # died again, before storing
    event = event_of(fake_stripe, made.id, "payment_intent.succeeded")
    assert (await deliver(client, fake_stripe, event)).status_code == 200
    payment = await Payment.get(id=payment.id)
    assert (payment.status, payment.processor_ref) == (PaymentStatus.SUCCEEDED, made.id)
    assert len(fake_stripe.paid_charges) == 1
