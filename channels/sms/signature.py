"""``X-Twilio-Signature``: every Twilio webhook is checked before anything is done.

Twilio signs the full URL it called (scheme, host, port, path and query) followed by
the POST parameters sorted by name, with HMAC-SHA1 under the account's auth token.
Behind a TLS-terminating proxy the app sees ``http://127.0.0.1:8000/...``, so the
URL is rebuilt from ``PUBLIC_URL`` (Twilio error 57012 is this mismatch). The SDK's
``RequestValidator`` does the arithmetic and compares in constant time.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

from app.config import Config


def public_url(config: Config, path: str, query: str = "") -> str:
    """The URL Twilio called: ``PUBLIC_URL`` + the request's path and query."""
    url = config.public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def sign(config: Config, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send (the /dev/sms page and tests sign with it)."""
    return RequestValidator(config.twilio_webhook_token).compute_signature(url, params)


def valid(config: Config, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True only for a signature made with this deployment's token over exactly
    ``url`` and ``params``. Always False without a token (production without Twilio)."""
    token = config.twilio_webhook_token
    if not token or not signature or len(signature) > 200:
        return False
    # As given: a MultiDict keeps repeated parameters, which Twilio signs too.
    return RequestValidator(token).validate(url, params, signature)
