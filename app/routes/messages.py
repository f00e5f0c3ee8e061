"""My Messages: the client's conversations with the practice, "Ask a Question", and
the chat panel (the assistant that confirms, cancels, tells the balance...).

Every write goes through ``models.conversations`` and is published to the live
sockets after it commits. Without JavaScript each form posts and redirects; with
htmx the new messages are swapped in and the socket skips what the tab shows.
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, g, redirect, request

from app.auth import audit_read, client_section, signed_in
from app.forms import Form
from app.htmx import is_htmx, render_page, render_partial
from app.net import client_ip
from app.rules import rule_message
from app.uploads import accepts_uploads, post_with_files, send_stored
from channels.chat.broker import message_posted
from models import attachments, conversations
from models.errors import RuleError
from models.messaging import TOPICS, Message, Thread

blueprint = Blueprint("messages", __name__)
SHOWN = 200  # the newest messages of a thread on its page


def _assistant():
    from channels.chat import assistant

    return assistant


async def newest_message_id() -> int:
    """Read before a page's own queries: the socket replays anything newer."""
    row = await Message.all().order_by("-id").first().values_list("id", flat=True)
    return int(row or 0)


def _topics() -> list[tuple[str, str]]:
    """Who the client can write to: their provider (if they have one), scheduling, billing."""
    from app.i18n import _

    client = g.access.client
    names = {
        "provider": _("My provider")
        + (f" ({client.primary_provider.user.display_name})" if client.primary_provider_id else ""),
        "scheduler": _("Scheduling"),
        "biller": _("Billing"),
    }
    return [(t, names[t]) for t in TOPICS if t != "provider" or client.primary_provider_id]


async def _load_provider() -> None:
    client = g.access.client
    if client.primary_provider_id:
        await client.fetch_related("primary_provider__user")


@blueprint.get("/messages")
@client_section(scope="messages", feature="messaging")
async def get_messages():
    after = await newest_message_id()
    threads = (
        await conversations.client_threads(g.access.client.id)
        .select_related("provider__user")
        .order_by("-last_message_at", "-id")
    )
    chat = next((t for t in threads if t.kind == "chat"), None)
    unread = await conversations.unread_by_thread([t.id for t in threads], for_client=True)
    return await render_page(
        "views/client/messages.html",
        threads=threads,
        chat=chat,
        unread_counts=unread,
        live={"view": "threads", "after": after},
    )


# ---- Ask a Question ------------------------------------------------------------------


async def _new_form(form: Form, status: int = 200) -> Response:
    await _load_provider()
    return await render_page(
        "views/client/message_new.html", form=form, topics=_topics(), status=status
    )


@blueprint.get("/messages/new")
@client_section(scope="messages", feature="messaging")
async def get_new_message():
    wanted = request.args.get("to", "")
    return await _new_form(Form({"topic": wanted if wanted in TOPICS else ""}))


@blueprint.post("/messages/new")
@client_section(scope="messages", feature="messaging")
@accepts_uploads
async def post_new_message():
    form = Form.of(await request.form)
    topic = form.value("topic")
    await _load_provider()
    if topic not in dict(_topics()):
        form.errors["topic"] = rule_message("message_topic_unknown")
    subject = form.text("subject", max_length=conversations.MAX_SUBJECT)
    if not form.ok:
        return await _new_form(form, 422)
    try:
        message = await post_with_files(
            lambda ids: conversations.start_thread(
                g.access.client,
                by=g.user,
                topic=topic,
                subject=subject or "",
                body=form.value("body"),
                attachment_ids=ids,
            ),
            client_id=g.access.client.id,
            by_id=g.user.id,
        )
    except RuleError as error:
        form.errors["files" if error.code.startswith("attachment") else "body"] = rule_message(
            error.code, error.detail
        )
        return await _new_form(form, 422)
    await message_posted(
        message, client_id=g.access.client.id, practice_id=g.access.client.practice_id
    )
    return redirect(f"/messages/{message.thread_id}", 303)


# ---- one conversation ----------------------------------------------------------------


async def _thread_or_404(thread_id: int) -> Thread:
    thread = await conversations.client_thread(g.access.client.id, thread_id)
    if thread is None:
        abort(404)
    return thread


async def _thread_page(thread: Thread, form: Form | None = None, status: int = 200):
    after = await newest_message_id()
    newest = (
        await Message.filter(thread_id=thread.id)
        .order_by("-id")
        .limit(SHOWN)
        .select_related("sender")
        .prefetch_related("attachments")
    )
    if not g.access.preview:  # an admin's preview leaves the client's unread as it was
        await conversations.mark_read(thread, by_client_side=True)
    await thread.fetch_related("provider__user") if thread.provider_id else None
    return await render_page(
        "views/client/thread.html",
        thread=thread,
        messages=list(reversed(newest)),
        form=form or Form({}),
        quick_replies=_assistant().starting_replies(g.locale) if thread.kind == "chat" else [],
        live={"view": "thread", "thread": thread.id, "after": after},
        status=status,
    )


@blueprint.get("/messages/<id:thread_id>")
@client_section(scope="messages", feature="messaging")
async def get_thread(thread_id: int):
    return await _thread_page(await _thread_or_404(thread_id))


@blueprint.get("/messages/chat")
@client_section(scope="messages", feature="messaging")
async def get_chat():
    return await _thread_page(await conversations.chat_thread(g.access.client))


async def _appended(thread: Thread, messages: list[Message], quick_replies=()) -> Response:
    """With htmx: a fresh form, and the new messages appended out of band."""
    for message in messages:
        await message.fetch_related("sender", "attachments")
    return await render_partial(
        "partials/_messages_appended.html",
        thread=thread,
        messages=messages,
        empty_form=Form({}),
        quick_replies=list(quick_replies),
    )


async def _form_error(thread: Thread, form: Form) -> Response:
    if is_htmx():  # the form, with its errors, replaces itself
        return await render_partial(
            "partials/_message_form.html", thread=thread, form=form, status=422
        )
    return await _thread_page(thread, form, 422)


@blueprint.post("/messages/<id:thread_id>/reply")
@client_section(scope="messages", feature="messaging")
@accepts_uploads
async def post_reply(thread_id: int):
    thread = await _thread_or_404(thread_id)
    form = Form.of(await request.form)
    try:
        message = await post_with_files(
            lambda ids: conversations.post(
                thread,
                by=g.user,
                from_client_side=True,
                body=form.value("body"),
                attachment_ids=ids,
            ),
            client_id=thread.client_id,
            by_id=g.user.id,
        )
    except RuleError as error:
        field = "files" if error.code.startswith("attachment") else "body"
        form.errors[field] = rule_message(error.code, error.detail)
        return await _form_error(thread, form)
    await message_posted(
        message, client_id=thread.client_id, practice_id=g.access.client.practice_id
    )
    if is_htmx():
        return await _appended(thread, [message])
    return redirect(f"/messages/{thread.id}#message-{message.id}", 303)


@blueprint.post("/messages/chat")
@client_section(scope="messages", feature="messaging")
async def post_chat():
    form = Form.of(await request.form)
    numbers = Form(dict(form.data))
    appointment_id = numbers.integer("appointment_id") if form.value("appointment_id") else None
    accept_fee = numbers.integer("accept_fee", minimum=0) if form.value("accept_fee") else 0
    try:
        answer = await _assistant().chat(
            g.access,
            g.user,
            form.value("body"),
            appointment_id=appointment_id,
            accept_fee=accept_fee or 0,
            ip=client_ip(),
        )
    except RuleError as error:
        form.errors["body"] = rule_message(error.code)
        return await _form_error(await conversations.chat_thread(g.access.client), form)
    if not is_htmx():
        return redirect("/messages/chat", 303)
    said = [answer.said] + ([answer.reply] if answer.reply else [])
    replies = answer.quick_replies or _assistant().starting_replies(g.locale)
    return await _appended(answer.thread, said, replies)


# ---- attachments ----------------------------------------------------------------------


@blueprint.get("/messages/attachments/<id:attachment_id>")
@signed_in
async def get_attachment(attachment_id: int):
    """A file sent with a message, to the thread's participants only (404 to anyone
    else); a file not sent yet, only to whoever uploaded it."""
    attachment = await attachments.visible_to(g.user, attachment_id)
    if attachment is None:
        abort(404)
    path = attachments.path_of(attachment, current_app.config["PORTAL"].data_dir)
    if not path.is_file():
        abort(404)
    await audit_read(
        attachment.client_id, "messages", object_type="attachment", object_id=attachment.id
    )
    return await send_stored(
        path, content_type=attachment.content_type, filename=attachment.filename
    )
