"""My Docs & Forms (seeds 000, 004): forms to complete and documents, searchable by name."""

from quart import Blueprint, g, request

from app.auth import client_section
from app.forms import Form
from app.htmx import render_page
from models.documents import AssignmentStatus, Document, FormAssignment

blueprint = Blueprint("documents", __name__)


@blueprint.get("/documents")
@client_section(scope="forms", feature="documents")
async def get_documents():
    form = Form({"q": request.args.get("q", "")})
    q = form.text("q", required=False, max_length=100)
    client_id = g.access.client.id
    assignments = (
        await FormAssignment.filter(client_id=client_id)
        .select_related("template")
        .order_by("status", "-assigned_at")
    )
    docs = Document.filter(client_id=client_id)
    if q:
        docs = docs.filter(name__icontains=q)
    return await render_page(
        "views/client/documents.html",
        status=200 if form.ok else 422,
        form=form,
        to_complete=[a for a in assignments if a.status != AssignmentStatus.SUBMITTED],
        completed=[a for a in assignments if a.status == AssignmentStatus.SUBMITTED],
        documents=await docs.order_by("-created_at") if form.ok else [],
        to_acknowledge=await Document.filter(
            client_id=client_id, requires_ack=True, acknowledged_at__isnull=True
        ),
    )
