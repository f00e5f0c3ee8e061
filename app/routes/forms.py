"""Filling in an online form: drafts saved while typing, submit with an e-signature,
then locked with a PDF copy in My Documents (issue 8).

The rules are in models/forms.py; the PDF in channels/form_pdfs.py. Answers come in
as ``a_<key>`` fields (several for a multiple choice); anything else is ignored.
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import client_section
from app.htmx import is_htmx, render_page, render_partial
from app.net import client_ip
from app.rules import rule_message
from app.uploads import send_stored
from channels import form_pdfs
from channels.pdf import PdfTimeout, PdfWorkerDied
from models import document_files, forms
from models.documents import AssignmentStatus, FormAssignment
from models.errors import RuleError
from models.people import User

blueprint = Blueprint("forms", __name__)
BASE = "/documents/forms"


async def _assignment(assignment_id: int) -> FormAssignment:
    """One of the acted-for client's forms; anyone else's is a 404."""
    found = await FormAssignment.get_or_none(
        id=assignment_id, client_id=g.access.client.id
    ).select_related("template")
    if found is None:
        abort(404)
    return found


async def _answers_posted(assignment: FormAssignment) -> dict:
    posted = await request.form
    answers: dict = {}
    for field in forms.fields_of(assignment.template):
        name = "a_" + field["key"]
        if field["type"] == "multiple_choice":
            answers[field["key"]] = posted.getlist(name)
        elif name in posted:
            answers[field["key"]] = posted.get(name)
    return answers


async def _page(
    assignment: FormAssignment,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    alert: str = "",
    notice: str = "",
    signature: dict | None = None,
    status: int = 200,
) -> Response:
    signer = await User.get_or_none(id=assignment.signer_id) if assignment.signer_id else None
    return await render_page(
        "views/client/form.html",
        status=status,
        a=assignment,
        form_template=assignment.template,
        fields=forms.fields_of(assignment.template),
        values=assignment.answers if values is None else values,
        errors={k: rule_message(v) for k, v in (errors or {}).items()},
        alert=alert,
        notice=notice,
        signature=signature or {},
        signer=signer,
        can_submit=assignment.signer_id in (None, g.user.id),
        locked=assignment.status == AssignmentStatus.SUBMITTED,
        practice=await forms.practice_header(g.access.client),
        limits=forms.LIMITS,
    )


@blueprint.get(f"{BASE}/<id:assignment_id>")
@client_section(scope="forms", feature="documents")
async def get_form(assignment_id: int):
    assignment = await _assignment(assignment_id)
    if assignment.status == AssignmentStatus.SUBMITTED and assignment.document_id is None:
        await form_pdfs.try_pdf(assignment, _data_dir())  # a PDF that failed at submit
    notice = ""
    if request.args.get("submitted") and assignment.status == AssignmentStatus.SUBMITTED:
        notice = "submitted"
    elif request.args.get("saved") and assignment.status == AssignmentStatus.DRAFT:
        notice = "saved"
    return await _page(assignment, notice=notice)


@blueprint.post(f"{BASE}/<id:assignment_id>/draft")
@client_section(scope="forms", feature="documents")
async def post_draft(assignment_id: int):
    assignment = await _assignment(assignment_id)
    answers = await _answers_posted(assignment)
    try:
        await forms.save_draft(assignment, answers, g.user)
    except forms.FormInvalid as exc:
        if is_htmx():
            return await _status(assignment, problem=_first_problem(assignment, exc.errors))
        return await _page(assignment, values=answers, errors=exc.errors, status=422)
    except RuleError as exc:
        if is_htmx():
            return await _status(assignment, problem=rule_message(exc.code))
        return await _page(assignment, alert=rule_message(exc.code), status=_refusal(exc))
    if is_htmx():
        return await _status(assignment)
    return redirect(f"{BASE}/{assignment.id}?saved=1", 303)


@blueprint.post(f"{BASE}/<id:assignment_id>/submit")
@client_section(scope="forms", feature="documents")
async def post_submit(assignment_id: int):
    assignment = await _assignment(assignment_id)
    answers = await _answers_posted(assignment)
    posted = await request.form
    signature = {
        "name": posted.get("signature_name", ""),
        "drawn": posted.get("signature_drawn", ""),
    }
    try:
        assignment = await forms.submit(
            assignment, answers, signature["name"], signature["drawn"], g.user, client_ip()
        )
    except forms.FormInvalid as exc:
        alert = rule_message("form_invalid")
        return await _page(
            assignment, values=answers, errors=exc.errors, alert=alert, signature=signature,
            status=422,
        )  # fmt: skip
    except RuleError as exc:
        assignment = await _assignment(assignment_id)
        return await _page(assignment, alert=rule_message(exc.code), status=_refusal(exc))
    await form_pdfs.try_pdf(assignment, _data_dir())
    url = f"{BASE}/{assignment.id}?submitted=1"
    if not is_htmx():
        return redirect(url, 303)
    response = await _page(await _assignment(assignment_id), notice="submitted")
    response.headers["HX-Push-Url"] = url
    return response


@blueprint.get(f"{BASE}/<id:assignment_id>.pdf")
@client_section(scope="forms", feature="documents")
async def get_form_pdf(assignment_id: int):
    assignment = await _assignment(assignment_id)
    if assignment.status != AssignmentStatus.SUBMITTED:
        abort(404)
    try:
        document = await form_pdfs.ensure_pdf(assignment, _data_dir())
    except (PdfTimeout, PdfWorkerDied):
        response = Response(rule_message("form_pdf_busy"), status=503, content_type="text/plain")
        response.headers["Retry-After"] = "60"
        return response
    if document is None:
        abort(404)
    return await send_stored(
        document_files.path_of(document, _data_dir()),
        content_type="application/pdf",
        filename=f"{document.name}.pdf",
    )


def _data_dir():
    return current_app.config["PORTAL"].data_dir


def _refusal(exc: RuleError) -> int:
    return {"form_locked": 409, "form_signer_only": 403, "form_not_allowed": 403}.get(exc.code, 422)


def _first_problem(assignment: FormAssignment, errors: dict) -> str:
    for field in forms.fields_of(assignment.template):
        if field["key"] in errors:
            return f"{field['label']}: {rule_message(errors[field['key']])}"
    return rule_message("form_invalid")


async def _status(assignment: FormAssignment, *, problem: str = "") -> Response:
    """The autosave's answer: "Draft saved 9:41", or why it was not saved (422)."""
    return await render_partial(
        "partials/_form_draft_status.html",
        status=422 if problem else 200,
        a=assignment,
        problem=problem,
    )
