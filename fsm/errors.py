"""Why a session is down: the last error, kept for ``show protocols``.

``SessionError`` records one cause: a NOTIFICATION sent or received (with
its decoded text and any RFC 9003 shutdown communication), a socket error
reported by the driver (connection refused, timed out, reset), or a local
decision.  The session keeps the most recent of each kind that matters.

RFC 8538 Hard Reset: once both sides set the graceful restart N bit, a
NOTIFICATION no longer ends graceful restart by itself; a Cease that must
end it is sent as Cease / Hard Reset with the real Cease inside its data
(code, subcode, data).  ``hard_reset`` wraps one, ``unwrap`` opens one, and
descriptions show the inner NOTIFICATION.
"""

from __future__ import annotations

from dataclasses import dataclass

from wire.constants import CeaseSubcode, ErrorCode
from wire.notification import Notification

# RFC 8538 section 5: the Cease subcodes that mean "really reset": maximum
# prefixes, administrative shutdown, peer de-configured, and administrative
# reset (left to the operator by the RFC; an operator's reset is meant hard).
HARD_RESET_SUBCODES = frozenset({
    CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
    CeaseSubcode.PEER_DECONFIGURED, CeaseSubcode.ADMINISTRATIVE_RESET,
})


def is_hard_reset(n: Notification) -> bool:
    return n.code == ErrorCode.CEASE and n.subcode == CeaseSubcode.HARD_RESET


def hard_reset(n: Notification) -> Notification:
    """``n`` as RFC 8538 sends it when the N bit is negotiated."""
    if n.code == ErrorCode.CEASE and n.subcode in HARD_RESET_SUBCODES:
        return Notification(ErrorCode.CEASE, CeaseSubcode.HARD_RESET,
                            bytes([n.code, n.subcode]) + n.data)
    return n


def unwrap(n: Notification) -> Notification:
    """The NOTIFICATION inside a Hard Reset (``n`` itself otherwise)."""
    if is_hard_reset(n) and len(n.data) >= 2:
        return Notification(n.data[0], n.data[1], n.data[2:])
    return n


def describe(n: Notification) -> str:
    inner = unwrap(n)
    if inner is not n:
        return "Cease / Hard reset: " + inner.describe()
    return n.describe()


def shutdown_message(n: Notification) -> str | None:
    """The RFC 9003 shutdown communication, also inside a Hard Reset."""
    return unwrap(n).shutdown_message


_KINDS = {"sent": "Sent", "received": "Received", "socket": "Socket", "local": "Local"}


@dataclass(frozen=True, slots=True)
class SessionError:
    when: float                         # the ``now`` it happened at
    kind: str                           # "sent", "received", "socket" or "local"
    text: str                           # 'Cease / Administrative shutdown: "bye"'
    notification: Notification | None = None

    @property
    def shutdown_message(self) -> str | None:
        if self.notification is None:
            return None
        return shutdown_message(self.notification)

    def describe(self) -> str:
        """One line, as BIRD prints "Last error": 'Received: Hold timer expired'."""
        return f"{_KINDS.get(self.kind, self.kind)}: {self.text}"


def notification_error(now: float, kind: str, n: Notification) -> SessionError:
    return SessionError(now, kind, describe(n), n)
