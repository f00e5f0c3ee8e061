"""The waitlist pages: join, see your place, leave; an emailed offer taken or passed."""

from datetime import timedelta

from models import clock, waitlist
from models.outbox import OutboxMessage
from models.scheduling import Appointment, AppointmentStatus, WaitlistEntry, WaitlistOffer
from tests.helpers import post, sign_in


class Tokens:
    def __init__(self):
        self.by_client = {}

    async def __call__(self, offer, token):
        self.by_client[offer.entry.client_id] = token


async def test_join_see_your_place_and_leave(client, cast):
    await sign_in(client, "alice")
    page = await client.get("/appointments/waitlist")
    assert page.status_code == 200
    assert "You are not on the waitlist." in await page.get_data(as_text=True)
    bad = await post(
        client,
        "/appointments/waitlist",
        {"provider": str(cast.sid.id), "modality": "any"},
        token_from="/appointments/waitlist",
    )
    assert bad.status_code == 422 and await WaitlistEntry.all().count() == 0
    done = await post(
        client,
        "/appointments/waitlist",
        {
            "provider": str(cast.penny.id),
            "service": "any",
            "modality": "telehealth",
            "weekday": "1",
            "day_part": "morning",
        },
        token_from="/appointments/waitlist",
    )
    assert done.status_code == 303
    [entry] = await WaitlistEntry.filter(client_id=cast.alice.id)
    assert entry.modality == "telehealth" and entry.weekdays == [1]
    html = await (await client.get("/appointments/waitlist")).get_data(as_text=True)
    assert "Place in line: 1" in html and "Penny" in html
    left = await post(
        client,
        f"/appointments/waitlist/{entry.id}/leave",
        {},
        token_from="/appointments/waitlist",
    )
    assert left.status_code == 303
    assert (await WaitlistEntry.get(id=entry.id)).status == "left"


async def test_someone_elses_entry_is_a_404(client, cast):
    entry = await waitlist.join(
        cast.bob, provider_id=None, service_id=None, modality="any", weekdays=[], day_parts=[]
    )
    await sign_in(client, "alice")
    response = await post(
        client,
        f"/appointments/waitlist/{entry.id}/leave",
        {},
        token_from="/appointments/waitlist",
    )
    assert response.status_code == 404
    assert (await WaitlistEntry.get(id=entry.id)).status == "waiting"


async def _offer_bobs_time_to(cast, *clients):
    for who in clients:
        await waitlist.join(
            who, provider_id=None, service_id=None, modality="any", weekdays=[], day_parts=[]
        )
        clock.travel(timedelta(seconds=1))
    b = cast.b_soon
    b.status = AppointmentStatus.CANCELLED
    b.cancelled_at = clock.now()
    await b.save()
    clock.travel(timedelta(minutes=4))
    tokens = Tokens()
    await waitlist.find_openings(tokens)
    return tokens


async def test_the_offer_email_links_to_a_page_that_takes_the_time(client, cast):
    from channels import appointment_mail

    await waitlist.join(
        cast.alice, provider_id=None, service_id=None, modality="any", weekdays=[], day_parts=[]
    )
    b = cast.b_soon
    b.status = AppointmentStatus.CANCELLED
    b.cancelled_at = clock.now()
    await b.save()
    clock.travel(timedelta(minutes=4))
    assert await waitlist.find_openings(appointment_mail.waitlist_offer) == 1
    [mail] = await OutboxMessage.filter(dedupe_key__startswith="waitlist-offer:")
    assert mail.to == "alice@test.example" and "/waitlist/offers/" in mail.body
    assert "Session" not in mail.body and "Penny" not in mail.body  # time and link only
    path = mail.body.split("http://localhost", 1)[1].split()[0]
    await sign_in(client, "alice", token_from="/login")
    page = await client.get(path)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "Take this time" in html
    taken = await post(client, path + "/take", {}, token_from=path)
    assert taken.status_code == 303, await taken.get_data(as_text=True)
    mine = await Appointment.filter(client_id=cast.alice.id, starts_at=b.starts_at).first()
    assert mine is not None and mine.created_via == "waitlist"
    assert (await WaitlistOffer.get(appointment_id=mine.id)).status == "taken"
    again = await client.get(path)
    assert again.status_code == 410


async def test_passing_goes_to_the_next_and_a_stranger_cannot_use_the_link(app, client, cast):
    tokens = await _offer_bobs_time_to(cast, cast.alice, cast.bob)
    token = tokens.by_client[cast.alice.id]
    stranger = app.test_client()
    await sign_in(stranger, "bob")
    assert (await stranger.get(f"/waitlist/offers/{token}")).status_code == 404
    await sign_in(client, "alice")
    passed = await post(
        client, f"/waitlist/offers/{token}/pass", {}, token_from="/appointments/waitlist"
    )
    assert passed.status_code == 303
    assert (
        cast.bob.id in tokens.by_client
        or await WaitlistOffer.filter(entry__client_id=cast.bob.id, status="offered").exists()
    )
    assert (await client.get(f"/waitlist/offers/{token}")).status_code == 410
