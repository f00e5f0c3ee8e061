"""Every client-facing switch of /admin/portal, turned off through the admin's own form
(issue 9): the client's menu loses the section and the server itself refuses its pages
and its actions (a 404, as for any page that is not there), not just a hidden button.
Turned on again, they come back. (The appointment emails are in
tests/channels/test_notify_switches.py; the intake address in tests/app/test_forms.py;
two-factor in tests/app/test_two_factor.py; credit in tests/models/test_payments.py.)"""

from __future__ import annotations

import pytest

from models.portal_settings import CHOICES, stored_values
from models.practice import Practice
from tests.helpers import post, sign_in

# switch -> (who signs in, a page it closes, a POST it closes, the menu link it hides)
CLOSES = {
    "payments": ("alice", "/pay", "/pay", 'href="/pay"'),
    "messaging": ("alice", "/messages", "/messages/new", 'href="/messages"'),
    "self_scheduling": ("alice", "/appointments/new", "/appointments/new", None),
    "documents": ("alice", "/documents", "/documents/upload", 'href="/documents"'),
    "insurance_display": ("alice", "/insurance", "/insurance/choice", 'href="/insurance"'),
    "insurance_add_payers": ("alice", "/insurance/payers/new", "/insurance/payers/new", None),
    # Gina is a guardian: with contact access off she acts for nobody.
    "contact_access": ("gina", "/dashboard", "/appointments/{c_soon}/confirm", None),
}


async def set_switch(admin, practice_id: int, key: str, on: bool) -> None:
    values = {**stored_values(await Practice.get(id=practice_id)), key: on}
    data = {k: v for k, v in values.items() if k in CHOICES}
    data.update({k: "1" for k, v in values.items() if v is True})
    response = await post(admin, "/admin/portal", data, token_from="/admin/portal")
    assert response.status_code == 303, await response.get_data(as_text=True)


@pytest.mark.parametrize("key", list(CLOSES))
async def test_a_switch_turned_off_closes_its_pages_and_actions(app, cast, key):
    who, page, action, link = CLOSES[key]
    action = action.format(c_soon=cast.c_soon.id)
    admin = app.test_client()
    await sign_in(admin, "ada")
    await set_switch(admin, cast.practice.id, "insurance_add_payers", True)  # off by default
    person = app.test_client()
    await sign_in(person, who)
    assert (await person.get(page)).status_code == 200

    await set_switch(admin, cast.practice.id, key, False)
    assert (await person.get(page)).status_code == 404
    refused = await post(person, action, {}, token_from="/profile/security")
    assert refused.status_code == 404
    if link:
        dashboard = await person.get("/dashboard")
        assert link not in await dashboard.get_data(as_text=True)

    await set_switch(admin, cast.practice.id, key, True)
    assert (await person.get(page)).status_code == 200
