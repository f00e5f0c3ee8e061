"""What the client's dashboard asks of them, computed from the database."""

from __future__ import annotations

from dataclasses import dataclass

from models import clock
from models.access import SEE_APPOINTMENTS, ClientAccess
from models.documents import open_tasks_for
from models.ledger import Totals, totals_for
from models.people import User
from models.scheduling import UPCOMING_STATUSES, Appointment
from models.settings import Setting

DASHBOARD_APPOINTMENTS = 5


@dataclass
class Dashboard:
    two_factor_needed: bool
    forms_to_complete: int
    documents_to_acknowledge: int
    insurance_needed: bool
    upcoming: list[Appointment]
    totals: Totals | None  # None when this person may not see billing

    @property
    def open_task_count(self) -> int:
        return (
            int(self.two_factor_needed)
            + self.forms_to_complete
            + self.documents_to_acknowledge
            + int(self.insurance_needed)
        )


async def upcoming_appointments(client_id: int, limit: int | None = None) -> list[Appointment]:
    query = (
        Appointment.filter(
            client_id=client_id, status__in=UPCOMING_STATUSES, starts_at__gt=clock.now()
        )
        .select_related("provider__user", "service", "location")
        .order_by("starts_at")
    )
    if limit:
        query = query.limit(limit)
    return await query


async def dashboard_for(
    user: User,
    access: ClientAccess,
    settings: dict[str, Setting],
    open_tasks: tuple[int, int] | None = None,
) -> Dashboard:
    """``open_tasks``: (forms, documents) if the caller already counted them."""
    client = access.client
    forms, acks = (0, 0)
    if settings["documents"] and access.allows("forms"):
        forms, acks = open_tasks or await open_tasks_for(client.id)
    upcoming = []
    if access.allows(SEE_APPOINTMENTS):
        upcoming = await upcoming_appointments(client.id, DASHBOARD_APPOINTMENTS)
    totals = await totals_for(client.id) if access.allows("billing") else None
    return Dashboard(
        two_factor_needed=user.totp_enabled_at is None,
        forms_to_complete=forms,
        documents_to_acknowledge=acks,
        insurance_needed=bool(settings["insurance_display"])
        and access.allows("insurance")
        and client.insurance_choice == "",
        upcoming=upcoming,
        totals=totals,
    )
