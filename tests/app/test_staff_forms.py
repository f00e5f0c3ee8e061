"""Online forms from the staff side: the builder and its validation, archiving,
assigning (with a guardian to sign), a client's forms, and who may do it."""

from __future__ import annotations

import pytest

from models.documents import FormAssignment, FormTemplate
from models.people import Client, Contact
from models.practice import Practice
from tests.helpers import post, sign_in

NEW = "/staff/forms/new"


def builder(name="Consent", rows=(), **more) -> dict:
    """The builder's form: ``rows`` of (type, label, options, required)."""
    data = {"name": name, "description": "", "requires_signature": "1", "rows": str(len(rows))}
    for i, (kind, label, options, required) in enumerate(rows):
        data[f"type_{i}"] = kind
        data[f"label_{i}"] = label
        data[f"options_{i}"] = options
        if required:
            data[f"required_{i}"] = "1"
    data.update(more)
    return data


async def staff_post(client, path, data):
    return await post(client, path, data, token_from="/staff/forms")


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


async def test_the_forms_page_lists_the_practices_templates(client, cast):
    other = await Practice.create(name="Elsewhere")
    await FormTemplate.create(practice=other, name="Their secret form")
    await sign_in(client, "penny")
    response = await client.get("/staff/forms")
    html = await html_of(response)
    assert response.status_code == 200
    assert "Intake questionnaire" in html and "New form" in html
    assert "Their secret form" not in html
    assert "Example, Alice (C1)" in html  # the client picker


async def test_a_new_form_is_built_from_rows_and_blank_rows_are_left_out(client, cast):
    await sign_in(client, "sid")
    assert (await client.get(NEW)).status_code == 200
    rows = [
        ("heading", "About you", "", False),
        ("long_text", "What brings you in?", "", True),
        ("short_text", "", "", False),  # blank: left out
        ("single_choice", "Mood", "Good\nOkay\n\nLow\n", True),
        ("yes_no", "Seen before?", "", False),
    ]
    response = await staff_post(client, NEW, builder("Intake v2", rows))
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/staff/forms?notice=created")
    template = await FormTemplate.get(name="Intake v2")
    assert template.practice_id == cast.practice.id and template.active
    assert [f["type"] for f in template.fields_schema] == [
        "heading",
        "long_text",
        "single_choice",
        "yes_no",
    ]
    mood = template.fields_schema[2]
    assert mood["options"] == ["Good", "Okay", "Low"] and mood["required"] is True
    assert len({f["key"] for f in template.fields_schema}) == 4


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("single_choice", "Mood", "Only one", False)], "List at least two options"),
        ([("multiple_choice", "Topics", "A\na", False)], "Each option must be different."),
        ([("bogus", "Question", "", False)], "Choose one of the field types."),
        ([("short_text", "x" * 301, "", False)], "Use at most 300 characters"),
        ([("heading", "Only a heading", "", False)], "Add at least one question."),
        ([("signature", "Sign", "", False), ("signature", "Again", "", False)], "only one"),
        ([], "Add at least one question."),
    ],
)
async def test_the_builder_refuses_bad_fields_and_saves_nothing(client, cast, rows, message):
    await sign_in(client, "penny")
    before = await FormTemplate.all().count()
    response = await staff_post(client, NEW, builder("Broken", rows))
    assert response.status_code == 422
    html = await html_of(response)
    assert message in html and "The form was not saved" in html
    assert await FormTemplate.all().count() == before


async def test_a_form_needs_a_name(client, cast):
    await sign_in(client, "penny")
    response = await staff_post(client, NEW, builder("  ", [("yes_no", "Agree?", "", True)]))
    assert response.status_code == 422 and "Give the form a name." in await html_of(response)


async def test_add_more_rows_saves_nothing_and_keeps_what_was_typed(client, cast):
    await sign_in(client, "penny")
    data = builder("Draft form", [("short_text", "Kept question", "", False)], action="more")
    response = await staff_post(client, NEW, data)
    html = await html_of(response)
    assert response.status_code == 200 and 'value="Kept question"' in html
    assert 'name="label_5"' in html  # 1 row + 5 more
    assert not await FormTemplate.filter(name="Draft form").exists()


async def test_editing_keeps_the_question_keys(client, cast):
    template = await FormTemplate.create(
        practice=cast.practice,
        name="Consent",
        fields_schema=[{"key": "agree", "type": "yes_no", "label": "I agree", "required": True}],
    )
    await sign_in(client, "penny")
    html = await html_of(await client.get(f"/staff/forms/{template.id}/edit"))
    assert 'value="I agree"' in html and 'name="key_0" value="agree"' in html
    data = builder("Consent to treatment", [("yes_no", "I agree to treatment", "", True)])
    data["key_0"] = "agree"
    response = await staff_post(client, f"/staff/forms/{template.id}/edit", data)
    assert response.status_code == 303
    await template.refresh_from_db()
    assert template.name == "Consent to treatment"
    assert template.fields_schema[0]["key"] == "agree"
    assert template.fields_schema[0]["label"] == "I agree to treatment"


async def test_archiving_stops_assigning(client, cast):
    template = await FormTemplate.get(name="Intake questionnaire")
    await sign_in(client, "penny")
    response = await staff_post(client, f"/staff/forms/{template.id}/archive", {})
    assert response.status_code == 303
    await template.refresh_from_db()
    assert not template.active
    before = await FormAssignment.filter(client=cast.bob).count()
    refused = await staff_post(
        client, f"/staff/forms/clients/{cast.bob.id}/assign", {"template": str(template.id)}
    )
    assert refused.status_code == 422 and "archived" in await html_of(refused)
    assert await FormAssignment.filter(client=cast.bob).count() == before
    await staff_post(client, f"/staff/forms/{template.id}/archive", {"restore": "1"})
    await template.refresh_from_db()
    assert template.active


async def test_assigning_a_form_with_a_due_date_and_a_guardian_to_sign(client, cast):
    template = await FormTemplate.get(name="Intake questionnaire")
    await sign_in(client, "sid")
    page = await client.get(f"/staff/forms/clients/{cast.charlie.id}")
    html = await html_of(page)
    assert page.status_code == 200 and f'<option value="{cast.gina.id}">Gina</option>' in html
    response = await staff_post(
        client,
        f"/staff/forms/clients/{cast.charlie.id}/assign",
        {"template": str(template.id), "due_on": "2027-01-15", "signer": str(cast.gina.id)},
    )
    assert response.status_code == 303
    assignment = await FormAssignment.get(client=cast.charlie)
    assert assignment.signer_id == cast.gina.id and str(assignment.due_on) == "2027-01-15"
    assert assignment.status == "assigned"
    html = await html_of(await client.get(f"/staff/forms/clients/{cast.charlie.id}"))
    assert "Not started" in html and "to be signed by Gina" in html


async def test_the_signer_must_be_a_contact_who_may_sign_forms(client, cast):
    template = await FormTemplate.get(name="Intake questionnaire")
    await Contact.filter(client=cast.charlie, user=cast.gina).update(scopes=["appointments"])
    await sign_in(client, "sid")
    for signer in (str(cast.gina.id), str(cast.alice.user_id), "999999", "abc"):
        response = await staff_post(
            client,
            f"/staff/forms/clients/{cast.charlie.id}/assign",
            {"template": str(template.id), "signer": signer},
        )
        assert response.status_code == 422, signer
    bad_date = await staff_post(
        client,
        f"/staff/forms/clients/{cast.charlie.id}/assign",
        {"template": str(template.id), "due_on": "2027-02-30"},
    )
    assert bad_date.status_code == 422
    assert not await FormAssignment.filter(client=cast.charlie).exists()


async def test_another_practices_client_and_template_are_404(client, cast):
    other = await Practice.create(name="Elsewhere")
    stranger = await Client.create(practice=other, number="X1", first_name="Sam", last_name="X")
    their_form = await FormTemplate.create(practice=other, name="Theirs")
    ours = await FormTemplate.get(name="Intake questionnaire")
    await sign_in(client, "penny")
    assert (await client.get(f"/staff/forms/clients/{stranger.id}")).status_code == 404
    assert (await client.get(f"/staff/forms/clients?client={stranger.id}")).status_code == 404
    assigned = await staff_post(
        client, f"/staff/forms/clients/{stranger.id}/assign", {"template": str(ours.id)}
    )
    assert assigned.status_code == 404
    assert (await client.get(f"/staff/forms/{their_form.id}/edit")).status_code == 404
    edited = await staff_post(
        client,
        f"/staff/forms/{their_form.id}/edit",
        builder("Hijacked", [("yes_no", "Agree?", "", True)]),
    )
    assert edited.status_code == 404
    archived = await staff_post(client, f"/staff/forms/{their_form.id}/archive", {})
    assert archived.status_code == 404
    await their_form.refresh_from_db()
    assert their_form.name == "Theirs" and their_form.active
    wrong_template = await staff_post(
        client, f"/staff/forms/clients/{cast.alice.id}/assign", {"template": str(their_form.id)}
    )
    assert wrong_template.status_code == 422
    assert not await FormAssignment.filter(template=their_form).exists()


async def test_the_picker_goes_to_the_clients_forms(client, cast):
    await sign_in(client, "penny")
    response = await client.get(f"/staff/forms/clients?client={cast.alice.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/forms/clients/{cast.alice.id}"
    assert (await client.get("/staff/forms/clients?client=nope")).status_code == 404


@pytest.mark.parametrize("who", ["alice", "gina"])
async def test_clients_and_guardians_get_a_404(client, cast, who):
    await sign_in(client, who)
    assert (await client.get("/staff/forms")).status_code == 404
    assert (await client.get(NEW)).status_code == 404
    response = await post(client, NEW, builder("X", [("yes_no", "Agree?", "", True)]))
    assert response.status_code == 404
    assert not await FormTemplate.filter(name="X").exists()


async def test_a_biller_is_refused(client, cast):
    await sign_in(client, "bea")
    assert (await client.get("/staff/forms")).status_code == 403
    assert (await client.get(f"/staff/forms/clients/{cast.alice.id}")).status_code == 403
    response = await post(
        client, NEW, builder("X", [("yes_no", "Agree?", "", True)]), token_from="/staff/"
    )
    assert response.status_code == 403
    assert not await FormTemplate.filter(name="X").exists()


async def test_an_admin_may_build_forms(client, cast):
    await sign_in(client, "ada")
    response = await staff_post(client, NEW, builder("Admin's", [("date", "When?", "", False)]))
    assert response.status_code == 303
    assert await FormTemplate.filter(name="Admin's", practice=cast.practice).exists()
