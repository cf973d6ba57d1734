"""KernelSync against the real kernel, in network namespaces.

Each test builds a node namespace linked to a peer namespace
(192.168.16.0/24), with a static route to the other node subnet
(192.168.17.0/24 via the peer) and, where IPIP is involved, a stand-in
``tunl0``: this kernel has no IPIP module, so a veth end named ``tunl0``
takes its place; the routes programmed onto it are exactly those a real
``tunl0`` gets.  What the kernel holds is read back with ``ip -json`` and
``bridge -json``, as an operator would.
"""

from __future__ import annotations

import pytest

from kernel_sync import (BlockType, Encap, Forward, KRoute, LearnFilter, Nexthop, Node, Pool, dest,
                         rtnl)
from kernel_sync.netlink import Channel
from ks_lab import fdb, ip_json, neighbours, routes, standin_tunl0, sync_in, wait_events

pytestmark = pytest.mark.lab

NODE = Node(["192.168.16.1/24", "fd00:16::1/64"])
POOLS = [
    Pool("10.1.0.0/16", Encap.NONE),
    Pool("10.2.0.0/16", Encap.IPIP),
    Pool("10.3.0.0/16", Encap.IPIP_CROSS_SUBNET),
    Pool("10.4.0.0/16", Encap.VXLAN),
    Pool("10.5.0.0/16", Encap.VXLAN_CROSS_SUBNET),
]


def node_ns(lab, tunl0=True):
    node, peer = lab.namespace("node"), lab.namespace("peer")
    link = lab.link(node, peer, v4="192.168.16.0/24", v6="fd00:16::/64")
    node.ip("route", "add", "192.168.17.0/24", "via", "192.168.16.2")
    if tunl0:
        standin_tunl0(node)
    return node, link.interface(node)


def fwd(*hops):
    return Forward.via(*hops)


def test_every_mode_programs_exactly_the_expected_entries(lab):
    node, eth = node_ns(lab)
    ks = sync_in(node, node=NODE, pools=POOLS)
    try:
        ks.start()
        ks.set_routes([
            ("10.1.1.0/26", fwd("192.168.16.2")),
            ("10.1.2.0/26", fwd("192.168.17.5")),                 # recursive
            ("10.1.3.0/26", fwd("192.168.16.2", "192.168.16.3")),  # ECMP
            ("10.2.1.0/26", fwd("192.168.17.5")),                 # ipip
            ("10.3.1.0/26", fwd("192.168.16.3")),                 # ipip-cross-subnet, same subnet
            ("10.3.2.0/26", fwd("192.168.17.5")),                 # ipip-cross-subnet, across
            ("10.4.1.0/26", fwd("192.168.17.5")),                 # vxlan
            ("10.5.1.0/26", fwd("192.168.16.3")),                 # vxlan-cross-subnet, same subnet
            ("10.5.2.0/26", fwd("192.168.17.6")),                 # vxlan-cross-subnet, across
            ("fd00:bb::/64", fwd("fd00:16::2")),
            ("fd00:cc::/64", fwd("fd00:16::2", "fd00:16::3")),    # IPv6 ECMP
        ])
        ks.set_blocks([("10.4.0.64/26", True), ("fd00:aa::/64", BlockType.UNREACHABLE),
                       ("10.4.0.128/26", BlockType.PROHIBIT)])
        report = ks.apply()
        assert report.added == 14 and not report.errors and not ks.unresolved

        assert routes(node) == {
            "10.1.1.0/26": ("unicast", "192.168.16.2", eth, False, 0),
            "10.1.2.0/26": ("unicast", "192.168.16.2", eth, False, 0),
            "10.1.3.0/26": ("unicast", (("192.168.16.2", eth, False),
                                        ("192.168.16.3", eth, False)), 0),
            "10.2.1.0/26": ("unicast", "192.168.17.5", "tunl0", True, 0),
            "10.3.1.0/26": ("unicast", "192.168.16.3", eth, False, 0),
            "10.3.2.0/26": ("unicast", "192.168.17.5", "tunl0", True, 0),
            "10.4.1.0/26": ("unicast", "192.168.17.5", "vxlan.calico", True, 0),
            "10.5.1.0/26": ("unicast", "192.168.16.3", eth, False, 0),
            "10.5.2.0/26": ("unicast", "192.168.17.6", "vxlan.calico", True, 0),
            "10.4.0.64/26": ("blackhole", 0),
            "10.4.0.128/26": ("prohibit", 0),
        }
        assert routes(node, family="-6") == {
            "fd00:aa::/64": ("unreachable", 1024),
            "fd00:bb::/64": ("unicast", "fd00:16::2", eth, False, 1024),
            "fd00:cc::/64": ("unicast", (("fd00:16::2", eth, False),
                                         ("fd00:16::3", eth, False)), 1024),
        }
        assert neighbours(node, "vxlan.calico") == {"192.168.17.5": "0e:bd:c0:a8:11:05",
                                                    "192.168.17.6": "0e:bd:c0:a8:11:06"}
        assert fdb(node, "vxlan.calico") == {"0e:bd:c0:a8:11:05": "192.168.17.5",
                                             "0e:bd:c0:a8:11:06": "192.168.17.6"}
        [link] = ip_json(node, "-d", "link", "show", "vxlan.calico")
        assert link["address"] == "0e:bd:c0:a8:10:01"         # our VTEP 192.168.16.1
        data = link["linkinfo"]["info_data"]
        assert (data["id"], data["port"], data["local"], data["learning"]) == \
            (4096, 4789, "192.168.16.1", False)

        # What was written reads back equal: nothing to do, even after a
        # full re-read of the kernel.
        assert ks.apply().changes == 0
        again = ks.resync()
        assert again.resynced and again.changes == 0 and again.neighbours == again.fdb == 0

        # Withdrawing everything removes exactly what was ours.
        ks.replace_all({}, {})
        assert ks.apply().deleted == 14
        assert routes(node) == {} and routes(node, family="-6") == {}
        assert neighbours(node, "vxlan.calico") == {} and fdb(node, "vxlan.calico") == {}
        assert "192.168.17.0/24" in {r["dst"] for r in ip_json(node, "route")}
    finally:
        ks.close()


def test_what_someone_else_removes_or_changes_comes_back(lab):
    node, eth = node_ns(lab, tunl0=False)
    ks = sync_in(node, node=NODE, pools=POOLS)
    try:
        ks.start()
        ks.set_routes([("10.1.1.0/26", fwd("192.168.16.2")),
                       ("10.1.2.0/26", fwd("192.168.16.2")),
                       ("10.4.1.0/26", fwd("192.168.17.5"))])
        ks.apply()
        want = routes(node)
        node.ip("route", "del", "10.1.1.0/26")
        node.ip("route", "change", "10.1.2.0/26", "via", "192.168.16.3", "proto", "179")
        node.ip("neigh", "del", "192.168.17.5", "dev", "vxlan.calico")
        node.run(["bridge", "fdb", "del", "0e:bd:c0:a8:11:05", "dev", "vxlan.calico",
                  "dst", "192.168.17.5", "self"])
        report = wait_events(ks, lambda r: r.restored >= 2 and r.neighbours and r.fdb,
                             what="routes, neighbour and FDB entry restored")
        assert report.added == 1 and report.replaced == 1 and report.restored == 2
        assert routes(node) == want
        assert neighbours(node, "vxlan.calico") == {"192.168.17.5": "0e:bd:c0:a8:11:05"}
        assert fdb(node, "vxlan.calico") == {"0e:bd:c0:a8:11:05": "192.168.17.5"}
    finally:
        ks.close()


def test_foreign_routes_are_left_alone(lab):
    node, eth = node_ns(lab, tunl0=False)
    node.ip("route", "add", "10.9.0.0/24", "via", "192.168.16.3", "proto", "static")
    ks = sync_in(node, node=NODE, pools=POOLS)
    try:
        ks.start()
        ks.set_routes([("10.9.0.0/24", fwd("192.168.16.2")),      # same key as the static one
                       ("10.1.1.0/26", fwd("192.168.16.2"))])
        report = ks.apply()
        assert report.conflicts == {dest("10.9.0.0/24"): (0, 4)} and report.added == 1
        assert routes(node, proto="static") == {
            "10.9.0.0/24": ("unicast", "192.168.16.3", eth, False, 0)}

        # Someone replaces our route with theirs: it stays theirs.
        node.ip("route", "replace", "10.1.1.0/26", "via", "192.168.16.3")
        report = wait_events(ks, lambda r: dest("10.1.1.0/26") in r.conflicts,
                             what="the conflict to be reported")
        assert report.changes == 0
        assert routes(node, proto="boot")["10.1.1.0/26"] == \
            ("unicast", "192.168.16.3", eth, False, 0)
        assert routes(node) == {}

        # Once it leaves, ours goes in.
        node.ip("route", "del", "10.1.1.0/26")
        wait_events(ks, lambda r: r.added == 1, what="our route to come back")
        assert routes(node) == {"10.1.1.0/26": ("unicast", "192.168.16.2", eth, False, 0)}

        # Deleting everything of ours never touches the others.
        ks.close(persist=False)
        assert routes(node) == {}
        assert "10.9.0.0/24" in routes(node, proto="static")
    finally:
        ks.close()


def preinstall(node, lines):
    node.run(["ip", "-batch", "-"], input="".join(f"{line}\n" for line in lines))


def test_start_reconciles_and_writes_only_the_difference(lab):
    node, eth = node_ns(lab, tunl0=False)
    same = [f"10.30.{i >> 8}.{i & 255}/32" for i in range(2000)]
    preinstall(node, [f"route add {p} via 192.168.16.2 proto 179" for p in same] + [
        "route add 10.20.1.0/24 via 192.168.16.2 proto 179",    # to change
        "route add 10.20.2.0/24 via 192.168.16.2 proto 179",    # not wanted
    ])
    monitor = Channel(node.name, groups=rtnl.ROUTE_GROUPS)
    ks = sync_in(node, node=NODE)
    try:
        ks.start()
        desired = {p: fwd("192.168.16.2") for p in same}
        desired["10.20.1.0/24"] = fwd("192.168.16.3")
        desired["10.20.3.0/24"] = fwd("192.168.16.2")            # new
        ks.replace_all(desired)
        report = ks.apply()
        assert (report.added, report.replaced, report.deleted) == (1, 1, 1)
        seen = []
        for buf, mtype, flags, start, end in monitor.drain():
            r = rtnl.parse_route(buf, start, end)
            if r is not None and r[4] == 179:
                seen.append((mtype, r[1]))
        assert sorted(seen) == sorted([(rtnl.RTM_NEWROUTE, dest("10.20.1.0/24")[1]),
                                       (rtnl.RTM_NEWROUTE, dest("10.20.3.0/24")[1]),
                                       (rtnl.RTM_DELROUTE, dest("10.20.2.0/24")[1])])
        got = routes(node)
        assert len(got) == 2002 and "10.20.2.0/24" not in got
        assert got["10.20.1.0/24"] == ("unicast", "192.168.16.3", eth, False, 0)
    finally:
        monitor.close()
        ks.close()


def test_graceful_restart_keeps_stale_routes_until_the_sweep(lab):
    node, eth = node_ns(lab, tunl0=False)
    preinstall(node, ["route add 10.20.1.0/24 via 192.168.16.2 proto 179",
                      "route add 10.20.2.0/24 via 192.168.16.2 proto 179",
                      "route add 10.20.3.0/24 via 192.168.16.2 proto 179"])
    ks = sync_in(node, node=NODE)
    try:
        ks.start(graceful=True)
        assert ks.stale == {dest(f"10.20.{i}.0/24") for i in (1, 2, 3)}
        ks.set_routes([("10.20.1.0/24", fwd("192.168.16.2")),       # right already
                       ("10.20.2.0/24", fwd("192.168.16.3"))])      # changed
        report = ks.apply()
        assert (report.added, report.replaced, report.deleted) == (0, 1, 0)
        assert ks.stale == {dest("10.20.3.0/24")} and len(routes(node)) == 3
        report = ks.sweep()
        assert report.deleted == 1 and not ks.stale and not ks.graceful
        assert set(routes(node)) == {"10.20.1.0/24", "10.20.2.0/24"}
    finally:
        ks.close()


def test_next_hops_follow_interface_and_route_changes(lab):
    node, eth = node_ns(lab)
    ks = sync_in(node, node=NODE, pools=POOLS)
    try:
        ks.start()
        ks.set_routes([("10.1.2.0/26", fwd("192.168.17.5")),        # via the static route
                       ("10.2.1.0/26", fwd("192.168.17.5"))])       # via tunl0
        ks.apply()
        node.ip("route", "replace", "192.168.17.0/24", "via", "192.168.16.3")
        r = wait_events(ks, lambda r: r.replaced == 1, what="re-resolution")
        assert r.view_changed
        assert routes(node)["10.1.2.0/26"] == ("unicast", "192.168.16.3", eth, False, 0)

        node.ip("route", "del", "192.168.17.0/24")
        wait_events(ks, lambda r: r.deleted == 1, what="the unresolvable route to go")
        assert "unreachable" in ks.unresolved[dest("10.1.2.0/26")]

        # A downed tunl0 takes its routes with it (silently, for IPv4); up
        # again, they come back.
        node.ip("link", "set", "tunl0", "down")
        wait_events(ks, lambda r: dest("10.2.1.0/26") in ks.unresolved, what="tunl0 down")
        assert routes(node) == {}
        node.ip("link", "set", "tunl0", "up")
        wait_events(ks, lambda r: r.added == 1, what="tunl0 routes back")
        assert routes(node) == {"10.2.1.0/26": ("unicast", "192.168.17.5", "tunl0", True, 0)}
    finally:
        ks.close()


def test_routes_of_workload_interfaces_are_learned(lab):
    node, eth = node_ns(lab, tunl0=False)
    ks = sync_in(node, node=NODE, learn=LearnFilter(interfaces=("cali*",)))
    try:
        ks.start()
        node.ip("link", "add", "cali12345", "type", "veth", "peer", "name", "cali12345p")
        node.ip("link", "set", "cali12345", "up")
        node.ip("link", "set", "cali12345p", "up")
        node.ip("route", "add", "10.4.0.70/32", "dev", "cali12345", "scope", "link")
        node.ip("route", "add", "10.4.0.71/32", "via", "192.168.16.2")    # not on cali*
        r = wait_events(ks, lambda r: dest("10.4.0.70/32") in r.learned_changed,
                        what="the workload route to be learned")
        assert dest("10.4.0.71/32") not in r.learned_changed
        learned = ks.learned()
        assert set(learned) == {dest("10.4.0.70/32")}
        [entry] = learned[dest("10.4.0.70/32")]
        assert entry.protocol == 3 and entry.value.nexthops[0].gateway is None
    finally:
        ks.close()


def test_metric_from_local_pref_changes_make_before_break(lab):
    node, eth = node_ns(lab, tunl0=False)
    monitor = Channel(node.name, groups=rtnl.ROUTE_GROUPS)
    ks = sync_in(node, node=NODE, metric_from_local_pref=True, metric=1024)
    try:
        ks.start()
        ks.set_routes([("10.1.1.0/26", Forward.via("192.168.16.2", local_pref=100)),
                       ("10.1.2.0/26", Forward.via("192.168.16.2"))])       # not from BGP
        ks.apply()
        assert routes(node) == {
            "10.1.1.0/26": ("unicast", "192.168.16.2", eth, False, 2147483547),
            "10.1.2.0/26": ("unicast", "192.168.16.2", eth, False, 1024)}
        list(monitor.drain())
        ks.set_routes([("10.1.1.0/26", Forward.via("192.168.16.2", local_pref=200))])
        r = ks.apply()
        assert (r.added, r.deleted) == (1, 1)
        order = [(t, rtnl.parse_route(buf, a, b)[3]) for buf, t, f, a, b in monitor.drain()
                 if rtnl.parse_route(buf, a, b)[4] == 179]
        assert order == [(rtnl.RTM_NEWROUTE, 2147483447), (rtnl.RTM_DELROUTE, 2147483547)]
        assert routes(node)["10.1.1.0/26"][-1] == 2147483447
    finally:
        monitor.close()
        ks.close()


def test_errors_in_a_batch_are_matched_to_their_requests(lab):
    node, eth = node_ns(lab, tunl0=False)
    ch = Channel(node.name)
    try:
        index = {i["ifname"]: i["ifindex"] for i in ip_json(node, "link")}[eth]
        enc = rtnl.RouteEncoder(179, 254)
        good = KRoute(1, (Nexthop(bytes([192, 168, 16, 2]), index),))
        unreachable_gw = KRoute(1, (Nexthop(bytes([172, 31, 0, 1]), index),))
        base = ch.seqs(4)
        batch = b"".join([
            enc.new(1, dest("10.1.1.0/26")[1], 0, good, base, False),
            enc.new(1, dest("10.1.2.0/26")[1], 0, unreachable_gw, base + 1, False),
            enc.new(1, dest("10.1.1.0/26")[1], 0, good, base + 2, False),     # exists now
            enc.delete(1, dest("10.1.9.0/26")[1], 0, base + 3),               # never was
        ])
        errors, lost = ch.transact(batch)
        assert not lost
        assert set(errors) == {base + 1, base + 2, base + 3}
        assert errors[base + 1][0] == 101 and "gateway" in errors[base + 1][1].lower()
        assert errors[base + 2][0] == 17                      # EEXIST
        assert errors[base + 3][0] == 3                       # ESRCH
        assert set(routes(node)) == {"10.1.1.0/26"}
    finally:
        ch.close()
