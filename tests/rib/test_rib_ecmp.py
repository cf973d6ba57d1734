"""Multipath: the best route and the routes equal to it up to the router-id
step, by BIRD's ``bgp_rte_mergable`` rules, cut at ``max_paths``."""

from __future__ import annotations

import pytest

from rib import DecisionOptions, Install, Status, Step

from ribtest import V4, announce, attrs, key, new_rib, nh, peer

E1 = peer("e1", "10.0.0.1", 65001, bgp_id="1.1.1.1")
E2 = peer("e2", "10.0.0.2", 65001, bgp_id="1.1.1.2")
E3 = peer("e3", "10.0.0.3", 65002, bgp_id="1.1.1.3")
E4 = peer("e4", "10.0.0.4", 65001, bgp_id="1.1.1.4")
I1 = peer("i1", "10.0.0.9", 64512, bgp_id="1.1.1.0")
PREFIX = "10.20.42.0/26"
COST = {nh("192.0.2.9"): 7}


def rib_with(routes, max_paths=4, **options):
    rib = new_rib(options=DecisionOptions(max_paths=max_paths, **options),
                  resolver=lambda hop: (True, COST.get(hop, 0)))
    for p, a in routes:
        rib.peer_up(p)
        rib.apply_update(p, announce([PREFIX], a))
    rib.drain_changes()
    return rib


def selected(rib):
    route = rib.get(V4, key(PREFIX))
    return [p.source.name for p in route.paths]


def test_equal_ebgp_routes_merge_into_one_route_with_several_next_hops():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1")),
                    (E2, attrs(65001, 9, next_hop="192.0.2.2"))])
    route = rib.get(V4, key(PREFIX))
    assert [p.source.name for p in route.paths] == ["e1", "e2"]
    assert route.next_hops == (nh("192.0.2.1"), nh("192.0.2.2"))
    assert route.install is Install.FORWARD


def test_off_by_default():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1")),
                    (E2, attrs(65001, 9, next_hop="192.0.2.2"))], max_paths=1)
    assert selected(rib) == ["e1"]


@pytest.mark.parametrize("label, other", [
    ("longer AS path", (E2, attrs(65001, 8, 9, next_hop="192.0.2.2"))),
    ("other ORIGIN", (E2, attrs(65001, 9, next_hop="192.0.2.2", origin=2))),
    ("higher MED, same neighbour AS", (E2, attrs(65001, 9, next_hop="192.0.2.2", med=10))),
    ("iBGP with eBGP", (I1, attrs(65001, 9, next_hop="192.0.2.2", local_pref=100))),
    ("other IGP cost", (E2, attrs(65001, 9, next_hop="192.0.2.9"))),
])
def test_not_merged(label, other):
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1")), other])
    assert selected(rib) == ["e1"]


def test_med_of_another_neighbour_as_does_not_prevent_merging():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1", med=5)),
                    (E3, attrs(65002, 9, next_hop="192.0.2.3", med=50))])
    assert selected(rib) == ["e1", "e3"]
    # ... unless MEDs are always compared
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1", med=5)),
                    (E3, attrs(65002, 9, next_hop="192.0.2.3", med=50))],
                   always_compare_med=True)
    assert selected(rib) == ["e1"]


def test_cut_at_max_paths_in_rank_order():
    routes = [(p, attrs(p.asn, 9, next_hop=f"192.0.2.{i + 1}"))
              for i, p in enumerate((E4, E2, E1))]
    assert selected(rib_with(routes, max_paths=2)) == ["e1", "e2"]
    assert selected(rib_with(routes, max_paths=3)) == ["e1", "e2", "e4"]


def test_same_next_hop_is_listed_once():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1")),
                    (E2, attrs(65001, 9, next_hop="192.0.2.1"))])
    route = rib.get(V4, key(PREFIX))
    assert len(route.paths) == 2 and route.next_hops == (nh("192.0.2.1"),)


def test_ibgp_multipath_from_two_reflectors():
    r1 = peer("rr1", "10.0.1.1", 64512, bgp_id="2.2.2.1")
    r2 = peer("rr2", "10.0.1.2", 64512, bgp_id="2.2.2.2")
    rib = rib_with([(r1, attrs(next_hop="192.0.2.1", local_pref=100, originator_id=1,
                               cluster_list=(5,))),
                    (r2, attrs(next_hop="192.0.2.2", local_pref=100, originator_id=2,
                               cluster_list=(6, 7)))])
    assert selected(rib) == ["rr1", "rr2"]      # cluster list length is after router id


def test_multipath_members_are_explained():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1")),
                    (E2, attrs(65001, 9, next_hop="192.0.2.2")),
                    (E3, attrs(65002, 8, 9, next_hop="192.0.2.3"))])
    lines = rib.explain(V4, PREFIX)
    assert [(c.source.name, c.status, c.step) for c in lines] == [
        ("e1", Status.BEST, None),
        ("e2", Status.MULTIPATH, Step.ROUTER_ID),
        ("e3", Status.NOT_SELECTED, Step.AS_PATH),
    ]


def test_change_stream_carries_the_whole_set():
    rib = rib_with([(E1, attrs(65001, 9, next_hop="192.0.2.1"))])
    rib.peer_up(E2)
    rib.apply_update(E2, announce([PREFIX], attrs(65001, 9, next_hop="192.0.2.2")))
    (c,) = rib.drain_changes()
    assert [p.source.name for p in c.old] == ["e1"]
    assert [p.source.name for p in c.new] == ["e1", "e2"]
    assert c.best.source.name == "e1"
