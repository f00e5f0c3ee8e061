from datetime import date

from models.ledger import EntryKind, LedgerEntry, totals_for, totals_of, with_running_balance


def entry(kind: EntryKind, cents: int, expected: int = 0) -> LedgerEntry:
    return LedgerEntry(
        kind=kind, amount_cents=cents, insurance_expected_cents=expected, posted_on=date(2026, 1, 1)
    )


def test_it_computes_balance_and_responsibility_from_entries():
    totals = totals_of(
        [
            entry(EntryKind.CHARGE, 20000, expected=17000),
            entry(EntryKind.CLIENT_PAYMENT, 3000),
            entry(EntryKind.INSURANCE_PAYMENT, 8000),
            entry(EntryKind.DIST_ADJUSTMENT, 4000),
            entry(EntryKind.TO_DEDUCTIBLE, 5000),
        ]
    )
    assert totals.balance == 20000 - 3000 - 8000 - 4000
    assert totals.pending_insurance == 17000 - 8000 - 5000 - 4000
    assert totals.your_responsibility == 5000


def test_it_never_shows_a_negative_responsibility_or_pending_amount():
    totals = totals_of(
        [entry(EntryKind.CHARGE, 1000, 900), entry(EntryKind.INSURANCE_PAYMENT, 1500)]
    )
    assert totals.balance == -500
    assert totals.pending_insurance == 0 and totals.your_responsibility == 0


def test_it_runs_the_balance_line_by_line_from_an_opening_balance():
    rows = with_running_balance(
        [
            entry(EntryKind.CHARGE, 1000),
            entry(EntryKind.TO_DEDUCTIBLE, 400),
            entry(EntryKind.CLIENT_PAYMENT, 300),
        ],
        opening=500,
    )
    assert [r.balance_after for r in rows] == [1500, 1500, 1200]


async def test_it_totals_a_clients_whole_account_in_the_database(cast):
    totals = await totals_for(cast.alice.id)
    assert (totals.balance, totals.your_responsibility) == (27000, 15000)
    assert (await totals_for(cast.bob.id)).balance == 9900
