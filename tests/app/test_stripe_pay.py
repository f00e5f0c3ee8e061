"""Make Payment and cards on file with Stripe, through the real SDK against the fake
Stripe (tests/fakes/stripe_server.py): saved cards, a new card in the Payment Element,
the bank's check, declines, a lost answer retried, double submits, and the P-1 scan of
everything stored and everything sent to Stripe."""

from __future__ import annotations

import asyncio
import re

import pytest

from models.cards import ProcessorCustomer
from models.ledger import EntryKind, LedgerEntry, SavedCard, totals_for
from models.payments import Payment, PaymentStatus
from models.practice import Practice
from tests.app.test_pay import DIGITS, client_payments, fresh_form, html_of, luhn_ok
from tests.helpers import post, sign_in


@pytest.fixture
def config_overrides(fake_stripe):
    return fake_stripe.config_overrides(stripe_js_url=f"{fake_stripe.url}/v3/")


@pytest.fixture
async def stripe_cast(cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="stripe")
    return cast


def secret_in(html: str) -> str:
    match = re.search(r'data-stripe-secret="([^"]+)"', html)
    assert match, "no Stripe client secret on the page"
    return match.group(1)


def intent_id(secret: str) -> str:
    return secret.split("_secret_")[0]


async def add_card(client, fake, token="pm_card_visa", nickname="") -> SavedCard:
    """Add a card the way the browser does: consent form, Stripe's form, the return."""
    response = await post(client, "/profile/cards", {"consent": "1", "nickname": nickname})
    assert response.status_code == 200
    seti = intent_id(secret_in(await html_of(response)))
    # What Stripe.js does in the browser with the card typed into Stripe's iframe.
    await asyncio.to_thread(
        fake.client().v1.setup_intents.confirm, seti, params={"payment_method": token}
    )
    if fake.get(seti)["status"] == "requires_action":
        fake.complete_action(seti)
    response = await client.get(f"/profile/cards/return?setup_intent={seti}")
    assert response.status_code == 303, await html_of(response)
    return await SavedCard.filter(processor="stripe").order_by("-id").first()


async def paid_online(cast) -> int:
    """Alice's ledger payments made online (the cast has one from the office already)."""
    return len([e for e in await client_payments(cast.alice.id) if e.reference.startswith("pi_")])


async def pay(client, amount, method, *, token=None, keep=False):
    if token is None:
        _, token = await fresh_form(client)
    data = {"amount": amount, "method": method, "token": token}
    if keep:
        data["keep"] = "1"
    return await post(client, "/pay", data)


# --- cards on file ---------------------------------------------------------------------


async def test_a_card_added_through_stripe_is_on_file_with_its_consent(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe, nickname="Everyday")
    assert (card.brand, card.last4, card.nickname, card.is_default) == (
        "visa",
        "4242",
        "Everyday",
        True,
    )
    assert card.consented_at is not None and card.processor_ref.startswith("pm_")
    customer = await ProcessorCustomer.get(client_id=stripe_cast.alice.id)
    assert fake_stripe.get(card.processor_ref)["customer"] == customer.ref
    page = await html_of(await client.get("/profile?card=added"))
    assert "The card is on file." in page and "Everyday" in page and "4242" in page
    # The same return twice (a reload) keeps one card.
    seti = fake_stripe.setup_intents[-1]["id"]
    assert (await client.get(f"/profile/cards/return?setup_intent={seti}")).status_code == 303
    assert await SavedCard.filter(client_id=stripe_cast.alice.id).count() == 1


async def test_no_consent_no_card_and_nothing_asked_of_stripe(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    response = await post(client, "/profile/cards", {"nickname": "x"})
    assert response.status_code == 422
    assert "agree that the practice may charge" in await html_of(response)
    assert fake_stripe.setup_intents == []


async def test_a_return_with_someone_elses_setup_intent_adds_nothing(
    app, client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    await add_card(client, fake_stripe)
    alices = fake_stripe.setup_intents[-1]["id"]
    client = app.test_client()
    await sign_in(client, "bob")
    response = await client.get(f"/profile/cards/return?setup_intent={alices}")
    assert response.status_code == 422
    assert await SavedCard.filter(client_id=stripe_cast.bob.id).count() == 0
    response = await client.get("/profile/cards/return?setup_intent=seti_doesnotexist")
    assert response.status_code == 422


async def test_a_declined_card_is_not_added(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    response = await post(client, "/profile/cards", {"consent": "1"})
    seti = intent_id(secret_in(await html_of(response)))
    with pytest.raises(Exception, match="declined"):
        await asyncio.to_thread(
            fake_stripe.client().v1.setup_intents.confirm,
            seti,
            params={"payment_method": "pm_card_chargeDeclined"},
        )
    response = await client.get(f"/profile/cards/return?setup_intent={seti}")
    assert response.status_code == 422
    assert await SavedCard.all().count() == 0


async def test_remove_detaches_at_stripe_and_default_moves(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    first = await add_card(client, fake_stripe)
    second = await add_card(client, fake_stripe, token="pm_card_mastercard")
    assert not second.is_default
    response = await post(client, f"/profile/cards/{second.id}/default", token_from="/profile")
    assert response.status_code == 303
    assert [c.id for c in await SavedCard.filter(is_default=True)] == [second.id]
    response = await post(client, f"/profile/cards/{second.id}/remove", token_from="/profile")
    assert response.status_code == 303
    assert fake_stripe.get(second.processor_ref)["customer"] is None
    assert [(c.id, c.is_default) for c in await SavedCard.all()] == [(first.id, True)]


async def test_a_guardian_sees_and_removes_only_the_cards_they_added(
    app, client, stripe_cast, fake_stripe
):
    """Gina acts for Dana: she sees the card she added, not one another person added
    for Dana, and can't remove that one or Alice's (404, as for a missing card)."""
    await sign_in(client, "alice")
    alices = await add_card(client, fake_stripe)
    client = app.test_client()
    await stripe_cast.ada.fetch_related("user")
    made = {}
    for ref, last4, adder in (
        ("pm_ginas", "1111", stripe_cast.gina),
        ("pm_other", "0005", stripe_cast.ada.user),
    ):
        made[last4] = await SavedCard.create(
            client=stripe_cast.dana,
            added_by=adder,
            processor="stripe",
            processor_ref=ref,
            brand="visa",
            last4=last4,
            exp_month=1,
            exp_year=2031,
            consented_at=alices.consented_at,
        )
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(stripe_cast.dana.id)})
    page = await html_of(await client.get("/profile"))
    assert "1111" in page and "0005" not in page
    for card in (alices, made["0005"]):
        response = await post(client, f"/profile/cards/{card.id}/remove", token_from="/profile")
        assert response.status_code == 404
    html, _ = await fresh_form(client)
    assert f"card:{made['1111'].id}" in html and f"card:{made['0005'].id}" not in html
    assert await SavedCard.all().count() == 3


# --- paying ------------------------------------------------------------------------------


async def test_a_saved_card_pays_once_with_our_idempotency_key(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    before = await totals_for(stripe_cast.alice.id)
    response = await pay(client, "40.00", f"card:{card.id}")
    assert response.status_code == 303
    payment = await Payment.get()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.method_label == "Visa 4242"
    [charge] = fake_stripe.paid_charges
    assert charge["amount"] == 4000 and charge["payment_intent"] == payment.processor_ref
    [create] = fake_stripe.posts("/v1/payment_intents")
    assert create.idempotency_key == payment.idempotency_key
    assert "4242" not in create.body.decode()  # only pm_ ids travel, never a number
    assert (await totals_for(stripe_cast.alice.id)).balance == before.balance - 4000
    page = await html_of(await client.get(f"/pay/{payment.id}"))
    assert "Visa 4242" in page


async def test_a_declined_saved_card_charges_nothing(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe, token="pm_card_chargeCustomerFail")
    response = await pay(client, "40.00", f"card:{card.id}")
    assert response.status_code == 422
    assert "Your card was declined. Nothing was charged." in await html_of(response)
    assert (await Payment.get()).status == PaymentStatus.FAILED
    assert fake_stripe.paid_charges == [] and await paid_online(stripe_cast) == 0


async def test_the_banks_check_is_a_link_and_the_return_settles_it(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe, token="pm_card_authenticationRequired")
    response = await pay(client, "25.00", f"card:{card.id}")
    assert response.status_code == 303
    payment = await Payment.get()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    page = await html_of(await client.get(f"/pay/{payment.id}"))
    assert "Confirm with my bank" in page and f"{fake_stripe.url}/3ds/" in page
    assert fake_stripe.paid_charges == []
    fake_stripe.complete_action(payment.processor_ref)
    response = await client.get(f"/pay/{payment.id}/return?redirect_status=failed")
    assert response.status_code == 303  # Stripe's status decides, not the query
    assert (await Payment.get()).status == PaymentStatus.SUCCEEDED
    assert await paid_online(stripe_cast) == 1


async def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    _, token = await fresh_form(client)
    # Stripe charged and the answer was lost, twice: the SDK's own retry (same key) too.
    fake_stripe.drop_after_next = 2
    response = await pay(client, "30.00", f"card:{card.id}", token=token)
    assert response.status_code == 503
    tries = fake_stripe.posts("/v1/payment_intents")
    assert len(tries) == 2 and len({t.idempotency_key for t in tries}) == 1
    html = await html_of(response)
    assert "Nothing was charged" in html and token in html  # the same form, the same key
    assert len(fake_stripe.paid_charges) == 1
    assert (await Payment.get()).status == PaymentStatus.PENDING
    response = await pay(client, "30.00", f"card:{card.id}", token=token)
    assert response.status_code == 303
    assert len(fake_stripe.paid_charges) == 1
    assert await paid_online(stripe_cast) == 1


async def test_two_concurrent_submissions_of_one_form_charge_once(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    _, token = await fresh_form(client)
    fake_stripe.delay = 0.2
    responses = await asyncio.gather(
        *(pay(client, "12.00", f"card:{card.id}", token=token) for _ in range(2))
    )
    assert sorted(r.status_code for r in responses) == [303, 303]
    assert len(fake_stripe.payment_intents) == 1 and len(fake_stripe.paid_charges) == 1
    assert await Payment.all().count() == 1
    assert await paid_online(stripe_cast) == 1


async def test_a_new_card_goes_through_the_payment_element_and_can_be_kept(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    html, _ = await fresh_form(client)
    assert 'value="new"' in html
    response = await pay(client, "15.50", "new", keep=True)
    assert response.status_code == 303
    payment = await Payment.get()
    assert payment.status == PaymentStatus.PENDING and payment.processor_ref.startswith("pi_")
    page = await html_of(await client.get(f"/pay/{payment.id}"))
    secret = secret_in(page)
    assert intent_id(secret) == payment.processor_ref and "data-stripe-js" in page
    assert fake_stripe.paid_charges == []  # nothing is charged before the card is typed
    # Stripe.js confirms with the card typed into Stripe's iframe, then returns here.
    await asyncio.to_thread(
        fake_stripe.client().v1.payment_intents.confirm,
        payment.processor_ref,
        params={"payment_method": "pm_card_visa"},
    )
    response = await client.get(f"/pay/{payment.id}/return")
    assert response.status_code == 303
    payment = await Payment.get()
    assert (payment.status, payment.method_label) == (PaymentStatus.SUCCEEDED, "Visa 4242")
    [card] = await SavedCard.all()
    assert card.processor == "stripe" and card.consented_at is not None
    assert await paid_online(stripe_cast) == 1


# --- P-1: no card number anywhere ------------------------------------------------------


async def test_no_card_number_reaches_our_database_or_stripe_from_us(
    client, stripe_cast, fake_stripe
):
    from tortoise import connections

    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    await pay(client, "10.00", f"card:{card.id}")
    await pay(client, "10.00", "4242424242424242")  # a number typed as the method: refused
    await pay(client, "10.00", "new", keep=True)
    assert luhn_ok("4242424242424242")
    found = []
    for request in fake_stripe.requests:
        if request.headers.get("Authorization", "").startswith("Bearer sk_"):
            found += [("stripe", n) for n in DIGITS.findall(request.body.decode()) if luhn_ok(n)]
    conn = connections.get("default")
    for table in ("payment", "ledger_entry", "saved_card", "processor_customer", "audit_event"):
        _, rows = await conn.execute_query(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
        for row in rows:
            for value in dict(row).values():
                text = value.decode(errors="ignore") if isinstance(value, bytes) else str(value)
                found += [(table, n) for n in DIGITS.findall(text) if luhn_ok(n)]
    assert found == []
    assert await LedgerEntry.filter(kind=EntryKind.CLIENT_PAYMENT).count() >= 1


# --- P-1 (2), (3): the payment page's scripts and headers, reviewed -------------------

# The scripts a Stripe payment page may load (6.4.3-style inventory). A change here must
# be reviewed: Stripe.js itself is loaded by stripe_pay.js from STRIPE_JS_URL only.
PAY_PAGE_SCRIPTS = [
    "/static/vendor/htmx-2.0.11.min.js",
    "/static/vendor/htmx-ext-ws-2.0.4.min.js",
    "/static/js/portal.js",
    "/static/js/signature_pad.js",  # client pages: drawn signatures on forms (no network)
    "/static/js/stripe_pay.js",
]
# The payment page's security headers, with the nonce and the fake's port taken out
# (11.6.1-style: a change to them fails here until reviewed).
PAY_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'nonce-N' STRIPE; "
    "style-src 'self' 'nonce-N'; img-src 'self' data:; connect-src 'self' STRIPE; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; frame-src 'self' STRIPE",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


async def test_the_payment_page_loads_only_reviewed_scripts_with_reviewed_headers(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    await pay(client, "9.00", "new")
    payment = await Payment.get()
    response = await client.get(f"/pay/{payment.id}")
    html = await html_of(response)
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert [re.search(r'src="([^"]+)"', s).group(1) for s in scripts] == PAY_PAGE_SCRIPTS
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert all(f'nonce="{nonce}"' in s for s in scripts)
    assert "<script>" not in html and " on" + "click=" not in html
    seen = {
        name: response.headers[name]
        .replace(f"nonce-{nonce}", "nonce-N")
        .replace(fake_stripe.url, "STRIPE")
        for name in PAY_PAGE_HEADERS
    }
    assert seen == PAY_PAGE_HEADERS


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/profile/cards/return?setup_intent=" + "seti_" + "x" * 5000, None),
        ("GET", "/profile/cards/return?setup_intent=%00%ff", None),
        ("GET", "/profile/cards/return", None),
        ("GET", "/pay/99999999999999999999/return", None),
        ("GET", "/pay/0/return", None),
        ("POST", "/profile/cards", {"consent": "1", "nickname": "x" * 5000}),
        ("POST", "/profile/cards", {"consent": ["1", "0"], "nickname": "\x00"}),
        ("POST", "/profile/cards/99999999999999999999/remove", {}),
        ("POST", "/profile/cards/0/default", {}),
        ("POST", "/pay", {"amount": "10.00", "method": "new_saved", "token": "t" * 24}),
        ("POST", "/pay", {"amount": "10.00", "method": "card:abc", "token": "t" * 24}),
    ],
)
async def test_hostile_card_and_payment_input_answers_4xx_and_changes_nothing(
    client, stripe_cast, fake_stripe, method, path, data
):
    await sign_in(client, "alice")
    if method == "GET":
        response = await client.get(path)
    else:
        response = await post(client, path, data, token_from="/profile")
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert await SavedCard.all().count() == 0
    assert await Payment.all().count() == 0
    assert fake_stripe.paid_charges == []


async def test_a_card_removed_at_stripe_fails_plainly_and_charges_nothing(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    await asyncio.to_thread(fake_stripe.client().v1.payment_methods.detach, card.processor_ref)
    response = await pay(client, "20.00", f"card:{card.id}")
    assert response.status_code == 422
    assert "can no longer be used. Nothing was charged." in await html_of(response)
    assert (await Payment.get()).status == PaymentStatus.FAILED
    assert fake_stripe.paid_charges == [] and await paid_online(stripe_cast) == 0


async def test_a_wrong_stripe_key_is_a_503_not_a_500(client, stripe_cast, fake_stripe):
    await sign_in(client, "alice")
    card = await add_card(client, fake_stripe)
    fake_stripe.api_key = "sk_test_rotated_elsewhere"  # ours no longer works
    response = await pay(client, "20.00", f"card:{card.id}")
    assert response.status_code == 503
    assert "could not reach the card processor" in await html_of(response)
    assert fake_stripe.paid_charges == []


async def test_less_than_stripes_minimum_is_refused_before_asking_stripe(
    client, stripe_cast, fake_stripe
):
    await sign_in(client, "alice")
    response = await pay(client, "0.49", "new")
    assert response.status_code == 422
    assert "at least $0.50" in await html_of(response)
    assert await Payment.all().count() == 0 and fake_stripe.payment_intents == []
