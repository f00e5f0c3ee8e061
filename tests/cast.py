"""The cast every test can use: Alice is a client, Bob is another client, Gina is
the guardian of Charlie (appointments and forms only) and Dana (everything),
Penny is Alice's provider; Sid schedules, Bea bills, Ada administers."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from models import clock
from models.auth import hash_password
from models.documents import FormAssignment, FormTemplate
from models.ledger import EntryKind, LedgerEntry
from models.messaging import Message, Thread
from models.people import ALL_SCOPES, Client, Contact, StaffMember, User
from models.practice import Location, Practice, Service
from models.scheduling import Appointment, AppointmentStatus

PASSWORD = "correct horse battery"


async def build_cast() -> SimpleNamespace:
    pw = await hash_password(PASSWORD)
    now = clock.now()
    practice = await Practice.create(name="Test Practice", payment_processor="demo")
    office = await Location.create(practice=practice, name="Office")
    service = await Service.create(
        practice=practice, name="Session", cpt_code="90834", duration_minutes=45, fee_cents=15000
    )

    async def user(name: str) -> User:
        return await User.create(
            email=f"{name.lower()}@test.example", display_name=name, password_hash=pw
        )

    async def staff(name: str, roles: list[str]) -> StaffMember:
        return await StaffMember.create(practice=practice, user=await user(name), roles=roles)

    penny = await staff("Penny", ["provider"])
    sid = await staff("Sid", ["scheduler"])
    bea = await staff("Bea", ["biller"])
    ada = await staff("Ada", ["admin"])

    async def client(name: str, number: str, account: bool = True, **kw) -> Client:
        return await Client.create(
            practice=practice,
            user=await user(name) if account else None,
            number=number,
            first_name=name,
            last_name="Example",
            primary_provider=penny,
            **kw,
        )

    alice = await client("Alice", "C1")
    bob = await client("Bob", "C2")
    charlie = await client("Charlie", "C3", account=False)
    dana = await client("Dana", "C4", account=False)
    gina = await user("Gina")
    await Contact.create(
        client=charlie,
        user=gina,
        name="Gina",
        relationship="Parent/Guardian",
        portal_access=True,
        scopes=["appointments", "forms"],
    )
    await Contact.create(
        client=dana,
        user=gina,
        name="Gina",
        relationship="Parent/Guardian",
        portal_access=True,
        scopes=list(ALL_SCOPES),
    )

    async def appointment(who: Client, starts_in: timedelta, **kw) -> Appointment:
        start = now + starts_in
        return await Appointment.create(
            client=who,
            provider=penny,
            service=service,
            location=office,
            starts_at=start,
            ends_at=start + timedelta(minutes=45),
            **kw,
        )

    a_soon = await appointment(
        alice, timedelta(days=3), status=AppointmentStatus.SCHEDULED, confirmation_requested=True
    )
    a_tomorrow = await appointment(
        alice, timedelta(hours=10), status=AppointmentStatus.SCHEDULED, confirmation_requested=True
    )
    a_past = await appointment(alice, timedelta(days=-7), status=AppointmentStatus.COMPLETED)
    b_soon = await appointment(
        bob, timedelta(days=2), status=AppointmentStatus.SCHEDULED, confirmation_requested=True
    )
    c_soon = await appointment(charlie, timedelta(days=4), status=AppointmentStatus.SCHEDULED)

    await LedgerEntry.create(
        client=alice,
        kind=EntryKind.CHARGE,
        posted_on=date(2026, 10, 1),
        amount_cents=15000,
        insurance_expected_cents=12000,
        cpt_code="90834",
        description="Session",
    )
    await LedgerEntry.create(
        client=alice,
        kind=EntryKind.CLIENT_PAYMENT,
        posted_on=date(2026, 10, 1),
        amount_cents=3000,
        method="Visa 4242",
    )
    await LedgerEntry.create(
        client=alice,
        kind=EntryKind.CHARGE,
        posted_on=date(2026, 11, 1),
        amount_cents=15000,
        description="Session",
    )
    await LedgerEntry.create(
        client=bob,
        kind=EntryKind.CHARGE,
        posted_on=date(2026, 11, 1),
        amount_cents=9900,
        description="Session",
    )

    thread = await Thread.create(
        client=alice, topic="provider", provider=penny, subject="Sleep diary", last_message_at=now
    )
    await Message.create(
        thread=thread, sender_id=penny.user_id, from_client_side=False, body="Bring it along."
    )
    bob_thread = await Thread.create(client=bob, topic="biller", subject="Bob's receipt")
    intake = await FormTemplate.create(practice=practice, name="Intake questionnaire")
    await FormAssignment.create(client=alice, template=intake)
    await FormAssignment.create(client=bob, template=intake)

    return SimpleNamespace(
        practice=practice,
        office=office,
        service=service,
        penny=penny,
        sid=sid,
        bea=bea,
        ada=ada,
        alice=alice,
        bob=bob,
        charlie=charlie,
        dana=dana,
        gina=gina,
        a_soon=a_soon,
        a_tomorrow=a_tomorrow,
        a_past=a_past,
        b_soon=b_soon,
        c_soon=c_soon,
        thread=thread,
        bob_thread=bob_thread,
    )


def email_of(name: str) -> str:
    return f"{name.lower()}@test.example"
