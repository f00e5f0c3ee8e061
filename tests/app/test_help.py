"""Help (issue 8): a guide with FAQs for each section, in English and Spanish, public,
inside the portal's own menu when signed in, and linked from every page."""

from __future__ import annotations

import re

import pytest

from app.routes.help import SECTIONS
from models.security import Session
from tests.helpers import HX, sign_in

ES = {"Accept-Language": "es"}
# One sentence per section that only the Spanish guide has (and its English twin).
SPANISH = {
    "getting-started": ("Su portal es un lugar privado", "Your portal is a private place"),
    "appointments": ("Programar una cita nueva", "Schedule New Appointment"),
    "messages": ("No es para emergencias.", "Not for emergencies."),
    "billing": ("¿Qué es una superfactura?", "What is a superbill?"),
    "forms-and-documents": (
        "Un formulario enviado queda bloqueado.",
        "A submitted form is locked.",
    ),
    "insurance": ("Tengo seguro médico", "I have insurance"),
    "profile": ("Teléfono y correo electrónico", "Phone &amp; email"),
    "guardians": ("En nombre de", "Acting for"),
    "privacy-and-security": ("códigos de recuperación", "recovery codes"),
}


def _faq_ids(html: str) -> list[str]:
    return re.findall(r'<details id="([^"]+)">', html)


async def _html(response) -> str:
    return await response.get_data(as_text=True)


def test_every_section_has_its_spanish_check():
    assert set(SPANISH) == set(SECTIONS)


@pytest.mark.parametrize("slug", list(SECTIONS))
async def test_it_shows_each_guide_in_english_signed_out(client, slug):
    response = await client.get(f"/help/{slug}")
    html = await _html(response)
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Frequently asked questions" in html
    assert SPANISH[slug][1] in html and SPANISH[slug][0] not in html
    assert 3 <= len(_faq_ids(html)) <= 6
    assert "<summary>" in html
    assert 'id="client-menu"' not in html and 'id="staff-menu"' not in html


@pytest.mark.parametrize("slug", list(SECTIONS))
async def test_it_shows_each_guide_in_spanish(client, slug):
    response = await client.get(f"/help/{slug}", headers=ES)
    html = await _html(response)
    assert response.status_code == 200
    assert '<html lang="es">' in html
    assert "Preguntas frecuentes" in html and "Frequently asked questions" not in html
    assert SPANISH[slug][0] in html


@pytest.mark.parametrize("lang", [{}, ES])
async def test_the_same_questions_are_asked_in_both_languages(client, lang):
    english = {slug: _faq_ids(await _html(await client.get(f"/help/{slug}"))) for slug in SECTIONS}
    for slug in SECTIONS:
        other = _faq_ids(await _html(await client.get(f"/help/{slug}", headers=lang)))
        assert other == english[slug]


@pytest.mark.parametrize("headers", [{}, ES])
async def test_the_index_links_every_guide_and_every_question(client, headers):
    response = await client.get("/help", headers=headers)
    html = await _html(response)
    assert response.status_code == 200
    for slug in SECTIONS:
        assert f'href="/help/{slug}"' in html
        page = await _html(await client.get(f"/help/{slug}", headers=headers))
        linked = re.findall(rf'href="/help/{slug}#([^"]+)"', html)
        assert linked == _faq_ids(page), slug
    assert "988" in html and "911" in html


async def test_the_messages_guide_says_it_is_not_for_emergencies(client):
    for headers in ({}, ES):
        html = await _html(await client.get("/help/messages", headers=headers))
        assert "911" in html and "988" in html


@pytest.mark.parametrize(
    "path",
    [
        "/help/nope",
        "/help/../dashboard",
        "/help/..%2F..%2Fetc%2Fpasswd",
        "/help/en%2Fbilling",
        "/help/billing%00",
        "/help/%00",
        "/help/" + "a" * 5000,
        "/help/getting-started.html",
        "/help/Billing",
        "/help/index",
        "/help/_link",
        "/help/billing/extra",
    ],
)
async def test_an_unknown_or_hostile_slug_is_a_404(client, path):
    response = await client.get(path)
    assert response.status_code == 404


async def test_it_sits_inside_the_clients_own_menu_when_signed_in(client, cast):
    await sign_in(client, "alice")
    for path in ("/help", "/help/appointments"):
        response = await client.get(path)
        html = await _html(response)
        assert response.status_code == 200
        assert 'id="client-menu"' in html and "My Appointments" in html
        assert "Sign out" in html


async def test_it_follows_the_clients_preferred_language(client, cast):
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await sign_in(client, "alice")
    html = await _html(await client.get("/help/billing"))
    assert '<html lang="es">' in html and "Mis citas" in html
    assert SPANISH["billing"][0] in html


async def test_it_sits_inside_the_staff_menu_for_staff(client, cast):
    await sign_in(client, "sid")
    html = await _html(await client.get("/help/getting-started"))
    assert 'id="staff-menu"' in html and 'id="client-menu"' not in html


async def test_an_htmx_request_gets_the_fragment(client, cast):
    await sign_in(client, "alice")
    response = await client.get("/help/messages", headers=HX)
    html = await _html(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and '<main id="main"' in html
    assert 'id="help-link"' in html and 'hx-swap-oob="true"' in html


async def test_a_session_owing_a_step_can_still_read_help(client, cast):
    await sign_in(client, "alice")
    await Session.filter(user_id=cast.alice.user_id).update(stage="terms")
    response = await client.get("/help/getting-started")
    html = await _html(response)
    assert response.status_code == 200
    assert 'id="client-menu"' not in html  # the menu's pages would only send it back
    assert (await client.get("/dashboard")).status_code == 303


async def test_the_login_page_links_to_help(client):
    html = await _html(await client.get("/login"))
    assert 'id="help-link"' in html and 'href="/help/getting-started"' in html


@pytest.mark.parametrize(
    "path, target",
    [
        ("/dashboard", "/help/getting-started"),
        ("/appointments", "/help/appointments"),
        ("/account", "/help/billing"),
        ("/profile", "/help/profile"),
        ("/profile/security", "/help/privacy-and-security"),
        ("/documents", "/help/forms-and-documents"),
        ("/messages", "/help/messages"),
    ],
)
async def test_every_client_page_links_to_its_sections_help(client, cast, path, target):
    await sign_in(client, "alice")
    response = await client.get(path)
    html = await _html(response)
    assert response.status_code == 200
    assert f'<a id="help-link" class="help-link" href="{target}">' in html


async def test_a_staff_page_links_to_help(client, cast):
    await sign_in(client, "sid")
    response = await client.get("/staff/clients")
    html = await _html(response)
    assert response.status_code == 200
    assert '<a id="help-link" class="help-link" href="/help">' in html


async def test_the_link_follows_htmx_navigation(client, cast):
    await sign_in(client, "alice")
    html = await _html(await client.get("/account", headers=HX))
    assert 'id="help-link" class="help-link" href="/help/billing" hx-swap-oob="true"' in html
