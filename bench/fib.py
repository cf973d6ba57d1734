"""FIB benchmark: install, replace and delete a million routes in the kernel.

    python3 -m bench.fib [--routes 1000000] [--runs 3] [--ref-runs 1]
                         [--no-bird] [--no-ip-batch] [--no-floor]

Every run happens in a private network namespace made for it (deleted at
the end): a veth pair ``d0``/``d0p`` with 10.255.0.1/24 on ``d0``, and N
IPv4 /32 routes in 100.64.0.0/10 installed via 10.255.0.2, replaced by
routes via 10.255.0.3, then deleted.  Printed per phase: routes per second
(median of the runs) for

netlink floor   the same requests packed in advance and sent in batches
                through ``kernel_sync.netlink`` with nothing else: the
                kernel's own ceiling with this harness;
kernel_sync     ``KernelSync.replace_all`` + ``apply``, the daemon's path:
                desired routes computed, diffed against what is installed,
                packed, sent in batches with errors matched per route, and
                verified afterwards;
ip -batch       iproute2 reading a batch file (one request and ACK per route);
BIRD 2          BIRD's kernel protocol exporting a static protocol: timed
                from ``birdc enable``/``disable`` until the last route event
                of the phase has been seen (events read by a thread-free
                netlink listener that keeps up with BIRD).

BIRD is given two static protocols with the same prefixes (via .2 with
preference 100, via .3 with preference 200), both disabled at start:
enabling the first installs, enabling the second replaces every route,
disabling both deletes.  Its configuration parsing is not timed.

The machines are shared: compare the ratios taken in one run, not the
absolute figures across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import select
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

from kernel_sync import Forward, KernelSync, Node, SyncOptions, addr, rtnl
from kernel_sync.netlink import Channel, Overflow

PHASES = ("install", "replace", "delete")
GW_A, GW_B = "10.255.0.2", "10.255.0.3"
RTPROT_BIRD = 12
PROTO = 179


def key(i: int) -> bytes:
    """The i-th /32 of 100.64.0.0/10 as a wire key."""
    return bytes((32, 100, 64 + (i >> 16), (i >> 8) & 255, i & 255))


def text(i: int) -> str:
    return f"100.{64 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}/32"


# -- namespaces ----------------------------------------------------------------

@contextlib.contextmanager
def namespace(tag: str):
    name = f"fibbench{os.getpid()}-{tag}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (["link", "add", "d0", "type", "veth", "peer", "name", "d0p"],
                    ["addr", "add", "10.255.0.1/24", "dev", "d0"],
                    ["link", "set", "d0", "up"], ["link", "set", "d0p", "up"],
                    ["link", "set", "lo", "up"]):
            subprocess.run(["ip", "-n", name, *cmd], check=True)
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                              text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], check=False)


def count_routes(ns: str, protocol: int) -> int:
    ch = Channel(ns)
    try:
        return ch.count(rtnl.route_dump_request(0, 1, protocol, 254), rtnl.RTM_NEWROUTE)
    finally:
        ch.close()


def gateways(ns: str, protocol: int) -> dict:
    """gateway -> number of routes of ``protocol`` via it."""
    out: dict = {}
    reader = rtnl.RouteReader()
    ch = Channel(ns)

    def handle(buf, mtype, flags, start, end):
        if buf is None:
            out.clear()
            return
        r = reader.parse(buf, start, end)
        if r is not None and r[4] == protocol and r[5].nexthops:
            gw = r[5].nexthops[0].gateway
            out[gw] = out.get(gw, 0) + 1

    try:
        ch.dump_all(rtnl.route_dump_request(0, 1, protocol, 254), handle)
    finally:
        ch.close()
    return out


def check(ns: str, protocol: int, n: int, phase: str, who: str) -> None:
    """The phase really happened (checked after timing)."""
    gws = gateways(ns, protocol)
    want = {"install": {addr(GW_A): n}, "replace": {addr(GW_B): n}, "delete": {}}[phase]
    if gws != want:
        raise SystemExit(f"{who} {phase}: kernel holds {gws}, expected {want}")


# -- the contenders ----------------------------------------------------------------

def run_floor(n: int) -> dict:
    """Pre-packed requests, batched, nothing else."""
    times = {}
    with namespace("floor") as ns:
        ch = Channel(ns)
        enc = rtnl.RouteEncoder(PROTO, 254)
        index = int(subprocess.run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/d0/ifindex"],
                                   capture_output=True, text=True, check=True).stdout)
        from kernel_sync import KRoute, Nexthop
        values = {"install": KRoute(1, (Nexthop(addr(GW_A), index),)),
                  "replace": KRoute(1, (Nexthop(addr(GW_B), index),))}
        limit = ch.max_batch(256 << 10)
        try:
            for phase in PHASES:
                base = ch.seqs(n)
                buffers, parts, size = [], [], 0
                for i in range(n):
                    if phase == "delete":
                        m = enc.delete(1, key(i), 0, base + i)
                    else:
                        m = enc.new(1, key(i), 0, values[phase], base + i, phase == "replace")
                    parts.append(m)
                    size += len(m)
                    if size >= limit:
                        buffers.append(b"".join(parts))
                        parts, size = [], 0
                if parts:
                    buffers.append(b"".join(parts))
                t = time.perf_counter()
                errors = 0
                for b in buffers:
                    errors += len(ch.transact(b)[0])
                times[phase] = time.perf_counter() - t
                if errors:
                    raise SystemExit(f"floor {phase}: {errors} errors")
                check(ns, PROTO, n, phase, "floor")
        finally:
            ch.close()
    return times


def run_kernel_sync(n: int) -> dict:
    times = {}
    with namespace("ks") as ns:
        ks = KernelSync(SyncOptions(netns=ns), node=Node(["10.255.0.1/24"]))
        ks.start()
        keys = [(1, key(i)) for i in range(n)]
        tables = {"install": dict.fromkeys(keys, Forward.via(GW_A)),
                  "replace": dict.fromkeys(keys, Forward.via(GW_B)), "delete": {}}
        del keys
        gc.collect()
        gc.freeze()             # the inputs are start-up state, as in the daemon
        try:
            for phase in PHASES:
                t = time.perf_counter()
                ks.replace_all(tables[phase])
                report = ks.apply()
                times[phase] = time.perf_counter() - t
                if report.errors or report.changes != n:
                    raise SystemExit(f"kernel_sync {phase}: {report}")
                check(ns, PROTO, n, phase, "kernel_sync")
        finally:
            ks.close()
            gc.unfreeze()
    return times


def run_ip_batch(n: int, workdir: str) -> dict:
    times = {}
    lines = {
        "install": (f"route add {text(i)} via {GW_A} dev d0 proto {PROTO}\n" for i in range(n)),
        "replace": (f"route replace {text(i)} via {GW_B} dev d0 proto {PROTO}\n" for i in range(n)),
        "delete": (f"route del {text(i)} proto {PROTO}\n" for i in range(n)),
    }
    files = {}
    for phase in PHASES:
        files[phase] = os.path.join(workdir, f"{phase}.batch")
        with open(files[phase], "w") as f:
            f.writelines(lines[phase])
    with namespace("ip") as ns:
        for phase in PHASES:
            t = time.perf_counter()
            subprocess.run(["ip", "-n", ns, "-batch", files[phase]], check=True)
            times[phase] = time.perf_counter() - t
            check(ns, PROTO, n, phase, "ip -batch")
    return times


BIRD_CONF_HEAD = """\
router id 10.255.0.1;
protocol device { scan time 3600; }
protocol kernel k4 {
    scan time 3600;
    ipv4 { import none; export all; };
}
"""


def write_bird_conf(path: str, n: int) -> None:
    with open(path, "w") as f:
        f.write(BIRD_CONF_HEAD)
        for name, gw, pref in (("sa", GW_A, 100), ("sb", GW_B, 200)):
            f.write(f"protocol static {name} {{\n    disabled;\n"
                    f"    ipv4 {{ preference {pref}; }};\n")
            f.writelines(f"    route {text(i)[:-3]}/32 via {gw};\n" for i in range(n))
            f.write("}\n")


class RouteEvents:
    """Counts route events of one protocol inside a namespace, fast enough
    to keep up with BIRD: no parsing, only the type, the protocol octet and
    (for the replace phase) the gateway attribute's octets are looked at.
    The receive buffer is large so that a burst does not overflow it; if
    it does anyway, the phase is timed by polling dumps instead (and the
    result says so)."""

    def __init__(self, ns: str, protocol: int):
        self.protocol = protocol
        self.ch = Channel(ns, groups=(rtnl.RTNLGRP_IPV4_ROUTE,), buffer=1 << 30)
        self.polled = False

    def discard(self) -> None:
        with contextlib.suppress(Overflow):
            for _ in self.ch.drain():
                pass

    def wait(self, msg_type: int, n: int, timeout: float, poll, needle: bytes = b"") -> None:
        """Until ``n`` events of ``msg_type`` (containing ``needle``) are seen."""
        sock = self.ch.sock
        buf = bytearray(1 << 16)
        unpack = rtnl.NLMSGHDR.unpack_from
        proto = self.protocol
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out with {seen} of {n} route events")
            select.select([sock], [], [], 0.5)
            while True:
                try:
                    k = sock.recv_into(buf, len(buf), 0x40)        # MSG_DONTWAIT
                except BlockingIOError:
                    break
                except OSError:                                    # ENOBUFS: events lost
                    self.polled = True
                    while not poll():
                        if time.monotonic() > deadline:
                            raise SystemExit("timed out polling") from None
                        time.sleep(0.05)
                    return
                i = 0
                while i + 16 <= k:
                    length, mtype, _f, _s, _p = unpack(buf, i)
                    if length < 16:
                        break
                    if (mtype == msg_type and buf[i + 16 + 5] == proto
                            and (not needle or buf.find(needle, i, i + length) >= 0)):
                        seen += 1
                    i += (length + 3) & ~3

    def close(self):
        self.ch.close()


def run_bird(n: int, workdir: str) -> dict:
    bird = shutil.which("bird")
    birdc = shutil.which("birdc")
    if not bird or not birdc:
        raise SystemExit("bird/birdc not installed")
    conf = os.path.join(workdir, "bird.conf")
    sock = os.path.join(workdir, "bird.ctl")
    write_bird_conf(conf, n)
    times = {}
    with namespace("bird") as ns:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, bird, "-f", "-c", conf, "-s", sock,
                                 "-P", os.path.join(workdir, "bird.pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                start_new_session=True)
        events = None
        try:
            deadline = time.monotonic() + 120
            while subprocess.run([birdc, "-s", sock, "show", "status"], capture_output=True,
                                 text=True).stdout.find("up and running") < 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("BIRD did not start")
                time.sleep(0.2)
            events = RouteEvents(ns, RTPROT_BIRD)
            gw_b = addr(GW_B)
            steps = {
                "install": (["enable sa"], rtnl.RTM_NEWROUTE, b"",
                            lambda: count_routes(ns, RTPROT_BIRD) == n),
                "replace": (["enable sb"], rtnl.RTM_NEWROUTE, rtnl.attr(rtnl.RTA_GATEWAY, gw_b),
                            lambda: gateways(ns, RTPROT_BIRD) == {gw_b: n}),
                "delete": (["disable sb", "disable sa"], rtnl.RTM_DELROUTE, b"",
                           lambda: count_routes(ns, RTPROT_BIRD) == 0),
            }
            for phase in PHASES:
                commands, msg_type, needle, poll = steps[phase]
                events.discard()
                t = time.perf_counter()
                for c in commands:
                    subprocess.run([birdc, "-s", sock, *c.split()], capture_output=True, check=True)
                events.wait(msg_type, n, 600, poll, needle)
                times[phase] = time.perf_counter() - t
                if events.polled:
                    print(f"  (BIRD {phase}: events overflowed, timed by polling dumps)")
                    events.polled = False
                check(ns, RTPROT_BIRD, n, phase, "BIRD")
        finally:
            if events is not None:
                events.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return times


# -- reporting ------------------------------------------------------------------------

def median_times(runs: list) -> dict:
    return {p: statistics.median(r[p] for r in runs) for p in PHASES}


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--routes", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="runs of kernel_sync and the floor")
    ap.add_argument("--ref-runs", type=int, default=1, help="runs of ip -batch and BIRD")
    ap.add_argument("--no-bird", action="store_true")
    ap.add_argument("--no-ip-batch", action="store_true")
    ap.add_argument("--no-floor", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench.fib needs root (network namespaces)")
    # A SIGTERM (from timeout(1), say) unwinds like ^C, so that every
    # namespace and BIRD made so far is removed.
    signal.signal(signal.SIGTERM, _interrupted)
    n = args.routes
    if not 0 < n <= 1 << 22:
        raise SystemExit("--routes must be 1..4194304 (100.64.0.0/10 holds that many /32s)")
    from bgpd.runtime import GC_THRESHOLDS
    gc.set_threshold(*GC_THRESHOLDS)          # as the daemon runs

    contenders = []
    if not args.no_floor:
        contenders.append(("netlink floor", args.runs, lambda wd: run_floor(n)))
    contenders.append(("kernel_sync", args.runs, lambda wd: run_kernel_sync(n)))
    if not args.no_ip_batch:
        contenders.append(("ip -batch", args.ref_runs, lambda wd: run_ip_batch(n, wd)))
    if not args.no_bird:
        contenders.append(("BIRD 2", args.ref_runs, lambda wd: run_bird(n, wd)))

    print(f"FIB benchmark: {n:,} IPv4 /32 routes via a veth, private namespace, "
          f"{os.cpu_count()} CPUs, kernel {os.uname().release}")
    results = {}
    workdir = tempfile.mkdtemp(prefix="bench-fib-")
    try:
        for name, runs, fn in contenders:
            got = []
            for i in range(runs):
                t = fn(workdir)
                got.append(t)
                print(f"  {name:<14} run {i + 1}: " + "  ".join(
                    f"{p} {t[p]:6.2f}s" for p in PHASES), flush=True)
            results[name] = median_times(got)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{'routes/s':<16}" + "".join(f"{p:>12}" for p in PHASES) + "   (median; seconds)")
    for name, t in results.items():
        print(f"{name:<16}" + "".join(f"{n / t[p]:>12,.0f}" for p in PHASES)
              + "   (" + " / ".join(f"{t[p]:.2f}" for p in PHASES) + ")")
    ours = results["kernel_sync"]
    for ref in ("netlink floor", "ip -batch", "BIRD 2"):
        if ref in results:
            print(f"kernel_sync vs {ref:<14}" + "".join(
                f"{results[ref][p] / ours[p]:>11.2f}x" for p in PHASES) + "   (speed ratio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
