"""Two sessions talking to each other in memory (``SpeakerPair``): up, an
UPDATE and a ROUTE-REFRESH each way, down with an administrative shutdown;
a flapping peer damped; UPDATE error handling, graceful restart, extended
messages, add-path and the shared attribute cache across the wire."""

from __future__ import annotations

import struct

import pytest

from fsm import (CloseConnection, Established, FamilyDisabled, NotificationReceived,
                 NotificationSent, RouteRefreshReceived, Session, SessionDown, State,
                 StateChanged, Timer, UpdateReceived)
from fsm_testlib import (KEEPALIVE_MSG, LOCAL_AS, PEER_AS, PEER_ID, SpeakerPair, config,
                         drive, ipv4_update, msg, of, parse, peer_open, sent, types)
from wire import AttributeCache, Notification, RouteRefresh, end_of_rib, make_attributes
from wire import capabilities as caps
from wire.errors import Action

S = State
V4 = (1, 1)
V6 = (2, 1)


def pair(a_kw=None, b_kw=None, **kw) -> SpeakerPair:
    a_kw = dict(a_kw or {}, **kw)
    b_kw = dict(b_kw or {}, **kw)
    return SpeakerPair(config(**a_kw),
                       config(local_as=PEER_AS, local_id=PEER_ID, peer_as=LOCAL_AS, **b_kw))


def announce(session: Session, *keys: bytes, asn: int = LOCAL_AS) -> list:
    attrs = make_attributes(origin=0, as_path=((2, (asn,)),), next_hop=bytes([10, 0, 0, 1]))
    return session.codec.encode(attrs, list(keys))


PREFIX_A = bytes([24, 10, 1, 2])
PREFIX_B = bytes([16, 172, 16])


def test_up_update_refresh_and_administrative_shutdown():
    p = pair()
    p.establish()
    a, b = p.a, p.b
    for side in "ab":
        (up,) = of(p.log[side], Established)
        assert up.negotiated.families == {V4}
        assert [e.new for e in of(p.log[side], StateChanged)][-1] == S.ESTABLISHED

    # An UPDATE from a to b, then End-of-RIB.
    assert a.send_updates(p.now, announce(a, PREFIX_A, PREFIX_B))
    assert a.send_updates(p.now, [end_of_rib()])
    p.pump()
    got = [e.update for e in of(p.log["b"], UpdateReceived)]
    assert got[0].nlri == [PREFIX_A, PREFIX_B] and got[0].attrs.as_path == ((2, (LOCAL_AS,)),)
    assert got[1].end_of_rib == V4
    assert b.counters.updates_in == 2 and a.counters.updates_out == 2

    # A ROUTE-REFRESH from b; a enhanced refresh (BoRR, routes, EoRR) back.
    assert b.send_route_refresh(p.now, 1, 1)
    p.pump()
    (rr,) = of(p.log["a"], RouteRefreshReceived)
    assert (rr.afi, rr.safi, rr.subtype) == (1, 1, 0)
    assert a.send_route_refresh(p.now, 1, 1, 1)
    assert a.send_updates(p.now, announce(a, PREFIX_A))
    assert a.send_route_refresh(p.now, 1, 1, 2)
    mark = len(p.log["b"])
    p.pump()
    tail = [e for e in p.log["b"][mark:] if isinstance(e, (UpdateReceived,
                                                            RouteRefreshReceived))]
    assert [type(e).__name__ for e in tail] == ["RouteRefreshReceived", "UpdateReceived",
                                                "RouteRefreshReceived"]
    assert (tail[0].subtype, tail[2].subtype) == (1, 2)

    # Time passes; keepalives keep the session up.
    p.advance(1000)
    assert a.state == b.state == S.ESTABLISHED
    assert a.uptime(p.now) == 1000

    # a shuts the session down with a reason; both sides keep it.
    p.stop("a", "maintenance window")
    assert a.state == b.state == S.IDLE
    (n,) = [e.notification for e in of(p.log["b"], NotificationReceived)]
    assert n.shutdown_message == "maintenance window"
    assert b.last_error.describe() == 'Received: Cease / Administrative shutdown: ' \
                                      '"maintenance window"'
    assert b.last_error.shutdown_message == "maintenance window"
    assert a.last_error.describe() == 'Sent: Cease / Administrative shutdown: ' \
                                      '"maintenance window"'
    assert a.info(p.now)["last_error"] == a.last_error.describe()
    assert b.info(p.now)["state"] == "Idle"
    for side in "ab":
        (down,) = of(p.log[side], SessionDown)
        assert not down.graceful_restart
        assert down.error.shutdown_message == "maintenance window"
    assert not a.enabled and a.next_deadline() is None          # stays down
    assert b.enabled and Timer.IDLE_HOLD in b.primary.timers    # will listen again
    assert a.counters.messages_out[3] == 1 and b.counters.messages_in[3] == 1


def test_flapping_peer_is_damped():
    """The link breaks ten seconds after each establishment: the wait
    before the next attempt doubles up to the cap, then a session that
    stays up long enough is forgiven."""
    kw = dict(idle_hold_time=5, idle_hold_max=120, idle_hold_reset_time=600, hold_time=0)
    p = pair(a_kw=kw, b_kw=dict(kw, passive=True))
    p.establish()
    waits = []
    for _ in range(7):
        p.advance(10)
        p.cut()
        assert p.a.state == S.IDLE and p.b.state == S.IDLE
        down_at = p.now
        waits.append(_wait_for_dial(p) - down_at)
        p.complete_dial("a")
        assert p.a.state == p.b.state == S.ESTABLISHED
    assert waits == [5, 10, 20, 40, 80, 120, 120]
    p.advance(700)                       # stable: the count starts again
    p.cut()
    down_at = p.now
    assert _wait_for_dial(p) - down_at == 5


def _wait_for_dial(p: SpeakerPair) -> float:
    while not p.dials["a"]:
        deadline = min(d for d in (p.a.next_deadline(), p.b.next_deadline()) if d is not None)
        p.advance(deadline - p.now)
    return p.now


def test_refused_then_accepted():
    p = pair(connect_retry_time=30)
    p.start("a")
    p.refuse_dial("a", "Connection refused")
    assert p.a.state == S.ACTIVE
    assert p.a.info(p.now)["last_error"] == "Socket: Connection refused"
    p.start("b", passive=True)
    p.advance(30)
    assert p.a.state == S.CONNECT
    p.complete_dial("a")
    assert p.a.state == p.b.state == S.ESTABLISHED


# ---------------------------------------------------------------------------
# UPDATE errors (RFC 7606)

def _attr(flags: int, code: int, value: bytes) -> bytes:
    if flags & 0x10:
        return struct.pack("!BBH", flags, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


ORIGIN = _attr(0x40, 1, b"\x00")
AS_PATH = _attr(0x40, 2, bytes([2, 1]) + PEER_AS.to_bytes(4, "big"))


def raw_update(attrs: bytes = b"", nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    body = struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) \
        + attrs + nlri
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), 2) + body


def mp_reach_v6(next_hop: bytes, nlri: bytes = bytes([32, 0x20, 0x01, 0x0d, 0xb8])) -> bytes:
    value = struct.pack("!HBB", 2, 1, len(next_hop)) + next_hop + b"\x00" + nlri
    return _attr(0x90, 14, value)


V6_NH = bytes(15) + b"\x01"


def dual_stack() -> tuple:
    cfg = config(families=(V4, V6))
    d = drive(S.ESTABLISHED, cfg,
              opn=peer_open(capabilities=(caps.Multiprotocol(1, 1), caps.Multiprotocol(2, 1),
                                          caps.FourOctetAS(PEER_AS))))
    return d, d.session


def test_malformed_mp_reach_disables_the_family_and_keeps_the_session():
    d, s = dual_stack()
    events = s.receive_data(1, d.conn, raw_update(ORIGIN + AS_PATH + mp_reach_v6(b"\x01" * 5)))
    (off,) = of(events, FamilyDisabled)
    assert (off.afi, off.safi) == V6 and "next hop length" in off.reason
    assert s.state == S.ESTABLISHED and s.families == {V4}
    assert s.negotiated.families == {V4, V6}            # what was agreed stays visible
    assert s.last_error.describe().startswith("Local: ipv6-unicast disabled")
    # Later IPv6 routes are ignored; IPv4 ones still arrive.
    assert not s.receive_data(2, d.conn, raw_update(ORIGIN + AS_PATH + mp_reach_v6(V6_NH)))
    (upd,) = of(s.receive_data(3, d.conn, ipv4_update()), UpdateReceived)
    assert upd.update.nlri
    # A malformed MP attribute for the last family left resets the session.
    bad_v4 = _attr(0x90, 14, struct.pack("!HBB", 1, 1, 3) + b"\x01\x02\x03\x00")
    events = s.receive_data(4, d.conn, raw_update(ORIGIN + AS_PATH + bad_v4))
    assert s.state == S.IDLE and sent(events) == [(3, 9)]


def test_malformed_update_resets_the_session():
    d = drive(S.ESTABLISHED)
    s = d.session
    events = s.receive_data(1, d.conn, raw_update(withdrawn=b"\x21\x0a"))   # /33
    assert sent(events) == [(3, 10)] and s.state == S.IDLE
    (down,) = of(events, SessionDown)
    assert down.error.notification.code == 3


def test_treat_as_withdraw_is_passed_on():
    d = drive(S.ESTABLISHED)
    s = d.session
    bad_origin = _attr(0x40, 1, b"\x07")
    nh = _attr(0x40, 3, bytes([10, 0, 0, 2]))
    events = s.receive_data(1, d.conn, raw_update(bad_origin + AS_PATH + nh, PREFIX_A))
    (upd,) = of(events, UpdateReceived)
    assert upd.update.action == Action.TREAT_AS_WITHDRAW
    assert upd.update.withdrawals() == {V4: [PREFIX_A]}
    assert s.state == S.ESTABLISHED


def test_routes_of_families_not_negotiated_are_ignored():
    d = drive(S.ESTABLISHED)                         # IPv4 unicast only
    s = d.session
    assert not s.receive_data(1, d.conn, raw_update(ORIGIN + AS_PATH + mp_reach_v6(V6_NH)))
    assert not s.receive_data(1, d.conn, end_of_rib(2, 1))
    # A mixed UPDATE keeps its IPv4 part only.
    nh = _attr(0x40, 3, bytes([10, 0, 0, 2]))
    events = s.receive_data(2, d.conn, raw_update(ORIGIN + AS_PATH + nh + mp_reach_v6(V6_NH),
                                                  PREFIX_A))
    (upd,) = of(events, UpdateReceived)
    assert upd.update.nlri == [PREFIX_A] and upd.update.mp_reach is None


@pytest.mark.parametrize("refresh,delivered", [
    (RouteRefresh(1, 1, 0), True),
    (RouteRefresh(2, 1, 0), False),        # family not negotiated: ignored (RFC 2918)
    (RouteRefresh(1, 1, 1), True),         # BoRR with enhanced route refresh
    (RouteRefresh(1, 1, 7), False),        # unknown subtype: ignored (RFC 7313)
])
def test_route_refresh_filtering(refresh, delivered):
    d = drive(S.ESTABLISHED)
    events = d.session.receive_data(1, d.conn, msg(refresh))
    assert bool(of(events, RouteRefreshReceived)) is delivered
    assert d.session.state == S.ESTABLISHED


def test_borr_without_enhanced_route_refresh_is_ignored():
    d = drive(S.ESTABLISHED, opn=peer_open(capabilities=(caps.Multiprotocol(1, 1),
                                                         caps.RouteRefresh())))
    s = d.session
    assert not of(s.receive_data(1, d.conn, msg(RouteRefresh(1, 1, 1))), RouteRefreshReceived)
    assert not s.send_route_refresh(1, 1, 1, 1)
    assert not s.send_route_refresh(1, 1, 1, 9)
    assert s.send_route_refresh(1, 1, 1, 0)


def test_sending_before_established_is_refused():
    d = drive(S.OPENCONFIRM)
    assert not d.session.send_updates(0, [ipv4_update()])
    assert not d.session.send_route_refresh(0, 1, 1)
    assert types(d.out()) == ["OPEN", "KEEPALIVE"]


# ---------------------------------------------------------------------------
# Graceful restart (RFC 4724, RFC 8538)

def gr_pair(n_bit: bool) -> SpeakerPair:
    gr = caps.GracefulRestart(120, False, n_bit, ((1, 1, True),))
    return pair(graceful_restart=gr)


@pytest.mark.parametrize("n_bit", [False, True])
def test_tcp_loss_keeps_routes_with_graceful_restart(n_bit):
    p = gr_pair(n_bit)
    p.establish()
    p.cut()
    for side in "ab":
        (down,) = of(p.log[side], SessionDown)
        assert down.graceful_restart
        assert down.negotiated.graceful_restart.forwarding(1, 1) is True


def test_graceful_restart_session_loss_is_not_damped():
    p = gr_pair(False)
    p.establish()
    for _ in range(3):
        p.cut()
        assert p.a.primary.timers == {Timer.IDLE_HOLD: p.now}    # listen again at once
        assert p.a.damping_level == 0
        p.advance(0)
        p.complete_dial("a")
        assert p.a.state == p.b.state == S.ESTABLISHED


@pytest.mark.parametrize("n_bit,graceful", [(False, False), (True, True)])
def test_hold_timer_expiry_and_graceful_restart(n_bit, graceful):
    p = gr_pair(n_bit)
    p.establish()
    p.b.primary.timers.pop(Timer.KEEPALIVE)          # b goes silent
    p.advance(90)
    assert sent(p.log["a"]) == [(4, 0)]
    for side in "ab":
        (down,) = of(p.log[side], SessionDown)
        assert down.graceful_restart is graceful


def test_administrative_shutdown_is_a_hard_reset_with_the_n_bit():
    p = gr_pair(True)
    p.establish()
    p.stop("a", "decommission")
    (n,) = [e.notification for e in of(p.log["a"], NotificationSent)]
    assert (n.code, n.subcode) == (6, 9)
    assert p.b.last_error.describe() == ('Received: Cease / Hard reset: Cease / '
                                         'Administrative shutdown: "decommission"')
    assert p.b.last_error.shutdown_message == "decommission"
    for side in "ab":
        (down,) = of(p.log[side], SessionDown)
        assert not down.graceful_restart


def test_no_graceful_restart_when_only_one_side_offers_it():
    p = pair(a_kw=dict(graceful_restart=caps.GracefulRestart(120, False, False, ())))
    p.establish()
    p.cut()
    assert not of(p.log["a"], SessionDown)[0].graceful_restart


# ---------------------------------------------------------------------------
# Negotiated options reaching the codec

def test_extended_messages_raise_the_frame_limit():
    big = [bytes([32]) + i.to_bytes(4, "big") for i in range(1200)]   # ~6000 octets of /32s
    p = pair()
    p.establish()
    msgs = announce(p.a, *big)
    assert len(msgs) == 1 and len(msgs[0]) > 4096
    p.a.send_updates(p.now, msgs)
    p.pump()
    (upd,) = of(p.log["b"], UpdateReceived)
    assert len(upd.update.nlri) == 1200

    d = drive(S.ESTABLISHED, config(extended_message=False))
    events = d.session.receive_data(1, d.conn, msgs[0])
    assert sent(events) == [(1, 2)] and d.session.state == S.IDLE


def test_add_path_both_ways():
    p = pair(add_path=((1, 1, 3),))
    p.establish()
    assert p.a.codec.add_path_tx == {V4} and p.b.codec.add_path_rx == {V4}
    attrs = make_attributes(origin=0, as_path=((2, (LOCAL_AS,)),),
                            next_hop=bytes([10, 0, 0, 1]))
    p.a.send_updates(p.now, p.a.codec.encode(attrs, [(7, PREFIX_A), (8, PREFIX_A)]))
    p.pump()
    (upd,) = of(p.log["b"], UpdateReceived)
    assert upd.update.nlri == [(7, PREFIX_A), (8, PREFIX_A)]


def test_sessions_share_the_attribute_cache():
    cache4, cache2 = AttributeCache(True), AttributeCache(False)
    caches = {True: cache4, False: cache2}.__getitem__
    got = []
    for _ in range(2):
        d = drive(S.ESTABLISHED, attribute_cache=caches)
        (u,) = of(d.session.receive_data(1, d.conn, ipv4_update()), UpdateReceived)
        got.append(u.update.attrs)
    assert got[0] is got[1] and len(cache4) == 1
    # A session of the other ASN width gets the other cache.
    d = drive(S.ESTABLISHED, attribute_cache=caches,
              opn=peer_open(capabilities=(caps.Multiprotocol(1, 1),)))
    assert d.session.codec.cache is cache2
    # A plain AttributeCache is used when its width matches, else a private one.
    assert drive(S.ESTABLISHED, attribute_cache=cache4).session.codec.cache is cache4
    d = drive(S.ESTABLISHED, attribute_cache=cache4,
              opn=peer_open(capabilities=(caps.Multiprotocol(1, 1),)))
    assert d.session.codec.cache is not cache4 and not d.session.codec.four_octet


# ---------------------------------------------------------------------------
# Bytes in, bytes out

def test_keepalive_goes_before_queued_updates():
    d = drive(S.ESTABLISHED)
    s = d.session
    d.out()
    s.send_updates(1, [ipv4_update()] * 50)
    s.handle_timer(s.primary.timers[Timer.KEEPALIVE])
    chunk = s.data_to_send(d.conn, max_bytes=100)
    assert types(chunk)[0] == "KEEPALIVE"
    rest = s.data_to_send(d.conn)
    assert types(chunk + rest).count("UPDATE") == 50
    assert s.pending(d.conn) == 0


def test_can_send_turns_false_when_the_buffer_fills():
    d = drive(S.ESTABLISHED, config(max_send_buffer=1000))
    s = d.session
    d.out()
    assert s.can_send
    update = ipv4_update()
    while s.can_send:
        assert s.send_updates(1, [update])
    assert s.pending(d.conn) >= 1000
    s.data_to_send(d.conn, max_bytes=600)
    assert s.can_send
    assert not drive(S.OPENCONFIRM).session.can_send


def test_session_down_says_why():
    d = drive(S.ESTABLISHED)
    events = d.session.connection_closed(5, d.conn, "Connection reset by peer")
    (down,) = of(events, SessionDown)
    assert down.error.describe() == "Socket: Connection reset by peer"
    assert down.reason == "TCP connection failed: Connection reset by peer"
    d = drive(S.ESTABLISHED)
    (down,) = of(d.session.handle_timer(90), SessionDown)
    assert down.error.describe() == "Sent: Hold timer expired"
    assert down.reason == "hold timer expired: sent Hold timer expired"


def test_a_notification_before_garbage_is_still_read():
    d = drive(S.ESTABLISHED)
    s = d.session
    events = s.receive_data(1, d.conn, msg(Notification(6, 2)) + b"\x00" * 40)
    assert of(events, NotificationReceived) and not sent(events)
    assert s.last_error.describe() == "Received: Cease / Administrative shutdown"


def test_messages_before_a_bad_header_are_processed():
    d = drive(S.ESTABLISHED)
    s = d.session
    events = s.receive_data(1, d.conn, ipv4_update() + b"\xee" * 19)
    assert of(events, UpdateReceived)
    assert sent(events) == [(1, 1)] and s.state == S.IDLE


def test_messages_split_across_reads():
    d = drive(S.ESTABLISHED)
    s = d.session
    data = ipv4_update() * 3 + KEEPALIVE_MSG
    got = []
    for i in range(0, len(data), 7):
        got += of(s.receive_data(1, d.conn, data[i:i + 7]), UpdateReceived)
    assert len(got) == 3 and s.counters.messages_in[4] == 2    # + the one from drive()


def test_bytes_after_the_connection_closed_are_ignored():
    d = drive(S.ESTABLISHED)
    s = d.session
    events = s.receive_data(1, d.conn, msg(Notification(6, 2)) + ipv4_update())
    assert not of(events, UpdateReceived)
    assert s.receive_data(2, d.conn, ipv4_update()) == []
    assert s.data_to_send(d.conn) == b""


def test_unknown_connection_ids_are_harmless():
    s = Session(config())
    assert s.receive_data(0, 99, b"x") == []
    assert s.connection_closed(0, 99) == []
    assert s.connection_failed(0, 99) == []
    assert [type(e) for e in s.connection_made(0, 99)] == [CloseConnection]
    assert s.data_to_send(99) == b"" and s.pending(99) == 0


def test_info_summarises_the_session():
    p = pair(hostname="node-a", a_kw=dict(families=(V4, V6)), b_kw=dict(families=(V4, V6)))
    p.establish()
    info = p.b.info(p.now + 5)
    assert info["state"] == "Established" and info["uptime"] == 5
    assert info["negotiated"]["families"] == ["ipv4-unicast", "ipv6-unicast"]
    assert info["negotiated"]["hostname"] == "node-a"
    assert info["counters"]["messages_in"]["OPEN"] == 1
    assert set(info["timers"]) == {"hold", "keepalive"}
    assert [c["state"] for c in info["connections"]] == ["Established"]
    assert parse(b"") == []


def test_counters():
    p = pair()
    p.establish()
    a, b = p.a, p.b
    a.send_updates(p.now, announce(a, PREFIX_A))
    p.pump()
    p.advance(65)                            # keepalives at 0, 30 and 60
    assert a.counters.snapshot()["messages_out"] == {
        "OPEN": 1, "UPDATE": 1, "NOTIFICATION": 0, "KEEPALIVE": 3, "ROUTE_REFRESH": 0}
    assert b.counters.snapshot()["messages_in"] == {
        "OPEN": 1, "UPDATE": 1, "NOTIFICATION": 0, "KEEPALIVE": 3, "ROUTE_REFRESH": 0}
    assert (a.counters.updates_out, b.counters.updates_in) == (1, 1)
    assert a.counters.established_transitions == 1 and a.counters.last_state_change == 0
    assert a.uptime(p.now) == 65
    p.cut()
    assert a.counters.session_downs == 1 and a.counters.last_state_change == 65
    assert a.uptime(p.now) is None
    p.advance(5)
    p.complete_dial("a")
    assert a.counters.established_transitions == 2 and a.uptime(p.now) == 0
