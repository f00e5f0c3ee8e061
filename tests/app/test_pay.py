"""Make Payment on the web with the offline demo processor: the form, every refusal
(422, nothing created), success into the ledger, a decline, the bank's question, a
double submit, other clients' payments, CSRF, and no card number stored anywhere."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from models.audit import AuditEvent
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation, SavedCard, totals_for
from models.payments import Payment, PaymentStatus
from models.practice import Practice
from tests.helpers import HX, post, sign_in

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # when the test cards were consented to


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


def form_token(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, "no payment token in the form"
    return match.group(1)


async def fresh_form(client) -> tuple[str, str]:
    html = await html_of(await client.get("/pay"))
    return html, form_token(html)


async def pay(client, amount="150.00", method="pm_card_visa", token=None, headers=None):
    if token is None:
        _, token = await fresh_form(client)
    data = {"amount": amount, "method": method}
    if token != "":
        data["token"] = token
    return await post(client, "/pay", data, headers=headers)


async def client_payments(client_id: int) -> list[LedgerEntry]:
    return await LedgerEntry.filter(client_id=client_id, kind=EntryKind.CLIENT_PAYMENT).order_by(
        "id"
    )


async def card_on_file(client, added_by, last4: str = "4242", **more) -> SavedCard:
    """A demo card on file (consented to), added by ``added_by`` (a User or its id)."""
    by = {"added_by_id": added_by} if isinstance(added_by, int) else {"added_by": added_by}
    values = dict(processor_ref="pm_card_visa", brand="visa", exp_month=12, exp_year=2030)
    values.update(more)
    return await SavedCard.create(consented_at=NOW, client=client, last4=last4, **by, **values)


async def bobs_card(cast) -> SavedCard:
    await cast.bob.fetch_related("user")
    return await card_on_file(cast.bob, cast.bob.user, "4444", exp_month=1, exp_year=2031)


# --- the form ----------------------------------------------------------------------


async def test_the_form_offers_the_clients_responsibility_and_its_cards(client, cast):
    await cast.alice.fetch_related("user")
    card = await card_on_file(cast.alice, cast.alice.user, nickname="Everyday", is_default=True)
    await sign_in(client, "alice")
    response = await client.get("/pay")
    html = await html_of(response)
    assert response.status_code == 200
    # Balance 270.00, of which insurance is expected to pay 120.00.
    assert 'name="amount" type="text"' in html and 'value="150.00"' in html
    assert f'value="card:{card.id}" checked' in html and "Everyday" in html
    for name in (
        "Demo card that succeeds",
        "Demo card that is declined",
        "Demo card that asks you to confirm",
    ):
        assert name in html
    assert 'hx-disabled-elt="find button"' in html and 'hx-indicator="#loading"' in html
    first, second = form_token(html), form_token(await html_of(await client.get("/pay")))
    assert first != second and len(first) >= 16  # one token per rendered form


async def test_without_a_card_the_demo_card_that_succeeds_is_chosen(client, cast):
    await sign_in(client, "alice")
    html = await html_of(await client.get("/pay"))
    assert 'value="pm_card_visa" checked' in html


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "method", "message"),
    [
        ("0", "pm_card_visa", "Enter an amount more than zero, like 120.50."),
        ("0.00", "pm_card_visa", "Enter an amount more than zero, like 120.50."),
        ("-5", "pm_card_visa", "Enter an amount in dollars and cents, like 120.50."),
        ("abc", "pm_card_visa", "Enter an amount in dollars and cents, like 120.50."),
        ("12.345", "pm_card_visa", "Enter an amount in dollars and cents, like 120.50."),
        ("1e3", "pm_card_visa", "Enter an amount in dollars and cents, like 120.50."),
        ("", "pm_card_visa", "Enter an amount in dollars and cents, like 120.50."),
        ("270.01", "pm_card_visa", "You can pay at most $270.00, your account balance."),
        ("50000.01", "pm_card_visa", "You can pay at most $50,000.00 online at once."),
        ("10.00", "", "Choose one of the cards shown."),
        ("10.00", "card:999999", "Choose one of the cards shown."),
        ("10.00", "4242424242424242", "Choose one of the cards shown."),
        ("10.00", "pm_card_unknown", "Choose one of the cards shown."),
    ],
)
async def test_bad_input_is_refused_with_the_form_and_nothing_created(
    client, cast, amount, method, message
):
    await sign_in(client, "alice")
    response = await pay(client, amount, method)
    html = await html_of(response)
    assert response.status_code == 422
    assert message in html and 'id="payment-form"' in html
    assert await Payment.all().count() == 0
    assert len(await client_payments(cast.alice.id)) == 1  # the cast's own earlier payment


async def test_another_clients_card_id_is_refused(client, cast):
    card = await bobs_card(cast)
    await sign_in(client, "alice")
    response = await pay(client, "10.00", f"card:{card.id}")
    assert response.status_code == 422
    assert "Choose one of the cards shown." in await html_of(response)
    assert await Payment.all().count() == 0


async def test_a_form_without_its_token_is_refused(client, cast):
    await sign_in(client, "alice")
    response = await pay(client, token="")
    html = await html_of(response)
    assert response.status_code == 422 and "This form has expired" in html
    assert form_token(html)  # a fresh form to send again
    assert await Payment.all().count() == 0


async def test_a_post_without_the_csrf_token_is_refused(client, cast):
    await sign_in(client, "alice")
    _, token = await fresh_form(client)
    form = {"amount": "150.00", "method": "pm_card_visa", "token": token}
    for extra in ({}, {"csrf_token": "forged"}):
        response = await client.post("/pay", form={**form, **extra})
        assert response.status_code == 403
    assert await Payment.all().count() == 0


async def test_the_section_is_missing_without_a_processor(client, cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="")
    await sign_in(client, "alice")
    assert (await client.get("/pay")).status_code == 404
    assert (await pay(client, token="tok_" + "b" * 24)).status_code == 404
    assert await Payment.all().count() == 0


# --- paying --------------------------------------------------------------------------


async def test_a_payment_goes_into_the_ledger_and_lowers_the_balance(client, cast):
    await sign_in(client, "alice")
    response = await pay(client, "150.00")
    assert response.status_code == 303
    payment = await Payment.get(client_id=cast.alice.id)
    assert response.headers["Location"] == f"/pay/{payment.id}"
    assert payment.status == PaymentStatus.SUCCEEDED and payment.paid_by_id == cast.alice.user_id
    html = await html_of(await client.get(f"/pay/{payment.id}"))
    assert "Payment received: $150.00" in html
    assert f'href="/account/receipts/{payment.ledger_entry_id}.pdf"' in html
    assert 'href="/account"' in html
    receipt = await client.get(f"/account/receipts/{payment.ledger_entry_id}.pdf")
    assert receipt.status_code == 200 and receipt.content_type == "application/pdf"
    entry = await LedgerEntry.get(id=payment.ledger_entry_id)
    assert (entry.kind, entry.amount_cents, entry.reference) == (
        EntryKind.CLIENT_PAYMENT,
        15000,
        payment.processor_ref,
    )
    allocations = await PaymentAllocation.filter(payment=entry).order_by("id")
    assert [a.amount_cents for a in allocations] == [15000]  # the October charge, oldest
    totals = await totals_for(cast.alice.id)
    assert totals.balance == 12000 and totals.your_responsibility == 0
    account = await html_of(await client.get("/account"))
    assert "$120.00" in account
    events = await AuditEvent.filter(action__startswith="payment.")
    assert [(e.action, e.object_id) for e in events] == [("payment.succeeded", str(payment.id))]


async def test_htmx_gets_the_result_in_place(client, cast):
    await sign_in(client, "alice")
    response = await pay(client, "20.50", headers=HX)
    html = await html_of(response)
    payment = await Payment.get(client_id=cast.alice.id)
    assert response.status_code == 200 and "Payment received: $20.50" in html
    assert response.headers["HX-Push-Url"] == f"/pay/{payment.id}"
    assert "<html" not in html


async def test_a_declined_card_shows_the_form_again_and_writes_no_ledger(client, cast):
    await sign_in(client, "alice")
    _, token = await fresh_form(client)
    response = await pay(client, "150.00", "pm_card_chargeDeclined", token=token)
    html = await html_of(response)
    assert response.status_code == 422
    assert "Your card was declined." in html and 'id="payment-form"' in html
    assert form_token(html) != token  # the next try is a new payment
    payment = await Payment.get(client_id=cast.alice.id)
    assert payment.status == PaymentStatus.FAILED and payment.ledger_entry_id is None
    assert len(await client_payments(cast.alice.id)) == 1
    events = await AuditEvent.filter(action__startswith="payment.")
    assert [(e.action, e.details["failure_code"]) for e in events] == [
        ("payment.failed", "card_declined")
    ]


async def test_a_payment_the_bank_questions_is_confirmed_once(client, cast):
    await sign_in(client, "alice")
    response = await pay(client, "100.00", "pm_card_authenticationRequired")
    payment = await Payment.get(client_id=cast.alice.id)
    assert response.headers["Location"] == f"/pay/{payment.id}"
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    html = await html_of(await client.get(f"/pay/{payment.id}"))
    assert "Your bank asks you to confirm this payment" in html
    assert f'action="/pay/{payment.id}/confirm"' in html
    assert f'action="/pay/{payment.id}/cancel"' in html
    assert len(await client_payments(cast.alice.id)) == 1  # nothing yet
    first = await post(client, f"/pay/{payment.id}/confirm")
    second = await post(client, f"/pay/{payment.id}/confirm")
    assert first.status_code == second.status_code == 303
    await payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert len(await client_payments(cast.alice.id)) == 2
    late_cancel = await post(client, f"/pay/{payment.id}/cancel", headers=HX)
    assert "Payment received: $100.00" in await html_of(late_cancel)
    await payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


async def test_cancelling_the_banks_question_fails_the_payment(client, cast):
    await sign_in(client, "alice")
    await pay(client, "100.00", "pm_card_authenticationRequired")
    payment = await Payment.get(client_id=cast.alice.id)
    response = await post(client, f"/pay/{payment.id}/cancel", headers=HX)
    assert "You did not confirm this payment, so nothing was charged." in await html_of(response)
    await payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED and payment.ledger_entry_id is None
    assert len(await client_payments(cast.alice.id)) == 1


async def test_the_same_form_sent_twice_pays_once(client, cast):
    await sign_in(client, "alice")
    _, token = await fresh_form(client)
    first = await pay(client, "150.00", token=token)
    second = await pay(client, "150.00", token=token)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert await Payment.all().count() == 1
    assert len(await client_payments(cast.alice.id)) == 2  # the cast's one and this one
    assert (await totals_for(cast.alice.id)).balance == 12000


async def test_another_clients_payment_is_a_404(client, app, cast):
    await sign_in(client, "alice")
    await pay(client, "100.00", "pm_card_authenticationRequired")
    payment = await Payment.get(client_id=cast.alice.id)
    bob = app.test_client()
    await sign_in(bob, "bob")
    assert (await bob.get(f"/pay/{payment.id}")).status_code == 404
    for action in ("confirm", "cancel"):
        assert (await post(bob, f"/pay/{payment.id}/{action}")).status_code == 404
    assert (await bob.get("/pay/2147483647")).status_code == 404
    await payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION


async def test_a_guardian_pays_for_a_child_with_their_own_cards(client, cast):
    await LedgerEntry.create(
        client=cast.dana, kind=EntryKind.CHARGE, posted_on=date(2026, 11, 2), amount_cents=8000
    )
    own = await card_on_file(
        cast.dana, cast.gina, "4444", brand="mastercard", exp_month=3, exp_year=2031
    )
    await cast.dana.fetch_related("practice")
    stranger = await card_on_file(cast.dana, cast.alice.user_id, "1881", exp_month=3, exp_year=2031)
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    html = await html_of(await client.get("/pay"))
    assert f'value="card:{own.id}" checked' in html and f"card:{stranger.id}" not in html
    refused = await pay(client, "80.00", f"card:{stranger.id}")
    assert refused.status_code == 422 and await Payment.all().count() == 0
    assert (await pay(client, "80.00", f"card:{own.id}")).status_code == 303
    payment = await Payment.get(client_id=cast.dana.id)
    assert payment.paid_by_id == cast.gina.id and payment.method_label == "Mastercard 4444"
    assert (await totals_for(cast.dana.id)).balance == 0


# --- P-1: no card number anywhere ---------------------------------------------------

# A run of 13-19 digits standing on its own (not inside a longer token such as a hash,
# a random processor id or a base32 reference, which hold such runs by chance).
DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])")


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


async def test_no_card_number_is_stored_after_every_flow(client, cast):
    from tortoise import connections

    await cast.alice.fetch_related("user")
    card = await card_on_file(cast.alice, cast.alice.user)
    await sign_in(client, "alice")
    await pay(client, "10.00", f"card:{card.id}")
    await pay(client, "10.00", "pm_card_chargeDeclined")
    await pay(client, "10.00", "4242424242424242")  # a number typed into the method: refused
    await pay(client, "10.00", "pm_card_authenticationRequired")
    waiting = await Payment.filter(status=PaymentStatus.REQUIRES_ACTION).first()
    await post(client, f"/pay/{waiting.id}/confirm")
    await pay(client, "10.00", "pm_card_authenticationRequired")
    waiting = await Payment.filter(status=PaymentStatus.REQUIRES_ACTION).first()
    await post(client, f"/pay/{waiting.id}/cancel")
    assert await Payment.all().count() == 4
    assert assert_luhn_sanity()
    conn = connections.get("default")
    found = []
    for table in ("payment", "ledger_entry", "payment_allocation", "saved_card", "audit_event"):
        _, rows = await conn.execute_query(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
        assert rows or table == "saved_card"
        for row in rows:
            for value in dict(row).values():
                text = value.decode(errors="ignore") if isinstance(value, bytes) else str(value)
                found += [(table, n) for n in DIGITS.findall(text) if luhn_ok(n)]
    assert found == []


def assert_luhn_sanity() -> bool:
    """The scanner would find a real test card number."""
    return luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")


async def test_without_stripe_keys_a_stripe_practice_takes_no_payments(client, cast):
    """Seeds 002/003: the switch is off, with its reason, until the processor can be
    used (this app has no Stripe keys): no Make Payment, no webhook."""
    from models.settings import practice_settings

    await Practice.filter(id=cast.practice.id).update(payment_processor="stripe")
    await sign_in(client, "alice")
    assert (await client.get("/pay")).status_code == 404
    assert (await client.post("/stripe/webhook", data=b"{}")).status_code == 404
    setting = practice_settings(await Practice.get(id=cast.practice.id))["payments"]
    assert (setting.value, setting.source) == (False, "processor")


@pytest.mark.parametrize("config_overrides", [{"public_url": "https://portal.example"}])
async def test_the_demo_processor_is_never_used_on_an_https_server(client, cast, config_overrides):
    """Its test cards "pay" without money: in production a practice left on the demo
    takes no payments (the switch says it needs a card processor)."""
    from models.settings import practice_settings

    setting = practice_settings(await Practice.get(id=cast.practice.id))["payments"]
    assert (setting.value, setting.source) == (False, "processor")


async def test_a_client_override_turns_payments_off_for_that_client_only(app, client, cast):
    """Seeds 002/003: the practice allows payments; one client's override turns them off:
    no menu entry, and every payment and card route refuses (404), not just the button."""
    from models.people import Client

    await Client.filter(id=cast.alice.id).update(portal_overrides={"payments": False})
    await sign_in(client, "alice")
    assert 'href="/pay"' not in await html_of(await client.get("/dashboard"))
    assert (await client.get("/pay")).status_code == 404
    assert (await pay(client, "10.00", token="x" * 24)).status_code == 404
    assert (await client.get("/profile/cards/new")).status_code == 404
    response = await post(client, "/profile/cards", {"consent": "1", "method": "pm_card_visa"})
    assert response.status_code == 404
    assert await Payment.all().count() == 0 and await SavedCard.all().count() == 0
    other = app.test_client()
    await sign_in(other, "bob")
    assert (await other.get("/pay")).status_code == 200
