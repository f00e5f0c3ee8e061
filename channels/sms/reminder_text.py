"""A planned reminder's text, rendered when it goes out (the plan stores ids only).

``models.reminders`` plans ``OutboxMessage(kind="reminder", body="", context=
{"appointments": [ids], ...})``. Just before sending, ``render_reminder(row)``
reads those appointments again: the ones still upcoming are named (times in the
client's zone and language); "Reply 1 to confirm" is asked only while one of them
still waits for confirmation. ``None`` when none is upcoming any more: the sender
then cancels the row instead of sending it.
"""

from __future__ import annotations

from models import clock
from models.outbox import OutboxMessage
from models.people import Client
from models.scheduling import UPCOMING_STATUSES, Appointment

from .texts import SmsTooLong, render_sms, time_only, when


def _when_list(appointments: list[Appointment], tz: str, lang: str) -> str:
    """ "Tue, Nov 24, 3:00 PM", "... 3:00 PM and 4:00 PM" (one day), "..., Wed, ... and ..."."""
    first_day = when(appointments[0].starts_at, tz, lang).rsplit(", ", 1)[0]
    parts = [when(appointments[0].starts_at, tz, lang)]
    for appointment in appointments[1:]:
        full = when(appointment.starts_at, tz, lang)
        same_day = full.rsplit(", ", 1)[0] == first_day
        parts.append(time_only(appointment.starts_at, tz, lang) if same_day else full)
    if len(parts) == 1:
        return parts[0]
    joiner = " y " if lang == "es" else " and "
    return ", ".join(parts[:-1]) + joiner + parts[-1]


async def render_reminder(row: OutboxMessage) -> str | None:
    """The text of planned reminder ``row``, or None when nothing is left to remind of."""
    ids = [int(i) for i in (row.context or {}).get("appointments", []) if str(i).isdigit()]
    if not ids or row.client_id is None:
        return None
    appointments = (
        await Appointment.filter(
            id__in=ids,
            client_id=row.client_id,
            status__in=UPCOMING_STATUSES,
            starts_at__gt=clock.now(),
        )
        .exclude(status="requested")
        .order_by("starts_at", "id")
    )
    if not appointments:
        return None
    client = await Client.filter(id=row.client_id).select_related("practice").get()
    practice = client.practice
    tz = client.time_zone or practice.time_zone
    lang = row.language or client.preferred_language
    confirm = bool((row.context or {}).get("confirm")) and any(
        a.needs_confirmation for a in appointments
    )
    common = dict(lang=lang, practice=practice.name, phone=practice.phone, confirm=confirm)
    try:
        return render_sms(
            "reminder",
            count=len(appointments),
            when=_when_list(appointments, tz, lang),
            **common,
        )
    except SmsTooLong:  # three times on one day and a long name: name the first only
        return render_sms(
            "reminder",
            count=len(appointments),
            when=when(appointments[0].starts_at, tz, lang),
            **common,
        )
