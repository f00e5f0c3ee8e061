"""Online forms in a real browser: the demo client fills the intake questionnaire,
sees the draft saved as they type, draws a signature, submits, finds the form locked
and downloads its signed PDF; without JavaScript, "Save draft" and the typed name
alone are enough. Submitting changes the demo, so this module has a demo of its own."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator

import pytest

if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
    pytest.skip("Chromium not installed: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from tests.browser.conftest import Portal, Server, _run_async, own_demo_server  # noqa: E402

pytestmark = pytest.mark.browser
CLIENT = "client@demo.test"
QUERY = (
    "SELECT a.id FROM form_assignment a JOIN form_template t ON t.id = a.template_id "
    "JOIN client c ON c.id = a.client_id WHERE c.number = 'C000100001' AND t.name = '{name}'"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("portal-forms-data")  # the PDFs, kept apart
    env = {"PORTAL_DATA_DIR": str(data_dir)}
    with own_demo_server(tmp_path_factory, "portal-forms-server", env) as running:
        yield running


@pytest.fixture(scope="module")
def portal(server) -> Portal:
    return Portal(server)


def assignment_id(server: Server, form_name: str) -> int:
    """The demo client's assignment of ``form_name``, read from the demo's database."""
    sql = QUERY.format(name=form_name)
    url = server.database_url
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.split("sqlite:///", 1)[1]) as db:
            return db.execute(sql).fetchone()[0]

    async def fetch() -> int:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return _run_async(fetch())


def pdf_text(download) -> str:
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def draw_signature(page) -> None:
    canvas = page.locator("canvas.signature-canvas")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + w * (0.1 + step * 0.06), y + h * (0.7 - (step % 3) * 0.15), steps=2)
    page.mouse.up()


def test_fill_sign_and_submit_the_intake_questionnaire(page, portal, server):
    form_id = assignment_id(server, "Intake questionnaire")
    portal.sign_in(page, CLIENT)
    page.goto(f"/documents/forms/{form_id}")
    expect(page.locator("main#main h1")).to_have_text("Intake questionnaire")
    portal.check_widths(page, "form-fill")

    page.get_by_label("What brings you in?").fill("Trouble sleeping and worry at work.")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved", timeout=8000)
    page.get_by_label("What would you like to change?").fill("Sleep through the night.")
    page.get_by_role("group", name="Have you been in therapy before?").get_by_label("Yes").check()
    page.get_by_label("Type your full name to sign").fill("Alex Rivera")
    draw_signature(page)
    drawn = page.locator("input[name=signature_drawn]").input_value()
    assert re.fullmatch(r"M \d+ \d+( [ML] \d+ \d+)+", drawn), drawn
    page.set_viewport_size({"width": 390, "height": 900})
    portal.screenshot(page, "form-signed", 390)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Sign and submit").click()
    expect(page.locator("main#main")).to_contain_text("the form is submitted")
    assert portal.path_of(page) == f"/documents/forms/{form_id}"
    expect(page.locator("main#main textarea")).to_have_count(0)
    expect(page.locator("main#main")).to_contain_text("Trouble sleeping and worry at work.")
    portal.check_widths(page, "form-submitted")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    text = pdf_text(info.value)
    for expected in (
        "Intake questionnaire",
        "What brings you in?",
        "Trouble sleeping and worry at work.",
        "Have you been in therapy before?",
        "Yes",
        "Alex Rivera",
    ):
        assert expected in text, expected

    # Locked: going back to the form shows the answers, not inputs.
    page.goto(f"/documents/forms/{form_id}")
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(page.get_by_role("button", name="Sign and submit")).to_have_count(0)


def test_without_javascript_save_a_draft_then_sign_by_typing(no_js_page, portal, server):
    page = no_js_page
    form_id = assignment_id(server, "Informed consent for treatment")
    portal.sign_in(page, CLIENT)
    page.goto(f"/documents/forms/{form_id}")
    expect(page.locator("canvas.signature-canvas")).to_be_hidden()  # the pad needs JS
    page.get_by_label("Yes").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    expect(page.locator("main#main .alert--ok")).to_contain_text("Draft saved.")
    expect(page.get_by_label("Yes")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign and submit").click()
    expect(page.locator("#sig-name-error")).to_contain_text("Type your full name to sign.")
    page.get_by_label("Type your full name to sign").fill("Alex Rivera")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign and submit").click()
    expect(page.locator("main#main")).to_contain_text("the form is submitted")


def test_staff_build_a_form_and_assign_it(page, portal):
    portal.sign_in(page, "provider@demo.test")
    page.goto("/staff/forms")
    expect(page.locator("main#main h1")).to_have_text("Forms")
    portal.check_widths(page, "staff-forms")
    page.get_by_role("link", name="New form").click()
    expect(page.locator("main#main h1")).to_have_text("New form")
    portal.check_widths(page, "staff-form-new")
    page.get_by_label("Name", exact=True).fill("Sleep diary check-in")
    row = page.get_by_role("group", name="Field 1")
    row.get_by_label("Type").select_option("single_choice")
    row.get_by_label("Question or heading").fill("How did you sleep?")
    row.get_by_label("Options, one per line (for choices)").fill("Well\nBadly")
    row.get_by_label("An answer is required").check()
    page.get_by_role("button", name="Save form").click()
    expect(page.locator("main#main")).to_contain_text("The form was created.")
    expect(page.locator("main#main")).to_contain_text("Sleep diary check-in")

    page.get_by_label("Client", exact=True).select_option(label="Rivera, Alex (C000100001)")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("main#main h1")).to_have_text("Forms: Alex Rivera")
    page.get_by_label("Form", exact=True).select_option(label="Sleep diary check-in")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("main#main")).to_contain_text("The form was assigned.")
    expect(page.locator("main#main")).to_contain_text("Not started")
    portal.check_widths(page, "staff-forms-client")
