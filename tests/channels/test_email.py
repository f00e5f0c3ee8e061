"""Email: rendered from templates, queued in the outbox, delivered over real SMTP (a
local aiosmtpd server), or shown on /dev/mail in development."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from io import BytesIO

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from tortoise.transactions import in_transaction

from app import i18n
from app.worker import run_forever
from channels import email
from channels.email import deliver_pending, queue_email, render_email, smtp_options
from models import clock
from models.outbox import OutboxMessage
from models.people import Client
from models.practice import Practice
from tests.mailserver import MailServer, portal_config, self_signed_certificate, sent_mail

TO = "alice@example.test"
PRODUCTION = {"public_url": "https://portal.example.test", "secret_key": "s" * 40}


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url, "mail_from": "Portal <portal@clinic.example>"}


async def queue_test(key: str = "test:1", **context) -> OutboxMessage | None:
    return await queue_email(to=TO, template="test_message", context=context, dedupe_key=key)


# ---- queueing and rendering ---------------------------------------------------------------


async def test_it_delivers_a_queued_email_over_smtp(app, smtp_server):
    await Practice.create(name="Sunrise Counseling")
    row = await queue_test(name="Alice")
    assert row is not None and row.status == "pending" and row.channel == "email"

    [message] = await sent_mail(app, smtp_server)

    assert message["To"] == TO
    assert message["From"] == "Portal <portal@clinic.example>"
    assert message["Subject"] == "Test message from Sunrise Counseling"
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert body.startswith("Hello Alice,\n\nThis is a test message from the Sunrise Counseling")
    assert "Sign in to your portal: http://localhost/login\n" in body
    assert smtp_server.envelopes == [("portal@clinic.example", [TO])]
    await row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert row.provider_ref == message["Message-ID"]
    assert re.fullmatch(rf"<{row.id}\.[0-9a-f]{{12}}@clinic\.example>", row.provider_ref)
    assert await sent_mail(app, smtp_server) == [message]  # nothing sent twice


async def test_it_renders_spanish_when_asked(app, smtp_server, monkeypatch):
    # The shipped catalog has "Sign in to your portal"; the test adds the subject, as the
    # translator will, to see that both halves of the template switch language.
    catalog = Catalog(locale="es")
    catalog.add("Test message from %(practice)s", "Mensaje de prueba de %(practice)s")
    catalog.add("Hello %(name)s,", "Hola, %(name)s:")
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    spanish = Translations(buffer)
    spanish.add_fallback(i18n._translations("es"))
    monkeypatch.setitem(i18n._catalogs, "es", spanish)

    await Practice.create(name="Clínica Añil")
    await queue_email(
        to=TO, template="test_message", context={"name": "Ana"}, lang="es", dedupe_key="es:1"
    )
    await queue_email(
        to=TO, template="test_message", context={"name": "Ann"}, lang="en", dedupe_key="en:1"
    )
    spanish_mail, english_mail = await sent_mail(app, smtp_server)

    assert spanish_mail["Subject"] == "Mensaje de prueba de Clínica Añil"  # RFC 2047 on the wire
    body = spanish_mail.get_content()
    assert body.startswith("Hola, Ana:\n")
    assert "Inicie sesión en su portal: http://localhost/login" in body
    assert english_mail["Subject"] == "Test message from Clínica Añil"
    assert english_mail.get_content().startswith("Hello Ann,\n")


async def test_it_names_the_portal_when_there_is_no_practice_yet(app):
    subject, body = render_email(
        "test_message", {"practice_name": "X", "public_url": "http://x"}, lang="en"
    )
    assert subject == "Test message from X" and body.startswith("Hello,\n\n")
    row = await queue_test()
    assert row.subject == "Test message from Client Portal"


async def test_it_uses_the_clients_practice(app, cast):
    second = await Practice.create(name="Second Practice")
    await Client.filter(id=cast.bob.id).update(practice_id=second.id)
    row = await queue_email(
        to=TO, template="test_message", context={}, dedupe_key="c:1", client_id=cast.bob.id
    )
    assert row.subject == "Test message from Second Practice" and row.client_id == cast.bob.id
    row = await queue_email(to=TO, template="test_message", context={}, dedupe_key="c:2")
    assert row.subject == "Test message from Test Practice"  # the first practice


async def test_it_refuses_bad_templates_addresses_and_missing_values(app):
    with pytest.raises(ValueError):
        render_email("../layout", {})
    with pytest.raises(ValueError):
        await queue_email(to="a@b.test\r\nBcc: x@y.test", template="test_message", context={},
                          dedupe_key="k")  # fmt: skip
    with pytest.raises(ValueError):
        await queue_email(to=TO, template="test_message", context={}, dedupe_key="k" * 129)
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):  # a typo in a template is an error, not a blank
        render_email("test_message", {"practice_name": "X"})
    assert await OutboxMessage.all().count() == 0


async def test_it_dedupes_on_the_key(app, smtp_server):
    assert await queue_test("once") is not None
    assert await queue_test("once") is None
    assert await OutboxMessage.filter(dedupe_key="once").count() == 1
    assert len(await sent_mail(app, smtp_server)) == 1
    assert await queue_test("once") is None  # also once it has been sent
    assert len(await sent_mail(app, smtp_server)) == 1


async def test_a_racing_duplicate_keeps_the_callers_transaction(app, monkeypatch):
    """Two requests pass the existence check together: the loser's insert fails on the
    unique key inside a savepoint, and the caller's transaction goes on (PostgreSQL)."""
    real_exists = OutboxMessage.exists
    calls = []

    def exists_once_false(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return _false()
        return real_exists(*args, **kwargs)

    async def _false():
        return False

    await queue_test("race")
    monkeypatch.setattr(OutboxMessage, "exists", exists_once_false)
    async with in_transaction():
        await Practice.create(name="Before")
        assert await queue_test("race") is None
        await Practice.create(name="After")
    assert len(calls) == 2
    assert await Practice.filter(name__in=["Before", "After"]).count() == 2
    assert await OutboxMessage.all().count() == 1


async def test_a_rolled_back_change_sends_nothing(app, smtp_server):
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await queue_test("rolled-back")
            raise RuntimeError("the change failed")
    assert await OutboxMessage.all().count() == 0
    assert await sent_mail(app, smtp_server) == []


async def test_queueing_wakes_the_sender(app):
    email.wake_event().clear()
    await queue_test()
    assert email.wake_event().is_set()


# ---- delivery -------------------------------------------------------------------------


async def test_it_retries_while_the_smtp_server_is_down(app, smtp_server):
    smtp_server.stop()  # the port is closed
    row = await queue_test()
    assert await deliver_pending(portal_config(app)) == 0
    await row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.lease_until is None
    assert row.last_error and "\n" not in row.last_error
    assert row.due_at > clock.now()

    smtp_server.start()  # back, on the same port
    assert await sent_mail(app, smtp_server) == []  # not due yet: backing off
    clock.travel(email.backoff(1))
    [message] = await sent_mail(app, smtp_server)
    assert message["Subject"] == "Test message from Client Portal"
    await row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2 and row.provider_ref == message["Message-ID"]


async def test_it_gives_up_after_the_last_attempt(app, smtp_server):
    smtp_server.stop()
    row = await queue_test()
    for attempt in range(1, email.MAX_ATTEMPTS + 1):
        assert await deliver_pending(portal_config(app)) == 0
        await row.refresh_from_db()
        assert row.attempts == attempt
        clock.travel(email.backoff(attempt))
    assert row.status == "failed"
    smtp_server.start()
    assert await sent_mail(app, smtp_server) == []


async def test_a_refused_recipient_fails_at_once_and_others_still_go(app, smtp_server):
    smtp_server.refuse.add("nobody@example.test")
    refused = await queue_email(
        to="nobody@example.test", template="test_message", context={}, dedupe_key="r:1"
    )
    fine = await queue_test("r:2")
    [message] = await sent_mail(app, smtp_server)
    assert message["To"] == TO
    await refused.refresh_from_db()
    await fine.refresh_from_db()
    assert refused.status == "failed" and refused.attempts == 1
    assert "550" in refused.last_error
    assert fine.status == "sent"


async def test_a_dead_workers_lease_is_reclaimed(app, smtp_server):
    row = await queue_test()
    # A worker claimed it and died before sending.
    await OutboxMessage.filter(id=row.id).update(lease_until=clock.now() + email.LEASE)
    assert await sent_mail(app, smtp_server) == []
    clock.travel(email.LEASE + timedelta(seconds=1))
    [message] = await sent_mail(app, smtp_server)
    assert message["To"] == TO
    await row.refresh_from_db()
    assert row.status == "sent" and row.lease_until is None


async def test_the_worker_sends_within_a_second_of_queueing(app, smtp_server):
    stop = asyncio.Event()
    worker = asyncio.create_task(run_forever(stop, portal_config(app)))
    try:
        await asyncio.sleep(0.1)  # the worker has run its first round and is waiting
        started = asyncio.get_running_loop().time()
        await queue_test()
        while not smtp_server.messages:
            assert asyncio.get_running_loop().time() - started < 2, "no mail after 2 s"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 5)
    assert smtp_server.messages[0]["To"] == TO


def test_smtp_urls():
    plain = smtp_options("smtp://mail.example.test")
    assert plain["hostname"] == "mail.example.test" and plain["port"] == 25
    assert plain["use_tls"] is False and plain["start_tls"] is None  # STARTTLS when offered
    assert "username" not in plain
    implicit = smtp_options("smtps://me%40example.test:p%3Ass%2Fw@mail.example.test")
    assert implicit["port"] == 465 and implicit["use_tls"] is True
    assert implicit["start_tls"] is False
    assert (implicit["username"], implicit["password"]) == ("me@example.test", "p:ss/w")
    assert smtp_options("smtp://h:2525")["port"] == 2525
    with pytest.raises(ValueError):
        smtp_options("http://mail.example.test")


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_it_speaks_tls_and_logs_in(app, tls, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    server = MailServer(tls=tls, certificate=(cert, key), auth=("mailer", "s3cret:/")).start()
    try:
        await queue_test()
        config = replace(portal_config(app), smtp_url=server.url)
        assert await deliver_pending(config) == 1
    finally:
        server.stop()
    assert server.encrypted == [True]
    assert server.logins == ["mailer"]
    assert server.messages[0]["To"] == TO


# ---- the developer outbox (/dev/mail) ------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{}], ids=["development"])
async def test_dev_mail_shows_what_was_queued(app, client):
    assert portal_config(app).dev_outbox
    await queue_test("dev:1", name="Dev")
    assert await deliver_pending(portal_config(app)) == 1
    row = await OutboxMessage.get(dedupe_key="dev:1")
    assert row.status == "sent" and row.provider_ref == "dev-outbox"
    await queue_test("dev:2", name="Newer")  # still pending: shown too

    response = await client.get("/dev/mail")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "Test message from Client Portal" in html and TO in html
    assert '<a href="http://localhost/login">http://localhost/login</a>' in html
    assert html.index("Hello Newer,") < html.index("Hello Dev,")  # newest first
    assert "pending" in html and "sent" in html


@pytest.mark.parametrize("config_overrides", [PRODUCTION], ids=["production"])
async def test_dev_mail_is_absent_in_production(app, client):
    assert not portal_config(app).dev_outbox
    await queue_test()
    assert await deliver_pending(portal_config(app)) == 0  # no SMTP_URL: it waits
    assert (await OutboxMessage.get(dedupe_key="test:1")).status == "pending"
    response = await client.get("/dev/mail")
    assert response.status_code == 404
    assert "Test message" not in await response.get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{}], ids=["development"])
async def test_dev_mail_escapes_hostile_content(app, client):
    hostile = '<script>alert(1)</script> https://evil.test/x"onmouseover="alert(2) <img src=x>'
    await queue_test(name=hostile)
    await queue_email(
        to=TO,
        template="test_message",
        context={"practice_name": "<b>Evil</b> javascript:alert(3)"},
        dedupe_key="hostile:2",
    )
    html = await (await client.get("/dev/mail")).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Evil" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html
    assert '<a href="https://evil.test/x">https://evil.test/x</a>' in html
    assert 'href="javascript' not in html and 'onmouseover="alert' not in html


async def test_two_workers_never_send_one_email_twice(app, smtp_server):
    for n in range(30):
        await queue_test(f"many:{n}")
    config = portal_config(app)
    counts = await asyncio.gather(deliver_pending(config), deliver_pending(config))
    assert sum(counts) == 30
    assert len(smtp_server.messages) == 30
    assert await OutboxMessage.filter(status="sent").count() == 30
