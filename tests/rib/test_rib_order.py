"""The same routes inserted in every order end with the same best path.

The routes include the classic MED cycle (RFC 4271 9.1.2.2 c makes MED
comparable only within a neighbour AS, so pairwise comparison is not
transitive): A and B come from AS 65001, B with the lower MED; C comes from
AS 65002; the router ids make C beat B and A beat C.  RFC 4271's elimination
(``deterministic_med``) must pick C whatever the order; the pairwise mode
keeps candidates in canonical order, so it too ends the same every time.
"""

from __future__ import annotations

import itertools

import pytest

from rib import DecisionOptions

from ribtest import V4, announce, attrs, key, new_rib, peer, withdraw

PEERS = {
    "A": peer("A", "10.0.0.1", 65001, bgp_id="1.0.0.1"),
    "B": peer("B", "10.0.0.2", 65001, bgp_id="1.0.0.3"),
    "C": peer("C", "10.0.0.3", 65002, bgp_id="1.0.0.2"),
    "D": peer("D", "10.0.0.4", 65003, bgp_id="1.0.0.4"),
    "E": peer("E", "10.0.0.5", 65001, bgp_id="1.0.0.5"),
}
ROUTES = {
    "A": attrs(65001, 9, next_hop="192.0.2.1", med=10),
    "B": attrs(65001, 9, next_hop="192.0.2.2", med=5),
    "C": attrs(65002, 9, next_hop="192.0.2.3", med=0),
    "D": attrs(65003, 8, 9, next_hop="192.0.2.4"),            # longer path
    "E": attrs(65001, 9, next_hop="192.0.2.5", med=7, origin=2),  # INCOMPLETE
}
PREFIX = "203.0.113.0/24"


def final_best(order, options, withdraw_first=None):
    rib = new_rib(options=options)
    for name in PEERS:
        rib.peer_up(PEERS[name])
    for name in order:
        rib.apply_update(PEERS[name], announce([PREFIX], ROUTES[name]))
        rib.drain_changes()
    if withdraw_first:
        rib.apply_update(PEERS[withdraw_first], withdraw([PREFIX]))
        rib.drain_changes()
    route = rib.get(V4, key(PREFIX))
    return route.best.source.name


@pytest.mark.parametrize("deterministic", [True, False])
def test_every_insertion_order_ends_with_the_same_best(deterministic):
    options = DecisionOptions(deterministic_med=deterministic)
    results = {final_best(order, options) for order in itertools.permutations(PEERS)}
    assert len(results) == 1
    if deterministic:
        assert results == {"C"}


def test_rfc_elimination_after_a_withdrawal():
    # Without B, A's MED no longer loses inside AS 65001: A beats C on router id.
    options = DecisionOptions(deterministic_med=True)
    results = {final_best(order, options, withdraw_first="B")
               for order in itertools.permutations("ABC")}
    assert results == {"A"}


def test_one_batch_equals_many():
    options = DecisionOptions()
    rib = new_rib(options=options)
    for name in PEERS:
        rib.peer_up(PEERS[name])
    for name in reversed(list(PEERS)):
        rib.apply_update(PEERS[name], announce([PREFIX], ROUTES[name]))
    changes = rib.drain_changes()
    assert len(changes) == 1
    assert changes[0].new[0].source.name == "C"
