"""Deciding again when the decision's inputs change (part of ``Rib``).

The best path of a prefix depends on more than its candidates: on whether
each next hop is reachable and at what IGP cost (RFC 4271 9.1.2 and 9.1.2.2
e), and on the decision options.  When the kernel layer reports that
reachability changed (``next_hops_changed``), gives a new resolver, or the
configuration brings new options, the affected paths get their new
eligibility and lose their cached rank, and every prefix using one of them
is marked dirty with the selected set it had *before*, so that the next
``drain_changes`` reports exactly the prefixes whose route changed.

Finding the prefixes walks the Loc-RIB once: such changes are rare next to
UPDATEs, and an index from next hop to prefix would cost memory on every
prefix all the time.
"""

from __future__ import annotations

from .decision import IGP_AT, Decision, DecisionOptions
from .path import PATHS, Path
from .routes import Dest, make_dest


class Reselection:
    """``Rib`` methods that re-run the decision when its inputs change."""

    def next_hops_changed(self, next_hops=None) -> None:
        """The resolver's answer may have changed for these next hops (wire
        bytes; all when None): ask again and re-run the decision of every
        prefix with a path whose eligibility or IGP cost changed."""
        self._decide()
        self.next_hops.forget(next_hops)
        wanted = None if next_hops is None else set(next_hops)
        changed = {}
        for st in self._sources.values():
            for adj in st.adj.values():
                for p in self._paths_in_use(adj):
                    if p.next_hop is None or (wanted is not None and p.next_hop not in wanted):
                        continue
                    reason = self._ineligible(p.source, p.attrs, p.next_hop)
                    cost = self._igp_cost(p) if reason is None else 0
                    if reason is not p.reason or (p.rank is not None and p.rank[IGP_AT] != cost):
                        changed[p] = reason
        if changed:
            self._rerun(lambda p: p in changed, lambda: self._set_reasons(changed))

    @staticmethod
    def _set_reasons(changed) -> None:
        for p, reason in changed.items():
            p.reason = reason
            p.rank = None

    def set_resolver(self, resolver) -> None:
        """Use another next-hop resolver (the kernel layer's)."""
        self.next_hops.resolver = resolver
        self.next_hops_changed()

    def set_options(self, options: DecisionOptions) -> None:
        """New decision options: every prefix is decided again."""
        self._decide()
        old = self.decision

        def swap():
            self.decision = Decision(options, self._igp_cost)
            for st in self._sources.values():
                for adj in st.adj.values():
                    self._invalidate_ranks(adj)
        if old.options == options:
            return
        self._rerun(lambda p: True, swap)

    def _rerun(self, affected, mutate) -> None:
        """Mark dirty every prefix with a path for which ``affected(path)``,
        remembering its selected set *before* ``mutate()`` changes the paths;
        the next decision pass re-selects them."""
        marks = []
        for fam, table in self._tables.items():
            for k, v in table.items():
                if v.__class__ in PATHS:
                    if affected(v):
                        marks.append((fam, k, (v,) if v.reason is None else ()))
                elif any(affected(p) for p in v.paths):
                    marks.append((fam, k, v.selected() if v.best is not None else None))
        mutate()
        for fam, k, old in marks:
            if old is None:
                continue        # already dirty, its old set already kept
            self._dirty[fam].setdefault(k, old)
            table = self._tables[fam]
            v = table[k]
            if v.__class__ is Dest:
                table[k] = make_dest(v.key, v.paths)     # to be decided again

    def _invalidate_ranks(self, adj) -> None:
        for p in self._paths_in_use(adj):
            p.rank = None

    @staticmethod
    def _paths_in_use(adj):
        """Every path ``adj`` holds, interned or left from an earlier session."""
        seen = set()
        for d in (adj.routes, adj.stale, adj.pre, adj.pre_stale):
            if d:
                for p in d.values():
                    if id(p) not in seen:
                        seen.add(id(p))
                        yield p
