"""``bgpd demo``: build the lab, run the scenarios, tear everything down.

How it works
------------
``main(args)`` checks that it can work (root, ``ip``, ``ping``,
``bridge``), removes what an earlier run left behind (a kept lab, or one
whose demo was killed) unless that demo still runs, builds the network,
starts the routers, then runs each scenario in turn; a scenario that fails
is reported and the next one still runs (each starts from a clean state).
The teardown runs in ``finally`` with SIGINT and SIGTERM ignored, so that
a second Ctrl-C cannot leave half a lab: Ctrl-C, SIGTERM, SIGHUP or an
error all end in the same cleanup.  With ``--keep`` a finished run leaves
the lab up and says how to explore it; ``--down`` removes it.

Exit status: 0 when every scenario passed, 1 when one failed (or the lab
could not be built), 2 when the demo cannot run here, 130 when
interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys

from . import lab as labmod
from .lab import DEFAULT_PREFIX, DemoLab
from .netns import DemoError
from .progress import Progress
from .scenarios import SCENARIOS, Demo, Result
from .topology import NODES, REFLECTOR, ROUTERS

TOOLS = ("ip", "ping", "bridge")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def _signals(handler):
    """SIGINT, SIGTERM and SIGHUP all go to ``handler`` in the body."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.getsignal(s) for s in sigs}
    try:
        for s in sigs:
            signal.signal(s, handler)
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "bgpd demo builds network namespaces: run it as root"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return (f"missing: {', '.join(missing)} (packages iproute2, iputils-ping; "
                "scripts/setup installs them)")
    return None


def main(args) -> int:
    out = Progress()
    prefix = args.prefix or DEFAULT_PREFIX
    try:
        labmod.check_prefix(prefix)
    except DemoError as e:
        print(f"bgpd demo: {e}", file=sys.stderr)
        return 2
    why = _cannot_run()
    if why:
        print(f"bgpd demo: {why}", file=sys.stderr)
        return 2
    owner = labmod.owner_running(prefix)
    if owner is not None:
        print(f"bgpd demo: another demo (pid {owner}) is running this lab; stop it first "
              f"(Ctrl-C there, or kill {owner})", file=sys.stderr)
        return 2
    if args.down:
        return _down(out, prefix)
    left = labmod.leftovers(prefix)
    if left:
        with out.step(f"remove the lab an earlier run left ({len(left)} items)"):
            problems = labmod.down(prefix)
        if problems:
            print("bgpd demo: " + "; ".join(problems), file=sys.stderr)
            return 2
    # Always in the order of SCENARIOS: each builds on what the previous showed.
    names = [n for n in SCENARIOS if not args.scenario or n in args.scenario]
    return _run(out, prefix, names, args.keep)


def _down(out: Progress, prefix: str) -> int:
    if not labmod.leftovers(prefix):
        out.line(f"no demo lab with prefix {prefix!r} is up")
        return 0
    with out.step(f"remove the demo lab ({prefix}*)"):
        problems = labmod.down(prefix)
    for p in problems:
        out.line(f"  {p}")
    return 1 if problems else 0


def _run(out: Progress, prefix: str, names: list[str], keep: bool) -> int:
    lab = DemoLab(prefix)
    demo = Demo(lab, out)
    results: list[Result] = []
    interrupted = False
    with _signals(_interrupt):
        try:
            lab.open()
            _intro(out, lab, names)
            hosts = len(ROUTERS) + len(NODES) + 1
            pods = sum(len(n.pods) for n in NODES)
            with out.step(f"build the network: {hosts} hosts, {pods} pods, veth links "
                          f"(namespaces {prefix}*)"):
                lab.build()
            with out.step("start bgpd on r1 and r2 (iBGP, kernel FIB), learn each "
                          "other's subnets"):
                demo.start_routers()
            for i, name in enumerate(names, 1):
                title, what, fn = SCENARIOS[name]
                out.heading(f"[{i}/{len(names)}] {name}: {title}")
                out.note(what)
                try:
                    result = fn(demo)
                except KeyboardInterrupt:
                    raise
                except Exception as e:          # report it, go on with the next scenario
                    out.note(str(e))
                    first = (str(e).splitlines() or [type(e).__name__])[0]
                    result = Result(name, False, f"error: {first}")
                out.result(result.ok, result.name, result.detail)
                results.append(result)
        except KeyboardInterrupt:
            interrupted = True
            out.line("\ninterrupted: removing the lab")
        except Exception as e:
            out.line(f"the lab could not be built or started: {e}")
            results.append(Result("setup", False, str(e).splitlines()[0] if str(e) else
                                  type(e).__name__))
        finally:
            # Nothing may stop the cleanup half-way.
            with _signals(signal.SIG_IGN):
                if keep and not interrupted:
                    _explore(out, lab)
                else:
                    with out.step("remove the lab: daemons stopped, namespaces deleted"):
                        problems = lab.close()
                    for p in problems:
                        out.line(f"  {p}")
    if results:
        out.summary(results)
    if interrupted:
        return 130
    return 0 if results and all(r.ok for r in results) else 1


def _intro(out: Progress, lab: DemoLab, names: list[str]) -> None:
    out.line("bgpd demo: the seed article's lab, with our daemon on every router and node")
    out.line("  r1, r2     routers, AS 64513, iBGP between them, eBGP to their node")
    out.line("  node1      192.168.16.101/24 behind r1, AS 64512, block 10.245.0.64/26")
    out.line("  node2      192.168.17.101/24 behind r2, AS 64512, block 10.245.0.192/26")
    out.line(f"  {REFLECTOR.name:<10} {REFLECTOR.address} behind r1, route reflector "
             "(third scenario)")
    out.line("  scenarios  " + ", ".join(f"{i}. {n}" for i, n in enumerate(names, 1)))
    out.line(f"  files      {lab.dir} (configurations, sockets, logs)")
    out.line()


def _explore(out: Progress, lab: DemoLab) -> None:
    t = lab.topo
    flag = "" if t.prefix == DEFAULT_PREFIX else f" --prefix {t.prefix}"
    out.heading("The lab is still up (--keep).  Explore it:")
    # Nodes first: that is where an operator of a cluster looks.
    running = sorted(lab.running(), key=lambda h: (not h.startswith("node"), h))
    for host in running[:3]:
        out.line(f"  {lab.bgpctl_command(host, 'show', 'route')}")
    if running:
        out.line(f"  {lab.bgpctl_command(running[0], 'show', 'protocols', 'all')}")
    out.line(f"  ip netns exec {t.ns('node1')} ip route")
    out.line(f"  ip netns exec {t.pod_ns('node2', 1)} ping {t.pod_address('node1', 1)}")
    out.line(f"  configurations and logs: {lab.dir}/")
    out.line(f"Remove it with: bgpd demo --down{flag}")
