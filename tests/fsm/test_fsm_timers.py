"""Timers as data: hold, keepalive, connect retry, DelayOpen, idle hold with
damping, jitter.  Time is a float passed in; nothing sleeps."""

from __future__ import annotations

import pytest

from fsm import (CloseConnection, Connect, NotificationSent, Session, State, StateChanged,
                 Timer)
from fsm_testlib import (KEEPALIVE_MSG, config, drive, ipv4_update, msg, of, peer_open,
                         sent, types)
from wire import Notification

S = State


def run_until(s: Session, end: float, on_tick=None) -> list:
    """Fire timers in order up to ``end``; return [(time, events)]."""
    out = []
    while True:
        d = s.next_deadline()
        if d is None or d > end:
            return out
        events = s.handle_timer(d)
        out.append((d, events))
        if on_tick:
            on_tick(d)


def test_hold_timer_expiry_sends_hold_timer_expired():
    d = drive(S.ESTABLISHED)
    s = d.session
    assert s.primary.timers[Timer.HOLD] == 90
    assert s.handle_timer(89.999) == []
    events = s.handle_timer(90)
    assert s.state == S.IDLE
    assert sent(events) == [(4, 0)]
    assert s.last_error.describe() == "Sent: Hold timer expired"
    assert (close := of(events, CloseConnection)) and close[0].conn == d.conn


def test_keepalive_and_update_restart_the_hold_timer():
    d = drive(S.ESTABLISHED)
    s = d.session
    s.receive_data(50, d.conn, KEEPALIVE_MSG)
    assert s.primary.timers[Timer.HOLD] == 140
    s.receive_data(100, d.conn, ipv4_update())
    assert s.primary.timers[Timer.HOLD] == 190
    run_until(s, 189)
    assert s.state == S.ESTABLISHED
    run_until(s, 190)
    assert s.state == S.IDLE


def test_keepalive_cadence():
    d = drive(S.ESTABLISHED)
    s = d.session
    d.out()
    sent_at = []

    def tick(t):
        if "KEEPALIVE" in types(s.data_to_send(d.conn)):
            sent_at.append(t)
        s.receive_data(t, d.conn, KEEPALIVE_MSG)    # the peer keeps the session up
    run_until(s, 200, tick)
    assert sent_at == [30, 60, 90, 120, 150, 180]
    assert s.state == S.ESTABLISHED


def test_sending_an_update_restarts_the_keepalive_timer():
    d = drive(S.ESTABLISHED)
    s = d.session
    assert s.send_updates(20, [ipv4_update()])
    assert s.primary.timers[Timer.KEEPALIVE] == 50


@pytest.mark.parametrize("ours,theirs", [(0, 90), (90, 0), (0, 0)])
def test_hold_time_zero_means_no_hold_and_no_keepalive(ours, theirs):
    d = drive(S.ESTABLISHED, config(hold_time=ours), opn=peer_open(hold_time=theirs))
    s = d.session
    assert s.negotiated.hold_time == 0 and s.negotiated.keepalive_time == 0
    assert s.next_deadline() is None
    assert s.handle_timer(1e9) == []
    assert s.state == S.ESTABLISHED
    s.receive_data(5000, d.conn, KEEPALIVE_MSG)
    s.send_updates(6000, [ipv4_update()])
    assert s.next_deadline() is None


def test_opensent_waits_four_minutes_for_the_open():
    d = drive(S.OPENSENT)
    s = d.session
    assert s.primary.timers == {Timer.HOLD: 240}
    events = s.handle_timer(240)
    assert sent(events) == [(4, 0)] and s.state == S.IDLE


def test_openconfirm_uses_the_negotiated_hold_time():
    d = drive(S.OPENCONFIRM, opn=peer_open(hold_time=30))
    assert d.session.primary.timers == {Timer.HOLD: 30, Timer.KEEPALIVE: 10}
    assert types(d.out()) == ["OPEN", "KEEPALIVE"]


def test_delay_open_waits_then_sends_open():
    s = Session(config(delay_open_time=5.0))
    (dial,) = of(s.start(0), Connect)
    s.connection_made(0, dial.conn)
    assert s.state == S.CONNECT
    assert s.data_to_send(dial.conn) == b""
    assert s.next_deadline() == 5.0
    assert s.handle_timer(4.9) == []
    events = s.handle_timer(5.0)
    assert s.state == S.OPENSENT
    assert of(events, StateChanged)[0].new == S.OPENSENT
    assert types(s.data_to_send(dial.conn)) == ["OPEN"]


def test_delay_open_peer_opens_first():
    s = Session(config(delay_open_time=5.0, passive=True))
    s.start(0)
    conn, _ = s.accept(0)
    assert s.state == S.ACTIVE
    s.receive_data(2.0, conn, msg(peer_open()))
    assert s.state == S.OPENCONFIRM
    assert Timer.DELAY_OPEN not in s.primary.timers
    assert types(s.data_to_send(conn)) == ["OPEN", "KEEPALIVE"]
    s.receive_data(2.5, conn, KEEPALIVE_MSG)
    assert s.state == S.ESTABLISHED


def _flap(s: Session, now: float, up_for: float) -> float:
    """From Idle-with-idle-hold: wait it out, come up, stay up, fail.
    Returns the idle hold time that was waited."""
    deadline = s.primary.timers[Timer.IDLE_HOLD]
    wait = deadline - now
    (dial,) = of(s.handle_timer(deadline), Connect)
    now = deadline
    s.connection_made(now, dial.conn)
    s.receive_data(now, dial.conn, msg(peer_open(hold_time=0)))
    s.receive_data(now, dial.conn, KEEPALIVE_MSG)
    assert s.state == S.ESTABLISHED
    now += up_for
    s.connection_closed(now, dial.conn, "reset")
    assert s.state == S.IDLE
    return wait, now


def test_idle_hold_doubles_on_each_flap_up_to_the_cap_and_resets():
    cfg = config(idle_hold_time=5, idle_hold_max=300, idle_hold_reset_time=600)
    d = drive(S.ESTABLISHED, cfg)
    s = d.session
    s.connection_closed(10, d.conn, "reset")
    now = 10
    waits = []
    for _ in range(9):
        wait, now = _flap(s, now, up_for=60)
        waits.append(wait)
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    # Up for long enough: the peer is stable again, the count starts afresh.
    wait, now = _flap(s, now, up_for=600)
    assert wait == 300
    wait, now = _flap(s, now, up_for=1)
    assert wait == 5
    wait, now = _flap(s, now, up_for=1)
    assert wait == 10


def test_idle_hold_without_damping_is_constant():
    d = drive(S.ESTABLISHED, config(damp_peer_oscillations=False, idle_hold_time=7))
    s = d.session
    s.connection_closed(0, d.conn)
    now = 0
    waits = []
    for _ in range(4):
        wait, now = _flap(s, now, up_for=1)
        waits.append(wait)
    assert waits == [7, 7, 7, 7]


def test_manual_start_forgets_damping_and_starts_at_once():
    d = drive(S.ESTABLISHED)
    s = d.session
    s.connection_closed(0, d.conn)
    s.damping_level = 5             # as after many flaps
    s.stop(1)
    assert s.primary.timers == {}
    events = s.start(2)
    assert s.state == S.CONNECT and of(events, Connect)
    assert s.damping_level == 0


def test_refused_connection_waits_connect_retry_time():
    s = Session(config())
    (dial,) = of(s.start(0), Connect)
    events = s.connection_failed(1, dial.conn, "Connection refused")
    assert s.state == S.ACTIVE
    assert s.last_error.describe() == "Socket: Connection refused"
    assert s.primary.timers == {Timer.CONNECT_RETRY: 121}
    events = s.handle_timer(121)
    assert s.state == S.CONNECT
    (again,) = of(events, Connect)
    assert again.conn != dial.conn
    assert s.counters.connect_retries == 1


def test_connect_retry_abandons_a_hanging_dial():
    s = Session(config())
    (dial,) = of(s.start(0), Connect)
    events = s.handle_timer(120)
    assert [e.conn for e in of(events, CloseConnection)] == [dial.conn]
    (again,) = of(events, Connect)
    assert s.state == S.CONNECT and s.primary.timers[Timer.CONNECT_RETRY] == 240
    # The driver was late to cancel: the old dial completes anyway.
    assert of(s.connection_made(121, dial.conn), CloseConnection)
    assert s.state == S.CONNECT


@pytest.mark.parametrize("u,factor", [(0.0, 0.75), (0.5, 0.875), (0.999999, 1.0)])
def test_jitter_scales_connect_retry_and_keepalive(u, factor):
    s = Session(config(), rng=lambda: u)
    s.start(0)
    assert s.primary.timers[Timer.CONNECT_RETRY] == pytest.approx(120 * factor)
    conn, _ = s.accept(0)
    s.receive_data(0, conn, msg(peer_open()))
    assert s.primary.timers[Timer.KEEPALIVE] == pytest.approx(30 * factor)
    assert s.primary.timers[Timer.HOLD] == 90         # never jittered


def test_passive_session_never_dials():
    s = Session(config(passive=True))
    events = s.start(0)
    assert s.state == S.ACTIVE and not of(events, Connect)
    assert s.next_deadline() is None
    conn, events = s.accept(5)
    s.connection_closed(6, conn)
    assert s.state == S.ACTIVE and s.next_deadline() is None


def test_handle_timer_before_the_deadline_does_nothing():
    d = drive(S.ESTABLISHED)
    before = dict(d.session.primary.timers)
    assert d.session.handle_timer(1) == []
    assert d.session.primary.timers == before


def test_automatic_stop_restarts_after_idle_hold():
    d = drive(S.ESTABLISHED, config(idle_hold_time=30))
    s = d.session
    events = s.stop(10, Notification(6, 1), automatic=True)
    assert sent(events) == [(6, 1)] and s.state == S.IDLE
    assert s.primary.timers == {Timer.IDLE_HOLD: 40}
    events = s.handle_timer(40)
    assert s.state == S.CONNECT and of(events, Connect)


def test_stop_during_idle_hold_cancels_the_restart():
    d = drive(S.ESTABLISHED)
    s = d.session
    s.connection_closed(0, d.conn)
    assert Timer.IDLE_HOLD in s.primary.timers
    assert s.stop(1) == []
    assert s.next_deadline() is None and not s.enabled
    assert not of(s.handle_timer(1000), NotificationSent)
