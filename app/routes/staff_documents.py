"""Staff share documents with a client and see what the client uploaded (issue 8).

Any staff member of the client's practice sees the list and downloads; providers,
schedulers and admins share a PDF, optionally asking the client to read and
acknowledge it. Another practice's client or document is a 404."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import audit_read, staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.routes.documents import accepts_document
from app.rules import rule_message
from app.uploads import send_stored, store_document
from models import document_files, document_rules
from models.document_files import DocumentKind
from models.documents import Document
from models.errors import RuleError
from models.people import Client, Role

blueprint = Blueprint("staff_documents", __name__, url_prefix="/staff")
NOTICES = {"shared": _l("The document was shared with the client.")}


def can_share(staff) -> bool:
    return any(staff.has_role(r) for r in (Role.ADMIN, Role.PROVIDER, Role.SCHEDULER))


async def _client_of_practice(client_id: int) -> Client:
    client = await Client.get_or_none(id=client_id, practice_id=g.staff.practice_id)
    if client is None:
        abort(404)
    return client


async def _page(client: Client, *, form: Form | None = None, notice: str = "", status: int = 200):
    documents = (
        await Document.filter(client_id=client.id)
        .select_related("uploaded_by", "acknowledged_by")
        .order_by("-created_at", "-id")
    )
    return await render_page(
        "views/staff/client_documents.html",
        status=status,
        the_client=client,
        documents=documents,
        form=form or Form({}),
        can_share=can_share(g.staff),
        notice=notice,
        error="",
        size_label=document_rules.size_label,
        kinds=DocumentKind,
    )


@blueprint.get("/clients/<id:client_id>/documents")
@staff_only()
async def get_client_documents(client_id: int):
    client = await _client_of_practice(client_id)
    await audit_read(client.id, "documents")
    return await _page(client, notice=str(NOTICES.get(request.args.get("notice", ""), "")))


@blueprint.post("/clients/<id:client_id>/documents")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
@accepts_document
async def post_share(client_id: int):
    client = await _client_of_practice(client_id)
    form = Form.of(await request.form)
    name = form.text("name", required=False, max_length=document_rules.MAX_NAME)
    if form.ok:
        try:
            document = await store_document(
                "file",
                client_id=client.id,
                by_id=g.user.id,
                kind=DocumentKind.SHARED,
                requires_ack=form.value("requires_ack") == "1",
            )
            if document is None:
                raise RuleError("document_missing")
            data_dir = current_app.config["PORTAL"].data_dir
            await document_rules.share_pdf_only(document, data_dir)
            document = await document_rules.once(document, data_dir)
        except RuleError as error:
            form.errors["file"] = rule_message(error.code)
        else:
            if name:
                document.name = document_rules.display_name(name, document.content_type)
                await document.save(update_fields=["name"])
    if not form.ok:
        return await _page(client, form=form, status=422)
    if is_htmx():
        return await _page(client, notice=str(NOTICES["shared"]))
    return redirect(f"/staff/clients/{client.id}/documents?notice=shared", 303)


@blueprint.get("/documents/<id:document_id>")
@staff_only()
async def get_document(document_id: int) -> Response:
    document = await Document.get_or_none(id=document_id, client__practice_id=g.staff.practice_id)
    if document is None:
        abort(404)
    await audit_read(document.client_id, "documents", object_type="document", object_id=document.id)
    return await send_stored(
        document_files.path_of(document, current_app.config["PORTAL"].data_dir),
        content_type=document.content_type,
        filename=document_rules.download_name(document),
    )
