"""Files sent with messages, stored through ``models.file_store`` under
``<data_dir>/attachments/``. ``Attachment.message`` is set when the message carrying
it is posted (``models.conversations.post``).
"""

from __future__ import annotations

from pathlib import Path

from models import file_store
from models.file_store import MAX_BYTES
from models.messaging import Attachment
from models.people import User

__all__ = ["MAX_BYTES", "discard", "path_of", "store", "visible_to"]
FOLDER = "attachments"


def path_of(attachment: Attachment, data_dir: Path) -> Path:
    return file_store.path(data_dir, FOLDER, attachment.storage_key)


async def store(
    data: bytes, *, filename: str, client_id: int, uploaded_by_id: int | None, data_dir: Path
) -> Attachment:
    """Check and keep one uploaded file; RuleError("attachment_too_large" |
    "attachment_type" | "attachment_empty") refuses it and keeps nothing."""
    stored = await file_store.write(data, data_dir=data_dir, folder=FOLDER)
    try:
        return await Attachment.create(
            client_id=client_id,
            uploaded_by_id=uploaded_by_id,
            filename=file_store.clean_filename(filename, stored.content_type),
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
    except BaseException:
        path_of_key(stored.key, data_dir).unlink(missing_ok=True)
        raise


def path_of_key(key: str, data_dir: Path) -> Path:
    return file_store.path(data_dir, FOLDER, key)


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
