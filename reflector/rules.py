"""The fixed protocol rules of export: may this route go to these peers?

Before any configured export policy looks at a route, the rules of the
protocol decide whether it may be sent at all (as BIRD's ``bgp_preexport``
does).  They are a flat list of early returns, ``RULES``: each takes the
route's source (``rib.PeerInfo`` or ``rib.LocalSource``), its attribute set
and the ``Target`` (what the receiving sessions are), and returns the
reason the route is refused, or None to let the next rule look.  The first
reason wins; a route that no rule refuses goes on to the export policy.

``Target`` holds everything about the receivers that the rules and the
attribute changes of ``transform`` read.  Sessions whose targets are equal
(and that share their export policy and encoding) form one update group.

One rule depends on the receiving *peer*, not on the group: a route is
never sent back to the peer it came from (RFC 4456 section 6, "except the
originator"; BIRD and every other implementation do the same for eBGP).
``sent_by`` says it; the update group applies it per member without
breaking the group's shared messages (see ``group``).

RFC 4456 section 6, as a table (source -> targets that receive it)::

    learned from         eBGP peer   iBGP client   iBGP non-client
    eBGP peer            yes         yes           yes
    iBGP client          yes         yes           yes   (reflected)
    iBGP non-client      yes         yes (refl.)   no    (RFC 4271 9.2)
    ourselves (local)    yes         yes           yes

A reflector that is itself the client of another reflector needs nothing
more: the upper reflector is an ordinary non-client iBGP peer here, and the
same table applies (hierarchical reflection, RFC 4456 section 7).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wire.constants import NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED


class NextHop(enum.Enum):
    """What happens to the NEXT_HOP of routes sent to a session.

    ``AUTO`` is RFC 4271 5.1.3: our own address towards eBGP peers, the
    route's next hop unchanged towards iBGP peers (reflected routes
    included, RFC 4456 section 10).  ``SELF`` always puts our address
    (BIRD's ``next hop self``, Calico's ``nextHopMode: Self``); ``KEEP``
    never changes it, eBGP included (``next hop keep``, ``nextHopMode:
    Keep``).  Routes we originate without a next hop always get ours.
    """

    AUTO = "auto"
    SELF = "self"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Target:
    """The receiving sessions of an update group, as the rules see them.

    ``self_next_hops`` is ``((family, next hop bytes), ...)``: our address
    on the sessions in the form each family's NEXT_HOP takes (absent: we
    have none for that family, so a route needing it cannot be sent).
    ``explicit_policy`` is False when the sessions have no configured
    export policy (RFC 8212 defaults apply).
    """

    ibgp: bool
    local_asn: int
    rr_client: bool = False
    next_hop: NextHop = NextHop.AUTO
    self_next_hops: tuple = ()
    send_med: bool = False
    explicit_policy: bool = False
    cluster_id: int = 0
    default_local_pref: int = 100

    @property
    def ebgp(self) -> bool:
        return not self.ibgp

    def self_next_hop(self, family) -> bytes | None:
        for fam, nh in self.self_next_hops:
            if fam == family:
                return nh
        return None


# ---------------------------------------------------------------------------
# The rules.  Each returns why the route may not go to the target, or None.

def no_advertise(source, attrs, target) -> str | None:
    """RFC 1997: a route carrying NO_ADVERTISE is not advertised to any
    BGP peer."""
    if NO_ADVERTISE in attrs.communities:
        return "NO_ADVERTISE community (RFC 1997)"
    return None


def no_export(source, attrs, target) -> str | None:
    """RFC 1997: a route carrying NO_EXPORT is not advertised outside the
    AS (the confederation, when there is one)."""
    if target.ebgp and NO_EXPORT in attrs.communities:
        return "NO_EXPORT community to an eBGP peer (RFC 1997)"
    return None


def no_export_subconfed(source, attrs, target) -> str | None:
    """RFC 1997: a route carrying NO_EXPORT_SUBCONFED is not advertised to
    any external peer, peers in other member ASes of our confederation
    included (this speaker has no confederation, so: no eBGP peer)."""
    if target.ebgp and NO_EXPORT_SUBCONFED in attrs.communities:
        return "NO_EXPORT_SUBCONFED community to an eBGP peer (RFC 1997)"
    return None


def ibgp_split_horizon(source, attrs, target) -> str | None:
    """RFC 4271 9.2: a route learned from an internal peer is not sent to
    other internal peers -- unless we reflect it (RFC 4456 section 6): a
    route from a client goes to clients and non-clients, a route from a
    non-client to clients only."""
    if source.ibgp and target.ibgp and not (source.rr_client or target.rr_client):
        return "learned from a non-client iBGP peer, not reflected to non-clients (RFC 4271 9.2)"
    return None


def local_not_announced(source, attrs, target) -> str | None:
    """Routes of our own that are not announced by default (those learned
    from the kernel: ``LocalKind.announce``) go out only through an export
    policy that the configuration names."""
    if source.local and not source.announce and not target.explicit_policy:
        return f"{source.name} routes are announced only through an export policy"
    return None


RULES = (no_advertise, no_export, no_export_subconfed, ibgp_split_horizon, local_not_announced)


def refuse(source, attrs, target: Target) -> str | None:
    """The first rule's reason for not sending the route, or None."""
    for rule in RULES:
        why = rule(source, attrs, target)
        if why is not None:
            return why
    return None


def reflecting(source, target: Target) -> bool:
    """Sending this route is reflecting it: iBGP-learned, to an iBGP peer
    (RFC 4456 section 8 then adds ORIGINATOR_ID and CLUSTER_LIST)."""
    return source.ibgp and target.ibgp


def sent_by(source, peer_name: str) -> bool:
    """The route came from this very peer: never sent back to it."""
    return not source.local and source.name == peer_name
