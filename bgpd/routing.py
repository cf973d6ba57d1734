"""Routes between the sessions and the RIB.

Every UPDATE a session decodes goes into ``rib.Rib`` (import policy applied
per peer, the fixed rule that eBGP LOCAL_PREF is ignored, RFC 7606
treat-as-withdraw, End-of-RIB); after each socket read the daemon calls
``flush``, which runs the decision process once over the prefixes the read
touched and hands the batch of Loc-RIB changes to the consumers (the export
and kernel layers).

What we announce to a peer today is our configured ``[[originate]]``
prefixes (also in the Loc-RIB as static routes), with End-of-RIB after them
(RFC 4724), again on ROUTE-REFRESH (RFC 2918, wrapped in BoRR/EoRR for RFC
7313 peers).  A peer that restarts gracefully keeps its routes in use as
stale until its End-of-RIB or its restart time (RFC 4724 section 4.2).
"""

from __future__ import annotations

import ipaddress

from rib import Rib
from rib.decision import DecisionOptions
from rib.policy import EXPORT, IMPORT, PolicySet, Source
from rib.source import LocalKind, PeerInfo
from wire import end_of_rib, make_attributes
from wire.aspath import format_path
from wire.constants import Origin, RefreshSubtype, family_name
from wire.nlri import from_network, next_hop_text, parse as parse_prefix, to_text

DEFAULT_LOCAL_PREF = 100
ORIGIN_CODE = {0: "i", 1: "e", 2: "?"}


def _family_of(net) -> tuple:
    return (1, 1) if net.version == 4 else (2, 1)


class Routing:
    def __init__(self, config, log):
        self.config = config
        self.log = log
        self.policies = PolicySet.from_config(config)
        self.rib = Rib(config.router_id, config.asn,
                       cluster_id=getattr(config, "cluster_id", None),
                       options=DecisionOptions())
        self.consumers: list = []       # callables taking a list of rib Changes
        self._info: dict[str, PeerInfo] = {}
        self._restartable: dict[str, frozenset] = {}    # families of a peer's GR capability
        self._effective: dict[str, object] = {}
        for orig in config.originate:
            self.rib.originate(_family_of(orig.prefix), from_network(orig.prefix),
                               self._origin_attributes(orig), kind=LocalKind.STATIC,
                               next_hop=None)
        self.flush()

    # ------------------------------------------------------------------
    # Sessions
    def peer_table(self, peer) -> None:
        self._effective[peer.name] = self.policies.effective(peer.peer)

    def notes(self, peer) -> tuple[str, str]:
        e = self._effective.get(peer.name) or self.policies.effective(peer.peer)
        return e.import_note, e.export_note

    def established(self, peer) -> None:
        neg = peer.session.negotiated
        p = peer.peer
        info = PeerInfo(peer.name, p.address, neg.peer_as, p.local_asn, neg.peer_id,
                        rr_client=p.route_reflector_client,
                        description=p.description or "")
        self._info[peer.name] = info
        gr = neg.graceful_restart
        preserved = None
        if gr is not None:
            preserved = [(a, s) for a, s, fwd in getattr(gr, "families", ()) if fwd]
        self._restartable[peer.name] = frozenset(
            (a, s) for a, s, _fwd in getattr(gr, "families", ()))
        self.rib.peer_up(info, families=tuple(peer.session.families),
                         add_path=tuple(neg.add_path_rx),
                         import_policy=self._import_policy(peer, info),
                         forwarding_preserved=preserved)
        self.flush()
        for family in sorted(peer.session.families):
            self._announce(peer, family)

    def _import_policy(self, peer, info):
        effective = self._effective.get(peer.name) or self.policies.effective(peer.peer)
        policy = effective.import_policy
        if policy is self.policies.policies.get("accept-all"):
            return None         # nothing to decide per prefix
        src = Source.peer(info.name, info.address, info.asn, info.ibgp)
        local_asn = peer.peer.local_asn

        def decide(source, family, key, attrs, next_hop):
            local = _packed(peer.local_address)
            r = policy.bind(family, attrs, next_hop, src, local, local_asn)(key)
            return (r.attributes, r.next_hop) if r.accepted else None
        return decide

    def update(self, peer, update) -> None:
        info = self._info.get(peer.name)
        if info is None:
            return
        eor = update.end_of_rib
        if eor is not None:
            removed = self.rib.end_of_rib(info, eor)
            if removed:
                peer.log.info("End-of-RIB for %s: %d stale routes removed",
                              family_name(*eor), removed)
            return
        self.rib.apply_update(info, update)

    def down(self, peer, graceful: bool) -> None:
        info = self._info.get(peer.name)
        if info is None:
            return
        self.rib.peer_down(info, graceful=graceful)
        if graceful:
            # RFC 4724 4.2: routes are kept only for the families the peer's
            # Graceful Restart Capability listed (none for a helper-only peer).
            kept = self._restartable.get(peer.name, frozenset())
            for family in self.rib.source_status(info)["families"]:
                if tuple(family) not in kept:
                    self.rib.sweep_stale(info, family)
        if not graceful:
            del self._info[peer.name]
            self.rib.remove_peer(info)
        self.flush()

    def family_disabled(self, peer, family) -> None:
        info = self._info.get(peer.name)
        if info is not None:
            self.rib.sweep_stale(info, tuple(family))
            self.flush()

    def flush(self) -> None:
        """Decide over everything applied since the last flush and hand the
        changes to the consumers."""
        changes = self.rib.drain_changes()
        if changes:
            for consumer in self.consumers:
                consumer(changes)

    # ------------------------------------------------------------------
    # What we announce
    def refresh(self, peer, family, subtype: int) -> None:
        info = self._info.get(peer.name)
        if subtype == RefreshSubtype.BORR:
            if info is not None:
                self.rib.begin_refresh(info, tuple(family))
            return
        if subtype == RefreshSubtype.EORR:
            if info is not None:
                removed = self.rib.end_refresh(info, tuple(family))
                if removed:
                    peer.log.info("enhanced route refresh of %s: %d stale routes removed",
                                  family_name(*family), removed)
                self.flush()
            return
        neg = peer.session.negotiated
        enhanced = neg is not None and neg.enhanced_route_refresh
        now = peer.now()
        if enhanced:
            peer.session.send_route_refresh(now, family[0], family[1], RefreshSubtype.BORR)
        self._announce(peer, family, eor=not enhanced)
        if enhanced:
            peer.session.send_route_refresh(now, family[0], family[1], RefreshSubtype.EORR)

    def writable(self, peer) -> None:
        """The peer's writer has drained its queue (flow control hook)."""

    def _announce(self, peer, family, eor: bool = True) -> None:
        codec = peer.session.codec
        if codec is None:
            return
        effective = self._effective.get(peer.name) or self.policies.effective(peer.peer)
        export = effective.export_policy
        src = Source("static")
        now = peer.now()
        by_attrs: dict = {}
        for orig in self.config.originate:
            if _family_of(orig.prefix) != tuple(family):
                continue
            attrs, nh = self._attributes(peer, orig, tuple(family))
            if attrs is None:
                continue
            key = from_network(orig.prefix)
            local = _packed(peer.local_address)
            r = export.bind(tuple(family), attrs, nh or attrs.next_hop, src, local,
                            peer.peer.local_asn)(key)
            if not r.accepted:
                continue
            attrs, nh = r.attributes, (b"" if family == (1, 1) else r.next_hop)
            by_attrs.setdefault((attrs.raw, nh), (attrs, nh, []))[2].append(key)
        for attrs, nh, keys in by_attrs.values():
            messages = codec.encode(attrs, keys, family=tuple(family), next_hop=nh)
            peer.session.send_updates(now, messages)
        if eor:
            peer.session.send_updates(now, [end_of_rib(*family)])

    @staticmethod
    def _origin_attributes(orig):
        fields = {"origin": Origin.IGP, "as_path": ()}
        if orig.local_pref is not None:
            fields["local_pref"] = orig.local_pref
        if orig.med is not None:
            fields["med"] = orig.med
        if orig.communities:
            fields["communities"] = tuple(orig.communities)
        if orig.large_communities:
            fields["large_communities"] = tuple(orig.large_communities)
        if orig.extended_communities:
            fields["ext_communities"] = tuple(orig.extended_communities)
        return make_attributes(**fields)

    def _attributes(self, peer, orig, family):
        p = peer.peer
        local = peer.local_address
        nh_text = str(orig.next_hop) if orig.next_hop is not None else local
        if nh_text is None:
            return None, b""
        nh = ipaddress.ip_address(nh_text.split("%")[0])
        if family == (1, 1):
            if nh.version != 4:
                peer.log.warning("cannot announce %s: no IPv4 next hop", orig.prefix)
                return None, b""
        elif nh.version == 4:
            nh = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + nh.packed)
        fields = self._origin_attributes(orig).fields()
        if p.is_ibgp:
            fields.setdefault("local_pref", DEFAULT_LOCAL_PREF)
        else:
            fields["as_path"] = ((2, (p.local_asn,)),)
            fields.pop("local_pref", None)
        if family == (1, 1):
            fields["next_hop"] = nh.packed
            return make_attributes(**fields), b""
        return make_attributes(**fields), nh.packed

    # ------------------------------------------------------------------
    # The operator's view
    def counts(self, peer) -> dict:
        info = self._info.get(peer.name)
        if info is None:
            return {}
        out = {}
        for fam, c in sorted(self.rib.source_counts(info).items()):
            out[family_name(*fam)] = {k: v for k, v in c.items() if v is not None}
        return out

    def show(self, peers, protocol: str | None = None, limit: int | None = None,
             family=None, prefix: str | None = None, address: str | None = None,
             all_candidates: bool = False) -> list:
        rib = self.rib
        if prefix is not None:
            afi, key = parse_prefix(prefix)
            fam = (afi, 1)
            if all_candidates:
                return [_candidate_row(fam, key, c) for c in rib.explain(fam, key)]
            r = rib.get(fam, key)
            return [_route_row(r)] if r is not None else []
        if address is not None:
            ip = ipaddress.ip_address(address)
            fam = (1, 1) if ip.version == 4 else (2, 1)
            r = rib.lookup(fam, ip)
            if r is None:
                return []
            if all_candidates:
                return [_candidate_row(fam, r.key, c) for c in rib.explain(fam, r.key)]
            return [_route_row(r)]
        out = []
        for r in rib.routes(family, protocol):
            out.append(_route_row(r))
            if limit is not None and len(out) >= limit:
                break
        return out


def _packed(address) -> bytes | None:
    if not address:
        return None
    return ipaddress.ip_address(str(address).split("%")[0]).packed


def _path_fields(family, path) -> dict:
    attrs = path.attrs
    nh = path.next_hop or (attrs.next_hop if family == (1, 1) else None)
    return {
        "via": ", ".join(next_hop_text(nh)) if nh else "",
        "protocol": path.source.name,
        "as_path": format_path(attrs.as_path or ()),
        "origin": ORIGIN_CODE.get(attrs.origin, ""),
        "local_pref": attrs.local_pref,
        "med": attrs.med,
    }


def _route_row(r) -> dict:
    row = {"prefix": r.prefix}
    row.update(_path_fields(r.family, r.best))
    if len(r.paths) > 1:
        row["multipath"] = [p.source.name for p in r.paths]
    row["flags"] = ["best"] + (["ecmp"] if len(r.paths) > 1 else [])
    return row


def _candidate_row(family, key, c) -> dict:
    row = {"prefix": to_text(family[0], key)}
    row.update(_path_fields(family, c.path))
    row["status"] = c.status.value
    if c.step is not None:
        row["step"] = c.step.value if hasattr(c.step, "value") else str(c.step)
    if c.beaten_by is not None:
        row["beaten_by"] = c.beaten_by.source.name
    if c.reason is not None:
        row["reason"] = c.reason.value
    flags = [c.status.value]
    if c.stale:
        flags.append("stale")
    row["flags"] = flags
    return row


__all__ = ["Routing", "EXPORT", "IMPORT"]
