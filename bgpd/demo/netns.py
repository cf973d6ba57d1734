"""Network namespaces, veth pairs and processes for the demo lab.

How it works
------------
Everything goes through the ``ip`` command (iproute2), as an operator
would type it, so that what the demo does can be repeated by hand:

- ``add_namespace`` makes a namespace with loopback up, IPv6 off (the
  lab is IPv4 only) and reverse-path filtering off (a lab forwards
  asymmetrically while routes converge);
- ``veth`` makes a pair with each end created directly inside its
  namespace (``ip link add A netns X type veth peer name B netns Y``), so
  that no interface ever appears in the host's own namespace and nothing
  of the lab can route off the machine;
- ``spawn`` starts a long-running command inside a namespace with ``ip
  netns exec`` (which execs, so the pid is the command's own), in a new
  session so that a Ctrl-C at the terminal reaches the demo only (the
  demo then stops its daemons in order), with its output in a log file;
- ``stop`` signals a process and waits for it (SIGKILL after a grace);
- ``delete_namespace`` kills whatever still runs inside a namespace
  (``ip netns pids``) and deletes it.

Every wait is bounded: ``wait_until`` polls with a deadline and raises
``DemoTimeout`` naming what it waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NETNS_DIR = Path("/var/run/netns")


class DemoError(RuntimeError):
    """A lab command failed; the message says which and why."""


class DemoTimeout(DemoError, TimeoutError):
    """A bounded wait ran out."""


def run(argv: list[str], *, timeout: float = 10.0, check: bool = True,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Run a command to completion with a deadline."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired:
        raise DemoTimeout(f"{' '.join(argv)}: no exit within {timeout:g} s") from None
    except FileNotFoundError:
        raise DemoError(f"{argv[0]}: command not found") from None
    if check and res.returncode != 0:
        raise DemoError(f"{' '.join(argv)} exited {res.returncode}: "
                        f"{(res.stderr or res.stdout).strip()}")
    return res


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate()`` until it returns something true, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise DemoTimeout(f"no {what} within {timeout:g} s")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


# -- namespaces ---------------------------------------------------------------------

def namespaces(prefix: str) -> list[str]:
    """Names of the existing namespaces that start with ``prefix``."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def exec_argv(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def ip(ns: str, *args: str, check: bool = True, timeout: float = 10.0):
    return run(["ip", "-n", ns, *args], check=check, timeout=timeout)


def ip_json(ns: str, *args: str):
    """``ip -j -n NS ARGS`` decoded (an empty answer is an empty list)."""
    out = ip(ns, "-j", *args).stdout.strip()
    return json.loads(out) if out else []


def sysctl(ns: str, *settings: str) -> None:
    run(exec_argv(ns, ["sysctl", "-qw", *settings]))


def add_namespace(name: str, forwarding: bool = False) -> None:
    """A new IPv4-only namespace with loopback up and rp_filter off."""
    run(["ip", "netns", "add", name])
    ip(name, "link", "set", "lo", "up")
    # Before any interface exists, so that every new one inherits them.  The
    # lab is IPv4 only: no link-local IPv6 routes to clutter what is shown.
    settings = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]
    if forwarding:
        settings.append("net.ipv4.ip_forward=1")
    sysctl(name, *settings)


def veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """A veth pair, ``if_a`` in ``ns_a`` and ``if_b`` in ``ns_b``, both up."""
    run(["ip", "link", "add", if_a, "netns", ns_a, "type", "veth",
         "peer", "name", if_b, "netns", ns_b])
    ip(ns_a, "link", "set", if_a, "up")
    ip(ns_b, "link", "set", if_b, "up")


def wait_carrier(ns: str, ifname: str, timeout: float = 5.0) -> None:
    """Traffic sent before a veth's carrier is up is lost: wait for it."""
    def up():
        link = ip_json(ns, "link", "show", "dev", ifname)
        return link and link[0].get("operstate") == "UP"
    wait_until(up, timeout, f"carrier on {ifname} in {ns}")


def namespace_pids(name: str) -> list[int]:
    res = run(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in res.stdout.split() if p.isdigit()]


def delete_namespace(name: str) -> None:
    """Kill what still runs inside ``name``, then delete it."""
    pids = namespace_pids(name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if pids:
        with contextlib.suppress(DemoTimeout):
            wait_until(lambda: not namespace_pids(name), 5.0, f"exit of processes in {name}")
    run(["ip", "netns", "del", name], check=False)


# -- processes ----------------------------------------------------------------------

@dataclass
class Process:
    """A long-running command the lab started; ``pid`` leads its own session."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, grace: float = 5.0) -> int | None:
        """Signal the process, wait up to ``grace``, then SIGKILL; its exit status."""
        if self.popen.poll() is None:
            self.send(sig)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.send(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(5)
        return self.popen.returncode


def spawn(ns: str, argv: list[str], name: str, log: Path,
          env: dict | None = None) -> Process:
    """Start ``argv`` inside namespace ``ns`` in its own session, stdout and
    stderr appended to ``log``."""
    merged = dict(os.environ)
    if env:
        merged.update(env)
    with open(log, "ab") as out:
        popen = subprocess.Popen(exec_argv(ns, argv), stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=merged, start_new_session=True)
    return Process(name, popen, log)


def pid_cmdline(pid: int) -> str:
    """The command line of ``pid`` (empty when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill_pid(pid: int, marker: str, grace: float = 3.0) -> bool:
    """SIGTERM then SIGKILL process ``pid`` if its command line still holds
    ``marker`` (so a reused pid is never hit); whether it was ours."""
    if marker not in pid_cmdline(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and marker in pid_cmdline(pid):
        time.sleep(0.05)
    if marker in pid_cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True
