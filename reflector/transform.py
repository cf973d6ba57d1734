"""The attribute changes of export: what a route looks like on the wire.

After the fixed rules (``rules``) and the export policy have let a route
through, the protocol changes some of its attributes for the receiving
sessions.  ``changes`` applies the steps of ``STEPS`` in order, each a
small function with its RFC clause that records the fields to change;
``outbound`` makes the new attribute set with one ``Attributes.replace()``
(none when nothing changes: the very object comes back), and the update
groups write the changes straight into the received block
(``rewrite.block``).  The caller caches the result per (path, policy
result, group), so a million prefixes sharing a third as many attribute
sets are transformed a third as many times.

The next hop is chosen last (``next_hop``, RFC 4271 5.1.3): it lives in
the NEXT_HOP attribute for IPv4 unicast and in MP_REACH_NLRI for every
other family (RFC 4760), so the result is the attribute set and the MP
next hop (``b""`` for IPv4 unicast, whose next hop is in the set).

What the export policy set stays set: a MED it gave is sent to eBGP peers
too, a next hop it chose is not replaced by ours.  LOCAL_PREF never
leaves the AS (RFC 4271 5.1.5), whatever the policy did.

The ASN width of the receiving session is not handled here: the set is
written for each session with ``Attributes.wire(four_octet)``, which puts
AS_TRANS and AS4_PATH in front of a 2-octet speaker (RFC 6793 4.2.2).
"""

from __future__ import annotations

from .rewrite import Prepend, resolve
from .rules import NextHop, Target, reflecting

IPV4_UNICAST = (1, 1)


class Edit:
    """One route being prepared for one group: its inputs and the changes
    recorded so far."""

    __slots__ = ("attrs", "source", "target", "family", "changes", "med_set")

    def __init__(self, attrs, source, target: Target, family, med_set: bool = False):
        self.attrs = attrs
        self.source = source
        self.target = target
        self.family = family
        self.changes: dict = {}
        self.med_set = med_set


def as_path(e: Edit) -> None:
    """RFC 4271 5.1.2: towards an external peer our AS is prepended
    (the session's local AS: Calico's ``localASNumber``); towards an
    internal peer the AS_PATH is unchanged."""
    if e.target.ebgp:
        e.changes["as_path"] = Prepend(e.target.local_asn)


def local_pref(e: Edit) -> None:
    """RFC 4271 5.1.5: LOCAL_PREF is sent to every internal peer (ours,
    100 unless configured, when the route has none: eBGP-learned and
    originated routes) and never to an external peer."""
    if e.target.ebgp:
        if e.attrs.local_pref is not None:
            e.changes["local_pref"] = None
    elif e.attrs.local_pref is None:
        e.changes["local_pref"] = e.target.default_local_pref


def med(e: Edit) -> None:
    """RFC 4271 5.1.4: a MULTI_EXIT_DISC received from a neighbouring AS
    is not propagated to other neighbouring ASes.  Ours (originated
    routes, or one the export policy set) is, and so is every MED when
    the sessions are configured to send it."""
    if (e.target.ebgp and e.attrs.med is not None and not e.source.local
            and not e.med_set and not e.target.send_med):
        e.changes["med"] = None


def reflection(e: Edit) -> None:
    """RFC 4456 section 8: a reflected route gets ORIGINATOR_ID (the BGP
    Identifier of the peer it came from) unless it has one, and our
    CLUSTER_ID prepended to its CLUSTER_LIST.  The two are iBGP-only
    (optional non-transitive): a route that is not reflected -- learned
    from eBGP, originated, or going to an eBGP peer -- carries neither."""
    a = e.attrs
    if reflecting(e.source, e.target):
        if a.originator_id is None:
            e.changes["originator_id"] = e.source.bgp_id
        e.changes["cluster_list"] = (e.target.cluster_id, *a.cluster_list)
    elif a.rare is not None and (a.originator_id is not None or a.cluster_list):
        e.changes["originator_id"] = None
        e.changes["cluster_list"] = None


STEPS = (as_path, local_pref, med, reflection)


def mode_keeps_own(target: Target) -> bool:
    return target.next_hop is not NextHop.SELF


def next_hop(source, route_next_hop: bytes | None, family, target: Target,
             policy_chose: bool = False) -> bytes | None:
    """RFC 4271 5.1.3: the next hop to send, or None when it would be ours
    and we have no address of the family on the sessions.

    A next hop the export policy chose stays.  An originated route without
    a next hop gets ours.  Otherwise ``target.next_hop`` decides (see
    ``NextHop``): by default ours towards eBGP, unchanged towards iBGP.
    """
    if policy_chose and route_next_hop:
        return route_next_hop
    if route_next_hop and getattr(source, "local", False) and mode_keeps_own(target):
        # An originated route with a configured next hop (a third-party
        # next hop, e.g. our IPv6 address on an IPv4 session) keeps it.
        return route_next_hop
    mode = target.next_hop
    if not route_next_hop or mode is NextHop.SELF or (mode is NextHop.AUTO and target.ebgp):
        return target.self_next_hop(family)
    return route_next_hop


def changes(attrs, route_next_hop, source, family, target: Target, *,
            med_set: bool = False, next_hop_set: bool = False):
    """``(field changes, mp_next_hop)`` for sending the route to the group
    (``{}``: the attribute set goes as it is), or a reason string when it
    cannot be sent (no next hop of the family)."""
    nh = next_hop(source, route_next_hop, family, target, next_hop_set)
    if nh is None:
        return "no address of ours in this address family for the next hop"
    e = Edit(attrs, source, target, family, med_set)
    for step in STEPS:
        step(e)
    edits = e.changes
    if family == IPV4_UNICAST:
        # The next hop travels in the NEXT_HOP attribute.
        if attrs.next_hop != nh:
            edits["next_hop"] = nh
        return edits, b""
    # RFC 4760 section 3: MP_REACH_NLRI carries it; a NEXT_HOP attribute
    # would be about IPv4 NLRI that this UPDATE has not.
    if attrs.next_hop is not None:
        edits["next_hop"] = None
    return edits, nh


def outbound(attrs, route_next_hop, source, family, target: Target, *,
             med_set: bool = False, next_hop_set: bool = False):
    """The route as sent to the group: ``(attributes, mp_next_hop)``, or a
    reason string when it cannot be sent."""
    res = changes(attrs, route_next_hop, source, family, target,
                  med_set=med_set, next_hop_set=next_hop_set)
    if res.__class__ is str:
        return res
    edits, mp_next_hop = res
    return (attrs.replace(**resolve(attrs, edits)) if edits else attrs), mp_next_hop
