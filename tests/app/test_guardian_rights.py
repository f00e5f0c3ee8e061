"""Guardians act for a client only within the rights of their link (issue 8).

The matrix walks every client route ``app.auth`` marks ``client:<scope>:...`` and
every right: a guardian holding only that right reaches exactly the routes of that
scope (and, as "booking" includes seeing, the appointment pages too) and gets a 404
everywhere else. Then what a guardian sees and changes, for the appointment rights,
billing, cards and the practice's "allow portal access for client contacts".
"""

from __future__ import annotations

import re

import pytest

from app.auth import rule_of
from models import clock
from models.access import ClientAccess, client_accesses
from models.auth import hash_password
from models.cards import visible_cards
from models.ledger import LedgerEntry, SavedCard
from models.people import ALL_SCOPES, Client, Contact, User
from models.practice import Practice
from models.scheduling import Appointment, AppointmentStatus, WaitlistEntry
from tests.cast import PASSWORD
from tests.helpers import csrf_token, post, sign_in

# The scope a right gives besides its own: booking includes seeing appointments.
ALSO_GRANTS = {"booking": {"appointments"}}


def grants(right: str | None, scope: str) -> bool:
    return right is not None and (scope == right or scope in ALSO_GRANTS.get(right, set()))


def _made_up(match: re.Match) -> str:
    """A value for one URL variable: an id no row has, an ``any(...)``'s first choice."""
    converter, args = match.group(1), match.group(2)
    if converter == "id":
        return "987654"
    if converter == "any":
        return args.split(",")[0].strip().strip("'\"")
    return "no-such-thing"


def client_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, scope) for every client route with a scope; ids are made up (the
    access check runs before the view looks anything up)."""
    routes = []
    for rule in app.app.url_map.iter_rules():
        marked = rule_of(app.app.view_functions.get(rule.endpoint)) or ""
        if not marked.startswith("client:") or marked.split(":")[1] == "*":
            continue
        url = re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", _made_up, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, marked.split(":")[1]))
    return routes


async def guardian_of(cast, scopes: list[str], name: str = "Grace") -> User:
    """A new person whose only link is Charlie, with exactly ``scopes``."""
    user = await User.create(
        email=f"{name.lower()}@test.example",
        display_name=name,
        password_hash=await hash_password(PASSWORD),
    )
    await Contact.create(
        client=cast.charlie,
        user=user,
        name=name,
        relationship="Parent/Guardian",
        portal_access=True,
        scopes=scopes,
    )
    return user


@pytest.fixture
def asked(monkeypatch):
    """Every (scope, answer) ``ClientAccess.allows`` gives, in order: for a client
    route, the first one is the access rule's own check."""
    calls: list[tuple[str, bool]] = []
    original = ClientAccess.allows

    def recording(self, scope):
        answer = original(self, scope)
        calls.append((str(scope), answer))
        return answer

    monkeypatch.setattr(ClientAccess, "allows", recording)
    return calls


def test_the_matrix_covers_both_appointment_rights(app):
    scopes = {scope for _, _, scope in client_routes(app)}
    assert {"appointments", "booking", "billing", "forms", "messages", "profile"} <= scopes
    assert scopes <= set(ALL_SCOPES)  # no route names a right staff cannot grant


@pytest.mark.parametrize("right", [*ALL_SCOPES, None], ids=[*ALL_SCOPES, "no-rights"])
async def test_a_guardian_reaches_exactly_the_routes_of_their_right(
    app, client, cast, asked, right
):
    await guardian_of(cast, [right] if right else [])
    await sign_in(client, "grace")
    token = await csrf_token(client, "/dashboard")
    wrong = []
    routes = client_routes(app)
    # GETs first: a POST this right allows may change what a later page shows.
    for method, url, scope in sorted(routes, key=lambda r: r[0] != "GET"):
        asked.clear()
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(url, form={"csrf_token": token})
        allowed = grants(right, scope)
        checked = asked[0] if asked else None
        if checked != (scope, allowed):
            wrong.append((method, url, "access check", checked))
        elif not allowed and response.status_code != 404:
            wrong.append((method, url, "refused with", response.status_code))
        elif response.status_code >= 500:
            wrong.append((method, url, "failed with", response.status_code))
    assert wrong == []


async def test_refused_posts_change_nothing(client, cast):
    """Everything but booking: confirm, cancel, book, the waitlist and pay are refused
    and leave the appointment, the ledger and the waitlist as they were."""
    await guardian_of(cast, [s for s in ALL_SCOPES if s != "booking"])
    await Appointment.filter(id=cast.c_soon.id).update(confirmation_requested=True)
    before = await Appointment.get(id=cast.c_soon.id)
    ledger = await LedgerEntry.filter(client_id=cast.charlie.id).count()
    await sign_in(client, "grace")
    for path, data in [
        (f"/appointments/{cast.c_soon.id}/confirm", {}),
        (f"/appointments/{cast.c_soon.id}/cancel", {"fee": "0"}),
        (f"/appointments/{cast.c_soon.id}/undo", {"what": "booking"}),
        ("/appointments/waitlist", {"modality": "any"}),
        ("/appointments/new", {"provider": str(cast.penny.id)}),
    ]:
        assert (await post(client, path, data)).status_code == 404, path
    after = await Appointment.get(id=cast.c_soon.id)
    assert (after.status, after.confirmed_at, after.version) == (
        before.status,
        before.confirmed_at,
        before.version,
    )
    assert not await WaitlistEntry.filter(client_id=cast.charlie.id).exists()
    assert await Appointment.filter(client_id=cast.charlie.id).count() == 1
    assert await LedgerEntry.filter(client_id=cast.charlie.id).count() == ledger


async def test_seeing_appointments_shows_no_booking_action(client, cast):
    await Appointment.filter(id=cast.c_soon.id).update(confirmation_requested=True)
    await guardian_of(cast, ["appointments"])
    await sign_in(client, "grace")
    for path in ("/appointments", "/dashboard"):
        page = await (await client.get(path)).get_data(as_text=True)
        assert f'id="appt-{cast.c_soon.id}"' in page, path
        assert "/appointments/new" not in page, path
        assert f"/appointments/{cast.c_soon.id}/cancel" not in page, path
        assert f"/appointments/{cast.c_soon.id}/confirm" not in page, path
        assert "/appointments/waitlist" not in page, path
    assert (await client.get(f"/appointments/{cast.c_soon.id}/calendar.ics")).status_code == 200
    assert (await client.get("/appointments/print")).status_code == 200
    assert (await client.get("/appointments/new")).status_code == 404
    assert (await client.get(f"/appointments/{cast.c_soon.id}/cancel")).status_code == 404


async def test_booking_includes_seeing_and_cancels(client, cast):
    await Appointment.filter(id=cast.c_soon.id).update(confirmation_requested=True)
    await guardian_of(cast, ["booking"])
    await sign_in(client, "grace")
    page = await (await client.get("/appointments")).get_data(as_text=True)
    assert f"/appointments/{cast.c_soon.id}/confirm" in page
    assert f"/appointments/{cast.c_soon.id}/cancel" in page
    assert "/appointments/new" in page
    menu = await (await client.get("/dashboard")).get_data(as_text=True)
    assert 'href="/appointments"' in menu  # My Appointments is in the menu
    response = await post(client, f"/appointments/{cast.c_soon.id}/confirm")
    assert response.status_code == 303
    assert (await Appointment.get(id=cast.c_soon.id)).status == AppointmentStatus.CONFIRMED
    response = await post(client, f"/appointments/{cast.c_soon.id}/cancel", {"fee": "0"})
    assert response.status_code == 303
    cancelled = await Appointment.get(id=cast.c_soon.id)
    assert cancelled.status == AppointmentStatus.CANCELLED


async def test_without_billing_the_balance_and_pay_are_404(client, cast):
    await guardian_of(cast, ["appointments", "forms"])
    await sign_in(client, "grace")
    menu = await (await client.get("/dashboard")).get_data(as_text=True)
    assert 'href="/pay"' not in menu and 'href="/account"' not in menu
    assert (await client.get("/pay")).status_code == 404
    assert (await client.get("/account")).status_code == 404
    assert (await client.get("/documents")).status_code == 200


async def test_a_guardian_never_sees_the_clients_own_cards(client, cast):
    dana_user = await User.create(email="dana@test.example", display_name="Dana", password_hash="x")
    await Client.filter(id=cast.dana.id).update(user_id=dana_user.id)
    dana = await Client.get(id=cast.dana.id)

    async def card(by: User, last4: str) -> SavedCard:
        return await SavedCard.create(
            client=dana,
            added_by=by,
            processor="demo",
            processor_ref="pm_card_visa",
            brand="visa",
            last4=last4,
            exp_month=12,
            exp_year=2030,
            consented_at=clock.now(),
        )

    own = await card(dana_user, "1111")
    ginas = await card(cast.gina, "2222")
    assert [c.id for c in await visible_cards(dana, cast.gina)] == [ginas.id]
    assert {c.id for c in await visible_cards(dana, dana_user)} == {own.id, ginas.id}
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    for path in ("/profile", "/pay"):
        page = await (await client.get(path)).get_data(as_text=True)
        assert "2222" in page and "1111" not in page, path
    assert (await post(client, f"/profile/cards/{own.id}/remove")).status_code == 404
    assert await SavedCard.exists(id=own.id)


async def test_contact_access_off_means_no_access_at_all(client, cast):
    await sign_in(client, "gina")
    token = await csrf_token(client, "/dashboard")
    await Practice.filter(id=cast.practice.id).update(portal_settings={"contact_access": False})
    gina = await User.get(id=cast.gina.id)
    assert await client_accesses(gina) == []
    assert (await client.get("/dashboard")).status_code == 404
    assert (await client.get("/appointments")).status_code == 404
    response = await client.post(
        "/switch-client", form={"client_id": str(cast.dana.id), "csrf_token": token}
    )
    assert response.status_code == 404


async def test_contact_access_off_hides_the_children_from_switch_account(client, cast):
    """Alice is also Charlie's contact: Switch Account offers Charlie until the
    practice turns contact access off."""
    alice_user = await User.get(id=cast.alice.user_id)
    await Contact.create(
        client=cast.charlie,
        user=alice_user,
        name="Alice",
        relationship="Parent/Guardian",
        portal_access=True,
        scopes=list(ALL_SCOPES),
    )
    await sign_in(client, "alice")
    page = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Charlie Example" in page and 'action="/switch-client"' in page
    await Practice.filter(id=cast.practice.id).update(portal_settings={"contact_access": False})
    page = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Charlie Example" not in page and 'action="/switch-client"' not in page
    response = await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    assert response.status_code == 404
