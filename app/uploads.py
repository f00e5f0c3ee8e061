"""Files uploaded with a form (message attachments): the size limit for the route,
and storing each file through ``models.attachments`` (checked from its bytes)."""

from __future__ import annotations

from quart import current_app, request

from models import attachments
from models.conversations import MAX_ATTACHMENTS
from models.errors import RuleError
from models.messaging import Attachment

# Every file at its largest, plus the form's text fields.
UPLOAD_LIMIT = MAX_ATTACHMENTS * attachments.MAX_BYTES + 256 * 1024


def allow_uploads() -> None:
    """Call before reading the form of a route that takes files: the app-wide body
    limit (1 MiB) is raised for this request only."""
    request.max_content_length = UPLOAD_LIMIT


async def store_files(field: str, *, client_id: int, by_id: int) -> list[Attachment]:
    """Keep the files of ``field``, all or none: RuleError names the first refused
    (its ``detail`` is the file name) and nothing stays behind."""
    files = [f for f in (await request.files).getlist(field) if f and f.filename]
    if len(files) > MAX_ATTACHMENTS:
        raise RuleError("too_many_attachments")
    data_dir = current_app.config["PORTAL"].data_dir
    stored: list[Attachment] = []
    try:
        for upload in files:
            data = upload.read(attachments.MAX_BYTES + 1)
            try:
                stored.append(
                    await attachments.store(
                        data,
                        filename=upload.filename,
                        client_id=client_id,
                        uploaded_by_id=by_id,
                        data_dir=data_dir,
                    )
                )
            except RuleError as error:
                error.detail = upload.filename[:120]
                raise
    except BaseException:
        for attachment in stored:
            attachments.path_of(attachment, data_dir).unlink(missing_ok=True)
            await attachment.delete()
        raise
    return stored
