"""The one exception type lowbit raises for bad input."""

from __future__ import annotations


class LowbitError(ValueError):
    """Bad input to lowbit: the message names the argument and what was expected.

    It subclasses ValueError so that callers who already catch ValueError keep working.
    """


def expect(condition: bool, argument: str, expected: str, got: object = None) -> None:
    """Raise LowbitError("<argument>: expected <expected>, got <got>") unless condition holds."""
    if not condition:
        suffix = "" if got is None else f", got {got}"
        raise LowbitError(f"{argument}: expected {expected}{suffix}")
