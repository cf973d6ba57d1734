"""Forwarding end to end with routes programmed by kernel_sync.

The topology of the seed article's case 4/5: two nodes in different
subnets behind a router, each node with two Calico-style pods (a /32 on a
veth, default route via 169.254.1.1), pod blocks 10.245.0.64/26 and
10.245.0.192/26::

    pod1a, pod1b -- node1 (192.168.16.2) -- router -- node2 (192.168.17.2) -- pod2a, pod2b

Each node and the router run a ``KernelSync`` fed a hand-written desired
state (what BGP would have given them).  With plain routing the router
carries the pod blocks and each node reaches the other's block through a
recursively resolved next hop; with VXLAN the router knows no pod route at
all, so pings only pass through the tunnel.  The kernel here has no IPIP
module, so IPIP forwarding is not tested (its programming is, in
test_ks_kernel.py, on a stand-in ``tunl0``).
"""

from __future__ import annotations

import pytest

from kernel_sync import Encap, Forward, Node, Pool, dest
from ks_lab import pod, routes, sync_in
from tests.interop.lab import LabError, wait_until

pytestmark = pytest.mark.lab

BLOCK1, BLOCK2 = "10.245.0.64/26", "10.245.0.192/26"
PODS1, PODS2 = ("10.245.0.66", "10.245.0.67"), ("10.245.0.194", "10.245.0.195")


def pings(src, address: str) -> bool:
    try:
        src.run(["ping", "-c", "1", "-W", "1", "-q", address], timeout=5)
        return True
    except LabError:
        return False


def all_pings(pods_from, pods_to, what):
    for src, _addr in pods_from:
        for _dst, address in pods_to:
            wait_until(lambda: pings(src, address), 10.0, f"{what}: ping {address} from {src.name}")


def build(lab):
    router = lab.namespace("router")
    node1, node2 = lab.namespace("node"), lab.namespace("node")
    lab.link(router, node1, v4="192.168.16.0/24")           # router .1, node1 .2
    lab.link(router, node2, v4="192.168.17.0/24")           # router .1, node2 .2
    for ns in (router, node1, node2):
        ns.sysctl("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                  "net.ipv4.conf.default.rp_filter=0")
    # The underlay: each node reaches the other node's subnet via the router.
    node1.ip("route", "add", "192.168.17.0/24", "via", "192.168.16.1")
    node2.ip("route", "add", "192.168.16.0/24", "via", "192.168.17.1")
    pods = {}
    for node, addresses, tag in ((node1, PODS1, "1"), (node2, PODS2, "2")):
        node.ip("addr", "add", "169.254.1.1/32", "dev", "lo")    # the pods' gateway
        for i, address in enumerate(addresses):
            p = lab.namespace(f"pod{tag}{'ab'[i]}")
            pod(node, p, f"cali{tag}{'ab'[i]}", address)
            pods[address] = p
    return router, node1, node2, pods


def test_pod_to_pod_with_plain_routing_then_vxlan(lab):
    router, node1, node2, pods = build(lab)
    pod_list1 = [(pods[a], a) for a in PODS1]
    pod_list2 = [(pods[a], a) for a in PODS2]
    n1 = sync_in(node1, node=Node(["192.168.16.2/24"]), pools=[Pool("10.245.0.0/16")])
    n2 = sync_in(node2, node=Node(["192.168.17.2/24"]), pools=[Pool("10.245.0.0/16")])
    rt = sync_in(router, node=Node(["192.168.16.1/24", "192.168.17.1/24"]))
    syncs = (n1, n2, rt)
    try:
        for ks in syncs:
            ks.start()
        # Plain routing: the nodes' BGP next hop is the other node (multihop
        # iBGP), resolved through the underlay route; the router has eBGP
        # routes to each node's block.
        n1.set_blocks([(BLOCK1, True)])
        n1.set_routes([(BLOCK2, Forward.via("192.168.17.2"))])
        n2.set_blocks([(BLOCK2, True)])
        n2.set_routes([(BLOCK1, Forward.via("192.168.16.2"))])
        rt.set_routes([(BLOCK1, Forward.via("192.168.16.2")),
                       (BLOCK2, Forward.via("192.168.17.2"))])
        for ks in syncs:
            r = ks.apply()
            assert not r.errors and not ks.unresolved, (r, ks.unresolved)
        assert routes(node1)[BLOCK2][:4] == ("unicast", "192.168.16.1", node1.interfaces[0], False)
        assert routes(node1)[BLOCK1] == ("blackhole", 0)
        all_pings(pod_list1, pod_list2, "plain routing")
        all_pings(pod_list2, pod_list1, "plain routing")
        all_pings(pod_list1[:1], pod_list1[1:], "same node")

        # VXLAN: the same BGP routes, now in a VXLAN pool; the router
        # forgets the pod blocks, so only the tunnel can carry the pings.
        vx = [Pool("10.245.0.0/16", Encap.VXLAN)]
        n1.set_pools(vx)
        n2.set_pools(vx)
        rt.replace_all({})
        for ks in syncs:
            r = ks.apply()
            assert not r.errors and not ks.unresolved, (r, ks.unresolved)
        assert routes(router) == {}
        assert routes(node1)[BLOCK2] == ("unicast", "192.168.17.2", "vxlan.calico", True, 0)
        assert routes(node2)[BLOCK1] == ("unicast", "192.168.16.2", "vxlan.calico", True, 0)
        all_pings(pod_list1, pod_list2, "vxlan")
        all_pings(pod_list2, pod_list1, "vxlan")
        assert dest(BLOCK2) in n1.installed and len(n1.fdb) == 1 and len(n1.neighbours) == 1
    finally:
        for ks in syncs:
            ks.close()
