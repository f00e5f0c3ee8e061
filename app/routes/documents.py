"""My Docs & Forms (seeds 000, 004): forms to complete, documents to read and
acknowledge, and My Documents (searchable by name; the client uploads files to it).

Without JavaScript each action posts and redirects back (``?notice=`` names what
was done); with htmx it answers the page's ``main`` block."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.rules import rule_message
from app.uploads import UPLOAD_ATTR, accepts_uploads, send_stored, store_document
from models import document_files, document_rules
from models.document_files import DocumentKind
from models.documents import AssignmentStatus, FormAssignment
from models.errors import RuleError
from models.file_store import MAX_BYTES

blueprint = Blueprint("documents", __name__)
# One file of at most 10 MB and a short form: anything bigger is refused (413)
# before its body is read.
DOCUMENT_LIMIT = MAX_BYTES + 256 * 1024
NOTICES = {
    "uploaded": _l("Your document was uploaded. Your practice can see it now."),
    "acknowledged": _l("Thank you: your practice can see that you read it."),
    "deleted": _l("The document was deleted."),
}


def accepts_document(view):
    """``accepts_uploads``, for one document: the body may be 10 MB and a little."""
    view = accepts_uploads(view)
    setattr(view, UPLOAD_ATTR, DOCUMENT_LIMIT)
    return view


async def _documents_page(
    *,
    search: Form | None = None,
    upload: Form | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    search = search or Form({"q": request.args.get("q", "")})
    q = search.text("q", required=False, max_length=100)
    client_id = g.access.client.id
    assignments = (
        await FormAssignment.filter(client_id=client_id)
        .select_related("template")
        .order_by("status", "-assigned_at")
    )
    documents = []
    if search.ok:
        documents = await document_rules.listed(client_id, q or "").select_related("uploaded_by")
    return await render_page(
        "views/client/documents.html",
        status=status if search.ok else 422,
        form=search,
        upload=upload or Form({}),
        notice=notice,
        error=error,
        to_complete=[a for a in assignments if a.status != AssignmentStatus.SUBMITTED],
        completed=[a for a in assignments if a.status == AssignmentStatus.SUBMITTED],
        documents=documents,
        to_acknowledge=await document_rules.to_acknowledge(client_id),
        size_label=document_rules.size_label,
        kinds=DocumentKind,
    )


async def _refused(error: RuleError) -> Response:
    """Another client's document is a 404; an action this one does not allow, 422."""
    if error.code == "document_not_found":
        abort(404)
    return await _documents_page(error=rule_message(error.code), status=422)


async def _done(notice: str) -> Response:
    if is_htmx():
        return await _documents_page(search=Form({"q": ""}), notice=str(NOTICES[notice]))
    return redirect(f"/documents?notice={notice}", 303)


@blueprint.get("/documents")
@client_section(scope="forms", feature="documents")
async def get_documents():
    return await _documents_page(notice=str(NOTICES.get(request.args.get("notice", ""), "")))


@blueprint.post("/documents/upload")
@client_section(scope="forms", feature="documents")
@accepts_document
async def post_upload():
    form = Form.of(await request.form)
    name = form.text("name", required=False, max_length=document_rules.MAX_NAME)
    if form.ok:
        try:
            document = await store_document(
                "file", client_id=g.access.client.id, by_id=g.user.id, kind=DocumentKind.UPLOADED
            )
        except RuleError as error:
            form.errors["file"] = rule_message(error.code)
        else:
            if document is None:
                form.errors["file"] = rule_message("document_missing")
            else:
                document = await document_rules.once(
                    document, current_app.config["PORTAL"].data_dir
                )
            if document is not None and name:
                document.name = document_rules.display_name(name, document.content_type)
                await document.save(update_fields=["name"])
    if not form.ok:
        return await _documents_page(search=Form({"q": ""}), upload=form, status=422)
    return await _done("uploaded")


@blueprint.get("/documents/<id:document_id>")
@client_section(scope="forms", feature="documents")
async def get_document(document_id: int):
    document = await document_rules.listed_document(g.access.client.id, document_id)
    if document is None:
        abort(404)
    return await send_stored(
        document_files.path_of(document, current_app.config["PORTAL"].data_dir),
        content_type=document.content_type,
        filename=document_rules.download_name(document),
    )


@blueprint.post("/documents/<id:document_id>/acknowledge")
@client_section(scope="forms", feature="documents")
async def post_acknowledge(document_id: int):
    try:
        await document_rules.acknowledge(g.access.client.id, document_id, g.user)
    except RuleError as error:
        return await _refused(error)
    return await _done("acknowledged")


@blueprint.post("/documents/<id:document_id>/delete")
@client_section(scope="forms", feature="documents")
async def post_delete(document_id: int):
    try:
        await document_rules.delete_upload(
            g.access.client.id, document_id, g.user, current_app.config["PORTAL"].data_dir
        )
    except RuleError as error:
        return await _refused(error)
    return await _done("deleted")
