"""Invitations, self-registration with duplicate detection, and staff account controls."""

from datetime import date, timedelta

import pytest

from models import clock, onboarding, portal_accounts
from models.audit import AuditEvent
from models.auth import authenticate
from models.errors import RuleError
from models.onboarding import Invitation, Registration
from models.people import Client, ContactPoint, User
from models.practice import Practice
from models.security import LoginEvent, Session

NEW_PASSWORD = "lantern orchard pebble"
DOB = date(1991, 4, 12)


class Outbox(list):
    """A ``send`` that keeps what the rules asked to email."""

    async def __call__(self, mail):
        self.append(mail)


async def signs_in(email: str, password: str = NEW_PASSWORD) -> bool:
    return (await authenticate(email, password, ip="", user_agent="")).user is not None


# ---- invitations ----------------------------------------------------------------------


async def test_it_invites_a_client_and_stores_only_a_hash_of_the_token(cast):
    sent = Outbox()
    token, invitation = await onboarding.create_invitation(
        cast.charlie, "Charlie@Example.test", cast.sid.user, send=sent
    )
    assert len(token) >= 43 and token not in invitation.token_hash
    assert invitation.email == "charlie@example.test"
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    [mail] = sent
    assert mail.template == "invitation" and mail.path == f"/invite/{token}"
    assert mail.to == "charlie@example.test" and mail.client_id == cast.charlie.id
    assert await AuditEvent.filter(
        action="invitation.sent", client_id=cast.charlie.id, actor_id=cast.sid.user_id
    ).exists()


async def test_it_revokes_the_previous_invitation_when_inviting_again(cast):
    first, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    second, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    with pytest.raises(RuleError) as exc:
        await onboarding.invitation_for(first)
    assert exc.value.code == "invitation_expired"
    assert (await onboarding.invitation_for(second)).client_id == cast.charlie.id


async def test_it_accepts_an_invitation_once_and_links_the_new_account(cast):
    token, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    user = await onboarding.accept_invitation(token, "Charlie.E", NEW_PASSWORD)
    charlie = await Client.get(id=cast.charlie.id)
    assert charlie.user_id == user.id and user.username == "charlie.e"
    assert user.email == "c@example.test" and user.password_hash != NEW_PASSWORD
    assert await signs_in("c@example.test") and await signs_in("charlie.e")
    with pytest.raises(RuleError) as exc:
        await onboarding.accept_invitation(token, "", "another good password")
    assert exc.value.code == "invitation_used"
    assert await User.filter(email="c@example.test").count() == 1


async def test_it_refuses_an_expired_invitation_and_creates_nothing(cast):
    token, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    clock.travel(timedelta(days=7, seconds=1))
    with pytest.raises(RuleError) as exc:
        await onboarding.accept_invitation(token, "", NEW_PASSWORD)
    assert exc.value.code == "invitation_expired"
    assert not await User.exists(email="c@example.test")
    assert (await Client.get(id=cast.charlie.id)).user_id is None


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("", "short", "password_too_short"),
        ("", "password123", "password_too_common"),
        ("", "c@example.test", "password_too_common"),  # the email itself
        ("a", NEW_PASSWORD, "username_invalid"),
        ("has space", NEW_PASSWORD, "username_invalid"),
        ("alice@test.example", NEW_PASSWORD, "username_invalid"),
    ],
)
async def test_it_refuses_a_weak_password_or_bad_username(cast, username, password, code):
    token, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    with pytest.raises(RuleError) as exc:
        await onboarding.accept_invitation(token, username, password)
    assert exc.value.code == code
    assert (await onboarding.invitation_for(token)).used_at is None


async def test_it_refuses_a_username_someone_has(cast):
    await User.filter(id=cast.bob.user_id).update(username="bobby")
    token, _ = await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    with pytest.raises(RuleError) as exc:
        await onboarding.accept_invitation(token, "Bobby", NEW_PASSWORD)
    assert exc.value.code == "username_taken"


@pytest.mark.parametrize(
    ("who", "email", "code"),
    [
        ("alice", "new@example.test", "client_has_account"),
        ("charlie", "bob@test.example", "email_in_use"),
        ("charlie", "not an email", "email_invalid"),
    ],
)
async def test_it_refuses_an_invitation_that_cannot_work(cast, who, email, code):
    with pytest.raises(RuleError) as exc:
        await onboarding.create_invitation(getattr(cast, who), email, None)
    assert exc.value.code == code
    assert await Invitation.all().count() == 0


async def test_it_asks_to_enable_a_disabled_account_rather_than_invite(cast):
    await portal_accounts.set_portal_access(cast.alice, False, cast.ada.user)
    with pytest.raises(RuleError) as exc:
        await onboarding.create_invitation(cast.alice, "a2@example.test", None)
    assert exc.value.code == "client_account_disabled"


# ---- registration ---------------------------------------------------------------------


async def register(cast, email="new.person@example.test", first="Nora", last="Newman", **kw):
    sent = kw.pop("send", Outbox())
    outcome = await onboarding.start_registration(
        kw.pop("practice", cast.practice),
        email,
        first,
        last,
        kw.pop("dob", DOB),
        kw.pop("phone", "+15550101234"),
        kw.pop("password", NEW_PASSWORD),
        send=sent,
    )
    return outcome, sent


async def test_it_registers_a_new_person_once_the_email_is_confirmed(cast):
    clients_before = await Client.all().count()
    outcome, [mail] = await register(cast)
    assert outcome == "pending" and mail.template == "registration_confirm"
    assert mail.path.startswith("/register/confirm/") and mail.expires_at is not None
    assert await Client.all().count() == clients_before  # nothing until confirmed
    token = mail.path.rsplit("/", 1)[1]
    user = await onboarding.confirm_registration(token)
    client = await Client.get(user_id=user.id)
    assert (client.first_name, client.last_name, client.date_of_birth) == ("Nora", "Newman", DOB)
    assert client.practice_id == cast.practice.id and client.number.startswith("C")
    points = {(p.kind, p.value, p.is_default) for p in await ContactPoint.filter(client=client)}
    assert points == {
        ("email", "new.person@example.test", True),
        ("phone", "+15550101234", True),
    }
    assert await signs_in("new.person@example.test")
    registration = await Registration.get(client_id=client.id)
    assert registration.status == "done" and registration.password_hash == ""
    # Following the link again creates nothing more.
    with pytest.raises(RuleError) as exc:
        await onboarding.confirm_registration(token)
    assert exc.value.code == "registration_used"
    assert await Client.all().count() == clients_before + 1


async def test_it_lets_a_confirm_link_lapse_after_24_hours(cast):
    _, [mail] = await register(cast)
    clock.travel(timedelta(hours=24, seconds=1))
    with pytest.raises(RuleError) as exc:
        await onboarding.confirm_registration(mail.path.rsplit("/", 1)[1])
    assert exc.value.code == "registration_expired"
    assert not await User.exists(email="new.person@example.test")


@pytest.mark.parametrize("email", ["ALICE@test.example", "charlie.home@example.test"])
async def test_it_sends_a_known_email_to_sign_in_and_creates_no_client(cast, email):
    await ContactPoint.create(client=cast.charlie, kind="email", value="Charlie.Home@example.test")
    clients_before = await Client.all().count()
    outcome, [mail] = await register(cast, email=email)
    assert outcome == "exists" and mail.template == "registration_exists"
    assert mail.to == email.lower() and mail.path == "/login"
    assert await Client.all().count() == clients_before
    assert await User.filter(email=email.lower()).count() <= 1
    [record] = await Registration.all()
    assert (record.status, record.match_reason, record.password_hash) == ("dismissed", "email", "")


async def test_it_sends_the_same_name_and_birthday_to_staff_review(cast):
    await Client.filter(id=cast.bob.id).update(date_of_birth=DOB)
    clients_before = await Client.all().count()
    outcome, [mail] = await register(
        cast, email="bob.other@example.test", first=" bob ", last="EXAMPLE"
    )
    assert outcome == "review" and mail.template == "registration_review" and mail.path == ""
    registration = await Registration.get(email="bob.other@example.test")
    assert (registration.status, registration.match_reason) == ("review", "name_dob")
    assert [c.id for c in await onboarding.likely_matches(registration)] == [cast.bob.id]
    assert await Client.all().count() == clients_before

    approved = Outbox()
    user = await onboarding.approve_registration(registration, cast.sid.user, send=approved)
    assert approved[0].template == "registration_approved"
    assert await Client.all().count() == clients_before + 1
    assert await signs_in("bob.other@example.test") and user.email == "bob.other@example.test"
    assert await AuditEvent.filter(action="registration.approved").exists()
    with pytest.raises(RuleError) as exc:
        await onboarding.approve_registration(registration, cast.sid.user)
    assert exc.value.code == "registration_decided"


async def test_it_dismisses_a_duplicate_and_creates_nothing(cast):
    await Client.filter(id=cast.bob.id).update(date_of_birth=DOB)
    await register(cast, email="bob.other@example.test", first="Bob", last="Example")
    registration = await Registration.get(email="bob.other@example.test")
    clients_before = await Client.all().count()
    await onboarding.dismiss_registration(registration, cast.ada.user)
    registration = await Registration.get(id=registration.id)
    assert registration.status == "dismissed" and registration.password_hash == ""
    assert await Client.all().count() == clients_before
    assert not await User.exists(email="bob.other@example.test")


async def test_it_does_not_match_a_client_of_another_practice(cast):
    other = await Practice.create(name="Elsewhere")
    await Client.filter(id=cast.bob.id).update(date_of_birth=DOB)
    outcome, _ = await register(cast, first="Bob", last="Example", practice=other)
    assert outcome == "pending"


async def test_it_sends_one_email_per_address_in_15_minutes(cast):
    first, sent = await register(cast)
    again, sent_again = await register(cast)
    assert (first, again) == ("pending", "quiet") and len(sent) == 1 and sent_again == []
    assert await Registration.all().count() == 1
    clock.travel(timedelta(minutes=16))
    assert (await register(cast))[0] == "pending"


async def test_it_hashes_the_password_whatever_the_outcome(cast, monkeypatch):
    """A-4: the same costly work for every answer, so timing tells nothing."""
    calls = []
    real = onboarding.hash_password

    async def counting(password):
        calls.append(password)
        return await real(password)

    monkeypatch.setattr(onboarding, "hash_password", counting)
    await Client.filter(id=cast.bob.id).update(date_of_birth=DOB)
    await register(cast, email="alice@test.example")
    await register(cast, email="x@example.test", first="Bob", last="Example")
    await register(cast, email="y@example.test")
    assert len(calls) == 3


async def test_it_opens_no_account_when_the_email_got_taken_meanwhile(cast):
    _, [mail] = await register(cast)
    await User.create(email="new.person@example.test", display_name="Someone")
    with pytest.raises(RuleError) as exc:
        await onboarding.confirm_registration(mail.path.rsplit("/", 1)[1])
    assert exc.value.code == "registration_email_taken"
    assert (await Registration.get()).status == "dismissed"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"dob": date.today() + timedelta(days=1)}, "date_of_birth_invalid"),
        ({"dob": date(1800, 1, 1)}, "date_of_birth_invalid"),
        ({"email": "nope"}, "email_invalid"),
        ({"first": "  "}, "registration_incomplete"),
        ({"password": "Nora Newman"}, "password_too_common"),
    ],
)
async def test_it_refuses_a_malformed_registration(cast, kw, code):
    with pytest.raises(RuleError) as exc:
        await register(cast, **kw)
    assert exc.value.code == code
    assert await Registration.all().count() == 0


# ---- staff controls and statuses ------------------------------------------------------


async def test_it_signs_a_disabled_account_out_everywhere(cast):
    for _ in range(2):
        await Session.start(cast.alice.user_id, ip="", user_agent="")
    await Session.start(cast.bob.user_id, ip="", user_agent="")
    await portal_accounts.set_portal_access(cast.alice, False, cast.ada.user)
    assert await Session.filter(user_id=cast.alice.user_id).count() == 0
    assert await Session.filter(user_id=cast.bob.user_id).count() == 1
    assert not await signs_in("alice@test.example", "correct horse battery")
    await portal_accounts.set_portal_access(cast.alice, True, cast.ada.user)
    assert await signs_in("alice@test.example", "correct horse battery")
    actions = await AuditEvent.filter(client_id=cast.alice.id).values_list("action", flat=True)
    assert set(actions) >= {"account.disabled", "account.enabled"}


async def test_it_tells_each_portal_status(cast):
    from models.throttle import unlock

    await onboarding.create_invitation(cast.charlie, "c@example.test", None)
    await User.filter(id=cast.bob.user_id).update(totp_enabled_at=clock.now())
    await portal_accounts.set_portal_access(cast.bob, False, cast.ada.user)
    for _ in range(10):
        await LoginEvent.create(
            user_id=cast.alice.user_id, at=clock.now(), success=False, detail="bad_credentials"
        )
    await ContactPoint.create(client=cast.dana, kind="email", value="d@example.test")
    clients = await Client.filter(practice=cast.practice).select_related("user")
    statuses = await portal_accounts.portal_statuses(clients)
    by_name = {c.first_name: statuses[c.id] for c in clients}
    assert by_name["Alice"].state == "locked"
    assert (by_name["Bob"].state, by_name["Bob"].two_factor) == ("disabled", True)
    assert by_name["Charlie"].state == "invited"
    assert (by_name["Dana"].state, by_name["Dana"].email) == ("none", "d@example.test")
    await unlock(await User.get(id=cast.alice.user_id))
    clients = await Client.filter(practice=cast.practice).select_related("user")
    assert (await portal_accounts.portal_statuses(clients))[cast.alice.id].state == "active"
