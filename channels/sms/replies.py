"""What a text from a client does, and the text that answers it (queued, never inline).

``handle`` runs inside ``channels.sms.inbound``'s transaction, after the
``InboundSms`` row was inserted: everything here commits with it or not at all.

Who is writing: the ``From`` number's phone contact points (E.164). A number of no
client gets the ``unknown_number`` text (once a day at most, no health information).
One number can belong to several clients (a parent's phone for two children): the
appointments the last text named decide whose they are; otherwise all of them are
candidates.

What the reply refers to: the latest text to that number in the last 14 days that
carried a ``context`` (``models.outbox``): a reminder's appointments, a waitlist
offer, a "which one?" question, a late-fee warning. Replies queued here carry the
context they create, and count while still pending (a sender may not have run yet).

The grammar is ``channels.intents.parse`` (the chat panel's): confirm, cancel (under
the cancellation policy, as the chat assistant applies it: free at once; late only
after the fee was shown and a second "2" came within 30 minutes; blocked: "please
call"), balance (amount only, audited as a READ), reminders off / on, help, STOP and
the carriers' other opt-out words (recorded for the number, no reply: Twilio
confirms; a bare CANCEL is also flagged to staff as a likely cancel request, never
acted on), START / UNSTOP (and YES from an opted-out number). Crisis words are
flagged in the client's chat thread, emailed about to the provider at once (no text
or name in the email) and answered with 911 / 988. Anything else waits in the
client's chat thread for a person, and gets "we will read it" at most once a day.

Every text the client sent, and every automated answer, is stored in the client's
chat thread (via "sms"), so staff read the whole conversation in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.i18n import DEFAULT, gettext_in
from channels.crisis_mail import alert_provider
from channels.intents import Intent, normalize, parse
from channels.sms import opted_out, queue_sms, texts
from models import clock
from models.audit import READ, audit
from models.conversations import chat_thread, post
from models.errors import RuleError
from models.ledger import totals_for
from models.messaging import Message
from models.outbox import InboundSms, OutboxMessage, SmsOptOut
from models.people import Client, ContactPoint, User
from models.practice import Practice
from models.scheduling import (
    CANCELLED_STATUSES,
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    WaitlistOffer,
)
from models.settings import settings_for

CONTEXT_WINDOW = timedelta(days=14)  # a reply refers to texts this recent
LATE_FEE_WINDOW = timedelta(minutes=30)  # a second "2" accepts the fee shown this long
ONCE_A_DAY = timedelta(hours=24)  # "received" / "unknown_number" at most this often
CONTEXT_KINDS = ("reminder", "reply", "waitlist")
MAX_CHOICES = 9


@dataclass
class Handled:
    """What was done: stored on the ``InboundSms`` row, and the messages to publish
    (message, client id, practice id) once committed."""

    outcome: str
    intent: str = ""
    client_id: int | None = None
    posted: list[tuple[Message, int, int]] = field(default_factory=list)


@dataclass
class _Text:
    row: InboundSms
    intent: Intent
    clients: list[Client]  # the candidates, practice joined
    users: dict[int, User]
    num_media: int
    handled: Handled
    threads: dict = field(default_factory=dict)  # client id -> chat thread

    @property
    def phone(self) -> str:
        return self.row.from_number

    def user_of(self, client: Client) -> User | None:
        return self.users.get(client.user_id) if client.user_id else None


# ---- the turn -----------------------------------------------------------------------


async def handle(row: InboundSms, *, num_media: int = 0) -> Handled:
    """Act on one stored text (in the caller's transaction) and queue its answer."""
    intent = parse(row.body)
    clients = await _clients_of(row.from_number, row.to_number)
    users = {u.id: u for u in await User.filter(id__in=[c.user_id for c in clients if c.user_id])}
    text = _Text(row, intent, clients, users, num_media, Handled("", intent=intent.kind))
    if intent.kind == "stop":
        await _stop(text)
    elif intent.kind == "start" or (
        intent.kind == "confirm" and normalize(row.body) == "yes" and await opted_out(text.phone)
    ):
        text.handled.intent = "start"
        await _start(text)
    elif not clients:
        await _unknown_number(text)
    elif intent.crisis:
        await _crisis(text)
    else:
        await HANDLERS.get(intent.kind, _to_staff)(text)
    return text.handled


async def _clients_of(phone: str, to_number: str) -> list[Client]:
    ids = await ContactPoint.filter(kind="phone", value=phone).values_list("client_id", flat=True)
    clients = await Client.filter(id__in=set(ids)).select_related("practice").order_by("id")
    # Several practices on one server: the one whose number was texted, when known.
    here = [c for c in clients if c.practice.sms_number and c.practice.sms_number == to_number]
    return here or clients


async def _practice_for(text: _Text) -> Practice | None:
    if text.clients:
        return text.clients[0].practice
    return (
        await Practice.filter(sms_number=text.row.to_number).first()
        or await Practice.all().order_by("id").first()
    )


def _lang(client: Client | None) -> str:
    return client.preferred_language if client is not None else DEFAULT


def _render(name: str, practice: Practice, client: Client | None, **context) -> str:
    return texts.render_sms(
        name,
        lang=_lang(client),
        practice=practice.name,
        phone=practice.phone or practice.sms_number,
        **context,
    )


def _when(appointment: Appointment, client: Client) -> str:
    zone = client.time_zone or client.practice.time_zone
    return texts.when(appointment.starts_at, zone, _lang(client))


async def _reply(
    text: _Text, client: Client | None, body: str, context: dict | None = None
) -> OutboxMessage | None:
    return await queue_sms(
        to=text.phone,
        body=body,
        dedupe_key=f"reply:{text.row.message_sid}",
        kind="reply",
        client_id=client.id if client else None,
        context=context,
        language=_lang(client),
    )


def _said(text: _Text) -> str:
    """The client's words as the chat thread shows them."""
    body = text.row.body.strip()
    if body:
        return body
    return gettext_in(DEFAULT, "(A picture or file sent by text. It is not kept here.)")


async def _thread(text: _Text, client: Client):
    if client.id not in text.threads:
        text.threads[client.id] = await chat_thread(client)
    return text.threads[client.id]


async def _post_said(
    text: _Text, client: Client, *, read: bool, intent: str = "", flag: str = ""
) -> None:
    thread = await _thread(text, client)
    message = await post(
        thread,
        by=text.user_of(client),
        from_client_side=True,
        body=_said(text),
        via="sms",
        intent=intent,
        flag=flag,
        read=read,
    )
    text.handled.posted.append((message, client.id, client.practice_id))


async def _post_answer(text: _Text, client: Client, body: str) -> None:
    thread = await _thread(text, client)
    message = await post(
        thread, by=None, from_client_side=False, body=body, via="sms", automated=True, read=True
    )
    text.handled.posted.append((message, client.id, client.practice_id))


async def _answer(
    text: _Text, client: Client, outcome: str, body: str, context: dict | None = None
) -> None:
    """An understood text: the client's words (read) and the answer, both in the
    chat thread; the answer queued as a text."""
    text.handled.outcome = outcome
    text.handled.client_id = client.id
    await _post_said(text, client, read=True, intent=text.handled.intent)
    await _reply(text, client, body, context)
    await _post_answer(text, client, body)


async def _replied_lately(phone: str, outcome: str, sid: str) -> bool:
    """Did a text from ``phone`` with this outcome get an answer in the last day?"""
    since = clock.now() - ONCE_A_DAY
    sids = await InboundSms.filter(
        from_number=phone, outcome=outcome, received_at__gte=since
    ).values_list("message_sid", flat=True)
    keys = [f"reply:{s}" for s in sids if s != sid]
    return bool(keys) and await OutboxMessage.exists(dedupe_key__in=keys)


# ---- opt-out and opt-in ----------------------------------------------------------------


async def _stop(text: _Text) -> None:
    """The carriers' opt-out: no text to this number from us until START. No reply
    (Twilio confirms STOP itself). A bare CANCEL is flagged as a likely cancel request."""
    now = clock.now()
    keyword = normalize(text.row.body)[:16]
    if not await SmsOptOut.exists(phone=text.phone):
        try:
            async with in_transaction():  # a savepoint: a concurrent STOP may win
                await SmsOptOut.create(phone=text.phone, opted_out_at=now, keyword=keyword)
        except IntegrityError:
            pass
    await ContactPoint.filter(kind="phone", value=text.phone, sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    )
    text.handled.outcome = "opted_out"
    text.handled.intent = "stop"
    for client in text.clients:
        if text.intent.bare_cancel:
            await _post_said(text, client, read=False, intent="stop", flag="cancel_request")
        else:
            await _post_said(text, client, read=True, intent="stop")
        if text.intent.crisis:
            await alert_provider(client, dedupe=text.row.message_sid)
    if text.clients:
        text.handled.client_id = text.clients[0].id


async def _start(text: _Text) -> None:
    """Texts again (START, UNSTOP, or YES from an opted-out number); Twilio confirms."""
    await SmsOptOut.filter(phone=text.phone).delete()
    await ContactPoint.filter(kind="phone", value=text.phone).update(sms_opted_out_at=None)
    text.handled.outcome = "opted_in"
    for client in text.clients:
        await _post_said(text, client, read=True, intent="start")
    if text.clients:
        text.handled.client_id = text.clients[0].id


# ---- numbers of no client, crisis, the rest to staff -----------------------------------


async def _unknown_number(text: _Text) -> None:
    practice = await _practice_for(text)
    if text.intent.crisis:
        text.handled.outcome = "crisis"
        if practice is not None:
            await _reply(text, None, _render("crisis", practice, None))
        return
    text.handled.outcome = "unknown_number"
    if practice is None or await _replied_lately(
        text.phone, "unknown_number", text.row.message_sid
    ):
        return
    await _reply(text, None, _render("unknown_number", practice, None))


async def _crisis(text: _Text) -> None:
    """Flag it in every candidate's thread (unread), alert each provider at once,
    and answer with the crisis line."""
    text.handled.outcome = "crisis"
    for client in text.clients:
        await _post_said(text, client, read=False, intent=text.intent.kind, flag="crisis")
        await alert_provider(client, dedupe=text.row.message_sid)
    client = text.clients[0]
    text.handled.client_id = client.id
    body = _render("crisis", client.practice, client)
    await _reply(text, client, body)
    await _post_answer(text, client, body)


async def _to_staff(text: _Text, client: Client | None = None) -> None:
    """Not understood: unread in the client's chat thread, live for staff; "we will
    read it" once a day at most."""
    client = client or text.clients[0]
    text.handled.outcome = "to_staff"
    text.handled.client_id = client.id
    await _post_said(text, client, read=False, intent="")
    if await _replied_lately(text.phone, "to_staff", text.row.message_sid):
        return
    await _reply(text, client, _render("received", client.practice, client))


# ---- what the reply refers to -------------------------------------------------------------


async def _context(text: _Text) -> OutboxMessage | None:
    """The latest text to this number, in the window, that carried a context."""
    since = clock.now() - CONTEXT_WINDOW
    rows = (
        await OutboxMessage.filter(
            channel="sms", to=text.phone, kind__in=CONTEXT_KINDS, due_at__gte=since
        )
        .filter(Q(status__in=("sent", "sending")) | Q(status="pending", kind="reply"))
        .order_by("-due_at", "-id")
        .limit(50)
    )
    rows = [r for r in rows if isinstance(r.context, dict) and r.context]
    if not rows:
        return None
    return max(rows, key=lambda r: (r.sent_at or r.due_at, r.id))


def _ids(values) -> list[int]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31]


async def _appointments(text: _Text, ids: list[int]) -> list[Appointment]:
    """These appointments, in this order, only where they are a candidate's."""
    mine = [c.id for c in text.clients]
    found = {
        a.id: a
        for a in await Appointment.filter(id__in=ids, client_id__in=mine).select_related("provider")
    }
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def _upcoming(text: _Text) -> list[Appointment]:
    return (
        await Appointment.filter(
            client_id__in=[c.id for c in text.clients],
            status__in=UPCOMING_STATUSES,
            starts_at__gt=clock.now(),
        )
        .select_related("provider")
        .order_by("starts_at", "id")
    )


def _client_of(text: _Text, appointment: Appointment) -> Client:
    return next(c for c in text.clients if c.id == appointment.client_id)


def _only_client(text: _Text, listed: list[Appointment]) -> Client | None:
    """Whose text this is: the one candidate, or the one the last text was about."""
    if len(text.clients) == 1:
        return text.clients[0]
    owners = {a.client_id for a in listed}
    if len(owners) == 1:
        return next(c for c in text.clients if c.id in owners)
    return None


def _pick(intent: Intent, listed: list[Appointment]) -> Appointment | None:
    if intent.choice is None or not 1 <= intent.choice <= len(listed):
        return None
    return listed[intent.choice - 1]


async def _which(text: _Text, action: str, options: list[Appointment]) -> None:
    """ "Which one?": as many choices as fit one text, remembered for "C2" / "X2"."""
    client = _client_of(text, options[0])
    shown = options[:MAX_CHOICES]
    while True:
        choices = "; ".join(
            f"{n}) {_when(a, _client_of(text, a))}" for n, a in enumerate(shown, start=1)
        )
        try:
            body = _render(
                "which", client.practice, client, choices=choices, action=action, count=len(shown)
            )
            break
        except texts.SmsTooLong:
            if len(shown) <= 2:
                raise
            shown = shown[:-1]
    text.handled.intent = action
    context = {"ask": action, "appointments": [a.id for a in shown]}
    await _answer(text, client, "asked", body, context)


async def _nothing(text: _Text, client: Client | None = None) -> None:
    client = client or text.clients[0]
    await _answer(text, client, "nothing", _render("nothing", client.practice, client))


# ---- confirm, cancel, the waitlist ---------------------------------------------------------


async def _confirm(text: _Text) -> None:
    found = await _context(text)
    context = found.context if found else {}
    if "offer" in context:
        await _take_offer(text, context.get("offer"))
        return
    if context.get("appointments"):
        listed = await _appointments(text, _ids(context["appointments"]))
        pending = [a for a in listed if a.status == AppointmentStatus.SCHEDULED and a.is_upcoming]
    else:
        listed = [a for a in await _upcoming(text) if a.needs_confirmation]
        pending = listed
    chosen = _pick(text.intent, listed)
    if chosen is None and text.intent.choice is None:
        if len(pending) > 1:
            await _which(text, "confirm", pending)
            return
        chosen = pending[0] if pending else None
    if chosen is None:
        await _nothing(text, _only_client(text, listed))
        return
    client = _client_of(text, chosen)
    try:
        await chosen.confirm(by=text.user_of(client), via="sms")
    except RuleError:
        await _nothing(text, client)
        return
    body = _render("confirmed", client.practice, client, when=_when(chosen, client))
    await _answer(text, client, "confirmed", body)


async def _cancel(text: _Text) -> None:
    found = await _context(text)
    context = found.context if found else {}
    if "offer" in context:  # "2" to an offer is not a cancel of anything: a person reads it
        await _to_staff(text)
        return
    accepted = 0
    if "late_fee" in context and found.due_at >= clock.now() - LATE_FEE_WINDOW:
        fee = context.get("late_fee")
        accepted = fee if isinstance(fee, int) and not isinstance(fee, bool) else 0
    if context.get("appointments"):
        listed = await _appointments(text, _ids(context["appointments"]))
    else:
        listed = await _upcoming(text)
    chosen = _pick(text.intent, listed)
    if chosen is None and text.intent.choice is None:
        upcoming = [a for a in listed if a.is_upcoming]
        if len(upcoming) > 1:
            await _which(text, "cancel", upcoming)
            return
        chosen = upcoming[0] if upcoming else None
        if chosen is None and len(listed) == 1 and listed[0].status in CANCELLED_STATUSES:
            chosen = listed[0]  # sent twice: say it is cancelled again
    if chosen is None:
        await _nothing(text, _only_client(text, listed))
        return
    await _cancel_one(text, _client_of(text, chosen), chosen, accepted)


async def _cancel_one(
    text: _Text, client: Client, appointment: Appointment, accepted_fee: int
) -> None:
    """The chat assistant's rules: free at once; late only once the fee shown was
    accepted (a fee that rose is shown again); blocked never (please call)."""
    practice = client.practice
    when = _when(appointment, client)
    if appointment.status in CANCELLED_STATUSES:
        await _answer(text, client, "cancelled", _render("cancelled", practice, client, when=when))
        return
    if not appointment.is_upcoming:
        await _nothing(text, client)
        return
    within_24h = bool((await settings_for(client))["within_24h"])
    terms = appointment.cancellation_terms(practice, within_24h=within_24h)
    if terms.tier == "blocked":
        await _blocked(text, client, when)
        return
    if terms.fee_cents > accepted_fee:
        await _late_fee(text, client, appointment, terms.fee_cents)
        return
    try:
        done = await appointment.cancel(
            by=text.user_of(client),
            via="sms",
            within_24h_allowed=within_24h,
            fee_shown_cents=terms.fee_cents,
        )
    except RuleError as exc:
        if exc.code == "appointment_too_late_to_cancel":
            await _blocked(text, client, when)
        elif exc.code == "cancel_fee_changed":
            fresh = await Appointment.filter(id=appointment.id).select_related("provider").get()
            fee = fresh.cancellation_terms(practice, within_24h=within_24h).fee_cents
            await _late_fee(text, client, fresh, fee)
        else:
            await _nothing(text, client)
        return
    fee = int(((await done.last_cancel()) or {}).get("fee_cents") or 0)
    if fee:
        body = _render(
            "cancelled_fee", practice, client, when=when, fee=texts.money(fee, _lang(client))
        )
    else:
        body = _render("cancelled", practice, client, when=when)
    await _answer(text, client, "cancelled", body)


async def _blocked(text: _Text, client: Client, when: str) -> None:
    await _answer(text, client, "blocked", _render("blocked", client.practice, client, when=when))


async def _late_fee(text: _Text, client: Client, appointment: Appointment, fee: int) -> None:
    body = _render(
        "late_fee",
        client.practice,
        client,
        when=_when(appointment, client),
        fee=texts.money(fee, _lang(client)),
    )
    context = {"late_fee": fee, "appointments": [appointment.id]}
    await _answer(text, client, "late_fee", body, context)


async def _take_offer(text: _Text, offer_id) -> None:
    """ "1" to a waitlist offer: book the held time, as the offer page does."""
    from models import booking, waitlist

    ids = _ids([offer_id])
    offer = await WaitlistOffer.filter(id=ids[0]).select_related("entry").first() if ids else None
    mine = {c.id for c in text.clients}
    if offer is None or offer.entry.client_id not in mine:
        await _nothing(text)
        return
    client = next(c for c in text.clients if c.id == offer.entry.client_id)
    gone = _render("waitlist_gone", client.practice, client)
    if offer.status != "offered" or offer.hold_until <= clock.now():
        await _answer(text, client, "offer_gone", gone)
        return
    request = booking.BookingRequest(
        provider_id=offer.provider_id,
        starts_at=offer.starts_at,
        telehealth=offer.telehealth,
        location_id=offer.location_id,
        service_id=offer.service_id,
    )
    try:
        async with in_transaction():  # a savepoint: a refused booking leaves nothing
            appointment = await booking.book(client, request, by=text.user_of(client), via="sms")
            await waitlist.mark_taken(offer, appointment)
    except RuleError:
        await _answer(text, client, "offer_gone", gone)
        return
    # The practice may take bookings as requests: then it is asked for, not booked.
    requested = appointment.status == AppointmentStatus.REQUESTED
    name = "waitlist_requested" if requested else "waitlist_taken"
    body = _render(name, client.practice, client, when=_when(appointment, client))
    await _answer(text, client, "requested" if requested else "booked", body)


# ---- balance, reminders, help ----------------------------------------------------------------


async def _balance(text: _Text) -> None:
    found = await _context(text)
    ids = _ids((found.context if found else {}).get("appointments"))
    client = _only_client(text, await _appointments(text, ids) if ids else [])
    if client is None:  # a shared phone: whose balance? a person answers
        await _to_staff(text)
        return
    totals = await totals_for(client.id)
    await audit(text.user_of(client), READ, client_id=client.id, category="billing", via="sms")
    amount = texts.money(totals.balance, _lang(client))
    await _answer(
        text, client, "balance", _render("balance", client.practice, client, amount=amount)
    )


async def _remind(text: _Text, on: bool) -> None:
    from models.reminders import set_reminders  # rebuilds the plan in this transaction

    for client in text.clients:  # the phone's owner speaks for every client it serves
        await set_reminders(client.id, on)
    client = text.clients[0]
    name = "reminders_on" if on else "reminders_off"
    body = _render(name, client.practice, client)
    await _answer(text, client, "reminders_on" if on else "reminders_off", body)


async def _remind_off(text: _Text) -> None:
    await _remind(text, False)


async def _remind_on(text: _Text) -> None:
    await _remind(text, True)


async def _help(text: _Text) -> None:
    client = text.clients[0]
    await _answer(text, client, "help", _render("help", client.practice, client))


HANDLERS = {
    "confirm": _confirm,
    "cancel": _cancel,
    "balance": _balance,
    "remind_off": _remind_off,
    "remind_on": _remind_on,
    "help": _help,
}
