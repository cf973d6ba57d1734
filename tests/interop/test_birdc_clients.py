"""BIRD's own clients against our daemon's BIRD control socket
(``bgpd.birdsock``): ``birdc`` and ``birdcl`` of BIRD 2, ``birdc`` and
``birdc6`` of BIRD 1.6, run with a command on their command line as
calico-node and scripts run them.

The lab
-------
Two of our daemons, in namespaces ``a`` and ``b`` joined by a veth pair
(10.0.1.1/24 and fd00:1::1/64 on ``a``, .2 and ::2 on ``b``), form
Calico's node-to-node mesh from ``[mesh]`` alone (AS 64512, an iBGP
session per family, named ``Mesh_10_0_1_2`` and ``Mesh_fd00_1__2`` on
``a``); each announces a pod block per family (``a``: 10.65.1.0/26 and
fd00:65:1::/122, ``b``: .2).  Daemon ``a`` runs with three BIRD sockets
(``birdsock_runner.py``): ``bird.ctl`` (BIRD 1.6 output, IPv4 only),
``bird6.ctl`` (BIRD 1.6, IPv6 only) and ``bird2.ctl`` (BIRD 2, both).

The lab is built once for the module (a few seconds); each test runs the
clients against it and checks the lines they print: the session
Established, the route learned from ``b`` with its next hop on the veth
(``via 10.0.1.2 on to-b0``), and the errors a client shows for a name
that is no protocol.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .bgpd_lab import Bgpd
from .daemons import Bird2, Bird16
from .lab import Lab, LabError, run, wait_until

pytestmark = pytest.mark.lab

RUNNER = str(Path(__file__).with_name("birdsock_runner.py"))
CONVERGE = 20.0
T1 = r"\d\d:\d\d:\d\d"              # BIRD 1.6's time of day
T2 = r"\d\d:\d\d:\d\d\.\d{3}"       # BIRD 2's


@dataclass
class MeshNode(Bgpd):
    """Our daemon configured by ``[mesh]`` alone, with BIRD sockets."""

    nodes: tuple = ()
    blocks: tuple = ()
    birds: tuple = ()           # (file name, flavour, family or None)

    def config_text(self) -> str:
        quoted = ", ".join(f'"{x}"' for x in self.nodes)
        return "\n".join([
            f'router_id = "{self.router_id}"', f"asn = {self.asn}",
            "listen = [" + ", ".join(f'"{x}"' for x in self.listen) + "]",
            f'control_socket = "{self.socket}"', f'log_level = "{self.log_level}"',
            "local_blocks = [" + ", ".join(f'"{x}"' for x in self.blocks) + "]",
            "", "[mesh]", f"nodes = [{quoted}]", "connect_retry = 1", ""])

    def bird_path(self, name: str) -> str:
        return str(self.dir / name)

    def argv(self) -> list[str]:
        out = [sys.executable, RUNNER, "-c", str(self.config_path), "--socket", self.socket,
               "--log-level", self.log_level]
        for name, flavour, family in self.birds:
            out.append(f"--bird={self.bird_path(name)}={flavour}"
                       + (f"/{family}" if family else ""))
        return out


@pytest.fixture(scope="module")
def mesh():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces)")
    for cls in (Bird2, Bird16):
        if cls.missing():
            pytest.skip(cls.missing())
    with Lab("birdc") as lab:
        a_ns, b_ns = lab.namespace("a"), lab.namespace("b")
        link = lab.link(a_ns, b_ns)
        nodes = (link.a_v4, link.b_v4, link.a_v6, link.b_v6)
        a = MeshNode(lab, a_ns, 64512, link.a_v4, name="bgpd-a",
                     listen=(link.a_v4, link.a_v6), nodes=nodes,
                     blocks=("10.65.1.0/26", "fd00:65:1::/122"),
                     birds=(("bird.ctl", "bird1", 4), ("bird6.ctl", "bird1", 6),
                            ("bird2.ctl", "bird2", None)))
        b = MeshNode(lab, b_ns, 64512, link.b_v4, name="bgpd-b",
                     listen=(link.b_v4, link.b_v6), nodes=nodes,
                     blocks=("10.65.2.0/26", "fd00:65:2::/122"))
        b.start()
        a.start()
        try:
            a.wait_established("Mesh_10_0_1_2", "Mesh_fd00_1__2", timeout=CONVERGE)
        except LabError as e:
            raise LabError(f"{e}\n--- b's log ---\n{b.output()[-3000:]}") from None

        wait_until(lambda: {"10.65.2.0/26", "fd00:65:2::/122"} <= set(a.best_routes()),
                   CONVERGE, "b's blocks on a")
        yield a, link


def client(argv: list[str], *words: str) -> tuple[int, list[str]]:
    """Run a BIRD client with a command; exit status and printed lines."""
    res = run([*argv, *words], timeout=10, check=False)
    assert res.stderr == "", res.stderr
    return res.returncode, res.stdout.splitlines()


def bird2c(mesh, tool="birdc"):
    a, _link = mesh
    return [tool, "-s", a.bird_path("bird2.ctl")]


def bird16c(mesh, family=4):
    a, _link = mesh
    tool = Bird16.sbin("birdc" if family == 4 else "birdc6")
    return [tool, "-s", a.bird_path("bird.ctl" if family == 4 else "bird6.ctl")]


# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tool", ["birdc", "birdcl"])
def test_bird2_clients(mesh, tool):
    cmd = bird2c(mesh, tool)
    rc, out = client(cmd, "show", "protocols")
    assert rc == 0
    assert out[0] == "BIRD 2.0.12 ready."
    assert out[1] == "Name       Proto      Table      State  Since         Info"
    assert re.fullmatch(rf"Mesh_10_0_1_2 BGP        ---        up     {T2}  Established   ",
                        out[2]), out
    assert re.fullmatch(rf"Mesh_fd00_1__2 BGP        ---        up     {T2}  Established   ",
                        out[3]), out
    assert len(out) == 4

    rc, out = client(cmd, "show", "route")
    assert rc == 0
    i = out.index("Table master4:")
    learned = next(k for k, x in enumerate(out) if x.startswith("10.65.2.0/26"))
    assert re.fullmatch(rf"10\.65\.2\.0/26         unicast \[Mesh_10_0_1_2 {T2}\] \* \(100\) \[i\]",
                        out[learned]), out
    assert out[learned + 1] == "\tvia 10.0.1.2 on to-b0"
    assert any(re.fullmatch(rf"10\.65\.1\.0/26         blackhole \[local-block {T2}\] \* \(200\)",
                            x) for x in out[i:]), out
    j = out.index("Table master6:")
    assert out[j - 1] == "" and j > learned
    v6 = next(k for k, x in enumerate(out) if x.startswith("fd00:65:2::/122"))
    assert out[v6 + 1].startswith("\tvia fd00:1::2 on to-b0"), out

    rc, out = client(cmd, "show", "route", "count")
    assert out[1:] == ["2 of 2 routes for 2 networks in table master4",
                       "2 of 2 routes for 2 networks in table master6",
                       "Total: 4 of 4 routes for 4 networks in 2 tables"]

    # calico-node's liveness check: birdcl show status must print "BIRD..." first.
    rc, out = client(cmd, "show", "status")
    assert rc == 0 and out[0].startswith("BIRD") and out[1] == "BIRD 2.0.12"
    assert out[2] == "Router ID is 10.0.1.1"
    assert out[-1] == "Daemon is up and running"

    # A name that is no protocol: BIRD 2's error, and exit status 1 (code >= 8000).
    rc, out = client(cmd, "show", "protocols", "nosuch")
    assert rc == 1 and out[1].startswith("syntax error, unexpected CF_SYM_UNDEFINED")


def test_bird16_birdc(mesh):
    cmd = bird16c(mesh, 4)
    rc, out = client(cmd, "show", "protocols")
    assert rc == 0
    assert out[0] == "BIRD 1.6.8 ready."
    assert out[1] == "name     proto    table    state  since       info"
    assert re.fullmatch(rf"Mesh_10_0_1_2 BGP      master   up     {T1}    Established   ",
                        out[2]), out
    assert len(out) == 3            # the IPv6 session is bird6's

    rc, out = client(cmd, "show", "route")
    assert rc == 0
    routes = {x.split()[0]: x for x in out[1:]}
    assert set(routes) == {"10.65.1.0/26", "10.65.2.0/26"}
    assert re.fullmatch(rf"10\.65\.2\.0/26       via 10\.0\.1\.2 on to-b0 "
                        rf"\[Mesh_10_0_1_2 {T1}\] \* \(100/0\) \[i\]", routes["10.65.2.0/26"])
    assert re.fullmatch(rf"10\.65\.1\.0/26       blackhole \[local-block {T1}\] \* \(200\)",
                        routes["10.65.1.0/26"])

    rc, out = client(cmd, "show", "route", "for", "10.65.2.9", "all")
    assert out[1].startswith("10.65.2.0/26       via 10.0.1.2 on to-b0")
    assert out[2:] == ["\tType: BGP unicast univ", "\tBGP.origin: IGP", "\tBGP.as_path: ",
                       "\tBGP.next_hop: 10.0.1.2", "\tBGP.local_pref: 100"]

    assert client(cmd, "show", "route", "count")[1] == ["BIRD 1.6.8 ready.",
                                                        "2 of 2 routes for 2 networks"]

    rc, out = client(cmd, "show", "protocols", "all", "Mesh_10_0_1_2")
    assert out[3:5] == ["  Preference:     100", "  Input filter:   ACCEPT"]
    assert "  BGP state:          Established" in out
    assert "    Neighbor address: 10.0.1.2" in out
    assert "    Session:          internal multihop AS4" in out
    assert out[-1] == ""

    # birdc -r: the client says "restrict" first; control commands are refused.
    rc, out = client([cmd[0], "-r", *cmd[1:]], "disable", "Mesh_10_0_1_2")
    assert out[1:] == ["Access restricted", "Access denied"]
    assert "Established" in client(cmd, "show", "protocols", "Mesh_10_0_1_2")[1][2]

    # The client expands abbreviations itself, as BIRD's grammar allows.
    assert client(cmd, "sh", "pro")[1][1] == "name     proto    table    state  since       info"
    # BIRD 1.6's errors.
    assert client(cmd, "show", "protocols", "nosuch")[1][1:] == ["nosuch is not a protocol"]
    assert client(cmd, "show", "route", "10.99.0.0/24")[1][1:] == ["Network not in table"]


def test_bird16_birdc6(mesh):
    cmd = bird16c(mesh, 6)
    rc, out = client(cmd, "show", "protocols")
    assert rc == 0 and len(out) == 3
    assert re.fullmatch(rf"Mesh_fd00_1__2 BGP      master   up     {T1}    Established   ",
                        out[2]), out
    rc, out = client(cmd, "show", "route")
    routes = {x.split()[0]: x for x in out[1:]}
    assert set(routes) == {"fd00:65:1::/122", "fd00:65:2::/122"}
    assert re.fullmatch(rf"fd00:65:2::/122    via fd00:1::2 on to-b0 "
                        rf"\[Mesh_fd00_1__2 {T1}\] \* \(100/0\) \[i\]",
                        routes["fd00:65:2::/122"]), routes


def test_session_down_and_up_through_the_socket(mesh):
    """``birdc disable``/``enable`` act on the session, and ``show
    protocols`` follows (calico-node skips a down row: it has no info)."""
    a, _link = mesh
    cmd = bird16c(mesh, 4)
    try:
        assert client(cmd, "disable", "Mesh_10_0_1_2")[1][1:] == ["Mesh_10_0_1_2: disabled"]
        out = client(cmd, "show", "protocols", "Mesh_10_0_1_2")[1]
        assert re.fullmatch(rf"Mesh_10_0_1_2 BGP      master   down   {T1}    ", out[2]), out
        assert client(bird2c(mesh), "show", "route", "protocol", "Mesh_10_0_1_2")[1] == \
            ["BIRD 2.0.12 ready."]
    finally:
        assert client(cmd, "enable", "Mesh_10_0_1_2")[1][1:] == ["Mesh_10_0_1_2: enabled"]
    a.wait_established("Mesh_10_0_1_2", timeout=CONVERGE)
    assert "Established" in client(cmd, "show", "protocols")[1][2]
