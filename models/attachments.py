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
from models.people import User

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


async def discard(stored: list[Attachment], data_dir: Path) -> None:
    """Files kept for a message that was then refused: gone again, rows and bytes."""
    for attachment in stored:
        path_of(attachment, data_dir).unlink(missing_ok=True)
        await attachment.delete()


async def visible_to(user: User, attachment_id: int) -> Attachment | None:
    """The attachment if ``user`` takes part in its thread: staff who see the thread,
    the client or a guardian with the messages right (messaging on). A file not
    sent yet belongs to whoever uploaded it. None for anyone else."""
    from models.access import client_accesses, staff_member_for
    from models.conversations import staff_thread
    from models.settings import settings_for

    attachment = await Attachment.get_or_none(id=attachment_id).select_related("message")
    if attachment is None:
        return None
    if attachment.message is None:
        return attachment if attachment.uploaded_by_id == user.id else None
    staff = await staff_member_for(user)
    if staff is not None:
        seen = await staff_thread(staff, attachment.message.thread_id)
        return attachment if seen is not None else None
    for access in await client_accesses(user):
        if (
            access.client.id == attachment.client_id
            and access.allows("messages")
            and (await settings_for(access.client))["messaging"]
        ):
            return attachment
    return None
