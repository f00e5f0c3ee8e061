"""The My Account documents' numbers, built from ledger entries and allocations."""

from datetime import date

from models import billing_documents as docs
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation
from models.practice import Location


async def entry(client, kind, day, cents, **kw) -> LedgerEntry:
    return await LedgerEntry.create(
        client=client, kind=kind, posted_on=day, amount_cents=cents, **kw
    )


async def add_history(cast):
    """Alice's cast ledger (Oct 1: 150.00 charge, 30.00 paid; Nov 1: 150.00 charge),
    plus December: a telehealth session, her payment over two charges, insurance."""
    alice = cast.alice
    cast.penny.npi, cast.penny.title = "1234567893", "LCSW"
    await cast.penny.save()
    charges = await LedgerEntry.filter(client=alice, kind=EntryKind.CHARGE).order_by("id")
    oct_charge, nov_charge = charges
    tele = cast.a_past
    tele.telehealth = True
    await tele.save()
    dec = await entry(
        alice,
        EntryKind.CHARGE,
        date(2026, 12, 2),
        20000,
        appointment=tele,
        cpt_code="90837",
        description="Long session",
    )
    paid = await entry(
        alice,
        EntryKind.CLIENT_PAYMENT,
        date(2026, 12, 3),
        9000,
        method="Visa 1111",
        reference="ch_1",
    )
    await PaymentAllocation.create(payment=paid, charge=nov_charge, amount_cents=5000)
    await PaymentAllocation.create(payment=paid, charge=dec, amount_cents=2500)
    ins = await entry(alice, EntryKind.INSURANCE_PAYMENT, date(2026, 12, 4), 8000)
    await PaymentAllocation.create(payment=ins, charge=oct_charge, amount_cents=8000)
    await entry(alice, EntryKind.ADJUSTMENT, date(2026, 12, 5), 1000)
    return oct_charge, nov_charge, dec, paid


async def test_a_receipt_distributes_the_payment_over_the_services_it_paid(cast):
    _, nov_charge, dec, paid = await add_history(cast)
    receipt = await docs.receipt(cast.alice.id, paid.id)
    p = receipt.payment
    assert (p.amount, p.method, p.reference, p.date) == (
        9000,
        "Visa 1111",
        "ch_1",
        date(2026, 12, 3),
    )
    assert [(s.date, s.description, s.provider, s.amount) for s in p.services] == [
        (nov_charge.posted_on, "Session", "Penny", 5000),
        (dec.posted_on, "Long session", "Penny", 2500),
    ]
    assert (p.allocated, p.unapplied) == (7500, 1500)
    assert receipt.header.client_name == "Alice Example"
    assert receipt.header.practice_name == "Test Practice"


async def test_a_receipt_is_only_for_the_clients_own_payments(cast):
    *_, paid = await add_history(cast)
    charge = await LedgerEntry.filter(client=cast.alice, kind=EntryKind.CHARGE).first()
    bob_paid = await entry(cast.bob, EntryKind.CLIENT_PAYMENT, date(2026, 11, 2), 100)
    ins = await LedgerEntry.get(client=cast.alice, kind=EntryKind.INSURANCE_PAYMENT)
    assert await docs.receipt(cast.bob.id, paid.id) is None
    assert await docs.receipt(cast.alice.id, bob_paid.id) is None
    assert await docs.receipt(cast.alice.id, charge.id) is None
    assert await docs.receipt(cast.alice.id, ins.id) is None
    assert await docs.receipt(cast.alice.id, 999999) is None


async def test_a_statement_starts_from_the_balance_before_its_period(cast):
    await add_history(cast)
    s = await docs.statement(cast.alice.id, date(2026, 11, 1), date(2026, 12, 3))
    # Before Nov 1: 150.00 charged, 30.00 paid.
    assert s.opening == 12000
    assert [r.entry.posted_on for r in s.rows] == [
        date(2026, 11, 1),
        date(2026, 12, 2),
        date(2026, 12, 3),
    ]
    assert [r.balance_after for r in s.rows] == [27000, 47000, 38000]
    assert (s.period.charges, s.period.client_payments, s.period.insurance_payments) == (
        35000,
        9000,
        0,
    )
    assert s.closing == 38000
    # The whole account: 500.00 charged - 30 - 90 paid - 80 insurance - 10 adjusted.
    assert s.totals.balance == 50000 - 3000 - 9000 - 8000 - 1000
    assert s.totals.your_responsibility == s.totals.balance - s.totals.pending_insurance


async def test_a_statement_without_dates_runs_from_the_first_entry_to_today(cast):
    s = await docs.statement(cast.alice.id, None, None)
    assert s.start == date(2026, 10, 1)
    assert s.opening == 0 and s.closing == s.totals.balance == 27000


async def test_a_superbill_lists_each_charge_with_npi_place_of_service_and_paid(cast):
    oct_charge, nov_charge, dec, _ = await add_history(cast)
    cast.alice.diagnosis_codes = ["F41.1", "F32.0"]
    cast.alice.address_line1, cast.alice.city, cast.alice.region = "1 Elm St", "Asheville", "NC"
    cast.alice.date_of_birth = date(1990, 1, 2)
    await cast.alice.save()
    cast.practice.tax_id = "12-3456789"
    await cast.practice.save()
    await Location.filter(id=cast.office.id).update(address_line1="9 Main St", city="Boone")
    bill = await docs.superbill(cast.alice.id, date(2026, 10, 1), date(2026, 12, 31))
    assert [
        (ln.date, ln.cpt_code, ln.place_of_service, ln.npi, ln.credentials, ln.fee, ln.paid)
        for ln in bill.lines
    ] == [
        (date(2026, 10, 1), "90834", docs.OFFICE, "1234567893", "LCSW", 15000, 8000),
        (date(2026, 11, 1), "", docs.OFFICE, "1234567893", "LCSW", 15000, 5000),
        (date(2026, 12, 2), "90837", docs.TELEHEALTH, "1234567893", "LCSW", 20000, 2500),
    ]
    assert (bill.total_fee, bill.total_paid) == (50000, 15500)
    assert bill.diagnosis_codes == ("F41.1", "F32.0")
    h = bill.header
    assert h.tax_id == "12-3456789" and h.date_of_birth == date(1990, 1, 2)
    assert h.client_address == ("1 Elm St", "Asheville, NC")
    assert h.practice_address == ("9 Main St", "Boone")


async def test_a_superbill_keeps_only_the_charges_of_its_period(cast):
    await add_history(cast)
    bill = await docs.superbill(cast.alice.id, date(2026, 11, 1), date(2026, 11, 30))
    assert [ln.date for ln in bill.lines] == [date(2026, 11, 1)]
    assert (bill.total_fee, bill.total_paid) == (15000, 5000)
    empty = await docs.superbill(cast.bob.id, date(2026, 12, 1), date(2026, 12, 31))
    assert empty.lines == () and empty.total_fee == 0


async def test_flex_spending_lists_the_clients_own_payments_of_the_period(cast):
    _, nov_charge, dec, paid = await add_history(cast)
    flex = await docs.flex_spending(cast.alice.id, date(2026, 11, 1), date(2026, 12, 31))
    assert [p.id for p in flex.payments] == [paid.id]  # not the insurer's, not October's
    assert flex.total == 9000
    assert [s.charge_id for s in flex.payments[0].services] == [nov_charge.id, dec.id]
    whole = await docs.flex_spending(cast.alice.id, date(2026, 10, 1), date(2026, 12, 31))
    assert whole.total == 3000 + 9000
    assert whole.payments[0].services == ()  # the October payment was never allocated


async def test_a_missing_start_is_the_first_entry_and_a_missing_end_today(cast):
    today = docs.clock.now().date()
    start, end = await docs.period(cast.alice.id, None, None)
    assert start == date(2026, 10, 1)
    assert abs((end - today).days) <= 1  # today in Alice's time zone
    assert await docs.period(cast.alice.id, date(2026, 10, 5), date(2026, 10, 6)) == (
        date(2026, 10, 5),
        date(2026, 10, 6),
    )
    # No entries at all: the period is the end day.
    await LedgerEntry.filter(client=cast.bob).delete()
    assert await docs.period(cast.bob.id, None, date(2026, 1, 1)) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
    )
