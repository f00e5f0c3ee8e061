"""Files sent with messages: checked from their bytes, stored outside the web root.

A file is accepted when its first bytes say PDF, PNG or JPEG (the name and the
browser's Content-Type are not believed) and it is at most ``MAX_BYTES``. It is
written under ``<data_dir>/attachments/`` with a random name; the database row
keeps the original name for display. ``Attachment.message`` is set when the
message carrying it is posted (``models.conversations.post``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path

from models.errors import RuleError
from models.messaging import Attachment

MAX_BYTES = 10 * 1024 * 1024
KINDS = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def sniff(head: bytes) -> str | None:
    """The content type the bytes themselves show, if it is one we accept."""
    for content_type, magics in KINDS.items():
        if any(head.startswith(magic) for magic in magics):
            return content_type
    return None


def clean_filename(name: str, content_type: str) -> str:
    """A display name safe in a header and a page: no path, no control characters,
    at most 120 characters, ending in the extension of what the file really is."""
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = re.sub(r"[\x00-\x1f\x7f\"<>:;|?*]", "", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:100] or "attachment"
    return stem + EXTENSIONS[content_type]


def _directory(data_dir: Path) -> Path:
    path = Path(data_dir) / "attachments"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def path_of(attachment: Attachment, data_dir: Path) -> Path:
    return _directory(data_dir) / attachment.storage_key


def _write(partial: Path, target: Path, data: bytes) -> None:
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.rename(target)  # never a half-written file under its final name


async def store(
    data: bytes, *, filename: str, client_id: int, uploaded_by_id: int | None, data_dir: Path
) -> Attachment:
    """Check and keep one uploaded file; RuleError("attachment_too_large" |
    "attachment_type" | "attachment_empty") refuses it and keeps nothing."""
    if not data:
        raise RuleError("attachment_empty")
    if len(data) > MAX_BYTES:
        raise RuleError("attachment_too_large")
    content_type = sniff(data[:16])
    if content_type is None:
        raise RuleError("attachment_type")
    key = secrets.token_hex(16)
    target = _directory(data_dir) / key
    partial = target.with_suffix(".part")
    await asyncio.to_thread(_write, partial, target, data)
    try:
        return await Attachment.create(
            client_id=client_id,
            uploaded_by_id=uploaded_by_id,
            filename=clean_filename(filename, content_type),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
