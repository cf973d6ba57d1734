"""Properties of the incrementally maintained Loc-RIB.

After any sequence of announcements, withdrawals, session losses (plain and
graceful), End-of-RIB markers and refreshes from several peers, drained in
batches at arbitrary points:

- the Loc-RIB equals one computed from scratch, by a fresh RIB fed the final
  Adj-RIBs-In in a single batch;
- replaying the change stream from an empty table gives the same Loc-RIB,
  every change's ``old`` is what the stream said before, and no prefix
  appears twice in one drain;
- the counters agree with the table.

And: the fast best-path selection equals RFC 4271 elimination step by step.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rib import Decision, DecisionOptions

from ribtest import V4, V6, announce, announce6, attrs, key, loose_path, new_rib, nh, peer, \
    withdraw, withdraw6
from wire import Update

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

PEERS = [
    peer("e1", "10.0.0.1", 65001, bgp_id="1.1.1.1"),
    peer("e2", "10.0.0.2", 65002, bgp_id="1.1.1.2"),
    peer("i1", "10.0.0.3", 64512, bgp_id="1.1.1.3"),
    peer("i2", "10.0.0.4", 64512, bgp_id="1.1.1.4", rr_client=True),
    peer("e3", "10.0.0.5", 65001, bgp_id="1.1.1.0"),
    peer("a1", "10.0.0.6", 64512, bgp_id="1.1.1.6"),
]


def policy(p, family, k, a, next_hop):
    """Rejects 10.0.0.0/8, sets LOCAL_PREF 300 on 10.2.0.0/16 (idempotent,
    so that a fresh RIB fed the routes after policy ends the same)."""
    if k == key("10.0.0.0/8"):
        return None
    if k == key("10.2.0.0/16"):
        return a.replace(local_pref=300), next_hop
    return a, next_hop


# How each peer's session is set up (the same in the fresh RIB).
SESSIONS = {
    "e2": dict(import_policy=policy),
    "i2": dict(import_policy=policy, soft_reconfig=True),
    "a1": dict(add_path=(V4,)),
}


PREFIXES = ["10.1.0.0/24", "10.1.1.0/24", "10.2.0.0/16", "10.0.0.0/8"]
PREFIXES6 = ["2001:db8:1::/48", "2001:db8::/32"]
NEXT_HOPS = ["192.0.2.1", "192.0.2.2", "192.0.2.99"]
NEXT_HOPS6 = ["2001:db8::1", "2001:db8::2"]
COST = {nh("192.0.2.2"): 5, nh("2001:db8::2"): 3}


def resolver(next_hop):
    return next_hop != nh("192.0.2.99"), COST.get(next_hop, 0)


attribute_sets = st.builds(
    lambda path, lp, med, origin, hop: attrs(*path, next_hop=hop, local_pref=lp, med=med,
                                             origin=origin),
    st.sampled_from([(65001, 7), (65002, 7), (65002, 7, 8), (), (64512, 65001)]),
    st.sampled_from([None, 200]),
    st.sampled_from([None, 5, 10]),
    st.sampled_from([0, 2]),
    st.sampled_from(NEXT_HOPS),
)
# A few sets sent by several peers, so that ties (and ECMP) are common.
COMMON = [attrs(65001, 7, next_hop="192.0.2.1", med=5),
          attrs(65001, 7, next_hop="192.0.2.2", med=5),
          attrs(65002, 7, next_hop="192.0.2.1", local_pref=200),
          attrs(65001, 7, next_hop="192.0.2.1")]
route_attributes = st.one_of(st.sampled_from(COMMON), attribute_sets)
# Sets that differ only where MED's scope matters: neighbour AS, MED, IGP cost.
MED_SETS = [attrs(asn, 7, next_hop=hop, med=med) for asn in (65001, 65002)
            for med in (None, 0, 5, 10) for hop in ("192.0.2.1", "192.0.2.2")]
announcements = st.tuples(st.just("announce"), st.integers(0, len(PEERS) - 1),
                          st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=3),
                          route_attributes, st.sampled_from(NEXT_HOPS6))
withdrawals = st.tuples(st.just("withdraw"), st.integers(0, len(PEERS) - 1),
                        st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=3),
                        st.none(), st.none())
events = st.tuples(st.sampled_from(["drain", "down", "graceful", "eor", "borr", "eorr",
                                    "echo", "echo", "reimport"]),
                   st.integers(0, len(PEERS) - 1), st.none(), st.none(), st.none())
operations = st.lists(st.one_of(announcements, announcements, announcements, withdrawals,
                                events), min_size=6, max_size=40)
option_sets = st.builds(DecisionOptions, always_compare_med=st.booleans(),
                        deterministic_med=st.booleans(), med_missing_as_worst=st.booleans(),
                        max_paths=st.sampled_from([1, 2, 3]))


def snapshot(rib) -> dict:
    """The Loc-RIB as comparable values: per prefix, the selected paths as
    (source, path attributes, next hop)."""
    return {(r.family, r.key): tuple((p.source.name, p.attrs.raw, p.next_hop) for p in r.paths)
            for r in rib.routes()}


def replay(view: dict, changes) -> None:
    seen = set()
    for c in changes:
        k = (c.family, c.key)
        assert k not in seen, "a prefix twice in one drain"
        seen.add(k)
        assert view.get(k, ()) == c.old
        assert c.old != c.new
        if c.new:
            view[k] = c.new
        else:
            view.pop(k, None)


def from_scratch(rib, options) -> dict:
    """A fresh RIB fed the final Adj-RIBs-In of ``rib`` in one batch."""
    scratch = new_rib(options=options, resolver=resolver, cluster_id="10.255.0.1")
    known = {s.name for s in rib.sources()}
    for p in PEERS:
        if p.name not in known:
            continue
        scratch.peer_up(p, families=(V4, V6), **SESSIONS.get(p.name, {}))
        for fam in (V4, V6):
            for k, path in rib.adj_rib_in(p, fam):
                if fam == V4:
                    upd = Update((), path.attrs, [k])
                else:
                    upd = announce6([], path.attrs, "::1")
                    upd.mp_reach.nlri = [k]
                    upd.mp_reach.next_hop = path.next_hop
                scratch.apply_update(p, upd)
    scratch.drain_changes()
    return snapshot(scratch)


def references_add_up(rib) -> None:
    """Every path counts exactly the Adj-RIB-In slots that hold it, and the
    interning tables hold only paths in use."""
    for st in rib._sources.values():
        for adj in st.adj.values():
            held = {}
            for d in (adj.routes, adj.stale, adj.pre, adj.pre_stale):
                for p in (d or {}).values():
                    held[p] = held.get(p, 0) + 1
            for p, n in held.items():
                assert p.refs == n
            assert all(p in held for p in adj.all_paths())


def check(rib, view, options) -> dict:
    references_add_up(rib)
    replay(view, rib.drain_changes())
    incremental = snapshot(rib)
    assert {k: tuple((p.source.name, p.attrs.raw, p.next_hop) for p in v)
            for k, v in view.items()} == incremental
    assert from_scratch(rib, options) == incremental
    return incremental


@SETTINGS
@given(operations, option_sets)
def test_incremental_loc_rib_equals_scratch(ops, options):
    rib = new_rib(options=options, resolver=resolver, cluster_id="10.255.0.1")
    up = set()
    view = {}
    last = None
    for kind, i, prefixes, a, hop6 in ops:
        p = PEERS[i]
        if kind == "echo" and last is not None:
            # another peer sends what the last one did: ties, ECMP
            kind, prefixes, a, hop6 = "announce", *last
        if kind == "announce":
            last = (prefixes, a, hop6)
        if kind in ("announce", "withdraw") and i not in up:
            rib.peer_up(p, families=(V4, V6), forwarding_preserved=(V4, V6),
                        **SESSIONS.get(p.name, {}))
            up.add(i)
        add_path = p.name in SESSIONS and "add_path" in SESSIONS[p.name]
        if kind == "announce":
            if add_path:        # path id 1 or 2, by the number of prefixes
                rib.apply_update(p, Update((), a, [(len(prefixes) % 2 + 1, key(x))
                                                   for x in prefixes]))
            else:
                rib.apply_update(p, announce(prefixes, a))
            rib.apply_update(p, announce6(PREFIXES6[:len(prefixes) % 2 + 1], a, hop6))
        elif kind == "withdraw":
            if add_path:
                rib.apply_update(p, Update([(1, key(x)) for x in prefixes], None, ()))
            else:
                rib.apply_update(p, withdraw(prefixes))
            rib.apply_update(p, withdraw6(PREFIXES6[:1]))
        elif kind == "reimport" and i in up:
            rib.reimport(p)
        elif kind == "drain":
            check(rib, view, options)
        elif kind == "down" and i in up:
            rib.peer_down(p)
            up.discard(i)
        elif kind == "graceful" and i in up:
            rib.peer_down(p, graceful=True, restart_time=120, now=0)
            up.discard(i)
        elif kind == "eor" and i in up:
            rib.end_of_rib(p, V4)
        elif kind == "borr" and i in up:
            rib.begin_refresh(p, V4)
        elif kind == "eorr" and i in up:
            rib.end_refresh(p, V4)
    incremental = check(rib, view, options)

    known = {s.name for s in rib.sources()}
    counts = rib.counts()
    for fam in counts:
        assert counts[fam]["selected"] == sum(1 for k in incremental if k[0] == fam)
    for p in PEERS:
        if p.name not in known:
            continue
        for fam, c in rib.source_counts(p).items():
            assert c["preferred"] == sum(1 for k, v in incremental.items()
                                         if k[0] == fam and v[0][0] == p.name)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(PEERS) - 1),
                          st.one_of(st.sampled_from(MED_SETS), attribute_sets),
                          st.integers(0, 3)),
                min_size=1, max_size=7),
       st.booleans())
def test_fast_selection_equals_elimination(candidates, always):
    d = Decision(DecisionOptions(always_compare_med=always, deterministic_med=True),
                 lambda p: COST.get(p.next_hop, 0))
    seen = set()
    paths = []
    for i, a, pid in candidates:
        if (i, pid) in seen:
            continue
        seen.add((i, pid))
        paths.append(loose_path(PEERS[i], a, path_id=pid))
    paths.sort(key=lambda p: (p.source.order, p.path_id))
    selected = d.select(paths)
    survivors = d.eliminate(paths)
    assert len(survivors) == 1
    assert selected[0] is survivors[0]
