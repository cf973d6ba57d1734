"""Graceful restart, route refresh and soft reconfiguration (part of ``Rib``).

Receiving side of graceful restart (RFC 4724 section 4.2): when a session
with graceful restart goes down, ``Rib.peer_down(graceful=True)`` moves the
peer's Adj-RIB-In routes to its ``stale`` map; they stay candidates, in use.
A route the peer sends again moves back (``Rib._put``); ``end_of_rib``
withdraws what is still stale in that family, ``sweep_stale`` does it for
the driver's restart timer.

Enhanced route refresh (RFC 7313 section 4) uses the same two maps: BoRR
marks the family's routes stale, EoRR (or its timer) sweeps the rest.  A
plain route refresh (RFC 2918) needs nothing here: re-sent routes simply
replace the old ones.

Restarting side (RFC 4724 section 4.1): after our own restart the driver
calls ``defer_selection`` with the peers whose End-of-RIB to wait for;
the decision of that family (and so every export and FIB change) is held
back until they have all sent it, or until the Selection_Deferral_Timer
calls ``release_deferral``.

Soft reconfiguration inbound keeps the routes as received (``AdjRibIn.pre``)
so that ``reimport`` can run a changed import policy without a refresh.
"""

from __future__ import annotations

from .adjin import AdjRibIn


class GracefulRestart:
    """``Rib`` methods for stale routes, End-of-RIB, refresh and deferral."""

    def _mark_stale(self, adj: AdjRibIn) -> None:
        if adj.routes:
            if adj.stale:
                adj.stale.update(adj.routes)
            else:
                adj.stale = adj.routes
            adj.routes = {}
        adj.update_mode()

    def _sweep(self, adj: AdjRibIn) -> int:
        stale = adj.stale
        adj.stale = None
        n = 0
        if stale:
            table = self._tables.get(adj.family)
            dirty = self._dirty[adj.family]
            prefix_of = adj.prefix_of
            release = adj.release
            for akey, old in stale.items():
                k = prefix_of(akey)
                cur = table[k]
                if cur is old:
                    del table[k]
                    dirty.setdefault(k, cur)
                else:
                    self._leave(k, cur, old, table, dirty)
                release(old)
            n = len(stale)
        adj.update_mode()
        return n

    def end_of_rib(self, peer, family) -> int:
        """End-of-RIB from ``peer`` for ``family`` (RFC 4724 section 2):
        its stale routes of the family not re-sent are withdrawn; if the
        selection of the family waits for End-of-RIB, one peer fewer is
        waited for.  Returns how many stale routes went."""
        st = self._state(peer)
        family = tuple(family)
        adj = st.adj.get(family)
        n = self._sweep(adj) if adj is not None else 0
        self._eor_arrived(st.name, family)
        if not any(a.stale for a in st.adj.values()):
            st.stale_deadline = None
        return n

    def sweep_stale(self, peer, family=None) -> int:
        """The restart timer fired (RFC 4724 4.2): withdraw the peer's stale
        routes (of one family, or all).  Returns how many went."""
        st = self._state(peer)
        n = 0
        for fam, adj in st.adj.items():
            if family is None or fam == tuple(family):
                n += self._sweep(adj)
        if not any(a.stale for a in st.adj.values()):
            st.stale_deadline = None
        return n

    def begin_refresh(self, peer, family) -> None:
        """Beginning-of-RIB-Refresh from ``peer`` (RFC 7313 section 4): its
        current routes of the family become stale until re-sent, and the
        pre-policy copy (soft reconfiguration) is rebuilt from the re-sent
        routes."""
        adj = self._state(peer).adj_for(tuple(family))
        self._mark_stale(adj)
        if adj.pre:
            if adj.pre_stale:
                for akey, p in adj.pre.items():     # a second BoRR before EoRR
                    was = adj.pre_stale.get(akey)
                    if was is not None:
                        adj.release(was)
                    adj.pre_stale[akey] = p
            else:
                adj.pre_stale = adj.pre
            adj.pre = {}

    def end_refresh(self, peer, family) -> int:
        """End-of-RIB-Refresh (RFC 7313 section 4), or its timer: stale
        routes of the family not re-sent are withdrawn."""
        adj = self._state(peer).adj.get(tuple(family))
        if adj is None:
            return 0
        if adj.pre_stale:
            for p in adj.pre_stale.values():
                adj.release(p)
        adj.pre_stale = None
        return self._sweep(adj)

    def stale_count(self, peer, family=None) -> int:
        st = self._state(peer)
        return sum(len(a.stale or ()) for f, a in st.adj.items()
                   if family is None or f == tuple(family))

    def reimport(self, peer, family=None) -> bool:
        """Soft reconfiguration inbound: run the peer's import policy again
        over the routes as received.  Returns False (and does nothing) when
        the peer keeps no pre-policy copy; ask it for a ROUTE-REFRESH."""
        st = self._state(peer)
        adjs = [a for f, a in st.adj.items() if family is None or f == tuple(family)]
        if any(a.pre is None for a in adjs):
            return False
        for adj in adjs:
            fam = adj.family
            table = self._table(fam)
            dirty = self._dirty[fam]
            policy = adj.policy
            source = adj.source
            for akey, raw in list(adj.pre.items()):
                k = adj.prefix_of(akey)
                attrs = raw.attrs
                if attrs.local_pref is not None and source.ebgp:
                    attrs = self._without_local_pref(attrs)
                if policy is None:
                    p = self._path(adj, attrs, raw.next_hop, raw.path_id)
                else:
                    res = policy(source, fam, k, attrs, raw.next_hop)
                    if res is None:
                        self._drop(adj, k, akey, table, dirty)
                        continue
                    p = self._path(adj, res[0], res[1], raw.path_id)
                self._put(adj, k, akey, p, table, dirty)
        return True

    # -- restarting side ------------------------------------------------
    def defer_selection(self, family, peers) -> None:
        """RFC 4724 4.1: we restarted; hold back the decision of ``family``
        until every peer named has sent End-of-RIB, or until
        ``release_deferral`` (the Selection_Deferral_Timer)."""
        waiting = {p if isinstance(p, str) else p.name for p in peers}
        if waiting:
            self._deferred[tuple(family)] = waiting
        else:
            self._deferred.pop(tuple(family), None)

    def release_deferral(self, family=None) -> list:
        """Stop deferring (one family, or all); the next ``drain_changes``
        decides everything that arrived meanwhile.  Returns the families."""
        fams = list(self._deferred) if family is None else [tuple(family)]
        out = [f for f in fams if self._deferred.pop(f, None) is not None]
        return out

    @property
    def deferring(self) -> dict:
        """``{family: peer names still awaited}`` while graceful-restart
        recovery holds selection back (``show status`` prints it)."""
        return {f: frozenset(w) for f, w in self._deferred.items()}

    def _eor_arrived(self, name, family) -> None:
        waiting = self._deferred.get(family)
        if waiting is not None:
            waiting.discard(name)
            if not waiting:
                del self._deferred[family]
