"""Who may act for which client. Every client-side object is fetched through here.

A user acts for a client when they are that client, or a contact of the client
with portal access (and the practice allows contact access). A guardian's
``scopes`` say which sections they may use for that client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.people import ALL_SCOPES, Client, Contact, StaffMember, User
from models.settings import settings_for


@dataclass
class ClientAccess:
    client: Client
    relationship: str  # "self" or the contact's relationship
    scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))

    @property
    def is_self(self) -> bool:
        return self.relationship == "self"

    def allows(self, scope: str) -> bool:
        return self.is_self or scope in self.scopes


async def own_client(user: User) -> Client | None:
    """The user's own client record, with what settings need already joined."""
    return (
        await Client.filter(user_id=user.id).select_related("practice", "primary_provider").first()
    )


_UNKNOWN = object()


async def client_accesses(user: User, own=_UNKNOWN) -> list[ClientAccess]:
    """Every client this user may act for, their own record first.

    ``own``: the user's own client if the caller already fetched it (or None).
    """
    result: list[ClientAccess] = []
    if own is _UNKNOWN:
        own = await own_client(user)
    if own is not None and own.portal_enabled:
        result.append(ClientAccess(own, "self"))
    # Most users are no one's contact: probe cheaply before the joined query.
    if not await Contact.filter(user_id=user.id, portal_access=True).exists():
        return result
    contacts = (
        await Contact.filter(user_id=user.id, portal_access=True, client__portal_enabled=True)
        .select_related("client__practice", "client__primary_provider")
        .order_by("client__first_name", "client_id")
    )
    for contact in contacts:
        if own is not None and contact.client_id == own.id:
            continue
        if not (await settings_for(contact.client))["contact_access"]:
            continue
        result.append(ClientAccess(contact.client, contact.relationship, list(contact.scopes)))
    return result


def pick_access(accesses: list[ClientAccess], client_id: int | None) -> ClientAccess | None:
    """The access for ``client_id`` if the user has it, else their first one."""
    for access in accesses:
        if access.client.id == client_id:
            return access
    return accesses[0] if accesses else None


async def staff_member_for(user: User) -> StaffMember | None:
    return await StaffMember.filter(user_id=user.id, active=True).select_related("practice").first()
