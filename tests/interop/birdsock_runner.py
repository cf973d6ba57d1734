"""Run our daemon with BIRD control sockets beside it, for the lab tests of
``bgpd.birdsock`` with the real ``birdc``/``birdcl``.

    python3 tests/interop/birdsock_runner.py -c CONF --socket CTL \\
        --bird PATH=FLAVOUR[/FAMILY] [--bird ...] [--log-level LEVEL]

How it works
------------
It does what ``bgpd run`` does (load the configuration, log to stderr, run
``bgpd.daemon.Daemon`` until SIGTERM) and, in the same trio run, serves
each ``--bird`` socket with ``bgpd.birdsock.serve``: ``FLAVOUR`` is
``bird1`` or ``bird2``, ``FAMILY`` 4 or 6 limits the socket to one address
family (calico's ``bird.ctl`` and ``bird6.ctl``).  When the daemon stops
(SIGTERM: Cease to every peer first) the sockets close and their files go.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys

import trio

import conf
from bgpd import birdsock
from bgpd import log as logmod
from bgpd.daemon import Daemon


def bird_socket(text: str) -> tuple[str, str, int | None]:
    path, sep, kind = text.rpartition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: write PATH=FLAVOUR[/FAMILY]")
    flavour, _, family = kind.partition("/")
    if flavour not in birdsock.FLAVOURS or family not in ("", "4", "6"):
        raise argparse.ArgumentTypeError(f"{text!r}: FLAVOUR is bird1 or bird2, FAMILY 4 or 6")
    return path, flavour, int(family) if family else None


async def run(config, log, birds) -> None:
    daemon = Daemon(config, log)
    async with trio.open_nursery() as nursery:
        async def daemon_task(task_status=trio.TASK_STATUS_IGNORED):
            await daemon.run(task_status=task_status)
            nursery.cancel_scope.cancel()       # the daemon stopped: so do the sockets
        await nursery.start(daemon_task)
        for path, flavour, family in birds:
            await nursery.start(functools.partial(birdsock.serve, path, daemon, log,
                                                  flavour=flavour, family=family))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", "-c", required=True)
    p.add_argument("--socket", "-s", help="the daemon's own (JSON) control socket")
    p.add_argument("--bird", action="append", type=bird_socket, default=[],
                   metavar="PATH=FLAVOUR[/FAMILY]")
    p.add_argument("--log-level", default=None)
    args = p.parse_args(argv)
    try:
        config = conf.load(args.config)
    except conf.ConfigError as e:
        print("\n".join(e.lines()), file=sys.stderr)
        return 1
    if args.socket:
        config = dataclasses.replace(config, control_socket=args.socket)
    log = logmod.setup(args.log_level or config.log_level)
    try:
        trio.run(run, config, log, args.bird)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
