"""The decision steps, in the style of OpenBGPD's regress tests: a reference
route and a table of routes that each differ from it in one attribute,
compared in both directions, each labelled with the step that must decide.
Then the rules of individual steps (AS_SET and confederation lengths, MED
scope and options, ORIGINATOR_ID, LOCAL_PREF from eBGP)."""

from __future__ import annotations

import pytest

from rib import Decision, DecisionOptions, Ineligible, LocalKind, LocalSource, Step
from rib.decision import STEP_ORDER, STEPS

from ribtest import attrs, loose_path, nh, peer

COSTS = {nh("192.0.2.99"): 10}


def decision(**options) -> Decision:
    return Decision(DecisionOptions(**options), lambda p: COSTS.get(p.next_hop, 0))


# The reference: an eBGP route from R (10.0.0.5, id 10.0.0.5) whose import
# policy set LOCAL_PREF 200; AS path 65001, ORIGIN IGP, MED 5, path id 1.
R = peer("R", "10.0.0.5", 65001)
REF = dict(local_pref=200, med=5)


def ref(**changes):
    fields = dict(REF, **changes)
    path = fields.pop("path", (65001,))
    return attrs(*path, next_hop=fields.pop("next_hop", "192.0.2.1"), **fields)


def route(source=R, a=None, *, path_id=1, reason=None):
    return loose_path(source, a if a is not None else ref(), path_id=path_id, reason=reason)


# (label, the route that must lose to the reference, step)
WORSE = [
    ("unreachable next hop", route(reason=Ineligible.NEXT_HOP_UNREACHABLE), Step.ELIGIBLE),
    ("lower LOCAL_PREF", route(a=ref(local_pref=100)), Step.LOCAL_PREF),
    ("longer AS_PATH", route(a=ref(path=(65001, 65002))), Step.AS_PATH),
    ("ORIGIN EGP", route(a=ref(origin=1)), Step.ORIGIN),
    ("ORIGIN INCOMPLETE", route(a=ref(origin=2)), Step.ORIGIN),
    ("higher MED, same neighbour AS", route(a=ref(med=6)), Step.MED),
    ("learned over iBGP", route(peer("I", "10.0.0.1", 64512), ref()), Step.EXTERNAL),
    ("farther next hop", route(a=ref(next_hop="192.0.2.99")), Step.IGP_COST),
    ("higher BGP Identifier", route(peer("R2", "10.0.0.2", 65001, bgp_id="10.0.0.9")),
     Step.ROUTER_ID),
    ("longer CLUSTER_LIST", route(a=ref(cluster_list=(7,))), Step.CLUSTER_LIST),
    ("higher peer address", route(peer("R3", "10.0.0.6", 65001, bgp_id="10.0.0.5")),
     Step.PEER_ADDRESS),
    ("higher path id", route(path_id=2), Step.PATH_ID),
]


@pytest.mark.parametrize("label, worse, step", WORSE, ids=[w[0] for w in WORSE])
def test_reference_beats_each_worse_route(label, worse, step):
    d = decision()
    best = route()
    assert d.compare(best, worse) == (best, step)
    assert d.compare(worse, best) == (best, step)
    assert d.select([best, worse])[0] is best
    assert d.select([worse, best])[0] is best


def test_every_step_is_in_the_table():
    assert {w[2] for w in WORSE} | {Step.LOCAL_ORIGIN} == set(Step)
    assert STEP_ORDER == tuple(Step)
    for _step, fn in STEPS:
        assert "RFC" in fn.__doc__ or "implementations" in fn.__doc__


def test_locally_originated_wins_after_local_pref():
    d = decision()
    local = loose_path(LocalSource(LocalKind.STATIC), attrs(local_pref=200))
    assert d.compare(route(), local) == (local, Step.LOCAL_ORIGIN)
    # ... but not over a higher LOCAL_PREF
    assert d.compare(route(a=ref(local_pref=300)), local)[1] is Step.LOCAL_PREF
    # between local kinds, configuration wins over the kernel
    kernel = loose_path(LocalSource(LocalKind.KERNEL), attrs(local_pref=200))
    assert d.compare(kernel, local) == (local, Step.LOCAL_ORIGIN)


def test_as_set_counts_one_and_confederation_segments_nothing():
    d = decision()
    with_set = route(a=ref(as_path=((2, (65001,)), (1, (1, 2, 3)))))     # length 2
    with_confed = route(a=ref(as_path=((3, (64600, 64601)), (2, (65001, 9)))))  # length 2
    longer = route(a=ref(path=(65001, 8, 9)))                              # length 3
    assert d.compare(with_set, longer) == (with_set, Step.AS_PATH)
    assert d.compare(with_confed, longer) == (with_confed, Step.AS_PATH)
    assert d.compare(with_set, with_confed)[1] is not Step.AS_PATH


def test_ignore_as_path_length():
    d = decision(ignore_as_path_length=True)
    assert d.compare(route(), route(a=ref(path=(65001, 65002), med=6)))[1] is Step.MED


def test_med_scope_and_always_compare():
    best = route()
    other_as = route(peer("B", "10.0.0.7", 65002), ref(path=(65002,), med=1))
    # MED 1 < 5 but from AS 65002: skipped; the lower router id decides
    winner, step = decision().compare(best, other_as)
    assert (winner, step) == (best, Step.ROUTER_ID)
    best = route()
    other_as = route(peer("B", "10.0.0.7", 65002), ref(path=(65002,), med=1))
    winner, step = decision(always_compare_med=True).compare(best, other_as)
    assert (winner, step) == (other_as, Step.MED)


def test_missing_med():
    def pair():
        return route(a=attrs(65001, next_hop="192.0.2.1", local_pref=200)), route(a=ref(med=3))
    without, with_med = pair()
    assert decision().compare(without, with_med) == (without, Step.MED)
    without, with_med = pair()
    assert decision(med_missing_as_worst=True).compare(without, with_med) == (with_med, Step.MED)


def test_originator_id_stands_in_for_the_bgp_identifier():
    i1 = peer("RR1", "10.0.0.1", 64512, bgp_id="10.0.0.1")
    i2 = peer("RR2", "10.0.0.2", 64512, bgp_id="10.0.0.2")
    d = decision()
    a = route(i1, ref(originator_id=0x0A000009))     # from RR1, originated by 10.0.0.9
    b = route(i2, ref(originator_id=0x0A000003))     # from RR2, originated by 10.0.0.3
    assert d.compare(a, b) == (b, Step.ROUTER_ID)


def test_rank_is_built_by_the_step_functions():
    d = decision()
    p = route()
    r = d.rank(p)
    assert r[:len(STEPS)] == tuple(fn(p, d) for _s, fn in STEPS)
    assert d.rank(route()) is r          # equal ranks are shared


def test_options_are_immutable_and_checked():
    with pytest.raises(Exception):
        DecisionOptions().max_paths = 4
    with pytest.raises(ValueError):
        DecisionOptions(max_paths=0)
