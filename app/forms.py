"""Small, explicit form validation: each field a rule, each error a sentence.

A form with errors is re-rendered with status 422, the input kept and every
error next to its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.i18n import _

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Form:
    data: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    cleaned: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, multidict) -> Form:
        return cls({k: multidict.get(k, "") for k in multidict})

    def value(self, name: str) -> str:
        return self.data.get(name, "")

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str | None:
        raw = self.data.get(name, "")
        value = raw.strip() if isinstance(raw, str) else ""
        if CONTROL.search(value):
            # NUL and other control characters are never meant, and PostgreSQL refuses NUL.
            self.errors[name] = _("Use letters, digits and punctuation only.")
        elif len(value) > max_length:
            self.errors[name] = _("Use at most %(n)s characters.", n=max_length)
        elif required and not value:
            self.errors[name] = _("This field is required.")
        else:
            self.cleaned[name] = value
            return value
        return None

    def optional_date(self, name: str) -> date | None:
        raw = self.data.get(name, "").strip()
        if not raw:
            self.cleaned[name] = None
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = _("Enter a date like 2026-01-31.")
            return None
        if not 1900 <= value.year <= 2200:
            self.errors[name] = _("Enter a date like 2026-01-31.")
            return None
        self.cleaned[name] = value
        return value

    def integer(self, name: str, *, minimum: int = 1, maximum: int = 2**31 - 1) -> int | None:
        raw = self.data.get(name, "").strip()
        if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
            self.errors[name] = _("Choose one of the options.")
            return None
        self.cleaned[name] = int(raw)
        return int(raw)

    @property
    def ok(self) -> bool:
        return not self.errors
