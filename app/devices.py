"""The device cookie: a random token per browser, signed, that says "seen here before"."""

from __future__ import annotations

from quart import Response, current_app, request

from models.devices import sign_token, unsign_token

MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days; "remembered" is decided server-side


def device_cookie_name() -> str:
    return "__Host-portal_device" if current_app.config["PORTAL"].https else "portal_device"


def device_token() -> str | None:
    """The browser's device token, or None when it has none or the cookie is forged."""
    return unsign_token(
        request.cookies.get(device_cookie_name(), ""), current_app.config["PORTAL"].secret_key
    )


def set_device_cookie(response: Response, token: str) -> None:
    config = current_app.config["PORTAL"]
    response.set_cookie(
        device_cookie_name(),
        sign_token(token, config.secret_key),
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=config.https,
        path="/",
    )
