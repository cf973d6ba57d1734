"""RFC 4456 reflection and the fixed export rules, end to end: routes from
every kind of source reach (or not) every kind of receiver, with the
ORIGINATOR_ID and CLUSTER_LIST reflection adds."""

from __future__ import annotations

import pytest

from rib.policy import Policy
from rib.source import LocalKind, LocalSource
from reflector.rules import RULES, Target, refuse, reflecting, sent_by
from wire import Framer, UpdateCodec
from wire.constants import NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED

from reflector_testlib import (LOCAL_AS, Receiver, announce, attrs, drain, ip_id, originate,
                               params, peer, stack, step)

ACCEPT = Policy("accept-all", (), True)
CLUSTER = ip_id("10.255.0.1")

SOURCES = {
    "ebgp": peer("E", "192.0.2.1", 65001),
    "client": peer("C", "10.0.0.1", rr_client=True),
    "nonclient": peer("N", "10.0.0.2"),
    "local": None,
}
PREFIX = {"ebgp": "10.1.0.0/24", "client": "10.2.0.0/24", "nonclient": "10.3.0.0/24",
          "local": "10.4.0.0/24"}
TARGETS = {
    "ebgp": (peer("TE", "198.51.100.2", 65002), params("198.51.100.1", export_policy=ACCEPT)),
    "client": (peer("TC", "10.0.0.3", rr_client=True), params()),
    "nonclient": (peer("TN", "10.0.0.4"), params()),
}

# source kind, target kind -> (sent, reflected: ORIGINATOR_ID and CLUSTER_LIST added)
TRUTH = {
    ("ebgp", "ebgp"): (True, False),
    ("ebgp", "client"): (True, False),
    ("ebgp", "nonclient"): (True, False),
    ("client", "ebgp"): (True, False),
    ("client", "client"): (True, True),
    ("client", "nonclient"): (True, True),
    ("nonclient", "ebgp"): (True, False),
    ("nonclient", "client"): (True, True),
    ("nonclient", "nonclient"): (False, None),     # RFC 4271 9.2
    ("local", "ebgp"): (True, False),
    ("local", "client"): (True, False),
    ("local", "nonclient"): (True, False),
}


@pytest.fixture(scope="module")
def received():
    rib, ex = stack()
    for kind, p in SOURCES.items():
        if p is None:
            originate(rib, PREFIX[kind])
        else:
            rib.peer_up(p)
            nh = str(p.address)
            path = (65001,) if kind == "ebgp" else ()
            rib.apply_update(p, announce([PREFIX[kind]], attrs(*path, next_hop=nh)))
    out = {}
    for kind, (p, prm) in TARGETS.items():
        ex.peer_up(p, prm)
        r = out[kind] = Receiver()
        drain(ex, p.name, r)
    step(rib, ex)
    for kind, (p, _prm) in TARGETS.items():
        drain(ex, p.name, out[kind])
    return out


@pytest.mark.parametrize("source,target", sorted(TRUTH))
def test_reflection_truth_table(received, source, target):
    sent, reflected = TRUTH[source, target]
    got = received[target].route(PREFIX[source])
    assert (got is not None) == sent
    if not sent:
        return
    fields = got[0]
    if reflected:
        src = SOURCES[source]
        assert fields["originator_id"] == src.bgp_id          # RFC 4456 section 8
        assert fields["cluster_list"] == (CLUSTER,)
    else:
        assert "originator_id" not in fields and "cluster_list" not in fields


def test_truth_table_covers_every_pair():
    assert set(TRUTH) == {(s, t) for s in SOURCES for t in TARGETS}


def test_existing_originator_kept_and_cluster_prepended():
    rib, ex = stack()
    c = peer("C", "10.0.0.1", rr_client=True)
    t = peer("T", "10.0.0.3", rr_client=True)
    rib.peer_up(c)
    ex.peer_up(t, params())
    r = Receiver()
    a = attrs(next_hop="10.0.0.9", originator_id=ip_id("10.0.0.9"), cluster_list=(7,))
    rib.apply_update(c, announce(["10.9.0.0/24"], a))
    step(rib, ex)
    drain(ex, "T", r)
    fields, _nh = r.route("10.9.0.0/24")
    assert fields["originator_id"] == ip_id("10.0.0.9")
    assert fields["cluster_list"] == (CLUSTER, 7)


def test_never_sent_back_to_its_source():
    rib, ex = stack()
    c1, c2 = peer("C1", "10.0.0.1", rr_client=True), peer("C2", "10.0.0.2", rr_client=True)
    recv = {}
    for p in (c1, c2):
        rib.peer_up(p)
        ex.peer_up(p, params())
        recv[p.name] = Receiver()
        drain(ex, p.name, recv[p.name])
    rib.apply_update(c1, announce(["10.1.0.0/26"], attrs(next_hop="10.0.0.1")))
    step(rib, ex)
    for p in (c1, c2):
        drain(ex, p.name, recv[p.name])
    assert recv["C1"].prefixes() == set()
    assert recv["C2"].prefixes() == {"10.1.0.0/26"}
    assert ex.counts("C1")[(1, 1)] == 0 and ex.counts("C2")[(1, 1)] == 1
    assert ex.explain("C1", (1, 1), "10.1.0.0/26") == "learned from this peer"


# -- the rules one by one ----------------------------------------------------------

IBGP = Target(ibgp=True, local_asn=LOCAL_AS)
CLIENT = Target(ibgp=True, local_asn=LOCAL_AS, rr_client=True)
EBGP = Target(ibgp=False, local_asn=LOCAL_AS)
E = SOURCES["ebgp"]
C = SOURCES["client"]
N = SOURCES["nonclient"]
STATIC = LocalSource(LocalKind.STATIC)
KERNEL = LocalSource(LocalKind.KERNEL)

RULE_ROWS = [
    # source, communities, target, refused by (rule name or None)
    (E, (), EBGP, None),
    (E, (NO_ADVERTISE,), IBGP, "no_advertise"),
    (E, (NO_ADVERTISE,), EBGP, "no_advertise"),
    (STATIC, (NO_ADVERTISE,), CLIENT, "no_advertise"),
    (E, (NO_EXPORT,), EBGP, "no_export"),
    (E, (NO_EXPORT,), IBGP, None),
    (C, (NO_EXPORT,), CLIENT, None),
    (E, (NO_EXPORT_SUBCONFED,), EBGP, "no_export_subconfed"),
    (E, (NO_EXPORT_SUBCONFED,), IBGP, None),
    (E, (65001 << 16 | 7,), EBGP, None),
    (N, (), IBGP, "ibgp_split_horizon"),
    (N, (), CLIENT, None),
    (C, (), IBGP, None),
    (N, (), EBGP, None),
    (KERNEL, (), IBGP, "local_not_announced"),
    (KERNEL, (), Target(ibgp=True, local_asn=LOCAL_AS, explicit_policy=True), None),
    (STATIC, (), IBGP, None),
]


@pytest.mark.parametrize("source,communities,target,rule", RULE_ROWS)
def test_rule_table(source, communities, target, rule):
    a = attrs(communities=communities) if communities else attrs()
    why = refuse(source, a, target)
    if rule is None:
        assert why is None
    else:
        hits = [r.__name__ for r in RULES if r(source, a, target) is not None]
        assert hits[0] == rule and why is not None


def test_rules_say_their_rfc():
    for rule in RULES:
        assert rule.__doc__ and ("RFC" in rule.__doc__ or "policy" in rule.__doc__)


def test_reflecting_and_sender():
    assert reflecting(C, IBGP) and reflecting(N, CLIENT)
    assert not reflecting(E, IBGP) and not reflecting(C, EBGP) and not reflecting(STATIC, IBGP)
    assert sent_by(C, "C") and not sent_by(C, "N") and not sent_by(STATIC, "static")


# -- hierarchical reflection -----------------------------------------------------------

def _carry(ex, name, rib, as_peer, codec=None):
    """What ``name`` is sent by ``ex``, applied to ``rib`` as coming from ``as_peer``."""
    codec = codec or UpdateCodec()
    framer = Framer()
    for m in drain(ex, name):
        for _t, body in framer.feed(m):
            u = codec.decode(body)
            if u.end_of_rib is None:
                rib.apply_update(as_peer, u)


def test_hierarchical_reflectors():
    """RR1 (cluster 1) is a client of RR2 (cluster 2): the same rules at
    both levels; CLUSTER_LIST grows by each reflector's id."""
    from rib import Rib
    from reflector import Exporter
    rib1 = Rib("10.255.0.1", LOCAL_AS, cluster_id=1)
    ex1 = Exporter("10.255.0.1", LOCAL_AS, cluster_id=1, rib=rib1)
    rib2 = Rib("10.255.0.2", LOCAL_AS, cluster_id=2)
    ex2 = Exporter("10.255.0.2", LOCAL_AS, cluster_id=2, rib=rib2)
    c1 = peer("C1", "10.0.1.1", rr_client=True)                 # client of RR1
    rr2_at_1 = peer("RR2", "10.255.0.2")                         # RR1's view: a non-client
    rr1_at_2 = peer("RR1", "10.255.0.1", rr_client=True)         # RR2's view: a client
    c2 = peer("C2", "10.0.2.1", rr_client=True)
    n2 = peer("N2", "10.0.2.9")
    for p in (c1, rr2_at_1):
        rib1.peer_up(p)
    for p in (rr1_at_2, c2, n2):
        rib2.peer_up(p)
    ex1.peer_up(c1, params("10.255.0.1"))
    ex1.peer_up(rr2_at_1, params("10.255.0.1"))
    for p in (rr1_at_2, c2, n2):
        ex2.peer_up(p, params("10.255.0.2"))
    r = {n: Receiver() for n in ("C1", "C2", "N2")}
    drain(ex1, "C1", r["C1"])
    drain(ex2, "C2", r["C2"])
    drain(ex2, "N2", r["N2"])
    drain(ex1, "RR2")
    drain(ex2, "RR1")

    # Up the tree: C1 -> RR1 -> RR2 -> C2 and N2.
    rib1.apply_update(c1, announce(["10.1.0.0/26"], attrs(next_hop="10.0.1.1")))
    step(rib1, ex1)
    _carry(ex1, "RR2", rib2, rr1_at_2)
    step(rib2, ex2)
    for n in ("C2", "N2"):
        drain(ex2, n, r[n])
        fields, nh = r[n].route("10.1.0.0/26")
        assert fields["originator_id"] == ip_id("10.0.1.1")
        assert fields["cluster_list"] == (2, 1)
        assert nh == bytes([10, 0, 1, 1])                   # next hop untouched
    assert drain(ex2, "RR1") == []                           # not back to RR1

    # Down the tree: N2 (a non-client of RR2) -> RR2 -> RR1 (client) -> C1.
    rib2.apply_update(n2, announce(["10.2.0.0/26"], attrs(next_hop="10.0.2.9")))
    step(rib2, ex2)
    drain(ex2, "C2", r["C2"])
    assert r["C2"].route("10.2.0.0/26") is not None
    _carry(ex2, "RR1", rib1, rr2_at_1)
    step(rib1, ex1)
    drain(ex1, "C1", r["C1"])
    fields, _nh = r["C1"].route("10.2.0.0/26")
    assert fields["originator_id"] == ip_id("10.0.2.9")
    assert fields["cluster_list"] == (1, 2)
    # RR1 has no other non-client to send it to, and never back to RR2; N2
    # is never sent its own route.
    assert drain(ex1, "RR2") == []
    drain(ex2, "N2", r["N2"])
    assert r["N2"].route("10.2.0.0/26") is None
