"""Who is asking: the session behind the cookie, and each route's access rule.

Every route declares exactly one rule with a decorator below; a route without
one is refused (and a test walks ``app.url_map`` to keep it that way).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from quart import Response, abort, current_app, g, redirect, request

from app.htmx import hx_redirect, is_htmx
from models import signin
from models.access import client_accesses, pick_access, preview_access, staff_member_for
from models.people import Role
from models.security import Session
from models.settings import settings_for

RULE_ATTR = "_access_rule"


def session_cookie_name() -> str:
    return "__Host-portal_session" if current_app.config["PORTAL"].https else "portal_session"


async def load_session() -> None:
    """``g.user`` and ``g.session`` for a signed-in session; a session still owed a
    two-factor code is only ``g.pending`` (signed in to nothing but the code page)."""
    g.user = None
    g.session = None
    g.pending = None
    g.own_client = None
    token = request.cookies.get(session_cookie_name(), "")
    session = await Session.resume(token) if token else None
    if session is not None and session.stage == signin.CODE:
        g.pending = session
    elif session is not None:
        g.session = session
        g.user = session.user


# The pages a session owing a step may reach (besides static files and signing out).
STAGE_PAGES = {
    signin.ENROL: ("/profile/security/two-factor", "/terms"),
    signin.TERMS: ("/terms",),
}
ALWAYS_OPEN = ("/logout", "/language", "/healthz", "/static/", "/dev/", "/help")


def stage_redirect() -> Response | None:
    """Send a session that owes enrolment or the terms to the page that settles it."""
    session = getattr(g, "session", None)
    if session is None or not session.stage:
        return None
    allowed = STAGE_PAGES.get(session.stage, ())
    if request.path.startswith(allowed + ALWAYS_OPEN):
        return None
    target = allowed[0] if allowed else "/logout"
    if is_htmx():
        return hx_redirect(Response("", status=200), target)
    return redirect(target, 303)


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        session_cookie_name(),
        token,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["PORTAL"].https,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(session_cookie_name(), path="/")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: ``/x`` yes, ``//evil.test`` or ``https://...`` no."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _to_login() -> Response:
    url = "/login?next=" + quote(request.full_path.rstrip("?"), safe="/")
    if is_htmx():
        return hx_redirect(Response("", status=401), url)
    return redirect(url, 303)


def _mark(view: Callable, rule: str) -> Callable:
    setattr(view, RULE_ATTR, rule)
    return view


def public(view: Callable) -> Callable:
    """Anyone, signed in or not."""
    return _mark(view, "public")


def webhook(view: Callable) -> Callable:
    """A peer system (Twilio, Stripe): no session or CSRF; the view checks a signature."""
    return _mark(view, "webhook")


def signed_in(view: Callable) -> Callable:
    @wraps(view)
    async def wrapper(*args, **kwargs):
        if g.user is None:
            return _to_login()
        return await view(*args, **kwargs)

    return _mark(wrapper, "signed_in")


def client_section(
    scope: str | None = None, feature: str | None = None, category: str | None = None
) -> Callable:
    """A client portal page. Loads ``g.access`` (the client being acted for) and
    ``g.settings``; a feature switched off or a scope a guardian lacks is a 404.

    Every GET that the view answers writes one audit row: the user read this
    client's ``category`` (by default the scope's: forms are "documents", no
    scope is the "dashboard")."""
    section = category or {"forms": "documents"}.get(scope or "", scope or "dashboard")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        async def wrapper(*args, **kwargs):
            if g.user is None:
                return _to_login()
            g.accesses = await client_accesses(g.user, own=g.own_client)
            g.access = pick_access(g.accesses, g.session.acting_client_id)
            if g.access is None:
                staff = await staff_member_for(g.user)
                if staff is None:
                    abort(404)
                g.access = await preview_access(staff, g.session.acting_client_id)
                if g.access is None:
                    return redirect("/staff/", 303)
            g.settings = await settings_for(g.access.client)
            if g.access.preview and request.method not in ("GET", "HEAD"):
                abort(403, "preview")  # an admin's preview changes nothing
            if feature and not g.settings[feature]:
                abort(404)
            if scope and not g.access.allows(scope):
                abort(404)
            response = await view(*args, **kwargs)
            if request.method in ("GET", "HEAD"):
                ids = [(k.removesuffix("_id"), v) for k, v in kwargs.items() if k.endswith("_id")]
                await audit_read(
                    g.access.client.id,
                    section,
                    object_type=ids[0][0] if ids else "",
                    object_id=ids[0][1] if ids else "",
                )
            return response

        return _mark(wrapper, f"client:{scope or '*'}:{feature or '*'}")

    return decorate


async def audit_read(
    client_id: int, category: str, *, object_type: str = "", object_id: object = ""
) -> None:
    """One audit row: the signed-in person read this client's ``category`` on the web."""
    from app.net import client_ip
    from models.audit import READ, audit

    await audit(
        g.user,
        READ,
        client_id=client_id,
        category=category,
        via="web",
        ip=client_ip(),
        object_type=object_type,
        object_id=object_id,
        page=request.endpoint,
    )


def staff_only(*roles: Role) -> Callable:
    """A staff page; with ``roles``, only staff holding one of them (admins hold all)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        async def wrapper(*args, **kwargs):
            if g.user is None:
                return _to_login()
            g.staff = await staff_member_for(g.user)
            if g.staff is None:
                abort(404)
            if roles and not (
                g.staff.has_role(Role.ADMIN) or any(g.staff.has_role(r) for r in roles)
            ):
                abort(403)
            return await view(*args, **kwargs)

        return _mark(wrapper, "staff:" + ",".join(roles))

    return decorate


def rule_of(view: Callable | None) -> str | None:
    return getattr(view, RULE_ATTR, None)
