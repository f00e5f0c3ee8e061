"""What a socket sends: rendered partials that htmx's websocket extension swaps in
by id (every top-level element is an out-of-band swap).

The same partials render the pages, so a pushed row or message looks exactly like
one the page was drawn with.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from app.templates import environment
from models.messaging import Message, Thread


def render(template: str, **context) -> str:
    return environment.get_template(template).render(**context)


def message_item(message: Message, *, client_side: bool, tz: str) -> str:
    """One message, appended to its thread's list (``#thread-<id>-messages``)."""
    item = render("partials/_message.html", m=message, client_side=client_side, tz=tz)
    return f'<ol id="thread-{message.thread_id}-messages" hx-swap-oob="beforeend">{item}</ol>'


def upsert_row(list_id: str, row_id: str, row_html: str) -> str:
    """Move a row to the top of a list: remove it where it was, then prepend it."""
    return (
        f'<li id="{escape(row_id)}" hx-swap-oob="delete"></li>'
        f'<ul id="{escape(list_id)}" hx-swap-oob="afterbegin">{row_html}</ul>'
    )


def remove_row(row_id: str) -> str:
    return f'<li id="{escape(row_id)}" hx-swap-oob="delete"></li>'


def client_thread_row(thread: Thread, *, unread: int, tz: str) -> str:
    row = render("partials/_thread_row.html", t=thread, unread=unread, tz=tz)
    return upsert_row("thread-rows", f"thread-row-{thread.id}", row)


def inbox_row(thread: Thread, *, unread: int, tz: str) -> str:
    row = render("partials/_inbox_row.html", t=thread, unread=unread, tz=tz)
    return upsert_row("inbox-rows", f"inbox-thread-{thread.id}", row)


def menu_badge(name: str, count: int) -> str:
    return render("partials/_menu_badge.html", name=name, count=count, oob=True)


def inbox_tabs(counts: dict[str, int], *, queue: str, show: str) -> str:
    return render("partials/_inbox_tabs.html", counts=counts, queue=queue, show=show, oob=True)


def cursor(after: int) -> str:
    return f'<div id="live-cursor" hx-swap-oob="true" hidden data-after="{int(after)}"></div>'


def status(text: str) -> str:
    """A line read out to screen readers (sign-out, a refused frame)."""
    return Markup(
        '<p id="live-status" class="live-status" role="status" hx-swap-oob="true">{}</p>'
    ).format(text)
