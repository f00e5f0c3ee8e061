"""``portal demo``: an idempotent seed of the demo practice described in DESIGN.md.

Running it again adds nothing twice; it only tops up the demo client's upcoming
appointments when time has moved past them, so the demo always has something to
confirm.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import clock
from models.auth import hash_password
from models.documents import AssignmentStatus, FormAssignment, FormTemplate
from models.insurance import InsurancePolicy, Payer
from models.ledger import EntryKind, LedgerEntry, PaymentAllocation, SavedCard
from models.messaging import Message, Thread
from models.people import ALL_SCOPES, Client, Contact, ContactPoint, StaffMember, User
from models.practice import Location, Practice, Service
from models.scheduling import Appointment, AppointmentStatus, AvailabilityBlock

DEMO_PASSWORD = "demo-portal-2026"
TZ = "America/New_York"
CLIENT_MOBILE = "+15550100001"
PRACTICE_SMS = "+15550109999"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time on ``day``; ``minute`` may run past the hour."""
    start = datetime.combine(day, time(hour), ZoneInfo(TZ))
    return start + timedelta(minutes=minute)


def _weekday_after(days: int) -> date:
    """The first Monday-to-Friday date at least ``days`` from today (providers' hours)."""
    day = clock.now().astimezone(ZoneInfo(TZ)).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _user(email: str, name: str, password_hash: str, language: str = "en") -> User:
    # Demo people have used the portal before: the practice's terms are already accepted.
    return await User.create(
        email=email,
        display_name=name,
        password_hash=password_hash,
        language=language,
        terms_version=1,
        terms_accepted_at=clock.now(),
    )


async def seed_demo(processor: str = "demo") -> str:
    """Seed the demo practice once. ``processor``: "demo" (the offline test cards, and a
    demo card on file for the client) or "stripe" (when the server has Stripe's keys:
    no card on file, since cards must be added through Stripe)."""
    if await User.exists(email="admin@demo.test"):
        added = await _top_up_upcoming()
        return f"demo already seeded; {added} upcoming appointments added"
    pw = await hash_password(DEMO_PASSWORD)
    async with in_transaction():
        await _seed(pw, processor)
        await _plan_reminders()
    return "demo practice seeded"


async def _plan_reminders(*client_ids: int) -> None:
    """Reminders for the demo's upcoming appointments (all clients', or these)."""
    from models.reminders import replan

    if not client_ids:
        client_ids = tuple(
            await Appointment.filter(starts_at__gt=clock.now())
            .distinct()
            .values_list("client_id", flat=True)
        )
    for client_id in sorted(set(client_ids)):
        await replan(client_id)


async def _seed(pw: str, processor: str) -> None:
    practice = await Practice.create(
        name="Riverbend Wellness Group",
        phone="+15550109000",
        sms_number=PRACTICE_SMS,
        email="frontdesk@riverbend.demo.test",
        tax_id="56-1234567",
        time_zone=TZ,
        terms_of_service=(
            "By using this portal you agree to keep your sign-in details private, to tell "
            "the practice about changes to your contact details, and that messages sent "
            "here are not for emergencies: call 988 or 911 in a crisis.\n\n"
            "Appointments cancelled with less than 24 hours' notice may be charged a fee."
        ),
        portal_settings={"scheduling_mode": "request"},
        payment_processor=processor,
    )
    main = await Location.create(
        practice=practice,
        name="Main Office",
        address_line1="12 Riverside Drive, Suite 200",
        city="Asheville",
        region="NC",
        postal_code="28801",
    )
    video = await Location.create(practice=practice, name="Telehealth", telehealth=True)

    services = {
        # The practice books intakes itself, after a phone screen: not self-schedulable,
        # so "I don't know" in Find an Appointment means a 45-minute session.
        "intake": await Service.create(
            practice=practice,
            name="Intake assessment",
            cpt_code="90791",
            duration_minutes=60,
            buffer_minutes=15,
            fee_cents=20000,
            self_schedulable=False,
        ),
        "45": await Service.create(
            practice=practice,
            name="Individual session, 45 minutes",
            cpt_code="90834",
            duration_minutes=45,
            fee_cents=15000,
        ),
        "60": await Service.create(
            practice=practice,
            name="Individual session, 60 minutes",
            cpt_code="90837",
            duration_minutes=60,
            fee_cents=18000,
        ),
        "family": await Service.create(
            practice=practice,
            name="Family session",
            cpt_code="90847",
            duration_minutes=50,
            fee_cents=17000,
        ),
    }

    async def staff(email, name, roles, title="", npi=""):
        user = await _user(email, name, pw)
        return await StaffMember.create(
            practice=practice, user=user, roles=roles, title=title, npi=npi
        )

    chen = await staff("provider@demo.test", "Dr. Maya Chen", ["provider"], "PhD", "1234567893")
    okafor = await staff("provider2@demo.test", "Daniel Okafor", ["provider"], "LCSW", "1245319599")
    alvarez = await staff(
        "provider3@demo.test", "Lucía Álvarez", ["provider"], "LMFT", "1679576722"
    )
    await staff("scheduler@demo.test", "Priya Natarajan", ["scheduler"])
    await staff("biller@demo.test", "Tom Becker", ["biller"])
    await staff("admin@demo.test", "Grace Whitfield", ["admin"])

    # Mornings at the office (in person or by video) or by video only, afternoons by
    # video; Álvarez is at the office on Monday, Wednesday and Friday mornings.
    for provider, days, loc in (
        (chen, range(0, 4), main),
        (okafor, range(1, 5), main),
        (alvarez, range(0, 5), None),
    ):
        for weekday in days:
            place = loc or (main if weekday % 2 == 0 else video)
            await AvailabilityBlock.create(
                provider=provider,
                weekday=weekday,
                start_minute=9 * 60,
                end_minute=12 * 60,
                location=place,
                modality="both" if place == main else "telehealth",
            )
            await AvailabilityBlock.create(
                provider=provider,
                weekday=weekday,
                start_minute=13 * 60,
                end_minute=17 * 60,
                location=video,
                modality="telehealth",
            )
    # An evening by video for clients who work days.
    await AvailabilityBlock.create(
        provider=okafor,
        weekday=3,
        start_minute=17 * 60,
        end_minute=19 * 60,
        location=video,
        modality="telehealth",
    )

    blue = await Payer.create(practice=practice, name="Blue Ridge Health Plan", payer_code="BRHP1")
    await Payer.create(practice=practice, name="Evergreen Mutual", payer_code="EVM22")

    # --- the demo client ---
    alex_user = await _user("client@demo.test", "Alex Rivera", pw)
    alex = await Client.create(
        practice=practice,
        user=alex_user,
        number="C000100001",
        first_name="Alex",
        last_name="Rivera",
        date_of_birth=date(1990, 8, 8),
        gender="Non-binary",
        diagnosis_codes=["F41.1"],
        city="Asheville",
        region="NC",
        time_zone=TZ,
        primary_provider=chen,
    )
    await ContactPoint.create(
        client=alex,
        kind="phone",
        label="Mobile",
        value=CLIENT_MOBILE,
        is_default=True,
        reminders=True,
        reminder_days_before=1,
        request_confirmation=True,
    )
    await ContactPoint.create(
        client=alex,
        kind="email",
        label="Primary Email",
        value="client@demo.test",
        is_default=True,
        reminders=True,
        reminder_days_before=2,
    )
    await Contact.create(
        client=alex,
        name="Jordan Rivera",
        relationship="Spouse/Partner",
        phone="+15550100002",
    )
    if processor == "demo":
        await SavedCard.create(
            client=alex,
            added_by=alex_user,
            processor_ref="pm_card_visa",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=clock.now().year + 2,
            nickname="Alex's card",
            cardholder="Alex Rivera",
            is_default=True,
            processor="demo",
            consented_at=clock.now(),
        )
    await _history(alex, chen, services, main, video, blue)
    await _top_up_upcoming()

    # --- a parent with portal access to two children ---
    sam = await _user("guardian@demo.test", "Sam Taylor", pw)
    for first, dob, number in (
        ("Jamie", date(2013, 3, 14), "C000100002"),
        ("Riley", date(2016, 10, 2), "C000100003"),
    ):
        child = await Client.create(
            practice=practice,
            number=number,
            first_name=first,
            last_name="Taylor",
            date_of_birth=dob,
            time_zone=TZ,
            primary_provider=alvarez,
            insurance_choice="insurance",
        )
        await Contact.create(
            client=child,
            user=sam,
            name="Sam Taylor",
            relationship="Parent/Guardian",
            phone="+15550100003",
            email="guardian@demo.test",
            responsible_party=True,
            portal_access=True,
            scopes=list(ALL_SCOPES),
        )
        await InsurancePolicy.create(
            client=child,
            payer=blue,
            member_id=f"BRX55{number[-4:]}21",
            subscriber_name="Sam Taylor",
            relationship="child",
        )
        # Two children, one provider: weekend days roll to the same Monday, so the
        # hour differs too (the database refuses a double booking).
        day = _weekday_after(4 + int(number[-1]))
        hour = 14 + int(number[-1])
        await Appointment.create(
            client=child,
            provider=alvarez,
            service=services["family"],
            location=video,
            telehealth=True,
            starts_at=_at(day, hour),
            ends_at=_at(day, hour, 50),
            status=AppointmentStatus.SCHEDULED,
            confirmation_requested=True,
        )
    jamie = await Client.get(number="C000100002")
    await _forms(practice, jamie, signer=sam, submitted=0)

    # --- other clients, so the staff side has a practice to run ---
    for i, (first, last, provider) in enumerate(
        (("Morgan", "Lee", okafor), ("Casey", "Park", chen), ("Jordan", "Brooks", alvarez))
    ):
        other = await Client.create(
            practice=practice,
            number=f"C00010001{i}",
            first_name=first,
            last_name=last,
            time_zone=TZ,
            primary_provider=provider,
            insurance_choice="self_pay",
        )
        if first == "Casey":  # no portal account yet: staff can invite at this address
            await ContactPoint.create(
                client=other,
                kind="email",
                label="Primary Email",
                value="casey.park@demo.test",
                is_default=True,
            )
        day = _weekday_after(1 + i)
        await Appointment.create(
            client=other,
            provider=provider,
            service=services["60"],
            location=main,
            starts_at=_at(day, 10 + i),
            ends_at=_at(day, 11 + i),
            status=AppointmentStatus.REQUESTED if i == 0 else AppointmentStatus.SCHEDULED,
            created_via="portal" if i == 0 else "staff",
        )
    await _forms(practice, alex, signer=None, submitted=2)
    await _messages(alex, alex_user, chen)


async def _history(alex, chen, services, main, video, payer) -> None:
    """A past month of weekly sessions, charges, insurance and payments."""
    today = clock.now().astimezone(ZoneInfo(TZ)).date()
    first = today - timedelta(days=35)
    for week in range(5):
        day = first + timedelta(days=7 * week)
        tele = week % 2 == 1
        status = AppointmentStatus.COMPLETED
        service = services["intake"] if week == 0 else services["45"]
        if week == 3:
            status = AppointmentStatus.LATE_CANCELLED
        appt = await Appointment.create(
            client=alex,
            provider=chen,
            service=service,
            location=video if tele else main,
            telehealth=tele,
            starts_at=_at(day, 10),
            ends_at=_at(day, 10, service.duration_minutes),
            status=status,
            confirmation_requested=True,
            confirmed_at=_at(day, 9) - timedelta(days=1),
        )
        if status == AppointmentStatus.LATE_CANCELLED:
            await LedgerEntry.create(
                client=alex,
                kind=EntryKind.CHARGE,
                posted_on=day,
                amount_cents=5000,
                appointment=appt,
                description="Late cancellation fee",
            )
            continue
        charge = await LedgerEntry.create(
            client=alex,
            kind=EntryKind.CHARGE,
            posted_on=day,
            amount_cents=service.fee_cents,
            insurance_expected_cents=service.fee_cents - 3000,
            appointment=appt,
            service=service,
            cpt_code=service.cpt_code,
            description=service.name,
        )
        copay = await LedgerEntry.create(
            client=alex,
            kind=EntryKind.CLIENT_PAYMENT,
            posted_on=day,
            amount_cents=3000,
            method="Visa 4242",
            description="Copay",
        )
        await PaymentAllocation.create(payment=copay, charge=charge, amount_cents=3000)
        if week <= 1:  # the payer has processed the first two claims
            allowed = service.fee_cents - 4000
            paid = allowed - 3000 - (5000 if week == 0 else 0)
            ins = await LedgerEntry.create(
                client=alex,
                kind=EntryKind.INSURANCE_PAYMENT,
                posted_on=day + timedelta(days=14),
                amount_cents=paid,
                payer=payer,
                description="Blue Ridge Health Plan",
                reference="EOB 88121",
            )
            await PaymentAllocation.create(payment=ins, charge=charge, amount_cents=paid)
            await LedgerEntry.create(
                client=alex,
                kind=EntryKind.DIST_ADJUSTMENT,
                posted_on=day + timedelta(days=14),
                amount_cents=1000,
                payer=payer,
                description="Contractual adjustment",
            )
            if week == 0:
                await LedgerEntry.create(
                    client=alex,
                    kind=EntryKind.TO_DEDUCTIBLE,
                    posted_on=day + timedelta(days=14),
                    amount_cents=5000,
                    payer=payer,
                    description="Applied to deductible",
                )


async def _top_up_upcoming() -> int:
    """Keep the demo client's next weeks booked, one asking for confirmation."""
    alex = await Client.get_or_none(number="C000100001")
    if alex is None:
        return 0
    upcoming = await Appointment.filter(
        client=alex,
        starts_at__gt=clock.now(),
        status__in=[AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
    ).count()
    if upcoming:
        return 0
    chen = await StaffMember.get(id=alex.primary_provider_id)
    service = await Service.get(practice_id=alex.practice_id, cpt_code="90834")
    main = await Location.get(practice_id=alex.practice_id, name="Main Office")
    video = await Location.get(practice_id=alex.practice_id, name="Telehealth")
    plan = [
        (3, 10, AppointmentStatus.SCHEDULED, True, main),
        (10, 10, AppointmentStatus.CONFIRMED, False, video),
        (17, 10, AppointmentStatus.SCHEDULED, False, main),
    ]
    for days, hour, status, ask, loc in plan:
        day = _weekday_after(days)
        await Appointment.create(
            client=alex,
            provider=chen,
            service=service,
            location=loc,
            telehealth=loc.telehealth,
            starts_at=_at(day, hour),
            ends_at=_at(day, hour, service.duration_minutes),
            status=status,
            confirmation_requested=ask or status == AppointmentStatus.CONFIRMED,
            confirmed_at=clock.now() if status == AppointmentStatus.CONFIRMED else None,
        )
    await _plan_reminders(alex.id)
    return len(plan)


INTAKE_FORMS = [
    (
        "Intake questionnaire",
        [
            {
                "key": "reason",
                "type": "long_text",
                "label": "What brings you in?",
                "required": True,
            },
            {"key": "goals", "type": "long_text", "label": "What would you like to change?"},
            {"key": "prior", "type": "yes_no", "label": "Have you been in therapy before?"},
        ],
    ),
    (
        "Informed consent for treatment",
        [
            {"key": "agree", "type": "yes_no", "label": "I consent to treatment", "required": True},
        ],
    ),
    (
        "Notice of privacy practices",
        [
            {"key": "ack", "type": "yes_no", "label": "I have read the notice", "required": True},
        ],
    ),
    (
        "Release of information",
        [
            {
                "key": "recipient",
                "type": "short_text",
                "label": "Who may we share information with?",
            },
        ],
    ),
]


async def _forms(practice, client, signer, submitted: int) -> None:
    """The default intake forms; the last ``submitted`` of them already signed. Their
    PDFs are made by ``portal demo`` after seeding (channels/form_pdfs.render_missing),
    or on first download."""
    templates = []
    for name, schema in INTAKE_FORMS:
        template = await FormTemplate.get_or_none(practice=practice, name=name)
        if template is None:
            template = await FormTemplate.create(practice=practice, name=name, fields_schema=schema)
        templates.append(template)
    demo_answers = {"yes_no": "yes", "short_text": "Dr. Morgan Lee, my primary care doctor"}
    for i, template in enumerate(templates):
        done = i >= len(templates) - submitted
        answers = {
            f["key"]: demo_answers[f["type"]]
            for f in template.fields_schema
            if done and f["type"] in demo_answers
        }
        await FormAssignment.create(
            client=client,
            template=template,
            signer=signer,
            status=AssignmentStatus.SUBMITTED if done else AssignmentStatus.ASSIGNED,
            answers=answers,
            submitted_at=clock.now() - timedelta(days=30) if done else None,
            signature_name=(signer.display_name if signer else client.full_name) if done else "",
            signed_by_id=(signer.id if signer else client.user_id) if done else None,
            signature_ip="127.0.0.1" if done else "",
        )


async def _messages(alex, alex_user, chen) -> None:
    now = clock.now()
    thread = await Thread.create(
        client=alex,
        topic="provider",
        provider=chen,
        subject="Next week's session",
        last_message_at=now - timedelta(hours=5),
    )
    await Message.create(
        thread=thread,
        sender=alex_user,
        from_client_side=True,
        read_at=now - timedelta(days=1),
        body="Hi Dr. Chen, could we talk about the sleep diary at our next session?",
    )
    await Message.create(
        thread=thread,
        sender=chen.user_id and await User.get(id=chen.user_id),
        from_client_side=False,
        body="Of course. Please bring the last two weeks of entries and we'll go through them.",
    )
    billing = await Thread.create(
        client=alex,
        topic="biller",
        subject="Receipt for October",
        last_message_at=now - timedelta(days=8),
    )
    biller = await User.get(email="biller@demo.test")
    await Message.create(
        thread=billing,
        sender=alex_user,
        from_client_side=True,
        read_at=now - timedelta(days=8),
        body="Could you send me a receipt for my October sessions for my FSA?",
    )
    await Message.create(
        thread=billing,
        sender=biller,
        from_client_side=False,
        read_at=now - timedelta(days=7),
        body="Yes: My Account now lists every payment, and statements can be saved from there.",
    )
