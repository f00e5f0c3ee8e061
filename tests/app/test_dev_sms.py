"""/dev/sms: the texts the portal sent or plans, by number; "Send now" for a planned
reminder; a reply as the client, signed as Twilio signs it and handed to the same
inbound path as a real text. Absent (404) wherever texts really go out."""

from __future__ import annotations

import re
import sys
import types
from datetime import timedelta

import pytest

from channels.sms import signature
from models import clock
from models.outbox import InboundSms, OutboxMessage
from tests.helpers import HX, csrf_token

PHONE = "+15550100001"
PRACTICE_NUMBER = "+15550109999"


async def text(to=PHONE, body="Hello", *, status="sent", kind="reply", due_in=timedelta(0), **kw):
    return await OutboxMessage.create(
        channel="sms",
        to=to,
        body=body,
        kind=kind,
        status=status,
        dedupe_key=f"t:{to}:{body}:{status}:{kind}",
        due_at=clock.now() + due_in,
        sent_at=clock.now() + due_in if status == "sent" else None,
        **kw,
    )


@pytest.fixture
def received(monkeypatch):
    """What reached ``channels.sms.inbound.receive`` (the one boundary patched)."""
    calls = []

    async def receive(config, url, params, sig):
        calls.append((config, url, dict(params), sig))
        return 200, "<Response/>"

    fake = types.ModuleType("channels.sms.inbound")
    fake.receive = receive
    monkeypatch.setitem(sys.modules, "channels.sms.inbound", fake)
    return calls


async def practice_with_number(cast):
    cast.practice.sms_number = PRACTICE_NUMBER
    await cast.practice.save()


async def anonymous_post(client, path, data, headers=None):
    token = await csrf_token(client, "/dev/sms")
    return await client.post(path, form={**data, "csrf_token": token}, headers=headers)


async def test_it_shows_texts_by_number_with_replies_between_them(app, client, cast):
    await practice_with_number(cast)
    first = await text(body="Practice: appointment Tue. Reply 1 to confirm.")
    await InboundSms.create(
        message_sid="SM" + "a" * 32,
        from_number=PHONE,
        to_number=PRACTICE_NUMBER,
        body="1",
        received_at=clock.now() + timedelta(seconds=5),
        outcome="confirmed",
    )
    first.sent_at = clock.now() - timedelta(minutes=1)
    await first.save()
    await text(body="Practice: confirmed", due_in=timedelta(seconds=10))
    await text(to="+15550100002", body="<script>alert(1)</script> see http://x.test/a.")
    await OutboxMessage.create(
        channel="email",
        to="a@test.example",
        body="not a text",
        dedupe_key="mail:1",
        due_at=clock.now(),
    )

    response = await client.get("/dev/sms")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert PRACTICE_NUMBER in html
    assert "not a text" not in html
    conversation = html[html.index('id="sms-15550100001"') :]
    conversation = conversation[: conversation.index("</section>")]
    # In the order they happened: the reminder, the client's "1", the answer.
    assert conversation.index("Reply 1 to confirm") < conversation.index("confirmed</span>")
    assert conversation.index("confirmed</span>") < conversation.index("Practice: confirmed")
    assert "Reply as +15550100001" in conversation
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="http://x.test/a">http://x.test/a</a>' in html


async def test_it_says_when_there_are_no_texts(app, client):
    html = await (await client.get("/dev/sms")).get_data(as_text=True)
    assert "No texts yet." in html


async def test_send_now_makes_a_planned_reminder_due_at_once(app, client, cast):
    planned = await text(body="", kind="reminder", status="pending", due_in=timedelta(days=2))
    html = await (await client.get("/dev/sms")).get_data(as_text=True)
    assert f'action="/dev/sms/{planned.id}/send"' in html
    assert "A planned reminder" in html

    response = await anonymous_post(client, f"/dev/sms/{planned.id}/send", {})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dev/sms#sms-15550100001"
    row = await OutboxMessage.get(id=planned.id)
    assert row.status == "pending" and row.due_at <= clock.now()


async def test_send_now_with_htmx_answers_the_conversation(app, client, cast):
    planned = await text(body="", kind="reminder", status="pending", due_in=timedelta(days=2))
    response = await anonymous_post(client, f"/dev/sms/{planned.id}/send", {}, headers=HX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="sms-15550100001"')
    assert "<html" not in html


async def test_send_now_refuses_a_text_already_sent_or_unknown(app, client, cast):
    sent = await text()
    before = (await OutboxMessage.get(id=sent.id)).due_at
    for path in (f"/dev/sms/{sent.id}/send", "/dev/sms/999999/send"):
        assert (await anonymous_post(client, path, {})).status_code == 404
    assert (await OutboxMessage.get(id=sent.id)).due_at == before


async def test_a_reply_is_signed_as_twilio_signs_and_goes_to_the_inbound_path(
    app, client, cast, received
):
    await practice_with_number(cast)
    response = await anonymous_post(client, "/dev/sms/reply", {"from": PHONE, "body": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dev/sms#sms-15550100001"
    [(config, url, params, sig)] = received
    assert url == "http://localhost/sms/inbound"
    assert params["From"] == PHONE and params["To"] == PRACTICE_NUMBER and params["Body"] == "1"
    assert params["NumMedia"] == "0"
    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"])
    assert re.fullmatch(r"AC[0-9a-f]{32}", params["AccountSid"])
    assert signature.valid(config, url, params, sig)
    assert not signature.valid(config, url, {**params, "Body": "2"}, sig)


async def test_each_reply_is_a_new_message(app, client, cast, received):
    for _ in range(2):
        await anonymous_post(client, "/dev/sms/reply", {"from": PHONE, "body": "1"})
    assert len({params["MessageSid"] for _c, _u, params, _s in received}) == 2


async def test_a_reply_without_a_practice_number_goes_to_twilio_from(
    app, client, cast, received, monkeypatch
):
    import dataclasses

    config = app.app.config["PORTAL"]
    app.app.config["PORTAL"] = dataclasses.replace(config, twilio_from="+15550108888")
    await anonymous_post(client, "/dev/sms/reply", {"from": PHONE, "body": "hi"})
    assert received[0][2]["To"] == "+15550108888"


async def test_a_reply_with_htmx_answers_the_conversation(app, client, cast, received):
    await text(body="Practice: appointment Tue.")
    response = await anonymous_post(
        client, "/dev/sms/reply", {"from": PHONE, "body": "1"}, headers=HX
    )
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="sms-15550100001"')
    assert "Practice: appointment Tue." in html


@pytest.mark.parametrize(
    "data",
    [
        {"from": "not a phone", "body": "1"},
        {"from": "", "body": "1"},
        {"from": PHONE, "body": "x" * 1601},
        {"body": "1"},
    ],
    ids=["words", "empty", "too-long", "missing"],
)
@pytest.mark.parametrize("headers", [None, HX], ids=["page", "htmx"])
async def test_a_bad_reply_is_refused_and_sends_nothing(app, client, cast, received, data, headers):
    response = await anonymous_post(client, "/dev/sms/reply", data, headers=headers)
    assert response.status_code == 422
    assert "+15550100001" in await response.get_data(as_text=True)  # the hint names one
    assert received == []


async def test_a_reply_without_the_csrf_token_is_refused(app, client, received):
    response = await client.post("/dev/sms/reply", form={"from": PHONE, "body": "1"})
    assert response.status_code == 403
    assert received == []


PRODUCTION = [
    {"public_url": "https://portal.example"},
    {
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "token",
        "twilio_from": PRACTICE_NUMBER,
    },
]


@pytest.mark.parametrize("config_overrides", PRODUCTION, ids=["https", "twilio"])
async def test_it_is_absent_where_texts_really_go_out(app, client, cast, received):
    planned = await text(body="", kind="reminder", status="pending", due_in=timedelta(days=2))
    assert (await client.get("/dev/sms")).status_code == 404
    token = await csrf_token(client, "/login")
    for path, data in (
        ("/dev/sms/reply", {"from": PHONE, "body": "1"}),
        (f"/dev/sms/{planned.id}/send", {}),
    ):
        response = await client.post(path, form={**data, "csrf_token": token})
        assert response.status_code == 404
    assert received == []
    assert (await OutboxMessage.get(id=planned.id)).due_at > clock.now()
