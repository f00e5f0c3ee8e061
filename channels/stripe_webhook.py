"""Stripe's webhook, ``POST /stripe/webhook``: verified, deduplicated, any order.

1. The signature: ``stripe.Webhook.construct_event`` over the raw bytes with the
   300 s tolerance (old timestamps), and, because the SDK accepts any timestamp in
   the future, we refuse ``t`` more than 300 s ahead too (security plan P-2). Any
   ``v1`` value may match (a rotated secret). Anything else: 400, nothing done.
2. The object must be ours: a PaymentIntent whose id we stored, or whose metadata
   names one of our payments with the same amount and no other intent (Z-3).
3. The event's row and its effect commit together (``models.processor_events``): a
   second delivery changes nothing (P-3). Effects are monotonic, so the order does
   not matter (P-4): success is final and wins over a failure; a refund's total only
   grows and proves the payment succeeded; a dispute is noted once and the practice's
   billers are emailed (no client details).

Returns (status, JSON-able body). Events we don't act on are recorded and answered
200, so Stripe stops retrying them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import stripe

from channels import stripe_processor
from channels.billing_alerts import alert_billers
from models.payments import Payment, record_dispute, record_refund
from models.processor_events import apply_once

log = logging.getLogger("portal.stripe")
TOLERANCE = 300  # seconds, both ways
MAX_BODY = 256 * 1024
INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.created",
}


class BadSignature(Exception):
    pass


def verify(raw: bytes, header: str, secret: str, now: float | None = None) -> dict[str, Any]:
    """The event, if ``header`` signs ``raw`` with ``secret`` within the tolerance."""
    if not secret or not header or len(raw) > MAX_BODY or len(header) > 2048:
        raise BadSignature("missing")
    stamps = [p[2:] for p in header.split(",") if p.startswith("t=")]
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
        raise BadSignature("timestamp")
    now = time.time() if now is None else now
    if int(stamps[0]) > now + TOLERANCE:
        raise BadSignature("future timestamp")
    try:
        stripe.Webhook.construct_event(raw, header, secret, tolerance=TOLERANCE)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadSignature(type(exc).__name__) from exc
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise BadSignature("json") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise BadSignature("shape")
    return event


def _object(event: dict) -> dict:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


async def _ours(intent_id: Any, intent: dict | None = None) -> Payment | None:
    """Our payment for this PaymentIntent id, or None (not ours, or not this amount)."""
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        return None
    payment = await Payment.get_or_none(processor="stripe", processor_ref=intent_id[:64])
    if payment is not None or intent is None:
        return payment
    meta = intent.get("metadata") if isinstance(intent.get("metadata"), dict) else {}
    raw = str(meta.get("payment_id", ""))
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        return None
    payment = await Payment.get_or_none(id=int(raw), processor="stripe", processor_ref="")
    if payment is None or payment.amount_cents != intent.get("amount"):
        return None
    if str(meta.get("client_id", "")) != str(payment.client_id):
        return None
    return payment


async def receive(config, raw: bytes, header: str) -> tuple[int, dict]:
    try:
        event = verify(raw, header, config.stripe_webhook_secret)
    except BadSignature as exc:
        log.warning("authz_fail stripe_signature reason=%s", exc)
        return 400, {"error": "bad signature"}
    kind = str(event.get("type", ""))[:64]
    obj = _object(event)
    intent_id = obj.get("id") if kind.startswith("payment_intent.") else obj.get("payment_intent")
    payment = await _ours(intent_id, obj if kind.startswith("payment_intent.") else None)
    label = ""
    if payment is not None and kind == "payment_intent.succeeded" and obj.get("payment_method"):
        try:  # the card's "Visa 4242" for the ledger, read before the transaction
            async with stripe_processor.api(config) as sc:
                method = await sc.v1.payment_methods.retrieve_async(obj["payment_method"])
            label = stripe_processor.card_label(method["card"])
        except (stripe_processor.ProcessorUnavailable, stripe.StripeError, KeyError):
            label = ""

    async def effect() -> tuple[str, int | None]:
        if payment is None:
            return "not_ours", None
        fresh = await Payment.get(id=payment.id)
        if kind in INTENT_EVENTS:
            after = await stripe_processor.apply_intent(None, fresh, obj, label=label, via="stripe")
            return f"payment_{after.status}", payment.id
        if kind == "charge.refunded":
            total = obj.get("amount_refunded")
            if not isinstance(total, int) or isinstance(total, bool):
                return "ignored", payment.id
            await record_refund(fresh, total, reference=str(obj.get("id", ""))[:64])
            return "refunded", payment.id
        if kind == "charge.dispute.created":
            if await record_dispute(fresh, reason=str(obj.get("reason", ""))):
                client = await fresh.client
                await alert_billers(client, dedupe=f"dispute:{payment.id}")
            return "disputed", payment.id
        return "ignored", payment.id

    outcome = await apply_once(
        processor="stripe",
        event_id=event["id"][:100],
        type=kind,
        object_ref=str(intent_id or obj.get("id", ""))[:64],
        effect=effect,
    )
    log.info("stripe event=%s type=%s outcome=%s", event["id"][:40], kind, outcome)
    return 200, {"received": True}
