"""My Insurance and its staff review queue (issue 8): self-pay or insurance, policies
with card photos sent for review, "my payer isn't listed", the practice switches, who
may act (guardians by right, other clients never), and the staff review that the
client then sees."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage

from models.audit import AuditEvent
from models.auth import hash_password
from models.document_files import DocumentKind
from models.documents import Document
from models.insurance import InsurancePolicy, Payer, PolicyStatus
from models.people import Client, StaffMember, User
from models.practice import Practice
from tests.cast import PASSWORD
from tests.helpers import HX, badge, csrf_token, post, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture
def config_overrides(tmp_path):
    return {"data_dir": tmp_path}


@pytest.fixture
async def payers(cast):
    blue = await Payer.create(practice=cast.practice, name="Blue Ridge Health Plan")
    green = await Payer.create(practice=cast.practice, name="Evergreen Mutual")
    old = await Payer.create(practice=cast.practice, name="Gone Health", active=False)
    other_practice = await Practice.create(name="Elsewhere")
    far = await Payer.create(practice=other_practice, name="Far Away Health")
    return {"blue": blue, "green": green, "old": old, "far": far, "elsewhere": other_practice}


async def switch(cast, **values) -> None:
    cast.practice.portal_settings = {**(cast.practice.portal_settings or {}), **values}
    await cast.practice.save()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return FileStorage(io.BytesIO(data), filename=name, content_type=content_type)


def details(payer: Payer, **more) -> dict:
    values = {
        "payer_id": str(payer.id),
        "member_id": "XYZ123456",
        "group_number": "G-77",
        "subscriber_name": "Alice Example",
        "subscriber_dob": "1990-08-08",
        "relationship": "self",
    }
    return {**values, **more}


async def send(client, path: str, data: dict, files: dict | None = None, headers=None):
    token = await csrf_token(client, "/insurance")
    return await client.post(
        path, form={**data, "csrf_token": token}, files=files or {}, headers=headers
    )


async def add_policy(client, payer: Payer, rank: str = "primary", files=None, **more):
    return await send(
        client, "/insurance/policies/new", {**details(payer, **more), "rank": rank}, files
    )


async def html(response) -> str:
    return await response.get_data(as_text=True)


async def counts() -> tuple[int, int, int]:
    return (
        await InsurancePolicy.all().count(),
        await Document.all().count(),
        await Payer.all().count(),
    )


# ---- self-pay or insurance ----------------------------------------------------------------


async def test_the_client_chooses_self_pay_or_insurance(client, cast):
    await sign_in(client, "alice")
    page = await html(await client.get("/insurance"))
    assert "No insurance — I plan to self-pay" in page and "I have insurance" in page
    assert "Add insurance" not in page

    response = await send(client, "/insurance/choice", {"choice": "self_pay"})
    assert (
        response.status_code == 303 and response.headers["Location"] == "/insurance?notice=choice"
    )
    assert (await Client.get(id=cast.alice.id)).insurance_choice == "self_pay"
    page = await html(await client.get("/insurance?notice=choice"))
    assert "You plan to self-pay for services." in page and "Add insurance" not in page

    await send(client, "/insurance/choice", {"choice": "insurance"})
    assert (await Client.get(id=cast.alice.id)).insurance_choice == "insurance"
    page = await html(await client.get("/insurance"))
    assert 'href="/insurance/policies/new?rank=primary"' in page


async def test_a_made_up_choice_is_422_and_changes_nothing(client, cast):
    await sign_in(client, "alice")
    response = await send(client, "/insurance/choice", {"choice": "medicaid"})
    assert response.status_code == 422
    assert "Choose “No insurance” or “I have insurance”." in await html(response)
    assert (await Client.get(id=cast.alice.id)).insurance_choice == ""


# ---- adding a policy ----------------------------------------------------------------------


async def test_it_adds_a_policy_with_card_photos_sent_for_review(client, cast, payers, tmp_path):
    await sign_in(client, "alice")
    form = await html(await client.get("/insurance/policies/new?rank=primary"))
    assert "Blue Ridge Health Plan" in form and "Evergreen Mutual" in form
    assert "Gone Health" not in form and "Far Away Health" not in form
    assert 'enctype="multipart/form-data"' in form and 'name="card_front"' in form

    response = await add_policy(
        client,
        payers["blue"],
        files={
            "card_front": upload("front.png", PNG, "image/png"),
            "card_back": upload("back.pdf", PDF, "application/pdf"),
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/insurance?notice=sent"
    policy = await InsurancePolicy.get(client_id=cast.alice.id)
    assert policy.status == PolicyStatus.PENDING and policy.rank == "primary"
    assert (policy.member_id, policy.group_number, policy.relationship) == (
        "XYZ123456",
        "G-77",
        "self",
    )
    assert (
        str(policy.subscriber_dob) == "1990-08-08" and policy.submitted_by_id == cast.alice.user_id
    )
    front = await Document.get(id=policy.card_front_id)
    back = await Document.get(id=policy.card_back_id)
    assert (front.kind, front.content_type) == (DocumentKind.INSURANCE_CARD, "image/png")
    assert (back.kind, back.content_type) == (DocumentKind.INSURANCE_CARD, "application/pdf")
    assert (await Client.get(id=cast.alice.id)).insurance_choice == "insurance"

    page = await html(await client.get("/insurance?notice=sent"))
    assert "Sent to staff for review" in page and "XYZ123456" in page
    assert f'<img src="/insurance/policies/{policy.id}/card/front"' in page
    assert f'href="/insurance/policies/{policy.id}/card/back"' in page
    shown = await client.get(f"/insurance/policies/{policy.id}/card/front")
    assert shown.status_code == 200 and await shown.get_data() == PNG
    assert shown.headers["Content-Type"].startswith("image/png")
    # Card photos are not in My Documents.
    docs = await html(await client.get("/documents"))
    assert "front.png" not in docs and "back.pdf" not in docs


async def test_a_double_submit_adds_one_policy(client, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"])
    await add_policy(client, payers["blue"])
    policies = await InsurancePolicy.filter(client_id=cast.alice.id)
    assert [p.status for p in policies] == [PolicyStatus.PENDING]


async def test_a_wrong_file_type_is_422_and_nothing_is_kept(client, cast, payers, tmp_path):
    await sign_in(client, "alice")
    before = await counts()
    response = await add_policy(
        client,
        payers["blue"],
        files={
            "card_front": upload("front.png", PNG, "image/png"),
            "card_back": upload("back.png", EXE, "image/png"),
        },
    )
    assert response.status_code == 422
    page = await html(response)
    assert 'id="policy-card_back-error"' in page and 'value="XYZ123456"' in page
    assert await counts() == before
    assert not [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]


async def test_a_card_photo_over_10_mb_is_422_and_a_huge_upload_is_413(client, cast, payers):
    await sign_in(client, "alice")
    before = await counts()
    big = PNG + b"\x00" * (10 * 1024 * 1024)
    response = await add_policy(client, payers["blue"], files={"card_front": upload("f.png", big)})
    assert response.status_code == 422
    assert 'id="policy-card_front-error"' in await html(response)
    huge = PNG + b"\x00" * (25 * 1024 * 1024)
    response = await add_policy(client, payers["blue"], files={"card_front": upload("f.png", huge)})
    assert response.status_code == 413
    assert await counts() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("member_id", "9" * 65, "Use at most 64 characters."),
        ("member_id", "", "This field is required."),
        ("group_number", "G" * 65, "Use at most 64 characters."),
        ("subscriber_name", "S" * 201, "Use at most 200 characters."),
        ("subscriber_dob", "not-a-date", "Enter a date like 2026-01-31."),
        ("subscriber_dob", "2199-01-01", "A date of birth cannot be in the future."),
        ("relationship", "boss", "Choose a relationship from the list."),
        ("member_id", "bad\x00byte", "Use letters, digits and punctuation only."),
        ("payer_id", "99999999999999999999", "Choose an insurance company from the list."),
    ],
)
async def test_a_bad_field_is_422_with_its_reason_and_saves_nothing(
    client, cast, payers, field, value, message
):
    await sign_in(client, "alice")
    before = await counts()
    response = await add_policy(
        client, payers["blue"], files={"card_front": upload("f.png", PNG)}, **{field: value}
    )
    assert response.status_code == 422
    assert message in await html(response)
    assert await counts() == before


async def test_a_made_up_rank_is_422_and_saves_nothing(client, cast, payers):
    await sign_in(client, "alice")
    before = await counts()
    response = await add_policy(client, payers["blue"], rank="tertiary")
    assert response.status_code == 422
    assert "Choose primary or secondary insurance." in await html(response)
    assert await counts() == before


@pytest.mark.parametrize("which", ["old", "far"])
async def test_an_inactive_or_other_practices_payer_is_422(client, cast, payers, which):
    await sign_in(client, "alice")
    before = await counts()
    response = await add_policy(client, payers[which])
    assert response.status_code == 422
    assert "Choose an insurance company from the list." in await html(response)
    assert await counts() == before


async def test_a_secondary_policy_needs_a_primary_first(client, cast, payers):
    await sign_in(client, "alice")
    response = await add_policy(client, payers["green"], rank="secondary")
    assert response.status_code == 422
    assert "Add your primary insurance before a secondary one." in await html(response)
    await add_policy(client, payers["blue"])
    response = await add_policy(client, payers["green"], rank="secondary", member_id="SEC1")
    assert response.status_code == 303
    ranks = await InsurancePolicy.filter(client_id=cast.alice.id).values_list("rank", flat=True)
    assert sorted(ranks) == ["primary", "secondary"]
    page = await html(await client.get("/insurance"))
    assert "Add insurance" not in page and "Add secondary insurance" not in page


async def test_a_new_primary_replaces_the_old_one_which_ends(client, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"])
    await add_policy(client, payers["green"], member_id="NEW999")
    old, new = await InsurancePolicy.filter(client_id=cast.alice.id).order_by("id")
    assert (old.status, new.status) == (PolicyStatus.ENDED, PolicyStatus.PENDING)
    page = await html(await client.get("/insurance"))
    assert "NEW999" in page and "XYZ123456" not in page
    assert (await client.get(f"/insurance/policies/{old.id}/edit")).status_code == 404


# ---- staff review, as the client sees it --------------------------------------------------


async def test_staff_ask_for_information_and_the_client_resubmits(client, app, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"])
    policy = await InsurancePolicy.get(client_id=cast.alice.id)

    biller = app.test_client()
    await sign_in(biller, "bea")
    queue = await html(await biller.get("/staff/insurance"))
    assert "Alice Example" in queue and f'href="/staff/insurance/{policy.id}"' in queue
    detail = await html(await biller.get(f"/staff/insurance/{policy.id}"))
    assert "XYZ123456" in detail and "Ask for information" in detail

    refused = await post(
        biller,
        f"/staff/insurance/{policy.id}/needs-info",
        {"note": "  "},
        token_from="/staff/insurance",
    )
    assert refused.status_code == 422
    assert "This field is required." in await html(refused)
    too_long = await post(
        biller,
        f"/staff/insurance/{policy.id}/needs-info",
        {"note": "x" * 1001},
        token_from="/staff/insurance",
    )
    assert too_long.status_code == 422
    assert (await InsurancePolicy.get(id=policy.id)).status == PolicyStatus.PENDING

    note = "Please send a photo of the back of your card."
    asked = await post(
        biller,
        f"/staff/insurance/{policy.id}/needs-info",
        {"note": note},
        token_from="/staff/insurance",
    )
    assert asked.status_code == 303
    fresh = await InsurancePolicy.get(id=policy.id)
    assert (fresh.status, fresh.review_note) == (PolicyStatus.NEEDS_INFO, note)
    assert fresh.reviewed_by_id == cast.bea.user_id and fresh.reviewed_at is not None
    assert "No policies waiting." in await html(await biller.get("/staff/insurance"))

    page = await html(await client.get("/insurance"))
    assert "Needs information" in page and note in page

    response = await send(
        client,
        f"/insurance/policies/{policy.id}/edit",
        details(payers["blue"]),
        files={"card_back": upload("back.png", PNG, "image/png")},
    )
    assert response.status_code == 303
    fresh = await InsurancePolicy.get(id=policy.id)
    assert (fresh.status, fresh.review_note, fresh.reviewed_at) == (PolicyStatus.PENDING, "", None)
    assert fresh.card_back_id is not None
    assert "Sent to staff for review" in await html(await client.get("/insurance"))
    assert await InsurancePolicy.filter(client_id=cast.alice.id).count() == 1


async def test_the_staff_menu_counts_policies_to_review(client, app, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"])
    policy = await InsurancePolicy.get(client_id=cast.alice.id)

    biller = app.test_client()
    await sign_in(biller, "bea")
    html = await (await biller.get("/staff/")).get_data(as_text=True)
    assert "1 to review" in badge(html, "insurance")
    await post(biller, f"/staff/insurance/{policy.id}/verify", token_from="/staff/insurance")
    html = await (await biller.get("/staff/")).get_data(as_text=True)
    assert "to review" not in badge(html, "insurance")


async def test_staff_verify_once_and_the_client_sees_it(client, app, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"], files={"card_front": upload("f.png", PNG)})
    policy = await InsurancePolicy.get(client_id=cast.alice.id)

    scheduler = app.test_client()
    await sign_in(scheduler, "sid")
    card = await scheduler.get(f"/staff/insurance/{policy.id}/card/front")
    assert card.status_code == 200 and await card.get_data() == PNG
    assert (await scheduler.get(f"/staff/insurance/{policy.id}/card/back")).status_code == 404
    audits_before = await AuditEvent.filter(action="insurance.verified").count()
    first = await post(
        scheduler, f"/staff/insurance/{policy.id}/verify", token_from="/staff/insurance"
    )
    assert first.headers["Location"] == "/staff/insurance?notice=verified"
    reviewed_at = (await InsurancePolicy.get(id=policy.id)).reviewed_at
    second = await post(
        scheduler, f"/staff/insurance/{policy.id}/verify", token_from="/staff/insurance"
    )
    assert second.headers["Location"] == "/staff/insurance?notice=already"
    fresh = await InsurancePolicy.get(id=policy.id)
    assert fresh.status == PolicyStatus.VERIFIED and fresh.reviewed_at == reviewed_at
    assert fresh.reviewed_by_id == cast.sid.user_id
    assert await AuditEvent.filter(action="insurance.verified").count() == audits_before + 1
    hx = await post(
        scheduler, f"/staff/insurance/{policy.id}/verify", token_from="/staff/insurance", headers=HX
    )
    assert hx.headers["HX-Redirect"] == "/staff/insurance?notice=already"

    page = await html(await client.get("/insurance"))
    assert "Verified" in page and "Sent to staff for review" not in page

    # Changing a verified policy sends a new one for review and ends the verified one.
    response = await send(
        client,
        f"/insurance/policies/{policy.id}/edit",
        details(payers["blue"], member_id="CHANGED1"),
    )
    assert response.status_code == 303
    old, new = await InsurancePolicy.filter(client_id=cast.alice.id).order_by("id")
    assert (old.status, new.status) == (PolicyStatus.ENDED, PolicyStatus.PENDING)
    assert new.card_front_id == old.card_front_id


async def test_a_biller_of_another_practice_gets_404(client, app, cast, payers):
    await sign_in(client, "alice")
    await add_policy(client, payers["blue"], files={"card_front": upload("f.png", PNG)})
    policy = await InsurancePolicy.get(client_id=cast.alice.id)
    user = await User.create(
        email="oscar@test.example",
        display_name="Oscar",
        password_hash=await hash_password(PASSWORD),
    )
    await StaffMember.create(practice=payers["elsewhere"], user=user, roles=["biller"])
    payer = await Payer.create(practice=cast.practice, name="Typed Health", added_by_client=True)
    outsider = app.test_client()
    await sign_in(outsider, "oscar@test.example")
    assert "Alice" not in await html(await outsider.get("/staff/insurance"))
    assert (await outsider.get(f"/staff/insurance/{policy.id}")).status_code == 404
    assert (await outsider.get(f"/staff/insurance/{policy.id}/card/front")).status_code == 404
    for path, data in (
        (f"/staff/insurance/{policy.id}/verify", {}),
        (f"/staff/insurance/{policy.id}/needs-info", {"note": "x"}),
        (f"/staff/payers/{payer.id}/approve", {}),
        (f"/staff/payers/{payer.id}/merge", {"into": str(payers["blue"].id)}),
    ):
        response = await post(outsider, path, data, token_from="/staff/insurance")
        assert response.status_code == 404, path
    assert (await InsurancePolicy.get(id=policy.id)).status == PolicyStatus.PENDING
    assert (await Payer.get(id=payer.id)).reviewed_at is None


async def test_a_provider_only_staff_member_is_refused(client, cast, payers):
    policy = await InsurancePolicy.create(client=cast.alice, payer=payers["blue"], member_id="M1")
    await sign_in(client, "penny")
    assert (await client.get("/staff/insurance")).status_code == 403
    assert (await client.get(f"/staff/insurance/{policy.id}")).status_code == 403
    response = await post(client, f"/staff/insurance/{policy.id}/verify", token_from="/staff/")
    assert response.status_code == 403
    assert (await InsurancePolicy.get(id=policy.id)).status == PolicyStatus.PENDING
    menu = await html(await client.get("/staff/"))
    assert 'href="/staff/insurance"' not in menu


async def test_a_client_cannot_reach_the_staff_queue(client, cast):
    await sign_in(client, "alice")
    assert (await client.get("/staff/insurance")).status_code == 404


# ---- "my payer isn't listed" -------------------------------------------------------------


async def test_with_the_switch_on_a_client_adds_a_payer_flagged_for_staff(
    client, app, cast, payers
):
    await switch(cast, insurance_add_payers=True)
    await sign_in(client, "alice")
    form = await html(await client.get("/insurance/policies/new?rank=primary"))
    assert 'href="/insurance/payers/new?rank=primary"' in form
    assert (await client.get("/insurance/payers/new?rank=primary")).status_code == 200

    response = await send(
        client, "/insurance/payers/new", {"name": "  Sunrise   Health ", "rank": "primary"}
    )
    assert response.status_code == 303
    payer = await Payer.get(name="Sunrise Health")
    assert payer.practice_id == cast.practice.id and payer.added_by_client
    assert payer.added_by_id == cast.alice.user_id and payer.reviewed_at is None
    assert response.headers["Location"] == f"/insurance/policies/new?rank=primary&payer={payer.id}"
    form = await html(await client.get(response.headers["Location"]))
    assert f'<option value="{payer.id}" selected>Sunrise Health</option>' in form

    # The same name in any case is the same payer; an empty or long name is refused.
    again = await send(
        client, "/insurance/payers/new", {"name": "SUNRISE HEALTH", "rank": "primary"}
    )
    assert again.headers["Location"].endswith(f"payer={payer.id}")
    for name, message in (
        ("", "This field is required."),
        ("x" * 201, "Use at most 200 characters."),
    ):
        refused = await send(client, "/insurance/payers/new", {"name": name})
        assert refused.status_code == 422 and message in await html(refused)
    assert await Payer.filter(practice_id=cast.practice.id).count() == 4

    # Bob, another client, does not see Alice's unreviewed payer.
    bob = app.test_client()
    await sign_in(bob, "bob")
    assert "Sunrise Health" not in await html(await bob.get("/insurance/policies/new"))
    refused = await add_policy(bob, payer)
    assert refused.status_code == 422

    await add_policy(client, payer)
    biller = app.test_client()
    await sign_in(biller, "bea")
    queue = await html(await biller.get("/staff/insurance"))
    assert "Payers added by clients" in queue and "Sunrise Health" in queue and "new payer" in queue
    approved = await post(
        biller, f"/staff/payers/{payer.id}/approve", token_from="/staff/insurance"
    )
    assert approved.headers["Location"] == "/staff/insurance?notice=approved"
    reviewed_at = (await Payer.get(id=payer.id)).reviewed_at
    assert reviewed_at is not None
    twice = await post(biller, f"/staff/payers/{payer.id}/approve", token_from="/staff/insurance")
    assert twice.headers["Location"] == "/staff/insurance?notice=already"
    assert (await Payer.get(id=payer.id)).reviewed_at == reviewed_at
    assert "Sunrise Health" in await html(await bob.get("/insurance/policies/new"))


async def test_staff_merge_a_client_added_payer_into_one_on_the_list(client, app, cast, payers):
    await switch(cast, insurance_add_payers=True)
    await sign_in(client, "alice")
    await send(client, "/insurance/payers/new", {"name": "Blue Ridge HP"})
    typed = await Payer.get(name="Blue Ridge HP")
    await add_policy(client, typed)
    biller = app.test_client()
    await sign_in(biller, "bea")
    bad = await post(
        biller,
        f"/staff/payers/{typed.id}/merge",
        {"into": str(payers["far"].id)},
        token_from="/staff/insurance",
    )
    assert bad.status_code == 422
    assert "Choose a payer from the practice" in await html(bad)
    merged = await post(
        biller,
        f"/staff/payers/{typed.id}/merge",
        {"into": str(payers["blue"].id)},
        token_from="/staff/insurance",
    )
    assert merged.headers["Location"] == "/staff/insurance?notice=merged"
    typed = await Payer.get(id=typed.id)
    assert not typed.active and typed.reviewed_at is not None
    policy = await InsurancePolicy.get(client_id=cast.alice.id)
    assert policy.payer_id == payers["blue"].id
    assert "Blue Ridge HP" not in await html(await biller.get("/staff/insurance"))


async def test_with_the_switch_off_adding_a_payer_is_404_and_creates_nothing(client, cast, payers):
    await sign_in(client, "alice")
    form = await html(await client.get("/insurance/policies/new"))
    assert "/insurance/payers/new" not in form
    assert (await client.get("/insurance/payers/new")).status_code == 404
    before = await counts()
    response = await send(client, "/insurance/payers/new", {"name": "Sunrise Health"})
    assert response.status_code == 404
    assert await counts() == before


# ---- the section switched off, and who may act --------------------------------------------


async def test_with_display_off_the_whole_section_is_gone(client, cast, payers):
    policy = await InsurancePolicy.create(client=cast.alice, payer=payers["blue"], member_id="M1")
    await switch(cast, insurance_display=False, insurance_add_payers=True)
    await sign_in(client, "alice")
    dashboard = await html(await client.get("/dashboard"))
    assert 'href="/insurance"' not in dashboard and "My Insurance" not in dashboard
    for path in (
        "/insurance",
        "/insurance/policies/new",
        f"/insurance/policies/{policy.id}/edit",
        f"/insurance/policies/{policy.id}/card/front",
        "/insurance/payers/new",
    ):
        assert (await client.get(path)).status_code == 404, path
    before = await counts()
    for path, data in (
        ("/insurance/choice", {"choice": "self_pay"}),
        ("/insurance/policies/new", {**details(payers["blue"]), "rank": "primary"}),
        (f"/insurance/policies/{policy.id}/edit", details(payers["green"])),
        ("/insurance/payers/new", {"name": "Sunrise"}),
    ):
        response = await post(client, path, data)
        assert response.status_code == 404, path
    assert await counts() == before
    assert (await Client.get(id=cast.alice.id)).insurance_choice == ""


async def test_a_guardian_with_the_insurance_right_acts_for_the_child(client, cast, payers):
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.dana.id)})
    assert 'href="/insurance"' in await html(await client.get("/dashboard"))
    await send(client, "/insurance/choice", {"choice": "insurance"})
    response = await add_policy(
        client, payers["blue"], relationship="child", subscriber_name="Gina Example"
    )
    assert response.status_code == 303
    policy = await InsurancePolicy.get(client_id=cast.dana.id)
    assert policy.submitted_by_id == cast.gina.id and policy.relationship == "child"
    assert "Sent to staff for review" in await html(await client.get("/insurance"))


async def test_a_guardian_without_the_insurance_right_gets_404(client, cast, payers):
    await switch(cast, insurance_add_payers=True)
    policy = await InsurancePolicy.create(client=cast.charlie, payer=payers["blue"], member_id="M1")
    await sign_in(client, "gina")
    await post(client, "/switch-client", {"client_id": str(cast.charlie.id)})
    assert 'href="/insurance"' not in await html(await client.get("/dashboard"))
    for path in (
        "/insurance",
        "/insurance/policies/new",
        f"/insurance/policies/{policy.id}/edit",
        f"/insurance/policies/{policy.id}/card/front",
        "/insurance/payers/new",
    ):
        assert (await client.get(path)).status_code == 404, path
    before = await counts()
    for path, data in (
        ("/insurance/choice", {"choice": "self_pay"}),
        ("/insurance/policies/new", {**details(payers["blue"]), "rank": "primary"}),
        (f"/insurance/policies/{policy.id}/edit", details(payers["green"])),
        ("/insurance/payers/new", {"name": "Sunrise Health"}),
    ):
        assert (await post(client, path, data)).status_code == 404, path
    assert await counts() == before
    assert (await InsurancePolicy.get(id=policy.id)).payer_id == payers["blue"].id
    assert (await Client.get(id=cast.charlie.id)).insurance_choice == ""


async def test_another_clients_policy_and_card_are_404(client, cast, payers):
    await sign_in(client, "bob")
    await add_policy(client, payers["blue"], files={"card_front": upload("f.png", PNG)})
    bobs = await InsurancePolicy.get(client_id=cast.bob.id)
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/insurance")})
    await sign_in(client, "alice")
    assert (await client.get(f"/insurance/policies/{bobs.id}/edit")).status_code == 404
    assert (await client.get(f"/insurance/policies/{bobs.id}/card/front")).status_code == 404
    response = await send(client, f"/insurance/policies/{bobs.id}/edit", details(payers["green"]))
    assert response.status_code == 404
    fresh = await InsurancePolicy.get(id=bobs.id)
    assert fresh.payer_id == payers["blue"].id and fresh.status == PolicyStatus.PENDING
    assert "XYZ123456" not in await html(await client.get("/insurance"))
    assert (await client.get("/insurance/policies/99999999999/edit")).status_code == 404


async def test_htmx_gets_the_main_block_and_a_422_form(client, cast, payers):
    await sign_in(client, "alice")
    response = await client.get("/insurance/policies/new", headers=HX)
    body = await html(response)
    assert (
        response.status_code == 200 and "<html" not in body and 'id="insurance-policy-form"' in body
    )
    assert 'hx-indicator="#loading, #policy-busy"' in body
    refused = await send(client, "/insurance/policies/new", {"rank": "primary"}, headers=HX)
    assert refused.status_code == 422
    assert "<html" not in (page := await html(refused)) and "This field is required." in page
