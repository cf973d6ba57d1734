"""The configuration as frozen objects: what ``conf.load`` returns.

Every value here is final: ``[defaults]`` and the built-in defaults have
been applied, so ``peer.hold_time`` is the hold time to use and
``peer.local_asn`` the AS to put in the OPEN.  The objects hold typed
values (``ipaddress`` addresses and networks, ``(AFI, SAFI)`` pairs from
``wire.constants``), never the strings of the file.

``Session`` holds the options a BGP session is set up with; a ``Peer`` is a
session with one address, a ``DynamicNeighbor`` a template for sessions
with any address inside a prefix (``peer_for`` makes the ``Peer``).
``Config.peer_for(address)`` is what the listener asks about an incoming
connection: the configured peer of that address, else a peer made from the
dynamic neighbor whose prefix matches longest, else ``None``.

Routing policy is data here too (``Policy``, ``Rule``, ``Match``, ``Changes``,
``PrefixList``); ``rib.policy`` compiles it into the filters it runs.

No defaults live in these classes: the schema (``conf.schema``) is the one
place that says what an absent key means.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

GTSM_TTL = 255          # RFC 5082: GTSM packets are sent with TTL 255
IBGP_TTL = 64           # iBGP peers may be several hops away (BIRD's multihop default)
EBGP_TTL = 1            # eBGP peers are directly connected unless multihop says otherwise


def address(value) -> IPAddress:
    """An address from text or bytes of a socket; IPv4-mapped IPv6 addresses
    (``::ffff:10.0.0.1``, as a dual-stack socket reports IPv4 peers) become
    IPv4."""
    addr = value if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)) \
        else ipaddress.ip_address(value)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def underscored(value) -> str:
    """``10.0.0.1`` -> ``10_0_0_1``, ``2001:db8::/64`` -> ``2001_db8___64``
    (the way BIRD and Calico turn addresses into protocol names)."""
    text = str(value)
    for ch in ".:/%-":
        text = text.replace(ch, "_")
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """Options of one BGP session (RFC 4271 timers in seconds)."""
    asn: int                        # the peer's AS
    local_asn: int                  # our AS on this session (Config.asn unless overridden)
    description: str
    passive: bool                   # never connect; wait for the peer
    local_address: IPAddress | None  # source address to bind, None: the kernel chooses
    port: int                       # the peer's TCP port
    multihop: int | None            # outgoing TTL; None: EBGP_TTL or IBGP_TTL
    ttl_security: int               # GTSM hop count (RFC 5082), 0: off
    password: str | None = field(repr=False)  # TCP MD5 key (RFC 2385)
    hold_time: int                  # proposed HoldTime, 0 or 3..65535
    keepalive: int                  # KeepaliveTime, 0 iff hold_time is 0
    connect_retry: int              # ConnectRetryTime
    delay_open: int | None          # DelayOpenTime, None: no DelayOpen
    families: tuple                 # ((AFI, SAFI), ...) to negotiate (RFC 4760)
    add_path: tuple                 # ((afi, safi, mode), ...) as wire AddPath.families
    graceful_restart: bool          # RFC 4724
    restart_time: int               # RFC 4724 Restart Time, 1..4095
    enabled: bool
    route_reflector_client: bool    # RFC 4456
    next_hop_self: bool
    next_hop_keep: bool = False     # never change NEXT_HOP, eBGP included
    send_med: bool = False          # pass MULTI_EXIT_DISC on to eBGP peers
    allow_own_as: int = 0           # times our AS may appear in a received AS_PATH
    required_capabilities: tuple    # (CapabilityCode, ...) the peer must advertise
    import_policy: str | None       # name of a Policy (or built-in); None: RFC 8212 default
    export_policy: str | None

    @property
    def is_ibgp(self) -> bool:
        return self.asn == self.local_asn

    @property
    def ttl(self) -> int:
        """The IP TTL (hop limit) of our packets to the peer."""
        if self.ttl_security:
            return GTSM_TTL
        if self.multihop is not None:
            return self.multihop
        return IBGP_TTL if self.is_ibgp else EBGP_TTL

    @property
    def min_ttl(self) -> int | None:
        """The least TTL accepted from the peer (IP_MINTTL), None without GTSM."""
        return GTSM_TTL + 1 - self.ttl_security if self.ttl_security else None

    def add_path_mode(self, family) -> int:
        """RFC 7911 Send/Receive value for ``(afi, safi)``: 0 off, 1 receive,
        2 send, 3 both."""
        for afi, safi, mode in self.add_path:
            if (afi, safi) == tuple(family):
                return mode
        return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Peer(Session):
    address: IPAddress
    name: str                       # protocol name, "peer_10_0_0_1" unless configured


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicNeighbor(Session):
    """Accepts sessions from any address in ``prefix`` (always passive)."""
    prefix: IPNetwork
    name: str

    def __contains__(self, addr) -> bool:
        addr = address(addr)
        return addr.version == self.prefix.version and addr in self.prefix

    def peer_for(self, addr) -> Peer:
        """The peer for a connection from ``addr``: this template's options,
        named ``<name>_<address>``."""
        addr = address(addr)
        options = {f.name: getattr(self, f.name) for f in fields(Session)}
        return Peer(**options, address=addr, name=f"{self.name}_{underscored(addr)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Originate:
    """A prefix this speaker announces on its own (a Calico block, a service range)."""
    prefix: IPNetwork
    communities: tuple              # RFC 1997 values as ints
    large_communities: tuple        # RFC 8092 (global, local1, local2) triples
    extended_communities: tuple     # RFC 4360 values as 64-bit ints
    next_hop: IPAddress | None      # None: the session's own address
    local_pref: int | None          # sent to iBGP peers only
    med: int | None


# -- routing policy ---------------------------------------------------------------
#
# A policy is data here; ``rib.policy`` compiles it.  In a ``Match`` every
# field that is not None is a condition and all of them must hold; a tuple
# field holds alternatives, any one of which satisfies it.

@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixRange:
    """The prefixes inside ``prefix`` whose length is min_len..max_len."""
    prefix: IPNetwork
    min_len: int
    max_len: int

    def __str__(self) -> str:
        length, longest = self.prefix.prefixlen, self.prefix.max_prefixlen
        lo, hi = self.min_len, self.max_len
        if lo == hi == length:
            return str(self.prefix)
        if lo == length and hi == longest:
            return f"{self.prefix}+"
        return f"{self.prefix}{{{lo},{hi}}}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixList:
    name: str
    entries: tuple                  # (PrefixRange, ...): a prefix matches if any entry does


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """The conditions of a rule; None: not tested.  An empty Match matches
    every route."""
    family: tuple | None            # ((AFI, SAFI), ...)
    prefix: tuple | None            # (PrefixRange, ...)
    prefix_list: tuple | None       # (name of a PrefixList, ...)
    prefix_length: tuple | None     # (lo, hi)
    as_path_contains: tuple | None  # (ASN, ...) anywhere in AS_PATH
    origin_as: tuple | None         # (ASN, ...) last of AS_PATH
    neighbor_as: tuple | None       # (ASN, ...) first of AS_PATH
    as_path_length: tuple | None    # (lo, hi), RFC 4271 9.1.2.2 a counting
    as_path_regex: re.Pattern | None  # searched in the AS path's text
    community: tuple | None         # ((high or None, low or None), ...): has any
    community_all: tuple | None     # ... has all
    extended_community: tuple | None      # (64-bit value, ...)
    extended_community_all: tuple | None
    large_community: tuple | None         # ((a, b, c) with None for '*', ...)
    large_community_all: tuple | None
    next_hop: tuple | None          # (IPNetwork, ...)
    source: tuple | None            # ("bgp" | "static" | "kernel" | "local-block", ...)
    peer: tuple | None              # (IPNetwork, ...): peer names resolved to addresses
    peer_type: str | None           # "ibgp" | "ebgp"
    peer_asn: tuple | None          # (ASN, ...)
    negated: "Match | None"         # the "not" table: matches when it does not

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """The ``set`` table of a rule; None: unchanged."""
    local_pref: int | None
    med: int | None
    origin: int | None              # wire value of ORIGIN
    next_hop: object                # "self", an address, or None
    prepend: tuple | None           # (ASN or None for the session's local AS, count)
    communities: tuple | None       # replace the list (ints)
    add_communities: tuple | None
    remove_communities: tuple | None          # ((high or None, low or None), ...)
    extended_communities: tuple | None
    add_extended_communities: tuple | None
    remove_extended_communities: tuple | None
    large_communities: tuple | None
    add_large_communities: tuple | None
    remove_large_communities: tuple | None    # ((a, b, c) with None for '*', ...)

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    description: str
    match: Match
    set: Changes
    action: str                     # "accept" | "reject"


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Ordered rules: the first whose match holds decides; none: ``default``."""
    name: str
    description: str
    default: str                    # "accept" | "reject"
    rules: tuple                    # (Rule, ...)


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """[kernel]: how the daemon keeps the kernel's routing table."""
    protocol: int
    table: int
    metric: int
    metric_from_local_pref: bool
    block_type: str
    persist: bool
    node_addresses: tuple | None    # ip_interface values; None: read the host's
    learn_interfaces: tuple
    learn_protocols: tuple
    vxlan_vni: int
    vxlan_port: int
    vxlan_mtu: int | None
    gr_time: int


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """[[pools]]: the encapsulation of routes into an address pool."""
    prefix: IPNetwork
    encap: str
    device: str | None


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """[metrics]: where Prometheus scrapes."""
    listen: tuple                   # (host, port)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    router_id: ipaddress.IPv4Address
    asn: int
    listen: tuple                   # addresses to accept connections on
    port: int                       # our TCP port
    hostname: str | None            # FQDN capability; None: not configured
    domain: str | None
    control_socket: str
    control_socket_mode: int
    log_level: str
    peers: tuple                    # (Peer, ...) in file order
    dynamic_neighbors: tuple        # (DynamicNeighbor, ...)
    originate: tuple                # (Originate, ...)
    prefix_lists: tuple             # (PrefixList, ...)
    policies: tuple                 # (Policy, ...)
    cluster_id: ipaddress.IPv4Address | None = None  # RFC 4456; None: we reflect nothing
    max_paths: int = 1              # ECMP width
    local_blocks: tuple = ()        # pod blocks: announced, blackholed
    service_ranges: tuple = ()      # announced, never installed
    kernel: KernelConfig | None = None      # None: the kernel's table is not touched
    pools: tuple = ()               # (PoolConfig, ...)
    metrics: MetricsConfig | None = None    # None: no /metrics endpoint
    bird_control_socket: str | None = None
    bird_control_flavour: str = "bird1"
    source: str = "<string>"
    _by_address: Mapping = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_address",
                           MappingProxyType({p.address: p for p in self.peers}))

    def peer_by_address(self, addr) -> Peer | None:
        """The configured peer with this address (IPv4-mapped forms match)."""
        return self._by_address.get(address(addr))

    def peer_by_name(self, name: str) -> Peer | None:
        return next((p for p in self.peers if p.name == name), None)

    def policy_by_name(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)

    def match_dynamic(self, addr) -> DynamicNeighbor | None:
        """The dynamic neighbor whose prefix holds ``addr``, longest prefix first."""
        addr = address(addr)
        best = None
        for dn in self.dynamic_neighbors:
            if addr in dn and (best is None or dn.prefix.prefixlen > best.prefix.prefixlen):
                best = dn
        return best

    def peer_for(self, addr) -> Peer | None:
        """Who a connection from ``addr`` is: a configured peer (which wins even
        inside a dynamic prefix, and even when disabled), a peer made from
        the best dynamic neighbor, or None (refuse the connection)."""
        peer = self.peer_by_address(addr)
        if peer is not None:
            return peer
        dn = self.match_dynamic(addr)
        return dn.peer_for(addr) if dn is not None else None

    def summary(self) -> str:
        """``3 peers, 1 dynamic neighbor range, 2 originated prefixes; ...``"""
        def count(items: tuple, one: str, many: str) -> str:
            return f"{len(items)} {one if len(items) == 1 else many}"
        counts = (count(self.peers, "peer", "peers"),
                  count(self.dynamic_neighbors, "dynamic neighbor range",
                        "dynamic neighbor ranges"),
                  count(self.originate, "originated prefix", "originated prefixes"))
        if self.policies or self.prefix_lists:
            counts += (count(self.policies, "policy", "policies"),
                       count(self.prefix_lists, "prefix list", "prefix lists"))
        return f"{', '.join(counts)}; router id {self.router_id}, AS {self.asn}"
