"""My Profile's editable details: phones and emails, personal details, details the
practice reviews first, the photo ID and contacts (issue 8).

Each form answers its section's partial to htmx (422 with its errors) and, without
JavaScript, a 303 back to /profile at the section with a notice (or the whole page
with 422). Posted fields the forms do not have (client_id, portal_access, scopes,
status...) are never read."""

from __future__ import annotations

import re
from datetime import date, timedelta

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_partial
from app.i18n import lazy_gettext as _l
from app.rules import rule_message
from app.uploads import accepts_uploads, send_stored, store_document
from models import clock, document_files
from models import profile as rules
from models.documents import Document
from models.errors import RuleError
from models.people import Contact, ContactPoint
from models.profile_changes import ChangeStatus, ProfileChange

blueprint = Blueprint("profile_details", __name__)
DECLINED_SHOWN_DAYS = 60
NOTICES = {
    "point_added": ("profile-points", _l("Added.")),
    "point_saved": ("profile-points", _l("Saved.")),
    "point_default": ("profile-points", _l("That one is now your default.")),
    "point_removed": ("profile-points", _l("Removed.")),
    "details_saved": ("profile-details", _l("Your details are saved.")),
    "review_sent": ("profile-review", _l("Sent to the practice for review.")),
    "photo_saved": ("profile-photo-id", _l("Your photo ID is uploaded.")),
    "contact_added": ("profile-contacts", _l("The contact is added.")),
    "contact_saved": ("profile-contacts", _l("The contact is saved.")),
    "contact_removed": ("profile-contacts", _l("The contact was removed.")),
}
PARTIALS = {
    "profile-points": "partials/_profile_points.html",
    "profile-details": "partials/_profile_details.html",
    "profile-review": "partials/_profile_review.html",
    "profile-photo-id": "partials/_profile_photo_id.html",
    "profile-contacts": "partials/_profile_contacts.html",
}
FIELD_NAMES = {
    "first_name": _l("Legal first name"),
    "last_name": _l("Legal last name"),
    "date_of_birth": _l("Date of birth"),
    "address_line1": _l("Street address"),
    "city": _l("City"),
    "region": _l("State"),
    "postal_code": _l("ZIP code"),
}
# The stored English words shown translated (listed here so they are extracted).
WORDS = (
    _l("Mobile"),
    _l("Work"),
    _l("Home"),
    _l("Primary Email"),
    _l("Work Email"),
    _l("Other Email"),
    _l("Parent/Guardian"),
    _l("Spouse/Partner"),
    _l("Emergency contact"),
    _l("Other"),
)
ZIP = re.compile(r"[0-9]{5}(-[0-9]{4})?")
REVIEW_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "address_line1": 200,
    "city": 100,
    "region": 64,
}


async def section_context(client, *, notice: str = "") -> dict:
    """What the editable sections of My Profile show (the page and each partial)."""
    from app.routes.profile import DAYS_CHOICES, _opted_out

    points = await ContactPoint.filter(client_id=client.id).order_by("kind", "-is_default", "id")
    pending = await rules.pending_changes(client.id)
    since = clock.now() - timedelta(days=DECLINED_SHOWN_DAYS)
    section, text = NOTICES.get(notice, ("", ""))
    return {
        "points": points,
        "opted_out": await _opted_out(points),
        "days_choices": DAYS_CHOICES,
        "point_form": Form({"label": "Mobile"}),
        "edit_forms": {},
        "details_form": Form(
            {
                "preferred_name": client.preferred_name,
                "pronouns": client.pronouns,
                "time_zone": client.time_zone,
                "preferred_language": client.preferred_language,
            }
        ),
        "review_form": Form(
            {
                f: pending[f].new_value if f in pending else rules.current_value(client, f)
                for f in rules.REVIEWED
            }
        ),
        "pending": pending,
        "declined": await ProfileChange.filter(
            client_id=client.id, status=ChangeStatus.DECLINED, reviewed_at__gte=since
        ).order_by("-reviewed_at"),
        "photo": await Document.get_or_none(id=client.photo_id_id) if client.photo_id_id else None,
        "photo_error": "",
        "contacts": await Contact.filter(client_id=client.id).order_by("name", "id"),
        "contact_form": Form({"relationship": ""}),
        "contact_forms": {},
        "zones": rules.zone_choices(),
        "us_zones": rules.US_ZONES,
        "pronoun_suggestions": rules.PRONOUN_SUGGESTIONS,
        "relationships": rules.RELATIONSHIPS,
        "phone_labels": rules.PHONE_LABELS,
        "email_labels": rules.EMAIL_LABELS,
        "max_points": rules.MAX_POINTS,
        "field_names": FIELD_NAMES,
        "notice": text,
        "notice_section": section,
    }


async def _answer(section: str, notice: str = "", *, status: int = 200, **forms) -> Response:
    """The section's partial (htmx), else back to the page: 303, or 422 with the errors."""
    if is_htmx():
        context = await section_context(g.access.client, notice=notice)
        context.update(forms, forms={}, saved_id=None)
        return await render_partial(PARTIALS[section], status=status, **context)
    if status == 422:
        from app.routes.profile import _profile_page

        return await _profile_page(status=422, **forms)
    return redirect(f"/profile?notice={notice}#{section}", 303)


async def _form() -> Form:
    return Form.of(await request.form)


def _checked(form: Form, name: str) -> bool:
    return form.value(name) in ("1", "on", "true")


def _refused(form: Form, field: str, error: RuleError) -> None:
    form.errors[field] = rule_message(error.code)


# ---- phones and emails ---------------------------------------------------------------


async def _point(point_id: int) -> ContactPoint:
    point = await ContactPoint.get_or_none(id=point_id, client_id=g.access.client.id)
    if point is None:
        abort(404)
    return point


@blueprint.post("/profile/points")
@client_section(scope="profile")
async def post_point() -> Response:
    form = await _form()
    label = form.value("label")
    # The label says the kind: "Mobile" is a phone, "Work Email" an email.
    kind = "email" if label in rules.EMAIL_LABELS else "phone"
    try:
        await rules.add_point(g.access.client, kind=kind, label=label, value=form.value("value"))
    except RuleError as error:
        _refused(form, "label" if error.code == "point_label_invalid" else "value", error)
        return await _answer("profile-points", status=422, point_form=form)
    return await _answer("profile-points", "point_added")


@blueprint.post("/profile/points/<id:point_id>")
@client_section(scope="profile")
async def post_edit_point(point_id: int) -> Response:
    point = await _point(point_id)
    form = await _form()
    try:
        await rules.edit_point(point, label=form.value("label"), value=form.value("value"))
    except RuleError as error:
        _refused(form, "label" if error.code == "point_label_invalid" else "value", error)
        return await _answer("profile-points", status=422, edit_forms={point.id: form})
    return await _answer("profile-points", "point_saved")


@blueprint.post("/profile/points/<id:point_id>/default")
@client_section(scope="profile")
async def post_default_point(point_id: int) -> Response:
    await rules.make_default(await _point(point_id))
    return await _answer("profile-points", "point_default")


@blueprint.post("/profile/points/<id:point_id>/remove")
@client_section(scope="profile")
async def post_remove_point(point_id: int) -> Response:
    point = await ContactPoint.get_or_none(id=point_id, client_id=g.access.client.id)
    if point is not None:
        await rules.remove_point(point)
    elif await ContactPoint.exists(id=point_id):
        abort(404)  # someone else's; gone altogether is a second click: the same answer
    return await _answer("profile-points", "point_removed")


# ---- personal details, at once -------------------------------------------------------


@blueprint.post("/profile/details")
@client_section(scope="profile")
async def post_details() -> Response:
    form = await _form()
    preferred_name = form.text("preferred_name", required=False, max_length=100)
    pronouns = form.text("pronouns", required=False, max_length=32)
    if form.ok:
        try:
            client = await rules.update_details(
                g.access.client,
                by=g.user,
                preferred_name=preferred_name or "",
                pronouns=pronouns or "",
                time_zone=form.value("time_zone"),
                preferred_language=form.value("preferred_language"),
            )
        except RuleError as error:
            field = {"language_unknown": "preferred_language"}.get(error.code, "time_zone")
            _refused(form, field, error)
    if not form.ok:
        return await _answer("profile-details", status=422, details_form=form)
    language_changed = client.preferred_language != g.access.client.preferred_language
    for name in ("preferred_name", "pronouns", "time_zone", "preferred_language"):
        setattr(g.access.client, name, getattr(client, name))  # the page shows them now
    if language_changed and client.user_id == g.user.id and is_htmx():
        # The whole portal speaks the new language: load the page again.
        return hx_redirect(Response("", 200), "/profile?notice=details_saved#profile-details")
    return await _answer("profile-details", "details_saved")


# ---- details the practice reviews ----------------------------------------------------


def _review_values(form: Form) -> dict[str, str]:
    values: dict[str, str] = {}
    for field, limit in REVIEW_LIMITS.items():
        value = form.text(field, required=field in ("first_name", "last_name"), max_length=limit)
        if value is not None:
            values[field] = value
    born = form.optional_date("date_of_birth")
    if born is not None and born > date.today():
        form.errors["date_of_birth"] = rule_message("date_of_birth_future")
    elif "date_of_birth" in form.cleaned:
        values["date_of_birth"] = born.isoformat() if born else ""
    postal = form.text("postal_code", required=False, max_length=16)
    if postal is not None:
        if postal and not ZIP.fullmatch(postal):
            form.errors["postal_code"] = rule_message("postal_code_invalid")
        else:
            values["postal_code"] = postal
    return values


@blueprint.post("/profile/review")
@client_section(scope="profile")
async def post_review() -> Response:
    form = await _form()
    values = _review_values(form)
    if not form.ok:
        return await _answer("profile-review", status=422, review_form=form)
    await rules.request_changes(g.access.client, by=g.user, values=values)
    return await _answer("profile-review", "review_sent")


# ---- photo ID ------------------------------------------------------------------------


@blueprint.post("/profile/photo-id")
@client_section(scope="profile")
@accepts_uploads
async def post_photo_id() -> Response:
    client = g.access.client
    try:
        document = await store_document(
            "photo_id",
            client_id=client.id,
            by_id=g.user.id,
            kind=document_files.DocumentKind.PHOTO_ID,
        )
    except RuleError as error:
        return await _answer("profile-photo-id", status=422, photo_error=rule_message(error.code))
    if document is None:
        return await _answer(
            "profile-photo-id", status=422, photo_error=rule_message("photo_id_missing")
        )
    await rules.set_photo_id(client, document, current_app.config["PORTAL"].data_dir)
    return await _answer("profile-photo-id", "photo_saved")


@blueprint.get("/profile/photo-id")
@client_section(scope="profile")
async def get_photo_id():
    client = g.access.client
    document = await Document.get_or_none(id=client.photo_id_id or 0, client_id=client.id)
    if document is None:
        abort(404)
    return await send_stored(
        document_files.path_of(document, current_app.config["PORTAL"].data_dir),
        content_type=document.content_type,
        filename=document.name,
        inline=True,
    )


# ---- contacts ------------------------------------------------------------------------


async def _contact(contact_id: int) -> Contact:
    contact = await Contact.get_or_none(id=contact_id, client_id=g.access.client.id)
    if contact is None:
        abort(404)
    return contact


def _contact_values(form: Form) -> dict | None:
    values = {
        "name": form.text("name", max_length=200),
        "relationship": form.value("relationship"),
        "phone": form.text("phone", required=False, max_length=32),
        "email": form.text("email", required=False, max_length=254),
        "address": form.text("address", required=False, max_length=300),
    }
    if form.value("relationship") not in rules.RELATIONSHIPS:
        form.errors["relationship"] = rule_message("relationship_unknown")
    return values if form.ok else None


async def _save_contact(contact: Contact | None) -> Response:
    form = await _form()
    values = _contact_values(form)
    if values is not None:
        try:
            await rules.save_contact(
                g.access.client,
                contact,
                emergency=_checked(form, "emergency"),
                responsible_party=_checked(form, "responsible_party"),
                **values,
            )
        except RuleError as error:
            field = {"phone_invalid": "phone", "email_invalid": "email"}.get(error.code, "name")
            _refused(form, field, error)
    if not form.ok:
        forms = {"contact_forms": {contact.id: form}} if contact else {"contact_form": form}
        return await _answer("profile-contacts", status=422, **forms)
    return await _answer("profile-contacts", "contact_saved" if contact else "contact_added")


@blueprint.post("/profile/contacts")
@client_section(scope="profile")
async def post_contact() -> Response:
    return await _save_contact(None)


@blueprint.post("/profile/contacts/<id:contact_id>")
@client_section(scope="profile")
async def post_edit_contact(contact_id: int) -> Response:
    return await _save_contact(await _contact(contact_id))


@blueprint.post("/profile/contacts/<id:contact_id>/remove")
@client_section(scope="profile")
async def post_remove_contact(contact_id: int) -> Response:
    contact = await Contact.get_or_none(id=contact_id, client_id=g.access.client.id)
    if contact is None:
        if await Contact.exists(id=contact_id):
            abort(404)
        return await _answer("profile-contacts", "contact_removed")  # a second click
    try:
        await rules.remove_contact(contact)
    except RuleError as error:
        form = Form({})
        form.errors["remove"] = rule_message(error.code)
        return await _answer("profile-contacts", status=422, contact_forms={contact.id: form})
    return await _answer("profile-contacts", "contact_removed")
