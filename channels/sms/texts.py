"""SMS bodies: templates in ``views/sms/<name>.txt``, at most one 160-character GSM-7 text.

``render_sms(name, lang=..., practice=..., **context)`` renders one template in the
client's language, folds what GSM-7 cannot carry (Spanish "día" becomes "dia":
one "í" would make the whole text UCS-2, 70 characters a segment) and checks the
length. A practice name long enough to push a text past 160 is shortened (with
"…" spelled "..."), never the instructions.

Every template says who is texting (the practice's name) and how to reach them (its
phone), and ends with "Reply STOP to opt out" (the crisis answer excepted: it says
911 and 988 instead). No template holds a clinical word: "appointment", never
"therapy", "counseling", a diagnosis or a credential (tests/channels/test_sms_texts.py
holds every template to it, with long names). Replies are asked for as "1" and "2"
(or "C1" / "X1" to pick one of several), never "YES" or "CANCEL", which carriers
treat as keywords.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from babel.numbers import format_currency

from app import i18n

MAX_SEPTETS = 160
# The GSM 03.38 default alphabet, and its extension table (two septets each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",  # babel puts narrow no-break spaces in times ("3:00\u202fPM")
    }
)
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")
NAME_ROOM = 12  # the shortest a practice name is cut to


class SmsTooLong(ValueError):
    """A template cannot fit one text even with the practice's name cut short."""


def gsm_fold(text: str) -> str:
    """``text`` in the GSM-7 alphabet: accents the alphabet lacks are dropped
    ("í" -> "i"), look-alike punctuation straightened, anything else (emoji) removed."""
    out = []
    for char in text.translate(_LOOKALIKES):
        if char in GSM_BASIC or char in GSM_EXTENDED:
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append("".join(c for c in base if c in GSM_BASIC))
    return " ".join("".join(out).split())


def septets(text: str) -> int:
    """How many GSM-7 septets ``text`` takes (extension characters count twice)."""
    return sum(2 if c in GSM_EXTENDED else 1 for c in text)


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def short_phone(phone: str) -> str:
    """ "+15550109000" -> "555-010-9000" (a US number, as people write it); others as given."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10 and (phone.startswith("+1") or len(re.sub(r"\D", "", phone)) == 10):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return phone


def when(starts_at: datetime, tz: str, lang: str) -> str:
    """ "Tue, Nov 24, 3:00 PM" in ``tz`` and ``lang``, as short as a text needs."""
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        zone = ZoneInfo("UTC")
    date = format_skeleton("MMMEd", starts_at, tzinfo=zone, locale=lang)
    time = format_time(starts_at, "short", tzinfo=zone, locale=lang)
    return f"{date}, {time}"


def time_only(moment: datetime, tz: str, lang: str) -> str:
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        zone = ZoneInfo("UTC")
    return format_time(moment, "short", tzinfo=zone, locale=lang)


def money(cents: int, lang: str) -> str:
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    return format_currency((cents or 0) / 100, "USD", locale=lang)


def _render(name: str, lang: str, context: dict) -> str:
    from channels.email import _environment  # one Jinja environment per language

    return _environment(lang).get_template(f"views/sms/{name}.txt").render(**context)


def render_sms(name: str, *, lang: str = "en", practice: str, phone: str = "", **context) -> str:
    """The text of ``views/sms/<name>.txt`` in ``lang``: GSM-7, at most 160 septets.

    ``practice``: the practice's name; ``phone``: its phone (shown as 555-010-9000).
    Raises SmsTooLong when even a shortened name leaves it over 160.
    """
    if not _TEMPLATE_NAME.fullmatch(name):
        raise ValueError(f"bad SMS template name: {name!r}")
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    context = {**context, "phone": short_phone(phone)}
    name_text = gsm_fold(practice) or "Portal"
    while True:
        text = gsm_fold(_render(name, lang, {**context, "practice": name_text}))
        if septets(text) <= MAX_SEPTETS:
            return text
        over = septets(text) - MAX_SEPTETS
        room = len(name_text) - over - 3
        if room < NAME_ROOM or len(name_text) <= NAME_ROOM:
            raise SmsTooLong(f"SMS template {name!r} renders {septets(text)} septets")
        name_text = name_text[:room].rstrip() + "..."
