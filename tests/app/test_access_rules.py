"""Every route declares who may use it, and each principal gets what the rules say."""

import pytest

from app.auth import rule_of
from tests.helpers import CLIENT_PAGES, HX, sign_in


async def test_it_has_an_access_rule_on_every_route(app):
    flask_app = app.app
    missing = [
        rule.rule
        for rule in flask_app.url_map.iter_rules()
        if rule.endpoint != "static" and rule_of(flask_app.view_functions[rule.endpoint]) is None
    ]
    assert missing == []


async def test_it_refuses_a_route_without_a_rule(app):
    flask_app = app.app

    async def sneaky():
        return "should never be served"

    flask_app.add_url_rule("/sneaky", "sneaky", sneaky)
    response = await app.test_client().get("/sneaky")
    assert response.status_code == 403
    assert "should never be served" not in await response.get_data(as_text=True)


STAFF_PAGES = [
    "/staff/",
    "/staff/requests",
    "/staff/clients",
    "/staff/calendar",
    "/admin/",
    "/admin/portal",
]

# principal -> {path: expected status}; 303 means "sent elsewhere" (login or home).
EXPECTED = {
    None: {**dict.fromkeys(CLIENT_PAGES, 303), **dict.fromkeys(STAFF_PAGES, 303)},
    "alice": {**dict.fromkeys(CLIENT_PAGES, 200), **dict.fromkeys(STAFF_PAGES, 404)},
    # Gina acts for Charlie first (appointments and forms only).
    "gina": {
        **dict.fromkeys(STAFF_PAGES, 404),
        "/dashboard": 200,
        "/appointments": 200,
        "/documents": 200,
        "/profile": 404,
        "/messages": 404,
        "/account": 404,
        "/pay": 404,
        "/insurance": 404,
    },
    "penny": {
        **dict.fromkeys(CLIENT_PAGES, 303),
        "/staff/": 200,
        "/staff/requests": 200,
        "/staff/clients": 200,
        "/staff/calendar": 200,
        "/admin/": 403,
        "/admin/portal": 403,
    },
    "sid": {
        **dict.fromkeys(CLIENT_PAGES, 303),
        "/staff/": 200,
        "/staff/requests": 200,
        "/staff/clients": 200,
        "/staff/calendar": 200,
        "/admin/": 403,
        "/admin/portal": 403,
    },
    "bea": {
        **dict.fromkeys(CLIENT_PAGES, 303),
        "/staff/": 200,
        "/staff/requests": 403,
        "/staff/clients": 200,
        "/staff/calendar": 403,
        "/admin/": 403,
        "/admin/portal": 403,
    },
    "ada": {**dict.fromkeys(CLIENT_PAGES, 303), **dict.fromkeys(STAFF_PAGES, 200)},
}


@pytest.mark.parametrize("principal", list(EXPECTED), ids=lambda p: p or "anonymous")
async def test_it_answers_each_principal_as_the_policy_table_says(client, cast, principal):
    if principal:
        assert (await sign_in(client, principal)).status_code == 303
    actual = {}
    for path in EXPECTED[principal]:
        actual[path] = (await client.get(path)).status_code
    assert actual == EXPECTED[principal]


async def test_it_sends_staff_on_client_pages_to_their_inbox(client, cast):
    await sign_in(client, "penny")
    response = await client.get("/dashboard")
    assert response.headers["Location"] == "/staff/"


async def test_it_sends_anonymous_visitors_to_sign_in_and_back(client, cast):
    response = await client.get("/account?start=2026-01-01")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/account%3Fstart%3D2026-01-01"
    login_page = await (await client.get(response.headers["Location"])).get_data(as_text=True)
    assert 'name="next" value="/account?start=2026-01-01"' in login_page


async def test_it_redirects_an_expired_htmx_request_with_hx_redirect(client, cast):
    response = await client.get("/appointments", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=/appointments")
    assert await response.get_data(as_text=True) == ""
