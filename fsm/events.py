"""What a session tells its driver: frozen, slotted event objects.

Every method of ``Session`` returns a list of these, in the order they
happened.  A driver handles them with one ``match`` (or a dict by type):

- ``Connect(conn)``: dial the peer; report ``connection_made(now, conn)`` or
  ``connection_failed(now, conn, error)``.
- ``CloseConnection(conn, data, reason)``: write ``data`` (the last bytes
  for that connection, usually a NOTIFICATION; may be empty), then close
  it.  Cancel a dial still in progress.  The id is not used again.
- ``StateChanged(old, new, reason)``: the session's state (that of its
  main connection) changed.
- ``Established(negotiated)``: the session is up; ``negotiated`` says what
  was agreed.
- ``SessionDown(reason, graceful_restart, negotiated, error)``: the
  Established session is gone.  With ``graceful_restart`` the peer's routes
  are kept as stale (RFC 4724 section 4.2) for the families in
  ``negotiated.graceful_restart``; otherwise they are withdrawn.
- ``UpdateReceived(update)``: a ``wire.Update`` (its ``action`` and
  ``problems`` carry RFC 7606 treat-as-withdraw / attribute-discard;
  ``update.end_of_rib`` marks End-of-RIB).
- ``RouteRefreshReceived(afi, safi, subtype)``: the peer asks for our routes
  of a negotiated family again (RFC 2918), or marks the start or end of its
  own re-advertisement (RFC 7313 BoRR/EoRR).
- ``FamilyDisabled(afi, safi, reason)``: a malformed UPDATE disabled this
  family for the rest of the session (RFC 7606, RFC 4760 section 7): drop
  the peer's routes of that family.
- ``NotificationSent(notification)``, ``NotificationReceived(notification)``:
  for logs; the session already recorded them as its last error.
"""

from __future__ import annotations

from dataclasses import dataclass

from wire.notification import Notification

from .errors import SessionError
from .negotiate import Negotiated
from .states import State


class Event:
    """Base class of the events a session emits."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Connect(Event):
    conn: int


@dataclass(frozen=True, slots=True)
class CloseConnection(Event):
    conn: int
    data: bytes = b""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    old: State
    new: State
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Established(Event):
    negotiated: Negotiated


@dataclass(frozen=True, slots=True)
class SessionDown(Event):
    reason: str
    graceful_restart: bool
    negotiated: Negotiated
    error: SessionError | None = None


@dataclass(frozen=True, slots=True)
class UpdateReceived(Event):
    update: object                      # wire.Update


@dataclass(frozen=True, slots=True)
class RouteRefreshReceived(Event):
    afi: int
    safi: int
    subtype: int = 0


@dataclass(frozen=True, slots=True)
class FamilyDisabled(Event):
    afi: int
    safi: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NotificationSent(Event):
    notification: Notification


@dataclass(frozen=True, slots=True)
class NotificationReceived(Event):
    notification: Notification
