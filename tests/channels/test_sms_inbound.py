"""POST /sms/inbound as Twilio calls it: signed with Twilio's algorithm (the SDK's
RequestValidator), checked before anything is done, stored once per MessageSid,
answered with empty TwiML; the answer to the client is an outbox row.

What a peer sees: the status and body; what the database holds after: the
InboundSms rows, the outbox, the opt-outs, the appointments."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from twilio.request_validator import RequestValidator

from models.outbox import InboundSms, OutboxMessage, SmsOptOut
from models.people import ContactPoint
from models.scheduling import Appointment

TOKEN = "test-twilio-auth-token"
URL = "http://localhost/sms/inbound"
ALICE_PHONE = "+15550100001"
PRACTICE_SMS = "+15550109999"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def config_overrides() -> dict:
    return {"twilio_auth_token": TOKEN}


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


def params_for(body: str, *, sid: str | None = None, sender: str = ALICE_PHONE, **more) -> dict:
    params = {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": PRACTICE_SMS,
        "Body": body,
        "NumMedia": "0",
    }
    params.update(more)
    return params


def sign(params, url: str = URL, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


async def post_signed(client, params: dict, *, signature: str | None = None, path="/sms/inbound"):
    header = sign(params) if signature is None else signature
    return await client.post(path, form=params, headers={"X-Twilio-Signature": header})


@pytest.fixture
async def alice_phone(cast):
    await ContactPoint.create(
        client=cast.alice, kind="phone", value=ALICE_PHONE, is_default=True, reminders=True
    )
    await OutboxMessage.create(
        channel="sms",
        kind="reminder",
        to=ALICE_PHONE,
        body="reminder",
        dedupe_key="reminder:test",
        client=cast.alice,
        due_at=_now(),
        status="sent",
        context={"appointments": [cast.a_soon.id], "confirm": True},
    )
    return cast


def _now():
    from models import clock

    return clock.now()


async def nothing_stored() -> bool:
    return (
        await InboundSms.all().count() == 0
        and await OutboxMessage.filter(kind="reply").count() == 0
        and await SmsOptOut.all().count() == 0
    )


# ---- the answer ----------------------------------------------------------------------


async def test_a_signed_text_gets_empty_twiml_and_is_stored(client, alice_phone):
    params = params_for("1")
    response = await post_signed(client, params)
    assert response.status_code == 200
    assert response.content_type.startswith("text/xml")
    assert await response.get_data(as_text=True) == EMPTY_TWIML
    row = await InboundSms.get(message_sid=params["MessageSid"])
    assert (row.from_number, row.to_number, row.body) == (ALICE_PHONE, PRACTICE_SMS, "1")
    assert row.client_id == alice_phone.alice.id and row.outcome == "confirmed"


# ---- signatures (T-1) ----------------------------------------------------------------


def _tampered_cases():
    def changed(p):
        return {**p, "Body": "1"}, sign(p)

    def removed(p):
        q = dict(p)
        del q["NumMedia"]
        return q, sign(p)

    def added(p):
        return {**p, "Extra": "x"}, sign(p)

    def unsigned(p):
        return p, ""

    def wrong_token(p):
        return p, sign(p, token="another-token")

    def https_url(p):
        return p, sign(p, url="https://localhost/sms/inbound")

    def other_port(p):
        return p, sign(p, url="http://localhost:8000/sms/inbound")

    def other_path(p):
        return p, sign(p, url="http://localhost/sms/status")

    def garbage(p):
        return p, "x" * 500

    return [
        changed,
        removed,
        added,
        unsigned,
        wrong_token,
        https_url,
        other_port,
        other_path,
        garbage,
    ]


@pytest.mark.parametrize("tamper", _tampered_cases(), ids=lambda f: f.__name__)
async def test_an_unsigned_or_tampered_webhook_is_refused_and_changes_nothing(
    client, alice_phone, tamper
):
    params, signature = tamper(params_for("2"))
    response = await post_signed(client, params, signature=signature)
    assert response.status_code == 403
    assert await nothing_stored()
    assert str((await Appointment.get(id=alice_phone.a_soon.id)).status) == "scheduled"


async def test_without_a_twilio_token_in_production_every_webhook_is_refused(app, cast):
    from app.config import Config
    from channels.sms.inbound import receive

    config = Config(
        database_url="sqlite://:memory:", secret_key="k", public_url="https://portal.example"
    )
    params = params_for("1")
    status, _ = await receive(config, "https://portal.example/sms/inbound", params, sign(params))
    assert status == 403 and await nothing_stored()


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "SM123"},
        {"MessageSid": "XX" + "0" * 32},
        {"MessageSid": "SM" + "g" * 32},
        {"From": "5550100001"},
        {"From": "whatsapp:+15550100001"},
        {"From": ""},
        {"To": "not-a-number"},
        {"Body": ""},  # empty with no picture
        {"Body": "   "},
        {"NumMedia": "abc"},
        {"NumMedia": "-1"},
        {"NumMedia": "99"},
    ],
)
async def test_a_signed_webhook_missing_what_twilio_always_sends_is_a_400(
    client, alice_phone, change
):
    params = {**params_for("1"), **change}
    response = await post_signed(client, params)
    assert response.status_code == 400
    assert await nothing_stored()


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To", "Body"])
async def test_a_missing_parameter_is_a_400(client, alice_phone, missing):
    params = params_for("1")
    del params[missing]
    response = await post_signed(client, params)
    assert response.status_code == 400
    assert await nothing_stored()


async def test_a_repeated_parameter_is_signed_and_refused(client, alice_phone):
    from werkzeug.datastructures import MultiDict

    from channels.sms.inbound import receive

    params = MultiDict(list(params_for("1").items()) + [("Body", "2")])
    config = client.app.config["PORTAL"]
    status, _ = await receive(config, URL, params, sign(params))
    assert status == 400 and await nothing_stored()


async def test_a_query_string_is_part_of_what_twilio_signed(client, alice_phone):
    params = params_for("1")
    signature = sign(params, url=URL + "?practice=1")
    response = await post_signed(
        client, params, signature=signature, path="/sms/inbound?practice=1"
    )
    assert response.status_code == 200
    wrong = await post_signed(
        client, params_for("1"), signature=signature, path="/sms/inbound?practice=2"
    )
    assert wrong.status_code == 403


# ---- once per MessageSid (T-2) ---------------------------------------------------------


async def test_the_same_webhook_five_times_at_once_and_twice_later_acts_once(client, alice_phone):
    params = params_for("2")
    responses = await asyncio.gather(*(post_signed(client, params) for _ in range(5)))
    responses += [await post_signed(client, params), await post_signed(client, params)]
    assert [r.status_code for r in responses] == [200] * 7
    assert await InboundSms.filter(message_sid=params["MessageSid"]).count() == 1
    replies = await OutboxMessage.filter(kind="reply")
    assert [r.dedupe_key for r in replies] == [f"reply:{params['MessageSid']}"]
    assert "is cancelled" in replies[0].body
    appointment = await Appointment.get(id=alice_phone.a_soon.id)
    assert str(appointment.status) == "cancelled" and appointment.version == 2
    from models.messaging import Message

    assert await Message.filter(via="sms").count() == 2  # the text and the answer, once


async def test_a_replayed_stop_records_one_opt_out(client, alice_phone):
    params = params_for("STOP")
    for _ in range(3):
        assert (await post_signed(client, params)).status_code == 200
    assert await SmsOptOut.filter(phone=ALICE_PHONE).count() == 1
    assert await InboundSms.all().count() == 1


# ---- bodies ---------------------------------------------------------------------------


async def test_a_body_over_1600_characters_is_cut_and_goes_to_staff(client, alice_phone):
    params = params_for("é" * 2000)
    assert (await post_signed(client, params)).status_code == 200
    row = await InboundSms.get(message_sid=params["MessageSid"])
    assert row.body == "é" * 1600 and row.outcome == "to_staff"


async def test_control_characters_are_stored_as_spaces(client, alice_phone):
    params = params_for("hello\x00there\x1b\r\nbye")
    assert (await post_signed(client, params)).status_code == 200
    row = await InboundSms.get(message_sid=params["MessageSid"])
    assert row.body == "hello there \nbye"


async def test_a_picture_with_no_words_goes_to_staff(client, alice_phone):
    params = params_for("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1")
    assert (await post_signed(client, params)).status_code == 200
    row = await InboundSms.get(message_sid=params["MessageSid"])
    assert row.body == "" and row.outcome == "to_staff"
