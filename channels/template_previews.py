"""A preview of every text and email the portal sends to clients (issue 9), for
``/admin/templates``: each SMS and email template rendered with made-up sample data
through the renderers the senders use (``render_sms``, ``render_email``); nothing is
queued or sent. The senders build their context inline next to the queueing call, so
the sample contexts here mirror them (the templates' StrictUndefined makes a missing
variable fail loudly, so a renamed one breaks the preview's test, not a client's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from quart import current_app

from app.i18n import lazy_gettext as _l
from app.setting_names import LABELS
from channels.email import render_email
from channels.sms import texts
from models import clock
from models.practice import Practice

SAMPLE_CLIENT = "Sam Sample"
SAMPLE_FIRST = "Sam"
SAMPLE_PROVIDER = "Dr. Example"
SAMPLE_PLACE = "Main office"
SAMPLE_FEE_CENTS = 5000
SAMPLE_BALANCE_CENTS = 12000


@dataclass(frozen=True)
class Preview:
    """One template as the page shows it."""

    channel: str  # "sms" | "email"
    template: str  # views/<channel>/<template>.txt
    name: object  # what it is (lazy text, or a tuple of them joined by ": ")
    sent: object  # when it is sent
    switch: object  # what turns it on or off
    context: dict  # extra, sample values beyond the common ones


_PORTAL = _l("Client portal settings")
_REMINDER_PREFS = _l(
    "The client's reminder preferences for each phone (My Profile); never to a number that "
    "replied STOP."
)
_EMAIL_PREFS = _l("The client's reminder preferences for each email (My Profile).")
_REPLY = _l("An answer to a text from the client; never to a number that replied STOP.")
_ALWAYS = _l("Always sent: no switch.")
_WAITLIST = _l("Sent while the client waits on the waitlist and a time opens up.")
_NOTIFY = _l("Client notifications")
_NOTIFY_EVENTS = (
    "created",
    "rescheduled",
    "cancelled",
    "request_confirmed",
    "request_declined",
)
_SECURITY = {
    "password": _l("The client's password was changed."),
    "username": _l("The client's username was changed."),
    "two_factor_on": _l("Two-factor sign-in was turned on."),
    "two_factor_off": _l("Two-factor sign-in was turned off."),
    "recovery_codes": _l("New recovery codes were made."),
    "code_replayed": _l("A used two-factor code was entered again."),
}

SMS = (
    (
        "reminder",
        _l("Reminder, asking for confirmation"),
        _l("Before each appointment, as the phone's preferences say (09:00 to 20:00)."),
        _REMINDER_PREFS,
        {"count": 1, "confirm": True},
    ),  # noqa: E501
    (
        "reminder",
        _l("Reminder"),
        _l("Before each appointment, when the phone does not ask for confirmation."),
        _REMINDER_PREFS,
        {"count": 1, "confirm": False},
    ),  # noqa: E501
    ("confirmed", _l("Confirmed"), _l("The client replied 1 to a reminder."), _REPLY, {}),
    (
        "cancelled",
        _l("Cancelled"),
        _l("The client replied 2 and the cancellation is free."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "late_fee",
        _l("Late cancellation fee"),
        _l("The client replied 2 inside the late-cancellation window: the fee is named first."),
        _REPLY,
        {"fee": SAMPLE_FEE_CENTS},
    ),  # noqa: E501
    (
        "cancelled_fee",
        _l("Cancelled with a late fee"),
        _l("The client replied 2 again and accepted the fee."),
        _REPLY,
        {"fee": SAMPLE_FEE_CENTS},
    ),  # noqa: E501
    (
        "blocked",
        _l("Too late to cancel"),
        _l("The client replied 2 when it is too close to cancel online."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "which",
        _l("Which appointment?"),
        _l("The client replied 1 or 2 with two appointments waiting."),
        _REPLY,
        {"action": "confirm", "count": 2},
    ),  # noqa: E501
    (
        "nothing",
        _l("Nothing waiting"),
        _l("The client replied 1 or 2 and no appointment waits for it."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "balance",
        _l("Balance"),
        _l("The client texted BAL."),
        _REPLY,
        {"amount": SAMPLE_BALANCE_CENTS},
    ),  # noqa: E501
    ("reminders_off", _l("Reminders off"), _l("The client texted REMIND OFF."), _REPLY, {}),
    ("reminders_on", _l("Reminders on"), _l("The client texted REMIND ON."), _REPLY, {}),
    ("help", _l("Help"), _l("The client texted HELP."), _REPLY, {}),
    (
        "received",
        _l("Message received"),
        _l("Any other text: it goes to the staff inbox."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "crisis",
        _l("Crisis answer"),
        _l("A text with crisis words: answered at once, and the provider is emailed."),
        _ALWAYS,
        {},
    ),  # noqa: E501
    (
        "unknown_number",
        _l("Unknown number"),
        _l("A text from a number that belongs to no client."),
        _ALWAYS,
        {},
    ),  # noqa: E501
    (
        "waitlist_offer",
        _l("Waitlist offer"),
        _l("A time the client waits for opened up: held for 15 minutes."),
        _WAITLIST,
        {},
    ),  # noqa: E501
    (
        "waitlist_taken",
        _l("Waitlist time booked"),
        _l("The client replied 1 to an offer and the time is booked."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "waitlist_requested",
        _l("Waitlist time requested"),
        _l("The client replied 1 to an offer and the practice books by request."),
        _REPLY,
        {},
    ),  # noqa: E501
    (
        "waitlist_gone",
        _l("Waitlist time taken"),
        _l("The client replied 1 too late: the time went to someone else."),
        _REPLY,
        {},
    ),  # noqa: E501
)


def _email_previews() -> list[Preview]:
    previews = [
        Preview(
            "email",
            "appointment_event",
            (_l("Appointment email"), LABELS[f"notify_{event}"]),
            _l("3 minutes after the event (its undo window), if it still stands."),
            (_NOTIFY, LABELS[f"notify_{event}"]),
            {"event": event, "telehealth": False},
        )
        for event in _NOTIFY_EVENTS
    ]
    previews += [
        Preview(
            "email",
            "appointment_reminder",
            _l("Appointment reminder"),
            _l("Before each appointment, as the email's preferences say."),
            _EMAIL_PREFS,
            {"confirm": True},
        ),  # noqa: E501
        Preview(
            "email",
            "waitlist_offer",
            _l("Waitlist offer"),
            _l("A time the client waits for opened up: held for 15 minutes."),
            _WAITLIST,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "message_notice",
            _l("New secure message"),
            _l("A message from the practice still unread after 5 minutes."),
            _l("Allow secure messaging"),
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "invitation",
            _l("Invitation"),
            _l("Staff press Invite on a client's page."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "registration_confirm",
            _l("Confirm your email"),
            _l("Someone new registers at /register."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "registration_exists",
            _l("Already registered"),
            _l("Someone registers at /register with an email already known."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "registration_review",
            _l("Registration under review"),
            _l("Someone registers with the name and date of birth of a client."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "registration_approved",
            _l("Registration approved"),
            _l("Staff approve a registration that waited for review."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "password_reset",
            _l("Password reset"),
            _l("The client asks to reset their password."),
            _ALWAYS,
            {},
        ),  # noqa: E501
        Preview(
            "email",
            "new_device",
            _l("New sign-in"),
            _l("The client signs in from a browser not seen before."),
            _ALWAYS,
            {},
        ),  # noqa: E501
    ]
    previews += [
        Preview("email", "security_notice", _l("Security notice"), sent, _ALWAYS, {"what": what})
        for what, sent in _SECURITY.items()
    ]
    return previews


def _say(text: object) -> str:
    """Lazy text (or a tuple of lazy texts) in the page's language."""
    if isinstance(text, tuple):
        return ": ".join(str(part) for part in text)
    return str(text)


def sample_start(zone: ZoneInfo) -> datetime:
    """Next Tuesday at 10:00 in the practice's time zone."""
    today = clock.now().astimezone(zone).date()
    day = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=zone)


def practice_zone(practice: Practice) -> str:
    tz = practice.time_zone or "UTC"
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        return "UTC"
    return tz


def render_previews(practice: Practice, lang: str) -> list[dict]:
    """Every template rendered in ``lang`` with sample data; nothing is sent."""
    tz = practice_zone(practice)
    starts = sample_start(ZoneInfo(tz))
    hold_until = clock.now() + timedelta(minutes=15)
    sms_when = texts.when(starts, tz, lang)
    later = texts.when(starts + timedelta(days=2), tz, lang)
    shown = []
    for template, name, sent, switch, extra in SMS:
        context = dict(extra)
        if "fee" in context:
            context["fee"] = texts.money(context["fee"], lang)
        if "amount" in context:
            context["amount"] = texts.money(context["amount"], lang)
        if template == "which":
            context["choices"] = f"1) {sms_when}; 2) {later}"
        body = texts.render_sms(
            template,
            lang=lang,
            practice=practice.name,
            phone=practice.phone,
            when=sms_when,
            until=texts.time_only(hold_until, tz, lang),
            **context,
        )
        shown.append(
            dict(channel="sms", template=template, name=_say(name), sent=_say(sent),
                 switch=_say(switch), subject="", body=body)
        )  # fmt: skip
    common = {
        "practice_name": practice.name,
        "public_url": current_app.config["PORTAL"].public_url.rstrip("/"),
        "name": SAMPLE_FIRST,
        "time_zone": tz,
        "starts_at": starts,
        "hold_until": hold_until,
        "expires_at": clock.now() + timedelta(days=7),
        "path": "/sample-link",
        "when": clock.now().strftime("%Y-%m-%d %H:%M UTC"),
        "browser": "Firefox on Linux",
        "place": "Springfield, US",
        "appointments": [{"starts_at": starts, "telehealth": False, "place": SAMPLE_PLACE}],
    }
    for preview in _email_previews():
        context = {**common, **preview.context}
        if preview.template in ("new_device", "password_reset", "security_notice"):
            context["name"] = SAMPLE_CLIENT  # these greet the account's display name
        subject, body = render_email(preview.template, context, lang)
        shown.append(
            dict(channel="email", template=preview.template, name=_say(preview.name),
                 sent=_say(preview.sent), switch=_say(preview.switch), subject=subject, body=body)
        )  # fmt: skip
    return shown
