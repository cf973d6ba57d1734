"""``Rib.apply_update`` with UPDATEs as the session decodes them: IPv4 in
the body, other families in MP_REACH/MP_UNREACH, treat-as-withdraw,
add-path, the import-policy hook, and the sharing of paths and keys."""

from __future__ import annotations

import pytest

from rib import Ineligible, RibError
from wire import Action, AttributeCache, Framer, Update, UpdateCodec, make_attributes
from wire.update import pack_reach

from ribtest import (V4, V6, announce, announce6, attrs, best_sources, encoded, key, new_rib,
                     nh, peer, withdraw, withdraw6)

A = peer("A", "10.0.0.1", 65001)
B = peer("B", "10.0.0.2", 65002)
C = peer("C", "10.0.0.3", 65003)
IB = peer("I", "10.0.0.9", 64512)


def test_through_the_codec():
    rib = new_rib()
    rib.peer_up(A)
    a = attrs(65001, 9, next_hop="192.0.2.1", communities=(65001 << 16 | 7,))
    for u in encoded(a, [f"10.{i // 200}.{i % 200}.0/24" for i in range(300)]):
        rib.apply_update(A, u)
    assert len(rib.drain_changes()) == 300
    for u in encoded(None, withdrawn=[f"10.0.{i}.0/24" for i in range(100)]):
        rib.apply_update(A, u)
    assert len(rib.drain_changes()) == 100
    assert rib.counts()[V4]["selected"] == 200


def test_ipv6_in_mp_attributes():
    rib = new_rib()
    rib.peer_up(A, families=(V6,))
    codec = UpdateCodec()
    a = attrs(65001)
    for u in encoded(a, ["2001:db8:1::/48", "2001:db8:2::/48"], family=V6,
                     next_hop=nh("2001:db8::1") + nh("fe80::1"), codec=codec):
        rib.apply_update(A, u)
    route = rib.lookup(V6, "2001:db8:1::5")
    assert route.prefix == "2001:db8:1::/48"
    assert route.next_hops == (nh("2001:db8::1") + nh("fe80::1"),)
    rib.apply_update(A, withdraw6(["2001:db8:1::/48"]))
    assert rib.lookup(V6, "2001:db8:1::5") is None
    assert rib.get(V6, "2001:db8:2::/48").best.source is A


def test_treat_as_withdraw_from_the_codec():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], attrs(65001,
                                                                      next_hop="192.0.2.1")))
    # ORIGIN 7 is undefined: RFC 7606 treat-as-withdraw
    bad = (b"\x40\x01\x01\x07" + b"\x40\x02\x06\x02\x01\x00\x00\xfd\xe9"
           + b"\x40\x03\x04\xc0\x00\x02\x01")
    (msg,) = pack_reach(bad, [key("10.0.0.0/24")])
    u = UpdateCodec().decode(Framer().feed(msg)[0][1])
    assert u.action is Action.TREAT_AS_WITHDRAW
    rib.apply_update(A, u)
    assert set(best_sources(rib)) == {"10.0.1.0/24"}


def test_treat_as_withdraw_of_mp_reach():
    rib = new_rib()
    rib.peer_up(A, families=(V6,))
    rib.apply_update(A, announce6(["2001:db8::/32"], attrs(65001), "2001:db8::1"))
    u = announce6(["2001:db8::/32"], attrs(65001), "2001:db8::1")
    u.action = Action.TREAT_AS_WITHDRAW
    rib.apply_update(A, u)
    assert list(rib.routes(V6)) == []


def test_add_path_receive_keeps_each_path():
    rib = new_rib()
    rib.peer_up(IB, add_path=(V4,))
    a1 = attrs(next_hop="192.0.2.1", local_pref=100)
    a2 = attrs(next_hop="192.0.2.2", local_pref=100)
    rib.apply_update(IB, Update((), a1, [(1, key("10.0.0.0/24")), (1, key("10.0.1.0/24"))]))
    rib.apply_update(IB, Update((), a2, [(2, key("10.0.0.0/24"))]))
    cands = rib.explain(V4, "10.0.0.0/24")
    assert [(c.path.path_id, c.path.next_hop) for c in cands] == [
        (1, nh("192.0.2.1")), (2, nh("192.0.2.2"))]
    assert cands[1].step.value == "path-id"
    rib.apply_update(IB, Update([(1, key("10.0.0.0/24"))], None, ()))
    assert rib.get(V4, "10.0.0.0/24").best.path_id == 2
    assert dict(rib.adj_rib_in(IB, V4)).keys() == {(2, key("10.0.0.0/24")),
                                                  (1, key("10.0.1.0/24"))}


def test_paths_are_shared_and_forgotten():
    rib = new_rib()
    rib.peer_up(A)
    a = attrs(65001, next_hop="192.0.2.1")
    prefixes = [f"10.{i}.{j}.0/24" for i in range(10) for j in range(100)]
    rib.apply_update(A, announce(prefixes[:500], a))
    rib.apply_update(A, announce(prefixes[500:], a))
    rib.apply_update(A, announce(prefixes[:10], a))          # again: no new references
    paths = {id(p) for _k, p in rib.adj_rib_in(A, V4)}
    assert len(paths) == 1
    (path,) = {p for _k, p in rib.adj_rib_in(A, V4)}
    assert path.refs == 1000
    adj = rib._state(A).adj[V4]
    assert sum(1 for _ in adj.all_paths()) == 1
    rib.apply_update(A, withdraw(prefixes))
    assert path.refs == 0 and sum(1 for _ in adj.all_paths()) == 0


def test_later_peers_reuse_the_prefix_key_objects():
    cache = AttributeCache()
    rib = new_rib()
    a = attrs(65001, next_hop="192.0.2.1")
    for p in (A, B, C):
        rib.peer_up(p)
        for u in encoded(a, ["10.0.0.0/24"], codec=UpdateCodec(cache=cache)):
            rib.apply_update(p, u)
    keys = {p.name: next(k for k, _p in rib.adj_rib_in(p, V4)) for p in (A, B, C)}
    # Every peer stores the object the Loc-RIB holds.
    assert keys["C"] is keys["B"] is keys["A"]
    assert next(iter(rib._tables[V4])) is keys["A"]
    paths = [next(p for _k, p in rib.adj_rib_in(x, V4)) for x in (A, B, C)]
    assert paths[0].attrs is paths[1].attrs is paths[2].attrs


def test_local_pref_from_ebgp_is_removed_before_import_policy():
    seen = []

    def policy(p, family, k, a, next_hop):
        seen.append(a.local_pref)
        if k == key("10.0.1.0/24"):
            return a.replace(local_pref=300), next_hop
        return a, next_hop

    rib = new_rib()
    rib.peer_up(A, import_policy=policy)
    rib.peer_up(IB)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"],
                                 attrs(65001, next_hop="192.0.2.1", local_pref=999)))
    rib.apply_update(IB, announce(["10.0.0.0/24", "10.0.1.0/24"],
                                  attrs(65001, next_hop="192.0.2.9", local_pref=200)))
    assert seen == [None, None]
    assert best_sources(rib) == {"10.0.0.0/24": ("I",), "10.0.1.0/24": ("A",)}


def test_local_pref_from_ebgp_is_ignored_without_policy():
    rib = new_rib()
    rib.peer_up(A)
    rib.peer_up(IB)
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1",
                                                        local_pref=999)))
    rib.apply_update(IB, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.9",
                                                         local_pref=101)))
    assert best_sources(rib) == {"10.0.0.0/24": ("I",)}
    (_k, path), = rib.adj_rib_in(A, V4)
    assert path.attrs.local_pref is None


def test_import_policy_rejects_and_changes():
    def policy(p, family, k, a, next_hop):
        if k == key("10.66.0.0/16"):
            return None
        return a, nh("192.0.2.77")

    rib = new_rib()
    rib.peer_up(A, import_policy=policy)
    rib.apply_update(A, announce(["10.66.0.0/16", "10.0.0.0/24"],
                                 attrs(65001, next_hop="192.0.2.1")))
    assert set(best_sources(rib)) == {"10.0.0.0/24"}
    assert rib.get(V4, "10.0.0.0/24").next_hops == (nh("192.0.2.77"),)
    # a route the policy now rejects replaces an accepted one: it is withdrawn
    rib.drain_changes()
    rib.set_import_policy(A, lambda *args: None)
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    (c,) = rib.drain_changes()
    assert c.withdrawn


def test_policy_changes_to_equal_attributes_share_one_path():
    def policy(p, family, k, a, next_hop):
        return a.replace(communities=(1,)), next_hop     # a new object every time

    rib = new_rib()
    rib.peer_up(A, import_policy=policy)
    rib.apply_update(A, announce([f"10.0.{i}.0/24" for i in range(20)],
                                 attrs(65001, next_hop="192.0.2.1")))
    assert len({id(p) for _k, p in rib.adj_rib_in(A, V4)}) == 1


def test_update_from_a_peer_that_is_not_up():
    rib = new_rib()
    with pytest.raises(RibError):
        rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.peer_up(A)
    rib.peer_down(A)
    with pytest.raises(RibError):
        rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))


def test_own_as_in_path_is_kept_but_ineligible():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, 64512, next_hop="192.0.2.1")))
    assert rib.drain_changes() == []
    assert rib.explain(V4, "10.0.0.0/24")[0].reason is Ineligible.AS_LOOP
    assert rib.prefix_count(A, V4) == 1


def test_new_session_identity_gives_new_paths():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.drain_changes()
    rib.peer_down(A, graceful=True)
    moved = peer("A", "10.0.0.1", 65001, bgp_id="9.9.9.9")     # new BGP Identifier
    rib.peer_up(moved, forwarding_preserved=(V4,))
    rib.apply_update(moved, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    (c,) = rib.drain_changes()
    assert c.old[0].source.bgp_id != c.new[0].source.bgp_id
    assert rib.stale_count(moved) == 0


def test_unknown_withdrawals_are_ignored():
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, withdraw(["10.0.0.0/24"]))
    rib.apply_update(A, Update((), make_attributes(origin=0, as_path=()), ()))
    assert rib.drain_changes() == []
