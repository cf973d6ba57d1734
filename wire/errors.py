"""The codec's one error type and the RFC 7606 actions it carries.

Every malformation the decoder meets maps to one of the actions of RFC 7606
section 2, ordered here by severity so that the decoder can keep the most
severe one it met (``max``).  Errors that end the session carry the exact
NOTIFICATION (code, subcode, data) of RFC 4271 section 6 / RFC 7606.
"""

from __future__ import annotations

import enum

from .constants import ErrorCode


class Action(enum.IntEnum):
    """What the receiver does about a malformation (RFC 7606 section 2)."""

    NONE = 0
    ATTRIBUTE_DISCARD = 1   # drop the attribute, keep the route
    TREAT_AS_WITHDRAW = 2   # the UPDATE's prefixes are withdrawn
    AFISAFI_DISABLE = 3     # the address family is disabled (RFC 4760 section 7)
    SESSION_RESET = 4       # NOTIFICATION and close

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class WireError(Exception):
    """A message could not be decoded (or encoded) as it stands.

    ``action`` says what happens next; ``code``/``subcode``/``data`` are the
    NOTIFICATION to send when the action is SESSION_RESET (and the one to send
    for AFISAFI_DISABLE when the family cannot be disabled).
    """

    def __init__(self, action: Action, code: int, subcode: int, data: bytes = b"",
                 reason: str = "", afi_safi: tuple[int, int] | None = None):
        super().__init__(reason or f"error {code}/{subcode}")
        self.action = action
        self.code = code
        self.subcode = subcode
        self.data = bytes(data)
        self.reason = reason
        self.afi_safi = afi_safi
        self.messages: list = []    # Framer: whole messages before the error

    def notification(self):
        """The NOTIFICATION message this error sends."""
        from .notification import Notification
        return Notification(self.code, self.subcode, self.data)

    def __repr__(self) -> str:
        return (f"WireError({self.action.label}, {self.code}/{self.subcode}, "
                f"{self.reason!r})")


def reset(code: int, subcode: int, data: bytes = b"", reason: str = "") -> WireError:
    """A session-reset error."""
    return WireError(Action.SESSION_RESET, code, subcode, data, reason)


def header_error(subcode: int, data: bytes = b"", reason: str = "") -> WireError:
    return reset(ErrorCode.MESSAGE_HEADER, subcode, data, reason)


def open_error(subcode: int, data: bytes = b"", reason: str = "") -> WireError:
    return reset(ErrorCode.OPEN_MESSAGE, subcode, data, reason)


def update_error(subcode: int, data: bytes = b"", reason: str = "") -> WireError:
    return reset(ErrorCode.UPDATE_MESSAGE, subcode, data, reason)


class AttributeProblem:
    """A non-fatal malformation found in a path attribute (RFC 7606).

    Kept on the decoded attribute set and the UPDATE so that operators can see
    why a route was withdrawn or an attribute dropped.
    """

    __slots__ = ("action", "type_code", "reason")

    def __init__(self, action: Action, type_code: int, reason: str):
        self.action = action
        self.type_code = type_code
        self.reason = reason

    def __repr__(self) -> str:
        return f"AttributeProblem({self.action.label}, type {self.type_code}, {self.reason!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, AttributeProblem) and self.action == other.action
                and self.type_code == other.type_code and self.reason == other.reason)

    def __hash__(self) -> int:
        return hash((self.action, self.type_code, self.reason))
