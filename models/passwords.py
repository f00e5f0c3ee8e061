"""Password rules (NIST 800-63B, OWASP ASVS 6.2): length and a common-password list.

No composition rules, no truncation: a password is checked exactly as typed.
The list ships with the project (``models/data/common-passwords.txt.gz``, the
8+ character entries of the 20,000 most common passwords list that Django
ships, from Royce Williams' compilation).
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

MIN_PASSWORD = 8
MAX_PASSWORD = 128
_LIST = Path(__file__).parent / "data" / "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def password_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """The rule code a new password breaks, or None.

    ``personal`` holds the person's email, username and name: a password equal to
    one of them is as guessable as a common one.
    """
    if len(password) < MIN_PASSWORD:
        return "password_too_short"
    if len(password) > MAX_PASSWORD:
        return "password_too_long"
    lowered = password.casefold()
    if lowered in common_passwords() or lowered in {p.casefold() for p in personal if p}:
        return "password_too_common"
    return None
