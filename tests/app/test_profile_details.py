"""My Profile's editable details: phones and emails (one default of each kind), personal
details at once, legal details sent for review, the photo ID and contacts. Only the
client's own things, with the profile right; bad input is a 422 and nothing changes."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage

from models.documents import Document
from models.outbox import OutboxMessage
from models.people import Client, Contact, ContactPoint, User
from models.profile_changes import ProfileChange
from tests.helpers import HX, csrf_token, post, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def config_overrides(tmp_path):
    return {"data_dir": tmp_path}


@pytest.fixture
async def phone(cast):
    return await ContactPoint.create(
        client=cast.alice, kind="phone", label="Mobile", value="+15550100001", is_default=True
    )


async def send(client, path, data, **kw):
    return await post(client, path, data, token_from="/profile", **kw)


async def page(client) -> str:
    return await (await client.get("/profile")).get_data(as_text=True)


async def points_of(client_row, kind="phone") -> list[tuple[str, bool]]:
    rows = await ContactPoint.filter(client_id=client_row.id, kind=kind).order_by("id")
    return [(p.value, p.is_default) for p in rows]


# ---- phones and emails -------------------------------------------------------------


async def test_it_adds_a_phone_stored_as_e164(client, cast, phone):
    await sign_in(client, "alice")
    response = await send(client, "/profile/points", {"label": "Work", "value": "(555) 010-0002"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile?notice=point_added#profile-points"
    assert await points_of(cast.alice) == [("+15550100001", True), ("+15550100002", False)]
    html = await (await client.get("/profile?notice=point_added")).get_data(as_text=True)
    assert "+15550100002" in html and "Added." in html


async def test_the_first_phone_and_the_first_email_are_defaults(client, cast):
    await sign_in(client, "alice")
    await send(client, "/profile/points", {"label": "Home", "value": "555-010-0009"})
    await send(client, "/profile/points", {"label": "Primary Email", "value": "Al@Example.COM"})
    assert await points_of(cast.alice) == [("+15550100009", True)]
    assert await points_of(cast.alice, "email") == [("Al@example.com", True)]


@pytest.mark.parametrize(
    "value", ["12345", "+44 20 7946 0958", "555-010-000x", "(155) 010-0002", "", "5" * 300]
)
async def test_a_bad_phone_is_a_422_and_nothing_is_added(client, cast, phone, value):
    await sign_in(client, "alice")
    response = await send(client, "/profile/points", {"label": "Mobile", "value": value})
    assert response.status_code == 422
    assert "Enter a US phone number" in await response.get_data(as_text=True)
    assert await points_of(cast.alice) == [("+15550100001", True)]


@pytest.mark.parametrize(
    "value", ["no-at-sign", "a@b", "two@@example.com", "ü@example.com", "a\x00b@example.com"]
)
async def test_a_bad_email_is_a_422(client, cast, value):
    await sign_in(client, "alice")
    response = await send(client, "/profile/points", {"label": "Work Email", "value": value})
    assert response.status_code == 422
    assert "Enter an email address" in await response.get_data(as_text=True)
    assert await ContactPoint.filter(client=cast.alice).count() == 0


async def test_a_made_up_label_is_refused(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/profile/points", {"label": "Pager", "value": "5550100002"})
    assert response.status_code == 422
    assert "Choose one of the labels shown." in await response.get_data(as_text=True)
    assert await ContactPoint.filter(client=cast.alice).count() == 0


async def test_a_duplicate_is_refused(client, cast, phone):
    await sign_in(client, "alice")
    response = await send(client, "/profile/points", {"label": "Work", "value": "+1 555 010 0001"})
    assert response.status_code == 422
    assert "already on your profile" in await response.get_data(as_text=True)
    assert await ContactPoint.filter(client=cast.alice).count() == 1


async def test_at_most_five_of_each_kind(client, cast, phone):
    await sign_in(client, "alice")
    for n in range(2, 6):
        response = await send(
            client, "/profile/points", {"label": "Work", "value": f"55501000{n:02}"}
        )
        assert response.status_code == 303
    response = await send(client, "/profile/points", {"label": "Work", "value": "5550100099"})
    assert response.status_code == 422
    assert "at most 5 phones" in await response.get_data(as_text=True)
    assert await ContactPoint.filter(client=cast.alice, kind="phone").count() == 5
    # emails are counted apart
    response = await send(client, "/profile/points", {"label": "Primary Email", "value": "a@x.org"})
    assert response.status_code == 303


async def test_htmx_answers_the_section_in_place(client, cast, phone):
    await sign_in(client, "alice")
    response = await send(
        client, "/profile/points", {"label": "Work", "value": "5550100002"}, headers=HX
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="profile-points"') and "<html" not in html
    assert "+15550100002" in html and "Added." in html
    response = await send(client, "/profile/points", {"label": "Work", "value": "1"}, headers=HX)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in await response.get_data(as_text=True)


async def test_it_edits_a_phone(client, cast, phone):
    await sign_in(client, "alice")
    response = await send(
        client, f"/profile/points/{phone.id}", {"label": "Home", "value": "555.010.0007"}
    )
    assert response.status_code == 303
    saved = await ContactPoint.get(id=phone.id)
    assert (saved.label, saved.value, saved.is_default) == ("Home", "+15550100007", True)


async def test_an_edit_to_a_bad_value_changes_nothing(client, cast, phone):
    await sign_in(client, "alice")
    response = await send(client, f"/profile/points/{phone.id}", {"label": "Home", "value": "x"})
    assert response.status_code == 422
    saved = await ContactPoint.get(id=phone.id)
    assert (saved.label, saved.value) == ("Mobile", "+15550100001")


async def test_make_default_leaves_exactly_one(client, cast, phone):
    await sign_in(client, "alice")
    await send(client, "/profile/points", {"label": "Work", "value": "5550100002"})
    other = await ContactPoint.get(client=cast.alice, value="+15550100002")
    for _ in range(2):  # a double click
        response = await send(client, f"/profile/points/{other.id}/default", {})
        assert response.status_code == 303
    assert await points_of(cast.alice) == [("+15550100001", False), ("+15550100002", True)]


async def test_removing_the_default_promotes_another(client, cast, phone):
    await sign_in(client, "alice")
    await send(client, "/profile/points", {"label": "Work", "value": "5550100002"})
    await send(client, "/profile/points", {"label": "Home", "value": "5550100003"})
    response = await send(client, f"/profile/points/{phone.id}/remove", {})
    assert response.status_code == 303
    assert await points_of(cast.alice) == [("+15550100002", True), ("+15550100003", False)]
    again = await send(client, f"/profile/points/{phone.id}/remove", {})  # a double click
    assert again.status_code == 303
    assert await points_of(cast.alice) == [("+15550100002", True), ("+15550100003", False)]


async def test_removing_a_reminding_phone_cancels_its_reminders(client, cast, phone):
    await sign_in(client, "alice")
    await send(
        client,
        f"/profile/reminders/{phone.id}",
        {"reminders": "1", "days_before": "1", "request_confirmation": "1"},
    )
    assert await OutboxMessage.filter(to=phone.value, kind="reminder", status="pending").exists()
    await send(client, f"/profile/points/{phone.id}/remove", {})
    assert not await OutboxMessage.filter(
        to=phone.value, kind="reminder", status="pending"
    ).exists()


async def test_another_clients_phone_is_a_404(client, cast):
    bobs = await ContactPoint.create(
        client=cast.bob, kind="phone", label="Mobile", value="+15550100002"
    )
    await sign_in(client, "alice")
    for path, data in [
        (f"/profile/points/{bobs.id}", {"label": "Home", "value": "5550100003"}),
        (f"/profile/points/{bobs.id}/default", {}),
        (f"/profile/points/{bobs.id}/remove", {}),
    ]:
        assert (await send(client, path, data)).status_code == 404
    saved = await ContactPoint.get(id=bobs.id)
    assert (saved.label, saved.value) == ("Mobile", "+15550100002")


async def test_posted_client_id_is_ignored(client, cast):
    await sign_in(client, "alice")
    data = {"label": "Work", "value": "5550100002", "client_id": str(cast.bob.id), "kind": "email"}
    await send(client, "/profile/points", data)
    assert await points_of(cast.alice) == [("+15550100002", True)]
    assert await ContactPoint.filter(client=cast.bob).count() == 0


# ---- personal details ----------------------------------------------------------------

DETAILS = {
    "preferred_name": "Ali",
    "pronouns": "she/they",
    "time_zone": "America/Chicago",
    "preferred_language": "en",
}


async def test_personal_details_apply_at_once(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/profile/details", DETAILS)
    assert response.status_code == 303
    saved = await Client.get(id=cast.alice.id)
    assert (saved.preferred_name, saved.pronouns, saved.time_zone) == (
        "Ali",
        "she/they",
        "America/Chicago",
    )
    html = await page(client)
    assert "she/they" in html and "<dd>America / Chicago</dd>" in html


async def test_spanish_switches_the_portal_for_the_client_themself(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/profile/details", {**DETAILS, "preferred_language": "es"})
    assert response.status_code == 303
    assert (await User.get(id=cast.alice.user_id)).language == "es"
    assert (await Client.get(id=cast.alice.id)).preferred_language == "es"
    assert 'lang="es"' in await page(client)


async def test_with_htmx_a_new_language_reloads_the_whole_page(client, cast):
    await sign_in(client, "alice")
    data = {**DETAILS, "preferred_language": "es"}
    response = await send(client, "/profile/details", data, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/profile?notice=details_saved#profile-details"
    same = await send(client, "/profile/details", {**data, "pronouns": "they"}, headers=HX)
    html = await same.get_data(as_text=True)
    assert "HX-Redirect" not in same.headers and html.lstrip().startswith('<section id="profile-d')


async def test_a_guardian_setting_a_childs_language_keeps_their_own(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    response = await send(client, "/profile/details", {**DETAILS, "preferred_language": "es"})
    assert response.status_code == 303
    assert (await Client.get(id=cast.dana.id)).preferred_language == "es"
    assert (await User.get(id=cast.gina.id)).language == "en"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("preferred_name", "x" * 101, "at most 100 characters"),
        ("pronouns", "x" * 33, "at most 32 characters"),
        ("pronouns", "she\x00her", "Use letters"),
        ("time_zone", "Mars/Olympus", "Choose a time zone"),
        ("time_zone", "", "Choose a time zone"),
        ("preferred_language", "fr", "Choose English or Spanish"),
    ],
)
async def test_bad_details_are_a_422_and_change_nothing(client, cast, field, value, message):
    await sign_in(client, "alice")
    response = await send(client, "/profile/details", {**DETAILS, field: value})
    assert response.status_code == 422
    assert message in await response.get_data(as_text=True)
    saved = await Client.get(id=cast.alice.id)
    assert (saved.preferred_name, saved.pronouns, saved.time_zone) == ("", "", "America/New_York")


async def test_time_zones_list_us_zones_first(client, cast):
    await sign_in(client, "alice")
    html = await page(client)
    assert html.index('value="America/Los_Angeles"') < html.index('value="Africa/Abidjan"')


# ---- details the practice reviews ----------------------------------------------------

REVIEW = {
    "first_name": "Alice",
    "last_name": "Example",
    "date_of_birth": "",
    "address_line1": "",
    "city": "",
    "region": "",
    "postal_code": "",
}


async def test_an_address_change_waits_for_review(client, cast):
    await sign_in(client, "alice")
    data = {**REVIEW, "address_line1": "1 Main St", "city": "Springfield", "postal_code": "12345"}
    response = await send(client, "/profile/review", data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile?notice=review_sent#profile-review"
    alice = await Client.get(id=cast.alice.id)
    assert (alice.address_line1, alice.city) == ("", "")  # not yet
    rows = await ProfileChange.filter(client=cast.alice).order_by("field")
    assert [(r.field, r.old_value, r.new_value, r.status) for r in rows] == [
        ("address_line1", "", "1 Main St", "pending"),
        ("city", "", "Springfield", "pending"),
        ("postal_code", "", "12345", "pending"),
    ]
    html = await page(client)
    assert "Waiting for the practice to review:" in html and "1 Main St" in html


async def test_a_new_request_replaces_the_pending_one(client, cast):
    await sign_in(client, "alice")
    await send(client, "/profile/review", {**REVIEW, "last_name": "Smith"})
    await send(client, "/profile/review", {**REVIEW, "last_name": "Smyth"})
    rows = await ProfileChange.filter(client=cast.alice)
    assert [(r.field, r.new_value) for r in rows] == [("last_name", "Smyth")]
    # asking for the current value again withdraws it
    await send(client, "/profile/review", REVIEW)
    assert await ProfileChange.filter(client=cast.alice).count() == 0


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("first_name", "", "This field is required."),
        ("last_name", "x" * 101, "at most 100 characters"),
        ("date_of_birth", "1990-02-30", "Enter a date like"),
        ("date_of_birth", "2100-01-01", "cannot be in the future"),
        ("address_line1", "x" * 201, "at most 200 characters"),
        ("postal_code", "1234", "Enter a ZIP code"),
        ("postal_code", "１２３４５", "Enter a ZIP code"),
    ],
)
async def test_bad_review_requests_are_a_422_and_save_nothing(client, cast, field, value, message):
    await sign_in(client, "alice")
    response = await send(client, "/profile/review", {**REVIEW, "city": "X", field: value})
    assert response.status_code == 422
    assert message in await response.get_data(as_text=True)
    assert await ProfileChange.filter(client=cast.alice).count() == 0


async def test_posted_status_and_client_are_ignored(client, cast):
    await sign_in(client, "alice")
    data = {**REVIEW, "date_of_birth": "1990-05-01", "status": "applied", "client_id": cast.bob.id}
    await send(client, "/profile/review", data)
    (row,) = await ProfileChange.filter(field="date_of_birth")
    assert (row.client_id, row.status, row.new_value) == (cast.alice.id, "pending", "1990-05-01")
    assert (await Client.get(id=cast.alice.id)).date_of_birth is None


async def test_a_declined_change_shows_the_practices_note(client, cast):
    from models import clock

    await ProfileChange.create(
        client=cast.alice,
        requested_by_id=cast.alice.user_id,
        field="last_name",
        old_value="Example",
        new_value="Exampel",
        status="declined",
        note="Please send a copy of your ID.",
        reviewed_at=clock.now(),
    )
    await sign_in(client, "alice")
    html = await page(client)
    assert "did not accept your change" in html and "Please send a copy of your ID." in html


# ---- photo ID ------------------------------------------------------------------------


def upload(name: str, data: bytes) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")


async def send_file(client, data: bytes, name="id.png", headers=None):
    token = await csrf_token(client, "/profile")
    return await client.post(
        "/profile/photo-id",
        form={"csrf_token": token},
        files={"photo_id": upload(name, data)},
        headers=headers,
    )


async def test_it_uploads_views_and_replaces_the_photo_id(client, cast, tmp_path):
    await sign_in(client, "alice")
    assert (await client.get("/profile/photo-id")).status_code == 404
    response = await send_file(client, PNG)
    assert response.status_code == 303
    first = (await Client.get(id=cast.alice.id)).photo_id_id
    document = await Document.get(id=first)
    assert (document.kind, document.content_type) == ("photo_id", "image/png")
    shown = await client.get("/profile/photo-id")
    assert shown.status_code == 200 and await shown.get_data() == PNG
    assert shown.headers["Content-Disposition"].startswith("inline")
    response = await send_file(client, PDF, "id.pdf", headers=HX)
    assert response.status_code == 200 and "Your photo ID is uploaded." in await response.get_data(
        as_text=True
    )
    second = (await Client.get(id=cast.alice.id)).photo_id_id
    assert second != first and not await Document.exists(id=first)
    assert await Document.filter(client=cast.alice, kind="photo_id").count() == 1
    assert await (await client.get("/profile/photo-id")).get_data() == PDF


async def test_a_wrong_file_type_or_no_file_is_a_422(client, cast):
    await sign_in(client, "alice")
    response = await send_file(client, b"MZ\x90\x00 not an image", "id.png")
    assert response.status_code == 422
    assert "Only PDF, JPEG and PNG" in await response.get_data(as_text=True)
    token = await csrf_token(client, "/profile")
    response = await client.post("/profile/photo-id", form={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose a photo or scan" in await response.get_data(as_text=True)
    assert (await Client.get(id=cast.alice.id)).photo_id_id is None
    assert await Document.filter(client=cast.alice).count() == 0


async def test_a_photo_over_10_mb_is_refused(client, cast):
    await sign_in(client, "alice")
    response = await send_file(client, PNG + b"\x00" * (10 * 1024 * 1024 + 1))
    assert response.status_code in (413, 422)
    assert (await Client.get(id=cast.alice.id)).photo_id_id is None


# ---- contacts ------------------------------------------------------------------------

CONTACT = {
    "name": "Pat Example",
    "relationship": "Emergency contact",
    "phone": "555-010-0050",
    "email": "pat@example.com",
    "address": "2 Oak St, Springfield",
    "emergency": "1",
}


async def test_it_adds_edits_and_removes_a_contact(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/profile/contacts", CONTACT)
    assert response.status_code == 303
    pat = await Contact.get(client=cast.alice)
    assert (pat.phone, pat.emergency, pat.responsible_party) == ("+15550100050", True, False)
    edit = {**CONTACT, "relationship": "Spouse/Partner", "responsible_party": "on"}
    del edit["emergency"]
    assert (await send(client, f"/profile/contacts/{pat.id}", edit)).status_code == 303
    pat = await Contact.get(id=pat.id)
    assert (pat.relationship, pat.emergency, pat.responsible_party) == (
        "Spouse/Partner",
        False,
        True,
    )
    assert "Pat Example" in await page(client)
    assert (await send(client, f"/profile/contacts/{pat.id}/remove", {})).status_code == 303
    assert not await Contact.exists(id=pat.id)
    assert (await send(client, f"/profile/contacts/{pat.id}/remove", {})).status_code == 303


async def test_portal_access_and_rights_cannot_be_posted(client, cast):
    await sign_in(client, "alice")
    hostile = {
        **CONTACT,
        "portal_access": "1",
        "scopes": "billing",
        "user": str(cast.bob.user_id),
        "user_id": str(cast.bob.user_id),
        "client_id": str(cast.bob.id),
    }
    await send(client, "/profile/contacts", hostile)
    pat = await Contact.get(name="Pat Example")
    assert (pat.client_id, pat.portal_access, pat.scopes, pat.user_id) == (
        cast.alice.id,
        False,
        [],
        None,
    )
    await send(client, f"/profile/contacts/{pat.id}", hostile)
    pat = await Contact.get(id=pat.id)
    assert (pat.portal_access, pat.scopes, pat.user_id) == (False, [], None)


async def test_editing_a_guardian_keeps_their_access(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    gina = await Contact.get(client=cast.dana, user=cast.gina)
    data = {**CONTACT, "name": "Gina G.", "relationship": "Parent/Guardian", "portal_access": ""}
    assert (await send(client, f"/profile/contacts/{gina.id}", data)).status_code == 303
    gina = await Contact.get(id=gina.id)
    assert (gina.name, gina.portal_access, gina.user_id) == ("Gina G.", True, cast.gina.id)
    assert len(gina.scopes) == 7


async def test_a_contact_with_portal_access_cannot_be_removed(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    gina = await Contact.get(client=cast.dana, user=cast.gina)
    response = await send(client, f"/profile/contacts/{gina.id}/remove", {})
    assert response.status_code == 422
    assert "ask the practice" in await response.get_data(as_text=True)
    assert await Contact.exists(id=gina.id)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "This field is required."),
        ("name", "x" * 201, "at most 200 characters"),
        ("relationship", "Best friend", "Choose a relationship"),
        ("phone", "12", "Enter a US phone number"),
        ("email", "nope", "Enter an email address"),
        ("address", "x" * 301, "at most 300 characters"),
    ],
)
async def test_bad_contacts_are_a_422(client, cast, field, value, message):
    await sign_in(client, "alice")
    response = await send(client, "/profile/contacts", {**CONTACT, field: value})
    assert response.status_code == 422
    assert message in await response.get_data(as_text=True)
    assert await Contact.filter(client=cast.alice).count() == 0


async def test_a_bad_contact_edit_answers_the_section_with_its_errors(client, cast):
    pat = await Contact.create(client=cast.alice, name="Pat", relationship="Other")
    await sign_in(client, "alice")
    response = await send(
        client, f"/profile/contacts/{pat.id}", {**CONTACT, "email": "x@"}, headers=HX
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="profile-contacts"')
    assert f'id="contact-{pat.id}-email-error"' in html and 'value="x@"' in html
    assert (await Contact.get(id=pat.id)).email == ""


async def test_another_clients_contact_is_a_404(client, cast):
    bobs = await Contact.create(client=cast.bob, name="Bo", relationship="Other")
    await sign_in(client, "alice")
    assert (await send(client, f"/profile/contacts/{bobs.id}", CONTACT)).status_code == 404
    assert (await send(client, f"/profile/contacts/{bobs.id}/remove", {})).status_code == 404
    assert (await Contact.get(id=bobs.id)).name == "Bo"


# ---- guardians -----------------------------------------------------------------------


async def test_a_guardian_with_the_profile_right_edits_the_childs_profile(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    response = await send(client, "/profile/points", {"label": "Mobile", "value": "5550100044"})
    assert response.status_code == 303
    assert await points_of(cast.dana) == [("+15550100044", True)]
    await send(client, "/profile/review", {**REVIEW, "first_name": "Danielle"})
    change = await ProfileChange.get(client=cast.dana)
    assert (change.new_value, change.requested_by_id) == ("Danielle", cast.gina.id)


async def test_a_guardian_without_the_profile_right_gets_404s(client, cast):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    token = await csrf_token(client, "/dashboard")
    for path, data in [
        ("/profile/points", {"label": "Mobile", "value": "5550100033"}),
        ("/profile/details", DETAILS),
        ("/profile/review", {**REVIEW, "first_name": "Chuck"}),
        ("/profile/contacts", CONTACT),
        ("/profile/photo-id", {}),
    ]:
        response = await client.post(path, form={**data, "csrf_token": token})
        assert response.status_code == 404, path
    assert (await client.get("/profile/photo-id")).status_code == 404
    assert await ContactPoint.filter(client=cast.charlie).count() == 0
    assert await ProfileChange.filter(client=cast.charlie).count() == 0
    assert (await Client.get(id=cast.charlie.id)).preferred_name == ""
    assert await Contact.filter(client=cast.charlie).count() == 1  # Gina only


async def test_the_page_renders_for_every_section(client, cast, phone):
    await sign_in(client, "alice")
    html = await page(client)
    for anchor in ("profile-details", "profile-review", "profile-points", "profile-photo-id"):
        assert f'id="{anchor}"' in html
    assert 'id="profile-contacts"' in html and 'id="cards"' in html
