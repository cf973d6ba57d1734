"""Configuration problems and the one exception that carries them.

A problem names the key path it is about (``peers[2].asn``; empty for the
file as a whole) and the rule the value broke.  The loader collects every
problem it can find in one pass and raises a single ``ConfigError`` holding
all of them, so that an operator fixes a file in one round, not one error
per reload.

``Invalid`` is the internal signal a value parser raises; it may hold
several problems at sub-paths (``[1]``, ``.ipv6-unicast``) when a list or
table value has more than one bad item.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    path: str           # "peers[2].asn"; "" for the document itself
    reason: str         # "70000000000 is not a 4-octet AS number"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists everything found."""

    def __init__(self, problems: list[Problem], source: str = "<string>"):
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def lines(self) -> list[str]:
        """One ``SOURCE: key.path: reason`` line per problem."""
        return [f"{self.source}: {p}" for p in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class Invalid(ValueError):
    """Raised by a value parser: ``problems`` holds (suffix, reason) pairs.

    The suffix is appended to the key path as it is: ``""`` for the value
    itself, ``"[1]"`` for a list item, ``".ipv6-unicast"`` for a table entry.
    """

    def __init__(self, reason: str = "", at: str = "", *, problems=None):
        self.problems: list[tuple[str, str]] = (
            list(problems) if problems is not None else [(at, reason)])
        super().__init__("; ".join(r for _, r in self.problems))


def join(path: str, key: str) -> str:
    """``peers[0]`` + ``asn`` -> ``peers[0].asn``; ``""`` + ``asn`` -> ``asn``."""
    return f"{path}.{key}" if path else key
