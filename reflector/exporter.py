"""The export layer's front: sessions in, Loc-RIB changes in, UPDATEs out.

``Exporter`` keeps the update groups (``group``) by their key
(``params.group_key``), the member of each Established session, and what
the groups share: the policy ``Source`` of each route source.  Everything it does is driven by the daemon's calls; it reads
no clock and does no I/O.  See the package docstring for the calls and
when to make them.
"""

from __future__ import annotations

from rib.routes import Status
from rib.source import as_router_id
from wire.attributes import decode_attributes
from wire.constants import RefreshSubtype
from wire.messages import RouteRefresh
from wire.update import end_of_rib

from .group import DEFAULT_MAX_BACKLOG, UpdateGroup
from .outqueue import Item, Member
from .params import SessionParams, group_key, target_of
from .pipeline import DEFAULT_CACHE_LIMIT, Pipeline
from .rules import sent_by

IPV4_UNICAST = (1, 1)
DEFAULT_READ = 65536            # bytes per next_messages call unless told


def candidates_from(rib):
    """``candidates(family, key)`` for ``Exporter``: every eligible
    candidate of the prefix in the Loc-RIB, the selected ones first, by
    ``Rib.explain``.  Changes to candidates that are not selected show in
    ``Rib.drain_changes`` only with ``Rib.report_unselected`` set (the
    daemon sets it when a peer may have add-path send); without it they
    reach add-path peers with the next change of the prefix."""
    usable = (Status.BEST, Status.MULTIPATH, Status.NOT_SELECTED)

    def candidates(family, key):
        return [c.path for c in rib.explain(family, key) if c.status in usable]
    return candidates


class ExportError(ValueError):
    """A call about a peer the exporter does not know, or an impossible change."""


class Exporter:
    """RFC 4456 route reflection, RFC 4271 export rules, export policy and
    update groups for every Established session of one speaker.

    ``router_id`` and ``asn`` are ours; ``cluster_id`` is the CLUSTER_ID we
    prepend when reflecting (RFC 4456 section 7; default: the router id).
    ``rib`` is the ``rib.Rib`` whose Loc-RIB a new group starts from
    (``rib.routes(family)``).  ``candidates(family, key) -> paths best
    first`` gives the paths to send with add-path beyond the selected ones
    (default: the selected set of each ``Change``: the best and its ECMP
    peers).  ``max_backlog``: bytes of unread batches a member may hold
    before it falls back to catching up from the Adj-RIB-Out.
    """

    def __init__(self, router_id, asn: int, *, cluster_id=None, rib=None, candidates=None,
                 default_local_pref: int = 100, max_backlog: int = DEFAULT_MAX_BACKLOG,
                 cache_limit: int = DEFAULT_CACHE_LIMIT):
        self.router_id = as_router_id(router_id)
        self.asn = asn
        self.cluster_id = self.router_id if cluster_id is None else as_router_id(cluster_id)
        self.rib = rib
        self.candidates = candidates
        self.default_local_pref = default_local_pref
        self.max_backlog = max_backlog
        self.cache_limit = cache_limit
        self._groups: dict = {}                 # group key -> UpdateGroup
        self._member_group: dict = {}           # peer name -> UpdateGroup
        self._numbers = 0
        self._policy_sources: dict = {}         # route source -> rib.policy.Source
        # RFC 4724 4.1: while we recover from our own restart, a peer that
        # comes up gets our table but not End-of-RIB, or it would sweep the
        # routes it kept from us before we have decided them again.
        self.hold_end_of_rib = False
        self._eor_held: set = set()

    # ------------------------------------------------------------------
    # Sessions

    def peer_up(self, info, params: SessionParams) -> UpdateGroup:
        """A session is Established: the peer joins its update group and
        will read the group's whole table, then End-of-RIB per family.

        Call it when every change of the RIB has been applied (right after
        ``apply(rib.drain_changes())``): a group made for it starts from the
        Loc-RIB as it is, and a change the RIB has decided but not handed
        out yet could otherwise be seen twice or not at all."""
        if info.name in self._member_group:
            self.peer_down(info.name)
        group = self._group_for(info, params)
        group.join(Member(info.name, info, params), end_of_rib=not self.hold_end_of_rib)
        if self.hold_end_of_rib:
            self._eor_held.add(info.name)
        self._member_group[info.name] = group
        return group

    def release_end_of_rib(self) -> list[str]:
        """Recovery is over: every peer still waiting gets End-of-RIB per
        family, after what is already queued.  The names to wake."""
        self.hold_end_of_rib = False
        woken = []
        for name in sorted(self._eor_held):
            group = self._member_group.get(name)
            if group is None:
                continue
            group.seal()                    # decided changes go before End-of-RIB
            member = group.members[name]
            for family in group.families:
                member.push(Item(None, (), [end_of_rib(*family)]))
            woken.append(name)
        self._eor_held.clear()
        return woken

    def peer_down(self, name: str) -> None:
        """The session ended: forget the member (and its group when empty)."""
        self._eor_held.discard(name)
        group = self._member_group.pop(name, None)
        if group is None:
            return
        group.leave(name)
        if not group.members:
            del self._groups[group.key]

    def reconfigure(self, name: str, params: SessionParams | None = None, info=None) -> None:
        """The session's export options or policy changed (``bgpctl reload
        out``), or a family was disabled (RFC 7606 section 5.3: fewer
        ``families``): the peer moves to the group they lead to and is sent
        the difference.  New families, the ASN width, add-path and the
        message size cannot change without a new session."""
        group = self._group(name)
        member = group.members[name]
        info = info or member.info
        params = params or member.params
        old = member.params
        if (not params.families <= old.families
                or (params.four_octet, params.add_path & params.families, params.max_size)
                != (old.four_octet, old.add_path & params.families, old.max_size)):
            raise ExportError(f"{name}: the session's encoding changed; it needs a new session")
        target = target_of(info, params, self.cluster_id, self.default_local_pref)
        key = group_key(target, params)
        member.info, member.params = info, params
        if key == group.key:
            return
        other = self._group_for(info, params)
        group.transfer_to(member, other)
        self._member_group[name] = other
        if not group.members:
            del self._groups[group.key]

    def _group_for(self, info, params: SessionParams) -> UpdateGroup:
        target = target_of(info, params, self.cluster_id, self.default_local_pref)
        key = group_key(target, params)
        group = self._groups.get(key)
        if group is None:
            self._numbers += 1
            pipeline = Pipeline(target, params.export_policy, params.four_octet,
                                self._policy_sources, self.cache_limit)
            group = UpdateGroup(self._numbers, key, target, pipeline, params.codec,
                                params.families, params.add_path,
                                add_path_limit=params.add_path_limit,
                                candidates=self.candidates, max_backlog=self.max_backlog)
            group.load(self.rib)
            self._groups[key] = group
        return group

    def _group(self, name: str) -> UpdateGroup:
        group = self._member_group.get(name)
        if group is None:
            raise ExportError(f"no Established session with {name!r}")
        return group

    # ------------------------------------------------------------------
    # Routes in

    def apply(self, changes) -> list[str]:
        """Take a batch of Loc-RIB changes (``Rib.drain_changes()``).
        Returns the names of the peers that may now have UPDATEs to read."""
        if not changes or not self._groups:
            return []
        by_family: dict = {}
        for c in changes:
            fam = c[0]
            lst = by_family.get(fam)
            if lst is None:
                by_family[fam] = [c]
            else:
                lst.append(c)
        touched = []
        for group in self._groups.values():
            if group.apply(by_family):
                touched.extend(group.members)
        return touched

    # ------------------------------------------------------------------
    # UPDATEs out

    def next_messages(self, name: str, max_bytes: int = DEFAULT_READ) -> list:
        """Whole messages for the peer, in order, about ``max_bytes`` long
        (at least one if anything is waiting).  Elements are ``bytes``
        (UPDATEs, End-of-RIB) or ``wire.RouteRefresh`` markers (BoRR/EoRR of
        an enhanced refresh, RFC 7313), to send in the same order."""
        group = self._group(name)
        member = group.members[name]
        while True:
            if member.idle:
                if member.detached:
                    group.resync(member)
                elif group.dirty:
                    group.seal()
                if member.idle:
                    return []
            msgs = member.take(max_bytes)
            if msgs:
                return msgs
            # What it had queued held nothing for it (its own routes only,
            # an empty table): look again.

    def pending(self, name: str) -> bool:
        """Has the peer anything to read?"""
        group = self._group(name)
        member = group.members[name]
        return not member.idle or member.detached or group.dirty

    def refresh(self, name: str, family, enhanced: bool = False) -> None:
        """The peer asked for a ROUTE-REFRESH (RFC 2918): it reads the
        family's whole Adj-RIB-Out again after what it has queued; with
        ``enhanced`` (RFC 7313) wrapped in BoRR ... EoRR."""
        group = self._group(name)
        family = tuple(family)
        if family not in group.out:
            raise ExportError(f"{name}: family {family} is not in use on the session")
        member = group.members[name]
        before = after = ()
        if enhanced:
            afi, safi = family
            before = [RouteRefresh(afi, safi, RefreshSubtype.BORR)]
            after = [RouteRefresh(afi, safi, RefreshSubtype.EORR)]
        member.push(Item(group.snapshot(family), before, after))

    # ------------------------------------------------------------------
    # The operator's view

    def group_of(self, name: str) -> UpdateGroup:
        return self._group(name)

    def groups(self) -> list[UpdateGroup]:
        return list(self._groups.values())

    def peers(self) -> list[str]:
        return list(self._member_group)

    def counts(self, name: str) -> dict:
        """``{family: routes in the peer's Adj-RIB-Out}`` (paths, with add-path)."""
        group = self._group(name)
        return {fam: out.count_for(name) for fam, out in group.out.items()}

    def backlog(self, name: str) -> dict:
        """Flow-control state of a peer: bytes of unread batches, whether it
        is behind (since which generation), how many times it fell behind,
        messages handed out."""
        group = self._group(name)
        m = group.members[name]
        return {"group": group.number, "unread_bytes": m.backlog,
                "detached_since": m.watermark, "overflows": m.overflows, "messages": m.sent}

    def exported(self, name: str, family):
        """``(key, attributes, next_hop)`` of every route in the peer's
        Adj-RIB-Out (``show route export NAME``); ``key`` is ``(path_id,
        key)`` with add-path, ``next_hop`` the packed next hop."""
        group = self._group(name)
        family = tuple(family)
        out = group.out.get(family)
        if out is None:
            return
        four_octet = group.pipeline.four_octet
        decoded: dict = {}
        for k, e in out.items(name):
            a = decoded.get(e.block)
            if a is None:
                a = decoded[e.block] = decode_attributes(e.block, four_octet)[0]
            yield k, a, (a.next_hop if family == IPV4_UNICAST else e.next_hop)

    def explain(self, name: str, family, key) -> str | None:
        """Why the peer is not sent the Loc-RIB route of ``key`` (None: it
        is; needs the ``rib``)."""
        group = self._group(name)
        family = tuple(family)
        if family not in group.out:
            return f"family {family} is not in use on the session"
        route = self.rib.get(family, key) if self.rib is not None else None
        if route is None:
            return "no route in the Loc-RIB"
        best = route.best
        if sent_by(best.source, name):
            return "learned from this peer"
        return group.pipeline.why(family, best, route.key)
