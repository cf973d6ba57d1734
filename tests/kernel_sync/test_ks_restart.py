"""kill -9 of a process holding 100,000 routes, then a restart with a
changed table: the kernel ends identical to the new desired table, and no
route wanted by both tables is ever missing.

A watcher thread listens to the node's route events for the whole restart
(a route that goes missing, even for a moment, is an RTM_DELROUTE) and
counts the still-wanted routes with dumps while the new process works.
"""

from __future__ import annotations

import select
import signal
import threading
from pathlib import Path

import pytest

from kernel_sync import rtnl
from kernel_sync.netlink import Channel, Overflow
from ks_holder import must_stay, table
from tests.interop.lab import wait_until

pytestmark = pytest.mark.lab

COUNT = 100_000
PROTO = 179
ROOT_DIR = Path(__file__).resolve().parents[2]


class Watcher(threading.Thread):
    """Records every deletion of a still-wanted route of ours, and the
    fewest still-wanted routes any dump saw."""

    def __init__(self, ns_name: str, wanted: set):
        super().__init__(daemon=True)
        self.wanted = {k for _afi, k in wanted}
        self.events = Channel(ns_name, groups=rtnl.ROUTE_GROUPS)
        self.dumper = Channel(ns_name)
        self.stop = threading.Event()
        self.deleted: list = []
        self.overflow = False
        self.fewest = None
        self.dumps = 0
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                self.drain()
                self.count()
            self.drain()
        except Exception as e:          # reported by the test
            self.error = e

    def drain(self):
        select.select([self.events.fileno()], [], [], 0.01)
        try:
            for buf, mtype, flags, start, end in self.events.drain():
                if mtype != rtnl.RTM_DELROUTE:
                    continue
                r = rtnl.parse_route(buf, start, end)
                if r is not None and r[4] == PROTO and r[1] in self.wanted:
                    self.deleted.append(r[1])
        except Overflow:
            self.overflow = True

    def count(self):
        reader = rtnl.RouteReader()
        seen = 0

        def handle(buf, mtype, flags, start, end):
            nonlocal seen
            if buf is None:
                seen = 0
                return
            r = reader.parse(buf, start, end)
            if r is not None and r[4] == PROTO and r[1] in self.wanted:
                seen += 1

        self.dumper.dump_all(rtnl.route_dump_request(0, 1, PROTO, 254), handle)
        self.fewest = seen if self.fewest is None else min(self.fewest, seen)
        self.dumps += 1

    def close(self):
        self.stop.set()
        self.join(30)
        self.events.close()
        self.dumper.close()


def kernel_table(ns_name: str) -> dict:
    """Our routes in the node: key -> gateway."""
    out = {}
    ch = Channel(ns_name)
    reader = rtnl.RouteReader()

    def handle(buf, mtype, flags, start, end):
        if buf is None:
            out.clear()
            return
        r = reader.parse(buf, start, end)
        if r is not None and r[4] == PROTO:
            out[r[1]] = r[5].nexthops[0].gateway if r[5].nexthops else None

    try:
        ch.dump_all(rtnl.route_dump_request(0, 1, PROTO, 254), handle)
    finally:
        ch.close()
    return out


def holder(lab, ns, variant, graceful):
    argv = ["python3", "-m", "tests.kernel_sync.ks_holder", "--variant", str(variant),
            "--count", str(COUNT)] + (["--graceful"] if graceful else [])
    proc = lab.spawn(ns, argv, name=f"holder{variant}", cwd=str(ROOT_DIR))
    wait_until(lambda: "READY" in proc.output() or not proc.alive(), 60.0,
               f"holder {variant} to install its table")
    assert proc.alive(), proc.output()
    return proc



@pytest.mark.parametrize("graceful", [False, True], ids=["reconcile", "graceful"])
def test_kill_9_and_restart_leaves_no_gap(lab, graceful):
    node, peer = lab.namespace("node"), lab.namespace("peer")
    lab.link(node, peer, v4="192.168.16.0/24")
    first = holder(lab, node, 1, graceful)
    assert "added=100000" in first.output()
    first.stop(sig=signal.SIGKILL, grace=0)
    assert len(kernel_table(node.name)) == COUNT         # routes outlive their writer

    watcher = Watcher(node.name, must_stay(COUNT))
    watcher.start()
    try:
        wait_until(lambda: watcher.dumps >= 1, 30.0, "the watcher's first count")
        second = holder(lab, node, 2, graceful)
        wait_until(lambda: watcher.dumps >= 3, 30.0, "the watcher to count after the restart")
    finally:
        watcher.close()
    assert watcher.error is None, watcher.error
    assert not watcher.overflow, "the watcher lost events: cannot tell"
    assert watcher.deleted == [], f"{len(watcher.deleted)} still-wanted routes went missing"
    assert watcher.fewest == len(watcher.wanted)
    tenth = COUNT // 10
    out = second.output()
    assert f"added={tenth} replaced={(COUNT - tenth) // 10} deleted={tenth} errors=0" in out, out

    want = {k: fwd.next_hops[0] for (_afi, k), fwd in table(2, COUNT).items()}
    assert kernel_table(node.name) == want
