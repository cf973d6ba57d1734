"""The desired FIB, table-driven: every encapsulation mode, recursion, ECMP,
local blocks, metrics, and the reasons a destination is not installed.

The kernel view is written by hand (no kernel involved): a node at
192.168.16.101/24 with eth0, a stand-in ``tunl0``, two VXLAN devices and a
downed link; a connected subnet, a static route to the other node subnet,
a multipath route, and a blackhole covering some next hops.
"""

from __future__ import annotations

import hashlib
import ipaddress

import pytest

from kernel_sync import (BlockType, Encap, Forward, KernelEntry, KernelView, KRoute, Nexthop, Node,
                         Pool, SyncOptions, TunnelPeer, Unresolved, addr, desired_fib, dest)
from kernel_sync.desired import FibComputer, Outcome
from kernel_sync.model import Interface

ETH0, TUNL0, VXLAN, VXLAN6, DOWN0 = 2, 3, 4, 5, 6
UNICAST, BLACKHOLE, UNREACHABLE, PROHIBIT = 1, 6, 7, 8


def a(text: str) -> bytes:
    return addr(text)


def entry(prefix, value, proto=2, metric=0, table=254) -> KernelEntry:
    afi, key = dest(prefix)
    return KernelEntry(afi, key, table, metric, proto, value)


def connected(prefix, oif):
    return entry(prefix, KRoute(UNICAST, (Nexthop(None, oif),)))


def via(prefix, *gateways, oif=ETH0, proto=4):
    hops = tuple(sorted(Nexthop(a(g), oif) for g in gateways))
    return entry(prefix, KRoute(UNICAST, hops), proto=proto)


def make_view() -> KernelView:
    interfaces = {
        1: Interface(1, "lo"),
        ETH0: Interface(ETH0, "eth0"),
        TUNL0: Interface(TUNL0, "tunl0"),
        VXLAN: Interface(VXLAN, "vxlan.calico"),
        VXLAN6: Interface(VXLAN6, "vxlan-v6.calico"),
        DOWN0: Interface(DOWN0, "down0", up=False),
    }
    routes = {}
    for e in (
        connected("192.168.16.0/24", ETH0),
        connected("fd00:16::/64", ETH0),
        via("192.168.17.0/24", "192.168.16.1"),
        via("172.20.0.0/16", "192.168.16.2", "192.168.16.3"),
        entry("172.21.0.0/16", KRoute(BLACKHOLE, ()), proto=4),
        via("172.22.0.0/16", "192.168.16.9", oif=DOWN0),
        via("fd00:17::/64", "fd00:16::1"),
    ):
        routes[(e.afi, e.key, e.table, e.tos, e.metric)] = e
    return KernelView(interfaces, {}, routes)


NODE = Node(["192.168.16.101/24", "fd00:16::101/64"], vteps={"192.168.17.6": "10.4.9.0"})
POOLS = [
    Pool("10.1.0.0/16", Encap.NONE),
    Pool("10.2.0.0/16", Encap.IPIP),
    Pool("10.3.0.0/16", Encap.IPIP_CROSS_SUBNET),
    Pool("10.4.0.0/16", Encap.VXLAN),
    Pool("10.4.128.0/17", Encap.NONE),              # longer pool wins
    Pool("10.5.0.0/16", Encap.VXLAN_CROSS_SUBNET),
    Pool("10.6.0.0/16", Encap.IPIP, device="nosuch"),
    Pool("10.7.0.0/16", Encap.IPIP, device="down0"),
    Pool("fd00:5::/48", Encap.VXLAN),
]


def hop(gw, oif, onlink=False):
    return Nexthop(a(gw), oif, onlink)


def uni(*hops):
    return KRoute(UNICAST, tuple(sorted(hops, key=lambda h: (h.gateway, h.oif, h.onlink))))


def peer(ifindex, vtep, under):
    v = a(vtep)
    mac = b"\x0e\xbd" + v if len(v) == 4 else b"\x0e\xbe" + hashlib.sha256(v).digest()[:4]
    return TunnelPeer(ifindex, 1 if len(v) == 4 else 2, v, mac, a(under))


def fwd(*hops, lp=None):
    return Forward.via(*hops, local_pref=lp)


# name, destination, intent, expected value (KRoute) or reason substring, tunnels
CASES = [
    ("plain, connected next hop", "10.1.1.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", ETH0)), ()),
    ("plain, recursive through a static route", "10.1.2.0/26", fwd("192.168.17.5"),
     uni(hop("192.168.16.1", ETH0)), ()),
    ("plain, recursive through a multipath route", "10.1.3.0/26", fwd("172.20.1.1"),
     uni(hop("192.168.16.2", ETH0), hop("192.168.16.3", ETH0)), ()),
    ("plain, outside every route", "10.1.4.0/26", fwd("172.31.0.1"),
     "172.31.0.1 is unreachable", ()),
    ("plain, covered by a blackhole", "10.1.5.0/26", fwd("172.21.0.1"),
     "172.21.0.1 is unreachable", ()),
    ("plain, covered by a route on a downed link", "10.1.6.0/26", fwd("172.22.0.1"),
     "unreachable", ()),
    ("plain, ECMP of two connected next hops", "10.1.7.0/26",
     fwd("192.168.16.6", "192.168.16.5"),
     uni(hop("192.168.16.5", ETH0), hop("192.168.16.6", ETH0)), ()),
    ("plain, ECMP keeps the reachable next hop", "10.1.8.0/26",
     fwd("192.168.16.5", "172.31.0.1"), uni(hop("192.168.16.5", ETH0)), ()),
    ("no pool: plain", "10.200.0.0/24", fwd("192.168.16.5"), uni(hop("192.168.16.5", ETH0)), ()),
    ("ipip, other subnet", "10.2.1.0/26", fwd("192.168.17.5"),
     uni(hop("192.168.17.5", TUNL0, True)), ()),
    ("ipip, same subnet still encapsulates", "10.2.2.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", TUNL0, True)), ()),
    ("ipip-cross-subnet, same subnet: plain", "10.3.1.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", ETH0)), ()),
    ("ipip-cross-subnet, other subnet: tunl0", "10.3.2.0/26", fwd("192.168.17.5"),
     uni(hop("192.168.17.5", TUNL0, True)), ()),
    ("vxlan, VTEP is the node address", "10.4.1.0/26", fwd("192.168.17.5"),
     uni(hop("192.168.17.5", VXLAN, True)), (peer(VXLAN, "192.168.17.5", "192.168.17.5"),)),
    ("vxlan, same subnet still encapsulates", "10.4.2.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", VXLAN, True)), (peer(VXLAN, "192.168.16.5", "192.168.16.5"),)),
    ("vxlan, configured VTEP address", "10.4.3.0/26", fwd("192.168.17.6"),
     uni(hop("10.4.9.0", VXLAN, True)), (peer(VXLAN, "10.4.9.0", "192.168.17.6"),)),
    ("vxlan pool, longer plain pool inside it wins", "10.4.130.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", ETH0)), ()),
    ("vxlan-cross-subnet, same subnet: plain", "10.5.1.0/26", fwd("192.168.16.5"),
     uni(hop("192.168.16.5", ETH0)), ()),
    ("vxlan-cross-subnet, other subnet: vxlan", "10.5.2.0/26", fwd("192.168.17.5"),
     uni(hop("192.168.17.5", VXLAN, True)), (peer(VXLAN, "192.168.17.5", "192.168.17.5"),)),
    ("vxlan-cross-subnet, ECMP across both", "10.5.3.0/26",
     fwd("192.168.16.5", "192.168.17.5"),
     uni(hop("192.168.16.5", ETH0), hop("192.168.17.5", VXLAN, True)),
     (peer(VXLAN, "192.168.17.5", "192.168.17.5"),)),
    ("tunnel device missing", "10.6.1.0/26", fwd("192.168.17.5"), "nosuch does not exist", ()),
    ("tunnel device down", "10.7.1.0/26", fwd("192.168.17.5"), "down0 is down", ()),
    ("next hop is this node", "10.1.9.0/26", fwd("192.168.16.101"), "is this node", ()),
    ("next hop of the other family", "10.1.10.0/26", fwd("fd00:16::5"),
     "not of the route's family", ()),
    ("IPv6 plain", "fd00:99::/64", fwd("fd00:16::5"), uni(hop("fd00:16::5", ETH0)), ()),
    ("IPv6 recursive", "fd00:98::/64", fwd("fd00:17::5"), uni(hop("fd00:16::1", ETH0)), ()),
    ("IPv6 vxlan", "fd00:5:0:1::/64", fwd("fd00:17::5"),
     uni(hop("fd00:17::5", VXLAN6, True)), (peer(VXLAN6, "fd00:17::5", "fd00:17::5"),)),
    ("local block: blackhole", "10.4.0.64/26", BlockType.BLACKHOLE, KRoute(BLACKHOLE), ()),
    ("local block: unreachable", "10.4.0.128/26", BlockType.UNREACHABLE, KRoute(UNREACHABLE), ()),
    ("local block: prohibit", "fd00:5:2::/64", BlockType.PROHIBIT, KRoute(PROHIBIT), ()),
]


@pytest.mark.parametrize("name,prefix,intent,expected,tunnels", CASES, ids=[c[0] for c in CASES])
def test_desired_route(name, prefix, intent, expected, tunnels):
    comp = FibComputer(SyncOptions(), NODE, POOLS, make_view())
    d = dest(prefix)
    out = comp.compute(d[0], d[1], intent)
    if isinstance(expected, str):
        assert isinstance(out, Unresolved), out
        assert expected in out
    else:
        assert isinstance(out, Outcome), out
        assert out.value == expected
        assert out.metric == (1024 if d[0] == 2 else 0)
        assert set(out.tunnels) == set(tunnels)


# options, intent, afi -> metric
METRICS = [
    (SyncOptions(), fwd("192.168.16.5", lp=100), 1, 0),
    (SyncOptions(), fwd("fd00:16::5"), 2, 1024),
    (SyncOptions(metric=20), fwd("192.168.16.5", lp=100), 1, 20),
    (SyncOptions(metric_from_local_pref=True), fwd("192.168.16.5", lp=100), 1, 2147483547),
    (SyncOptions(metric_from_local_pref=True, metric=1024), fwd("192.168.16.5"), 1, 1024),
    (SyncOptions(metric_from_local_pref=True, metric=7), BlockType.BLACKHOLE, 1, 7),
    (SyncOptions(metric_from_local_pref=True), fwd("192.168.16.5", lp=2**32 - 1), 1, 0),
    (SyncOptions(metric_from_local_pref=True), fwd("fd00:16::5", lp=200), 2, 2147483447),
]


@pytest.mark.parametrize("options,intent,afi,metric", METRICS)
def test_metric(options, intent, afi, metric):
    comp = FibComputer(options, NODE, POOLS, make_view())
    d = dest("10.1.1.0/26") if afi == 1 else dest("fd00:99::/64")
    assert comp.compute(d[0], d[1], intent).metric == metric


def test_desired_fib_collects_routes_tunnels_and_reasons():
    routes = {dest(p): i for _n, p, i, _e, _t in CASES if isinstance(i, Forward)}
    routes[dest("10.4.0.64/26")] = fwd("192.168.17.5")          # a block wins over a route
    routes[dest("10.96.0.0/24")] = fwd("192.168.16.5")          # service range
    blocks = {dest(p): i for _n, p, i, _e, _t in CASES if isinstance(i, BlockType)}
    fib = desired_fib(routes, blocks, POOLS, NODE, make_view(),
                      SyncOptions(never_install=("10.96.0.0/12",)))
    assert fib.routes[dest("10.4.0.64/26")].value == KRoute(BLACKHOLE)
    assert fib.skipped == [dest("10.96.0.0/24")]
    assert set(fib.unresolved) == {dest(p) for _n, p, _i, e, _t in CASES if isinstance(e, str)}
    v = a("192.168.17.5")
    assert fib.neighbours[(VXLAN, 1, v)] == b"\x0e\xbd" + v
    assert fib.fdb[(VXLAN, b"\x0e\xbd" + v)] == v
    assert fib.fdb[(VXLAN, b"\x0e\xbd" + a("10.4.9.0"))] == a("192.168.17.6")
    expected = sum(1 for c in CASES if not isinstance(c[3], str))
    assert len(fib.routes) == expected


def test_blocks_given_as_a_list_take_the_configured_type():
    fib = desired_fib({}, [dest("10.4.0.64/26")], POOLS, NODE, make_view(),
                      SyncOptions(block_type="unreachable"))
    assert fib.routes[dest("10.4.0.64/26")].value == KRoute(UNREACHABLE)


def test_shared_intents_share_one_outcome():
    comp = FibComputer(SyncOptions(), NODE, POOLS, make_view())
    f = fwd("192.168.17.5")
    outs = {id(comp.compute(1, dest(f"10.4.{i}.0/26")[1], f)) for i in range(50)}
    assert len(outs) == 1


def test_resolver_answers_the_rib():
    res = FibComputer(SyncOptions(), NODE, POOLS, make_view()).resolver
    assert res(a("192.168.16.7")) == (True, 0)
    assert res(a("192.168.17.7")) == (True, 0)           # static route, metric 0
    assert res(a("172.21.0.1")) == (False, 0)            # blackhole
    assert res(a("fd00:16::7") + a("fe80::1")) == (True, 0)   # global + link-local


def test_pool_rejects_ipip_for_ipv6():
    with pytest.raises(ValueError, match="IPv4 only"):
        Pool("fd00::/48", Encap.IPIP)


def test_forward_normalises_next_hops():
    f = Forward((a("fd00::1") + a("fe80::1"), a("fd00::1")))
    assert f.next_hops == (a("fd00::1"),)
    assert Forward.via("10.0.0.1") == Forward((a("10.0.0.1"),))
    f5 = Forward.via("10.0.0.1", local_pref=5)
    assert hash(f5) == hash(Forward.via("10.0.0.1", local_pref=5))
    with pytest.raises(ValueError):
        Forward(())


def test_dest_conversions():
    d = dest("10.245.0.64/26")
    assert d == (1, b"\x1a\x0a\xf5\x00\x40")
    assert dest(ipaddress.ip_network("10.245.0.64/26")) == d
    assert dest(d) is d
    from kernel_sync import dest_text, dest_network
    assert dest_text(d) == "10.245.0.64/26"
    assert dest_network(dest("fd00:1::/64")) == ipaddress.ip_network("fd00:1::/64")
    with pytest.raises(ValueError):
        dest("10.0.0.1/24")
