"""Cards on file (My Profile): add, remove, set default.

Adding a card needs the adder's consent that the practice may charge it. With the
demo processor the card is one of Stripe's test methods, by name. With Stripe the
number is typed into Stripe's Payment Element (a SetupIntent made after the consent
form), and Stripe sends the browser back to ``/profile/cards/return``, where the
SetupIntent is read at Stripe and kept only if it is this person's for this client.
Another person's card, or a card id that does not exist, is a 404 alike.
"""

from __future__ import annotations

from quart import Blueprint, abort, current_app, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import render_page
from app.i18n import gettext as _
from app.rules import rule_message
from channels import stripe_processor
from channels.stripe_processor import ProcessorUnavailable
from models import cards
from models.errors import RuleError
from models.settings import processor_usable

blueprint = Blueprint("cards", __name__)


def _processor() -> str:
    """ "demo", "stripe", or "" when the practice has no processor this server can use
    (Stripe named but its keys not set: ``models.settings.processor_usable``)."""
    practice = g.access.client.practice
    return practice.payment_processor if processor_usable(practice) else ""


async def _new_page(form: Form | None = None, *, error: str = "", setup=None, status=200):
    from app.routes.pay import DEMO_CHOICES

    form = form or Form({"method": "pm_card_visa"})
    return await render_page(
        "views/client/card_new.html",
        status=status,
        form=form,
        error=error,
        demo_choices=DEMO_CHOICES if _processor() == "demo" else (),
        setup=setup,
    )


@blueprint.get("/profile/cards/new")
@client_section(scope="billing", feature="payments")
async def get_new_card():
    if not _processor():
        abort(404)
    return await _new_page()


@blueprint.post("/profile/cards")
@client_section(scope="billing", feature="payments")
async def post_card():
    processor = _processor()
    if not processor:
        abort(404)
    form = Form.of(await request.form)
    consent = form.value("consent") in ("1", "on")
    if not consent:
        form.errors["consent"] = rule_message("card_consent_required")
    if len(form.value("nickname")) > 64:
        form.errors["nickname"] = _("Use at most 64 characters.")
    if processor == "demo" and form.value("method") not in cards.DEMO_CARDS:
        form.errors["method"] = rule_message("payment_method_invalid")
    if not form.ok:
        return await _new_page(form, status=422)
    client, config = g.access.client, current_app.config["PORTAL"]
    if processor == "stripe":
        try:
            secret = await stripe_processor.start_setup(
                config, client, g.user, nickname=form.value("nickname")
            )
        except ProcessorUnavailable:
            error = _("We could not reach the card processor. Try again in a minute.")
            return await _new_page(form, error=error, status=503)
        setup = {
            "key": config.stripe_publishable_key,
            "secret": secret,
            "js": config.stripe_js_url,
            "return": f"{config.public_url}/profile/cards/return",
        }
        return await _new_page(form, setup=setup)
    brand, last4 = cards.DEMO_CARDS[form.value("method")]
    from models import clock

    try:
        await cards.add_card(
            client,
            g.user,
            processor="demo",
            ref=form.value("method"),
            brand=brand,
            last4=last4,
            exp_month=12,
            exp_year=clock.now().year + 3,
            consent=True,
            nickname=form.value("nickname"),
        )
    except RuleError as exc:
        return await _new_page(form, error=rule_message(exc.code), status=422)
    return redirect("/profile?card=added#cards", 303)


@blueprint.get("/profile/cards/return")
@client_section(scope="billing", feature="payments")
async def get_card_return():
    """Stripe's way back after the card form: the SetupIntent decides, not the URL."""
    if _processor() != "stripe":
        abort(404)
    config = current_app.config["PORTAL"]
    try:
        await stripe_processor.finish_setup(
            config, g.access.client, g.user, request.args.get("setup_intent", "")
        )
    except RuleError as exc:
        return await _new_page(error=rule_message(exc.code), status=422)
    except ProcessorUnavailable:
        error = _("We could not reach the card processor. Try again in a minute.")
        return await _new_page(error=error, status=503)
    return redirect("/profile?card=added#cards", 303)


async def _card(card_id: int):
    card = await cards.card_of(card_id, g.access.client, g.user)
    if card is None:
        abort(404)
    return card


@blueprint.post("/profile/cards/<id:card_id>/default")
@client_section(scope="billing", feature="payments")
async def post_default(card_id: int):
    await cards.set_default(await _card(card_id), g.access.client, g.user)
    return redirect("/profile?card=default#cards", 303)


@blueprint.post("/profile/cards/<id:card_id>/remove")
@client_section(scope="billing", feature="payments")
async def post_remove(card_id: int):
    card = await _card(card_id)
    if card.processor == "stripe":
        try:
            await stripe_processor.detach(current_app.config["PORTAL"], card)
        except ProcessorUnavailable:
            abort(503)
    await cards.remove_card(card, g.access.client, g.user)
    return redirect("/profile?card=removed#cards", 303)
