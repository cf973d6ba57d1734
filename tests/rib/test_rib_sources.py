"""Sources and session set-up: ``PeerInfo``/``LocalSource`` values, what a
new ``peer_up`` changes (soft reconfiguration, add-path), and the values
queries hand out (``LocRoute``, ``Candidate``, ``Change``)."""

from __future__ import annotations

import ipaddress

import pytest

from rib import DecisionOptions, Install, LocalKind, LocalSource, PeerInfo, Status
from wire import Update

from ribtest import V4, announce, attrs, key, new_rib, nh, peer, withdraw

A = peer("A", "10.0.0.1", 65001)


def test_peer_info_normalises_and_derives():
    p = PeerInfo("n", "2001:db8::1", 65001, 65001, "192.0.2.7", rr_client=True)
    assert p.address == ipaddress.ip_address("2001:db8::1")
    assert p.bgp_id == int(ipaddress.IPv4Address("192.0.2.7"))
    assert p.ibgp and not p.ebgp and not p.local and p.kind is None
    assert p.install is Install.FORWARD and p.announce and str(p) == "n"
    assert PeerInfo("n", "10.0.0.1", 1, 2, 5).bgp_id == 5
    with pytest.raises(ValueError):
        PeerInfo("n", "10.0.0.1", 1, 2, 1 << 32)
    # IPv4 peers sort before IPv6 ones, then by address
    v4 = PeerInfo("z", "10.0.0.2", 1, 2, 1)
    assert v4.order < p.order and PeerInfo("y", "10.0.0.10", 1, 2, 1).order > v4.order
    with pytest.raises(Exception):
        p.asn = 5


def test_local_sources():
    s = LocalSource(LocalKind.SERVICE)
    assert s.name == "service" and str(s) == "service"
    assert s.local and not s.ebgp and not s.ibgp
    assert s.install is Install.NONE and s.announce
    assert LocalSource(LocalKind.KERNEL).order > LocalSource(LocalKind.STATIC).order
    assert [k.rank for k in LocalKind] == [0, 1, 2, 3]


def test_soft_reconfiguration_switched_on_and_off_by_peer_up():
    rib = new_rib()
    rib.peer_up(A, soft_reconfig=True)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], attrs(65001,
                                                                      next_hop="192.0.2.1")))
    rib.apply_update(A, withdraw(["10.0.1.0/24"]))
    assert rib.source_counts(A)[V4]["received"] == 1
    rib.peer_down(A)
    rib.peer_up(A)                                  # a new session without it
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    assert rib.source_counts(A)[V4]["received"] is None
    adj = rib._state(A).adj[V4]
    (path,) = adj.routes.values()
    assert path.refs == 1                           # the dropped copy released its share


def test_add_path_switched_by_a_new_session():
    rib = new_rib()
    ib = peer("I", "10.0.0.9", 64512)
    rib.peer_up(ib, add_path=(V4,))
    rib.apply_update(ib, Update((), attrs(next_hop="192.0.2.1"), [(7, key("10.0.0.0/24"))]))
    rib.peer_down(ib, graceful=True)
    rib.peer_up(ib, forwarding_preserved=(V4,))      # no add-path this time: start afresh
    assert rib.prefix_count(ib, V4) == 0
    rib.apply_update(ib, announce(["10.0.0.0/24"], attrs(next_hop="192.0.2.1")))
    assert rib.get(V4, "10.0.0.0/24").best.path_id == 0


def test_pending_counts_prefixes_awaiting_the_decision():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], attrs(65001,
                                                                      next_hop="192.0.2.1")))
    assert rib.pending == 2
    rib.drain_changes()
    assert rib.pending == 0


def test_values_handed_out():
    rib = new_rib(options=DecisionOptions(max_paths=2))
    b = peer("B", "10.0.0.2", 65001)
    for p in (A, b):
        rib.peer_up(p)
        rib.apply_update(p, announce(["10.0.0.0/24"], attrs(65001, next_hop=str(p.address))))
    (change,) = rib.drain_changes()
    assert change.prefix == "10.0.0.0/24" and change.best.source is A
    route = rib.get(V4, key("10.0.0.0/24"))
    assert route == rib.lookup(V4, "10.0.0.9") and route != "10.0.0.0/24"
    assert route.attrs is route.best.attrs and route.source is A
    assert route.as_dict() == {"prefix": "10.0.0.0/24", "source": "A",
                               "next_hops": ["10.0.0.1", "10.0.0.2"], "install": "forward",
                               "paths": 2}
    assert "10.0.0.0/24" in repr(route)
    (best, multi) = rib.explain(V4, "10.0.0.0/24")
    assert multi.status is Status.MULTIPATH
    assert multi.as_dict()["beaten_by"] == "A"
    assert "B" in repr(multi.path) and nh("10.0.0.2") == multi.path.next_hop
    assert multi.path.next_hop_text() == ["10.0.0.2"]
