r"""The demo's network: two routers, two Kubernetes-like nodes in different
subnets, a route reflector node, and two pods on each node.

How it works
------------
The plan is data (the tables below), taken from the seed article's lab
(two BIRD routers between two kubeadm nodes): every host is a network
namespace named ``<prefix><host>`` (``bgpdemo-node1``), every link a veth
pair made directly between two namespaces.  ``build`` turns the plan into
namespaces, links, addresses, static default routes and pods; nothing is
ever created in the host's own namespace.

::

                        192.168.18.0/24 (backbone, iBGP)
            r1 .1 ---------------------------------- .2 r2          AS 64513
         .1 |   \ .1                                    | .1
    192.168.16.0/24   192.168.19.0/24              192.168.17.0/24
    (subnet A, eBGP)    \                           (subnet B, eBGP)
       .101 |            .101 rr                        | .101
          node1          (route reflector)            node2         AS 64512
     10.245.0.64/26                               10.245.0.192/26
     pods .65 .66                                 pods .193 .194

Pods are wired as Calico wires them: a veth pair ``cali<11 hex>`` (node
side) / ``eth0`` (pod side); the pod holds its /32 and a default route via
169.254.1.1, a link-local address nobody owns, which the node answers
through proxy ARP on the ``cali`` interface; the node holds a ``/32 dev
cali... scope link`` route per pod (what Calico's CNI plugin writes), so
the pod's address is reachable from the node and, through the node's
routes and BGP, from everywhere else.

Routers forward and run our daemon with ``[kernel]``: what they learn over
BGP (the nodes' blocks, each other's subnets) goes into their FIB.  Nodes
have a static default route via their router (netplan in the article), so
the daemons' sessions can come up before any BGP route exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from . import netns

NODE_ASN = 64512          # the article's cluster AS (Calico's default)
ROUTER_ASN = 64513        # the routers' AS
POOL = "10.245.0.0/16"    # the IP pool the nodes' blocks come from
CLUSTER_ID = "244.0.0.1"  # the reflector's CLUSTER_ID (Calico's usual routeReflectorClusterID)
POD_GATEWAY = "169.254.1.1"


@dataclass(frozen=True)
class Router:
    name: str
    router_id: str        # on loopback, as in the article (10.0.0.1, 10.0.0.2)


@dataclass(frozen=True)
class Link:
    """A veth pair: ``a`` end in host ``a`` with address ``a_addr`` (with
    length), likewise ``b``."""
    a: str
    a_if: str
    a_addr: str
    b: str
    b_if: str
    b_addr: str

    @property
    def subnet(self) -> str:
        return str(ipaddress.ip_interface(self.a_addr).network)


@dataclass(frozen=True)
class Node:
    """A Kubernetes-like node (or the reflector, which hosts no pods)."""
    name: str
    address: str          # with its subnet length
    gateway: str          # its router's address in its subnet
    router: str           # the router of its subnet
    block: str | None     # its IPAM block (/26)
    pods: tuple = ()      # pod addresses inside the block

    @property
    def ip(self) -> str:
        return str(ipaddress.ip_interface(self.address).ip)

    @property
    def subnet(self) -> str:
        return str(ipaddress.ip_interface(self.address).network)


ROUTERS = (Router("r1", "10.0.0.1"), Router("r2", "10.0.0.2"))

NODES = (
    Node("node1", "192.168.16.101/24", "192.168.16.1", "r1", "10.245.0.64/26",
         ("10.245.0.65", "10.245.0.66")),
    Node("node2", "192.168.17.101/24", "192.168.17.1", "r2", "10.245.0.192/26",
         ("10.245.0.193", "10.245.0.194")),
)

REFLECTOR = Node("rr", "192.168.19.101/24", "192.168.19.1", "r1", None)

LINKS = (
    Link("r1", "eth-node1", "192.168.16.1/24", "node1", "eth0", "192.168.16.101/24"),
    Link("r2", "eth-node2", "192.168.17.1/24", "node2", "eth0", "192.168.17.101/24"),
    Link("r1", "eth-r2", "192.168.18.1/24", "r2", "eth-r1", "192.168.18.2/24"),
    Link("r1", "eth-rr", "192.168.19.1/24", "rr", "eth0", "192.168.19.101/24"),
)

# A second block node1 holds at first in the failure scenario and gives
# back while its daemon is down: the stale route everybody must sweep.
SPARE_BLOCK = "10.245.0.128/26"


def node(name: str) -> Node:
    return next(n for n in NODES + (REFLECTOR,) if n.name == name)


def router(name: str) -> Router:
    return next(r for r in ROUTERS if r.name == name)


def peer_of(a: str, b: str) -> tuple[str, str]:
    """(a's address, b's address) on the link between hosts ``a`` and ``b``."""
    for ln in LINKS:
        if (ln.a, ln.b) == (a, b):
            return _ip(ln.a_addr), _ip(ln.b_addr)
        if (ln.b, ln.a) == (a, b):
            return _ip(ln.b_addr), _ip(ln.a_addr)
    raise KeyError(f"no link between {a} and {b}")


def _ip(text: str) -> str:
    return str(ipaddress.ip_interface(text).ip)


def cali_name(node_name: str, pod: int) -> str:
    """Calico's host-side interface name: ``cali`` + 11 hex digits of a
    hash of the workload (15 characters, the kernel's limit)."""
    return "cali" + hashlib.sha1(f"demo/{node_name}/pod{pod}".encode()).hexdigest()[:11]


@dataclass(frozen=True)
class Topology:
    """The plan under one namespace name prefix."""
    prefix: str

    def ns(self, host: str) -> str:
        return f"{self.prefix}{host}"

    def pod_ns(self, node_name: str, pod: int) -> str:
        return f"{self.prefix}{node_name}-pod{pod}"

    def pod_address(self, node_name: str, pod: int) -> str:
        return node(node_name).pods[pod - 1]

    def hosts(self) -> list[str]:
        return [r.name for r in ROUTERS] + [n.name for n in NODES] + [REFLECTOR.name]

    def all_namespaces(self) -> list[str]:
        pods = [self.pod_ns(n.name, i) for n in NODES for i in range(1, len(n.pods) + 1)]
        return [self.ns(h) for h in self.hosts()] + pods

    # -- building -------------------------------------------------------------------
    def build(self, created) -> None:
        """Make every namespace, link, address, route and pod.  ``created``
        is called with each namespace name as soon as it exists, so that a
        failure half-way leaves nothing the caller does not know about."""
        for r in ROUTERS:
            netns.add_namespace(self.ns(r.name), forwarding=True)
            created(self.ns(r.name))
            netns.ip(self.ns(r.name), "addr", "add", f"{r.router_id}/32", "dev", "lo")
        for n in NODES + (REFLECTOR,):
            netns.add_namespace(self.ns(n.name), forwarding=bool(n.pods))
            created(self.ns(n.name))
        for ln in LINKS:
            netns.veth(self.ns(ln.a), ln.a_if, self.ns(ln.b), ln.b_if)
            netns.ip(self.ns(ln.a), "addr", "add", ln.a_addr, "dev", ln.a_if)
            netns.ip(self.ns(ln.b), "addr", "add", ln.b_addr, "dev", ln.b_if)
        for n in NODES + (REFLECTOR,):
            netns.wait_carrier(self.ns(n.name), "eth0")
            netns.ip(self.ns(n.name), "route", "add", "default", "via", n.gateway,
                     "proto", "static")
        for n in NODES:
            for i in range(1, len(n.pods) + 1):
                self._pod(n, i, created)

    def _pod(self, n: Node, i: int, created) -> None:
        node_ns, pod_ns = self.ns(n.name), self.pod_ns(n.name, i)
        cali, address = cali_name(n.name, i), n.pods[i - 1]
        netns.add_namespace(pod_ns)
        created(pod_ns)
        netns.veth(node_ns, cali, pod_ns, "eth0")
        # The node side answers ARP for 169.254.1.1 (and everything else)
        # on the pod's behalf, at once.
        netns.sysctl(node_ns, f"net.ipv4.conf.{cali}.proxy_arp=1",
                     f"net.ipv4.neigh.{cali}.proxy_delay=0")
        netns.ip(node_ns, "route", "add", f"{address}/32", "dev", cali, "scope", "link")
        netns.ip(pod_ns, "addr", "add", f"{address}/32", "dev", "eth0")
        netns.ip(pod_ns, "route", "add", POD_GATEWAY, "dev", "eth0", "scope", "link")
        netns.ip(pod_ns, "route", "add", "default", "via", POD_GATEWAY, "dev", "eth0")
