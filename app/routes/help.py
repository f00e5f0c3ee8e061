"""Help: short guides and frequently asked questions for each portal section (issue 8).

Public: anyone can read it, signed in or not (the sign-in page links here). Signed in,
it sits inside the person's own portal (client menu or staff menu). The guides are
long-form text written in each language, one template per section and language under
``views/help/<lang>/``; only the page's frame goes through gettext.
"""

from __future__ import annotations

from quart import Blueprint, abort, g

from app.auth import public
from app.htmx import render_page
from app.i18n import current_locale
from app.i18n import lazy_gettext as _l

blueprint = Blueprint("help", __name__)

# The sections, in the order the index shows them. A slug is also a template's name:
# only these keys ever reach the template loader.
SECTIONS = {
    "getting-started": _l("Getting started"),
    "appointments": _l("Appointments"),
    "messages": _l("Messages"),
    "billing": _l("Billing and payments"),
    "forms-and-documents": _l("Forms and documents"),
    "insurance": _l("Insurance"),
    "profile": _l("My Profile"),
    "guardians": _l("Parents, guardians and contacts"),
    "privacy-and-security": _l("Privacy and security"),
}


async def _frame() -> None:
    """Put the signed-in person's own menu around the page. Signed out, or owing a
    sign-in step (two-factor enrolment, the terms), the page stands alone."""
    if g.user is None or g.session is None or g.session.stage:
        return
    from app.routes.security import shell

    await shell()


@blueprint.get("/help")
@public
async def get_index():
    await _frame()
    return await render_page("views/help/index.html", sections=SECTIONS, lang=current_locale())


@blueprint.get("/help/<slug>")
@public
async def get_section(slug: str):
    if slug not in SECTIONS:
        abort(404)
    await _frame()
    slugs = list(SECTIONS)
    at = slugs.index(slug)
    return await render_page(
        "views/help/section.html",
        sections=SECTIONS,
        slug=slug,
        title=SECTIONS[slug],
        lang=current_locale(),
        previous=slugs[at - 1] if at > 0 else None,
        following=slugs[at + 1] if at + 1 < len(slugs) else None,
    )
