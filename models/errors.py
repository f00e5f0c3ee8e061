"""Errors the domain raises for a rule, to be shown to a person, never a 500."""


class RuleError(Exception):
    """A request the rules refuse; ``code`` names the rule (views translate it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
