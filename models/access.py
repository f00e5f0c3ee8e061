"""Who may act for which client. Every client-side object is fetched through here.

A user acts for a client when they are that client, or a contact of the client
with portal access (and the practice allows contact access). A guardian's
``scopes`` say which sections they may use for that client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models.audit import audit
from models.auth import normalize_email
from models.errors import RuleError
from models.onboarding import Send, valid_email
from models.people import ALL_SCOPES, Client, Contact, Scope, StaffMember, User
from models.practice import Practice
from models.resets import invitation_mail
from models.settings import settings_for

# The two appointment rights, named once for routes, menus and templates.
SEE_APPOINTMENTS = Scope.APPOINTMENTS.value  # the list, a card, .ics, print, Join
BOOKING = Scope.BOOKING.value  # book, confirm, cancel, reschedule, undo, waitlist, offers
# Booking includes seeing: a contact who may cancel an appointment must be able to
# see it. So "booking" alone grants the appointment pages too; "appointments"
# alone grants no booking action. Staff saving "booking" also store "appointments"
# (``clean_scopes``), so the checkboxes show what the contact really has.
IMPLIED_SCOPES: dict[str, tuple[str, ...]] = {BOOKING: (SEE_APPOINTMENTS,)}


def effective_scopes(scopes: Iterable[str] | None) -> set[str]:
    """The rights a contact's stored ``scopes`` give, implied ones included."""
    result = {str(s) for s in scopes or ()}
    for scope in list(result):
        result.update(IMPLIED_SCOPES.get(scope, ()))
    return result


def scopes_allow(scopes: Iterable[str] | None, scope: str) -> bool:
    """May a contact holding ``scopes`` use ``scope``? The one place this is decided."""
    return str(scope) in effective_scopes(scopes)


def clean_scopes(values: Iterable[object]) -> list[str]:
    """Known scopes only (anything else is dropped), implied ones added, in a fixed order."""
    wanted = effective_scopes(v for v in values if isinstance(v, str) and v in ALL_SCOPES)
    return [s for s in ALL_SCOPES if s in wanted]


@dataclass
class ClientAccess:
    client: Client
    relationship: str  # "self" or the contact's relationship
    scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))
    # An admin previewing the client's portal (read-only: app/auth.client_section).
    preview: bool = False

    @property
    def is_self(self) -> bool:
        return self.relationship == "self"

    def allows(self, scope: str) -> bool:
        return self.is_self or scopes_allow(self.scopes, scope)

    @property
    def can_book(self) -> bool:
        """Book, confirm, cancel, reschedule and use the waitlist (see ``IMPLIED_SCOPES``)."""
        return self.allows(BOOKING)


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


async def preview_access(staff: StaffMember, client_id: int | None) -> ClientAccess | None:
    """What an admin previewing ``client_id`` sees: the client's own portal, read-only.
    Only an admin, only a client of their practice."""
    if client_id is None or not staff.has_role("admin"):
        return None
    client = await Client.get_or_none(id=client_id, practice_id=staff.practice_id).select_related(
        "practice"
    )
    return ClientAccess(client, "self", preview=True) if client is not None else None


async def staff_member_for(user: User) -> StaffMember | None:
    return await StaffMember.filter(user_id=user.id, active=True).select_related("practice").first()


# ---- staff manage the links (issue 8) ------------------------------------------------


async def set_contact_access(
    contact: Contact, *, portal_access: bool, scopes: Iterable[object], by: User, ip: str = ""
) -> bool:
    """Staff turn a contact's portal access on or off and set their rights. Unknown
    scopes are dropped (``clean_scopes``). Returns whether anything changed: saving
    the same choices again (a double submit) writes nothing and audits nothing."""
    wanted = clean_scopes(scopes)
    async with in_transaction():
        fresh = await Contact.select_for_update().get(id=contact.id)
        before = (fresh.portal_access, list(fresh.scopes or []))
        if before == (portal_access, wanted):
            return False
        await Contact.filter(id=fresh.id).update(portal_access=portal_access, scopes=wanted)
        await audit(
            by,
            "contact.access",
            client_id=fresh.client_id,
            obj=fresh,
            category="profile",
            ip=ip,
            portal_access=portal_access,
            scopes=wanted,
            was_portal_access=before[0],
            was_scopes=before[1],
        )
    return True


async def invite_contact(
    contact: Contact, client: Client, *, by: User, send: Send | None = None, ip: str = ""
) -> str:
    """Give a contact a login for ``client``, with the client invitation's email.

    The contact's email already belongs to an account: that account is linked (one
    login for several children) and "linked" is returned; nothing is emailed, the
    person signs in as before and finds the client under Switch Account. Otherwise an
    account with no password is made for them and the invitation email carries a
    7-day set-your-password link (a ``PasswordReset``, so /password/reset/<token> serves it);
    "invited" is returned. A contact whose account has no password yet gets a new link.
    Portal access is turned on; the rights stay as staff set them.
    """
    email = normalize_email(contact.email or "")
    if not email:
        raise RuleError("contact_has_no_email")
    if not valid_email(email):
        raise RuleError("email_invalid")
    async with in_transaction():
        fresh = await Contact.select_for_update().get(id=contact.id)
        user = await User.get_or_none(id=fresh.user_id) if fresh.user_id else None
        if user is not None and user.password_hash:
            raise RuleError("contact_has_account")
        if user is None:
            user = await User.get_or_none(email=email)
            if user is not None and user.id == client.user_id:
                raise RuleError("contact_is_client")
            if user is not None and await Contact.exists(client_id=client.id, user_id=user.id):
                raise RuleError("contact_already_linked")
        if user is not None and user.password_hash:
            await Contact.filter(id=fresh.id).update(user_id=user.id, portal_access=True)
            await audit(
                by, "contact.linked", client_id=client.id, obj=fresh, category="profile", ip=ip
            )
            return "linked"
        if user is None:
            user = await User.create(
                email=email,
                display_name=fresh.name[:200] or email,
                language=client.preferred_language,
            )
        await Contact.filter(id=fresh.id).update(user_id=user.id, portal_access=True)
        practice = await Practice.get(id=client.practice_id)
        mail = await invitation_mail(
            user, practice, kind="contact-invitation", ip=ip, client_id=client.id
        )
        if send is not None:
            await send(mail)
        await audit(
            by, "contact.invited", client_id=client.id, obj=fresh, category="profile", ip=ip
        )
    return "invited"
