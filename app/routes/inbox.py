"""The staff inbox: queues and filters, one conversation, replies, assignment, done.

Who sees which thread is ``models.conversations``' (anyone else gets a 404 for
everything here). Every change is published to the live sockets after it commits,
so other staff's rows, tabs and badges follow. Without JavaScript each form posts
and redirects (303) back to the conversation; with htmx the answer is swapped in.
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request
from tortoise.expressions import RawSQL

from app.auth import audit_read, staff_only
from app.forms import Form
from app.htmx import is_htmx, render_page, vary_on_htmx
from app.i18n import lazy_gettext as _l
from app.rules import rule_message
from app.templates import render
from app.uploads import accepts_uploads, post_with_files
from channels.chat import fragments
from channels.chat.broker import message_posted, thread_changed
from models import conversations
from models.errors import RuleError
from models.messaging import Message, Thread
from models.people import StaffMember

blueprint = Blueprint("inbox", __name__, url_prefix="/staff")
ROWS = 100  # the newest conversations of a filter
SHOWN = 200  # the newest messages of a conversation
ROW_RELATED = ("client", "provider__user", "assigned_to__user")
# A thread's place in the list: its last message, or when it was made (as the live
# rows' order); spelled out, for the joined client and message tables have
# created_at too.
RECENCY = RawSQL('COALESCE("thread"."last_message_at", "thread"."created_at")')
NOTICES = {
    "assigned": _l("Assignment saved."),
    "done": _l("Marked done. It reopens when the client writes again."),
    "reopened": _l("Reopened."),
}


async def newest_message_id() -> int:
    """Read before a page's own queries: the socket replays anything newer."""
    row = await Message.all().order_by("-id").first().values_list("id", flat=True)
    return int(row or 0)


# ---- the inbox ---------------------------------------------------------------------


@blueprint.get("/")
@staff_only()
async def get_home():
    return await inbox_page()


@blueprint.get("/inbox")
@staff_only()
async def get_inbox():
    return await inbox_page()


async def inbox_page() -> Response:
    after = await newest_message_id()
    counts = await conversations.queue_counts(g.staff)
    queue = request.args.get("queue", "")
    show = request.args.get("show", "open")
    queue = queue if queue in counts else ""  # a queue this person does not see: all
    show = show if show in conversations.SHOW else "open"
    threads = (
        await conversations.inbox(g.staff, queue=queue, show=show)
        .select_related(*ROW_RELATED)
        .annotate(recency=RECENCY)
        .order_by("-recency", "-id")
        .limit(ROWS)
    )
    unread = await conversations.unread_by_thread([t.id for t in threads], for_client=False)
    return await render_page(
        "views/staff/inbox.html",
        threads=threads,
        unread=unread,
        counts=counts,
        queue=queue,
        show=show,
        live={"view": "inbox", "queue": queue, "show": show, "after": after},
    )


# ---- one conversation --------------------------------------------------------------


async def _thread_or_404(thread_id: int) -> Thread:
    """The thread if this staff member may read it; a 404 for anyone else."""
    thread = (
        await conversations.staff_threads(g.staff)
        .filter(id=thread_id)
        .select_related(*ROW_RELATED)
        .first()
    )
    if thread is None:
        abort(404)
    return thread


async def _published(thread: Thread) -> None:
    await thread_changed(thread.id, client_id=thread.client_id, practice_id=g.staff.practice_id)


async def thread_page(
    thread: Thread,
    *,
    form: Form | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    after = await newest_message_id()
    newest = (
        await Message.filter(thread_id=thread.id)
        .order_by("-id")
        .limit(SHOWN)
        .select_related("sender")
        .prefetch_related("attachments")
    )
    colleagues = await conversations.assignable_staff(thread, g.staff.practice_id)
    return await render_page(
        "views/staff/thread.html",
        status=status,
        thread=thread,
        messages=list(reversed(newest)),
        colleagues=[s for s in colleagues if s.id != g.staff.id],
        form=form or Form({}),
        notice=notice,
        error=error,
        live={"view": "staff_thread", "thread": thread.id, "after": after},
    )


@blueprint.get("/inbox/<id:thread_id>")
@staff_only()
async def get_thread(thread_id: int):
    thread = await _thread_or_404(thread_id)
    # Opening a conversation is reading it: the client's messages are read now.
    if await conversations.mark_read(thread, by_client_side=False):
        await _published(thread)
    await audit_read(thread.client_id, "messages", object_type="thread", object_id=thread.id)
    notice = NOTICES.get(request.args.get("notice", ""), "")
    return await thread_page(thread, notice=str(notice))


async def _reply_form(thread: Thread, form: Form, status: int, message: Message | None = None):
    """The reply box (fresh or with its errors), and the new message out of band."""
    body = await render("views/staff/thread.html", "reply", thread=thread, form=form)
    if message is not None:
        body += fragments.message_item(message, client_side=False, tz=g.staff.practice.time_zone)
    return vary_on_htmx(Response(body, status=status, content_type="text/html; charset=utf-8"))


async def _refused(thread: Thread, form: Form, field: str, text: str) -> Response:
    form.errors[field] = text
    if is_htmx():
        return await _reply_form(thread, form, 422)
    return await thread_page(thread, form=form, status=422)


@blueprint.post("/inbox/<id:thread_id>/reply")
@staff_only()
@accepts_uploads
async def post_reply(thread_id: int):
    thread = await _thread_or_404(thread_id)
    form = Form.of(await request.form)
    uploads = [f for f in (await request.files).getlist("files") if f and f.filename]
    try:  # the words first: nothing is stored for a message that cannot be sent
        conversations.Draft.of(form.value("body"), attachments=len(uploads))
    except RuleError as exc:
        return await _refused(thread, form, "body", rule_message(exc.code))
    try:
        message = await post_with_files(
            lambda ids: conversations.post(
                thread,
                by=g.user,
                from_client_side=False,
                body=form.value("body"),
                attachment_ids=ids,
            ),
            client_id=thread.client_id,
            by_id=g.user.id,
        )
    except RuleError as exc:
        field = "body" if exc.code.startswith("message") else "files"
        return await _refused(thread, form, field, rule_message(exc.code, exc.detail))
    await message_posted(message, client_id=thread.client_id, practice_id=g.staff.practice_id)
    if not is_htmx():
        return redirect(f"/staff/inbox/{thread.id}#message-{message.id}", 303)
    message = (
        await Message.filter(id=message.id)
        .select_related("sender")
        .prefetch_related("attachments")
        .get()
    )
    return await _reply_form(thread, Form({}), 200, message)


# ---- assign, done, reopen ----------------------------------------------------------


async def _changed(thread: Thread, notice: str) -> Response:
    await _published(thread)
    if is_htmx():
        thread = await _thread_or_404(thread.id)  # fresh names for the facts
        return await thread_page(thread, notice=str(NOTICES[notice]))
    return redirect(f"/staff/inbox/{thread.id}?notice={notice}", 303)


@blueprint.post("/inbox/<id:thread_id>/assign")
@staff_only()
async def post_assign(thread_id: int):
    thread = await _thread_or_404(thread_id)
    raw = str((await request.form).get("assignee", ""))
    assignee: StaffMember | None = None
    if raw == "me":
        assignee = g.staff
    elif raw:
        if raw.isascii() and raw.isdigit() and len(raw) < 11:
            assignee = await StaffMember.filter(
                id=int(raw), practice_id=g.staff.practice_id
            ).first()
        if assignee is None:
            return await thread_page(thread, error=rule_message("assignee_unknown"), status=422)
    try:
        await conversations.assign(thread, assignee, by=g.staff)
    except RuleError as exc:
        return await thread_page(thread, error=rule_message(exc.code), status=422)
    return await _changed(thread, "assigned")


@blueprint.post("/inbox/<id:thread_id>/done")
@staff_only()
async def post_done(thread_id: int):
    thread = await _thread_or_404(thread_id)
    await conversations.set_done(thread, True)
    return await _changed(thread, "done")


@blueprint.post("/inbox/<id:thread_id>/reopen")
@staff_only()
async def post_reopen(thread_id: int):
    thread = await _thread_or_404(thread_id)
    await conversations.set_done(thread, False)
    return await _changed(thread, "reopened")
