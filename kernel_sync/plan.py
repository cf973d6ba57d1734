"""The difference between the desired routes and the kernel's (pure).

``plan(dests, desired, installed, foreign, stale)`` decides, for each
destination asked about, which netlink operations bring the kernel from
what it holds to what is desired -- and nothing else:

============================  ===================================================
desired, nothing of ours      ADD (``NLM_F_CREATE|NLM_F_EXCL``: never
                              overwrites anything, even a route we did not
                              know about)
desired, ours differs         REPLACE in place (atomic: no moment without a
                              route)
desired, ours equal           nothing
desired key held by another   nothing: a *conflict*, reported (never a blind
protocol                      replace over a foreign route)
ours at another metric        DELETE it, after the new route is in
not desired                   DELETE, unless it is *stale* (graceful
                              restart: kept until the sweep)
============================  ===================================================

The *key* of a kernel route is (table, prefix, TOS, metric); the table is
the one configured and the TOS always 0, so a destination's key here is
(afi, wire key, metric).  Operations come back in two lists: ``first``
(adds and replaces) and ``last`` (deletes), sent in that order, so that a
route changing metric is never missing and a destination is withdrawn only
after everything that replaces it is in.

``Installed`` is our own routes as the kernel holds them: one (metric,
value) per destination, plus ``more`` for the rare destination that has
routes of ours at several metrics (left by an older configuration, or the
moment of a metric change).
"""

from __future__ import annotations

from typing import NamedTuple

ADD, REPLACE, DELETE = "add", "replace", "delete"


class Op(NamedTuple):
    """One route operation: ``kind`` ADD/REPLACE/DELETE, the destination,
    the metric, the value for ADD/REPLACE (None for DELETE) and the
    (metric, value) pair.  ``plan`` returns plain tuples of this shape
    (cheaper by the million); they compare equal to ``Op``."""

    kind: str
    dest: tuple
    metric: int
    value: object = None
    route: tuple | None = None


class Installed:
    """Our routes in the kernel: dest -> (metric, value), plus extra metrics."""

    __slots__ = ("primary", "more")

    def __init__(self):
        self.primary: dict = {}
        self.more: dict = {}

    def __len__(self) -> int:
        return len(self.primary) + sum(len(m) for m in self.more.values())

    def __contains__(self, d) -> bool:
        return d in self.primary

    def get(self, d, metric: int):
        p = self.primary.get(d)
        if p is not None and p[0] == metric:
            return p[1]
        more = self.more.get(d)
        return more.get(metric) if more else None

    def routes_of(self, d) -> list:
        """Every (metric, value) of ours for ``d``."""
        p = self.primary.get(d)
        if p is None:
            return []
        more = self.more.get(d)
        return [p] + list(more.items()) if more else [p]

    def put(self, d, route: tuple) -> None:
        p = self.primary.get(d)
        if p is None or p[0] == route[0]:
            self.primary[d] = route
        else:
            self.more.setdefault(d, {})[route[0]] = route[1]

    def drop(self, d, metric: int) -> None:
        p = self.primary.get(d)
        more = self.more.get(d)
        if p is not None and p[0] == metric:
            if more:
                self.primary[d] = more.popitem()
                if not more:
                    del self.more[d]
            else:
                del self.primary[d]
        elif more:
            more.pop(metric, None)
            if not more:
                del self.more[d]

    def items(self):
        """(dest, metric, value) of every route."""
        for d, (m, v) in self.primary.items():
            yield d, m, v
        for d, more in self.more.items():
            for m, v in more.items():
                yield d, m, v

    def dests(self):
        return self.primary.keys()


class Plan(NamedTuple):
    first: list         # ADD and REPLACE, in destination order
    last: list          # DELETE
    conflicts: dict     # dest -> (metric, protocol of the route in the way)

    def __len__(self) -> int:
        return len(self.first) + len(self.last)


def plan(dests, desired: dict, installed: Installed, foreign: dict,
         stale=frozenset()) -> Plan:
    """Operations for ``dests``.  ``desired``: dest -> ``Outcome`` (or any
    object whose ``route`` is the (metric, value) pair); ``foreign``: dest
    -> {metric: protocol} of other protocols' routes in our table;
    ``stale``: destinations kept until the sweep."""
    first, last, conflicts = [], [], {}
    add_first, add_last = first.append, last.append
    primary = installed.primary
    more = installed.more
    for d in dests:
        want = desired.get(d)
        have = primary.get(d)
        if want is not None:
            want = want.route
            if have is not None and (have is want or have == want) and d not in more:
                continue                                        # the common case
            m, v = want
            cur = installed.get(d, m) if have is not None else None
            if cur is None:
                fd = foreign.get(d)
                if fd and m in fd:
                    conflicts[d] = (m, fd[m])
                else:
                    add_first((ADD, d, m, v, want))
            elif cur != v:
                add_first((REPLACE, d, m, v, want))
            if have is not None:
                for hm, _hv in installed.routes_of(d):
                    if hm != m:
                        add_last((DELETE, d, hm, None, None))
        elif have is not None and d not in stale:
            if d in more:
                for hm, _hv in installed.routes_of(d):
                    add_last((DELETE, d, hm, None, None))
            else:
                add_last((DELETE, d, have[0], None, None))
    return Plan(first, last, conflicts)
