"""What the scenarios wait for and measure: kernel routes, sessions, pings,
route events.

How it works
------------
An expectation is a small object with ``holds(lab) -> bool`` and a text
saying what it waits for; ``converge`` polls a list of them until all hold
and returns the seconds it took, or raises naming those that never held
(with the operator's view of the hosts concerned, so a failure explains
itself).  Kernel expectations read ``ip -j route show proto 179`` in the
host's namespace: the routes our daemons wrote.

Pings run inside pod namespaces (``ping -i 0.05``; lost = transmitted -
received).  ``RouteWatch`` runs ``ip monitor route`` in a namespace during
a window and reports the routes deleted meanwhile: graceful restart is
right only when the routes that carry the traffic are never withdrawn.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass

from . import netns

PING_INTERVAL = 0.05
_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")


# -- expectations ----------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """A route of ours (protocol 179) to ``dst`` in ``host``'s kernel; each
    given field must match (``gateway``, ``dev``, ``type``, ``onlink``)."""
    host: str
    dst: str
    gateway: str | None = None
    dev: str | None = None
    type: str | None = None
    onlink: bool = False

    def holds(self, lab) -> bool:
        r = lab.kernel_routes(self.host).get(self.dst)
        if r is None:
            return False
        return ((self.gateway is None or r.get("gateway") == self.gateway)
                and (self.dev is None or r.get("dev") == self.dev)
                and (self.type is None or r.get("type", "unicast") == self.type)
                and (not self.onlink or "onlink" in r.get("flags", [])))

    def __str__(self) -> str:
        parts = [self.type or "", self.dst]
        if self.gateway:
            parts.append(f"via {self.gateway}")
        if self.dev:
            parts.append(f"dev {self.dev}")
        if self.onlink:
            parts.append("onlink")
        return f"{self.host}: " + " ".join(p for p in parts if p)


@dataclass(frozen=True)
class NoRoute:
    """No route of ours to ``dst`` in ``host``'s kernel."""
    host: str
    dst: str

    def holds(self, lab) -> bool:
        return self.dst not in lab.kernel_routes(self.host)

    def __str__(self) -> str:
        return f"{self.host}: no route to {self.dst}"


@dataclass(frozen=True)
class Sessions:
    """Every named session of ``host``'s daemon is Established."""
    host: str
    names: tuple

    def holds(self, lab) -> bool:
        states = lab.sessions(self.host)
        return all(states.get(n) == "Established" for n in self.names)

    def __str__(self) -> str:
        return f"{self.host}: {', '.join(self.names)} Established"


@dataclass(frozen=True)
class Fresh:
    """``host``'s daemon selects a route to ``prefix`` and no path to it is
    stale (graceful restart over for it)."""
    host: str
    prefix: str

    def holds(self, lab) -> bool:
        rows = lab.query(self.host, "show", "route", self.prefix, "all")
        return bool(rows) and not any("stale" in r.get("flags", ()) for r in rows)

    def __str__(self) -> str:
        return f"{self.host}: {self.prefix} learned again, not stale"


@dataclass(frozen=True)
class Stale:
    """``host``'s daemon still uses a route to ``prefix``, kept as stale
    (its peer went away with graceful restart negotiated)."""
    host: str
    prefix: str

    def holds(self, lab) -> bool:
        rows = lab.query(self.host, "show", "route", self.prefix, "all")
        return any("stale" in r.get("flags", ()) and "best" in r.get("flags", ())
                   for r in rows)

    def __str__(self) -> str:
        return f"{self.host}: {self.prefix} kept as stale"


@dataclass(frozen=True)
class Unknown:
    """``host``'s daemon has no route to ``prefix`` at all."""
    host: str
    prefix: str

    def holds(self, lab) -> bool:
        return not lab.query(self.host, "show", "route", self.prefix, "all")

    def __str__(self) -> str:
        return f"{self.host}: {self.prefix} gone from the RIB"


def converge(lab, expectations, timeout: float = 30.0) -> float:
    """Poll until every expectation holds; the seconds it took."""
    start = time.monotonic()
    pending = list(expectations)
    interval = 0.03
    while True:
        pending = [e for e in pending if not e.holds(lab)]
        if not pending:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            hosts = sorted({e.host for e in pending})
            raise netns.DemoTimeout(
                f"still waiting after {timeout:g} s for: {'; '.join(map(str, pending))}\n"
                + "\n".join(_diagnosis(lab, h) for h in hosts))
        time.sleep(interval)
        interval = min(interval * 1.3, 0.15)


def _diagnosis(lab, host: str) -> str:
    try:
        return (f"--- {host}: bgpctl show protocols\n{lab.bgpctl(host, 'show', 'protocols')}"
                f"--- {host}: ip route\n{lab.ip_route(lab.topo.ns(host))}")
    except Exception as e:
        return f"--- {host}: {e}"


# -- pings -------------------------------------------------------------------------------

@dataclass
class PingResult:
    sent: int
    received: int

    @property
    def lost(self) -> int:
        return self.sent - self.received

    def __add__(self, other: "PingResult") -> "PingResult":
        return PingResult(self.sent + other.sent, self.received + other.received)

    def __str__(self) -> str:
        return f"{self.received}/{self.sent} pings answered, {self.lost} lost"


def _parse(text: str) -> PingResult:
    m = _SUMMARY.search(text)
    return PingResult(int(m.group(1)), int(m.group(2))) if m else PingResult(0, 0)


def _ping_argv(pod_ns: str, dst: str, extra: list[str]) -> list[str]:
    return netns.exec_argv(pod_ns, ["ping", "-n", "-q", "-i", str(PING_INTERVAL), *extra, dst])


def ping_pairs(pairs, count: int = 20) -> PingResult:
    """Ping ``count`` times, every 50 ms, from each (pod namespace,
    address) pair at once; the answers summed."""
    procs = [subprocess.Popen(_ping_argv(ns, dst, ["-c", str(count), "-W", "1"]),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for ns, dst in pairs]
    total = PingResult(0, 0)
    try:
        for p in procs:
            out, _ = p.communicate(timeout=count * PING_INTERVAL + 10)
            total = total + _parse(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return total


class Pinger:
    """A ping that runs until stopped (``ping -i 0.05``), for a window."""

    def __init__(self, pod_ns: str, dst: str, limit: float = 120.0):
        self.started = time.monotonic()
        self.expected = 0               # pings a steady 50 ms ping sent until stop()
        self.proc = subprocess.Popen(_ping_argv(pod_ns, dst, ["-w", str(int(limit))]),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)

    def stop(self) -> PingResult:
        """SIGINT makes ping print its summary and exit."""
        self.expected = int((time.monotonic() - self.started) / PING_INTERVAL)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return _parse(out)


class RouteWatch:
    """``ip monitor route`` in a namespace: the routes deleted in a window."""

    def __init__(self, ns: str):
        self.proc = subprocess.Popen(["ip", "-n", ns, "monitor", "route"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, start_new_session=True)

    def stop(self) -> list[str]:
        """The 'Deleted ...' lines seen."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return [ln for ln in out.splitlines() if ln.startswith("Deleted")]


def deleted(lines: list[str], prefix: str) -> list[str]:
    """The deletions of routes to ``prefix`` among ``ip monitor`` lines."""
    return [ln for ln in lines if re.search(rf"(^|\s){re.escape(prefix)}(\s|$)", ln)]
