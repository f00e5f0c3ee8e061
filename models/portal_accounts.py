"""A client's portal account as staff see and control it: its status in the clients
list (not invited, invited, active, locked, disabled, two-factor on), and turning it
off (which signs it out everywhere at once) or on again."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.onboarding import Invitation
from models.people import Client, ContactPoint, User
from models.security import LoginEvent, Session
from models.throttle import HOUR, PASSWORD_FAILURE, account_locked


async def set_portal_access(client: Client, enabled: bool, by: User, *, ip: str = "") -> None:
    """Disable (and sign out everywhere, in the same transaction) or enable again."""
    async with in_transaction():
        fresh = await Client.select_for_update().get(id=client.id)
        if fresh.user_id is None:
            raise RuleError("client_has_no_account")
        if fresh.user_id == getattr(by, "id", None):
            raise RuleError("account_is_yours")
        await User.filter(id=fresh.user_id).update(is_active=enabled)
        if not enabled:
            await Session.filter(user_id=fresh.user_id).delete()
        await audit(
            by,
            "account.enabled" if enabled else "account.disabled",
            client_id=fresh.id,
            category="security",
            ip=ip,
        )


@dataclass
class PortalStatus:
    """A client's portal account as staff see it.

    ``state``: "none" (not invited), "invited" (an open invitation), "active",
    "locked" (throttled after failed sign-ins) or "disabled".
    """

    state: str
    two_factor: bool = False
    email: str = ""  # the default email on file, where an invitation would go


async def portal_statuses(clients: list[Client]) -> dict[int, PortalStatus]:
    """Each client's portal status. ``clients`` come with ``user`` joined
    (``select_related("user")``); the rest is one query per kind, not per client."""
    now = clock.now()
    ids = [c.id for c in clients]
    invited = set(
        await Invitation.filter(
            client_id__in=ids, used_at=None, revoked_at=None, expires_at__gt=now
        ).values_list("client_id", flat=True)
    )
    emails: dict[int, str] = {}
    for client_id, value, is_default in (
        await ContactPoint.filter(client_id__in=ids, kind="email")
        .order_by("id")
        .values_list("client_id", "value", "is_default")
    ):
        if is_default or client_id not in emails:
            emails[client_id] = value
    user_ids = [c.user_id for c in clients if c.user_id is not None]
    # Only an account with a recent failed sign-in can be throttled: one query finds
    # those, then the throttle's own rule decides for each of them (a query each).
    suspects = set(
        await LoginEvent.filter(
            user_id__in=user_ids, detail=PASSWORD_FAILURE, at__gte=now - HOUR
        ).values_list("user_id", flat=True)
    )
    statuses: dict[int, PortalStatus] = {}
    for client in clients:
        user = client.user if client.user_id is not None else None
        if user is None:
            state = "invited" if client.id in invited else "none"
        elif not user.is_active:
            state = "disabled"
        elif user.id in suspects and await account_locked(user):
            state = "locked"
        else:
            state = "active"
        statuses[client.id] = PortalStatus(
            state=state,
            two_factor=bool(user is not None and user.totp_enabled_at is not None),
            email=emails.get(client.id, ""),
        )
    return statuses
