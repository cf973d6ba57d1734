"""The control socket and ``bgpctl``: every command, as JSON (``--json``)
and as the columns an operator reads; clear errors with exit status 1 for
an unknown command or protocol name, exit status 2 when the daemon cannot
be reached; a malformed request is answered and the daemon keeps serving.

The daemons run in the test's trio run on the mock clock (so a session
coming back after ``enable`` costs no real idle hold time); ``bgpctl`` is
its real ``main`` (blocking, as from a shell), run in a worker thread with
its output captured.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat

import pytest
import trio

from bgpd import ctl
from bgpd_testlib import Pair, learned, mock_clock, wait_for

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
    assert lines[0].split()[:4] == ["Prefix", "Next", "hop", "From"]
    [row] = [line for line in lines if line.startswith("10.2.0.0/24 ")]
    cells = row.split()
    assert cells[1:3] == [pair.b_address, "b"] and "65002" in cells
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
    # No columns for this one: the data, indented.
    assert json.loads(text)["router_id"] == "10.0.0.1"


def _json_help(data, pair):
    commands = {c["command"] for c in data}
    assert {"show protocols", "show protocols all", "show route", "enable", "disable",
            "restart", "reload in", "reload out", "show status", "help"} <= commands


def _text_help(text, pair):
    assert any(c["command"] == "show route" for c in json.loads(text))


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
    (["frobnicate"], "unknown command 'frobnicate'; commands: disable, enable, help"),
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
