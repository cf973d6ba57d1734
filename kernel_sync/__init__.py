"""kernel_sync: the kernel FIB layer.  Desired routes in, exact kernel
routes out, written through batched netlink and kept right.

How it works
------------
The caller (the daemon) says what it wants per *destination* -- ``(afi,
key)``, the BGP AFI (1 IPv4, 2 IPv6) and the prefix's wire key (length
octet + significant address octets, as ``wire.nlri`` and the RIB keep
them; ``dest('10.0.0.0/24')`` converts text or ``ipaddress`` networks):

- ``Forward(next_hops, local_pref=None)``: BGP next hops as packed
  addresses (``Forward.via('192.168.16.1')`` from text); one is a plain
  route, several an ECMP route;
- a ``BlockType`` (blackhole, unreachable, prohibit): a local block.

``desired_fib(routes, local_blocks, pools, node, view, options)`` (pure,
``desired``) turns that into exact kernel routes: per destination the
encapsulation of its ``Pool`` (none, ipip, ipip-cross-subnet, vxlan,
vxlan-cross-subnet), next hops resolved recursively against the kernel's
connected subnets and other protocols' routes (``resolve``), ECMP as one
multipath route, local blocks as drop routes, ``never_install`` ranges
(service ranges) left out, and for VXLAN the permanent neighbour and FDB
entries the routes need.  Each result is a ``KRoute`` at a metric, the same
value ``rtnl.parse_route`` gives when the route is read back.

``plan`` (pure) diffs that against our routes in the kernel: ADD where
nothing of ours is (with ``NLM_F_EXCL``, so nothing unknown is ever
overwritten), REPLACE in place where ours differs, DELETE what is no longer
wanted (after the adds); a key held by another protocol is a *conflict*,
reported and left alone.

``KernelSync`` (``sync``) holds the state and does the I/O through
``netlink`` (the only module that does I/O) and ``rtnl`` (the message
codec, routes packed from cached templates).  Start reads the kernel
(reconcile, never replay), ``apply`` writes the difference in batches of
thousands of requests per send, events keep everything right afterwards.

Interface for the daemon
------------------------
::

    from kernel_sync import (KernelSync, SyncOptions, Node, Pool, Encap,
                             Forward, BlockType, dest)

    ks = KernelSync(SyncOptions(protocol=179, table=254),
                    node=Node(["192.168.16.101/24"]),
                    pools=[Pool("10.245.0.0/16", Encap.VXLAN_CROSS_SUBNET)])
    ks.start(graceful=True)      # sockets, dumps; found routes of ours are stale
    ks.set_blocks([(dest("10.245.0.64/26"), True)])          # local block
    ks.set_routes([((1, key), Forward((nh,), local_pref))])   # per Loc-RIB change
    ks.set_routes([((1, key), None)])                         # withdrawn
    report = ks.apply()          # ApplyReport: counts, RouteErrors, conflicts
    # event loop: wait until ks.fileno() is readable, then
    report = ks.process_events() # restores, re-resolution, learned changes
    ks.sweep()                   # after End-of-RIB (or a timer): drop stale routes
    ks.close()                   # routes stay (options.persist) for the next start

From the RIB, a ``rib.Change(family, key, old, new)`` maps to:
``new == ()`` -> ``None``; ``install_of(new[0])`` BLACKHOLE -> a block,
FORWARD -> ``Forward(tuple(p.next_hop for p in new), local_pref)`` (the
LOCAL_PREF of a peer-learned best path, else None), NONE -> ``None``.
``ks.resolve_next_hop`` is the resolver ``rib.NextHops`` takes; when a
report says ``view_changed`` the RIB should ask its next hops again.
``ks.learned()`` gives the other protocols' routes that ``options.learn``
selects (e.g. workload /32s on ``cali*`` interfaces) for export policy;
``report.learned_changed`` names those that changed.

The blocking calls (``start``, ``apply``, ``process_events``, ``resync``,
``sweep``, ``close``) do netlink round trips: microseconds for a few routes,
seconds for a million (``python3 -m bench.fib``: about 120,000 routes per
second through the whole path on a 2-core machine, where the kernel alone
takes about 300,000); a trio daemon runs big ones with
``trio.to_thread.run_sync``.  The object is not thread-safe: one caller at
a time.  pyroute2 only makes the netlink sockets (also inside a named
namespace, ``SyncOptions.netns``); the messages are packed and parsed by
``rtnl``, because building them through pyroute2 costs more per route than
the kernel takes to install it.

Rules
-----
Protocol
    Every route written carries ``options.protocol``, default **179**
    (unused by the kernel, BIRD (12), Zebra/FRR (11, 186-198), Felix (80),
    keepalived, Babel, OpenR; BGP's port number).  Routes of any other
    protocol are never changed or deleted: deletes name our protocol (the
    kernel matches it), adds use ``NLM_F_EXCL``, and replaces are only sent
    for keys our own route holds.  ``protocol=12`` takes over a BIRD's
    routes (drop-in replacement).
Metric
    ``options.metric`` (IPv6 0 means the kernel's 1024); with
    ``metric_from_local_pref`` BGP-learned routes get 2147483647 -
    LOCAL_PREF as newer Calico does.
VTEP address
    The VTEP of a node is ``Node.vteps[node address]`` when configured,
    else the node address itself (the BGP next hop): ``<block> via <node
    address> dev vxlan.calico onlink``.
VTEP MAC
    ``0e:bd:a:b:c:d`` for IPv4 VTEP a.b.c.d, ``0e:be`` + 4 octets of
    SHA-256 for IPv6 (locally administered unicast); our own VXLAN device
    gets the MAC of our own VTEP by the same rule, so no signalling is
    needed.  See ``vtep``.
IPIP
    ``<block> via <node address> dev tunl0 onlink``; the layer uses
    ``tunl0`` when it exists and never creates it.
Graceful restart
    ``start(graceful=True)`` + ``sweep()``; no still-wanted route is ever
    missing, and a route that is already right is not rewritten.

RFCs: none define the kernel interface; netlink framing is RFC 3549, the
graceful restart behaviour serves RFC 4724, VXLAN is RFC 7348.
"""

from .desired import DesiredFib, FibComputer, Outcome, TunnelPeer, Unresolved, desired_fib
from .model import (AFI_IPV4, AFI_IPV6, BlockType, Encap, Forward, Interface, KernelEntry,
                    KernelView, KRoute, LearnFilter, Nexthop, Node, Pool, addr, addr_text, dest,
                    dest_network, dest_text)
from .options import DEFAULT_PROTOCOL, PROTOCOL_BIRD, SyncOptions
from .plan import Installed, Op, Plan, plan
from .resolve import Resolver
from .sync import ApplyReport, KernelSync, RouteError
from .vtep import is_vtep_mac, vtep_address, vtep_mac

__all__ = [
    "AFI_IPV4", "AFI_IPV6", "ApplyReport", "BlockType", "DEFAULT_PROTOCOL", "DesiredFib", "Encap",
    "FibComputer", "Forward", "Installed", "Interface", "KRoute", "KernelEntry", "KernelSync",
    "KernelView", "LearnFilter", "Nexthop", "Node", "Op", "Outcome", "PROTOCOL_BIRD", "Plan",
    "Pool", "Resolver", "RouteError", "SyncOptions", "TunnelPeer", "Unresolved", "addr",
    "addr_text", "desired_fib", "dest", "dest_network", "dest_text", "is_vtep_mac", "plan",
    "vtep_address", "vtep_mac",
]
