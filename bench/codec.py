"""Codec benchmark: decode and re-encode a generated feed of IPv4 prefixes.

    python3 -m bench.codec [--prefixes 1000000] [--runs 3]

Prints CPU seconds (median of the runs) and prefixes per second for:

floor       the barest CPython loop: frame the messages, slice the NLRI into
            per-prefix keys, intern attribute blocks by their bytes; nothing
            decoded.  The yardstick for this machine.
intern      our receive path as the session uses it: ``Framer.feed`` on
            64 KiB reads, ``UpdateCodec.decode`` (NLRI split into keys,
            attribute blocks interned; a new block is validated and its
            per-comparison fields decoded).
full        as ``intern``, then every field of every distinct attribute set
            read (communities and the other lazy fields decoded too).
encode      every prefix re-encoded into UPDATEs with its attribute set,
            as many prefixes per message as fit.

Ratios are to the floor measured in the same run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from bgpd.runtime import GC_THRESHOLDS
from wire import Framer, UpdateCodec
from wire.attributes import TABLE_BY_FIELD

from . import feed

READ_SIZE = 65536


def floor(data: bytes) -> int:
    cache = {}
    prefixes = 0
    i = 0
    n = len(data)
    while i < n:
        length = data[i + 16] << 8 | data[i + 17]
        body = data[i + 19:i + length]
        i += length
        wlen = body[0] << 8 | body[1]
        alen = body[2 + wlen] << 8 | body[3 + wlen]
        apos = 4 + wlen
        block = body[apos:apos + alen]
        if block not in cache:
            cache[block] = block
        nl = body[apos + alen:]
        j = 0
        m = len(nl)
        keys = []
        while j < m:
            e = j + 1 + ((nl[j] + 7) >> 3)
            keys.append(nl[j:e])
            j = e
        prefixes += len(keys)
    return prefixes


def receive(data: bytes, full: bool = False, keep: bool = False):
    """Decode the feed; the decoded UPDATEs are dropped as a session drops
    them once the RIB has them (kept only to feed the encode step)."""
    codec = UpdateCodec()
    framer = Framer()
    decode = codec.decode
    prefixes = 0
    updates = []
    for off in range(0, len(data), READ_SIZE):
        for _mtype, body in framer.feed(data[off:off + READ_SIZE]):
            u = decode(body)
            prefixes += len(u.nlri)
            if keep:
                updates.append((u.attrs, u.nlri))
    if full:
        fields = list(TABLE_BY_FIELD)
        for a in codec.cache.blocks.values():
            for f in fields:
                getattr(a, f)
    return prefixes, updates


def encode(updates) -> int:
    codec = UpdateCodec()
    enc = codec.encode
    total = 0
    for attrs, nlri in updates:
        for m in enc(attrs, nlri):
            total += len(m)
    return total


def _timed(fn, *args):
    gc.collect()
    t0 = time.process_time()
    result = fn(*args)
    return time.process_time() - t0, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.codec", description=__doc__.split("\n")[0])
    ap.add_argument("--prefixes", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--default-gc", action="store_true",
                    help="keep CPython's default collector thresholds instead of the daemon's")
    args = ap.parse_args(argv)
    if not args.default_gc:
        gc.set_threshold(*GC_THRESHOLDS)
    data = feed.load(args.prefixes)
    print(f"feed: {args.prefixes} prefixes, {len(data) / 1e6:.1f} MB; "
          f"gc thresholds {gc.get_threshold()}")
    results = {"floor": [], "intern": [], "full": [], "encode": []}
    for _ in range(args.runs):
        t, n = _timed(floor, data)
        results["floor"].append(t)
        t, (n2, _u) = _timed(receive, data)
        assert n2 == n, (n, n2)
        results["intern"].append(t)
        del _u
        t, _r = _timed(receive, data, True)
        results["full"].append(t)
        del _r
        _n, updates = receive(data, False, True)
        t, _size = _timed(encode, updates)
        results["encode"].append(t)
        del updates
    base = statistics.median(results["floor"])
    print(f"{'step':<8} {'cpu s (median)':>15} {'prefixes/s':>12} {'x floor':>8}   runs")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<8} {med:>15.3f} {args.prefixes / med:>12,.0f} {med / base:>8.2f}   "
              + " ".join(f"{t:.2f}" for t in times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
