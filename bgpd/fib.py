"""The daemon's kernel FIB: Loc-RIB changes in, ``kernel_sync`` out, kernel
events back into the RIB.

``Fib`` owns the ``kernel_sync.KernelSync`` of a daemon with a ``[kernel]``
table.  It is the only caller of that object (which is not thread-safe):

- the RIB's change stream (``Routing.consumers``) only *queues* each
  prefix's latest selected set as a kernel intent: a local block becomes a
  drop route of the configured type, a forwarded route ``Forward(next hops,
  LOCAL_PREF)`` (the ECMP set as one multipath route), a withdrawn or
  never-installed route (service ranges, kernel-learned routes) nothing;
- one task writes the queue: small batches inline (microseconds), large
  ones (a full table at start, a peer's million routes) in a worker thread
  so the event loop keeps serving the sessions meanwhile;
- one task waits on the netlink event socket: a route of ours deleted or
  changed by someone else is restored, an address or link change makes the
  RIB ask its next hops again (``Rib.next_hops_changed``; the kernel layer
  is the RIB's next-hop resolver, BIRD's ``gateway recursive``), and the
  routes of other protocols that ``learn_interfaces`` selects (Calico's
  borrowed /32s on ``cali*`` interfaces) enter the RIB as kernel routes,
  announced only through an export policy that asks for them.

Graceful restart, the restarting side (RFC 4724 section 4.1): with
``persist`` the routes stay in the kernel when the daemon stops; a start
that finds routes of ours keeps them as *stale*, ``recovering`` is true,
and the daemon advertises the Restart State bit and the forwarding bits.
``sweep`` (once every peer has sent End-of-RIB, or after ``gr_time``)
deletes the stale routes nobody announced again.
"""

from __future__ import annotations

import ipaddress
import time

import trio

from kernel_sync import (BlockType, Encap, Forward, KernelSync, LearnFilter, Node, Pool,
                         SyncOptions, dest, dest_text)
from kernel_sync.model import RTN_NAMES
from rib.source import Install, LocalKind
from rib.routes import install_of
from wire import make_attributes

# Routes learned from the kernel: ORIGIN INCOMPLETE, as BIRD's kernel protocol gives them.
LEARNED_ATTRIBUTES = make_attributes(origin=2, as_path=())
# More pending destinations than this are written from a worker thread.
THREAD_THRESHOLD = 2000
AFI_FAMILY = {1: (1, 1), 2: (2, 1)}
# Interfaces whose addresses are not the node's own (tunnels, pods, loopback).
NOT_NODE_INTERFACES = ("lo", "tunl0", "vxlan.calico", "vxlan-v6.calico")
NOT_NODE_PREFIXES = ("cali", "vxlan", "tunl")


def options_of(config) -> SyncOptions:
    k = config.kernel
    return SyncOptions(
        protocol=k.protocol, table=k.table, metric=k.metric,
        metric_from_local_pref=k.metric_from_local_pref,
        block_type=BlockType(k.block_type),
        never_install=tuple(config.service_ranges),
        resolve_tables=(254,) if k.table == 254 else (254, k.table),
        learn=LearnFilter(protocols=tuple(k.learn_protocols),
                          interfaces=tuple(k.learn_interfaces)),
        persist=k.persist, vxlan_vni=k.vxlan_vni, vxlan_port=k.vxlan_port,
        vxlan_mtu=k.vxlan_mtu)


def pools_of(config) -> list:
    return [Pool(p.prefix, Encap(p.encap), p.device) for p in config.pools]


def intent_of(paths):
    """The kernel intent of a prefix's selected paths (best first):
    ``BlockType`` True (the configured drop type), a ``Forward`` or None."""
    if not paths:
        return None
    best = paths[0]
    install = install_of(best)
    if install is Install.BLACKHOLE:
        return True
    if install is Install.NONE:
        return None
    hops = tuple(p.next_hop for p in paths if p.next_hop)
    if not hops:
        return None
    lp = None if best.source.local else best.attrs.local_pref
    return Forward(hops, lp)


class Fib:
    """See the module docstring."""

    def __init__(self, config, routing, log):
        self.config = config
        self.routing = routing
        self.log = log
        k = config.kernel
        node = Node(tuple(k.node_addresses)) if k.node_addresses else None
        self.sync = KernelSync(options_of(config), node, pools_of(config))
        self._node_given = node is not None
        self._learn = bool(k.learn_interfaces)
        self._pending: dict = {}        # (afi, key) -> intent (True, Forward or None)
        self._wake = trio.Event()
        # KernelSync is not thread-safe and its order matters (the sweep
        # after the last writes): every use holds this lock, also across
        # a worker thread's run.
        self._lock = trio.Lock()
        self._in_thread = False         # a worker thread is using the KernelSync
        self._provisional = False       # next hops answered while it was
        self.recovering = False         # stale routes of ours wait for the sweep
        self._learned: set = set()      # (afi, key) originated as kernel routes
        self.installed_total = 0
        self.failed_total = 0
        self.last_error = ""
        self.on_batch = None            # callable(seconds, installed, failed) for metrics

    # ------------------------------------------------------------------
    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        k = self.config.kernel
        report = await trio.to_thread.run_sync(self.sync.start, k.persist)    # nothing else yet
        if not self._node_given:
            self.sync.set_node(self._node_from_kernel())
        self.recovering = bool(self.sync.stale)
        if self.recovering:
            self.log.info("kernel: %d routes of ours found (protocol %d, table %d); kept as "
                          "stale until the peers' End-of-RIB or %ds", len(self.sync.stale),
                          k.protocol, k.table, k.gr_time)
        self._report(report)
        rib = self.routing.rib
        rib.set_resolver(self._resolve)
        if self._learn:
            self._relearn()
        self.routing.consumers.append(self.changes)
        for r in rib.routes():
            self._pending[(r.family[0], r.key)] = intent_of(r.paths)
        self.routing.flush()
        await self._write()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer)
                nursery.start_soon(self._events)
                task_status.started(self)
        finally:
            if self.changes in self.routing.consumers:
                self.routing.consumers.remove(self.changes)
            with trio.CancelScope(shield=True):
                async with self._lock:
                    self.sync.close()

    def _node_from_kernel(self) -> Node:
        """This node's addresses, when the config does not give them: the
        global addresses of every interface that is not a tunnel, a pod's
        veth or the loopback."""
        view = self.sync.view
        out = []
        for (afi, packed), (plen, index) in view.addresses.items():
            name = view.name_of(index)
            if name in NOT_NODE_INTERFACES or name.startswith(NOT_NODE_PREFIXES):
                continue
            ip = ipaddress.ip_address(packed)
            if ip.is_loopback or ip.is_link_local or ip.is_multicast:
                continue
            out.append(ipaddress.ip_interface(f"{ip}/{plen}"))
        out.sort(key=lambda i: (i.version, i.ip))
        if out:
            self.log.info("kernel: node addresses %s", ", ".join(map(str, out)))
        return Node(tuple(out))

    def _resolve(self, next_hop: bytes):
        if self._in_thread:
            # The kernel view is being changed by the worker thread: answer
            # "reachable" for now and have the RIB ask again afterwards.
            self._provisional = True
            return True, 0
        return self.sync.resolve_next_hop(next_hop)

    async def _in_worker(self, fn):
        """``fn()`` in a worker thread (the lock held by the caller)."""
        self._in_thread = True
        try:
            return await trio.to_thread.run_sync(fn)
        finally:
            self._in_thread = False
            if self._provisional:
                self._provisional = False
                self.routing.rib.next_hops_changed()
                self.routing.flush()

    # ------------------------------------------------------------------
    # Loc-RIB changes in
    def changes(self, changes) -> None:
        pending = self._pending
        for c in changes:
            pending[(c.family[0], c.key)] = intent_of(c.new)
        if pending:
            self._wake.set()

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            await self._write()

    async def _write(self) -> None:
        async with self._lock:
            await self._write_locked()

    async def _write_locked(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        routes, blocks = [], []
        for d, intent in pending.items():
            if intent is True:
                routes.append((d, None))
                blocks.append((d, True))
            else:
                blocks.append((d, None))
                routes.append((d, intent))

        def write():
            self.sync.set_blocks(blocks)
            self.sync.set_routes(routes)
            return self.sync.apply()
        started = time.perf_counter()
        if len(pending) > THREAD_THRESHOLD:
            report = await self._in_worker(write)
        else:
            report = write()
        self._report(report, time.perf_counter() - started)

    # ------------------------------------------------------------------
    # Kernel events in
    async def _events(self) -> None:
        fd = self.sync.fileno()
        while True:
            await trio.lowlevel.wait_readable(fd)
            async with self._lock:
                report = self.sync.process_events()
                self._report(report)

    def _report(self, report, seconds: float | None = None) -> None:
        written = report.added + report.replaced + report.deleted + report.restored
        self.installed_total += written
        self.failed_total += len(report.errors)
        for err in report.errors[:5]:
            self.last_error = f"{err.op} {err.message}"
            self.log.warning("kernel: %s %s failed: %s", err.op, _dest_text(err.dest),
                             err.message)
        if len(report.errors) > 5:
            self.log.warning("kernel: %d more route errors", len(report.errors) - 5)
        for d, who in list(report.conflicts.items())[:5]:
            self.log.warning("kernel: %s is held by another protocol (%s); left alone",
                             _dest_text(d), who)
        if report.restored:
            self.log.info("kernel: %d routes of ours changed by someone else restored",
                          report.restored)
        if seconds is not None and self.on_batch is not None and (written or report.errors):
            self.on_batch(seconds, written, len(report.errors))
        if report.view_changed:
            self.routing.rib.next_hops_changed()
        if report.learned_changed and self._learn:
            self._relearn(report.learned_changed)
        if report.view_changed or report.learned_changed:
            self.routing.flush()

    def _relearn(self, dests=None) -> None:
        """Routes of other protocols that the learn filter selects, as
        kernel routes in the RIB (ORIGIN INCOMPLETE, as BIRD's kernel
        protocol gives them)."""
        learned = self.sync.learned()
        rib = self.routing.rib
        for d in (set(learned) | self._learned) if dests is None else dests:
            family = AFI_FAMILY[d[0]]
            if d in learned:
                if d not in self._learned:
                    rib.originate(family, d[1], LEARNED_ATTRIBUTES, kind=LocalKind.KERNEL)
                    self._learned.add(d)
            elif d in self._learned:
                self._learned.discard(d)
                rib.withdraw_originated(family, d[1], kind=LocalKind.KERNEL)

    # ------------------------------------------------------------------
    # Graceful restart
    async def sweep(self) -> None:
        """Recovery is over: delete the stale routes nobody announced again."""
        if not self.recovering:
            return
        self.recovering = False
        async with self._lock:
            # What the end of recovery decided goes in first: a stale route
            # the RIB still wants must be wanted before the sweep looks.
            await self._write_locked()
            stale = len(self.sync.stale)
            report = await self._in_worker(self.sync.sweep)
            self.log.info("kernel: graceful restart over, %d stale routes checked, %d deleted",
                          stale, report.deleted)
            self._report(report)

    # ------------------------------------------------------------------
    def status(self) -> dict:
        s = self.sync.status()
        s.update(protocol=self.sync.options.protocol, table=self.sync.options.table,
                 routes=s.get("installed", 0), written_total=self.installed_total,
                 failed_total=self.failed_total, recovering=self.recovering,
                 pending=len(self._pending), last_error=self.last_error)
        return s

    def interfaces_of(self, prefix: str) -> list[str]:
        """The outgoing interfaces of our kernel route for ``prefix``."""
        try:
            d = dest(prefix)
        except ValueError:
            return []
        route = self.sync.installed.primary.get(d)
        if route is None:
            return []
        return [self.sync.view.name_of(h.oif) for h in route[1].nexthops if h.oif]

    def routes(self) -> list[dict]:
        """Our routes as the kernel holds them (``bgpctl show kernel``)."""
        out = []
        sync = self.sync
        view = sync.view
        for d in sorted(sync.installed.primary):
            for metric, value in sync.installed.routes_of(d):
                out.append(_kroute_row(dest_text(d), metric, value, view, sync, d))
        return out


def _dest_text(d) -> str:
    try:
        return dest_text(d)
    except Exception:
        return str(d)


def _kroute_row(prefix, metric, value, view, sync, d) -> dict:
    hops = value.nexthops
    return {
        "prefix": prefix,
        "type": RTN_NAMES.get(value.type, str(value.type)),
        "via": [ipaddress.ip_address(h.gateway).compressed for h in hops if h.gateway],
        "dev": [view.name_of(h.oif) for h in hops if h.oif],
        "metric": metric,
        "table": sync.options.table,
        "protocol": sync.options.protocol,
        "state": "stale" if d in sync.stale else ("failed" if d in sync.failed else "synced"),
    }
