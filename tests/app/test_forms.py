"""Online forms from the client's side: drafts saved as they type, validation (422,
nothing saved), the signed submit that locks the form once (even when sent twice at
once), its PDF, who may fill and sign, and hostile input."""

from __future__ import annotations

import asyncio
import io

import pytest
from pypdf import PdfReader

from channels import form_pdfs
from channels.pdf import PdfTimeout
from models import forms
from models.documents import AssignmentStatus, Document, FormAssignment, FormTemplate
from models.errors import RuleError
from models.people import Contact, User
from tests.helpers import HX, post, sign_in

SCHEMA = [
    {"key": "about", "type": "heading", "label": "About you"},
    {"key": "reason", "type": "long_text", "label": "What brings you in?", "required": True},
    {"key": "nickname", "type": "short_text", "label": "What should we call you?"},
    {"key": "born", "type": "date", "label": "Date of birth"},
    {
        "key": "mood",
        "type": "single_choice",
        "label": "How is your mood?",
        "required": True,
        "options": ["Good", "Okay", "Low"],
    },
    {
        "key": "topics",
        "type": "multiple_choice",
        "label": "What would you like to talk about?",
        "options": ["Sleep", "Work", "Family"],
    },
    {"key": "prior", "type": "yes_no", "label": "Have you been in therapy before?"},
    {"key": "sign", "type": "signature", "label": "Signature of the client"},
]
GOOD = {
    "a_reason": "Trouble sleeping since spring.",
    "a_nickname": "Al",
    "a_born": "1990-04-12",
    "a_mood": "Okay",
    "a_topics": ["Sleep", "Work"],
    "a_prior": "no",
    "signature_name": "Alice Example",
    "signature_drawn": "M 10 20 L 30 40 L 50 45 M 60 60 L 70.5 80",
}


@pytest.fixture
def config_overrides(tmp_path):
    return {"data_dir": tmp_path / "data"}


@pytest.fixture
async def intake(cast) -> FormTemplate:
    cast.office.address_line1 = "12 Riverside Drive"
    cast.office.city = "Asheville"
    await cast.office.save()
    return await FormTemplate.create(
        practice=cast.practice, name="New client intake", fields_schema=SCHEMA
    )


@pytest.fixture
async def alices(cast, intake) -> FormAssignment:
    return await FormAssignment.create(client=cast.alice, template=intake)


def url(assignment: FormAssignment, action: str = "") -> str:
    return f"/documents/forms/{assignment.id}{action}"


async def html_of(response) -> str:
    return await response.get_data(as_text=True)


async def fresh(assignment: FormAssignment) -> FormAssignment:
    return await FormAssignment.get(id=assignment.id)


async def send(client, path: str, data: dict, headers: dict | None = None):
    """A form post with repeated fields (multiple choice) kept as repeated fields."""
    from urllib.parse import urlencode

    from tests.helpers import csrf_token

    pairs = [("csrf_token", await csrf_token(client, "/dashboard"))]
    for key, value in data.items():
        pairs += [(key, item) for item in (value if isinstance(value, list) else [value])]
    headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return await client.post(path, data=urlencode(pairs), headers=headers)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# ---- filling in and drafts ----


async def test_the_form_shows_every_question_and_the_signature_pad(client, alices):
    await sign_in(client, "alice")
    response = await client.get(url(alices))
    html = await html_of(response)
    assert response.status_code == 200
    for label in ("About you", "What brings you in?", "Date of birth", "How is your mood?"):
        assert label in html
    assert 'type="date"' in html and 'name="a_topics"' in html and 'value="Family"' in html
    assert "data-signature-pad" in html and 'name="signature_name"' in html
    assert "12 Riverside Drive" in html  # the practice's address, not hidden here
    assert f'hx-post="/documents/forms/{alices.id}/draft"' in html


async def test_typing_saves_a_draft_and_says_so(client, alices):
    await sign_in(client, "alice")
    response = await send(
        client, url(alices, "/draft"), {"a_reason": "Sleep", "a_topics": ["Work"]}, headers=HX
    )
    assert response.status_code == 200
    assert "Draft saved" in await html_of(response)
    saved = await fresh(alices)
    assert saved.status == AssignmentStatus.DRAFT and saved.draft_saved_at is not None
    assert saved.answers == {"reason": "Sleep", "topics": ["Work"]}
    html = await html_of(await client.get(url(alices)))
    assert ">Sleep</textarea>" in html and 'value="Work" checked' in html


async def test_save_draft_without_javascript_redirects_back_to_the_form(client, alices):
    await sign_in(client, "alice")
    response = await send(client, url(alices, "/draft"), {"a_nickname": "Al"})
    assert response.status_code == 303
    assert response.headers["Location"] == url(alices, "?saved=1")
    assert "Draft saved." in await html_of(await client.get(response.headers["Location"]))
    assert (await fresh(alices)).answers == {"nickname": "Al"}


async def test_a_submit_with_missing_answers_is_422_and_saves_nothing(client, alices):
    await sign_in(client, "alice")
    response = await send(client, url(alices, "/submit"), {"a_nickname": "Al"})
    html = await html_of(response)
    assert response.status_code == 422
    assert "This question needs an answer." in html and "Type your full name to sign." in html
    assert 'value="Al"' in html  # the input is kept
    saved = await fresh(alices)
    assert saved.status == AssignmentStatus.ASSIGNED and saved.answers == {}
    assert saved.submitted_at is None and saved.document_id is None


# ---- submitting, locking, the PDF ----


async def test_submitting_signs_locks_and_keeps_a_pdf(client, cast, alices):
    await sign_in(client, "alice")
    response = await send(client, url(alices, "/submit"), GOOD)
    assert response.status_code == 303
    assert response.headers["Location"] == url(alices, "?submitted=1")
    saved = await fresh(alices)
    assert saved.status == AssignmentStatus.SUBMITTED and saved.submitted_at is not None
    assert saved.signature_name == "Alice Example"
    assert saved.signature_drawn == GOOD["signature_drawn"]
    assert saved.signed_by_id == cast.alice.user_id and saved.signature_ip
    assert saved.answers["topics"] == ["Sleep", "Work"] and saved.answers["born"] == "1990-04-12"
    document = await Document.get(id=saved.document_id)
    assert document.kind == "form_pdf" and document.name == "New client intake (signed)"
    assert document.client_id == cast.alice.id

    html = await html_of(await client.get(response.headers["Location"]))
    assert "the form is submitted" in html and "Download PDF" in html
    assert 'name="a_reason"' not in html and "Trouble sleeping since spring." in html

    pdf = await client.get(url(alices, ".pdf"))
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(await pdf.get_data())
    for expected in (
        "New client intake",
        "Alice Example",
        "What brings you in?",
        "Trouble sleeping since spring.",
        "How is your mood?",
        "Okay",
        "Sleep, Work",
        "Have you been in therapy before?",
        "No",
        "12 Riverside Drive",
        saved.signature_ip,
    ):
        assert expected in text, expected


async def test_staff_open_the_signed_copy_from_the_clients_forms(app, client, cast, alices):
    await sign_in(client, "alice")
    assert (await send(client, url(alices, "/submit"), GOOD)).status_code == 303
    document_id = (await fresh(alices)).document_id

    staff = app.test_client()
    await sign_in(staff, "penny")
    html = await html_of(await staff.get(f"/staff/forms/clients/{cast.alice.id}"))
    assert f'href="/staff/documents/{document_id}"' in html and "Signed copy (PDF)" in html
    pdf = await staff.get(f"/staff/documents/{document_id}")
    assert pdf.status_code == 200
    assert "Trouble sleeping since spring." in pdf_text(await pdf.get_data())


async def test_with_htmx_a_submit_answers_the_page_and_its_new_url(client, alices):
    await sign_in(client, "alice")
    bad = await send(client, url(alices, "/submit"), {"a_reason": "x"}, headers=HX)
    html = await html_of(bad)
    assert bad.status_code == 422 and html.lstrip().startswith("<") and "<html" not in html
    assert "Type your full name to sign." in html
    good = await send(client, url(alices, "/submit"), GOOD, headers=HX)
    assert good.status_code == 200 and good.headers["HX-Push-Url"] == url(alices, "?submitted=1")
    assert "the form is submitted" in await html_of(good)
    assert (await fresh(alices)).status == AssignmentStatus.SUBMITTED


async def test_a_submitted_form_refuses_a_second_submit_and_a_draft(client, alices):
    await sign_in(client, "alice")
    assert (await send(client, url(alices, "/submit"), GOOD)).status_code == 303
    before = await fresh(alices)
    again = await send(client, url(alices, "/submit"), {**GOOD, "a_reason": "Changed"})
    assert again.status_code == 409
    assert "already submitted" in await html_of(again)
    draft = await send(client, url(alices, "/draft"), {"a_reason": "Changed"})
    assert draft.status_code == 409
    htmx_draft = await send(client, url(alices, "/draft"), {"a_reason": "Changed"}, headers=HX)
    assert htmx_draft.status_code == 422 and "already submitted" in await html_of(htmx_draft)
    after = await fresh(alices)
    assert after.answers == before.answers and after.submitted_at == before.submitted_at
    assert after.document_id == before.document_id
    assert await Document.filter(client_id=alices.client_id).count() == 1


async def test_two_submits_at_once_make_one_submission(client, cast, alices):
    await sign_in(client, "alice")
    user = await User.get(id=cast.alice.user_id)
    answers = {"reason": "A", "mood": "Good"}
    first, second = await fresh(alices), await fresh(alices)
    results = await asyncio.gather(
        forms.submit(first, answers, "Alice Example", "", user, "192.0.2.1"),
        forms.submit(second, {**answers, "reason": "B"}, "Alice Example", "", user, "192.0.2.2"),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RuleError)]
    assert len(refused) == 1 and refused[0].code == "form_locked"
    winner = next(r for r in results if isinstance(r, FormAssignment))
    saved = await fresh(alices)
    assert saved.answers["reason"] == winner.answers["reason"]
    assert saved.signature_ip == winner.signature_ip

    other = await FormAssignment.create(client=cast.alice, template_id=alices.template_id)
    responses = await asyncio.gather(
        send(client, url(other, "/submit"), GOOD), send(client, url(other, "/submit"), GOOD)
    )
    assert sorted(r.status_code for r in responses) == [303, 409]
    assert await Document.filter(client_id=cast.alice.id).count() == 1


async def test_the_pdf_is_a_404_before_submit(client, alices):
    await sign_in(client, "alice")
    assert (await client.get(url(alices, ".pdf"))).status_code == 404


async def test_a_pdf_that_failed_at_submit_is_made_on_first_download(client, alices, monkeypatch):
    async def too_slow(html, *, title):
        raise PdfTimeout("slow")

    await sign_in(client, "alice")
    monkeypatch.setattr(form_pdfs, "render_pdf", too_slow)
    assert (await send(client, url(alices, "/submit"), GOOD)).status_code == 303
    saved = await fresh(alices)
    assert saved.status == AssignmentStatus.SUBMITTED and saved.document_id is None
    assert (await client.get(url(alices, ".pdf"))).status_code == 503
    monkeypatch.undo()
    pdf = await client.get(url(alices, ".pdf"))
    assert pdf.status_code == 200 and "Alice Example" in pdf_text(await pdf.get_data())
    assert (await fresh(alices)).document_id is not None
    assert (await client.get(url(alices, ".pdf"))).status_code == 200
    assert await Document.filter(client_id=alices.client_id).count() == 1


async def test_the_practice_can_hide_its_address_on_forms(client, cast, alices):
    cast.practice.portal_settings = {"hide_location_address": True}
    await cast.practice.save()
    await sign_in(client, "alice")
    assert "12 Riverside Drive" not in await html_of(await client.get(url(alices)))
    await send(client, url(alices, "/submit"), GOOD)
    text = pdf_text(await (await client.get(url(alices, ".pdf"))).get_data())
    assert "Test Practice" in text and "12 Riverside Drive" not in text


# ---- who may see, fill and sign ----


async def test_another_clients_form_is_a_404(client, cast, intake):
    bobs = await FormAssignment.create(client=cast.bob, template=intake)
    await sign_in(client, "alice")
    assert (await client.get(url(bobs))).status_code == 404
    assert (await send(client, url(bobs, "/draft"), {"a_reason": "x"})).status_code == 404
    assert (await send(client, url(bobs, "/submit"), GOOD)).status_code == 404
    assert (await client.get(url(bobs, ".pdf"))).status_code == 404
    assert (await fresh(bobs)).status == AssignmentStatus.ASSIGNED


async def test_a_guardian_with_the_forms_right_fills_and_signs(client, cast, intake):
    charlies = await FormAssignment.create(client=cast.charlie, template=intake)
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    assert (await client.get(url(charlies))).status_code == 200
    response = await send(client, url(charlies, "/submit"), {**GOOD, "signature_name": "Gina"})
    assert response.status_code == 303
    saved = await fresh(charlies)
    assert saved.signed_by_id == cast.gina.id and saved.signature_name == "Gina"


async def test_a_guardian_without_the_forms_right_gets_a_404(client, cast, intake):
    charlies = await FormAssignment.create(client=cast.charlie, template=intake)
    await Contact.filter(client=cast.charlie, user=cast.gina).update(scopes=["appointments"])
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    assert (await client.get(url(charlies))).status_code == 404
    assert (await send(client, url(charlies, "/draft"), {"a_reason": "x"})).status_code == 404
    assert (await send(client, url(charlies, "/submit"), GOOD)).status_code == 404
    assert (await fresh(charlies)).status == AssignmentStatus.ASSIGNED


async def test_only_the_named_signer_may_submit(app, client, cast, intake):
    hank = await User.create(email="hank@test.example", display_name="Hank", password_hash="")
    from models.auth import hash_password
    from tests.cast import PASSWORD

    hank.password_hash = await hash_password(PASSWORD)
    await hank.save()
    await Contact.create(
        client=cast.charlie,
        user=hank,
        name="Hank",
        relationship="Parent/Guardian",
        portal_access=True,
        scopes=["forms"],
    )
    charlies = await FormAssignment.create(client=cast.charlie, template=intake, signer=hank)
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    html = await html_of(await client.get(url(charlies)))
    assert "Hank is to sign this form" in html and "Sign and submit" not in html
    refused = await send(client, url(charlies, "/submit"), GOOD)
    assert refused.status_code == 403
    assert "Only the person named to sign" in await html_of(refused)
    assert (await fresh(charlies)).status == AssignmentStatus.ASSIGNED
    draft = await send(client, url(charlies, "/draft"), {"a_reason": "From Gina"}, headers=HX)
    assert draft.status_code == 200 and (await fresh(charlies)).answers == {"reason": "From Gina"}

    signer = app.test_client()
    await sign_in(signer, "hank")
    response = await send(signer, url(charlies, "/submit"), {**GOOD, "signature_name": "Hank"})
    assert response.status_code == 303
    saved = await fresh(charlies)
    assert saved.status == AssignmentStatus.SUBMITTED and saved.signed_by_id == hank.id


async def test_with_documents_switched_off_forms_are_a_404(client, cast, alices):
    cast.practice.portal_settings = {"documents": False}
    await cast.practice.save()
    await sign_in(client, "alice")
    assert (await client.get(url(alices))).status_code == 404
    assert (await send(client, url(alices, "/submit"), GOOD)).status_code == 404
    assert (await fresh(alices)).status == AssignmentStatus.ASSIGNED


# ---- hostile input ----


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("a_nickname", "x" * 201, "Use at most 200 characters."),
        ("a_reason", "x" * 5001, "Use at most 5000 characters."),
        ("a_mood", "Ecstatic", "Choose one of the options shown."),
        ("a_topics", ["Sleep", "Money"], "Choose one of the options shown."),
        ("a_prior", "maybe", "Choose one of the options shown."),
        ("a_born", "2026-02-30", "Enter a real date"),
        ("a_nickname", "nul\x00byte", "Use letters, digits and punctuation only."),
        ("signature_drawn", "M 10 20 L 30 40 Z", "The drawn signature could not be read."),
        ("signature_drawn", 'M 1 2"/><script>alert(1)</script>', "could not be read"),
        ("signature_drawn", "M 10 20 " + "L 30 40 " * 2600, "could not be read"),
        ("signature_name", "   ", "Type your full name to sign."),
    ],
)
async def test_bad_answers_are_refused_and_nothing_is_saved(client, alices, field, value, message):
    await sign_in(client, "alice")
    response = await send(client, url(alices, "/submit"), {**GOOD, field: value})
    assert response.status_code == 422
    assert message in await html_of(response)
    saved = await fresh(alices)
    assert saved.status == AssignmentStatus.ASSIGNED and saved.answers == {}
    assert saved.signature_name == "" and saved.signature_drawn == ""
    if field.startswith("a_"):
        draft = await send(client, url(alices, "/draft"), {field: value}, headers=HX)
        assert draft.status_code == 422 and "Draft not saved" in await html_of(draft)
        assert (await fresh(alices)).status == AssignmentStatus.ASSIGNED


async def test_unknown_fields_are_ignored(client, alices):
    await sign_in(client, "alice")
    response = await send(
        client,
        url(alices, "/submit"),
        {**GOOD, "a_admin": "yes", "a_about": "heading text", "status": "draft", "a_sign": "x"},
    )
    assert response.status_code == 303
    saved = await fresh(alices)
    assert set(saved.answers) == {"reason", "nickname", "born", "mood", "topics", "prior"}
