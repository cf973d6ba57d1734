"""Where routes come from: BGP peers and the speaker's own origination.

A route in the RIB always has a *source*.  ``PeerInfo`` describes a BGP
peer as the decision process needs it (its AS and ours, its BGP Identifier,
iBGP or eBGP, route-reflector client); ``LocalSource`` stands for routes the
speaker originates itself, one per ``LocalKind``.  Both are frozen: a
session that comes back with another BGP Identifier gets a new
``PeerInfo``, and the routes it sends carry the new one.

``LocalKind`` is a table of what each kind of local route means for the
layers below: whether the kernel layer installs it (a Calico block is a
blackhole route, a service range is never installed, a kernel-learned route
is already in the kernel) and whether it is announced when no export policy
says otherwise.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field


class Install(enum.Enum):
    """What the kernel layer does with a Loc-RIB route of a source."""

    FORWARD = "forward"         # a route via the route's next hop(s)
    BLACKHOLE = "blackhole"     # a blackhole route (Calico's local IPAM blocks)
    NONE = "none"               # never installed


class LocalKind(enum.Enum):
    """Kinds of locally originated routes.  The declaration order is also the
    preference between two local routes for the same prefix (the
    LOCAL_ORIGIN step): configuration beats what was learned from the kernel."""

    STATIC = "static"
    LOCAL_BLOCK = "local-block"
    SERVICE = "service"
    KERNEL = "kernel"

    @property
    def install(self) -> Install:
        return _KINDS[self][0]

    @property
    def announce(self) -> bool:
        """Announced to peers unless an export policy says otherwise."""
        return _KINDS[self][1]

    @property
    def rank(self) -> int:
        return _KINDS[self][2]


# kind -> (install, announced by default, preference among local kinds)
_KINDS = {
    LocalKind.STATIC: (Install.FORWARD, True, 0),        # blackhole when it has no next hop
    LocalKind.LOCAL_BLOCK: (Install.BLACKHOLE, True, 1),
    LocalKind.SERVICE: (Install.NONE, True, 2),
    LocalKind.KERNEL: (Install.NONE, False, 3),         # already in the kernel
}

# Value of the LOCAL_ORIGIN step for any BGP peer: after every local kind.
PEER_RANK = len(_KINDS)


def as_router_id(value) -> int:
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"BGP Identifier {value} out of range")
        return value
    return int(ipaddress.IPv4Address(value))


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A BGP peer as a source of routes.

    ``bgp_id`` is the BGP Identifier from the peer's OPEN (an int, or an
    IPv4 address in any form ``ipaddress`` takes).  ``local_asn`` is our AS
    on this session.  ``allow_own_as``: how many times our AS may appear in
    a received AS_PATH before the route is a loop (Calico's
    ``numAllowedLocalASNumbers``; 0 is RFC 4271's rule).
    """

    name: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    asn: int
    local_asn: int
    bgp_id: int
    rr_client: bool = False
    allow_own_as: int = 0
    description: str = ""
    # Derived, for the decision process (filled in __post_init__).
    ibgp: bool = field(init=False, repr=False)
    ebgp: bool = field(init=False, repr=False)
    order: tuple = field(init=False, repr=False, compare=False)

    local = False
    kind = None

    def __post_init__(self):
        addr = self.address
        if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            addr = ipaddress.ip_address(addr)
            object.__setattr__(self, "address", addr)
        object.__setattr__(self, "bgp_id", as_router_id(self.bgp_id))
        object.__setattr__(self, "ibgp", self.asn == self.local_asn)
        object.__setattr__(self, "ebgp", not self.ibgp)
        # Canonical order of sources (also RFC 4271 9.1.2.2 g, lowest
        # peer address): IPv4 before IPv6, then by address, then by name.
        object.__setattr__(self, "order", (1, addr.version, int(addr), self.name))

    @property
    def install(self) -> Install:
        return Install.FORWARD

    @property
    def announce(self) -> bool:
        return True

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class LocalSource:
    """Routes this speaker originates, of one kind."""

    kind: LocalKind
    name: str = ""
    order: tuple = field(init=False, repr=False, compare=False)

    local = True
    ibgp = False
    ebgp = False
    rr_client = False
    asn = None
    local_asn = None
    bgp_id = 0
    address = None
    allow_own_as = 0

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.kind.value)
        object.__setattr__(self, "order", (0, self.kind.rank, 0, self.name))

    @property
    def install(self) -> Install:
        return self.kind.install

    @property
    def announce(self) -> bool:
        return self.kind.announce

    def __str__(self) -> str:
        return self.name
