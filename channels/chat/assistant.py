"""The chat panel's assistant: what the client wrote, answered at once where it can be.

One turn (``chat``): the text is checked (``Draft``), parsed (``channels.intents``,
the parser SMS shares), acted on through the same ``models`` calls the buttons use
(``Appointment.confirm`` / ``cancel``, ``totals_for``, the contact points'
reminder switches), then stored in the client's chat thread: the client's words,
then the assistant's answer (automated, already read: the client is looking at
it). Both are published to the sockets only after they are committed.

What the assistant does not understand gets no automated answer: the message stays
unread in the chat thread, in the scheduling queue, for a person to answer. Crisis
words are flagged ("crisis"), left unread for the practice, emailed about to the
provider at once (``channels.crisis_mail``, as for a text) and answered at once with
the crisis line, whatever else the message asked.

Answers are stored in the client's preferred language (a guardian reads the
client's), with dates in the client's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from babel.numbers import format_currency

from app.i18n import DEFAULT, LANGUAGES, gettext_in
from app.rules import RULE_MESSAGES
from channels.chat.broker import message_posted
from channels.crisis_mail import alert_provider
from channels.intents import Intent, parse
from models import clock, conversations
from models.access import ClientAccess
from models.audit import READ, audit
from models.conversations import Draft
from models.errors import RuleError
from models.ledger import totals_for
from models.messaging import Message, Thread
from models.people import Client, User
from models.practice import Practice
from models.reminders import set_reminders
from models.scheduling import CANCELLED_STATUSES, UPCOMING_STATUSES, Appointment
from models.settings import Setting, settings_for

MAX_ID = 2**31  # ids are 32-bit integers


@dataclass(frozen=True)
class QuickReply:
    """A button under an answer: pressing it sends ``text`` to ``chat`` with
    ``appointment_id`` and ``accept_fee`` (the late fee, in cents, the button showed)."""

    label: str
    text: str
    appointment_id: int | None = None
    accept_fee: int = 0


@dataclass
class Answer:
    """One turn: the client's message, the assistant's answer (None: it went to the
    practice's team) and the buttons to offer next."""

    said: Message
    reply: Message | None
    thread: Thread
    quick_replies: list[QuickReply] = field(default_factory=list)


@dataclass
class _Outcome:
    """What to answer, decided (and acted on) before anything is stored."""

    text: str | None  # None: no automated answer, a person answers
    quick_replies: list[QuickReply] = field(default_factory=list)
    intent: str = ""  # stored on the client's message


@dataclass
class _Turn:
    """Who is asking, for which client, in which language."""

    access: ClientAccess
    user: User
    client: Client
    practice: Practice
    settings: dict[str, Setting]
    locale: str
    ip: str
    appointment_id: int | None
    accept_fee: int

    def _(self, message: str, **variables) -> str:
        return gettext_in(self.locale, message, **variables)

    def when(self, appointment: Appointment) -> str:
        """ "Tue, May 12 at 3:00 PM" in the client's time zone and language."""
        zone = _zone(self.client.time_zone, self.practice.time_zone)
        date = format_skeleton("MMMEd", appointment.starts_at, tzinfo=zone, locale=self.locale)
        time = format_time(appointment.starts_at, "short", tzinfo=zone, locale=self.locale)
        return self._("%(date)s at %(time)s", date=date, time=time)

    def money(self, cents: int) -> str:
        return format_currency((cents or 0) / 100, "USD", locale=self.locale)

    def rule(self, code: str) -> str:
        """A rule code's sentence (app/rules.py), in the client's language."""
        sentence = RULE_MESSAGES.get(code)
        if sentence is None:
            return self._("That could not be done here. Please contact the practice.")
        return self._(sentence.message)


def _zone(*names: str) -> ZoneInfo:
    for name in names:
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            continue
    return ZoneInfo("UTC")


def locale_of(client: Client) -> str:
    language = client.preferred_language
    return language if language in LANGUAGES else DEFAULT


# ---- the turn -----------------------------------------------------------------------


async def chat(
    access: ClientAccess,
    user: User,
    text: str,
    *,
    appointment_id: int | None = None,
    accept_fee: int = 0,
    ip: str = "",
) -> Answer:
    """Answer one chat message from ``user`` acting for ``access.client``.

    Raises RuleError before storing anything for a message ``Draft`` refuses
    (empty, too long, control characters) and "messaging_off" when the client's
    messaging is switched off or a guardian lacks the messages right (the route
    checks both first; this is the backstop). ``appointment_id``: the appointment a
    quick reply named (anyone else's is ignored). ``accept_fee``: the client pressed
    "Cancel and pay the $X late fee" for that appointment: X, in cents. A fee that
    has risen since is offered again, never charged unseen.
    """
    draft = Draft.of(text)
    turn = await _turn(access, user, ip, appointment_id, accept_fee)
    if not access.allows("messages") or not turn.settings["messaging"]:
        raise RuleError("messaging_off")
    intent = parse(draft.body)
    outcome = await _answer(turn, intent)
    thread = await conversations.chat_thread(turn.client)
    said = await conversations.post(
        thread,
        by=user,
        from_client_side=True,
        body=draft.body,
        via="chat",
        intent=outcome.intent,
        flag="crisis" if intent.crisis else "",
        # Settled by the assistant: nothing for staff to read. Otherwise it waits.
        read=outcome.text is not None and not intent.crisis,
    )
    reply = None
    if outcome.text is not None:
        reply = await conversations.post(
            thread,
            by=None,
            from_client_side=False,
            body=outcome.text,
            via="chat",
            automated=True,
            read=True,
        )
    if intent.crisis:
        await alert_provider(turn.client, dedupe=f"chat:{said.id}")
    for message in (said, reply):
        if message is not None:
            await message_posted(
                message, client_id=turn.client.id, practice_id=turn.client.practice_id
            )
    return Answer(said=said, reply=reply, thread=thread, quick_replies=outcome.quick_replies)


async def _turn(
    access: ClientAccess, user: User, ip: str, appointment_id: int | None, accept_fee: int
) -> _Turn:
    client = access.client
    practice = client.practice
    if not isinstance(practice, Practice):  # not joined by the caller
        practice = await Practice.get(id=client.practice_id)
    return _Turn(
        access=access,
        user=user,
        client=client,
        practice=practice,
        settings=await settings_for(client),
        locale=locale_of(client),
        ip=ip,
        appointment_id=appointment_id,
        accept_fee=max(int(accept_fee), 0),
    )


async def _answer(turn: _Turn, intent: Intent) -> _Outcome:
    if intent.crisis:
        return _Outcome(_crisis_text(turn))
    if intent.bare_cancel:
        # "CANCEL" alone: an opt-out by text; here, ask which appointment (never act).
        return await _cancel(turn, intent, ask=True)
    handler = HANDLERS.get(intent.kind)
    if handler is None:
        return _Outcome(None)  # the practice's team answers
    return await handler(turn, intent)


def _crisis_text(turn: _Turn) -> str:
    return turn._(
        "If you are in danger, call 911 now. You can call or text 988, the Suicide and "
        "Crisis Lifeline, at any time, day or night. Your message has been passed to the "
        "practice's team."
    )


# ---- appointments -------------------------------------------------------------------


async def _upcoming(turn: _Turn) -> list[Appointment]:
    return (
        await Appointment.filter(
            client_id=turn.client.id, status__in=UPCOMING_STATUSES, starts_at__gt=clock.now()
        )
        .select_related("provider")
        .order_by("starts_at", "id")
    )


async def _named(turn: _Turn) -> Appointment | None:
    """The appointment a quick reply named, only if it is this client's."""
    if not 0 < turn.appointment_id < MAX_ID:  # a forged id PostgreSQL cannot even compare
        return None
    return (
        await Appointment.filter(id=turn.appointment_id, client_id=turn.client.id)
        .select_related("provider")
        .first()
    )


def _choose(intent: Intent, options: list[Appointment]) -> Appointment | None:
    """The one to act on without asking: the one picked by number ("confirm 2" is the
    second of the list the client was shown), else the only option. A number that
    picks nothing acts on nothing (the client is asked)."""
    if intent.choice is not None:
        ok = 1 <= intent.choice <= len(options)
        return options[intent.choice - 1] if ok else None
    return options[0] if len(options) == 1 else None


def _which(turn: _Turn, question: str, options: list[Appointment], text: str) -> _Outcome:
    replies = [QuickReply(turn.when(a), text, appointment_id=a.id) for a in options]
    return _Outcome(question, replies)


def _no_appointments_right(turn: _Turn, kind: str) -> _Outcome:
    return _Outcome(turn._("You cannot manage appointments for this client."), intent=kind)


async def _confirm(turn: _Turn, intent: Intent) -> _Outcome:
    if not turn.access.can_book:  # confirm and cancel need "booking" (models/access)
        return _no_appointments_right(turn, "confirm")
    if turn.appointment_id is not None:
        chosen = await _named(turn)
        options: list[Appointment] = []
    else:
        options = [a for a in await _upcoming(turn) if a.needs_confirmation]
        chosen = _choose(intent, options)
    if chosen is None and len(options) > 1:
        question = turn._("Which appointment do you want to confirm?")
        return _with_intent(_which(turn, question, options, turn._("Confirm")), "confirm")
    if chosen is None:
        return _Outcome(turn._("You have no appointments waiting for confirmation."), [], "confirm")
    try:
        await chosen.confirm(by=turn.user, via="chat", ip=turn.ip)
    except RuleError as exc:
        return _Outcome(turn.rule(exc.code), [], "confirm")
    text = turn._("Your appointment on %(when)s is confirmed. Thank you!", when=turn.when(chosen))
    return _Outcome(text, [], "confirm")


async def _cancel(turn: _Turn, intent: Intent, *, ask: bool = False) -> _Outcome:
    if not turn.access.can_book:  # confirm and cancel need "booking" (models/access)
        return _no_appointments_right(turn, "cancel")
    if turn.appointment_id is not None:
        chosen = await _named(turn)
        options: list[Appointment] = []
    else:
        options = await _upcoming(turn)
        chosen = None if ask else _choose(intent, options)
    if chosen is None and options:
        question = turn._("Which appointment do you want to cancel?")
        text = turn._("Cancel my appointment")
        return _with_intent(_which(turn, question, options, text), "cancel")
    if chosen is None:
        return _Outcome(turn._("You have no upcoming appointments to cancel."), [], "cancel")
    return _with_intent(await _cancel_one(turn, chosen), "cancel")


async def _cancel_one(turn: _Turn, appointment: Appointment) -> _Outcome:
    """Cancel under the practice's policy: free at once, late only once the client
    accepted the fee shown, blocked never (call the practice)."""
    when = turn.when(appointment)
    if appointment.status in CANCELLED_STATUSES:  # pressed twice
        return _Outcome(turn._("Your appointment on %(when)s is cancelled.", when=when))
    if not appointment.is_upcoming:
        return _Outcome(turn.rule("appointment_not_cancellable"))
    within_24h = bool(turn.settings["within_24h"])
    terms = appointment.cancellation_terms(turn.practice, within_24h=within_24h)
    if terms.tier == "blocked":
        return _Outcome(_blocked_text(turn, when))
    if terms.fee_cents > turn.accept_fee:  # not accepted, or the fee rose since
        return _late_offer(turn, appointment, terms.fee_cents)
    try:
        done = await appointment.cancel(
            by=turn.user,
            via="chat",
            within_24h_allowed=within_24h,
            ip=turn.ip,
            fee_shown_cents=terms.fee_cents,
        )
    except RuleError as exc:
        return await _cancel_refused(turn, appointment, exc.code, when)
    fee = int(((await done.last_cancel()) or {}).get("fee_cents") or 0)
    if fee:
        text = turn._(
            "Your appointment on %(when)s is cancelled. A late cancellation fee of %(fee)s "
            "was added to your account. You can undo this for 3 minutes in My Appointments.",
            when=when,
            fee=turn.money(fee),
        )
    else:
        text = turn._(
            "Your appointment on %(when)s is cancelled. Changed your mind? You can undo "
            "this for 3 minutes in My Appointments.",
            when=when,
        )
    return _Outcome(text)


def _late_offer(turn: _Turn, appointment: Appointment, fee_cents: int) -> _Outcome:
    fee = turn.money(fee_cents)
    text = turn._(
        "Your appointment on %(when)s is soon, so cancelling now is a late cancellation "
        "with a fee of %(fee)s. To cancel anyway, choose the button below.",
        when=turn.when(appointment),
        fee=fee,
    )
    button = QuickReply(
        turn._("Cancel and pay the %(fee)s late fee", fee=fee),
        turn._("Cancel my appointment"),
        appointment_id=appointment.id,
        accept_fee=fee_cents,
    )
    return _Outcome(text, [button])


def _blocked_text(turn: _Turn, when: str) -> str:
    phone = turn.practice.phone
    if phone:
        return turn._(
            "Your appointment on %(when)s is too close to its start to cancel here. "
            "Please call the practice at %(phone)s.",
            when=when,
            phone=phone,
        )
    return turn._(
        "Your appointment on %(when)s is too close to its start to cancel here. "
        "Please call the practice.",
        when=when,
    )


async def _cancel_refused(turn: _Turn, appointment: Appointment, code: str, when: str) -> _Outcome:
    if code == "appointment_too_late_to_cancel":
        return _Outcome(_blocked_text(turn, when))
    if code == "cancel_fee_changed":  # the fee went up since it was shown: show it again
        fresh = await _named_by_id(turn, appointment.id)
        within_24h = bool(turn.settings["within_24h"])
        terms = fresh.cancellation_terms(turn.practice, within_24h=within_24h)
        offer = _late_offer(turn, fresh, terms.fee_cents)
        offer.text = turn._(
            "The cancellation terms have changed: cancelling now costs %(fee)s. "
            "Review them and cancel again if you still want to.",
            fee=turn.money(terms.fee_cents),
        )
        return offer
    return _Outcome(turn.rule(code))


async def _named_by_id(turn: _Turn, appointment_id: int) -> Appointment:
    return (
        await Appointment.filter(id=appointment_id, client_id=turn.client.id)
        .select_related("provider")
        .get()
    )


def _with_intent(outcome: _Outcome, intent: str) -> _Outcome:
    outcome.intent = intent
    return outcome


# ---- balance, reminders, texts, help ---------------------------------------------------


async def _balance(turn: _Turn, intent: Intent) -> _Outcome:
    if not turn.access.allows("billing"):
        return _Outcome(turn._("You cannot see billing for this client."), [], "balance")
    totals = await totals_for(turn.client.id)
    await audit(
        turn.user, READ, client_id=turn.client.id, category="billing", via="chat", ip=turn.ip
    )
    text = turn._(
        "Your balance is %(amount)s. My Account has the details.",
        amount=turn.money(totals.balance),
    )
    return _Outcome(text, [], "balance")


async def _remind_off(turn: _Turn, intent: Intent) -> _Outcome:
    if not turn.access.allows("profile"):
        return _Outcome(turn._("You cannot change reminders for this client."), [], "remind_off")
    points = await set_reminders(turn.client.id, on=False)
    if not points:
        text = turn._("No reminders were on, so nothing changed.")
        return _Outcome(text, [_reminders_on_button(turn)], "remind_off")
    text = turn._(
        "Reminders are now off for %(where)s. You can turn them on again here or in My Profile.",
        where=", ".join(p.value for p in points),
    )
    return _Outcome(text, [_reminders_on_button(turn)], "remind_off")


async def _remind_on(turn: _Turn, intent: Intent) -> _Outcome:
    """Reminders back on: where some are on already, nothing changes; otherwise the
    default phone (one that has not opted out of texts) and the default email."""
    if not turn.access.allows("profile"):
        return _Outcome(turn._("You cannot change reminders for this client."), [], "remind_on")
    points = await set_reminders(turn.client.id, on=True)
    if points and not points.changed:
        text = turn._(
            "Reminders are already on for %(where)s.",
            where=", ".join(p.value for p in points),
        )
    elif points:
        text = turn._(
            "Reminders are now on for %(where)s. You can choose how many days ahead in My Profile.",
            where=", ".join(p.value for p in points),
        )
    else:
        text = turn._(
            "There is no phone number or email on file for reminders. Add one in My Profile."
        )
    return _Outcome(text, [], "remind_on")


def _reminders_on_button(turn: _Turn) -> QuickReply:
    return QuickReply(turn._("Reminders on"), turn._("Reminders on"))


def _reminders_off_button(turn: _Turn) -> QuickReply:
    return QuickReply(turn._("Reminders off"), turn._("Reminders off"))


async def _stop(turn: _Turn, intent: Intent) -> _Outcome:
    text = turn._(
        "To stop text messages, reply STOP to any text from the practice. To stop only "
        "appointment reminders, choose Reminders off."
    )
    return _Outcome(text, [_reminders_off_button(turn)], "stop")


async def _start(turn: _Turn, intent: Intent) -> _Outcome:
    text = turn._(
        "To get text messages again, reply START to any text from the practice. To turn "
        "appointment reminders back on, choose Reminders on."
    )
    return _Outcome(text, [_reminders_on_button(turn)], "start")


async def _help(turn: _Turn, intent: Intent) -> _Outcome:
    practice = turn.practice
    if practice.phone:
        who = turn._(
            "You are writing to %(practice)s (phone %(phone)s).",
            practice=practice.name,
            phone=practice.phone,
        )
    else:
        who = turn._("You are writing to %(practice)s.", practice=practice.name)
    what = turn._(
        "I can confirm or cancel an appointment, tell you your balance, and turn reminders "
        "off or on. For anything else, write your message and the practice's team will "
        "answer."
    )
    return _Outcome(f"{who} {what}", starting_replies(turn.locale), "help")


HANDLERS = {
    "confirm": _confirm,
    "cancel": _cancel,
    "balance": _balance,
    "remind_off": _remind_off,
    "remind_on": _remind_on,
    "stop": _stop,
    "start": _start,
    "help": _help,
}


def starting_replies(locale: str) -> list[QuickReply]:
    """The panel's first buttons. Each one's text is what the parser understands in
    that language (a test holds every translation to it)."""

    def _(message: str) -> str:
        return gettext_in(locale, message)

    return [
        QuickReply(_("Confirm"), _("Confirm")),
        QuickReply(_("Cancel"), _("Cancel my appointment")),
        QuickReply(_("Balance"), _("Balance")),
        QuickReply(_("Reminders off"), _("Reminders off")),
        QuickReply(_("Help"), _("Help")),
    ]
