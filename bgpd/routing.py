"""Routes between the sessions, the RIB and the export layer.

Every UPDATE a session decodes goes into ``rib.Rib`` (import policy applied
per peer, the fixed rule that eBGP LOCAL_PREF is ignored, RFC 7606
treat-as-withdraw, End-of-RIB); after each socket read the daemon calls
``flush``, which runs the decision process once over the prefixes the read
touched and hands the batch of Loc-RIB changes to the export layer
(``reflector.Exporter``: RFC 4456 reflection and the other protocol rules,
export policy, update groups) and to any other consumer.  A peer's writer
pulls the encoded UPDATEs from the exporter while its session has room
(``writable``), so a slow peer holds back nobody.

Our configured ``[[originate]]`` prefixes are static routes in the RIB and
leave through the same path.  A peer that restarts gracefully keeps its
routes in use as stale until its End-of-RIB or its restart time, for the
families its capability listed (RFC 4724 section 4.2).
"""

from __future__ import annotations

import ipaddress
import time

from reflector import Exporter, NextHop, SessionParams, candidates_from
from rib import Rib
from rib.decision import DecisionOptions
from rib.path import tick
from rib.policy import EXPORT, IMPORT, PolicySet, Source
from rib.source import LocalKind, PeerInfo
from wire import make_attributes
from wire.aspath import format_path
from wire.communities import community_text
from wire.constants import Origin, RefreshSubtype, family_name
from wire.nlri import from_network, next_hop_text, parse as parse_prefix, to_text

from .control import CommandError

DEFAULT_LOCAL_PREF = 100
WRITE_BATCH = 256 * 1024
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
                       options=DecisionOptions(max_paths=config.max_paths))
        # RFC 7911 add-path send: such peers are offered every eligible
        # candidate of a prefix, not only the selected ones.
        add_path_send = any(mode & 2 for p in (*config.peers, *config.dynamic_neighbors)
                            for _a, _s, mode in p.add_path)
        self.rib.report_unselected = add_path_send
        self.exporter = Exporter(config.router_id, config.asn,
                                 cluster_id=getattr(config, "cluster_id", None), rib=self.rib,
                                 candidates=candidates_from(self.rib) if add_path_send else None)
        self.consumers: list = []       # callables taking a list of rib Changes
        self._tasks: dict = {}          # peer name -> PeerTask, to wake writers
        self._info: dict[str, PeerInfo] = {}
        self._restartable: dict[str, frozenset] = {}    # families of a peer's GR capability
        self._effective: dict[str, object] = {}
        self.recovering = False         # RFC 4724 4.1: we restarted, selection deferred
        self.on_recovered: list = []    # callables, when recovery ends
        self.on_decision = None         # callable(seconds, changes), for metrics
        for orig in config.originate:
            self.originate(orig)
        for kind, prefixes in ((LocalKind.LOCAL_BLOCK, config.local_blocks),
                               (LocalKind.SERVICE, config.service_ranges)):
            for net in prefixes:
                self.rib.originate(_family_of(net), from_network(net), kind=kind)
        self.flush()

    # ------------------------------------------------------------------
    # Sessions
    def configure_peer(self, peer) -> None:
        """Note the policies a configured peer uses."""
        self._effective[peer.name] = self.policies.effective(peer.peer)

    def _policies_of(self, peer):
        """The import/export policies the peer's session uses (RFC 8212 defaults)."""
        return self._effective.get(peer.name) or self.policies.effective(peer.peer)

    def notes(self, peer) -> tuple[str, str]:
        e = self._policies_of(peer)
        return e.import_note, e.export_note

    def established(self, peer) -> None:
        neg = peer.session.negotiated
        p = peer.peer
        info = PeerInfo(peer.name, p.address, neg.peer_as, p.local_asn, neg.peer_id,
                        rr_client=p.route_reflector_client, allow_own_as=p.allow_own_as,
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
        # The RIB's pending changes go out before the new member joins its
        # update group, which starts from the Loc-RIB as it stands.
        self.flush()
        self._tasks[peer.name] = peer
        self.exporter.peer_up(info, self._session_params(peer))
        peer.poke()

        if self.recovering and neg.graceful_restart is None:
            # A peer without the capability may never send End-of-RIB:
            # waiting for it would only ever end on the timer.
            for family in peer.session.families:
                self.rib.end_of_rib(info, family)
            self._check_recovery()

    # ------------------------------------------------------------------
    # Graceful restart, the restarting side (RFC 4724 section 4.1)
    def begin_recovery(self, peers) -> None:
        """We restarted with our forwarding state preserved: defer the
        decision of each family until every configured peer using it has
        sent End-of-RIB, and hold our own End-of-RIB back meanwhile."""
        families: dict = {}
        for p in peers:
            if p.enabled:
                for fam in p.families:
                    families.setdefault(tuple(fam), []).append(p.name)
        for fam, names in families.items():
            self.rib.defer_selection(fam, names)
        self.recovering = bool(families)
        self.exporter.hold_end_of_rib = self.recovering

    def end_recovery(self, why: str) -> None:
        if not self.recovering:
            return
        self.recovering = False
        waited = {family_name(*f): sorted(w) for f, w in self.rib.deferring.items()}
        self.rib.release_deferral()
        if waited:
            self.log.warning("graceful restart recovery ended (%s) still waiting for "
                             "End-of-RIB from %s", why, waited)
        else:
            self.log.info("graceful restart recovery complete (%s)", why)
        self.flush()
        for name in self.exporter.release_end_of_rib():
            task = self._tasks.get(name)
            if task is not None:
                task.poke()
        for callback in self.on_recovered:
            callback()

    def _check_recovery(self) -> None:
        if self.recovering and not self.rib.deferring:
            self.end_recovery("End-of-RIB from every peer")

    def _import_policy(self, peer, info):
        policy = self._policies_of(peer).import_policy
        if policy is self.policies.policies.get("accept-all"):
            return None         # nothing to decide per prefix
        src = Source.peer(info.name, info.address, info.asn, info.ibgp)
        local_asn = peer.peer.local_asn
        local = _packed(peer.local_address)     # the session is up: its address is known

        def decide(source, family, key, attrs, next_hop):
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
            if not self.rib.stale_count(info):
                peer.stop_restart_timer()
            if self.recovering:
                self._check_recovery()
            return
        self.rib.apply_update(info, update)

    def down(self, peer, graceful: bool) -> None:
        info = self._info.get(peer.name)
        if info is None:
            return
        if self._tasks.pop(peer.name, None) is not None:
            self.exporter.peer_down(peer.name)
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

    def sweep_stale(self, peer) -> int:
        """Withdraw what is still stale of a peer's routes."""
        info = self._info.get(peer.name)
        if info is None:
            return 0
        removed = self.rib.sweep_stale(info)
        if removed:
            self.flush()
        return removed

    def family_disabled(self, peer, family) -> None:
        info = self._info.get(peer.name)
        if info is not None:
            self.rib.sweep_stale(info, tuple(family))
            self.flush()

    def flush(self) -> None:
        """Decide over everything applied since the last flush and hand the
        changes to the consumers."""
        tick()                          # the time new paths are stamped with
        dirty = self.rib.pending
        started = time.perf_counter()
        changes = self.rib.drain_changes()
        if dirty and self.on_decision is not None:
            self.on_decision(time.perf_counter() - started, len(changes))
        if changes:
            for name in self.exporter.apply(changes):
                task = self._tasks.get(name)
                if task is not None:
                    task.poke()
            for consumer in self.consumers:
                consumer(changes)

    def originate(self, orig) -> None:
        """Announce a configured ``[[originate]]`` entry."""
        self.rib.originate(_family_of(orig.prefix), from_network(orig.prefix),
                           self._origin_attributes(orig), kind=LocalKind.STATIC,
                           next_hop=orig.next_hop)

    # ------------------------------------------------------------------
    # Policy changes on a running session
    def reimport(self, peer) -> str:
        """The peer's import policy changed: filter its routes again, from
        the soft-reconfiguration copy when kept, else by asking the peer
        to send them again (ROUTE-REFRESH).  Says which."""
        info = self._info.get(peer.name)
        if info is None:
            return "session not established"
        self.rib.set_import_policy(info, self._import_policy(peer, info))
        if self.rib.reimport(info):
            self.flush()
            return "from the soft-reconfiguration copy"
        asked = peer.request_refresh()
        if asked:
            return "ROUTE-REFRESH sent for " + ", ".join(asked)
        # Without route refresh only a new session re-sends the routes.
        peer.log.warning("import policy changed but the peer lacks route refresh and no "
                         "pre-policy copy is kept: it applies to new routes only until "
                         "the session restarts")
        return "new routes only (no route refresh)"

    def reexport(self, peer) -> None:
        """The peer's export policy or next-hop option changed: move it to
        the update group of its new options, which sends the difference."""
        if peer.name not in self._tasks:
            return
        self.exporter.reconfigure(peer.name, self._session_params(peer))
        peer.poke()

    def _session_params(self, peer) -> SessionParams:
        p = peer.peer
        effective = self._policies_of(peer)
        return SessionParams(
            codec=peer.session.codec, families=peer.session.families,
            local_address=peer.local_address,
            next_hop=NextHop.SELF if p.next_hop_self else
            NextHop.KEEP if p.next_hop_keep else NextHop.AUTO,
            send_med=p.send_med,
            export_policy=effective.export_policy if p.export_policy else None)

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
        if neg is None or peer.name not in self._tasks:
            return
        self.exporter.refresh(peer.name, tuple(family),
                              enhanced=bool(neg.enhanced_route_refresh))
        peer.poke()

    def writable(self, peer) -> None:
        """Move what the export layer has for this peer into its session,
        as far as the session's send buffer allows (flow control).  Called
        by the peer's writer when it has nothing left to send; everyone
        else only wakes that writer (``peer.poke``), so that the batches
        of several reads go out in one write when the daemon is busy."""
        if peer.name not in self._tasks:
            return
        session = peer.session
        now = peer.now()
        while session.can_send:
            items = self.exporter.next_messages(peer.name, WRITE_BATCH)
            if not items:
                break
            batch = []
            for m in items:
                if isinstance(m, (bytes, bytearray)):
                    batch.append(m)
                    continue
                if batch:
                    session.send_updates(now, batch)
                    batch = []
                session.send_route_refresh(now, m.afi, m.safi, m.subtype)
            if batch:
                session.send_updates(now, batch)

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

    # ------------------------------------------------------------------
    # The operator's view
    def counts(self, peer) -> dict:
        info = self._info.get(peer.name)
        if info is None:
            return {}
        out = {}
        for fam, c in sorted(self.rib.source_counts(info).items()):
            out[family_name(*fam)] = {k: v for k, v in c.items() if v is not None}
        if peer.name in self._tasks:
            for fam, n in self.exporter.counts(peer.name).items():
                out.setdefault(family_name(*fam), {})["exported"] = n
        return out

    def show_export(self, peer, prefix: str | None = None) -> list:
        """What we send the peer (its Adj-RIB-Out), as ``show route`` rows;
        with ``prefix``, why a Loc-RIB route is not sent when it is not."""
        if peer.name not in self._tasks:
            raise CommandError(f"{peer.name}: session not established: nothing is exported")
        rows = []
        want = None
        if prefix is not None:
            afi, want = parse_prefix(prefix)
        for family in sorted(self.exporter.group_of(peer.name).out):
            if want is not None and family[0] != afi:
                continue
            for k, attrs, nh in self.exporter.exported(peer.name, family):
                key = k[1] if isinstance(k, tuple) else k
                if want is not None and key != want:
                    continue
                row = {"prefix": to_text(family[0], key),
                       "via": ", ".join(next_hop_text(nh)) if nh else "",
                       "protocol": peer.name,
                       "as_path": format_path(attrs.as_path or ()),
                       "origin": ORIGIN_CODE.get(attrs.origin, ""),
                       "local_pref": attrs.local_pref, "med": attrs.med,
                       "flags": ["exported"]}
                if attrs.communities:
                    row["communities"] = [community_text(c) for c in attrs.communities]
                rows.append(row)
        if want is not None and not rows:
            why = self.exporter.explain(peer.name, (afi, 1), want)
            raise CommandError(f"{prefix} is not sent to {peer.name}: {why}")
        return rows

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
    row = {
        "via": ", ".join(next_hop_text(nh)) if nh else "",
        "protocol": path.source.name,
        "as_path": format_path(attrs.as_path or ()),
        "origin": ORIGIN_CODE.get(attrs.origin, ""),
        "local_pref": attrs.local_pref,
        "med": attrs.med,
        "since": path.since,
    }
    if attrs.originator_id is not None:
        row["originator_id"] = str(ipaddress.IPv4Address(attrs.originator_id))
    if attrs.cluster_list:
        row["cluster_list"] = [str(ipaddress.IPv4Address(c)) for c in attrs.cluster_list]
    if attrs.communities:
        row["communities"] = [community_text(c) for c in attrs.communities]
    return row


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
