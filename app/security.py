"""CSRF tokens and the security headers every response carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from quart import Quart, Response, current_app, g, request

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ANON_COOKIE = "portal_anon"


def csp_nonce() -> str:
    if not hasattr(g, "csp_nonce"):
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _anon_seed() -> str:
    if not hasattr(g, "anon_seed"):
        g.anon_seed = request.cookies.get(ANON_COOKIE) or ""
        if len(g.anon_seed) != 43:
            g.anon_seed = secrets.token_urlsafe(32)
            g.set_anon_cookie = True
    return g.anon_seed


def csrf_token() -> str:
    """The signed-in session's token, or one bound to an anonymous cookie (login CSRF)."""
    session = getattr(g, "session", None)
    if session is not None:
        return session.csrf_token
    key = current_app.config["PORTAL"].secret_key.encode()
    return hmac.new(key, _anon_seed().encode(), hashlib.sha256).hexdigest()


async def csrf_ok() -> bool:
    sent = request.headers.get("X-CSRF-Token")
    if not sent:
        form = await request.form
        sent = form.get("csrf_token", "")
    expected = csrf_token()
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def install(app: Quart) -> None:
    @app.after_request
    async def security_headers(response: Response) -> Response:
        h = response.headers
        # A route may send a stricter policy of its own (a downloaded file: sandbox).
        h.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h.setdefault("Referrer-Policy", "same-origin")  # a page may ask for no-referrer
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(self)"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        config = app.config["PORTAL"]
        if config.https:
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if getattr(g, "user", None) is not None or request.path.startswith("/login"):
            h["Cache-Control"] = "no-store"
        elif "Cache-Control" not in h and not request.path.startswith("/static/"):
            h["Cache-Control"] = "no-cache"
        if getattr(g, "set_anon_cookie", False):
            response.set_cookie(
                ANON_COOKIE,
                g.anon_seed,
                httponly=True,
                samesite="Lax",
                secure=config.https,
                max_age=12 * 3600,
            )
        return response
