"""Errors the domain raises for a rule, to be shown to a person, never a 500."""


class RuleError(Exception):
    """A request the rules refuse; ``code`` names the rule (views translate it).
    ``detail``: what it was about, when a sentence needs it (a file's name)."""

    detail: str = ""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
