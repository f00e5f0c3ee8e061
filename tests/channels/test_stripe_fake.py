# ruff: noqa: F811  (pytest fixtures imported from tests.fakes.stripe_server)
"""The fake Stripe, through the real stripe-python SDK (v16, httpx): its objects, errors,
idempotency, events and webhook signing behave as Stripe's do."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from aiohttp import web

from tests.fakes.stripe_server import (
    FakeStripe,
    fake_stripe,  # noqa: F401
    parse_form,
    sign,
    webhook_request,
)


@pytest.fixture
def client(fake_stripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        fake_stripe.api_key,
        base_addresses={"api": fake_stripe.url},
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
        max_network_retries=0,
    )


def pay(client, key: str | None = None, **params):
    values = {"amount": 2000, "currency": "usd", **params}
    options = {"idempotency_key": key} if key else {}
    return client.v1.payment_intents.create(params=values, options=options)


# ---- wire format, auth, customers ---------------------------------------------------------


def test_parse_form_brackets():
    body = (
        "metadata[payment_id]=5&metadata[0]=zero&payment_method_types[]=card"
        "&payment_method_types[]=link&expand[0]=latest_charge"
        "&automatic_payment_methods[enabled]=true&amount=100"
    )
    assert parse_form(body) == {
        "metadata": {"payment_id": "5", "0": "zero"},
        "payment_method_types": ["card", "link"],
        "expand": ["latest_charge"],
        "automatic_payment_methods": {"enabled": "true"},
        "amount": "100",
    }


def test_customer_create_retrieve_update(fake_stripe, client):
    customer = client.v1.customers.create(
        params={"email": "a@example.com", "name": "Alice", "metadata": {"client_id": "7"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer" and customer.livemode is False
    assert customer.metadata["client_id"] == "7"
    body = fake_stripe.posts("/v1/customers")[0].body.decode()
    assert "metadata%5Bclient_id%5D=7" in body or "metadata[client_id]=7" in body
    again = client.v1.customers.retrieve(customer.id)
    assert (again.email, again.name, again.created) == ("a@example.com", "Alice", customer.created)
    updated = client.v1.customers.update(customer.id, params={"metadata": {"x": "1"}})
    assert updated.metadata.to_dict() == {"client_id": "7", "x": "1"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_nope")
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"


def test_api_key_is_checked(fake_stripe):
    wrong = stripe.StripeClient(
        "sk_test_wrong",
        base_addresses={"api": fake_stripe.url},
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
    )
    with pytest.raises(stripe.AuthenticationError):
        wrong.v1.customers.create(params={"email": "a@example.com"})
    r = httpx.post(f"{fake_stripe.url}/v1/customers", data={"email": "x"})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in r.json()["error"]["message"]
    assert fake_stripe.customers == []


def test_unknown_parameter_and_route(client, fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"emial": "a@example.com"})  # type: ignore[typeddict-unknown-key]
    assert caught.value.param == "emial"
    r = httpx.get(
        f"{fake_stripe.url}/v1/nothing", headers={"Authorization": f"Bearer {fake_stripe.api_key}"}
    )
    assert r.status_code == 404 and "Unrecognized request URL" in r.json()["error"]["message"]


# ---- payment methods, setup intents ---------------------------------------------------------


def test_attach_list_detach(client, fake_stripe):
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    visa = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    master = client.v1.payment_methods.attach(
        "pm_card_mastercard", params={"customer": customer.id}
    )
    assert visa.id.startswith("pm_") and visa.id != "pm_card_visa"
    assert (visa.card.brand, visa.card.last4, visa.card.exp_month) == ("visa", "4242", 12)
    assert visa.card.exp_year > time.gmtime().tm_year
    assert (master.card.brand, master.card.last4) == ("mastercard", "4444")
    listed = client.v1.customers.payment_methods.list(customer.id, params={"type": "card"})
    assert listed.object == "list" and listed.has_more is False
    assert {pm.id for pm in listed.data} == {visa.id, master.id}
    detached = client.v1.payment_methods.detach(visa.id)
    assert detached.customer is None
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in listed.data] == [master.id]
    assert client.v1.payment_methods.retrieve(master.id).customer == customer.id
    with pytest.raises(stripe.InvalidRequestError):  # a detached method is spent
        client.v1.payment_methods.attach(visa.id, params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": customer.id})
    assert caught.value.code == "card_declined"
    types = fake_stripe.event_types()
    assert types.count("payment_method.attached") == 2
    assert types.count("payment_method.detached") == 1


def test_setup_intent_with_visa_and_declined(client, fake_stripe):
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    seti = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "usage": "off_session",
            "automatic_payment_methods": {"enabled": True},
            "metadata": {"client_id": "7"},
        }
    )
    assert seti.id.startswith("seti_") and seti.status == "requires_payment_method"
    assert seti.client_secret.startswith(seti.id + "_secret_")
    done = client.v1.setup_intents.confirm(seti.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded" and done.payment_method.startswith("pm_")
    assert client.v1.payment_methods.retrieve(done.payment_method).customer == customer.id
    assert fake_stripe.event_types(seti.id) == ["setup_intent.created", "setup_intent.succeeded"]

    other = client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method_types": ["card"]}
    )
    with pytest.raises(stripe.CardError) as caught:
        client.v1.setup_intents.confirm(
            other.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert caught.value.code == "card_declined" and caught.value.http_status == 402
    assert caught.value.json_body["error"]["setup_intent"]["id"] == other.id
    again = client.v1.setup_intents.retrieve(other.id)
    assert again.status == "requires_payment_method"
    assert again.last_setup_error.code == "card_declined"


def test_setup_intent_that_needs_authentication(client, fake_stripe):
    customer = client.v1.customers.create(params={})
    seti = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
        }
    )
    assert seti.status == "requires_action" and seti.next_action.type == "use_stripe_sdk"
    assert fake_stripe.complete_action(seti.id)["status"] == "succeeded"
    # set up once, it pays off-session without asking again
    pi = pay(
        client, customer=customer.id, payment_method=seti.payment_method, confirm=True,
        off_session=True,
    )  # fmt: skip
    assert pi.status == "succeeded"


# ---- payment intents ----------------------------------------------------------------------


async def test_payment_succeeds_async(client, fake_stripe):
    customer = await client.v1.customers.create_async(params={"email": "a@example.com"})
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"payment_id": "5"},
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        },
        options={"idempotency_key": "pay-5"},
    )
    assert pi.id.startswith("pi_") and pi.status == "succeeded"
    assert pi.amount_received == 2000 and pi.latest_charge.startswith("ch_")
    charge = await client.v1.charges.retrieve_async(pi.latest_charge)
    assert (charge.amount, charge.amount_refunded, charge.refunded) == (2000, 0, False)
    assert charge.payment_intent == pi.id and charge.paid and charge.metadata["payment_id"] == "5"
    expanded = await client.v1.payment_intents.retrieve_async(
        pi.id, params={"expand": ["latest_charge"]}
    )
    assert expanded.latest_charge.id == charge.id
    assert fake_stripe.event_types(pi.id) == ["payment_intent.created", "payment_intent.succeeded"]
    assert fake_stripe.event_types(charge.id) == ["charge.succeeded"]
    event = fake_stripe.events_for(pi.id)[-1]
    assert event["request"]["idempotency_key"] == "pay-5"
    assert event["data"]["object"]["status"] == "succeeded" and event["livemode"] is False
    fetched = await client.v1.events.retrieve_async(event["id"])
    assert fetched.type == "payment_intent.succeeded"
    assert fetched.data.object["id"] == pi.id


def test_two_step_confirm_and_cancel(client, fake_stripe):
    pi = pay(client)
    assert pi.status == "requires_payment_method" and pi.latest_charge is None
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_mastercard"})
    assert pi.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(pi.id)
    assert caught.value.code == "payment_intent_unexpected_state"
    other = pay(client, payment_method="pm_card_visa")
    assert other.status == "requires_confirmation"
    canceled = client.v1.payment_intents.cancel(other.id)
    assert canceled.status == "canceled"
    assert fake_stripe.event_types(other.id)[-1] == "payment_intent.canceled"
    assert len(fake_stripe.charges) == 1


def test_declined_payment(client, fake_stripe):
    with pytest.raises(stripe.CardError) as caught:
        pay(client, payment_method="pm_card_chargeDeclined", confirm=True)
    err = caught.value
    assert err.http_status == 402 and err.code == "card_declined"
    body = err.json_body["error"]
    assert body["type"] == "card_error" and body["decline_code"] == "generic_decline"
    assert body["message"] == "Your card was declined."
    pi = body["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    assert pi["last_payment_error"]["code"] == "card_declined"
    assert fake_stripe.paid_charges == []
    assert fake_stripe.event_types(pi["id"])[-1] == "payment_intent.payment_failed"
    # the same intent can then be paid with another card
    done = client.v1.payment_intents.confirm(pi["id"], params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded" and len(fake_stripe.paid_charges) == 1


def test_invalid_amount_and_foreign_payment_method(client, fake_stripe):
    fake = fake_stripe
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, amount=0)
    assert caught.value.param == "amount" and caught.value.http_status == 400
    alice = client.v1.customers.create(params={})
    bob = client.v1.customers.create(params={})
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": alice.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, customer=bob.id, payment_method=pm.id, confirm=True)
    assert caught.value.param == "payment_method"
    assert fake.payment_intents == []  # a refused request leaves nothing behind
    pi = pay(client, customer=bob.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm.id})
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_requires_action_then_complete_or_fail(client, fake_stripe):
    pi = pay(client, payment_method="pm_card_authenticationRequired", confirm=True)
    assert pi.status == "requires_action" and pi.next_action.type == "use_stripe_sdk"
    assert fake_stripe.charges == []
    done = fake_stripe.complete_action(pi.id)
    assert done["status"] == "succeeded" and done["latest_charge"].startswith("ch_")
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert fake_stripe.event_types(pi.id) == [
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
    ]
    assert fake_stripe.events_for(pi.id)[-1]["request"] == {"id": None, "idempotency_key": None}

    other = pay(client, payment_method="pm_card_authenticationRequired", confirm=True)
    failed = fake_stripe.complete_action(other.id, succeed=False)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert len(fake_stripe.paid_charges) == 1


def test_off_session_authentication_required(client):
    customer = client.v1.customers.create(params={})
    pm = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", params={"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as caught:
        pay(client, customer=customer.id, payment_method=pm.id, confirm=True, off_session=True)
    assert caught.value.code == "authentication_required"
    pi = caught.value.json_body["error"]["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    assert pi["last_payment_error"]["code"] == "authentication_required"


def test_three_d_secure_page_redirects_to_return_url(client, fake_stripe):
    pi = pay(
        client, payment_method="pm_card_authenticationRequired", confirm=True,
        return_url="https://portal.test/pay/done?x=1",
    )  # fmt: skip
    assert pi.next_action.type == "redirect_to_url"
    url = pi.next_action.redirect_to_url.url
    page = httpx.get(url)
    assert page.status_code == 200 and "Complete authentication" in page.text
    answer = httpx.post(url, data={"action": "complete"})
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    query = parse_qs(target.query)
    assert target.netloc == "portal.test" and query["x"] == ["1"]
    assert query["payment_intent"] == [pi.id]
    assert query["payment_intent_client_secret"] == [pi.client_secret]
    assert query["redirect_status"] == ["succeeded"]


def test_publishable_key_confirms_only_with_the_client_secret(client, fake_stripe):
    pi = pay(client)
    url = f"{fake_stripe.url}/v1/payment_intents/{pi.id}/confirm"
    pk = {"Authorization": f"Bearer {fake_stripe.publishable_key}"}
    wrong = httpx.post(
        url, data={"payment_method": "pm_card_visa", "client_secret": "x"}, headers=pk
    )
    assert wrong.status_code == 400
    refused = httpx.post(f"{fake_stripe.url}/v1/customers", data={}, headers=pk)
    assert refused.status_code == 401
    ok = httpx.post(
        url, data={"payment_method": "pm_card_visa", "client_secret": pi.client_secret}, headers=pk
    )
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded"


# ---- idempotency and lost answers -------------------------------------------------------------


def test_idempotent_replay(client, fake_stripe):
    params = {"payment_method": "pm_card_visa", "confirm": True, "metadata": {"payment_id": "9"}}
    first = pay(client, "key-1", **params)
    second = pay(client, "key-1", **params)
    assert second.id == first.id and second.latest_charge == first.latest_charge
    assert len(fake_stripe.charges) == 1 and len(fake_stripe.payment_intents) == 1
    posts = fake_stripe.posts("/v1/payment_intents")
    assert [p.replayed for p in posts] == [False, True]
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert second.last_response.body == first.last_response.body


def test_idempotent_replay_of_a_decline(client, fake_stripe):
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            pay(client, "key-d", payment_method="pm_card_chargeDeclined", confirm=True)
    assert len(fake_stripe.charges) == 1 and len(fake_stripe.payment_intents) == 1


def test_same_key_other_params(client, fake_stripe):
    pay(client, "key-2", payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.IdempotencyError) as caught:
        pay(client, "key-2", amount=3000, payment_method="pm_card_visa", confirm=True)
    assert "same parameters" in str(caught.value.user_message)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={}, options={"idempotency_key": "key-2"})
    assert len(fake_stripe.charges) == 1


async def test_concurrent_requests_with_one_key(client, fake_stripe):
    fake_stripe.delay = 0.2
    params = {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}

    def create():
        return client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": "key-c"}
        )

    first, second = await asyncio.gather(create(), create())
    assert first.id == second.id
    assert len(fake_stripe.charges) == 1
    assert sorted(p.replayed for p in fake_stripe.posts()) == [False, True]


async def test_concurrent_conflict_mode_answers_409(client, fake_stripe):
    fake_stripe.delay, fake_stripe.concurrent_conflict = 0.2, True

    def create():
        return client.v1.customers.create_async(params={}, options={"idempotency_key": "k"})

    results = await asyncio.gather(create(), create(), return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    # stripe-python maps a 409 to APIError (it retries it when max_network_retries > 0)
    assert len(errors) == 1 and isinstance(errors[0], stripe.APIError)
    assert errors[0].http_status == 409 and len(fake_stripe.customers) == 1


def test_lost_answer_then_retry_with_the_key(client, fake_stripe):
    fake_stripe.drop_after_next = 1
    with pytest.raises(stripe.APIError):
        pay(client, "key-3", payment_method="pm_card_visa", confirm=True)
    assert len(fake_stripe.charges) == 1  # Stripe did it; the answer was lost
    again = pay(client, "key-3", payment_method="pm_card_visa", confirm=True)
    assert again.status == "succeeded" and len(fake_stripe.charges) == 1
    assert again.latest_charge == fake_stripe.charges[0]["id"]


def test_sdk_retries_replay_a_lost_answer(fake_stripe):
    retrying = fake_stripe.client(max_network_retries=1)
    fake_stripe.drop_after_next = 1
    pi = pay(retrying, payment_method="pm_card_visa", confirm=True)  # the SDK's own key
    assert pi.status == "succeeded" and len(fake_stripe.charges) == 1
    posts = fake_stripe.posts()
    assert len(posts) == 2 and posts[0].idempotency_key == posts[1].idempotency_key
    assert [p.status for p in posts] == [500, 200] and posts[1].replayed


def test_fail_next_does_nothing(client, fake_stripe):
    fake_stripe.fail_next = 1
    with pytest.raises(stripe.APIError) as caught:
        pay(client, "key-4", payment_method="pm_card_visa", confirm=True)
    assert caught.value.http_status == 500
    assert fake_stripe.payment_intents == [] and fake_stripe.charges == []
    pi = pay(client, "key-4", payment_method="pm_card_visa", confirm=True)
    assert pi.status == "succeeded" and not fake_stripe.posts()[-1].replayed


# ---- refunds, disputes, events ----------------------------------------------------------------


def test_refunds(client, fake_stripe):
    pi = pay(client, amount=5000, payment_method="pm_card_visa", confirm=True)
    part = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 2000})
    assert part.id.startswith("re_") and part.amount == 2000 and part.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (2000, False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 3001})
    assert caught.value.param == "amount"
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 3000
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id})
    assert caught.value.code == "charge_already_refunded"
    assert fake_stripe.event_types(charge.id).count("charge.refunded") == 2


def test_dispute(client, fake_stripe):
    pi = pay(client, payment_method="pm_card_visa", confirm=True)
    dispute = fake_stripe.dispute(pi.latest_charge)
    assert dispute["id"].startswith("dp_") and dispute["reason"] == "fraudulent"
    assert dispute["amount"] == 2000 and dispute["status"] == "needs_response"
    assert fake_stripe.events[-1]["type"] == "charge.dispute.created"
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert caught.value.code == "charge_disputed"


def test_events_list_and_shape(client, fake_stripe):
    pay(client, payment_method="pm_card_visa", confirm=True)
    listed = client.v1.events.list(params={"type": "payment_intent.*", "limit": 1})
    assert len(listed.data) == 1 and listed.has_more is True
    assert listed.data[0].type == "payment_intent.succeeded"
    event = fake_stripe.events[0]
    assert event["id"].startswith("evt_") and event["object"] == "event"
    assert set(event) >= {"api_version", "created", "data", "pending_webhooks", "request"}


# ---- webhook signing and delivery --------------------------------------------------------------


def test_signature_is_stripes():
    event = {"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {"object": {}}}
    body, headers = webhook_request(event, "whsec_test")
    assert headers["Content-Type"].startswith("application/json")
    got = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_test")
    assert got.id == "evt_1" and got.type == "charge.succeeded"
    changed = body.replace(b"evt_1", b"evt_2")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(changed, headers["Stripe-Signature"], "whsec_test")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_other")
    rolled = sign(body, "whsec_new", extra_v1=["whsec_test"])
    assert rolled.count("v1=") == 2
    stripe.Webhook.construct_event(body, rolled, "whsec_test")
    v0_only = sign(body, "whsec_test", schemes=("v0",))
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, v0_only, "whsec_test")
    old = sign(body, "whsec_test", timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, old, "whsec_test")


async def test_deliver_and_forward_events(fake_stripe, client):
    got: list[stripe.Event] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        got.append(
            stripe.Webhook.construct_event(
                body, request.headers["Stripe-Signature"], fake_stripe.webhook_secret
            )
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks/stripe", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hooks/stripe"  # type: ignore[union-attr]
    try:
        event = {"id": "evt_x", "object": "event", "type": "ping", "data": {"object": {}}}
        assert await fake_stripe.deliver(url, event) == 200
        fake_stripe.add_webhook_endpoint(url, events=["payment_intent.succeeded"])
        pi = await client.v1.payment_intents.create_async(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        for _ in range(200):
            if len(fake_stripe.deliveries) == 1:
                break
            await asyncio.sleep(0.01)
        assert [d.status for d in fake_stripe.deliveries] == [200]
        assert [e.type for e in got] == ["ping", "payment_intent.succeeded"]
        assert got[1].data.object.id == pi.id and got[1].pending_webhooks == 1
    finally:
        await runner.cleanup()


# ---- ways to run it ------------------------------------------------------------------------------


async def test_runs_in_the_current_loop():
    fake = await FakeStripe().start()
    try:
        pi = await fake.client().v1.payment_intents.create_async(
            params={
                "amount": 500,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        assert pi.status == "succeeded"
    finally:
        await fake.stop()


def test_runs_as_a_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.stripe_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        client = stripe.StripeClient(
            info["api_key"],
            base_addresses={"api": info["url"]},
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
        )
        assert client.v1.customers.create(params={"email": "p@example.com"}).id.startswith("cus_")
    finally:
        process.terminate()
        process.wait(10)


# ---- the fake Stripe.js (served; the browser side is not run here) ---------------------------


def test_fake_stripe_js_is_served_and_parses(fake_stripe, tmp_path):
    script = httpx.get(f"{fake_stripe.url}/v3/")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert f'var BASE = "{fake_stripe.url}"' in script.text
    assert "confirmPayment" in script.text and "confirmSetup" in script.text
    frame = httpx.get(f"{fake_stripe.url}/elements", params={"client_secret": "pi_x_secret_y"})
    assert frame.status_code == 200
    for token in ("pm_card_visa", "pm_card_chargeDeclined", "pm_card_authenticationRequired"):
        assert f'value="{token}"' in frame.text
    assert "Complete authentication" in frame.text
    node = shutil.which("node")
    if node:
        for name in ("v3/", "elements.js"):
            path = tmp_path / "check.js"
            path.write_text(httpx.get(f"{fake_stripe.url}/{name}").text)
            subprocess.run([node, "--check", str(path)], check=True, timeout=10)


def test_iframe_calls_confirm_then_the_3ds_result(client, fake_stripe):
    """The requests the Payment Element iframe makes: confirm with the publishable key and
    the client secret, then the 3-D Secure decision (also gated by the client secret)."""
    pi = pay(client)
    pk = {"Authorization": f"Bearer {fake_stripe.publishable_key}"}
    form = {"payment_method": "pm_card_authenticationRequired", "client_secret": pi.client_secret}
    confirmed = httpx.post(
        f"{fake_stripe.url}/v1/payment_intents/{pi.id}/confirm", data=form, headers=pk
    )
    assert confirmed.json()["status"] == "requires_action"
    result = f"{fake_stripe.url}/3ds/{pi.id}/result"
    assert httpx.post(result, data={"action": "complete", "client_secret": "no"}).status_code == 404
    done = httpx.post(result, data={"action": "complete", "client_secret": pi.client_secret})
    assert done.json()["status"] == "succeeded" and len(fake_stripe.paid_charges) == 1
