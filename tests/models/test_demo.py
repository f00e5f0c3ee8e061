"""`portal demo` seeds what DESIGN.md promises, and seeding twice adds nothing."""

import pytest

from models import clock
from models.demo import DEMO_PASSWORD, seed_demo
from models.people import Client, ContactPoint, User
from models.practice import Practice
from models.scheduling import Appointment
from tests.helpers import sign_in

ACCOUNTS = {
    "client@demo.test": "/dashboard",
    "guardian@demo.test": "/dashboard",
    "provider@demo.test": "/staff/",
    "scheduler@demo.test": "/staff/",
    "biller@demo.test": "/staff/",
    "admin@demo.test": "/staff/",
}


async def counts() -> tuple[int, ...]:
    return (
        await User.all().count(),
        await Client.all().count(),
        await Appointment.all().count(),
    )


async def test_it_seeds_the_demo_practice_once(app):
    assert await seed_demo() == "demo practice seeded"
    first = await counts()
    assert "already seeded" in await seed_demo()
    assert await counts() == first


async def test_it_keeps_the_design_contract(app):
    await seed_demo()
    practice = await Practice.get()
    assert practice.sms_number == "+15550109999"
    alex = await Client.get(user__email="client@demo.test")
    mobile = await ContactPoint.get(client=alex, kind="phone")
    assert mobile.value == "+15550100001" and mobile.reminders and mobile.request_confirmation
    upcoming = await Appointment.filter(
        client=alex, starts_at__gt=clock.now(), confirmation_requested=True, status="scheduled"
    ).count()
    assert upcoming >= 1
    guardian = await User.get(email="guardian@demo.test")
    assert await Client.filter(contacts__user=guardian, contacts__portal_access=True).count() == 2


@pytest.mark.parametrize(("email", "home"), list(ACCOUNTS.items()))
async def test_it_signs_in_every_demo_account(app, email, home):
    await seed_demo()
    client = app.test_client()
    response = await sign_in(client, email, password=DEMO_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == home
    assert (await client.get(home)).status_code == 200


@pytest.mark.parametrize("days_ahead", range(7))
async def test_the_demo_never_double_books_a_provider_whatever_the_weekday(app, days_ahead):
    """Weekend days roll over to Monday: seeding on any day of the week must still give
    each provider's live appointments distinct times (PostgreSQL refuses otherwise)."""
    from datetime import timedelta

    from models.scheduling import UPCOMING_STATUSES

    clock.travel(timedelta(days=days_ahead))
    await seed_demo()
    live = await Appointment.filter(status__in=UPCOMING_STATUSES).order_by(
        "provider_id", "starts_at"
    )
    for earlier, later in zip(live, live[1:], strict=False):
        if earlier.provider_id == later.provider_id:
            assert earlier.ends_at <= later.starts_at, (earlier.id, later.id)
