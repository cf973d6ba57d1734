"""Origination, queries (longest-prefix match, iteration, counts), next-hop
reachability changes and option changes."""

from __future__ import annotations

import pytest

from rib import DecisionOptions, Ineligible, Install, LocalKind, RibError

from ribtest import V4, V6, announce, announce6, attrs, best_sources, key, new_rib, nh, peer

A = peer("A", "10.0.0.1", 65001)
B = peer("B", "10.0.0.2", 65002)


def test_longest_prefix_match():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "0.0.0.0/0"],
                                 attrs(65001, next_hop="192.0.2.1")))
    assert rib.lookup(V4, "10.1.2.3").prefix == "10.1.2.0/24"
    assert rib.lookup(V4, "10.1.3.3").prefix == "10.1.0.0/16"
    assert rib.lookup(V4, "10.9.9.9").prefix == "10.0.0.0/8"
    assert rib.lookup(V4, "192.168.1.1").prefix == "0.0.0.0/0"
    assert rib.lookup(V4, bytes([10, 1, 2, 3])).prefix == "10.1.2.0/24"
    assert rib.lookup(V6, "2001:db8::1") is None
    with pytest.raises(RibError):
        rib.lookup(V4, "2001:db8::1")


def test_lookup_skips_prefixes_without_a_usable_route():
    rib = new_rib(resolver=lambda hop: (hop != nh("192.0.2.66"), 0))
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/8"], attrs(65001, next_hop="192.0.2.1")))
    rib.apply_update(A, announce(["10.1.0.0/16"], attrs(65001, next_hop="192.0.2.66")))
    assert rib.lookup(V4, "10.1.0.1").prefix == "10.0.0.0/8"


def test_ipv6_lookup():
    rib = new_rib()
    rib.peer_up(A, families=(V6,))
    rib.apply_update(A, announce6(["2001:db8::/32", "2001:db8:ab::/48"], attrs(65001),
                                  "2001:db8::1"))
    assert rib.lookup(V6, "2001:db8:ab::1").prefix == "2001:db8:ab::/48"
    assert rib.lookup(V6, "2001:db8:ac::1").prefix == "2001:db8::/32"


def test_origination_kinds_and_what_the_kernel_layer_does():
    rib = new_rib()
    rib.originate(V4, "10.245.0.64/26", kind=LocalKind.LOCAL_BLOCK)
    rib.originate(V4, "10.96.0.0/12", kind=LocalKind.SERVICE)
    rib.originate(V4, "172.16.0.0/16", kind=LocalKind.STATIC)
    rib.originate(V4, "172.17.0.0/16", kind=LocalKind.STATIC, next_hop="192.0.2.1")
    rib.originate(V4, "10.245.0.70/32", kind=LocalKind.KERNEL, next_hop="192.168.16.5")
    assert len(rib.drain_changes()) == 5
    routes = {r.prefix: r for r in rib.routes(V4)}
    assert routes["10.245.0.64/26"].install is Install.BLACKHOLE
    assert routes["10.96.0.0/12"].install is Install.NONE
    assert routes["172.16.0.0/16"].install is Install.BLACKHOLE
    assert routes["172.17.0.0/16"].install is Install.FORWARD
    assert routes["10.245.0.70/32"].install is Install.NONE
    assert not routes["10.245.0.70/32"].source.announce
    assert routes["10.245.0.64/26"].source.announce
    assert routes["10.245.0.64/26"].as_dict()["install"] == "blackhole"
    assert {k for _f, k, _p in rib.originated(LocalKind.STATIC)} == {
        key("172.16.0.0/16"), key("172.17.0.0/16")}
    assert rib.withdraw_originated(V4, "10.96.0.0/12", LocalKind.SERVICE)
    assert not rib.withdraw_originated(V4, "10.96.0.0/12", LocalKind.SERVICE)
    (c,) = rib.drain_changes()
    assert c.prefix == "10.96.0.0/12" and c.withdrawn


def test_local_route_wins_over_a_learned_one_and_comes_back():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.245.0.64/26"], attrs(65001, next_hop="192.0.2.1")))
    rib.originate(V4, "10.245.0.64/26", kind=LocalKind.LOCAL_BLOCK)
    assert best_sources(rib) == {"10.245.0.64/26": ("local-block",)}
    rib.withdraw_originated(V4, "10.245.0.64/26", LocalKind.LOCAL_BLOCK)
    assert best_sources(rib) == {"10.245.0.64/26": ("A",)}
    # kernel-learned yields to configured origination
    rib.originate(V4, "10.245.0.64/26", kind=LocalKind.KERNEL, next_hop="192.0.2.7")
    rib.originate(V4, "10.245.0.64/26", kind=LocalKind.STATIC)
    assert best_sources(rib) == {"10.245.0.64/26": ("static",)}


def test_prefix_text_must_match_the_family():
    with pytest.raises(RibError):
        new_rib().originate(V6, "10.0.0.0/8")
    with pytest.raises(ValueError):
        new_rib().originate(V4, "10.0.0.1/8")       # host bits


def test_a_peer_cannot_take_a_local_source_name():
    rib = new_rib()
    rib.originate(V4, "10.0.0.0/8")
    with pytest.raises(RibError):
        rib.peer_up(peer("static", "10.0.0.5", 65005))


def test_iteration_filters_and_counts():
    rib = new_rib()
    rib.peer_up(A)
    rib.peer_up(B)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], attrs(65001,
                                                                      next_hop="192.0.2.1")))
    rib.apply_update(B, announce(["10.0.1.0/24", "10.0.2.0/24"], attrs(65002, 5,
                                                                      next_hop="192.0.2.2")))
    assert {r.prefix for r in rib.routes(V4, source="B")} == {"10.0.2.0/24"}
    assert {r.prefix for r in rib.routes(source=A)} == {"10.0.0.0/24", "10.0.1.0/24"}
    assert rib.counts() == {V4: {"prefixes": 3, "selected": 3, "paths": 4}}
    assert rib.source_counts(B) == {V4: {"received": None, "accepted": 2, "stale": 0,
                                         "preferred": 1}}
    assert rib.prefix_count(A, V4) == 2
    assert sorted(s.name for s in rib.sources()) == ["A", "B"]
    rib.remove_peer(B)
    assert rib.counts()[V4]["prefixes"] == 2
    with pytest.raises(RibError):
        rib.source_counts(B)


def test_next_hop_becoming_unreachable_and_back():
    reachable = {nh("192.0.2.1"): True, nh("192.0.2.2"): True}
    rib = new_rib(resolver=lambda hop: (reachable[hop], 0))
    rib.peer_up(A)
    rib.peer_up(B)
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.apply_update(B, announce(["10.0.0.0/24"], attrs(65002, 7, next_hop="192.0.2.2")))
    rib.apply_update(A, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.drain_changes()
    reachable[nh("192.0.2.1")] = False
    rib.next_hops_changed([nh("192.0.2.1")])
    changes = {c.prefix: c for c in rib.drain_changes()}
    assert changes["10.0.0.0/24"].best.source is B
    assert changes["10.1.0.0/24"].withdrawn
    assert rib.explain(V4, "10.1.0.0/24")[0].reason is Ineligible.NEXT_HOP_UNREACHABLE
    reachable[nh("192.0.2.1")] = True
    rib.next_hops_changed()
    assert {c.prefix for c in rib.drain_changes()} == {"10.0.0.0/24", "10.1.0.0/24"}
    rib.next_hops_changed()                     # nothing changed: no events
    assert rib.drain_changes() == []


def test_igp_cost_change_reorders():
    cost = {nh("192.0.2.1"): 1, nh("192.0.2.2"): 5}
    rib = new_rib(resolver=lambda hop: (True, cost[hop]))
    i1 = peer("i1", "10.0.0.3", 64512)
    i2 = peer("i2", "10.0.0.4", 64512)
    for p, hop in ((i1, "192.0.2.1"), (i2, "192.0.2.2")):
        rib.peer_up(p)
        rib.apply_update(p, announce(["10.0.0.0/24"], attrs(next_hop=hop, local_pref=100)))
    assert best_sources(rib) == {"10.0.0.0/24": ("i1",)}
    rib.drain_changes()
    cost[nh("192.0.2.1")] = 10
    rib.set_resolver(lambda hop: (True, cost[hop]))
    (c,) = rib.drain_changes()
    assert c.best.source is i2


def test_new_options_decide_again():
    rib = new_rib()
    for p, a in ((A, attrs(65001, 9, next_hop="192.0.2.1")),
                 (B, attrs(65002, 9, next_hop="192.0.2.2"))):
        rib.peer_up(p)
        rib.apply_update(p, announce(["10.0.0.0/24"], a))
    rib.drain_changes()
    rib.set_options(DecisionOptions(max_paths=2))
    (c,) = rib.drain_changes()
    assert [p.source.name for p in c.new] == ["A", "B"]
    rib.set_options(DecisionOptions(max_paths=2))       # the same: nothing to do
    assert rib.drain_changes() == []
    assert rib.options.max_paths == 2
