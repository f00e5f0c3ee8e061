"""My Profile (seed 000): personal information, phones and emails with reminder
settings (changeable here: on or off, how many days before, asking for a
confirmation), the texts and emails the portal sent, contacts, cards on file,
username and sign-in history."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import current_locale
from app.i18n import lazy_gettext as _l
from app.rules import rule_message
from models.cards import visible_cards
from models.errors import RuleError
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint
from models.practice import Practice
from models.profile import EMAIL_LABELS, PHONE_LABELS
from models.security import LoginEvent
from models.settings import processor_usable

blueprint = Blueprint("profile", __name__)
LOG_SHOWN = 20  # the newest texts and emails in "Texts and emails we sent you"
MAX_DAYS_BEFORE = 14
DAYS_CHOICES = list(range(MAX_DAYS_BEFORE + 1))
CARD_NOTICES = {
    "added": _l("The card is on file."),
    "default": _l("That card is now your default."),
    "removed": _l("The card was removed."),
}


async def _opted_out(points: list[ContactPoint]) -> set[int]:
    """The phones that replied STOP (the opt-out table is the truth; the point mirrors it)."""
    phones = [p.value for p in points if p.kind == "phone"]
    stopped = set(await SmsOptOut.filter(phone__in=phones).values_list("phone", flat=True))
    return {
        p.id for p in points if p.kind == "phone" and (p.value in stopped or p.sms_opted_out_at)
    }


@blueprint.get("/profile")
@client_section(scope="profile")
async def get_profile():
    saved = request.args.get("saved", "")
    return await _profile_page(
        saved_id=int(saved) if saved.isdigit() else None,
        card_notice=CARD_NOTICES.get(request.args.get("card", ""), ""),
        notice=request.args.get("notice", ""),
    )


async def _profile_page(
    *,
    forms: dict[int, Form] | None = None,
    saved_id: int | None = None,
    card_notice: str = "",
    status: int = 200,
    notice: str = "",
    **edits,
) -> Response:
    """The page; ``notice`` and ``edits`` (forms with errors) for the editable sections
    (app/routes/profile_details.py)."""
    from app.routes.profile_details import section_context

    client = g.access.client
    context = await section_context(client, notice=notice)
    context.update(edits)
    practice = await Practice.get(id=client.practice_id)
    last_login = (
        await LoginEvent.filter(user_id=g.user.id, success=True).order_by("-at").offset(1).first()
    )
    sent = (
        await OutboxMessage.filter(client_id=client.id, status__in=("sent", "failed"))
        .order_by("-due_at", "-id")
        .limit(LOG_SHOWN)
    )
    return await render_page(
        "views/client/profile.html",
        status=status,
        forms=forms or {},
        saved_id=saved_id,
        sent=[(row, _when(row)) for row in sent],
        # A guardian sees only the cards they added (models.cards.visible_cards).
        cards=await visible_cards(client, g.user).order_by("-is_default", "id"),
        card_notice=card_notice,
        can_add_card=processor_usable(practice),
        last_login=last_login,
        practice=practice,
        **context,
    )


def _when(row: OutboxMessage) -> str:
    """ "Tue, Nov 24, 9:02 AM" ("mar, 24 nov, 9:02") in the client's zone and language."""
    from channels.sms.texts import when

    client = g.access.client
    return when(row.sent_at or row.due_at, client.time_zone, current_locale())


def _checked(form: Form, name: str) -> bool:
    return form.value(name) in ("1", "on", "true")


async def _point_partial(point: ContactPoint, *, form: Form | None, saved: bool, status: int):
    return await render_partial(
        "partials/_reminder_preferences.html",
        status=status,
        p=point,
        opted_out=await _opted_out([point]),
        forms={point.id: form} if form else {},
        saved_id=point.id if saved else None,
        days_choices=DAYS_CHOICES,
        phone_labels=PHONE_LABELS,
        email_labels=EMAIL_LABELS,
    )


@blueprint.post("/profile/reminders/<id:point_id>")
@client_section(scope="profile")
async def post_reminders(point_id: int) -> Response:
    """One phone's or email's reminder settings (only the client's own: else a 404)."""
    point = await ContactPoint.get_or_none(id=point_id, client_id=g.access.client.id)
    if point is None:
        abort(404)
    form = Form.of(await request.form)
    days = form.value("days_before").strip()
    if not (days.isascii() and days.isdigit() and len(days) <= 2) or int(days) > MAX_DAYS_BEFORE:
        form.errors["days_before"] = rule_message("reminder_days_invalid")
    else:
        from models import reminders

        try:
            await reminders.set_preferences(
                point,
                reminders=_checked(form, "reminders"),
                days_before=int(days),
                request_confirmation=_checked(form, "request_confirmation"),
            )
        except RuleError as exc:
            form.errors["days_before"] = rule_message(exc.code)
    point = await ContactPoint.get(id=point.id)  # as saved (or as it was)
    if form.errors:
        if is_htmx():
            return await _point_partial(point, form=form, saved=False, status=422)
        return await _profile_page(forms={point.id: form}, status=422)
    if not is_htmx():
        return redirect(f"/profile?saved={point.id}#point-{point.id}", 303)
    return await _point_partial(point, form=None, saved=True, status=200)
