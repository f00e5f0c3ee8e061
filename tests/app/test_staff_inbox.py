"""/staff/inbox: who sees which conversation, the queues and filters, replies with
files, assignment, done and reopen, with and without htmx, and the live rows."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from werkzeug.datastructures import FileStorage

from channels.chat.broker import message_posted
from models import conversations
from models.audit import READ, AuditEvent
from models.messaging import Attachment, Message, Thread
from models.people import StaffMember, User
from models.practice import Practice
from tests.channels.live_helpers import ORIGIN, frames_until, quiet
from tests.helpers import HX, csrf_token, sign_in

PAGE = "/staff/inbox"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


@pytest.fixture
def config_overrides(tmp_path) -> dict:
    return {"data_dir": tmp_path / "data"}


def stored_files(app) -> list:
    folder = app.app.config["PORTAL"].data_dir / "attachments"
    return sorted(folder.iterdir()) if folder.exists() else []


async def signed_in(app, who: str):
    client = app.test_client()
    response = await sign_in(client, who)
    assert response.status_code == 303, who
    return client


async def text(response) -> str:
    return await response.get_data(as_text=True)


async def send(client, path: str, data: dict | None = None, *, files=None, headers=None):
    """POST a form as the inbox would, with the session's CSRF token."""
    token = await csrf_token(client, PAGE)
    form = {**(data or {}), "csrf_token": token}
    return await client.post(path, form=form, files=files, headers=headers)


async def client_writes(thread: Thread, body: str) -> Message:
    """The client's side writes in ``thread`` (and the sockets hear of it)."""
    client = await thread.client
    message = await conversations.post(
        thread, by=await User.get(id=client.user_id), from_client_side=True, body=body
    )
    await message_posted(message, client_id=client.id, practice_id=client.practice_id)
    return message


async def make_staff(practice, name: str, roles) -> StaffMember:
    user = await User.create(
        email=f"{name.lower()}@test.example",
        display_name=name,
        password_hash=(await User.get(email="penny@test.example")).password_hash,
    )
    return await StaffMember.create(practice=practice, user=user, roles=list(roles))


def row_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<li id="inbox-thread-(\d+)"', html)}


async def thread_state(thread: Thread) -> tuple:
    fresh = await Thread.get(id=thread.id)
    return fresh.status, fresh.done_at, fresh.assigned_to_id


# ---- who sees what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, sees_alice, sees_bob",
    [("penny", True, False), ("bea", False, True), ("sid", False, False), ("ada", True, True)],
)
async def test_each_role_sees_its_own_conversations(app, cast, who, sees_alice, sees_bob):
    client = await signed_in(app, who)
    html = await text(await client.get(f"{PAGE}?show=open"))
    assert row_ids(html) == {
        t.id for t, seen in ((cast.thread, sees_alice), (cast.bob_thread, sees_bob)) if seen
    }
    for thread, seen in ((cast.thread, sees_alice), (cast.bob_thread, sees_bob)):
        response = await client.get(f"{PAGE}/{thread.id}")
        assert response.status_code == (200 if seen else 404), (who, thread.subject)


async def test_staff_of_another_practice_see_nothing_and_change_nothing(app, cast):
    await client_writes(cast.thread, "Is Tuesday still on?")
    elsewhere = await Practice.create(name="Elsewhere")
    await make_staff(elsewhere, "Olga", ["admin"])
    olga = await signed_in(app, "olga")
    html = await text(await olga.get(PAGE))
    assert row_ids(html) == set() and "Alice" not in html
    before = (await thread_state(cast.thread), await Message.all().count())
    thread_path = f"{PAGE}/{cast.thread.id}"
    assert (await olga.get(thread_path)).status_code == 404
    for action, data in (
        ("reply", {"body": "Hello"}),
        ("assign", {"assignee": "me"}),
        ("done", {}),
        ("reopen", {}),
    ):
        response = await send(olga, f"{thread_path}/{action}", data)
        assert response.status_code == 404, action
    assert (await thread_state(cast.thread), await Message.all().count()) == before
    unread = await Message.filter(
        thread_id=cast.thread.id, from_client_side=True, read_at__isnull=True
    ).count()
    assert unread == 1  # her look did not read Alice's message
    assert await AuditEvent.filter(category="messages").count() == 0


@pytest.mark.parametrize(
    "path", [f"{PAGE}/99999999999999999999", f"{PAGE}/0", f"{PAGE}/-1", f"{PAGE}/abc"]
)
async def test_absurd_thread_ids_are_404(app, cast, path):
    penny = await signed_in(app, "penny")
    assert (await penny.get(path)).status_code == 404
    assert (await send(penny, f"{path}/done")).status_code == 404


async def test_clients_and_signed_out_people_do_not_get_the_inbox(app, cast):
    alice = await signed_in(app, "alice")
    assert (await alice.get(PAGE)).status_code == 404
    assert (await alice.get(f"{PAGE}/{cast.thread.id}")).status_code == 404
    stranger = app.test_client()
    response = await stranger.get(PAGE)
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


# ---- the inbox: tabs, filters, counts ---------------------------------------------------


@pytest.mark.parametrize("path", ["/staff/", PAGE])
async def test_the_inbox_is_at_both_addresses_with_its_menu_entry_current(app, cast, path):
    penny = await signed_in(app, "penny")
    page = await penny.get(path)
    fragment = await penny.get(path, headers=HX)
    assert page.status_code == fragment.status_code == 200
    page_html, fragment_html = await text(page), await text(fragment)
    assert page_html.startswith("<!doctype html>") and "<html" not in fragment_html
    for html in (page_html, fragment_html):
        assert 'href="/staff/inbox" hx-get="/staff/inbox" aria-current="page"' in html
        assert f'id="inbox-thread-{cast.thread.id}"' in html
        assert 'id="inbox-rows"' in html and 'id="inbox-tabs"' in html
        assert 'data-view="inbox"' in html
    assert "HX-Request" in fragment.headers["Vary"]


async def test_a_conversation_keeps_the_inbox_entry_marked(app, cast):
    penny = await signed_in(app, "penny")
    html = await text(await penny.get(f"{PAGE}/{cast.thread.id}"))
    assert 'href="/staff/inbox" hx-get="/staff/inbox" aria-current="true"' in html


async def test_tabs_show_only_the_queues_one_sees_with_unread_counts(app, cast):
    await client_writes(cast.thread, "Question one")
    await client_writes(cast.thread, "Question two")
    await client_writes(cast.bob_thread, "Receipt please")
    ada = await signed_in(app, "ada")
    html = await text(await ada.get(PAGE))
    tabs = html[html.index('id="inbox-tabs"') :]
    for label, count in (("All", 3), ("Clinical", 2), ("Billing", 1)):
        assert re.search(rf">{label} <span class=\"badge\">{count}<", tabs), label
    assert ">Scheduling</a>" in tabs  # seen, nothing unread
    assert 'aria-current="true">All' in tabs and 'aria-current="true">Open' in tabs
    assert re.search(r'id="menu-badge-inbox".*?aria-hidden="true">3<', html, re.S)

    bea = await signed_in(app, "bea")
    html = await text(await bea.get(PAGE))
    assert "Inbox queues" not in html  # one queue: no queue tabs
    assert row_ids(html) == {cast.bob_thread.id}
    assert re.search(r'id="menu-badge-inbox".*?aria-hidden="true">1<', html, re.S)

    penny = await signed_in(app, "penny")
    html = await text(await penny.get(f"{PAGE}?queue=billing"))  # not hers: all of hers
    assert row_ids(html) == {cast.thread.id}
    assert '<span class="badge">2<span class="visually-hidden"> unread' in html


async def test_filters_open_unread_mine_done(app, cast):
    await client_writes(cast.bob_thread, "Receipt please")
    ada = await signed_in(app, "ada")
    staff_ada = cast.ada

    async def rows(query: str) -> set[int]:
        return row_ids(await text(await ada.get(f"{PAGE}?{query}")))

    both = {cast.thread.id, cast.bob_thread.id}
    assert await rows("show=open") == both
    assert await rows("show=unread") == {cast.bob_thread.id}
    assert await rows("queue=clinical") == {cast.thread.id}
    assert await rows("queue=billing&show=unread") == {cast.bob_thread.id}
    assert await rows("show=mine") == set()
    await conversations.assign(cast.thread, staff_ada, by=staff_ada)
    assert await rows("show=mine") == {cast.thread.id}
    await conversations.set_done(cast.thread, True)
    assert await rows("show=done") == {cast.thread.id}
    assert await rows("show=open") == {cast.bob_thread.id}
    assert await rows("show=mine") == set()  # done is not on my desk any more


@pytest.mark.parametrize(
    "show, sentence",
    [
        ("open", "No open conversations."),
        ("unread", "Nothing unread"),
        ("mine", "No open conversations are assigned to you."),
        ("done", "No conversations are marked done."),
    ],
)
async def test_each_filter_has_its_empty_state(app, cast, show, sentence):
    sid = await signed_in(app, "sid")  # the scheduling queue is empty
    html = await text(await sid.get(f"{PAGE}?show={show}"))
    assert row_ids(html) == set()
    assert re.search(r'<p class="empty inbox-empty">[^<]*' + re.escape(sentence), html)


async def test_a_non_empty_list_hides_its_empty_state(app, cast):
    penny = await signed_in(app, "penny")
    html = await text(await penny.get(PAGE))
    assert '<p class="empty inbox-empty" hidden>' in html


@pytest.mark.parametrize(
    "query",
    [
        "queue=nonsense&show=everything",
        "queue=%00&show=%3Cscript%3E",
        "queue=clinical&queue=billing&show=",
        "show=" + "x" * 5000,
    ],
)
async def test_bad_filters_fall_back_to_the_defaults(app, cast, query):
    ada = await signed_in(app, "ada")
    response = await ada.get(f"{PAGE}?{query}")
    html = await text(response)
    assert response.status_code == 200
    assert 'aria-current="true">Open' in html
    assert "<script>" not in html


async def test_rows_are_newest_first(app, cast):
    ada = await signed_in(app, "ada")

    async def order() -> list[int]:
        html = await text(await ada.get(PAGE))
        return [int(i) for i in re.findall(r'<li id="inbox-thread-(\d+)"', html)]

    alice, bob = cast.thread.id, cast.bob_thread.id
    assert await order() == [bob, alice]  # Bob's has no message: as new as it was made
    await client_writes(cast.thread, "A question")
    assert await order() == [alice, bob]
    await client_writes(cast.bob_thread, "Later question")
    assert await order() == [bob, alice]


# ---- reading a conversation ---------------------------------------------------------------


async def test_reading_a_conversation_reads_it_and_writes_one_audit_row(app, cast):
    first = await client_writes(cast.thread, "I feel better this week.")
    penny = await signed_in(app, "penny")
    response = await penny.get(f"{PAGE}/{cast.thread.id}")
    html = await text(response)
    assert response.status_code == 200
    assert "I feel better this week." in html and "Bring it along." in html
    assert html.index("Bring it along.") < html.index("I feel better this week.")  # oldest first
    assert "Alice Example" in html and "Clinical" in html
    assert f'id="thread-{cast.thread.id}-messages"' in html
    assert f'data-view="staff_thread" data-thread="{cast.thread.id}"' in html
    assert (await Message.get(id=first.id)).read_at is not None
    events = await AuditEvent.filter(action=READ, category="messages")
    assert [(e.actor_id, e.client_id, e.object_type, e.object_id) for e in events] == [
        (cast.penny.user_id, cast.alice.id, "thread", str(cast.thread.id))
    ]


async def test_a_crisis_flag_is_shown_to_staff(app, cast):
    alice = await User.get(id=cast.alice.user_id)
    await conversations.post(
        cast.thread, by=alice, from_client_side=True, body="I can't go on", flag="crisis"
    )
    penny = await signed_in(app, "penny")
    html = await text(await penny.get(f"{PAGE}/{cast.thread.id}"))
    assert "message--flagged" in html and "Crisis words: call the client" in html


# ---- replying -----------------------------------------------------------------------------


async def test_a_reply_without_javascript_stores_reads_and_redirects(app, cast):
    question = await client_writes(cast.thread, "Can I bring my partner?")
    penny = await signed_in(app, "penny")
    response = await send(penny, f"{PAGE}/{cast.thread.id}/reply", {"body": "Yes, of course."})
    reply = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}/{cast.thread.id}#message-{reply.id}"
    assert (reply.body, reply.from_client_side, reply.sender_id) == (
        "Yes, of course.",
        False,
        cast.penny.user_id,
    )
    assert (await Message.get(id=question.id)).read_at is not None
    alice = await signed_in(app, "alice")
    assert "Yes, of course." in await text(await alice.get(f"/messages/{cast.thread.id}"))


async def test_a_reply_with_htmx_appends_the_message_and_resets_the_form(app, cast):
    penny = await signed_in(app, "penny")
    response = await send(
        penny, f"{PAGE}/{cast.thread.id}/reply", {"body": "See you soon."}, headers=HX
    )
    html = await text(response)
    reply = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    assert response.status_code == 200 and reply.body == "See you soon."
    assert html.lstrip().startswith(f'<form id="thread-{cast.thread.id}-reply"')
    assert "></textarea>" in html  # empty again
    appended = rf'<ol id="thread-{cast.thread.id}-messages" hx-swap-oob="beforeend">\s*'
    assert re.search(appended + f'<li id="message-{reply.id}"', html)
    assert "See you soon." in html and "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "body, sentence",
    [
        ("   ", "Write a message or attach a file."),
        ("x" * 5001, "at most 5,000 characters"),
        ("bad \x00 byte", "characters that cannot be sent"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
async def test_a_refused_reply_is_422_with_the_form_and_nothing_stored(
    app, cast, body, sentence, htmx
):
    penny = await signed_in(app, "penny")
    before = await Message.all().count()
    response = await send(
        penny, f"{PAGE}/{cast.thread.id}/reply", {"body": body}, headers=HX if htmx else None
    )
    html = await text(response)
    assert response.status_code == 422
    assert sentence in html and 'aria-invalid="true"' in html
    assert (html.startswith("<!doctype html>")) is not htmx
    assert await Message.all().count() == before


# ---- attachments --------------------------------------------------------------------------


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> dict:
    return {"files": FileStorage(BytesIO(data), filename=name, content_type=content_type)}


@pytest.mark.parametrize(
    "name, data, content_type",
    [("results.pdf", PDF, "application/pdf"), ("scan.png", PNG, "image/png")],
)
async def test_a_reply_carries_a_pdf_or_png(app, cast, name, data, content_type):
    penny = await signed_in(app, "penny")
    response = await send(
        penny,
        f"{PAGE}/{cast.thread.id}/reply",
        {"body": "Here it is."},
        files=upload(name, data, content_type),
    )
    assert response.status_code == 303
    reply = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    files = await Attachment.filter(message_id=reply.id)
    assert [(a.filename, a.content_type, a.size, a.client_id) for a in files] == [
        (name, content_type, len(data), cast.alice.id)
    ]
    assert [p.read_bytes() for p in stored_files(app)] == [data]
    html = await text(await penny.get(f"{PAGE}/{cast.thread.id}"))
    assert f"/messages/attachments/{files[0].id}" in html and name in html


async def test_a_file_alone_is_a_reply(app, cast):
    penny = await signed_in(app, "penny")
    response = await send(
        penny, f"{PAGE}/{cast.thread.id}/reply", {"body": ""}, files=upload("a.pdf", PDF)
    )
    assert response.status_code == 303
    assert await Attachment.filter(message_id__isnull=False).count() == 1


@pytest.mark.parametrize(
    "name, data, sentence",
    [
        ("setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "Only PDF, JPEG and PNG"),
        ("notes.pdf", b"just some text, not a PDF at all\n" * 10, "Only PDF, JPEG and PNG"),
        ("empty.pdf", b"", "That file is empty."),
        ("huge.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "at most 10 MB"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
async def test_a_refused_file_is_422_and_nothing_is_stored(app, cast, name, data, sentence, htmx):
    penny = await signed_in(app, "penny")
    before = await Message.all().count()
    response = await send(
        penny,
        f"{PAGE}/{cast.thread.id}/reply",
        {"body": "With a file"},
        files=upload(name, data),
        headers=HX if htmx else None,
    )
    html = await text(response)
    if name == "empty.pdf" and response.status_code == 303:
        pytest.skip("an empty file part is no file")  # browsers send it for "no file"
    assert response.status_code == 422
    assert sentence in html and 'aria-invalid="true"' in html
    assert await Message.all().count() == before
    assert await Attachment.all().count() == 0
    assert stored_files(app) == []


# ---- assign, done, reopen -----------------------------------------------------------------


async def test_assign_to_me_a_colleague_or_nobody(app, cast):
    ada = await signed_in(app, "ada")
    path = f"{PAGE}/{cast.bob_thread.id}/assign"
    response = await send(ada, path, {"assignee": "me"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}/{cast.bob_thread.id}?notice=assigned"
    assert (await thread_state(cast.bob_thread))[2] == cast.ada.id
    html = await text(await ada.get(response.headers["Location"]))
    assert "Assignment saved." in html
    assert f'<option value="{cast.bea.id}">Bea</option>' in html
    assert f'<option value="{cast.penny.id}">' not in html  # Penny cannot see billing

    assert (await send(ada, path, {"assignee": str(cast.bea.id)})).status_code == 303
    assert (await thread_state(cast.bob_thread))[2] == cast.bea.id
    html = await text(await ada.get(PAGE))
    assert "Assigned to Bea" in html

    assert (await send(ada, path, {"assignee": ""})).status_code == 303
    assert (await thread_state(cast.bob_thread))[2] is None


async def test_assign_with_htmx_answers_the_conversation(app, cast):
    penny = await signed_in(app, "penny")
    response = await send(penny, f"{PAGE}/{cast.thread.id}/assign", {"assignee": "me"}, headers=HX)
    html = await text(response)
    assert response.status_code == 200 and '<main id="main"' in html
    assert "Assignment saved." in html and "<html" not in html
    assert (await thread_state(cast.thread))[2] == cast.penny.id


@pytest.mark.parametrize("tamper", ["abc", "99999", "-1", "1e3", "me ", "x" * 200, "other", "sid"])
async def test_a_tampered_assignee_is_422_and_changes_nothing(app, cast, tamper):
    elsewhere = await Practice.create(name="Elsewhere")
    other = await make_staff(elsewhere, "Olga", ["admin"])
    value = {"other": str(other.id), "sid": str(cast.sid.id)}.get(tamper, tamper)
    penny = await signed_in(app, "penny")
    await conversations.assign(cast.thread, cast.penny, by=cast.penny)
    before = await thread_state(cast.thread)
    response = await send(penny, f"{PAGE}/{cast.thread.id}/assign", {"assignee": value})
    html = await text(response)
    assert response.status_code == 422, tamper
    assert "Choose a colleague from the list." in html or "cannot see this conversation" in html
    assert await thread_state(cast.thread) == before


async def test_done_and_reopen(app, cast):
    bea = await signed_in(app, "bea")
    base = f"{PAGE}/{cast.bob_thread.id}"
    response = await send(bea, f"{base}/done")
    assert response.status_code == 303 and response.headers["Location"] == f"{base}?notice=done"
    status, done_at, _ = await thread_state(cast.bob_thread)
    assert status == "done" and done_at is not None
    html = await text(await bea.get(response.headers["Location"]))
    assert "Marked done." in html and f'action="{base}/reopen"' in html
    assert row_ids(await text(await bea.get(f"{PAGE}?show=done"))) == {cast.bob_thread.id}
    assert row_ids(await text(await bea.get(PAGE))) == set()

    response = await send(bea, f"{base}/reopen", headers=HX)
    assert response.status_code == 200 and "Reopened." in await text(response)
    status, done_at, _ = await thread_state(cast.bob_thread)
    assert status == "open" and done_at is None


async def test_a_client_message_reopens_a_done_conversation(app, cast):
    await conversations.set_done(cast.thread, True)
    await client_writes(cast.thread, "One more thing")
    penny = await signed_in(app, "penny")
    assert cast.thread.id in row_ids(await text(await penny.get(f"{PAGE}?show=open")))


async def test_actions_are_posts_with_a_csrf_token(app, cast):
    penny = await signed_in(app, "penny")
    base = f"{PAGE}/{cast.thread.id}"
    for action in ("reply", "assign", "done", "reopen"):
        response = await penny.post(f"{base}/{action}", form={"body": "hi", "assignee": "me"})
        assert response.status_code == 403, action
        assert (await penny.get(f"{base}/{action}")).status_code == 405, action
    assert await thread_state(cast.thread) == ("open", None, None)


# ---- live ---------------------------------------------------------------------------------


async def newest_id() -> int:
    row = await Message.all().order_by("-id").first()
    return row.id if row else 0


async def test_a_new_client_message_arrives_as_a_row_on_the_inbox(app, cast):
    penny = await signed_in(app, "penny")
    async with penny.websocket(
        f"/ws?view=inbox&show=open&after={await newest_id()}", headers=ORIGIN
    ) as ws:
        await quiet(ws)  # the badges at connect
        await client_writes(cast.thread, "Running late today")
        frames = await frames_until(ws, lambda f: f'id="inbox-thread-{cast.thread.id}"' in f)
    pushed = "".join(frames)
    assert 'id="inbox-rows" hx-swap-oob="afterbegin"' in pushed
    assert "row--unread" in pushed and "Sleep diary" in pushed
    assert "Running late today" not in pushed  # a row, not the message


async def test_a_row_leaves_the_open_view_when_a_colleague_marks_it_done(app, cast):
    penny = await signed_in(app, "penny")
    ada = await signed_in(app, "ada")
    async with penny.websocket(
        f"/ws?view=inbox&show=open&after={await newest_id()}", headers=ORIGIN
    ) as ws:
        await quiet(ws)
        response = await send(ada, f"{PAGE}/{cast.thread.id}/done")
        assert response.status_code == 303
        gone = f'<li id="inbox-thread-{cast.thread.id}" hx-swap-oob="delete">'
        frames = await frames_until(ws, lambda f: gone in f)
    assert frames


async def test_a_staff_reply_reaches_another_staff_members_open_conversation(app, cast):
    penny = await signed_in(app, "penny")
    ada = await signed_in(app, "ada")
    url = f"/ws?view=staff_thread&thread={cast.thread.id}&after={await newest_id()}"
    async with ada.websocket(url, headers=ORIGIN) as ws:
        await quiet(ws)
        await send(penny, f"{PAGE}/{cast.thread.id}/reply", {"body": "On my way."})
        frames = await frames_until(ws, lambda f: "On my way." in f)
    assert f'id="thread-{cast.thread.id}-messages"' in "".join(frames)
