"""CSRF tokens and the security headers every response carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def stripe_sources(config) -> dict[str, str]:
    """What Stripe.js needs, and nothing more, when Stripe is configured (its script and
    iframes from STRIPE_JS_URL's origin, the bank's check from hooks.stripe.com, its
    API calls to STRIPE_API_BASE's origin); {} otherwise."""
    if not config.stripe_live:
        return {}
    script, api = _origin(config.stripe_js_url), _origin(config.stripe_api_base)
    frames = [script] + (["https://hooks.stripe.com"] if script == "https://js.stripe.com" else [])
    return {"script": script, "frame": " ".join(frames), "connect": api}


def content_security_policy(nonce: str, stripe: dict[str, str] | None = None) -> str:
    stripe = stripe or {}
    extra = {key: f" {value}" if value else "" for key, value in stripe.items()}
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'{extra.get('script', '')}",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        f"connect-src 'self'{extra.get('connect', '')}",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if stripe.get("frame"):
        directives.append(f"frame-src 'self' {stripe['frame']}")
    return "; ".join(directives)


def install(app: Quart) -> None:
    @app.after_request
    async def security_headers(response: Response) -> Response:
        h = response.headers
        # A route may send a stricter policy of its own (a downloaded file: sandbox).
        config = app.config["PORTAL"]
        h.setdefault(
            "Content-Security-Policy", content_security_policy(csp_nonce(), stripe_sources(config))
        )
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h.setdefault("Referrer-Policy", "same-origin")  # a page may ask for no-referrer
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(self)"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
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
