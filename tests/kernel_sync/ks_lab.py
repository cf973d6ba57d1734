"""Helpers of the kernel layer's namespace tests: reading the kernel the way
an operator does (``ip -json``, ``bridge -json``), waiting for events with a
deadline, and building node namespaces, stand-in devices and pods."""

from __future__ import annotations

import json
import select
import time

from kernel_sync import ApplyReport, KernelSync, SyncOptions
from tests.interop.lab import LabTimeout, Namespace, run

PROTO = "179"


def ip_json(ns: Namespace, *args: str):
    out = ns.ip("-json", *args).stdout.strip()
    return json.loads(out) if out else []


def routes(ns: Namespace, *, family: str = "-4", proto: str = PROTO) -> dict:
    """Our routes as ``dst -> normalised route`` (what ``ip route`` prints)."""
    out = {}
    for r in ip_json(ns, family, "route", "show", "proto", proto):
        out[r["dst"]] = norm(r)
    return out


def norm(r: dict) -> tuple:
    """(type, gateway, dev, onlink, metric) or (type, ((gateway, dev, onlink), ...), metric)."""
    kind = r.get("type", "unicast")
    metric = r.get("metric", 0)
    if "nexthops" in r:
        hops = tuple(sorted((h.get("gateway"), h.get("dev"), "onlink" in h.get("flags", []))
                            for h in r["nexthops"]))
        return kind, hops, metric
    if kind != "unicast":
        return kind, metric
    return kind, r.get("gateway"), r.get("dev"), "onlink" in r.get("flags", []), metric


def neighbours(ns: Namespace, dev: str) -> dict:
    return {n["dst"]: n["lladdr"] for n in ip_json(ns, "neigh", "show", "dev", dev,
                                                   "nud", "permanent")}


def fdb(ns: Namespace, dev: str) -> dict:
    out = run(["bridge", "-n", ns.name, "-json", "fdb", "show", "dev", dev]).stdout.strip()
    return {e["mac"]: e.get("dst") for e in (json.loads(out) if out else [])
            if "permanent" in str(e.get("state", ""))}


def sync_in(ns: Namespace, **options) -> KernelSync:
    """A ``KernelSync`` working inside ``ns``."""
    node = options.pop("node", None)
    pools = options.pop("pools", ())
    return KernelSync(SyncOptions(netns=ns.name, **options), node=node, pools=pools)


def wait_events(ks: KernelSync, until, timeout: float = 5.0, what: str = "events") -> ApplyReport:
    """Process events as they come until ``until(total_report)`` holds;
    return the merged report.  Raises LabTimeout."""
    total = ApplyReport()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LabTimeout(f"timed out after {timeout}s waiting for {what}: {total}")
        readable, _, _ = select.select([ks.fileno()], [], [], min(left, 0.2))
        r = ks.process_events()
        merge(total, r)
        if until(total):
            return total


def merge(total: ApplyReport, r: ApplyReport) -> None:
    for f in ("added", "replaced", "deleted", "restored", "neighbours", "fdb"):
        setattr(total, f, getattr(total, f) + getattr(r, f))
    total.errors += r.errors
    total.conflicts.update(r.conflicts)
    total.resynced |= r.resynced
    total.view_changed |= r.view_changed
    total.learned_changed |= r.learned_changed


def standin_tunl0(ns: Namespace, name: str = "tunl0") -> None:
    """This kernel has no IPIP module, so ``tunl0`` cannot exist here: a
    veth pair whose first end is named ``tunl0`` stands in for it (up, with
    carrier), which is all the routes need to be programmed."""
    ns.ip("link", "add", name, "type", "veth", "peer", "name", f"{name}-peer")
    ns.ip("link", "set", f"{name}-peer", "up")
    ns.ip("link", "set", name, "up")


def pod(ns: Namespace, pod_ns: Namespace, host_if: str, address: str) -> None:
    """A Calico-style pod: a veth pair, the pod end ``eth0`` with a /32 and a
    default route via 169.254.1.1 (answered by proxy ARP on the host end),
    and the host's ``<address> dev <host_if> scope link`` route."""
    run(["ip", "link", "add", host_if, "netns", ns.name, "type", "veth",
         "peer", "name", "eth0", "netns", pod_ns.name])
    ns.ip("link", "set", host_if, "up")
    ns.sysctl(f"net.ipv4.conf.{host_if}.proxy_arp=1")
    pod_ns.ip("addr", "add", f"{address}/32", "dev", "eth0")
    pod_ns.ip("link", "set", "eth0", "up")
    pod_ns.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
    pod_ns.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
    ns.ip("route", "add", address, "dev", host_if, "scope", "link")
