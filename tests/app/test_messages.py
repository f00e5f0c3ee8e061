"""My Messages from the client's side: conversations, Ask a Question, replies with
files, and who may read what."""

from __future__ import annotations

import pytest

from models.messaging import Attachment, Message, Thread
from tests.helpers import HX, csrf_token, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def config_overrides(tmp_path):
    return {"data_dir": tmp_path}


async def send(client, path, data, files=None, headers=None):
    token = await csrf_token(client, "/messages")
    form = {**data, "csrf_token": token}
    return await client.post(path, form=form, files=files or {}, headers=headers)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    import io

    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name, content_type=content_type)


async def test_the_list_shows_conversations_with_unread_counts(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get("/messages")).get_data(as_text=True)
    assert "Sleep diary" in html and "1 unread" in html
    row = html[html.index(f'id="thread-row-{cast.thread.id}"') :]
    row = row[: row.index("</li>")]
    assert '<span class="badge">1<span class="visually-hidden"> unread' in row
    assert "Bob's receipt" not in html
    assert 'id="live-view"' in html and 'data-view="threads"' in html


async def test_asking_a_question_starts_a_thread_for_the_chosen_role(client, cast):
    await sign_in(client, "alice")
    response = await send(
        client,
        "/messages/new",
        {"topic": "biller", "subject": "Receipt", "body": "Could I have a receipt?"},
    )
    assert response.status_code == 303
    thread = await Thread.get(subject="Receipt")
    assert thread.client_id == cast.alice.id and thread.topic == "biller"
    assert response.headers["Location"] == f"/messages/{thread.id}"
    message = await Message.get(thread_id=thread.id)
    assert message.from_client_side and message.body == "Could I have a receipt?"
    html = await (await client.get(f"/messages/{thread.id}")).get_data(as_text=True)
    assert "Could I have a receipt?" in html


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"topic": "janitor", "subject": "Hi", "body": "x"}, "Choose who the message is for."),
        ({"topic": "biller", "subject": "", "body": "x"}, "This field is required."),
        ({"topic": "biller", "subject": "Hi", "body": ""}, "Write a message or attach a file."),
        ({"topic": "biller", "subject": "Hi", "body": "x" * 5001}, "at most 5,000"),
        ({"topic": "biller", "subject": "Hi", "body": "bad\x00byte"}, "cannot be sent"),
    ],
)
async def test_a_refused_question_is_422_with_its_reason_and_stores_nothing(
    client, cast, data, error
):
    await sign_in(client, "alice")
    before = await Thread.all().count(), await Message.all().count()
    response = await send(client, "/messages/new", data)
    assert response.status_code == 422
    assert error in await response.get_data(as_text=True)
    assert (await Thread.all().count(), await Message.all().count()) == before


async def test_a_reply_with_a_pdf_is_stored_outside_the_web_root_and_served_to_participants(
    app, cast, tmp_path
):
    alice, penny, bob = app.test_client(), app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    response = await send(
        alice,
        f"/messages/{cast.thread.id}/reply",
        {"body": "My diary"},
        files={"files": upload("diary.pdf", PDF)},
    )
    assert response.status_code == 303
    attachment = await Attachment.get(client_id=cast.alice.id)
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)
    stored = tmp_path / "attachments" / attachment.storage_key
    assert stored.read_bytes() == PDF
    download = await alice.get(f"/messages/attachments/{attachment.id}")
    assert download.status_code == 200 and await download.get_data() == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # The file's own policy stands (the pages' policy used to overwrite it).
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    await sign_in(penny, "penny")
    assert (await penny.get(f"/messages/attachments/{attachment.id}")).status_code == 200
    await sign_in(bob, "bob")
    assert (await bob.get(f"/messages/attachments/{attachment.id}")).status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100, "Only PDF, JPEG and PNG"),
        ("notes.pdf", b"just some text", "Only PDF, JPEG and PNG"),
        ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "at most 10 MB"),
        ("empty.png", b"", "empty"),
    ],
)
async def test_a_forbidden_file_is_refused_and_nothing_is_kept(
    client, cast, tmp_path, name, data, error
):
    await sign_in(client, "alice")
    before = await Message.filter(thread_id=cast.thread.id).count()
    response = await send(
        client,
        f"/messages/{cast.thread.id}/reply",
        {"body": "see attached"},
        files={"files": upload(name, data)},
    )
    assert response.status_code == 422
    assert error in await response.get_data(as_text=True)
    assert await Message.filter(thread_id=cast.thread.id).count() == before
    assert await Attachment.all().count() == 0
    assert (
        not list((tmp_path / "attachments").glob("*"))
        if (tmp_path / "attachments").exists()
        else True
    )


async def test_an_htmx_reply_answers_with_the_message_and_a_fresh_form(client, cast):
    await sign_in(client, "alice")
    response = await send(
        client, f"/messages/{cast.thread.id}/reply", {"body": "Thanks!"}, headers=HX
    )
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    message = await Message.filter(thread_id=cast.thread.id).order_by("-id").first()
    assert f'id="message-{message.id}"' in html and "Thanks!" in html
    assert f'<ol id="thread-{cast.thread.id}-messages" hx-swap-oob="beforeend">' in html
    assert f'id="thread-{cast.thread.id}-form"' in html


async def test_an_htmx_reply_that_is_refused_answers_with_the_form_and_its_error(client, cast):
    await sign_in(client, "alice")
    response = await send(client, f"/messages/{cast.thread.id}/reply", {"body": " "}, headers=HX)
    assert response.status_code == 422
    assert f'id="thread-{cast.thread.id}-form"' in await response.get_data(as_text=True)
    assert "Write a message or attach a file." in await response.get_data(as_text=True)


async def test_someone_elses_thread_is_404_for_reading_and_writing(client, cast):
    await sign_in(client, "alice")
    before = await Message.all().count()
    assert (await client.get(f"/messages/{cast.bob_thread.id}")).status_code == 404
    response = await send(client, f"/messages/{cast.bob_thread.id}/reply", {"body": "hi"})
    assert response.status_code == 404
    assert await Message.all().count() == before


async def test_opening_a_thread_reads_the_practices_messages(client, cast):
    await sign_in(client, "alice")
    await client.get(f"/messages/{cast.thread.id}")
    assert not await Message.filter(
        thread_id=cast.thread.id, from_client_side=False, read_at__isnull=True
    ).exists()


async def test_messaging_switched_off_for_the_client_closes_the_section(client, cast):
    cast.alice.portal_overrides = {"messaging": False}
    await cast.alice.save()
    await sign_in(client, "alice")
    assert (await client.get("/messages")).status_code == 404
    response = await send(client, f"/messages/{cast.thread.id}/reply", {"body": "hi"})
    assert response.status_code == 404
    assert not await Message.filter(body="hi").exists()


async def test_the_chat_answers_the_balance_at_once_and_keeps_both_messages(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/messages/chat", {"body": "BAL"}, headers=HX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    thread = await Thread.get(client_id=cast.alice.id, kind="chat")
    said, reply = await Message.filter(thread_id=thread.id).order_by("id")
    assert said.body == "BAL" and said.intent == "balance" and said.read_at is not None
    assert reply.automated and "$" in reply.body
    assert f'id="message-{said.id}"' in html and f'id="message-{reply.id}"' in html
    assert 'id="quick-replies"' in html


async def test_a_late_cancel_in_the_chat_needs_the_fee_button_and_a_tampered_one_does_nothing(
    client, cast
):
    await sign_in(client, "alice")
    appointment = cast.a_tomorrow
    response = await send(
        client, "/messages/chat", {"body": "cancel", "appointment_id": str(appointment.id)}
    )
    assert response.status_code == 303
    await appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    for tampered in ({"appointment_id": "x1"}, {"accept_fee": "-5"}, {"accept_fee": "1"}):
        data = {"body": "cancel", "appointment_id": str(appointment.id), **tampered}
        assert (await send(client, "/messages/chat", data)).status_code in (303, 422)
        await appointment.refresh_from_db()
        assert appointment.status == "scheduled"


async def test_the_chat_page_offers_the_quick_replies(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get("/messages/chat")).get_data(as_text=True)
    assert 'id="quick-replies"' in html and "Balance" in html and "Reminders off" in html
    assert 'data-view="thread"' in html


async def test_a_refused_message_leaves_no_file_behind(client, cast, tmp_path):
    await sign_in(client, "alice")
    response = await send(
        client,
        f"/messages/{cast.thread.id}/reply",
        {"body": "x" * 5001},
        files={"files": upload("diary.pdf", PDF)},
    )
    assert response.status_code == 422
    assert await Attachment.all().count() == 0
    assert not list((tmp_path / "attachments").glob("*"))
