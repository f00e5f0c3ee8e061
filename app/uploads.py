"""Files uploaded with a form (message attachments): the size limit for the route,
and storing each file through ``models.attachments`` (checked from its bytes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Quart, Request, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from models import attachments, document_files
from models.conversations import MAX_ATTACHMENTS
from models.documents import Document
from models.errors import RuleError
from models.messaging import Attachment, Message

FORM_LIMIT = 1024 * 1024  # any other request body
# Every file at its largest, plus the form's text fields.
UPLOAD_LIMIT = MAX_ATTACHMENTS * attachments.MAX_BYTES + 256 * 1024


UPLOAD_ATTR = "_upload_limit"


def accepts_uploads(view):
    """Mark a route that takes files: the body limit (``FORM_LIMIT``) is raised to
    ``UPLOAD_LIMIT`` for its requests, before anything reads the body (the CSRF
    check does, in ``app.create_app``'s request hook). Put it under the access rule
    decorator."""
    setattr(view, UPLOAD_ATTR, UPLOAD_LIMIT)
    return view


def upload_limit(view) -> int | None:
    return getattr(view, UPLOAD_ATTR, None)


def install(app: Quart) -> None:
    """Give each request the body limit of the route it is for, from the start.

    Quart fixes a request body's limit when the request is made (app-wide
    ``MAX_CONTENT_LENGTH``), before routing; raising it later in a hook does not
    reach the body. So the request class looks the route up first: FORM_LIMIT for
    every route, UPLOAD_LIMIT for those marked ``accepts_uploads``. A body over the
    limit is a 413 whether it says its length or streams it.
    """

    class PortalRequest(Request):
        def __init__(self, method: str, scheme: str, path: str, *args, **kwargs) -> None:
            kwargs["max_content_length"] = _route_limit(app, method, path)
            super().__init__(method, scheme, path, *args, **kwargs)
            self.max_content_length = kwargs["max_content_length"]

    app.request_class = PortalRequest
    app.config["MAX_CONTENT_LENGTH"] = FORM_LIMIT


def _route_limit(app: Quart, method: str, path: str) -> int:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method)
    except (HTTPException, RequestRedirect):
        return FORM_LIMIT
    return upload_limit(app.view_functions.get(endpoint)) or FORM_LIMIT


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
        await attachments.discard(stored, data_dir)
        raise
    return stored


async def post_with_files(
    post: Callable[[list[int]], Awaitable[Message]], *, client_id: int, by_id: int
) -> Message:
    """Keep the form's files (field "files"), then ``post(attachment_ids)``: all or
    none, so a message the rules refuse leaves no file behind."""
    stored = await store_files("files", client_id=client_id, by_id=by_id)
    try:
        return await post([a.id for a in stored])
    except BaseException:
        await attachments.discard(stored, current_app.config["PORTAL"].data_dir)
        raise


async def store_document(
    field: str, *, client_id: int, by_id: int, kind: str, requires_ack: bool = False
) -> Document | None:
    """Keep the one file of ``field`` as a document (None when no file was chosen);
    RuleError("document_empty" | "document_too_large" | "document_type") refuses it
    and keeps nothing. Mark the route ``accepts_uploads``."""
    upload = (await request.files).get(field)
    if upload is None or not upload.filename:
        return None
    return await document_files.store_upload(
        upload.read(attachments.MAX_BYTES + 1),
        filename=upload.filename,
        client_id=client_id,
        kind=kind,
        uploaded_by_id=by_id,
        data_dir=current_app.config["PORTAL"].data_dir,
        requires_ack=requires_ack,
    )


async def send_stored(path, *, content_type: str, filename: str, inline: bool = False):
    """A stored file as a download (``inline``: shown in the browser, for images and
    PDFs a person views): 404 when its bytes are gone. It can run no script and
    is never cached (the CSP sandbox, no-store, nosniff)."""
    from urllib.parse import quote

    from quart import abort, send_file

    if not path.is_file():
        abort(404)
    response = await send_file(path, mimetype=content_type, conditional=False)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''" + quote(filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
