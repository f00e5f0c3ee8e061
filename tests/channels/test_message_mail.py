"""The email notice of a new secure message: only after 5 minutes unread, once per
client however many messages wait, to whoever can read them in the portal, and
never with anything from the message, the thread or the provider."""

import asyncio
from datetime import timedelta

import pytest

from app import i18n
from app.worker import message_notices
from channels.message_mail import NOTICE_DELAY, send_message_notices
from models import clock, conversations
from models.messaging import Message, Thread
from models.outbox import OutboxMessage
from models.people import Client, Contact, User
from models.practice import Practice
from tests.mailserver import sent_mail

SUBJECT = "You have a new secure message"
SECRET = "Your results about the panic attacks came back"


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url}


async def notices() -> list[OutboxMessage]:
    return await OutboxMessage.filter(dedupe_key__startswith="message-notice:").order_by("id")


async def reply(thread, staff, body=SECRET, **kw) -> Message:
    return await conversations.post(thread, by=staff.user, from_client_side=False, body=body, **kw)


def later(minutes: float = 5, seconds: float = 1) -> None:
    clock.travel(timedelta(minutes=minutes, seconds=seconds))


@pytest.fixture
async def quiet(cast):
    """The cast, with Alice's welcome message already read: only what a test writes waits."""
    await conversations.mark_read(cast.thread, by_client_side=True)
    return cast


async def test_an_unread_reply_is_emailed_once_after_five_minutes_without_content(
    app, quiet, smtp_server
):
    cast = quiet
    await reply(cast.thread, cast.penny)
    later(minutes=4, seconds=50)
    assert await send_message_notices() == 0  # the client may still read it
    later(seconds=11)
    assert await send_message_notices() == 1
    assert await send_message_notices() == 0

    [mail] = await sent_mail(app, smtp_server)
    assert mail["To"] == "alice@test.example"
    assert mail["Subject"] == SUBJECT
    body = mail.get_content()
    assert body.startswith("Hello Alice,")
    assert "http://localhost/messages\n" in body
    assert "Test Practice" in body
    text = mail["Subject"] + body
    for secret in (SECRET, "panic", cast.thread.subject, "Sleep", "Penny", "Session"):
        assert secret not in text, secret
    assert await Message.filter(notified=False, read_at__isnull=True).count() == 0


async def test_a_reply_read_within_five_minutes_is_not_emailed(app, quiet, smtp_server):
    cast = quiet
    await reply(cast.thread, cast.penny)
    later(minutes=3)
    await conversations.mark_read(cast.thread, by_client_side=True)
    later(minutes=10)
    assert await send_message_notices() == 0
    assert await sent_mail(app, smtp_server) == []


async def test_several_waiting_messages_make_one_email(app, cast, smtp_server):
    # The cast's welcome message is waiting too.
    await reply(cast.thread, cast.penny)
    other = await Thread.create(client=cast.alice, topic="biller", subject="Invoice question")
    await reply(other, cast.bea, "Your invoice is attached")
    later(minutes=3)
    newer = await reply(other, cast.bea, "One more thing")  # covered by the same notice
    await Message.filter(id=newer.id).update(created_at=clock.now())  # the tests' clock
    later(minutes=2)
    assert await send_message_notices() == 1
    later(minutes=10)
    assert await send_message_notices() == 0
    [mail] = await sent_mail(app, smtp_server)
    assert mail["To"] == "alice@test.example"
    assert "Invoice" not in mail.get_content() and "Bea" not in mail.get_content()
    assert await Message.filter(thread__client_id=cast.alice.id, notified=False).count() == 0


async def test_a_message_after_the_notice_gets_its_own_later(app, quiet, smtp_server):
    cast = quiet
    await reply(cast.thread, cast.penny)
    later()
    assert await send_message_notices() == 1
    newer = await reply(cast.thread, cast.penny, "And another thing")
    # Written now on the tests' clock (the row's created_at is the wall clock's).
    await Message.filter(id=newer.id).update(created_at=clock.now())
    assert await send_message_notices() == 0
    later()
    assert await send_message_notices() == 1
    assert len(await sent_mail(app, smtp_server)) == 2


async def test_two_workers_at_once_send_one_email(app, cast, smtp_server):
    await reply(cast.thread, cast.penny)
    later()
    results = await asyncio.gather(send_message_notices(), send_message_notices())
    assert sorted(results) == [0, 1]
    assert len(await sent_mail(app, smtp_server)) == 1


async def test_a_minor_s_notice_goes_to_the_guardian_who_may_read_messages(app, cast, smtp_server):
    # Dana: Gina has every scope; Grandpa signs in for appointments only; an aunt
    # is on file without portal access.
    grandpa = await User.create(
        email="grandpa@test.example", display_name="Grandpa", password_hash="x"
    )
    await Contact.create(
        client=cast.dana,
        user=grandpa,
        name="Grandpa",
        relationship="Grandparent",
        portal_access=True,
        scopes=["appointments"],
    )
    await Contact.create(
        client=cast.dana,
        name="Aunt",
        relationship="Aunt",
        email="aunt@test.example",
        portal_access=False,
        scopes=["messages"],
    )
    dana = await Thread.create(client=cast.dana, topic="scheduler", subject="Dana's times")
    charlie = await Thread.create(client=cast.charlie, topic="scheduler", subject="Charlie's")
    await reply(dana, cast.sid)
    await reply(charlie, cast.sid)  # Gina may not read Charlie's messages: nobody to tell
    await conversations.mark_read(cast.thread, by_client_side=True)
    later()
    assert await send_message_notices() == 1
    [mail] = await sent_mail(app, smtp_server)
    assert mail["To"] == "gina@test.example"
    body = mail.get_content()
    assert body.startswith("Hello Gina,")
    assert "Dana" not in body and "Charlie" not in body and "Sid" not in body
    # Charlie's message was handled too (nobody to tell), so no sweep looks at it again.
    assert await Message.filter(notified=False, read_at__isnull=True).count() == 0
    assert await send_message_notices() == 0


async def test_no_notice_when_messaging_is_off_or_the_portal_disabled(app, cast, smtp_server):
    alice = await Client.get(id=cast.alice.id)
    alice.portal_overrides = {"messaging": False}
    await alice.save()
    bob = await Client.get(id=cast.bob.id)
    bob.portal_enabled = False
    await bob.save()
    await reply(cast.bob_thread, cast.bea)
    later()
    assert await send_message_notices() == 0
    assert await sent_mail(app, smtp_server) == []
    assert await Message.filter(notified=False, read_at__isnull=True).count() == 0


async def test_no_notice_when_the_practice_turns_messaging_off(app, cast, smtp_server):
    practice = await Practice.get(id=cast.practice.id)
    practice.portal_settings = {**(practice.portal_settings or {}), "messaging": False}
    await practice.save()
    later()
    assert await send_message_notices() == 0
    assert await notices() == []


async def test_a_spanish_client_gets_a_spanish_notice(app, cast, smtp_server):
    alice = await Client.get(id=cast.alice.id)
    alice.preferred_language = "es"
    await alice.save()
    later()
    assert await send_message_notices() == 1
    [mail] = await sent_mail(app, smtp_server)
    assert mail.get_content().startswith("Hola, Alice:")
    spanish = i18n._translations("es").gettext(SUBJECT)
    assert mail["Subject"] == spanish
    assert spanish != SUBJECT, "translate the message notice in app/translations (es)"


async def test_an_old_backlog_is_never_mailed(app, cast, smtp_server):
    await reply(cast.thread, cast.penny)
    later(minutes=60 * 25)  # the worker was down for more than a day
    assert await send_message_notices() == 0
    assert await Message.filter(notified=False, read_at__isnull=True).count() == 0
    assert await sent_mail(app, smtp_server) == []


async def test_the_assistant_s_answers_and_the_client_s_messages_are_not_mailed(
    app, quiet, smtp_server
):
    cast = quiet
    chat = await conversations.chat_thread(cast.alice)
    await conversations.post(
        chat, by=None, from_client_side=False, body="Your balance is $270.00", automated=True
    )
    await conversations.post(
        cast.thread, by=await User.get(id=cast.alice.user_id), from_client_side=True, body="Hi"
    )
    later()
    assert await send_message_notices() == 0
    assert await Message.filter(notified=False, read_at__isnull=True).count() == 0


async def test_the_worker_queues_the_notice(app, quiet, smtp_server):
    await reply(quiet.thread, quiet.penny)
    clock.travel(NOTICE_DELAY + timedelta(seconds=1))
    await message_notices()
    assert [m.to for m in await notices()] == ["alice@test.example"]
