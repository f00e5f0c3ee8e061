"""The bytes of documents (My Documents): uploads by clients and staff, photo IDs,
insurance-card photos and the PDFs of submitted forms, kept through
``models.file_store`` under ``<data_dir>/documents/``."""

from __future__ import annotations

from pathlib import Path

from models import file_store
from models.documents import Document

FOLDER = "documents"


class DocumentKind:
    """What a document is; My Documents lists every kind but the card photos and IDs."""

    SHARED = "shared"  # staff shared it with the client (may need acknowledging)
    UPLOADED = "uploaded"  # the client (or their guardian) uploaded it
    FORM_PDF = "form_pdf"  # the locked copy of a submitted form
    PHOTO_ID = "photo_id"
    INSURANCE_CARD = "insurance_card"


LISTED_KINDS = (DocumentKind.SHARED, DocumentKind.UPLOADED, DocumentKind.FORM_PDF)


def path_of(document: Document, data_dir: Path) -> Path:
    return file_store.path(data_dir, FOLDER, document.storage_key)


async def store_upload(
    data: bytes,
    *,
    filename: str,
    client_id: int,
    kind: str,
    uploaded_by_id: int | None,
    data_dir: Path,
    requires_ack: bool = False,
) -> Document:
    """Check and keep an uploaded file as a document: RuleError("document_empty" |
    "document_too_large" | "document_type") refuses it and keeps nothing."""
    stored = await file_store.write(data, data_dir=data_dir, folder=FOLDER, code="document")
    return await _create(
        stored,
        name=file_store.clean_filename(filename, stored.content_type, fallback="document"),
        client_id=client_id,
        kind=kind,
        uploaded_by_id=uploaded_by_id,
        data_dir=data_dir,
        requires_ack=requires_ack,
    )


async def store_generated(
    data: bytes,
    *,
    name: str,
    content_type: str,
    client_id: int,
    kind: str,
    uploaded_by_id: int | None,
    data_dir: Path,
) -> Document:
    """Keep a file the portal made (a submitted form's PDF) as a document."""
    stored = await file_store.write_generated(data, content_type, data_dir=data_dir, folder=FOLDER)
    return await _create(
        stored,
        name=name,
        client_id=client_id,
        kind=kind,
        uploaded_by_id=uploaded_by_id,
        data_dir=data_dir,
    )


async def _create(stored: file_store.StoredFile, *, data_dir: Path, **values) -> Document:
    try:
        return await Document.create(
            content_type=stored.content_type,
            storage_key=stored.key,
            size_bytes=stored.size,
            sha256=stored.sha256,
            **values,
        )
    except BaseException:
        file_store.path(data_dir, FOLDER, stored.key).unlink(missing_ok=True)
        raise


async def discard(document: Document, data_dir: Path) -> None:
    """A document refused after it was kept (its form failed): row and bytes gone."""
    if document.storage_key:
        path_of(document, data_dir).unlink(missing_ok=True)
    await document.delete()
