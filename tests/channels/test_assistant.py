"""The chat panel's assistant end to end: what it answers, and what the database holds
after (appointments, the ledger, reminder switches, the chat thread for staff).

The cast: Alice has two appointments asking for confirmation, ``a_tomorrow`` (10 hours
ahead) and ``a_soon`` (3 days ahead), and a balance of $270.00; Bob has ``b_soon``;
Gina is the guardian of Charlie and Dana. By default the practice cancels free 24 hours
ahead and not online inside that.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_skeleton, format_time

from channels.chat import assistant
from channels.chat.assistant import QuickReply, chat, starting_replies
from channels.chat.broker import broker
from channels.intents import parse
from models import clock, conversations
from models.access import ClientAccess, client_accesses
from models.audit import AuditEvent
from models.errors import RuleError
from models.ledger import LedgerEntry
from models.messaging import Message, Thread
from models.outbox import OutboxMessage
from models.people import Client, Contact, ContactPoint, StaffMember, User
from models.practice import Practice
from models.scheduling import Appointment

PHONE = "+1 555 010 9999"


async def access_of(name: str, client_id: int | None = None) -> tuple[ClientAccess, User]:
    """The access a signed-in user has, as the route would load it."""
    user = await User.get(display_name=name)
    accesses = await client_accesses(user)
    if client_id is None:
        return accesses[0], user
    return next(a for a in accesses if a.client.id == client_id), user


async def alice() -> tuple[ClientAccess, User]:
    return await access_of("Alice")


async def status_of(appointment: Appointment) -> str:
    return str((await Appointment.get(id=appointment.id)).status)


async def late_fees(client_id: int) -> list[LedgerEntry]:
    return await LedgerEntry.filter(client_id=client_id, reference="late-cancel")


def local_when(appointment: Appointment, locale: str = "en", tz: str = "America/New_York"):
    """(date, time) as the client reads them: "Tue, May 12" and "3:00 PM"."""
    zone = ZoneInfo(tz)
    date = format_skeleton("MMMEd", appointment.starts_at, tzinfo=zone, locale=locale)
    return date, format_time(appointment.starts_at, "short", tzinfo=zone, locale=locale)


def assert_mentions(body: str, appointment: Appointment, **where) -> None:
    date, time = local_when(appointment, **where)
    assert date in body and time in body, body


async def practice_rules(cast, **rules) -> None:
    await Practice.filter(id=cast.practice.id).update(portal_settings=rules, phone=PHONE)


# ---- confirm ------------------------------------------------------------------------


async def test_confirm_with_several_waiting_asks_which_and_changes_nothing(cast):
    access, user = await alice()
    answer = await chat(access, user, "confirm")
    assert answer.reply is not None and "Which appointment" in answer.reply.body
    assert [q.appointment_id for q in answer.quick_replies] == [
        cast.a_tomorrow.id,
        cast.a_soon.id,
    ]
    assert all(parse(q.text).kind == "confirm" for q in answer.quick_replies)
    assert await status_of(cast.a_soon) == await status_of(cast.a_tomorrow) == "scheduled"


async def test_a_quick_reply_confirms_that_appointment_and_says_when(cast):
    access, user = await alice()
    answer = await chat(access, user, "Confirm", appointment_id=cast.a_soon.id, ip="203.0.113.9")
    assert await status_of(cast.a_soon) == "confirmed"
    assert await status_of(cast.a_tomorrow) == "scheduled"
    assert "is confirmed" in answer.reply.body
    assert_mentions(answer.reply.body, cast.a_soon)
    event = await AuditEvent.get(action="appointment.confirm")
    assert (event.via, event.ip, event.actor_id) == ("chat", "203.0.113.9", user.id)
    # Pressed twice: still confirmed, said again, not an error.
    again = await chat(access, user, "Confirm", appointment_id=cast.a_soon.id)
    assert "is confirmed" in again.reply.body
    assert await AuditEvent.filter(action="appointment.confirm").count() == 1


async def test_the_only_appointment_waiting_is_confirmed_at_once(cast):
    await Appointment.filter(id=cast.a_tomorrow.id).update(confirmation_requested=False)
    access, user = await alice()
    answer = await chat(access, user, "Yes!")
    assert await status_of(cast.a_soon) == "confirmed"
    assert await status_of(cast.a_tomorrow) == "scheduled"
    assert "is confirmed" in answer.reply.body and answer.said.intent == "confirm"


async def test_a_number_picks_from_the_list_in_order(cast):
    access, user = await alice()
    await chat(access, user, "confirm 2")
    assert await status_of(cast.a_soon) == "confirmed"  # the second: 3 days ahead
    assert await status_of(cast.a_tomorrow) == "scheduled"


async def test_a_number_that_picks_nothing_asks_instead_of_acting(cast):
    await Appointment.filter(id=cast.a_tomorrow.id).update(status="cancelled")
    access, user = await alice()
    answer = await chat(access, user, "cancel 5")
    assert [q.appointment_id for q in answer.quick_replies] == [cast.a_soon.id]
    assert await status_of(cast.a_soon) == "scheduled"


async def test_nothing_to_confirm_is_said_so(cast):
    access, user = await access_of("Gina", cast.dana.id)  # Dana has no appointments
    answer = await chat(access, user, "1")
    assert answer.reply.body == "You have no appointments waiting for confirmation."
    assert answer.quick_replies == []


async def test_another_clients_appointment_is_never_touched(cast):
    access, user = await alice()
    confirm = await chat(access, user, "confirm", appointment_id=cast.b_soon.id)
    cancel = await chat(access, user, "cancel please", appointment_id=cast.b_soon.id)
    assert await status_of(cast.b_soon) == "scheduled"
    assert confirm.reply.body == "You have no appointments waiting for confirmation."
    assert cancel.reply.body == "You have no upcoming appointments to cancel."
    for forged in (0, -1, 2**31, 10**30):  # never a database error
        answer = await chat(access, user, "cancel please", appointment_id=forged)
        assert answer.reply.body == "You have no upcoming appointments to cancel."
    # Nor Alice's own: the id named no appointment of hers.
    assert await status_of(cast.a_soon) == await status_of(cast.a_tomorrow) == "scheduled"


# ---- cancel -------------------------------------------------------------------------


async def test_cancel_with_several_upcoming_asks_which(cast):
    access, user = await alice()
    answer = await chat(access, user, "cancel my appointment")
    assert answer.reply.body == "Which appointment do you want to cancel?"
    assert [q.appointment_id for q in answer.quick_replies] == [
        cast.a_tomorrow.id,
        cast.a_soon.id,
    ]
    assert all(parse(q.text).kind == "cancel" for q in answer.quick_replies)
    assert not any(q.accept_fee for q in answer.quick_replies)


async def test_a_free_cancellation_happens_at_once_and_mentions_undo(cast):
    access, user = await alice()
    answer = await chat(access, user, "Cancel my appointment", appointment_id=cast.a_soon.id)
    assert await status_of(cast.a_soon) == "cancelled"
    assert await late_fees(cast.alice.id) == []
    assert "is cancelled" in answer.reply.body and "undo" in answer.reply.body
    assert "My Appointments" in answer.reply.body
    assert_mentions(answer.reply.body, cast.a_soon)
    event = await AuditEvent.get(action="appointment.cancel")
    assert event.via == "chat" and event.details["tier"] == "free"
    # The button pressed again: nothing more happens.
    again = await chat(access, user, "Cancel my appointment", appointment_id=cast.a_soon.id)
    assert "is cancelled" in again.reply.body
    assert await AuditEvent.filter(action="appointment.cancel").count() == 1


async def test_too_late_to_cancel_says_call_the_practice_and_cancels_nothing(cast):
    await practice_rules(cast)  # the defaults, and a phone number
    access, user = await alice()
    answer = await chat(access, user, "x", appointment_id=cast.a_tomorrow.id)
    assert await status_of(cast.a_tomorrow) == "scheduled"
    assert f"Please call the practice at {PHONE}." in answer.reply.body


async def test_a_late_cancellation_waits_for_the_fee_to_be_accepted(cast):
    await practice_rules(
        cast,
        within_24h=True,
        cancel_free_hours=24,
        cancel_block_hours=2,
        late_cancel_fee_cents=5000,
    )
    access, user = await alice()
    offer = await chat(access, user, "cancel", appointment_id=cast.a_tomorrow.id)
    assert await status_of(cast.a_tomorrow) == "scheduled"
    assert await late_fees(cast.alice.id) == []
    assert "$50.00" in offer.reply.body and "late cancellation" in offer.reply.body
    assert offer.quick_replies == [
        QuickReply(
            "Cancel and pay the $50.00 late fee",
            "Cancel my appointment",
            appointment_id=cast.a_tomorrow.id,
            accept_fee=5000,
        )
    ]
    button = offer.quick_replies[0]
    done = await chat(
        access,
        user,
        button.text,
        appointment_id=button.appointment_id,
        accept_fee=button.accept_fee,
    )
    assert await status_of(cast.a_tomorrow) == "late_cancelled"
    fees = await late_fees(cast.alice.id)
    assert [(f.amount_cents, f.appointment_id) for f in fees] == [(5000, cast.a_tomorrow.id)]
    assert "A late cancellation fee of $50.00 was added" in done.reply.body


async def test_a_late_cancellation_without_a_fee_needs_no_acceptance(cast):
    await practice_rules(cast, within_24h=True, cancel_free_hours=24, cancel_block_hours=2)
    access, user = await alice()
    answer = await chat(access, user, "cancel please", appointment_id=cast.a_tomorrow.id)
    assert await status_of(cast.a_tomorrow) == "late_cancelled"
    assert await late_fees(cast.alice.id) == []
    assert "is cancelled" in answer.reply.body


async def test_a_past_appointment_is_not_cancelled(cast):
    access, user = await alice()
    answer = await chat(access, user, "cancel please", appointment_id=cast.a_past.id)
    assert await status_of(cast.a_past) == "completed"
    assert answer.reply.body == "This appointment can no longer be cancelled."


async def test_a_bare_cancel_asks_which_even_for_one_and_cancels_nothing(cast):
    await Appointment.filter(id=cast.a_tomorrow.id).update(status="cancelled")
    access, user = await alice()
    answer = await chat(access, user, "CANCEL")
    assert [q.appointment_id for q in answer.quick_replies] == [cast.a_soon.id]
    assert await status_of(cast.a_soon) == "scheduled"
    assert answer.said.intent == "cancel"


# ---- balance and guardians' rights ---------------------------------------------------


async def test_balance_says_the_amount_only_and_is_audited(cast):
    access, user = await alice()
    answer = await chat(access, user, "BAL", ip="198.51.100.7")
    assert answer.reply.body == "Your balance is $270.00. My Account has the details."
    assert answer.said.intent == "balance"
    event = await AuditEvent.get(action="read", category="billing")
    assert (event.via, event.client_id, event.ip) == ("chat", cast.alice.id, "198.51.100.7")


async def scoped_guardian(cast, scopes: list[str]) -> tuple[ClientAccess, User]:
    await Contact.filter(client_id=cast.charlie.id).update(scopes=scopes)
    return await access_of("Gina", cast.charlie.id)


async def test_a_guardian_without_billing_cannot_see_the_balance(cast):
    access, user = await scoped_guardian(cast, ["appointments", "messages"])
    answer = await chat(access, user, "balance")
    assert answer.reply.body == "You cannot see billing for this client."
    assert not await AuditEvent.filter(action="read", category="billing").exists()


async def test_a_guardian_without_appointments_cannot_confirm_or_cancel(cast):
    access, user = await scoped_guardian(cast, ["messages", "billing"])
    for text in ("confirm", "cancel please"):
        answer = await chat(access, user, text, appointment_id=cast.c_soon.id)
        assert answer.reply.body == "You cannot manage appointments for this client."
    assert await status_of(cast.c_soon) == "scheduled"


async def test_a_guardian_with_the_rights_acts_for_the_child(cast):
    access, user = await scoped_guardian(cast, ["messages", "appointments", "booking"])
    answer = await chat(access, user, "cancel please")
    assert await status_of(cast.c_soon) == "cancelled"
    assert answer.said.sender_id == user.id
    assert (await Thread.get(id=answer.thread.id)).client_id == cast.charlie.id


@pytest.mark.parametrize("how", ["no messages right", "messaging off"])
async def test_no_messaging_refuses_and_stores_nothing(cast, how):
    if how == "no messages right":
        access, user = await scoped_guardian(cast, ["appointments", "billing"])
    else:
        await Client.filter(id=cast.alice.id).update(portal_overrides={"messaging": False})
        access, user = await alice()
    before = await Message.all().count()
    with pytest.raises(RuleError) as refused:
        await chat(access, user, "confirm")
    assert refused.value.code == "messaging_off"
    assert await Message.all().count() == before
    assert not await Thread.filter(kind="chat").exists()


# ---- reminders, texts, help --------------------------------------------------------


async def contact_points(cast) -> dict[str, ContactPoint]:
    made = {
        "mobile": dict(kind="phone", value="+15550100001", is_default=True, reminders=True),
        "work": dict(kind="phone", value="+15550100002"),
        "email": dict(kind="email", value="alice@test.example", is_default=True, reminders=True),
    }
    return {
        name: await ContactPoint.create(client_id=cast.alice.id, **values)
        for name, values in made.items()
    }


async def reminders(points: dict[str, ContactPoint]) -> dict[str, bool]:
    return {name: (await ContactPoint.get(id=point.id)).reminders for name, point in points.items()}


async def test_reminders_off_turns_off_the_ones_that_were_on_and_says_which(cast):
    points = await contact_points(cast)
    access, user = await alice()
    answer = await chat(access, user, "REMIND OFF")
    assert await reminders(points) == {"mobile": False, "work": False, "email": False}
    assert "+15550100001" in answer.reply.body and "alice@test.example" in answer.reply.body
    assert "+15550100002" not in answer.reply.body
    assert [parse(q.text).kind for q in answer.quick_replies] == ["remind_on"]
    again = await chat(access, user, "reminders off")
    assert again.reply.body == "No reminders were on, so nothing changed."


async def test_reminders_on_turns_on_the_default_phone_and_email(cast):
    points = await contact_points(cast)
    await ContactPoint.filter(client_id=cast.alice.id).update(reminders=False)
    access, user = await alice()
    answer = await chat(access, user, "remind on")
    assert await reminders(points) == {"mobile": True, "work": False, "email": True}
    assert "+15550100001" in answer.reply.body and "alice@test.example" in answer.reply.body
    again = await chat(access, user, "reminders on")
    assert again.reply.body.startswith("Reminders are already on for")
    assert await reminders(points) == {"mobile": True, "work": False, "email": True}


async def test_reminders_on_skips_a_phone_that_opted_out_of_texts(cast):
    points = await contact_points(cast)
    await ContactPoint.filter(client_id=cast.alice.id).update(reminders=False)
    await ContactPoint.filter(id=points["mobile"].id).update(sms_opted_out_at=clock.now())
    access, user = await alice()
    await chat(access, user, "recordatorios sí")
    assert await reminders(points) == {"mobile": False, "work": True, "email": True}


async def test_reminders_on_with_nothing_on_file_says_so(cast):
    access, user = await alice()
    answer = await chat(access, user, "reminders on")
    assert "Add one in My Profile" in answer.reply.body
    assert not await ContactPoint.filter(client_id=cast.alice.id).exists()


async def test_a_guardian_without_the_profile_right_cannot_change_reminders(cast):
    point = await ContactPoint.create(
        client_id=cast.charlie.id, kind="phone", value="+15550100003", reminders=True
    )
    access, user = await scoped_guardian(cast, ["messages", "appointments"])
    answer = await chat(access, user, "reminders off")
    assert answer.reply.body == "You cannot change reminders for this client."
    assert (await ContactPoint.get(id=point.id)).reminders


async def test_stop_and_start_explain_texts_and_offer_the_reminder_switch(cast):
    access, user = await alice()
    stop = await chat(access, user, "STOP")
    assert "reply STOP" in stop.reply.body
    assert [parse(q.text).kind for q in stop.quick_replies] == ["remind_off"]
    start = await chat(access, user, "START")
    assert "reply START" in start.reply.body
    assert [parse(q.text).kind for q in start.quick_replies] == ["remind_on"]


async def test_help_gives_the_practice_name_and_phone_and_the_buttons(cast):
    await practice_rules(cast)
    access, user = await alice()
    answer = await chat(access, user, "HELP")
    assert "Test Practice" in answer.reply.body and PHONE in answer.reply.body
    assert answer.quick_replies == starting_replies("en")


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_starting_button_means_what_it_says_in_every_language(locale):
    kinds = [parse(q.text).kind for q in starting_replies(locale)]
    assert kinds == ["confirm", "cancel", "balance", "remind_off", "help"]


# ---- what goes to staff ----------------------------------------------------------------


async def test_anything_else_gets_no_automated_reply_and_waits_unread_for_staff(cast):
    access, user = await alice()
    answer = await chat(access, user, "Can I bring my partner next time?")
    assert answer.reply is None and answer.quick_replies == []
    said = await Message.get(id=answer.said.id)
    assert said.read_at is None and said.intent == "" and said.via == "chat"
    assert said.from_client_side and said.sender_id == user.id
    thread = await Thread.get(id=answer.thread.id)
    assert (thread.kind, thread.client_id, thread.queue) == ("chat", cast.alice.id, "scheduling")
    sid = await StaffMember.get(id=cast.sid.id)
    unread = await conversations.inbox(sid, queue="scheduling", show="unread")
    assert [t.id for t in unread] == [thread.id]
    assert (await conversations.queue_counts(sid))["scheduling"] == 1


async def test_a_settled_turn_is_read_on_both_sides(cast):
    access, user = await alice()
    answer = await chat(access, user, "balance")
    said, reply = await Message.get(id=answer.said.id), await Message.get(id=answer.reply.id)
    assert said.read_at is not None and reply.read_at is not None
    assert reply.automated and reply.sender_id is None and not reply.from_client_side
    assert said.id < reply.id and said.thread_id == reply.thread_id == answer.thread.id
    sid = await StaffMember.get(id=cast.sid.id)
    assert (await conversations.queue_counts(sid))["scheduling"] == 0


async def test_crisis_words_are_flagged_answered_with_988_and_left_for_staff(cast):
    access, user = await alice()
    answer = await chat(access, user, "cancel my appointment, I want to kill myself")
    said = await Message.get(id=answer.said.id)
    assert said.flag == "crisis" and said.read_at is None
    assert "988" in answer.reply.body and "911" in answer.reply.body
    assert answer.reply.automated
    assert await status_of(cast.a_soon) == await status_of(cast.a_tomorrow) == "scheduled"
    penny = await StaffMember.get(id=cast.penny.id)  # Alice's provider sees the chat too
    assert answer.thread.id in [t.id for t in await conversations.inbox(penny, show="unread")]
    # ... and is emailed at once, as for a text: no words of the message, no name.
    [alert] = await OutboxMessage.filter(channel="email", dedupe_key__startswith="crisis:")
    penny_user = await User.get(id=penny.user_id)
    assert alert.to == penny_user.email
    assert alert.subject == "A client's message needs your attention now"
    assert "/staff/inbox" in alert.body
    assert "kill myself" not in alert.body and cast.alice.first_name not in alert.body


async def test_an_ordinary_message_alerts_no_one(cast):
    access, user = await alice()
    await chat(access, user, "Is there parking near the office?")
    assert not await OutboxMessage.filter(dedupe_key__startswith="crisis:").exists()


async def test_both_messages_are_published_after_they_are_stored(cast):
    heard: list[dict] = []

    def listener(event: dict) -> None:
        heard.append(event)

    access, user = await alice()
    broker.listen(listener)
    try:
        answer = await chat(access, user, "balance")
    finally:
        broker.unlisten(listener)
    messages = [e for e in heard if e.get("kind") == "message"]
    assert [e["message_id"] for e in messages] == [answer.said.id, answer.reply.id]
    assert all(e["client_id"] == cast.alice.id for e in messages)
    assert all(e["practice_id"] == cast.practice.id for e in messages)


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001, "confirm\x00"])
async def test_a_refused_message_stores_nothing(cast, text):
    access, user = await alice()
    before = await Message.all().count()
    with pytest.raises(RuleError):
        await chat(access, user, text)
    assert await Message.all().count() == before
    assert not await Thread.filter(kind="chat").exists()
    assert await status_of(cast.a_tomorrow) == "scheduled"


async def test_one_chat_thread_holds_every_turn(cast):
    access, user = await alice()
    first = await chat(access, user, "balance")
    second = await chat(access, user, "hello?")
    assert first.thread.id == second.thread.id
    assert await Message.filter(thread_id=first.thread.id).count() == 3


# ---- language and time zone -----------------------------------------------------------


async def test_a_spanish_client_gets_spanish_dates_money_and_buttons(cast):
    await Client.filter(id=cast.alice.id).update(
        preferred_language="es", time_zone="America/Los_Angeles"
    )
    access, user = await alice()
    balance = await chat(access, user, "saldo")
    assert "270,00" in balance.reply.body and "US$" in balance.reply.body
    confirmed = await chat(access, user, "confirmar", appointment_id=cast.a_soon.id)
    assert_mentions(confirmed.reply.body, cast.a_soon, locale="es", tz="America/Los_Angeles")
    labels = [q.label for q in (await chat(access, user, "ayuda")).quick_replies]
    assert labels[:3] == ["Confirmar", "Cancelar", "Saldo"]


async def test_a_guardian_reads_answers_in_the_childs_language(cast):
    await Client.filter(id=cast.dana.id).update(preferred_language="es")
    access, user = await access_of("Gina", cast.dana.id)
    answer = await chat(access, user, "balance")
    assert "0,00" in answer.reply.body


async def test_an_unknown_language_or_time_zone_falls_back(cast):
    await Client.filter(id=cast.alice.id).update(preferred_language="xx", time_zone="Mars/Base")
    access, user = await alice()
    answer = await chat(access, user, "confirm", appointment_id=cast.a_soon.id)
    assert "is confirmed" in answer.reply.body
    assert assistant.locale_of(access.client) == "en"


async def test_the_clock_decides_what_is_upcoming(cast):
    clock.travel(timedelta(days=4))  # both of Alice's appointments are now past
    access, user = await alice()
    answer = await chat(access, user, "confirm")
    assert answer.reply.body == "You have no appointments waiting for confirmation."


async def test_a_settled_chat_leaves_a_done_chat_thread_done_and_a_question_reopens_it(cast):
    thread = await conversations.chat_thread(cast.alice)
    await conversations.set_done(thread, True)
    user = await User.get(id=cast.alice.user_id)
    access = (await client_accesses(user))[0]
    await chat(access, user, "balance")
    assert (await Thread.get(id=thread.id)).status == "done"
    await chat(access, user, "Can I bring my partner next time?")
    assert (await Thread.get(id=thread.id)).status == "open"
