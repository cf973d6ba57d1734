"""The running demo lab: its state directory, daemons, and what an operator
would look at.

How it works
------------
A ``DemoLab`` owns a state directory, ``/run/bgpd-demo/<name>/`` (``name``
is the namespace prefix without its trailing dash), that holds every
daemon's configuration (``<host>.toml``), control socket (``<host>.ctl``)
and log (``<host>.log``), and ``state.json``: the prefix, the pid of the
demo, the namespaces made so far and the pid of every daemon running.  The
file is rewritten after every change, so ``bgpd demo --down`` (``down``)
finds a kept lab, or the remains of a demo that was killed, even when the
namespace names alone would not be enough.

Daemons run as ``ip netns exec <ns> python3 -m bgpd run --config FILE
--socket SOCK --log-level info``, one per namespace.  The lab waits until
the control socket answers before going on.  Queries made to decide
something (polling) use ``bgpd.ctl.request`` in-process; what is shown to
the operator is the real ``bgpctl`` output, run as a command.

``down`` stops daemons first (SIGTERM: they send Cease to their peers),
then deletes every namespace (which kills what is left inside and takes
every route, VXLAN device and veth with it), then removes the directory.
Processes are only ever signalled by the pids this lab recorded, and only
while their command line still names the lab's directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

from bgpd.ctl import request

from . import netns
from .topology import Topology

STATE_ROOT = Path("/run/bgpd-demo")
DEFAULT_PREFIX = "bgpdemo-"
# The directory that holds the ``bgpd`` package, for the daemons' PYTHONPATH.
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


def state_dir(prefix: str, root: Path = STATE_ROOT) -> Path:
    return root / (prefix.rstrip("-") or "bgpdemo")


def check_prefix(prefix: str) -> str:
    """Namespace names are also file names: letters, digits, '-', '_' only."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,23}", prefix):
        raise netns.DemoError(f"--prefix {prefix!r}: use up to 24 lower-case letters, "
                              "digits, '-' or '_', starting with a letter")
    return prefix


class DemoLab:
    def __init__(self, prefix: str = DEFAULT_PREFIX, root: Path = STATE_ROOT):
        self.topo = Topology(check_prefix(prefix))
        self.dir = state_dir(prefix, root)
        self.daemons: dict[str, netns.Process] = {}
        self.namespaces: list[str] = []

    # -- state -------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    def open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.save()

    def save(self) -> None:
        state = {"prefix": self.topo.prefix, "demo_pid": os.getpid(),
                 "directory": str(self.dir), "namespaces": self.namespaces,
                 "daemons": {h: p.pid for h, p in self.daemons.items() if p.alive()}}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)

    def _created(self, ns: str) -> None:
        self.namespaces.append(ns)
        self.save()

    def build(self) -> None:
        self.topo.build(self._created)

    # -- daemons -----------------------------------------------------------------------
    def socket(self, host: str) -> str:
        return str(self.dir / f"{host}.ctl")

    def config_path(self, host: str) -> Path:
        return self.dir / f"{host}.toml"

    def log_path(self, host: str) -> Path:
        return self.dir / f"{host}.log"

    def start(self, host: str, config: str, timeout: float = 15.0) -> netns.Process:
        """Write ``config`` and run the daemon of ``host``; return once its
        control socket answers."""
        return self.start_many({host: config}, timeout)[host]

    def start_many(self, configs: dict[str, str], timeout: float = 15.0) -> dict:
        """Start several daemons at once ({host: config text}); return
        once every control socket answers."""
        procs = {}
        for host, config in configs.items():
            path = self.config_path(host)
            path.write_text(config)
            argv = [sys.executable, "-m", "bgpd", "run", "--config", str(path),
                    "--socket", self.socket(host), "--log-level", "info"]
            env = {"PYTHONPATH": SOURCE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket(host))
            procs[host] = self.daemons[host] = netns.spawn(
                self.topo.ns(host), argv, f"bgpd-{host}", self.log_path(host), env)
        self.save()
        waiting = set(procs)

        def ready():
            for host in list(waiting):
                proc = procs[host]
                if not proc.alive():
                    raise netns.DemoError(f"bgpd on {host} exited {proc.popen.returncode}:\n"
                                          + _tail(proc.output()))
                try:
                    if request(self.socket(host), ["show", "status"], timeout=2).get("ok"):
                        waiting.discard(host)
                except (OSError, ValueError):
                    pass
            return not waiting
        netns.wait_until(ready, timeout, f"answer from bgpd on {', '.join(sorted(waiting))}")
        return procs

    def stop(self, host: str, sig: int = signal.SIGTERM) -> None:
        proc = self.daemons.pop(host, None)
        if proc is not None:
            proc.stop(sig)
            self.save()

    def kill(self, host: str) -> int:
        """SIGKILL the daemon of ``host`` (no Cease, no cleanup); its pid."""
        proc = self.daemons.pop(host)
        proc.send(signal.SIGKILL)
        proc.popen.wait(5)
        self.save()
        return proc.pid

    def running(self) -> list[str]:
        return [h for h, p in self.daemons.items() if p.alive()]

    # -- queries -----------------------------------------------------------------------
    def query(self, host: str, *words: str):
        """The daemon's answer to a control command (decoded JSON)."""
        proc = self.daemons.get(host)
        if proc is not None and not proc.alive():
            raise netns.DemoError(f"bgpd on {host} died (exit {proc.popen.returncode}):\n"
                                  + _tail(proc.output()))
        reply = request(self.socket(host), list(words), timeout=5)
        if not reply.get("ok"):
            raise netns.DemoError(f"{host}: {' '.join(words)}: {reply.get('error')}")
        return reply["result"]

    def sessions(self, host: str) -> dict[str, str]:
        """{protocol name: state} of ``host``'s daemon."""
        return {p["name"]: p["state"] for p in self.query(host, "show", "protocols")}

    def bgpctl_command(self, host: str, *words: str) -> str:
        """The command line an operator types for ``bgpctl WORDS`` on ``host``."""
        return f"ip netns exec {self.topo.ns(host)} bgpctl -s {self.socket(host)} {' '.join(words)}"

    def bgpctl(self, host: str, *words: str) -> str:
        """What ``bgpctl WORDS`` prints on ``host``."""
        res = netns.run([sys.executable, "-m", "bgpd.ctl", "-s", self.socket(host), *words],
                        check=False, timeout=10)
        return res.stdout if res.returncode == 0 else (res.stdout + res.stderr)

    def ip_route(self, ns: str) -> str:
        """``ip route`` in namespace ``ns`` (an operator's view of the FIB)."""
        return netns.ip(ns, "route").stdout

    def kernel_routes(self, host: str) -> dict[str, dict]:
        """The routes our daemons wrote in ``host``'s main table (protocol
        179), by destination."""
        return {r["dst"]: r for r in netns.ip_json(self.topo.ns(host), "route", "show",
                                                   "proto", "179")}

    def link_counters(self, host: str, ifname: str) -> dict:
        """RX/TX packet counters of an interface (empty when it is missing)."""
        res = netns.ip(self.topo.ns(host), "-j", "-s", "link", "show", "dev", ifname,
                       check=False)
        if res.returncode != 0 or not res.stdout.strip():
            return {}
        stats = json.loads(res.stdout)[0].get("stats64", {})
        return {"rx": stats.get("rx", {}).get("packets", 0),
                "tx": stats.get("tx", {}).get("packets", 0)}

    # -- teardown ----------------------------------------------------------------------
    def close(self) -> list[str]:
        """Stop every daemon, delete every namespace, remove the directory;
        the problems met (teardown goes on past each)."""
        problems = []
        for host in list(self.daemons):
            try:
                self.stop(host)
            except Exception as e:        # keep tearing down the rest
                problems.append(f"stopping bgpd on {host}: {e}")
        problems += down(self.topo.prefix, self.dir)
        return problems


def down(prefix: str, directory: Path | None = None) -> list[str]:
    """Remove a demo lab: its daemons (by the recorded pids), its
    namespaces, its state directory.  Safe to run when nothing is left."""
    directory = directory or state_dir(prefix)
    problems = []
    names = set(Topology(prefix).all_namespaces())
    state = read_state(directory)
    if state:
        marker = str(directory)
        for pid in state.get("daemons", {}).values():
            with contextlib.suppress(Exception):
                netns.kill_pid(int(pid), marker)
        names |= set(state.get("namespaces", ()))
    existing = set(netns.namespaces(prefix))
    for ns in sorted(names & existing, reverse=True):      # pods before their nodes
        try:
            netns.delete_namespace(ns)
        except Exception as e:
            problems.append(f"deleting namespace {ns}: {e}")
    left = names & set(netns.namespaces(prefix))
    if left:
        problems.append(f"namespaces still present: {', '.join(sorted(left))}")
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        directory.parent.rmdir()        # only when no other lab's directory is in it
    return problems


def read_state(directory: Path) -> dict:
    try:
        return json.loads((directory / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def owner_running(prefix: str) -> int | None:
    """The pid of a demo that still runs the lab of ``prefix``, if any."""
    state = read_state(state_dir(prefix))
    pid = state.get("demo_pid")
    if not pid or pid == os.getpid():
        return None
    cmdline = netns.pid_cmdline(int(pid))
    return int(pid) if "demo" in cmdline and "bgpd" in cmdline else None


def leftovers(prefix: str) -> list[str]:
    """What an earlier lab of ``prefix`` left: namespaces and/or its directory."""
    names = set(Topology(prefix).all_namespaces()) & set(netns.namespaces(prefix))
    out = sorted(names)
    if state_dir(prefix).exists():
        out.append(str(state_dir(prefix)))
    return out


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
