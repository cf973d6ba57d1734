"""Add-path send (RFC 7911): several paths per prefix, each under a path
identifier of its own, withdrawn by that identifier alone."""

from __future__ import annotations

from rib import DecisionOptions, Rib
from reflector import Exporter
from reflector.exporter import candidates_from

from reflector_testlib import (LOCAL_AS, ROUTER_ID, V4, Receiver, announce, attrs, drain, key,
                               params, peer, step, withdraw)

C1 = peer("C1", "10.0.0.1", rr_client=True)
C2 = peer("C2", "10.0.0.2", rr_client=True)
C3 = peer("C3", "10.0.0.3", rr_client=True)
A = peer("A", "10.0.1.1", rr_client=True)       # add-path receiver
B = peer("B", "10.0.1.2", rr_client=True)       # plain receiver
P = "10.5.0.0/24"


def ecmp_stack(max_paths=4, **kw):
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID,
              options=DecisionOptions(max_paths=max_paths))
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib, **kw)
    for c in (C1, C2, C3):
        rib.peer_up(c)
    return rib, ex


def path_ids(r: Receiver) -> dict:
    """{path id: next hop} of prefix P."""
    return {k[1][0]: n for k, (_a, n) in r.routes.items() if k[1][1] == key(P)}


def test_every_selected_path_with_its_own_identifier():
    rib, ex = ecmp_stack()
    ex.peer_up(A, params(add_path=[V4]))
    ex.peer_up(B, params())
    ra, rb = Receiver(add_path=[V4]), Receiver()
    for name, r in (("A", ra), ("B", rb)):
        drain(ex, name, r)
    rib.apply_update(C1, announce([P], attrs(next_hop="10.0.0.1")))
    rib.apply_update(C2, announce([P], attrs(next_hop="10.0.0.2")))
    step(rib, ex)
    drain(ex, "A", ra)
    drain(ex, "B", rb)
    ids = path_ids(ra)
    assert sorted(ids.values()) == [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])]
    assert len(ids) == 2 and 0 not in ids
    assert rb.prefixes() == {P} and len(rb.routes) == 1
    assert ex.counts("A") == {V4: 2}
    # One path goes: only its identifier is withdrawn.
    gone = next(pid for pid, n in ids.items() if n == bytes([10, 0, 0, 2]))
    rib.apply_update(C2, withdraw([P]))
    step(rib, ex)
    ra.log.clear()
    drain(ex, "A", ra)
    assert ra.log == [("-", V4, (gone, key(P)))]
    assert list(path_ids(ra).values()) == [bytes([10, 0, 0, 1])]
    assert ra.spurious == [] and ra.duplicates == []


def test_path_limit_and_own_paths():
    rib, ex = ecmp_stack()
    ex.peer_up(A, params(add_path=[V4], add_path_limit=1))
    ex.peer_up(C1, params(add_path=[V4]))
    ra, r1 = Receiver(add_path=[V4]), Receiver(add_path=[V4])
    drain(ex, "A", ra)
    drain(ex, "C1", r1)
    for c in (C1, C2, C3):
        rib.apply_update(c, announce([P], attrs(next_hop=str(c.address))))
    step(rib, ex)
    drain(ex, "A", ra)
    drain(ex, "C1", r1)
    assert len(path_ids(ra)) == 1
    # C1 gets every path but its own.
    assert sorted(path_ids(r1).values()) == [bytes([10, 0, 0, 2]), bytes([10, 0, 0, 3])]


def test_candidates_beyond_the_selected_set():
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)      # no ECMP: one best
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib, candidates=candidates_from(rib))
    for c in (C1, C2):
        rib.peer_up(c)
    ex.peer_up(A, params(add_path=[V4]))
    ra = Receiver(add_path=[V4])
    drain(ex, "A", ra)
    rib.apply_update(C1, announce([P], attrs(next_hop="10.0.0.1", local_pref=200)))
    rib.apply_update(C2, announce([P], attrs(next_hop="10.0.0.2", local_pref=100)))
    step(rib, ex)
    drain(ex, "A", ra)
    assert sorted(path_ids(ra).values()) == [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])]
    # A member that joins later gets both from the table.
    ex.peer_up(B, params(add_path=[V4]))
    rb = Receiver(add_path=[V4])
    drain(ex, "B", rb)
    assert path_ids(rb) == path_ids(ra)


def test_a_candidate_arriving_behind_the_best_reaches_add_path_peers():
    # The best path stays; only a worse candidate comes and goes.  With
    # report_unselected the RIB still reports the prefix, so add-path peers
    # are offered the new candidate and told when it leaves.
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)
    rib.report_unselected = True
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib, candidates=candidates_from(rib))
    for c in (C1, C2):
        rib.peer_up(c)
    ex.peer_up(A, params(add_path=[V4]))
    ra = Receiver(add_path=[V4])
    rib.apply_update(C1, announce([P], attrs(next_hop="10.0.0.1", local_pref=200)))
    step(rib, ex)
    drain(ex, "A", ra)
    assert sorted(path_ids(ra).values()) == [bytes([10, 0, 0, 1])]
    rib.apply_update(C2, announce([P], attrs(next_hop="10.0.0.2", local_pref=100)))
    [change] = changes = rib.drain_changes()
    assert change.old == change.new                   # the selected path did not change
    ex.apply(changes)
    drain(ex, "A", ra)
    assert sorted(path_ids(ra).values()) == [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])]
    rib.apply_update(C2, withdraw([P]))
    step(rib, ex)
    drain(ex, "A", ra)
    assert sorted(path_ids(ra).values()) == [bytes([10, 0, 0, 1])]


def test_without_report_unselected_only_selection_changes_are_reported():
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)
    for c in (C1, C2):
        rib.peer_up(c)
    rib.apply_update(C1, announce([P], attrs(next_hop="10.0.0.1", local_pref=200)))
    assert len(rib.drain_changes()) == 1
    rib.apply_update(C2, announce([P], attrs(next_hop="10.0.0.2", local_pref=100)))
    assert rib.drain_changes() == []


def test_identifiers_are_small_stable_and_reused():
    rib, ex = ecmp_stack()
    ex.peer_up(A, params(add_path=[V4]))
    ra = Receiver(add_path=[V4])
    drain(ex, "A", ra)
    for c in (C1, C2):
        rib.apply_update(c, announce([P], attrs(next_hop=str(c.address))))
    step(rib, ex)
    drain(ex, "A", ra)
    first = path_ids(ra)
    assert sorted(first) == [1, 2]
    # C1's path goes and C3's comes in the same batch: C3 takes the freed
    # identifier, which replaces C1's path at the peer (RFC 7911).
    rib.apply_update(C1, withdraw([P]))
    rib.apply_update(C3, announce([P], attrs(next_hop="10.0.0.3")))
    step(rib, ex)
    drain(ex, "A", ra)
    now = path_ids(ra)
    assert sorted(now) == [1, 2]
    c2_id = next(pid for pid, n in first.items() if n == bytes([10, 0, 0, 2]))
    assert now[c2_id] == bytes([10, 0, 0, 2])           # C2's path kept its identifier
    assert sorted(now.values()) == [bytes([10, 0, 0, 2]), bytes([10, 0, 0, 3])]
    assert ra.spurious == []
