"""Route reflection (RFC 4456) against real daemons, and our own iBGP mesh.

The labs
--------
``test_reflector_for_three_clients``: our daemon (AS 65000, router id
1.1.1.254, ``cluster_id`` 1.1.1.1) in namespace ``rr`` reflects between
three clients of the same AS, each on a link of its own and each
``route_reflector_client = true`` on our side:

=======  ===========  ===========  ==========  ===============
client   our end      their end    router id   announces
=======  ===========  ===========  ==========  ===============
BIRD 2   10.0.1.1     10.0.1.2     2.2.2.2     10.102.0.0/24
FRR      10.0.2.1     10.0.2.2     3.3.3.3     10.103.0.0/24
GoBGP    10.0.3.1     10.0.3.2     4.4.4.4     10.104.0.0/24
=======  ===========  ===========  ==========  ===============

Every client must receive the other two prefixes, and its own CLI must
show ORIGINATOR_ID = the originating client's router id and CLUSTER_LIST
= [1.1.1.1] (our cluster id, not our router id), with the NEXT_HOP left as
the originator set it (RFC 4456 section 10: a reflector does not change
it).  A client never gets its own route back: our ``show protocols all``
counts two routes exported to each.  The clients reach the
other links through a static route via ``rr`` (BIRD only uses an iBGP
route whose next hop it can resolve).

``test_client_of_bird_reflector``: BIRD 2 (router id 2.2.2.2) reflects
between our daemon (``10.0.1.1``, announcing 10.110.0.0/24) and FRR
(``10.0.2.2``, announcing 10.113.0.0/24), both ``rr client`` on BIRD's
side.  We must receive FRR's prefix with FRR's next hop, and FRR ours with
ORIGINATOR_ID = our router id and CLUSTER_LIST = [BIRD's router id].

``test_mesh``: N of our daemons in one namespace, each on an address of
its own on the loopback (10.77.0.1..N), configured only by ``[mesh]``
(``nodes`` = every address), each originating one /26: every node's Loc-RIB
must hold every other node's /26, learned from ``Mesh_<address>`` with
that node's address as next hop.  N = 10 and N = 50 (1225 sessions; on two
cores the 50 daemons take ~10 s to start and the mesh converges within
seconds after).
"""

from __future__ import annotations

import time

import pytest

from .bgpd_lab import Originate, Peer
from .daemons import Bird2, Frr, GoBgp, Neighbor, Route
from .lab import wait_until
from .rr_lab import (BgpOnlyBird2, RrBgpd, bird_reflection, frr_nexthop, frr_reflection,
                     gobgp_reflection)

pytestmark = pytest.mark.lab

ASN = 65000
CLUSTER_ID = "1.1.1.1"
OUR_ID = "1.1.1.254"
FRR_ID = "3.3.3.3"
CONVERGE = 30.0            # seconds for routes to go round (BIRD waits ~3 s, GoBGP 5-10 s)


def _need(*classes):
    for cls in classes:
        if cls.missing():
            pytest.skip(cls.missing())


def _client_routes(ns, via: str) -> None:
    """The other links of the lab through ``via`` (our reflector)."""
    ns.ip("route", "add", "10.0.0.0/16", "via", via)


# ---------------------------------------------------------------------------
# Our daemon reflecting between BIRD 2, FRR and GoBGP

def test_reflector_for_three_clients(lab):
    _need(Bird2, Frr, GoBgp)
    rr = lab.namespace("rr")
    ns = {k: lab.namespace(k) for k in ("bird", "frr", "gobgp")}
    links = {k: lab.link(rr, ns[k]) for k in ns}
    rr.sysctl("net.ipv4.ip_forward=1")
    ids = {"bird": "2.2.2.2", "frr": FRR_ID, "gobgp": "4.4.4.4"}
    prefixes = {"bird": "10.102.0.0/24", "frr": "10.103.0.0/24", "gobgp": "10.104.0.0/24"}
    hops = {k: links[k].b_v4 for k in ns}

    ours = RrBgpd(lab, rr, ASN, OUR_ID, cluster_id=CLUSTER_ID, clients=ns.keys(),
                  peers=[Peer(k, links[k].b_v4, ASN, local_address=links[k].a_v4)
                         for k in ns])
    ours.start()
    daemons = {}
    for k, cls in (("bird", BgpOnlyBird2), ("frr", Frr), ("gobgp", GoBgp)):
        _client_routes(ns[k], links[k].a_v4)
        n = Neighbor(links[k].a_v4, ASN, links[k].b_v4, name="reflector", families=("ipv4",),
                     import_routes=True)
        daemons[k] = cls(lab, ns[k], asn=ASN, router_id=ids[k], neighbors=[n],
                         routes=[Route(prefixes[k], next_hop=hops[k] if k != "bird" else None)])
        if k == "bird":
            # The kernel's route to the reflected next hops, for BIRD's
            # recursive next-hop resolution (kept out of BGP).
            daemons[k].extra_config = ("protocol kernel { learn; "
                                       "ipv4 { import all; export none; }; }")
        daemons[k].start()
    ours.wait_established(*ns.keys(), timeout=CONVERGE)

    def others(k):
        return {prefixes[o]: (ids[o], (CLUSTER_ID,)) for o in ns if o != k}

    def bird_ok():
        seen = bird_reflection(daemons["bird"])
        return all(seen.get(p) == v for p, v in others("bird").items()) and seen
    seen = wait_until(bird_ok, CONVERGE, "BIRD to show FRR's and GoBGP's routes reflected")
    assert prefixes["bird"] not in seen or seen[prefixes["bird"]][0] is None

    def frr_ok():
        got = {p: frr_reflection(daemons["frr"], p) for p in others("frr")}
        return got == others("frr") and got
    wait_until(frr_ok, CONVERGE, "FRR to show BIRD's and GoBGP's routes reflected")
    for o in ("bird", "gobgp"):
        assert frr_nexthop(daemons["frr"], prefixes[o]) == hops[o]

    def gobgp_ok():
        seen = gobgp_reflection(daemons["gobgp"])
        return all(seen.get(p) == v for p, v in others("gobgp").items()) and seen
    seen = wait_until(gobgp_ok, CONVERGE, "GoBGP to show BIRD's and FRR's routes reflected")
    # GoBGP's own route is local (no ORIGINATOR_ID): it did not come back.
    assert seen[prefixes["gobgp"]] == (None, ())

    # Our own Loc-RIB has all three, each from its client, next hop unchanged.
    best = ours.best_routes()
    for k in ns:
        assert best[prefixes[k]]["protocol"] == k
        assert best[prefixes[k]]["via"] == hops[k]
        # Each client was sent the other two routes, never its own back.
        assert ours.detail(k)["routes"]["ipv4-unicast"]["exported"] == 2


# ---------------------------------------------------------------------------
# Our daemon as a client of BIRD 2 reflecting

def test_client_of_bird_reflector(lab):
    _need(Bird2, Frr)
    bns, ons, fns = lab.namespace("bird"), lab.namespace("us"), lab.namespace("frr")
    lo = lab.link(ons, bns)          # us 10.0.1.1, BIRD 10.0.1.2
    lf = lab.link(bns, fns)          # BIRD 10.0.2.1, FRR 10.0.2.2
    bird_id = "2.2.2.2"
    ours_prefix, frr_prefix = "10.110.0.0/24", "10.113.0.0/24"
    ons.ip("route", "add", "10.0.0.0/16", "via", lo.b_v4)
    fns.ip("route", "add", "10.0.0.0/16", "via", lf.a_v4)

    bird = BgpOnlyBird2(lab, bns, asn=ASN, router_id=bird_id, neighbors=[
        Neighbor(lo.a_v4, ASN, lo.b_v4, name="pybgpd", families=("ipv4",), rr_client=True,
                 import_routes=True),
        Neighbor(lf.b_v4, ASN, lf.a_v4, name="frr", families=("ipv4",), rr_client=True,
                 import_routes=True)],
        # Connected routes, for next-hop resolution only (kept out of BGP).
        extra_config='protocol direct { ipv4; interface "*"; }')
    bird.start()
    frr = Frr(lab, fns, asn=ASN, router_id=FRR_ID, routes=[Route(frr_prefix)],
              neighbors=[Neighbor(lf.a_v4, ASN, lf.b_v4, name="bird", families=("ipv4",),
                                  import_routes=True)])
    frr.start()
    ours = RrBgpd(lab, ons, ASN, OUR_ID, originate=[Originate(ours_prefix)],
                  peers=[Peer("bird", lo.b_v4, ASN, local_address=lo.a_v4)])
    ours.start()
    ours.wait_established("bird", timeout=CONVERGE)

    def ours_ok():
        return ours.candidates(frr_prefix).get("bird")
    row = wait_until(ours_ok, CONVERGE, "our daemon to learn FRR's prefix through BIRD")
    # RFC 4456 section 10: BIRD passes FRR's next hop on unchanged.
    assert row["via"] == lf.b_v4, row
    assert row["as_path"] == "" and row["local_pref"] == 100, row
    # ORIGINATOR_ID / CLUSTER_LIST, where ``show route`` shows them.
    if "originator_id" in row:
        assert row["originator_id"] == FRR_ID, row
    if "cluster_list" in row:
        assert list(row["cluster_list"]) == [bird_id], row

    got = wait_until(lambda: frr_reflection(frr, ours_prefix), CONVERGE,
                     "FRR to learn our prefix through BIRD")
    assert got == (OUR_ID, (bird_id,)), got
    assert frr_nexthop(frr, ours_prefix) == lo.a_v4


# ---------------------------------------------------------------------------
# Our own full mesh

@pytest.mark.parametrize("n", [10, 50])
def test_mesh(lab, n):
    ns = lab.namespace("mesh")
    nodes = [f"10.77.0.{i}" for i in range(1, n + 1)]
    for a in nodes:
        ns.ip("addr", "add", f"{a}/32", "dev", "lo")
    nets = {a: f"10.78.{i}.0/26" for i, a in enumerate(nodes)}
    daemons = [RrBgpd(lab, ns, ASN, a, name=f"bgpd-{a}", listen=(a,), log_level="info",
                      mesh_nodes=nodes, mesh_local=a, originate=[Originate(nets[a])])
               for a in nodes]
    for d in daemons:
        d.start(timeout=30)
    start = time.monotonic()
    want = set(nets.values())

    def converged():
        return all(want <= set(d.best_routes()) for d in daemons)
    wait_until(converged, 60, f"{n} mesh nodes to converge")
    print(f"mesh of {n} converged in {time.monotonic() - start:.1f}s")
    for d, a in zip(daemons, nodes):
        best = d.best_routes()
        for b in nodes:
            if b != a:
                route = best[nets[b]]
                assert route["protocol"] == "Mesh_" + b.replace(".", "_"), route
                assert route["via"] == b, route
