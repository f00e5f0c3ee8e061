"""Translations (Babel catalogs, English source with Spanish) and locale-aware formatting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from quart import g, has_request_context, has_websocket_context, request

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
_DIR = Path(__file__).parent / "translations"
_catalogs: dict[str, NullTranslations] = {}


def load_catalogs() -> None:
    """Compile the committed .po files in memory: no build step, no stale .mo."""
    _catalogs.clear()
    _catalogs["en"] = NullTranslations()
    for lang in LANGUAGES:
        po = _DIR / lang / "LC_MESSAGES" / "messages.po"
        if lang == "en" or not po.exists():
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        _catalogs[lang] = Translations(buf)


# A language set for one piece of work (a PDF in the client's language), over the request's.
_speaking: ContextVar[str | None] = ContextVar("speaking", default=None)


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Translate and format in ``locale`` inside the block, request or not."""
    token = _speaking.set(locale if locale in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _speaking.reset(token)


def current_locale() -> str:
    forced = _speaking.get()
    if forced is not None:
        return forced
    if has_request_context() or has_websocket_context():
        return getattr(g, "locale", DEFAULT)
    return DEFAULT


def pick_locale(preferred: str | None = None, source=None) -> str:
    """The user's saved language, else the ``lang`` cookie, else Accept-Language
    (of ``source``: the request, or a websocket's handshake)."""
    if preferred in LANGUAGES:
        return preferred
    source = source if source is not None else request
    cookie = source.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    best = source.accept_languages.best_match(list(LANGUAGES))
    return best or DEFAULT


def _translations(locale: str | None = None) -> NullTranslations:
    if not _catalogs:
        load_catalogs()
    return _catalogs.get(locale or current_locale(), _catalogs["en"])


def gettext(message: str, **variables) -> str:
    text = _translations().gettext(message)
    return text % variables if variables else text


def gettext_in(locale: str, message: str, **variables) -> str:
    """``gettext`` in an explicit language: for words stored for someone else to read
    later (the chat assistant answers in the client's language, whoever is signed in)."""
    text = _translations(locale if locale in LANGUAGES else DEFAULT).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return _translations().ngettext(singular, plural, n) % variables


_ = gettext


def lazy_gettext(message: str):
    """A message marked for extraction at import time, translated when shown."""
    return _Lazy(message)


class _Lazy:
    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return gettext(self.message)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


# ---- formatting, in the viewer's locale and time zone ----


def money(cents: int | None) -> str:
    return format_currency((cents or 0) / 100, "USD", locale=current_locale())


def local_datetime(value: datetime, tz: str, fmt: str = "medium") -> str:
    return format_datetime(value, fmt, tzinfo=ZoneInfo(tz), locale=current_locale())


def local_date(value: date | datetime, tz: str | None = None, fmt: str = "medium") -> str:
    if isinstance(value, datetime) and tz:
        value = value.astimezone(ZoneInfo(tz)).date()
    return format_date(value, fmt, locale=current_locale())


def local_time(value: datetime, tz: str) -> str:
    return format_time(value, "short", tzinfo=ZoneInfo(tz), locale=current_locale())


def weekday_date(value: datetime, tz: str) -> str:
    """ "Wed, May 11" in English, "mié, 11 may" in Spanish."""
    return format_date(value.astimezone(ZoneInfo(tz)).date(), "EEE, MMM d", locale=current_locale())


def language_name(code: str) -> str:
    return Locale.parse(code).get_display_name(code).capitalize()
