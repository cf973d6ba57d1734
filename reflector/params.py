"""What the daemon tells the export layer about an Established session, and
which sessions can share an update group.

``SessionParams`` carries the negotiated encoding (the session's
``wire.UpdateCodec``: ASN width, add-path send families, maximum message
size), the families in use, our address on the session (for next-hop
self) and the per-session export options.  Who the peer is (iBGP or eBGP,
route-reflector client, our AS on the session) comes from its
``rib.PeerInfo``.

``group_key`` is everything a session's outgoing UPDATEs depend on besides
the routes: two sessions with equal keys get byte-identical messages, so
they share one update group.  It is the protocol-rule inputs (``Target``),
the export policy object, and the encoding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from wire.constants import IPV4_UNICAST, IPV6_UNICAST

from .rules import NextHop, Target


@dataclass(frozen=True, slots=True)
class SessionParams:
    """The export side of one Established session.

    ``codec``          the session's ``wire.UpdateCodec`` (its ``four_octet``,
                       ``add_path_tx`` and ``max_size`` are used).
    ``families``       the families in use ((AFI, SAFI) pairs).
    ``local_address``  our address on the session (text, ``ipaddress`` or
                       packed bytes); the next hop when it is ours.
    ``next_hop``       ``NextHop.AUTO`` (RFC 4271 defaults), ``SELF`` or ``KEEP``.
    ``send_med``       pass MULTI_EXIT_DISC on to an eBGP peer.
    ``export_policy``  a compiled ``rib.policy.Policy``, or None when the
                       session's configuration names none (RFC 8212
                       defaults: an iBGP peer gets every route, an eBGP
                       peer none; routes learned from the kernel only
                       through a named policy).
    ``add_path_limit`` with add-path send (RFC 7911): at most this many
                       paths per prefix; None: every path offered.
    """

    codec: object
    families: frozenset = field(default=frozenset({IPV4_UNICAST}))
    local_address: object = None
    next_hop: NextHop = NextHop.AUTO
    send_med: bool = False
    export_policy: object = None
    add_path_limit: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "families",
                           frozenset((int(f[0]), int(f[1])) for f in self.families))

    @property
    def four_octet(self) -> bool:
        return self.codec.four_octet

    @property
    def add_path(self) -> frozenset:
        """Families sent with path identifiers."""
        return frozenset((int(a), int(s)) for a, s in self.codec.add_path_tx
                         if (a, s) in self.families)

    @property
    def max_size(self) -> int:
        return self.codec.max_size


def _address(value):
    if value is None:
        return None
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        addr = value
    elif isinstance(value, (bytes, bytearray)):
        addr = ipaddress.ip_address(bytes(value))
    else:
        addr = ipaddress.ip_address(str(value).split("%")[0])
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def self_next_hops(local_address, families) -> tuple:
    """Our address as the next hop of each family: ``((family, bytes), ...)``.

    IPv4 unicast needs an IPv4 address.  IPv6 unicast takes our IPv6
    address, or over an IPv4 session the IPv4-mapped form (as BIRD does).
    """
    addr = _address(local_address)
    if addr is None:
        return ()
    out = []
    for fam in sorted(families):
        if fam == IPV4_UNICAST and addr.version == 4:
            out.append((fam, addr.packed))
        elif fam == IPV6_UNICAST:
            v6 = addr if addr.version == 6 else ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff"
                                                                       + addr.packed)
            out.append((fam, v6.packed))
    return tuple(out)


def target_of(info, params: SessionParams, cluster_id: int,
              default_local_pref: int = 100) -> Target:
    """The protocol-rule inputs of a session."""
    return Target(
        ibgp=info.ibgp,
        local_asn=info.local_asn,
        rr_client=bool(info.rr_client and info.ibgp),
        next_hop=params.next_hop,
        self_next_hops=self_next_hops(params.local_address, params.families),
        send_med=params.send_med,
        explicit_policy=params.export_policy is not None,
        cluster_id=cluster_id,
        default_local_pref=default_local_pref,
    )


def group_key(target: Target, params: SessionParams) -> tuple:
    """Sessions with equal keys receive byte-identical UPDATEs."""
    return (target, params.export_policy, params.families, params.four_octet,
            params.add_path, params.max_size,
            params.add_path_limit if params.add_path else None)
