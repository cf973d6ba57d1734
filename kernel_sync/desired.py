"""The desired FIB: from intents to exact kernel routes (pure).

``desired_fib(routes, local_blocks, pools, node, view, options)`` computes
every kernel route, permanent neighbour and FDB entry the node should have.
``FibComputer`` is the same computation one destination at a time, for the
incremental path of ``KernelSync``; ``desired_fib`` is a loop over it.

Per destination:

1. Inside a ``never_install`` range (service ranges): nothing.
2. A local block (``BlockType``): a drop route of that type, no next hop
   (``blackhole 10.245.0.64/26``).  A local block wins over a route
   learned for the same prefix, as local origination does in the RIB.
3. ``Forward``: each BGP next hop becomes kernel next hops by the
   encapsulation of the destination's pool (the longest pool containing
   it; none: plain routing):

   ============================  =============================================
   ``none``                      ``via <next hop>`` resolved (``resolve``):
                                 directly when on a connected subnet,
                                 through the covering kernel route otherwise
   ``ipip``                      ``via <next hop> dev tunl0 onlink``
   ``vxlan``                     ``via <VTEP of next hop> dev vxlan.calico
                                 onlink`` + neighbour VTEP -> VTEP MAC +
                                 FDB VTEP MAC -> next hop (``vtep``)
   ``ipip-cross-subnet``,        as ``none`` when the next hop is inside one
   ``vxlan-cross-subnet``        of the node's subnets, else as the tunnel
   ============================  =============================================

   A next hop that is this node, of the wrong family, unreachable, or whose
   tunnel device is missing or down is dropped with a reason; when no next
   hop is left the destination is *unresolved* (reported, not installed).
   Several kernel next hops make one multipath (ECMP) route.
4. The metric is ``options.metric``, or with ``metric_from_local_pref``
   2147483647 - LOCAL_PREF for routes that carry one (IPv6 metric 0 is
   stored as 1024 by the kernel and is written so here).

The result of step 3-4 depends only on (family, intent, pool), so it is
computed once per distinct triple and shared: a table where a million
destinations share a few next hops costs a few derivations and a dictionary
lookup per destination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .model import (AFI_IPV4, AFI_IPV6, IPV6_DEFAULT_METRIC, METRIC_FROM_LOCAL_PREF_BASE,
                    MAX_BITS, BlockType, Encap, Forward, KernelView, KRoute, Nexthop, Node,
                    addr_text, key_int)
from .options import SyncOptions
from .resolve import Resolver
from .rtnl import RTN_UNICAST, canonical_hops
from .vtep import vtep_address, vtep_mac


class TunnelPeer(NamedTuple):
    """A remote VTEP a VXLAN route needs: the neighbour entry (``vtep`` ->
    ``mac`` on device ``ifindex``) and the FDB entry (``mac`` -> ``underlay``)."""

    ifindex: int
    afi: int
    vtep: bytes
    mac: bytes
    underlay: bytes


class Outcome(NamedTuple):
    """The kernel route of one destination: ``route`` is ``(metric, value)``,
    the pair the sync layer compares with what the kernel holds."""

    route: tuple
    tunnels: tuple = ()

    @property
    def metric(self) -> int:
        return self.route[0]

    @property
    def value(self) -> KRoute:
        return self.route[1]


class Unresolved(str):
    """Why a destination cannot be installed (a str subclass, the reason)."""

    __slots__ = ()


SKIP = None       # a destination that is never installed (service range)


@dataclass
class DesiredFib:
    """Everything the kernel should hold.

    routes       (afi, key) -> Outcome
    neighbours   (ifindex, afi, VTEP address) -> MAC
    fdb          (ifindex, MAC) -> underlay (remote node) address
    unresolved   (afi, key) -> reason
    skipped      destinations inside ``never_install``
    """

    routes: dict = field(default_factory=dict)
    neighbours: dict = field(default_factory=dict)
    fdb: dict = field(default_factory=dict)
    unresolved: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)


def add_tunnels(neighbours: dict, fdb: dict, tunnels) -> None:
    for t in tunnels:
        neighbours[(t.ifindex, t.afi, t.vtep)] = t.mac
        fdb[(t.ifindex, t.mac)] = t.underlay


class _PrefixSet:
    """Longest-match membership of a few prefixes (pools, service ranges)."""

    __slots__ = ("_by_afi",)

    def __init__(self, items):
        # afi -> [(prefix length, network int, payload)], longest first
        self._by_afi: dict = {}
        for afi, key, payload in items:
            plen, net = key_int(afi, key)
            self._by_afi.setdefault(afi, []).append((plen, net, payload))
        for rows in self._by_afi.values():
            rows.sort(key=lambda r: -r[0])

    def match(self, afi: int, key: bytes, default=None):
        rows = self._by_afi.get(afi)
        if not rows:
            return default
        plen, net = key_int(afi, key)
        bits = MAX_BITS[afi]
        for p, n, payload in rows:
            if p <= plen and (net >> (bits - p)) == (n >> (bits - p)):
                return payload
        return default


class FibComputer:
    """The desired kernel route of one destination at a time (see the
    module docstring).  Built from a snapshot of the kernel view; build a
    new one when the view changes (its caches assume it does not)."""

    def __init__(self, options: SyncOptions, node: Node, pools, view: KernelView,
                 intern: dict | None = None):
        self.options = options
        self._intern = {} if intern is None else intern
        self.node = node
        self.pools = tuple(pools)
        self.view = view
        self.resolver = Resolver(view, options.resolve_tables)
        self._pools = _PrefixSet((p.afi, p.key, i) for i, p in enumerate(self.pools))
        self._never = _PrefixSet((afi, key, True) for afi, key in options.never_install)
        self._has_never = bool(options.never_install)
        self._cache: dict = {}
        self._blocks: dict = {}

    def compute(self, afi: int, key: bytes, intent):
        """``Outcome``, ``Unresolved(reason)`` or ``SKIP``."""
        if self._has_never and self._never.match(afi, key, False):
            return SKIP
        pool = self._pools.match(afi, key, -1) if self.pools else -1
        ck = (afi, intent, pool)
        out = self._cache.get(ck)
        if out is None:
            out = self._cache[ck] = self._derive(afi, intent,
                                                 self.pools[pool] if pool >= 0 else None)
        return out

    # -- derivation ------------------------------------------------------------
    def _metric(self, afi: int, intent) -> int:
        o = self.options
        m = o.metric
        if (o.metric_from_local_pref and isinstance(intent, Forward)
                and intent.local_pref is not None):
            m = max(0, METRIC_FROM_LOCAL_PREF_BASE - intent.local_pref)
        if afi == AFI_IPV6 and m == 0:
            m = IPV6_DEFAULT_METRIC
        return m

    def _derive(self, afi: int, intent, pool):
        if isinstance(intent, BlockType):
            value = KRoute(intent.rtn, ())
            return Outcome((self._metric(afi, intent), self._intern.setdefault(value, value)))
        if not isinstance(intent, Forward):
            raise TypeError(f"intent must be Forward or BlockType, not {intent!r}")
        encap = pool.encap if pool is not None else Encap.NONE
        alen = 4 if afi == AFI_IPV4 else 16
        hops, tunnels, why = [], [], []
        for nh in intent.next_hops:
            if len(nh) != alen:
                why.append(f"next hop {addr_text(nh)} is not of the route's family")
                continue
            if self.node.own(nh):
                why.append(f"next hop {addr_text(nh)} is this node")
                continue
            tunnel = encap.tunnel
            if tunnel is not None and encap.cross_subnet_only and self.node.same_subnet(nh):
                tunnel = None
            DERIVE[tunnel](self, afi, nh, pool, hops, tunnels, why)
        if not hops:
            return Unresolved("; ".join(why) or "no next hop")
        value = KRoute(RTN_UNICAST, canonical_hops(hops))
        value = self._intern.setdefault(value, value)
        return Outcome((self._metric(afi, intent), value), tuple(dict.fromkeys(tunnels)))

    def _plain(self, afi, nh, pool, hops, tunnels, why):
        resolved = self.resolver.resolve(nh)
        if resolved is None:
            why.append(f"next hop {addr_text(nh)} is unreachable")
        else:
            hops.extend(resolved)

    def _device(self, pool, why) -> int | None:
        index = self.view.index_of(pool.device)
        if index is None:
            why.append(f"device {pool.device} does not exist")
        elif not self.view.is_up(index):
            why.append(f"device {pool.device} is down")
            index = None
        return index

    def _ipip(self, afi, nh, pool, hops, tunnels, why):
        index = self._device(pool, why)
        if index is not None:
            hops.append(Nexthop(nh, index, True))

    def _vxlan(self, afi, nh, pool, hops, tunnels, why):
        index = self._device(pool, why)
        if index is not None:
            vtep = vtep_address(nh, self.node.vteps)
            hops.append(Nexthop(vtep, index, True))
            tunnels.append(TunnelPeer(index, afi, vtep, vtep_mac(vtep), nh))


# tunnel kind -> how a next hop becomes kernel next hops
DERIVE = {
    None: FibComputer._plain,
    "ipip": FibComputer._ipip,
    "vxlan": FibComputer._vxlan,
}


def desired_fib(routes, local_blocks, pools, node: Node, view: KernelView,
                options: SyncOptions | None = None) -> DesiredFib:
    """Every kernel route, neighbour and FDB entry for a desired state.

    ``routes``: mapping (afi, key) -> ``Forward``.  ``local_blocks``:
    mapping (afi, key) -> ``BlockType``, or an iterable of (afi, key) that
    get ``options.block_type``.  ``pools``: ``Pool`` objects.  ``node``:
    ``Node``.  ``view``: the ``KernelView`` (interfaces, addresses, routes of
    other protocols) next hops are resolved against."""
    options = options or SyncOptions()
    comp = FibComputer(options, node, pools, view)
    out = DesiredFib()
    if not hasattr(local_blocks, "items"):
        local_blocks = {d: options.block_type for d in local_blocks}
    for d, intent in routes.items():
        if d not in local_blocks:
            _place(out, d, comp.compute(d[0], d[1], intent))
    for d, intent in local_blocks.items():
        _place(out, d, comp.compute(d[0], d[1], intent))
    return out


def _place(out: DesiredFib, d, result) -> None:
    if result is SKIP:
        out.skipped.append(d)
    elif isinstance(result, Unresolved):
        out.unresolved[d] = str(result)
    else:
        out.routes[d] = result
        if result.tunnels:
            add_tunnels(out.neighbours, out.fdb, result.tunnels)
