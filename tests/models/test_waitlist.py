"""The waitlist: joining, places in line, and openings offered in turn with a hold."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from models import clock, waitlist
from models.errors import RuleError
from models.scheduling import AppointmentStatus, WaitlistEntry, WaitlistOffer


class Outbox:
    """What ``send`` was asked to mail: (offer id, client id, token)."""

    def __init__(self):
        self.sent = []

    async def __call__(self, offer, token):
        self.sent.append((offer.id, offer.entry.client_id, token))


async def cancel(appointment):
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = clock.now()
    await appointment.save()


async def test_join_refuses_what_the_practice_does_not_offer(app, cast):
    with pytest.raises(RuleError, match="waitlist_bad_choice"):
        await waitlist.join(
            cast.alice,
            provider_id=cast.sid.id,
            service_id=None,
            modality="any",
            weekdays=[],
            day_parts=[],
        )  # a scheduler is not a provider
    with pytest.raises(RuleError, match="waitlist_bad_choice"):
        await waitlist.join(
            cast.alice,
            provider_id=None,
            service_id=None,
            modality="any",
            weekdays=[9],
            day_parts=[],
        )
    entry = await waitlist.join(
        cast.alice,
        provider_id=cast.penny.id,
        service_id=cast.service.id,
        modality="telehealth",
        weekdays=[0, 2, 2],
        day_parts=["morning"],
    )
    assert entry.weekdays == [0, 2]
    with pytest.raises(RuleError, match="waitlist_duplicate"):
        await waitlist.join(
            cast.alice,
            provider_id=cast.penny.id,
            service_id=cast.service.id,
            modality="telehealth",
            weekdays=[],
            day_parts=[],
        )
    for modality in ("any", "in_person"):
        await waitlist.join(
            cast.alice,
            provider_id=cast.penny.id,
            service_id=cast.service.id,
            modality=modality,
            weekdays=[],
            day_parts=[],
        )
    with pytest.raises(RuleError, match="waitlist_full"):
        await waitlist.join(
            cast.alice,
            provider_id=None,
            service_id=None,
            modality="any",
            weekdays=[],
            day_parts=[],
        )


async def join_any(client):
    return await waitlist.join(
        client, provider_id=None, service_id=None, modality="any", weekdays=[], day_parts=[]
    )


async def test_places_follow_the_order_of_joining(app, cast):
    first = await join_any(cast.bob)
    clock.travel(timedelta(seconds=1))
    second = await join_any(cast.alice)
    places = await waitlist.places([first, second], cast.practice.id)
    assert places == {first.id: 1, second.id: 2}


async def test_a_freed_time_is_offered_after_the_undo_window_to_the_first_in_line(app, cast):
    first = await join_any(cast.alice)
    clock.travel(timedelta(seconds=1))
    await join_any(cast.dana)
    outbox = Outbox()
    await cancel(cast.b_soon)  # Bob's time frees up
    assert await waitlist.find_openings(outbox) == 0  # it could still be undone
    clock.travel(timedelta(minutes=3, seconds=1))
    assert await waitlist.find_openings(outbox) == 1
    [(offer_id, client_id, token)] = outbox.sent
    assert client_id == cast.alice.id
    offer = await WaitlistOffer.get(id=offer_id)
    assert offer.entry_id == first.id and offer.starts_at == cast.b_soon.starts_at
    assert clock.now() < offer.hold_until <= clock.now() + waitlist.HOLD
    assert await waitlist.find_openings(outbox) == 0  # idempotent: one live offer
    found = await waitlist.open_offer(token, cast.alice)
    assert found.id == offer_id
    with pytest.raises(RuleError, match="offer_not_found"):
        await waitlist.open_offer(token, cast.dana)  # someone else's link


async def test_a_lapsed_hold_goes_to_the_next_client(app, cast):
    await join_any(cast.alice)
    clock.travel(timedelta(seconds=1))
    await join_any(cast.dana)
    outbox = Outbox()
    await cancel(cast.b_soon)
    clock.travel(timedelta(minutes=4))
    await waitlist.find_openings(outbox)
    clock.travel(waitlist.HOLD + timedelta(seconds=1))
    assert await waitlist.find_openings(outbox) == 1
    assert [client for _, client, _ in outbox.sent] == [cast.alice.id, cast.dana.id]
    with pytest.raises(RuleError, match="offer_expired"):
        await waitlist.open_offer(outbox.sent[0][2], cast.alice)
    statuses = await WaitlistOffer.all().order_by("id").values_list("status", flat=True)
    assert statuses == ["expired", "offered"]


async def test_passing_offers_the_time_to_the_next_at_once(app, cast):
    await join_any(cast.alice)
    clock.travel(timedelta(seconds=1))
    await join_any(cast.dana)
    outbox = Outbox()
    await cancel(cast.b_soon)
    clock.travel(timedelta(minutes=4))
    await waitlist.find_openings(outbox)
    found = await waitlist.open_offer(outbox.sent[0][2], cast.alice)
    await waitlist.pass_offer(found, outbox)
    assert [client for _, client, _ in outbox.sent] == [cast.alice.id, cast.dana.id]


async def test_wishes_decide_who_is_offered(app, cast):
    opening_day = cast.b_soon.starts_at.astimezone(ZoneInfo(cast.dana.time_zone)).weekday()
    await waitlist.join(
        cast.alice,
        provider_id=None,
        service_id=None,
        modality="telehealth",
        weekdays=[],
        day_parts=[],
    )  # b_soon is in person
    await waitlist.join(
        cast.dana,
        provider_id=None,
        service_id=None,
        modality="any",
        weekdays=[(opening_day + 1) % 7],
        day_parts=[],
    )
    outbox = Outbox()
    await cancel(cast.b_soon)
    clock.travel(timedelta(minutes=4))
    assert await waitlist.find_openings(outbox) == 0
    assert outbox.sent == []


async def test_a_time_booked_again_is_not_offered(app, cast):
    from models.scheduling import Appointment

    await join_any(cast.alice)
    b = cast.b_soon
    await cancel(b)
    await Appointment.create(
        client=cast.dana,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=b.starts_at,
        ends_at=b.ends_at,
        status=AppointmentStatus.SCHEDULED,
    )
    clock.travel(timedelta(minutes=4))
    assert await waitlist.find_openings(Outbox()) == 0


async def test_leaving_ends_the_wait_and_any_offer(app, cast):
    entry = await join_any(cast.alice)
    outbox = Outbox()
    await cancel(cast.b_soon)
    clock.travel(timedelta(minutes=4))
    await waitlist.find_openings(outbox)
    await waitlist.leave(entry)
    assert (await WaitlistEntry.get(id=entry.id)).status == "left"
    assert await WaitlistOffer.filter(status="offered").count() == 0
