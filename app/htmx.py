"""The one place that knows htmx's request and response headers."""

from __future__ import annotations

import json

from quart import Response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def hx_redirect(response: Response, url: str) -> Response:
    response.headers["HX-Redirect"] = url
    return response


def hx_retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Swap this response somewhere else than the element asked (a form's errors)."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response


def hx_trigger(response: Response, event: str, detail: object = None) -> Response:
    """Add an event to ``HX-Trigger``, merging with any already set."""
    existing = response.headers.get("HX-Trigger")
    events = json.loads(existing) if existing else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def vary_on_htmx(response: Response) -> Response:
    vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if "HX-Request" not in vary:
        vary.append("HX-Request")
    response.headers["Vary"] = ", ".join(vary)
    return response


async def render_page(template: str, *, status: int = 200, **context) -> Response:
    """The full page, or for an htmx request only its ``main`` block.

    The block carries the page title and an out-of-band copy of the menu (so the
    current entry and the badges follow navigation).
    """
    from app.templates import render

    body = await render(template, "main" if is_htmx() else None, **context)
    return vary_on_htmx(Response(body, status=status, content_type="text/html; charset=utf-8"))


async def render_partial(template: str, *, status: int = 200, **context) -> Response:
    from app.templates import render

    body = await render(template, **context)
    return vary_on_htmx(Response(body, status=status, content_type="text/html; charset=utf-8"))
