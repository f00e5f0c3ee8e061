"""The preview of every text and email the portal sends to clients, at
/admin/templates (issue 9): rendered with sample data by the senders' renderers, in
English or Spanish, never with a real client's data; admins only."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.outbox import OutboxMessage
from tests.helpers import sign_in

PAGE = "/admin/templates"
VIEWS = Path(__file__).resolve().parents[2] / "views"
CLIENT_EMAILS = {path.stem for path in (VIEWS / "email").glob("*.txt")} - {
    "crisis_alert",
    "dispute_alert",
    "test_message",
}  # to staff, or a server check


async def page(client, query: str = "") -> str:
    response = await client.get(PAGE + query)
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def test_every_template_is_shown_in_english_with_sample_data(client, cast):
    await sign_in(client, "ada")
    queued = await OutboxMessage.all().count()
    html = await page(client, "?lang=en")
    for path in (VIEWS / "sms").glob("*.txt"):
        assert f'<span class="muted">{path.stem}</span>' in html, path.stem
    for name in CLIENT_EMAILS:
        assert f'<span class="muted">{name}</span>' in html, name
    assert "Test Practice: appointment Tue" in html
    assert "Reply 1 to confirm, 2 to cancel." in html
    assert "Hello Sam," in html and "Sam Sample" in html and "Dr. Example" in html
    assert "Your appointment at Test Practice was moved" in html
    assert "You have a new secure message" in html
    assert "Client notifications: booked or requested" in html
    assert 'href="/admin/portal"' in html
    assert await OutboxMessage.all().count() == queued  # nothing sent


async def test_spanish_shows_the_spanish_text(client, cast):
    await sign_in(client, "ada")
    html = await page(client, "?lang=es")
    assert "Responda STOP para darse de baja." in html
    assert "Hola, Sam:" in html
    assert "Reply STOP to opt out." not in html
    assert 'href="/admin/templates?lang=es" lang="es" aria-current="true"' in html


async def test_no_real_client_is_named(client, cast):
    await sign_in(client, "ada")
    for lang in ("en", "es"):
        html = await page(client, f"?lang={lang}")
        for person in ("Alice", "Bob", "alice@test.example", "bob@test.example"):
            assert person not in html, person


@pytest.mark.parametrize("query", ["?lang=fr", "?lang=", "?lang=en%00", "?lang=../../etc"])
async def test_an_unknown_language_is_404(client, cast, query):
    await sign_in(client, "ada")
    assert (await client.get(PAGE + query)).status_code == 404


@pytest.mark.parametrize(
    "who, status", [("penny", 403), ("sid", 403), ("bea", 403), ("alice", 404)]
)
async def test_only_admins_see_the_previews(client, cast, who, status):
    await sign_in(client, who)
    assert (await client.get(PAGE)).status_code == status
    assert (await client.get(PAGE + "?lang=es")).status_code == status
