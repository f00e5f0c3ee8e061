"""Rules for the documents in My Docs & Forms (issue 8): who sees which, the
display name of an upload, acknowledging a shared document once, and deleting
one's own upload. The bytes are kept by ``models.document_files``."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from tortoise.queryset import QuerySet

from models import clock, document_files
from models.document_files import LISTED_KINDS, DocumentKind
from models.documents import Document
from models.errors import RuleError
from models.file_store import EXTENSIONS
from models.people import User

MAX_NAME = 120  # a display name typed by the person uploading
REPEAT_WINDOW = timedelta(minutes=2)  # a second submit of the same file
UNSAFE = re.compile(r"[\x00-\x1f\x7f\"<>:;|?*/\\]")


def listed(client_id: int, query: str = "") -> QuerySet[Document]:
    """The client's documents shown in My Documents (not card photos or IDs),
    newest first; ``query`` keeps those whose name contains it."""
    documents = Document.filter(client_id=client_id, kind__in=LISTED_KINDS)
    if query:
        documents = documents.filter(name__icontains=query)
    return documents.order_by("-created_at", "-id")


async def listed_document(client_id: int, document_id: int) -> Document | None:
    """One document of My Documents, if it is this client's (None otherwise)."""
    return await Document.get_or_none(id=document_id, client_id=client_id, kind__in=LISTED_KINDS)


def to_acknowledge(client_id: int) -> QuerySet[Document]:
    return Document.filter(
        client_id=client_id,
        kind__in=LISTED_KINDS,
        requires_ack=True,
        acknowledged_at__isnull=True,
    ).order_by("created_at", "id")


def display_name(typed: str, content_type: str) -> str:
    """A typed display name made safe for a page and a download header, ending in
    the extension of what the file really is."""
    name = UNSAFE.sub("", typed).strip(" .")[:MAX_NAME] or "document"
    extension = EXTENSIONS[content_type]
    if content_type == "image/jpeg" and name.lower().endswith(".jpeg"):
        return name
    return name if name.lower().endswith(extension) else name + extension


def download_name(document: Document) -> str:
    """The file name a download is saved under: the display name with the extension
    of its real type (a generated PDF's name may lack one)."""
    if document.content_type not in EXTENSIONS:
        return UNSAFE.sub("", document.name) or "document"
    return display_name(document.name, document.content_type)


async def acknowledge(client_id: int, document_id: int, by: User) -> Document:
    """Record that ``by`` read and acknowledged a shared document: once, the first
    click wins and a second one changes nothing. RuleError("document_not_found"
    | "document_no_ack")."""
    document = await listed_document(client_id, document_id)
    if document is None:
        raise RuleError("document_not_found")
    if not document.requires_ack:
        raise RuleError("document_no_ack")
    # A conditional update, so two clicks at once still record one acknowledgement.
    await Document.filter(id=document.id, acknowledged_at__isnull=True).update(
        acknowledged_at=clock.now(), acknowledged_by_id=by.id
    )
    await document.refresh_from_db()
    return document


async def delete_upload(client_id: int, document_id: int, by: User, data_dir: Path) -> None:
    """Delete a document the person uploaded themself (kind ``uploaded``): its row
    and its bytes. RuleError("document_not_found" | "document_not_yours")."""
    document = await listed_document(client_id, document_id)
    if document is None:
        raise RuleError("document_not_found")
    if document.kind != DocumentKind.UPLOADED or document.uploaded_by_id != by.id:
        raise RuleError("document_not_yours")
    await document_files.discard(document, data_dir)


async def share_pdf_only(document: Document, data_dir: Path) -> Document:
    """Staff share PDFs only: any other kept file is discarded and refused with
    RuleError("document_share_pdf")."""
    if document.content_type != "application/pdf":
        await document_files.discard(document, data_dir)
        raise RuleError("document_share_pdf")
    return document


def size_label(size: int) -> tuple[str, str]:
    """A file size as (number, unit): ("34", "KB"), ("1.2", "MB")."""
    if size < 1024 * 1024:
        return str(max(1, round(size / 1024))), "KB"
    return f"{size / (1024 * 1024):.1f}", "MB"


async def once(document: Document, data_dir: Path) -> Document:
    """A double submit keeps one document: the same file, kept for the same client
    by the same person in the last ``REPEAT_WINDOW``, is that document again (the
    new copy is discarded)."""
    earlier = (
        await Document.filter(
            client_id=document.client_id,
            kind=document.kind,
            uploaded_by_id=document.uploaded_by_id,
            sha256=document.sha256,
            created_at__gte=document.created_at - REPEAT_WINDOW,
            id__lt=document.id,
        )
        .order_by("id")
        .first()
    )
    if earlier is None:
        return document
    await document_files.discard(document, data_dir)
    return earlier
