"""One measurement: one daemon, one case, fresh namespaces.

Order of a run: build the two namespaces; write the daemon's configuration
and start it; wait until it listens on port 179; start the worker
processes group by group (receivers first, feeders second, see
``cases.worker_chunks``), each group's sessions all Established before the
next starts; read the daemon's CPU time; tell every worker "go"; wait for
every worker's "done" (or the timeout); read the daemon's CPU time and
peak RSS at once; stop everything and delete the namespaces (``finally``).

Figures (``Result``):

- ``wall``: from the first byte a feeder offered to the moment the last
  counting session held its whole set (monotonic clock, shared by every
  process);
- ``cpu``: the daemon's utime + stime over the same span (sampled when the
  coordinator learns the last "done", so a few milliseconds late at most);
  ``cpu_setup`` what it used before "go" (start-up and sessions);
- ``rss``: the daemon's VmHWM, its peak resident memory;
- harness figures: feeder processes' CPU and send time, counting processes'
  CPU, and the busiest harness process's CPU as a share of ``wall`` (near
  100% would mean the harness, not the daemon, set the pace).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import cases
from .netns import Lab, listening, proc_cpu, proc_peak_rss
from .references import REPO

START_TIMEOUT = 30.0


@dataclass
class Result:
    daemon: str
    case: str
    status: str = "ok"             # ok, timeout, failed: ...
    wall: float | None = None
    cpu: float | None = None
    cpu_setup: float | None = None
    rss: int | None = None
    feeder_cpu: float | None = None
    send_seconds: float | None = None
    recv_cpu: float | None = None
    busiest: float | None = None   # busiest harness process: CPU / wall
    held: int = 0
    need: int = 0
    unknown: int = 0
    updates: int = 0               # UPDATE messages the receivers read
    notes: list = field(default_factory=list)


class Failed(Exception):
    pass


class WorkerProc:
    def __init__(self, lab: Lab, plan, chunk: list[int], n: int):
        self.chunk = chunk
        self.log = os.path.join(lab.workdir, f"worker{n}.log")
        argv = [sys.executable, "-m", "bench.compare.worker", "--case", plan.case,
                "--scale", repr(plan.scale), "--target", cases.DUT_ADDRESS,
                "--peers", ",".join(map(str, chunk))]
        self.proc = lab.spawn(lab.sim, argv, f"worker{n}.log", pipes=True, cwd=str(REPO),
                              env={"PYTHONPATH": str(REPO)})
        self.events: dict[str, dict] = {}
        self.buf = b""
        self.sends = any(plan.peers[i].sends for i in chunk)
        self.counts = any(plan.peers[i].counts for i in chunk)

    def tell(self, word: str) -> None:
        try:
            self.proc.stdin.write(word.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def read(self) -> None:
        data = os.read(self.proc.stdout.fileno(), 65536)
        if not data:
            raise Failed(f"worker exited {self.proc.poll()}: {self.tail()}")
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            ev = json.loads(line)
            self.events[ev["ev"]] = ev

    def tail(self) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""


def _wait(workers: list[WorkerProc], event: str, deadline: float, daemon) -> bool:
    """Read worker events until each has sent ``event``; False on timeout."""
    while True:
        pending = [w for w in workers if event not in w.events]
        if not pending:
            return True
        for w in workers:
            if "error" in w.events and event in ("up", "done"):
                raise Failed(f"session lost: {w.events['error'].get('why')} "
                             f"({w.events['error'].get('peer')})")
        if daemon.poll() is not None:
            raise Failed(f"daemon exited {daemon.returncode}")
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([w.proc.stdout for w in pending], [], [], min(left, 0.5))
        for f in ready:
            next(w for w in pending if w.proc.stdout is f).read()


def run_once(ref_cls, plan, timeout: float, keep: bool = False) -> Result:
    res = Result(ref_cls.name, plan.case)
    workdir = tempfile.mkdtemp(prefix="bench-compare-")
    os.chmod(workdir, 0o755)
    ref = ref_cls(workdir)
    lab = None
    daemon = None
    try:
        lab = Lab(cases.DUT_ADDRESS, cases.SUBNET_LEN, plan.addresses, workdir)
        conf = ref.write(plan)
        daemon = lab.spawn(lab.dut, ref.argv(conf), f"{ref.name}.log", env=ref.env(),
                           cwd=str(REPO))
        deadline = time.monotonic() + START_TIMEOUT
        while not listening(daemon.pid, 179):
            if daemon.poll() is not None:
                raise Failed(f"exited {daemon.returncode} at start")
            if time.monotonic() > deadline:
                raise Failed("not listening on port 179")
            time.sleep(0.05)
        workers: list[WorkerProc] = []
        up_timeout = 60 + 0.1 * len(plan.peers)
        for group in cases.worker_chunks(plan):
            started = [WorkerProc(lab, plan, chunk, len(workers) + k)
                       for k, chunk in enumerate(group)]
            workers += started
            if not _wait(started, "up", time.monotonic() + up_timeout, daemon):
                raise Failed("sessions did not come up within "
                             f"{up_timeout:.0f}s: " + started[0].tail()[-300:])
        res.cpu_setup = proc_cpu(daemon.pid)
        for w in workers:
            w.tell("go")
        finished = _wait(workers, "done", time.monotonic() + timeout, daemon)
        cpu_end = proc_cpu(daemon.pid)
        res.rss = proc_peak_rss(daemon.pid)
        res.cpu = cpu_end - res.cpu_setup
        # Receivers report before feeders go: a feeder's session closing
        # makes the daemon withdraw what the receivers hold.
        for w in workers:
            w.tell("stop")
            _wait([w], "final", time.monotonic() + 10, daemon)
        _figures(res, plan, workers, finished)
        if not finished:
            res.status = "timeout"
            res.notes.append(f"held {res.held:,} of {res.need:,} after {timeout:.0f}s")
    except Failed as e:
        res.status = f"failed: {e}"
        if daemon is not None:
            res.notes.append(_tail(os.path.join(workdir, f"{ref.name}.log")))
    finally:
        pid = daemon.pid if daemon is not None else None
        if lab is not None:
            lab.close()
        if pid is not None:
            ref.after_stop(pid)
        if keep:
            print(f"  (kept {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return res


def _figures(res: Result, plan, workers: list[WorkerProc], finished: bool) -> None:
    # The figures frozen at "done" where there are some: what a receiver
    # holds afterwards is no longer the daemon's result.
    finals = [w.events.get("done") or w.events.get("final", {}) for w in workers]
    res.held = sum(f.get("held", 0) for f in finals)
    res.need = sum(f.get("need", 0) for f in finals)
    res.unknown = sum(f.get("unknown", 0) for f in finals)
    res.updates = sum(f.get("updates", 0) for f in finals)
    starts = [f["send_start"] for f in finals if f.get("send_start")]
    ends = [f["send_end"] for f in finals if f.get("send_end")]
    t0 = min(starts) if starts else None
    if t0 is not None and ends:
        res.send_seconds = max(ends) - t0
    if finished and t0 is not None:
        res.wall = max(w.events["done"]["complete_last"] for w in workers if w.counts) - t0
    span = res.wall or (max(ends) - t0 if ends and t0 else None)

    def used(w):
        f = w.events.get("final", {})
        return (f.get("cpu") or 0) - (f.get("cpu_go") or 0)
    feeders = [w for w in workers if w.sends and not w.counts]
    counting = [w for w in workers if w.counts]
    res.feeder_cpu = sum(used(w) for w in feeders) if feeders else None
    res.recv_cpu = sum(used(w) for w in counting)
    if span:
        res.busiest = max(used(w) for w in workers) / span
    if res.unknown:
        res.notes.append(f"{res.unknown} prefixes received that were never fed")


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-800:]
    except OSError:
        return ""


def quick_check() -> None:
    """Fail early, before any namespace exists, when not root."""
    if os.geteuid() != 0:
        raise SystemExit("bench.compare needs root (network namespaces)")
    subprocess.run(["ip", "-V"], capture_output=True, check=True)
