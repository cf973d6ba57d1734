"""The diff between desired and installed routes, table-driven: only the
difference is written, foreign keys are never touched, stale routes wait for
the sweep, and a destination is never without a route while it changes."""

from __future__ import annotations

import pytest

from kernel_sync import KRoute, Nexthop, Op, dest
from kernel_sync.desired import Outcome
from kernel_sync.plan import ADD, DELETE, REPLACE, Installed, plan

A = KRoute(1, (Nexthop(b"\x0a\x00\x00\x01", 2),))
B = KRoute(1, (Nexthop(b"\x0a\x00\x00\x02", 2),))
BH = KRoute(6)
D = dest("10.1.0.0/24")


def installed(*routes) -> Installed:
    inst = Installed()
    for metric, value in routes:
        inst.put(D, (metric, value))
    return inst


# name, desired (metric, value) or None, installed routes, foreign {metric: proto},
# stale, expected first, expected last, expected conflict
CASES = [
    ("new route", (0, A), [], {}, False, [Op(ADD, D, 0, A, (0, A))], [], None),
    ("already right", (0, A), [(0, A)], {}, False, [], [], None),
    ("changed next hop: replace in place", (0, B), [(0, A)], {}, False,
     [Op(REPLACE, D, 0, B, (0, B))], [], None),
    ("route becomes a block", (0, BH), [(0, A)], {}, False,
     [Op(REPLACE, D, 0, BH, (0, BH))], [], None),
    ("withdrawn", None, [(0, A)], {}, False, [], [Op(DELETE, D, 0)], None),
    ("withdrawn but stale: kept", None, [(0, A)], {}, True, [], [], None),
    ("stale and desired again: refreshed", (0, B), [(0, A)], {}, True,
     [Op(REPLACE, D, 0, B, (0, B))], [], None),
    ("metric change: add first, delete after", (10, A), [(0, A)], {}, False,
     [Op(ADD, D, 10, A, (10, A))], [Op(DELETE, D, 0)], None),
    ("foreign route at our key: conflict, no write", (0, A), [], {0: 4}, False, [], [], (0, 4)),
    ("foreign route at another metric: no conflict", (0, A), [], {100: 4}, False,
     [Op(ADD, D, 0, A, (0, A))], [], None),
    ("ours and a leftover at another metric", (0, A), [(0, A), (5, B)], {}, False,
     [], [Op(DELETE, D, 5)], None),
    ("withdrawn with two metrics: both go", None, [(0, A), (5, B)], {}, False,
     [], [Op(DELETE, D, 0), Op(DELETE, D, 5)], None),
    ("nothing at all", None, [], {}, False, [], [], None),
]


@pytest.mark.parametrize("name,want,have,foreign,stale,first,last,conflict", CASES,
                         ids=[c[0] for c in CASES])
def test_plan(name, want, have, foreign, stale, first, last, conflict):
    desired = {D: Outcome(want)} if want else {}
    p = plan([D], desired, installed(*have), {D: foreign} if foreign else {},
             {D} if stale else frozenset())
    assert p.first == first
    assert sorted(p.last) == sorted(last)
    assert p.conflicts.get(D) == conflict


def test_only_dirty_destinations_are_looked_at():
    other = dest("10.2.0.0/24")
    desired = {D: Outcome((0, A)), other: Outcome((0, B))}
    p = plan([other], desired, Installed(), {})
    assert [op[1] for op in p.first] == [other]


def test_installed_keeps_several_metrics():
    inst = installed((0, A), (5, B))
    assert len(inst) == 2
    assert inst.get(D, 5) == B and inst.get(D, 0) == A and inst.get(D, 7) is None
    inst.drop(D, 0)
    assert inst.primary[D] == (5, B) and D not in inst.more
    inst.drop(D, 5)
    assert D not in inst and len(inst) == 0
    inst.drop(D, 5)                             # dropping twice is harmless
