"""Launchers for the reference BGP daemons, run inside lab namespaces.

How it works
------------
Each launcher is one class that writes its daemon's configuration from
the same two plain descriptions, ``Neighbor`` (a session: addresses, ASNs,
TCP MD5 password, passive or active, families, route-reflector client) and
``Route`` (a prefix to originate, with MED, LOCAL_PREF, communities of the
three kinds, AS path prepends, ORIGIN), starts the daemon in the
foreground inside a namespace through ``Lab.spawn`` (so the lab stops it
even when a test fails), waits until it is ready, and offers:

- ``cli(...)``: the daemon's own control tool (``birdc -s``,
  ``vtysh --vty_socket``, ``gobgp --target unix://``, ExaBGP's text API
  through a named pipe);
- ``shutdown_neighbor(neighbor, message)``: make it send a Cease
  NOTIFICATION, Administrative Shutdown, with an RFC 9003 message when the
  daemon can;
- ``announce(route)`` / ``withdraw(route)`` while running, and
  ``request_refresh(neighbor)`` (a ROUTE-REFRESH per family);
- ``established(neighbor)`` / ``wait_established``;
- ``check_config()``: the daemon's parse-only mode over the configuration
  (no namespace, no root);
- ``stop()``: SIGTERM, then SIGKILL after a grace period.

Every file a daemon needs (configuration, control socket, pid file, log)
lives in the lab's work directory under the daemon's name, so several
daemons of the same kind can run side by side in different namespaces.

Daemons and the way each is run:

========  =============================================================
BIRD 2    ``bird -f -c CONF -s SOCK -P PID``; IPv4 and IPv6 in one process
BIRD 1.6  ``.lab/bird1.6/usr/sbin/bird`` (IPv4) or ``bird6`` (IPv6), same
          options; one family per process, as in BIRD 1.x
FRR       ``bgpd -Z -S -f CONF -i PID --vty_socket DIR -P 0``: bgpd alone,
          without zebra (so without kernel routes) and without systemd;
          ``vtysh --vty_socket DIR -d bgpd`` talks to it
GoBGP     ``gobgpd -f CONF.toml --api-hosts unix://SOCK``; routes are
          added with ``gobgp --target unix://SOCK global rib add``
ExaBGP    ``exabgp CONF`` with ``exabgp_*`` environment variables (run as
          root, no daemonizing, log to stdout); a helper process reads
          text API commands from a named pipe
========  =============================================================

What each can be made to send (the capture test shows it on the wire):

========  =============  ===============  ==============  ====================
daemon    ROUTE-REFRESH  RFC 9003 text    ext. community  to know
========  =============  ===============  ==============  ====================
BIRD 1.6  yes            yes              rt, ro          BoRR/EoRR around a
                                                          re-feed (RFC 7313)
BIRD 2    yes            yes              rt, ro          same; first UPDATE
                                                          ~3 s after Established
FRR 8.4   yes            yes              rt, ro (soo)    MED 0 on routes of
                                                          ``network``
GoBGP 3   no             yes, through     rt only         keeps an Adj-RIB-In;
                         ``shutdown``                     connects out only
                                                          after 5-10 s
ExaBGP 4  yes            fixed text       rt, ro          with graceful restart
                                                          it closes without
                                                          NOTIFICATION
========  =============  ===============  ==============  ====================
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wire.communities import parse_community

from .lab import Lab, LabError, Namespace, Process, run, wait_until

REPO = Path(__file__).resolve().parents[2]
BIRD16_DIR = Path(os.environ.get("BGPD_BIRD16_DIR", REPO / ".lab" / "bird1.6"))
FRR_DIR = Path("/usr/lib/frr")
FRR_TMPDIR = Path("/var/tmp/frr")      # where each FRR daemon keeps its crash log
BGP_PORT = 179

# Well-known communities by the names the configurations use (RFC 1997,
# RFC 3765, RFC 7999, RFC 8326).
WELL_KNOWN_NAMES = {
    "NO_EXPORT": "no-export",
    "NO_ADVERTISE": "no-advertise",
    "NO_EXPORT_SUBCONFED": "local-AS",
    "NOPEER": "no-peer",
    "BLACKHOLE": "blackhole",
    "GRACEFUL_SHUTDOWN": "graceful-shutdown",
}


# ---------------------------------------------------------------------------
# What to configure

@dataclass(frozen=True)
class Route:
    """A prefix a daemon originates, with the attributes it should carry.

    ``communities`` are 'ASN:VALUE' or well-known names ('NO_EXPORT');
    ``ext_communities`` are ``(kind, global, local)`` with kind 'rt' or 'ro'
    (RFC 4360 two-octet-AS specific); ``prepend`` is how many extra copies
    of the local AS to put in front of the path."""

    prefix: str
    med: int | None = None
    local_pref: int | None = None
    communities: tuple = ()
    large_communities: tuple = ()
    ext_communities: tuple = ()
    prepend: int = 0
    origin: str = "igp"            # igp, egp, incomplete
    # None: the daemon's own address.  BIRD needs it on a connected subnet
    # (a static route ``via`` it), the others announce it as given.
    next_hop: str | None = None

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.prefix).version

    def community_values(self) -> list[int]:
        return [parse_community(c) for c in self.communities]


@dataclass(frozen=True)
class Neighbor:
    """One BGP session as the daemon's configuration sees it.

    ``address``/``asn`` are the neighbor's; ``local_address`` is the
    daemon's own end.  ``next_hop_v6`` is the IPv6 next hop to announce
    IPv6 routes with over an IPv4 session, ``next_hop_v4`` the IPv4 next
    hop of IPv4 routes over an IPv6 session (daemons cannot all guess
    them)."""

    address: str
    asn: int
    local_address: str
    name: str = "peer1"
    password: str | None = None
    passive: bool = False
    families: tuple = ("ipv4", "ipv6")
    hold_time: int = 90
    next_hop_v6: str | None = None
    next_hop_v4: str | None = None
    rr_client: bool = False
    import_routes: bool = False    # accept what the neighbor announces
    graceful_restart: bool = True  # announce the RFC 4724 capability

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.address).version


# ---------------------------------------------------------------------------
# The common part

class Daemon:
    """Base class: file layout, process handling, readiness, shutdown."""

    kind = "daemon"
    # Whether ``shutdown_neighbor`` can carry an RFC 9003 message.
    shutdown_message = True

    def __init__(self, lab: Lab, ns: Namespace | None, *, asn: int, router_id: str,
                 neighbors: list[Neighbor] = (), routes: list[Route] = (),
                 name: str | None = None, extra_config: str = "",
                 extra_env: dict | None = None, session_config: str = ""):
        self.lab = lab
        self.ns = ns
        self.asn = asn
        self.router_id = router_id
        self.neighbors = list(neighbors)
        self.routes = list(routes)
        self.name = name or (f"{self.kind}-{ns.role}" if ns is not None else self.kind)
        self.extra_config = extra_config
        # Environment variables added to the daemon's own (ExaBGP reads its
        # settings there), and lines added inside each session's block of
        # the configuration (BIRD's ``protocol bgp``; other daemons ignore it).
        self.extra_env = dict(extra_env or {})
        self.session_config = session_config
        self.dir = lab.path(self.name)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.proc: Process | None = None

    # -- to be provided by each daemon -------------------------------------
    def config_text(self) -> str:
        raise NotImplementedError

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict | None:
        return dict(self.extra_env) or None

    def wait_ready(self, timeout: float) -> None:
        """Wait until the control channel answers and BGP listens."""
        if self.neighbors:
            self.lab.wait_listening(self.ns, BGP_PORT, timeout, self.proc)

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        raise NotImplementedError

    def shutdown_neighbor(self, neighbor: Neighbor, message: str = "") -> None:
        raise NotImplementedError

    def established(self, neighbor: Neighbor) -> bool:
        raise NotImplementedError

    def announce(self, route: Route) -> None:
        """Originate one more route while running."""
        raise NotImplementedError

    def request_refresh(self, neighbor: Neighbor) -> None:
        """Make the daemon ask the neighbour to send its routes again: a
        ROUTE-REFRESH message per family (RFC 2918)."""
        raise NotImplementedError

    def withdraw(self, route: Route) -> None:
        """Stop originating ``route`` (the daemon sends withdrawals)."""
        raise NotImplementedError

    @classmethod
    def version(cls) -> str:
        raise NotImplementedError

    @classmethod
    def binaries(cls) -> list[str]:
        raise NotImplementedError

    @classmethod
    def missing(cls) -> str | None:
        """Why this daemon cannot run here, or None."""
        for b in cls.binaries():
            if shutil.which(b) is None and not os.access(b, os.X_OK):
                return f"{cls.kind}: {b} not installed"
        return None

    # -- common ------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.dir / "bgp.conf"

    def write_config(self) -> Path:
        self.config_path.write_text(self.config_text())
        os.chmod(self.config_path, 0o644)
        return self.config_path

    def check_argv(self) -> list[str]:
        """The daemon's own parse-only run over the configuration."""
        raise NotImplementedError

    def config_errors(self, out: str, returncode: int) -> bool:
        return returncode != 0

    def after_check(self, pid: int) -> None:
        """Remove what the parse-only run ``pid`` left behind."""

    def check_config(self, timeout: float = 30.0) -> None:
        """Write the configuration and have the daemon parse it without
        starting (no namespace or root needed); raise LabError if it
        refuses it."""
        self.write_config()
        proc = subprocess.Popen(self.check_argv(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=self.check_env())
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise LabError(f"{self.name}: configuration check ran over {timeout}s") from None
        finally:
            self.after_check(proc.pid)
        if self.config_errors(out, proc.returncode):
            raise LabError(f"{self.name}: configuration refused:\n{out.strip()[-3000:]}\n"
                           f"--- {self.config_path} ---\n{self.config_path.read_text()}")

    def check_env(self) -> dict | None:
        return self._full_env()

    def _full_env(self) -> dict | None:
        extra = self.env()
        if extra is None:
            return None
        env = dict(os.environ)
        env.update(extra)
        return env

    def start(self, timeout: float = 15.0) -> "Daemon":
        """Write the configuration, start the daemon and wait until it is ready."""
        self.write_config()
        self.proc = self.lab.spawn(self.ns, self.argv(), self.name, env=self.env())
        try:
            self.wait_ready(timeout)
        except Exception:
            if self.proc.alive():
                raise
            raise LabError(f"{self.name} exited {self.proc.popen.returncode}:\n"
                           f"{self.output()[-3000:]}") from None
        return self

    def stop(self, grace: float = 3.0) -> None:
        if self.proc is not None:
            self.proc.stop(grace)

    def output(self) -> str:
        """What the daemon wrote to stdout/stderr (its log)."""
        return self.proc.output() if self.proc is not None else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def wait_established(self, neighbor: Neighbor, timeout: float = 20.0) -> None:
        wait_until(lambda: self._check_alive() and self.established(neighbor), timeout,
                   f"{self.name}: session with {neighbor.address} established")

    def _check_alive(self) -> bool:
        if not self.alive():
            raise LabError(f"{self.name} is not running:\n{self.output()[-3000:]}")
        return True

    def routes_of(self, version: int) -> list[Route]:
        return [r for r in self.routes if r.version == version]

    def neighbor_families(self, n: Neighbor) -> list[int]:
        return [4 if f == "ipv4" else 6 for f in n.families]


def _ns_run(ns: Namespace, argv: list[str], timeout: float, check: bool = True) -> str:
    return ns.run(argv, timeout=timeout, check=check).stdout


# ---------------------------------------------------------------------------
# BIRD 2 and BIRD 1.6

_BIRD_ORIGIN = {"igp": "ORIGIN_IGP", "egp": "ORIGIN_EGP", "incomplete": "ORIGIN_INCOMPLETE"}


def _bird_route_actions(route: Route, asn: int) -> list[str]:
    """Filter statements that give ``route`` its attributes on export."""
    acts = []
    if route.origin != "igp":
        acts.append(f"bgp_origin = {_BIRD_ORIGIN[route.origin]};")
    if route.med is not None:
        acts.append(f"bgp_med = {route.med};")
    if route.local_pref is not None:
        acts.append(f"bgp_local_pref = {route.local_pref};")
    for c in route.community_values():
        acts.append(f"bgp_community.add(({c >> 16},{c & 0xFFFF}));")
    for kind, g, loc in route.ext_communities:
        acts.append(f"bgp_ext_community.add(({kind},{g},{loc}));")
    for g, a, b in route.large_communities:
        acts.append(f"bgp_large_community.add(({g},{a},{b}));")
    acts.extend([f"bgp_path.prepend({asn});"] * route.prepend)
    return acts


def _bird_export_filter(name: str, routes: list[Route], asn: int) -> str:
    lines = [f"filter export_{name} {{"]
    for r in routes:
        acts = _bird_route_actions(r, asn)
        if acts:
            lines.append(f"  if net = {r.prefix} then {{ {' '.join(acts)} }}")
    lines.append("  accept;")
    lines.append("}")
    return "\n".join(lines)


class _BirdBase(Daemon):
    """What BIRD 1.6 and BIRD 2 share: control socket, CLI, shutdown."""

    @property
    def ctl(self) -> Path:
        return self.dir / "bird.ctl"

    @property
    def pidfile(self) -> Path:
        return self.dir / "bird.pid"

    def birdc(self) -> str:
        raise NotImplementedError

    def bird(self) -> str:
        raise NotImplementedError

    def argv(self) -> list[str]:
        return [self.bird(), "-f", "-c", str(self.config_path), "-s", str(self.ctl),
                "-P", str(self.pidfile)]

    def check_argv(self) -> list[str]:
        return [self.bird(), "-p", "-c", str(self.config_path)]

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wait_until(lambda: self._check_alive() and self.ctl.exists(), timeout,
                   f"{self.name} control socket")
        super().wait_ready(max(0.5, deadline - time.monotonic()))

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        """Run one birdc command; words are passed as they are (quote text
        arguments yourself: ``cli('disable', 'peer1', '"why"')``)."""
        out = _ns_run(self.ns, [self.birdc(), "-s", str(self.ctl), *args], timeout)
        # birdc exits 0 even when BIRD refuses a command; errors start with
        # a syntax or "No protocols match" line.
        if re.search(r"^(syntax error|No protocols match|Unknown command)", out, re.M):
            raise LabError(f"birdc {' '.join(args)}: {out.strip()}")
        return out

    def shutdown_neighbor(self, neighbor: Neighbor, message: str = "") -> None:
        # BIRD sends Cease / Administrative Shutdown with the message
        # (RFC 8203/9003) when a protocol is disabled.
        args = ["disable", neighbor.name]
        if message:
            args.append(json.dumps(message))
        self.cli(*args)

    def enable_neighbor(self, neighbor: Neighbor) -> None:
        self.cli("enable", neighbor.name)

    def request_refresh(self, neighbor: Neighbor) -> None:
        # Without a kept import table, "reload in" asks the peer.
        self.cli("reload", "in", neighbor.name)

    def reconfigure(self) -> None:
        """Write the configuration again and make BIRD load it."""
        self.write_config()
        out = self.cli("configure")
        if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
            raise LabError(f"{self.name}: configure: {out.strip()}")

    def announce(self, route: Route) -> None:
        self.routes.append(route)
        self.reconfigure()

    def withdraw(self, route: Route) -> None:
        self.routes.remove(route)
        self.reconfigure()

    def established(self, neighbor: Neighbor) -> bool:
        return "Established" in self.cli("show", "protocols", neighbor.name)

    @classmethod
    def _version_of(cls, binary: str) -> str:
        res = run([binary, "--version"], check=False)
        m = re.search(r"BIRD version (\S+)", res.stdout + res.stderr)
        return f"BIRD {m.group(1)}" if m else "BIRD ?"


class Bird2(_BirdBase):
    """BIRD 2.x: one process, IPv4 and IPv6 channels on one session."""

    kind = "bird2"

    def bird(self) -> str:
        return "bird"

    def birdc(self) -> str:
        return "birdc"

    @classmethod
    def binaries(cls) -> list[str]:
        return ["bird", "birdc"]

    @classmethod
    def version(cls) -> str:
        return cls._version_of("bird")

    def config_text(self) -> str:
        out = [f"router id {self.router_id};", "log stderr all;",
               "protocol device { scan time 10; }"]
        for v in (4, 6):
            routes = self.routes_of(v)
            if routes:
                out.append(f"protocol static static{v} {{")
                out.append(f"  ipv{v};")
                for r in routes:
                    target = f"via {r.next_hop}" if r.next_hop else "blackhole"
                    out.append(f"  route {r.prefix} {target};")
                out.append("}")
        for n in self.neighbors:
            out.append(_bird_export_filter(n.name, self.routes, self.asn))
            out.append(f"protocol bgp {n.name} {{")
            out.append(f"  local {n.local_address} as {self.asn};")
            out.append(f"  neighbor {n.address} as {n.asn};")
            out.append(f"  hold time {n.hold_time};")
            out.append("  connect delay time 1;")
            out.append("  connect retry time 1;")
            if n.password:
                out.append(f"  password {json.dumps(n.password)};")
            if n.passive:
                out.append("  passive on;")
            if n.rr_client:
                out.append("  rr client;")
            out.append(f"  graceful restart {'aware' if n.graceful_restart else 'off'};")
            out.extend(f"  {line}" for line in self.session_config.splitlines() if line.strip())
            imp = "all" if n.import_routes else "none"
            for v in self.neighbor_families(n):
                extra = ""
                if v == 6 and n.version == 4 and n.next_hop_v6:
                    extra = f" next hop address {n.next_hop_v6};"
                elif v == 4 and n.version == 6 and n.next_hop_v4:
                    extra = f" next hop address {n.next_hop_v4};"
                out.append(f"  ipv{v} {{ import {imp}; export filter export_{n.name};{extra} }};")
            out.append("}")
        if self.extra_config:
            out.append(self.extra_config)
        return "\n".join(out) + "\n"


class Bird16(_BirdBase):
    """BIRD 1.6: ``bird`` speaks IPv4 only and ``bird6`` IPv6 only, each a
    process of its own with its own sessions (``family`` picks one)."""

    kind = "bird1.6"

    def __init__(self, lab, ns, *, family: int = 4, **kw):
        self.family = family
        kw.setdefault("name", f"bird16-v{family}" + (f"-{ns.role}" if ns is not None else ""))
        super().__init__(lab, ns, **kw)

    @staticmethod
    def sbin(tool: str) -> str:
        return str(BIRD16_DIR / "usr" / "sbin" / tool)

    def bird(self) -> str:
        return self.sbin("bird" if self.family == 4 else "bird6")

    def birdc(self) -> str:
        return self.sbin("birdc" if self.family == 4 else "birdc6")

    @classmethod
    def binaries(cls) -> list[str]:
        return [cls.sbin(t) for t in ("bird", "bird6", "birdc", "birdc6")]

    @classmethod
    def version(cls) -> str:
        return cls._version_of(cls.sbin("bird"))

    def config_text(self) -> str:
        routes = self.routes_of(self.family)
        out = [f"router id {self.router_id};", "log stderr all;",
               "protocol device { scan time 10; }"]
        if routes:
            out.append("protocol static static1 {")
            for r in routes:
                target = f"via {r.next_hop}" if r.next_hop else "blackhole"
                out.append(f"  route {r.prefix} {target};")
            out.append("}")
        for n in self.neighbors:
            out.append(_bird_export_filter(n.name, routes, self.asn))
            out.append(f"protocol bgp {n.name} {{")
            out.append(f"  local {n.local_address} as {self.asn};")
            out.append(f"  neighbor {n.address} as {n.asn};")
            out.append(f"  hold time {n.hold_time};")
            out.append("  connect delay time 1;")
            out.append("  connect retry time 1;")
            if n.password:
                out.append(f"  password {json.dumps(n.password)};")
            if n.passive:
                out.append("  passive on;")
            if n.rr_client:
                out.append("  rr client;")
            out.append(f"  graceful restart {'aware' if n.graceful_restart else 'off'};")
            out.extend(f"  {line}" for line in self.session_config.splitlines() if line.strip())
            out.append(f"  import {'all' if n.import_routes else 'none'};")
            out.append(f"  export filter export_{n.name};")
            out.append("}")
        if self.extra_config:
            out.append(self.extra_config)
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# FRR

_FRR_ORIGIN = {"igp": "igp", "egp": "egp", "incomplete": "incomplete"}


class Frr(Daemon):
    """FRR's bgpd alone (``-Z``: no zebra, so no kernel routes and no
    interface knowledge; IPv6 next hops over an IPv4 session come from
    ``Neighbor.next_hop_v6`` through an outbound route-map)."""

    kind = "frr"

    @property
    def pidfile(self) -> Path:
        return self.dir / "bgpd.pid"

    @classmethod
    def binaries(cls) -> list[str]:
        return [str(FRR_DIR / "bgpd"), "vtysh"]

    @classmethod
    def version(cls) -> str:
        res = run([str(FRR_DIR / "bgpd"), "--version"], check=False)
        m = re.search(r"version (\S+)", res.stdout + res.stderr)
        return f"FRR {m.group(1)}" if m else "FRR ?"

    def argv(self) -> list[str]:
        return [str(FRR_DIR / "bgpd"), "-Z", "-S", "-f", str(self.config_path),
                "-i", str(self.pidfile), "--vty_socket", str(self.dir), "-P", "0",
                "--log", "stdout", "--log-level", "info"]

    def check_argv(self) -> list[str]:
        return [str(FRR_DIR / "bgpd"), "-C", "-Z", "-S", "-f", str(self.config_path),
                "-i", str(self.dir / "check.pid"), "--vty_socket", str(self.dir), "-P", "0"]

    def config_errors(self, out: str, returncode: int) -> bool:
        # bgpd -C exits 0 whatever it finds; errors are logged as "[EC n]".
        return returncode != 0 or "[EC " in out

    def after_check(self, pid: int) -> None:
        # A dry run leaves its (empty) crash-log directory behind.
        with contextlib.suppress(OSError):
            os.rmdir(FRR_TMPDIR / f"bgpd.{pid}")

    def stop(self, grace: float = 3.0) -> None:
        super().stop(grace)
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.rmdir(FRR_TMPDIR / f"bgpd.{self.proc.pid}")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wait_until(lambda: self._check_alive() and (self.dir / "bgpd.vty").exists(), timeout,
                   f"{self.name} vty socket")
        super().wait_ready(max(0.5, deadline - time.monotonic()))

    def vtysh(self, *commands: str, timeout: float = 10.0) -> str:
        argv = ["vtysh", "--vty_socket", str(self.dir), "-d", "bgpd"]
        for c in commands:
            argv += ["-c", c]
        res = run(argv, timeout=timeout, check=False)
        out = res.stdout + res.stderr
        if res.returncode != 0 or re.search(r"^% (Unknown|Invalid|Command incomplete)", out, re.M):
            raise LabError(f"vtysh {commands}: {out.strip()}")
        return res.stdout

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        """Run vtysh commands, one per argument."""
        return self.vtysh(*args, timeout=timeout)

    def configure(self, *lines: str) -> str:
        return self.vtysh("configure terminal", f"router bgp {self.asn}", *lines)

    def shutdown_neighbor(self, neighbor: Neighbor, message: str = "") -> None:
        line = f"neighbor {neighbor.address} shutdown"
        if message:
            line += f" message {message}"
        self.configure(line)

    def enable_neighbor(self, neighbor: Neighbor) -> None:
        self.configure(f"no neighbor {neighbor.address} shutdown")

    def request_refresh(self, neighbor: Neighbor) -> None:
        # Without soft-reconfiguration inbound, a soft clear in asks the peer.
        self.vtysh(*(f"clear bgp {f} unicast {neighbor.address} soft in"
                     for f in neighbor.families))

    def announce(self, route: Route) -> None:
        # Attributes need a route-map: only plain routes can be added live.
        self.routes.append(route)
        self.configure(f"address-family ipv{route.version} unicast", f"network {route.prefix}")

    def withdraw(self, route: Route) -> None:
        self.routes.remove(route)
        self.configure(f"address-family ipv{route.version} unicast",
                       f"no network {route.prefix}")

    def established(self, neighbor: Neighbor) -> bool:
        out = self.vtysh(f"show bgp neighbors {neighbor.address} json")
        try:
            data = json.loads(out)
        except ValueError:
            return False
        return data.get(neighbor.address, {}).get("bgpState") == "Established"

    @staticmethod
    def _route_map_name(i: int) -> str:
        return f"ORIGINATE-{i}"

    def config_text(self) -> str:
        out = ["frr defaults traditional", f"hostname {self.name}", "log stdout informational",
               "!"]
        maps = {}
        for i, r in enumerate(self.routes):
            sets = []
            if r.med is not None:
                sets.append(f"set metric {r.med}")
            if r.local_pref is not None:
                sets.append(f"set local-preference {r.local_pref}")
            if r.origin != "igp":
                sets.append(f"set origin {_FRR_ORIGIN[r.origin]}")
            if r.communities:
                names = [WELL_KNOWN_NAMES.get(c.upper(), c) for c in r.communities]
                sets.append("set community " + " ".join(names))
            if r.large_communities:
                sets.append("set large-community "
                            + " ".join(f"{g}:{a}:{b}" for g, a, b in r.large_communities))
            if r.ext_communities:
                by_kind = {}
                for kind, g, loc in r.ext_communities:
                    by_kind.setdefault({"rt": "rt", "ro": "soo"}[kind], []).append(f"{g}:{loc}")
                for kind, vals in by_kind.items():
                    sets.append(f"set extcommunity {kind} " + " ".join(vals))
            if r.prepend:
                sets.append("set as-path prepend " + " ".join([str(self.asn)] * r.prepend))
            if r.next_hop:
                sets.append(f"set ipv6 next-hop global {r.next_hop}" if r.version == 6
                            else f"set ip next-hop {r.next_hop}")
            if sets:
                maps[r.prefix] = self._route_map_name(i)
                out.append(f"route-map {maps[r.prefix]} permit 10")
                out.extend(f" {s}" for s in sets)
                out.append("!")
        for n in self.neighbors:
            out.append(f"route-map OUT-{n.name} permit 10")
            if n.version == 4 and n.next_hop_v6:
                out.append(f" set ipv6 next-hop global {n.next_hop_v6}")
            if n.version == 6 and n.next_hop_v4:
                out.append(f" set ip next-hop {n.next_hop_v4}")
            out.append("!")
        out += [f"router bgp {self.asn}", f" bgp router-id {self.router_id}",
                " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast",
                " no bgp network import-check"]
        for n in self.neighbors:
            a = n.address
            out.append(f" neighbor {a} remote-as {n.asn}")
            out.append(f" neighbor {a} description {n.name}")
            out.append(f" neighbor {a} update-source {n.local_address}")
            keep = max(1, n.hold_time // 3) if n.hold_time else 0
            out.append(f" neighbor {a} timers {keep} {n.hold_time}")
            out.append(f" neighbor {a} timers connect 1")
            out.append(f" neighbor {a} advertisement-interval 0")
            if n.password:
                out.append(f" neighbor {a} password {n.password}")
            if n.passive:
                out.append(f" neighbor {a} passive")
            if not n.graceful_restart:
                out.append(f" neighbor {a} graceful-restart-disable")
        for v in (4, 6):
            out.append(f" address-family ipv{v} unicast")
            for r in self.routes_of(v):
                rm = maps.get(r.prefix)
                out.append(f"  network {r.prefix}" + (f" route-map {rm}" if rm else ""))
            for n in self.neighbors:
                if v not in self.neighbor_families(n):
                    continue
                out.append(f"  neighbor {n.address} activate")
                out.append(f"  neighbor {n.address} route-map OUT-{n.name} out")
                out.append(f"  neighbor {n.address} route-map "
                           f"{'IN-ALL' if n.import_routes else 'IN-NONE'} in")
                if n.rr_client:
                    out.append(f"  neighbor {n.address} route-reflector-client")
            out.append(" exit-address-family")
        out += ["!", "route-map IN-ALL permit 10", "!", "route-map IN-NONE deny 10", "!"]
        if self.extra_config:
            out.append(self.extra_config)
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# GoBGP

class GoBgp(Daemon):
    """gobgpd with its gRPC API on a unix socket in the lab directory;
    routes are added through the ``gobgp`` CLI once the API answers (before
    the test peer connects, so they go out before the End-of-RIB)."""

    kind = "gobgp"

    @property
    def api(self) -> str:
        return f"unix://{self.dir / 'gobgp.sock'}"

    @property
    def config_path(self) -> Path:
        return self.dir / "gobgpd.toml"

    @classmethod
    def binaries(cls) -> list[str]:
        return ["gobgpd", "gobgp"]

    @classmethod
    def version(cls) -> str:
        res = run(["gobgpd", "--version"], check=False)
        m = re.search(r"version (\S+)", res.stdout + res.stderr)
        return f"GoBGP {m.group(1)}" if m else "GoBGP ?"

    def argv(self) -> list[str]:
        return ["gobgpd", "-f", str(self.config_path), "-t", "toml", "--api-hosts", self.api,
                "--pprof-disable", "-p", "-l", "info"]

    def check_argv(self) -> list[str]:
        return ["gobgpd", "-d", "-f", str(self.config_path), "-t", "toml"]

    def gobgp(self, *args: str, timeout: float = 10.0, check: bool = True) -> str:
        res = run(["gobgp", "--target", self.api, *args], timeout=timeout, check=check)
        return res.stdout

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        return self.gobgp(*args, timeout=timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout

        def api_up():
            self._check_alive()
            return run(["gobgp", "--target", self.api, "global"], check=False,
                       timeout=5).returncode == 0
        wait_until(api_up, timeout, f"{self.name} API")
        for r in self.routes:
            self.add_route(r)
        super().wait_ready(max(0.5, deadline - time.monotonic()))

    def add_route(self, r: Route) -> None:
        fam = "ipv4" if r.version == 4 else "ipv6"
        nh = r.next_hop or (self._local_address(r.version) or ("0.0.0.0" if r.version == 4
                                                                else "::"))
        args = ["global", "rib", "add", r.prefix, "origin", r.origin, "nexthop", nh]
        if r.prepend:
            args += ["aspath", ",".join([str(self.asn)] * r.prepend)]
        if r.med is not None:
            args += ["med", str(r.med)]
        if r.local_pref is not None:
            args += ["local-pref", str(r.local_pref)]
        if r.communities:
            args += ["community", ",".join(f"{c >> 16}:{c & 0xFFFF}"
                                           for c in r.community_values())]
        if r.large_communities:
            args += ["large-community", ",".join(f"{g}:{a}:{b}"
                                                 for g, a, b in r.large_communities)]
        targets = [f"{g}:{loc}" for kind, g, loc in r.ext_communities if kind == "rt"]
        if len(targets) != len(r.ext_communities):
            # The CLI parses route targets only among RFC 4360 communities.
            raise ValueError("gobgp can only add route-target extended communities")
        if targets:
            args += ["rt", *targets]
        self.gobgp(*args, "-a", fam)

    def _local_address(self, version: int) -> str | None:
        """Our own address of that version, to originate routes with (on
        eBGP gobgpd rewrites the next hop to the session's address)."""
        for n in self.neighbors:
            if n.version == version:
                return n.local_address
            other = n.next_hop_v6 if version == 6 else n.next_hop_v4
            if other:
                return other
        return None

    def shutdown_neighbor(self, neighbor: Neighbor, message: str = "") -> None:
        # Cease / Administrative Shutdown.  `disable` cannot carry a
        # message; the older `shutdown` (which the CLI calls deprecated)
        # passes --reason as the RFC 9003 communication.
        args = ["neighbor", neighbor.address, "shutdown" if message else "disable"]
        if message:
            args += ["--reason", message]
        self.gobgp(*args)

    def enable_neighbor(self, neighbor: Neighbor) -> None:
        self.gobgp("neighbor", neighbor.address, "enable")

    def request_refresh(self, neighbor: Neighbor) -> None:
        # `neighbor X softresetin` re-applies the import policy to the
        # Adj-RIB-In gobgpd keeps and sends nothing to the peer.
        raise NotImplementedError("gobgp cannot be made to send a ROUTE-REFRESH")

    def announce(self, route: Route) -> None:
        self.routes.append(route)
        self.add_route(route)

    def withdraw(self, route: Route) -> None:
        self.routes.remove(route)
        self.gobgp("global", "rib", "del", route.prefix, "-a", f"ipv{route.version}")

    def established(self, neighbor: Neighbor) -> bool:
        out = self.gobgp("neighbor", neighbor.address, "-j", check=False)
        try:
            data = json.loads(out)
        except ValueError:
            return False
        state = data.get("state", {}).get("session_state")
        return state in (6, "established", "ESTABLISHED")

    def config_text(self) -> str:
        t = ["[global.config]", f"  as = {self.asn}", f'  router-id = "{self.router_id}"',
             f"  port = {BGP_PORT}"]
        locals_ = sorted({n.local_address for n in self.neighbors})
        if locals_:
            t.append("  local-address-list = [" + ", ".join(f'"{a}"' for a in locals_) + "]")
        for n in self.neighbors:
            t += ["", "[[neighbors]]", "  [neighbors.config]",
                  f'    neighbor-address = "{n.address}"', f"    peer-as = {n.asn}",
                  f'    description = "{n.name}"']
            if n.password:
                t.append(f'    auth-password = "{n.password}"')
            t += ["  [neighbors.timers.config]", f"    hold-time = {n.hold_time}",
                  f"    keepalive-interval = {max(1, n.hold_time // 3)}",
                  "    connect-retry = 1",
                  "  [neighbors.transport.config]", f'    local-address = "{n.local_address}"']
            if n.passive:
                t.append("    passive-mode = true")
            if n.graceful_restart:
                t += ["  [neighbors.graceful-restart.config]", "    enabled = true",
                      "    restart-time = 120"]
            if n.rr_client:
                t += ["  [neighbors.route-reflector.config]",
                      "    route-reflector-client = true",
                      f'    route-reflector-cluster-id = "{self.router_id}"']
            for f in n.families:
                t += ["  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]",
                      f'      afi-safi-name = "{f}-unicast"']
                if n.graceful_restart:
                    t += ["    [neighbors.afi-safis.mp-graceful-restart.config]",
                          "      enabled = true"]
            if not n.import_routes:
                t += ["  [neighbors.apply-policy.config]",
                      '    default-import-policy = "reject-route"']
        if self.extra_config:
            t.append(self.extra_config)
        return "\n".join(t) + "\n"


# ---------------------------------------------------------------------------
# ExaBGP

_API_READER = """#!/bin/sh
# Forward every line written to the named pipe to ExaBGP (our stdout).  The
# pipe is opened read-write so that this reader never sees end-of-file
# between two writers, and no command is lost while it would reopen it.
exec cat <> "$1"
"""


_RECORDER = """#!/bin/sh
# Append what ExaBGP reports (one JSON object per line) to a file.  ExaBGP
# takes the end of a helper's standard output for the helper's end, so cat
# keeps it open as descriptor 3.
exec cat 3>&1 >> "$1"
"""


class ExaBgp(Daemon):
    """ExaBGP 4.x: routes are static in the configuration; commands go to
    its text API through a helper process that copies a named pipe to
    ExaBGP.  ``teardown`` sends Cease with the subcode given; ExaBGP fills
    the RFC 9003 communication with the subcode's name itself, so
    ``shutdown_neighbor`` cannot choose the message.

    ExaBGP keeps no table of what it receives; with ``record_received`` a
    second helper appends the state changes, UPDATEs, ROUTE-REFRESHes and
    NOTIFICATIONs ExaBGP reports (its JSON API encoding) to a file, which
    ``received()`` reads back."""

    kind = "exabgp"
    shutdown_message = False

    def __init__(self, lab, ns, *, record_received: bool = False, **kw):
        self.record_received = record_received
        super().__init__(lab, ns, **kw)

    @property
    def fifo(self) -> Path:
        return self.dir / "api.fifo"

    @property
    def received_path(self) -> Path:
        return self.dir / "received.json"

    def received(self) -> list[dict]:
        """What ExaBGP reported (``record_received``): state changes and the
        messages it received, in order, as its JSON API encodes them."""
        try:
            lines = self.received_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    @classmethod
    def binaries(cls) -> list[str]:
        return ["exabgp"]

    @classmethod
    def version(cls) -> str:
        res = run(["exabgp", "--version"], check=False)
        m = re.search(r"ExaBGP\s*:\s*(\S+)", res.stdout + res.stderr)
        return f"ExaBGP {m.group(1)}" if m else "ExaBGP ?"

    def argv(self) -> list[str]:
        return ["exabgp", str(self.config_path)]

    def check_argv(self) -> list[str]:
        return ["exabgp", "--validate", str(self.config_path)]

    def check_env(self) -> dict:
        env = self._full_env()
        env["exabgp_tcp_bind"] = ""     # validating must not listen
        return env

    def env(self) -> dict:
        passive = [n.local_address for n in self.neighbors if n.passive]
        return {
            "exabgp_daemon_user": "root",
            "exabgp_daemon_drop": "false",
            "exabgp_daemon_daemonize": "false",
            "exabgp_daemon_pid": str(self.dir / "exabgp.pid"),
            "exabgp_log_destination": "stdout",
            "exabgp_log_level": "INFO",
            "exabgp_log_short": "true",
            "exabgp_api_cli": "false",
            "exabgp_tcp_bind": " ".join(passive),
            "exabgp_tcp_port": str(BGP_PORT),
            "exabgp_reactor_speed": "0.1",
            **self.extra_env,
        }

    def write_config(self) -> Path:
        if not self.fifo.exists():
            os.mkfifo(self.fifo, 0o600)
        reader = self.dir / "api-reader.sh"
        reader.write_text(_API_READER)
        os.chmod(reader, 0o755)
        if self.record_received:
            recorder = self.dir / "recorder.sh"
            recorder.write_text(_RECORDER)
            os.chmod(recorder, 0o755)
        return super().write_config()

    def wait_ready(self, timeout: float) -> None:
        if any(n.passive for n in self.neighbors):
            self.lab.wait_listening(self.ns, BGP_PORT, timeout, self.proc)
        else:
            wait_until(lambda: self._check_alive() and self._reader_attached(), timeout,
                       f"{self.name} API reader")

    def _reader_attached(self) -> bool:
        try:
            fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        os.close(fd)
        return True

    def api(self, command: str, timeout: float = 10.0) -> None:
        """Send one text API command ('neighbor 10.0.1.1 teardown 2', ...)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:            # ENXIO: the reader has not opened it yet
                if time.monotonic() >= deadline:
                    raise LabError(f"{self.name}: API pipe has no reader") from None
                time.sleep(0.02)
        try:
            os.write(fd, command.encode() + b"\n")
        finally:
            os.close(fd)

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        """Send the words as one API command; ExaBGP's answers go to its
        log, so nothing comes back."""
        self.api(" ".join(args), timeout)
        return ""

    def shutdown_neighbor(self, neighbor: Neighbor, message: str = "") -> None:
        # Subcode 2: Administrative Shutdown.
        self.api(f"neighbor {neighbor.address} teardown 2")

    def established(self, neighbor: Neighbor) -> bool:
        # ExaBGP answers API queries on its helper's stdin, which nobody
        # reads: look at the TCP session instead, and at the last state
        # change it reported when it records what it receives.
        if not self.ns.tcp_established(neighbor.local_address, neighbor.address, BGP_PORT):
            return False
        return not self.record_received or self.reported_state(neighbor) == "up"

    def reported_state(self, neighbor: Neighbor) -> str | None:
        """The session state ExaBGP last reported for ``neighbor``
        ('connected', 'up', 'down'; ``record_received`` only)."""
        state = None
        for m in self.received():
            nb = m.get("neighbor", {})
            if m.get("type") == "state" and nb.get("address", {}).get("peer") == neighbor.address:
                state = nb.get("state")
        return state

    def announce(self, route: Route) -> None:
        self.routes.append(route)
        for n in self.neighbors:
            if f"ipv{route.version}" in n.families:
                self.api(f"neighbor {n.address} announce {self._route_line(route, n)[:-1]}")

    def request_refresh(self, neighbor: Neighbor) -> None:
        for f in neighbor.families:
            self.api(f"neighbor {neighbor.address} announce route-refresh {f} unicast")

    def withdraw(self, route: Route) -> None:
        self.routes.remove(route)
        for n in self.neighbors:
            if f"ipv{route.version}" in n.families:
                self.api(f"neighbor {n.address} withdraw {self._route_line(route, n)[:-1]}")

    def _route_line(self, r: Route, n: Neighbor) -> str:
        nh = r.next_hop
        if nh is None:
            other = n.next_hop_v6 if r.version == 6 else n.next_hop_v4
            nh = "self" if r.version == n.version else (other or "self")
        parts = [f"route {r.prefix}", f"next-hop {nh}", f"origin {r.origin}"]
        if r.med is not None:
            parts.append(f"med {r.med}")
        if r.local_pref is not None:
            parts.append(f"local-preference {r.local_pref}")
        if r.communities:
            parts.append("community [ " + " ".join(
                f"{c >> 16}:{c & 0xFFFF}" for c in r.community_values()) + " ]")
        if r.large_communities:
            parts.append("large-community [ " + " ".join(
                f"{g}:{a}:{b}" for g, a, b in r.large_communities) + " ]")
        if r.ext_communities:
            kinds = {"rt": "target", "ro": "origin"}
            parts.append("extended-community [ " + " ".join(
                f"{kinds[k]}:{g}:{loc}" for k, g, loc in r.ext_communities) + " ]")
        if r.prepend:
            # ExaBGP sends the AS_PATH it is given; towards an eBGP peer the
            # local AS must be in it already.
            path = [self.asn] * (r.prepend + (1 if n.asn != self.asn else 0))
            parts.append("as-path [ " + " ".join(map(str, path)) + " ]")
        return " ".join(parts) + ";"

    def config_text(self) -> str:
        out = ["process api {",
               f"  run /bin/sh {self.dir / 'api-reader.sh'} {self.fifo};",
               "  encoder text;", "}", ""]
        if self.record_received:
            out += ["process recorder {",
                    f"  run /bin/sh {self.dir / 'recorder.sh'} {self.received_path};",
                    "  encoder json;", "}", ""]
        for n in self.neighbors:
            out.append(f"neighbor {n.address} {{")
            out.append(f"  description \"{n.name}\";")
            out.append(f"  router-id {self.router_id};")
            out.append(f"  local-address {n.local_address};")
            out.append(f"  local-as {self.asn};")
            out.append(f"  peer-as {n.asn};")
            out.append(f"  hold-time {n.hold_time};")
            if n.password:
                out.append(f"  md5-password \"{n.password}\";")
            if n.passive:
                out.append("  passive true;")
            out.append("  family {")
            out.extend(f"    {f} unicast;" for f in n.families)
            out.append("  }")
            out.append("  capability {")
            out.append("    route-refresh;")
            if n.graceful_restart:
                # With graceful restart negotiated, ExaBGP closes the
                # session on teardown without any NOTIFICATION.
                out.append("    graceful-restart 120;")
            out.append("  }")
            out.append("  api {")
            out.append("    processes [ api ];")
            out.append("  }")
            if self.record_received:
                out += ["  api {", "    processes [ recorder ];",
                        "    neighbor-changes;",
                        "    receive { parsed; update; refresh; notification; }", "  }"]
            routes = [r for r in self.routes if f"ipv{r.version}" in n.families]
            if routes:
                out.append("  static {")
                out.extend(f"    {self._route_line(r, n)}" for r in routes)
                out.append("  }")
            out.append("}")
        if self.extra_config:
            out.append(self.extra_config)
        return "\n".join(out) + "\n"


DAEMONS = {cls.kind: cls for cls in (Bird16, Bird2, Frr, GoBgp, ExaBgp)}

__all__ = ["Bird16", "Bird2", "DAEMONS", "Daemon", "ExaBgp", "Frr", "GoBgp", "Neighbor",
           "Route"]
