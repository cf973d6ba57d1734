"""Our daemon keeping real kernel routing tables, in namespaces.

A node (AS 64513, a local block 10.244.1.0/26 and a pod's /32 on a
``cali`` interface) peers over eBGP with a router (AS 64512) that
originates 10.99.0.0/24.  Both run with ``[kernel]``:

- the node's block is a blackhole on the node and a route via the node on
  the router; the router's prefix a route via the router on the node; all
  with our protocol number, and traffic really flows (ping from the node's
  pod address to the router's address inside its prefix);
- a route of ours deleted by hand comes back; a route of another protocol
  is never touched;
- the pod's /32 (learned from the kernel, ``learn_interfaces``) reaches the
  router through the node's export policy;
- graceful restart, the restarting side: the node's daemon is killed
  (SIGKILL) and started again; its routes never leave the node's kernel
  nor the router's, its new OPEN says it restarted, and a route of ours
  nobody announces any more is swept at the end of recovery;
- the same with 100,000 routes, watched with ``ip monitor route``: not one
  route of the table is deleted at any moment of the restart.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from .bgpd_lab import Bgpd, Originate, Peer
from .lab import Lab, is_root, missing_tools, run, wait_until

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(not is_root() or missing_tools("ip"),
                                 reason="needs root and iproute2")]

NODE_AS, ROUTER_AS = 64513, 64512
BLOCK, POD, ROUTER_NET = "10.244.1.0/26", "10.244.1.7", "10.99.0.0/24"
PROTO = "179"

NODE_EXTRA = """
[kernel]
learn_interfaces = ["cali*"]
persist = true
gr_time = 60

[[policies]]
name = "to-router"
default = "accept"
"""


def _routes(ns, *args) -> str:
    return ns.ip("-4", "route", "show", *args).stdout


def _route_line(ns, prefix: str) -> str:
    return _routes(ns, prefix).strip()


def _setup(lab):
    node = lab.namespace("node")
    router = lab.namespace("rtr")
    link = lab.link(node, router, v4="192.168.16.0/24")
    # The router's own prefix holds an address of the router, for pings.
    router.ip("addr", "add", "10.99.0.1/32", "dev", "lo")
    # A pod, wired as Calico wires one: a veth whose node end is cali1
    # (proxy ARP, the pod's /32 route on it, protocol static here as Felix
    # would write it) and whose pod end routes everything via 169.254.1.1.
    pod = lab.namespace("pod")
    run(["ip", "link", "add", "cali1", "netns", node.name, "type", "veth",
         "peer", "name", "eth0", "netns", pod.name])
    pod.ip("addr", "add", f"{POD}/32", "dev", "eth0")
    pod.ip("link", "set", "eth0", "up")
    pod.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
    pod.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
    node.ip("link", "set", "cali1", "up")
    node.sysctl("net.ipv4.ip_forward=1", "net.ipv4.conf.cali1.proxy_arp=1")
    node.ip("route", "add", f"{POD}/32", "dev", "cali1", "proto", "static")
    # Proxy ARP answers only for addresses the node routes elsewhere, and
    # this node has no default route: the gateway's MAC is given instead.
    mac = json.loads(node.ip("-j", "link", "show", "cali1").stdout)[0]["address"]
    pod.ip("neigh", "add", "169.254.1.1", "lladdr", mac, "dev", "eth0", "nud", "permanent")
    router.sysctl("net.ipv4.ip_forward=1")
    n = Bgpd(lab, node, asn=NODE_AS, router_id="192.168.16.1", listen=("192.168.16.1",),
             peers=[Peer("R1", link.b_v4, ROUTER_AS, local_address=link.a_v4,
                         export_policy="to-router")],
             top={"local_blocks": [BLOCK]}, extra=NODE_EXTRA)
    r = Bgpd(lab, router, asn=ROUTER_AS, router_id="192.168.16.2", listen=("192.168.16.2",),
             peers=[Peer("node1", link.a_v4, NODE_AS, local_address=link.b_v4)],
             originate=[Originate(ROUTER_NET)], extra="[kernel]\n")
    return node, router, link, n, r, pod


def test_blocks_learned_routes_and_reconciliation():
    with Lab("kern") as lab:
        node, router, link, n, r, pod = _setup(lab)
        # Another protocol's route for a prefix we will also learn: ours
        # must not replace or delete it.
        node.ip("route", "add", "10.99.0.0/25", "via", link.b_v4, "proto", "static")
        r.start()
        n.start()
        n.wait_established("R1")
        wait_until(lambda: f"proto {PROTO}" in _route_line(node, ROUTER_NET), 15,
                   "the router's prefix in the node's kernel")
        assert f"via {link.b_v4}" in _route_line(node, ROUTER_NET)
        assert _route_line(node, BLOCK).startswith(f"blackhole {BLOCK} proto {PROTO}")
        wait_until(lambda: f"via {link.a_v4}" in _route_line(router, BLOCK), 15,
                   "the node's block in the router's kernel")
        assert f"proto {PROTO}" in _route_line(router, BLOCK)
        # The router originates its prefix without a next hop: a drop route there.
        assert _route_line(router, ROUTER_NET).startswith("blackhole")
        # The pod's /32 was learned from the node's kernel and exported.
        wait_until(lambda: f"via {link.a_v4}" in _route_line(router, f"{POD}/32"), 15,
                   "the pod's /32 on the router")
        routes = {x["prefix"]: x for x in n.routes()}
        assert routes[f"{POD}/32"]["protocol"] == "kernel"
        # Traffic flows: the pod's address to the router's address.
        pod.run(["ping", "-c", "1", "-W", "2", "10.99.0.1"], timeout=10)
        # Another protocol's route is still there, unchanged.
        assert "proto static" in _route_line(node, "10.99.0.0/25")
        # Someone deletes our route: it comes back.
        node.ip("route", "del", ROUTER_NET, "proto", PROTO)
        wait_until(lambda: f"proto {PROTO}" in _route_line(node, ROUTER_NET), 10,
                   "the deleted route restored")
        # The operator's view of the kernel.
        kernel = n.ctl("show", "kernel")
        rows = {x["prefix"]: x for x in kernel["routes"]}
        assert rows[BLOCK]["type"] == "blackhole"
        assert rows[ROUTER_NET]["via"] == [link.b_v4] and rows[ROUTER_NET]["state"] == "synced"
        assert kernel["status"]["protocol"] == 179
        # Withdrawn on the router: gone from the node's kernel.
        n.stop()
        wait_until(lambda: f"via {link.a_v4}" not in _route_line(router, BLOCK), 15,
                   "the node's block withdrawn on the router")
        # persist: the node's routes stay after a clean stop too.
        assert _route_line(node, BLOCK).startswith("blackhole")


def test_graceful_restart_keeps_forwarding_and_sweeps_stale_routes():
    with Lab("kgr") as lab:
        node, router, link, n, r, pod = _setup(lab)
        r.start()
        n.start()
        n.wait_established("R1")
        wait_until(lambda: f"via {link.a_v4}" in _route_line(router, BLOCK), 15,
                   "the node's block on the router")
        wait_until(lambda: f"proto {PROTO}" in _route_line(node, ROUTER_NET), 15,
                   "the router's prefix on the node")
        n.proc.stop(grace=0.1, sig=signal.SIGKILL)
        # A route of ours that nobody will announce again.
        node.ip("route", "add", "10.98.0.0/24", "via", link.b_v4, "proto", PROTO)
        mark = n.log_offset()
        n.start()
        # Throughout the restart the routes stay in both kernels.
        deadline = time.monotonic() + 20
        while not n.log_lines("graceful restart recovery complete", since=mark):
            assert f"via {link.a_v4}" in _route_line(router, BLOCK)
            assert f"via {link.b_v4}" in _route_line(node, ROUTER_NET)
            assert time.monotonic() < deadline, n.output()[-3000:]
            time.sleep(0.05)
        assert n.log_lines("routes of ours found", since=mark)
        wait_until(lambda: "10.98.0.0" not in _routes(node), 10, "the stale route swept")
        assert f"via {link.b_v4}" in _route_line(node, ROUTER_NET)
        assert _route_line(node, BLOCK).startswith("blackhole")
        # The router saw the Restart State bit in the new OPEN.
        detail = r.detail("node1")
        gr = detail["negotiated"]["peer_graceful_restart"]
        assert gr["restarting"] is True and gr["forwarding"] == ["ipv4-unicast"], detail


def _count(ns, proto: str = PROTO) -> int:
    return len(ns.ip("-4", "route", "show", "proto", proto).stdout.splitlines())


def test_kill_9_with_100k_routes_no_route_ever_missing():
    """The router (ours, no kernel) originates 100,000 /24s; the node
    installs them.  The node's daemon is killed (SIGKILL) and started
    again: `ip monitor route` on the node sees no route of the table
    deleted, ever, and a route of ours nobody announces any more is swept
    at the end of recovery."""
    count = 100_000
    nets = [f"{10 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0/24" for i in range(count)]
    with Lab("k100k") as lab:
        node = lab.namespace("node")
        router = lab.namespace("rtr")
        link = lab.link(node, router, v4="192.168.16.0/24")
        n = Bgpd(lab, node, asn=NODE_AS, router_id="192.168.16.1", listen=("192.168.16.1",),
                 peers=[Peer("R1", link.b_v4, ROUTER_AS, local_address=link.a_v4)],
                 extra="[kernel]\npersist = true\ngr_time = 60\n", log_level="info")
        r = Bgpd(lab, router, asn=ROUTER_AS, router_id="192.168.16.2", listen=("192.168.16.2",),
                 peers=[Peer("node1", link.a_v4, NODE_AS, local_address=link.b_v4)],
                 originate=[Originate(p) for p in nets], log_level="info")
        r.start(timeout=60)
        n.start()
        n.wait_established("R1")
        wait_until(lambda: _count(node) >= count, 60, "100,000 routes in the node's kernel")
        n.proc.stop(grace=0.1, sig=signal.SIGKILL)
        node.ip("route", "add", "9.9.9.0/24", "via", link.b_v4, "proto", PROTO)
        monitor = lab.spawn(node, ["ip", "monitor", "route"], "monitor")
        try:
            time.sleep(0.3)                 # the monitor is listening
            mark = n.log_offset()
            n.start()
            wait_until(lambda: n.log_lines("graceful restart recovery complete", since=mark),
                       60, "recovery to complete")
            wait_until(lambda: "9.9.9.0" not in _routes(node, "9.9.9.0/24"), 30,
                       "the stale route swept")
            assert _count(node) == count
        finally:
            monitor.stop(grace=1.0)
        deleted = [line for line in monitor.output().splitlines()
                   if line.startswith("Deleted") and "9.9.9.0/24" not in line]
        assert deleted == [], deleted[:5]
