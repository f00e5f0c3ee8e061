"""Stripe in a real browser, against the fake Stripe and its fake Stripe.js: the demo
client adds a card in My Profile through the Payment Element (an iframe from "Stripe"),
pays with it, then pays with a new card typed into the Payment Element; the Content-
Security-Policy lets in Stripe.js and nothing else (the page-problems check fails on
any violation). The demo runs on its own database with the fake's keys, so the demo
practice uses Stripe."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import Portal, Server, own_demo_server  # noqa: E402
from tests.fakes.stripe_server import FakeStripe  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
ELEMENT = "iframe[title='Secure payment input frame']"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    stripe = FakeStripe().start_thread()
    try:
        yield stripe
    finally:
        stripe.stop_thread()


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake) -> Iterator[Server]:
    env = {**fake.env(), "STRIPE_JS_URL": f"{fake.url}/v3/"}
    with own_demo_server(tmp_path_factory, "portal-stripe-server", env) as running:
        fake.add_webhook_endpoint(f"{running.url}/stripe/webhook")
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def choose_test_card(page, token: str) -> None:
    frame = page.frame_locator(ELEMENT)
    frame.locator(f"input[value='{token}']").check()


def test_add_a_card_then_pay_with_it_and_with_a_new_card(page, portal, fake):
    portal.sign_in(page, CLIENT)
    page.goto("/profile")
    expect(page.locator("#cards")).to_contain_text("No cards on file.")
    page.get_by_role("link", name="Add a card").click()
    page.get_by_label("Nickname (optional)").fill("Everyday")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(ELEMENT)).to_be_visible()
    portal.check_widths(page, "stripe-add-card")
    choose_test_card(page, "pm_card_visa")
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#cards")).to_contain_text("The card is on file.")
    expect(page.locator("#cards")).to_contain_text("Everyday")
    expect(page.locator("#cards")).to_contain_text("4242")
    portal.check_widths(page, "stripe-card-on-file")
    [pm] = [m for m in fake.payment_methods if m.get("customer")]
    assert pm["card"]["last4"] == "4242"

    page.goto("/pay")
    page.get_by_label("Amount (USD)").fill("15.00")
    page.get_by_label("Everyday").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("main#main")).to_contain_text("Payment received: $15.00")
    assert [c["amount"] for c in fake.paid_charges] == [1500]

    page.goto("/pay")
    page.get_by_label("Amount (USD)").fill("7.25")
    page.get_by_label("A new card").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("main#main h1")).to_have_text("Enter your card")
    expect(page.locator(ELEMENT)).to_be_visible()
    portal.check_widths(page, "stripe-new-card")
    choose_test_card(page, "pm_card_mastercard")
    page.get_by_role("button", name="Pay $7.25").click()
    expect(page.locator("main#main")).to_contain_text("Payment received: $7.25")
    expect(page.locator("main#main")).to_contain_text("Mastercard 4444")
    assert sorted(c["amount"] for c in fake.paid_charges) == [725, 1500]


def test_a_declined_new_card_says_so_and_charges_nothing(page, portal, fake, problems):
    # Stripe's iframe logs the decline's 402 itself; anything else still fails the test.
    problems.allow("status of 402 (Payment Required)")
    portal.sign_in(page, CLIENT)
    paid_before = len(fake.paid_charges)
    page.goto("/pay")
    page.get_by_label("Amount (USD)").fill("5.00")
    page.get_by_label("A new card").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator(ELEMENT)).to_be_visible()
    choose_test_card(page, "pm_card_chargeDeclined")
    page.get_by_role("button", name="Pay $5.00").click()
    expect(page.locator("#stripe-error")).to_contain_text("declined")
    assert len(fake.paid_charges) == paid_before


def test_no_card_number_went_to_stripe_or_into_the_server_log(server, fake):
    """P-1 (1), after the flows above: every request the browser and the server made to
    "Stripe" (the Payment Element's included) and the server's log hold no card number."""
    from tests.app.test_pay import DIGITS, luhn_ok

    assert fake.requests, "the flows above reached the fake Stripe"
    found = []
    for request in fake.requests:
        text = request.body.decode(errors="ignore") + request.path + str(request.query)
        found += [("stripe", n) for n in DIGITS.findall(text) if luhn_ok(n)]
    log = server.log.read_text(errors="ignore")
    found += [("server log", n) for n in DIGITS.findall(log) if luhn_ok(n)]
    assert found == []
