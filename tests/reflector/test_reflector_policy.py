"""Export policy after the fixed rules: per prefix, per source, with the
RFC 8212 defaults, and the routes of our own that only a policy sends."""

from __future__ import annotations

from rib.source import LocalKind

from reflector_testlib import (V4, Receiver, announce, attrs, drain, key, nh, originate, params,
                               peer, policies, stack, step)

TEXT = """
[prefix_lists]
blocks = ["10.245.0.0/16 ge 26"]

[[policies]]
name = "to-router"
default = "reject"

[[policies.rules]]
match.community = "NO_EXPORT"
action = "accept"                 # the fixed rule refuses it first

[[policies.rules]]
match.prefix_list = "blocks"
match.source = ["local-block", "static", "bgp"]
set.add_communities = ["64512:100"]
set.next_hop = "self"
action = "accept"

[[policies]]
name = "no-ebgp-learned"
default = "accept"

[[policies.rules]]
match.peer_type = "ebgp"
action = "reject"

[[policies]]
name = "kernel-too"
default = "accept"

[[policies.rules]]
match.source = "kernel"
set.med = 7
action = "accept"
"""
POL = policies(TEXT)
E = peer("E", "192.0.2.1", 65001)
C = peer("C", "10.0.0.1", rr_client=True)
ROUTER = peer("R", "198.51.100.2", 65010)


def test_policy_per_prefix_of_one_path():
    rib, ex = stack()
    rib.peer_up(C)
    ex.peer_up(ROUTER, params("198.51.100.1", export_policy=POL["to-router"]))
    r = Receiver()
    drain(ex, "R", r)
    # One UPDATE, one path: two blocks pass, the other prefix does not.
    rib.apply_update(C, announce(["10.245.1.0/26", "10.245.2.0/26", "10.9.0.0/24"],
                                 attrs(next_hop="10.0.0.1")))
    originate(rib, "10.245.0.64/26", kind=LocalKind.LOCAL_BLOCK)
    step(rib, ex)
    drain(ex, "R", r)
    assert r.prefixes() == {"10.245.1.0/26", "10.245.2.0/26", "10.245.0.64/26"}
    fields, next_hop = r.route("10.245.1.0/26")
    assert fields["communities"] == (64512 << 16 | 100,) and next_hop == nh("198.51.100.1")
    assert ex.explain("R", V4, "10.9.0.0/24") == "to-router default reject"
    assert ex.explain("R", V4, "10.245.1.0/26") is None


def test_fixed_rules_before_policy():
    rib, ex = stack()
    rib.peer_up(C)
    ex.peer_up(ROUTER, params("198.51.100.1", export_policy=POL["to-router"]))
    rib.apply_update(C, announce(["10.245.3.0/26"], attrs(next_hop="10.0.0.1",
                                                          communities=(0xFFFFFF01,))))
    step(rib, ex)
    r = Receiver()
    drain(ex, "R", r)
    assert r.prefixes() == set()
    assert "NO_EXPORT" in ex.explain("R", V4, "10.245.3.0/26")


def test_policy_reading_the_source():
    rib, ex = stack()
    rib.peer_up(E)
    rib.peer_up(C)
    ex.peer_up(peer("T", "10.0.0.7"), params(export_policy=POL["no-ebgp-learned"]))
    rib.apply_update(E, announce(["10.1.0.0/24"], attrs(65001, next_hop="192.0.2.1")))
    rib.apply_update(C, announce(["10.2.0.0/24"], attrs(next_hop="10.0.0.1")))
    step(rib, ex)
    r = Receiver()
    drain(ex, "T", r)
    assert r.prefixes() == {"10.2.0.0/24"}


def test_kernel_routes_only_through_a_named_policy():
    rib, ex = stack()
    originate(rib, "10.50.0.1/32", kind=LocalKind.KERNEL)
    originate(rib, "10.245.0.64/26", kind=LocalKind.LOCAL_BLOCK)
    ex.peer_up(peer("N1", "10.0.0.7"), params())                       # no policy
    ex.peer_up(peer("N2", "10.0.0.8"), params(export_policy=POL["kernel-too"]))
    r1, r2 = Receiver(), Receiver()
    drain(ex, "N1", r1)
    drain(ex, "N2", r2)
    assert r1.prefixes() == {"10.245.0.64/26"}
    assert r2.prefixes() == {"10.245.0.64/26", "10.50.0.1/32"}
    assert r2.route("10.50.0.1/32")[0]["med"] == 7
    assert "export policy" in ex.explain("N1", V4, key("10.50.0.1/32"))


def test_rfc8212_and_builtins():
    rib, ex = stack()
    originate(rib, "10.245.0.64/26")
    ex.peer_up(peer("X1", "198.51.100.2", 65010), params("198.51.100.1"))
    ex.peer_up(peer("X2", "198.51.100.3", 65011),
               params("198.51.100.1", export_policy=POL["reject-all"]))
    ex.peer_up(peer("X3", "198.51.100.4", 65012),
               params("198.51.100.1", export_policy=POL["accept-all"]))
    got = {}
    for n in ("X1", "X2", "X3"):
        got[n] = Receiver()
        drain(ex, n, got[n])
    assert got["X1"].prefixes() == got["X2"].prefixes() == set()
    assert got["X3"].prefixes() == {"10.245.0.64/26"}
    assert "RFC 8212" in ex.explain("X1", V4, "10.245.0.64/26")
    assert "reject-all" in ex.explain("X2", V4, "10.245.0.64/26")
