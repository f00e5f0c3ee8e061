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


async def client_accesses(user: User) -> list[ClientAccess]:
    """Every client this user may act for, their own record first."""
    result: list[ClientAccess] = []
    own = await Client.get_or_none(user_id=user.id, portal_enabled=True)
    if own is not None:
        result.append(ClientAccess(own, "self"))
    contacts = (
        await Contact.filter(user_id=user.id, portal_access=True, client__portal_enabled=True)
        .select_related("client")
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
    return await StaffMember.get_or_none(user_id=user.id, active=True)
