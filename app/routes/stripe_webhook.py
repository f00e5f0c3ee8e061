"""Stripe's webhook, ``POST /stripe/webhook`` (``channels.stripe_webhook``).

No session or CSRF token: Stripe proves itself with ``Stripe-Signature`` over the raw
body, which is read as bytes and never re-serialized. Without Stripe configured every
delivery is refused (404: there is no webhook here)."""

from __future__ import annotations

from quart import Blueprint, abort, current_app, jsonify, request

from app.auth import webhook
from channels import stripe_webhook

blueprint = Blueprint("stripe_webhook", __name__)


@blueprint.post("/stripe/webhook")
@webhook
async def post_webhook():
    config = current_app.config["PORTAL"]
    if not config.stripe_webhook_secret:
        abort(404)
    raw = await request.get_data(cache=False, as_text=False)
    header = request.headers.get("Stripe-Signature", "")
    status, body = await stripe_webhook.receive(config, raw, header)
    return jsonify(body), status
