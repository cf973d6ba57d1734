"""Every row of the transition table, and every pair that is not in it.

``CASES`` has one entry per ``(state, event)`` of ``fsm.TRANSITIONS`` (a
test checks the two key sets are equal, so a row cannot be added without a
test): how to bring a session into the state, how to deliver the event
(through the public API wherever one exists; timers and the collision dump
are delivered to the FSM instance directly), the state it must end in, the
NOTIFICATION it must send, and the events it must emit.

Pairs that are not in the table must be FSM errors: NOTIFICATION Finite
State Machine Error with the RFC 6608 subcode of the state, then Idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from fsm import (TRANSITIONS, CloseConnection, Connect, Established, FsmEvent,
                 NotificationReceived, NotificationSent, RouteRefreshReceived, SessionDown,
                 State, StateChanged, Timer, UpdateReceived)
from fsm.states import TIMER_EVENT
from fsm_testlib import (KEEPALIVE_MSG, Driven, config, drive, ipv4_update, msg, of,
                         notifications_in, peer_open, sent, types)
from wire import Notification, RouteRefresh

E = FsmEvent
S = State


# ---------------------------------------------------------------------------
# How to reach a state


def plain(state):
    return lambda: drive(state)


def delayed(state):
    """Connect/Active holding a TCP connection while DelayOpen runs."""
    return lambda: drive(state, config(delay_open_time=5.0))


def idle_after_error():
    """Idle, still enabled, waiting for the idle hold time after an error."""
    d = drive(S.ESTABLISHED)
    d.events = d.session.receive_data(d.now, d.conn, msg(Notification(6, 4)))
    assert d.session.state == S.IDLE and Timer.IDLE_HOLD in d.session.primary.timers
    d.conn = None
    return d


def active_with_pending_dial():
    """Active without a connection, while an old dial is still in progress:
    dial 1, accept the peer's connection 2 (dial 1 kept pending), lose 2."""
    d = drive(S.CONNECT)
    s = d.session
    d.conn, _ = s.accept(d.now)
    s.connection_closed(d.now, d.conn)
    assert s.state == S.ACTIVE
    d.conn = None
    return d


# ---------------------------------------------------------------------------
# How to deliver an event


def expire(timer):
    def fire(d: Driven):
        s = d.session
        c = s.primary
        assert timer in c.timers, f"{timer.name} is not running in {c.state}"
        d.now = c.timers[timer]
        s._expire(c, timer, d.now)
        return s._flush()
    return fire


def receive(data: bytes):
    return lambda d: d.session.receive_data(d.now, d.conn, data)


def dump(d: Driven):
    s = d.session
    s._handle(s.primary, E.OPEN_COLLISION_DUMP, d.now)
    return s._flush()


def made(d: Driven):
    conn = d.dial
    events = d.session.connection_made(d.now, conn)
    d.conn, d.dial = conn, None
    return events


def made_pending(d: Driven):
    d.conn = 1                       # the first dial, kept pending
    return d.session.connection_made(d.now, 1)


def accept(d: Driven):
    d.conn, events = d.session.accept(d.now)
    return events


def fail(d: Driven):
    if d.conn is not None:
        return d.session.connection_closed(d.now, d.conn, "reset by peer")
    return d.session.connection_failed(d.now, d.dial, "connection refused")


START = lambda d: d.session.start(d.now)                                  # noqa: E731
START_PASSIVE = lambda d: d.session.start(d.now, passive=True)            # noqa: E731
STOP = lambda d: d.session.stop(d.now, "bye")                             # noqa: E731
AUTO_STOP = lambda d: d.session.stop(d.now, Notification(6, 1), automatic=True)  # noqa: E731

OPEN = receive(msg(peer_open()))
BAD_HEADER = receive(b"\x00" * 19)
BAD_OPEN = receive(msg(peer_open(asn=65099)))                             # Bad Peer AS
NOTIF_VERSION = receive(msg(Notification(2, 1, b"\x00\x04")))
NOTIF_CEASE = receive(msg(Notification(6, 3)))
KEEPALIVE = receive(KEEPALIVE_MSG)
UPDATE = receive(ipv4_update())
BAD_UPDATE = receive(b"\xff" * 16 + b"\x00\x17\x02" + b"\x00\x09\x00\x00")  # withdrawn overrun
REFRESH = receive(msg(RouteRefresh(1, 1, 0)))
BAD_REFRESH = receive(b"\xff" * 16 + b"\x00\x18\x05" + b"\x00\x01\x00\x01\x00")


# ---------------------------------------------------------------------------
# What must happen


@dataclass
class Case:
    setup: Callable
    fire: Callable
    state: State                        # the state the FSM ends in
    sends: tuple | None = None          # (code, subcode) of the NOTIFICATION sent
    emits: tuple = ()                   # event classes that must be emitted
    check: Callable | None = None       # anything more, given (driven, events)


def dials_again(d, events):
    assert of(events, Connect) and of(events, CloseConnection)


def queued(*names):
    def check(d, events):
        assert types(d.session.data_to_send(d.conn)) == list(names)
    return check


def idle_hold_armed(d, events):
    assert d.session.enabled and Timer.IDLE_HOLD in d.session.primary.timers


def stays_down(d, events):
    assert not d.session.enabled and not d.session.primary.timers


def retries_later(d, events):
    assert Timer.CONNECT_RETRY in d.session.primary.timers


def keeps_dial_pending(d, events):
    assert d.session._pending_dials == [1]
    assert not of(events, CloseConnection)


def unopened(state, setup_plain, setup_delayed):
    """The rows Connect and Active share."""
    return {
        (state, E.MANUAL_START): Case(setup_plain, START, state),
        (state, E.MANUAL_START_PASSIVE): Case(setup_plain, START_PASSIVE, state),
        (state, E.MANUAL_STOP): Case(setup_delayed, STOP, S.IDLE, None,
                                     (CloseConnection, StateChanged), stays_down),
        (state, E.AUTOMATIC_STOP): Case(setup_delayed, AUTO_STOP, S.IDLE, None,
                                        (CloseConnection,), idle_hold_armed),
        (state, E.DELAY_OPEN_TIMER_EXPIRES): Case(setup_delayed, expire(Timer.DELAY_OPEN),
                                                  S.OPENSENT, None, (StateChanged,),
                                                  queued("OPEN")),
        (state, E.TCP_CONNECTION_CONFIRMED): Case(setup_plain, accept, S.OPENSENT, None,
                                                  (StateChanged,), queued("OPEN")),
        (state, E.TCP_CONNECTION_FAILS): Case(setup_delayed, fail, S.ACTIVE, None,
                                              (CloseConnection,), retries_later),
        (state, E.BGP_OPEN_DELAYED): Case(setup_delayed, OPEN, S.OPENCONFIRM, None,
                                          (StateChanged,), queued("OPEN", "KEEPALIVE")),
        (state, E.BGP_HEADER_ERR): Case(setup_delayed, BAD_HEADER, S.IDLE, (1, 1),
                                        (NotificationSent, CloseConnection)),
        (state, E.BGP_OPEN_MSG_ERR): Case(setup_delayed, BAD_OPEN, S.IDLE, (2, 2),
                                          (NotificationSent, CloseConnection)),
        (state, E.OPEN_COLLISION_DUMP): Case(setup_delayed, dump, S.IDLE, (6, 7),
                                             (NotificationSent, CloseConnection)),
        (state, E.NOTIF_MSG_VER_ERR): Case(setup_delayed, NOTIF_VERSION, S.IDLE, None,
                                           (NotificationReceived, CloseConnection)),
        (state, E.NOTIF_MSG): Case(setup_delayed, NOTIF_CEASE, S.IDLE, None,
                                   (NotificationReceived, CloseConnection)),
    }


def opened(state):
    """The rows OpenSent, OpenConfirm and Established share."""
    setup = plain(state)
    gone = (NotificationSent, CloseConnection, StateChanged)
    return {
        (state, E.MANUAL_START): Case(setup, START, state),
        (state, E.MANUAL_START_PASSIVE): Case(setup, START_PASSIVE, state),
        (state, E.MANUAL_STOP): Case(setup, STOP, S.IDLE, (6, 2), gone, stays_down),
        (state, E.AUTOMATIC_STOP): Case(setup, AUTO_STOP, S.IDLE, (6, 1), gone,
                                        idle_hold_armed),
        (state, E.HOLD_TIMER_EXPIRES): Case(setup, expire(Timer.HOLD), S.IDLE, (4, 0), gone),
        (state, E.BGP_HEADER_ERR): Case(setup, BAD_HEADER, S.IDLE, (1, 1), gone),
        (state, E.OPEN_COLLISION_DUMP): Case(setup, dump, S.IDLE, (6, 7), gone),
        (state, E.NOTIF_MSG_VER_ERR): Case(setup, NOTIF_VERSION, S.IDLE, None,
                                           (NotificationReceived, CloseConnection)),
        (state, E.NOTIF_MSG): Case(setup, NOTIF_CEASE, S.IDLE, None,
                                   (NotificationReceived, CloseConnection)),
    }


def refresh_check(d, events):
    (ev,) = of(events, RouteRefreshReceived)
    assert (ev.afi, ev.safi, ev.subtype) == (1, 1, 0)


def update_check(d, events):
    (ev,) = of(events, UpdateReceived)
    assert ev.update.nlri == [b"\x18\x0a\x01\x02"]


def established_check(d, events):
    assert d.session.negotiated is not None and d.session.codec is not None


def stays_silent(d, events):
    assert not events and not d.session.data_to_send(d.conn or 0)


CASES = {
    (S.IDLE, E.MANUAL_START): Case(plain(S.IDLE), START, S.CONNECT, None,
                                   (Connect, StateChanged), retries_later),
    (S.IDLE, E.MANUAL_START_PASSIVE): Case(plain(S.IDLE), START_PASSIVE, S.ACTIVE, None,
                                           (StateChanged,), retries_later),
    (S.IDLE, E.MANUAL_STOP): Case(idle_after_error, STOP, S.IDLE, None, (), stays_down),
    (S.IDLE, E.AUTOMATIC_STOP): Case(plain(S.IDLE), AUTO_STOP, S.IDLE, None, (), stays_silent),
    (S.IDLE, E.IDLE_HOLD_TIMER_EXPIRES): Case(idle_after_error, expire(Timer.IDLE_HOLD),
                                              S.CONNECT, None, (Connect, StateChanged)),

    **unopened(S.CONNECT, plain(S.CONNECT), delayed(S.CONNECT)),
    (S.CONNECT, E.CONNECT_RETRY_TIMER_EXPIRES): Case(plain(S.CONNECT),
                                                     expire(Timer.CONNECT_RETRY), S.CONNECT,
                                                     None, (Connect, CloseConnection),
                                                     dials_again),
    (S.CONNECT, E.TCP_CR_ACKED): Case(plain(S.CONNECT), made, S.OPENSENT, None,
                                      (StateChanged,), queued("OPEN")),

    **unopened(S.ACTIVE, plain(S.ACTIVE), delayed(S.ACTIVE)),
    (S.ACTIVE, E.CONNECT_RETRY_TIMER_EXPIRES): Case(plain(S.ACTIVE),
                                                    expire(Timer.CONNECT_RETRY), S.CONNECT,
                                                    None, (Connect, StateChanged)),
    (S.ACTIVE, E.TCP_CR_ACKED): Case(active_with_pending_dial, made_pending, S.OPENSENT,
                                     None, (StateChanged,), queued("OPEN")),

    **opened(S.OPENSENT),
    (S.OPENSENT, E.TCP_CONNECTION_FAILS): Case(plain(S.OPENSENT), fail, S.ACTIVE, None,
                                               (CloseConnection, StateChanged), retries_later),
    (S.OPENSENT, E.BGP_OPEN): Case(plain(S.OPENSENT), OPEN, S.OPENCONFIRM, None,
                                   (StateChanged,), queued("OPEN", "KEEPALIVE")),
    (S.OPENSENT, E.BGP_OPEN_MSG_ERR): Case(plain(S.OPENSENT), BAD_OPEN, S.IDLE, (2, 2),
                                           (NotificationSent, CloseConnection)),

    **opened(S.OPENCONFIRM),
    (S.OPENCONFIRM, E.KEEPALIVE_TIMER_EXPIRES): Case(plain(S.OPENCONFIRM),
                                                     expire(Timer.KEEPALIVE), S.OPENCONFIRM,
                                                     None, (), queued("OPEN", "KEEPALIVE",
                                                                      "KEEPALIVE")),
    (S.OPENCONFIRM, E.TCP_CONNECTION_FAILS): Case(plain(S.OPENCONFIRM), fail, S.IDLE, None,
                                                  (CloseConnection, StateChanged)),
    (S.OPENCONFIRM, E.KEEPALIVE_MSG): Case(plain(S.OPENCONFIRM), KEEPALIVE, S.ESTABLISHED,
                                           None, (Established, StateChanged),
                                           established_check),

    **opened(S.ESTABLISHED),
    (S.ESTABLISHED, E.KEEPALIVE_TIMER_EXPIRES): Case(plain(S.ESTABLISHED),
                                                     expire(Timer.KEEPALIVE), S.ESTABLISHED,
                                                     None, (), queued("OPEN", "KEEPALIVE",
                                                                      "KEEPALIVE")),
    (S.ESTABLISHED, E.TCP_CONNECTION_FAILS): Case(plain(S.ESTABLISHED), fail, S.IDLE, None,
                                                  (SessionDown, CloseConnection)),
    (S.ESTABLISHED, E.KEEPALIVE_MSG): Case(plain(S.ESTABLISHED), KEEPALIVE, S.ESTABLISHED),
    (S.ESTABLISHED, E.UPDATE_MSG): Case(plain(S.ESTABLISHED), UPDATE, S.ESTABLISHED, None,
                                        (UpdateReceived,), update_check),
    (S.ESTABLISHED, E.UPDATE_MSG_ERR): Case(plain(S.ESTABLISHED), BAD_UPDATE, S.IDLE, (3, 1),
                                            (NotificationSent, SessionDown, CloseConnection)),
    (S.ESTABLISHED, E.ROUTE_REFRESH_MSG): Case(plain(S.ESTABLISHED), REFRESH, S.ESTABLISHED,
                                               None, (RouteRefreshReceived,), refresh_check),
    (S.ESTABLISHED, E.ROUTE_REFRESH_MSG_ERR): Case(plain(S.ESTABLISHED), BAD_REFRESH, S.IDLE,
                                                   (7, 1), (NotificationSent, SessionDown)),
}


def test_every_row_has_a_case():
    assert set(CASES) == set(TRANSITIONS)


def _id(key):
    return f"{key[0]}-{key[1].name}"


@pytest.mark.parametrize("key", sorted(CASES), ids=_id)
def test_transition(key):
    case = CASES[key]
    state, event = key
    d = case.setup()
    assert d.session.state == state
    events = case.fire(d)
    s = d.session
    assert s.state == case.state, events
    assert sent(events) == ([case.sends] if case.sends else []), events
    for cls in case.emits:
        assert of(events, cls), (cls.__name__, events)
    if case.state == state and not case.emits:
        assert not of(events, StateChanged)
    if case.sends:
        # The NOTIFICATION is the last thing written before the close.
        (close,) = [e for e in events if isinstance(e, CloseConnection) and e.data]
        assert notifications_in(close.data) == [case.sends]
    if case.check:
        case.check(d, events)
    _assert_consistent(s)


def _assert_consistent(s):
    c = s.primary
    if c.state == S.IDLE:
        assert not c.up and c.dial is None
        assert set(c.timers) <= {Timer.IDLE_HOLD}
    if c.state >= S.OPENSENT:
        assert c.up
    assert (s.negotiated is not None) == (c.state == S.ESTABLISHED)


# ---------------------------------------------------------------------------
# Pairs not in the table


def _reach(state):
    if state in (S.CONNECT, S.ACTIVE):
        return drive(state, config(delay_open_time=5.0))
    return drive(state)


MISSING = sorted((state, event) for state in S for event in E
                 if (state, event) not in TRANSITIONS)
SUBCODE = {S.CONNECT: 0, S.ACTIVE: 0, S.OPENSENT: 1, S.OPENCONFIRM: 2, S.ESTABLISHED: 3}


@pytest.mark.parametrize("key", MISSING, ids=_id)
def test_pair_not_in_table_is_an_fsm_error(key):
    state, event = key
    d = _reach(state)
    s = d.session
    s._handle(s.primary, event, d.now)
    events = s._flush()
    assert s.state == S.IDLE
    if state == S.IDLE:
        assert not events               # nothing to close; Idle ignores it
    else:
        assert sent(events) == [(5, SUBCODE[state])]
        (close,) = of(events, CloseConnection)
        assert notifications_in(close.data) == [(5, SUBCODE[state])]


UNEXPECTED_ON_THE_WIRE = {
    "keepalive-in-opensent": (S.OPENSENT, KEEPALIVE_MSG, 1),
    "update-in-opensent": (S.OPENSENT, ipv4_update(), 1),
    "refresh-in-opensent": (S.OPENSENT, msg(RouteRefresh(1, 1, 0)), 1),
    "update-in-openconfirm": (S.OPENCONFIRM, ipv4_update(), 2),
    "refresh-in-openconfirm": (S.OPENCONFIRM, msg(RouteRefresh(1, 1, 0)), 2),
    "open-in-openconfirm": (S.OPENCONFIRM, msg(peer_open()), 2),
    "bad-open-in-openconfirm": (S.OPENCONFIRM, msg(peer_open(asn=65099)), 2),
    "open-in-established": (S.ESTABLISHED, msg(peer_open()), 3),
    "keepalive-in-connect": (S.CONNECT, KEEPALIVE_MSG, 0),
    "update-in-active": (S.ACTIVE, ipv4_update(), 0),
}


@pytest.mark.parametrize("name", UNEXPECTED_ON_THE_WIRE)
def test_unexpected_message_is_an_rfc6608_error(name):
    state, data, subcode = UNEXPECTED_ON_THE_WIRE[name]
    d = _reach(state)
    events = d.session.receive_data(d.now, d.conn, data)
    assert d.session.state == S.IDLE
    assert sent(events) == [(5, subcode)]
    n = d.session.last_sent.notification
    assert (n.code, n.subcode) == (5, subcode)


def test_timer_events_cover_every_timer():
    assert set(TIMER_EVENT) == set(Timer)


def test_no_notification_answers_a_notification():
    for state in (S.OPENSENT, S.OPENCONFIRM, S.ESTABLISHED):
        d = drive(state)
        d.out()                         # what was queued before is not the answer
        events = d.session.receive_data(d.now, d.conn, msg(Notification(5, 0)))
        assert not sent(events)
        (close,) = of(events, CloseConnection)
        assert close.data == b""


def test_update_fast_path_matches_the_table():
    """receive_data hands UPDATEs on an Established session straight to the
    (Established, UpdateMsg) handler; going through the table gives the same."""
    fast = drive(S.ESTABLISHED)
    slow = drive(S.ESTABLISHED)
    (a,) = of(fast.session.receive_data(1, fast.conn, ipv4_update()), UpdateReceived)
    update = slow.session.codec.decode(ipv4_update()[19:])
    slow.session._handle(slow.session.primary, E.UPDATE_MSG, 1, update)
    (b,) = of(slow.session._flush(), UpdateReceived)
    assert a.update.nlri == b.update.nlri and a.update.attrs == b.update.attrs
    assert fast.session.primary.timers == slow.session.primary.timers
    assert fast.session.counters.updates_in == slow.session.counters.updates_in == 1
