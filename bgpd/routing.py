"""Routes between the sessions: what each peer sent us (its Adj-RIB-In, as
received) and what we announce to it (our originated prefixes).

This is the daemon's side of route handling: it keeps per peer the routes
received, by family and wire key, sharing the interned attribute sets the
codec produced; announces the configured ``[[originate]]`` prefixes to each
peer when its session comes up (with End-of-RIB after them, RFC 4724) and
again on ROUTE-REFRESH (RFC 2918, with BoRR/EoRR for RFC 7313 peers); and
keeps a restarting peer's routes as stale until its End-of-RIB (RFC 4724
section 4.2).
"""

from __future__ import annotations

import ipaddress
import time

from wire import end_of_rib, make_attributes
from wire.aspath import format_path
from wire.constants import IPV4_UNICAST, Origin, RefreshSubtype, family_name
from wire.errors import Action
from wire.nlri import from_network, next_hop_text, to_text

DEFAULT_LOCAL_PREF = 100


class PeerRoutes:
    """One peer's Adj-RIB-In: family -> {key: (attributes, next hop)}."""

    __slots__ = ("tables", "stale", "received_at")

    def __init__(self):
        self.tables: dict[tuple, dict] = {}
        self.stale: dict[tuple, set] = {}
        self.received_at: dict[tuple, float] = {}

    def count(self) -> int:
        return sum(len(t) for t in self.tables.values())


class Routing:
    def __init__(self, config, log):
        self.config = config
        self.log = log
        self._tables: dict[str, PeerRoutes] = {}

    # ------------------------------------------------------------------
    def peer_table(self, peer) -> PeerRoutes:
        return self._tables.setdefault(peer.name, PeerRoutes())

    def forget(self, peer) -> None:
        self._tables.pop(peer.name, None)

    def update(self, peer, update) -> None:
        routes = self._tables[peer.name]
        eor = update.end_of_rib
        if eor is not None:
            self._sweep(peer, routes, eor)
            return
        withdraw_all = update.action == Action.TREAT_AS_WITHDRAW
        for family, keys in update.withdrawals().items():
            table = routes.tables.get(family)
            if table:
                for k in keys:
                    table.pop(k, None)
        if withdraw_all:
            return
        attrs = update.attrs
        if update.nlri:
            table = routes.tables.setdefault(IPV4_UNICAST, {})
            entry = (attrs, attrs.next_hop)
            stale = routes.stale.get(IPV4_UNICAST)
            for k in update.nlri:
                table[k] = entry
                if stale:
                    stale.discard(k)
            routes.received_at[IPV4_UNICAST] = time.time()
        r = update.mp_reach
        if r is not None and r.nlri:
            fam = (r.afi, r.safi)
            table = routes.tables.setdefault(fam, {})
            entry = (attrs, r.next_hop)
            stale = routes.stale.get(fam)
            for k in r.nlri:
                table[k] = entry
                if stale:
                    stale.discard(k)
            routes.received_at[fam] = time.time()

    def _sweep(self, peer, routes: PeerRoutes, family) -> None:
        stale = routes.stale.pop(tuple(family), None)
        if stale:
            table = routes.tables.get(tuple(family), {})
            for k in stale:
                table.pop(k, None)
            peer.log.info("End-of-RIB for %s: %d stale routes removed",
                          family_name(*family), len(stale))

    def down(self, peer, graceful: bool) -> None:
        routes = self._tables.get(peer.name)
        if routes is None:
            return
        if graceful:
            for fam, table in routes.tables.items():
                routes.stale[fam] = set(table)
        else:
            routes.tables.clear()
            routes.stale.clear()

    def sweep_all_stale(self, peer) -> None:
        routes = self._tables.get(peer.name)
        if routes is not None:
            for fam in list(routes.stale):
                self._sweep(peer, routes, fam)

    def family_disabled(self, peer, family) -> None:
        routes = self._tables.get(peer.name)
        if routes is not None:
            routes.tables.pop(tuple(family), None)
            routes.stale.pop(tuple(family), None)

    # ------------------------------------------------------------------
    # What we announce
    def established(self, peer) -> None:
        for family in sorted(peer.session.families):
            self._announce(peer, family)

    def refresh(self, peer, family, subtype: int) -> None:
        if subtype != RefreshSubtype.NORMAL:
            return          # BoRR/EoRR from the peer: its own re-advertisement
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
        now = peer.now()
        by_attrs: dict = {}
        for orig in self.config.originate:
            net = orig.prefix
            fam = (1, 1) if net.version == 4 else (2, 1)
            if fam != tuple(family):
                continue
            attrs, nh = self._attributes(peer, orig, fam)
            if attrs is None:
                continue
            by_attrs.setdefault((attrs.raw, nh), (attrs, nh, []))[2].append(from_network(net))
        for attrs, nh, keys in by_attrs.values():
            messages = codec.encode(attrs, keys, family=fam_tuple(family), next_hop=nh)
            peer.session.send_updates(now, messages)
        if eor:
            peer.session.send_updates(now, [end_of_rib(*family)])

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
            nh_bytes = nh.packed
        else:
            if nh.version == 4:
                nh = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + nh.packed)
            nh_bytes = nh.packed
        fields = {"origin": Origin.IGP}
        if p.is_ibgp:
            fields["as_path"] = ()
            fields["local_pref"] = orig.local_pref if orig.local_pref is not None \
                else DEFAULT_LOCAL_PREF
        else:
            fields["as_path"] = ((2, (p.local_asn,)),)
        if orig.med is not None:
            fields["med"] = orig.med
        if orig.communities:
            fields["communities"] = tuple(orig.communities)
        if orig.large_communities:
            fields["large_communities"] = tuple(orig.large_communities)
        if orig.extended_communities:
            fields["ext_communities"] = tuple(orig.extended_communities)
        if family == (1, 1):
            fields["next_hop"] = nh_bytes
            return make_attributes(**fields), b""
        return make_attributes(**fields), nh_bytes

    # ------------------------------------------------------------------
    # The operator's view
    def counts(self, peer) -> dict:
        routes = self._tables.get(peer.name)
        if routes is None:
            return {}
        return {family_name(*f): {"received": len(t), "stale": len(routes.stale.get(f, ()))}
                for f, t in sorted(routes.tables.items())}

    def show(self, peers, protocol: str | None = None, limit: int | None = None) -> list:
        out = []
        for peer in peers:
            if protocol is not None and peer.name != protocol:
                continue
            routes = self._tables.get(peer.name)
            if routes is None:
                continue
            for fam, table in sorted(routes.tables.items()):
                stale = routes.stale.get(fam, ())
                for key, (attrs, nh) in table.items():
                    nh = attrs.next_hop if fam == (1, 1) else nh
                    out.append({
                        "prefix": to_text(fam[0], key),
                        "via": ", ".join(next_hop_text(nh)) if nh else "",
                        "protocol": peer.name,
                        "since": routes.received_at.get(fam),
                        "as_path": format_path(attrs.as_path or ()),
                        "origin": {0: "i", 1: "e", 2: "?"}.get(attrs.origin, ""),
                        "local_pref": attrs.local_pref,
                        "med": attrs.med,
                        "flags": ["stale"] if key in stale else [],
                    })
                    if limit is not None and len(out) >= limit:
                        return out
        return out


def fam_tuple(family) -> tuple:
    return (int(family[0]), int(family[1]))
