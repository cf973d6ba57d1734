"""`bgpd`: the daemon's command line."""

from __future__ import annotations

import argparse
import sys


def _decode(args) -> int:
    from .decode import run
    if args.messages:
        lines = args.messages
    elif args.file:
        with open(args.file, encoding="ascii", errors="replace") as f:
            lines = f.readlines()
    else:
        lines = sys.stdin.readlines()
    return run(lines, as2=args.as2, add_path=args.add_path, extended=args.extended)


def _load(path):
    """The configuration, or None after printing every problem in it."""
    from conf import ConfigError, load
    try:
        return load(path)
    except ConfigError as e:
        for line in e.lines():
            print(line, file=sys.stderr)
        return None


def _check(args) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    print(f"configuration OK: {config.summary()}")
    return 0


def _run(args) -> int:
    import trio

    from . import log as logmod
    from .daemon import Daemon
    config = _load(args.config)
    if config is None:
        return 1
    if args.socket:
        import dataclasses
        config = dataclasses.replace(config, control_socket=args.socket)
    log = logmod.setup(args.log_level or config.log_level)
    try:
        trio.run(Daemon(config, log, config_path=args.config).run)
    except OSError as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _demo(args) -> int:
    from .demo import main as demo_main
    return demo_main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bgpd", description="A pure-Python BGP speaker and route reflector.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser(
        "decode", help="decode hex BGP messages to JSON",
        description="Decode hex BGP messages (header included; several may follow each "
                    "other on one line) and print one JSON object per message.  A malformed "
                    "message prints its RFC 7606 action and the NOTIFICATION it would send. "
                    "Exit status: 0 all well-formed, 1 something malformed, 2 not hex.")
    d.add_argument("messages", nargs="*", help="hex messages (default: one per line on stdin)")
    d.add_argument("-f", "--file", help="read hex messages from FILE, one per line")
    d.add_argument("--as2", action="store_true",
                   help="the session has no 4-octet AS capability (2-octet AS_PATH)")
    d.add_argument("--add-path", action="store_true",
                   help="NLRI carry add-path path identifiers (RFC 7911)")
    d.add_argument("--extended", action="store_true",
                   help="extended messages were negotiated (RFC 8654, up to 65535 octets)")
    d.set_defaults(func=_decode)

    c = sub.add_parser(
        "check", help="check a configuration file",
        description="Load and check a configuration file.  Exit status 0 when it is "
                    "valid; 1 with one 'FILE: key.path: reason' line per problem otherwise.")
    c.add_argument("--config", "-c", required=True, metavar="FILE",
                   help="the TOML configuration file")
    c.set_defaults(func=_check)

    r = sub.add_parser(
        "run", help="run the daemon in the foreground",
        description="Run the daemon in the foreground with the given configuration, "
                    "logging to stderr.  SIGTERM or SIGINT shut it down, sending Cease / "
                    "Administrative Shutdown to every peer.")
    r.add_argument("--config", "-c", required=True, metavar="FILE",
                   help="the TOML configuration file")
    r.add_argument("--socket", "-s", metavar="PATH",
                   help="control socket path (overrides the configuration's control_socket)")
    r.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                   help="overrides the configuration's log_level")
    r.set_defaults(func=_run)

    from .demo import SCENARIO_NAMES
    m = sub.add_parser(
        "demo", help="build the article's lab in network namespaces and run the scenarios",
        description="As root: build two routers, two nodes in different subnets (pods "
                    "included) and a route reflector in network namespaces, run bgpd on "
                    "each, and run the scenarios bgp, vxlan, route-reflector and failure, "
                    "printing what an operator looks at and a PASS/FAIL line each.  "
                    "Everything is removed at the end, also on Ctrl-C.  Exit status 0 when "
                    "every scenario passed.")
    m.add_argument("--scenario", action="append", choices=SCENARIO_NAMES, metavar="NAME",
                   help="run only this scenario (repeatable): " + ", ".join(SCENARIO_NAMES))
    m.add_argument("--keep", action="store_true",
                   help="leave the lab up at the end and say how to explore it")
    m.add_argument("--down", action="store_true", help="remove a lab left up by --keep")
    m.add_argument("--prefix", metavar="PREFIX",
                   help="namespace name prefix (default bgpdemo-), to run labs side by side")
    m.set_defaults(func=_demo)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
