"""The client portal's sections: full page or htmx fragment, menu, and real data."""

from datetime import timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.documents import FormAssignment
from models.practice import Practice
from models.scheduling import Appointment
from tests.helpers import HX, csrf_token, post, sign_in

SECTIONS = {
    "/dashboard": "Welcome, Alice",
    "/profile": "My Profile: Alice Example",
    "/appointments": "My Appointments",
    "/messages": "Sleep diary",
    "/account": "Account history",
    "/pay": "Amount due",
    "/documents": "Intake questionnaire",
    "/insurance": "How you pay",
}


@pytest.mark.parametrize("path", list(SECTIONS))
async def test_it_serves_the_page_or_just_its_fragment(client, cast, path):
    await sign_in(client, "alice")
    page = await client.get(path)
    fragment = await client.get(path, headers=HX)
    page_html = await page.get_data(as_text=True)
    fragment_html = await fragment.get_data(as_text=True)
    assert page.status_code == fragment.status_code == 200
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]
    assert page_html.startswith("<!doctype html>") and SECTIONS[path] in page_html
    assert "<html" not in fragment_html and SECTIONS[path] in fragment_html
    assert '<main id="main"' in fragment_html
    assert 'id="client-menu"' in fragment_html and 'hx-swap-oob="true"' in fragment_html
    assert "<title>" in fragment_html
    assert f'href="{path}" hx-get="{path}" aria-current="page"' in fragment_html


async def test_it_shows_real_tasks_and_figures_on_the_dashboard(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Set up two-factor sign-in" in html
    assert "1 form to complete" in html
    assert "Tell us about your insurance" in html
    # 150 + 150 charged, 30 paid, 120 expected from insurance: balance 270, yours 150.
    assert "$270.00" in html and "$150.00" in html
    assert html.count('class="appt appt--scheduled"') == 2
    assert f"/appointments/{cast.a_soon.id}/confirm" in html


async def test_it_drops_finished_tasks_from_the_dashboard(client, cast):
    await FormAssignment.filter(client=cast.alice).update(status="submitted")
    cast.alice.insurance_choice = "self_pay"
    await cast.alice.save()
    await sign_in(client, "alice")
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "form to complete" not in html and "Tell us about your insurance" not in html


async def test_it_counts_open_forms_and_unread_messages_in_the_menu(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "1 to do" in html and "1 unread" in html
    await client.get(f"/messages/{cast.thread.id}")
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "unread</span>" not in html and "1 unread" not in html


@pytest.mark.parametrize(
    ("feature", "path", "label"),
    [
        ("messaging", "/messages", "My Messages"),
        ("documents", "/documents", "My Docs &amp; Forms"),
        ("insurance_display", "/insurance", "My Insurance"),
        ("payments", "/pay", "Make Payment"),
    ],
)
async def test_it_hides_a_feature_switched_off_for_the_practice_or_one_client(
    client, cast, feature, path, label
):
    await sign_in(client, "alice")
    assert label in await (await client.get("/dashboard")).get_data(as_text=True)
    cast.alice.portal_overrides = {feature: False}
    await cast.alice.save()
    assert label not in await (await client.get("/dashboard")).get_data(as_text=True)
    assert (await client.get(path)).status_code == 404
    # Bob keeps it: the override was for Alice alone.
    await sign_in(client, "bob", token_from="/dashboard")
    assert (await client.get(path)).status_code == 200
    await Practice.filter(id=cast.practice.id).update(portal_settings={feature: False})
    assert (await client.get(path)).status_code == 404


async def test_it_hides_payments_until_a_card_processor_is_configured(client, cast):
    await Practice.filter(id=cast.practice.id).update(payment_processor="")
    await sign_in(client, "alice")
    html = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "Make Payment" not in html
    assert (await client.get("/pay")).status_code == 404


async def test_it_confirms_an_appointment_with_htmx_and_returns_the_card(client, cast):
    await sign_in(client, "alice")
    response = await post(client, f"/appointments/{cast.a_soon.id}/confirm", headers=HX)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<article id="appt-{cast.a_soon.id}"') and "Confirmed" in html
    await cast.a_soon.refresh_from_db()
    assert cast.a_soon.status == "confirmed"
    again = await post(client, f"/appointments/{cast.a_soon.id}/confirm", headers=HX)
    assert again.status_code == 200  # a double click changes nothing
    [event] = await AuditEvent.filter(action="appointment.confirm")
    assert event.ip and event.category == "appointments" and event.client_id == cast.alice.id


async def test_it_confirms_without_javascript_and_goes_back(client, cast):
    await sign_in(client, "alice")
    response = await post(client, f"/appointments/{cast.a_soon.id}/confirm", {"next": "/dashboard"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"


async def test_it_cancels_with_notice_but_not_inside_24_hours(client, cast):
    # The default policy: free 24 hours ahead; within_24h off blocks the rest.
    await Practice.filter(id=cast.practice.id).update(phone="+15550109000")
    await sign_in(client, "alice")
    response = await post(client, f"/appointments/{cast.a_soon.id}/cancel", headers=HX)
    assert response.status_code == 200 and "Cancelled" in await response.get_data(as_text=True)
    response = await post(client, f"/appointments/{cast.a_tomorrow.id}/cancel", headers=HX)
    assert response.status_code == 422
    assert "Please call +15550109000 to cancel" in await response.get_data(as_text=True)
    await cast.a_tomorrow.refresh_from_db()
    assert cast.a_tomorrow.status == "scheduled"


async def test_it_records_a_late_cancel_where_the_practice_allows_it(client, cast):
    await Practice.filter(id=cast.practice.id).update(portal_settings={"within_24h": True})
    await sign_in(client, "alice")
    response = await post(client, f"/appointments/{cast.a_tomorrow.id}/cancel", headers=HX)
    assert response.status_code == 200
    await cast.a_tomorrow.refresh_from_db()
    assert cast.a_tomorrow.status == "late_cancelled"


async def test_it_answers_404_for_another_clients_appointment_and_changes_nothing(client, cast):
    await sign_in(client, "alice")
    for action in ("confirm", "cancel"):
        response = await post(client, f"/appointments/{cast.b_soon.id}/{action}", headers=HX)
        assert response.status_code == 404
    assert (await Appointment.get(id=cast.b_soon.id)).status == "scheduled"
    assert (await client.get(f"/messages/{cast.bob_thread.id}")).status_code == 404
    assert (await client.get("/messages/999999")).status_code == 404


async def test_it_refuses_to_confirm_a_past_appointment(client, cast):
    await sign_in(client, "alice")
    start = clock.now() - timedelta(hours=1)  # its end moves too: a range ends after it starts
    await Appointment.filter(id=cast.a_soon.id).update(
        starts_at=start, ends_at=start + timedelta(minutes=45)
    )
    response = await post(client, f"/appointments/{cast.a_soon.id}/confirm")
    assert response.status_code == 422
    assert "can no longer be confirmed" in await response.get_data(as_text=True)


async def test_it_shows_only_the_acting_clients_data_to_a_guardian(client, cast):
    await sign_in(client, "gina")
    html = await (await client.get("/appointments")).get_data(as_text=True)
    assert f"appt-{cast.c_soon.id}" in html and f"appt-{cast.a_soon.id}" not in html
    assert (await client.get("/account")).status_code == 404  # Charlie: no billing scope
    response = await post(
        client, f"/appointments/{cast.a_soon.id}/confirm", token_from="/appointments"
    )
    assert response.status_code == 404


async def test_it_filters_the_account_by_date_and_keeps_the_running_balance(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get("/account?start=2026-11-01&end=2026-11-30")).get_data(
        as_text=True
    )
    # The October lines are outside the range; November's row carries their balance.
    assert "$420.00" not in html and "$270.00" in html
    assert "Visa 4242" not in html


@pytest.mark.parametrize(
    "query",
    ["start=yesterday", "end=2026-13-01", "start=2026-02-01&end=2026-01-01", "start=0001-01-01"],
)
async def test_it_answers_a_bad_date_range_with_422_and_the_form(client, cast, query):
    await sign_in(client, "alice")
    response = await client.get(f"/account?{query}")
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert 'id="account-filter"' in html and "field-error" in html


async def test_it_searches_documents_by_name(client, cast):
    await sign_in(client, "alice")
    response = await client.get("/documents?q=" + "x" * 500)
    assert response.status_code == 422
    response = await client.get("/documents?q=nothing-like-this")
    assert "No documents match" in await response.get_data(as_text=True)


async def test_it_shows_a_404_page_in_the_layout(client, cast):
    await sign_in(client, "alice")
    response = await client.get("/no/such/page")
    html = await response.get_data(as_text=True)
    assert response.status_code == 404 and "Page not found" in html and "<html" in html
    fragment = await client.get("/no/such/page", headers=HX)
    assert "<html" not in await fragment.get_data(as_text=True)


async def test_it_speaks_the_clients_preferred_language(client, cast):
    cast.alice.preferred_language = "es"
    await cast.alice.save()
    await sign_in(client, "alice")
    response = await client.get("/appointments")
    html = await response.get_data(as_text=True)
    assert '<html lang="es">' in html and "Mis citas" in html
    assert "My Appointments" not in html


async def test_it_lets_a_visitor_pick_spanish_on_the_sign_in_page(client, cast):
    response = await client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in await response.get_data(as_text=True)
    token = await csrf_token(client)
    response = await client.post("/language", form={"lang": "en", "csrf_token": token})
    assert response.status_code == 303
    page = await client.get("/login", headers={"Accept-Language": "es"})
    assert '<html lang="en">' in await page.get_data(as_text=True)


async def test_it_asks_before_cancelling_without_javascript(client, cast):
    await sign_in(client, "alice")
    dashboard = await (await client.get("/dashboard")).get_data(as_text=True)
    assert f'href="/appointments/{cast.a_soon.id}/cancel?next=/dashboard"' in dashboard
    page = await client.get(f"/appointments/{cast.a_soon.id}/cancel?next=/dashboard")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "Yes, cancel it" in html
    assert 'name="next" value="/dashboard"' in html
    await cast.a_soon.refresh_from_db()
    assert cast.a_soon.status == "scheduled"  # asking changed nothing
    response = await post(client, f"/appointments/{cast.a_soon.id}/cancel", {"next": "/dashboard"})
    assert response.headers["Location"] == "/dashboard"
    await cast.a_soon.refresh_from_db()
    assert cast.a_soon.status == "cancelled"


async def test_it_explains_on_the_cancel_page_when_it_is_too_late(client, cast):
    await sign_in(client, "alice")
    html = await (await client.get(f"/appointments/{cast.a_tomorrow.id}/cancel")).get_data(
        as_text=True
    )
    assert "Please call the practice to cancel" in html and "Yes, cancel it" not in html
    other = await client.get(f"/appointments/{cast.b_soon.id}/cancel?next=//evil.example")
    assert other.status_code == 404


async def test_it_keeps_a_cancelled_future_appointment_in_the_list(client, cast):
    await sign_in(client, "alice")
    await post(client, f"/appointments/{cast.a_soon.id}/cancel")
    html = await (await client.get("/appointments")).get_data(as_text=True)
    upcoming, _, past = html.partition('id="past-title"')
    assert f"appt-{cast.a_soon.id}" not in upcoming
    assert f"appt-{cast.a_soon.id}" in past and "Cancelled" in past


def test_page_templates_keep_everything_inside_their_blocks():
    """An htmx request renders only a page's ``main`` block, which never runs what a
    template sets outside its blocks: a heading set there is empty in the fragment
    (an empty <h1> after every htmx navigation). So a page template holds nothing
    but its ``extends`` and its blocks."""
    from jinja2 import Environment, nodes

    from app.config import ROOT

    env = Environment(extensions=["jinja2.ext.i18n"])
    outside = []
    for path in sorted((ROOT / "views").rglob("*.html")):
        tree = env.parse(path.read_text())
        extends = [n for n in tree.body if isinstance(n, nodes.Extends)]
        if not extends or getattr(extends[0].template, "value", "") != "views/layout.html":
            continue  # PDFs and emails are rendered whole
        for node in tree.body:
            if isinstance(node, nodes.Output) and all(
                isinstance(c, nodes.TemplateData) and not c.data.strip() for c in node.nodes
            ):
                continue
            if not isinstance(node, (nodes.Extends, nodes.Block)):
                outside.append(f"{path.relative_to(ROOT)}:{node.lineno} {type(node).__name__}")
    assert outside == []
