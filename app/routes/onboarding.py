"""How people get a portal account: the practice's new-invitation link (``/register``),
its emailed confirm link, and the invitation links staff send (``/invite/<token>``).

``POST /register`` answers every well-formed form with the same page and status,
whether the person is new, already has an account, or may duplicate a client:
what happens next is said in the email, which only the address's owner reads.
"""

from __future__ import annotations

from datetime import date

from quart import Blueprint, Response, abort, g, request

from app.auth import public
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import _
from app.net import client_ip
from app.rules import rule_message
from channels.email import queue_email
from models import clock, onboarding
from models.auth import MAX_PASSWORD, normalize_email
from models.errors import RuleError
from models.passwords import password_problem
from models.practice import Practice
from models.profile import normalize_phone

blueprint = Blueprint("onboarding", __name__)

# Links that no longer work: used or expired is 410 (Gone), never valid is 404.
LINK_STATUS = {
    "link_invalid": 404,
    "invitation_used": 410,
    "invitation_expired": 410,
    "registration_used": 410,
    "registration_expired": 410,
    "registration_email_taken": 410,
}


async def send_mail(mail: onboarding.Mail) -> None:
    """Queue an email a rule asked for, in the caller's transaction (see channels/email)."""
    await queue_email(
        to=mail.to,
        template=mail.template,
        context={
            "practice_name": mail.practice_name,
            "path": mail.path,
            "expires_at": mail.expires_at,
            "time_zone": mail.time_zone,
        },
        lang=mail.language,
        dedupe_key=mail.dedupe_key,
        client_id=mail.client_id,
    )


async def link_refused(code: str) -> Response:
    """The page for a link that does not work (410 when it did once, else 404)."""
    return await render_page(
        "views/sessions/link_expired.html",
        status=LINK_STATUS.get(code, 410),
        code=code,
        message=rule_message(code),
    )


# ---- the practice's new-invitation link ---------------------------------------------


async def _practice_of_link() -> tuple[Practice, str]:
    """The practice a registration link is for (``?practice=<id>``; the first practice
    of this installation without it) and the form's action."""
    raw = request.args.get("practice", "")
    if raw:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            abort(404)
        practice = await Practice.get_or_none(id=int(raw))
        action = f"/register?practice={int(raw)}"
    else:
        practice = await Practice.all().order_by("id").first()
        action = "/register"
    if practice is None:
        abort(404)
    return practice, action


def _registration_form(form: Form) -> None:
    """Validate into ``form.cleaned``; errors go next to their fields."""
    for name in ("first_name", "last_name"):
        value = form.text(name, max_length=100)
        if value and onboarding.has_control_characters(value):
            form.errors[name] = rule_message("text_invalid")
    email = form.text("email", max_length=254)
    if email is not None:
        email = normalize_email(email)
        if onboarding.valid_email(email):
            form.cleaned["email"] = email
        else:
            form.errors["email"] = rule_message("email_invalid")
    raw_dob = form.value("date_of_birth").strip()
    if not raw_dob:
        form.errors["date_of_birth"] = _("This field is required.")
    else:
        try:
            dob = date.fromisoformat(raw_dob[:10]) if len(raw_dob) <= 10 else None
        except ValueError:
            dob = None
        if dob is None or not date(1900, 1, 1) <= dob < clock.now().date():
            form.errors["date_of_birth"] = rule_message("date_of_birth_invalid")
        else:
            form.cleaned["date_of_birth"] = dob
    phone = form.text("phone", required=False, max_length=32)
    if phone:
        normalized = normalize_phone(phone)
        if normalized is None:
            form.errors["phone"] = _("Enter a phone number like +1 555 010 0100.")
        else:
            form.cleaned["phone"] = normalized
    password = form.data.get("password", "")
    if not password:
        form.errors["password"] = _("This field is required.")
    elif len(password) > MAX_PASSWORD:
        form.errors["password"] = rule_message("password_too_long")
    elif form.ok:
        first, last = form.cleaned["first_name"], form.cleaned["last_name"]
        personal = (form.cleaned["email"], first, last, f"{first} {last}")
        if problem := password_problem(password, personal=personal):
            form.errors["password"] = rule_message(problem)


@blueprint.get("/register")
@public
async def get_register():
    practice, action = await _practice_of_link()
    return await render_page(
        "views/sessions/register.html", form=Form({}), practice=practice, action=action
    )


@blueprint.post("/register")
@public
async def post_register():
    practice, action = await _practice_of_link()
    form = Form.of(await request.form)
    _registration_form(form)
    if form.ok:
        try:
            await onboarding.start_registration(
                practice,
                form.cleaned["email"],
                form.cleaned["first_name"],
                form.cleaned["last_name"],
                form.cleaned["date_of_birth"],
                form.cleaned.get("phone") or "",
                form.data["password"],
                language=g.locale,
                send=send_mail,
            )
        except RuleError as exc:  # the form checks the same rules; a last line of defence
            form.errors["__all__"] = rule_message(exc.code)
    if not form.ok:
        form.data.pop("password", None)
        return await render_page(
            "views/sessions/register.html", status=422, form=form, practice=practice, action=action
        )
    # The same page, whatever happened: see the module's docstring.
    return await render_page("views/sessions/register_sent.html", practice=practice)


@blueprint.get("/register/confirm/<token>")
@public
async def get_register_confirm(token: str):
    try:
        user = await onboarding.confirm_registration(token, language=g.locale, ip=client_ip())
    except RuleError as exc:
        return await link_refused(exc.code)
    return await render_page("views/sessions/account_ready.html", review=user is None)


# ---- invitation links staff send ----------------------------------------------------


@blueprint.get("/invite/<token>")
@public
async def get_invite(token: str):
    try:
        invitation = await onboarding.invitation_for(token)
    except RuleError as exc:
        return await link_refused(exc.code)
    return await render_page("views/sessions/invite.html", invitation=invitation, form=Form({}))


@blueprint.post("/invite/<token>")
@public
async def post_invite(token: str):
    try:
        invitation = await onboarding.invitation_for(token)
    except RuleError as exc:
        if is_htmx():  # htmx does not swap a 410: show the page by loading it
            return hx_redirect(Response("", 200), request.path)
        return await link_refused(exc.code)
    form = Form.of(await request.form)
    username = form.text("username", required=False, max_length=64) or ""
    username = onboarding.normalize_username(username)
    if username and (problem := onboarding.username_problem(username)):
        form.errors["username"] = rule_message(problem)
    password = form.data.get("password", "")
    client = invitation.client
    personal = (invitation.email, username, client.first_name, client.last_name, client.full_name)
    if not password:
        form.errors["password"] = _("This field is required.")
    elif len(password) > MAX_PASSWORD:
        form.errors["password"] = rule_message("password_too_long")
    elif problem := password_problem(password, personal=personal):
        form.errors["password"] = rule_message(problem)
    if form.ok:
        try:
            await onboarding.accept_invitation(token, username, password, ip=client_ip())
        except RuleError as exc:
            if exc.code in LINK_STATUS:
                if is_htmx():
                    return hx_redirect(Response("", 200), request.path)
                return await link_refused(exc.code)
            field = "username" if exc.code.startswith("username") else "password"
            if exc.code == "email_in_use":
                field = "__all__"
            form.errors[field] = rule_message(exc.code)
    if not form.ok:
        form.data.pop("password", None)
        return await render_page(
            "views/sessions/invite.html", status=422, invitation=invitation, form=form
        )
    return await render_page("views/sessions/account_ready.html", review=False)
