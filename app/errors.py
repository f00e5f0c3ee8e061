"""Every error is a page in the layout (or its fragment for htmx), never a stack trace."""

from __future__ import annotations

import logging

from quart import Quart, Response, g, has_websocket_context
from werkzeug.exceptions import HTTPException

from app.htmx import render_page
from app.i18n import _

log = logging.getLogger("portal")


def _message(status: int, description: str | None) -> tuple[str, str]:
    if status == 403 and description == "preview":
        return _("This is a preview"), _(
            "An admin's preview of a client's portal is read-only: nothing was changed."
        )
    if status == 403 and description == "csrf":
        return _("This form has expired"), _(
            "Your page was open too long or was sent twice. Reload the page and try again."
        )
    return {
        400: (_("Bad request"), _("Something in that request was not understood.")),
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("We could not find that page.")),
        405: (_("Not allowed"), _("That action is not available here.")),
        413: (_("Too large"), _("What you sent is larger than we accept.")),
    }.get(status, (_("Something went wrong"), _("Please try again in a moment.")))


async def render_error(status: int, description: str | None = None):
    title, text = _message(status, description)
    if has_websocket_context():  # a refused or failed handshake: no page to draw
        return Response(title, status=status, content_type="text/plain; charset=utf-8")
    if not hasattr(g, "locale"):
        g.locale = "en"
    return await render_page("views/error.html", status=status, title=title, text=text)


def install(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException):
        return await render_error(exc.code or 500, exc.description)

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception):
        log.exception("unhandled error")  # no request data: it may hold PHI
        return await render_error(500)
