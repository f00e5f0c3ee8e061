"""My Documents (issue 8): uploads checked by content, downloads to the client's own
side only, acknowledging a shared document once, searching by name; and staff
sharing a PDF with a client of their practice."""

from __future__ import annotations

import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from models.audit import AuditEvent
from models.documents import Document
from models.people import Contact, Role, StaffMember, User
from models.practice import Practice
from tests.cast import PASSWORD
from tests.helpers import HX, csrf_token, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MB = 1024 * 1024


@pytest.fixture
def config_overrides(tmp_path):
    return {"data_dir": tmp_path / "data"}


@pytest.fixture
def stored(tmp_path):
    """The files kept in the data dir's documents folder."""
    folder = tmp_path / "data" / "documents"
    return lambda: sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return {"file": FileStorage(io.BytesIO(data), filename=name, content_type=content_type)}


async def send(client, path: str, data: dict | None = None, *, files=None, headers=None):
    token = await csrf_token(client, "/staff/" if path.startswith("/staff") else "/documents")
    form = {**(data or {}), "csrf_token": token}
    return await client.post(path, form=form, files=files or {}, headers=headers)


async def page(client, path: str = "/documents") -> str:
    return await (await client.get(path)).get_data(as_text=True)


# ---- uploads -------------------------------------------------------------------------


async def test_it_keeps_a_pdf_named_png_as_a_pdf_and_lists_it(client, cast, stored):
    await sign_in(client, "alice")
    response = await send(client, "/documents/upload", files=upload("scan.png", PDF, "image/png"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/documents?notice=uploaded"
    document = await Document.get(client_id=cast.alice.id)
    assert document.kind == "uploaded" and document.content_type == "application/pdf"
    assert document.name == "scan.pdf" and document.size_bytes == len(PDF)
    assert document.uploaded_by_id == (await User.get(email="alice@test.example")).id
    assert stored() == [document.storage_key]
    html = await page(client, "/documents?notice=uploaded")
    assert "Your document was uploaded." in html
    row = html[html.index(f'id="document-{document.id}"') :]
    row = row[: row.index("</li>")]
    assert "scan.pdf" in row and "You" in row and "Uploaded" in row and "1 KB" in row


async def test_it_keeps_a_png_under_the_name_typed(client, cast, stored):
    await sign_in(client, "alice")
    response = await send(
        client,
        "/documents/upload",
        {"name": "My referral letter"},
        files=upload("IMG_0001.PNG", PNG, "image/png"),
    )
    assert response.status_code == 303
    document = await Document.get(client_id=cast.alice.id)
    assert document.content_type == "image/png" and document.name == "My referral letter.png"
    assert len(stored()) == 1


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100, "Only PDF, JPEG and PNG"),
        ("page.pdf", b"<html><script>alert(1)</script></html>", "Only PDF, JPEG and PNG"),
        ("empty.pdf", b"", "That file is empty."),
        ("big.pdf", b"%PDF-" + b"0" * (10 * MB - 4), "at most 10 MB"),
    ],
    ids=["exe", "html", "empty", "10mb-plus-1"],
)
async def test_it_refuses_a_bad_file_with_422_and_keeps_nothing(
    client, cast, stored, name, data, error
):
    await sign_in(client, "alice")
    response = await send(client, "/documents/upload", files=upload(name, data, "application/pdf"))
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert error in html and 'id="upload-file-error"' in html and "<h1>My Docs & Forms</h1>" in html
    assert await Document.all().count() == 0
    assert stored() == []


async def test_it_accepts_a_file_of_exactly_10_mb(client, cast, stored):
    await sign_in(client, "alice")
    data = b"%PDF-" + b"0" * (10 * MB - 5)
    response = await send(client, "/documents/upload", files=upload("big.pdf", data))
    assert response.status_code == 303
    assert (await Document.get(client_id=cast.alice.id)).size_bytes == 10 * MB


async def test_it_asks_for_a_file_when_none_was_chosen(client, cast, stored):
    await sign_in(client, "alice")
    response = await send(client, "/documents/upload", {"name": "Letter"})
    assert response.status_code == 422
    assert "Choose a file to upload." in await response.get_data(as_text=True)
    assert await Document.all().count() == 0


async def test_it_refuses_a_display_name_over_120_characters_and_keeps_nothing(
    client, cast, stored
):
    await sign_in(client, "alice")
    response = await send(
        client, "/documents/upload", {"name": "x" * 121}, files=upload("a.pdf", PDF)
    )
    assert response.status_code == 422
    assert "Use at most 120 characters." in await response.get_data(as_text=True)
    assert await Document.all().count() == 0 and stored() == []


async def test_it_refuses_a_50_mb_upload_with_413_before_reading_it(client, cast, stored):
    await sign_in(client, "alice")
    data = b"%PDF-" + b"0" * (50 * MB)
    response = await send(client, "/documents/upload", files=upload("huge.pdf", data))
    assert response.status_code == 413
    html = await response.get_data(as_text=True)
    assert "Too large" in html and "What you sent is larger than we accept." in html
    assert await Document.all().count() == 0 and stored() == []


async def test_a_double_submit_keeps_one_document(client, cast, stored):
    await sign_in(client, "alice")
    for _ in range(2):
        response = await send(client, "/documents/upload", files=upload("diary.pdf", PDF))
        assert response.status_code == 303
    assert await Document.filter(client_id=cast.alice.id).count() == 1
    assert len(stored()) == 1


async def test_it_answers_htmx_with_the_page_and_a_notice(client, cast, stored):
    await sign_in(client, "alice")
    response = await send(client, "/documents/upload", files=upload("a.pdf", PDF), headers=HX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "<html" not in html and 'id="main"' in html
    assert "Your document was uploaded." in html and "a.pdf" in html


# ---- downloads -----------------------------------------------------------------------


async def test_it_downloads_the_clients_own_document_safely_and_audits_it(client, cast, stored):
    await sign_in(client, "alice")
    await send(client, "/documents/upload", files=upload("diary.pdf", PDF))
    document = await Document.get(client_id=cast.alice.id)
    response = await client.get(f"/documents/{document.id}")
    assert response.status_code == 200 and await response.get_data() == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''diary.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in response.headers["Cache-Control"]
    read = await AuditEvent.filter(
        client_id=cast.alice.id, category="documents", object_id=str(document.id)
    ).count()
    assert read == 1


async def test_another_clients_document_is_a_404(app, cast, stored):
    alice, bob = app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await send(alice, "/documents/upload", files=upload("diary.pdf", PDF))
    document = await Document.get(client_id=cast.alice.id)
    await sign_in(bob, "bob")
    assert (await bob.get(f"/documents/{document.id}")).status_code == 404
    assert (await send(bob, f"/documents/{document.id}/delete")).status_code == 404
    assert "diary.pdf" not in await page(bob)
    assert await Document.filter(id=document.id).exists()


async def test_a_card_photo_is_not_in_my_documents(client, cast, stored):
    card = await Document.create(
        client=cast.alice, name="card-front.png", kind="insurance_card", content_type="image/png"
    )
    await sign_in(client, "alice")
    assert "card-front.png" not in await page(client)
    assert (await client.get(f"/documents/{card.id}")).status_code == 404


async def test_an_unknown_id_or_missing_bytes_is_a_404(client, cast, stored):
    lost = await Document.create(
        client=cast.alice,
        name="lost.pdf",
        kind="shared",
        content_type="application/pdf",
        storage_key="0" * 32,
    )
    await sign_in(client, "alice")
    assert (await client.get("/documents/999999")).status_code == 404
    assert (await client.get(f"/documents/{lost.id}")).status_code == 404


# ---- guardians -----------------------------------------------------------------------


async def test_a_guardian_with_forms_uploads_and_downloads_for_each_child(client, cast, stored):
    await sign_in(client, "gina")  # acting for Charlie first
    response = await send(client, "/documents/upload", files=upload("charlie.pdf", PDF))
    assert response.status_code == 303
    charlie_doc = await Document.get(client_id=cast.charlie.id)
    assert charlie_doc.uploaded_by_id == cast.gina.id
    assert (await client.get(f"/documents/{charlie_doc.id}")).status_code == 200
    await send(client, "/switch-client", {"client_id": str(cast.dana.id)})
    response = await send(client, "/documents/upload", files=upload("dana.png", PNG))
    assert response.status_code == 303
    dana_doc = await Document.get(client_id=cast.dana.id)
    assert (await client.get(f"/documents/{dana_doc.id}")).status_code == 200
    # Acting for Dana, Charlie's document is someone else's.
    assert (await client.get(f"/documents/{charlie_doc.id}")).status_code == 404
    html = await page(client)
    assert "dana.png" in html and "charlie.pdf" not in html


async def test_a_guardian_without_forms_gets_404_everywhere(client, cast, stored):
    await Contact.filter(client_id=cast.charlie.id, user_id=cast.gina.id).update(
        scopes=["appointments"]
    )
    document = await Document.create(
        client=cast.charlie,
        name="x.pdf",
        kind="shared",
        content_type="application/pdf",
        requires_ack=True,
    )
    await sign_in(client, "gina")
    assert (await client.get("/documents")).status_code == 404
    assert (await client.get(f"/documents/{document.id}")).status_code == 404
    response = await send(client, "/documents/upload", files=upload("a.pdf", PDF))
    assert response.status_code == 404
    assert (await send(client, f"/documents/{document.id}/acknowledge")).status_code == 404
    assert await Document.all().count() == 1 and stored() == []
    await document.refresh_from_db()
    assert document.acknowledged_at is None


async def test_a_guardian_cannot_delete_what_the_client_uploaded(app, cast, stored):
    dana_user = await User.create(
        email="dana@test.example", display_name="Dana", password_hash=cast.gina.password_hash
    )
    cast.dana.user = dana_user
    await cast.dana.save()
    dana, gina = app.test_client(), app.test_client()
    await sign_in(dana, "dana")
    await send(dana, "/documents/upload", files=upload("mine.pdf", PDF))
    document = await Document.get(client_id=cast.dana.id)
    await sign_in(gina, "gina")
    await send(gina, "/switch-client", {"client_id": str(cast.dana.id)})
    html = await page(gina)
    row = html[html.index(f'id="document-{document.id}"') :]
    assert "Dana" in row[: row.index("</li>")] and "Delete" not in row[: row.index("</li>")]
    response = await send(gina, f"/documents/{document.id}/delete")
    assert response.status_code == 422
    assert "only documents you uploaded yourself" in await response.get_data(as_text=True)
    assert await Document.filter(id=document.id).exists() and len(stored()) == 1
    assert (await send(dana, f"/documents/{document.id}/delete")).status_code == 303
    assert not await Document.filter(id=document.id).exists() and stored() == []


# ---- acknowledging and searching ------------------------------------------------------


async def test_acknowledging_twice_records_it_once(client, cast, stored):
    document = await Document.create(
        client=cast.alice,
        name="Policies.pdf",
        kind="shared",
        content_type="application/pdf",
        requires_ack=True,
    )
    await sign_in(client, "alice")
    html = await page(client)
    assert "To read and acknowledge" in html and f"/documents/{document.id}/acknowledge" in html
    response = await send(client, f"/documents/{document.id}/acknowledge")
    assert response.status_code == 303
    await document.refresh_from_db()
    first = document.acknowledged_at
    alice_id = (await User.get(email="alice@test.example")).id
    assert first is not None and document.acknowledged_by_id == alice_id
    response = await send(client, f"/documents/{document.id}/acknowledge")
    assert response.status_code == 303
    await document.refresh_from_db()
    assert document.acknowledged_at == first
    html = await page(client)
    assert f"/documents/{document.id}/acknowledge" not in html and "Acknowledged" in html


async def test_a_document_without_acknowledgement_cannot_be_acknowledged(client, cast, stored):
    document = await Document.create(
        client=cast.alice, name="Info.pdf", kind="shared", content_type="application/pdf"
    )
    await sign_in(client, "alice")
    response = await send(client, f"/documents/{document.id}/acknowledge")
    assert response.status_code == 422
    assert "does not need acknowledging" in await response.get_data(as_text=True)
    await document.refresh_from_db()
    assert document.acknowledged_at is None


async def test_it_searches_my_documents_by_name(client, cast, stored):
    await sign_in(client, "alice")
    await send(client, "/documents/upload", files=upload("sleep diary.pdf", PDF))
    await send(client, "/documents/upload", files=upload("referral.png", PNG))
    html = await page(client, "/documents?q=DIARY")
    assert "sleep diary.pdf" in html and "referral.png" not in html
    html = await page(client, "/documents?q=nothing-like-it")
    assert "No documents match" in html and "sleep diary.pdf" not in html
    response = await client.get("/documents?q=" + "x" * 101)
    assert response.status_code == 422


async def test_the_empty_state_says_where_documents_come_from(client, cast, stored):
    await sign_in(client, "alice")
    html = await page(client)
    assert "No documents yet." in html
    assert re.search(r'action="/documents/upload"[^>]*enctype="multipart/form-data"', html)
    assert 'hx-indicator="#loading"' in html


# ---- staff -----------------------------------------------------------------------------


async def test_staff_share_a_pdf_the_client_sees_and_acknowledges(app, cast, stored):
    penny, alice = app.test_client(), app.test_client()
    await sign_in(penny, "penny")
    response = await send(
        penny,
        f"/staff/clients/{cast.alice.id}/documents",
        {"name": "Practice policies", "requires_ack": "1"},
        files=upload("policies-v2.pdf", PDF),
    )
    assert response.status_code == 303
    document = await Document.get(client_id=cast.alice.id)
    assert document.kind == "shared" and document.requires_ack
    assert document.name == "Practice policies.pdf"
    await sign_in(alice, "alice")
    html = await page(alice)
    assert "Practice policies.pdf" in html and "Your practice" in html
    assert (await alice.get(f"/documents/{document.id}")).status_code == 200
    assert (await send(alice, f"/documents/{document.id}/acknowledge")).status_code == 303
    html = await page(penny, f"/staff/clients/{cast.alice.id}/documents")
    assert "Practice policies.pdf" in html and "Acknowledged" in html and "by Alice" in html
    download = await penny.get(f"/staff/documents/{document.id}")
    assert download.status_code == 200 and await download.get_data() == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")


async def test_staff_see_the_clients_uploads_and_the_clients_list_links_them(app, cast, stored):
    alice, bea = app.test_client(), app.test_client()
    await sign_in(alice, "alice")
    await send(alice, "/documents/upload", files=upload("insurance letter.png", PNG))
    await sign_in(bea, "bea")
    assert f'href="/staff/clients/{cast.alice.id}/documents"' in await page(bea, "/staff/clients")
    html = await page(bea, f"/staff/clients/{cast.alice.id}/documents")
    assert "insurance letter.png" in html and "Uploaded by the client" in html
    assert 'id="document-share"' not in html  # billers do not share


async def test_a_biller_cannot_share_and_only_a_pdf_can_be_shared(app, cast, stored):
    bea, sid = app.test_client(), app.test_client()
    await sign_in(bea, "bea")
    path = f"/staff/clients/{cast.alice.id}/documents"
    assert (await send(bea, path, files=upload("a.pdf", PDF))).status_code == 403
    await sign_in(sid, "sid")
    response = await send(sid, path, files=upload("photo.pdf", PNG))
    assert response.status_code == 422
    assert "Only PDF files can be shared" in await response.get_data(as_text=True)
    response = await send(sid, path, files=upload("x.pdf", b"MZ\x90\x00"))
    assert response.status_code == 422
    assert await Document.all().count() == 0 and stored() == []


async def test_other_practice_staff_get_404(app, cast, stored):
    other = await Practice.create(name="Elsewhere", payment_processor="demo")
    user = await User.create(
        email="olga@test.example", display_name="Olga", password_hash=cast.gina.password_hash
    )
    await StaffMember.create(practice=other, user=user, roles=[Role.ADMIN])
    document = await Document.create(
        client=cast.alice, name="x.pdf", kind="shared", content_type="application/pdf"
    )
    olga = app.test_client()
    assert (await sign_in(olga, "olga@test.example", PASSWORD)).status_code == 303
    path = f"/staff/clients/{cast.alice.id}/documents"
    assert (await olga.get(path)).status_code == 404
    assert (await send(olga, path, files=upload("a.pdf", PDF))).status_code == 404
    assert (await olga.get(f"/staff/documents/{document.id}")).status_code == 404
    assert await Document.all().count() == 1 and stored() == []


async def test_a_client_cannot_reach_the_staff_pages(client, cast, stored):
    await sign_in(client, "alice")
    assert (await client.get(f"/staff/clients/{cast.alice.id}/documents")).status_code == 404
