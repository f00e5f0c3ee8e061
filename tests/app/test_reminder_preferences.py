"""My Profile's reminder settings: per phone and email, on or off, how many days
before, asking for a confirmation; the plan follows (models.reminders). Only the
client's own points, with the profile scope; bad input is a 422 with the form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import clock
from models.outbox import OutboxMessage, SmsOptOut
from models.people import ContactPoint
from tests.helpers import HX, post, sign_in

PHONE = "+15550100001"


@pytest.fixture
async def points(cast):
    phone = await ContactPoint.create(
        client=cast.alice, kind="phone", label="Mobile", value=PHONE, is_default=True
    )
    mail = await ContactPoint.create(
        client=cast.alice,
        kind="email",
        label="Primary Email",
        value="alice@test.example",
        is_default=True,
        reminders=True,
        reminder_days_before=2,
    )
    bobs = await ContactPoint.create(
        client=cast.bob, kind="phone", label="Mobile", value="+15550100002", is_default=True
    )
    dana = await ContactPoint.create(
        client=cast.dana, kind="phone", label="Mobile", value="+15550100004", is_default=True
    )
    charlie = await ContactPoint.create(
        client=cast.charlie, kind="phone", label="Mobile", value="+15550100003", is_default=True
    )
    return {"phone": phone, "mail": mail, "bob": bobs, "dana": dana, "charlie": charlie}


ON = {"reminders": "1", "days_before": "1", "request_confirmation": "1"}


async def test_it_shows_a_form_for_each_phone_and_email(client, cast, points):
    await sign_in(client, "alice")
    html = await (await client.get("/profile")).get_data(as_text=True)
    for point in (points["phone"], points["mail"]):
        assert f'action="/profile/reminders/{point.id}"' in html
    assert f'action="/profile/reminders/{points["bob"].id}"' not in html
    assert "Email reminders 2 days in advance" in html


async def test_turning_text_reminders_on_saves_them_and_plans_a_reminder(client, cast, points):
    await sign_in(client, "alice")
    phone = points["phone"]
    response = await post(client, f"/profile/reminders/{phone.id}", ON, token_from="/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/profile?saved={phone.id}#point-{phone.id}"
    saved = await ContactPoint.get(id=phone.id)
    assert (saved.reminders, saved.reminder_days_before, saved.request_confirmation) == (
        True,
        1,
        True,
    )
    planned = await OutboxMessage.filter(
        channel="sms", kind="reminder", to=PHONE, status="pending"
    ).count()
    assert planned >= 1  # Alice has appointments in 10 hours and in 3 days
    html = await (await client.get(f"/profile?saved={phone.id}")).get_data(as_text=True)
    assert "Saved." in html and "Text reminders 1 day in advance, requesting confirmation" in html


async def test_turning_them_off_cancels_the_planned_ones(client, cast, points):
    await sign_in(client, "alice")
    phone = points["phone"]
    await post(client, f"/profile/reminders/{phone.id}", ON, token_from="/profile")
    await post(
        client, f"/profile/reminders/{phone.id}", {"days_before": "1"}, token_from="/profile"
    )
    assert not (await ContactPoint.get(id=phone.id)).reminders
    assert not await OutboxMessage.filter(to=PHONE, status="pending").exists()


async def test_with_htmx_it_answers_the_item_with_a_notice(client, cast, points):
    await sign_in(client, "alice")
    mail = points["mail"]
    response = await post(
        client,
        f"/profile/reminders/{mail.id}",
        {"days_before": "3", "reminders": "1"},
        token_from="/profile",
        headers=HX,
    )
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="point-{mail.id}"')
    assert "Saved." in html and "Email reminders 3 days in advance." in html
    assert (await ContactPoint.get(id=mail.id)).reminder_days_before == 3


@pytest.mark.parametrize("days", ["15", "-1", "abc", "", "1.5", "٣", "9" * 5000])
@pytest.mark.parametrize("headers", [None, HX], ids=["page", "htmx"])
async def test_bad_days_are_refused_with_the_form_and_its_error(
    client, cast, points, days, headers
):
    await sign_in(client, "alice")
    phone = points["phone"]
    response = await post(
        client,
        f"/profile/reminders/{phone.id}",
        {**ON, "days_before": days},
        token_from="/profile",
        headers=headers,
    )
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert "Choose from 0 to 14 days before the appointment." in html
    assert f'id="point-{phone.id}"' in html and 'aria-invalid="true"' in html
    saved = await ContactPoint.get(id=phone.id)
    assert not saved.reminders and saved.reminder_days_before == 1
    assert not await OutboxMessage.filter(to=PHONE).exists()


async def test_someone_elses_point_is_a_404_and_stays_as_it_was(client, cast, points):
    await sign_in(client, "alice")
    for point_id in (points["bob"].id, 999999):
        response = await post(client, f"/profile/reminders/{point_id}", ON, token_from="/profile")
        assert response.status_code == 404
    assert not (await ContactPoint.get(id=points["bob"].id)).reminders


async def test_it_needs_the_csrf_token(client, cast, points):
    await sign_in(client, "alice")
    response = await client.post(f"/profile/reminders/{points['phone'].id}", form=ON)
    assert response.status_code == 403
    assert not (await ContactPoint.get(id=points["phone"].id)).reminders


async def test_a_guardian_with_the_profile_scope_can_change_them(client, cast, points):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)}, token_from="/dashboard")
    dana = points["dana"]
    response = await post(client, f"/profile/reminders/{dana.id}", ON, token_from="/profile")
    assert response.status_code == 303
    assert (await ContactPoint.get(id=dana.id)).reminders


async def test_a_guardian_without_the_profile_scope_gets_a_404(client, cast, points):
    await sign_in(client, "gina")  # acting for Charlie: appointments and forms only
    charlie = points["charlie"]
    token_page = "/appointments"
    response = await post(client, f"/profile/reminders/{charlie.id}", ON, token_from=token_page)
    assert response.status_code == 404
    assert not (await ContactPoint.get(id=charlie.id)).reminders


async def test_signed_out_it_asks_to_sign_in(client, cast, points):
    from tests.helpers import csrf_token

    token = await csrf_token(client, "/login")
    response = await client.post(
        f"/profile/reminders/{points['phone'].id}", form={**ON, "csrf_token": token}
    )
    assert response.status_code in (303, 401)
    assert not (await ContactPoint.get(id=points["phone"].id)).reminders


async def test_a_stopped_number_says_how_to_start_again(client, cast, points):
    await SmsOptOut.create(phone=PHONE, opted_out_at=clock.now(), keyword="STOP")
    await sign_in(client, "alice")
    html = await (await client.get("/profile")).get_data(as_text=True)
    assert "Texts are stopped for this number (you replied STOP)." in html
    assert "Reply START to a text from us to turn them back on." in html


async def test_an_undeliverable_number_says_so(client, cast, points):
    points["phone"].sms_undeliverable_at = clock.now() - timedelta(days=1)
    await points["phone"].save()
    await sign_in(client, "alice")
    html = await (await client.get("/profile")).get_data(as_text=True)
    assert "Our texts to this number could not be delivered." in html
