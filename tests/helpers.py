"""Acting as a person in tests: sign in, send forms with the CSRF token."""

from __future__ import annotations

import re

from tests.cast import PASSWORD, email_of

HX = {"HX-Request": "true"}
# The client portal's sections, at the URLs DESIGN.md promises.
CLIENT_PAGES = [
    "/dashboard",
    "/profile",
    "/appointments",
    "/messages",
    "/account",
    "/pay",
    "/documents",
    "/insurance",
]


async def csrf_token(client, path: str = "/login") -> str:
    response = await client.get(path)
    html = await response.get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


async def sign_in(client, name: str, password: str = PASSWORD, token_from: str = "/login"):
    """Sign in as a cast member by first name (``"alice"``) or a full email."""
    email = name if "@" in name else email_of(name)
    token = await csrf_token(client, token_from)
    return await client.post(
        "/login", form={"username": email, "password": password, "csrf_token": token}
    )


async def post(
    client,
    path: str,
    data: dict | None = None,
    *,
    token_from: str = "/dashboard",
    headers: dict | None = None,
):
    """POST a form the way the page would, with the session's CSRF token."""
    token = await csrf_token(client, token_from)
    return await client.post(path, form={**(data or {}), "csrf_token": token}, headers=headers)


def badge(html: str, name: str) -> str:
    """The menu entry holding badge ``name`` (its link's markup), or "" when it is not shown."""
    start = html.find(f'id="menu-badge-{name}"')
    return "" if start < 0 else html[start : html.index("</a>", start)]
