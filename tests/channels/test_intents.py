"""The reply parser shared by the chat panel and SMS: a table of replies with what they
mean, and properties (never raises; case, accents and spacing do not matter; a bare
CANCEL is an opt-out, never a cancel)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.intents import KINDS, Intent, normalize, parse

QUICK = settings(max_examples=300, deadline=None, database=None)

# (reply, kind, choice)
TABLE = [
    # confirm
    ("1", "confirm", None),
    (" 1 ", "confirm", None),
    ("1.", "confirm", None),
    ("１", "confirm", None),  # a full-width digit from a phone keyboard
    ("confirm", "confirm", None),
    ("CONFIRM", "confirm", None),
    ("Confirmed", "confirm", None),
    ("yes", "confirm", None),
    ("Yes!", "confirm", None),
    ("YES 👍", "confirm", None),
    ("y", "confirm", None),
    ("Y", "confirm", None),
    ("c", "confirm", None),
    ("ok", "confirm", None),
    ("OK thanks", "confirm", None),
    ("yes please", "confirm", None),
    ("I confirm", "confirm", None),
    ("confirm my appointment", "confirm", None),
    ("sí", "confirm", None),
    ("Si", "confirm", None),
    ("SÍ, confirmo", "confirm", None),
    ("confirmar", "confirm", None),
    ("Confirmar mi cita, gracias", "confirm", None),
    ("confirm 2", "confirm", 2),
    ("Confirm #1", "confirm", 1),
    ("yes 3", "confirm", 3),
    # cancel
    ("2", "cancel", None),
    ("2!", "cancel", None),
    ("cancel please", "cancel", None),
    ("Please cancel", "cancel", None),
    ("cancel my appointment", "cancel", None),
    ("Cancel my appointment please", "cancel", None),
    ("I want to cancel", "cancel", None),
    ("I need to cancel my appt", "cancel", None),
    ("x", "cancel", None),
    ("X", "cancel", None),
    ("cancelar", "cancel", None),
    ("Cancelar mi cita por favor", "cancel", None),
    ("cancel 2", "cancel", 2),
    ("cancel #1", "cancel", 1),
    ("cancelar 2", "cancel", 2),
    # the texts' short forms for "which one?": letters and digits read apart
    ("C1", "confirm", 1),
    ("c2", "confirm", 2),
    ("C 2", "confirm", 2),
    ("confirm2", "confirm", 2),
    ("X2", "cancel", 2),
    ("x1.", "cancel", 1),
    ("cancel2", "cancel", 2),
    # balance
    ("BAL", "balance", None),
    ("bal", "balance", None),
    ("balance", "balance", None),
    ("Balance?", "balance", None),
    ("What's my balance?", "balance", None),
    ("saldo", "balance", None),
    ("¿Cuál es mi saldo?", "balance", None),
    # reminders
    ("REMIND OFF", "remind_off", None),
    ("remind off", "remind_off", None),
    ("Reminders off", "remind_off", None),
    ("reminder off please", "remind_off", None),
    ("no reminders", "remind_off", None),
    ("stop reminders", "remind_off", None),
    ("turn off reminders", "remind_off", None),
    ("recordatorios no", "remind_off", None),
    ("No quiero recordatorios", "remind_off", None),
    ("Desactivar recordatorios", "remind_off", None),
    ("REMIND ON", "remind_on", None),
    ("reminders on", "remind_on", None),
    ("Turn on reminders", "remind_on", None),
    ("start reminders", "remind_on", None),
    ("recordatorios sí", "remind_on", None),
    ("Activar recordatorios", "remind_on", None),
    # help
    ("HELP", "help", None),
    ("help", "help", None),
    ("Help me", "help", None),
    ("INFO", "help", None),
    ("ayuda", "help", None),
    ("Ayuda por favor", "help", None),
    # stop and start
    ("STOP", "stop", None),
    ("stop", "stop", None),
    ("Stop.", "stop", None),
    ("STOPALL", "stop", None),
    ("stop all", "stop", None),
    ("UNSUBSCRIBE", "stop", None),
    ("END", "stop", None),
    ("QUIT", "stop", None),
    ("stop texting me", "stop", None),
    ("START", "start", None),
    ("start", "start", None),
    ("UNSTOP", "start", None),
    ("stop.", "stop", None),
    (" Stop ", "stop", None),
    ("STOP!", "stop", None),
    ("unsubscribe", "stop", None),
    ("Quit", "stop", None),
    ("end.", "stop", None),
    ("REVOKE", "stop", None),
    ("OPTOUT", "stop", None),
    ("opt out", "stop", None),
    ("Start.", "start", None),
    ("unstop", "start", None),
    # unknown: a person answers
    ("", "unknown", None),
    ("   ", "unknown", None),
    ("?!", "unknown", None),
    ("🙂", "unknown", None),
    ("thank you", "unknown", None),
    ("please", "unknown", None),
    ("no", "unknown", None),
    ("3", "unknown", None),
    ("1 2", "unknown", None),  # "1" and "2" are codes, never a choice
    ("12", "unknown", None),
    ("C100", "unknown", None),
    ("X0", "unknown", None),
    ("2nd", "unknown", None),
    ("h2o", "unknown", None),
    ("confirm 100", "unknown", None),
    ("confirm 0", "unknown", None),
    ("don't cancel", "unknown", None),
    ("I don't want to cancel", "unknown", None),
    ("cancel on Tuesday", "unknown", None),
    ("Can I move my appointment to Friday?", "unknown", None),
    ("yes I'll be there but late", "unknown", None),
    ("end please", "unknown", None),
    ("remind", "unknown", None),
    ("reminders on off", "unknown", None),
    ("Is the office open on Monday?", "unknown", None),
]


@pytest.mark.parametrize(("text", "kind", "choice"), TABLE)
def test_the_table_of_replies(text, kind, choice):
    intent = parse(text)
    assert (intent.kind, intent.choice) == (kind, choice)
    assert not intent.bare_cancel and not intent.crisis


@pytest.mark.parametrize("text", ["CANCEL", "cancel", "Cancel", " CANCEL ", "Cancel.", "CANCEL!"])
def test_a_bare_cancel_is_an_opt_out_flagged_as_a_likely_cancel(text):
    assert parse(text) == Intent("stop", bare_cancel=True)


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "sometimes I think about suicide",
        "I'm SUICIDAL",
        "I want to hurt myself",
        "i just want to end my life",
        "I want to die",
        "I don't want to live anymore",
        "self-harm again",
        "Pienso en el suicidio",
        "quiero matarme",
        "Quiero hacerme daño",
        "quiero morir",
        "ya no quiero vivir",
        "CANCEL, I want to die",
    ],
)
def test_crisis_words_are_flagged_whatever_the_kind(text):
    intent = parse(text)
    assert intent.crisis
    assert intent.kind == "unknown"  # a person answers, never an automatic action


@pytest.mark.parametrize(
    "text", ["I'm dying to see you", "diet tips?", "the killer app", "cancel please", "matar"]
)
def test_everyday_words_are_not_crisis(text):
    assert not parse(text).crisis


def test_normalize_folds_case_accents_and_punctuation():
    assert normalize("  ¡SÍ,   Confirmo!  ") == "si confirmo"
    assert normalize("Don’t\tcancel\n") == "dont cancel"
    assert normalize("ＣＯＮＦＩＲＭ") == "confirm"
    assert normalize(None) == ""  # type: ignore[arg-type]


def test_normalize_reads_letters_and_digits_apart():
    assert normalize("C1") == "c 1"
    assert normalize("x2") == "x 2"
    assert normalize("Confirm2!") == "confirm 2"
    assert normalize("X12") == "x 12"
    assert normalize("2nd") == "2 nd"
    assert normalize("１２") == "12"  # digits stay together


def test_yes_is_a_confirm_here_and_start_only_for_an_opted_out_number():
    # The parser knows no numbers: SMS turns "YES" into START when the number opted out.
    assert parse("YES") == Intent("confirm")
    assert parse("START") == parse("UNSTOP") == Intent("start")


# ---- properties -------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from([t for t, _, _ in TABLE]),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)


@QUICK
@given(ANY_TEXT)
def test_it_never_raises_and_answers_a_known_kind(text):
    intent = parse(text)
    assert isinstance(intent, Intent) and intent.kind in KINDS
    assert intent.choice is None or 1 <= intent.choice <= 99
    assert not intent.bare_cancel or intent.kind == "stop"


@QUICK
@given(ANY_TEXT)
def test_it_is_deterministic_and_normalising_twice_changes_nothing(text):
    assert parse(text) == parse(text)
    once = normalize(text)
    assert normalize(once) == once
    assert parse(once) == parse(text)


@QUICK
@given(st.sampled_from(["c", "x", "confirm", "cancel", "C", "X"]), st.integers(0, 200))
def test_a_letter_and_number_written_together_read_as_written_apart(word, number):
    assert parse(f"{word}{number}") == parse(f"{word} {number}")


@QUICK
@given(ANY_TEXT)
def test_a_bare_cancel_is_never_a_cancel(text):
    intent = parse(text)
    if intent.bare_cancel:
        assert intent.kind == "stop" and normalize(text) == "cancel"
    if normalize(text) == "cancel":
        assert intent.kind == "stop" and intent.bare_cancel


ASCII_REPLY = st.one_of(
    st.sampled_from([t for t, _, _ in TABLE if t.isascii()]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)


@QUICK
@given(ASCII_REPLY, st.randoms(use_true_random=False))
def test_case_does_not_matter(text, rnd):
    shuffled = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in text)
    assert parse(text) == parse(text.upper()) == parse(text.lower()) == parse(shuffled)


SPACES = st.text(alphabet=" \t\n\r\u00a0", max_size=4)


@QUICK
@given(st.sampled_from([t for t, _, _ in TABLE]), SPACES, SPACES, SPACES)
def test_spacing_does_not_matter(text, before, after, between):
    spaced = before + text.replace(" ", " " + between) + after
    assert parse(spaced) == parse(text)


@QUICK
@given(st.sampled_from([t for t, _, _ in TABLE if t.strip()]))
def test_accents_and_trailing_punctuation_do_not_matter(text):
    accented = text.replace("i", "í").replace("a", "á").replace("e", "é")
    assert parse(accented) == parse(text)
    assert parse(text + "!!") == parse(text + ".") == parse(text)


@pytest.mark.parametrize(
    "junk",
    [
        "x" * 10_240,
        "\x00\x01\x02\x1b[31m\x7f" * 1_000,
        "🙂🔥💀" * 3_000,
        "\ud800\udfff" * 100,  # lone surrogates
        "ﷺ" * 5_000,  # one character that expands to 18 when normalised
        "cancel " * 2_000,
        "1" * 10_000,
    ],
)
def test_ten_kilobytes_of_junk_is_unknown_and_quick(junk):
    assert parse(junk).kind == "unknown"
