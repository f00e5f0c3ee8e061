"""Template rendering: one synchronous Jinja environment for pages and fragments.

Quart's own environment renders asynchronously, which wraps every include and
macro call in a coroutine; a dashboard with a dozen included cards spent most of
its CPU there. These templates never await anything (views fetch all data
first), so they render synchronously, several times faster.
"""

from __future__ import annotations

import json

from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape
from jinja2_fragments import render_block
from quart import current_app, g, request

from app import i18n, security
from app.config import ROOT

HTMX_CONFIG = json.dumps(
    {
        "allowEval": False,
        "allowScriptTags": False,
        "historyCacheSize": 0,
        "refreshOnHistoryMiss": True,
        "includeIndicatorStyles": False,
        "selfRequestsOnly": True,
        "defaultSwapStyle": "outerHTML",
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "422", "swap": True},
            {"code": "40[34]", "swap": True, "error": True},
            {"code": "413", "swap": True, "error": True},  # an upload over its limit
            {"code": "[45]..", "swap": False, "error": True},
        ],
    }
)


def _environment() -> Environment:
    env = Environment(
        loader=PrefixLoader(
            {
                "views": FileSystemLoader(str(ROOT / "views")),
                "partials": FileSystemLoader(str(ROOT / "partials")),
            }
        ),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals.update(
        csrf_token=security.csrf_token,
        csp_nonce=security.csp_nonce,
        locale=i18n.current_locale,
        languages=i18n.LANGUAGES,
        htmx_config=HTMX_CONFIG,
    )
    env.filters.update(
        money=i18n.money,
        local_datetime=i18n.local_datetime,
        local_date=i18n.local_date,
        local_time=i18n.local_time,
        weekday_date=i18n.weekday_date,
    )
    return env


environment = _environment()


async def _context(**context) -> dict:
    """What every template may use: the request, the person, the menus."""
    from app.htmx import is_htmx

    base: dict = {
        "request": request,
        "user": getattr(g, "user", None),
        "hx_request": is_htmx,
        "live": None,
        "live_enabled": False,
    }
    if getattr(g, "access", None) is not None:
        from app.menu import client_menu

        base.update(
            menu=await client_menu(),
            access=g.access,
            accesses=g.accesses,
            client=g.access.client,
            tz=g.access.client.time_zone,
            settings=getattr(g, "settings", {}),
            # A preview is read-only: no live socket, no Stripe.js.
            live_enabled=bool(getattr(g, "settings", {}).get("messaging"))
            and g.access.allows("messages")
            and not g.access.preview,
            stripe_enabled=current_app.config["PORTAL"].stripe_live
            and g.access.client.practice.payment_processor == "stripe"
            and not g.access.preview,
        )
    if getattr(g, "staff", None) is not None:
        from app.menu import staff_badges, staff_menu

        base.update(
            staff=g.staff,
            staff_menu=staff_menu(g.staff),
            staff_badges=await staff_badges(g.staff),
            live_enabled=True,
            tz=g.staff.practice.time_zone,
        )
    base.update(context)
    return base


async def render(template: str, block: str | None = None, **context) -> str:
    """The whole template, or only one of its blocks (an htmx fragment)."""
    context = await _context(**context)
    if block is not None:
        return render_block(environment, template, block, **context)
    return environment.get_template(template).render(**context)
