"""Two private network namespaces joined by one veth pair, and the
processes started in them; everything removed by ``close()``.

Names are ``bcmp<pid>-<random>-dut`` / ``-sim`` so that concurrent runs
(and other people's tests) never clash.  The daemon side gets 10.0.0.1/16,
the simulator side every address of the case's peers (added in one ``ip
-batch``).  Nothing gets a route out of the machine.

Processes run under ``ip netns exec``, which exec()s the command, so the
pid we hold is the daemon's own (what /proc/PID/stat must be read for).
Each is in a session of its own; ``close()`` sends SIGTERM to each process
group, SIGKILL after a grace period, then SIGKILLs whatever is still in the
namespaces (``ip netns pids``) before deleting them.

``proc_cpu``/``proc_peak_rss`` read /proc/PID/stat (utime + stime, and
cutime + cstime of reaped children) and /proc/PID/status (VmHWM).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def sh(argv: list[str], timeout: float = 30.0, input: str | None = None) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}... exited {res.returncode}: "
                           f"{(res.stderr or res.stdout).strip()[:500]}")
    return res.stdout


def proc_cpu(pid: int) -> float:
    """utime + stime (+ reaped children's) of ``pid`` in seconds, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def proc_peak_rss(pid: int) -> int:
    """VmHWM of ``pid`` in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def listening(pid: int, port: int) -> bool:
    """Whether a TCP socket listens on ``port`` in ``pid``'s namespace."""
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            return False
    return False


class Lab:
    def __init__(self, dut_address: str, prefix_len: int, sim_addresses: list[str],
                 workdir: str):
        tag = f"bcmp{os.getpid()}-{secrets.token_hex(2)}"
        self.dut, self.sim = f"{tag}-dut", f"{tag}-sim"
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []
        self.created: list[str] = []
        try:
            for ns in (self.dut, self.sim):
                sh(["ip", "netns", "add", ns])
                self.created.append(ns)
                sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            dev = f"v{tag[-4:]}"
            sh(["ip", "link", "add", f"{dev}d", "netns", self.dut, "type", "veth",
                "peer", "name", f"{dev}s", "netns", self.sim])
            sh(["ip", "-n", self.dut, "addr", "add", f"{dut_address}/{prefix_len}",
                "dev", f"{dev}d"])
            batch = "".join(f"addr add {a}/{prefix_len} dev {dev}s\n" for a in sim_addresses)
            sh(["ip", "-n", self.sim, "-batch", "-"], input=batch)
            for ns, d in ((self.dut, f"{dev}d"), (self.sim, f"{dev}s")):
                sh(["ip", "-n", ns, "link", "set", d, "up"])
            deadline = time.monotonic() + 5
            while "LOWER_UP" not in sh(["ip", "-n", self.sim, "link", "show", f"{dev}s"]):
                if time.monotonic() > deadline:
                    raise RuntimeError("veth carrier did not come up")
                time.sleep(0.02)
        except BaseException:
            self.close()
            raise

    def spawn(self, ns: str, argv: list[str], log: str, env: dict | None = None,
              pipes: bool = False, cwd: str | None = None) -> subprocess.Popen:
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        with open(os.path.join(self.workdir, log), "ab") as out:
            p = subprocess.Popen(
                ["ip", "netns", "exec", ns, *argv], env=full_env, cwd=cwd or self.workdir,
                stdout=subprocess.PIPE if pipes else out, stderr=out,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                start_new_session=True)
        self.procs.append(p)
        return p

    @staticmethod
    def stop(p: subprocess.Popen, grace: float = 3.0) -> None:
        if os.environ.get("BENCH_COMPARE_PROFILE"):
            grace = max(grace, 60.0)        # let cProfile write its stats
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(5)
        for f in (p.stdin, p.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()

    def close(self) -> None:
        for p in reversed(self.procs):
            self.stop(p, grace=2.0)
        self.procs.clear()
        for ns in reversed(self.created):
            res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in res.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created.clear()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
