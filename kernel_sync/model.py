"""The plain data the kernel layer takes and gives: destinations, intents,
pools, the node, the kernel's own view, and exact kernel route values.

A *destination* is ``(afi, key)``: the address family as a BGP AFI number
(1 IPv4, 2 IPv6, as in ``wire.constants.AFI`` and the RIB's families) and
the prefix's *wire key*, the prefix length octet followed by the
significant address octets (``b'\\x1a\\x0a\\xf5\\x00\\x40'`` is
10.245.0.64/26), the form the RIB keeps prefixes in.  ``dest()`` and
``dest_text()`` convert from and to text or ``ipaddress`` networks.
Addresses (next hops, node and VTEP addresses) are packed octets, 4 or 16,
as on the wire; ``addr()`` converts.

What the caller wants for a destination is an *intent*: ``Forward`` (BGP
next hops: one is a plain route, several are ECMP; with the route's
LOCAL_PREF for the optional metric rule) or a ``BlockType`` (a local block:
blackhole, unreachable or prohibit).  Intents are immutable and hashable so
that many destinations share one and everything derived from it is
computed once.

What the kernel holds for a destination is a ``KRoute`` value (route type
and canonical next hops) at a ``metric`` in the configured table.  The
value is exactly what ``rtnl.parse_route`` returns for the route when it
is read back, so "is the kernel right?" is ``==``.
"""

from __future__ import annotations

import enum
import fnmatch
import ipaddress
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple

from wire import nlri
from wire.constants import AFI

AFI_IPV4 = int(AFI.IPV4)
AFI_IPV6 = int(AFI.IPV6)
MAX_BITS = {AFI_IPV4: 32, AFI_IPV6: 128}

# Route types (linux/rtnetlink.h RTN_*), repeated here so that the model
# does not depend on the codec.
_RTN_UNICAST = 1
_RTN_BLACKHOLE, _RTN_UNREACHABLE, _RTN_PROHIBIT = 6, 7, 8

# An IPv6 route asked for with metric 0 is stored by the kernel at 1024
# (IP6_RT_PRIO_USER); the model uses the stored value so that a route read
# back compares equal.
IPV6_DEFAULT_METRIC = 1024
# Calico's rule for BGP-learned routes: the higher the LOCAL_PREF, the lower
# (better) the metric.
METRIC_FROM_LOCAL_PREF_BASE = 2147483647


# -- conversions -----------------------------------------------------------------

def dest(prefix) -> tuple[int, bytes]:
    """``(afi, key)`` of ``'10.0.0.0/24'``, an ``ipaddress`` network, or an
    ``(afi, key)`` pair (returned as is).  Host bits are refused."""
    if isinstance(prefix, tuple):
        return prefix
    if isinstance(prefix, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        net = prefix
    else:
        net = ipaddress.ip_network(str(prefix).strip(), strict=True)
    return (AFI_IPV4 if net.version == 4 else AFI_IPV6), nlri.from_network(net)


def dest_text(d: tuple[int, bytes]) -> str:
    """'10.0.0.0/24' of ``(afi, key)``."""
    return nlri.to_text(d[0], d[1])


def dest_network(d: tuple[int, bytes]):
    return nlri.to_network(d[0], d[1])


def addr(a) -> bytes:
    """Packed octets of an address given as text, ``ipaddress`` object or bytes."""
    if isinstance(a, bytes):
        return a
    if not isinstance(a, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        a = ipaddress.ip_address(str(a).strip())
    return a.packed


def addr_text(a: bytes | None) -> str:
    if a is None:
        return ""
    return str(ipaddress.ip_address(a))


def afi_of_addr(a: bytes) -> int:
    return AFI_IPV4 if len(a) == 4 else AFI_IPV6


def key_int(afi: int, key: bytes) -> tuple[int, int]:
    """(prefix length, network address as an int) of a wire key."""
    plen = key[0]
    raw = key[1:]
    size = 4 if afi == AFI_IPV4 else 16
    return plen, int.from_bytes(raw + bytes(size - len(raw)), "big")


def covers(afi: int, outer: bytes, inner: bytes) -> bool:
    """Whether prefix ``outer`` contains prefix ``inner`` (or is equal)."""
    plen = outer[0]
    if inner[0] < plen:
        return False
    bits = MAX_BITS[afi]
    _, a = key_int(afi, outer)
    _, b = key_int(afi, inner)
    shift = bits - plen
    return (a >> shift) == (b >> shift)


# -- intents -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Forward:
    """Forward a destination to BGP next hops.

    ``next_hops``: packed addresses (4 or 16 octets; an IPv6 next hop field
    of 32 octets, global + link-local, is accepted and its global address
    used).  One next hop is a plain route, several an ECMP route.
    ``local_pref``: the route's LOCAL_PREF when it was learned over BGP, for
    ``SyncOptions.metric_from_local_pref``; None for other routes."""

    next_hops: tuple[bytes, ...]
    local_pref: int | None = None
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        # Hashed once per destination by the million: keep it.
        return self._hash

    def __post_init__(self):
        hops = []
        for h in self.next_hops:
            h = addr(h)
            if len(h) == 32:
                h = h[:16]
            if len(h) not in (4, 16):
                raise ValueError(f"next hop of {len(h)} octets")
            if h not in hops:
                hops.append(h)
        if not hops:
            raise ValueError("Forward needs at least one next hop")
        object.__setattr__(self, "next_hops", tuple(hops))
        object.__setattr__(self, "_hash", hash((self.next_hops, self.local_pref)))

    @classmethod
    def via(cls, *next_hops, local_pref: int | None = None) -> "Forward":
        return cls(tuple(addr(h) for h in next_hops), local_pref)

    def __repr__(self) -> str:
        lp = f" local_pref {self.local_pref}" if self.local_pref is not None else ""
        return f"Forward({', '.join(addr_text(h) for h in self.next_hops)}{lp})"


class BlockType(enum.Enum):
    """A route that drops traffic: the kernel route type of a local block."""

    BLACKHOLE = "blackhole"
    UNREACHABLE = "unreachable"
    PROHIBIT = "prohibit"

    @property
    def rtn(self) -> int:
        return _BLOCK_RTN[self]


_BLOCK_RTN = {BlockType.BLACKHOLE: _RTN_BLACKHOLE, BlockType.UNREACHABLE: _RTN_UNREACHABLE,
              BlockType.PROHIBIT: _RTN_PROHIBIT}
RTN_NAMES = {_RTN_UNICAST: "unicast", _RTN_BLACKHOLE: "blackhole",
             _RTN_UNREACHABLE: "unreachable", _RTN_PROHIBIT: "prohibit"}


# -- pools and encapsulation ------------------------------------------------------------

class Encap(enum.Enum):
    """How a pool's destinations learned from other nodes are routed
    (Calico's IP pool ``ipipMode``/``vxlanMode``)."""

    NONE = "none"
    IPIP = "ipip"
    IPIP_CROSS_SUBNET = "ipip-cross-subnet"
    VXLAN = "vxlan"
    VXLAN_CROSS_SUBNET = "vxlan-cross-subnet"

    @property
    def tunnel(self) -> str | None:
        """'ipip', 'vxlan' or None."""
        return _ENCAP[self][0]

    @property
    def cross_subnet_only(self) -> bool:
        """Encapsulate only next hops outside the node's own subnet."""
        return _ENCAP[self][1]


# encap -> (tunnel kind, only across subnets)
_ENCAP = {
    Encap.NONE: (None, False),
    Encap.IPIP: ("ipip", False),
    Encap.IPIP_CROSS_SUBNET: ("ipip", True),
    Encap.VXLAN: ("vxlan", False),
    Encap.VXLAN_CROSS_SUBNET: ("vxlan", True),
}

# (tunnel kind, afi) -> default device name, as Calico names them
DEFAULT_DEVICES = {
    ("ipip", AFI_IPV4): "tunl0",
    ("vxlan", AFI_IPV4): "vxlan.calico",
    ("vxlan", AFI_IPV6): "vxlan-v6.calico",
}


@dataclass(frozen=True)
class Pool:
    """An address pool and the encapsulation of routes into it.

    A destination belongs to the longest pool that contains it; a
    destination in no pool is routed plainly.  ``device`` overrides the
    tunnel device name (default ``tunl0``, ``vxlan.calico``,
    ``vxlan-v6.calico``)."""

    prefix: object
    encap: Encap = Encap.NONE
    device: str | None = None
    afi: int = field(init=False)
    key: bytes = field(init=False)

    def __post_init__(self):
        afi, key = dest(self.prefix)
        object.__setattr__(self, "afi", afi)
        object.__setattr__(self, "key", key)
        if isinstance(self.encap, str):
            object.__setattr__(self, "encap", Encap(self.encap))
        tunnel = self.encap.tunnel
        if tunnel is not None and self.device is None:
            name = DEFAULT_DEVICES.get((tunnel, afi))
            if name is None:
                raise ValueError(f"pool {dest_text((afi, key))}: {self.encap.value} "
                                 f"encapsulation is IPv4 only")
            object.__setattr__(self, "device", name)

    def contains(self, afi: int, key: bytes) -> bool:
        return afi == self.afi and covers(afi, self.key, key)


# -- the node ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    """This node: its addresses with their subnet's prefix length (Calico's
    node ``IPv4Address``, e.g. ``192.168.16.101/24``), and the VTEP address
    of each node whose VTEP is not its node address (``vteps``: node
    address -> VTEP address, ours included; see ``vtep``)."""

    addresses: tuple = ()
    vteps: Mapping = field(default_factory=dict)

    def __post_init__(self):
        ifaces = tuple(a if isinstance(a, (ipaddress.IPv4Interface, ipaddress.IPv6Interface))
                       else ipaddress.ip_interface(a) for a in self.addresses)
        object.__setattr__(self, "addresses", ifaces)
        object.__setattr__(self, "vteps", {addr(k): addr(v) for k, v in dict(self.vteps).items()})

    def address(self, afi: int) -> bytes | None:
        """Our node address of a family (the first given)."""
        version = 4 if afi == AFI_IPV4 else 6
        for a in self.addresses:
            if a.version == version:
                return a.ip.packed
        return None

    def own(self, a: bytes) -> bool:
        return any(i.ip.packed == a for i in self.addresses)

    def same_subnet(self, a: bytes) -> bool:
        """Whether ``a`` is inside one of our node addresses' subnets."""
        ip = ipaddress.ip_address(a)
        return any(i.version == ip.version and ip in i.network for i in self.addresses)


# -- the kernel's view ----------------------------------------------------------------------

class Nexthop(NamedTuple):
    """One next hop of a kernel route: gateway (packed, or None for a
    device route), outgoing interface index, and the onlink flag."""

    gateway: bytes | None
    oif: int
    onlink: bool = False


class KRoute(NamedTuple):
    """The value of a kernel route: its type (RTN_*) and its next hops,
    canonical (several are sorted, a drop route has none)."""

    type: int
    nexthops: tuple = ()

    def text(self) -> str:
        if self.type != _RTN_UNICAST:
            return RTN_NAMES.get(self.type, str(self.type))
        return " ".join(
            f"{'nexthop ' if len(self.nexthops) > 1 else ''}"
            f"{'via ' + addr_text(h.gateway) + ' ' if h.gateway else ''}"
            f"oif {h.oif}{' onlink' if h.onlink else ''}" for h in self.nexthops)


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface as the kernel reports it."""

    index: int
    name: str
    up: bool = True
    mac: bytes = b""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class KernelEntry:
    """A route of another protocol (or a connected route) read from the
    kernel: used for next-hop resolution and reported by ``learned``."""

    afi: int
    key: bytes
    table: int
    metric: int
    protocol: int
    value: KRoute
    tos: int = 0

    @property
    def dest(self) -> tuple[int, bytes]:
        return self.afi, self.key

    def oif_names(self, view: "KernelView") -> list[str]:
        return [view.name_of(h.oif) for h in self.value.nexthops if h.oif]


@dataclass
class KernelView:
    """What the kernel has that routes depend on: interfaces (by index),
    addresses (``(afi, address) -> (prefix length, ifindex)``) and the
    routes of other protocols in the tables next hops are resolved against
    and routes are learned from (``(afi, key, table, tos, metric) ->
    KernelEntry``).  ``KernelSync`` keeps one up to
    date from dumps and events; tests build them by hand."""

    interfaces: dict = field(default_factory=dict)
    addresses: dict = field(default_factory=dict)
    routes: dict = field(default_factory=dict)

    def index_of(self, name: str) -> int | None:
        for i in self.interfaces.values():
            if i.name == name:
                return i.index
        return None

    def name_of(self, index: int) -> str:
        i = self.interfaces.get(index)
        return i.name if i is not None else str(index)

    def is_up(self, index: int) -> bool:
        i = self.interfaces.get(index)
        return i is not None and i.up


# -- learning ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LearnFilter:
    """Which routes of other protocols are *learned* (reported for export by
    policy, like BIRD's kernel protocol with ``learn``): those whose
    protocol is in ``protocols`` (empty: any except ``kernel``, the
    connected routes) and one of whose interfaces matches one of
    ``interfaces`` (shell patterns such as ``cali*``; empty: any)."""

    protocols: tuple = ()
    interfaces: tuple = ()
    tables: tuple = (254,)

    def accepts(self, entry: KernelEntry, view: KernelView) -> bool:
        if entry.table not in self.tables:
            return False
        if self.protocols:
            if entry.protocol not in self.protocols:
                return False
        elif entry.protocol == 2:
            return False
        if self.interfaces:
            names = entry.oif_names(view)
            return any(fnmatch.fnmatchcase(n, p) for n in names for p in self.interfaces)
        return True
