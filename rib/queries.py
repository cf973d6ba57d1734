"""Questions to the RIB (part of ``Rib``): what ``show route`` and the
kernel and export layers ask.

``get`` (one prefix), ``lookup`` (longest-prefix match), ``routes`` (every
selected route, by family and source), ``explain`` (every candidate with
the decision step that placed it), ``adj_rib_in`` (a source's routes,
before or after import policy) and the counters.  Each first runs the
decision for pending prefixes, so that answers never show a half-applied
batch; that never splits the change stream (``drain_changes`` merges).
"""

from __future__ import annotations

import ipaddress

from wire.nlri import MAX_BITS

from .errors import RibError
from .path import PATHS, Path
from .routes import Candidate, LocRoute, Status, prefix_key


class Queries:
    """``Rib`` methods that read the tables."""

    def _selected_of(self, v) -> tuple:
        if v is None:
            return ()
        if v.__class__ in PATHS:
            return (v,) if v.reason is None else ()
        if v.best is None:              # not decided yet (deferral): what it would be
            return self.decision.select(v.paths)
        return v.selected()

    def get(self, family, key) -> LocRoute | None:
        """The selected route of exactly this prefix, or None."""
        self._decide()
        family = tuple(family)
        key = prefix_key(family, key)
        sel = self._selected_of(self._tables.get(family, {}).get(key))
        return LocRoute(family, key, sel) if sel else None

    def lookup(self, family, address) -> LocRoute | None:
        """Longest-prefix match: the selected route of the most specific
        prefix holding ``address`` (text, ``ipaddress`` object or bytes)."""
        self._decide()
        family = tuple(family)
        table = self._tables.get(family)
        if not table:
            return None
        if isinstance(address, (bytes, bytearray)):
            raw = bytes(address)
        else:
            raw = ipaddress.ip_address(address).packed
        bits = MAX_BITS.get(family[0])
        if bits is None or len(raw) * 8 != bits:
            raise RibError(f"address {address!r} does not belong to family {family}")
        n = int.from_bytes(raw, "big")
        size = bits // 8
        for plen in range(bits, -1, -1):
            masked = (n >> (bits - plen) << (bits - plen)).to_bytes(size, "big")
            key = bytes((plen,)) + masked[:(plen + 7) >> 3]
            sel = self._selected_of(table.get(key))
            if sel:
                return LocRoute(family, key, sel)
        return None

    def routes(self, family=None, source=None):
        """Selected routes (``LocRoute``), of one family or all; with
        ``source`` (a name or source object), only those whose best path
        comes from it."""
        self._decide()
        name = None if source is None else (source if isinstance(source, str) else source.name)
        for fam, table in self._tables.items():
            if family is not None and fam != tuple(family):
                continue
            for k, v in table.items():
                sel = self._selected_of(v)
                if sel and (name is None or sel[0].source.name == name):
                    yield LocRoute(fam, k, sel)

    def explain(self, family, key) -> list[Candidate]:
        """Every candidate of a prefix with its standing: the best first,
        then ECMP members, the others with the step that put them out and
        the path that beat them, ineligible ones with their reason, and
        routes import policy rejected (for peers keeping a pre-policy copy)."""
        self._decide()
        family = tuple(family)
        key = prefix_key(family, key)
        v = self._tables.get(family, {}).get(key)
        out = []
        if v is not None:
            paths = (v,) if v.__class__ in PATHS else v.paths
            d = self.decision
            selected, why = d.explain(paths)
            best = selected[0] if selected else None
            for p in selected:
                if p is best:
                    out.append(Candidate(p, Status.BEST, stale=self._is_stale(p, key)))
                else:
                    out.append(Candidate(p, Status.MULTIPATH, d.compare(best, p)[1], best,
                                         stale=self._is_stale(p, key)))
            for p in paths:
                if p in selected:
                    continue
                step, by = why[p]
                if p.reason is not None:
                    out.append(Candidate(p, Status.INELIGIBLE, step, None, p.reason,
                                         self._is_stale(p, key)))
                else:
                    out.append(Candidate(p, Status.NOT_SELECTED, step, by or best,
                                         stale=self._is_stale(p, key)))
        for st in self._sources.values():
            adj = st.adj.get(family)
            if adj is None or not adj.pre:
                continue
            for akey, raw in adj.pre.items():
                if adj.prefix_of(akey) == key and adj.routes.get(akey) is None:
                    out.append(Candidate(raw, Status.FILTERED))
        return out

    @staticmethod
    def _is_stale(p, key) -> bool:
        adj = p.owner
        return adj.is_stale(adj.key_for(key, p.path_id), p)

    def adj_rib_in(self, peer, family, *, pre_policy: bool = False):
        """``(key, path)`` of a source's Adj-RIB-In (stale routes included);
        with ``pre_policy``, the routes as received (soft reconfiguration)."""
        adj = self._state(peer).adj.get(tuple(family))
        if adj is None:
            return
        if pre_policy:
            if adj.pre is None:
                raise RibError(f"{self._state(peer).name} keeps no pre-policy copy")
            yield from adj.pre.items()
        else:
            yield from adj.items()

    def counts(self) -> dict:
        """``{family: {"prefixes": with any candidate, "selected": with a
        route, "paths": candidates}}``."""
        self._decide()
        out = {}
        for fam, table in self._tables.items():
            paths = 0
            for st in self._sources.values():
                adj = st.adj.get(fam)
                if adj is not None:
                    paths += len(adj)
            out[fam] = {"prefixes": len(table), "selected": self._selected[fam], "paths": paths}
        return out

    def source_counts(self, source) -> dict:
        """Per family: routes ``received`` (before policy, when kept),
        ``accepted`` (in the Adj-RIB-In), ``stale``, and ``preferred``
        (selected as best) -- BIRD's "imported/preferred" figures."""
        self._decide()
        st = self._state(source)
        out = {}
        for fam, adj in st.adj.items():
            out[fam] = {
                "received": len(adj.pre) if adj.pre is not None else None,
                "accepted": len(adj.routes),
                "stale": len(adj.stale) if adj.stale else 0,
                "preferred": adj.preferred,
            }
        return out

    def source_status(self, source) -> dict:
        """What ``show protocols all`` says about a source's routes: whether
        its session is up, the graceful-restart state (stale routes, the
        restart time and deadline), and the options the RIB applies."""
        st = self._state(source)
        stale = sum(len(a.stale or ()) for a in st.adj.values())
        return {
            "up": st.up,
            "stale": stale,
            "restart_time": st.restart_time if stale else None,
            "stale_deadline": st.stale_deadline if stale else None,
            "soft_reconfig": st.soft_reconfig,
            "import_policy": st.policy is not None,
            "add_path": sorted(st.add_path),
            "families": sorted(st.adj),
        }

    def prefix_count(self, peer, family) -> int:
        """Routes of ``peer`` in ``family`` (for a maximum-prefix check)."""
        adj = self._state(peer).adj.get(tuple(family))
        return len(adj) if adj is not None else 0

    def families(self) -> list:
        return list(self._tables)
