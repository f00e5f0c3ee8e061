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
from models.scheduling import AppointmentStatus, WaitlistOffer


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
