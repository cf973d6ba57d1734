"""``Rib.explain``: every candidate of a prefix with its standing, the step
that decided against it, the path that beat it, and why ineligible ones are
out -- the words ``bgpctl show route PREFIX all`` prints."""

from __future__ import annotations

from rib import DecisionOptions, Ineligible, Status, Step

from ribtest import V4, announce, attrs, new_rib, peer

E1 = peer("e1", "10.0.0.1", 65001, bgp_id="1.0.0.1")
E2 = peer("e2", "10.0.0.2", 65001, bgp_id="1.0.0.3")
E3 = peer("e3", "10.0.0.3", 65002, bgp_id="1.0.0.2")
I1 = peer("i1", "10.0.0.4", 64512, bgp_id="1.0.0.4")
PREFIX = "198.51.100.0/24"


def rib_with(routes, **kw):
    rib = new_rib(**kw)
    for p, a in routes:
        rib.peer_up(p)
        rib.apply_update(p, announce([PREFIX], a))
    return rib


def lines(rib):
    return [(c.source.name, c.status, c.step, c.beaten_by and c.beaten_by.source.name, c.reason)
            for c in rib.explain(V4, PREFIX)]


def test_best_first_then_the_others_with_their_step():
    rib = rib_with([
        (E1, attrs(65001, 9, next_hop="192.0.2.1")),
        (E3, attrs(65002, 8, 9, next_hop="192.0.2.3")),
        (I1, attrs(65001, 9, next_hop="192.0.2.4", local_pref=100)),
    ])
    assert lines(rib) == [
        ("e1", Status.BEST, None, None, None),
        ("e3", Status.NOT_SELECTED, Step.AS_PATH, "e1", None),
        ("i1", Status.NOT_SELECTED, Step.EXTERNAL, "e1", None),
    ]
    d = rib.explain(V4, PREFIX)[1].as_dict()
    assert d == {"source": "e3", "next_hop": ["192.0.2.3"], "status": "not selected",
                 "step": "as-path-length", "beaten_by": "e1"}


def test_ineligible_candidates_keep_their_reason():
    unreachable = "192.0.2.66"
    rib = rib_with([
        (E1, attrs(65001, 9, next_hop="192.0.2.1")),
        (E2, attrs(65001, 64512, 9, next_hop="192.0.2.2")),              # our AS: loop
        (E3, attrs(65002, 9, next_hop=unreachable)),
        (I1, attrs(65001, next_hop="192.0.2.4", originator_id=0x0AFF0001)),  # our router id
    ], resolver=lambda hop: (hop != bytes([192, 0, 2, 66]), 0))
    reasons = {c.source.name: (c.status, c.step, c.reason) for c in rib.explain(V4, PREFIX)}
    assert reasons == {
        "e1": (Status.BEST, None, None),
        "e2": (Status.INELIGIBLE, Step.ELIGIBLE, Ineligible.AS_LOOP),
        "e3": (Status.INELIGIBLE, Step.ELIGIBLE, Ineligible.NEXT_HOP_UNREACHABLE),
        "i1": (Status.INELIGIBLE, Step.ELIGIBLE, Ineligible.ORIGINATOR_ID),
    }
    assert rib.explain(V4, PREFIX)[1].as_dict()["reason"] == "AS path contains our AS"


def test_cluster_loop_and_allowed_own_as():
    lenient = peer("e4", "10.0.0.5", 65004, allow_own_as=1)
    rib = rib_with([
        (I1, attrs(next_hop="192.0.2.4", cluster_list=(0x0A0A0A0A,))),
        (lenient, attrs(65004, 64512, next_hop="192.0.2.5")),
    ], cluster_id="10.10.10.10")
    got = {c.source.name: (c.status, c.reason) for c in rib.explain(V4, PREFIX)}
    assert got == {"i1": (Status.INELIGIBLE, Ineligible.CLUSTER_LOOP),
                   "e4": (Status.BEST, None)}


def test_nothing_eligible():
    rib = rib_with([(E2, attrs(65001, 64512, next_hop="192.0.2.2"))])
    assert lines(rib) == [("e2", Status.INELIGIBLE, Step.ELIGIBLE, None, Ineligible.AS_LOOP)]
    assert rib.get(V4, PREFIX) is None
    assert rib.drain_changes() == []


def test_med_elimination_names_the_route_of_the_same_neighbour_as():
    # The MED cycle of test_rib_order: A loses at MED to B (both AS 65001),
    # not to the best C, against which MED does not apply.
    a, b, c = (peer("A", "10.0.0.1", 65001, bgp_id="1.0.0.1"),
               peer("B", "10.0.0.2", 65001, bgp_id="1.0.0.3"),
               peer("C", "10.0.0.3", 65002, bgp_id="1.0.0.2"))
    rib = rib_with([(a, attrs(65001, 9, next_hop="192.0.2.1", med=10)),
                    (b, attrs(65001, 9, next_hop="192.0.2.2", med=5)),
                    (c, attrs(65002, 9, next_hop="192.0.2.3", med=0))],
                   options=DecisionOptions(deterministic_med=True))
    assert lines(rib) == [
        ("C", Status.BEST, None, None, None),
        ("A", Status.NOT_SELECTED, Step.MED, "B", None),
        ("B", Status.NOT_SELECTED, Step.ROUTER_ID, "C", None),
    ]


def test_unknown_prefix_has_no_candidates():
    assert new_rib().explain(V4, PREFIX) == []
