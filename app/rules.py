"""Sentences for the domain's rule codes (models raise codes; people read these)."""

from app.i18n import lazy_gettext as _l

RULE_MESSAGES = {
    "appointment_not_confirmable": _l("This appointment can no longer be confirmed."),
    "appointment_too_late_to_cancel": _l(
        "This appointment is less than 24 hours away. Please call the practice to cancel."
    ),
    "appointment_not_cancellable": _l("This appointment can no longer be cancelled."),
    "password_too_short": _l("Use at least 8 characters."),
    "password_too_long": _l("Use at most 128 characters."),
    "password_too_common": _l(
        "This password is too easy to guess. Try a few unrelated words together."
    ),
}


def rule_message(code: str) -> str:
    return str(RULE_MESSAGES.get(code, code))
