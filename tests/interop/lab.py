"""A small network lab built from Linux network namespaces, for the tests
that run real BGP daemons.

How it works
------------
A ``Lab`` is a context manager that owns everything it creates:

- namespaces, named ``bgpt<pid>-<tag>-<role><n>`` (the pid of the test
  process, a tag naming the test, a serial number) so that two test runs,
  or a test run and the leftovers of a killed one, never clash; leftovers
  whose process is gone are swept when the next lab starts;
- veth links between two namespaces, created with both ends already in
  their namespaces (``ip link add ... netns A type veth peer ... netns B``),
  so that no interface ever appears in the root namespace, each end with
  an IPv4 and an IPv6 address;
- processes started inside a namespace with ``ip netns exec`` (each in its
  own session, so that its whole process group can be signalled), with
  their output in a log file under the lab's work directory.

``Lab.close()`` (run by ``__exit__``, so also when a test fails) stops every
process it started (SIGTERM, then SIGKILL after a grace period), kills
whatever else still runs inside its namespaces (``ip netns pids``), deletes
the namespaces, and removes the work directory unless asked to keep it.
Nothing in the lab has a route out of the machine: namespaces only get the
addresses of their own links and loopback.

IPv6 duplicate address detection is switched off in every namespace
(``accept_dad=0`` before any link exists, and ``nodad`` on each address),
so addresses are usable as soon as they are added.

Sockets for in-process test peers are made inside a namespace with
``Namespace.socket()``: the calling thread enters the namespace with
``setns(2)`` just long enough to create the socket, which stays bound to
that namespace's network stack for its whole life.

Waiting is always bounded: ``wait_until(predicate, timeout)`` polls with a
deadline and raises ``LabTimeout`` naming what it waited for.

Usage::

    with Lab() as lab:
        a, b = lab.namespace("peer"), lab.namespace("bird")
        link = lab.link(a, b)                 # 10.0.1.1/24 <-> 10.0.1.2/24, fd00:1::1/64 <-> ...
        proc = lab.spawn(b, ["bird", "-f", ...], name="bird")
        lab.wait_listening(b, 179)

or, in pytest, the ``lab`` fixture of ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/var/run/netns")
NAME_PREFIX = "bgpt"
WORKDIR_PREFIX = "bgpd-lab-"
# Interface names are at most 15 characters (IFNAMSIZ - 1).
IFNAME_MAX = 15
TCP_LISTEN = "0A"           # socket state in /proc/net/tcp*



class LabError(RuntimeError):
    """A lab command failed; the message holds the command and its output."""


class LabTimeout(LabError, TimeoutError):
    """A bounded wait ran out."""


# ---------------------------------------------------------------------------
# Plain helpers

def run(argv: list[str], *, timeout: float = 10.0, check: bool = True,
        input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command to completion with a deadline; raise LabError on failure."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             input=input, env=env)
    except subprocess.TimeoutExpired as e:
        raise LabTimeout(f"{' '.join(argv)}: no exit within {timeout}s") from e
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(argv)} exited {res.returncode}: "
                       f"{(res.stderr or res.stdout).strip()}")
    return res


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate()`` until it returns something true; return that value.

    Raises LabTimeout after ``timeout`` seconds.  The poll interval grows up
    to 0.25 s so that long waits do not spin."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


def is_root() -> bool:
    return os.geteuid() == 0


def missing_tools(*names: str) -> list[str]:
    """The executables among ``names`` that are not installed."""
    return [n for n in names if shutil.which(n) is None and not os.access(n, os.X_OK)]


# ---------------------------------------------------------------------------
# Namespaces, links, processes

@dataclass
class Namespace:
    """One network namespace of a lab."""

    name: str
    role: str
    lab: "Lab" = field(repr=False)
    interfaces: list[str] = field(default_factory=list)

    def exec_argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        """Run a command inside the namespace to completion (see ``run``)."""
        return run(self.exec_argv(argv), **kw)

    def ip(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.name, *args], **kw)

    def sysctl(self, *settings: str) -> None:
        """Set sysctls inside the namespace: ``ns.sysctl("net.ipv4.ip_forward=1")``."""
        self.run(["sysctl", "-qw", *settings])

    def operstate(self, ifname: str) -> str:
        """The interface's operational state ('UP', 'DOWN', 'LOWERLAYERDOWN', ...)."""
        res = self.ip("-o", "link", "show", "dev", ifname)
        m = re.search(r"state (\S+)", res.stdout)
        return m.group(1) if m else ""

    @contextlib.contextmanager
    def entered(self):
        """Run the body with the calling thread inside this namespace.

        setns(2) moves only the calling thread, so other threads are not
        affected and need no lock."""
        target = os.open(NETNS_DIR / self.name, os.O_RDONLY)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(target, f"setns into {self.name}")
            try:
                yield self
            finally:
                # Carrying on in the wrong namespace would send test
                # traffic to the wrong place: give up loudly.
                _setns(home, "setns back home", fatal=True)
        finally:
            os.close(target)
            os.close(home)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM) -> socket.socket:
        """A socket living in this namespace's network stack."""
        with self.entered():
            return socket.socket(family, type)

    def listening(self, port: int) -> bool:
        """Whether some TCP socket listens on ``port`` in this namespace."""
        return any(s[4] == TCP_LISTEN and s[1] == port for s in self.tcp_sockets())

    def tcp_sockets(self) -> list[tuple[str, int, str, int, str]]:
        """Every TCP socket here as (local address, local port, remote
        address, remote port, state), state as in /proc ('01' established,
        '0A' listening)."""
        out = []
        with self.entered():
            for table in ("/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"):
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        cols = line.split()
                        la, lp = _proc_address(cols[1])
                        ra, rp = _proc_address(cols[2])
                        out.append((la, lp, ra, rp, cols[3]))
        return out

    def tcp_established(self, local: str, remote: str, port: int) -> bool:
        """Whether a TCP connection between ``local`` and ``remote`` with
        ``port`` at either end is established here."""
        local, remote = str(ipaddress.ip_address(local)), str(ipaddress.ip_address(remote))
        return any(s[4] == "01" and s[0] == local and s[2] == remote and port in (s[1], s[3])
                   for s in self.tcp_sockets())


def _setns(fd: int, what: str, fatal: bool = False) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        if fatal:
            os.abort()
        raise LabError(f"{what}: {os.strerror(ctypes.get_errno())}")


def _proc_address(text: str) -> tuple[str, int]:
    """Address and port of a /proc/net/tcp* column ('0100007F:00B3')."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    # The kernel prints each 32-bit word in host (little-endian) order.
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


@dataclass
class Link:
    """A veth pair; ``a_*`` is the end in namespace ``a``, ``b_*`` in ``b``."""

    a: Namespace
    b: Namespace
    a_if: str
    b_if: str
    a_v4: str
    b_v4: str
    a_v6: str
    b_v6: str
    prefix_v4: int
    prefix_v6: int

    def addresses(self, ns: Namespace) -> tuple[str, str]:
        """(IPv4, IPv6) of ``ns``'s end."""
        return (self.a_v4, self.a_v6) if ns is self.a else (self.b_v4, self.b_v6)

    def peer_addresses(self, ns: Namespace) -> tuple[str, str]:
        """(IPv4, IPv6) of the end opposite ``ns``."""
        return (self.b_v4, self.b_v6) if ns is self.a else (self.a_v4, self.a_v6)

    def interface(self, ns: Namespace) -> str:
        return self.a_if if ns is self.a else self.b_if


@dataclass
class Process:
    """A process the lab started; ``pid`` is also its process group."""

    name: str
    ns: Namespace | None
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

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def _exited(self) -> bool:
        """Whether the leader has exited, *without* reaping it: while it is
        an unreaped zombie its pid (our process group id) cannot be reused,
        so signalling the group can only reach processes we started."""
        if self.popen.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def stop(self, grace: float = 3.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process group, give it ``grace`` seconds, then SIGKILL
        whatever is left of the group; return the leader's exit status."""
        if self.popen.returncode is None:
            self.send_signal(sig)
            deadline = time.monotonic() + grace
            interval = 0.01
            while not self._exited() and time.monotonic() < deadline:
                time.sleep(interval)
                interval = min(interval * 2, 0.1)
            # Children left in the group go too, even when the leader is gone.
            self.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        return self.popen.returncode


class Lab:
    """Namespaces, veth links and processes, all removed by ``close()``.

    ``workdir`` holds configuration files, sockets, pid files and logs; it is
    deleted on close unless ``keep`` is true or the environment variable
    ``BGPD_LAB_KEEP`` is set (useful when a test fails and the logs are
    wanted).  ``stop_grace`` is how long each process gets between SIGTERM
    and SIGKILL at teardown.
    """

    def __init__(self, tag: str = "", keep: bool | None = None, stop_grace: float = 2.0):
        self.pid = os.getpid()
        self.stop_grace = stop_grace
        self.tag = re.sub(r"[^a-z0-9]", "", tag.lower())[:8]
        self.keep = bool(os.environ.get("BGPD_LAB_KEEP")) if keep is None else keep
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{self.pid}-"))
        os.chmod(self.workdir, 0o755)     # daemons that drop privileges read their configs here
        self.namespaces: list[Namespace] = []
        self.links: list[Link] = []
        self.processes: list[Process] = []
        self._closed = False
        self._serial = 0
        sweep_stale()

    # -- context manager -------------------------------------------------
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- building ----------------------------------------------------------
    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def namespace(self, role: str) -> Namespace:
        """A new namespace with loopback up and IPv6 DAD off."""
        role = re.sub(r"[^a-z0-9]", "", role.lower())[:12] or "ns"
        name = f"{NAME_PREFIX}{self.pid}-{self.tag + '-' if self.tag else ''}{role}{self._next()}"
        run(["ip", "netns", "add", name])
        ns = Namespace(name, role, self)
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        # Before any interface exists, so that every new one inherits it.
        ns.sysctl("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
        return ns

    def link(self, a: Namespace, b: Namespace, v4: str | None = None, v6: str | None = None,
             mtu: int | None = None) -> Link:
        """A veth pair between ``a`` and ``b``, both ends up and addressed.

        ``v4``/``v6`` are the link's subnets (default 10.0.N.0/24 and
        fd00:N::/64, N counting links in this lab); ``a`` gets the first host
        address, ``b`` the second."""
        n = len(self.links) + 1
        net4 = ipaddress.ip_network(v4 or f"10.0.{n}.0/24")
        net6 = ipaddress.ip_network(v6 or f"fd00:{n:x}::/64")
        hosts4 = net4.hosts()
        a_v4, b_v4 = str(next(hosts4)), str(next(hosts4))
        a_v6, b_v6 = str(net6.network_address + 1), str(net6.network_address + 2)
        a_if = self._ifname(a, b)
        b_if = self._ifname(b, a)
        cmd = ["ip", "link", "add", a_if, "netns", a.name, "type", "veth",
               "peer", "name", b_if, "netns", b.name]
        run(cmd)
        for ns, ifname, addr4, addr6 in ((a, a_if, a_v4, a_v6), (b, b_if, b_v4, b_v6)):
            ns.interfaces.append(ifname)
            if mtu:
                ns.ip("link", "set", ifname, "mtu", str(mtu))
            ns.ip("addr", "add", f"{addr4}/{net4.prefixlen}", "dev", ifname)
            ns.ip("-6", "addr", "add", f"{addr6}/{net6.prefixlen}", "dev", ifname, "nodad")
            ns.ip("link", "set", ifname, "up")
        link = Link(a, b, a_if, b_if, a_v4, b_v4, a_v6, b_v6, net4.prefixlen, net6.prefixlen)
        self.links.append(link)
        # The carrier comes up a moment after both ends are set up; traffic
        # sent before that is lost.
        for ns, ifname in ((a, a_if), (b, b_if)):
            wait_until(lambda: ns.operstate(ifname) == "UP", 5.0, f"{ifname} up in {ns.name}")
        return link

    @staticmethod
    def _ifname(ns: Namespace, other: Namespace) -> str:
        return f"to-{other.role}{len(ns.interfaces)}"[:IFNAME_MAX]

    def path(self, name: str) -> Path:
        """A path inside the lab's work directory."""
        return self.workdir / name

    def write(self, name: str, text: str, mode: int = 0o644) -> Path:
        p = self.path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)
        return p

    # -- processes ---------------------------------------------------------
    def spawn(self, ns: Namespace | None, argv: list[str], name: str,
              env: dict | None = None, stdin=subprocess.DEVNULL,
              cwd: str | None = None) -> Process:
        """Start ``argv`` inside ``ns`` (None: the root namespace), in a new
        session, with stdout and stderr appended to ``<workdir>/<name>.log``."""
        log = self.path(f"{name}.log")
        full = ns.exec_argv(argv) if ns is not None else list(argv)
        merged = None
        if env is not None:
            merged = dict(os.environ)
            merged.update(env)
        with open(log, "ab") as out:
            popen = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, stdin=stdin,
                                     env=merged, cwd=cwd or self.workdir,
                                     start_new_session=True)
        proc = Process(name, ns, popen, log)
        self.processes.append(proc)
        return proc

    def wait_listening(self, ns: Namespace, port: int, timeout: float = 10.0,
                       proc: Process | None = None) -> None:
        """Wait until something listens on TCP ``port`` in ``ns``; fail early
        if ``proc`` dies meanwhile."""
        def ready():
            if proc is not None and not proc.alive():
                raise LabError(f"{proc.name} exited {proc.popen.returncode} before listening "
                               f"on port {port}:\n{proc.output()[-2000:]}")
            return ns.listening(port)
        wait_until(ready, timeout, f"a listener on port {port} in {ns.name}")

    def capture(self, ns: Namespace, ifname: str, pcap: str | Path,
                bpf: str = "tcp port 179", timeout: float = 10.0) -> Process:
        """Start tcpdump on ``ifname`` in ``ns`` writing ``pcap``; return once
        it captures.  Stop it with ``Process.stop()`` (SIGTERM makes tcpdump
        flush and close the file)."""
        pcap = Path(pcap)
        # Immediate mode hands each packet over at once (so that stopping
        # loses nothing), -U writes it out at once, and a 16 MB buffer
        # absorbs the bursts a daemon sends when a session comes up.
        argv = ["tcpdump", "-i", ifname, "-w", str(pcap), "-U", "--immediate-mode",
                "-B", "16384", "-s", "0", "-n", "-Z", "root", bpf]
        proc = self.spawn(ns, argv, name=f"tcpdump-{pcap.stem}")
        wait_until(lambda: "listening on" in proc.output() or not proc.alive(), timeout,
                   f"tcpdump on {ifname} in {ns.name}")
        if not proc.alive():
            raise LabError(f"tcpdump failed: {proc.output()[-1000:]}")
        return proc

    # -- teardown ----------------------------------------------------------
    def close(self) -> None:
        """Stop every process and delete every namespace; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for proc in reversed(self.processes):
            try:
                proc.stop(grace=self.stop_grace)
            except Exception as e:           # keep tearing down the rest
                errors.append(f"stopping {proc.name}: {e}")
        for ns in reversed(self.namespaces):
            try:
                kill_namespace_processes(ns.name)
                run(["ip", "netns", "del", ns.name], check=False)
            except Exception as e:
                errors.append(f"deleting {ns.name}: {e}")
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise LabError("lab teardown: " + "; ".join(errors))


def kill_namespace_processes(name: str) -> None:
    """SIGKILL every process still inside namespace ``name`` and wait for
    them to go, so that the namespace can really be freed."""
    res = run(["ip", "netns", "pids", name], check=False)
    pids = [int(p) for p in res.stdout.split() if p.isdigit()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if pids:
        wait_until(lambda: not run(["ip", "netns", "pids", name], check=False).stdout.strip(),
                   5.0, f"processes in {name} to exit")


def lab_namespaces() -> list[str]:
    """Names of every namespace made by a lab (of any test run)."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if re.match(rf"{NAME_PREFIX}\d+-", n))


def _owner_gone(pid: int, since: float) -> bool:
    """Whether the test process ``pid`` that made something at time
    ``since`` is gone: no such process, a zombie nobody reaped, or a newer
    process that was given the same pid."""
    if pid == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (FileNotFoundError, ProcessLookupError):
        return True
    if fields[0] == "Z":
        return True
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started > since + 1


def sweep_stale() -> None:
    """Delete the namespaces (and the processes in them) and work
    directories left by lab runs whose process no longer exists: a run
    killed with SIGKILL cannot clean up after itself."""
    for name in lab_namespaces():
        pid = int(re.match(rf"{NAME_PREFIX}(\d+)-", name).group(1))
        with contextlib.suppress(FileNotFoundError):
            if _owner_gone(pid, (NETNS_DIR / name).stat().st_mtime):
                kill_namespace_processes(name)
                run(["ip", "netns", "del", name], check=False)
    if os.environ.get("BGPD_LAB_KEEP"):
        return
    for d in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        m = re.match(rf"{WORKDIR_PREFIX}(\d+)-", d.name)
        with contextlib.suppress(FileNotFoundError):
            if m and d.is_dir() and _owner_gone(int(m.group(1)), d.stat().st_mtime):
                shutil.rmtree(d, ignore_errors=True)


__all__ = ["Lab", "LabError", "LabTimeout", "Link", "Namespace", "Process", "is_root",
           "kill_namespace_processes", "lab_namespaces", "missing_tools", "run", "sweep_stale",
           "wait_until"]
