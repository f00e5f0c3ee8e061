"""My Messages: threads with the practice. Reading here; writing arrives with the
messaging issue."""

from quart import Blueprint, abort, g

from app.auth import client_section
from app.htmx import render_page
from models import clock
from models.messaging import Message, Thread

blueprint = Blueprint("messages", __name__)


@blueprint.get("/messages")
@client_section(scope="messages", feature="messaging")
async def get_messages():
    threads = (
        await Thread.filter(client_id=g.access.client.id)
        .select_related("provider__user")
        .order_by("-last_message_at", "-id")
    )
    unread = {
        t: await Message.filter(thread_id=t, from_client_side=False, read_at__isnull=True).count()
        for t in [th.id for th in threads]
    }
    return await render_page("views/client/messages.html", threads=threads, unread=unread)


@blueprint.get("/messages/<id:thread_id>")
@client_section(scope="messages", feature="messaging")
async def get_thread(thread_id: int):
    thread = (
        await Thread.filter(id=thread_id, client_id=g.access.client.id)
        .select_related("provider__user")
        .first()
    )
    if thread is None:
        abort(404)
    messages = await Message.filter(thread_id=thread.id).select_related("sender").order_by("id")
    # Opening a thread is reading it: what the practice wrote is now read.
    await Message.filter(thread_id=thread.id, from_client_side=False, read_at__isnull=True).update(
        read_at=clock.now()
    )
    return await render_page("views/client/thread.html", thread=thread, messages=messages)
