"""Export benchmark: the Loc-RIB changes of a batch through ``reflector``
to the UPDATE bytes each peer is handed, in-process.

    python3 -m bench.export [--runs 3] [--prefixes 1000000] [--only a,b,c]

Scenarios (each run of each one in a fresh subprocess, with the daemon's
garbage-collector settings, ``bgpd.runtime.GC_THRESHOLDS`` and a
``gc.freeze()`` after set-up):

a   transit: the generated full table (``bench.feed``, ``--prefixes``) from
    one eBGP peer to one eBGP receiver.  The feed goes through the receive
    path as in ``bench.rib_ingest`` (``Framer``, ``UpdateCodec.decode``,
    ``Rib.apply_update``, ``Rib.drain_changes`` after every 64 KiB read)
    first, keeping each read's change batch; then, timed on their own, each
    batch goes to ``Exporter.apply`` and the receiver takes everything with
    ``next_messages`` (apply + encode + read), and the RSS growth of that
    phase is the export's memory.  ``a-join``: the receiver's session comes
    up after the table is loaded (the snapshot path: the group is built
    from the Loc-RIB, then the whole table and End-of-RIB).
b   route reflector: 1,000 iBGP route-reflector clients (one update group)
    each announcing 4 /26 blocks, 100 clients per read; every client takes
    all it is sent (3,996 prefixes).  Timed: apply + encode + every
    client's reads; memory: RSS growth of the whole run (sessions and RIB
    included) and of the export alone.  ``b-1`` is the same with a single client
    receiving (the cost of one client's computation), for the ratio;
    ``b-join``: the routes are all in when the 1,000 sessions come up at
    once (a reflector restarting), each reading the table and End-of-RIB.
c   fan-out: 100,000 prefixes from one eBGP peer to 20 iBGP clients (one
    group), and ``c-1`` to one client, for the ratio.

Printed: median CPU seconds of the runs (``time.process_time``), prefixes
or prefix-deliveries per second, and memory where measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

READ_SIZE = 65536
ROUTER_ID = "10.255.0.1"
LOCAL_AS = 64512
SCENARIOS = ("a", "a-join", "b", "b-1", "b-join", "c", "c-1")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reads(data: bytes):
    for off in range(0, len(data), READ_SIZE):
        yield data[off:off + READ_SIZE]


def _tune():
    from bgpd.runtime import GC_THRESHOLDS
    gc.set_threshold(*GC_THRESHOLDS)
    gc.collect()
    gc.freeze()


def _drain(exporter, name, count_bytes: bool = False) -> tuple[int, int]:
    """Everything the peer has to read: (messages, bytes if counted)."""
    n = b = 0
    while True:
        msgs = exporter.next_messages(name, READ_SIZE)
        if not msgs:
            return n, b
        n += len(msgs)
        if count_bytes:
            b += sum(map(len, msgs))


def _ingest(rib, src, data) -> list:
    """The receive path, as the daemon runs it: the change batch of each
    64 KiB read (kept, so that export is timed and measured on its own)."""
    from wire import AttributeCache, Framer, UpdateCodec
    codec = UpdateCodec(cache=AttributeCache())
    framer = Framer()
    batches = []
    for chunk in _reads(data):
        for _t, body in framer.feed(chunk):
            rib.apply_update(src, codec.decode(body))
        batches.append(rib.drain_changes())
    _tune()
    return batches


def transit(prefixes: int, join_late: bool) -> dict:
    from rib import PeerInfo, Rib
    from rib.policy import Policy
    from reflector import Exporter, SessionParams
    from wire import UpdateCodec

    from . import feed

    data = feed.load(prefixes)
    rib = Rib(ROUTER_ID, LOCAL_AS)
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib)
    src = PeerInfo("upstream", "192.0.2.1", 64500, LOCAL_AS, "192.0.2.1")
    dst = PeerInfo("customer", "198.51.100.2", 65010, LOCAL_AS, "198.51.100.2")
    rib.peer_up(src)
    accept = Policy("accept-all", (), True)
    params = SessionParams(UpdateCodec(), local_address="198.51.100.1", export_policy=accept)
    out = {}
    if not join_late:               # up before the table arrives
        ex.peer_up(dst, params)
        _drain(ex, dst.name)
    batches = _ingest(rib, src, data)
    rss0 = _rss()
    t0 = time.process_time()
    sent = [0, 0]
    if join_late:
        ex.peer_up(dst, params)
        sent = list(_drain(ex, dst.name, True))
    else:
        for changes in batches:
            ex.apply(changes)
            n, b = _drain(ex, dst.name, True)
            sent[0] += n
            sent[1] += b
    cpu = time.process_time() - t0
    out["cpu"] = cpu
    out["rss"] = _rss() - rss0
    out["messages"], out["bytes"] = sent
    out["exported"] = ex.counts(dst.name)[(1, 1)]
    # Every selected route (the feed has a few with our AS in the path).
    assert out["exported"] == rib.counts()[(1, 1)]["selected"], out
    return out


def reflector(clients: int, receivers: int | None, join_late: bool = False) -> dict:
    """``clients`` RR clients announce 4 /26s each; ``receivers`` of them
    (all when None) have their session in the exporter, from the start or
    (``join_late``) all at once when every route is in."""
    import ipaddress

    from rib import PeerInfo, Rib
    from reflector import Exporter, SessionParams
    from wire import Update, UpdateCodec, make_attributes

    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib)
    codec = UpdateCodec()
    peers, updates = [], []
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    blocks = int(ipaddress.IPv4Address("10.128.0.0"))
    for i in range(clients):
        addr = ipaddress.IPv4Address(base + 1 + i)
        p = PeerInfo(f"Node_{i}", addr, LOCAL_AS, LOCAL_AS, addr, rr_client=True)
        peers.append(p)
        keys = [bytes([26]) + ipaddress.IPv4Address(blocks + (4 * i + j) * 64).packed
                for j in range(4)]
        a = make_attributes(origin=0, as_path=(), next_hop=addr.packed, local_pref=100)
        updates.append(Update((), a, keys))
    rss0 = _rss()
    for p in peers:
        rib.peer_up(p)
    receiving = peers if receivers is None else peers[:receivers]
    params = SessionParams(codec, local_address=ROUTER_ID)
    if not join_late:
        for p in receiving:
            ex.peer_up(p, params)
            _drain(ex, p.name)           # End-of-RIB of the empty table
    per_read = 100
    batches = []
    for start in range(0, clients, per_read):
        for p, u in zip(peers[start:start + per_read], updates[start:start + per_read]):
            rib.apply_update(p, u)
        batches.append(rib.drain_changes())
    _tune()
    rss1 = _rss()
    delivered = 0
    t0 = time.process_time()
    if join_late:
        for p in receiving:
            ex.peer_up(p, params)
        for p in receiving:
            n, _b = _drain(ex, p.name)
            delivered += n
    else:
        for changes in batches:
            ex.apply(changes)
            for p in receiving:
                n, _b = _drain(ex, p.name)
                delivered += n
    cpu = time.process_time() - t0
    rss = _rss() - rss0
    rss_export = _rss() - rss1
    group = ex.group_of(receiving[0].name)
    table = group.out[(1, 1)].table
    adj_out = sys.getsizeof(table)
    counts = [ex.counts(p.name)[(1, 1)] for p in receiving]
    assert all(c == 4 * clients - 4 for c in counts), counts[:5]
    return {"cpu": cpu, "rss": rss, "rss_export": rss_export, "adj_rib_out": adj_out,
            "messages": delivered,
            "groups": len(ex.groups()), "receivers": len(receiving),
            "deliveries": sum(counts)}


def fanout(prefixes: int, receivers: int) -> dict:
    from rib import PeerInfo, Rib
    from reflector import Exporter, SessionParams
    from wire import UpdateCodec

    from . import feed

    data = feed.load(prefixes)
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib)
    src = PeerInfo("upstream", "192.0.2.1", 64500, LOCAL_AS, "192.0.2.1")
    rib.peer_up(src)
    params = SessionParams(UpdateCodec(), local_address=ROUTER_ID)
    clients = [PeerInfo(f"client{i}", f"10.0.1.{i + 1}", LOCAL_AS, LOCAL_AS, f"10.0.1.{i + 1}",
                        rr_client=True) for i in range(receivers)]
    for c in clients:
        rib.peer_up(c)
        ex.peer_up(c, params)
        _drain(ex, c.name)
    batches = _ingest(rib, src, data)
    rss0 = _rss()
    t0 = time.process_time()
    for changes in batches:
        ex.apply(changes)
        for c in clients:
            _drain(ex, c.name)
    cpu = time.process_time() - t0
    counts = [ex.counts(c.name)[(1, 1)] for c in clients]
    assert all(n == rib.counts()[(1, 1)]["selected"] for n in counts), counts
    return {"cpu": cpu, "rss": _rss() - rss0, "groups": len(ex.groups()),
            "deliveries": sum(counts)}


def child(what: str, prefixes: int) -> dict:
    if what == "a":
        return transit(prefixes, False)
    if what == "a-join":
        return transit(prefixes, True)
    if what == "b":
        return reflector(1000, None)
    if what == "b-1":
        return reflector(1000, 1)
    if what == "b-join":
        return reflector(1000, None, join_late=True)
    if what == "c":
        return fanout(100_000, 20)
    if what == "c-1":
        return fanout(100_000, 1)
    raise ValueError(what)


def _run_child(what: str, prefixes: int) -> dict:
    cmd = [sys.executable, "-m", "bench.export", "--child", what, "--prefixes", str(prefixes)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.export",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--prefixes", type=int, default=1_000_000, help="size of scenario a")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.prefixes)))
        return 0
    from . import feed
    feed.load(args.prefixes)
    feed.load(100_000)
    wanted = [s for s in args.only.split(",") if s]
    results: dict = {s: [] for s in wanted}
    for _ in range(args.runs):
        for s in wanted:
            results[s].append(_run_child(s, args.prefixes))

    def med(s, k):
        return statistics.median(r[k] for r in results[s])

    print(f"{args.runs} runs per scenario, each in a fresh process; CPU seconds are medians")
    mib = 1 << 20
    if "a" in results:
        n = args.prefixes
        print(f"a       transit {n:,} prefixes eBGP -> 1 eBGP peer: {med('a', 'cpu'):.2f} s "
              f"({n / med('a', 'cpu'):,.0f} prefixes/s), {results['a'][0]['messages']:,} "
              f"messages, {results['a'][0]['bytes'] / mib:.1f} MiB; "
              f"RSS +{med('a', 'rss') / mib:.0f} MiB  runs: "
              + " ".join(f"{r['cpu']:.2f}" for r in results["a"]))
    if "a-join" in results:
        n = args.prefixes
        print(f"a-join  the same peer joining a loaded table: {med('a-join', 'cpu'):.2f} s "
              f"({n / med('a-join', 'cpu'):,.0f} prefixes/s); RSS +"
              f"{med('a-join', 'rss') / mib:.0f} MiB  runs: "
              + " ".join(f"{r['cpu']:.2f}" for r in results["a-join"]))
    for s, what in (("b", "1,000 RR clients x 4 /26, all to all"),
                    ("b-1", "the same, one client receiving"),
                    ("b-join", "the 1,000 sessions up at once on the full table"),
                    ("c", "100,000 prefixes to 20 clients"),
                    ("c-1", "100,000 prefixes to 1 client")):
        if s not in results:
            continue
        r0 = results[s][0]
        line = (f"{s:<7} {what}: {med(s, 'cpu'):.3f} s, {r0['deliveries']:,} prefix deliveries "
                f"({r0['deliveries'] / med(s, 'cpu'):,.0f}/s), {r0['groups']} group(s); "
                f"RSS +{med(s, 'rss') / mib:.1f} MiB")
        if "rss_export" in r0:
            line += (f" (export alone +{med(s, 'rss_export') / mib:.1f} MiB, Adj-RIB-Out dict "
                     f"{r0['adj_rib_out'] / 1024:.0f} KiB)")
        print(line + "  runs: " + " ".join(f"{r['cpu']:.3f}" for r in results[s]))
    for a, b in (("b", "b-1"), ("c", "c-1")):
        if a in results and b in results:
            print(f"ratio {a}/{b}: {med(a, 'cpu') / med(b, 'cpu'):.2f}x the CPU of one receiver")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
