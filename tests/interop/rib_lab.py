"""Helpers of the RIB interoperability tests: reference daemons made to
announce routes with chosen attributes, BIRD 2 restarting gracefully, and
a watcher that samples our daemon's Loc-RIB while a peer restarts.

How it works
------------
``FrrRoutes`` is FRR's launcher (``daemons.Frr``) with routes described by
the route-map ``set`` lines they are originated with, so that an iBGP
route can carry any AS_PATH (``set as-path prepend 65002``: a neighbour AS
that is not ours), MED, ORIGIN or LOCAL_PREF.  Each route gets its own
route-map and ``network PREFIX route-map NAME``; changing a route while FRR
runs writes a new route-map and points the ``network`` statement at it,
which makes FRR originate the route anew at once (editing a route-map in
place would wait for FRR's route-map delay timer).

``bird_session`` writes one more BIRD ``protocol bgp`` block, for a second
or third session from the same BIRD with another local address, AS and
BGP Identifier, exporting only the prefixes it is given.

``GracefulBird2`` is BIRD 2 with ``graceful restart on`` (RFC 4724, the
restarting side).  ``graceful_stop()`` runs ``birdc graceful restart``,
which makes BIRD close its sessions without a NOTIFICATION and exit;
``vanish()`` makes it die without a word reaching its peers (no FIN, no
RST: their side of the connection stays open, as when a router loses
power).  ``recover()`` starts it again with ``-R`` (graceful-restart
recovery), so that its new OPEN carries the Restart State and Forwarding
State bits and its peers keep its routes until its End-of-RIB.

``RibWatch`` polls our daemon from a thread every ``interval`` seconds
(``show route``, ``show route PREFIX all`` for the prefixes it watches,
``show protocols NAME``) and keeps every sample, for the test to check
afterwards that nothing disappeared at any moment.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass

from .bgpd_lab import Bgpd
from .daemons import Bird2, Frr
from .lab import LabError, Link, wait_until


# ---------------------------------------------------------------------------
# FRR originating routes with any attributes

class FrrRoutes(Frr):
    """FRR whose originated routes are ``{prefix: (route-map set lines)}``
    (``originated``), on top of what ``daemons.Frr`` configures."""

    def __init__(self, lab, ns, *, originated: dict | None = None, **kw):
        self.originated = dict(originated or {})
        self._maps = 0
        super().__init__(lab, ns, **kw)

    def _next_map(self) -> str:
        self._maps += 1
        return f"RIB-{self._maps}"

    def _family(self, prefix: str) -> str:
        return "ipv6" if ":" in prefix else "ipv4"

    def config_text(self) -> str:
        out = [super().config_text().rstrip("\n")]
        statements = []
        for prefix, sets in self.originated.items():
            name = self._next_map()
            out.append(f"route-map {name} permit 10")
            out.extend(f" {s}" for s in sets)
            out.append("!")
            statements.append((prefix, name))
        out.append(f"router bgp {self.asn}")
        for family in ("ipv4", "ipv6"):
            mine = [(p, m) for p, m in statements if self._family(p) == family]
            if mine:
                out.append(f" address-family {family} unicast")
                out.extend(f"  network {p} route-map {m}" for p, m in mine)
                out.append(" exit-address-family")
        out.append("!")
        return "\n".join(out) + "\n"

    def set_route(self, prefix: str, *sets: str) -> None:
        """Originate ``prefix`` (again) with these route-map ``set`` lines."""
        name = self._next_map()
        self.vtysh("configure terminal", f"route-map {name} permit 10", *sets, "exit",
                   f"router bgp {self.asn}", f"address-family {self._family(prefix)} unicast",
                   f"network {prefix} route-map {name}")
        self.originated[prefix] = tuple(sets)

    def remove_route(self, prefix: str) -> None:
        """Stop originating ``prefix`` (FRR withdraws it)."""
        self.configure(f"address-family {self._family(prefix)} unicast", f"no network {prefix}")
        self.originated.pop(prefix, None)


# ---------------------------------------------------------------------------
# BIRD 2 restarting gracefully

class GracefulBird2(Bird2):
    """BIRD 2 with graceful restart on every session; ``graceful_stop``
    and ``recover`` restart it as RFC 4724 section 4.1 describes."""

    def __init__(self, lab, ns, **kw):
        kw["session_config"] = (kw.get("session_config", "") + "\ngraceful restart on;").strip()
        self.recovering = False
        super().__init__(lab, ns, **kw)

    def argv(self) -> list[str]:
        return super().argv() + (["-R"] if self.recovering else [])

    def graceful_stop(self, timeout: float = 10.0) -> None:
        """``birdc graceful restart``: BIRD drops its sessions without a
        NOTIFICATION and exits."""
        out = self.cli("graceful", "restart")
        if "restart" not in out.lower():
            raise LabError(f"{self.name}: graceful restart: {out.strip()}")
        wait_until(lambda: not self.alive(), timeout, f"{self.name} to exit")
        # A control socket left behind would make the next start look ready.
        with contextlib.suppress(FileNotFoundError):
            self.ctl.unlink()

    def vanish(self, link: Link) -> None:
        """Die so that nothing of it reaches the other end of ``link``, as
        a router that loses power does: frozen, its address removed (so
        that the kernel can send nothing more), killed, its orphaned TCP
        connections aborted (``ss -K``), and the address given back.  The
        peer's old connection stays open as far as the peer knows."""
        ns = self.ns
        ifname = link.interface(ns)
        address = f"{link.addresses(ns)[0]}/{link.prefix_v4}"
        self.proc.send_signal(signal.SIGSTOP)
        ns.ip("addr", "del", address, "dev", ifname)
        self.proc.stop(grace=0, sig=signal.SIGKILL)
        ns.run(["ss", "-K", "-t", "state", "all"])
        left = ns.run(["ss", "-Htn", "state", "all"]).stdout.strip()
        if left:
            raise LabError(f"{self.name}: TCP sockets outlive ss -K: {left}")
        ns.ip("addr", "add", address, "dev", ifname)
        with contextlib.suppress(FileNotFoundError):
            self.ctl.unlink()

    def recover(self, timeout: float = 15.0) -> None:
        """Start again (with the configuration as it is now) in recovery."""
        self.recovering = True
        self.start(timeout)


def bird_session(name: str, local: str, local_as: int, neighbor: str, neighbor_as: int,
                 routes: dict, router_id: str | None = None, extra: str = "") -> str:
    """A further BIRD 2 ``protocol bgp`` block (for ``extra_config``): a
    session from another local address, AS and (optionally) BGP Identifier
    than the launcher's own, exporting only ``routes`` ({prefix: filter
    statements giving its attributes}) of those BIRD has."""
    out = [f"filter export_{name} {{"]
    out += [f"  if net = {p} then {{ {' '.join([*acts, 'accept;'])} }}"
            for p, acts in routes.items()]
    out += ["  reject;", "}", f"protocol bgp {name} {{", f"  local {local} as {local_as};",
            f"  neighbor {neighbor} as {neighbor_as};"]
    if router_id:
        out.append(f"  router id {router_id};")
    out += ["  connect delay time 1;", "  connect retry time 1;"]
    out += [f"  {line.strip()}" for line in extra.splitlines() if line.strip()]
    out += [f"  ipv4 {{ import none; export filter export_{name}; }};", "}"]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Watching our Loc-RIB

@dataclass(frozen=True)
class Sample:
    """Our daemon's view at one moment: read from ``start`` to ``end``
    (``time.monotonic()``), the protocol's state first."""

    start: float
    end: float
    state: str                  # the watched protocol's state
    best: dict                  # prefix -> protocol of the best route (``show route``)
    cands: dict                 # watched prefix -> {protocol: its ``show route PREFIX all`` row}
    stale: dict                 # watched prefix -> whether the protocol's candidate is stale


class RibWatch:
    """Samples ``bgpd`` every ``interval`` seconds in a thread: the state
    of ``protocol``, the best routes, and every candidate of ``prefixes``.
    Use as a context manager; ``samples`` is the record, ``check()``
    raises what stopped the thread, if anything did."""

    def __init__(self, bgpd: Bgpd, protocol: str, prefixes, interval: float = 0.1):
        self.bgpd = bgpd
        self.protocol = protocol
        self.prefixes = tuple(prefixes)
        self.interval = interval
        self.samples: list[Sample] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rib-watch", daemon=True)

    def sample(self) -> Sample:
        # The state first: a session seen down was down before the routes
        # were read.
        q = self.bgpd.query
        start = time.monotonic()
        state = q("show", "protocols", self.protocol)[0]["state"]
        best = {r["prefix"]: r["protocol"] for r in q("show", "route")}
        cands, stale = {}, {}
        for prefix in self.prefixes:
            cands[prefix] = {r["protocol"]: r for r in q("show", "route", prefix, "all")}
            mine = cands[prefix].get(self.protocol)
            if mine is not None:
                stale[prefix] = "stale" in mine["flags"]
        return Sample(start, time.monotonic(), state, best, cands, stale)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.samples.append(self.sample())
                self._stop.wait(self.interval)
        except BaseException as e:          # raised again by check()
            self.error = e

    def __enter__(self) -> "RibWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def wait(self, predicate, timeout: float, what: str) -> Sample:
        """Wait until a new sample satisfies ``predicate``; return it."""
        seen = len(self.samples)

        def ok():
            self.check()
            return next((s for s in self.samples[seen:] if predicate(s)), None)
        return wait_until(ok, timeout, what)

    def check(self) -> list[Sample]:
        """The samples so far, unless the thread failed."""
        if self.error is not None:
            raise LabError(f"watching the Loc-RIB failed: {self.error!r}") from self.error
        return list(self.samples)


__all__ = ["FrrRoutes", "GracefulBird2", "RibWatch", "Sample", "bird_session"]
