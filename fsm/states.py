"""The states, input events and timers of the BGP FSM (RFC 4271 section 8).

``State`` carries the numbers of the BGP MIB (``bgpPeerState``, RFC 4273),
so a state exports to metrics as it is.  ``FsmEvent`` keeps the event
numbers of RFC 4271 section 8.1 for the events this implementation uses;
the two ROUTE-REFRESH events (RFC 2918, RFC 7313) have no RFC number and
are numbered above the RFC's range.

Events of RFC 4271 that are not here, and why:

- 3, 5, 6, 7 (AutomaticStart variants): an automatic restart after an error
  is the IdleHoldTimer expiring (event 13); the driver only ever gives
  ManualStart (1, 4).
- 14, 15 (TcpConnection_Valid, Tcp_CR_Invalid): whether an incoming
  connection belongs to a configured peer is the listener's decision,
  made before a session sees the connection.
"""

from __future__ import annotations

import enum


class State(enum.IntEnum):
    IDLE = 1
    CONNECT = 2
    ACTIVE = 3
    OPENSENT = 4
    OPENCONFIRM = 5
    ESTABLISHED = 6

    def __str__(self) -> str:
        return _STATE_NAMES[self]


_STATE_NAMES = {
    State.IDLE: "Idle", State.CONNECT: "Connect", State.ACTIVE: "Active",
    State.OPENSENT: "OpenSent", State.OPENCONFIRM: "OpenConfirm",
    State.ESTABLISHED: "Established",
}


class FsmEvent(enum.IntEnum):
    """Input events of the FSM, numbered as in RFC 4271 section 8.1."""

    MANUAL_START = 1
    MANUAL_STOP = 2
    MANUAL_START_PASSIVE = 4                # ManualStart_with_PassiveTcpEstablishment
    AUTOMATIC_STOP = 8
    CONNECT_RETRY_TIMER_EXPIRES = 9
    HOLD_TIMER_EXPIRES = 10
    KEEPALIVE_TIMER_EXPIRES = 11
    DELAY_OPEN_TIMER_EXPIRES = 12
    IDLE_HOLD_TIMER_EXPIRES = 13
    TCP_CR_ACKED = 16                       # the connection we dialled is up
    TCP_CONNECTION_CONFIRMED = 17           # the peer's connection was accepted
    TCP_CONNECTION_FAILS = 18
    BGP_OPEN = 19
    BGP_OPEN_DELAYED = 20                   # BGPOpen with DelayOpenTimer running
    BGP_HEADER_ERR = 21
    BGP_OPEN_MSG_ERR = 22
    OPEN_COLLISION_DUMP = 23
    NOTIF_MSG_VER_ERR = 24
    NOTIF_MSG = 25
    KEEPALIVE_MSG = 26
    UPDATE_MSG = 27
    UPDATE_MSG_ERR = 28
    ROUTE_REFRESH_MSG = 101                 # RFC 2918
    ROUTE_REFRESH_MSG_ERR = 102             # RFC 7313 section 5

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    FsmEvent.MANUAL_START: "ManualStart",
    FsmEvent.MANUAL_STOP: "ManualStop",
    FsmEvent.MANUAL_START_PASSIVE: "ManualStart_with_PassiveTcpEstablishment",
    FsmEvent.AUTOMATIC_STOP: "AutomaticStop",
    FsmEvent.CONNECT_RETRY_TIMER_EXPIRES: "ConnectRetryTimer_Expires",
    FsmEvent.HOLD_TIMER_EXPIRES: "HoldTimer_Expires",
    FsmEvent.KEEPALIVE_TIMER_EXPIRES: "KeepaliveTimer_Expires",
    FsmEvent.DELAY_OPEN_TIMER_EXPIRES: "DelayOpenTimer_Expires",
    FsmEvent.IDLE_HOLD_TIMER_EXPIRES: "IdleHoldTimer_Expires",
    FsmEvent.TCP_CR_ACKED: "Tcp_CR_Acked",
    FsmEvent.TCP_CONNECTION_CONFIRMED: "TcpConnectionConfirmed",
    FsmEvent.TCP_CONNECTION_FAILS: "TcpConnectionFails",
    FsmEvent.BGP_OPEN: "BGPOpen",
    FsmEvent.BGP_OPEN_DELAYED: "BGPOpen with DelayOpenTimer running",
    FsmEvent.BGP_HEADER_ERR: "BGPHeaderErr",
    FsmEvent.BGP_OPEN_MSG_ERR: "BGPOpenMsgErr",
    FsmEvent.OPEN_COLLISION_DUMP: "OpenCollisionDump",
    FsmEvent.NOTIF_MSG_VER_ERR: "NotifMsgVerErr",
    FsmEvent.NOTIF_MSG: "NotifMsg",
    FsmEvent.KEEPALIVE_MSG: "KeepAliveMsg",
    FsmEvent.UPDATE_MSG: "UpdateMsg",
    FsmEvent.UPDATE_MSG_ERR: "UpdateMsgErr",
    FsmEvent.ROUTE_REFRESH_MSG: "RouteRefreshMsg",
    FsmEvent.ROUTE_REFRESH_MSG_ERR: "RouteRefreshMsgErr",
}


class Timer(enum.IntEnum):
    """The FSM's timers.  The order breaks ties between timers that expire
    at the same instant: a hold timer expiring makes a keepalive moot."""

    IDLE_HOLD = 1
    CONNECT_RETRY = 2
    DELAY_OPEN = 3
    HOLD = 4
    KEEPALIVE = 5


TIMER_EVENT = {
    Timer.IDLE_HOLD: FsmEvent.IDLE_HOLD_TIMER_EXPIRES,
    Timer.CONNECT_RETRY: FsmEvent.CONNECT_RETRY_TIMER_EXPIRES,
    Timer.DELAY_OPEN: FsmEvent.DELAY_OPEN_TIMER_EXPIRES,
    Timer.HOLD: FsmEvent.HOLD_TIMER_EXPIRES,
    Timer.KEEPALIVE: FsmEvent.KEEPALIVE_TIMER_EXPIRES,
}

# Timers that belong to a TCP connection and stop when it goes.
CONNECTION_TIMERS = (Timer.DELAY_OPEN, Timer.HOLD, Timer.KEEPALIVE)
