"""The BIRD-compatible control socket (``bgpd.birdsock``), against daemons
run in the test's own trio run.

Two daemons form Calico's node-to-node mesh over loopback (iBGP, peers
named ``Mesh_<address>``, each announcing a pod block); daemon A also has
a peer nobody answers (``Node_<address>``), so one session is up and one
is not.  A's BIRD sockets, of both flavours and of one family each, are
asked what ``birdc`` and calico-node ask, and the replies are compared
with the lines BIRD 1.6.8 and BIRD 2.0.12 print (taken from the real
daemons: column widths, codes, continuation lines).  calico-node's
readiness check (``node/pkg/health``: read ``show protocols`` and ``show
status`` straight from the socket, refuse any unexpected code, count the
``Established`` BGP rows of ``Global_``/``Node_``/``Mesh_`` peers) is
written out again here in Python and run against the socket.

Timers run on trio's MockClock (autojump), so the session comes up
without real waiting; the socket's own I/O is real.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import re
import socket
import stat
import time

import pytest
import trio

import conf
from bgpd import birdsock
from bgpd_testlib import learned, mock_clock, running_daemon, wait_for, wait_state

DEADLINE = 600              # mock seconds


# ----------------------------------------------------------------------------
# Pure parts: reply prefixes, requests, columns

def test_reply_prefixes_follow_cli_printf():
    r = birdsock.Reply()
    r.line(2002, "name     proto    table    state  since       info")
    r.line(1002, "device1  Device   master   up     18:20:09    ")
    r.line(1002, "static1  Static   master   up     18:20:09    ")
    r.line(1006, "  Preference:     100")
    r.line(1002, "x")
    r.end()
    assert r.take().decode() == (
        "2002-name     proto    table    state  since       info\n"
        "1002-device1  Device   master   up     18:20:09    \n"
        " static1  Static   master   up     18:20:09    \n"
        "1006-  Preference:     100\n"
        "1002-x\n"
        "0000 \n")
    r = birdsock.Reply()
    r.end(14, "2 of 2 routes for 2 networks")
    assert r.take() == b"0014 2 of 2 routes for 2 networks\n"


def test_tokens_are_words_and_quoted_patterns():
    assert birdsock.tokenize('show protocols  "Mesh*"') == [
        ("word", "show"), ("word", "protocols"), ("text", "Mesh*")]
    assert birdsock.tokenize('disable b "going down now"') == [
        ("word", "disable"), ("word", "b"), ("text", "going down now")]
    with pytest.raises(birdsock.CliError):
        birdsock.tokenize('show protocols "Mesh*')


class _NoPeers:
    peers: dict = {}


@pytest.mark.parametrize("flavour, row, bird", [
    # Lines BIRD 1.6.8 and 2.0.12 printed, with their time of day in {t}.
    ("bird1", dict(name="Mesh_10_0_1_2", state="Established", state_short="up"),
     "Mesh_10_0_1_2 BGP      master   up     {t}    Established   "),
    ("bird1", dict(name="Node_10_0_1_9", state="Connect", state_short="start",
                   info="Connect  Socket: No route to host"),
     "Node_10_0_1_9 BGP      master   start  {t}    Connect       Socket: No route to host"),
    ("bird1", dict(name="Node_10_0_1_7", state="Idle", state_short="down", info="Disabled"),
     "Node_10_0_1_7 BGP      master   down   {t}    "),
    ("bird2", dict(name="Mesh_10_0_1_1", state="Established", state_short="up"),
     "Mesh_10_0_1_1 BGP        ---        up     {t}  Established   "),
    ("bird2", dict(name="Mesh_fd00_1__1", state="Idle", state_short="down"),
     "Mesh_fd00_1__1 BGP        ---        down   {t}  "),
])
def test_protocol_rows_have_birds_columns(flavour, row, bird):
    cli = birdsock.Cli(_NoPeers(), birdsock.FLAVOURS[flavour])
    since = time.time() - 60
    row = {"proto": "BGP", "table": "master", "address": "10.0.1.2", "asn": 1,
           "since": since, "info": row["state"], **row}
    t = time.strftime("%H:%M:%S", time.localtime(since))
    if flavour == "bird2":
        t += f".{int(since * 1000) % 1000:03d}"
    assert cli.protocol_line(row) == bird.format(t=t)
    header = {"bird1": "name     proto    table    state  since       info",
              "bird2": "Name       Proto      Table      State  Since         Info"}
    assert birdsock.FLAVOURS[flavour].protocols_header == header[flavour]


class _Table:
    """A daemon stand-in with one iBGP peer and ``n`` routes from it."""

    class _Task:
        class peer:
            is_ibgp, multihop, passive, route_reflector_client = True, None, False, False

    def __init__(self, n: int):
        self.peers = {"Mesh_10_0_1_2": self._Task()}
        self.config = None
        self.started_wall = time.time()
        self.rows = [{"prefix": f"10.{i >> 8 & 255}.{i & 255}.0/24", "via": "10.0.1.2",
                      "protocol": "Mesh_10_0_1_2", "as_path": "", "origin": "i",
                      "local_pref": 100, "med": None, "flags": ["best"]} for i in range(n)]

    def cmd_show_protocols(self, args):
        return [{"name": "Mesh_10_0_1_2", "address": "10.0.1.2", "asn": 64512,
                 "since": self.started_wall, "state": "Established", "state_short": "up",
                 "info": "Established"}]

    def cmd_show_route(self, args):
        return self.rows


@pytest.mark.parametrize("flavour", ["bird1", "bird2"])
def test_a_long_listing_comes_in_chunks(flavour):
    """A big table is handed over in pieces (the server sends each before
    making the next), and the continuation lines run on across pieces."""
    cli = birdsock.Cli(_Table(20000), birdsock.FLAVOURS[flavour],
                       interfaces=lambda: [(ipaddress.ip_network("10.0.1.0/24"), "eth0")])
    chunks = list(cli.replies("show route"))
    assert len(chunks) > 10
    assert all(len(c) < 2 * birdsock.SEND_CHUNK for c in chunks)
    lines = b"".join(chunks).decode().splitlines()
    assert lines[0].startswith("1007-") and lines[-1] == "0000 "
    assert all(x.startswith(" ") for x in lines[1:-1])
    first = {"bird1": " 10.0.1.0/24        via 10.0.1.2 on eth0 [Mesh_10_0_1_2 ",
             "bird2": " 10.0.1.0/24          unicast [Mesh_10_0_1_2 "}[flavour]
    assert any(x.startswith(first) for x in lines)
    if flavour == "bird2":
        assert lines.count(" \tvia 10.0.1.2 on eth0") == 20000
    assert cli.execute("show route count").startswith(
        b"0014 20000 of 20000 routes" if flavour == "bird1" else b"1007-20000 of 20000 routes")


def test_old_times_show_the_date():
    cli = birdsock.Cli(_NoPeers(), birdsock.FLAVOURS["bird1"])
    old = time.time() - 3 * 86400
    assert cli.when(old) == time.strftime("%Y-%m-%d", time.localtime(old))


# ----------------------------------------------------------------------------
# A Calico mesh of two daemons on loopback, and A's BIRD sockets

def _common_port(*addresses: str) -> int:
    """A TCP port free on every one of ``addresses`` (the mesh uses one port)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
        try:
            for a in addresses[1:]:
                with socket.socket() as s:
                    s.bind((a, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


def _mesh_config(me: str, nodes: list[str], port: int, sockdir: str, block: str,
                 extra: str = "") -> conf.Config:
    text = (f'router_id = "{me}"\nasn = 64512\nlisten = ["{me}"]\nport = {port}\n'
            f'control_socket = "{sockdir}/{me}.ctl"\nlog_level = "debug"\n'
            f'local_blocks = ["{block}", "fd00:65:{block.split(".")[2]}::/122"]\n'
            f"{extra}\n"
            "[mesh]\n"
            f"nodes = {json.dumps(nodes)}\n"
            f'port = {port}\nconnect_retry = 1\nfamilies = ["ipv4-unicast", "ipv6-unicast"]\n')
    return conf.loads(text, f"<{me}>")


def mesh_name(address: str) -> str:
    return "Mesh_" + address.replace(".", "_")


SOCKETS = {"bird1": ("bird1", None), "bird2": ("bird2", None),
           "bird": ("bird1", 4), "bird6": ("bird1", 6)}


class Mesh:
    def __init__(self, a, b, a_address, b_address, dead, paths):
        self.a, self.b = a, b
        self.a_address, self.b_address, self.dead = a_address, b_address, dead
        self.paths = paths          # socket name (SOCKETS) -> path

    @property
    def peer_b(self) -> str:
        return mesh_name(self.b_address)


@contextlib.asynccontextmanager
async def calico_mesh(lo, sockdir):
    a_addr, b_addr = lo.address(), lo.address()
    dead = lo.host(9)
    port = _common_port(a_addr, b_addr)
    dead_peer = (f'[[peers]]\nname = "Node_{dead.replace(".", "_")}"\naddress = "{dead}"\n'
                 f"asn = 64512\nport = {port}\nconnect_retry = 1\n")
    ca = _mesh_config(a_addr, [a_addr, b_addr], port, sockdir, "10.65.1.0/26",
                      extra=dead_peer)
    cb = _mesh_config(b_addr, [a_addr, b_addr], port, sockdir, "10.65.2.0/26")
    async with running_daemon(cb, "B") as b, running_daemon(ca, "A") as a:
        await wait_state(a, mesh_name(b_addr))
        await wait_state(b, mesh_name(a_addr))
        await wait_for(lambda: len(learned(a, mesh_name(b_addr))) == 2, "B's blocks on A")
        async with trio.open_nursery() as nursery:
            paths = {}
            for name, (flavour, family) in SOCKETS.items():
                paths[name] = f"{sockdir}/{name}.ctl"
                await nursery.start(functools.partial(
                    birdsock.serve, paths[name], a, a.log, flavour=flavour, family=family))
            yield Mesh(a, b, a_addr, b_addr, dead, paths)
            nursery.cancel_scope.cancel()


def run_mesh(lo, sockdir, body):
    async def main():
        with trio.fail_after(DEADLINE):
            async with calico_mesh(lo, sockdir) as mesh:
                await body(mesh)
    trio.run(main, clock=mock_clock())


def _final(line: str) -> bool:
    return len(line) > 4 and line[:4].isdigit() and line[4] == " "


class Client:
    """One connection, read line by line as ``birdc`` does."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = b""

    @classmethod
    async def connect(cls, path: str) -> "Client":
        return cls(await trio.open_unix_socket(path))

    async def line(self) -> str | None:
        while b"\n" not in self.buf:
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    async def reply(self) -> list[str]:
        """Lines up to and including the one that ends the reply."""
        out = []
        while True:
            line = await self.line()
            assert line is not None, f"connection closed after {out}"
            out.append(line)
            if _final(line):
                return out

    async def ask(self, command: str) -> list[str]:
        await self.stream.send_all(command.encode() + b"\n")
        return await self.reply()

    async def aclose(self):
        await self.stream.aclose()


async def ask(path: str, command: str) -> list[str]:
    """A fresh connection: the greeting, then the reply to ``command``."""
    c = await Client.connect(path)
    try:
        greeting = await c.reply()
        assert len(greeting) == 1 and re.fullmatch(r"0001 BIRD \d+\.\d+\.\d+ ready\.",
                                                   greeting[0])
        return await c.ask(command)
    finally:
        await c.aclose()


def text(lines: list[str]) -> list[str]:
    """What birdc prints: each line without its code or leading space."""
    return [ln[5:] if ln[:4].isdigit() else ln[1:] for ln in lines if ln[:4] != "0000"]


# ----------------------------------------------------------------------------
# calico-node's readiness check, in Python (node/pkg/health/bird/bird.go and
# health.go's checkBIRDReady): it talks to the socket itself, without birdcl.

CALICO_PEER = re.compile(r"^(Global|Node|Mesh)_(.+)$")
CALICO_TIMEOUT = 2.0


def _calico_lines(path: str, command: str, stop: str):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(CALICO_TIMEOUT)
        s.connect(path)
        s.sendall(command.encode() + b"\n")     # without waiting for the greeting
        f = s.makefile("r")
        for line in f:
            line = line.rstrip("\n")
            yield line
            if line.startswith(stop):
                return


def calico_get_peers(path: str, ipv: str) -> list[dict]:
    peers = []
    for line in _calico_lines(path, "show protocols", "0000"):
        if line.startswith("0000"):
            break
        if line.startswith("0001"):
            continue
        if line.startswith("2002"):
            if line[5:].lower().split() != ["name", "proto", "table", "state", "since", "info"]:
                raise ValueError("unknown BIRD table output format")
            continue
        if line.startswith("1002"):
            row = line[5:]
        elif line.startswith(" "):
            row = line[1:]
        else:
            raise ValueError(f"unexpected output line from BIRD: {line!r}")
        cols = row.split()
        if len(cols) < 6 or cols[1] != "BGP":
            continue
        m = CALICO_PEER.match(cols[0])
        if not m:
            continue
        v4 = m.group(2).replace("_", ".")
        try:
            ip = str(ipaddress.IPv4Address(v4))
        except ValueError:
            ip = m.group(2).replace("_", ":")
        peers.append({"ip": ip, "type": m.group(1), "state": cols[3], "since": cols[4],
                      "bgp_state": cols[5], "info": " ".join(cols[6:])})
    want_v6 = ipv == "6"
    return [p for p in peers if (":" in p["ip"]) == want_v6]


def calico_gr_in_progress(path: str) -> bool:
    for line in _calico_lines(path, "show status", "0013"):
        if line.startswith("0013"):
            break
        if line.startswith("0024"):
            return True
        if not (line.startswith(("0001", "1000", "1011", " "))):
            raise ValueError(f"unexpected output line from BIRD: {line!r}")
    return False


def calico_bird_ready(path: str, ipv: str, fresh: bool) -> str | None:
    """None when ready, else calico-node's reason.  ``fresh``: the node
    started less than the threshold ago (every peer must be up and no
    graceful restart running); later one established peer is enough."""
    peers = calico_get_peers(path, ipv)
    down = [p["ip"] for p in peers if p["bgp_state"] != "Established"]
    up = len(peers) - len(down)
    if not peers:
        return None
    if fresh:
        if down:
            return "BGP not established with " + ",".join(down)
        if calico_gr_in_progress(path):
            return "graceful restart in progress"
        return None
    return None if up else "BGP not established with " + ",".join(down)


async def calico(fn, *args):
    return await trio.to_thread.run_sync(fn, *args)


# ----------------------------------------------------------------------------
# Against the mesh

def test_calico_readiness_reads_the_socket(lo, sockdir):
    async def body(m: Mesh):
        peers = await calico(calico_get_peers, m.paths["bird"], "4")
        by_ip = {p["ip"]: p for p in peers}
        assert set(by_ip) == {m.b_address, m.dead}
        assert by_ip[m.b_address]["type"] == "Mesh"
        assert by_ip[m.b_address]["state"] == "up"
        assert by_ip[m.b_address]["bgp_state"] == "Established"
        assert by_ip[m.dead]["type"] == "Node" and by_ip[m.dead]["state"] == "start"
        assert by_ip[m.dead]["bgp_state"] in ("Active", "Connect", "Idle")
        # Just started: every peer must be up; later one is enough.
        assert await calico(calico_bird_ready, m.paths["bird"], "4", True) == \
            f"BGP not established with {m.dead}"
        assert await calico(calico_bird_ready, m.paths["bird"], "4", False) is None
        # The IPv6 socket has no session over IPv6: ready, as calico-node says.
        assert await calico(calico_get_peers, m.paths["bird6"], "6") == []
        assert await calico(calico_bird_ready, m.paths["bird6"], "6", True) is None
        # The same parser accepts BIRD 2's capitalised header and both families.
        assert {p["ip"] for p in await calico(calico_get_peers, m.paths["bird2"], "4")} == \
            {m.b_address, m.dead}

        assert not await calico(calico_gr_in_progress, m.paths["bird"])
        m.a.graceful_restart_recovering = True
        try:
            assert await calico(calico_gr_in_progress, m.paths["bird"])
            assert await calico(calico_gr_in_progress, m.paths["bird2"])
            status = await ask(m.paths["bird1"], "show status")
            assert status[-2:] == ["0024-Graceful restart recovery in progress",
                                   "0013 Daemon is up and running"]
        finally:
            m.a.graceful_restart_recovering = False

        # With the unreachable peer disabled it leaves the list (BIRD prints
        # no info for a protocol that is down, so calico skips the row).
        assert await ask(m.paths["bird"], f"disable Node_{m.dead.replace('.', '_')}") == [
            f"0009-Node_{m.dead.replace('.', '_')}: disabled", "0000 "]
        assert await calico(calico_bird_ready, m.paths["bird"], "4", True) is None
    run_mesh(lo, sockdir, body)


def test_show_status(lo, sockdir):
    async def body(m: Mesh):
        for name, version in (("bird1", "1.6.8"), ("bird2", "2.0.12")):
            lines = await ask(m.paths[name], "show status")
            assert [ln[:5] for ln in lines] == (
                ["1000-", "1011-", " Curr", " Last", " Last", "0013 "] if name == "bird1" else
                ["1000-", "1011-", " Host", " Curr", " Last", " Last", "0013 "])
            assert lines[0] == f"1000-BIRD {version}"
            assert lines[1] == "1011-Router ID is " + m.a_address
            stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d" + (r"\.\d{3}" if name == "bird2" else "")
            for ln, words in zip(lines[-4:-1], ("Current server time is", "Last reboot on",
                                                "Last reconfiguration on")):
                assert re.fullmatch(f" {words} {stamp}", ln), ln
            assert lines[-1] == "0013 Daemon is up and running"
    run_mesh(lo, sockdir, body)


def test_show_protocols_all(lo, sockdir):
    async def body(m: Mesh):
        dead = "Node_" + m.dead.replace(".", "_")
        lines = await ask(m.paths["bird1"], f"show protocols all {m.peer_b}")
        assert lines[0] == "2002-name     proto    table    state  since       info"
        assert lines[1].startswith(f"1002-{m.peer_b} BGP      master   up     ")
        assert lines[2] == "1006-  Preference:     100"
        body1 = text(lines[2:])
        assert body1[:4] == ["  Preference:     100", "  Input filter:   ACCEPT",
                             "  Output filter:  ACCEPT",
                             "  Routes:         2 imported, 2 exported, 2 preferred"]
        assert "  BGP state:          Established" in body1
        assert f"    Neighbor address: {m.b_address}" in body1
        assert "    Neighbor AS:      64512" in body1
        assert f"    Neighbor ID:      {m.b_address}" in body1
        assert "    Session:          internal multihop AS4" in body1
        assert f"    Source address:   {m.a_address}" in body1
        assert any(re.fullmatch(r"    Hold timer:       \d+/90", x) for x in body1)
        assert any(re.fullmatch(r"    Keepalive timer:  \d+/30", x) for x in body1)
        assert lines[-2:] == [" ", "0000 "]

        # The family-limited socket counts its own family's routes only.
        four = text(await ask(m.paths["bird"], f"show protocols all {m.peer_b}"))
        assert "  Routes:         1 imported, 1 exported, 1 preferred" in four
        # A session that is not up says why.
        down = text(await ask(m.paths["bird1"], f"show protocols all {dead}"))
        assert any(x.startswith("    Last error:       Socket: ") for x in down), down

        two = text(await ask(m.paths["bird2"], f"show protocols all {m.peer_b}"))
        assert two[0] == "Name       Proto      Table      State  Since         Info"
        assert two[2:7] == ["  BGP state:          Established",
                            f"    Neighbor address: {m.b_address}",
                            "    Neighbor AS:      64512", "    Local AS:         64512",
                            f"    Neighbor ID:      {m.b_address}"]
        assert "        AF announced: ipv4 ipv6" in two
        assert any(re.fullmatch(r"    Hold timer:       \d+\.\d{3}/90", x) for x in two)
        i = two.index("  Channel ipv4")
        assert two[i:i + 7] == ["  Channel ipv4", "    State:          UP",
                                "    Table:          master4", "    Preference:     100",
                                "    Input filter:   ACCEPT", "    Output filter:  ACCEPT",
                                "    Routes:         1 imported, 1 exported, 1 preferred"]
        assert "    Table:          master6" in two

        # Without a name: every session, each with its details.
        every = await ask(m.paths["bird1"], "show protocols all")
        assert sum(1 for x in every if x.startswith("1002-")) == 2
    run_mesh(lo, sockdir, body)


def test_show_route_as_bird_prints_it(lo, sockdir):
    async def body(m: Mesh):
        t = r"\d\d:\d\d:\d\d"
        lines = await ask(m.paths["bird"], "show route")
        # BIRD 1.6: the iBGP route's next hop resolved through a connected
        # route (IGP metric 0), no AS in the path: "(100/0) [i]".
        assert lines[-1] == "0000 "
        rows = text(lines)
        assert len(rows) == 2
        learned_row = next(r for r in rows if r.startswith("10.65.2.0/26"))
        assert re.fullmatch(
            rf"10\.65\.2\.0/26       via {re.escape(m.b_address)} on lo "
            rf"\[{m.peer_b} {t}\] \* \(100/0\) \[i\]", learned_row), learned_row
        own = next(r for r in rows if r.startswith("10.65.1.0/26"))
        assert re.fullmatch(rf"10\.65\.1\.0/26       blackhole \[local-block {t}\] \* \(200\)",
                            own), own
        assert lines[0].startswith("1007-") and lines[1].startswith(" ")

        six = text(await ask(m.paths["bird6"], "show route"))
        assert sorted(r.split()[0] for r in six) == ["fd00:65:1::/122", "fd00:65:2::/122"]

        both = text(await ask(m.paths["bird1"], "show route"))
        assert len(both) == 4

        two = await ask(m.paths["bird2"], "show route")
        assert two[0] == "1007-Table master4:"
        assert " " in two and " Table master6:" in two
        i = next(i for i, x in enumerate(two) if x.startswith(" 10.65.2.0/26"))
        assert re.fullmatch(
            rf" 10\.65\.2\.0/26         unicast \[{m.peer_b} {t}\.\d{{3}}\] \* \(100\) \[i\]",
            two[i]), two[i]
        assert two[i + 1] == f" \tvia {m.b_address} on lo"

        detail = text(await ask(m.paths["bird"], "show route 10.65.2.0/26 all"))
        assert detail[1:] == ["\tType: BGP unicast univ", "\tBGP.origin: IGP",
                              "\tBGP.as_path: ", f"\tBGP.next_hop: {m.b_address}",
                              "\tBGP.local_pref: 100"]
    run_mesh(lo, sockdir, body)


def test_show_route_queries(lo, sockdir):
    async def body(m: Mesh):
        b1, b2, v4 = m.paths["bird1"], m.paths["bird2"], m.paths["bird"]
        assert text(await ask(v4, "show route for 10.65.2.7"))[0].startswith("10.65.2.0/26 ")
        assert text(await ask(v4, "show route 10.65.2.0/26"))[0].startswith("10.65.2.0/26 ")
        assert await ask(v4, "show route 10.99.0.0/24") == ["8001 Network not in table"]
        assert await ask(b2, "show route for 10.99.0.1") == ["8001 Network not found"]
        assert await ask(m.paths["bird6"], "show route for 10.65.2.7") == \
            ["8001 Network not in table"]
        assert await ask(v4, "show route 10.65.2.1/26") == ["9001 Invalid prefix"]
        rows = text(await ask(b1, f"show route protocol {m.peer_b}"))
        assert sorted(r.split()[0] for r in rows) == ["10.65.2.0/26", "fd00:65:2::/122"]

        assert await ask(v4, "show route count") == ["0014 2 of 2 routes for 2 networks"]
        assert await ask(b1, f"show route protocol {m.peer_b} count") == \
            ["0014 2 of 4 routes for 4 networks"]
        assert await ask(b2, "show route count") == [
            "1007-2 of 2 routes for 2 networks in table master4",
            " 2 of 2 routes for 2 networks in table master6",
            "0014 Total: 4 of 4 routes for 4 networks in 2 tables"]
        assert await ask(b2, f"show route protocol {m.peer_b} count") == [
            "1007-1 of 2 routes for 2 networks in table master4",
            " 1 of 2 routes for 2 networks in table master6", "0000 "]
        assert text(await ask(b2, "show route table master6 count"))[-1] == \
            "Total: 2 of 2 routes for 2 networks in 1 tables"

        assert await ask(b1, "show route protocol nosuch") == ["9001 nosuch is not a protocol"]
        assert await ask(b2, "show route protocol nosuch") == [
            "9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting CF_SYM_KNOWN"]
    run_mesh(lo, sockdir, body)


def test_protocol_names_patterns_and_errors(lo, sockdir):
    async def body(m: Mesh):
        b1, b2 = m.paths["bird1"], m.paths["bird2"]
        assert await ask(b1, "show protocols nosuch") == ["9002 nosuch is not a protocol"]
        assert await ask(b2, "show protocols nosuch") == [
            "9001 syntax error, unexpected CF_SYM_UNDEFINED, expecting END or CF_SYM_KNOWN "
            "or TEXT or ALL"]
        assert await ask(b1, 'show protocols "X*"') == ["8003 No protocols match"]
        mesh_only = await ask(b1, 'show protocols "Mesh*"')
        assert [x.split()[0][5:] for x in mesh_only[1:-1]] == [m.peer_b]
        assert await ask(b1, "show interfaces") == ["9001 syntax error"]
        assert await ask(b1, "foo bar") == ["9001 syntax error"]
        assert await ask(b2, "foo bar") == ["9001 syntax error, unexpected CF_SYM_UNDEFINED"]
        assert await ask(b2, "show") == ["9001 syntax error, unexpected END"]
        # The IPv6 socket knows no IPv4 session.
        assert await ask(m.paths["bird6"], f"show protocols {m.peer_b}") == \
            [f"9002 {m.peer_b} is not a protocol"]
    run_mesh(lo, sockdir, body)


def test_one_connection_many_commands(lo, sockdir):
    async def body(m: Mesh):
        path = m.paths["bird1"]
        c = await Client.connect(path)
        # Two requests sent at once, before the greeting is read (as
        # calico-node does): each gets its own reply, in order.
        await c.stream.send_all(b"show status\nshow protocols\n")
        assert (await c.reply())[0].startswith("0001 BIRD 1.6.8 ready.")
        assert (await c.reply())[-1] == "0013 Daemon is up and running"
        assert (await c.reply())[-1] == "0000 "
        assert await c.ask("x" * 5000) == ["9000 Command too long"]
        assert (await c.ask("show route count"))[0].startswith("0014 ")
        # Clients that connect meanwhile are served too.
        others = [await Client.connect(path) for _ in range(3)]
        for o in others:
            assert (await o.reply())[0].startswith("0001 ")
            assert (await o.ask("show protocols"))[-1] == "0000 "
            await o.aclose()
        await c.stream.send_all(b"quit\n")
        assert await c.line() is None          # closed
        await c.aclose()
    run_mesh(lo, sockdir, body)


def test_enable_disable_restart_and_restrict(lo, sockdir):
    async def body(m: Mesh):
        path = m.paths["bird1"]
        peer = m.peer_b
        assert await ask(path, f'disable {peer} "maintenance"') == [
            f"0009-{peer}: disabled", "0000 "]
        assert m.a.peers[peer].session.state.name == "IDLE"
        rows = text(await ask(path, f"show protocols {peer}"))
        assert rows[1].split()[3] == "down" and len(rows[1].split()) == 5
        assert await ask(path, f"disable {peer}") == [f"0008-{peer}: already disabled",
                                                      "0000 "]
        assert await ask(path, f"restart {peer}") == [f"0008-{peer}: already disabled",
                                                      "0000 "]
        assert await ask(path, f"enable {peer}") == [f"0011-{peer}: enabled", "0000 "]
        assert await ask(path, f"enable {peer}") == [f"0010-{peer}: already enabled", "0000 "]
        await wait_state(m.a, peer)
        assert await ask(path, f"restart {peer}") == [f"0012-{peer}: restarted", "0000 "]
        await wait_state(m.a, peer)

        # birdc -r: read-only from "restrict" on.
        c = await Client.connect(path)
        await c.reply()
        assert await c.ask("restrict") == ["0016 Access restricted"]
        assert await c.ask(f"disable {peer}") == ["8007 Access denied"]
        assert (await c.ask("show protocols"))[-1] == "0000 "
        await c.aclose()
        assert m.a.peers[peer].session.state.name == "ESTABLISHED"
    run_mesh(lo, sockdir, body)


def test_socket_file_lifecycle(sockdir):
    """Parent directories are made, a stale file is replaced, the mode is
    applied and the file is gone after cancellation."""
    path = os.path.join(sockdir, "run", "calico", "bird.ctl")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as fh:
        fh.write("stale")

    class Daemon:
        peers: dict = {}
        config = None
        started_wall = time.time()

        def cmd_show_protocols(self, args):
            return []

        def cmd_show_status(self, args):
            return {"router_id": "10.0.0.1", "message": "Daemon is up and running"}

    async def main():
        import logging
        with trio.fail_after(10):
            async with trio.open_nursery() as n:
                await n.start(functools.partial(birdsock.serve, path, Daemon(),
                                                logging.getLogger("test"), mode=0o600))
                assert stat.S_ISSOCK(os.stat(path).st_mode)
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
                assert await ask(path, "show protocols") == [
                    "2002-name     proto    table    state  since       info", "0000 "]
                n.cancel_scope.cancel()
        assert not os.path.exists(path)
    trio.run(main)

    with pytest.raises(ValueError):
        trio.run(functools.partial(birdsock.serve, path, Daemon(), None, flavour="bird3"))
