"""Online forms' rules (issue 8): the field types, checking a template's fields (the
staff builder) and a client's answers, drafts, and the signed, locked submission.

A template's ``fields_schema`` is a list of fields, each ``{"key", "type", "label",
"required", "options"}``. A "signature" field marks where the e-signature goes (the
typed full name, and optionally a drawn one); a template that requires a signature
but has no such field gets it at the end. The signature is kept on the assignment
(``signature_name``, ``signature_drawn``), never in ``answers``.

Errors: ``RuleError(code)``; a whole form's problems are ``FormInvalid`` with
``errors``: ``{field key: code}`` (or ``{row index: code}`` for a template).
"""

from __future__ import annotations

import re
from datetime import date

from models import clock
from models.documents import AssignmentStatus, FormAssignment, FormTemplate
from models.errors import RuleError
from models.people import Client, Contact, Scope, User
from models.practice import Location, Practice
from models.settings import settings_for

FIELD_TYPES = (
    "heading",
    "short_text",
    "long_text",
    "date",
    "single_choice",
    "multiple_choice",
    "yes_no",
    "signature",
)
CHOICE_TYPES = ("single_choice", "multiple_choice")
LIMITS = {"short_text": 200, "long_text": 5000}
YES_NO = ("yes", "no")
MAX_FIELDS = 60
MAX_LABEL = 300
MAX_OPTIONS = 30
MAX_OPTION = 100
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_SIGNATURE_NAME = 200
MAX_DRAWN = 20000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A drawn signature: absolute moves and lines only, plain non-negative numbers.
_NUM = r"\d{1,5}(?:\.\d{1,2})?"
DRAWN = re.compile(rf"(?:[ML] {_NUM} {_NUM})(?: [ML] {_NUM} {_NUM})*")


class FormInvalid(RuleError):
    """A form (answers or a template) with problems: ``errors`` maps each field to a code."""

    def __init__(self, errors: dict) -> None:
        super().__init__("form_invalid")
        self.errors = errors


# ---- templates (the staff builder) ----


def check_template(
    name: str, description: str, rows: list[dict], requires_signature: bool
) -> tuple[dict, list[dict]]:
    """The cleaned template values and fields; FormInvalid otherwise. ``rows``: dicts
    with "type", "label", "required", "options" (a list of strings), "key" optional
    (kept when valid, so answers already given stay attached to their question)."""
    errors: dict = {}
    name = (name or "").strip()
    description = (description or "").strip()
    if not name:
        errors["name"] = "form_name_required"
    elif len(name) > MAX_NAME or CONTROL.search(name):
        errors["name"] = "form_name_invalid"
    if len(description) > MAX_DESCRIPTION or CONTROL.search(description.replace("\t", " ")):
        errors["description"] = "form_description_invalid"
    fields: list[dict] = []
    used: set[str] = set()
    for index, row in enumerate(rows):
        field, code = _check_field(row)
        if code:
            errors[index] = code
            continue
        key = str(row.get("key") or "")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key) or key in used:
            key = _fresh_key(used)
        used.add(key)
        fields.append({"key": key, **field})
    if len(fields) > MAX_FIELDS:
        errors["fields"] = "form_too_many_fields"
    elif not errors and not any(f["type"] != "heading" for f in fields):
        errors["fields"] = "form_no_questions"
    if sum(f["type"] == "signature" for f in fields) > 1:
        errors["fields"] = "form_signature_twice"
    if errors:
        raise FormInvalid(errors)
    requires_signature = requires_signature or any(f["type"] == "signature" for f in fields)
    values = {"name": name, "description": description, "requires_signature": requires_signature}
    return values, fields


def _fresh_key(used: set[str]) -> str:
    n = len(used) + 1
    while f"q{n}" in used:
        n += 1
    return f"q{n}"


def _check_field(row: dict) -> tuple[dict, str]:
    kind = row.get("type")
    label = str(row.get("label") or "").strip()
    if kind not in FIELD_TYPES:
        return {}, "form_field_type_invalid"
    if not label:
        return {}, "form_field_label_required"
    if len(label) > MAX_LABEL or CONTROL.search(label):
        return {}, "form_field_label_invalid"
    field: dict = {"type": kind, "label": label}
    if kind not in ("heading", "signature"):
        field["required"] = bool(row.get("required"))
    if kind in CHOICE_TYPES:
        options = [str(o).strip() for o in row.get("options") or [] if str(o).strip()]
        if len(options) < 2:
            return {}, "form_field_options_required"
        if len(options) > MAX_OPTIONS:
            return {}, "form_field_options_too_many"
        if any(len(o) > MAX_OPTION or CONTROL.search(o) for o in options):
            return {}, "form_field_option_invalid"
        if len({o.casefold() for o in options}) != len(options):
            return {}, "form_field_options_duplicate"
        field["options"] = options
    return field, ""


async def save_template(
    practice_id: int, template: FormTemplate | None, **submitted
) -> FormTemplate:
    """Create (``template`` None) or change a practice's template; FormInvalid refuses."""
    values, fields = check_template(**submitted)
    if template is None:
        return await FormTemplate.create(practice_id=practice_id, fields_schema=fields, **values)
    if template.practice_id != practice_id:
        raise RuleError("form_not_found")
    template.update_from_dict({**values, "fields_schema": fields})
    await template.save()
    return template


async def assign(
    template: FormTemplate, client: Client, *, due_on: date | None, signer: User | None
) -> FormAssignment:
    """Give ``client`` the form to fill; ``signer``: a contact with portal access and the
    forms right who is to sign (a guardian for a minor)."""
    if not template.active:
        raise RuleError("form_archived")
    if template.practice_id != client.practice_id:
        raise RuleError("form_not_found")
    if signer is not None and signer.id not in await possible_signers(client):
        raise RuleError("form_signer_invalid")
    return await FormAssignment.create(
        client=client, template=template, due_on=due_on, signer=signer
    )


async def possible_signers(client: Client) -> dict[int, str]:
    """{user id: name} of the client's contacts who may sign forms for them."""
    contacts = await Contact.filter(
        client_id=client.id, portal_access=True, user_id__isnull=False
    ).order_by("name")
    return {c.user_id: c.name for c in contacts if Scope.FORMS in (c.scopes or [])}


# ---- answers ----


def fields_of(template: FormTemplate) -> list[dict]:
    """The template's fields, with the signature block placed where it goes."""
    fields = [
        f
        for f in template.fields_schema or []
        if isinstance(f, dict) and f.get("key") and f.get("type") in FIELD_TYPES
    ]
    if template.requires_signature and not any(f.get("type") == "signature" for f in fields):
        fields.append({"key": "_signature", "type": "signature", "label": ""})
    return fields


def needs_signature(template: FormTemplate) -> bool:
    return any(f["type"] == "signature" for f in fields_of(template))


def check_answers(template: FormTemplate, raw: dict, *, partial: bool) -> dict:
    """The answers to keep, one per question (keys not in the template are ignored);
    FormInvalid names each bad answer. ``partial``: a draft, so nothing is required."""
    answers: dict = {}
    errors: dict = {}
    for field in fields_of(template):
        key, kind = field["key"], field["type"]
        if kind in ("heading", "signature"):
            continue
        value, code = _check_answer(field, raw.get(key))
        if code:
            errors[key] = code
        elif value in ("", []):
            if field.get("required") and not partial:
                errors[key] = "form_answer_required"
        else:
            answers[key] = value
    if errors:
        raise FormInvalid(errors)
    return answers


def _check_answer(field: dict, value) -> tuple[object, str]:
    kind = field["type"]
    if kind == "multiple_choice":
        values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        if not all(isinstance(v, str) for v in values):
            return None, "form_answer_invalid"
        chosen = [v for v in field.get("options", []) if v in values]
        if len(chosen) != len(set(values)):
            return None, "form_answer_not_an_option"
        return chosen, ""
    if value is None:
        return "", ""
    if not isinstance(value, str):
        return None, "form_answer_invalid"
    value = value.strip().replace("\r\n", "\n")
    if CONTROL.search(value.replace("\t", " ")):
        return None, "form_answer_invalid"
    if not value:
        return "", ""
    if kind in LIMITS and len(value) > LIMITS[kind]:
        return None, f"form_answer_too_long_{LIMITS[kind]}"
    if kind == "short_text" and "\n" in value:
        return None, "form_answer_invalid"
    if kind == "date":
        try:
            day = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            day = None
        if day is None or not 1900 <= day.year <= 2200:
            return None, "form_answer_date_invalid"
    if kind == "single_choice" and value not in field.get("options", []):
        return None, "form_answer_not_an_option"
    if kind == "yes_no" and value not in YES_NO:
        return None, "form_answer_not_an_option"
    return value, ""


def check_signature(name: str, drawn: str) -> tuple[str, str]:
    """The typed name (required) and the drawn path data (optional, strict grammar)."""
    name = " ".join((name or "").split())
    drawn = " ".join((drawn or "").split())
    errors = {}
    if not name:
        errors["signature_name"] = "form_signature_required"
    elif len(name) > MAX_SIGNATURE_NAME or CONTROL.search(name):
        errors["signature_name"] = "form_signature_name_invalid"
    if drawn and (len(drawn) > MAX_DRAWN or not DRAWN.fullmatch(drawn)):
        errors["signature_drawn"] = "form_signature_drawn_invalid"
    if errors:
        raise FormInvalid(errors)
    return name, drawn


# ---- who may fill and sign ----


async def may_fill(assignment: FormAssignment, user: User) -> bool:
    """The client themself, or a contact with portal access and the forms right."""
    client = await Client.get(id=assignment.client_id)
    if client.user_id == user.id:
        return True
    contact = await Contact.filter(client_id=client.id, user_id=user.id, portal_access=True).first()
    return contact is not None and Scope.FORMS in (contact.scopes or [])


async def may_submit(assignment: FormAssignment, user: User) -> bool:
    if assignment.signer_id is not None:
        return assignment.signer_id == user.id and await may_fill(assignment, user)
    return await may_fill(assignment, user)


async def save_draft(assignment: FormAssignment, answers: dict, by: User) -> FormAssignment:
    """Keep what is answered so far (nothing required yet, but every limit holds)."""
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise RuleError("form_locked")
    if not await may_fill(assignment, by):
        raise RuleError("form_not_allowed")
    template = await FormTemplate.get(id=assignment.template_id)
    cleaned = check_answers(template, answers, partial=True)
    now = clock.now()
    changed = await FormAssignment.filter(
        id=assignment.id, status__not=AssignmentStatus.SUBMITTED
    ).update(answers=cleaned, status=AssignmentStatus.DRAFT, draft_saved_at=now)
    if not changed:
        raise RuleError("form_locked")
    assignment.answers, assignment.status, assignment.draft_saved_at = (
        cleaned,
        AssignmentStatus.DRAFT,
        now,
    )
    return assignment


async def submit(
    assignment: FormAssignment,
    answers: dict,
    signature_name: str,
    signature_drawn: str,
    by: User,
    ip: str,
) -> FormAssignment:
    """Check everything, sign and lock. Of two submits at once only one counts: the
    other gets RuleError("form_locked") and changes nothing."""
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise RuleError("form_locked")
    if not await may_submit(assignment, by):
        raise RuleError("form_signer_only" if assignment.signer_id else "form_not_allowed")
    template = await FormTemplate.get(id=assignment.template_id)
    errors: dict = {}
    try:
        cleaned = check_answers(template, answers, partial=False)
    except FormInvalid as exc:
        errors.update(exc.errors)
    name, drawn = "", ""
    if needs_signature(template):
        try:
            name, drawn = check_signature(signature_name, signature_drawn)
        except FormInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise FormInvalid(errors)
    now = clock.now()
    values = dict(
        answers=cleaned,
        status=AssignmentStatus.SUBMITTED,
        submitted_at=now,
        signature_name=name,
        signature_drawn=drawn,
        signature_ip=(ip or "")[:64],
        signed_by_id=by.id,
    )
    changed = await FormAssignment.filter(
        id=assignment.id, status__not=AssignmentStatus.SUBMITTED
    ).update(**values)
    if not changed:
        raise RuleError("form_locked")
    return await FormAssignment.get(id=assignment.id)


async def attach_document(assignment_id: int, document_id: int) -> bool:
    """Link a submitted form to its PDF, unless another render got there first."""
    changed = await FormAssignment.filter(
        id=assignment_id, status=AssignmentStatus.SUBMITTED, document_id__isnull=True
    ).update(document_id=document_id)
    return bool(changed)


async def practice_header(client: Client) -> dict:
    """Who the form is from: the practice's name, phone and office address; the
    address is left out when the practice hides location addresses on intake forms
    (seeds 002/003) or the office hides its own."""
    practice = await Practice.get(id=client.practice_id)
    office = (
        await Location.filter(practice_id=practice.id, active=True, telehealth=False)
        .order_by("id")
        .first()
    )
    lines: tuple[str, ...] = ()
    hidden = bool((await settings_for(client))["hide_location_address"])
    if office is not None and not hidden and not office.hide_address:
        region = " ".join(p for p in (office.region, office.postal_code) if p)
        town = ", ".join(p for p in (office.city, region) if p)
        lines = tuple(p for p in (office.address_line1, office.address_line2, town) if p)
    return {"name": practice.name, "phone": practice.phone, "address": lines}
