"""Every SMS template, in English and Spanish, with 99th-percentile-long values: one
GSM-7 text of at most 160 septets that names the practice (a long name shortened with
"..."), gives its phone and says how to opt out; and a lint over the templates and
their Spanish translations: no clinical word, no carrier keyword but STOP asked for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.config import ROOT
from app.i18n import gettext_in
from channels.sms.texts import (
    MAX_SEPTETS,
    NAME_ROOM,
    gsm_fold,
    is_gsm7,
    money,
    render_sms,
    septets,
    short_phone,
    time_only,
    when,
)

TEMPLATES = sorted(p.stem for p in (ROOT / "views" / "sms").glob("*.txt"))
PRACTICE = "Riverside Family Wellness Center of Ohio"  # 40 characters
assert len(PRACTICE) == 40
PHONE = "+15550109000"
TZ = "America/New_York"
TEN = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wed, Nov 25, 10:00 AM in New York
ELEVEN = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)
CLINICAL = re.compile(
    r"therap|counsel|diagnos|psych|\bLCSW\b|\bPhD\b|\bLPC\b|\bLMFT\b|mental|treatment|session"
    r"|terapia|consejer|diagn",
    re.IGNORECASE,
)
# Carrier keywords (Twilio's default opt-out, opt-in and help words): none may be
# asked for in a text, except STOP.
KEYWORDS = r"YES|CANCEL|START|UNSTOP|STOPALL|UNSUBSCRIBE|END|QUIT|HELP|INFO|REVOKE|OPTOUT|SI|SÍ"
ASKED_FOR = re.compile(rf"\b(Reply|Text|Send|Responda|Responde|Env[ií]e)\b[^.]*\b({KEYWORDS})\b")


def long_values(name: str, lang: str) -> dict:
    """The longest values each template is rendered with in practice."""
    both = f"{when(TEN, TZ, lang)} {'y' if lang == 'es' else 'and'} {time_only(ELEVEN, TZ, lang)}"
    # Two choices: with a long name the reply drops choices beyond two (replies._which).
    two = "; ".join(f"{n}) {when(t, TZ, lang)}" for n, t in enumerate((TEN, NEXT_DAY), start=1))
    values = {
        "balance": {"amount": money(123456, lang)},
        "blocked": {"when": both},
        "cancelled": {"when": both},
        "cancelled_fee": {"when": when(TEN, TZ, lang), "fee": money(123456, lang)},
        "confirmed": {"when": both},
        "late_fee": {"when": when(TEN, TZ, lang), "fee": money(123456, lang)},
        "reminder": {"count": 2, "when": both, "confirm": True},
        "waitlist_offer": {"when": when(TEN, TZ, lang), "until": time_only(ELEVEN, TZ, lang)},
        "waitlist_taken": {"when": both},
        "waitlist_requested": {"when": both},
        "which": {"choices": two, "action": "confirm", "count": 2},
    }
    return values.get(name, {})


def shows_practice(text: str) -> bool:
    if PRACTICE in text:
        return True
    return any(PRACTICE[:k].rstrip() + "..." in text for k in range(NAME_ROOM, len(PRACTICE)))


def test_every_template_is_covered():
    assert "reminder" in TEMPLATES and "crisis" in TEMPLATES and len(TEMPLATES) >= 18


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_each_text_fits_one_gsm7_message_and_names_the_practice(name, lang):
    text = render_sms(name, lang=lang, practice=PRACTICE, phone=PHONE, **long_values(name, lang))
    assert is_gsm7(text), text
    assert septets(text) <= MAX_SEPTETS, (septets(text), text)
    assert shows_practice(text), text
    assert "{" not in text and "%(" not in text, text  # nothing left unrendered


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("name", [n for n in TEMPLATES if n != "crisis"])
def test_each_text_says_how_to_opt_out(name, lang):
    text = render_sms(name, lang=lang, practice=PRACTICE, phone=PHONE, **long_values(name, lang))
    assert gsm_fold(gettext_in(lang, "Reply STOP to opt out.")) in text, text


def test_the_crisis_text_gives_the_lines_instead():
    text = render_sms("crisis", practice=PRACTICE, phone=PHONE)
    assert "911" in text and "988" in text and short_phone(PHONE) in text


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_each_text_gives_the_practices_phone(name, lang):
    text = render_sms(name, lang=lang, practice=PRACTICE, phone=PHONE, **long_values(name, lang))
    assert short_phone(PHONE) in text, text


def test_a_spanish_text_is_spanish_once_translated():
    text = render_sms(
        "reminder", lang="es", practice=PRACTICE, phone=PHONE, **long_values("reminder", "es")
    )
    assert gsm_fold(gettext_in("es", "Reply 1 to confirm, 2 to cancel.")) in text
    assert gsm_fold(when(TEN, TZ, "es")) in text  # "mie, 25 nov, 10:00": the date in Spanish


# ---- the lint: the template files and their Spanish translations --------------------


def template_messages() -> list[tuple[str, str]]:
    """``(template, msgid)`` for every sentence in views/sms/*.txt."""
    found = []
    for path in sorted((ROOT / "views" / "sms").glob("*.txt")):
        for msgid in re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', path.read_text()):
            found.append((path.stem, msgid))
    return found


def test_the_lint_finds_the_sentences():
    assert len(template_messages()) >= 30


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_text_holds_a_clinical_word(lang):
    bad = [
        (name, gettext_in(lang, msgid))
        for name, msgid in template_messages()
        if CLINICAL.search(gettext_in(lang, msgid))
    ]
    assert bad == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_text_asks_for_a_carrier_keyword_but_stop(lang):
    bad = [
        (name, gettext_in(lang, msgid))
        for name, msgid in template_messages()
        if ASKED_FOR.search(gettext_in(lang, msgid))
    ]
    assert bad == []


def test_the_lint_catches_what_it_is_for():
    assert CLINICAL.search("your therapy session") and CLINICAL.search("su terapia")
    assert CLINICAL.search("Dr. Ann, LCSW") and CLINICAL.search("Psychotherapy")
    assert ASKED_FOR.search("Reply YES to confirm") and ASKED_FOR.search("Reply CANCEL to cancel")
    assert ASKED_FOR.search("Responda SI para confirmar")
    assert not ASKED_FOR.search("Reply STOP to opt out.")
    assert not ASKED_FOR.search("Reply 1 to confirm, 2 to cancel.")
    assert not ASKED_FOR.search("Reply REMIND ON to turn them on again.")


def test_the_template_files_hold_only_the_sentences():
    # Words outside _() would escape translation and this lint: none but tags and spaces.
    for path in sorted((ROOT / "views" / "sms").glob("*.txt")):
        outside = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", path.read_text(), flags=re.S)
        assert outside.strip() == "", (path.name, outside)
