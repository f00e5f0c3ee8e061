"""Email: rendered from templates, queued in the outbox, sent over SMTP by the worker.

Queue a message inside the transaction that causes it; the worker sends it after::

    await queue_email(
        to=user.email,
        template="password_reset",
        context={"name": user.display_name, "path": f"/password/reset/{token}"},
        lang=user.language,
        dedupe_key=f"password-reset:{reset.id}",
    )

It returns the new ``OutboxMessage``, or ``None`` when that ``dedupe_key`` was queued
before (nothing is added, and the caller's transaction carries on).

Templates
---------
``views/email/<template>.txt`` is a plain-text Jinja template (no HTML, no autoescape)
with two blocks, rendered separately::

    {% block subject %}{{ _("Reset your %(practice)s portal password",
                            practice=practice_name) }}{% endblock %}
    {% block body %}{{ _("Hello %(name)s,", name=name) }}

    {{ _("To choose a new password, open this link:") }}
    {{ public_url }}{{ path }}
    {% endblock %}

- Every sentence goes through ``_()`` (newstyle gettext, ``%(name)s`` placeholders), so
  ``bin/messages`` extracts it (babel.cfg maps ``views/**.txt``); ``lang="es"`` renders
  Spanish. Dates and money use the filters ``local_datetime(tz)``, ``local_date``,
  ``local_time(tz)`` and ``money`` (cents), in the message's language.
- Every template gets ``practice_name`` and ``public_url`` (no trailing slash); pass
  everything else in ``context``. A missing variable is an error (StrictUndefined): test
  optional ones with ``is defined``.
- Blocks are trimmed: the subject becomes one line (at most 200 characters), the body
  loses leading and trailing blank lines. Otherwise Jinja's default whitespace applies
  (a ``{% if %}`` on a line of its own leaves that line's newline; use ``{%- -%}`` or
  keep tags inline).
- No health information: an email can be read by anyone with the mailbox (and its
  subject by anyone who glances at a lock screen). Never put a diagnosis, a service or
  appointment type, a provider's specialty, a balance or message text in a subject or
  body: say that something is waiting and link to the portal, where the person signs in.

Delivery
--------
``deliver_pending(config)`` (called by the worker, woken by ``wake()`` after each queued
message) sends due rows: over SMTP to ``SMTP_URL`` (``smtp://[user:pass@]host[:port]``,
STARTTLS when offered; ``smtps://`` for implicit TLS), or, in development without
``SMTP_URL``, straight into the developer outbox at ``/dev/mail``. Failures back off
exponentially and give up after ``MAX_ATTEMPTS``.

Planned reminders (``models.reminders``: ``kind="reminder"``, an empty subject and body,
``context={"appointments": [ids], "confirm": bool}``) are written just before they go
out (``render_planned``, template ``appointment_reminder``) from the appointments still
upcoming then; with none left, the row is cancelled instead of sent.

Tests: ``tests/mailserver.py`` runs a real SMTP server (the ``smtp_server`` fixture) and
``sent_mail(app, smtp_server)`` delivers and returns what arrived.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import re
from datetime import timedelta
from email.message import EmailMessage
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import aiosmtplib
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined
from jinja2_fragments import render_block
from quart import current_app, has_app_context
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app import i18n
from app.config import ROOT, Config
from channels.wakeup import Wakeup
from models import clock
from models.outbox import OutboxMessage
from models.people import Client
from models.practice import Practice

log = logging.getLogger("portal.email")

CHANNEL = "email"
DEV_OUTBOX_REF = "dev-outbox"
MAX_ATTEMPTS = 8
BATCH = 20
LEASE = timedelta(minutes=5)  # longer than a batch can take (BATCH x SMTP_TIMEOUT)
SMTP_TIMEOUT = 10.0
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")

_config: Config | None = None
_warned_no_smtp = False


# ---- configuration and the wake-up call ---------------------------------------------


def configure(config: Config) -> None:
    """The config to use outside a request (the worker, the CLI); a bad SMTP_URL fails here."""
    global _config
    if config.smtp_url:
        smtp_options(config.smtp_url)
    _config = config


def _current_config() -> Config:
    if has_app_context():
        return current_app.config["PORTAL"]
    return _config or Config.from_env()


_wakeup = Wakeup()
wake_event = _wakeup.event  # what the worker waits on (besides its poll) in this loop
wake = _wakeup.set  # mail is waiting: wake a worker in this process


# ---- rendering ----------------------------------------------------------------------


@cache
def _environment(lang: str) -> Environment:
    # Plain text: no autoescape. The dev outbox page escapes bodies when it shows them.
    env = Environment(
        loader=PrefixLoader({"views": FileSystemLoader(str(ROOT / "views"))}),
        autoescape=False,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )

    def gettext(message: str) -> str:
        return i18n._translations(lang).gettext(message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return i18n._translations(lang).ngettext(singular, plural, n)

    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.filters.update(
        local_datetime=lambda value, tz, fmt="medium": format_datetime(
            value, fmt, tzinfo=ZoneInfo(tz), locale=lang
        ),
        local_date=lambda value, tz=None, fmt="medium": format_date(
            value.astimezone(ZoneInfo(tz)).date() if tz else value, fmt, locale=lang
        ),
        local_time=lambda value, tz: format_time(value, "short", tzinfo=ZoneInfo(tz), locale=lang),
        money=lambda cents: format_currency((cents or 0) / 100, "USD", locale=lang),
    )
    return env


def render_email(template: str, context: dict[str, Any], lang: str = "en") -> tuple[str, str]:
    """``(subject, body)`` of ``views/email/<template>.txt`` in ``lang``."""
    if not _TEMPLATE_NAME.fullmatch(template):
        raise ValueError(f"bad email template name: {template!r}")
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    env = _environment(lang)
    name = f"views/email/{template}.txt"
    subject = " ".join(render_block(env, name, "subject", **context).split())
    body = render_block(env, name, "body", **context).strip("\n").rstrip() + "\n"
    if not subject or not body.strip():
        raise ValueError(f"email template {template!r} rendered an empty subject or body")
    return subject[:200], body


async def _practice_name(client_id: int | None, lang: str) -> str:
    names: list[str] = []
    if client_id is not None:
        names = await Client.filter(id=client_id).limit(1).values_list("practice__name", flat=True)
    if not names:
        names = await Practice.all().order_by("id").limit(1).values_list("name", flat=True)
    return names[0] if names else i18n._translations(lang).gettext("Client Portal")


# ---- queueing -----------------------------------------------------------------------


async def queue_email(
    *,
    to: str,
    template: str,
    context: dict,
    lang: str = "en",
    dedupe_key: str,
    client_id: int | None = None,
) -> OutboxMessage | None:
    """Render and queue one email; ``None`` (and nothing queued) if ``dedupe_key`` exists.

    Runs in the caller's transaction when there is one (the row commits or rolls back
    with the change that caused it); a duplicate never breaks that transaction.
    """
    to = to.strip()
    if not to or "@" not in to or any(c in to for c in "\r\n,;<>") or len(to) > 254:
        raise ValueError("not a single email address")
    if not dedupe_key or len(dedupe_key) > 128:
        raise ValueError("dedupe_key must be 1 to 128 characters")
    if await OutboxMessage.exists(dedupe_key=dedupe_key):
        return None
    context = dict(context)
    if "practice_name" not in context:
        context["practice_name"] = await _practice_name(client_id, lang)
    context.setdefault("public_url", _current_config().public_url.rstrip("/"))
    subject, body = render_email(template, context, lang)
    try:
        # A savepoint inside the caller's transaction (or a transaction of its own):
        # a concurrent duplicate rolls back only this insert.
        async with in_transaction():
            row = await OutboxMessage.create(
                channel=CHANNEL,
                to=to,
                subject=subject,
                body=body,
                dedupe_key=dedupe_key,
                client_id=client_id,
                due_at=clock.now(),
            )
    except IntegrityError:
        if await OutboxMessage.exists(dedupe_key=dedupe_key):
            return None
        raise
    wake()
    return row


# ---- delivery -----------------------------------------------------------------------


def _claimable(now) -> Q:
    return Q(channel=CHANNEL, status="pending", due_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def _sendable(now) -> Q:
    """Claimable, and written: a planned reminder waits for ``render_planned``."""
    return _claimable(now) & ~Q(kind="reminder", body="")


async def _claim(limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows; other workers skip them until the lease ends."""
    now = clock.now()
    async with in_transaction():
        # A model query, not values_list(): Tortoise 1.1 drops FOR UPDATE from values_list.
        rows = (
            await OutboxMessage.filter(_sendable(now))
            .order_by("due_at", "id")
            .limit(limit)
            .select_for_update(skip_locked=True)
            .only("id")
        )
        ids = [row.id for row in rows]
        if not ids:
            return []
        await OutboxMessage.filter(id__in=ids).update(lease_until=now + LEASE)
    return await OutboxMessage.filter(id__in=ids).order_by("due_at", "id")


def smtp_options(url: str) -> dict[str, Any]:
    """aiosmtplib.SMTP keyword arguments for ``smtp://`` or ``smtps://[user:pass@]host[:port]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:port or smtps://user:pass@host")
    implicit_tls = parts.scheme == "smtps"
    options: dict[str, Any] = {
        "hostname": parts.hostname,
        "port": parts.port or (465 if implicit_tls else 25),
        "use_tls": implicit_tls,
        "start_tls": False if implicit_tls else None,  # None: STARTTLS when offered
        "timeout": SMTP_TIMEOUT,
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


def _message_id(row: OutboxMessage, mail_from: str) -> str:
    """Stable across retries, so a receiver can drop a copy sent twice after a crash."""
    domain = email.utils.parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(row.dedupe_key.encode()).hexdigest()[:12]
    return f"<{row.id}.{digest}@{domain}>"


def build_message(row: OutboxMessage, config: Config) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = row.to
    message["Subject"] = row.subject
    message["Date"] = email.utils.format_datetime(clock.now())
    message["Message-ID"] = _message_id(row, config.mail_from)
    message["Auto-Submitted"] = "auto-generated"  # no vacation auto-replies
    message.set_content(row.body, charset="utf-8")
    return message


def _is_permanent(exc: Exception) -> bool:
    """Errors a retry cannot fix: a refused recipient or content (5xx), a bad message."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return exc.code >= 500
    return isinstance(exc, ValueError | UnicodeError)


def _describe(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:200]


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, ... at most 1 h."""
    return min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MAX)


async def _record_failure(row: OutboxMessage, exc: Exception) -> None:
    attempts = row.attempts + 1
    now = clock.now()
    give_up = _is_permanent(exc) or attempts >= MAX_ATTEMPTS
    await OutboxMessage.filter(id=row.id, status="pending").update(
        attempts=attempts,
        last_error=_describe(exc),
        lease_until=None,
        status="failed" if give_up else "pending",
        due_at=now if give_up else now + backoff(attempts),
    )
    log.warning(
        "email %s: attempt %d failed (%s)%s",
        row.id,
        attempts,
        type(exc).__name__,
        ", giving up" if give_up else "",
    )


async def _record_sent(row: OutboxMessage, message_id: str) -> None:
    await OutboxMessage.filter(id=row.id, status="pending").update(
        status="sent",
        sent_at=clock.now(),
        provider_ref=message_id[:64],
        attempts=row.attempts + 1,
        lease_until=None,
    )


async def _send_batch(rows: list[OutboxMessage], config: Config, options: dict) -> int:
    sent = 0
    smtp: aiosmtplib.SMTP | None = None
    try:
        for index, row in enumerate(rows):
            try:
                message = build_message(row, config)
            except (ValueError, UnicodeError) as exc:
                await _record_failure(row, exc)
                continue
            if smtp is None:
                smtp = aiosmtplib.SMTP(**options)
                try:
                    await smtp.connect()
                except Exception as exc:
                    # Nobody to talk to: every row of this batch waits for the next try.
                    smtp = None
                    for waiting in rows[index:]:
                        await _record_failure(waiting, exc)
                    break
            try:
                await smtp.send_message(message)
            except Exception as exc:
                await _record_failure(row, exc)
                if not smtp.is_connected:
                    smtp = None
                continue
            await _record_sent(row, message["Message-ID"])
            sent += 1
    finally:
        if smtp is not None and smtp.is_connected:
            with contextlib.suppress(Exception):
                await smtp.quit()
    return sent


# ---- planned reminders, written when they go out --------------------------------------

REMINDER_TEMPLATE = "appointment_reminder"


async def _reminder_text(row: OutboxMessage, config: Config) -> tuple[str, str] | None:
    """``(subject, body)`` of a planned email reminder from its appointments still
    upcoming (times in the client's zone, "please confirm" while one waits for it);
    None when none is upcoming any more."""
    from models.scheduling import Appointment

    context = row.context or {}
    ids = [int(i) for i in context.get("appointments", []) if str(i).isdigit()]
    if not ids or row.client_id is None:
        return None
    appointments = (
        await Appointment.filter(
            id__in=ids,
            client_id=row.client_id,
            status__in=("scheduled", "confirmed"),
            starts_at__gt=clock.now(),
        )
        .select_related("location")
        .order_by("starts_at", "id")
    )
    if not appointments:
        return None
    client = await Client.filter(id=row.client_id).select_related("practice").get()
    lang = row.language or client.preferred_language
    return render_email(
        REMINDER_TEMPLATE,
        {
            "practice_name": client.practice.name,
            "public_url": config.public_url.rstrip("/"),
            "name": client.preferred_name or client.first_name,
            "time_zone": client.time_zone or client.practice.time_zone,
            "appointments": [
                {
                    "starts_at": a.starts_at,
                    "telehealth": a.telehealth,
                    "place": a.location.name if a.location else "",
                }
                for a in appointments
            ],
            "confirm": bool(context.get("confirm"))
            and any(a.needs_confirmation for a in appointments),
        },
        lang,
    )


async def render_planned(config: Config) -> int:
    """Write the due planned reminders (``models.reminders`` stores ids, not words):
    each gets its subject and body now, or is cancelled when nothing is left to
    remind of. Only a row still pending and unwritten changes, so two workers
    racing here write it once. Returns how many were written or cancelled."""
    now = clock.now()
    rows = await OutboxMessage.filter(
        _claimable(now), kind="reminder", body="", subject=""
    ).order_by("due_at", "id")
    done = 0
    for row in rows:
        try:
            text = await _reminder_text(row, config)
        except Exception as exc:  # a broken row fails alone, the others go out
            log.exception("email reminder %s could not be written", row.id)
            await OutboxMessage.filter(id=row.id, status="pending", body="").update(
                status="failed", last_error=_describe(exc), lease_until=None
            )
            continue
        unwritten = OutboxMessage.filter(id=row.id, status="pending", body="", subject="")
        if text is None:
            done += await unwritten.update(
                status="cancelled", last_error="no upcoming appointment", lease_until=None
            )
        else:
            done += await unwritten.update(subject=text[0], body=text[1])
    return done


async def _deliver_to_dev_outbox(config: Config) -> int:
    now = clock.now()
    count = await OutboxMessage.filter(_sendable(now)).update(
        status="sent", sent_at=now, provider_ref=DEV_OUTBOX_REF, lease_until=None
    )
    if count:
        log.info("%d email(s) in the developer outbox: %s/dev/mail", count, config.public_url)
    return count


async def deliver_pending(config: Config) -> int:
    """Send every due email; return how many were sent (or put in the dev outbox)."""
    global _warned_no_smtp
    if config.smtp_url or config.dev_outbox:
        await render_planned(config)  # before any row is sent: a reminder has no words yet
    if not config.smtp_url:
        if config.dev_outbox:
            return await _deliver_to_dev_outbox(config)
        if not _warned_no_smtp:
            log.warning("SMTP_URL is not set: email stays queued until it is")
            _warned_no_smtp = True
        return 0
    options = smtp_options(config.smtp_url)
    sent = 0
    for _round in range(50):  # bounded: rows that fail are pushed into the future
        rows = await _claim(BATCH)
        if rows:
            sent += await _send_batch(rows, config, options)
        if len(rows) < BATCH:
            break
    return sent
