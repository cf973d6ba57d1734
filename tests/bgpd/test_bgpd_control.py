"""The control socket and ``bgpctl``: every command, as JSON (``--json``)
and as the columns an operator reads; clear errors with exit status 1 for
an unknown command or protocol name, exit status 2 when the daemon cannot
be reached; a malformed request is answered and the daemon keeps serving.

The daemons run in the test's trio run on the mock clock (so a session
coming back after ``enable`` costs no real idle hold time); ``bgpctl`` is
its real ``main`` (blocking, as from a shell), run in a worker thread with
its output captured.

The layouts are also checked on canned answers (every shape, exactly, with
no daemon), and end to end through a control socket that serves canned
answers, for the commands whose data a two-daemon pair does not produce
(``show kernel``, ``configure``).  Shell completion: the generated bash
script is sourced in a real bash, its function called as bash's
completion would call it, with protocol names fetched from a running daemon.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys

import pytest
import trio

from bgpd import control, ctl
from bgpd_testlib import Pair, Solo, learned, mock_clock, wait_for

DEADLINE = 600         # mock seconds


def bgpctl(*argv: str) -> tuple[int, str, str]:
    """``bgpctl ARGV``: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = ctl.main(list(argv))
        except SystemExit as e:         # argparse usage errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


async def run_ctl(*argv: str) -> tuple[int, str, str]:
    return await trio.to_thread.run_sync(bgpctl, *argv)


def with_pair(lo, sockdir, body, **pair_options):
    pair = Pair(lo, sockdir, **pair_options)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_for(lambda: len(learned(a, "b")) == 2, "routes on a")
                await body(pair, a, b)

    trio.run(main, clock=mock_clock())


# ----------------------------------------------------------------------------
# Every command, both ways.  (words, check of the JSON, check of the text)

def _json_protocols(data, pair):
    [p] = data
    assert p["name"] == "b" and p["state"] == "Established" and p["state_short"] == "up"
    assert p["address"] == pair.b_address and p["asn"] == 65002


def _text_protocols(text, pair):
    header, row = text.splitlines()
    assert header.split() == ["Name", "Proto", "Table", "State", "Since", "Info"]
    cells = row.split()
    assert cells[:4] == ["b", "BGP", "master", "up"] and cells[-1] == "Established"


def _json_protocols_all(data, pair):
    [p] = data
    d = p["detail"]
    assert d["neighbor_address"] == pair.b_address and d["bgp_state"] == "Established"
    assert d["negotiated"]["families"] == ["ipv4-unicast", "ipv6-unicast"]
    assert d["messages"]["messages_in"]["OPEN"] == 1


def _text_protocols_all(text, pair):
    lines = text.splitlines()
    assert lines[0].startswith("Name") and lines[1].startswith("b ")
    assert f"  Neighbor address: {pair.b_address}" in lines
    assert "  Negotiated:" in lines and "    Families: ipv4-unicast, ipv6-unicast" in lines
    assert "    Four octet as: True" in lines
    assert "  Messages:" in lines and "      Open: 1" in lines
    assert "  Routes:" in lines and "    Ipv4-unicast:" in lines


def _json_route_b(data, pair):
    by_prefix = {r["prefix"]: r for r in data}
    assert set(by_prefix) == {"10.2.0.0/24", "2001:db8:2::/48"}
    r = by_prefix["10.2.0.0/24"]
    assert (r["via"], r["protocol"], r["as_path"], r["origin"]) == \
        (pair.b_address, "b", "65002", "i")


def _json_route(data, pair):
    """B's routes, and our own originated prefixes as static routes."""
    _json_route_b([r for r in data if r["protocol"] == "b"], pair)
    assert {r["prefix"] for r in data if r["protocol"] == "static"} == \
        {"10.1.0.0/24", "2001:db8:1::/48"}


def _text_route_b(text, pair):
    lines = text.splitlines()
    header = lines[0].split()
    # Dev only when the daemon programs the kernel (it does not here).
    assert header[:2] == ["Prefix", "Via"] and header[-2:] == ["Path", "Flags"]
    assert "From" in header and "Dev" not in header
    [row] = [line for line in lines if line.startswith("10.2.0.0/24 ")]
    cells = row.split()
    assert cells[:3] == ["10.2.0.0/24", pair.b_address, "b"]
    assert cells[-3:] == ["[65002", "i]", "best"]
    assert any(line.startswith("2001:db8:2::/48 ") for line in lines)


def _text_route(text, pair):
    _text_route_b(text, pair)
    [row] = [line for line in text.splitlines() if line.startswith("10.1.0.0/24 ")]
    assert "static" in row.split()


def _count(n):
    def check_json(data, pair):
        assert data == {"count": n, "total": n, "prefixes": n}

    def check_text(text, pair):
        assert text == f"{n} of {n} routes for {n} networks\n"
    return check_json, check_text


def _json_status(data, pair):
    assert data["router_id"] == "10.0.0.1" and data["asn"] == 65001
    assert data["peers"] == 1 and data["peers_established"] == 1
    assert data["message"] == "Daemon is up and running"


def _text_status(text, pair):
    lines = text.splitlines()
    assert lines[0].startswith("bgpd ") and lines[1] == "Router ID is 10.0.0.1, AS 65001"
    assert "Sessions: 1 of 1 established" in lines
    assert lines[-1] == "Daemon is up and running"


def _json_help(data, pair):
    commands = {c["command"] for c in data}
    assert {"show protocols", "show protocols all", "show route", "enable", "disable",
            "restart", "reload in", "reload out", "show status", "help"} <= commands


def _text_help(text, pair):
    lines = text.splitlines()
    assert any(line.startswith("  show route [PREFIX | for ADDRESS] [all] ") for line in lines)
    [line] = [line for line in lines if line.startswith("  disable NAME [MESSAGE]  ")]
    assert line.endswith("  stop a session (Cease, Administrative Shutdown)")


def _said(expected):
    def check_json(data, pair):
        assert data == expected

    def check_text(text, pair):
        assert text == expected + "\n"
    return check_json, check_text


READ_ONLY = [
    (["show", "protocols"], _json_protocols, _text_protocols),
    (["show", "protocols", "b"], _json_protocols, _text_protocols),
    (["show", "protocols", "all"], _json_protocols_all, _text_protocols_all),
    (["show", "protocols", "all", "b"], _json_protocols_all, _text_protocols_all),
    (["show", "route"], _json_route, _text_route),
    (["show", "route", "all"], _json_route, _text_route),
    (["show", "route", "protocol", "b"], _json_route_b, _text_route_b),
    (["show", "route", "count"], *_count(4)),
    (["show", "route", "protocol", "b", "count"], *_count(2)),
    (["show", "status"], _json_status, _text_status),
    (["help"], _json_help, _text_help),
    (["reload", "out", "b"], *_said("b: routes sent again")),
    (["reload", "in", "b"], *_said("b: route refresh requested for ipv4-unicast, ipv6-unicast")),
]


def test_read_only_commands_json_and_text(lo, sockdir):
    async def body(pair, a, b):
        for words, check_json, check_text in READ_ONLY:
            rc, out, err = await run_ctl("-s", pair.a_socket, "--json", *words)
            assert (rc, err) == (0, ""), words
            check_json(json.loads(out), pair)
            rc, out, err = await run_ctl("-s", pair.a_socket, *words)
            assert (rc, err) == (0, ""), words
            check_text(out, pair)

    with_pair(lo, sockdir, body)


def test_session_commands_json_and_text(lo, sockdir):
    async def body(pair, a, b):
        session = a.peers["b"].session
        rc, out, err = await run_ctl("-s", pair.a_socket, "disable", "b", "planned", "work")
        assert (rc, out, err) == (0, "b: disabled\n", "")
        assert not session.enabled
        rc, out, _ = await run_ctl("-s", pair.a_socket, "show", "protocols")
        assert 'Administrative shutdown: "planned work"' in out
        rc, out, err = await run_ctl("-s", pair.a_socket, "--json", "enable", "b")
        assert (rc, json.loads(out), err) == (0, "b: enabled", "")
        assert session.enabled
        await pair.established(a, b)
        rc, out, err = await run_ctl("-s", pair.a_socket, "--json", "restart", "b")
        assert (rc, json.loads(out), err) == (0, "b: restarted", "")
        await pair.established(a, b)
        rc, out, err = await run_ctl("-s", pair.a_socket, "restart", "b", "again")
        assert (rc, out, err) == (0, "b: restarted\n", "")
        session_b = b.peers["a"].session
        await wait_for(lambda: session_b.last_received.shutdown_message == "again",
                       "b to receive the Administrative Reset with its message")

    # B passive, as in a Calico mesh, so that A's re-enabled session is
    # taken as soon as B leaves its idle hold.
    with_pair(lo, sockdir, body, b_peer={"passive": True})


# ----------------------------------------------------------------------------
# Errors

ERRORS = [
    (["frobnicate"], "unknown command 'frobnicate'; commands: "),
    (["show", "everything"], "unknown command 'show everything'"),
    (["show", "protocols", "nope"], "no protocol named 'nope'; protocols: b"),
    (["show", "protocols", "all", "nope"], "no protocol named 'nope'; protocols: b"),
    (["show", "route", "protocol", "nope"], "no protocol named 'nope'"),
    (["show", "route", "sideways"], "show route: unexpected 'sideways'"),
    (["enable", "nope"], "no protocol named 'nope'"),
    (["disable", "nope", "why"], "no protocol named 'nope'"),
    (["restart", "nope"], "no protocol named 'nope'"),
    (["reload", "in", "nope"], "no protocol named 'nope'"),
    (["reload", "out", "nope"], "no protocol named 'nope'"),
    (["enable"], "enable: which protocol? (enable NAME)"),
    (["disable"], "disable: which protocol? (disable NAME)"),
    (["restart"], "restart: which protocol? (restart NAME)"),
    (["reload", "in"], "reload in: which protocol?"),
]


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_errors_exit_1_with_the_reason(lo, sockdir, json_flag):
    async def body(pair, a, b):
        for words, message in ERRORS:
            rc, out, err = await run_ctl("-s", pair.a_socket, *json_flag, *words)
            assert rc == 1 and out == "", words
            assert err.startswith("bgpctl: ") and message in err, (words, err)
        # The daemon is unharmed.
        rc, out, _ = await run_ctl("-s", pair.a_socket, "show", "protocols")
        assert rc == 0 and "Established" in out

    with_pair(lo, sockdir, body)


def test_commands_on_a_session_that_is_down(lo, sockdir):
    async def body(pair, a, b):
        await run_ctl("-s", pair.a_socket, "disable", "b")
        for words in (["reload", "in", "b"], ["reload", "out", "b"]):
            rc, out, err = await run_ctl("-s", pair.a_socket, *words)
            assert rc == 1 and "not established" in err, (words, err)
        rc, out, _ = await run_ctl("-s", pair.a_socket, "--json", "show", "route")
        assert rc == 0 and {r["protocol"] for r in json.loads(out)} == {"static"}
        rc, out, _ = await run_ctl("-s", pair.a_socket, "--json", "show", "route", "protocol",
                                   "b")
        assert rc == 0 and json.loads(out) == []

    with_pair(lo, sockdir, body)


def test_unreachable_socket_exits_2(sockdir):
    missing = os.path.join(sockdir, "missing.ctl")
    rc, out, err = bgpctl("-s", missing, "show", "protocols")
    assert rc == 2 and out == ""
    assert err.startswith(f"bgpctl: cannot reach bgpd at {missing}: ")
    # A socket file left behind by a daemon that is gone: refused.
    stale = os.path.join(sockdir, "stale.ctl")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    rc, out, err = bgpctl("-s", stale, "--json", "show", "status")
    assert rc == 2 and "Connection refused" in err


def test_malformed_requests_are_answered(lo, sockdir):
    """What a script might send by mistake gets an error reply on the same
    connection, and the connection (and daemon) go on serving."""
    async def body(pair, a, b):
        stream = await trio.open_unix_socket(pair.a_socket)
        async with stream:
            buf = b""

            async def ask(line: bytes) -> dict:
                nonlocal buf
                await stream.send_all(line + b"\n")
                while b"\n" not in buf:
                    buf += await stream.receive_some(65536)
                reply, buf = buf.split(b"\n", 1)
                return json.loads(reply)

            assert (await ask(b"not json"))["error"].startswith("malformed request")
            assert (await ask(b'{"words": ["show"]}'))["error"].startswith("malformed request")
            assert (await ask(b'{"command": 5}'))["error"].startswith("malformed request")
            reply = await ask(b'{"command": ["show", "status"]}')
            assert reply["ok"] and reply["result"]["asn"] == 65001
            # Several requests in one write, answered in order.
            await stream.send_all(b'{"command": ["show", "route", "count"]}\n'
                                  b'{"command": ["nope"]}\n')
            while buf.count(b"\n") < 2:
                buf += await stream.receive_some(65536)
            first, second, buf = buf.split(b"\n", 2)
            assert json.loads(first)["result"]["count"] == 4
            assert not json.loads(second)["ok"]
        # One line longer than the daemon takes: refused, connection closed.
        stream = await trio.open_unix_socket(pair.a_socket)
        async with stream:
            await stream.send_all(b"x" * (70 * 1024))
            reply = b""
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                reply += chunk
            assert json.loads(reply) == {"ok": False, "error": "request too long"}
        rc, _, _ = await run_ctl("-s", pair.a_socket, "show", "status")
        assert rc == 0

    with_pair(lo, sockdir, body)


def test_socket_file_mode_and_removal(lo, sockdir):
    pair = Pair(lo, sockdir, a_top={"control_socket_mode": "0600"})

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running():
                st = os.stat(pair.a_socket)
                assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
                assert stat.S_IMODE(os.stat(pair.b_socket).st_mode) == 0o660
        assert not os.path.exists(pair.a_socket) and not os.path.exists(pair.b_socket)

    trio.run(main, clock=mock_clock())


def test_unknown_command_lists_the_commands(lo, sockdir):
    async def body(pair, a, b):
        rc, out, err = await run_ctl("-s", pair.a_socket, "frobnicate")
        assert rc == 1 and out == ""
        listed = err.split("commands: ", 1)[1].strip().split(", ")
        assert {"show protocols", "show route", "show status", "enable", "help"} <= set(listed)

    with_pair(lo, sockdir, body)


def test_unreachable_message_says_what_to_do(sockdir):
    missing = os.path.join(sockdir, "missing.ctl")
    rc, _, err = bgpctl("-s", missing, "--json", "show", "status")
    assert rc == 2 and "No such file or directory (no such socket; is bgpd running?)" in err


# ----------------------------------------------------------------------------
# The command line itself

def test_help_lists_the_commands():
    rc, out, err = bgpctl("--help")
    assert rc == 0 and err == ""
    for words, args, _ in ctl.COMMANDS + ctl.LOCAL_COMMANDS:
        assert f"  {words} {args}".rstrip() in out, words
    assert "exit status: 0 done, 1 refused" in out


def test_no_command_is_a_usage_error():
    rc, out, err = bgpctl("-s", "/nonexistent/bgpd.ctl")
    assert rc == 2 and out == ""
    assert "which command?" in err and "show route [PREFIX | for ADDRESS]" in err


# ----------------------------------------------------------------------------
# Layouts, from canned answers (no daemon)

SINCE = 1_700_000_000.0
S = ctl._since(SINCE)

ROUTES = [
    {"prefix": "10.2.0.0/24", "via": "172.16.35.4", "interface": "tunl0", "protocol": "node2",
     "since": SINCE, "local_pref": 100, "as_path": "", "origin": "i", "med": None,
     "flags": ["best"]},
    {"prefix": "10.20.42.0/26", "via": "10.0.0.2", "interface": "eth0", "protocol": "Router_1",
     "since": SINCE, "local_pref": None, "as_path": "64513 64600", "origin": "e", "med": 5,
     "flags": ["best", "ecmp"], "multipath": ["Router_1", "Router_2"]},
]

CANDIDATES = [
    {"prefix": "10.3.0.0/24", "via": "10.0.0.3", "protocol": "frr", "as_path": "65002",
     "origin": "i", "local_pref": 100, "med": 10, "status": "best", "flags": ["best"]},
    {"prefix": "10.3.0.0/24", "via": "10.0.0.4", "protocol": "bird", "as_path": "65002",
     "origin": "i", "local_pref": 100, "med": 50, "status": "not selected",
     "step": "lowest MED", "beaten_by": "frr", "flags": ["not selected", "stale"]},
    {"prefix": "10.3.0.0/24", "via": "10.0.0.5", "protocol": "gobgp", "as_path": "65009 65002",
     "origin": "i", "local_pref": None, "med": None, "status": "rejected",
     "reason": "import policy", "flags": ["rejected"]},
]

KERNEL = {
    "routes": [
        {"prefix": "10.245.0.64/26", "type": "blackhole", "via": [], "dev": [],
         "metric": None, "table": 254, "protocol": 42, "state": "synced"},
        {"prefix": "10.20.42.0/26", "type": "unicast", "via": ["172.16.35.4"], "dev": ["tunl0"],
         "metric": 32, "table": 254, "protocol": 42, "state": "stale"},
        {"prefix": "10.30.0.0/24", "type": "unicast", "via": ["10.0.0.2", "10.0.0.3"],
         "dev": ["eth0", "eth1"], "metric": 32, "table": 254, "protocol": 42,
         "state": "failed"},
    ],
    "status": {"installed": 3, "pending": 0, "last_error": None},
}

CONFIGURED = {"ok": True, "changes": ["peer b: hold_time 90 -> 30", "peer c: added"],
              "errors": []}
UNCHANGED = {"ok": True, "changes": [], "errors": []}
BROKEN = {"ok": False, "changes": [],
          "errors": [{"key": "peers[1].asn", "reason": "must be 1..4294967295"},
                     {"key": "port", "reason": "must be 1..65535"}]}

STATUS = {"version": "0.1.0", "router_id": "10.0.0.1", "asn": 65001, "started": SINCE,
          "peers": 4, "peers_established": 3, "message": "Daemon is up and running"}

HELP = [{"command": "show route", "help": "best routes"},
        {"command": "reload in", "help": "ask for a refresh"},
        {"command": "frob", "help": "a command this bgpctl does not know"}]

LAYOUTS = [
    (["show", "route"], ROUTES,
     "Prefix         Via          Dev    From      Since                Pref   Path"
     "             Flags\n"
     f"10.2.0.0/24    172.16.35.4  tunl0  node2     {S}  (100)  [i]              best\n"
     f"10.20.42.0/26  10.0.0.2     eth0   Router_1  {S}         [64513 64600 e]  best, ecmp"),
    (["show", "route", "export", "b"], ROUTES[:1],
     f"Prefix       Via          Dev    From   Since                Pref   Path  Flags\n"
     f"10.2.0.0/24  172.16.35.4  tunl0  node2  {S}  (100)  [i]   best"),
    (["show", "route", "10.3.0.0/24", "all"], CANDIDATES,
     "Prefix       Via       From   Status               Pref   MED  Path             Why\n"
     "10.3.0.0/24  10.0.0.3  frr    best                 (100)  10   [65002 i]\n"
     "10.3.0.0/24  10.0.0.4  bird   not selected, stale  (100)  50   [65002 i]        "
     "lost to frr at: lowest MED\n"
     "10.3.0.0/24  10.0.0.5  gobgp  rejected                         [65009 65002 i]  "
     "import policy"),
    (["show", "route", "count"], {"count": 3, "total": 5, "prefixes": 2},
     "3 of 5 routes for 2 networks"),
    (["show", "route", "10.9.0.0/24"], [], "Network not found"),
    (["show", "route", "for", "10.9.0.1"], [], "Network not found"),
    (["show", "route"], [], "No routes"),
    (["show", "kernel"], KERNEL,
     "Prefix          Type       Via                 Dev         Metric  Table  Proto  State\n"
     "10.245.0.64/26  blackhole                                          254    42     synced\n"
     "10.20.42.0/26   unicast    172.16.35.4         tunl0       32      254    42     stale\n"
     "10.30.0.0/24    unicast    10.0.0.2, 10.0.0.3  eth0, eth1  32      254    42     failed\n"
     "\n"
     "Status:\n"
     "  Installed: 3\n"
     "  Pending: 0\n"
     "  Last error: -"),
    (["configure"], CONFIGURED,
     "Reconfigured:\n  peer b: hold_time 90 -> 30\n  peer c: added"),
    (["configure", "check"], CONFIGURED,
     "Configuration OK, would change:\n  peer b: hold_time 90 -> 30\n  peer c: added"),
    (["configure"], UNCHANGED, "Reconfigured: no changes"),
    (["configure", "check"], UNCHANGED, "Configuration OK, no changes"),
    (["configure"], BROKEN,
     "Configuration has errors; nothing changed:\n"
     "  peers[1].asn: must be 1..4294967295\n  port: must be 1..65535"),
    (["configure", "check"], BROKEN,
     "Configuration has errors:\n"
     "  peers[1].asn: must be 1..4294967295\n  port: must be 1..65535"),
    (["help"], HELP,
     "  show route [PREFIX | for ADDRESS] [all] [protocol NAME] [count] [export NAME]\n"
     "                  best routes\n"
     "  reload in NAME  ask for a refresh\n"
     "  frob            a command this bgpctl does not know"),
    (["reload", "b"], ["b: route refresh requested for ipv4-unicast", "b: routes sent again"],
     "b: route refresh requested for ipv4-unicast\nb: routes sent again"),
    (["enable", "b"], "b: enabled", "b: enabled"),
    # A shape this bgpctl does not know: the data as JSON, nothing lost.
    (["show", "kernel"], [1, 2], "[\n  1,\n  2\n]"),
    (["show", "nexthops"], {"a": 1}, '{\n  "a": 1\n}'),
]


@pytest.mark.parametrize("words, result, text", LAYOUTS,
                         ids=[" ".join(w) for w, _, _ in LAYOUTS])
def test_layout(words, result, text):
    assert ctl.layout(words, result) == text


def test_status_layout():
    lines = ctl.layout(["show", "status"], {**STATUS, "reconfigured": SINCE,
                                            "kernel_routes": 12}).splitlines()
    assert lines[0] == "bgpd 0.1.0"
    assert lines[1] == "Router ID is 10.0.0.1, AS 65001"
    assert lines[2].startswith("Current server time is ")
    assert lines[3:] == [f"Last reboot on {S}", f"Last reconfiguration on {S}",
                         "Sessions: 3 of 4 established", "Kernel routes: 12",
                         "Daemon is up and running"]


# ----------------------------------------------------------------------------
# Commands the daemon answers, end to end over a control socket serving
# canned answers: the text, the JSON, and the exit status of each.

def with_canned(sockdir, answers: dict, body):
    """A control socket at SOCKDIR/canned.ctl answering ``answers`` (command
    words -> result); ``asked`` collects the arguments each command got."""
    path = os.path.join(sockdir, "canned.ctl")
    asked = []
    commands = control.Commands()
    for words, result in answers.items():
        def handler(args, words=words, result=result):
            asked.append([*words.split(), *args])
            return result
        commands.add(words, handler)

    async def main():
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                await nursery.start(control.serve, path, commands, logging.getLogger("canned"))
                await body(path)
                nursery.cancel_scope.cancel()

    trio.run(main)
    return asked


CANNED = {
    "show kernel": KERNEL, "configure": CONFIGURED, "configure check": BROKEN,
    "show route": ROUTES, "reload": ["b: route refresh requested", "b: routes sent again"],
}

# (words, exit status, the text's first line)
CANNED_RUNS = [
    (["show", "kernel"], 0, "Prefix          Type       Via"),
    (["configure"], 0, "Reconfigured:"),
    (["configure", "check"], 1, "Configuration has errors:"),
    (["show", "route", "export", "b"], 0, "Prefix         Via"),
    (["show", "route", "for", "10.20.42.1", "all"], 0, "Prefix         Via"),
    (["reload", "b"], 0, "b: route refresh requested"),
]


def test_every_command_as_text_and_json(sockdir):
    async def body(path):
        for words, status, first in CANNED_RUNS:
            rc, out, err = await run_ctl("-s", path, *words)
            assert (rc, err) == (status, ""), words
            assert out.splitlines()[0].startswith(first), (words, out)
            rc, out, err = await run_ctl("-s", path, "--json", *words)
            assert (rc, err) == (status, ""), words
            command = max((k for k in CANNED if words[:len(k.split())] == k.split()), key=len)
            assert json.loads(out) == CANNED[command], words

    asked = with_canned(sockdir, CANNED, body)
    # The words reach the daemon as typed.
    assert [a for a in asked[::2]] == [w for w, _, _ in CANNED_RUNS]


# ----------------------------------------------------------------------------
# Shell completion

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def completion(sockdir):
    """complete(*words) -> what bash offers for the last word of
    ``bgpctl WORDS`` (the cursor at its end), sorted."""
    script = os.path.join(sockdir, "bgpctl.bash")
    rc, text, err = bgpctl("completion", "bash")
    assert rc == 0 and err == ""
    with open(script, "w") as f:
        f.write(text)
    # What the user typed as the command: the script asks it for names.
    program = os.path.join(sockdir, "bgpctl")
    with open(program, "w") as f:
        f.write(f'#!/bin/sh\nPYTHONPATH={shlex.quote(ROOT)} exec {shlex.quote(sys.executable)} '
                f'-m bgpd.ctl "$@"\n')
    os.chmod(program, 0o755)

    def complete(*words: str) -> list[str]:
        comp_words = " ".join(shlex.quote(w) for w in (program, *words))
        code = (f"source {shlex.quote(script)}\nCOMP_WORDS=({comp_words})\n"
                f"COMP_CWORD={len(words)}\n_bgpctl\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
        res = subprocess.run(["bash", "--norc", "--noprofile", "-c", code], capture_output=True,
                             text=True, timeout=30)
        assert res.returncode == 0 and res.stderr == "", res.stderr
        return sorted(w for w in res.stdout.split("\n") if w)
    return complete


def test_bash_completion_script_is_valid(sockdir):
    rc, text, _ = bgpctl("-s", "/nonexistent/bgpd.ctl", "completion", "bash")
    assert rc == 0 and "complete -F _bgpctl bgpctl" in text
    res = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")
def test_zsh_completion_script(sockdir):
    """Valid zsh; its function, called the way zsh's bashcompinit calls it
    (sh emulation, 0-based arrays), offers the words (zsh itself then keeps
    those that match what was typed)."""
    rc, text, _ = bgpctl("completion", "zsh")
    assert rc == 0 and "bashcompinit" in text
    res = subprocess.run(["zsh", "-n"], input=text, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    script = os.path.join(sockdir, "bgpctl.zsh")
    with open(script, "w") as f:
        f.write(text)
    code = f"""source {shlex.quote(script)}
t() {{
  emulate -L sh
  setopt kshglob noshglob braceexpand nokshautoload
  COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
  _bgpctl; print -l -- "${{COMPREPLY[@]}}"; echo ---
}}
t bgpctl show pro
t bgpctl show route all ''
"""
    res = subprocess.run(["zsh", "-f", "-c", code], capture_output=True, text=True,
                         timeout=30, env={**os.environ, "HOME": sockdir})
    assert res.returncode == 0 and res.stderr == "", res.stderr
    show, route, _ = res.stdout.split("---\n")
    assert "protocols" in show.split()
    assert sorted(route.split()) == ["count", "export", "for", "protocol"]


def test_completion_knows_every_command():
    """Each command of the table can be typed word by word by completion,
    and a NAME argument is completed with names."""
    for words, args, _ in ctl.COMMANDS + ctl.LOCAL_COMMANDS:
        typed = words.split()
        for n, word in enumerate(typed):
            before = " ".join(typed[:n])
            if before == "show route":
                break
            assert word in ctl.GRAMMAR[before], (words, word)
        if args.startswith("NAME") or args.startswith("[NAME]"):
            assert ctl.NAME in ctl.GRAMMAR[words], words
    for option in ("all", "count", "for", "protocol", "export"):
        assert option in ctl.ROUTE_OPTIONS


@pytest.mark.parametrize("argv", [["completion"], ["completion", "fish"]])
def test_completion_needs_a_known_shell(argv):
    rc, out, err = bgpctl(*argv)
    assert rc == 2 and out == "" and "bash | zsh" in err


# (words typed, the last one being completed) -> what bash offers; no daemon
# runs, so NAME positions offer only the fixed words.
COMPLETIONS = [
    (["sh"], ["show"]),
    (["show", "pro"], ["protocols"]),
    ([""], ["completion", "configure", "disable", "enable", "help", "reload", "restart",
            "show"]),
    (["show", ""], ["kernel", "protocols", "route", "status"]),
    (["show", "protocols", ""], ["all"]),
    (["show", "route", ""], ["all", "count", "export", "for", "protocol"]),
    (["show", "route", "all", "c"], ["count"]),
    (["show", "route", "all", "count", ""], ["export", "for", "protocol"]),
    (["show", "route", "for", ""], []),
    (["show", "route", "protocol", ""], []),
    (["reload", ""], ["in", "out"]),
    (["configure", ""], ["check"]),
    (["completion", ""], ["bash", "zsh"]),
    (["enable", "peer1", ""], []),
    (["--js"], ["--json"]),
    (["--json", "sh"], ["show"]),
    (["-s", "/nonexistent/bgpd.ctl", "show", "st"], ["status"]),
]


@pytest.mark.parametrize("words, offered", COMPLETIONS,
                         ids=[" ".join(w) + "|" for w, _ in COMPLETIONS])
def test_bash_completion(completion, words, offered):
    assert completion(*words) == offered


def test_bash_completion_of_names_from_the_daemon(lo, sockdir, completion):
    """Where a NAME goes, the names come from the running daemon (the one
    named by -s).  On the real clock: each completion runs bash and a
    bgpctl process, real time the mock clock would fill with jumps."""
    solo = Solo(lo, sockdir, peers=[dict(name="b", address=lo.address(), asn=65002,
                                         passive=True),
                                    dict(name="c_2", address=lo.address(), asn=65003,
                                         passive=True)])

    async def main():
        with trio.fail_after(60):
            async with solo.running():
                for words, offered in [
                    (["enable", ""], ["b", "c_2"]),
                    (["enable", "c"], ["c_2"]),
                    (["show", "protocols", ""], ["all", "b", "c_2"]),
                    (["show", "protocols", "all", ""], ["b", "c_2"]),
                    (["show", "route", "protocol", ""], ["b", "c_2"]),
                    (["show", "route", "export", "b"], ["b"]),
                    (["reload", ""], ["b", "c_2", "in", "out"]),
                    (["--json", "reload", "out", ""], ["b", "c_2"]),
                ]:
                    got = await trio.to_thread.run_sync(completion, "-s", solo.socket, *words)
                    assert got == offered, words

    trio.run(main)
