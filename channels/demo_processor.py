"""The offline demo card processor: Stripe's test payment methods by name, no network.

It stands where Stripe will stand (a processor is the network edge, hence ``channels``):
it takes a ``Payment`` row that ``models.payments.start_payment`` created and moves it
on through the model's rules (``mark_requires_action``, ``settle``), which write the
ledger exactly once. The outcome depends only on the method's name:

- ``pm_card_visa``: succeeds;
- ``pm_card_chargeDeclined``: declined ("Your card was declined.");
- ``pm_card_authenticationRequired``: the bank asks the client to confirm; ``confirm``
  then succeeds and ``cancel`` fails it.

The processor's reference is derived from the payment's idempotency key, so a retry
with the same key names the same "PaymentIntent", as Stripe's idempotency does.
"""

from __future__ import annotations

import base64
import hashlib

from models.payments import (
    Payment,
    PaymentStatus,
    mark_requires_action,
    settle,
)

DECLINED = "card_declined"
CANCELLED = "authentication_cancelled"
DECLINED_MESSAGE = "Your card was declined."
CANCELLED_MESSAGE = "The payment was not confirmed."


def intent_ref(payment: Payment) -> str:
    """``demo_pi_<base32>``: one per idempotency key, like a PaymentIntent's id. Not
    hex: 24 hex characters hold a run of 13+ digits often enough that a stored
    reference can look like a card number to a PAN scan (P-1)."""
    digest = hashlib.sha256(payment.idempotency_key.encode()).digest()
    return "demo_pi_" + base64.b32encode(digest).decode().lower()[:24]


async def submit(payment: Payment, *, by=None, ip: str = "") -> Payment:
    """Charge a pending payment. A payment that has moved on is returned as it is
    (a double submit reaches here twice; the second does nothing)."""
    if payment.status != PaymentStatus.PENDING:
        return payment
    ref = intent_ref(payment)
    if payment.test_method == "pm_card_chargeDeclined":
        return await settle(
            payment,
            False,
            processor_ref=ref,
            failure_code=DECLINED,
            failure_message=DECLINED_MESSAGE,
            by=by,
            ip=ip,
        )
    if payment.test_method == "pm_card_authenticationRequired":
        return await mark_requires_action(payment, processor_ref=ref, by=by, ip=ip)
    return await settle(payment, True, processor_ref=ref, by=by, ip=ip)


async def confirm(payment: Payment, *, by=None, ip: str = "") -> Payment:
    """The client confirmed with their bank: the payment succeeds (once)."""
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        return payment
    return await settle(payment, True, by=by, ip=ip)


async def cancel(payment: Payment, *, by=None, ip: str = "") -> Payment:
    """The client did not confirm: the payment fails, nothing is charged."""
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        return payment
    return await settle(
        payment, False, failure_code=CANCELLED, failure_message=CANCELLED_MESSAGE, by=by, ip=ip
    )
