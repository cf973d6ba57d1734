"""The printed table: per case, per daemon, medians of the runs that
finished and ratios to BIRD 2's medians from the same invocation.

A daemon whose runs did not all finish shows how many did ("2/3") and the
reason of the first that did not; its medians are over those that did.
"""

from __future__ import annotations

import statistics

from .references import REFERENCES

BASE = "bird2"
COLUMNS = ("daemon", "runs", "wall s", "CPU s", "peak RSS MB", "wall/B2", "CPU/B2",
           "RSS/B2", "feeder CPU s", "send s", "recv CPU s", "busiest harness")


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _num(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def _ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"


def summarise(results: list) -> dict:
    ok = [r for r in results if r.status == "ok"]
    bad = [r for r in results if r.status != "ok"]
    return {
        "n": len(results), "ok": len(ok),
        "wall": _median(r.wall for r in ok), "cpu": _median(r.cpu for r in ok),
        "rss": _median(r.rss / 1e6 for r in ok if r.rss),
        "feeder": _median(r.feeder_cpu for r in ok),
        "send": _median(r.send_seconds for r in ok),
        "recv": _median(r.recv_cpu for r in ok),
        "busiest": _median(r.busiest for r in ok),
        "why": (bad[0].status + ("; " + "; ".join(bad[0].notes[:1]) if bad[0].notes else ""))
        if bad else "",
        "walls": [r.wall for r in ok],
    }


def table(plan, by_daemon: dict) -> str:
    """``by_daemon``: daemon name -> list of Results, in the order to print."""
    sums = {d: summarise(rs) for d, rs in by_daemon.items()}
    base = sums.get(BASE, {})
    rows = [COLUMNS]
    notes = []
    for d, s in sums.items():
        runs = f"{s['ok']}/{s['n']}"
        rows.append((d, runs, _num(s["wall"]), _num(s["cpu"]), _num(s["rss"], "{:.0f}"),
                     _ratio(s["wall"], base.get("wall")), _ratio(s["cpu"], base.get("cpu")),
                     _ratio(s["rss"], base.get("rss")), _num(s["feeder"]), _num(s["send"]),
                     _num(s["recv"]),
                     "-" if s["busiest"] is None else f"{100 * s['busiest']:.0f}%"))
        if s["why"]:
            notes.append(f"  {d}: {s['why'][:300]}")
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(COLUMNS))]
    needs = {r.need for rs in by_daemon.values() for r in rs if r.status == "ok"}
    lines = [f"== {plan.case}: {plan.summary}"
             + (f"; receivers must hold {max(needs):,} prefixes in all" if needs else "")]
    for k, r in enumerate(rows):
        lines.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    measured = {d: REFERENCES[d].measured for d in by_daemon if d in REFERENCES}
    lines.append("  CPU/RSS of: " + "; ".join(f"{d}: {m}" for d, m in measured.items()))
    walls = {d: s["walls"] for d, s in sums.items() if len(s["walls"]) > 1}
    if walls:
        lines.append("  wall per run: " + "; ".join(
            f"{d} " + "/".join(f"{w:.2f}" for w in ws) for d, ws in walls.items()))
    lines += notes
    return "\n".join(lines)
