"""Many-session benchmark: how many idle BGP sessions one daemon holds with
3-second keepalives (hold time 9) while using under 10% of one core.

    python3 -m bench.sessions --peers 1000 --seconds 30
    python3 -m bench.sessions --find [--seconds 20] [--limit 10]

How it works
------------
The daemon runs as a subprocess (``python3 -m bgpd run``) listening on
127.0.179.1, with N passive peers at 127.1.X.Y (Linux answers the whole of
127.0.0.0/8 on ``lo``, so no address needs configuring; the bench checks
that it can bind the range before it starts).  Every peer has hold time 9
and keepalive 3.

A peer simulator, another subprocess (``python3 -m bench.sessions
simulate``, one trio process), opens the N sessions: it binds each socket
to its peer's address, sends an OPEN built with ``wire`` (AS 65002, one
BGP Identifier per session), waits for the daemon's OPEN, answers with a
KEEPALIVE and waits for the daemon's.  Then it keeps them up from a single
task: every 50 ms it takes the next sixtieth of the sessions and, on each
socket, sends a pre-encoded KEEPALIVE and drains what the daemon sent
(non-blocking calls, no task per session), so each session gets a
KEEPALIVE every 3 s and costs the simulator a send and a receive or two
per 3 s.  A session the daemon closes (or sends a NOTIFICATION on) is
counted as lost.

Once the daemon's control socket reports all N sessions Established, the
bench waits a few seconds for the start-up burst to pass, then reads the
CPU time (utime + stime) of both processes from /proc/PID/stat over S
seconds and prints: CPU% of one core for the daemon and for the simulator,
the daemon's resident memory (VmRSS), and whether every session stayed up
(the daemon still counts N established sessions, none went down, and the
simulator lost none).  With ``--find``, N steps up (100, 250, 500, 1000,
2000, 4000, ...) until the daemon's CPU exceeds the limit, then the gap
between the last step under the limit and the first over it is halved
(to within an eighth) by further runs; the table and the largest N under
the limit are printed.

The machine is shared and noisy: run ``--find`` more than once and quote
the median; the simulator's own CPU is printed to show it is not what
limits the measurement.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAEMON_ADDRESS = "127.0.179.1"
PEER_AS = 65002
LOCAL_AS = 65001
HOLD_TIME = 9
KEEPALIVE = 3
SETTLE = 3.0                # seconds after the last session is up before sampling
TICK = 0.05                 # the simulator's keepalive loop period
CONNECT_BATCH = 64          # handshakes in flight at once
HANDSHAKE_TIMEOUT = 60.0
STEPS = [100, 250, 500, 1000, 2000, 4000, 8000, 16000]
REFINE = 0.125              # --find narrows the crossing to this fraction of N
CLK_TCK = os.sysconf("SC_CLK_TCK")


def peer_address(i: int) -> str:
    """The i-th simulated peer: 127.1.0.1, ..., 127.1.0.250, 127.1.1.1, ..."""
    return f"127.1.{i // 250}.{i % 250 + 1}"


# ----------------------------------------------------------------------------
# The peer simulator (a process of its own)

def _open_bytes(i: int) -> bytes:
    from wire import Open, encode
    from wire.capabilities import FourOctetAS, Multiprotocol, RouteRefresh
    caps = (Multiprotocol(1, 1), RouteRefresh(), FourOctetAS(PEER_AS))
    return encode(Open.build(PEER_AS, HOLD_TIME, 0x0A000000 + i + 1, caps))


async def _open_session(i: int, sock: socket.socket, target: tuple):
    """Connect from the i-th peer address, exchange OPENs and KEEPALIVEs;
    returns the session's framer (it may hold the start of what follows)."""
    import trio
    from wire import KEEPALIVE_BYTES, Framer
    sock.bind((peer_address(i), 0))
    err = sock.connect_ex(target)
    if err not in (0, errno.EINPROGRESS):
        raise OSError(err, os.strerror(err))
    await trio.lowlevel.wait_writable(sock)
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))
    sock.send(_open_bytes(i))
    framer = Framer()
    seen_open = False
    while True:
        await trio.lowlevel.wait_readable(sock)
        data = sock.recv(65536)
        if not data:
            raise OSError("closed by the daemon during the OPEN exchange")
        for mtype, _ in framer.feed(data):
            if mtype == 1:
                seen_open = True
                sock.send(KEEPALIVE_BYTES)
            elif mtype == 4 and seen_open:
                return framer
            elif mtype == 3:
                raise OSError("NOTIFICATION during the OPEN exchange")


async def _handshake(i: int, target: tuple, sessions: list, failures: list, limit) -> None:
    import trio
    from wire import WireError
    async with limit:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                framer = await _open_session(i, sock, target)
        except (OSError, WireError, trio.TooSlowError) as e:
            sock.close()
            failures.append(f"{peer_address(i)}: {e!r}")
        else:
            sessions.append((sock, framer))


def _keep_alive(sessions: list, lost: dict) -> int:
    """One KEEPALIVE to each ``(socket, framer)`` and drain what the daemon
    sent; returns the octets read.  A closed socket or a NOTIFICATION is
    recorded as lost."""
    from wire import KEEPALIVE_BYTES, WireError
    octets = 0
    for sock, framer in sessions:
        if sock in lost:
            continue
        try:
            sock.send(KEEPALIVE_BYTES)
            while True:
                data = sock.recv(65536)
                if not data:
                    lost[sock] = "closed by the daemon"
                    break
                octets += len(data)
                for mtype, body in framer.feed(data):
                    if mtype == 3:
                        lost[sock] = f"NOTIFICATION {body[:2].hex()}"
        except BlockingIOError:
            pass
        except (OSError, WireError) as e:
            lost[sock] = str(e)
    return octets


async def simulate(target: tuple, n: int) -> None:
    """Open ``n`` sessions to ``target``, say so on stdout, keep them alive
    until a line 'stop' (or EOF) arrives on stdin, then print the summary."""
    import trio
    sessions: list = []
    failures: list = []
    limit = trio.CapacityLimiter(CONNECT_BATCH)
    started = time.monotonic()
    async with trio.open_nursery() as nursery:
        for i in range(n):
            nursery.start_soon(_handshake, i, target, sessions, failures, limit)
    print(json.dumps({"event": "up", "sessions": len(sessions), "failed": len(failures),
                      "failures": failures[:5], "seconds": time.monotonic() - started}),
          flush=True)

    lost: dict = {}
    octets = 0
    slots = max(1, round(KEEPALIVE / TICK))
    buckets = [sessions[b::slots] for b in range(slots)]

    async def keepalives():
        nonlocal octets
        tick = 0
        next_at = trio.current_time()
        while True:
            octets += _keep_alive(buckets[tick % slots], lost)
            tick += 1
            next_at += TICK
            await trio.sleep_until(next_at)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keepalives)
        await trio.to_thread.run_sync(sys.stdin.readline)
        nursery.cancel_scope.cancel()
    print(json.dumps({"event": "stopped", "sessions": len(sessions), "lost": len(lost),
                      "why": sorted(set(lost.values()))[:5], "octets_read": octets}),
          flush=True)
    for sock, _ in sessions:
        sock.close()


# ----------------------------------------------------------------------------
# The bench

def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def check_loopback(n: int) -> None:
    """Every address used must be bindable (the kernel's local route for
    127.0.0.0/8 on lo makes them all local)."""
    for addr in {DAEMON_ADDRESS, peer_address(0), peer_address(n - 1)}:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((addr, 0))
            except OSError as e:
                sys.exit(f"bench.sessions: cannot bind {addr} ({e}); the loopback range "
                         "127.0.0.0/8 must be local (ip route show table local)")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if n + 100 > hard:
        sys.exit(f"bench.sessions: {n} sessions need more file descriptors than the "
                 f"limit of {hard} (ulimit -Hn)")


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def write_config(path: str, n: int, port: int, control: str) -> None:
    lines = [f'router_id = "10.0.0.1"', f"asn = {LOCAL_AS}", f'listen = ["{DAEMON_ADDRESS}"]',
             f"port = {port}", f'control_socket = "{control}"', 'log_level = "warning"', "",
             "[defaults]", "passive = true", f"hold_time = {HOLD_TIME}",
             f"keepalive = {KEEPALIVE}", ""]
    for i in range(n):
        lines += ["[[peers]]", f'address = "{peer_address(i)}"', f"asn = {PEER_AS}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def control(path: str, words: list, timeout: float = 60.0):
    from bgpd.ctl import request
    reply = request(path, words, timeout)
    if not reply.get("ok"):
        raise RuntimeError(reply.get("error"))
    return reply["result"]


def wait_until(predicate, timeout: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the daemon exited ({proc.returncode}) while waiting for {what}")
        try:
            if predicate():
                return
        except (OSError, ValueError, RuntimeError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def downs(path: str) -> int:
    """Sessions that went down since the start, summed over every peer."""
    return sum(p["detail"]["messages"]["session_downs"]
               for p in control(path, ["show", "protocols", "all"]))


def measure(n: int, seconds: float, settle: float = SETTLE, verbose: bool = True) -> dict:
    """One run with ``n`` sessions; the figures of the table row."""
    check_loopback(n)
    work = tempfile.mkdtemp(prefix="bench-sessions-")
    port = free_port(DAEMON_ADDRESS)
    ctl_path = os.path.join(work, "bgpd.ctl")
    cfg = os.path.join(work, "bgpd.toml")
    write_config(cfg, n, port, ctl_path)
    env = dict(os.environ, PYTHONPATH=ROOT)
    daemon = sim = None
    try:
        with open(os.path.join(work, "bgpd.log"), "w") as log:
            daemon = subprocess.Popen([sys.executable, "-m", "bgpd", "run", "-c", cfg],
                                      cwd=ROOT, env=env, stdout=log, stderr=log,
                                      preexec_fn=_raise_fd_limit)
        t0 = time.monotonic()
        wait_until(lambda: control(ctl_path, ["show", "status"]), 60 + n / 100,
                   "the control socket", daemon)
        sim = subprocess.Popen([sys.executable, "-m", "bench.sessions", "simulate",
                                "--target", f"{DAEMON_ADDRESS}:{port}", "--peers", str(n)],
                               cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, preexec_fn=_raise_fd_limit)
        up = json.loads(sim.stdout.readline() or "{}")
        if up.get("sessions") != n:
            raise RuntimeError(f"the simulator opened {up.get('sessions')} of {n} sessions: "
                               f"{up.get('failures')}")
        wait_until(lambda: control(ctl_path, ["show", "status"])["peers_established"] == n,
                   30 + n / 50, f"{n} sessions Established", daemon)
        setup = time.monotonic() - t0
        time.sleep(settle)
        d0, s0, w0 = cpu_seconds(daemon.pid), cpu_seconds(sim.pid), time.monotonic()
        time.sleep(seconds)
        d1, s1, w1 = cpu_seconds(daemon.pid), cpu_seconds(sim.pid), time.monotonic()
        rss = rss_mib(daemon.pid)
        wall = w1 - w0
        established = control(ctl_path, ["show", "status"])["peers_established"]
        went_down = downs(ctl_path)
        sim.stdin.write("stop\n")
        sim.stdin.flush()
        summary = json.loads(sim.stdout.readline() or "{}")
        row = {"peers": n, "daemon_cpu": 100 * (d1 - d0) / wall, "rss_mib": rss,
               "simulator_cpu": 100 * (s1 - s0) / wall, "setup_s": setup, "seconds": wall,
               "established": established, "downs": went_down,
               "simulator_lost": summary.get("lost"),
               "stayed_up": established == n and went_down == 0 and summary.get("lost") == 0}
        if verbose:
            print(_row(row), flush=True)
        return row
    finally:
        for proc in (sim, daemon):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (sim, daemon):
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(work, ignore_errors=True)


HEADER = (f"{'peers':>6}  {'daemon CPU%':>11}  {'RSS MiB':>8}  {'sim CPU%':>8}  "
          f"{'set-up s':>8}  stayed up")


def _row(r: dict) -> str:
    up = "yes" if r["stayed_up"] else (f"NO ({r['established']} established, "
                                       f"{r['downs']} went down, {r['simulator_lost']} lost)")
    return (f"{r['peers']:>6}  {r['daemon_cpu']:>11.1f}  {r['rss_mib']:>8.1f}  "
            f"{r['simulator_cpu']:>8.1f}  {r['setup_s']:>8.1f}  {up}")


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["simulate"]:
        sp = argparse.ArgumentParser(prog="bench.sessions simulate")
        sp.add_argument("--target", required=True, help="ADDRESS:PORT of the daemon")
        sp.add_argument("--peers", type=int, required=True)
        a = sp.parse_args(argv[1:])
        import trio
        host, port = a.target.rsplit(":", 1)
        trio.run(simulate, (host, int(port)), a.peers)
        return 0
    ap = argparse.ArgumentParser(
        prog="python3 -m bench.sessions",
        description="How many sessions (hold 9, keepalive 3) one daemon holds under a CPU limit.")
    ap.add_argument("--peers", type=int, default=1000, help="sessions (default 1000)")
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="measurement window once all are up (default 30)")
    ap.add_argument("--find", action="store_true",
                    help=f"step the number of sessions up ({', '.join(map(str, STEPS))}) "
                         "until the daemon's CPU exceeds --limit")
    ap.add_argument("--limit", type=float, default=10.0,
                    help="CPU%% of one core for --find (default 10)")
    ap.add_argument("--settle", type=float, default=SETTLE,
                    help=f"seconds between the last session up and the measurement "
                         f"(default {SETTLE:g})")
    a = ap.parse_args(argv)
    print(f"hold time {HOLD_TIME}s, keepalive {KEEPALIVE}s; CPU% of one core over "
          f"{a.seconds:g}s once every session is up ({os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]})")
    print(HEADER, flush=True)
    if not a.find:
        return 0 if measure(a.peers, a.seconds, a.settle)["stayed_up"] else 1
    rows = []

    def ok(row) -> bool:
        return row["daemon_cpu"] <= a.limit and row["stayed_up"]

    def attempt(n: int):
        try:
            row = measure(n, a.seconds, a.settle)
        except RuntimeError as e:
            print(f"{n:>6}  failed: {e}", flush=True)
            return None
        rows.append(row)
        return row

    bad = None
    for n in STEPS:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if n + 100 > hard:
            print(f"(stopping before {n}: the file descriptor limit is {hard})")
            break
        row = attempt(n)
        if row is None or not ok(row):
            bad = n
            break
    # Between the last step under the limit and the first over it, halve
    # the gap a few times (to REFINE of the step) for a closer figure.
    good_n = max((r["peers"] for r in rows if ok(r)), default=None)
    while bad is not None and good_n is not None and bad - good_n > REFINE * good_n:
        n = round((good_n + bad) / 2 / 50) * 50
        if n in (good_n, bad):
            break
        row = attempt(n)
        if row is not None and ok(row):
            good_n = n
        else:
            bad = n
    good = sorted((r for r in rows if ok(r)), key=lambda r: r["peers"])
    print()
    print(HEADER)
    for r in sorted(rows, key=lambda r: r["peers"]):
        print(_row(r))
    if good:
        best = good[-1]
        print(f"\nlargest N under {a.limit:g}% of one core: {best['peers']} sessions "
              f"({best['daemon_cpu']:.1f}% CPU, {best['rss_mib']:.0f} MiB RSS)")
    else:
        print(f"\nno N tried stays under {a.limit:g}% of one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
