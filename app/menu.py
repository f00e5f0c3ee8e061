"""The client portal's left menu (seed 000): entries, visibility and badges."""

from __future__ import annotations

from dataclasses import dataclass

from quart import g

from app.i18n import lazy_gettext as _l
from models.access import SEE_APPOINTMENTS
from models.documents import open_tasks_for
from models.messaging import unread_for_client
from models.people import Role


@dataclass(frozen=True)
class Entry:
    endpoint: str
    path: str
    label: object
    icon: str
    scope: str | None = None
    feature: str | None = None
    badge: str | None = None


CLIENT_MENU = [
    Entry("dashboard.get_dashboard", "/dashboard", _l("Dashboard"), "home"),
    Entry("profile.get_profile", "/profile", _l("My Profile"), "user", scope="profile"),
    Entry(
        "appointments.get_appointments",
        "/appointments",
        _l("My Appointments"),
        "calendar",
        scope=SEE_APPOINTMENTS,
    ),
    Entry(
        "messages.get_messages",
        "/messages",
        _l("My Messages"),
        "mail",
        scope="messages",
        feature="messaging",
        badge="unread",
    ),
    Entry("account.get_account", "/account", _l("My Account"), "dollar", scope="billing"),
    Entry("pay.get_pay", "/pay", _l("Make Payment"), "card", scope="billing", feature="payments"),
    Entry(
        "documents.get_documents",
        "/documents",
        _l("My Docs & Forms"),
        "file",
        scope="forms",
        feature="documents",
        badge="documents",
    ),
    Entry(
        "insurance.get_insurance",
        "/insurance",
        _l("My Insurance"),
        "shield",
        scope="insurance",
        feature="insurance_display",
    ),
]


def visible_entries() -> list[Entry]:
    access, settings = g.access, g.settings
    return [
        e
        for e in CLIENT_MENU
        if (e.scope is None or access.allows(e.scope))
        and (e.feature is None or settings[e.feature])
    ]


async def open_tasks() -> tuple[int, int]:
    """(forms to complete, documents to acknowledge), counted once per request."""
    if not hasattr(g, "open_tasks"):
        g.open_tasks = await open_tasks_for(g.access.client.id)
    return g.open_tasks


async def client_menu() -> dict:
    """Entries plus badge counts, for the menu partial."""
    entries = visible_entries()
    badges: dict[str, int] = {}
    client_id = g.access.client.id
    for entry in entries:
        if entry.badge == "documents":
            forms, acks = await open_tasks()
            badges["documents"] = forms + acks
        elif entry.badge == "unread":
            badges["unread"] = await unread_for_client(client_id)
    return {"entries": entries, "badges": badges}


@dataclass(frozen=True)
class StaffEntry:
    path: str
    label: object
    roles: tuple[str, ...] = ()
    badge: str | None = None


STAFF_MENU = [
    StaffEntry("/staff/inbox", _l("Inbox"), badge="inbox"),
    StaffEntry("/staff/requests", _l("Requests"), (Role.SCHEDULER, Role.PROVIDER)),
    StaffEntry("/staff/clients", _l("Clients")),
    StaffEntry("/staff/calendar", _l("Calendar"), (Role.SCHEDULER, Role.PROVIDER)),
    StaffEntry("/staff/availability", _l("Availability"), (Role.PROVIDER, Role.SCHEDULER)),
    StaffEntry("/staff/forms", _l("Forms"), (Role.PROVIDER, Role.SCHEDULER)),
    StaffEntry(
        "/staff/insurance", _l("Insurance review"), (Role.BILLER, Role.SCHEDULER), badge="insurance"
    ),
    StaffEntry(
        "/staff/profile-changes", _l("Profile changes"), (Role.SCHEDULER,), badge="profile_changes"
    ),
    StaffEntry("/admin/", _l("Practice settings"), (Role.ADMIN,)),
    StaffEntry("/profile/security", _l("Sign-in and security")),
]


async def staff_badges(staff) -> dict[str, int]:
    """Unread client messages in the queues this staff member sees, and what waits in
    the review queues among their menu entries (policies and payers; profile changes)."""
    from models.conversations import queue_counts
    from models.insurance_review import payers_to_review, review_queue
    from models.profile import changes_to_review

    badges = {"inbox": sum((await queue_counts(staff)).values())}
    shown = {e.badge for e in staff_menu(staff)}
    if "insurance" in shown:
        badges["insurance"] = (
            await review_queue(staff.practice_id).count()
            + await payers_to_review(staff.practice_id).count()
        )
    if "profile_changes" in shown:
        badges["profile_changes"] = await changes_to_review(staff.practice_id).count()
    return badges


def staff_menu(staff) -> list[StaffEntry]:
    if staff.has_role(Role.ADMIN):
        return STAFF_MENU
    return [e for e in STAFF_MENU if not e.roles or any(staff.has_role(r) for r in e.roles)]
