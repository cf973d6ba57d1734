"""`bgpctl`: talk to a running bgpd through its control socket.

    bgpctl [-s SOCKET] [--json] COMMAND...
    bgpctl completion bash|zsh

How it works
------------
Each command's words go to the daemon as one JSON line (see
``bgpd/control.py``); the daemon answers with data only.  This program
lays the data out the way ``birdc`` does -- aligned columns, one line per
session or route -- or, with ``--json``, prints the data itself, so a
script and a person read the same facts.  The layout is chosen from the
command's leading words (``LAYOUTS``); a command this program does not know
is still sent, and its answer printed as JSON.

``COMMANDS`` is the table of what the daemon answers, with each command's
arguments: it feeds ``--help`` and the ``help`` layout.  The shell
completion scripts are generated from ``GRAMMAR``, the same commands as
the words that may follow each other; where a NAME goes they fetch the
protocol names live (``bgpctl --json show protocols``).

Exit status: 0 done; 1 the daemon refused the command (its reason, which
lists the commands when the command is unknown, goes to stderr) or a
``configure`` found errors; 2 the daemon could not be reached (the message
names the socket) or the command line is wrong.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import time

DEFAULT_SOCKET = "/run/bgpd/bgpd.ctl"
TIMEOUT = 30.0

# (command words, arguments, what it does): every command the daemon answers.
COMMANDS = [
    ("show status", "", "daemon version, router id, uptime"),
    ("show protocols", "[NAME]", "sessions, one line each"),
    ("show protocols all", "[NAME]", "sessions in detail: negotiated options, timers, counters"),
    ("show route", "[PREFIX | for ADDRESS] [all] [protocol NAME] [count] [export NAME]",
     "best routes; all: every candidate and why it won or lost; export NAME: what NAME "
     "is sent"),
    ("show kernel", "[PREFIX]", "our routes in the kernel's table and their sync state"),
    ("enable", "NAME", "start a session"),
    ("disable", "NAME [MESSAGE]", "stop a session (Cease, Administrative Shutdown)"),
    ("restart", "NAME [MESSAGE]", "restart a session (Cease, Administrative Reset)"),
    ("reload", "NAME", "reload in and out"),
    ("reload in", "NAME", "ask a peer to send its routes again (ROUTE-REFRESH)"),
    ("reload out", "NAME", "send a peer our routes again"),
    ("configure", "[check]", "re-read the configuration file and apply it; check: only say "
     "what would change"),
    ("help", "", "the daemon's commands"),
]
LOCAL_COMMANDS = [
    ("completion", "bash | zsh", "print a shell completion script (no daemon needed)"),
]


# ----------------------------------------------------------------------------
# Talking to the daemon

class Unreachable(Exception):
    """The daemon could not be asked; the message says why, naming the socket."""


# errno -> what the operator should think of
_WHY = {
    errno.ENOENT: "no such socket; is bgpd running?",
    errno.ECONNREFUSED: "nobody listens on it; bgpd is not running (a stale socket file)",
    errno.EACCES: "not allowed; run as root or as a member of the socket's group",
    errno.ENOTSOCK: "not a socket",
}


def request(path: str, words: list[str], timeout: float = TIMEOUT) -> dict:
    """One command, one reply (``{"ok": ..., "result"/"error": ...}``)."""
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


def ask(path: str, words: list[str], timeout: float = TIMEOUT) -> dict:
    """``request``, with every way of failing turned into ``Unreachable``."""
    try:
        return request(path, words, timeout)
    except socket.timeout:
        raise Unreachable(f"cannot reach bgpd at {path}: no answer within {timeout:g} s") \
            from None
    except OSError as e:
        why = _WHY.get(e.errno, "")
        raise Unreachable(f"cannot reach bgpd at {path}: {e.strerror or e}"
                          + (f" ({why})" if why else "")) from None
    except ValueError as e:
        raise Unreachable(f"cannot reach bgpd at {path}: garbled answer ({e})") from None


# ----------------------------------------------------------------------------
# Layouts: the daemon's data -> the lines an operator reads

def _since(value) -> str:
    if not value:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):        # ECMP: every next hop
        return ", ".join(str(v) for v in value)
    return str(value)


def columns(rows: list[list], header: list[str], optional_from: int | None = None) -> str:
    """Rows under a header, each column as wide as its widest cell.
    Columns from index ``optional_from`` on are left out when every row has
    nothing in them (a field the daemon does not report)."""
    if optional_from is not None and rows:
        keep = [i for i in range(len(header))
                if i < optional_from or any(_text(r[i]) for r in rows)]
        header = [header[i] for i in keep]
        rows = [[r[i] for i in keep] for r in rows]
    table = [header] + [[_text(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [str(c).ljust(w) for c, w in zip(r, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _lines(obj, indent: int = 2) -> list[str]:
    out = []
    pad = " " * indent
    for key, value in obj.items():
        label = _label(str(key))
        if isinstance(value, dict):
            out.append(f"{pad}{label}:")
            out.extend(_lines(value, indent + 2))
        elif isinstance(value, list):
            out.append(f"{pad}{label}: {', '.join(str(v) for v in value) if value else '-'}")
        else:
            out.append(f"{pad}{label}: {'-' if value is None else value}")
    return out


def show_status(result, words=()) -> str:
    """Like ``birdc show status``."""
    r = dict(result)
    out = [f"bgpd {r.pop('version', '?')}"]
    if "router_id" in r:
        asn = r.pop("asn", None)
        out.append(f"Router ID is {r.pop('router_id')}" + (f", AS {asn}" if asn else ""))
    out.append(f"Current server time is {_since(time.time())}")
    if r.get("started"):
        out.append(f"Last reboot on {_since(r.pop('started'))}")
    for key in ("reconfigured", "last_reconfiguration"):
        if r.get(key):
            out.append(f"Last reconfiguration on {_since(r.pop(key))}")
    if "peers" in r:
        out.append(f"Sessions: {r.pop('peers_established', '?')} of {r.pop('peers')} "
                   "established")
    message = r.pop("message", None)
    out.extend(line.strip() for line in _lines({k: v for k, v in r.items()
                                               if v is not None and v != ""}))
    if message:
        out.append(message)
    return "\n".join(out)


def show_protocols(result, words=()) -> str:
    rows = [[p["name"], p.get("proto", "BGP"), p.get("table", "master"), p["state_short"],
             _since(p.get("since")), p.get("info", "")] for p in result]
    return columns(rows, ["Name", "Proto", "Table", "State", "Since", "Info"])


def show_protocols_all(result, words=()) -> str:
    out = []
    for p in result:
        out.append(show_protocols([p]))
        out.extend(_lines(p.get("detail", {})))
        out.append("")
    return "\n".join(out).rstrip()


def _pref(r) -> str:
    return "" if r.get("local_pref") is None else f"({r['local_pref']})"


def _path(r) -> str:
    """``[AS path origin]``, as birdc writes ``[AS65002i]``."""
    words = [w for w in (r.get("as_path", ""), r.get("origin", "")) if w]
    return f"[{' '.join(words)}]" if words else ""


def show_route(result, words=()) -> str:
    if isinstance(result, dict) and "count" in result:
        return f"{result['count']} of {result.get('total', result['count'])} routes " \
               f"for {result.get('prefixes', result['count'])} networks"
    if not result:
        looked_up = any("/" in w or w == "for" for w in words[2:])
        return "Network not found" if looked_up else "No routes"
    if any("status" in r for r in result):
        return show_candidates(result)
    rows = [[r["prefix"], r.get("via", ""), r.get("interface", r.get("dev", "")),
             r.get("protocol", ""), _since(r.get("since")), _pref(r), _path(r),
             ", ".join(r.get("flags", []))] for r in result]
    return columns(rows, ["Prefix", "Via", "Dev", "From", "Since", "Pref", "Path", "Flags"],
                   optional_from=2)


def _why(r) -> str:
    if r.get("status") == "ineligible" and r.get("reason"):
        return r["reason"]              # out before the steps: the reason says why
    if r.get("step"):
        if r.get("status") == "multipath":
            return f"equal up to: {r['step']}"
        return f"lost to {r.get('beaten_by', 'best')} at: {r['step']}"
    return r.get("reason") or ""


def show_candidates(result, words=()) -> str:
    """Every candidate of a prefix and why it stands where it does."""
    rows = [[r["prefix"], r.get("via", ""), r.get("protocol", ""),
             ", ".join(r.get("flags", [r.get("status", "")])), _pref(r),
             "" if r.get("med") is None else r["med"], _path(r), _why(r)] for r in result]
    return columns(rows, ["Prefix", "Via", "From", "Status", "Pref", "MED", "Path", "Why"],
                   optional_from=4)


def show_kernel(result, words=()) -> str:
    rows = [[k.get("prefix", ""), k.get("type", ""), k.get("via", ""), k.get("dev", ""),
             k.get("metric", ""), k.get("table", ""), k.get("protocol", ""),
             k.get("state", "")] for k in result.get("routes", [])]
    out = [columns(rows, ["Prefix", "Type", "Via", "Dev", "Metric", "Table", "Proto",
                          "State"], optional_from=1)]
    if result.get("status"):
        out += ["", "Status:"] + _lines(result["status"])
    return "\n".join(out)


def configure(result, words=()) -> str:
    """``configure [check]``: what changed (or would), or why nothing did."""
    check = "check" in words[1:]
    changes = result.get("changes", [])
    errors = result.get("errors", [])
    if not result.get("ok", not errors):
        out = ["Configuration has errors; nothing changed:" if not check
               else "Configuration has errors:"]
        out += [f"  {e.get('key', '')}: {e.get('reason', '')}" if isinstance(e, dict)
                else f"  {e}" for e in errors]
        return "\n".join(out)
    if not changes:
        return "Configuration OK, no changes" if check else "Reconfigured: no changes"
    head = "Configuration OK, would change:" if check else "Reconfigured:"
    return "\n".join([head] + [f"  {c}" for c in changes])


def _usage_of(command: str) -> str:
    """The syntax of a daemon command ("show route" -> "show route [PREFIX ...")."""
    for words, args, _ in COMMANDS + LOCAL_COMMANDS:
        if words == command:
            return f"{words} {args}".rstrip()
    return command


def show_help(result, words=()) -> str:
    return _listing([(_usage_of(c["command"]), c.get("help", "")) for c in result])


def _listing(rows: list[tuple[str, str]], width: int = 36) -> str:
    """Syntax and description side by side; a syntax too long for its
    column gets a line of its own."""
    width = max((len(u) for u, _ in rows if len(u) <= width), default=0)
    return "\n".join(f"  {u.ljust(width)}  {w}".rstrip() if len(u) <= width
                     else f"  {u}\n  {'':{width}}  {w}" for u, w in rows)


def plain(result, words=()) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list) and all(isinstance(r, str) for r in result):
        return "\n".join(result)
    return json.dumps(result, indent=2)


# The command's leading words -> its layout (the longest match wins: the
# table is searched in order, longer prefixes first).
LAYOUTS = [
    (("show", "protocols", "all"), show_protocols_all),
    (("show", "protocols"), show_protocols),
    (("show", "route"), show_route),
    (("show", "status"), show_status),
    (("show", "kernel"), show_kernel),
    (("configure",), configure),
    (("help",), show_help),
]


def layout(words: list[str], result) -> str:
    for prefix, fn in LAYOUTS:
        if tuple(words[:len(prefix)]) == prefix:
            try:
                return fn(result, words)
            except (KeyError, TypeError, AttributeError, ValueError):
                break       # a shape this version does not know: show the data
    return plain(result)


def failed(words: list[str], result) -> bool:
    """An answer that is a failure even though the daemon took the command."""
    return bool(words) and words[0] == "configure" and isinstance(result, dict) \
        and not result.get("ok", True)


# ----------------------------------------------------------------------------
# Shell completion

NAME = "@name"          # a protocol name, fetched from the daemon

# (words typed so far, after the options) -> the words that may come next.
GRAMMAR = {
    "": ["show", "enable", "disable", "restart", "reload", "configure", "help",
         "completion"],
    "show": ["status", "protocols", "route", "kernel"],
    "show protocols": ["all", NAME],
    "show protocols all": [NAME],
    "enable": [NAME],
    "disable": [NAME],
    "restart": [NAME],
    "reload": ["in", "out", NAME],
    "reload in": [NAME],
    "reload out": [NAME],
    "configure": ["check"],
    "completion": ["bash", "zsh"],
}
# ``show route`` takes its options in any order; these take a value.
ROUTE_OPTIONS = ["all", "count", "for", "protocol", "export"]
ROUTE_VALUES = {"protocol": NAME, "export": NAME, "for": ""}
OPTIONS = ["-s", "--socket", "--json", "-h", "--help"]

BASH = r'''# bash completion for bgpctl (generated by `bgpctl completion bash`).
#   source <(bgpctl completion bash)
# or save it as /etc/bash_completion.d/bgpctl.
_bgpctl_names() {
    # Protocol names, live from the daemon (nothing when it is not running).
    "$1" ${2:+-s "$2"} --json show protocols 2>/dev/null |
        sed -n 's/^    "name": "\([^"]*\)",\{0,1\}$/\1/p'
}

_bgpctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local sock="" words=() i=1 w cands=""
    case $prev in
        -s|--socket) COMPREPLY=($(compgen -f -- "$cur")); return 0;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "%(options)s" -- "$cur")); return 0
    fi
    # The words before the cursor, without the options.
    while (( i < COMP_CWORD )); do
        case ${COMP_WORDS[i]} in
            -s|--socket) sock=${COMP_WORDS[i+1]}; (( i += 2 )); continue;;
            -*) ;;
            *) words+=("${COMP_WORDS[i]}");;
        esac
        (( i += 1 ))
    done
    case "${words[*]}" in
%(cases)s
        "show route"|"show route "*)
            case $prev in
%(route_values)s
                *)  cands="%(route_options)s"
                    for w in "${words[@]:2}"; do cands=" $cands "; cands=${cands/ $w / }; done;;
            esac;;
    esac
    if [[ " $cands " == *" %(name)s "* ]]; then
        cands="${cands/%(name)s/} $(_bgpctl_names "${COMP_WORDS[0]}" "$sock")"
    fi
    COMPREPLY=($(compgen -W "$cands" -- "$cur"))
    return 0
}
complete -F _bgpctl bgpctl
'''

ZSH_PREAMBLE = """# zsh completion for bgpctl (generated by `bgpctl completion zsh`):
# the bash one, through zsh's bashcompinit.
#   source <(bgpctl completion zsh)
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }
autoload -U +X bashcompinit && bashcompinit
"""


def bash_completion() -> str:
    cases = "\n".join(f'        "{key}") cands="{" ".join(words)}";;'
                      for key, words in GRAMMAR.items())
    route_values = "\n".join(f'                {opt}) cands="{value}";;'
                             for opt, value in ROUTE_VALUES.items())
    return BASH % {"options": " ".join(OPTIONS), "cases": cases,
                   "route_values": route_values, "route_options": " ".join(ROUTE_OPTIONS),
                   "name": NAME}


def zsh_completion() -> str:
    return ZSH_PREAMBLE + bash_completion()


COMPLETIONS = {"bash": bash_completion, "zsh": zsh_completion}


def _completion(words: list[str]) -> int:
    shell = words[1] if len(words) == 2 else None
    if shell not in COMPLETIONS:
        print(f"bgpctl: completion: which shell? ({' | '.join(COMPLETIONS)})", file=sys.stderr)
        return 2
    sys.stdout.write(COMPLETIONS[shell]())
    return 0


# ----------------------------------------------------------------------------
# The command line

def command_list() -> str:
    return _listing([(_usage_of(words), what) for words, _, what in COMMANDS + LOCAL_COMMANDS])


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="bgpctl", description="Control a running bgpd through its control socket.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + command_list() + "\n\n"
               "exit status: 0 done, 1 refused by the daemon (or configure found errors), "
               "2 daemon not reached or bad usage")
    ap.add_argument("-s", "--socket", default=DEFAULT_SOCKET,
                    help=f"control socket (default {DEFAULT_SOCKET})")
    ap.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    ap.add_argument("command", nargs="*", help="e.g. 'show protocols', 'disable peer1'")
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    words = args.command
    if not words:
        ap.print_usage(sys.stderr)
        print("bgpctl: which command?\ncommands:\n" + command_list(), file=sys.stderr)
        return 2
    if words[0] == "completion":
        return _completion(words)
    try:
        reply = ask(args.socket, words)
    except Unreachable as e:
        print(f"bgpctl: {e}", file=sys.stderr)
        return 2
    if not reply.get("ok"):
        print(f"bgpctl: {reply.get('error', 'failed')}", file=sys.stderr)
        return 1
    result = reply.get("result")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        text = layout(words, result)
        if text:
            print(text)
    return 1 if failed(words, result) else 0


if __name__ == "__main__":
    sys.exit(main())
