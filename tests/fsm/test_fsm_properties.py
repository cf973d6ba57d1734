"""Properties: whatever a driver or a peer does, a session raises nothing and
stays consistent.

- random sequences of driver calls (start, stop, accept, dial results,
  closes, bytes, valid and broken messages, time passing, sends) on
  sessions of several configurations;
- random bytes fed to a session in every state that reads bytes;
- two sessions wired together through random start/stop/cut/refuse
  sequences always come back up once left alone.

After every step the session must be consistent: one main FSM and at most
one more, every connection id known to the session issued and never
closed, states that match their connections and timers, a deadline that is
in the future once timers are handled.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsm import (CloseConnection, Connect, Event, Session, State, Timer)
from fsm_testlib import (KEEPALIVE_MSG, LOCAL_AS, PEER_AS, PEER_ID, SpeakerPair, config, drive,
                         ipv4_update, msg, peer_open)
from wire import Notification, Open, RouteRefresh, end_of_rib
from wire import capabilities as caps

S = State
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

GR = caps.GracefulRestart(120, False, True, ((1, 1, True),))
CONFIGS = [
    config(),
    config(delay_open_time=3.0),
    config(passive=True),
    config(hold_time=0),
    config(graceful_restart=GR, families=((1, 1), (2, 1))),
    config(collision_with_established=True, idle_hold_time=0),
    config(damp_peer_oscillations=False, connect_retry_time=5, hold_time=3),
    config(required_capabilities=(2,), role=4, strict_role=True),
]

V6_OPEN = peer_open(capabilities=(caps.Multiprotocol(1, 1), caps.Multiprotocol(2, 1),
                                  caps.RouteRefresh(), caps.EnhancedRouteRefresh(),
                                  caps.FourOctetAS(PEER_AS), GR, caps.BgpRole(4)))
MESSAGES = [
    msg(peer_open()),
    msg(V6_OPEN),
    msg(peer_open(hold_time=0)),
    msg(peer_open(asn=65099)),
    msg(peer_open(bgp_id=PEER_ID + 1)),
    msg(Open(4, PEER_AS, 90, PEER_ID, ())),
    KEEPALIVE_MSG,
    ipv4_update(),
    ipv4_update(four_octet=False),
    end_of_rib(),
    end_of_rib(2, 1),
    b"\xff" * 16 + b"\x00\x17\x02" + b"\x00\x09\x00\x00",            # bad UPDATE
    msg(RouteRefresh(1, 1, 0)),
    msg(RouteRefresh(2, 1, 1)),
    b"\xff" * 16 + b"\x00\x18\x05" + b"\x00\x01\x00\x01\x00",         # bad ROUTE-REFRESH
    msg(Notification(6, 2, b"\x03bye")),
    msg(Notification(6, 7)),
    msg(Notification(2, 1, b"\x00\x04")),
    msg(Notification(6, 9, b"\x06\x02")),
    b"\x00" * 19,
]

conn_picks = st.integers(0, 9)
ops = st.one_of(
    st.tuples(st.just("start"), st.booleans()),
    st.tuples(st.just("stop"), st.booleans(),
              st.sampled_from([None, "bye", Notification(6, 1), Notification(6, 4, b"\x02hi")])),
    st.tuples(st.just("accept")),
    st.tuples(st.just("made"), conn_picks),
    st.tuples(st.just("failed"), conn_picks),
    st.tuples(st.just("closed"), conn_picks),
    st.tuples(st.just("bytes"), conn_picks, st.binary(max_size=48)),
    st.tuples(st.just("msg"), conn_picks, st.sampled_from(range(len(MESSAGES))),
              st.integers(0, 40)),
    st.tuples(st.just("handshake"), conn_picks, st.sampled_from([0, 1, 2])),
    st.tuples(st.just("advance"), st.floats(0, 300, allow_nan=False)),
    st.tuples(st.just("drain"), conn_picks, st.sampled_from([None, 1, 100])),
    st.tuples(st.just("send"),),
    st.tuples(st.just("refresh"), st.sampled_from([(1, 1), (2, 1), (3, 3)]),
              st.integers(0, 3)),
)


class Tracker:
    """A driver's view of connection ids: issued, and told to close."""

    def __init__(self):
        self.issued = set()
        self.closed = set()
        self.order = []

    def take(self, events) -> None:
        for e in events:
            assert isinstance(e, Event), e
            if isinstance(e, Connect):
                assert e.conn not in self.issued
                self.issued.add(e.conn)
                self.order.append(e.conn)
            elif isinstance(e, CloseConnection):
                self.closed.add(e.conn)

    def accepted(self, conn) -> None:
        assert conn not in self.issued
        self.issued.add(conn)
        self.order.append(conn)

    def pick(self, i: int) -> int:
        """A connection id the session issued, or (rarely) one it never did."""
        if not self.order or i == 9:
            return 100_000 + i
        return self.order[i % len(self.order)]


def consistent(s: Session, t: Tracker | None = None) -> None:
    p = s.primary
    fsms = s._fsms()
    assert p not in s._others and len(s._others) <= 1
    assert sum(c.state >= S.OPENCONFIRM for c in fsms) <= 1
    for c in fsms:
        assert isinstance(c.state, S)
        if c.conn is not None:
            assert s._by_conn[c.conn] is c
        if c.dial is not None:
            assert s._by_conn[c.dial] is c
        if c.state >= S.OPENSENT:
            assert c.up and c.dial is None
        if c.state >= S.OPENCONFIRM:
            assert c.negotiated is not None
        if c.state == S.ESTABLISHED:
            assert c is p and c.codec is not None and c.families
        if c.state == S.IDLE:
            assert not c.up and c.dial is None and set(c.timers) <= {Timer.IDLE_HOLD}
        if c is not p:
            assert c.up or c.dial is not None
            assert Timer.IDLE_HOLD not in c.timers and Timer.CONNECT_RETRY not in c.timers
        if c.state in (S.CONNECT, S.ACTIVE) and not c.up:
            assert Timer.DELAY_OPEN not in c.timers and Timer.HOLD not in c.timers
    for conn, c in s._by_conn.items():
        assert c in fsms and conn in (c.conn, c.dial)
    assert s.state == p.state
    assert (s.negotiated is not None) == (p.state == S.ESTABLISHED)
    if not s.enabled and p.state == S.IDLE:
        assert not p.timers
    if t is not None:
        live = set(s._by_conn) | set(s._pending_dials)
        assert live <= t.issued
        assert not live & t.closed, (live, t.closed)


def run(s: Session, t: Tracker, op, now: float) -> float:
    kind = op[0]
    if kind == "start":
        t.take(s.start(now, passive=op[1]))
    elif kind == "stop":
        t.take(s.stop(now, op[2], automatic=op[1]))
        assert s.state == S.IDLE and s.connections == ()
        if not op[1]:
            assert not s.enabled and s.next_deadline() is None
    elif kind == "accept":
        conn, events = s.accept(now)
        t.accepted(conn)
        t.take(events)
    elif kind == "made":
        t.take(s.connection_made(now, t.pick(op[1])))
    elif kind == "failed":
        t.take(s.connection_failed(now, t.pick(op[1]), "refused"))
    elif kind == "closed":
        t.take(s.connection_closed(now, t.pick(op[1]), "reset"))
    elif kind == "bytes":
        t.take(s.receive_data(now, t.pick(op[1]), op[2]))
    elif kind == "msg":
        data = MESSAGES[op[2]]
        cut = min(op[3], len(data))
        conn = t.pick(op[1])
        t.take(s.receive_data(now, conn, data[:cut]))
        t.take(s.receive_data(now, conn, data[cut:]))
    elif kind == "handshake":
        conn = t.pick(op[1])
        t.take(s.receive_data(now, conn, MESSAGES[op[2]]))
        t.take(s.receive_data(now, conn, KEEPALIVE_MSG))
    elif kind == "advance":
        now += op[1]
        t.take(s.handle_timer(now))
        deadline = s.next_deadline()
        assert deadline is None or deadline > now
    elif kind == "drain":
        out = s.data_to_send(t.pick(op[1]), op[2])
        assert isinstance(out, bytes)
    elif kind == "send":
        ok = s.send_updates(now, [ipv4_update()])
        assert ok == (s.state == S.ESTABLISHED)
    elif kind == "refresh":
        (afi, safi), subtype = op[1], op[2]
        s.send_route_refresh(now, afi, safi, subtype)
    return now


def prelude(s: Session, t: Tracker, level: int) -> None:
    """Bring the session some way up first, so that random steps start from
    every state: started, connected, OPEN received, Established, and
    Established with a second connection arriving."""
    if level >= 1:
        t.take(s.start(0.0, passive=True))
    if level >= 2:
        conn, events = s.accept(0.0)
        t.accepted(conn)
        t.take(events)
        t.take(s.receive_data(0.0, conn, msg(V6_OPEN) if level >= 3 else b""))
        t.take(s.receive_data(0.0, conn, KEEPALIVE_MSG if level >= 4 else b""))
    if level >= 5:
        conn, events = s.accept(0.0)
        t.accepted(conn)
        t.take(events)


@settings(max_examples=800, **SETTINGS)
@given(st.sampled_from(range(len(CONFIGS))), st.integers(0, 5), st.lists(ops, max_size=40))
def test_random_driver_calls_keep_the_session_consistent(cfg_index, level, steps):
    s = Session(CONFIGS[cfg_index], rng=lambda: 0.5)
    t = Tracker()
    prelude(s, t, level)
    consistent(s, t)
    now = 0.0
    for op in steps:
        now = run(s, t, op, now)
        consistent(s, t)


STATES_WITH_BYTES = [(S.CONNECT, 1), (S.ACTIVE, 1), (S.OPENSENT, 0), (S.OPENCONFIRM, 0),
                     (S.ESTABLISHED, 0)]


@settings(max_examples=400, **SETTINGS)
@given(st.sampled_from(STATES_WITH_BYTES), st.lists(st.binary(max_size=80), max_size=6),
       st.booleans())
def test_random_bytes_in_any_state(where, chunks, framed):
    state, delay = where
    d = drive(state, config(delay_open_time=3.0) if delay else config())
    s = d.session
    for chunk in chunks:
        if framed:       # a valid header around random bytes reaches the decoders
            body = chunk[1:]
            chunk = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") \
                + bytes([1 + (chunk[0] % 5 if chunk else 0)]) + body
        events = s.receive_data(d.now, d.conn, chunk)
        assert all(isinstance(e, Event) for e in events)
        consistent(s)


pair_ops = st.one_of(
    st.tuples(st.just("start"), st.sampled_from("ab"), st.booleans()),
    st.tuples(st.just("stop"), st.sampled_from("ab"), st.booleans()),
    st.tuples(st.just("arrive"), st.sampled_from("ab")),
    st.tuples(st.just("made"), st.sampled_from("ab")),
    st.tuples(st.just("complete"), st.sampled_from("ab")),
    st.tuples(st.just("refuse"), st.sampled_from("ab")),
    st.tuples(st.just("cut"),),
    st.tuples(st.just("pump"),),
    st.tuples(st.just("advance"), st.floats(0, 200, allow_nan=False)),
)


@settings(max_examples=300, **SETTINGS)
@given(st.lists(pair_ops, max_size=25), st.booleans(), st.booleans(), st.booleans())
def test_two_sessions_always_come_back_up(steps, b_passive, b_higher, up_first):
    kw = dict(idle_hold_time=1, idle_hold_max=8, connect_retry_time=10)
    a_id, b_id = (1, 2) if b_higher else (2, 1)
    p = SpeakerPair(config(local_id=a_id, **kw),
                    config(local_as=PEER_AS, local_id=b_id, peer_as=LOCAL_AS,
                           passive=b_passive, **kw))
    if up_first:
        p.establish()
    for op in steps:
        kind = op[0]
        if kind == "start":
            p.start(op[1], passive=op[2])
        elif kind == "stop":
            p.stop(op[1], automatic=op[2])
        elif kind == "arrive" and p.dials[op[1]]:
            p.arrive(op[1])
        elif kind == "made":
            unmade = [conn for side, conn in p.unmade if side == op[1]]
            if unmade:
                p.made(op[1], unmade[0])
        elif kind == "complete" and p.dials[op[1]]:
            p.complete_dial(op[1])
        elif kind == "refuse" and p.dials[op[1]]:
            p.refuse_dial(op[1])
        elif kind == "cut":
            for link in list(p.unmade):
                p.made(*link)
            p.cut()
        elif kind == "pump":
            p.pump()
        elif kind == "advance":
            p.advance(op[1])
        for s in p.sessions.values():
            consistent(s)
    # Left alone with a working network, the two find each other again.
    for link in list(p.unmade):
        p.made(*link)
    p.pump()
    for side in "ab":
        if not p.sessions[side].enabled:
            p.start(side, passive=(side == "b" and b_passive))
    for _ in range(200):
        for side in "ab":
            while p.dials[side]:
                p.complete_dial(side)
        if p.a.state == p.b.state == S.ESTABLISHED:
            break
        deadline = min(d for d in (p.a.next_deadline(), p.b.next_deadline()) if d is not None)
        p.advance(max(0.0, deadline - p.now))
    assert p.a.state == p.b.state == S.ESTABLISHED, (p.log["a"][-8:], p.log["b"][-8:])
    (ca,) = p.a.connections
    (cb,) = p.b.connections
    assert p.links[("a", ca)] == ("b", cb)
