"""POST /sms/status: Twilio's delivery reports, signed as Twilio signs them, through the
app; what the outbox row and the client's phone say afterwards."""

# ruff: noqa: F811  (pytest fixtures imported from tests.fakes.twilio_server)

from __future__ import annotations

import itertools

import pytest

from channels.sms import queue_sms, sender
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint
from tests.fakes.twilio_server import fake_twilio, signature_headers  # noqa: F401

PHONE = "+15550104321"


@pytest.fixture
def config_overrides(fake_twilio):
    return fake_twilio.config_overrides(sms_rate=1000.0)


async def sent_rows(app, n: int, to: str = PHONE, client_id=None) -> list[OutboxMessage]:
    ids = []
    for i in range(n):
        row = await queue_sms(
            to=to, body=f"Text {i}", dedupe_key=f"st:{to}:{i}", kind="notice", client_id=client_id
        )
        ids.append(row.id)
    await sender.deliver_due(app.app.config["PORTAL"])
    rows = await OutboxMessage.filter(id__in=ids).order_by("id")
    assert all(r.status == "sent" and r.provider_ref.startswith("SM") for r in rows)
    return rows


async def post(client, url: str, form: dict, headers: dict):
    path, _, query = url.removeprefix("http://localhost").partition("?")
    return await client.post(path + (f"?{query}" if query else ""), form=form, headers=headers)


async def report(client, fake, row, status: str, error_code: str | None = None) -> int:
    url, form, headers = fake.status_request(row.provider_ref, status, error_code)
    return (await post(client, url, form, headers)).status_code


async def snapshot(row_id: int) -> tuple:
    row = await OutboxMessage.get(id=row_id)
    return (row.status, row.delivery_state, row.delivery_error, row.delivery_updated_at)


def sequences():
    """Every order of queued, sent, delivered, with or without a repeat of each."""
    for order in itertools.permutations(["queued", "sent", "delivered"]):
        for repeats in itertools.product([False, True], repeat=3):
            seq: list[str] = []
            for state, again in zip(order, repeats, strict=True):
                seq += [state, state] if again else [state]
            yield seq


async def test_every_order_with_repeats_ends_delivered(app, client, fake_twilio):
    cases = list(sequences())
    assert len(cases) == 48
    rows = await sent_rows(app, len(cases))
    for row, seq in zip(rows, cases, strict=True):
        for state in seq:
            assert await report(client, fake_twilio, row, state) == 204
    states = await OutboxMessage.filter(id__in=[r.id for r in rows]).values_list(
        "delivery_state", flat=True
    )
    assert states == ["delivered"] * len(cases)


async def test_failed_after_delivered_is_ignored(app, client, fake_twilio):
    [row] = await sent_rows(app, 1)
    assert await report(client, fake_twilio, row, "delivered") == 204
    before = await snapshot(row.id)
    assert await report(client, fake_twilio, row, "failed", "30003") == 204
    assert await report(client, fake_twilio, row, "sent") == 204
    assert await snapshot(row.id) == before


async def test_undelivered_records_the_error_and_flags_the_phone(app, cast, client, fake_twilio):
    point = await ContactPoint.create(client=cast.alice, kind="phone", value=PHONE)
    other = await ContactPoint.create(client=cast.bob, kind="phone", value="+15550100000")
    [row] = await sent_rows(app, 1, client_id=cast.alice.id)
    assert await report(client, fake_twilio, row, "undelivered", "30003") == 204
    await row.refresh_from_db()
    await point.refresh_from_db()
    await other.refresh_from_db()
    assert (row.delivery_state, row.delivery_error) == ("undelivered", "30003")
    assert point.sms_undeliverable_at is not None and other.sms_undeliverable_at is None
    assert not await SmsOptOut.exists(phone=PHONE)


async def test_21610_records_the_opt_out(app, cast, client, fake_twilio):
    point = await ContactPoint.create(client=cast.alice, kind="phone", value=PHONE)
    [row] = await sent_rows(app, 1, client_id=cast.alice.id)
    assert await report(client, fake_twilio, row, "failed", "21610") == 204
    await point.refresh_from_db()
    assert await SmsOptOut.exists(phone=PHONE)
    assert point.sms_opted_out_at is not None and point.sms_undeliverable_at is not None


async def test_a_report_before_the_sid_was_stored_finds_its_row(app, client, fake_twilio):
    [row] = await sent_rows(app, 1)
    sid = row.provider_ref
    await OutboxMessage.filter(id=row.id).update(status="sending", provider_ref="")
    assert await report(client, fake_twilio, row, "delivered") == 204
    await row.refresh_from_db()
    assert (row.provider_ref, row.delivery_state) == (sid, "delivered")


def tampered(fake, row):
    """(name, url, form, headers) variants Twilio never sent."""
    url, form, headers = fake.status_request(row.provider_ref, "delivered")
    no_header = {k: v for k, v in headers.items() if k != "X-Twilio-Signature"}
    yield "no signature", url, form, no_header
    yield "empty signature", url, form, {**headers, "X-Twilio-Signature": ""}
    yield "wrong token", url, form, signature_headers("not-the-token", url, form)
    yield "changed parameter", url, {**form, "MessageStatus": "failed"}, headers
    changed_rid = url.replace("rid=", "rid=9")
    yield "changed query", changed_rid, form, headers
    yield "removed parameter", url, {k: v for k, v in form.items() if k != "To"}, headers
    yield "added parameter", url, {**form, "ErrorCode": "30003"}, headers
    https = url.replace("http://", "https://")
    yield "signed for https", url, form, signature_headers(fake.auth_token, https, form)
    port = url.replace("localhost", "localhost:8443")
    yield "signed for another port", url, form, signature_headers(fake.auth_token, port, form)
    yield "garbage signature", url, form, {**headers, "X-Twilio-Signature": "x" * 5000}


async def test_unsigned_or_tampered_reports_are_refused_and_change_nothing(
    app, client, fake_twilio
):
    [row] = await sent_rows(app, 1)
    before = await snapshot(row.id)
    for name, url, form, headers in tampered(fake_twilio, row):
        response = await post(client, url, form, headers)
        assert response.status_code == 403, name
        assert await snapshot(row.id) == before, name


async def test_an_unknown_sid_is_answered_200(app, client, fake_twilio):
    [row] = await sent_rows(app, 1)
    url, form, _ = fake_twilio.status_request(row.provider_ref, "delivered")
    form = {**form, "MessageSid": "SM" + "0" * 32, "SmsSid": "SM" + "0" * 32}
    url = url.split("?")[0]
    response = await post(client, url, form, signature_headers(fake_twilio.auth_token, url, form))
    assert response.status_code == 200
    assert (await snapshot(row.id))[1] == "queued"


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": ""},
        {"MessageSid": "not-a-sid"},
        {"MessageStatus": "exploded"},
        {"MessageStatus": ""},
        {"MessageStatus": "d" * 10_000},
        {"MessageSid": "SM" + "a" * 5_000},
        {"ErrorCode": "9" * 3_000},
        {"MessageStatus": "délivered\u0000"},
    ],
)
async def test_malformed_signed_reports_change_nothing(app, client, fake_twilio, change):
    [row] = await sent_rows(app, 1)
    before = await snapshot(row.id)
    url, form, _ = fake_twilio.status_request(row.provider_ref, "delivered")
    form = {**form, **change}
    headers = signature_headers(fake_twilio.auth_token, url, form)
    response = await post(client, url, form, headers)
    assert response.status_code in (200, 400)
    assert await snapshot(row.id) == before


async def test_an_oversized_body_is_refused(app, client, fake_twilio):
    response = await client.post(
        "/sms/status",
        data="MessageSid=" + "A" * 200_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 403, 413)
