"""Next-hop resolution against the kernel's own routes (pure).

A BGP next hop is often not on a connected subnet (multihop peers, route
reflectors, routers that do not set next-hop-self).  The kernel only takes a
gateway it can reach directly, so, as BIRD's ``gateway recursive`` does, the
next hop is looked up (longest prefix match) in the kernel routes of the
resolution tables -- connected subnets and routes of other protocols (an IGP,
static configuration), never our own -- and the route is installed via that
route's *immediate* next hops:

- the next hop is on a connected subnet: ``via <next hop> dev <that link>``;
- it is covered by a gateway route: ``via <that route's gateways>`` on that
  route's interfaces (a multipath route gives every one of its next hops);
- it is covered by a blackhole/unreachable route, by a route whose
  interfaces are all down, or by nothing: it is unreachable, and the
  destination is reported, not installed.

``Resolver`` also answers the RIB's question (``rib.nexthop``): called with
a next hop in wire form it returns ``(reachable, igp_cost)``, the cost being
the metric of the covering route (0 when connected).
"""

from __future__ import annotations

from .model import AFI_IPV4, MAX_BITS, KernelView, Nexthop

_RTN_UNICAST = 1


class Resolver:
    """Longest-prefix match over the kernel routes of ``tables`` in ``view``."""

    __slots__ = ("view", "_tables", "_plens", "_cache")

    def __init__(self, view: KernelView, tables=(254,)):
        self.view = view
        # afi -> {prefix length -> {network int -> best entry}}
        tables = set(tables)
        self._tables: dict = {}
        for entry in view.routes.values():
            if entry.table not in tables or entry.tos:
                continue
            plen, net = _key_int(entry.afi, entry.key)
            slot = self._tables.setdefault(entry.afi, {}).setdefault(plen, {})
            old = slot.get(net)
            if old is None or entry.metric < old.metric:
                slot[net] = entry
        self._plens = {afi: sorted(t, reverse=True) for afi, t in self._tables.items()}
        self._cache: dict = {}

    def lookup(self, address: bytes):
        """The kernel route that covers ``address`` (longest match, lowest
        metric), or None."""
        afi = AFI_IPV4 if len(address) == 4 else 2
        table = self._tables.get(afi)
        if not table:
            return None
        bits = MAX_BITS[afi]
        value = int.from_bytes(address, "big")
        for plen in self._plens[afi]:
            shift = bits - plen
            entry = table[plen].get((value >> shift) << shift)
            if entry is not None:
                return entry
        return None

    def resolve(self, address: bytes) -> tuple | None:
        """Immediate next hops to reach ``address``, or None."""
        try:
            return self._cache[address]
        except KeyError:
            pass
        hops = None
        entry = self.lookup(address)
        if entry is not None and entry.value.type == _RTN_UNICAST:
            out = []
            for h in entry.value.nexthops:
                if not self.view.is_up(h.oif):
                    continue
                if h.gateway is None:
                    out.append(Nexthop(address, h.oif, False))
                else:
                    out.append(h)
            hops = tuple(out) or None
        self._cache[address] = hops
        return hops

    def cost(self, address: bytes) -> int | None:
        """IGP cost to ``address`` (None: unreachable)."""
        if self.resolve(address) is None:
            return None
        entry = self.lookup(address)
        connected = all(h.gateway is None for h in entry.value.nexthops)
        return 0 if connected else entry.metric

    def __call__(self, next_hop: bytes) -> tuple[bool, int]:
        """The RIB's resolver interface: ``(reachable, igp_cost)`` of a next
        hop in wire form (4, 16 or 32 octets)."""
        if len(next_hop) == 32:
            next_hop = next_hop[:16]
        cost = self.cost(next_hop)
        return (cost is not None), (cost or 0)


def _key_int(afi: int, key: bytes) -> tuple[int, int]:
    plen = key[0]
    raw = key[1:]
    size = 4 if afi == AFI_IPV4 else 16
    return plen, int.from_bytes(raw + bytes(size - len(raw)), "big")
