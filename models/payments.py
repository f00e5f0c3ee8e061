"""Card payments a client (or their guardian) makes online: the rules every face uses.

A payment is a row before it is anything else. ``start_payment`` validates the amount
and the method and creates the row keyed by the form's one-time token
(``idempotency_key``, unique), so a double click or a retry with the same token finds
the same payment and never makes a second one. A processor (``channels/demo_processor``
now, Stripe later) then moves it on: ``mark_requires_action`` when the bank asks the
client to confirm, and ``settle`` when it succeeded or failed.

``settle(payment, True)`` writes, in one transaction and exactly once, the
CLIENT_PAYMENT ledger entry and its allocations over the client's open charges, oldest
first; what is left over stays unallocated (a credit). Settling again is a no-op.

No card number is ever typed, sent or stored: a payment names a ``SavedCard`` (the
processor's token and what a person needs to pick it) or one of the processor's test
methods, by name.
"""

from __future__ import annotations

import re
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation, SavedCard, totals_for

MAX_PAYMENT_CENTS = 5_000_000  # $50,000.00
MIN_STRIPE_CENTS = 50  # Stripe refuses card charges under $0.50 (amount_too_small)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# The demo processor's test methods, named like Stripe's test PaymentMethods. Nothing
# but these names (and SavedCard ids) ever identifies a method.
DEMO_METHODS = ("pm_card_visa", "pm_card_chargeDeclined", "pm_card_authenticationRequired")
# With Stripe, a card typed into Stripe's Payment Element (once, or kept on file after).
NEW_CARD, NEW_CARD_SAVED = "new", "new_saved"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


OPEN_STATUSES = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)


class Payment(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="payments")
    paid_by = fields.ForeignKeyField(
        "portal.User", related_name="payments_made", on_delete=fields.RESTRICT
    )
    amount_cents = fields.IntField()
    status = fields.CharEnumField(PaymentStatus, max_length=20, default=PaymentStatus.PENDING)
    processor = fields.CharField(max_length=16)  # "demo" | "stripe"
    processor_ref = fields.CharField(max_length=64, default="")  # "demo_pi_...", "pi_..."
    # Derived from our own form token ("pay_<client>_<token>"): the same key is sent to
    # the processor on every retry.
    idempotency_key = fields.CharField(max_length=100, unique=True)
    card = fields.ForeignKeyField(
        "portal.SavedCard", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    test_method = fields.CharField(max_length=40, default="")  # one of DEMO_METHODS, or ""
    method_label = fields.CharField(max_length=32, default="")  # "Visa 4242"
    failure_code = fields.CharField(max_length=40, default="")
    failure_message = fields.CharField(max_length=200, default="")
    ledger_entry = fields.OneToOneField(
        "portal.LedgerEntry", related_name="online_payment", null=True, on_delete=fields.RESTRICT
    )
    refunded_cents = fields.IntField(default=0)  # what the processor gave back, in all
    disputed_at = fields.DatetimeField(null=True)  # the cardholder disputed it at their bank
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "payment"
        indexes = (("client_id", "created_at"),)


def idempotency_key(client_id: int, token: str) -> str:
    return f"pay_{client_id}_{token}"


async def cards_for(client_id: int, user_id: int, *, is_self: bool) -> list[SavedCard]:
    """The cards this user may pay with for this client: all of the client's own when
    they are the client; a guardian or other contact only the cards they added."""
    query = SavedCard.filter(client_id=client_id)
    if not is_self:
        query = query.filter(added_by_id=user_id)
    return await query.order_by("-is_default", "id")


def card_label(card: SavedCard) -> str:
    return f"{card.brand.capitalize()} {card.last4}"[:32]


DEMO_LABELS = {
    "pm_card_visa": "Demo card: succeeds",
    "pm_card_chargeDeclined": "Demo card: declined",
    "pm_card_authenticationRequired": "Demo card: confirm",
}


async def _method(client, by, method: str, processor: str) -> tuple[SavedCard | None, str, str]:
    """(card, test method, label) for ``method``: ``card:<id>`` or a test method's name."""
    method = (method or "").strip()
    if method.startswith("card:"):
        raw = method.removeprefix("card:")
        if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31):
            raise RuleError("payment_method_invalid")
        card = await SavedCard.get_or_none(id=int(raw), client_id=client.id)
        if card is None:
            raise RuleError("payment_method_invalid")
        is_self = client.user_id is not None and client.user_id == by.id
        if not is_self and card.added_by_id != by.id:
            raise RuleError("payment_method_invalid")
        return card, "", card_label(card)
    if processor == "demo" and method in DEMO_METHODS:
        return None, method, DEMO_LABELS[method]
    if processor == "stripe" and method in (NEW_CARD, NEW_CARD_SAVED):
        # Typed into Stripe's own form on the next page; the label comes from Stripe.
        return None, method, "Card"
    raise RuleError("payment_method_invalid")


async def max_payment_cents(client_id: int, practice) -> int:
    """The most this client may pay now: their balance, or up to the cap when the
    practice takes payments beyond it (``allow_credit``)."""
    from models.settings import practice_settings

    if practice_settings(practice)["allow_credit"]:
        return MAX_PAYMENT_CENTS
    return min(max((await totals_for(client_id)).balance, 0), MAX_PAYMENT_CENTS)


async def start_payment(client, *, by, amount_cents: int, token: str, method: str) -> Payment:
    """Create the payment for this form submission, or return the one it already made.

    ``client`` is the client paid for (with ``practice`` joined or not); ``by`` the
    signed-in user (the route has checked they may act for the client's billing);
    ``token`` the form's one-time token; ``method`` ``card:<SavedCard id>`` or one of
    ``DEMO_METHODS`` (demo processor only). Refusals are ``RuleError`` codes.
    """
    from models.practice import Practice

    token = (token or "").strip()
    if not TOKEN.match(token):
        raise RuleError("payment_token_missing")
    key = idempotency_key(client.id, token)
    existing = await Payment.get_or_none(idempotency_key=key)
    if existing is not None:
        return _same(existing, by, amount_cents, method)
    practice = await Practice.get(id=client.practice_id)
    if not practice.payment_processor:
        raise RuleError("payments_unavailable")
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise RuleError("payment_amount_invalid")
    if amount_cents > MAX_PAYMENT_CENTS:
        raise RuleError("payment_amount_too_large")
    if practice.payment_processor == "stripe" and amount_cents < MIN_STRIPE_CENTS:
        raise RuleError("payment_amount_too_small")
    if amount_cents > await max_payment_cents(client.id, practice):
        raise RuleError("payment_more_than_balance")
    card, test_method, label = await _method(client, by, method, practice.payment_processor)
    if card is not None and card.consented_at is None:
        raise RuleError("payment_method_invalid")  # no charge without a consent record (P-6)
    if card is not None and practice.payment_processor == "demo":
        # The demo's saved cards carry a test method's name as their token.
        test_method = card.processor_ref if card.processor_ref in DEMO_METHODS else "pm_card_visa"
    try:
        async with in_transaction():
            # Under SQLite's write lock (BEGIN IMMEDIATE) the check and the insert are one
            # step; on PostgreSQL the unique key makes a concurrent twin fail below.
            existing = await Payment.get_or_none(idempotency_key=key)
            if existing is not None:
                return _same(existing, by, amount_cents, method)
            return await Payment.create(
                client_id=client.id,
                paid_by_id=by.id,
                amount_cents=amount_cents,
                processor=practice.payment_processor,
                idempotency_key=key,
                card=card,
                test_method=test_method,
                method_label=label,
            )
    except IntegrityError:
        existing = await Payment.get_or_none(idempotency_key=key)
        if existing is None:
            raise
        return _same(existing, by, amount_cents, method)


def _same(payment: Payment, by, amount_cents: int, method: str) -> Payment:
    """The payment a token already made; the same token with other values is refused
    (never a second payment, never a silent change)."""
    if payment.paid_by_id != by.id or payment.amount_cents != amount_cents:
        raise RuleError("payment_token_reused")
    wanted = (method or "").strip()
    made = f"card:{payment.card_id}" if payment.card_id else payment.test_method
    if wanted != made:
        raise RuleError("payment_token_reused")
    return payment


async def _audit(payment: Payment, action: str, by, via: str, ip: str, **details) -> None:
    from models.audit import audit

    await audit(
        by,
        action,
        client_id=payment.client_id,
        obj=payment,
        category="billing",
        via=via,
        ip=ip,
        amount_cents=payment.amount_cents,
        processor=payment.processor,
        **details,
    )


async def mark_requires_action(
    payment: Payment, *, processor_ref: str, by=None, via: str = "web", ip: str = ""
) -> Payment:
    """The bank asks the client to confirm: pending -> requires_action (once)."""
    async with in_transaction():
        fresh = await Payment.select_for_update().get(id=payment.id)
        if fresh.status != PaymentStatus.PENDING:
            return fresh
        changed = await Payment.filter(id=fresh.id, version=fresh.version).update(
            status=PaymentStatus.REQUIRES_ACTION,
            processor_ref=processor_ref[:64],
            version=fresh.version + 1,
        )
        if changed != 1:
            return await Payment.get(id=fresh.id)
        fresh = await Payment.get(id=fresh.id)
        await _audit(fresh, "payment.requires_action", by, via, ip)
    return fresh


async def settle(
    payment: Payment,
    succeeded: bool,
    *,
    processor_ref: str | None = None,
    failure_code: str = "",
    failure_message: str = "",
    method_label: str = "",
    processor_confirmed: bool = False,
    by=None,
    via: str = "web",
    ip: str = "",
) -> Payment:
    """Settle an open payment once. Succeeded: the CLIENT_PAYMENT ledger entry and its
    allocations, in the same transaction. Failed: no ledger entry. A payment already
    settled is returned as it is, with one exception: when the processor itself says
    a payment we recorded as failed succeeded after all (``processor_confirmed``: a
    second try on the same Stripe PaymentIntent, or its events out of order), the
    money was taken and the ledger must say so. Success is final."""
    from models.people import Client
    from models.practice import Practice

    async with in_transaction():
        fresh = await Payment.select_for_update().get(id=payment.id)
        reopen = succeeded and processor_confirmed and fresh.status == PaymentStatus.FAILED
        if fresh.status not in OPEN_STATUSES and not reopen:
            return fresh
        # One client's payments settle one at a time (their allocations read each other's).
        client = await Client.select_for_update().get(id=fresh.client_id)
        ref = (processor_ref if processor_ref is not None else fresh.processor_ref)[:64]
        now = clock.now()
        values: dict = dict(processor_ref=ref, settled_at=now, version=fresh.version + 1)
        if method_label:
            values["method_label"] = fresh.method_label = method_label[:32]
        if succeeded:
            practice = await Practice.get(id=client.practice_id)
            entry = await LedgerEntry.create(
                client_id=client.id,
                kind=EntryKind.CLIENT_PAYMENT,
                posted_on=now.astimezone(ZoneInfo(practice.time_zone)).date(),
                amount_cents=fresh.amount_cents,
                method=fresh.method_label[:32],
                reference=ref,
            )
            await _allocate(entry)
            values.update(
                status=PaymentStatus.SUCCEEDED,
                ledger_entry_id=entry.id,
                failure_code="",
                failure_message="",
            )
        else:
            values.update(
                status=PaymentStatus.FAILED,
                failure_code=(failure_code or "failed")[:40],
                failure_message=failure_message[:200],
            )
        changed = await Payment.filter(id=fresh.id, version=fresh.version).update(**values)
        if changed != 1:  # pragma: no cover - the row lock above makes this unreachable
            raise RuntimeError("payment changed while it was being settled")
        fresh = await Payment.get(id=fresh.id)
        if succeeded:
            await _audit(
                fresh, "payment.succeeded", by, via, ip, ledger_entry_id=fresh.ledger_entry_id
            )
        else:
            await _audit(fresh, "payment.failed", by, via, ip, failure_code=fresh.failure_code)
    return fresh


async def open_charges(client_id: int) -> list[tuple[LedgerEntry, int]]:
    """The client's charges that still owe something after earlier allocations,
    oldest first, with what each still owes."""
    charges = await LedgerEntry.filter(client_id=client_id, kind=EntryKind.CHARGE).order_by(
        "posted_on", "id"
    )
    allocated: dict[int, int] = {}
    for charge_id, amount in await PaymentAllocation.filter(
        charge__client_id=client_id
    ).values_list("charge_id", "amount_cents"):
        allocated[charge_id] = allocated.get(charge_id, 0) + amount
    result = []
    for charge in charges:
        owed = charge.amount_cents - allocated.get(charge.id, 0)
        if owed > 0:
            result.append((charge, owed))
    return result


async def _allocate(entry: LedgerEntry) -> list[PaymentAllocation]:
    """Spread a payment over the open charges, oldest first; the rest is a credit."""
    left = entry.amount_cents
    made = []
    for charge, owed in await open_charges(entry.client_id):
        if left <= 0:
            break
        part = min(owed, left)
        made.append(
            await PaymentAllocation.create(
                payment_id=entry.id, charge_id=charge.id, amount_cents=part
            )
        )
        left -= part
    return made


async def payment_of(payment_id: int, client_id: int) -> Payment | None:
    """A payment of this client, or None (the route answers 404)."""
    return await Payment.get_or_none(id=payment_id, client_id=client_id)


async def record_refund(
    payment: Payment, refunded_total_cents: int, *, reference: str = "", via: str = "stripe"
) -> Payment:
    """The processor has given back ``refunded_total_cents`` of this payment in all (its
    charge's ``amount_refunded``, which only grows). Writes one REFUND ledger entry for
    what is new, so the same or an older total changes nothing. A refund proves the
    payment succeeded: one still open is settled first (events come in any order)."""
    from models.practice import Practice

    if payment.status != PaymentStatus.SUCCEEDED:
        payment = await settle(payment, True, processor_confirmed=True, via=via)
    async with in_transaction():
        fresh = await Payment.select_for_update().get(id=payment.id)
        total = min(max(refunded_total_cents, 0), fresh.amount_cents)
        new = total - fresh.refunded_cents
        if new <= 0:
            return fresh
        client = await fresh.client
        practice = await Practice.get(id=client.practice_id)
        await LedgerEntry.create(
            client_id=fresh.client_id,
            kind=EntryKind.REFUND,
            posted_on=clock.now().astimezone(ZoneInfo(practice.time_zone)).date(),
            amount_cents=new,
            method=fresh.method_label[:32],
            reference=(reference or fresh.processor_ref)[:64],
        )
        await Payment.filter(id=fresh.id).update(refunded_cents=total, version=fresh.version + 1)
        fresh = await Payment.get(id=fresh.id)
        await _audit(fresh, "payment.refunded", None, via, "", refunded_cents=new)
    return fresh


async def record_dispute(payment: Payment, *, reason: str = "", via: str = "stripe") -> bool:
    """The cardholder disputed this payment at their bank: noted once. True the first
    time (the caller then alerts the practice's billers, in its own transaction)."""
    async with in_transaction():
        first = await Payment.filter(id=payment.id, disputed_at__isnull=True).update(
            disputed_at=clock.now()
        )
        if not first:
            return False
        fresh = await Payment.get(id=payment.id)
        await _audit(fresh, "payment.disputed", None, via, "", reason=reason[:40])
    return True
