"""What a client's text does, through the signed webhook: a table of replies with
what a client and the practice then observe (the appointment, the text queued in
answer, the opt-out, the chat thread staff read), and the conversations that take
more than one text (which one?, a late fee, shared phones, crisis, unknown numbers).

The cast (tests/cast.py): Alice's phone got a reminder for ``a_soon`` (3 days ahead,
asking for confirmation); she also has ``a_tomorrow`` (10 hours ahead) and a balance
of $270.00. By default the practice cancels free 24 hours ahead and not online
inside that.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.sms import queue_sms
from models import clock
from models.audit import AuditEvent
from models.ledger import LedgerEntry
from models.messaging import Message
from models.outbox import InboundSms, OutboxMessage, SmsOptOut
from models.people import ContactPoint, User
from models.practice import Practice
from models.scheduling import Appointment
from tests.cast import email_of
from tests.channels.test_sms_inbound import (
    ALICE_PHONE,
    EMPTY_TWIML,
    TOKEN,
    params_for,
    post_signed,
)

GINA_PHONE = "+15550100007"
STRANGER = "+15550177777"
PRACTICE_PHONE = "+15550109000"

# What each template's text says, to tell them apart.
SAYS = {
    "confirmed": "is confirmed. Thank you!",
    "cancelled": "is cancelled. Call 555-010-9000.",
    "cancelled_fee": "is cancelled. Late fee: $50.00.",
    "late_fee": "is a late cancel, fee $50.00. Reply 2 again",
    "blocked": "is too close to cancel by text. Please call 555-010-9000.",
    "nothing": "no appointment is waiting for your reply.",
    "balance": "your balance is $270.00.",
    "reminders_off": "appointment reminders are off.",
    "reminders_on": "appointment reminders are on.",
    "help": "Test Practice, 555-010-9000. Reply 1 to confirm",
    "received": "thank you, our team will read your message.",
    "crisis": "call 911. Call or text 988",
    "which": "which one?",
    "unknown_number": "we could not match this number.",
}


@pytest.fixture
def config_overrides() -> dict:
    return {"twilio_auth_token": TOKEN}


async def reminder(phone: str, appointment_ids: list[int], *, client=None, confirm=True, **kw):
    """A reminder the sender sent to ``phone`` (its context names the appointments)."""
    return await OutboxMessage.create(
        channel="sms",
        kind="reminder",
        to=phone,
        body="reminder",
        dedupe_key=f"reminder:{phone}:{appointment_ids}:{clock.now().isoformat()}",
        client=client,
        due_at=kw.pop("due_at", clock.now()),
        status=kw.pop("status", "sent"),
        context={"appointments": appointment_ids, "confirm": confirm},
        **kw,
    )


@pytest.fixture
async def alice(cast):
    await Practice.filter(id=cast.practice.id).update(phone=PRACTICE_PHONE)
    cast.practice = await Practice.get(id=cast.practice.id)
    await ContactPoint.create(
        client=cast.alice,
        kind="phone",
        value=ALICE_PHONE,
        is_default=True,
        reminders=True,
        request_confirmation=True,
    )
    await reminder(ALICE_PHONE, [cast.a_soon.id], client=cast.alice)
    return cast


async def text(client, body: str, *, sender: str = ALICE_PHONE, **more) -> InboundSms:
    params = params_for(body, sender=sender, **more)
    response = await post_signed(client, params)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == EMPTY_TWIML
    return await InboundSms.get(message_sid=params["MessageSid"])


async def reply_to(inbound: InboundSms) -> OutboxMessage | None:
    return await OutboxMessage.get_or_none(dedupe_key=f"reply:{inbound.message_sid}")


async def status_of(appointment: Appointment) -> str:
    return str((await Appointment.get(id=appointment.id)).status)


async def sms_messages(client_id: int) -> list[Message]:
    return await Message.filter(thread__client_id=client_id, via="sms").order_by("id")


async def late_fees(client_id: int) -> list[LedgerEntry]:
    return await LedgerEntry.filter(client_id=client_id, reference="late-cancel")


# ---- the table ---------------------------------------------------------------------------

CONFIRMED = ("confirmed", "confirmed", "confirmed")
CANCELLED = ("cancelled", "cancelled", "cancelled")
OPTED_OUT = ("opted_out", "scheduled", None)
OPTED_IN = ("opted_in", "scheduled", None)
TO_STAFF = ("to_staff", "scheduled", "received")
CRISIS = ("crisis", "scheduled", "crisis")
NOTHING = ("nothing", "scheduled", "nothing")
BALANCE = ("balance", "scheduled", "balance")
OFF = ("reminders_off", "scheduled", "reminders_off")
ON = ("reminders_on", "scheduled", "reminders_on")
HELP = ("help", "scheduled", "help")

# (text, (InboundSms.outcome, a_soon's status after, the template answering or None))
TABLE = [
    ("1", CONFIRMED),
    (" 1 ", CONFIRMED),
    ("1.", CONFIRMED),
    ("１", CONFIRMED),
    ("YES", CONFIRMED),
    ("yes!", CONFIRMED),
    ("Yes please", CONFIRMED),
    ("Y", CONFIRMED),
    ("y", CONFIRMED),
    ("C", CONFIRMED),
    ("c", CONFIRMED),
    ("ok", CONFIRMED),
    ("confirm", CONFIRMED),
    ("Confirmed", CONFIRMED),
    ("C1", CONFIRMED),
    ("sí", CONFIRMED),
    ("Si", CONFIRMED),
    ("confirmar", CONFIRMED),
    ("👍 yes", CONFIRMED),
    ("C2", NOTHING),  # the reminder named one appointment
    ("2", CANCELLED),
    ("2!", CANCELLED),
    ("x", CANCELLED),
    ("X1", CANCELLED),
    ("cancel please", CANCELLED),
    ("Cancel please", CANCELLED),
    ("I need to cancel my appointment", CANCELLED),
    ("cancelar", CANCELLED),
    ("Cancelar mi cita por favor", CANCELLED),
    ("X2", NOTHING),
    ("STOP", OPTED_OUT),
    ("stop.", OPTED_OUT),
    (" Stop ", OPTED_OUT),
    ("STOPALL", OPTED_OUT),
    ("UNSUBSCRIBE", OPTED_OUT),
    ("END", OPTED_OUT),
    ("QUIT", OPTED_OUT),
    ("quit!", OPTED_OUT),
    ("REVOKE", OPTED_OUT),
    ("OPTOUT", OPTED_OUT),
    ("CANCEL", OPTED_OUT),
    ("Cancel", OPTED_OUT),
    ("START", OPTED_IN),
    ("UNSTOP", OPTED_IN),
    ("BAL", BALANCE),
    ("bal", BALANCE),
    ("balance", BALANCE),
    ("What's my balance?", BALANCE),
    ("saldo", BALANCE),
    ("REMIND OFF", OFF),
    ("remind off", OFF),
    ("recordatorios no", OFF),
    ("REMIND ON", ON),
    ("remind on", ON),
    ("Activar recordatorios", ON),
    ("HELP", HELP),
    ("help", HELP),
    ("INFO", HELP),
    ("ayuda", HELP),
    ("One", TO_STAFF),  # not a code: a person reads it
    ("1 2", TO_STAFF),
    ("3", TO_STAFF),
    ("no", TO_STAFF),
    ("thank you", TO_STAFF),
    ("don't cancel", TO_STAFF),
    ("Can I move my appointment to Friday?", TO_STAFF),
    ("🙂", TO_STAFF),
    ("🔥💀👀", TO_STAFF),
    ("こんにちは、予約について", TO_STAFF),
    ("Привет", TO_STAFF),
    ("مرحبا", TO_STAFF),
    ("a" * 1600, TO_STAFF),
    ("I want to kill myself", CRISIS),
    ("I'm suicidal", CRISIS),
    ("I want to hurt myself", CRISIS),
    ("quiero morir", CRISIS),
    ("me quiero matar", CRISIS),
    ("Pienso en el suicidio", CRISIS),
    ("2 I want to die", CRISIS),  # crisis first: nothing is cancelled
]


@pytest.mark.parametrize(("body", "expected"), TABLE, ids=[t[0][:24] for t in TABLE])
async def test_the_table_of_replies(client, alice, body, expected):
    outcome, status_after, template = expected
    inbound = await text(client, body)
    assert inbound.outcome == outcome
    assert inbound.client_id == alice.alice.id
    assert await status_of(alice.a_soon) == status_after
    assert await status_of(alice.a_tomorrow) == "scheduled"  # never the one not asked about
    replies = await OutboxMessage.filter(kind="reply")
    if template is None:
        assert replies == []
    else:
        assert [r.dedupe_key for r in replies] == [f"reply:{inbound.message_sid}"]
        assert SAYS[template] in replies[0].body, replies[0].body
        assert replies[0].to == ALICE_PHONE and replies[0].client_id == alice.alice.id
    assert await SmsOptOut.exists(phone=ALICE_PHONE) == (outcome == "opted_out")
    said, *answer = await sms_messages(alice.alice.id)
    assert said.from_client_side and said.body == body.strip()
    unread = outcome in ("to_staff", "crisis") or body.strip() in ("CANCEL", "Cancel")
    assert (said.read_at is None) == unread
    assert said.flag == (
        "crisis"
        if outcome == "crisis"
        else "cancel_request"
        if body.strip() in ("CANCEL", "Cancel")
        else ""
    )
    if template is None or outcome == "to_staff":
        assert answer == []
    else:  # staff read the answer the client got, in the same thread
        assert [(m.body, m.automated, m.from_client_side) for m in answer] == [
            (replies[0].body, True, False)
        ]


async def test_an_empty_picture_message_waits_for_staff_with_a_placeholder(client, alice):
    inbound = await text(client, "", NumMedia="1")
    assert inbound.outcome == "to_staff"
    [said] = await sms_messages(alice.alice.id)
    assert said.read_at is None and "picture" in said.body
    assert SAYS["received"] in (await reply_to(inbound)).body


async def test_a_spanish_speaking_client_is_answered_in_spanish(client, alice):
    from app.i18n import gettext_in

    await type(alice.alice).filter(id=alice.alice.id).update(preferred_language="es")
    inbound = await text(client, "sí")
    body = (await reply_to(inbound)).body
    assert inbound.outcome == "confirmed"
    expected = gettext_in("es", "Reply STOP to opt out.")
    assert body.endswith(expected.replace("í", "i").replace("á", "a").replace("ó", "o"))


# ---- which one? -----------------------------------------------------------------------


async def test_two_pending_asks_which_and_c2_confirms_the_second(client, alice):
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id, alice.a_soon.id], client=alice.alice)
    asked = await text(client, "1")
    question = await reply_to(asked)
    assert asked.outcome == "asked" and SAYS["which"] in question.body
    assert "Reply C1 or C2 to confirm." in question.body
    assert question.context == {
        "ask": "confirm",
        "appointments": [alice.a_tomorrow.id, alice.a_soon.id],
    }
    assert await status_of(alice.a_tomorrow) == await status_of(alice.a_soon) == "scheduled"
    # The question is still pending (no sender ran): it is what "C2" answers.
    assert question.status == "pending"
    picked = await text(client, "C2")
    assert picked.outcome == "confirmed"
    assert await status_of(alice.a_soon) == "confirmed"
    assert await status_of(alice.a_tomorrow) == "scheduled"


async def test_x1_after_which_cancels_the_first_shown(client, alice):
    later = alice.a_soon.starts_at + timedelta(days=2)
    third = await Appointment.create(
        client=alice.alice,
        provider=alice.penny,
        starts_at=later,
        ends_at=later + timedelta(minutes=45),
        status="scheduled",
    )
    await reminder(ALICE_PHONE, [alice.a_soon.id, third.id], client=alice.alice)
    asked = await text(client, "cancel please")
    assert "Reply X1 or X2 to cancel." in (await reply_to(asked)).body
    assert (await text(client, "x2")).outcome == "cancelled"
    assert await status_of(third) == "cancelled"
    assert await status_of(alice.a_soon) == "scheduled"


# ---- the cancellation policy --------------------------------------------------------------


async def late_policy(cast, fee: int = 5000) -> None:
    await Practice.filter(id=cast.practice.id).update(
        portal_settings=dict(
            within_24h=True, cancel_free_hours=24, cancel_block_hours=2, late_cancel_fee_cents=fee
        )
    )


async def test_a_late_cancel_warns_first_and_the_second_2_cancels_with_the_fee(client, alice):
    await late_policy(alice)
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id], client=alice.alice)
    warned = await text(client, "2")
    warning = await reply_to(warned)
    assert warned.outcome == "late_fee" and SAYS["late_fee"] in warning.body
    assert warning.context == {"late_fee": 5000, "appointments": [alice.a_tomorrow.id]}
    assert await status_of(alice.a_tomorrow) == "scheduled"
    assert await late_fees(alice.alice.id) == []
    clock.travel(timedelta(minutes=10))
    done = await text(client, "2")
    assert done.outcome == "cancelled" and SAYS["cancelled_fee"] in (await reply_to(done)).body
    assert await status_of(alice.a_tomorrow) == "late_cancelled"
    assert [f.amount_cents for f in await late_fees(alice.alice.id)] == [5000]
    again = await text(client, "2")  # a third "2": nothing more is charged
    assert again.outcome == "cancelled"
    assert len(await late_fees(alice.alice.id)) == 1


async def test_a_second_2_after_30_minutes_is_warned_again(client, alice):
    await late_policy(alice)
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id], client=alice.alice)
    await text(client, "2")
    clock.travel(timedelta(minutes=31))
    assert (await text(client, "2")).outcome == "late_fee"
    assert await status_of(alice.a_tomorrow) == "scheduled"
    assert await late_fees(alice.alice.id) == []


async def test_a_fee_that_rose_since_the_warning_is_warned_again(client, alice):
    await late_policy(alice)
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id], client=alice.alice)
    await text(client, "2")
    await late_policy(alice, fee=7000)
    rewarned = await text(client, "2")
    assert rewarned.outcome == "late_fee"
    assert "$70.00" in (await reply_to(rewarned)).body
    assert (await reply_to(rewarned)).context["late_fee"] == 7000
    assert await status_of(alice.a_tomorrow) == "scheduled"
    assert (await text(client, "2")).outcome == "cancelled"
    assert [f.amount_cents for f in await late_fees(alice.alice.id)] == [7000]


async def test_too_late_to_cancel_says_please_call_and_changes_nothing(client, alice):
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id], client=alice.alice)
    blocked = await text(client, "2")
    assert blocked.outcome == "blocked" and SAYS["blocked"] in (await reply_to(blocked)).body
    assert await status_of(alice.a_tomorrow) == "scheduled"
    assert await late_fees(alice.alice.id) == []


# ---- opt-out and opt-in (T-3) ----------------------------------------------------------------


async def test_after_stop_nothing_more_is_queued_for_the_number(client, alice):
    await text(client, "STOP")
    point = await ContactPoint.get(client_id=alice.alice.id, kind="phone")
    assert point.sms_opted_out_at is not None
    assert await queue_sms(to=ALICE_PHONE, body="hi", dedupe_key="later", kind="notice") is None
    after = await text(client, "1")  # still acted on; no answer goes out
    assert after.outcome == "confirmed" and await reply_to(after) is None


async def test_a_bare_cancel_opts_out_and_is_flagged_never_cancelled(client, alice):
    inbound = await text(client, "CANCEL")
    assert inbound.outcome == "opted_out" and await reply_to(inbound) is None
    assert await status_of(alice.a_soon) == "scheduled"
    [said] = await sms_messages(alice.alice.id)
    assert (said.flag, said.read_at, said.intent) == ("cancel_request", None, "stop")


async def test_start_and_yes_from_an_opted_out_number_opt_back_in(client, alice):
    for word in ("START", "UNSTOP", "YES", "yes!"):
        await text(client, "STOP")
        assert await SmsOptOut.exists(phone=ALICE_PHONE)
        inbound = await text(client, word)
        assert inbound.outcome == "opted_in" and await reply_to(inbound) is None
        assert not await SmsOptOut.exists(phone=ALICE_PHONE)
        point = await ContactPoint.get(client_id=alice.alice.id, kind="phone")
        assert point.sms_opted_out_at is None
    assert await status_of(alice.a_soon) == "scheduled"  # a YES that opted in confirmed nothing


# ---- crisis ---------------------------------------------------------------------------------


async def test_a_crisis_text_alerts_the_provider_by_email_without_the_text(client, alice):
    body = "Alice here, I want to end my life"
    inbound = await text(client, body)
    assert inbound.outcome == "crisis"
    [alert] = await OutboxMessage.filter(channel="email")
    assert alert.to == email_of("Penny")
    assert alert.subject == "A client's message needs your attention now"
    assert "/staff/inbox" in alert.body
    for secret in ("end my life", "Alice", "Example", ALICE_PHONE):
        assert secret not in alert.subject and secret not in alert.body
    assert SAYS["crisis"] in (await reply_to(inbound)).body
    [said, answer] = await sms_messages(alice.alice.id)
    assert (said.flag, said.read_at) == ("crisis", None)
    assert answer.automated and "988" in answer.body


async def test_a_crisis_text_from_an_unknown_number_gets_the_crisis_line(client, alice):
    inbound = await text(client, "quiero morir", sender=STRANGER)
    assert inbound.outcome == "crisis" and inbound.client_id is None
    assert SAYS["crisis"] in (await reply_to(inbound)).body


# ---- numbers of no client, not understood --------------------------------------------------


async def test_a_number_of_no_client_gets_a_generic_answer_once_a_day(client, alice):
    first = await text(client, "1", sender=STRANGER)
    assert (first.outcome, first.client_id) == ("unknown_number", None)
    answer = await reply_to(first)
    assert SAYS["unknown_number"] in answer.body and answer.client_id is None
    for word in ("Appointment", "Penny", "Alice"):
        assert word not in answer.body
    assert await status_of(alice.a_soon) == "scheduled"
    assert await Message.filter(via="sms").count() == 0
    assert await reply_to(await text(client, "hello?", sender=STRANGER)) is None
    clock.travel(timedelta(hours=25))
    assert await reply_to(await text(client, "hello?", sender=STRANGER)) is not None


async def test_not_understood_is_answered_once_a_day_and_always_reaches_staff(client, alice):
    first = await text(client, "Can we talk about Friday?")
    second = await text(client, "Also Saturday")
    assert SAYS["received"] in (await reply_to(first)).body
    assert await reply_to(second) is None
    messages = await sms_messages(alice.alice.id)
    assert [(m.body, m.read_at) for m in messages] == [
        ("Can we talk about Friday?", None),
        ("Also Saturday", None),
    ]


async def test_what_reaches_the_chat_thread_is_published_live(client, alice):
    from channels.chat.broker import broker

    heard: list[dict] = []
    broker.listen(heard.append)
    try:
        await text(client, "Running late")
        await text(client, "BAL")
    finally:
        broker.unlisten(heard.append)
    published = [e["message_id"] for e in heard if e.get("kind") == "message"]
    assert published == [m.id for m in await sms_messages(alice.alice.id)]
    assert len(published) == 3  # the text for staff; the balance asked and answered


# ---- whose text: a shared phone, only the sender's things (Z-3) --------------------------------


async def test_a_parents_phone_acts_on_the_child_the_reminder_named(client, alice):
    for child in (alice.charlie, alice.dana):
        await ContactPoint.create(client=child, kind="phone", value=GINA_PHONE)
    later = alice.c_soon.starts_at + timedelta(days=1)
    dana_soon = await Appointment.create(
        client=alice.dana,
        provider=alice.penny,
        starts_at=later,
        ends_at=later + timedelta(minutes=45),
        status="scheduled",
    )
    await reminder(GINA_PHONE, [dana_soon.id])
    inbound = await text(client, "2", sender=GINA_PHONE)
    assert (inbound.outcome, inbound.client_id) == ("cancelled", alice.dana.id)
    assert await status_of(dana_soon) == "cancelled"
    assert await status_of(alice.c_soon) == "scheduled"
    assert len(await sms_messages(alice.dana.id)) == 2
    assert await sms_messages(alice.charlie.id) == []


async def test_a_shared_phone_without_a_reminder_is_asked_which(client, alice):
    for child in (alice.charlie, alice.dana):
        await ContactPoint.create(client=child, kind="phone", value=GINA_PHONE)
    later = alice.c_soon.starts_at + timedelta(days=1)
    await Appointment.create(
        client=alice.dana,
        provider=alice.penny,
        starts_at=later,
        ends_at=later + timedelta(minutes=45),
        status="scheduled",
    )
    inbound = await text(client, "2", sender=GINA_PHONE)
    assert inbound.outcome == "asked"
    assert await status_of(alice.c_soon) == "scheduled"
    balance = await text(client, "BAL", sender=GINA_PHONE)  # whose? a person answers
    assert balance.outcome == "to_staff"


async def test_a_text_naming_another_clients_appointment_changes_only_the_senders(client, alice):
    await reminder(ALICE_PHONE, [alice.b_soon.id, alice.a_soon.id], client=alice.alice)
    inbound = await text(client, f"confirm {alice.b_soon.id}")
    assert await status_of(alice.b_soon) == "scheduled"
    assert inbound.client_id == alice.alice.id
    picked = await text(client, "C1")  # Bob's id in the context is not Alice's to touch
    assert picked.outcome == "confirmed"
    assert await status_of(alice.a_soon) == "confirmed"
    assert await status_of(alice.b_soon) == "scheduled"


async def test_a_reminder_older_than_14_days_is_not_what_a_reply_means(client, alice):
    await OutboxMessage.filter(kind="reminder").update(due_at=clock.now() - timedelta(days=15))
    await reminder(ALICE_PHONE, [alice.a_tomorrow.id], client=alice.alice, status="pending")
    # No context: the appointments waiting for confirmation, so "which one?".
    assert (await text(client, "1")).outcome == "asked"


# ---- balance and reminders ----------------------------------------------------------------


async def test_balance_is_audited_as_a_read_by_sms(client, alice):
    await text(client, "BAL")
    event = await AuditEvent.filter(action="read", via="sms").first()
    assert event is not None and event.client_id == alice.alice.id
    assert event.category == "billing"


async def test_remind_off_and_on_switch_the_clients_reminders(client, alice):
    await text(client, "REMIND OFF")
    assert not await ContactPoint.filter(client_id=alice.alice.id, reminders=True).exists()
    await text(client, "REMIND ON")
    assert await ContactPoint.filter(client_id=alice.alice.id, reminders=True).exists()


async def test_a_client_without_an_account_is_served_by_text(client, alice):
    await ContactPoint.create(client=alice.charlie, kind="phone", value=GINA_PHONE)
    await reminder(GINA_PHONE, [alice.c_soon.id])
    inbound = await text(client, "1", sender=GINA_PHONE)
    assert inbound.outcome == "confirmed"
    assert await status_of(alice.c_soon) == "confirmed"
    assert await User.filter(display_name="Charlie").count() == 0
