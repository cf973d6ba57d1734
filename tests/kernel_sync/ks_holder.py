"""A process that holds a table in the kernel, for the restart test.

    python3 -m tests.kernel_sync.ks_holder --variant 1 --count 100000 [--graceful]

Run inside a node namespace (``ip netns exec``).  It computes a
deterministic desired table (``table(variant, count)``), reconciles the
kernel to it, prints ``READY <counts>`` and then keeps it right (processing
netlink events) until it is killed.
"""

from __future__ import annotations

import argparse
import select
import sys

from kernel_sync import Forward, KernelSync, Node, SyncOptions, addr

GATEWAYS = ("192.168.16.2", "192.168.16.3")


def prefix(i: int) -> tuple[int, bytes]:
    """The i-th /32 in 10.100.0.0/14."""
    return 1, bytes((32, 10, 100 + (i >> 16), (i >> 8) & 255, i & 255))


def table(variant: int, count: int) -> dict:
    """Variant 1: routes 0..count-1 via the first gateway.  Variant 2:
    the first tenth gone, a tenth more at the end, and every tenth of the
    rest via the second gateway."""
    a, b = (Forward((addr(g),)) for g in GATEWAYS)
    if variant == 1:
        return {prefix(i): a for i in range(count)}
    tenth = count // 10
    return {prefix(i): (b if i % 10 == 0 else a) for i in range(tenth, count + tenth)}


def must_stay(count: int) -> set:
    """Destinations wanted by both variants: never missing during a restart."""
    return {prefix(i) for i in range(count // 10, count)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", type=int, required=True)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--graceful", action="store_true")
    args = ap.parse_args(argv)
    ks = KernelSync(SyncOptions(), node=Node(["192.168.16.1/24"]))
    ks.start(graceful=args.graceful)
    ks.replace_all(table(args.variant, args.count))
    report = ks.apply()
    if args.graceful:
        swept = ks.sweep()
        report.deleted += swept.deleted
    print(f"READY added={report.added} replaced={report.replaced} deleted={report.deleted} "
          f"errors={len(report.errors)}", flush=True)
    while True:
        select.select([ks.fileno()], [], [], 1.0)
        ks.process_events()


if __name__ == "__main__":
    sys.exit(main())
