"""What a client means by a short reply: one parser for the chat panel and SMS.

``parse(text)`` is pure (no database, no clock) and never raises. The grammar:

- **confirm**: "1", or only confirm words: confirm, confirmed, yes, y, c, ok, okay,
  sí/si, confirmar, confirmo ("Yes!", "ok thanks", "I confirm" all count).
- **cancel**: "2", or a cancel word (cancel, cancelar, x, ...) with politeness or
  "my appointment" around it: "cancel please", "cancel my appointment". A bare
  "CANCEL" is **not** a cancel: carriers treat it as an opt-out, so it is kind
  "stop" with ``bare_cancel`` (SMS flags it to staff as a likely cancel request).
- **choice**: a confirm or cancel *word* followed by a number picks that
  appointment of the list the client was shown (1 = the first): "confirm 2",
  "cancel #1", and the texts' short forms "C1" / "X2" (letters and digits written
  together are read apart: "c1" is "c 1", "confirm2" is "confirm 2"). "1" and "2"
  alone are the reply codes, never a choice.
- **balance**: BAL, balance, saldo ("what is my balance?").
- **remind_off** / **remind_on**: a reminder word with an off or on word, in either
  order: "REMIND OFF", "reminders off", "no reminders", "recordatorios no",
  "REMIND ON", "turn on reminders", "recordatorios sí".
- **help**: HELP, INFO, ayuda.
- **stop**: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT
  alone, in any case, with spaces or trailing punctuation (the carriers' opt-out
  words), and "stop texting me"-like phrases built on stop/unsubscribe.
- **start**: START, UNSTOP (and "start texts again"). "YES" is a carrier opt-in
  word too, but here it is a confirm: SMS treats it as START only for a number
  that has opted out (``channels.sms.replies``).
- **unknown**: anything else (it goes to the practice's team).

Matching ignores case, accents, punctuation, emoji and spacing. Words that carry no
meaning here ("please", "my", "appointment", "por favor", "la cita", ...) are
dropped first; any other word makes the reply "unknown", so "don't cancel" or
"cancel on Tuesday" go to a person rather than act, and so does a reply of more
than ``MAX_WORDS`` meaningful words.

``crisis`` is set, whatever the kind, when the text holds crisis words in English
or Spanish ("suicide", "kill myself", "quiero morir", ...): the reply is then
answered with the crisis line and flagged to the practice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Only this much of a message is read: SMS bodies stop at 1,600 characters and chat
# messages at 5,000, so a longer text is junk and must not cost more than this.
MAX_SCAN = 20_000
MAX_CHOICE = 99
# A reply is short: past this many meaningful words it is a message for a person.
MAX_WORDS = 8

KINDS = (
    "confirm",
    "cancel",
    "balance",
    "remind_off",
    "remind_on",
    "help",
    "stop",
    "start",
    "unknown",
)


@dataclass(frozen=True)
class Intent:
    """What a reply means. ``choice``: which appointment of the list shown (1-based);
    ``bare_cancel``: the reply was "CANCEL" alone (an opt-out, never a cancel)."""

    kind: str
    choice: int | None = None
    bare_cancel: bool = False
    crisis: bool = False


UNKNOWN = Intent("unknown")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words dropped before matching: politeness, greetings, "my appointment".
FILLER = _words(
    """
    please pls plz thanks thank you thx ty hi hello hey my the this that it
    appointment appointments appt appts session i id want wanna to would like need
    can could just
    por favor gracias hola mi mis la el cita citas sesion quiero quisiera necesito yo
    lo
    """
)

CONFIRM_WORDS = _words(
    "confirm confirmed confirming yes yep yeah y c ok okay si confirmar confirmo "
    "confirmado confirmada"
)
CANCEL_WORDS = _words("cancel cancelling canceling x cancelar cancela cancelo")
BALANCE_WORDS = _words("bal balance saldo")
BALANCE_EXTRA = _words("what whats is cual es check account current show me tell")
REMIND_WORDS = _words("remind reminder reminders recordatorio recordatorios")
OFF_WORDS = _words(
    "off no stop disable disabled cancel none sin desactivar desactivado desactivados "
    "apagar apagado apagados"
)
ON_WORDS = _words(
    "on yes si start enable enabled activar activado activados encender encendido encendidos"
)
REMIND_EXTRA = _words("turn me all text texts email emails los")
HELP_WORDS = _words("help info information ayuda ayudame informacion")
HELP_EXTRA = _words("me menu options")
# The carriers' opt-out keywords, an opt-out when they are the whole reply.
BARE_STOP = _words("stop stopall unsubscribe end quit optout revoke")
STOP_WORDS = _words("stop stopall unsubscribe")
START_WORDS = _words("start unstop")
TEXTS_EXTRA = _words("all texting texts text messages messaging sending me again")

# Crisis phrases, normalised as the text is (lower case, no accents, words).
_CRISIS_TEXT = """
    suicide|suicidal|kill myself|killing myself|kill my self|hurt myself|hurting myself|
    harm myself|harming myself|self harm|selfharm|end my life|ending my life|
    take my life|take my own life|want to die|wanna die|wish i was dead|
    wish i were dead|better off dead|dont want to live|no reason to live|
    cut myself|cutting myself|overdose|
    suicidio|suicida|suicidarme|matarme|me quiero matar|hacerme dano|lastimarme|
    quiero morir|quiero morirme|no quiero vivir|acabar con mi vida|quitarme la vida|
    autolesion|cortarme
"""
CRISIS = tuple(p.strip() for p in _CRISIS_TEXT.replace("\n", "").split("|") if p.strip())


_LETTERS_DIGITS = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


def normalize(text: str) -> str:
    """Lower-case ASCII words and numbers separated by single spaces: accents and
    compatibility forms folded ("Sí" -> "si", "１" -> "1"), apostrophes dropped
    ("don't" -> "dont"), letters and digits written together read apart ("C1" ->
    "c 1", "x2" -> "x 2"), every other character a space."""
    if not isinstance(text, str):
        return ""
    folded = unicodedata.normalize("NFKD", text[:MAX_SCAN]).casefold()
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"['\u2018\u2019\u02bc`]", "", folded)
    words = re.sub(r"[^a-z0-9]+", " ", folded)
    return " ".join(_LETTERS_DIGITS.sub(" ", words).split())


def is_crisis(normalized: str) -> bool:
    padded = f" {normalized} "
    return any(f" {phrase} " in padded for phrase in CRISIS)


def parse(text: str) -> Intent:
    """What ``text`` means (see the module's grammar). Never raises."""
    normalized = normalize(text)
    crisis = is_crisis(normalized)
    intent = _classify(normalized.split())
    if crisis:
        return Intent(intent.kind, intent.choice, intent.bare_cancel, crisis=True)
    return intent


def _classify(tokens: list[str]) -> Intent:
    if len(tokens) == 1 and tokens[0] == "cancel":
        return Intent("stop", bare_cancel=True)
    if (len(tokens) == 1 and tokens[0] in BARE_STOP) or tokens == ["opt", "out"]:
        return Intent("stop")
    words = [t for t in tokens if t not in FILLER]
    if not words or len(words) > MAX_WORDS:
        return UNKNOWN
    for match in (_reminders, _keywords, _confirm_or_cancel):
        intent = match(words)
        if intent is not None:
            return intent
    return UNKNOWN


def _only(words: list[str], core: frozenset, extra: frozenset = frozenset()) -> bool:
    """At least one ``core`` word, and nothing but ``core`` and ``extra`` words."""
    return any(w in core for w in words) and all(w in core or w in extra for w in words)


def _reminders(words: list[str]) -> Intent | None:
    if not any(w in REMIND_WORDS for w in words):
        return None
    off = any(w in OFF_WORDS for w in words)
    on = any(w in ON_WORDS for w in words)
    if off == on or not _only(words, REMIND_WORDS, OFF_WORDS | ON_WORDS | REMIND_EXTRA):
        return None
    return Intent("remind_off" if off else "remind_on")


def _keywords(words: list[str]) -> Intent | None:
    for kind, core, extra in (
        ("stop", STOP_WORDS, TEXTS_EXTRA),
        ("start", START_WORDS, TEXTS_EXTRA),
        ("help", HELP_WORDS, HELP_EXTRA),
        ("balance", BALANCE_WORDS, BALANCE_EXTRA),
    ):
        if _only(words, core, extra):
            return Intent(kind)
    return None


def _confirm_or_cancel(words: list[str]) -> Intent | None:
    if words == ["1"]:
        return Intent("confirm")
    if words == ["2"]:
        return Intent("cancel")
    choice = None
    if len(words) > 1 and words[-1].isdigit():
        last = words[-1]
        if len(last) > 2 or not 1 <= int(last) <= MAX_CHOICE:
            return None
        choice, words = int(last), words[:-1]
    if all(w in CONFIRM_WORDS for w in words):
        return Intent("confirm", choice=choice)
    if all(w in CANCEL_WORDS for w in words):
        return Intent("cancel", choice=choice)
    return None
