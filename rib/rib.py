"""The RIB: Adj-RIBs-In, the decision process and the Loc-RIB, in batches.

How a batch goes
----------------
The session driver hands every decoded UPDATE of a socket read to
``apply_update``.  Announcements and withdrawals go into the source's
Adj-RIB-In, and the candidates of the prefix in the Loc-RIB table change at
once, but no best path is chosen yet: the prefix is only marked *dirty*,
remembering what it held before the batch.  ``drain_changes`` then runs the
decision once per dirty prefix and returns one ``Change`` per prefix whose
selected route really changed -- each prefix at most once, however many
UPDATEs touched it -- for the export and kernel layers.

The Loc-RIB table of a family maps a wire key to the one ``Path`` a prefix
has, or to a ``Dest`` holding several candidates.  The decided state of a
one-path prefix is the path itself (selected when eligible), so a full table
from one peer costs two dictionary slots per prefix (Loc-RIB and Adj-RIB-In)
and one ``Path`` per attribute set.  Every Adj-RIB-In stores the key
object the table holds (a ``Dest`` keeps it at hand), so a table from many
peers is still one key object per prefix.

Sources
-------
A peer becomes a source with ``peer_up`` (after the session is
Established) and stops with ``peer_down``; routes the speaker originates
come from ``originate`` and belong to a ``LocalSource`` of their kind.

Import policy plugs in per peer: a callable ``import_policy(peer, family,
key, attrs, next_hop) -> (attrs, next_hop) | None`` (None rejects) runs on
every announced prefix before it enters the Adj-RIB-In; ``key`` is the
prefix's wire key (without an add-path identifier).  Before it, the fixed
protocol rule: a LOCAL_PREF received from an eBGP peer is removed (RFC 4271
5.1.5); the policy may set one.

The class is split by job: graceful restart, refresh and deferral live in
``restart``, queries in ``queries``, re-deciding after next-hop or option
changes in ``reselect``.  Time is never read here: deadlines are computed
from the ``now`` the driver passes, and the driver's timers call back in.
"""

from __future__ import annotations

import ipaddress

from wire.attributes import make as make_attributes
from wire.errors import Action

from .adjin import AdjRibIn, SourceState
from .decision import Decision, DecisionOptions
from .errors import RibError
from .nexthop import NextHops
from .path import PATHS, Ineligible, Path, make_path
from .queries import Queries
from .reselect import Reselection
from .restart import GracefulRestart
from .routes import Change, Dest, make_dest, prefix_key, stored_key
from .source import LocalKind, LocalSource, PeerInfo, as_router_id

IPV4_UNICAST = (1, 1)
_TREAT_AS_WITHDRAW = Action.TREAT_AS_WITHDRAW
_tuple_new = tuple.__new__
_STRIP_LIMIT = 100_000


def _next_hop_bytes(nh) -> bytes | None:
    if nh is None or isinstance(nh, bytes):
        return nh
    return ipaddress.ip_address(nh).packed


def _sorted_insert(paths: tuple, p) -> tuple:
    """``paths`` with ``p`` added in canonical order: by source, then path id."""
    order = p.source.order
    for i, q in enumerate(paths):
        qo = q.source.order
        if qo > order or (qo == order and q.path_id > p.path_id):
            return (*paths[:i], p, *paths[i:])
    return (*paths, p)


def _old_selected(old) -> tuple:
    """The selected set a dirty prefix had before the batch: its table value
    then (a path, a decided Dest, or None), or the set itself."""
    if old is None:
        return ()
    cls = old.__class__
    if cls in PATHS:
        return (old,) if old.reason is None else ()
    if cls is Dest:
        return old.selected()
    return old


class Rib(GracefulRestart, Queries, Reselection):
    """Adj-RIBs-In, decision process and Loc-RIB of one speaker.

    ``router_id`` is our BGP Identifier, ``asn`` our AS; ``cluster_id`` is
    given when we reflect routes (RFC 4456; usually the router id).
    ``resolver`` answers next-hop reachability (``nexthop`` module).
    """

    def __init__(self, router_id, asn: int, *, cluster_id=None,
                 options: DecisionOptions = DecisionOptions(), resolver=None):
        self.router_id = as_router_id(router_id)
        self.asn = asn
        self.cluster_id = None if cluster_id is None else as_router_id(cluster_id)
        self.next_hops = NextHops(resolver)
        # Add-path peers offered every candidate (RFC 7911) must also hear of
        # a prefix whose selected paths stayed while its other candidates
        # changed: then every decided prefix is a Change, old == new or not.
        self.report_unselected = False
        self.decision = Decision(options, self._igp_cost)
        self._tables: dict[tuple, dict] = {}
        self._dirty: dict[tuple, dict] = {}
        self._changes: list[Change] = []
        self._passes = 0
        self._selected: dict[tuple, int] = {}     # family -> prefixes with a route
        self._sources: dict[str, SourceState] = {}
        self._deferred: dict[tuple, set] = {}
        self._strip: dict = {}

    @property
    def options(self) -> DecisionOptions:
        return self.decision.options

    # ------------------------------------------------------------------
    # Sources

    def peer_up(self, peer: PeerInfo, *, families=(IPV4_UNICAST,), add_path=(),
                import_policy=None, soft_reconfig=False, forwarding_preserved=None) -> None:
        """A session with ``peer`` is Established.

        ``add_path``: families whose NLRI carry path identifiers (RFC 7911
        receive).  ``forwarding_preserved``: families for which the peer's
        new Graceful Restart capability has the Forwarding State bit; stale
        routes of every other family are removed now (RFC 4724 4.2); None
        means the capability was not received.
        """
        st = self._sources.get(peer.name)
        if st is None:
            st = self._sources[peer.name] = SourceState(peer, self._family)
        elif st.info.local:
            raise RibError(f"{peer.name!r} is the name of a local source")
        changed_identity = st.info != peer
        st.info = peer
        st.policy = import_policy
        st.soft_reconfig = soft_reconfig
        st.add_path = frozenset(tuple(f) for f in add_path)
        st.up = True
        for fam in families:
            st.adj_for(tuple(fam))
        for fam, adj in st.adj.items():
            adj.source = peer
            if changed_identity:
                adj.forget_paths()
            if adj.add_path != (fam in st.add_path):
                self._clear(adj)        # keys of the other form: start afresh
            adj.add_path = fam in st.add_path
            adj.policy = import_policy
            if soft_reconfig and adj.pre is None:
                adj.pre = {}
            elif not soft_reconfig and adj.pre is not None:
                self._drop_pre(adj)
            adj.update_mode()
        preserved = {tuple(f) for f in forwarding_preserved or ()}
        for fam, adj in st.adj.items():
            if adj.stale and fam not in preserved:
                self._sweep(adj)
        st.stale_deadline = None

    def peer_down(self, peer, *, graceful: bool = False, restart_time: float | None = None,
                  now: float | None = None):
        """The session with ``peer`` ended.

        Without ``graceful`` every route of the peer is withdrawn.  With it
        (RFC 4724 4.2) the routes stay in use, marked stale, until re-sent,
        swept by End-of-RIB, or removed by ``sweep_stale`` when the restart
        timer fires; returns that deadline (``now + restart_time``) when both
        are given.
        """
        st = self._state(peer)
        st.up = False
        for fam in list(self._deferred):
            self._eor_arrived(st.name, fam)
        if not graceful:
            for adj in st.adj.values():
                self._clear(adj)
            st.stale_deadline = None
            st.restart_time = None
            return None
        for adj in st.adj.values():
            self._drop_pre(adj)
            self._mark_stale(adj)
        st.restart_time = restart_time
        if restart_time is not None and now is not None:
            st.stale_deadline = now + restart_time
        return st.stale_deadline

    def remove_peer(self, peer) -> None:
        """Forget a peer altogether (deconfigured): withdraw all its routes."""
        st = self._state(peer)
        for adj in st.adj.values():
            self._clear(adj)
        del self._sources[st.name]

    def set_import_policy(self, peer, import_policy) -> None:
        """Change a peer's import policy.  Routes already in the Adj-RIB-In
        are not re-filtered: call ``reimport`` (soft reconfiguration) or ask
        the peer for a ROUTE-REFRESH."""
        st = self._state(peer)
        st.policy = import_policy
        for adj in st.adj.values():
            adj.policy = import_policy
            adj.update_mode()

    def sources(self) -> list:
        """Every source (``PeerInfo`` or ``LocalSource``) the RIB knows."""
        return [st.info for st in self._sources.values()]

    def _state(self, peer) -> SourceState:
        name = peer if isinstance(peer, str) else peer.name
        st = self._sources.get(name)
        if st is None:
            raise RibError(f"unknown source {name!r}")
        return st

    def _local(self, kind: LocalKind) -> SourceState:
        src = LocalSource(kind)
        st = self._sources.get(src.name)
        if st is None:
            st = self._sources[src.name] = SourceState(src, self._family)
            st.up = True
        elif not st.info.local:
            raise RibError(f"a peer is named {src.name!r}, like the local source")
        return st

    # ------------------------------------------------------------------
    # UPDATEs: the receive hot path

    def apply_update(self, peer, update) -> None:
        """Apply one decoded UPDATE (``wire.Update``) from ``peer``."""
        st = self._sources.get(peer.name)
        if st is None or not st.up:
            raise RibError(f"UPDATE from {peer.name!r}, which is not up")
        adj_map = st.adj
        if update.action is _TREAT_AS_WITHDRAW:
            # RFC 7606 section 2: every prefix of the UPDATE is withdrawn.
            for fam, keys in update.withdrawals().items():
                adj = adj_map.get(fam) or st.adj_for(fam)
                self._withdraw(adj, keys)
            return
        withdrawn = update.withdrawn
        if withdrawn:
            self._withdraw(st.ipv4 or st.adj_for(IPV4_UNICAST), withdrawn)
        mu = update.mp_unreach
        if mu is not None and mu.withdrawn:
            fam = (mu.afi, mu.safi)
            self._withdraw(adj_map.get(fam) or st.adj_for(fam), mu.withdrawn)
        nlri = update.nlri
        attrs = update.attrs
        if nlri:
            self._announce(st.ipv4 or st.adj_for(IPV4_UNICAST), nlri, attrs, attrs.next_hop)
        mr = update.mp_reach
        if mr is not None:
            if mr.nlri:
                fam = (mr.afi, mr.safi)
                self._announce(adj_map.get(fam) or st.adj_for(fam), mr.nlri, attrs, mr.next_hop)
        elif not nlri and not withdrawn:
            fam = update.end_of_rib
            if fam is not None:
                self.end_of_rib(peer, fam)

    def _path(self, adj: AdjRibIn, attrs, next_hop, path_id=0) -> Path:
        """The shared path for (source, attributes, next hop, path id)."""
        pk = adj.path_key(next_hop, path_id, attrs.four_octet)
        inner = adj.paths.get(pk)
        if inner is None:
            inner = adj.paths[pk] = {}
        raw = attrs.raw
        p = inner.get(raw)
        if p is None:
            p = inner[raw] = make_path(adj, adj.source, attrs, next_hop, path_id,
                                       self._ineligible(adj.source, attrs, next_hop))
        return p

    def _announce(self, adj: AdjRibIn, keys, attrs, next_hop) -> None:
        if attrs.local_pref is not None and adj.source.ebgp:
            attrs_in = self._without_local_pref(attrs)
            if not adj.fast:
                self._announce_each(adj, keys, attrs, next_hop, attrs_in)
                return
            attrs = attrs_in
        elif not adj.fast:
            self._announce_each(adj, keys, attrs, next_hop, attrs)
            return
        # The shared path, as _path finds or makes it (inlined: once per UPDATE).
        inner = adj.paths.get(next_hop) if attrs.four_octet else None
        if inner is None:
            p = self._path(adj, attrs, next_hop)
        else:
            raw = attrs.raw
            p = inner.get(raw)
            if p is None:
                source = adj.source
                p = inner[raw] = Path(adj, source, attrs, next_hop,
                                      self._ineligible(source, attrs, next_hop))
        table = adj.table
        routes = adj.routes
        tget = table.get
        mark = adj.dirty.setdefault
        p.refs += len(keys)
        for k in keys:
            cur = tget(k)
            if cur is None:                     # a new prefix
                table[k] = p
                routes[k] = p
                mark(k, None)
            elif cur is p:                      # the same route again
                p.refs -= 1
            elif cur.__class__ in PATHS and cur.owner is adj:   # our route replaced
                table[k] = p
                routes[k] = p
                mark(k, cur)
                adj.release(cur)
            else:
                old = self._join(adj, k, k, cur, p, table, adj.dirty)
                if old is not None:
                    adj.release(old)

    def _join(self, adj, k, akey, cur, p, table, dirty):
        """Put ``p`` (from ``adj``) into prefix ``k`` whose entry ``cur`` is
        another source's path or a Dest.  Returns the path of ours it
        replaced (``p`` itself when it was already there: nothing changes)."""
        if cur.__class__ in PATHS:
            # A second candidate: the prefix becomes a Dest, which keeps the
            # table's key object for every later source to store.
            ck = stored_key(table, k)
            if (cur.source.order, cur.path_id) < (p.source.order, p.path_id):
                table[ck] = _tuple_new(Dest, (ck, None, cur, p))
            else:
                table[ck] = _tuple_new(Dest, (ck, None, p, cur))
            adj.routes[(akey[0], ck) if adj.add_path else ck] = p
            dirty.setdefault(ck, cur)
            return None
        paths = cur[2:]
        pid = p.path_id
        old = None
        for q in paths:
            if q.owner is adj and q.path_id == pid:
                old = q
                break
        if old is p:
            return p
        ck = cur[0]
        if old is not None:
            paths = tuple([q for q in paths if q is not old])
        table[ck] = make_dest(ck, _sorted_insert(paths, p))
        adj.routes[(pid, ck) if adj.add_path else ck] = p
        dirty.setdefault(ck, cur)
        return old

    def _announce_each(self, adj: AdjRibIn, keys, attrs, next_hop, attrs_in) -> None:
        """Announcements with import policy, a pre-policy copy, stale routes
        or path identifiers: one prefix at a time.  ``attrs`` are as
        received (kept in the pre-policy copy), ``attrs_in`` as the protocol
        rules leave them for import policy."""
        fam = adj.family
        table = adj.table
        dirty = adj.dirty
        policy = adj.policy
        pre = adj.pre
        add_path = adj.add_path
        source = adj.source
        last = None                     # (attrs, next hop, path id, path) of the last result
        for item in keys:
            if add_path:
                pid, k = item
            else:
                pid, k = 0, item
            if pre is not None:
                raw = self._path(adj, attrs, next_hop, pid)
                raw.refs += 1
                was = pre.get(item)
                pre[item] = raw
                if was is not None:
                    adj.release(was)
            if policy is None:
                a2, nh2 = attrs_in, next_hop
            else:
                res = policy(source, fam, k, attrs_in, next_hop)
                if res is None:
                    self._drop(adj, k, item, table, dirty)
                    continue
                a2, nh2 = res
            if last is not None and last[0] is a2 and last[1] is nh2 and last[2] == pid:
                p = last[3]             # most prefixes of an UPDATE come out alike
            else:
                p = self._path(adj, a2, nh2, pid)
                last = (a2, nh2, pid, p)
            self._put(adj, k, item, p, table, dirty)

    def _without_local_pref(self, attrs):
        """RFC 4271 5.1.5: LOCAL_PREF is not taken from an eBGP peer (as
        BIRD, which discards it when decoding).  Interned, so that the many
        prefixes of a misbehaving peer still share their attributes."""
        key = (attrs.raw, attrs.four_octet)
        a = self._strip.get(key)
        if a is None:
            if len(self._strip) >= _STRIP_LIMIT:
                self._strip.clear()
            a = self._strip[key] = attrs.replace(local_pref=None)
        return a

    def _put(self, adj, k, akey, p, table, dirty) -> None:
        """``adj`` now has ``p`` for prefix ``k`` (Adj-RIB-In key ``akey``)."""
        p.refs += 1
        old = adj.routes.get(akey)
        if old is None and adj.stale is not None:
            old = adj.stale.pop(akey, None)     # re-sent: no longer stale
            if old is p:
                adj.routes[akey] = p
                adj.release(p)
                return
        if old is p:
            p.refs -= 1
            return
        cur = table.get(k)
        if cur is None:
            table[k] = p
            adj.routes[akey] = p
            dirty.setdefault(k, None)
        elif cur is old:
            table[k] = p
            adj.routes[akey] = p
            dirty.setdefault(k, cur)
        else:
            self._join(adj, k, akey, cur, p, table, dirty)
        if old is not None:
            adj.release(old)

    def _withdraw(self, adj: AdjRibIn, keys) -> None:
        table = adj.table
        dirty = adj.dirty
        if not adj.fast:
            pre = adj.pre
            for item in keys:
                if pre is not None:
                    was = pre.pop(item, None)
                    if was is not None:
                        adj.release(was)
                k = item[1] if adj.add_path else item
                self._drop(adj, k, item, table, dirty)
            return
        pop = adj.routes.pop
        release = adj.release
        mark = dirty.setdefault
        for k in keys:
            old = pop(k, None)
            if old is None:
                continue                # not ours: nothing to withdraw
            cur = table[k]
            if cur is old:
                del table[k]
                mark(k, cur)
            else:
                self._leave(k, cur, old, table, dirty)
            release(old)

    def _drop(self, adj, k, akey, table, dirty) -> None:
        """``adj`` no longer has a route for ``akey`` (after policy)."""
        old = adj.routes.pop(akey, None)
        if old is None and adj.stale is not None:
            old = adj.stale.pop(akey, None)
        if old is None:
            return
        cur = table[k]
        if cur is old:
            del table[k]
            dirty.setdefault(k, cur)
        else:
            self._leave(k, cur, old, table, dirty)
        adj.release(old)

    @staticmethod
    def _leave(k, cur, old, table, dirty) -> None:
        """Take candidate ``old`` out of the Dest ``cur`` of prefix ``k``."""
        paths = tuple([q for q in cur[2:] if q is not old])
        table[k] = paths[0] if len(paths) == 1 else make_dest(cur[0], paths)
        dirty.setdefault(k, cur)

    def _table(self, family) -> dict:
        return self._family(family)[0]

    def _family(self, family) -> tuple[dict, dict]:
        """The Loc-RIB table of a family and its dirty map, made on first use."""
        family = tuple(family)
        table = self._tables.get(family)
        if table is None:
            table = self._tables[family] = {}
            self._dirty[family] = {}
            self._selected[family] = 0
        return table, self._dirty[family]

    def _clear(self, adj: AdjRibIn) -> None:
        """Withdraw every route of ``adj``, stale ones included."""
        self._drop_pre(adj)
        keys = list(adj.routes)
        if adj.stale:
            keys += list(adj.stale)
        if keys:
            self._withdraw_keys(adj, keys)
        adj.stale = None
        adj.update_mode()

    def _withdraw_keys(self, adj, keys) -> None:
        table = self._tables.get(adj.family)
        if table is None:
            return
        dirty = self._dirty[adj.family]
        prefix_of = adj.prefix_of
        for item in keys:
            self._drop(adj, prefix_of(item), item, table, dirty)

    def _drop_pre(self, adj: AdjRibIn) -> None:
        """Let go of the pre-policy copy (the peer has none any more)."""
        for copy in (adj.pre, adj.pre_stale):
            if copy:
                for p in copy.values():
                    adj.release(p)
        adj.pre = adj.pre_stale = None
        adj.update_mode()

    # ------------------------------------------------------------------
    # Eligibility and next hops

    def _ineligible(self, source, attrs, next_hop):
        """Why a route from ``source`` may not be selected, or None."""
        if source.local:
            return None
        path = attrs.as_path
        if path:
            # RFC 4271 9.1.2: our AS in the path is a loop, beyond the
            # occurrences the peer is allowed (Calico numAllowedLocalASNumbers).
            asn = self.asn
            local = source.local_asn
            for _t, asns in path:
                if asn in asns or local in asns:
                    if self._loops(path, source):
                        return Ineligible.AS_LOOP
                    break
        if attrs.rare is not None:
            # RFC 4456 section 8: a route we reflected that came back.
            if attrs.originator_id == self.router_id:
                return Ineligible.ORIGINATOR_ID
            if self.cluster_id is not None and self.cluster_id in attrs.cluster_list:
                return Ineligible.CLUSTER_LOOP
        if next_hop is not None:
            state = self.next_hops.known_state(next_hop)
            if not (state or self.next_hops.state(next_hop))[0]:
                return Ineligible.NEXT_HOP_UNREACHABLE
        return None

    def _loops(self, path, source) -> bool:
        for asn in {self.asn, source.local_asn}:
            n = 0
            for _t, asns in path:
                n += asns.count(asn)
            if n > source.allow_own_as:
                return True
        return False

    def _igp_cost(self, p) -> int:
        nh = p.next_hop
        if nh is None or p.source.local:
            return 0
        return (self.next_hops.known_state(nh) or self.next_hops.state(nh))[1]

    # ------------------------------------------------------------------
    # Decision and the change stream

    def _decide(self) -> None:
        deferred = self._deferred
        for fam, dirty in self._dirty.items():
            if dirty and fam not in deferred:
                self._decide_family(fam, dirty)
                dirty.clear()

    def _decide_family(self, fam, dirty) -> None:
        table = self._tables[fam]
        tget = table.get
        select = self.decision.select
        changes = self._changes
        append = changes.append
        report = self.report_unselected
        n = len(changes)
        count = 0
        for k, old in dirty.items():
            v = tget(k)
            if old is None and v.__class__ in PATHS:
                # A new prefix with one candidate: the most common change.
                if v.reason is None:
                    append(_tuple_new(Change, (fam, k, (), (v,))))
                    v.owner.preferred += 1
                    count += 1
                continue
            if v is None:
                new = ()
            elif v.__class__ in PATHS:
                new = (v,) if v.reason is None else ()
            else:
                paths = v[2:]
                new = select(paths)
                table[k] = _tuple_new(Dest, (v[0], new[0] if len(new) == 1 else new) + paths)
            ob = _old_selected(old)
            if new == ob:
                if report and new:
                    append(_tuple_new(Change, (fam, k, ob, new)))
            else:
                append(_tuple_new(Change, (fam, k, ob, new)))
                if ob:
                    ob[0].owner.preferred -= 1
                else:
                    count += 1
                if new:
                    new[0].owner.preferred += 1
                else:
                    count -= 1
        self._selected[fam] += count
        if len(changes) > n:
            self._passes += 1

    def settle(self) -> None:
        """Run the decision for every prefix changed since the last run
        (families under selection deferral excepted).  Queries call it."""
        self._decide()

    def drain_changes(self) -> list[Change]:
        """Decide the dirty prefixes and return every change since the last
        drain: one ``Change`` per prefix whose selected set differs from
        what it was at the last drain."""
        self._decide()
        changes = self._changes
        if not changes:
            return []
        self._changes = []
        passes = self._passes
        self._passes = 0
        if passes <= 1:
            return changes
        # Several decision passes since the last drain (queries settled in
        # between): merge, first old against last new.
        merged = {}
        for c in changes:
            first = merged.get((c.family, c.key))
            merged[(c.family, c.key)] = c if first is None else first._replace(new=c.new)
        return [c for c in merged.values() if c.old != c.new or self.report_unselected]

    @property
    def pending(self) -> int:
        """How many prefixes wait for the decision."""
        return sum(len(d) for d in self._dirty.values())

    # ------------------------------------------------------------------
    # Origination

    def originate(self, family, key, attrs=None, kind: LocalKind = LocalKind.STATIC,
                  next_hop=None) -> None:
        """Originate a prefix: a static route, a local block (the kernel
        layer installs a blackhole), a service range (never installed) or a
        route learned from the kernel.  ``attrs`` default to ORIGIN IGP and
        an empty AS_PATH; ``next_hop`` (bytes or an address) is None for
        "ourselves"."""
        family = tuple(family)
        key = prefix_key(family, key)
        if attrs is None:
            attrs = make_attributes(origin=0, as_path=())
        adj = self._local(kind).adj_for(family)
        table = self._table(family)
        p = self._path(adj, attrs, _next_hop_bytes(next_hop))
        self._put(adj, key, key, p, table, self._dirty[family])

    def withdraw_originated(self, family, key, kind: LocalKind = LocalKind.STATIC) -> bool:
        """Stop originating a prefix; False if it was not."""
        family = tuple(family)
        key = prefix_key(family, key)
        st = self._sources.get(LocalSource(kind).name)
        adj = st.adj.get(family) if st is not None else None
        if adj is None or key not in adj.routes:
            return False
        self._drop(adj, key, key, self._tables[family], self._dirty[family])
        return True

    def originated(self, kind: LocalKind | None = None, family=None):
        """``(family, key, path)`` of every originated prefix."""
        for st in self._sources.values():
            if not st.info.local or (kind is not None and st.info.kind is not kind):
                continue
            for fam, adj in st.adj.items():
                if family is None or fam == tuple(family):
                    for k, p in adj.routes.items():
                        yield fam, k, p
