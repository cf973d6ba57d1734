"""python3 -m bench.compare [--case transit|calico-rr|fan-out|all]
[--daemons null,bgpd,bird2,bird1.6,frr,gobgp] [--runs 3] [--runs-of gobgp=1,...]
[--scale 1.0] [--timeout 300] [--keep]

Runs are interleaved (run 1 of every daemon, then run 2 of every daemon,
...) so that a noisy spell on the shared machine does not fall on one
daemon only.  A daemon whose binary is missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from . import cases, report
from .references import REFERENCES
from .run import quick_check, run_once

ORDER = ("null", "bgpd", "bird2", "bird1.6", "frr", "gobgp")


def _interrupt(signum, frame):
    # Unwind through every run's ``finally`` (namespaces, processes).
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    # Also when started in the background, where SIGINT comes in ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser(prog="python3 -m bench.compare",
                                 description=(__doc__ or "").split("\n\n")[1])
    ap.add_argument("--case", default="all", choices=[*cases.CASES, "all"])
    ap.add_argument("--daemons", default=",".join(ORDER))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runs-of", default="", help="per-daemon run counts: gobgp=1,frr=1")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=300.0, help="per daemon, case and run")
    ap.add_argument("--keep", action="store_true", help="keep each run's work directory")
    args = ap.parse_args(argv)
    quick_check()
    names = [d.strip() for d in args.daemons.split(",") if d.strip()]
    unknown = [d for d in names if d not in REFERENCES]
    if unknown:
        ap.error(f"unknown daemons {unknown}; known: {', '.join(REFERENCES)}")
    runs_of = {k: int(v) for k, v in (x.split("=") for x in args.runs_of.split(",") if x)}
    available = []
    for d in names:
        why = REFERENCES[d].missing()
        if why:
            print(f"skipping {d}: {why}", file=sys.stderr)
        else:
            available.append(d)
    case_names = list(cases.CASES) if args.case == "all" else [args.case]
    tables = []
    for case in case_names:
        plan = cases.plan(case, args.scale)
        t = time.monotonic()
        cases.prepare(plan)
        print(f"# {case}: {plan.summary} (feed ready in {time.monotonic() - t:.1f}s)",
              file=sys.stderr)
        results = {d: [] for d in available}
        for k in range(max(runs_of.get(d, args.runs) for d in available)):
            for d in available:
                if k >= runs_of.get(d, args.runs):
                    continue
                r = run_once(REFERENCES[d], plan, args.timeout, keep=args.keep)
                results[d].append(r)
                print(f"#   run {k + 1} {d}: {r.status} wall={_f(r.wall)} cpu={_f(r.cpu)} "
                      f"rss={_f(r.rss and r.rss / 1e6, 0)}MB held={r.held:,}/{r.need:,} "
                      f"feeder_cpu={_f(r.feeder_cpu)} send={_f(r.send_seconds)} "
                      f"recv_cpu={_f(r.recv_cpu)} updates={r.updates:,} {' '.join(r.notes)[:300]}",
                      file=sys.stderr, flush=True)
        tables.append(report.table(plan, results))
        print(tables[-1] + "\n", flush=True)
    return 0


def _f(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
