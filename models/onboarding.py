"""How people get a portal account: staff invitations and self-registration.

Both are links carrying a random token; only the token's hash is stored.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.auth import hash_password, normalize_email
from models.errors import RuleError
from models.passwords import password_problem
from models.people import Client, ContactPoint, User
from models.practice import Practice
from models.security import token_digest


class Invitation(Model):
    """Staff invite an existing client to the portal: single use, 7 days."""

    id = fields.IntField(primary_key=True)
    client = fields.ForeignKeyField("portal.Client", related_name="invitations")
    email = fields.CharField(max_length=254)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.ForeignKeyField("portal.User", related_name="invitations_sent", null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"


class Registration(Model):
    """Someone new signing up through the practice's new-invitation link.

    ``status``: "pending" until the emailed link is followed, "review" when it may
    duplicate an existing client (staff decide), "done" or "dismissed" after.
    """

    id = fields.IntField(primary_key=True)
    practice = fields.ForeignKeyField("portal.Practice", related_name="registrations")
    email = fields.CharField(max_length=254)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    date_of_birth = fields.DateField()
    phone = fields.CharField(max_length=32, default="")
    password_hash = fields.CharField(max_length=200, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    status = fields.CharField(max_length=16, default="pending")
    match_reason = fields.CharField(max_length=32, default="")  # "email", "name_dob"
    client = fields.ForeignKeyField("portal.Client", related_name="registrations", null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "registration"


# ---- the rules ----------------------------------------------------------------------

INVITATION_LIFETIME = timedelta(days=7)
CONFIRM_LIFETIME = timedelta(hours=24)
REVIEW_LIFETIME = timedelta(days=30)
# One registration per address and practice in this window: a second form sent
# sooner does nothing (the first email stands), so the public form cannot be
# used to flood someone's inbox.
QUIET_WINDOW = timedelta(minutes=15)
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
# One address, nothing a mail header or a database would choke on (no controls, no NUL).
EMAIL_RE = re.compile(r"[^@\s\x00-\x1f\x7f<>,;:\"()\[\]\\]+@[a-z0-9.-]+\.[a-z0-9-]{2,}")


@dataclass(frozen=True)
class Mail:
    """An email a rule asks for. The web layer queues it; templates build links as
    ``{{ public_url }}{{ path }}``, never from the request's Host header."""

    to: str
    template: str
    dedupe_key: str
    practice_name: str
    path: str = ""  # a portal path (the link is PUBLIC_URL + path)
    expires_at: datetime | None = None
    time_zone: str = "America/New_York"
    language: str = "en"
    client_id: int | None = None


Send = Callable[[Mail], Awaitable[object]]


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def valid_email(email: str) -> bool:
    return len(email) <= 254 and EMAIL_RE.fullmatch(email) is not None


def has_control_characters(text: str) -> bool:
    """NUL, line breaks and other control characters: never part of a name."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def username_problem(username: str) -> str | None:
    """Letters, digits, ``.``, ``_`` and ``-``, 3 to 64 of them; never an email."""
    if not USERNAME_RE.fullmatch(username):
        return "username_invalid"
    return None


def same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).strip().casefold() == (
        unicodedata.normalize("NFKC", b).strip().casefold()
    )


async def _send(send: Send | None, mail: Mail) -> None:
    if send is not None:
        await send(mail)


# ---- invitations (staff invite a client who is already in the system) ----------------


async def create_invitation(
    client: Client, email: str, by_user: User | None, *, send: Send | None = None, ip: str = ""
) -> tuple[str, Invitation]:
    """A new single-use link for ``client``; earlier open invitations stop working.

    Refused when the client already has a portal account (enable it instead) or the
    email already belongs to someone's account.
    """
    email = normalize_email(email)
    if not valid_email(email):
        raise RuleError("email_invalid")
    token, token_hash = _new_token()
    now = clock.now()
    async with in_transaction():
        fresh = await Client.select_for_update().get(id=client.id)
        if fresh.user_id is not None:
            user = await User.get(id=fresh.user_id)
            raise RuleError("client_has_account" if user.is_active else "client_account_disabled")
        if await User.exists(email=email):
            raise RuleError("email_in_use")
        await Invitation.filter(client_id=client.id, used_at=None, revoked_at=None).update(
            revoked_at=now
        )
        invitation = await Invitation.create(
            client_id=client.id,
            email=email,
            token_hash=token_hash,
            created_by_id=getattr(by_user, "id", None),
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        practice = await Practice.get(id=fresh.practice_id)
        await _send(
            send,
            Mail(
                to=email,
                template="invitation",
                dedupe_key=f"invitation:{invitation.id}",
                practice_name=practice.name,
                path=f"/invite/{token}",
                expires_at=invitation.expires_at,
                time_zone=practice.time_zone,
                language=fresh.preferred_language,
                client_id=client.id,
            ),
        )
        await audit(
            by_user,
            "invitation.sent",
            client_id=client.id,
            obj=invitation,
            category="profile",
            ip=ip,
        )
    return token, invitation


def _check_invitation(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise RuleError("link_invalid")
    if invitation.used_at is not None:
        raise RuleError("invitation_used")
    if invitation.revoked_at is not None or invitation.expires_at <= clock.now():
        raise RuleError("invitation_expired")
    return invitation


async def invitation_for(token: str) -> Invitation:
    """The open invitation behind a link (client and practice loaded), or a RuleError."""
    if not token or len(token) > 128:
        raise RuleError("link_invalid")
    invitation = await Invitation.get_or_none(token_hash=token_digest(token)).select_related(
        "client__practice"
    )
    return _check_invitation(invitation)


async def accept_invitation(token: str, username: str, password: str, *, ip: str = "") -> User:
    """Create the client's portal account from an invitation link, once."""
    invitation = await invitation_for(token)
    client = invitation.client
    username = normalize_username(username or "")
    if username:
        if problem := username_problem(username):
            raise RuleError(problem)
        if await User.exists(username=username):
            raise RuleError("username_taken")
    personal = (invitation.email, username, client.first_name, client.last_name, client.full_name)
    if problem := password_problem(password, personal=personal):
        raise RuleError(problem)
    password_hash = await hash_password(password)  # off the loop, before any lock
    now = clock.now()
    try:
        async with in_transaction():
            invitation = _check_invitation(
                await Invitation.select_for_update().get_or_none(id=invitation.id)
            )
            fresh = await Client.select_for_update().get(id=client.id)
            if fresh.user_id is not None:
                raise RuleError("invitation_used")
            if await User.exists(email=invitation.email):
                raise RuleError("email_in_use")
            user = await User.create(
                email=invitation.email,
                username=username or None,
                password_hash=password_hash,
                display_name=f"{fresh.preferred_name or fresh.first_name} {fresh.last_name}",
                language=fresh.preferred_language,
                password_changed_at=now,
            )
            await Client.filter(id=fresh.id).update(user_id=user.id)
            await Invitation.filter(id=invitation.id).update(used_at=now)
            await audit(
                user,
                "invitation.accepted",
                client_id=fresh.id,
                obj=invitation,
                category="profile",
                ip=ip,
            )
    except IntegrityError as exc:  # a race on the username or email: the checks above lost
        raise RuleError("username_taken" if username else "email_in_use") from exc
    return user


# ---- self-registration (the practice's new-invitation link) -------------------------


async def _email_known(practice_id: int, email: str) -> bool:
    """An account has this email, or a client of the practice lists it."""
    if await User.exists(email=email):
        return True
    values = await ContactPoint.filter(
        kind="email", client__practice_id=practice_id, value__iexact=email
    ).values_list("value", flat=True)
    return any(normalize_email(v) == email for v in values)


async def _name_dob_match(practice_id: int, first: str, last: str, dob: date) -> list[Client]:
    same_day = await Client.filter(practice_id=practice_id, date_of_birth=dob)
    return [c for c in same_day if same_name(c.first_name, first) and same_name(c.last_name, last)]


async def likely_matches(registration: Registration) -> list[Client]:
    """Existing clients of the practice a registration in review may duplicate."""
    return await _name_dob_match(
        registration.practice_id,
        registration.first_name,
        registration.last_name,
        registration.date_of_birth,
    )


async def start_registration(
    practice: Practice,
    email: str,
    first: str,
    last: str,
    dob: date,
    phone: str,
    password: str,
    *,
    language: str = "en",
    send: Send | None = None,
) -> str:
    """Someone new asks for an account. The caller shows the same answer whatever
    this returns (no enumeration); the email tells the person what happens next.

    Returns "exists" (the email is known: a sign-in / reset email, nothing created
    but a dismissed record), "review" (same name and date of birth as a client:
    staff decide), "pending" (a confirm link, valid 24 hours) or "quiet" (a
    registration for this address was made moments ago: nothing more is done).
    """
    email = normalize_email(email)
    first, last, phone = first.strip(), last.strip(), phone.strip()
    if not valid_email(email):
        raise RuleError("email_invalid")
    if not (first and last) or len(first) > 100 or len(last) > 100 or len(phone) > 32:
        raise RuleError("registration_incomplete")
    if has_control_characters(first + last + phone):
        raise RuleError("text_invalid")
    if not date(1900, 1, 1) <= dob < clock.now().date():
        raise RuleError("date_of_birth_invalid")
    if problem := password_problem(password, personal=(email, first, last, f"{first} {last}")):
        raise RuleError(problem)
    # Every outcome costs the same hash, so the time taken tells nothing either.
    password_hash = await hash_password(password)
    now = clock.now()
    _, token_hash = _new_token()
    async with in_transaction():
        if await Registration.filter(
            practice_id=practice.id, email=email, created_at__gte=now - QUIET_WINDOW
        ).exists():
            return "quiet"
        row = dict(
            practice_id=practice.id,
            email=email,
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            phone=phone,
            created_at=now,
        )
        if await _email_known(practice.id, email):
            outcome, template, path = "exists", "registration_exists", "/login"
            registration = await Registration.create(
                **row,
                token_hash=token_hash,
                status="dismissed",
                match_reason="email",
                expires_at=now,
                decided_at=now,
            )
        elif await _name_dob_match(practice.id, first, last, dob):
            outcome, template, path = "review", "registration_review", ""
            registration = await Registration.create(
                **row,
                token_hash=token_hash,
                password_hash=password_hash,
                status="review",
                match_reason="name_dob",
                expires_at=now + REVIEW_LIFETIME,
            )
        else:
            token, token_hash = _new_token()
            outcome, template, path = (
                "pending",
                "registration_confirm",
                f"/register/confirm/{token}",
            )
            registration = await Registration.create(
                **row,
                token_hash=token_hash,
                password_hash=password_hash,
                status="pending",
                expires_at=now + CONFIRM_LIFETIME,
            )
        await _send(
            send,
            Mail(
                to=email,
                template=template,
                dedupe_key=f"{template}:{registration.id}",
                practice_name=practice.name,
                path=path,
                expires_at=registration.expires_at if outcome == "pending" else None,
                time_zone=practice.time_zone,
                language=language,
            ),
        )
    return outcome


async def _open_account(registration: Registration, *, language: str) -> tuple[Client, User]:
    """The client and their portal account, from a registration (inside a transaction)."""
    practice = await Practice.get(id=registration.practice_id)
    now = clock.now()
    user = await User.create(
        email=registration.email,
        password_hash=registration.password_hash,
        display_name=f"{registration.first_name} {registration.last_name}",
        language=language,
        password_changed_at=now,
    )
    client = await Client.create(
        practice_id=practice.id,
        user=user,
        number=await _new_client_number(),
        first_name=registration.first_name,
        last_name=registration.last_name,
        date_of_birth=registration.date_of_birth,
        time_zone=practice.time_zone,
        preferred_language=language,
    )
    await ContactPoint.create(
        client=client,
        kind="email",
        label="Primary Email",
        value=registration.email,
        is_default=True,
    )
    if registration.phone:
        await ContactPoint.create(
            client=client, kind="phone", label="Mobile", value=registration.phone, is_default=True
        )
    await Registration.filter(id=registration.id).update(
        status="done", client_id=client.id, decided_at=now, password_hash=""
    )
    return client, user


async def _new_client_number() -> str:
    for _ in range(10):
        number = "C" + "".join(secrets.choice("0123456789") for _ in range(9))
        if not await Client.exists(number=number):
            return number
    raise RuntimeError("no free client number")  # 10 collisions in 10^9: never


async def confirm_registration(token: str, *, language: str = "en", ip: str = "") -> User | None:
    """Follow the emailed link: open the account, once. None when, at this late
    moment, the details turned out to match a client (then staff review it)."""
    if not token or len(token) > 128:
        raise RuleError("link_invalid")
    now = clock.now()
    async with in_transaction():
        registration = await Registration.select_for_update().get_or_none(
            token_hash=token_digest(token)
        )
        if registration is None or registration.status in ("review", "dismissed"):
            if registration is not None and registration.match_reason == "email":
                raise RuleError("registration_email_taken")
            raise RuleError("link_invalid")
        if registration.status == "done":
            raise RuleError("registration_used")
        if registration.expires_at <= now:
            raise RuleError("registration_expired")
        if await _email_known(registration.practice_id, registration.email):
            # Someone opened an account with this email since: keep that decision
            # (committed), then refuse.
            await Registration.filter(id=registration.id).update(
                status="dismissed", match_reason="email", decided_at=now, password_hash=""
            )
            user = None
        elif await likely_matches(registration):
            await Registration.filter(id=registration.id).update(
                status="review", match_reason="name_dob", expires_at=now + REVIEW_LIFETIME
            )
            return None
        else:
            client, user = await _open_account(registration, language=language)
            await audit(
                user,
                "registration.confirmed",
                client_id=client.id,
                obj=registration,
                category="profile",
                ip=ip,
            )
    if user is None:
        raise RuleError("registration_email_taken")
    return user


async def approve_registration(
    registration: Registration, by: User, *, send: Send | None = None, ip: str = ""
) -> User:
    """Staff decide a registration in review is a new person: open the account."""
    async with in_transaction():
        fresh = await Registration.select_for_update().get(id=registration.id)
        if fresh.status != "review":
            raise RuleError("registration_decided")
        if fresh.expires_at <= clock.now():
            raise RuleError("registration_expired")
        if await User.exists(email=fresh.email):
            raise RuleError("email_in_use")
        client, user = await _open_account(fresh, language="en")
        practice = await Practice.get(id=fresh.practice_id)
        await _send(
            send,
            Mail(
                to=fresh.email,
                template="registration_approved",
                dedupe_key=f"registration_approved:{fresh.id}",
                practice_name=practice.name,
                path="/login",
                time_zone=practice.time_zone,
                client_id=client.id,
            ),
        )
        await audit(
            by, "registration.approved", client_id=client.id, obj=fresh, category="profile", ip=ip
        )
    return user


async def dismiss_registration(registration: Registration, by: User, *, ip: str = "") -> None:
    """Staff decide a registration in review is a client already known: nothing is
    created (they can invite the existing client, at the email on their record)."""
    async with in_transaction():
        fresh = await Registration.select_for_update().get(id=registration.id)
        if fresh.status != "review":
            raise RuleError("registration_decided")
        await Registration.filter(id=fresh.id).update(
            status="dismissed", decided_at=clock.now(), password_hash=""
        )
        await audit(by, "registration.dismissed", obj=fresh, category="profile", ip=ip)
