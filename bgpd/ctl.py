"""`bgpctl`: talk to a running bgpd through its control socket.

    bgpctl [-s SOCKET] [--json] show protocols [all] [NAME]
    bgpctl [-s SOCKET] [--json] show route [all] [protocol NAME] [count]
    bgpctl [-s SOCKET] enable|disable|restart NAME [MESSAGE]

The daemon answers with data; this program lays it out in aligned columns
like ``birdc`` (or prints the data as JSON with ``--json``).  Exit status:
0 done, 1 the daemon refused the command (the reason is printed), 2 the
daemon could not be reached.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

DEFAULT_SOCKET = "/run/bgpd/bgpd.ctl"
TIMEOUT = 30.0


def request(path: str, words: list[str], timeout: float = TIMEOUT) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps({"command": words}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def _since(value) -> str:
    if not value:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))


def columns(rows: list[list[str]], header: list[str]) -> str:
    table = [header] + rows
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [str(c).ljust(w) for c, w in zip(r, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def show_protocols(result) -> str:
    rows = [[p["name"], p.get("proto", "BGP"), p.get("table", "master"), p["state_short"],
             _since(p.get("since")), p.get("info", "")] for p in result]
    return columns(rows, ["Name", "Proto", "Table", "State", "Since", "Info"])


def _lines(obj, indent: int = 2) -> list[str]:
    out = []
    pad = " " * indent
    for key, value in obj.items():
        label = key.replace("_", " ").capitalize()
        if isinstance(value, dict):
            out.append(f"{pad}{label}:")
            out.extend(_lines(value, indent + 2))
        elif isinstance(value, list):
            out.append(f"{pad}{label}: {', '.join(str(v) for v in value) if value else '-'}")
        else:
            out.append(f"{pad}{label}: {value}")
    return out


def show_protocols_all(result) -> str:
    out = []
    for p in result:
        out.append(show_protocols([p]))
        detail = p.get("detail", {})
        out.extend(_lines(detail))
        out.append("")
    return "\n".join(out).rstrip()


def show_route(result) -> str:
    if isinstance(result, dict) and "count" in result:
        return f"{result['count']} of {result.get('total', result['count'])} routes " \
               f"for {result.get('prefixes', result['count'])} networks"
    if result and "status" in result[0]:
        return show_candidates(result)
    rows = []
    for r in result:
        rows.append([r["prefix"], r.get("via", ""), r.get("protocol", ""),
                     "" if r.get("local_pref") is None else r["local_pref"],
                     r.get("as_path", ""), r.get("origin", ""),
                     ", ".join(r.get("flags", []))])
    return columns(rows, ["Prefix", "Next hop", "From", "Pref", "AS path", "Origin", ""])


def show_candidates(result) -> str:
    """Every candidate of a prefix and why it stands where it does."""
    rows = []
    for r in result:
        why = r.get("reason") or ""
        if r.get("step"):
            why = f"lost to {r.get('beaten_by', 'best')} at: {r['step']}" \
                if r["status"] != "multipath" else f"equal up to: {r['step']}"
        rows.append([r["prefix"], r.get("via", ""), r.get("protocol", ""),
                     ", ".join(r.get("flags", [])), r.get("as_path", ""), why])
    return columns(rows, ["Prefix", "Next hop", "From", "Status", "AS path", "Why"])


def plain(result) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, indent=2)


# The command's leading words -> its layout.
FORMATS = [
    (("show", "protocols", "all"), show_protocols_all),
    (("show", "protocols"), show_protocols),
    (("show", "route"), show_route),
]


def layout(words: list[str], result) -> str:
    for prefix, fn in FORMATS:
        if tuple(words[:len(prefix)]) == prefix:
            return fn(result)
    return plain(result)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="bgpctl", description="Control a running bgpd.")
    ap.add_argument("-s", "--socket", default=DEFAULT_SOCKET,
                    help=f"control socket (default {DEFAULT_SOCKET})")
    ap.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    ap.add_argument("command", nargs="+", help="e.g. 'show protocols', 'disable peer1'")
    args = ap.parse_args(argv)
    try:
        reply = request(args.socket, args.command)
    except (OSError, ValueError) as e:
        print(f"bgpctl: cannot reach bgpd at {args.socket}: {e}", file=sys.stderr)
        return 2
    if not reply.get("ok"):
        print(f"bgpctl: {reply.get('error', 'failed')}", file=sys.stderr)
        return 1
    result = reply.get("result")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        text = layout(args.command, result)
        if text:
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
