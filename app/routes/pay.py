"""Make Payment (seed 000): the amount (prefilled with the client's responsibility), a
saved card or one of the demo processor's test methods, and the result.

Every form carries a one-time token made when it is rendered; the payment row is keyed
by it (``models.payments.start_payment``), so a double click or a resent form never
pays twice. Plain form posts redirect to the payment's page (``/pay/<id>``); htmx gets
that page's main block. A payment the bank wants confirmed waits on its page with
Confirm / Cancel. Card numbers never reach this server: only SavedCard ids and the
demo's test-method names.
"""

from __future__ import annotations

import contextlib
import re
import secrets

from quart import Blueprint, abort, current_app, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import money
from app.net import client_ip
from app.rules import rule_message
from channels import stripe_processor
from channels.stripe_processor import ProcessorUnavailable
from models.errors import RuleError
from models.ledger import totals_for
from models.payments import (
    DEMO_METHODS,
    NEW_CARD,
    NEW_CARD_SAVED,
    OPEN_STATUSES,
    Payment,
    PaymentStatus,
    cards_for,
    max_payment_cents,
    payment_of,
    start_payment,
)
from models.settings import processor_usable

blueprint = Blueprint("pay", __name__)

AMOUNT = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")
# The demo processor's test methods, with the plain names a person reads.
DEMO_CHOICES = (
    ("pm_card_visa", _l("Demo card that succeeds")),
    ("pm_card_chargeDeclined", _l("Demo card that is declined")),
    ("pm_card_authenticationRequired", _l("Demo card that asks you to confirm")),
)
# Which field a rule code belongs next to ("" is the form's own message).
FIELD_OF = {
    "payment_amount_invalid": "amount",
    "payment_amount_too_large": "amount",
    "payment_amount_too_small": "amount",
    "payment_more_than_balance": "amount",
    "payment_method_invalid": "method",
}


def parse_amount(raw: str) -> int | None:
    """Dollars and cents as typed ("120.50", "$1,200", "75.5") to integer cents; None
    for anything else (negative, "abc", "1e3", "12.345")."""
    value = (raw or "").strip().removeprefix("$").replace(",", "").strip()
    match = AMOUNT.match(value) if value.isascii() else None
    if match is None:
        return None
    cents = (match.group(2) or "").ljust(2, "0")
    return int(match.group(1)) * 100 + int(cents or 0)


def dollars(cents: int) -> str:
    """Cents as the amount field shows them: "120.50" (no symbol, no grouping)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _processor() -> str:
    """ "demo", "stripe", or "" when the practice has no processor this server can use
    (Stripe named but its keys not set: ``models.settings.processor_usable``)."""
    practice = g.access.client.practice
    return practice.payment_processor if processor_usable(practice) else ""


def _unreachable() -> str:
    return _("We could not reach the card processor. Nothing was charged. Try again in a minute.")


async def _form_page(form: Form | None = None, *, error: str = "", status: int = 200):
    client = g.access.client
    totals = await totals_for(client.id)
    cards = await cards_for(client.id, g.user.id, is_self=g.access.is_self)
    processor = _processor()
    demo = processor == "demo"
    if form is None:
        form = Form({"amount": dollars(totals.your_responsibility)})
    if not form.value("method"):
        first = DEMO_METHODS[0] if demo else NEW_CARD if processor == "stripe" else ""
        form.data["method"] = f"card:{cards[0].id}" if cards else first
    if not form.value("token"):
        form.data["token"] = secrets.token_urlsafe(24)
    return await render_page(
        "views/client/pay.html",
        status=status,
        totals=totals,
        cards=cards,
        demo_choices=DEMO_CHOICES if demo else (),
        new_card=processor == "stripe",
        form=form,
        error=error,
    )


@blueprint.get("/pay")
@client_section(scope="billing", feature="payments")
async def get_pay():
    return await _form_page()


def _message(code: str, most: int) -> str:
    if code == "payment_more_than_balance":
        if most <= 0:
            return _("Nothing is due right now, so there is nothing to pay.")
        return _("You can pay at most %(amount)s, your account balance.", amount=money(most))
    return rule_message(code)


async def _show(payment: Payment, *, status: int = 200):
    """The payment's page: plain posts are redirected to it, htmx gets it in place."""
    if is_htmx():
        response = await _payment_page(payment, status=status)
        response.headers["HX-Push-Url"] = f"/pay/{payment.id}"
        return response
    return redirect(f"/pay/{payment.id}", 303)


@blueprint.post("/pay")
@client_section(scope="billing", feature="payments")
async def post_pay():
    posted = await request.form
    form = Form({k: posted.get(k, "") for k in ("amount", "method", "token", "keep")})
    amount = parse_amount(form.value("amount"))
    if amount is None:
        form.errors["amount"] = _("Enter an amount in dollars and cents, like 120.50.")
    if form.value("method") in ("", NEW_CARD_SAVED):  # keeping a new card is the checkbox
        form.errors["method"] = rule_message("payment_method_invalid")
    processor = _processor()
    if not processor:
        return await _form_page(form, error=rule_message("payments_unavailable"), status=422)
    if not form.ok:
        return await _form_page(form, status=422)
    client = g.access.client
    method = form.value("method")
    if method == NEW_CARD and form.value("keep") in ("1", "on"):
        method = NEW_CARD_SAVED
    try:
        payment = await start_payment(
            client,
            by=g.user,
            amount_cents=amount,
            token=form.value("token"),
            method=method,
        )
    except RuleError as exc:
        text = _message(exc.code, await max_payment_cents(client.id, client.practice))
        field = FIELD_OF.get(exc.code)
        if field:
            form.errors[field] = text
            return await _form_page(form, status=422)
        if exc.code in ("payment_token_missing", "payment_token_reused"):
            form.data["token"] = ""  # a fresh form: the old token is spent or missing
        return await _form_page(form, error=text, status=422)
    try:
        payment = await _submit(processor, payment)
    except ProcessorUnavailable:
        # The payment row and its key stay: the same form sent again reuses them.
        return await _form_page(form, error=_unreachable(), status=503)
    if payment.status == PaymentStatus.FAILED:
        # Declined: the form again with the processor's reason, and a new token for the
        # next try (the spent one keeps answering with this same failed payment).
        form.data["token"] = ""
        return await _form_page(form, error=_failure(payment), status=422)
    return await _show(payment)


async def _submit(processor: str, payment: Payment) -> Payment:
    if processor == "demo":
        from channels import demo_processor

        return await demo_processor.submit(payment, by=g.user, ip=client_ip())
    config = current_app.config["PORTAL"]
    if payment.test_method in (NEW_CARD, NEW_CARD_SAVED):
        await stripe_processor.start_new_card(config, payment)  # typed on /pay/<id>
        return await Payment.get(id=payment.id)
    return await stripe_processor.submit(config, payment, by=g.user, ip=client_ip())


def _failure(payment: Payment) -> str:
    if payment.failure_code == "card_declined":
        return _("Your card was declined. Nothing was charged. Try another card.")
    if payment.failure_code == "card_unusable":
        return _(
            "This card can no longer be used. Nothing was charged. Remove it, or try another card."
        )
    if payment.failure_code in ("authentication_cancelled", "canceled"):
        return _("You did not confirm this payment, so nothing was charged.")
    return _("The payment did not go through. Nothing was charged.")


async def _own_payment(payment_id: int) -> Payment:
    payment = await payment_of(payment_id, g.access.client.id)
    if payment is None:
        abort(404)
    return payment


async def _payment_page(payment: Payment, *, status: int = 200):
    stripe_form, unreachable = None, ""
    mine = payment.paid_by_id == g.user.id
    if (
        payment.processor == "stripe"
        and mine
        and payment.status in OPEN_STATUSES
        and payment.processor_ref.startswith("pi_")
        and _processor() == "stripe"
    ):
        config = current_app.config["PORTAL"]
        try:
            secret, bank = await stripe_processor.waiting(config, payment)
            stripe_form = {
                "key": config.stripe_publishable_key,
                "secret": secret,
                "bank": bank,
                "js": config.stripe_js_url,
                "return": f"{config.public_url}/pay/{payment.id}/return",
                "action": payment.status == PaymentStatus.REQUIRES_ACTION,
            }
        except ProcessorUnavailable:
            unreachable = _unreachable()
    return await render_page(
        "views/client/payment.html",
        status=status,
        payment=payment,
        method=_method_name(payment),
        failure=_failure(payment) if payment.status == PaymentStatus.FAILED else "",
        can_confirm=mine,
        stripe_form=stripe_form,
        unreachable=unreachable,
    )


def _method_name(payment: Payment) -> str:
    if payment.card_id or payment.processor == "stripe":
        if payment.test_method in (NEW_CARD, NEW_CARD_SAVED) and payment.method_label == "Card":
            return _("a new card")
        return payment.method_label
    return str(dict(DEMO_CHOICES).get(payment.test_method, payment.method_label))


@blueprint.get("/pay/<id:payment_id>")
@client_section(scope="billing", feature="payments")
async def get_payment(payment_id: int):
    return await _payment_page(await _own_payment(payment_id))


@blueprint.get("/pay/<id:payment_id>/return")
@client_section(scope="billing", feature="payments")
async def get_return(payment_id: int):
    """Stripe sends the browser back here after the card form or the bank's check: the
    payment takes the status Stripe has for it (query parameters are not believed)."""
    payment = await _own_payment(payment_id)
    if payment.processor == "stripe" and payment.paid_by_id == g.user.id:
        # Unreachable: the page says it is being processed; the webhook settles it.
        with contextlib.suppress(ProcessorUnavailable):
            payment = await stripe_processor.refresh(
                current_app.config["PORTAL"], payment, by=g.user, ip=client_ip()
            )
    return redirect(f"/pay/{payment.id}", 303)


async def _decide(payment_id: int, confirm: bool):
    payment = await _own_payment(payment_id)
    if payment.paid_by_id != g.user.id:
        abort(404)  # the bank asks the person who paid
    if _processor() != "demo" or payment.processor != "demo":
        abort(404)
    from channels import demo_processor

    if confirm:
        payment = await demo_processor.confirm(payment, by=g.user, ip=client_ip())
    else:
        payment = await demo_processor.cancel(payment, by=g.user, ip=client_ip())
    return await _show(payment)


@blueprint.post("/pay/<id:payment_id>/confirm")
@client_section(scope="billing", feature="payments")
async def post_confirm(payment_id: int):
    """Confirm a payment the bank asked about; a second confirm changes nothing."""
    return await _decide(payment_id, True)


@blueprint.post("/pay/<id:payment_id>/cancel")
@client_section(scope="billing", feature="payments")
async def post_cancel(payment_id: int):
    return await _decide(payment_id, False)
