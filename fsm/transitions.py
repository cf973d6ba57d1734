"""The BGP FSM as one table: ``(state, event) -> Row(handler, next state)``.

This is RFC 4271 section 8.2.2 written down once.  A handler does what the
RFC lists for its (state, event) and returns ``None`` to go to the row's
next state, or another state when the outcome depends on the message (an
OPEN that loses a collision, an UPDATE error that only disables a family).
What every transition into a state implies (releasing the TCP connection
and its timers on the way to Idle, the session going down on the way out
of Established) happens in ``Session._enter``, not in each handler.

Any (state, event) pair that is not in the table is an FSM error
(``fsm_error``): with a connection to the peer, NOTIFICATION Finite State
Machine Error with the RFC 6608 subcode of the state, then Idle.  That is
how an UPDATE or ROUTE-REFRESH before Established, a KEEPALIVE in OpenSent,
or a second OPEN are answered.

Where this table departs from the letter of RFC 4271, and why:

- A failed dial (or a lost connection in OpenSent) goes to Active and
  waits for the ConnectRetryTimer, as BIRD and FRR do, instead of Idle:
  a peer that refuses connections is not oscillating, and counting it as
  such would damp a session that merely waits for its peer to come up.
- ``ManualStop`` before an OPEN was sent closes without a NOTIFICATION;
  afterwards it sends the operator's Cease (RFC 4486, RFC 9003).
- An OPEN in OpenConfirm or Established, malformed or not, is an FSM error
  (RFC 6608 section 4); collisions are resolved when the OPEN arrives on
  the *other* connection (``OPEN_COLLISION_DUMP``, section 6.8).
- A Cease / Connection Collision Resolution received while one of our own
  dials is still in progress continues with that dial (Connect) instead of
  going Idle: the peer has just said that this is the connection it keeps.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from wire.constants import CeaseSubcode, ErrorCode, FsmSubcode
from wire.notification import Notification

from .states import FsmEvent as E
from .states import State as S
from .states import Timer

HOLD_TIMER_EXPIRED = Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0)
COLLISION = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)

# RFC 6608 section 3: the FSM error subcode says in which state it happened.
FSM_SUBCODES = {
    S.OPENSENT: FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
    S.OPENCONFIRM: FsmSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    S.ESTABLISHED: FsmSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


class Row(NamedTuple):
    handler: Callable
    next: S


# Handlers: (session, connection, now, argument) -> State | None.  The
# argument is the event's payload: a decoded message, a WireError, a
# connection id or a NOTIFICATION to send.

def ignore(s, c, now, arg):
    """RFC 4271: "...is ignored" (ManualStart when already started)."""
    return None


# -- Idle -----------------------------------------------------------------
def manual_start(s, c, now, arg):
    """Idle, event 1: reset the counters, dial, start the ConnectRetryTimer."""
    s._enable()
    return s._initiate(c, now)


def manual_start_passive(s, c, now, arg):
    """Idle, event 4: listen first; the ConnectRetryTimer will dial."""
    s._enable()
    s._listen(c, now)


def stay_stopped(s, c, now, arg):
    """Idle, event 2: already down; cancel an automatic restart."""
    s._disable()
    c.stop(Timer.IDLE_HOLD)


def idle_hold_expired(s, c, now, arg):
    """Idle, event 13: the back-off after an error is over; start again."""
    return s._initiate(c, now)


# -- Connect and Active ------------------------------------------------------
def stop_unopened(s, c, now, arg):
    """Connect/Active, event 2: drop any connection, no NOTIFICATION."""
    s._disable()


def auto_stop_unopened(s, c, now, arg):
    """Connect/Active, event 8: as ManualStop, but restart after idle hold."""


def connect_retry(s, c, now, arg):
    """Connect/Active, event 9: give up the current attempt and dial again."""
    s._drop_dial(c, "ConnectRetryTimer expired")
    s._drop_transport(c, "ConnectRetryTimer expired")
    c.stop(Timer.DELAY_OPEN)
    s._dial(c, now)
    s._restart_connect_retry(c, now)


def tcp_acked(s, c, now, conn):
    """Connect/Active, event 16: our dial is up; OPEN (or wait DelayOpen)."""
    return s._tcp_up(c, now, conn, outgoing=True)


def tcp_confirmed(s, c, now, conn):
    """Connect/Active, event 17: the peer's connection is up."""
    return s._tcp_up(c, now, conn, outgoing=False)


def delay_open_expired(s, c, now, arg):
    """Connect/Active, event 12: send the OPEN we delayed."""
    s._send_open(c, now)


def tcp_fails_unopened(s, c, now, conn):
    """Connect/Active, event 18: a dial or a DelayOpen connection failed;
    listen and retry after ConnectRetryTime (see the module notes)."""
    s._forget(c, conn, "TCP connection failed")
    if c.up or c.dial is not None:
        return c.state
    c.stop(Timer.DELAY_OPEN)
    s.counters.connect_retries += 1
    s._listen(c, now)


def open_delayed(s, c, now, peer_open):
    """Connect/Active, event 20: the peer's OPEN came while we delayed ours:
    send OPEN and KEEPALIVE at once."""
    c.stop(Timer.CONNECT_RETRY, Timer.DELAY_OPEN)
    s._send_open(c, now)
    return s._open_received(c, now, peer_open)


def message_error(s, c, now, err):
    """Events 21, 22, 28 and the ROUTE-REFRESH length error: send the
    error's NOTIFICATION and close."""
    s._send_notification(c, err.notification(), now, detail=err.reason)


def notification_received(s, c, now, notification):
    """Events 24, 25: the peer closes the session.  Cease / Connection
    Collision Resolution means the peer keeps another connection: if ours
    is still being dialled, carry on with it (RFC 4271 section 6.8)."""
    s._notification_received(c, notification, now)
    if notification == COLLISION and s._adopt_pending_dial(c, now):
        return S.CONNECT


# -- OpenSent, OpenConfirm, Established ----------------------------------------
def manual_stop(s, c, now, notification):
    """Event 2 after OPEN: the operator's Cease, then Idle."""
    s._disable()
    s._send_notification(c, notification, now)


def automatic_stop(s, c, now, notification):
    """Event 8 after OPEN: Cease, Idle, and restart after idle hold."""
    s._send_notification(c, notification, now)


def hold_expired(s, c, now, arg):
    """Event 10: NOTIFICATION Hold Timer Expired."""
    s._send_notification(c, HOLD_TIMER_EXPIRED, now, detail="hold timer expired")


def tcp_fails_opensent(s, c, now, conn):
    """OpenSent, event 18: close, listen, restart the ConnectRetryTimer."""
    s._listen(c, now)


def tcp_fails(s, c, now, conn):
    """OpenConfirm/Established, event 18: the connection is gone."""


def open_received(s, c, now, peer_open):
    """OpenSent, event 19: collision detection, then KEEPALIVE and the
    negotiated hold time."""
    return s._open_received(c, now, peer_open)


def collision_dump(s, c, now, arg):
    """Event 23: this connection lost a collision (RFC 4271 section 6.8)."""
    s._send_notification(c, COLLISION, now, record=False, detail="connection collision")


def keepalive_timer(s, c, now, arg):
    """OpenConfirm/Established, event 11: send KEEPALIVE, restart the timer."""
    s._send_keepalive(c, now)


def keepalive_confirms(s, c, now, arg):
    """OpenConfirm, event 26: the peer accepted our OPEN; the session is up."""
    c.restart_hold(now)
    s._session_up(c, now)


def keepalive_received(s, c, now, arg):
    """Established, event 26: restart the hold timer."""
    c.restart_hold(now)


def update_received(s, c, now, update):
    """Established, event 27: restart the hold timer, pass the UPDATE on."""
    s._update_received(c, now, update)


def update_error(s, c, now, err):
    """Established, event 28: disable a family (RFC 7606) or reset."""
    return s._update_error(c, now, err)


def route_refresh_received(s, c, now, refresh):
    """Established: ROUTE-REFRESH (RFC 2918, RFC 7313)."""
    s._route_refresh_received(c, now, refresh)


def fsm_error(s, c, now, event):
    """Any (state, event) not in the table: NOTIFICATION Finite State
    Machine Error with the RFC 6608 subcode of the state, then Idle."""
    if c.state == S.IDLE:
        return S.IDLE               # nothing to close; Idle ignores it
    if c.up:
        subcode = FSM_SUBCODES.get(c.state, FsmSubcode.UNSPECIFIED)
        s._send_notification(c, Notification(ErrorCode.FSM, subcode), now,
                             detail=f"unexpected {event.label} in {c.state}")
    return S.IDLE


_UNOPENED = {
    E.MANUAL_START: Row(ignore, None),
    E.MANUAL_START_PASSIVE: Row(ignore, None),
    E.MANUAL_STOP: Row(stop_unopened, S.IDLE),
    E.AUTOMATIC_STOP: Row(auto_stop_unopened, S.IDLE),
    E.CONNECT_RETRY_TIMER_EXPIRES: Row(connect_retry, S.CONNECT),
    E.DELAY_OPEN_TIMER_EXPIRES: Row(delay_open_expired, S.OPENSENT),
    E.TCP_CR_ACKED: Row(tcp_acked, S.OPENSENT),
    E.TCP_CONNECTION_CONFIRMED: Row(tcp_confirmed, S.OPENSENT),
    E.TCP_CONNECTION_FAILS: Row(tcp_fails_unopened, S.ACTIVE),
    E.BGP_OPEN_DELAYED: Row(open_delayed, S.OPENCONFIRM),
    E.BGP_HEADER_ERR: Row(message_error, S.IDLE),
    E.BGP_OPEN_MSG_ERR: Row(message_error, S.IDLE),
    E.OPEN_COLLISION_DUMP: Row(collision_dump, S.IDLE),
    E.NOTIF_MSG_VER_ERR: Row(notification_received, S.IDLE),
    E.NOTIF_MSG: Row(notification_received, S.IDLE),
}

_OPENED = {
    E.MANUAL_START: Row(ignore, None),
    E.MANUAL_START_PASSIVE: Row(ignore, None),
    E.MANUAL_STOP: Row(manual_stop, S.IDLE),
    E.AUTOMATIC_STOP: Row(automatic_stop, S.IDLE),
    E.HOLD_TIMER_EXPIRES: Row(hold_expired, S.IDLE),
    E.BGP_HEADER_ERR: Row(message_error, S.IDLE),
    E.OPEN_COLLISION_DUMP: Row(collision_dump, S.IDLE),
    E.NOTIF_MSG_VER_ERR: Row(notification_received, S.IDLE),
    E.NOTIF_MSG: Row(notification_received, S.IDLE),
}


def _rows(state: S, *parts: dict) -> dict:
    out = {}
    for part in parts:
        for event, row in part.items():
            out[(state, event)] = Row(row.handler, state if row.next is None else row.next)
    return out


TRANSITIONS: dict[tuple[S, E], Row] = {
    **_rows(S.IDLE, {
        E.MANUAL_START: Row(manual_start, S.CONNECT),
        E.MANUAL_START_PASSIVE: Row(manual_start_passive, S.ACTIVE),
        E.MANUAL_STOP: Row(stay_stopped, S.IDLE),
        E.AUTOMATIC_STOP: Row(ignore, S.IDLE),
        E.IDLE_HOLD_TIMER_EXPIRES: Row(idle_hold_expired, S.CONNECT),
    }),
    **_rows(S.CONNECT, _UNOPENED),
    **_rows(S.ACTIVE, _UNOPENED),
    **_rows(S.OPENSENT, _OPENED, {
        E.TCP_CONNECTION_FAILS: Row(tcp_fails_opensent, S.ACTIVE),
        E.BGP_OPEN: Row(open_received, S.OPENCONFIRM),
        E.BGP_OPEN_MSG_ERR: Row(message_error, S.IDLE),
    }),
    **_rows(S.OPENCONFIRM, _OPENED, {
        E.KEEPALIVE_TIMER_EXPIRES: Row(keepalive_timer, S.OPENCONFIRM),
        E.TCP_CONNECTION_FAILS: Row(tcp_fails, S.IDLE),
        E.KEEPALIVE_MSG: Row(keepalive_confirms, S.ESTABLISHED),
    }),
    **_rows(S.ESTABLISHED, _OPENED, {
        E.KEEPALIVE_TIMER_EXPIRES: Row(keepalive_timer, S.ESTABLISHED),
        E.TCP_CONNECTION_FAILS: Row(tcp_fails, S.IDLE),
        E.KEEPALIVE_MSG: Row(keepalive_received, S.ESTABLISHED),
        E.UPDATE_MSG: Row(update_received, S.ESTABLISHED),
        E.UPDATE_MSG_ERR: Row(update_error, S.IDLE),
        E.ROUTE_REFRESH_MSG: Row(route_refresh_received, S.ESTABLISHED),
        E.ROUTE_REFRESH_MSG_ERR: Row(message_error, S.IDLE),
    }),
}
