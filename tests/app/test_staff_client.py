"""A client's page for staff (/staff/clients/<id>, issue 9): what each role sees of the
client (appointments and forms for schedulers, admins and the client's providers; the
balance for billers; insurance for billers and schedulers; conversations as the inbox
shows them), that reading it is audited, and that another practice's client is 404."""

from __future__ import annotations

import pytest

from models import clock
from models.audit import READ, AuditEvent
from models.documents import FormAssignment, FormTemplate
from models.insurance import InsurancePolicy, Payer
from models.ledger import EntryKind, LedgerEntry, totals_for
from models.messaging import Thread
from models.people import Client, StaffMember, User
from models.practice import Practice
from tests.helpers import sign_in


async def dollars(client: Client) -> str:
    """The client's balance as the page writes it ("$1,234.00")."""
    return f"${(await totals_for(client.id)).balance / 100:,.2f}"


def page_of(client: Client) -> str:
    return f"/staff/clients/{client.id}"


@pytest.fixture
async def alices_record(cast):
    template = await FormTemplate.create(practice=cast.practice, name="Consent to treatment")
    await FormAssignment.create(client=cast.alice, template=template)
    payer = await Payer.create(practice=cast.practice, name="Blue Ridge Health")
    await InsurancePolicy.create(client=cast.alice, payer=payer, member_id="M1")
    await LedgerEntry.create(
        client=cast.alice, kind=EntryKind.CHARGE, amount_cents=15000, posted_on=clock.now().date()
    )
    await Thread.create(client=cast.alice, topic="biller", subject="Question about a bill")
    await Thread.create(
        client=cast.alice, topic="provider", provider=cast.penny, subject="Sleep diary"
    )


async def html_as(client, who: str, path: str) -> tuple[int, str]:
    await sign_in(client, who)
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)


async def test_a_scheduler_sees_appointments_forms_and_insurance_not_the_balance(
    client, cast, alices_record
):
    status, html = await html_as(client, "sid", page_of(cast.alice))
    assert status == 200
    assert "Upcoming appointments" in html and " · Session</span>" in html
    assert "Consent to treatment" in html
    assert "Blue Ridge Health" in html and "Sent to staff for review" in html
    assert "Balance" not in html
    assert "Question about a bill" not in html and "Sleep diary" not in html  # not their queue
    event = await AuditEvent.filter(action=READ, client_id=cast.alice.id).order_by("-id").first()
    assert event is not None and event.actor_id == cast.sid.user_id


async def test_a_biller_sees_the_balance_insurance_and_billing_threads_only(
    client, cast, alices_record
):
    status, html = await html_as(client, "bea", page_of(cast.alice))
    assert status == 200
    assert await dollars(cast.alice) in html and "Blue Ridge Health" in html
    assert "Question about a bill" in html and "Sleep diary" not in html
    assert "Upcoming appointments" not in html and "Consent to treatment" not in html


async def test_the_clients_provider_sees_clinical_parts_and_their_threads(
    client, cast, alices_record
):
    status, html = await html_as(client, "penny", page_of(cast.alice))
    assert status == 200
    assert "Upcoming appointments" in html and "Consent to treatment" in html
    assert "Sleep diary" in html and "Question about a bill" not in html
    assert "Blue Ridge Health" not in html and ">Balance</h2>" not in html


async def test_another_provider_sees_no_clinical_parts(client, cast, alices_record):
    user = await User.create(email="otto@test.example", display_name="Otto", password_hash="x")
    await StaffMember.create(practice=cast.practice, user=user, roles=["provider"])
    user.password_hash = (await User.get(id=cast.penny.user_id)).password_hash
    await user.save()
    status, html = await html_as(client, "otto@test.example", page_of(cast.alice))
    assert status == 200 and "Alice Example" in html
    assert "Upcoming appointments" not in html and "Consent to treatment" not in html
    assert "Sleep diary" not in html


async def test_an_admin_sees_everything_and_the_settings_links(client, cast, alices_record):
    status, html = await html_as(client, "ada", page_of(cast.alice))
    assert status == 200
    for text in ("Upcoming appointments", await dollars(cast.alice), "Sleep diary"):
        assert text in html, text
    assert f'href="/admin/clients/{cast.alice.id}/portal"' in html


async def test_the_clients_list_links_to_the_page(client, cast):
    status, html = await html_as(client, "sid", "/staff/clients")
    assert f'href="/staff/clients/{cast.alice.id}">Example, Alice</a>' in html


async def test_another_practices_client_and_clients_are_404(app, client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(practice=other, number="X1", first_name="Far", last_name="Away")
    await sign_in(client, "ada")
    assert (await client.get(page_of(stranger))).status_code == 404
    alice = app.test_client()
    await sign_in(alice, "alice")
    assert (await alice.get(page_of(cast.alice))).status_code == 404
