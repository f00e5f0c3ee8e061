"""The Spanish catalog is complete, well-formed, current with the sources, and used at runtime.

If one of these fails after you added or changed a user-facing string: run
``bin/messages`` (or ``make messages``), translate the new empty ``msgstr``
entries in app/translations/es/LC_MESSAGES/messages.po, and commit both files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from jinja2 import Environment
from quart import Quart, g

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
ES_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
RUN_BIN_MESSAGES = (
    "run bin/messages (make messages), translate the new entries in "
    "app/translations/es/LC_MESSAGES/messages.po, and commit both files"
)

# Every %-conversion, named or not, plus "%%". Templates use newstyle gettext,
# which always applies `msgstr % variables`, so a stray "%" breaks rendering.
_CONVERSION = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _ids(catalog: Catalog) -> set[str]:
    return {_key(m) for m in _messages(catalog)}


def _conversions(text: str) -> set[str]:
    return {m.group(0) for m in _CONVERSION.finditer(text)}


def _names(text: str) -> set[str]:
    return {m.group(1) for m in _CONVERSION.finditer(text) if m.group(1)}


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return _read(POT)


@pytest.fixture(scope="module")
def es() -> Catalog:
    return _read(ES_PO, locale="es")


def test_spanish_catalog_has_spanish_plural_forms(es):
    assert es.locale and str(es.locale) == "es"
    assert es.num_plurals == 2
    assert es.plural_expr.replace(" ", "") == "(n!=1)"
    raw = ES_PO.read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' in raw


def test_every_msgid_has_a_spanish_translation_and_none_is_fuzzy(pot, es):
    problems = []
    for template in _messages(pot):
        message = es.get(template.id)
        if message is None:
            problems.append(f"missing from es catalog: {_key(template)!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy (dropped at load): {_key(template)!r}")
        if isinstance(template.id, tuple):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if len(strings) != es.num_plurals or not all(s.strip() for s in strings):
                problems.append(f"plural not fully translated: {_key(template)!r}")
        elif not (isinstance(message.string, str) and message.string.strip()):
            problems.append(f"untranslated: {_key(template)!r}")
    assert not problems, f"{RUN_BIN_MESSAGES}:\n  " + "\n  ".join(problems)


def test_es_catalog_has_no_stale_messages(pot, es):
    stale = sorted(_ids(es) - _ids(pot))
    assert not stale, f"messages no longer in the sources; {RUN_BIN_MESSAGES}: {stale}"


def _pairs(message: Message) -> list[tuple[str, str, str]]:
    """(English source, Spanish text, all English) for each form of a message."""
    if isinstance(message.id, tuple):
        singular, plural = message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        both = singular + "\n" + plural
        return [(singular if i == 0 else plural, s, both) for i, s in enumerate(strings)]
    return [(message.id, message.string, message.id)]


def test_placeholders_match(es):
    problems = []
    for message in _messages(es):
        plural = isinstance(message.id, tuple)
        for index, (source, text, english) in enumerate(_pairs(message)):
            if not text:
                continue
            names, expected = _names(text), _names(source)
            if plural and index == 0:
                # A singular form may spell the number out ("Un documento").
                names, expected = names | {"num"}, expected | {"num"}
            if names != expected:
                problems.append(f"{source!r} -> {text!r}")
            # Only conversions the English uses: newstyle gettext formats every
            # template string, so a lone "%" or a "%s" would fail at render time.
            extra = _conversions(text) - _conversions(english)
            if extra:
                problems.append(f"unexpected {sorted(extra)} in {text!r}")
            try:
                text % dict.fromkeys(_names(english), 1)
            except (KeyError, ValueError, TypeError) as exc:
                problems.append(f"{text!r} does not format: {exc!r}")
    assert not problems, "placeholders differ from the English:\n  " + "\n  ".join(problems)


def _pybabel_env() -> dict[str, str]:
    env = dict(os.environ)
    pybabel = shutil.which("pybabel", path=str(Path(sys.executable).parent))
    env["PYBABEL"] = pybabel or f"{sys.executable} -m babel.messages.frontend"
    env["PYTHON"] = sys.executable
    return env


def test_committed_pot_is_up_to_date_with_the_sources(pot, tmp_path):
    fresh_path = tmp_path / "messages.pot"
    result = subprocess.run(
        ["bash", str(ROOT / "bin" / "messages"), "--extract-to", str(fresh_path)],
        cwd=ROOT,
        env=_pybabel_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"extraction failed:\n{result.stderr}"
    fresh = _read(fresh_path)
    assert len(fresh) > 100, "extraction found suspiciously few messages; check babel.cfg"
    added = sorted(_ids(fresh) - _ids(pot))
    removed = sorted(_ids(pot) - _ids(fresh))
    assert not added and not removed, (
        f"app/translations/messages.pot is out of date; {RUN_BIN_MESSAGES}.\n"
        f"  new in the sources: {added}\n  gone from the sources: {removed}"
    )
    # Plural pairs must match too (a changed msgid_plural is a new message).
    assert {m.id for m in _messages(fresh)} == {m.id for m in _messages(pot)}, RUN_BIN_MESSAGES


@pytest.fixture
def loaded():
    i18n.load_catalogs()
    yield
    i18n.load_catalogs()


async def test_spanish_is_used_for_a_request_in_spanish(loaded):
    app = Quart(__name__)
    async with app.test_request_context("/"):
        g.locale = "es"
        assert i18n.gettext("My Appointments") == "Mis citas"
        assert i18n.gettext("Welcome, %(name)s", name="Ana") == "Le damos la bienvenida, Ana"
        assert i18n.ngettext("%(num)s unread", "%(num)s unread", 3) == "3 sin leer"
        assert (
            i18n.ngettext("%(num)s form to complete", "%(num)s forms to complete", 1)
            == "1 formulario por completar"
        )
        assert str(i18n.lazy_gettext("My Profile")) == "Mi perfil"

        g.locale = "en"
        assert i18n.gettext("My Appointments") == "My Appointments"


async def test_templates_render_in_spanish(loaded):
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    template = env.from_string(
        '{{ _("My Account") }} | {{ _("Expires %(m)s/%(y)s", m="04", y=27) }} | '
        '{{ ngettext("%(num)s form to complete", "%(num)s forms to complete", n) }}'
    )
    app = Quart(__name__)
    async with app.test_request_context("/"):
        g.locale = "es"
        assert template.render(n=2) == "Mi cuenta | Vence 04/27 | 2 formularios por completar"


def test_load_catalogs_keeps_every_translation(loaded):
    """load_catalogs() compiles every translated entry of the .po (nothing silently dropped)."""
    es = _read(ES_PO, locale="es")
    translations = i18n._catalogs["es"]
    for message in _messages(es):
        if message.fuzzy or not all(p[1] for p in _pairs(message)):
            continue  # reported by test_every_msgid_has_a_spanish_translation...
        if isinstance(message.id, tuple):
            assert translations.ngettext(*message.id, 2) == message.string[1]
        else:
            assert translations.gettext(message.id) == message.string
