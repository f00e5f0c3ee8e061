"""The locked PDF copy of a submitted form (views/pdf/form.html), in the client's
language and time zone, kept in My Documents.

A submission is locked first (models/forms.submit); its PDF is made right after,
and if that fails (a render timed out, a worker died) it is made again the first
time someone opens the form or its PDF, or by ``render_missing`` (``portal demo``).
Two renders at once keep one document: the loser's copy is discarded.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from app import i18n
from app.i18n import _
from channels.pdf import render_pdf
from models import document_files, forms
from models.document_files import DocumentKind
from models.documents import AssignmentStatus, Document, FormAssignment, FormTemplate
from models.people import Client, User

log = logging.getLogger("portal.forms")


async def form_html(assignment: FormAssignment) -> tuple[str, str]:
    """The title and HTML of a submitted form's PDF."""
    from app.templates import environment

    template = await FormTemplate.get(id=assignment.template_id)
    client = await Client.get(id=assignment.client_id)
    signer = await User.get_or_none(id=assignment.signed_by_id) if assignment.signed_by_id else None
    context = dict(
        assignment=assignment,
        template=template,
        fields=forms.fields_of(template),
        client=client,
        practice=await forms.practice_header(client),
        signer=signer,
        tz=client.time_zone,
    )

    def render() -> tuple[str, str]:
        with i18n.speaking(client.preferred_language):
            title = _("%(form)s (signed)", form=template.name)
            html = environment.get_template("views/pdf/form.html").render(title=title, **context)
        return title, html

    return await asyncio.to_thread(render)


async def form_pdf(assignment: FormAssignment) -> bytes:
    title, html = await form_html(assignment)
    return await render_pdf(html, title=title)


async def ensure_pdf(assignment: FormAssignment, data_dir: Path) -> Document | None:
    """The submitted form's PDF document, made now if it is missing (None before the
    form is submitted). Raises what render_pdf raises (PdfTimeout, PdfWorkerDied)."""
    assignment = await FormAssignment.get(id=assignment.id)
    if assignment.status != AssignmentStatus.SUBMITTED:
        return None
    if assignment.document_id is not None:
        document = await Document.get_or_none(id=assignment.document_id)
        if document is not None and document_files.path_of(document, data_dir).is_file():
            return document
        # The row or its bytes are gone: make the copy again.
        await FormAssignment.filter(id=assignment.id).update(document_id=None)
    template = await FormTemplate.get(id=assignment.template_id)
    data = await form_pdf(assignment)
    document = await document_files.store_generated(
        data,
        name=f"{template.name} (signed)"[:200],
        content_type="application/pdf",
        client_id=assignment.client_id,
        kind=DocumentKind.FORM_PDF,
        uploaded_by_id=assignment.signed_by_id,
        data_dir=data_dir,
    )
    if await forms.attach_document(assignment.id, document.id):
        return document
    await document_files.discard(document, data_dir)  # another render was first
    assignment = await FormAssignment.get(id=assignment.id)
    return await Document.get_or_none(id=assignment.document_id)


async def try_pdf(assignment: FormAssignment, data_dir: Path) -> Document | None:
    """``ensure_pdf`` that never fails the caller: a form stays submitted without its
    PDF for now (it is made on first download)."""
    try:
        return await ensure_pdf(assignment, data_dir)
    except Exception:  # noqa: BLE001 - the submission stands; the PDF is retried later
        log.exception("form %s: PDF not made now; retried on first download", assignment.id)
        return None


async def render_missing(data_dir: Path) -> int:
    """Make the PDFs of submitted forms that have none (the demo's); how many."""
    missing = await FormAssignment.filter(
        status=AssignmentStatus.SUBMITTED, document_id__isnull=True
    ).order_by("id")
    made = 0
    for assignment in missing:
        if await ensure_pdf(assignment, data_dir) is not None:
            made += 1
    return made
