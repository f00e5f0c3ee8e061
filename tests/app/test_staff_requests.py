"""/staff/requests: Accept, Decline and Undo (3 minutes), with and without htmx, by role."""

from datetime import timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.people import StaffMember, User
from models.practice import Practice
from models.scheduling import Appointment, AppointmentStatus
from tests.helpers import HX, post, sign_in
from tests.models.test_requests import without_overlap_constraint

PAGE = "/staff/requests"


async def make_staff(practice, name: str, roles) -> StaffMember:
    user = await User.create(
        email=f"{name.lower()}@test.example",
        display_name=name,
        password_hash=(await User.get(email="penny@test.example")).password_hash,
    )
    return await StaffMember.create(practice=practice, user=user, roles=list(roles))


@pytest.fixture
async def request_appt(cast):
    """Alice asks Penny for a session in five days."""
    start = clock.now().replace(microsecond=0) + timedelta(days=5)
    return await Appointment.create(
        client=cast.alice,
        provider=cast.penny,
        service=cast.service,
        location=cast.office,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        status=AppointmentStatus.REQUESTED,
        created_via="portal",
    )


async def signed_in(app, who: str):
    client = app.test_client()
    assert (await sign_in(client, who)).status_code == 303, who
    return client


async def act(client, appointment, action: str, headers=None):
    return await post(client, f"{PAGE}/{appointment.id}/{action}", token_from=PAGE, headers=headers)


async def status_of(appointment) -> str:
    return str((await Appointment.get(id=appointment.id)).status)


async def decisions() -> list[str]:
    events = await AuditEvent.filter(action__startswith="appointment.request").order_by("id")
    return [e.action for e in events]


async def test_the_page_lists_requests_with_accept_and_decline(app, cast, request_appt):
    client = await signed_in(app, "sid")
    html = await (await client.get(PAGE)).get_data(as_text=True)
    assert f'id="request-{request_appt.id}"' in html
    assert f"/staff/requests/{request_appt.id}/accept" in html
    assert f"/staff/requests/{request_appt.id}/decline" in html
    assert "Alice Example" in html and "Session" in html
    # Scheduled appointments are not requests.
    assert f'id="request-{cast.a_soon.id}"' not in html


async def test_accept_without_javascript_redirects_back_with_undo(app, cast, request_appt):
    client = await signed_in(app, "sid")
    response = await act(client, request_appt, "accept")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}?notice=accepted"
    fresh = await Appointment.get(id=request_appt.id)
    assert fresh.status == "scheduled" and fresh.decided_by_id == cast.sid.user_id
    html = await (await client.get(response.headers["Location"])).get_data(as_text=True)
    assert "Request accepted" in html and "Scheduled" in html
    assert f"/staff/requests/{request_appt.id}/undo" in html
    assert f"/staff/requests/{request_appt.id}/accept" not in html
    event = await AuditEvent.get(action="appointment.request_accepted")
    assert event.actor_id == cast.sid.user_id and event.client_id == cast.alice.id

    response = await act(client, request_appt, "undo")
    assert response.headers["Location"] == f"{PAGE}?notice=undone"
    assert await status_of(request_appt) == "requested"
    html = await (await client.get(response.headers["Location"])).get_data(as_text=True)
    assert "Decision undone" in html and f"/staff/requests/{request_appt.id}/accept" in html


async def test_with_htmx_the_row_is_swapped_with_its_new_status(app, cast, request_appt):
    client = await signed_in(app, "sid")
    response = await act(client, request_appt, "decline", headers=HX)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.strip().startswith(f'<li id="request-{request_appt.id}"')
    assert "<html" not in html and "Declined by the practice" in html
    assert "Request declined." in html and f"{PAGE}/{request_appt.id}/undo" in html
    assert "autofocus" in html  # keyboard focus lands on Undo
    assert await status_of(request_appt) == "declined"

    response = await act(client, request_appt, "undo", headers=HX)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and f"{PAGE}/{request_appt.id}/accept" in html
    assert await status_of(request_appt) == "requested"
    assert await decisions() == [
        "appointment.request_declined",
        "appointment.request_decision_undone",
    ]


async def test_undo_works_at_2_59_and_not_at_3_01(app, cast, request_appt):
    client = await signed_in(app, "sid")
    await act(client, request_appt, "accept")
    clock.travel(timedelta(minutes=2, seconds=59))
    html = await (await client.get(PAGE)).get_data(as_text=True)
    assert f"{PAGE}/{request_appt.id}/undo" in html
    assert (await act(client, request_appt, "undo", headers=HX)).status_code == 200
    assert await status_of(request_appt) == "requested"

    await act(client, request_appt, "accept")
    clock.travel(timedelta(minutes=3, seconds=1))
    # The decided request has left the list...
    html = await (await client.get(PAGE)).get_data(as_text=True)
    assert f'id="request-{request_appt.id}"' not in html
    # ...and a late Undo (a page left open) is refused, with and without htmx.
    for headers in (HX, None):
        response = await act(client, request_appt, "undo", headers=headers)
        html = await response.get_data(as_text=True)
        assert response.status_code == 422
        assert "too late to undo" in html
    assert await status_of(request_appt) == "scheduled"
    assert (await decisions()).count("appointment.request_decision_undone") == 1


async def test_accepting_twice_is_not_an_error(app, cast, request_appt):
    client = await signed_in(app, "sid")
    assert (await act(client, request_appt, "accept")).status_code == 303
    assert (await act(client, request_appt, "accept")).status_code == 303
    assert await decisions() == ["appointment.request_accepted"]


async def test_accepting_over_another_appointment_is_refused(app, cast, request_appt):
    await without_overlap_constraint()  # to reach the application's own check
    await Appointment.create(
        client=cast.bob,
        provider=cast.penny,
        service=cast.service,
        starts_at=request_appt.starts_at + timedelta(minutes=30),
        ends_at=request_appt.ends_at + timedelta(minutes=30),
        status=AppointmentStatus.SCHEDULED,
    )
    client = await signed_in(app, "sid")
    for headers in (HX, None):
        response = await act(client, request_appt, "accept", headers=headers)
        html = await response.get_data(as_text=True)
        assert response.status_code == 422
        assert "That time was just taken" in html
        assert f"{PAGE}/{request_appt.id}/accept" in html  # still waiting, still decidable
    fresh = await Appointment.get(id=request_appt.id)
    assert fresh.status == "requested" and fresh.decided_at is None and fresh.version == 1
    assert await decisions() == []


async def test_a_decision_on_something_else_is_422_and_changes_nothing(app, cast):
    client = await signed_in(app, "sid")
    for action in ("accept", "decline", "undo"):
        response = await act(client, cast.a_soon, action)
        assert response.status_code == 422, action
    fresh = await Appointment.get(id=cast.a_soon.id)
    assert fresh.status == "scheduled" and fresh.version == 1
    assert await decisions() == []


async def test_providers_decide_only_their_own_calendar(app, cast, request_appt):
    paul = await make_staff(cast.practice, "Paul", ["provider"])
    other = await Appointment.create(
        client=cast.bob,
        provider=paul,
        starts_at=request_appt.starts_at,
        ends_at=request_appt.ends_at,
        status=AppointmentStatus.REQUESTED,
    )
    penny = await signed_in(app, "penny")
    html = await (await penny.get(PAGE)).get_data(as_text=True)
    assert f'id="request-{request_appt.id}"' in html and f'id="request-{other.id}"' not in html
    for action in ("accept", "decline", "undo"):
        assert (await act(penny, other, action)).status_code == 404
    assert await status_of(other) == "requested"
    assert (await act(penny, request_appt, "accept")).status_code == 303
    assert await status_of(request_appt) == "scheduled"

    # A provider who also schedules sees and decides everyone's.
    await StaffMember.filter(id=paul.id).update(roles=["provider", "scheduler"])
    paul_client = await signed_in(app, "paul")
    assert (await act(paul_client, request_appt, "undo")).status_code == 303
    assert await status_of(request_appt) == "requested"


async def test_a_biller_gets_403_a_client_and_another_practice_404(app, cast, request_appt):
    elsewhere = await Practice.create(name="Elsewhere")
    await make_staff(elsewhere, "Olga", ["admin"])
    for who, status in (("bea", 403), ("alice", 404), ("gina", 404), ("olga", 404)):
        client = await signed_in(app, who)
        if who != "olga":
            assert (await client.get(PAGE)).status_code == status, who
        token_from = "/staff/" if who in ("bea", "olga") else "/dashboard"
        for action in ("accept", "decline", "undo"):
            response = await post(
                client, f"{PAGE}/{request_appt.id}/{action}", token_from=token_from
            )
            assert response.status_code == status, (who, action)
    olga = await signed_in(app, "olga")
    html = await (await olga.get(PAGE)).get_data(as_text=True)
    assert "Alice" not in html
    assert await status_of(request_appt) == "requested"
    assert await decisions() == []


@pytest.mark.parametrize(
    "path",
    [
        "/99999999999999999999/accept",
        "/0/accept",
        "/-1/decline",
        "/abc/undo",
        "/2147483647/accept",
        "/2147483648/decline",
        "/1/delete",
        "/%00/accept",
    ],
)
async def test_tampered_ids_are_404_never_500(app, cast, path):
    client = await signed_in(app, "ada")
    response = await post(client, PAGE + path, token_from=PAGE)
    assert response.status_code in (404, 405), (path, response.status_code)


async def test_junk_in_the_form_is_ignored(app, cast, request_appt):
    client = await signed_in(app, "sid")
    response = await post(
        client,
        f"{PAGE}/{request_appt.id}/decline",
        {"reason": "\x00" * 500, "status": "confirmed", "by": "1"},
        token_from=PAGE,
    )
    assert response.status_code == 303
    fresh = await Appointment.get(id=request_appt.id)
    assert fresh.status == "declined" and fresh.cancel_reason == ""
    assert fresh.decided_by_id == cast.sid.user_id
