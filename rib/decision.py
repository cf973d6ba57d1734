"""The decision process: RFC 4271 section 9.1 with RFC 4456 section 9.

Steps
-----
The process is a list of ordered steps (``STEPS``), as in OpenBGPD's
``rde_decide.c``.  Each step is a small function giving one path's value at
that step, lower is better; ``compare(a, b)`` walks the steps in order and
the first step whose values differ decides, returning the winner and the
``Step``.  The same ``Step`` is what ``show route PREFIX all`` prints, so the
explanation can never drift from the code that decided.

A path's values for every step are computed once, by those same functions,
into a tuple (``Path.rank``); comparing two paths is then a comparison of
tuples.  The one step that is not a total order is MED: by default it only
applies between routes from the same neighbouring AS (RFC 4271 9.1.2.2 c),
so the neighbour AS rides at the end of the tuple for that test.

Selecting among many candidates
-------------------------------
With ``deterministic_med`` (the default) the best route is found as RFC 4271
9.1.2.2 describes it: by elimination over the whole set, each step removing
the routes that are not the best at that step, and the MED step removing
within each neighbour AS only.  The result depends on the set alone.  When
the routes left after the origin step all come from one neighbour AS (or
MEDs are always compared), elimination gives the lexicographic minimum of
the rank tuples, which is what the fast path computes.

Without it, the best is found by pairwise comparison in one pass, as BIRD
and most routers do by default; MED is then not transitive and the result
depends on the order of the pass.  Candidates are kept in a canonical order
(by source, then path id), never in order of arrival, so even this mode is a
function of the candidate set.

Multipath (ECMP)
----------------
With ``max_paths`` > 1 the best route is joined by the eligible candidates
that tie with it on every step before ROUTER_ID, which is BIRD's
``bgp_rte_mergable`` rule: the same LOCAL_PREF, locally-originated rank,
AS_PATH length and ORIGIN, the same MED when MEDs are comparable between the
two (different neighbour ASes may carry different MEDs), the same eBGP/iBGP
kind -- so eBGP and iBGP routes are never merged, as in BIRD, which demands
equal ``is_interior`` -- and the same IGP cost to the next hop.  The router
id, cluster list and peer address are ignored.  The others are ordered by
their full rank, and the set is cut at ``max_paths``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from operator import attrgetter

from wire.aspath import first_as, path_length

from .source import PEER_RANK

MED_MAX = 0xFFFFFFFF


class Step(enum.Enum):
    """The decision steps in order.  The values are what ``show route PREFIX
    all`` prints as the reason a candidate lost."""

    ELIGIBLE = "eligibility"
    LOCAL_PREF = "local-pref"
    LOCAL_ORIGIN = "locally-originated"
    AS_PATH = "as-path-length"
    ORIGIN = "origin"
    MED = "med"
    EXTERNAL = "ebgp-over-ibgp"
    IGP_COST = "igp-cost"
    ROUTER_ID = "router-id"
    CLUSTER_LIST = "cluster-list-length"
    PEER_ADDRESS = "peer-address"
    PATH_ID = "path-id"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DecisionOptions:
    """Options of best-path selection.  Immutable: a change of options is a
    new object handed to ``Rib.set_options``, which re-runs the decision."""

    default_local_pref: int = 100       # for routes without LOCAL_PREF (eBGP-learned ones)
    always_compare_med: bool = False    # compare MED between different neighbour ASes
    deterministic_med: bool = True      # RFC 4271 elimination rather than one pairwise pass
    med_missing_as_worst: bool = False  # a route without MED has the worst MED, not 0
    ignore_as_path_length: bool = False
    max_paths: int = 1                  # ECMP: 1 is off

    def __post_init__(self):
        if self.max_paths < 1:
            raise ValueError("max_paths must be at least 1")


# ---------------------------------------------------------------------------
# The steps.  Each takes a path and the ``Decision`` and returns the path's
# value at that step; lower wins.

def eligible(p, d):
    """RFC 4271 9.1.2: a route whose NEXT_HOP is unresolvable, or whose
    AS_PATH has a loop, is excluded; so is one that RFC 4456 section 8 tells
    a reflector to ignore.  Ineligible routes are kept, with their reason."""
    return 0 if p.reason is None else 1


def local_pref(p, d):
    """RFC 4271 9.1.1 and 9.1.2.1: the highest degree of preference wins: the
    route's LOCAL_PREF, else ``default_local_pref``.  LOCAL_PREF is not
    accepted from an eBGP peer (RFC 4271 5.1.5): the RIB removes it on
    receipt, so an eBGP-learned route has what its import policy set."""
    lp = p.attrs.local_pref
    return -(d.options.default_local_pref if lp is None else lp)


def local_origin(p, d):
    """Routes this speaker originates win over learned ones (a step of most
    implementations, before the AS_PATH length; not in RFC 4271).  Between
    two local kinds, configuration wins over what the kernel taught us."""
    s = p.source
    return s.kind.rank if s.local else PEER_RANK


def as_path(p, d):
    """RFC 4271 9.1.2.2 a: the shortest AS_PATH wins; an AS_SET counts as
    one, confederation segments count nothing (RFC 5065 section 5.3)."""
    if d.options.ignore_as_path_length:
        return 0
    path = p.attrs.as_path
    return path_length(path) if path else 0


def origin(p, d):
    """RFC 4271 9.1.2.2 b: the lowest ORIGIN wins (IGP < EGP < INCOMPLETE)."""
    o = p.attrs.origin
    return 2 if o is None else o


def med(p, d):
    """RFC 4271 9.1.2.2 c: the lowest MULTI_EXIT_DISC wins, among routes
    from the same neighbouring AS only (unless ``always_compare_med``).  A
    route without one has MED 0, or the worst MED with
    ``med_missing_as_worst``."""
    m = p.attrs.med
    if m is None:
        return MED_MAX if d.options.med_missing_as_worst else 0
    return m


def external(p, d):
    """RFC 4271 9.1.2.2 d: routes learned over eBGP win over iBGP ones."""
    return 0 if p.source.ebgp else 1


def igp_cost(p, d):
    """RFC 4271 9.1.2.2 e: the lowest interior cost to the NEXT_HOP wins, as
    the next-hop resolver reports it."""
    return d.igp_cost(p)


def router_id(p, d):
    """RFC 4271 9.1.2.2 f: the lowest BGP Identifier of the advertising
    speaker wins; a reflected route's ORIGINATOR_ID stands in for it
    (RFC 4456 section 9)."""
    a = p.attrs
    if a.rare is not None:
        oid = a.originator_id
        if oid is not None:
            return oid
    return p.source.bgp_id


def cluster_list(p, d):
    """RFC 4456 section 9: after the BGP Identifier, the shortest
    CLUSTER_LIST wins."""
    a = p.attrs
    return len(a.cluster_list) if a.rare is not None else 0


def peer_address(p, d):
    """RFC 4271 9.1.2.2 g: the lowest peer address wins."""
    return p.source.order


def path_id(p, d):
    """Two paths of one peer (RFC 7911 add-path) that tie on everything:
    the lowest path identifier wins, so that the result never depends on
    arrival order."""
    return p.path_id


STEPS = (
    (Step.ELIGIBLE, eligible),
    (Step.LOCAL_PREF, local_pref),
    (Step.LOCAL_ORIGIN, local_origin),
    (Step.AS_PATH, as_path),
    (Step.ORIGIN, origin),
    (Step.MED, med),
    (Step.EXTERNAL, external),
    (Step.IGP_COST, igp_cost),
    (Step.ROUTER_ID, router_id),
    (Step.CLUSTER_LIST, cluster_list),
    (Step.PEER_ADDRESS, peer_address),
    (Step.PATH_ID, path_id),
)
STEP_ORDER = tuple(step for step, _fn in STEPS)
_KEYS = tuple(fn for _step, fn in STEPS)
MED_AT = STEP_ORDER.index(Step.MED)
IGP_AT = STEP_ORDER.index(Step.IGP_COST)
MERGE_UNTIL = STEP_ORDER.index(Step.ROUTER_ID)  # ECMP ties on the steps before this
NBR_AT = len(STEPS)                             # the neighbour AS, after the steps


def neighbour_as(p) -> int:
    """The AS a route came from, for the MED step: the first AS of the
    AS_PATH outside our confederation; our own AS for a route with an empty
    path (RFC 4271 9.1.2.2 c)."""
    path = p.attrs.as_path
    if path:
        nbr = first_as(path)
        if nbr is not None:
            return nbr
    return p.source.local_asn or 0


_RANK_FNS = _KEYS + (lambda p, d: neighbour_as(p),)
_RANK = attrgetter("rank")
_RANK_LIMIT = 200_000


class Decision:
    """The decision process for one RIB: its options and the IGP cost of a
    path's next hop (``igp_cost(path) -> int``, given by the RIB's next-hop
    table).  Holds the interned rank tuples: paths with equal values share
    one tuple."""

    __slots__ = ("options", "igp_cost", "_ranks", "_always", "_deterministic", "_max_paths")

    def __init__(self, options: DecisionOptions = DecisionOptions(), igp_cost=None):
        self.options = options
        self.igp_cost = igp_cost or (lambda p: 0)
        self._ranks = {}
        self._always = options.always_compare_med
        self._deterministic = options.deterministic_med
        self._max_paths = options.max_paths

    # -- ranks -------------------------------------------------------------
    def rank(self, p) -> tuple:
        """The path's value at every step, then its neighbour AS."""
        r = tuple([fn(p, self) for fn in _RANK_FNS])
        ranks = self._ranks
        shared = ranks.get(r)
        if shared is None:
            if len(ranks) >= _RANK_LIMIT:
                ranks.clear()
            ranks[r] = shared = r
        return shared

    def ranked(self, p) -> tuple:
        r = p.rank
        if r is None:
            r = p.rank = self.rank(p)
        return r

    def med_comparable(self, ra, rb) -> bool:
        return self._always or ra[NBR_AT] == rb[NBR_AT]

    # -- two paths ---------------------------------------------------------
    def compare(self, a, b):
        """``(winner, Step)``: the better of two paths and the step that
        decided.  ``(a, None)`` when nothing tells them apart (the same
        candidate)."""
        ra = self.ranked(a)
        rb = self.ranked(b)
        comparable = self.med_comparable(ra, rb)
        for i, step in enumerate(STEP_ORDER):
            x = ra[i]
            y = rb[i]
            if x == y or (i == MED_AT and not comparable):
                continue
            return (a if x < y else b), step
        return a, None

    def better(self, a, b) -> bool:
        """True when ``a`` wins over ``b`` (both ranked)."""
        ra = a.rank
        rb = b.rank
        if self._always or ra[NBR_AT] == rb[NBR_AT]:
            return ra < rb
        pa = ra[:MED_AT]
        pb = rb[:MED_AT]
        if pa != pb:
            return pa < pb
        return ra[MED_AT + 1:] < rb[MED_AT + 1:]

    def mergeable(self, best, p) -> bool:
        """May ``p`` join ``best`` in a multipath set (see the module text)?"""
        rb = best.rank
        rp = p.rank
        if rb[:MED_AT] != rp[:MED_AT] or rb[MED_AT + 1:MERGE_UNTIL] != rp[MED_AT + 1:MERGE_UNTIL]:
            return False
        return rb[MED_AT] == rp[MED_AT] or not self.med_comparable(rb, rp)

    # -- a set of candidates -------------------------------------------------
    def select(self, paths) -> tuple:
        """The selected set for one prefix, best first: ``()`` when no
        candidate is eligible, else the best and, with ``max_paths`` > 1,
        the paths merged with it.  ``paths`` is in canonical order."""
        elig = []
        for p in paths:
            if p.reason is None:
                if p.rank is None:
                    p.rank = self.rank(p)
                elig.append(p)
        n = len(elig)
        if n <= 1:
            return tuple(elig)
        if n == 2:
            # Elimination over two routes is one pairwise comparison.
            a, b = elig
            best = b if self.better(b, a) else a
        else:
            best = self._best(elig)
        if self._max_paths == 1:
            return (best,)
        others = [p for p in elig if p is not best and self.mergeable(best, p)]
        if not others:
            return (best,)
        others.sort(key=_RANK)
        return (best, *others[:self._max_paths - 1])

    def _best(self, elig):
        if not self._deterministic:
            best = elig[0]
            better = self.better
            for p in elig[1:]:
                if better(p, best):
                    best = p
            return best
        w = min(elig, key=_RANK)
        if not self._always:
            rw = w.rank
            nbr = rw[NBR_AT]
            pre = rw[:MED_AT]
            for p in elig:
                rp = p.rank
                if rp[NBR_AT] != nbr and rp[:MED_AT] == pre:
                    # Routes from several neighbour ASes reach the MED step.
                    return self.eliminate(elig)[0]
        return w

    def eliminate(self, pool, record=None):
        """RFC 4271 9.1.2.2 as written: each step removes the candidates that
        are not the best at that step (MED within each neighbour AS).  Returns
        the survivors (one, unless two candidates are the same route);
        ``record`` receives ``{path: (Step, the path it lost to or None)}``
        for the removed ones (None: the eventual best)."""
        pool = list(pool)
        for p in pool:
            if p.rank is None:
                p.rank = self.rank(p)
        for i, step in enumerate(STEP_ORDER):
            if len(pool) == 1:
                break
            if i == MED_AT and not self._always:
                floor = {}
                for p in pool:
                    r = p.rank
                    cur = floor.get(r[NBR_AT])
                    if cur is None or r[i] < cur.rank[i]:
                        floor[r[NBR_AT]] = p
                keep = [p for p in pool if p.rank[i] == floor[p.rank[NBR_AT]].rank[i]]
                if record is not None:
                    for p in pool:
                        if p.rank[i] != floor[p.rank[NBR_AT]].rank[i]:
                            record[p] = (step, floor[p.rank[NBR_AT]])
            else:
                m = min(p.rank[i] for p in pool)
                keep = [p for p in pool if p.rank[i] == m]
                if record is not None:
                    for p in pool:
                        if p.rank[i] != m:
                            record[p] = (step, None)
            pool = keep
        return pool

    def explain(self, paths) -> tuple[tuple, dict]:
        """``(selected, why)`` for a prefix's candidates: the selected set as
        ``select`` gives it, and for every other candidate ``(Step, winner)``:
        the step that put it out and the path that beat it there."""
        selected = self.select(paths)
        why = {}
        if not selected:
            for p in paths:
                why[p] = (Step.ELIGIBLE, None)
            return selected, why
        best = selected[0]
        record = {}
        if self._deterministic:
            self.eliminate([p for p in paths if p.reason is None], record)
        for p in paths:
            if p in selected:
                continue
            if p.reason is not None:
                why[p] = (Step.ELIGIBLE, best)
            elif p in record and record[p][1] is not None:
                why[p] = record[p]          # put out by a route of its own neighbour AS
            else:
                why[p] = (self.compare(best, p)[1], best)
        return selected, why
