"""RIB ingest benchmark: a full table from one peer, then the same table
from a second and a third peer.

    python3 -m bench.rib_ingest [--prefixes 1000000] [--runs 3]

Each run is a fresh subprocess (so that runs never share memory), with the
daemon's garbage-collector settings (``bgpd.runtime.GC_THRESHOLDS``, and
``gc.freeze()`` after start-up as ``tune_gc`` does).  A run loads the
generated feed (``bench.feed``), then for each peer in turn feeds the raw
UPDATE stream through ``wire.Framer`` on 64 KiB reads, decodes every UPDATE
with a ``wire.UpdateCodec`` (one per peer, all sharing one
``AttributeCache``), applies it with ``Rib.apply_update`` and, after each
read, runs the decision with ``Rib.drain_changes`` -- the daemon's receive
path without the sockets.

Printed per peer: CPU seconds (median of the runs) and the growth of the
resident set per prefix, from ``/proc/self/statm`` before and after.  The
yardstick ``decode`` is measured the same way in its own process: the codec
alone, UPDATEs dropped as they are decoded, so that its RSS is what the
codec's attribute cache keeps; ``peer1 - decode`` is then the RIB's own
share.  Last, where the memory of the one-peer table goes, by object sizes.
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
PEERS = 3


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reads(data: bytes):
    for off in range(0, len(data), READ_SIZE):
        yield data[off:off + READ_SIZE]


def child(prefixes: int, what: str) -> dict:
    """One run in this (fresh) process; returns the figures."""
    from bgpd.runtime import GC_THRESHOLDS
    from rib import PeerInfo, Rib
    from wire import AttributeCache, Framer, UpdateCodec

    from . import feed

    data = feed.load(prefixes)
    gc.set_threshold(*GC_THRESHOLDS)
    gc.collect()
    gc.freeze()
    out = {}
    cache = AttributeCache()

    if what == "codec":
        codec = UpdateCodec(cache=cache)
        framer = Framer()
        rss0, t0 = _rss(), time.process_time()
        for chunk in _reads(data):
            for _t, body in framer.feed(chunk):
                codec.decode(body)
        out["decode"] = (time.process_time() - t0, _rss() - rss0)
        return out

    rib = Rib("10.255.0.1", 64512)
    for i in range(PEERS):
        peer = PeerInfo(f"peer{i + 1}", f"192.0.2.{i + 1}", 64500, 64512, f"10.0.0.{i + 1}")
        rib.peer_up(peer)
        codec = UpdateCodec(cache=cache)
        framer = Framer()
        decode = codec.decode
        apply = rib.apply_update
        drain = rib.drain_changes
        changes = 0
        rss0, t0 = _rss(), time.process_time()
        for chunk in _reads(data):
            for _t, body in framer.feed(chunk):
                apply(peer, decode(body))
            changes += len(drain())
        t = time.process_time() - t0
        out[f"peer{i + 1}"] = (t, _rss() - rss0)
        out[f"peer{i + 1}_changes"] = changes
        if i == 0:
            out["accounting"] = _accounting(rib, cache, prefixes)
    counts = rib.counts()[(1, 1)]
    assert counts["prefixes"] == prefixes, counts
    assert counts["paths"] == PEERS * prefixes, counts
    out["attribute_sets"] = len(cache)
    return out


def _size(obj) -> int:
    """Bytes an object takes from the allocator (16-byte granules)."""
    return (sys.getsizeof(obj) + 15) // 16 * 16


def _accounting(rib, cache, prefixes: int) -> dict:
    """Where the memory of a one-peer table goes, in bytes per prefix, by
    object sizes (the RSS figure also holds allocator slack)."""
    table = rib._tables[(1, 1)]
    adj = next(iter(rib._sources.values())).adj[(1, 1)]
    paths = list(adj.all_paths())
    sets = list(cache.blocks.values())
    as_paths = 0
    for a in sets:
        p = a.as_path
        as_paths += _size(p) + sum(_size(seg) + _size(seg[1]) for seg in p)
        as_paths += sum(_size(asn) for seg in p for asn in seg[1] if asn > 256)
    out = {
        "prefix keys": sum(_size(k) for k in table),
        "Loc-RIB dict": sys.getsizeof(table),
        "Adj-RIB-In dict": sys.getsizeof(adj.routes),
        "Path objects": sum(_size(p) for p in paths),
        "Path interning": sum(sys.getsizeof(d) for d in adj.paths.values()),
        "attribute sets (codec)": sum(_size(a) + _size(a.raw) + _size(a.next_hop) for a in sets)
        + sys.getsizeof(cache.blocks),
        "AS paths in them (codec)": as_paths,
    }
    return {k: v / prefixes for k, v in out.items()}


def _run_child(prefixes: int, what: str) -> dict:
    cmd = [sys.executable, "-m", "bench.rib_ingest", "--child", what, "--prefixes", str(prefixes)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.rib_ingest",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--prefixes", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", choices=("rib", "codec"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.prefixes, args.child)))
        return 0

    from . import feed
    feed.load(args.prefixes)        # build the cached feed once, outside the runs
    results: dict[str, list] = {}
    for _ in range(args.runs):
        for what in ("codec", "rib"):
            for name, value in _run_child(args.prefixes, what).items():
                results.setdefault(name, []).append(value)
    n = args.prefixes
    print(f"feed: {n} prefixes, {results['attribute_sets'][0]} attribute sets; "
          f"{args.runs} runs, each in a fresh process")
    print(f"{'step':<8} {'cpu s (median)':>15} {'prefixes/s':>12} {'RSS B/prefix':>13}   cpu runs")
    for name in ("decode", *(f"peer{i + 1}" for i in range(PEERS))):
        cpu = [v[0] for v in results[name]]
        rss = [v[1] for v in results[name]]
        med = statistics.median(cpu)
        print(f"{name:<8} {med:>15.3f} {n / med:>12,.0f} {statistics.median(rss) / n:>13.1f}   "
              + " ".join(f"{t:.2f}" for t in cpu))
    decode_cpu = statistics.median(v[0] for v in results["decode"])
    decode_rss = statistics.median(v[1] for v in results["decode"])
    rib_cpu = statistics.median(v[0] for v in results["peer1"]) - decode_cpu
    rib_rss = statistics.median(v[1] for v in results["peer1"]) - decode_rss
    print(f"{'peer1 - decode (the RIB alone)':<33} {rib_cpu:7.3f} s {rib_rss / n:13.1f} B/prefix")
    changes = [results[f"peer{i + 1}_changes"][0] for i in range(PEERS)]
    print("changes per peer:", ", ".join(str(c) for c in changes))
    print("peer1 memory by object sizes, bytes per prefix:")
    for name, value in results["accounting"][0].items():
        print(f"  {name:<26} {value:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
