"""The waitlist offer also goes by text ("Reply 1 to take it by ..."), to the phone
that gets reminders, else the default phone, never to a number that replied STOP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.i18n import gettext_in
from channels import appointment_mail
from channels.sms.texts import MAX_SEPTETS, is_gsm7, septets, short_phone
from models import clock, waitlist
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint
from models.scheduling import Appointment, AppointmentStatus, WaitlistOffer


@pytest.fixture
async def offer_made(cast):
    """Alice waits for any time; Bob's appointment is cancelled: an offer to Alice."""
    cast.practice.phone = "+15550109000"
    await cast.practice.save()

    async def make() -> WaitlistOffer:
        await waitlist.join(
            cast.alice,
            provider_id=None,
            service_id=None,
            modality="any",
            weekdays=[],
            day_parts=[],
        )
        b = cast.b_soon
        b.status = AppointmentStatus.CANCELLED
        b.cancelled_at = clock.now()
        await b.save()
        clock.travel(timedelta(minutes=4))
        assert await waitlist.find_openings(appointment_mail.waitlist_offer) == 1
        return await WaitlistOffer.get().select_related("entry__client")

    return make


async def phone(cast, value, **kw):
    return await ContactPoint.create(client=cast.alice, kind="phone", value=value, **kw)


async def texts_sent():
    return await OutboxMessage.filter(channel="sms", kind="waitlist")


async def test_the_offer_goes_by_text_to_the_reminder_phone(app, cast, offer_made):
    await phone(cast, "+15550100009", is_default=True)
    await phone(cast, "+15550100001", reminders=True)
    offer = await offer_made()
    [text] = await texts_sent()
    assert text.to == "+15550100001" and text.client_id == cast.alice.id
    assert text.context == {"offer": offer.id} and text.language == "en"
    assert text.body.startswith("Test Practice: a time opened up: ")
    assert "Reply 1 to take it by" in text.body and short_phone("+15550109000") in text.body
    assert "Reply STOP to opt out." in text.body
    assert is_gsm7(text.body) and septets(text.body) <= MAX_SEPTETS
    assert "Session" not in text.body and "Penny" not in text.body
    # The email goes too.
    assert await OutboxMessage.filter(
        channel="email", dedupe_key=f"waitlist-offer:{offer.id}"
    ).exists()


async def test_without_a_reminder_phone_it_goes_to_the_default_phone(app, cast, offer_made):
    await phone(cast, "+15550100008")
    await phone(cast, "+15550100009", is_default=True)
    await offer_made()
    [text] = await texts_sent()
    assert text.to == "+15550100009"


async def test_a_stopped_number_is_skipped(app, cast, offer_made):
    await phone(cast, "+15550100001", reminders=True, is_default=True)
    await phone(cast, "+15550100002", reminders=True)
    await SmsOptOut.create(phone="+15550100001", opted_out_at=clock.now(), keyword="STOP")
    await offer_made()
    [text] = await texts_sent()
    assert text.to == "+15550100002"


async def test_with_every_number_stopped_only_the_email_goes(app, cast, offer_made):
    await phone(cast, "+15550100001", reminders=True, is_default=True)
    await SmsOptOut.create(phone="+15550100001", opted_out_at=clock.now(), keyword="STOP")
    offer = await offer_made()
    assert await texts_sent() == []
    assert await OutboxMessage.filter(
        channel="email", dedupe_key=f"waitlist-offer:{offer.id}"
    ).exists()


async def test_with_no_phone_only_the_email_goes(app, cast, offer_made):
    await offer_made()
    assert await texts_sent() == []
    assert await OutboxMessage.filter(channel="email").count() == 1


async def test_a_spanish_client_gets_it_in_spanish(app, cast, offer_made):
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await phone(cast, "+15550100001", reminders=True, is_default=True)
    await offer_made()
    [text] = await texts_sent()
    assert text.language == "es"
    assert gettext_in("es", "Reply STOP to opt out.").replace("í", "i") in text.body
    assert is_gsm7(text.body) and septets(text.body) <= MAX_SEPTETS


async def test_offering_twice_texts_once(app, cast, offer_made):
    await phone(cast, "+15550100001", reminders=True, is_default=True)
    offer = await offer_made()
    await appointment_mail.waitlist_offer(offer, "token-again")
    assert len(await texts_sent()) == 1


# ---- "1" by text takes the offer ---------------------------------------------------------


@pytest.fixture
def config_overrides() -> dict:
    from tests.channels.test_sms_inbound import TOKEN

    return {"twilio_auth_token": TOKEN}


async def texted_offer(cast, offer_made) -> tuple[WaitlistOffer, OutboxMessage]:
    """The offer, and its text as the sender leaves it once Twilio took it."""
    await phone(cast, "+15550100001", reminders=True, is_default=True)
    offer = await offer_made()
    [text] = await texts_sent()
    await OutboxMessage.filter(id=text.id).update(status="sent", sent_at=clock.now())
    return offer, text


async def reply(client, body: str):
    from models.outbox import InboundSms
    from tests.channels.test_sms_inbound import params_for, post_signed

    params = params_for(body, sender="+15550100001")
    assert (await post_signed(client, params)).status_code == 200
    inbound = await InboundSms.get(message_sid=params["MessageSid"])
    answer = await OutboxMessage.get(dedupe_key=f"reply:{inbound.message_sid}")
    return inbound, answer


async def test_replying_1_asks_for_the_offered_time(app, client, cast, offer_made):
    """The test practice takes bookings as requests: "1" makes one, as the offer page does."""
    offer, _ = await texted_offer(cast, offer_made)
    inbound, answer = await reply(client, "1")
    taken = await WaitlistOffer.get(id=offer.id)
    assert taken.status == "taken" and taken.appointment_id is not None
    booked = await Appointment.get(id=taken.appointment_id)
    assert booked.client_id == cast.alice.id and booked.starts_at == offer.starts_at
    assert booked.status == AppointmentStatus.REQUESTED
    assert inbound.outcome == "requested"
    assert answer.body.startswith("Test Practice: you asked for ")
    assert "We will let you know when it is accepted." in answer.body
    # A second "1" books nothing more.
    await reply(client, "1")
    assert await Appointment.filter(client_id=cast.alice.id, starts_at=offer.starts_at).count() == 1


async def test_replying_1_books_it_where_the_practice_books_at_once(app, client, cast, offer_made):
    cast.practice.portal_settings = {**cast.practice.portal_settings, "scheduling_mode": "instant"}
    await cast.practice.save()
    offer, _ = await texted_offer(cast, offer_made)
    inbound, answer = await reply(client, "1")
    booked = await Appointment.get(id=(await WaitlistOffer.get(id=offer.id)).appointment_id)
    assert booked.status == AppointmentStatus.SCHEDULED and booked.starts_at == offer.starts_at
    assert inbound.outcome == "booked"
    assert answer.body.startswith("Test Practice: you are booked for ")


async def test_replying_1_after_the_hold_books_nothing(app, client, cast, offer_made):
    offer, _ = await texted_offer(cast, offer_made)
    clock.travel(timedelta(minutes=16))  # the 15-minute hold is over
    inbound, answer = await reply(client, "1")
    assert inbound.outcome == "offer_gone"
    assert "sorry, that time is taken. You stay on the waitlist." in answer.body
    assert not await Appointment.filter(client_id=cast.alice.id, starts_at=offer.starts_at).exists()
    assert (await WaitlistOffer.get(id=offer.id)).appointment_id is None
