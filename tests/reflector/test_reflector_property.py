"""Random histories of routes, reads, refreshes and session flaps: whatever
the order and pace, every peer ends up with exactly the routes a peer that
joined at the end would get, and a peer that never fell behind was sent no
duplicate and no withdrawal of something it did not have."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rib import DecisionOptions, Rib
from rib.policy import Policy
from reflector import Exporter

from reflector_testlib import (LOCAL_AS, ROUTER_ID, V4, Receiver, announce, attrs, drain,
                               params, peer, step, withdraw)

ACCEPT = Policy("accept-all", (), True)
SOURCES = [peer("E", "192.0.2.1", 65001), peer("C1", "10.0.0.1", rr_client=True),
           peer("C2", "10.0.0.2", rr_client=True), peer("N", "10.0.0.9")]
MEMBERS = {
    "C1": params(), "C2": params(), "M": params(max_size=120), "A": params(add_path=[V4]),
    "X": params(), "T": params("198.51.100.1", export_policy=ACCEPT),
}
PEERS = {p.name: p for p in SOURCES}
PEERS.update({"M": peer("M", "10.0.0.3", rr_client=True), "X": peer("X", "10.0.0.4"),
              "A": peer("A", "10.0.0.5", rr_client=True), "T": peer("T", "198.51.100.2", 65010)})
PREFIXES = [f"10.{i}.0.0/24" for i in range(12)]
NAMES = sorted(MEMBERS)

ops = st.lists(st.one_of(
    st.tuples(st.just("ann"), st.integers(0, 3), st.integers(0, 11), st.integers(0, 3)),
    st.tuples(st.just("wd"), st.integers(0, 3), st.integers(0, 11)),
    st.tuples(st.just("step")),
    st.tuples(st.just("step")),
    st.tuples(st.just("read"), st.sampled_from(NAMES), st.sampled_from([1, 60, 300, 65536])),
    st.tuples(st.just("refresh"), st.sampled_from(NAMES)),
    st.tuples(st.just("flap"), st.sampled_from(NAMES)),
), max_size=60)


def _attrs(src, variant):
    nh = str(src.address)
    path = (65001,) if src.ebgp else ()
    return attrs(*path, next_hop=nh, med=variant % 2, local_pref=100 + 50 * (variant // 2))


def receiver(name) -> Receiver:
    return Receiver(add_path=MEMBERS[name].add_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.sampled_from([400, 1500, 10**9]))
def test_every_history_ends_in_the_same_table(history, max_backlog):
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID, options=DecisionOptions(max_paths=2))
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib, max_backlog=max_backlog)
    for src in SOURCES:
        rib.peer_up(src)
    recv = {}
    noisy = set()                       # refreshed or fell behind: may see repeats
    for name, prm in MEMBERS.items():
        ex.peer_up(PEERS[name], prm)
        recv[name] = receiver(name)
    for op in history:
        if op[0] == "ann":
            _kind, s, p, v = op
            src = SOURCES[s]
            rib.apply_update(src, announce([PREFIXES[p]], _attrs(src, v)))
        elif op[0] == "wd":
            rib.apply_update(SOURCES[op[1]], withdraw([PREFIXES[op[2]]]))
        elif op[0] == "step":
            step(rib, ex)
        elif op[0] == "read":
            recv[op[1]].feed(ex.next_messages(op[1], op[2]))
        elif op[0] == "refresh":
            ex.refresh(op[1], (1, 1))
            noisy.add(op[1])
        elif op[0] == "flap":
            ex.peer_down(op[1])
            step(rib, ex)               # as the daemon does before a session joins
            ex.peer_up(PEERS[op[1]], MEMBERS[op[1]])
            recv[op[1]] = receiver(op[1])
        for name in NAMES:
            if ex.backlog(name)["overflows"]:
                noisy.add(name)
    step(rib, ex)
    for name in NAMES:
        drain(ex, name, recv[name])
    noisy.update(name for name in NAMES if ex.backlog(name)["overflows"])
    for name, prm in MEMBERS.items():
        # A peer joining now, with the same options, sees the same table.
        ex.peer_down(name)
        ex.peer_up(PEERS[name], prm)
        fresh = receiver(name)
        drain(ex, name, fresh)
        r = recv[name]
        assert r.state() == fresh.state(), name
        assert fresh.end_of_rib == [(1, 1)] and r.end_of_rib == [(1, 1)]
        assert ex.counts(name)[(1, 1)] == len(fresh.routes)
        if name not in noisy:
            assert r.spurious == [] and r.duplicates == [], name
        # Never its own routes; non-clients never get routes of non-clients.
        for (fam, k) in r.routes:
            paths = rib.get(fam, k[1] if name == "A" else k).paths
            if name != "A":
                paths = paths[:1]
            assert all(p.source.name != name for p in paths[:1])
            if name == "X":
                assert paths[0].source.name != "N"
    # And the table itself is what the Loc-RIB says: every route a client may get.
    expect = {r.prefix for r in rib.routes((1, 1)) if r.best.source.name != "M"}
    assert recv["M"].prefixes() == expect
