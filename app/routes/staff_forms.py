"""Staff build online forms and assign them to clients or to a guardian (issue 8).

The builder is a plain form: one fieldset per field (type, question, required,
options one per line), the template's fields plus a few blank rows, and "Add more
rows" to get more without JavaScript. A row without a question is left out. The
rules are in models/forms.py. Only the practice's own templates and clients are
reachable: any other id is a 404.
"""

from __future__ import annotations

from quart import Blueprint, abort, g, redirect, request

from app.auth import staff_only
from app.converters import MAX_ID
from app.forms import Form
from app.htmx import render_page
from app.i18n import lazy_gettext as _l
from app.rules import rule_message
from models import forms
from models.documents import FormAssignment, FormTemplate
from models.errors import RuleError
from models.people import Client, Role, User

blueprint = Blueprint("staff_forms", __name__, url_prefix="/staff")
BLANK_ROWS = 3
MAX_ROWS = forms.MAX_FIELDS + 10
NOTICES = {
    "created": _l("The form was created."),
    "saved": _l("The form was saved."),
    "archived": _l("The form was archived: it can no longer be assigned."),
    "restored": _l("The form can be assigned again."),
    "assigned": _l("The form was assigned."),
}
TYPE_NAMES = {
    "heading": _l("Section heading"),
    "short_text": _l("Short answer"),
    "long_text": _l("Long answer"),
    "date": _l("Date"),
    "single_choice": _l("One choice"),
    "multiple_choice": _l("Several choices"),
    "yes_no": _l("Yes or no"),
    "signature": _l("Signature"),
}


def _id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID else None


async def _template(template_id: int) -> FormTemplate:
    found = await FormTemplate.get_or_none(id=template_id, practice_id=g.staff.practice_id)
    if found is None:
        abort(404)
    return found


async def _client(client_id: int | None) -> Client:
    found = (
        await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
        if client_id
        else None
    )
    if found is None:
        abort(404)
    return found


@blueprint.get("/forms")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_forms():
    templates = await FormTemplate.filter(practice_id=g.staff.practice_id).order_by(
        "-active", "name"
    )
    clients = await Client.filter(practice_id=g.staff.practice_id).order_by(
        "last_name", "first_name"
    )
    return await render_page(
        "views/staff/forms.html",
        templates=templates,
        clients=clients,
        notice=NOTICES.get(request.args.get("notice", ""), ""),
    )


@blueprint.get("/forms/clients")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_client_picker():
    client = await _client(_id(request.args.get("client")))
    return redirect(f"/staff/forms/clients/{client.id}", 303)


# ---- the builder ----


def _rows_of(template: FormTemplate | None) -> list[dict]:
    rows = []
    for f in (template.fields_schema if template else []) or []:
        rows.append({**f, "options": "\n".join(f.get("options", []))})
    return rows + [{} for _ in range(BLANK_ROWS)]


async def _builder(template, *, values: dict, rows: list[dict], errors=None, status=200):
    return await render_page(
        "views/staff/forms_edit.html",
        status=status,
        edited=template,
        values=values,
        rows=rows,
        errors={k: rule_message(v) for k, v in (errors or {}).items()},
        types=TYPE_NAMES,
    )


@blueprint.get("/forms/new")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_new_form():
    values = {"name": "", "description": "", "requires_signature": True}
    return await _builder(None, values=values, rows=_rows_of(None))


@blueprint.get("/forms/<id:template_id>/edit")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_edit_form(template_id: int):
    template = await _template(template_id)
    values = {
        "name": template.name,
        "description": template.description,
        "requires_signature": template.requires_signature,
    }
    return await _builder(template, values=values, rows=_rows_of(template))


@blueprint.post("/forms/new")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_new_form():
    return await _save(None)


@blueprint.post("/forms/<id:template_id>/edit")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_edit_form(template_id: int):
    return await _save(await _template(template_id))


async def _save(template: FormTemplate | None):
    posted = await request.form
    count = min(_id(posted.get("rows")) or 0, MAX_ROWS)
    rows = [
        {
            "key": posted.get(f"key_{i}", ""),
            "type": posted.get(f"type_{i}", ""),
            "label": posted.get(f"label_{i}", ""),
            "required": posted.get(f"required_{i}") == "1",
            "options": posted.get(f"options_{i}", ""),
        }
        for i in range(count)
    ]
    values = {
        "name": posted.get("name", ""),
        "description": posted.get("description", ""),
        "requires_signature": posted.get("requires_signature") == "1",
    }
    if posted.get("action") == "more":
        return await _builder(template, values=values, rows=rows + [{} for _ in range(5)])
    filled = [(i, r) for i, r in enumerate(rows) if r["label"].strip() or r["options"].strip()]
    submitted = [{**r, "options": r["options"].splitlines()} for _, r in filled]
    try:
        saved = await forms.save_template(g.staff.practice_id, template, rows=submitted, **values)
    except forms.FormInvalid as exc:
        # Row errors come back by position among the filled rows: name their row.
        errors = {
            (f"row_{filled[k][0]}" if isinstance(k, int) else k): code
            for k, code in exc.errors.items()
        }
        return await _builder(template, values=values, rows=rows, errors=errors, status=422)
    notice = "saved" if template else "created"
    return redirect(f"/staff/forms?notice={notice}#template-{saved.id}", 303)


@blueprint.post("/forms/<id:template_id>/archive")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_archive(template_id: int):
    template = await _template(template_id)
    restore = (await request.form).get("restore") == "1"
    await FormTemplate.filter(id=template.id).update(active=restore)
    return redirect(f"/staff/forms?notice={'restored' if restore else 'archived'}", 303)


# ---- a client's forms ----


async def _client_page(client: Client, *, form: Form | None = None, error="", status=200):
    assignments = (
        await FormAssignment.filter(client_id=client.id)
        .select_related("template")
        .order_by("-assigned_at", "-id")
    )
    signer_ids = {a.signer_id for a in assignments if a.signer_id}
    names = dict(await User.filter(id__in=signer_ids).values_list("id", "display_name"))
    return await render_page(
        "views/staff/forms_client.html",
        status=status,
        the_client=client,
        assignments=assignments,
        signer_names=names,
        templates=await FormTemplate.filter(practice_id=g.staff.practice_id, active=True).order_by(
            "name"
        ),
        signers=await forms.possible_signers(client),
        form=form or Form({}),
        error=error,
        notice=NOTICES.get(request.args.get("notice", ""), ""),
    )


@blueprint.get("/forms/clients/<id:client_id>")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_client_forms(client_id: int):
    return await _client_page(await _client(client_id))


@blueprint.post("/forms/clients/<id:client_id>/assign")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_assign(client_id: int):
    client = await _client(client_id)
    form = Form.of(await request.form)
    due_on = form.optional_date("due_on")
    template = await FormTemplate.get_or_none(
        id=_id(form.value("template")) or 0, practice_id=g.staff.practice_id
    )
    if template is None:
        form.errors["template"] = rule_message("form_not_found")
    signer = None
    if form.value("signer"):
        signer = await User.get_or_none(id=_id(form.value("signer")) or 0)
        if signer is None:
            form.errors["signer"] = rule_message("form_signer_invalid")
    if form.ok:
        try:
            await forms.assign(template, client, due_on=due_on, signer=signer)
        except RuleError as exc:
            field = "signer" if exc.code == "form_signer_invalid" else "template"
            form.errors[field] = rule_message(exc.code)
    if not form.ok:
        error = next(iter(form.errors.values()))  # also shown when no form is left to pick
        return await _client_page(client, form=form, error=error, status=422)
    return redirect(f"/staff/forms/clients/{client.id}?notice=assigned", 303)
