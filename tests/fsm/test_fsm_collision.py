"""Connection collisions (RFC 4271 section 6.8, RFC 6286 section 2.3).

Two sessions dial each other at once; whichever order the connections
come up and the OPENs arrive in, both must keep the same TCP connection:
the one initiated by the speaker with the higher BGP identifier.
"""

from __future__ import annotations

import itertools

import pytest

from fsm import (CloseConnection, Established, NotificationSent, SessionDown, State,
                 StateChanged)
from fsm.collision import keep_new, we_win
from fsm_testlib import (KEEPALIVE_MSG, LOCAL_AS, PEER_AS, PEER_ID, SpeakerPair,
                         config, drive, msg, notifications_in, of, peer_open, sent)
from wire import capabilities as caps

S = State
LOW, HIGH = 0x0A000001, 0x0A000002


@pytest.mark.parametrize("local_id,local_as,peer_id,peer_as,win", [
    (HIGH, 65001, LOW, 65002, True),
    (LOW, 65001, HIGH, 65002, False),
    (0xFFFFFFFF, 65001, 0x7FFFFFFF, 65002, True),     # unsigned comparison
    (LOW, 65002, LOW, 65001, True),                   # same id: larger AS wins
    (LOW, 65001, LOW, 65002, False),
])
def test_we_win(local_id, local_as, peer_id, peer_as, win):
    assert we_win(local_id, local_as, peer_id, peer_as) is win


def test_keep_new():
    # We have the higher id: our outgoing connection survives.
    assert keep_new(True, False, HIGH, 1, LOW, 2) is True
    assert keep_new(False, True, HIGH, 1, LOW, 2) is False
    # Lower id: the peer's connection (incoming for us) survives.
    assert keep_new(False, True, LOW, 1, HIGH, 2) is True
    assert keep_new(True, False, LOW, 1, HIGH, 2) is False
    # Same direction twice: the newer one is the live one.
    assert keep_new(False, False, LOW, 1, HIGH, 2) is True


def pair(a_id: int, b_id: int, **kw) -> SpeakerPair:
    return SpeakerPair(config(local_id=a_id, **kw),
                       config(local_as=PEER_AS, local_id=b_id, peer_as=LOCAL_AS, **kw))


ORDERS = list(itertools.permutations(["arrive-a", "arrive-b", "made-a", "made-b"]))
ORDERS = [o for o in ORDERS if o.index("arrive-a") < o.index("made-a")
          and o.index("arrive-b") < o.index("made-b")]


@pytest.mark.parametrize("a_id,b_id", [(LOW, HIGH), (HIGH, LOW)], ids=["b-higher", "a-higher"])
@pytest.mark.parametrize("order", ORDERS, ids="/".join)
@pytest.mark.parametrize("pump_between", [False, True], ids=["burst", "stepwise"])
def test_simultaneous_dials_keep_one_connection(a_id, b_id, order, pump_between):
    p = pair(a_id, b_id)
    p.start("a")
    p.start("b")
    a1, b1 = p.dials["a"][0], p.dials["b"][0]
    for step in order:
        action, side = step.split("-")
        conn = a1 if side == "a" else b1
        if action == "arrive":
            p.arrive(side, conn)
        else:
            p.made(side, conn)
        if pump_between:
            p.pump()
    p.pump()
    assert p.a.state == S.ESTABLISHED and p.b.state == S.ESTABLISHED, (p.log["a"], p.log["b"])
    (a_conn,) = p.a.connections
    (b_conn,) = p.b.connections
    assert p.links[("a", a_conn)] == ("b", b_conn)
    winner = "a" if a_id > b_id else "b"
    first_made = min(("made-a", "made-b"), key=order.index)
    other_arrives = "arrive-" + ("b" if first_made == "made-a" else "a")
    if pump_between and order.index(first_made) < order.index(other_arrives):
        # That connection came up alone and was Established before the
        # second one existed: the newcomer yields to it (RFC 4271 6.8).
        winner = first_made[-1]
    survivor = a1 if winner == "a" else b1
    assert (a_conn if winner == "a" else b_conn) == survivor
    # Exactly one Established on each side; the loser was closed with
    # Cease / Connection Collision Resolution, or refused (Connection
    # Rejected) when it came after the session was up; no error recorded.
    for side in "ab":
        assert len(of(p.log[side], Established)) == 1
        assert set(sent(p.log[side])) <= {(6, 7), (6, 5)}
        assert p.sessions[side].last_error is None
    assert sent(p.log["a"]) + sent(p.log["b"])


def test_late_dial_collides_with_openconfirm():
    """Our old dial completes while the peer's connection is in OpenConfirm."""
    d = drive(S.CONNECT, config(local_id=HIGH))
    s = d.session
    incoming, _ = s.accept(0)
    s.receive_data(0, incoming, msg(peer_open(bgp_id=LOW)))
    assert s.state == S.OPENCONFIRM
    events = s.connection_made(1, d.dial)               # second FSM, OpenSent
    assert s.state == S.OPENCONFIRM and len(s.connections) == 2
    # The peer answers on our connection too; we have the higher id, ours wins.
    events = s.receive_data(1, d.dial, msg(peer_open(bgp_id=LOW)))
    assert sent(events) == [(6, 7)]
    (close,) = of(events, CloseConnection)
    assert close.conn == incoming and notifications_in(close.data) == [(6, 7)]
    assert s.connections == (d.dial,) and s.state == S.OPENCONFIRM
    s.receive_data(2, d.dial, KEEPALIVE_MSG)
    assert s.state == S.ESTABLISHED and s.primary.outgoing


def test_incoming_connection_established_while_our_dial_waits_in_opensent():
    """The peer's connection reaches Established while ours still waits in
    OpenSent for the peer's OPEN (no collision known yet): the session is
    the established connection's at once, for whoever handles the
    Established event (negotiated, families, codec, what is sent)."""
    d = drive(S.OPENSENT, config(local_id=LOW))
    s = d.session
    incoming, _ = s.accept(0)
    s.receive_data(0, incoming, msg(peer_open(bgp_id=HIGH)))
    events = s.receive_data(1, incoming, KEEPALIVE_MSG)
    (up,) = of(events, Established)
    assert s.state == S.ESTABLISHED and s.negotiated is up.negotiated
    assert s.codec is not None and s.families
    assert s.primary.conn == incoming
    # The peer's OPEN on our dial arrives later: that connection is dumped
    # and the session stays up on the peer's.
    events = s.receive_data(2, d.conn, msg(peer_open(bgp_id=HIGH)))
    assert not of(events, SessionDown)
    assert s.state == S.ESTABLISHED and s.connections == (incoming,)


def test_new_connection_loses_to_the_established_session():
    d = drive(S.ESTABLISHED)
    s = d.session
    conn, events = s.accept(5)
    (close,) = of(events, CloseConnection)
    assert close.conn == conn and notifications_in(close.data) == [(6, 5)]
    assert s.state == S.ESTABLISHED and s.connections == (d.conn,)
    assert s.last_error is None


@pytest.mark.parametrize("local_id,new_wins", [(LOW, True), (HIGH, False)])
def test_collision_with_established_when_allowed(local_id, new_wins):
    """We dialled and are Established; the peer dials again.  The peer's
    connection wins only if the peer has the higher identifier."""
    d = drive(S.ESTABLISHED, config(local_id=local_id, collision_with_established=True),
              opn=peer_open(bgp_id=PEER_ID if local_id == LOW else LOW - 1))
    s = d.session
    conn, events = s.accept(5)
    assert not of(events, CloseConnection) and s.state == S.ESTABLISHED
    peer_id = HIGH if local_id == LOW else LOW - 1
    events = s.receive_data(6, conn, msg(peer_open(bgp_id=peer_id)))
    if new_wins:
        assert of(events, SessionDown) and s.state == S.OPENCONFIRM
        assert s.connections == (conn,)
        s.receive_data(6, conn, KEEPALIVE_MSG)
        assert s.state == S.ESTABLISHED
    else:
        assert not of(events, SessionDown) and s.state == S.ESTABLISHED
        assert s.connections == (d.conn,)
    assert sent(events) == [(6, 7)]


def test_graceful_restart_peer_reconnecting_replaces_the_session():
    gr = caps.GracefulRestart(120, False, False, ((1, 1, True),))
    d = drive(S.ESTABLISHED, config(graceful_restart=gr),
              opn=peer_open(extra=(caps.GracefulRestart(90, False, False, ((1, 1, True),)),)))
    s = d.session
    conn, events = s.accept(50)
    (down,) = of(events, SessionDown)
    assert down.graceful_restart and down.negotiated.graceful_restart.restart_time == 90
    assert not sent(events)
    assert [c.conn for c in of(events, CloseConnection)] == [d.conn]
    assert s.state == S.OPENSENT and s.connections == (conn,)
    assert s.last_error.describe() == "Local: peer reconnected (graceful restart)"
    (change,) = of(events, StateChanged)
    assert (change.old, change.new) == (S.ESTABLISHED, S.OPENSENT)
    s.receive_data(51, conn, msg(peer_open(extra=(caps.GracefulRestart(90, True, False,
                                                                        ((1, 1, True),)),))))
    s.receive_data(51, conn, KEEPALIVE_MSG)
    assert s.state == S.ESTABLISHED
    assert s.negotiated.graceful_restart.restarting


def test_third_connection_is_refused():
    d = drive(S.OPENSENT)
    s = d.session
    second, events = s.accept(1)
    assert not of(events, CloseConnection)
    third, events = s.accept(2)
    (close,) = of(events, CloseConnection)
    assert close.conn == third and notifications_in(close.data) == [(6, 5)]
    assert set(s.connections) == {d.conn, second}


def test_losing_connection_failing_leaves_the_other():
    d = drive(S.OPENSENT)
    s = d.session
    second, _ = s.accept(1)
    s.connection_closed(2, d.conn)          # the first one dies
    assert s.state == S.OPENSENT and s.connections == (second,)
    s.receive_data(3, second, msg(peer_open()))
    s.receive_data(3, second, KEEPALIVE_MSG)
    assert s.state == S.ESTABLISHED


def test_stop_closes_both_connections():
    d = drive(S.OPENSENT)
    s = d.session
    second, _ = s.accept(1)
    events = s.stop(2, "bye")
    assert s.state == S.IDLE and s.connections == ()
    assert sorted(c.conn for c in of(events, CloseConnection)) == sorted([d.conn, second])
    assert sent(events) == [(6, 2), (6, 2)]
    assert of(events, NotificationSent)[0].notification.shutdown_message == "bye"
