"""A refund (Stripe's charge.refunded, ``models.payments.record_refund``) shows on My
Account as money given back, raises the balance, and is netted in the statement and the
flex spending statement."""

from __future__ import annotations

from models.ledger import EntryKind, LedgerEntry, totals_for
from models.payments import Payment, record_refund
from tests.app.test_account_pdfs import text_of
from tests.app.test_pay import pay
from tests.helpers import sign_in


async def test_a_refund_is_shown_netted_and_raises_the_balance(client, cast):
    await sign_in(client, "alice")
    assert (await pay(client, "40.00", "pm_card_visa")).status_code == 303
    payment = await Payment.get()
    before = await totals_for(cast.alice.id)
    await record_refund(payment, 1500)
    await record_refund(payment, 1500)  # the same total again: nothing new
    after = await totals_for(cast.alice.id)
    assert after.balance == before.balance + 1500
    assert after.net_client_payments == before.client_payments - 1500
    assert await LedgerEntry.filter(kind=EntryKind.REFUND).count() == 1

    page = await (await client.get("/account")).get_data(as_text=True)
    assert "Refund" in page and "−$15.00" in page
    statement = text_of(await (await client.get("/account/statement.pdf")).get_data())
    assert "Refund" in statement and "15.00" in statement
    flex = text_of(await (await client.get("/account/flex-spending.pdf")).get_data())
    assert "Refunded $15.00" in flex
