"""Stripe, through its own SDK: PaymentIntents, SetupIntents, customers and cards.

Like ``channels/demo_processor`` it takes the ``Payment`` row ``models.payments``
made and moves it on through the model's rules, which write the ledger once:

- a saved card: a PaymentIntent created and confirmed at once (``submit``);
- a new card: a PaymentIntent created here (``start_new_card``) and confirmed in the
  browser by Stripe's Payment Element, so the card number goes from the browser to
  Stripe and never through this server; Stripe then sends the client back to
  ``/pay/<id>/return`` and ``refresh`` reads the intent's status;
- every call that creates or moves money carries an ``Idempotency-Key`` derived
  from our own row (``Payment.idempotency_key``), written before the call: a double
  click, a lost answer or a retry after a crash gets Stripe's first answer again,
  never a second charge (security plan P-5);
- the webhook (``channels/stripe_webhook``) applies the same statuses, in any order.

``STRIPE_API_BASE`` points the SDK at a local fake in tests. Calls that cannot reach
Stripe raise ``ProcessorUnavailable``; the payment stays as it was, to be retried
with the same key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import stripe

from models import cards
from models.cards import ProcessorCustomer
from models.errors import RuleError
from models.ledger import SavedCard
from models.payments import (
    NEW_CARD_SAVED,
    Payment,
    PaymentStatus,
    mark_requires_action,
    settle,
)

CURRENCY = "usd"


class ProcessorUnavailable(Exception):
    """Stripe could not be reached or answered with an error of its own."""


@contextlib.asynccontextmanager
async def api(config) -> AsyncIterator[stripe.StripeClient]:
    """A StripeClient for one unit of work (its HTTP client is closed after)."""
    http = stripe.HTTPXClient(timeout=20)
    client = stripe.StripeClient(
        config.stripe_secret_key,
        base_addresses={"api": config.stripe_api_base},
        http_client=http,
        max_network_retries=1,  # the SDK retries with the same Idempotency-Key
    )
    try:
        yield client
    except stripe.StripeError as exc:
        # Unreachable, rate-limited, Stripe's own error, a bad key, or a request Stripe
        # refused that the caller did not expect: nothing was recorded on our side.
        raise ProcessorUnavailable(type(exc).__name__) from exc
    finally:
        await http.close_async()


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a StripeObject or of the plain dict a webhook carries."""
    if obj is None:
        return default
    try:
        value = obj[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


async def customer_ref(sc: stripe.StripeClient, client) -> str:
    """The client's Stripe customer (``cus_...``), created once."""
    found = await ProcessorCustomer.get_or_none(client_id=client.id)
    if found is not None:
        return found.ref
    customer = await sc.v1.customers.create_async(
        params={"metadata": {"client_id": str(client.id)}},  # no name, no email: no PHI
        options={"idempotency_key": f"customer_client_{client.id}"},
    )
    found, _ = await ProcessorCustomer.get_or_create(
        client_id=client.id, defaults={"processor": "stripe", "ref": customer.id}
    )
    return found.ref


def card_label(card: Any) -> str:
    """ "Visa 4242" from a PaymentMethod's ``card``."""
    brand = str(_get(card, "brand", "card")).capitalize()
    return f"{brand} {_get(card, 'last4', '')}".strip()[:32]


async def _payment_method(sc: stripe.StripeClient, pm: Any) -> Any:
    if isinstance(pm, str):
        return await sc.v1.payment_methods.retrieve_async(pm)
    return pm


def _return_url(config, payment: Payment) -> str:
    return f"{config.public_url}/pay/{payment.id}/return"


def _metadata(payment: Payment) -> dict[str, str]:
    # Ids only: Stripe is not told who the client is or what the visit was.
    return {"payment_id": str(payment.id), "client_id": str(payment.client_id)}


async def submit(config, payment: Payment, *, by=None, ip: str = "") -> Payment:
    """Charge a saved card: create and confirm the PaymentIntent in one call."""
    if payment.status != PaymentStatus.PENDING:
        return payment
    card = await SavedCard.get_or_none(id=payment.card_id) if payment.card_id else None
    if card is None:
        raise RuleError("payment_method_invalid")
    client = await payment.client
    async with api(config) as sc:
        customer = await customer_ref(sc, client)
        try:
            intent = await sc.v1.payment_intents.create_async(
                params={
                    "amount": payment.amount_cents,
                    "currency": CURRENCY,
                    "customer": customer,
                    "payment_method": card.processor_ref,
                    "payment_method_types": ["card"],
                    "confirm": True,
                    "return_url": _return_url(config, payment),
                    "metadata": _metadata(payment),
                },
                options={"idempotency_key": payment.idempotency_key},
            )
        except stripe.CardError as exc:
            return await _declined(payment, exc, by=by, ip=ip)
        except stripe.InvalidRequestError as exc:
            if exc.param != "payment_method" and exc.code != "resource_missing":
                raise
            # The card is gone at Stripe (detached there, or deleted).
            return await settle(
                payment,
                False,
                failure_code="card_unusable",
                failure_message="The card on file can no longer be used.",
                by=by,
                ip=ip,
            )
        except stripe.IdempotencyError as exc:
            # Our key with other parameters: a bug to surface, never a second charge.
            raise ProcessorUnavailable("idempotency_error") from exc
        return await apply_intent(sc, payment, intent, by=by, ip=ip)


async def _declined(payment: Payment, exc: stripe.CardError, *, by=None, ip: str = "") -> Payment:
    intent = _get(_get(exc.json_body, "error", {}), "payment_intent", {})
    return await settle(
        payment,
        False,
        processor_ref=_get(intent, "id", payment.processor_ref),
        failure_code="card_declined" if exc.code == "card_declined" else (exc.code or "failed"),
        failure_message=(exc.user_message or "")[:200],
        by=by,
        ip=ip,
    )


async def start_new_card(config, payment: Payment) -> str:
    """Create (once: same key, same intent) the PaymentIntent a new card will confirm in
    the browser, and return its client secret for Stripe's Payment Element."""
    client = await payment.client
    async with api(config) as sc:
        customer = await customer_ref(sc, client)
        params: dict[str, Any] = {
            "amount": payment.amount_cents,
            "currency": CURRENCY,
            "customer": customer,
            "payment_method_types": ["card"],
            "metadata": _metadata(payment),
        }
        if payment.test_method == NEW_CARD_SAVED:
            params["setup_future_usage"] = "off_session"
        try:
            intent = await sc.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": payment.idempotency_key}
            )
        except stripe.IdempotencyError as exc:
            raise ProcessorUnavailable("idempotency_error") from exc
    if payment.processor_ref != intent.id:
        await Payment.filter(id=payment.id, processor_ref="").update(processor_ref=intent.id)
    return intent.client_secret


async def waiting(config, payment: Payment) -> tuple[str, str]:
    """(client secret, the bank's page or "") of an open intent: the secret mounts the
    Payment Element; the bank's page (``next_action.redirect_to_url``) is a plain link,
    so confirming with the bank works without JavaScript."""
    async with api(config) as sc:
        intent = await sc.v1.payment_intents.retrieve_async(payment.processor_ref)
    action = _get(intent, "next_action", {})
    bank = _get(_get(action, "redirect_to_url", {}), "url", "")
    if not (isinstance(bank, str) and bank.startswith(("https://", "http://"))):
        bank = ""
    return intent.client_secret, bank


async def refresh(config, payment: Payment, *, by=None, ip: str = "") -> Payment:
    """Read the intent's status at Stripe and apply it (the return from the browser)."""
    if not payment.processor_ref.startswith("pi_"):
        return payment
    async with api(config) as sc:
        intent = await sc.v1.payment_intents.retrieve_async(payment.processor_ref)
        return await apply_intent(sc, payment, intent, by=by, ip=ip)


async def apply_intent(
    sc: stripe.StripeClient | None,
    payment: Payment,
    intent: Any,
    *,
    label: str = "",
    by=None,
    via: str = "web",
    ip: str = "",
) -> Payment:
    """Move ``payment`` to what the PaymentIntent says, monotonically: succeeded is
    final (it wins over an earlier failure), a failure only ends an open payment,
    "requires action" only follows "pending". ``sc`` (or None inside a webhook's
    transaction, given the card's ``label`` already) fetches the card's label."""
    status = _get(intent, "status", "")
    ref = _get(intent, "id", payment.processor_ref)
    if status == "succeeded":
        pm = _get(intent, "payment_method")
        if sc is not None and pm:
            method = await _payment_method(sc, pm)
            label = card_label(_get(method, "card"))
            if payment.test_method == NEW_CARD_SAVED and payment.status != PaymentStatus.SUCCEEDED:
                await _keep_card(payment, method)
        return await settle(
            payment,
            True,
            processor_ref=ref,
            method_label=label,
            processor_confirmed=True,
            by=by,
            via=via,
            ip=ip,
        )
    if status == "requires_action":
        return await mark_requires_action(payment, processor_ref=ref, by=by, via=via, ip=ip)
    error = _get(intent, "last_payment_error")
    if status == "canceled" or (status == "requires_payment_method" and error):
        code = "canceled" if status == "canceled" else _get(error, "code", "failed")
        if code == "payment_intent_authentication_failure":
            code = "authentication_cancelled"
        return await settle(
            payment,
            False,
            processor_ref=ref,
            failure_code=code,
            failure_message=str(_get(error, "message", ""))[:200],
            by=by,
            via=via,
            ip=ip,
        )
    return payment  # processing, or waiting for the card: nothing to record yet


async def _keep_card(payment: Payment, method: Any) -> None:
    """A new card the client asked to keep on file (their consent was the checkbox)."""
    with contextlib.suppress(RuleError):  # over the limit: the payment still counts
        await _add_card(await payment.client, await payment.paid_by, method, consent=True)


async def _add_card(client, by, method: Any, *, consent: bool, nickname: str = "") -> SavedCard:
    """Put Stripe's PaymentMethod ``method`` on file (``models.cards.add_card``)."""
    card = _get(method, "card", {})
    return await cards.add_card(
        client,
        by,
        processor="stripe",
        ref=_get(method, "id", ""),
        brand=str(_get(card, "brand", "card")),
        last4=str(_get(card, "last4", "")),
        exp_month=int(_get(card, "exp_month", 0)),
        exp_year=int(_get(card, "exp_year", 0)),
        consent=consent,
        nickname=nickname,
    )


async def start_setup(config, client, by, *, nickname: str) -> str:
    """A SetupIntent for adding a card in My Profile; returns its client secret. The
    adder's consent was given on the form before this (``consent`` in metadata)."""
    async with api(config) as sc:
        customer = await customer_ref(sc, client)
        intent = await sc.v1.setup_intents.create_async(
            params={
                "customer": customer,
                "usage": "off_session",
                "payment_method_types": ["card"],
                "metadata": {
                    "client_id": str(client.id),
                    "added_by": str(by.id),
                    "consent": "1",
                    "nickname": nickname[:64],
                },
            }
        )
    return intent.client_secret


async def finish_setup(config, client, by, setup_intent_id: str) -> SavedCard:
    """Stripe sent the browser back from adding a card: keep it if the SetupIntent is
    ours (this client, this person), consented to and succeeded."""
    if not (setup_intent_id.startswith("seti_") and len(setup_intent_id) <= 100):
        raise RuleError("card_invalid")
    async with api(config) as sc:
        try:
            intent = await sc.v1.setup_intents.retrieve_async(setup_intent_id)
        except stripe.InvalidRequestError as exc:
            raise RuleError("card_invalid") from exc
        meta = _get(intent, "metadata", {})
        customer = await ProcessorCustomer.get_or_none(client_id=client.id)
        if (
            customer is None
            or _get(intent, "customer") != customer.ref
            or _get(meta, "client_id") != str(client.id)
            or _get(meta, "added_by") != str(by.id)
        ):
            raise RuleError("card_invalid")
        if _get(intent, "status") != "succeeded":
            raise RuleError("card_not_added")
        method = await _payment_method(sc, _get(intent, "payment_method"))
    return await _add_card(
        client,
        by,
        method,
        consent=_get(meta, "consent") == "1",
        nickname=str(_get(meta, "nickname", "")),
    )


async def detach(config, card: SavedCard) -> None:
    """Take the card off the customer at Stripe (already gone there is fine)."""
    async with api(config) as sc:
        try:
            await sc.v1.payment_methods.detach_async(card.processor_ref)
        except stripe.InvalidRequestError as exc:
            if exc.code not in ("resource_missing", "payment_method_unexpected_state"):
                raise ProcessorUnavailable("detach") from exc
