"""Uploaded files on disk: checked from their bytes, kept outside the web root.

A file is accepted when its first bytes say PDF, PNG or JPEG (the name and the
browser's Content-Type are not believed) and it is at most ``MAX_BYTES``. It is
written under ``<data_dir>/<folder>/`` with a random name, readable by this user
only; the database row that owns it keeps the original name for display. Message
attachments (``models.attachments``) and documents (``models.document_files``)
both keep their bytes here.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from models.errors import RuleError

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


def clean_filename(name: str, content_type: str, *, fallback: str = "attachment") -> str:
    """A display name safe in a header and a page: no path, no control characters,
    at most 120 characters, ending in the extension of what the file really is."""
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = re.sub(r"[\x00-\x1f\x7f\"<>:;|?*]", "", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:100] or fallback
    return stem + EXTENSIONS[content_type]


def directory(data_dir: Path, folder: str) -> Path:
    path = Path(data_dir) / folder
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass(frozen=True)
class StoredFile:
    key: str  # the random file name under the folder
    content_type: str
    size: int
    sha256: str


def check(data: bytes, *, code: str = "attachment") -> str:
    """The content type of acceptable bytes; RuleError(f"{code}_empty" |
    f"{code}_too_large" | f"{code}_type") otherwise."""
    if not data:
        raise RuleError(f"{code}_empty")
    if len(data) > MAX_BYTES:
        raise RuleError(f"{code}_too_large")
    content_type = sniff(data[:16])
    if content_type is None:
        raise RuleError(f"{code}_type")
    return content_type


def _write(partial: Path, target: Path, data: bytes) -> None:
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.rename(target)  # never a half-written file under its final name


async def write(
    data: bytes, *, data_dir: Path, folder: str, code: str = "attachment"
) -> StoredFile:
    """Check ``data`` (see ``check``) and write it under a new random name."""
    content_type = check(data, code=code)
    key = secrets.token_hex(16)
    target = directory(data_dir, folder) / key
    await asyncio.to_thread(_write, target.with_suffix(".part"), target, data)
    return StoredFile(key, content_type, len(data), hashlib.sha256(data).hexdigest())


async def write_generated(
    data: bytes, content_type: str, *, data_dir: Path, folder: str
) -> StoredFile:
    """Keep bytes the portal made itself (a form's PDF): no checks, a new random name."""
    key = secrets.token_hex(16)
    target = directory(data_dir, folder) / key
    await asyncio.to_thread(_write, target.with_suffix(".part"), target, data)
    return StoredFile(key, content_type, len(data), hashlib.sha256(data).hexdigest())


def path(data_dir: Path, folder: str, key: str) -> Path:
    return directory(data_dir, folder) / key
