"""Our daemon in a lab namespace: its configuration, process and control
socket, for the interoperability tests.

How it works
------------
``Bgpd`` writes a TOML configuration from plain descriptions (``Peer``, a
session; ``Originate``, a prefix to announce), starts ``python3 -m bgpd run
-c CONF --socket SOCK --log-level debug`` inside a namespace through
``Lab.spawn`` (so that the lab stops it even when a test fails), and waits
until its control socket answers and it listens on the BGP port.

It is queried the way an operator would: ``ctl(...)`` runs ``python3 -m
bgpd.ctl -s SOCK --json ...`` and returns the decoded answer (``ctl_text``
the columns an operator reads).  Polling loops use ``query(...)``, the same
request over the same socket made in-process by ``bgpd.ctl.request``, so
that waiting does not start a Python process every few milliseconds.

``stop()`` sends SIGTERM, which makes the daemon send Cease / Administrative
Shutdown to its peers before it exits; ``start()`` again runs it anew with
the same configuration (its log grows in the same file).

Every eBGP peer gets ``import = "accept-all"`` and ``export =
"accept-all"`` unless told otherwise: without them RFC 8212 makes an eBGP
session carry nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bgpd.ctl import request

from .lab import Lab, LabError, Namespace, Process, run, wait_until

REPO = Path(__file__).resolve().parents[2]
BGP_PORT = 179


@dataclass(frozen=True)
class Peer:
    """One ``[[peers]]`` entry; ``families`` in the configuration's words
    ('ipv4-unicast', 'ipv6-unicast')."""

    name: str
    address: str
    asn: int
    local_address: str | None = None
    local_asn: int | None = None
    families: tuple = ("ipv4-unicast",)
    hold_time: int = 90
    connect_retry: int = 1
    password: str | None = None
    passive: bool = False
    port: int = BGP_PORT
    graceful_restart: bool = True
    enabled: bool = True
    import_policy: str = "accept-all"
    export_policy: str = "accept-all"


@dataclass(frozen=True)
class Originate:
    """One ``[[originate]]`` entry."""

    prefix: str
    next_hop: str | None = None
    med: int | None = None
    local_pref: int | None = None
    communities: tuple = ()


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


@dataclass
class Bgpd:
    """Our daemon in namespace ``ns`` of ``lab``."""

    lab: Lab
    ns: Namespace
    asn: int
    router_id: str
    peers: list = field(default_factory=list)
    originate: list = field(default_factory=list)
    name: str = ""
    listen: tuple = ("0.0.0.0", "::")
    log_level: str = "debug"
    top: dict = field(default_factory=dict)     # more top-level keys (local_blocks, ...)
    extra: str = ""                             # more TOML tables, as written
    proc: Process | None = None

    def __post_init__(self):
        self.name = self.name or f"bgpd-{self.ns.role}"
        self.dir = self.lab.path(self.name)
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- files -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.dir / "bgpd.toml"

    @property
    def socket(self) -> str:
        return str(self.dir / "bgpd.ctl")

    def config_text(self) -> str:
        top = {"router_id": self.router_id, "asn": self.asn, "listen": list(self.listen),
               "port": BGP_PORT, "hostname": "bgpd-lab", "control_socket": self.socket,
               "log_level": self.log_level, **self.top}
        out = [f"{k} = {_toml(v)}" for k, v in top.items()]
        for p in self.peers:
            out += ["", "[[peers]]"]
            entry = {"name": p.name, "address": p.address, "asn": p.asn,
                     "local_address": p.local_address, "local_asn": p.local_asn,
                     "families": list(p.families), "hold_time": p.hold_time,
                     "connect_retry": p.connect_retry, "password": p.password,
                     "passive": p.passive, "port": p.port,
                     "graceful_restart": p.graceful_restart, "enabled": p.enabled,
                     "import": p.import_policy, "export": p.export_policy}
            out += [f"{k} = {_toml(v)}" for k, v in entry.items() if v is not None]
        for o in self.originate:
            out += ["", "[[originate]]"]
            entry = {"prefix": o.prefix, "next_hop": o.next_hop, "med": o.med,
                     "local_pref": o.local_pref,
                     "communities": list(o.communities) if o.communities else None}
            out += [f"{k} = {_toml(v)}" for k, v in entry.items() if v is not None]
        if self.extra:
            out += ["", self.extra.strip()]
        return "\n".join(out) + "\n"

    def write_config(self) -> Path:
        self.config_path.write_text(self.config_text())
        return self.config_path

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "bgpd", "run", "-c", str(self.config_path),
                "--socket", self.socket, "--log-level", self.log_level]

    # -- process -------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> "Bgpd":
        """Write the configuration, start the daemon, wait until it answers
        on its control socket and listens for BGP."""
        self.write_config()
        env = {"PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = self.lab.spawn(self.ns, self.argv(), self.name, env=env, cwd=str(REPO))

        def ready():
            self._check_alive()
            try:
                request(self.socket, ["show", "status"], timeout=2)
                # The control socket answers while the daemon still reads
                # the kernel; its peers exist once it has started.
                reply = request(self.socket, ["show", "protocols"], timeout=2)
            except (OSError, ValueError):
                return False
            if len(reply.get("result") or ()) < len(self.peers):
                return False
            return not self.listen or self.ns.listening(BGP_PORT)
        wait_until(ready, timeout, f"{self.name} to answer on {self.socket}")
        return self

    def stop(self, grace: float = 6.0) -> int | None:
        """SIGTERM (Cease to every peer), SIGKILL after ``grace``."""
        if self.proc is None:
            return None
        return self.proc.stop(grace=grace, sig=signal.SIGTERM)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def output(self) -> str:
        """The daemon's log (stderr), over every start."""
        return self.proc.output() if self.proc is not None else ""

    def _check_alive(self) -> bool:
        if not self.alive():
            code = self.proc.popen.returncode if self.proc else None
            raise LabError(f"{self.name} is not running (exit {code}):\n{self.output()[-3000:]}")
        return True

    # -- control socket ------------------------------------------------------
    def ctl(self, *words: str, timeout: float = 10.0):
        """``bgpctl --json WORDS``: the daemon's answer, decoded."""
        res = run([sys.executable, "-m", "bgpd.ctl", "-s", self.socket, "--json", *words],
                  timeout=timeout, check=False,
                  env={**os.environ, "PYTHONPATH": str(REPO)})
        if res.returncode != 0:
            raise LabError(f"bgpctl {' '.join(words)} exited {res.returncode}: "
                           f"{(res.stderr or res.stdout).strip()}")
        return json.loads(res.stdout)

    def ctl_text(self, *words: str, timeout: float = 10.0) -> str:
        """``bgpctl WORDS`` as an operator reads it."""
        res = run([sys.executable, "-m", "bgpd.ctl", "-s", self.socket, *words],
                  timeout=timeout, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
        if res.returncode != 0:
            raise LabError(f"bgpctl {' '.join(words)} exited {res.returncode}: "
                           f"{(res.stderr or res.stdout).strip()}")
        return res.stdout

    def query(self, *words: str, timeout: float = 5.0):
        """The same request as ``ctl``, made in-process (for polling)."""
        self._check_alive()
        reply = request(self.socket, list(words), timeout=timeout)
        if not reply.get("ok"):
            raise LabError(f"bgpd {' '.join(words)}: {reply.get('error')}")
        return reply["result"]

    # -- what the tests read ---------------------------------------------------
    def protocol(self, name: str) -> dict:
        """``show protocols NAME``: one summary (state, info, ...)."""
        return self.query("show", "protocols", name)[0]

    def detail(self, name: str) -> dict:
        """``show protocols all NAME``: the detail part (counters, errors, ...)."""
        return self.query("show", "protocols", "all", name)[0]["detail"]

    def established(self, name: str) -> bool:
        return self.protocol(name)["state"] == "Established"

    def wait_established(self, *names: str, timeout: float = 30.0) -> None:
        def up():
            down = [n for n in names if not self.established(n)]
            return not down
        try:
            wait_until(up, timeout, f"{self.name}: {', '.join(names)} established")
        except LabError:
            states = {n: self.protocol(n)["info"] for n in names}
            raise LabError(f"{self.name}: not all established within {timeout}s: {states}\n"
                           f"--- log ---\n{self.output()[-3000:]}") from None

    def wait_down(self, name: str, timeout: float = 20.0) -> dict:
        """Wait until ``name`` leaves Established; its summary."""
        return wait_until(lambda: (p := self.protocol(name))["state"] != "Established" and p,
                          timeout, f"{self.name}: {name} down")

    def routes(self, protocol: str | None = None) -> list[dict]:
        words = ["show", "route"] + (["protocol", protocol] if protocol else [])
        return self.query(*words)

    def best_routes(self) -> dict:
        """``show route``: {prefix: the best route}."""
        return {r["prefix"]: r for r in self.routes()}

    def candidates(self, prefix: str) -> dict:
        """``show route PREFIX all``: {protocol: its path for PREFIX, with
        its standing in the decision process ('status')}."""
        return {r["protocol"]: r for r in self.query("show", "route", prefix, "all")}

    def messages(self, name: str) -> dict:
        """The session's counters (``show protocols all`` messages)."""
        return self.detail(name)["messages"]

    def log_lines(self, pattern: str, since: int = 0) -> list[str]:
        """Log lines from offset ``since`` matching ``pattern`` (a regex)."""
        text = self.output()[since:]
        return [line for line in text.splitlines() if re.search(pattern, line)]

    def log_offset(self) -> int:
        return len(self.output())


__all__ = ["Bgpd", "Originate", "Peer"]
