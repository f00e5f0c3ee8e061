"""The texts and emails the portal sends to clients, previewed for admins
(``GET /admin/templates?lang=en|es``; the previews are built in
channels/template_previews.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from quart import Blueprint, abort, g, request

from app.auth import staff_only
from app.htmx import render_page
from app.i18n import LANGUAGES, current_locale
from channels.sms import texts
from channels.template_previews import (
    SAMPLE_CLIENT,
    SAMPLE_PROVIDER,
    practice_zone,
    render_previews,
    sample_start,
)
from models.people import Role
from models.practice import Practice

blueprint = Blueprint("admin_templates", __name__, url_prefix="/admin")


@blueprint.get("/templates")
@staff_only(Role.ADMIN)
async def get_templates():
    raw = request.args.get("lang")
    if raw is None:
        lang = current_locale() if current_locale() in LANGUAGES else "en"
    elif raw in LANGUAGES:
        lang = raw
    else:
        abort(404)
    practice = await Practice.get(id=g.staff.practice_id)
    previews = render_previews(practice, lang)
    return await render_page(
        "views/admin/templates.html",
        practice=practice,
        lang=lang,
        languages=LANGUAGES,
        sms=[p for p in previews if p["channel"] == "sms"],
        emails=[p for p in previews if p["channel"] == "email"],
        sample_client=SAMPLE_CLIENT,
        sample_provider=SAMPLE_PROVIDER,
        sample_start=texts.when(
            sample_start(ZoneInfo(practice_zone(practice))), practice_zone(practice), lang
        ),
    )
