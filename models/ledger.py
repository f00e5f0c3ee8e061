"""The client ledger: every amount is an entry; balances are computed, never stored.

Columns follow seed 000's My Account table: Charges, Client Pay., Ins. Payment,
Adj., To Ded., Dist Adj., Balance, Your Resp. Amounts are integer cents.

- A charge may expect part of its fee from insurance (``insurance_expected_cents``).
- ``to_deductible`` moves an expected insurance amount to the client (the payer
  applied it to the deductible); it does not change the balance.
- ``dist_adjustment`` is the payer's contractual write-off: it lowers the balance
  and what insurance still owes.
- ``adjustment`` is the practice's write-off of the client's part.

Balance = charges - client payments - insurance payments - adjustments - dist adj.
Pending insurance = expected - insurance payments - to deductible - dist adj. (>= 0)
Your responsibility = balance - pending insurance (>= 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class EntryKind(StrEnum):
    CHARGE = "charge"
    CLIENT_PAYMENT = "client_payment"
    INSURANCE_PAYMENT = "insurance_payment"
    ADJUSTMENT = "adjustment"
    TO_DEDUCTIBLE = "to_deductible"
    DIST_ADJUSTMENT = "dist_adjustment"
    REFUND = "refund"  # card money given back: raises the balance again


class LedgerEntry(Model):
    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="ledger")
    kind = fields.CharEnumField(EntryKind, max_length=20)
    posted_on = fields.DateField()
    amount_cents = fields.IntField()  # always positive; the kind gives the sign
    insurance_expected_cents = fields.IntField(default=0)  # charges only
    appointment = fields.ForeignKeyField(
        "portal.Appointment", related_name="ledger_entries", null=True
    )
    service = fields.ForeignKeyField("portal.Service", related_name="charges", null=True)
    cpt_code = fields.CharField(max_length=10, default="")
    description = fields.CharField(max_length=200, default="")
    payer = fields.ForeignKeyField("portal.Payer", related_name="ledger_entries", null=True)
    method = fields.CharField(max_length=32, default="")  # "Visa 1111", "Check 1042"
    reference = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        indexes = (("client_id", "posted_on"),)


class PaymentAllocation(Model):
    """How much of a payment went to which charge (the receipt's distribution)."""

    id = fields.IntField(primary_key=True)
    payment = fields.ForeignKeyField("portal.LedgerEntry", related_name="allocations")
    charge = fields.ForeignKeyField("portal.LedgerEntry", related_name="paid_by")
    amount_cents = fields.IntField()

    class Meta:
        table = "payment_allocation"


@dataclass(frozen=True)
class Totals:
    charges: int = 0
    client_payments: int = 0
    insurance_payments: int = 0
    adjustments: int = 0
    to_deductible: int = 0
    dist_adjustments: int = 0
    insurance_expected: int = 0
    refunds: int = 0

    @property
    def net_client_payments(self) -> int:
        """What the client paid less what was given back (My Account's "Client Pay.")."""
        return self.client_payments - self.refunds

    @property
    def balance(self) -> int:
        return (
            self.charges
            - self.client_payments
            + self.refunds
            - self.insurance_payments
            - self.adjustments
            - self.dist_adjustments
        )

    @property
    def pending_insurance(self) -> int:
        pending = (
            self.insurance_expected
            - self.insurance_payments
            - self.to_deductible
            - self.dist_adjustments
        )
        return max(pending, 0)

    @property
    def your_responsibility(self) -> int:
        return max(self.balance - self.pending_insurance, 0)


_FIELD_FOR_KIND = {
    EntryKind.CHARGE: "charges",
    EntryKind.CLIENT_PAYMENT: "client_payments",
    EntryKind.INSURANCE_PAYMENT: "insurance_payments",
    EntryKind.ADJUSTMENT: "adjustments",
    EntryKind.TO_DEDUCTIBLE: "to_deductible",
    EntryKind.DIST_ADJUSTMENT: "dist_adjustments",
    EntryKind.REFUND: "refunds",
}


def totals_of(entries: list[LedgerEntry]) -> Totals:
    sums = dict.fromkeys(_FIELD_FOR_KIND.values(), 0)
    expected = 0
    for entry in entries:
        sums[_FIELD_FOR_KIND[EntryKind(entry.kind)]] += entry.amount_cents
        if entry.kind == EntryKind.CHARGE:
            expected += entry.insurance_expected_cents
    return Totals(insurance_expected=expected, **sums)


async def entries_for(
    client_id: int, start: date | None = None, end: date | None = None
) -> list[LedgerEntry]:
    query = LedgerEntry.filter(client_id=client_id)
    if start:
        query = query.filter(posted_on__gte=start)
    if end:
        query = query.filter(posted_on__lte=end)
    return await query.order_by("posted_on", "id")


async def opening_balance(client_id: int, start: date | None) -> int:
    """The balance before ``start`` (0 without one): where a period's running balance begins."""
    if start is None:
        return 0
    return totals_of(await LedgerEntry.filter(client_id=client_id, posted_on__lt=start)).balance


async def totals_for(client_id: int) -> Totals:
    """The client's whole-account totals (balance is never filtered by date)."""
    rows = await LedgerEntry.filter(client_id=client_id).values_list(
        "kind", "amount_cents", "insurance_expected_cents"
    )
    sums = dict.fromkeys(_FIELD_FOR_KIND.values(), 0)
    expected = 0
    for kind, amount, ins in rows:
        sums[_FIELD_FOR_KIND[EntryKind(kind)]] += amount
        if kind == EntryKind.CHARGE:
            expected += ins
    return Totals(insurance_expected=expected, **sums)


@dataclass(frozen=True)
class Row:
    """One line of My Account with a running balance."""

    entry: LedgerEntry
    balance_after: int


def with_running_balance(entries: list[LedgerEntry], opening: int = 0) -> list[Row]:
    rows, balance = [], opening
    for entry in entries:
        sign = {
            EntryKind.CHARGE: 1,
            EntryKind.REFUND: 1,
            EntryKind.TO_DEDUCTIBLE: 0,
        }.get(EntryKind(entry.kind), -1)
        balance += sign * entry.amount_cents
        rows.append(Row(entry, balance))
    return rows


class SavedCard(Model):
    """A card on file: only the processor's token and what a person needs to pick it."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="cards")
    added_by = fields.ForeignKeyField("portal.User", related_name="cards_added")
    processor_ref = fields.CharField(max_length=64)  # "pm_..." at Stripe
    brand = fields.CharField(max_length=16)
    last4 = fields.CharField(max_length=4)
    exp_month = fields.SmallIntField()
    exp_year = fields.SmallIntField()
    nickname = fields.CharField(max_length=64, default="")
    cardholder = fields.CharField(max_length=200, default="")
    is_default = fields.BooleanField(default=False)
    processor = fields.CharField(max_length=16, default="")  # "demo" | "stripe"
    # When the person who added it agreed that the practice may charge it (security
    # plan P-6: no charge without a consent record).
    consented_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "saved_card"
