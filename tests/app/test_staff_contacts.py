"""Staff manage a client's contacts: portal access, rights, and invitations (issue 8)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from models.access import client_accesses
from models.audit import AuditEvent
from models.people import Client, Contact, User
from models.practice import Practice
from tests.helpers import HX, csrf_token, post, sign_in
from tests.mailserver import sent_mail

PUBLIC = "https://portal.example.test"
NEW_PASSWORD = "lantern orchard pebble"


@pytest.fixture
def config_overrides(smtp_server):
    return {"smtp_url": smtp_server.url, "public_url": PUBLIC}


def page_of(client_id: int) -> str:
    return f"/staff/clients/{client_id}/contacts"


async def contact_of(cast, client) -> Contact:
    return await Contact.get(client_id=client.id, user_id=cast.gina.id)


async def save(client, cast, who, pairs: list, *, contact: Contact | None = None, headers=None):
    """POST the rights form: ``pairs`` as the browser sends them (a scope per box)."""
    contact = contact or await contact_of(cast, who)
    token = await csrf_token(client, "/staff/clients")
    return await client.post(
        f"{page_of(who.id)}/{contact.id}/access",
        data=urlencode([("csrf_token", token), *pairs]),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


async def test_the_page_lists_contacts_and_their_rights(client, cast):
    await sign_in(client, "sid")
    response = await client.get(page_of(cast.charlie.id))
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "Contacts of Charlie Example" in html and "Gina" in html and "Has a login" in html
    checked = re.findall(r'name="scope" value="(\w+)" checked', html)
    assert checked == ["appointments", "forms"]
    assert 'name="portal_access" value="1" checked' in html
    clients = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert page_of(cast.charlie.id) in clients


async def test_rights_are_saved_unknown_ones_dropped_and_audited(client, cast):
    await sign_in(client, "sid")
    pairs = [
        ("portal_access", "1"),
        ("scope", "billing"),
        ("scope", "booking"),
        ("scope", "root"),
        ("scope", "<script>"),
    ]
    response = await save(client, cast, cast.charlie, pairs)
    assert response.status_code == 303
    assert response.headers["Location"] == page_of(cast.charlie.id) + "?notice=saved"
    contact = await contact_of(cast, cast.charlie)
    # Booking includes seeing appointments: saved with it, in the fixed order.
    assert contact.portal_access and contact.scopes == ["appointments", "booking", "billing"]
    events = await AuditEvent.filter(action="contact.access", client_id=cast.charlie.id)
    assert len(events) == 1 and events[0].actor_id == cast.sid.user_id
    # The same form again (a double submit) changes and audits nothing.
    again = await save(client, cast, cast.charlie, pairs)
    assert again.headers["Location"].endswith("?notice=unchanged")
    assert await AuditEvent.filter(action="contact.access").count() == 1
    # Gina now pays for Charlie and no longer signs forms.
    gina = await User.get(id=cast.gina.id)
    charlie = next(a for a in await client_accesses(gina) if a.client.id == cast.charlie.id)
    assert charlie.allows("billing") and charlie.can_book and not charlie.allows("forms")


async def test_turning_portal_access_off_removes_the_client_from_the_guardian(app, client, cast):
    await sign_in(client, "ada")
    response = await save(client, cast, cast.charlie, [("scope", "forms")], headers=HX)
    assert response.status_code == 200  # htmx: the page itself, updated
    html = await response.get_data(as_text=True)
    assert "Portal access saved." in html
    assert 'name="portal_access" value="1" checked' not in html
    contact = await contact_of(cast, cast.charlie)
    assert not contact.portal_access and contact.scopes == ["forms"]
    gina = app.test_client()
    await sign_in(gina, "gina")
    assert [a.client.id for a in await client_accesses(await User.get(id=cast.gina.id))] == [
        cast.dana.id
    ]
    dashboard = await (await gina.get("/dashboard")).get_data(as_text=True)
    assert "Charlie" not in dashboard
    refused = await post(gina, "/switch-client", {"client_id": str(cast.charlie.id)})
    assert refused.status_code == 404


async def test_another_practice_or_another_clients_contact_is_404(client, cast):
    other = await Practice.create(name="Elsewhere", payment_processor="demo")
    stranger = await Client.create(practice=other, number="X1", first_name="Sam", last_name="X")
    far = await Contact.create(
        client=stranger, name="Far", relationship="Spouse", portal_access=False, scopes=[]
    )
    await sign_in(client, "sid")
    assert (await client.get(page_of(stranger.id))).status_code == 404
    assert (await client.get(page_of(987654))).status_code == 404
    response = await save(client, cast, stranger, [("portal_access", "1")], contact=far)
    assert response.status_code == 404
    # Dana's link through Charlie's page: someone else's object.
    dana_link = await contact_of(cast, cast.dana)
    response = await save(client, cast, cast.charlie, [("scope", "forms")], contact=dana_link)
    assert response.status_code == 404
    token = await csrf_token(client, "/staff/clients")
    invite = await client.post(
        f"{page_of(cast.charlie.id)}/{dana_link.id}/invite", form={"csrf_token": token}
    )
    assert invite.status_code == 404
    assert not (await Contact.get(id=far.id)).portal_access
    assert (await Contact.get(id=dana_link.id)).portal_access
    assert len((await Contact.get(id=dana_link.id)).scopes) == 7
    assert not await AuditEvent.filter(action__startswith="contact.").exists()


@pytest.mark.parametrize("who", ["bea", "penny"])
async def test_billers_and_providers_are_refused(client, cast, who):
    await sign_in(client, who)
    assert (await client.get(page_of(cast.charlie.id))).status_code == 403
    token = await csrf_token(client, "/staff/clients")
    contact = await contact_of(cast, cast.charlie)
    response = await client.post(
        f"{page_of(cast.charlie.id)}/{contact.id}/access",
        form={"csrf_token": token, "scope": "billing", "portal_access": "1"},
    )
    assert response.status_code == 403
    assert (await Contact.get(id=contact.id)).scopes == ["appointments", "forms"]
    clients = await (await client.get("/staff/clients")).get_data(as_text=True)
    assert page_of(cast.charlie.id) not in clients


async def test_too_many_rights_is_422_and_changes_nothing(client, cast):
    await sign_in(client, "sid")
    response = await save(client, cast, cast.charlie, [("scope", "billing")] * 50)
    assert response.status_code == 422
    assert "Choose rights from the list." in await response.get_data(as_text=True)
    assert (await contact_of(cast, cast.charlie)).scopes == ["appointments", "forms"]


async def invite(client, who, contact):
    token = await csrf_token(client, "/staff/clients")
    return await client.post(f"{page_of(who.id)}/{contact.id}/invite", form={"csrf_token": token})


async def test_inviting_a_contact_whose_email_has_a_login_links_it(app, client, cast, smtp_server):
    """One login for several children: Bob's mother is Gina, who already signs in."""
    mother = await Contact.create(
        client=cast.bob,
        name="Gina",
        relationship="Parent/Guardian",
        email="Gina@Test.example",
        scopes=["forms"],
    )
    await sign_in(client, "sid")
    response = await invite(client, cast.bob, mother)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("?notice=linked")
    linked = await Contact.get(id=mother.id)
    assert linked.user_id == cast.gina.id and linked.portal_access
    assert await User.filter(email__icontains="gina").count() == 1
    assert await AuditEvent.filter(action="contact.linked", client_id=cast.bob.id).exists()
    gina = app.test_client()
    await sign_in(gina, "gina")
    dashboard = await (await gina.get("/dashboard")).get_data(as_text=True)
    assert "Bob Example" in dashboard
    await post(gina, "/switch-client", {"client_id": str(cast.bob.id)})
    assert (await gina.get("/documents")).status_code == 200
    assert (await gina.get("/pay")).status_code == 404  # only "forms" for Bob
    # Linked again: refused, nothing changes.
    again = await invite(client, cast.bob, mother)
    assert again.status_code == 422
    assert "already has a login" in await again.get_data(as_text=True)


async def test_inviting_a_new_contact_emails_a_set_password_link(app, client, cast, smtp_server):
    uncle = await Contact.create(
        client=cast.charlie,
        name="Uncle Ray",
        relationship="Other",
        email="ray@example.test",
        scopes=["appointments"],
    )
    await sign_in(client, "sid")
    response = await invite(client, cast.charlie, uncle)
    assert response.headers["Location"].endswith("?notice=invited")
    ray = await User.get(email="ray@example.test")
    assert ray.password_hash == ""  # no one can sign in until the link is used
    assert (await Contact.get(id=uncle.id)).user_id == ray.id
    [message] = [m for m in await sent_mail(app, smtp_server) if m["To"] == "ray@example.test"]
    assert message["Subject"] == "You're invited to the client portal of Test Practice"
    link = re.search(re.escape(PUBLIC) + r"(/password/reset/\S+)", message.get_content())[1]
    newcomer = app.test_client()
    assert (await newcomer.get(link)).status_code == 200
    token = await csrf_token(newcomer, "/password/forgot")
    chosen = await newcomer.post(link, form={"new_password": NEW_PASSWORD, "csrf_token": token})
    assert chosen.status_code == 303
    assert (await sign_in(newcomer, "ray@example.test", NEW_PASSWORD)).status_code == 303
    page = await (await newcomer.get("/appointments")).get_data(as_text=True)
    assert f'id="appt-{cast.c_soon.id}"' in page
    assert (await newcomer.get("/appointments/new")).status_code == 404  # no "booking"


@pytest.mark.parametrize(
    "email, message",
    [
        ("", "This contact has no email address to invite."),
        ("not an email", "Enter an email address like name@example.com."),
        ("alice@test.example", "This email address is the client's own login."),
    ],
)
async def test_an_invitation_that_cannot_be_sent_is_422(client, cast, email, message):
    contact = await Contact.create(
        client=cast.alice, name="Someone", relationship="Spouse", email=email, scopes=[]
    )
    users = await User.all().count()
    await sign_in(client, "sid")
    response = await invite(client, cast.alice, contact)
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in await response.get_data(as_text=True)
    fresh = await Contact.get(id=contact.id)
    assert fresh.user_id is None and not fresh.portal_access
    assert await User.all().count() == users
