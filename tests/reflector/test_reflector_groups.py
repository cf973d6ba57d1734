"""Update groups: who shares one Adj-RIB-Out and one stream of messages,
what the Adj-RIB-Out suppresses, and what every member ends up with."""

from __future__ import annotations

import pytest

from rib.policy import Policy
from reflector import NextHop
from wire.constants import NO_ADVERTISE, RefreshSubtype

from reflector_testlib import (V4, V6, Receiver, announce, attrs, drain, key, originate, params,
                               peer, stack, step, withdraw)

ACCEPT = Policy("accept-all", (), True)
E = peer("E", "192.0.2.1", 65001)
E2 = peer("E2", "192.0.2.2", 65002)
CLIENTS = [peer(f"C{i}", f"10.0.0.{i}", rr_client=True) for i in range(1, 4)]


def setup_clients(n=3, **kw):
    rib, ex = stack(**kw)
    rib.peer_up(E)
    rib.peer_up(E2)
    recv = {}
    for c in CLIENTS[:n]:
        rib.peer_up(c)
        ex.peer_up(c, params())
        recv[c.name] = Receiver()
        drain(ex, c.name, recv[c.name])
    return rib, ex, recv


def read_all(ex, recv, **kw):
    return {name: drain(ex, name, r, **kw) for name, r in recv.items()}


# -- membership and sharing ------------------------------------------------------------

def test_same_options_share_one_group_and_the_same_bytes():
    rib, ex, recv = setup_clients()
    assert len(ex.groups()) == 1
    rib.apply_update(E, announce([f"10.{i}.0.0/24" for i in range(100)],
                                 attrs(65001, next_hop="192.0.2.1")))
    touched = step(rib, ex)
    assert sorted(touched) == ["C1", "C2", "C3"]
    got = read_all(ex, recv)
    first = got["C1"]
    assert first and all(len(got[n]) == len(first) for n in got)
    for n in ("C2", "C3"):
        assert all(a is b for a, b in zip(first, got[n]))      # the very same objects
    assert ex.group_of("C1").batches == 1


@pytest.mark.parametrize("change", [
    dict(export_policy=ACCEPT),
    dict(next_hop=NextHop.SELF),
    dict(four_octet=False),
    dict(add_path=[V4]),
    dict(max_size=65535),
    dict(families=(V4, V6)),
    dict(send_med=True),
])
def test_different_options_make_another_group(change):
    rib, ex = stack()
    ex.peer_up(CLIENTS[0], params())
    ex.peer_up(CLIENTS[1], params(**change))
    assert len(ex.groups()) == 2


def test_different_kinds_of_peer_make_other_groups():
    rib, ex = stack()
    ex.peer_up(CLIENTS[0], params())
    ex.peer_up(peer("N", "10.0.1.1"), params())                     # not a client
    ex.peer_up(peer("L", "10.0.1.2", local_asn=65000, asn=65000), params())   # another local AS
    ex.peer_up(peer("X", "198.51.100.2", 65010), params())           # eBGP
    ex.peer_up(CLIENTS[1], params("10.255.0.9"))                     # another local address
    assert len(ex.groups()) == 5
    ex.peer_up(CLIENTS[2], params())
    assert len(ex.groups()) == 5
    assert ex.group_of("C3") is ex.group_of("C1")


def test_group_goes_with_its_last_member_and_comes_back_full():
    rib, ex, recv = setup_clients(2)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    ex.peer_down("C1")
    ex.peer_down("C2")
    assert ex.groups() == []
    ex.peer_up(CLIENTS[0], params())
    r = Receiver()
    drain(ex, "C1", r)
    assert r.prefixes() == {"10.1.0.0/24"} and r.end_of_rib == [V4]


# -- the Adj-RIB-Out --------------------------------------------------------------------

def test_identical_export_is_not_sent_again():
    rib, ex = stack()
    rib.peer_up(E)
    t = peer("T", "198.51.100.2", 65010)
    ex.peer_up(t, params("198.51.100.1", export_policy=ACCEPT))
    r = Receiver()
    drain(ex, "T", r)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1", med=5)))
    step(rib, ex)
    drain(ex, "T", r)
    # A new MED: a change in the RIB, but MED is not passed on to eBGP.
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1", med=9)))
    assert step(rib, ex) == []
    assert drain(ex, "T", r) == []
    assert r.duplicates == []


def test_withdrawal_only_for_what_was_announced():
    rib, ex, recv = setup_clients(1)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1",
                                                          communities=(NO_ADVERTISE,))))
    step(rib, ex)
    assert drain(ex, "C1", recv["C1"]) == []
    rib.apply_update(E, withdraw(["10.1.0.0/24"]))
    assert step(rib, ex) == []
    assert drain(ex, "C1", recv["C1"]) == []


def test_latest_state_only_between_reads():
    rib, ex, recv = setup_clients(1)
    r = recv["C1"]
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "C1", r)
    r.log.clear()
    # Changed three times, and a new prefix announced then withdrawn: the
    # peer reads once and gets the last state of 10.1/24 only.
    for med in (1, 2, 3):
        rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1", med=med)))
        step(rib, ex)
    rib.apply_update(E, announce(["10.2.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    rib.apply_update(E, withdraw(["10.2.0.0/24"]))
    step(rib, ex)
    # Withdrawn and announced again as it was: nothing to say.
    rib.apply_update(E, withdraw(["10.1.0.0/24"]))
    step(rib, ex)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1", med=3)))
    step(rib, ex)
    drain(ex, "C1", r)
    assert r.log == [("+", V4, key("10.1.0.0/24"))]
    assert r.route("10.1.0.0/24")[0]["med"] == 3
    assert r.spurious == [] and r.duplicates == []


def test_withdrawals_come_first():
    rib, ex, recv = setup_clients(1)
    r = recv["C1"]
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "C1", r)
    r.log.clear()
    rib.apply_update(E, announce(["10.3.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.apply_update(E, withdraw(["10.1.0.0/24"]))
    step(rib, ex)
    drain(ex, "C1", r)
    assert [e[0] for e in r.log] == ["-", "+"]


def test_a_members_own_route_replacing_anothers_withdraws_for_it_alone():
    rib, ex, recv = setup_clients(2)
    p = "10.5.0.0/24"
    rib.apply_update(E, announce([p], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    read_all(ex, recv)
    assert all(r.route(p) for r in recv.values())
    # C1's own route wins (higher LOCAL_PREF): C2 gets C1's route, C1 must
    # lose E's route, and is not sent its own.
    rib.apply_update(CLIENTS[0], announce([p], attrs(next_hop="10.0.0.1", local_pref=500)))
    step(rib, ex)
    read_all(ex, recv)
    assert recv["C1"].route(p) is None
    assert recv["C2"].route(p)[1] == bytes([10, 0, 0, 1])
    # C1 withdraws: both get E's route again.
    rib.apply_update(CLIENTS[0], withdraw([p]))
    step(rib, ex)
    read_all(ex, recv)
    for r in recv.values():
        assert r.route(p)[1] == bytes([192, 0, 2, 1])
        assert r.spurious == [] and r.duplicates == []


# -- new members and refresh --------------------------------------------------------------

def test_new_member_gets_the_table_then_end_of_rib_once():
    rib, ex, recv = setup_clients(1)
    originate(rib, "10.245.0.64/26")
    rib.apply_update(E, announce(["10.1.0.0/24", "10.2.0.0/24"],
                                 attrs(65001, next_hop="192.0.2.1")))
    rib.peer_up(CLIENTS[1])
    rib.apply_update(CLIENTS[1], announce(["10.9.0.0/26"], attrs(next_hop="10.0.0.2")))
    step(rib, ex)
    ex.peer_up(CLIENTS[1], params(families=(V4, V6)))
    r = Receiver()
    drain(ex, "C2", r, max_bytes=60)
    assert r.prefixes() == {"10.245.0.64/26", "10.1.0.0/24", "10.2.0.0/24"}   # not its own
    assert r.end_of_rib == [V4, V6]
    assert r.log[-1] == ("eor", V6)
    rib.apply_update(E, announce(["10.3.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "C2", r)
    assert "10.3.0.0/24" in r.prefixes() and r.end_of_rib == [V4, V6]
    assert ex.counts("C2") == {V4: 4, V6: 0}


def test_joining_while_others_have_pending_changes():
    rib, ex, recv = setup_clients(1)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)                           # C1 has not read it yet
    ex.peer_up(CLIENTS[1], params())
    r2 = Receiver()
    drain(ex, "C2", r2)
    drain(ex, "C1", recv["C1"])
    assert r2.prefixes() == recv["C1"].prefixes() == {"10.1.0.0/24"}
    assert r2.duplicates == []


@pytest.mark.parametrize("enhanced", [False, True])
def test_refresh_sends_everything_again(enhanced):
    rib, ex, recv = setup_clients(1)
    r = recv["C1"]
    rib.apply_update(E, announce(["10.1.0.0/24", "10.2.0.0/24"],
                                 attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    drain(ex, "C1", r)
    # A withdrawal queued but not read when the refresh comes: it still goes first.
    rib.apply_update(E, withdraw(["10.2.0.0/24"]))
    step(rib, ex)
    r.log.clear()
    ex.refresh("C1", V4, enhanced=enhanced)
    drain(ex, "C1", r)
    kinds = [e[0] if e[0] != "marker" else RefreshSubtype(e[1]).name for e in r.log]
    if enhanced:
        assert kinds == ["-", "BORR", "+", "EORR"]
    else:
        assert kinds == ["-", "+"]
    assert r.prefixes() == {"10.1.0.0/24"}
    assert r.end_of_rib == [V4]             # not again


def test_counts_and_exported_view():
    rib, ex, recv = setup_clients(2)
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.apply_update(CLIENTS[0], announce(["10.9.0.0/26"], attrs(next_hop="10.0.0.1")))
    step(rib, ex)
    assert ex.counts("C1") == {V4: 1} and ex.counts("C2") == {V4: 2}
    rows = list(ex.exported("C2", V4))
    assert {k for k, _a, _n in rows} == {key("10.1.0.0/24"), key("10.9.0.0/26")}
    for k, a, n in rows:
        assert a.local_pref == 100 and n == a.next_hop
    assert ex.pending("C2") and ex.backlog("C2")["detached_since"] is None
    drain(ex, "C2")
    assert not ex.pending("C2")


# -- reconfiguration -------------------------------------------------------------------------

def test_reconfigure_moves_to_another_group_with_the_difference():
    from reflector_testlib import params as mk
    rib, ex, recv = setup_clients(2)
    rib.apply_update(E, announce(["10.1.0.0/24", "10.2.0.0/24"],
                                 attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    read_all(ex, recv)
    r = recv["C1"]
    r.log.clear()
    # C1 now has next-hop-self: every route changes next hop.
    ex.reconfigure("C1", mk(next_hop=NextHop.SELF))
    assert ex.group_of("C1") is not ex.group_of("C2")
    drain(ex, "C1", r)
    assert {e[0] for e in r.log} == {"+"} and len(r.log) == 2
    assert r.route("10.1.0.0/24")[1] == bytes([10, 255, 0, 1])
    # and back: the same group as C2 again, the old next hops again
    ex.reconfigure("C1", mk())
    assert ex.group_of("C1") is ex.group_of("C2")
    drain(ex, "C1", r)
    assert r.route("10.1.0.0/24")[1] == bytes([192, 0, 2, 1])
    assert r.spurious == [] and r.duplicates == []
    with pytest.raises(ValueError):
        ex.reconfigure("C1", mk(four_octet=False))


def test_unknown_peer_is_an_error():
    rib, ex = stack()
    with pytest.raises(ValueError):
        ex.next_messages("nobody")
    ex.peer_down("nobody")                  # no session: nothing to do


def test_family_disabled_and_moving_while_behind():
    from reflector_testlib import announce6, params as mk
    rib, ex = stack(max_backlog=300)
    rib.peer_up(E, families=(V4, V6))
    for c in CLIENTS[:2]:
        ex.peer_up(c, mk(families=(V4, V6)))
    recv = {c.name: Receiver() for c in CLIENTS[:2]}
    read_all(ex, recv)
    for i in range(10):                   # C2 reads, C1 falls behind
        rib.apply_update(E, announce([f"10.{i}.0.0/24"], attrs(65001, next_hop="192.0.2.1",
                                                               med=i)))
        rib.apply_update(E, announce6([f"2001:db8:{i}::/48"], attrs(65001), "2001:db8::1"))
        step(rib, ex)
        drain(ex, "C2", recv["C2"])
    assert ex.backlog("C1")["detached_since"] is not None
    # RFC 7606: C1's IPv6 family is disabled; it moves to an IPv4-only group.
    ex.reconfigure("C1", mk(families=(V4,)))
    assert ex.group_of("C1") is not ex.group_of("C2")
    drain(ex, "C1", recv["C1"])
    assert recv["C1"].prefixes() == recv["C2"].prefixes()
    rib.apply_update(E, announce6(["2001:db8:99::/48"], attrs(65001), "2001:db8::1"))
    step(rib, ex)
    before = dict(recv["C1"].routes)
    drain(ex, "C1", recv["C1"])
    assert recv["C1"].routes == before
    with pytest.raises(ValueError):
        ex.reconfigure("C1", mk(families=(V4, V6)))   # a new family needs a new session


def test_end_of_rib_held_while_we_recover_from_a_restart():
    # RFC 4724 4.1: a restarting speaker sends End-of-RIB only once it has
    # decided its routes again; the table goes out meanwhile, End-of-RIB after.
    rib, ex, recv = setup_clients(1)
    originate(rib, "10.245.0.64/26")
    step(rib, ex)
    ex.hold_end_of_rib = True
    ex.peer_up(CLIENTS[1], params(families=(V4, V6)))
    r = Receiver()
    drain(ex, "C2", r)
    assert r.prefixes() == {"10.245.0.64/26"} and r.end_of_rib == []
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    step(rib, ex)
    assert ex.release_end_of_rib() == ["C2"]
    drain(ex, "C2", r)
    assert "10.1.0.0/24" in r.prefixes() and r.end_of_rib == [V4, V6]
    assert r.log[-1] == ("eor", V6)
    # Later sessions get End-of-RIB at once again.
    ex.peer_down("C2")
    ex.peer_up(CLIENTS[1], params(families=(V4,)))
    r2 = Receiver()
    drain(ex, "C2", r2)
    assert r2.end_of_rib == [V4] and ex.release_end_of_rib() == []
