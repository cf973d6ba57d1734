"""``KernelSync``: keeps the kernel's routes equal to the desired ones.

The object is driven by a caller that owns the event loop (``bgpd``): every
method runs to completion on the calling thread, the only blocking being
netlink round trips to the kernel (microseconds each, seconds for a
million routes: call those from a worker thread if the loop must not
stall).  The caller waits for ``fileno()`` to become readable and then
calls ``process_events()``.

State
    ``_routes``/``_blocks``  the caller's intents per destination;
    ``desired``              their kernel routes (``desired.Outcome``),
                             computed by a ``FibComputer`` over the current
                             ``KernelView``;
    ``installed``            our routes as the kernel holds them
                             (``plan.Installed``), learned from a dump at
                             start and kept current by our own writes and by
                             route events;
    ``foreign``              other protocols' routes in our table, by key;
    ``view``                 interfaces, addresses and other protocols'
                             routes: next-hop resolution and learning.

Every change marks destinations *dirty*; ``apply()`` (and
``process_events()``, which reads events first) plans the dirty ones
(``plan.plan``) and sends the operations in large netlink batches
(``netlink.Channel.transact``), adds and replaces before deletes.  Nothing
is ever replayed: after a restart the dump tells what is there and only the
difference is written.

Events
    A route of ours deleted or changed by anyone else comes back on the
    next apply; a foreign route that takes one of our keys is left alone
    and reported as a conflict (and our route is written once it leaves);
    an interface or address change rebuilds the view, re-resolves next
    hops and rewrites the routes whose resolution changed (and, when an
    interface our routes use went down or away, re-reads our routes: the
    kernel removes IPv4 routes of a downed link without telling anyone).
    An event queue overflow (``ENOBUFS``) re-reads everything.  While a
    bulk apply runs (``options.bulk_threshold``), the echoes of our own
    writes are dropped by a socket filter, and a count of our routes
    afterwards (a re-read when it differs) covers that moment.

Graceful restart
    ``start(graceful=True)`` marks every route of ours found in the kernel
    *stale*: stale routes stay untouched until their destination is desired
    again (then they are refreshed in place, or left as they are when
    already right) or until ``sweep()`` (the caller calls it after the
    peers' End-of-RIB or a timer) deletes those still stale.  A route that
    is still wanted is therefore never missing.  ``close(persist=True)``
    leaves our routes in the kernel for the next start (BIRD's ``persist``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

from . import rtnl
from .desired import SKIP, FibComputer, Outcome
from .model import BlockType, Interface, KernelEntry, KernelView, Node, addr_text, dest, dest_text
from .netlink import Channel, Overflow
from .options import SyncOptions
from .plan import ADD, DELETE, REPLACE, Installed, plan
from .vtep import is_vtep_mac, mac_text, vtep_address, vtep_mac

_ERRNO_EEXIST = 17
_ERRNO_ESRCH = 3
_ERRNO_ENOENT = 2


class RouteError(NamedTuple):
    """An operation the kernel refused: a route (``dest``, ``metric``), or
    a neighbour/FDB entry (``dest`` None, the entry named in ``op``)."""

    dest: tuple | None
    metric: int
    op: str
    errno: int
    message: str

    def __str__(self) -> str:
        why = self.message or os.strerror(self.errno)
        if self.dest is None:
            return f"{self.op}: {why}"
        return f"{self.op} {dest_text(self.dest)} metric {self.metric}: {why}"


@dataclass
class ApplyReport:
    """What one ``apply``/``process_events``/``resync``/``sweep`` did.

    added, replaced, deleted  route operations that succeeded
    restored                  of those, routes put back after someone else
                              deleted or changed them
    errors                    ``RouteError`` per refused operation
    conflicts                 dest -> (metric, protocol) of foreign routes in
                              the way (protocol None: not known yet)
    neighbours, fdb           neighbour / FDB entries written or removed
    resynced                  the kernel's tables were re-read
    view_changed              interfaces, addresses or other protocols' routes
                              changed (the RIB should ask its next hops again)
    learned_changed           destinations whose learned routes changed
    """

    added: int = 0
    replaced: int = 0
    deleted: int = 0
    restored: int = 0
    errors: list = field(default_factory=list)
    conflicts: dict = field(default_factory=dict)
    neighbours: int = 0
    fdb: int = 0
    resynced: bool = False
    view_changed: bool = False
    learned_changed: set = field(default_factory=set)

    @property
    def changes(self) -> int:
        return self.added + self.replaced + self.deleted


class KernelSync:
    """See the module docstring.  ``node`` and ``pools`` as in ``desired``."""

    def __init__(self, options: SyncOptions | None = None, node: Node | None = None,
                 pools=()):
        self.options = options or SyncOptions()
        self.node = node or Node()
        self.pools = tuple(pools)
        self.view = KernelView()
        self._routes: dict = {}
        self._blocks: dict = {}
        self.desired: dict = {}
        self.unresolved: dict = {}
        self.installed = Installed()
        self.foreign: dict = {}
        self.conflicts: dict = {}
        self.failed: dict = {}
        self.stale: set = set()
        self.graceful = False
        self._dirty: set = set()
        self._restore: set = set()
        self._tunnel_refs: dict = {}
        self._tunnels_dirty = False
        self.neighbours: dict = {}          # installed: (ifindex, afi, vtep) -> mac
        self.fdb: dict = {}                 # installed: (ifindex, mac) -> underlay
        self._stale_tunnels = False
        self._encoder = rtnl.RouteEncoder(self.options.protocol, self.options.table)
        self._values: dict = {}             # interned route values (see RouteReader)
        self._reader = rtnl.RouteReader(self._values)
        self._comp = FibComputer(self.options, self.node, self.pools, self.view, self._values)
        self._req: Channel | None = None
        self._events: Channel | None = None
        self._need_resync = False
        self._view_dirty = False
        self._learned_changed: set = set()
        self._view_tables = (set(self.options.resolve_tables) | set(self.options.learn.tables)
                             | {self.options.table})

    # -- life cycle ---------------------------------------------------------------
    def start(self, graceful: bool = False) -> ApplyReport:
        """Open the netlink sockets and read the kernel: interfaces,
        addresses, every route (ours become ``installed``), our VXLAN
        neighbour and FDB entries.  Creates missing VXLAN devices the pools
        need.  Writes no route: the first ``apply`` does."""
        o = self.options
        # Subscribe before dumping, so that nothing changes unseen between
        # the dump and the first event.
        self._events = Channel(o.netns, groups=rtnl.ROUTE_GROUPS + rtnl.OTHER_GROUPS,
                               buffer=o.socket_buffer)
        self._req = Channel(o.netns, buffer=o.socket_buffer)
        report = ApplyReport()
        self._read_links()
        self._ensure_devices()
        # Events so far are echoes of the above or older than the dumps
        # below, which supersede them.
        self._drain(report)
        self._read_links()
        self._read_routes(report)
        self._read_tunnels()
        self._need_resync = self._pending_devices = False
        self.graceful = graceful
        if graceful:
            self.stale = set(self.installed.dests()) - set(self._routes) - set(self._blocks)
            self._stale_tunnels = True
        self._recompute(force=True)
        report.resynced = True
        return report

    def close(self, persist: bool | None = None) -> ApplyReport:
        """Close the sockets; unless ``persist`` (default: the option),
        delete every route, neighbour and FDB entry of ours first."""
        persist = self.options.persist if persist is None else persist
        report = ApplyReport()
        if self._req is not None and not persist:
            self._routes.clear()
            self._blocks.clear()
            self.graceful = False
            self.stale.clear()
            self._stale_tunnels = False
            for d in list(self.desired):
                self._set_outcome(d, self.desired.get(d), SKIP)
            self._dirty.update(self.installed.dests())
            self._flush(report)
        for ch in (self._events, self._req):
            if ch is not None:
                ch.close()
        self._events = self._req = None
        return report

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self) -> int:
        """The event socket: readable when ``process_events`` has work."""
        return self._events.fileno()

    # -- the desired state -------------------------------------------------------------
    def set_routes(self, items) -> None:
        """``items``: (dest, ``Forward`` or None) pairs; None withdraws.
        A dest is (afi, wire key) or anything ``model.dest`` takes."""
        routes = self._routes
        refresh = self._refresh
        for d, intent in items:
            if d.__class__ is not tuple:
                d = dest(d)
            if intent is None:
                routes.pop(d, None)
            else:
                routes[d] = intent
            refresh(d)

    def set_blocks(self, items) -> None:
        """``items``: (dest, ``BlockType``, True for the default type, or
        None to remove) pairs."""
        for d, kind in items:
            if d.__class__ is not tuple:
                d = dest(d)
            if kind is None or kind is False:
                self._blocks.pop(d, None)
            else:
                self._blocks[d] = self.options.block_type if kind is True else BlockType(kind)
            self._refresh(d)

    def replace_all(self, routes, blocks=()) -> None:
        """Make ``routes`` (mapping dest -> Forward) and ``blocks`` (mapping
        dest -> BlockType, or iterable of dests) the whole desired state."""
        if not hasattr(blocks, "items"):
            blocks = {d: self.options.block_type for d in blocks}
        new_routes = {(d if d.__class__ is tuple else dest(d)): v for d, v in routes.items()}
        new_blocks = {(d if d.__class__ is tuple else dest(d)): BlockType(v)
                      for d, v in blocks.items()}
        gone = [d for d in self._routes if d not in new_routes and d not in new_blocks]
        gone += [d for d in self._blocks if d not in new_routes and d not in new_blocks]
        self._routes, self._blocks = new_routes, new_blocks
        refresh = self._refresh
        for d in gone:
            refresh(d)
        for d in new_blocks:
            refresh(d)
        # _refresh, unrolled for the full table at start-up.
        compute = self._comp.compute
        desired, unresolved, stale = self.desired, self.unresolved, self.stale
        set_outcome = self._set_outcome
        for d, intent in new_routes.items():
            if d in new_blocks:
                continue
            new = compute(d[0], d[1], intent)
            old = desired.get(d)
            if stale:
                stale.discard(d)
            if old is new:
                continue
            if old is None:
                old = unresolved.get(d)
                if old is new:
                    continue
            set_outcome(d, old, new)

    def set_pools(self, pools) -> None:
        self.pools = tuple(pools)
        if self._req is not None:
            self._ensure_devices()
        self._recompute(force=True)

    def set_node(self, node: Node) -> None:
        self.node = node
        if self._req is not None:
            self._ensure_devices()
        self._recompute(force=True)

    def _refresh(self, d) -> None:
        intent = self._blocks.get(d) or self._routes.get(d)
        new = SKIP if intent is None else self._comp.compute(d[0], d[1], intent)
        old = self.desired.get(d)
        if old is None:
            old = self.unresolved.get(d)
        if intent is not None and self.stale:
            self.stale.discard(d)
        if new is old:
            return
        self._set_outcome(d, old, new)

    def _set_outcome(self, d, old, new) -> None:
        if old.__class__ is Outcome and old.tunnels:
            self._unref_tunnels(old.tunnels)
        if new.__class__ is Outcome:
            self.desired[d] = new
            self.unresolved.pop(d, None)
            if new.tunnels:
                self._ref_tunnels(new.tunnels)
        else:
            self.desired.pop(d, None)
            if new is SKIP:
                self.unresolved.pop(d, None)
            else:
                self.unresolved[d] = new
        self.failed.pop(d, None)
        self._dirty.add(d)

    def _ref_tunnels(self, tunnels) -> None:
        refs = self._tunnel_refs
        for t in tunnels:
            n = refs.get(t, 0)
            refs[t] = n + 1
            if not n:
                self._tunnels_dirty = True

    def _unref_tunnels(self, tunnels) -> None:
        refs = self._tunnel_refs
        for t in tunnels:
            n = refs[t] - 1
            if n:
                refs[t] = n
            else:
                del refs[t]
                self._tunnels_dirty = True

    # -- applying ----------------------------------------------------------------------
    def apply(self) -> ApplyReport:
        """Read pending events, then write every pending change."""
        report = ApplyReport()
        self._drain(report)
        self._flush(report)
        return report

    process_events = apply

    def resync(self) -> ApplyReport:
        """Re-read all the kernel's routes and correct every difference
        (BIRD's periodic kernel scan, on demand)."""
        self._need_resync = True
        return self.apply()

    def sweep(self) -> ApplyReport:
        """End graceful restart: delete our routes (and neighbour/FDB
        entries) that are still stale."""
        self.graceful = False
        self._dirty.update(self.stale)
        self.stale.clear()
        if self._stale_tunnels:
            self._stale_tunnels = False
            self._tunnels_dirty = True
        return self.apply()

    def _flush(self, report: ApplyReport) -> None:
        for _round in range(3):
            if self._need_resync:
                self._need_resync = False
                self._read_links()
                self._read_routes(report)
                self._read_tunnels()
                report.resynced = True
            if self._view_dirty:
                self._recompute()
                report.view_changed = True
            report.learned_changed |= self._learned_changed
            self._learned_changed = set()
            if self._tunnels_dirty:
                self._write_tunnels(report, removals=False)
            dests, self._dirty = self._dirty, set()
            p = plan(dests, self.desired, self.installed, self.foreign,
                     self.stale if self.graceful else ())
            for d in dests:
                if d in p.conflicts:
                    self.conflicts[d] = p.conflicts[d]
                else:
                    self.conflicts.pop(d, None)
            report.conflicts.update(p.conflicts)
            bulk = len(p) > self.options.bulk_threshold and self._events is not None
            if bulk:
                # Reading a million echoes of our own writes would cost more
                # than writing them: the kernel drops our protocol's route
                # events meanwhile (other protocols' still come), and a count
                # of our routes afterwards tells whether anyone else touched
                # them in between.
                self._events.filter_out_protocol(self.options.protocol)
            try:
                self._send(p.first + p.last, report)
            finally:
                if bulk:
                    self._events.filter_out_protocol(None)
                    self._verify_count()
            if self._tunnels_dirty:
                self._write_tunnels(report, removals=True)
            self._restore.clear()
            if not (self._need_resync or self._view_dirty or self._dirty):
                return

    def _send(self, ops: list, report: ApplyReport) -> None:
        if not ops:
            return
        ch = self._req
        enc = self._encoder
        limit = ch.max_batch(self.options.batch_bytes)
        base = ch.seqs(len(ops))
        parts, size, start = [], 0, 0
        new, delete = enc.new, enc.delete
        for j, op in enumerate(ops):
            kind, d, metric, value, _route = op
            if kind is DELETE:
                m = delete(d[0], d[1], metric, base + j)
            else:
                m = new(d[0], d[1], metric, value, base + j, kind is REPLACE)
            parts.append(m)
            size += len(m)
            if size >= limit:
                self._transact(parts, ops, start, j + 1, base, report)
                parts, size, start = [], 0, j + 1
        if parts:
            self._transact(parts, ops, start, len(ops), base, report)

    def _verify_count(self) -> None:
        """Our routes in the kernel are as many as we think (else re-read)."""
        o = self.options
        try:
            n = self._req.count(rtnl.route_dump_request(0, None, o.protocol, o.table),
                                rtnl.RTM_NEWROUTE)
        except Exception:
            n = -1
        if n != len(self.installed):
            self._need_resync = True

    def _transact(self, parts, ops, start, end, base, report) -> None:
        errors, lost = self._req.transact(b"".join(parts))
        if lost:
            self._need_resync = True
        installed = self.installed
        primary = installed.primary
        restore = self._restore
        added = replaced = deleted = 0
        for j in range(start, end):
            kind, d, metric, value, route = ops[j]
            err = errors.get(base + j) if errors else None
            if err is None or (kind is DELETE and err[0] in (_ERRNO_ESRCH, _ERRNO_ENOENT)):
                if kind is DELETE:
                    p = primary.get(d)
                    if p is not None and p[0] == metric and d not in installed.more:
                        del primary[d]
                    else:
                        installed.drop(d, metric)
                    deleted += 1
                    continue
                p = primary.get(d)
                if p is None or p[0] == metric:
                    primary[d] = route
                else:
                    installed.put(d, route)
                if kind is ADD:
                    added += 1
                else:
                    replaced += 1
                if restore and d in restore:
                    report.restored += 1
                continue
            code, text = err
            if kind is ADD and code == _ERRNO_EEXIST:
                # Something we did not know about holds the key; the event
                # (or a re-read) will say who.
                self.conflicts[d] = report.conflicts[d] = (metric, None)
                self._need_resync = True
                continue
            e = RouteError(d, metric, kind, code, text)
            self.failed[d] = e
            report.errors.append(e)
        report.added += added
        report.replaced += replaced
        report.deleted += deleted

    # -- neighbours and FDB of VXLAN devices ---------------------------------------------
    def _desired_tunnels(self) -> tuple[dict, dict]:
        neigh, fdb = {}, {}
        for t in self._tunnel_refs:
            neigh[(t.ifindex, t.afi, t.vtep)] = t.mac
            fdb[(t.ifindex, t.mac)] = t.underlay
        return neigh, fdb

    def _write_tunnels(self, report: ApplyReport, removals: bool) -> None:
        """Adds and changes first (``removals`` False, before routes that
        need them), removals after the routes that used them are gone."""
        neigh, fdb = self._desired_tunnels()
        msgs, undo = [], []
        keep = self.graceful and self._stale_tunnels
        seq = self._req.seqs(2 * (len(neigh) + len(fdb) + len(self.neighbours) + len(self.fdb)) + 2)
        if not removals:
            for (ifindex, afi, vtep), mac in neigh.items():
                if self.neighbours.get((ifindex, afi, vtep)) != mac:
                    msgs.append(rtnl.neigh_request(rtnl.RTM_NEWNEIGH, seq, afi, ifindex, vtep, mac,
                                                   self.options.protocol))
                    undo.append(("neigh", (ifindex, afi, vtep), mac))
                    seq += 1
            for (ifindex, mac), under in fdb.items():
                if self.fdb.get((ifindex, mac)) != under:
                    msgs.append(rtnl.fdb_request(rtnl.RTM_NEWNEIGH, seq, ifindex, mac, under))
                    undo.append(("fdb", (ifindex, mac), under))
                    seq += 1
        elif not keep:
            for (ifindex, afi, vtep), mac in self.neighbours.items():
                if (ifindex, afi, vtep) not in neigh:
                    msgs.append(rtnl.neigh_request(rtnl.RTM_DELNEIGH, seq, afi, ifindex, vtep, mac,
                                                   self.options.protocol))
                    undo.append(("neigh", (ifindex, afi, vtep), None))
                    seq += 1
            for (ifindex, mac), under in self.fdb.items():
                if (ifindex, mac) not in fdb:
                    msgs.append(rtnl.fdb_request(rtnl.RTM_DELNEIGH, seq, ifindex, mac, under))
                    undo.append(("fdb", (ifindex, mac), None))
                    seq += 1
            self._tunnels_dirty = False
        if not msgs:
            return
        first = seq - len(msgs)
        errors, lost = self._req.transact(b"".join(msgs))
        if lost:
            self._need_resync = True
        for i, (table, k, v) in enumerate(undo):
            err = errors.get(first + i)
            target = self.neighbours if table == "neigh" else self.fdb
            if err is not None and not (v is None and err[0] in (_ERRNO_ENOENT, _ERRNO_ESRCH)):
                op = f"{'add' if v else 'delete'} {self._tunnel_text(table, k)}"
                report.errors.append(RouteError(None, 0, op, err[0], err[1]))
                continue
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v
            if table == "neigh":
                report.neighbours += 1
            else:
                report.fdb += 1

    def _tunnel_text(self, table, k) -> str:
        if table == "neigh":
            return f"neighbour {addr_text(k[2])} dev {self.view.name_of(k[0])}"
        return f"fdb {mac_text(k[1])} dev {self.view.name_of(k[0])}"

    def _read_tunnels(self) -> None:
        """Our permanent neighbour and FDB entries on our VXLAN devices."""
        devices = set(self._vxlan_indexes())
        neigh, fdb = {}, {}

        def handle(buf, mtype, flags, start, end):
            if buf is None:
                neigh.clear()
                fdb.clear()
                return
            family, ifindex, state, dst, lladdr, nflags = rtnl.parse_neigh(buf, start, end)
            if ifindex not in devices or not state & rtnl.NUD_PERMANENT:
                return
            if lladdr is None or not is_vtep_mac(lladdr) or dst is None:
                return
            if family == rtnl.AF_BRIDGE:
                fdb[(ifindex, lladdr)] = dst
            elif family in rtnl.AFI_OF_AF:
                neigh[(ifindex, rtnl.AFI_OF_AF[family], dst)] = lladdr

        if devices:
            for family in (rtnl.AF_INET, rtnl.AF_INET6, rtnl.AF_BRIDGE):
                self._req.dump_all(rtnl.dump_request(rtnl.RTM_GETNEIGH, 0, family), handle)
        if neigh != self.neighbours or fdb != self.fdb:
            self._tunnels_dirty = True
        self.neighbours, self.fdb = neigh, fdb

    def _vxlan_indexes(self):
        for p in self.pools:
            if p.encap.tunnel == "vxlan":
                i = self.view.index_of(p.device)
                if i is not None:
                    yield i

    # -- devices ---------------------------------------------------------------------------
    def _ensure_devices(self) -> None:
        """Each VXLAN device a pool uses exists (when ``create_vxlan``), is
        up, has the MAC of our VTEP address and holds our VTEP address when
        that is not the node address."""
        o = self.options
        done = set()
        changed = False
        for p in self.pools:
            if p.encap.tunnel != "vxlan" or p.device in done:
                continue
            done.add(p.device)
            local = self.node.address(p.afi)
            if local is None:
                continue
            vtep = vtep_address(local, self.node.vteps)
            mac = vtep_mac(vtep)
            index = self.view.index_of(p.device)
            if index is None:
                if not o.create_vxlan:
                    continue
                self._req.request(rtnl.vxlan_link_request(0, p.device, o.vxlan_vni, o.vxlan_port,
                                                          local, mac, o.vxlan_mtu))
                self._read_links()
                index = self.view.index_of(p.device)
                changed = True
            iface = self.view.interfaces[index]
            if iface.mac != mac:
                self._req.request(rtnl.link_set_request(0, index, mac=mac))
                changed = True
            if not iface.up:
                self._req.request(rtnl.link_set_request(0, index, up=True))
                changed = True
            if vtep != local and (p.afi, vtep) not in self.view.addresses:
                self._req.request(rtnl.addr_request(rtnl.RTM_NEWADDR, 0, p.afi, index, vtep,
                                                    32 if p.afi == 1 else 128))
                changed = True
        if changed:
            self._read_links()

    # -- reading the kernel ---------------------------------------------------------------------
    def _read_links(self) -> None:
        interfaces, addresses = {}, {}

        def on_link(buf, mtype, flags, start, end):
            if buf is None:
                interfaces.clear()
                return
            index, name, lflags, mac, kind = rtnl.parse_link(buf, start, end)
            interfaces[index] = Interface(index, name, _link_up(lflags), mac, kind)

        def on_addr(buf, mtype, flags, start, end):
            if buf is None:
                addresses.clear()
                return
            a = rtnl.parse_addr(buf, start, end)
            if a is not None:
                addresses[(a[0], a[1])] = (a[2], a[3])

        self._req.dump_all(rtnl.dump_request(rtnl.RTM_GETLINK, 0), on_link)
        self._req.dump_all(rtnl.dump_request(rtnl.RTM_GETADDR, 0), on_addr)
        if interfaces != self.view.interfaces or addresses != self.view.addresses:
            self._view_dirty = True
        self.view.interfaces = interfaces
        self.view.addresses = addresses

    def _read_routes(self, report: ApplyReport) -> None:
        """Dump every route; compare ours with ``installed`` in place (a
        difference makes its destination dirty), rebuild the foreign ones."""
        o = self.options
        proto, table = o.protocol, o.table
        view_tables = self._view_tables
        installed = self.installed
        state = {"seen": set(), "foreign": {}, "others": {}}
        parse = self._reader.parse
        dirty = self._dirty

        primary = installed.primary
        seen_add = state["seen"].add
        seen_more = set()

        def handle(buf, mtype, flags, start, end):
            nonlocal seen_add
            if buf is None:
                state["seen"] = set()
                seen_add = state["seen"].add
                seen_more.clear()
                state["foreign"] = {}
                state["others"] = {}
                return
            p = parse(buf, start, end)
            if p is None:
                return
            afi, key, rtable, metric, rproto, value, tos, _f = p
            if rproto == proto and rtable == table:
                if tos:
                    return
                d = (afi, key)
                have = primary.get(d)
                if have is not None and have[0] == metric:
                    seen_add(d)
                    if have[1] is value or have[1] == value:
                        return
                else:
                    seen_more.add((d, metric))
                if installed.get(d, metric) != value:
                    installed.put(d, (metric, value))
                    dirty.add(d)
                return
            if rtable == table and not tos:
                state["foreign"].setdefault((afi, key), {})[metric] = rproto
            if rtable in view_tables:
                state["others"][(afi, key, rtable, tos, metric)] = KernelEntry(
                    afi, key, rtable, metric, rproto, value, tos)

        self._req.dump_all(rtnl.route_dump_request(0), handle)
        seen = state["seen"]
        if len(seen) + len(seen_more) != len(installed):
            for d, m, _v in list(installed.items()):
                p = primary.get(d)
                if not ((d in seen and p is not None and p[0] == m) or (d, m) in seen_more):
                    installed.drop(d, m)
                    dirty.add(d)
        foreign = state["foreign"]
        if foreign != self.foreign:
            for d in set(foreign) | set(self.foreign):
                if foreign.get(d) != self.foreign.get(d):
                    dirty.add(d)
            self.foreign = foreign
        others = state["others"]
        if others != self.view.routes:
            self._learned_changed |= _learned_diff(self.view.routes, others, self.options.learn,
                                                   self.view)
            self.view.routes = others
            self._view_dirty = True

    # -- events ---------------------------------------------------------------------------------
    def _drain(self, report: ApplyReport) -> None:
        if self._events is None:
            return
        handlers = _EVENT_HANDLERS
        try:
            for buf, mtype, flags, start, end in self._events.drain():
                h = handlers.get(mtype)
                if h is not None:
                    h(self, buf, mtype, flags, start, end)
        except Overflow:
            self._need_resync = True

    def _on_route(self, buf, mtype, flags, start, end) -> None:
        p = self._reader.parse(buf, start, end)
        if p is None:
            return
        afi, key, table, metric, proto, value, tos, _f = p
        o = self.options
        d = (afi, key)
        if proto == o.protocol and table == o.table:
            if tos:
                return
            cur = self.installed.get(d, metric)
            if mtype == rtnl.RTM_NEWROUTE:
                if cur == value:
                    return                      # the echo of our own write
                self.installed.put(d, (metric, value))
            else:
                if cur is None:
                    return                      # the echo of our own delete
                self.installed.drop(d, metric)
            # Someone else wrote or removed a route of our protocol.
            self._dirty.add(d)
            self._restore.add(d)
            return
        if table == o.table and not tos:
            if mtype == rtnl.RTM_NEWROUTE:
                self.foreign.setdefault(d, {})[metric] = proto
                if flags & rtnl.NLM_F_REPLACE and self.installed.get(d, metric) is not None:
                    self.installed.drop(d, metric)      # it took our route's place
                self._dirty.add(d)
            else:
                fd = self.foreign.get(d)
                if fd and fd.pop(metric, None) is not None:
                    if not fd:
                        del self.foreign[d]
                    self._dirty.add(d)
        if table in self._view_tables:
            rk = (afi, key, table, tos, metric)
            routes = self.view.routes
            if mtype == rtnl.RTM_NEWROUTE:
                entry = routes[rk] = KernelEntry(afi, key, table, metric, proto, value, tos)
            else:
                entry = routes.pop(rk, None)
                if entry is None:
                    return
            if self.options.learn.accepts(entry, self.view):
                self._learned_changed.add(d)
            self._view_dirty = True

    def _on_link(self, buf, mtype, flags, start, end) -> None:
        index, name, lflags, mac, kind = rtnl.parse_link(buf, start, end)
        old = self.view.interfaces.get(index)
        if mtype == rtnl.RTM_DELLINK:
            self.view.interfaces.pop(index, None)
            new = None
        else:
            new = Interface(index, name or (old.name if old else ""), _link_up(lflags), mac, kind)
            self.view.interfaces[index] = new
        if new == old:
            return
        self._view_dirty = True
        if old is not None and (new is None or (old.up and not new.up)):
            # The kernel drops IPv4 routes through a downed link silently.
            if index in self._oifs_in_use():
                self._need_resync = True
        vx = {p.device for p in self.pools if p.encap.tunnel == "vxlan"}
        if (old and old.name in vx) or (new and new.name in vx):
            self._pending_devices = True        # checked (and fixed) by _recompute

    def _on_addr(self, buf, mtype, flags, start, end) -> None:
        a = rtnl.parse_addr(buf, start, end)
        if a is None:
            return
        k = (a[0], a[1])
        if mtype == rtnl.RTM_NEWADDR:
            self.view.addresses[k] = (a[2], a[3])
        else:
            self.view.addresses.pop(k, None)
        self._view_dirty = True

    def _on_neigh(self, buf, mtype, flags, start, end) -> None:
        family, ifindex, state, dst, lladdr, nflags = rtnl.parse_neigh(buf, start, end)
        if dst is None:
            return
        if family == rtnl.AF_BRIDGE:
            k = (ifindex, lladdr)
            if k not in self.fdb and (lladdr is None or not is_vtep_mac(lladdr)):
                return
            if mtype == rtnl.RTM_NEWNEIGH and state & rtnl.NUD_PERMANENT:
                if self.fdb.get(k) == dst:
                    return
                self.fdb[k] = dst
            elif self.fdb.pop(k, None) is None:
                return
        elif family in rtnl.AFI_OF_AF:
            k = (ifindex, rtnl.AFI_OF_AF[family], dst)
            if k not in self.neighbours and (lladdr is None or not is_vtep_mac(lladdr)):
                return
            if mtype == rtnl.RTM_NEWNEIGH and state & rtnl.NUD_PERMANENT:
                if self.neighbours.get(k) == lladdr:
                    return
                self.neighbours[k] = lladdr
            elif self.neighbours.pop(k, None) is None:
                return
        else:
            return
        self._tunnels_dirty = True

    def _oifs_in_use(self) -> set:
        out = set()
        for o in self._comp._cache.values():
            if o.__class__ is Outcome:
                out.update(h.oif for h in o.route[1].nexthops)
        return out

    # -- recomputing after a change of view, node or pools ---------------------------------------
    _pending_devices = False

    def _recompute(self, force: bool = False) -> None:
        """A new ``FibComputer`` over the current view.  When no derived
        route changes (the common case: an unrelated interface came or
        went), destinations keep their outcomes; otherwise all are
        recomputed and the changed ones become dirty."""
        self._view_dirty = False
        if self._pending_devices and self._req is not None:
            self._pending_devices = False
            self._ensure_devices()
        old = self._comp
        if len(self._values) > 65536:
            self._values.clear()
        new = FibComputer(self.options, self.node, self.pools, self.view, self._values)
        changed = force
        if not force:
            for (afi, intent, pool), out in old._cache.items():
                again = new._derive(afi, intent, new.pools[pool] if pool >= 0 else None)
                new._cache[(afi, intent, pool)] = again
                if again != out:
                    changed = True
        self._comp = new
        if not changed:
            # Keep the old outcome objects so that identity checks still hold.
            new._cache = old._cache
            return
        for d in set(self._routes) | set(self._blocks) | set(self.desired) | set(self.unresolved):
            intent = self._blocks.get(d) or self._routes.get(d)
            out = SKIP if intent is None else new.compute(d[0], d[1], intent)
            prev = self.desired.get(d)
            if prev is None:
                prev = self.unresolved.get(d)
            if out != prev or (out is not None and prev is None):
                self._set_outcome(d, prev, out)
            elif out.__class__ is Outcome:
                self.desired[d] = out           # share the new object
        self._dirty.update(self.failed)
        self.failed.clear()

    # -- queries ---------------------------------------------------------------------------------
    def resolve_next_hop(self, next_hop: bytes) -> tuple[bool, int]:
        """``(reachable, igp_cost)`` of a BGP next hop in wire form: the
        resolver ``rib.NextHops`` takes."""
        return self._comp.resolver(next_hop)

    def learned(self) -> dict:
        """Routes of other protocols that pass ``options.learn``:
        dest -> [KernelEntry] (several when at several metrics)."""
        out: dict = {}
        f = self.options.learn
        for e in self.view.routes.values():
            if f.accepts(e, self.view):
                out.setdefault(e.dest, []).append(e)
        return out

    def status(self) -> dict:
        return {
            "desired": len(self.desired),
            "installed": len(self.installed),
            "unresolved": len(self.unresolved),
            "conflicts": len(self.conflicts),
            "failed": len(self.failed),
            "stale": len(self.stale),
            "graceful": self.graceful,
            "neighbours": len(self.neighbours),
            "fdb": len(self.fdb),
            "interfaces": len(self.view.interfaces),
            "other_routes": len(self.view.routes),
        }


def _link_up(flags: int) -> bool:
    return bool(flags & rtnl.IFF_UP) and bool(flags & rtnl.IFF_LOWER_UP)


def _learned_diff(old: dict, new: dict, learn, view) -> set:
    """Destinations whose learned routes differ between two route maps."""
    out = set()
    for k in set(old) | set(new):
        a, b = old.get(k), new.get(k)
        if a != b and any(e is not None and learn.accepts(e, view) for e in (a, b)):
            out.add((k[0], k[1]))
    return out


_EVENT_HANDLERS = {
    rtnl.RTM_NEWROUTE: KernelSync._on_route,
    rtnl.RTM_DELROUTE: KernelSync._on_route,
    rtnl.RTM_NEWLINK: KernelSync._on_link,
    rtnl.RTM_DELLINK: KernelSync._on_link,
    rtnl.RTM_NEWADDR: KernelSync._on_addr,
    rtnl.RTM_DELADDR: KernelSync._on_addr,
    rtnl.RTM_NEWNEIGH: KernelSync._on_neigh,
    rtnl.RTM_DELNEIGH: KernelSync._on_neigh,
}

__all__ = ["ApplyReport", "KernelSync", "RouteError"]
