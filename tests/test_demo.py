"""``bgpd demo``: the configurations it writes, its output, and (lab) the
whole demo run as a subprocess: every scenario passes, and afterwards
nothing of it is left -- no namespace, process, file or route -- also after
Ctrl-C, and ``--keep`` / ``--down`` leave and remove the lab."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import conf
from bgpd.cli import build_parser
from bgpd.ctl import request
from bgpd.demo import SCENARIO_NAMES, configs
from bgpd.demo.lab import state_dir
from bgpd.demo.progress import Progress
from bgpd.demo.topology import NODES, Topology

REPO = Path(__file__).resolve().parents[1]
DEMO_DEADLINE = 170           # the whole demo takes about 15-25 s


# -- without a lab --------------------------------------------------------------------

def _configs():
    sock = "/run/bgpd-demo/test/x.ctl"
    yield "r1", configs.router_config("r1", sock)
    yield "r2", configs.router_config("r2", sock)
    yield "rr", configs.reflector_config(sock)
    for scenario in ("bgp", "vxlan", "route-reflector"):
        for n in NODES:
            yield f"{n.name}-{scenario}", configs.node_config(n.name, sock, scenario)


CONFIGS = list(_configs())


@pytest.mark.parametrize("name,text", CONFIGS, ids=[name for name, _text in CONFIGS])
def test_every_demo_configuration_is_valid(tmp_path, name, text):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    config = conf.load(path)
    if name.startswith("node"):
        assert config.kernel is not None and config.pools
        ebgp = [p for p in config.peers if not p.is_ibgp]
        assert len(ebgp) == 1 and ebgp[0].export_policy == "calico-export"
    if name.endswith("-vxlan"):
        assert any(p.name.startswith("Mesh_") for p in config.peers)


def test_cli_has_the_demo_command():
    args = build_parser().parse_args(["demo", "--scenario", "vxlan", "--keep"])
    assert args.scenario == ["vxlan"] and args.keep and not args.down
    assert list(SCENARIO_NAMES) == ["bgp", "vxlan", "route-reflector", "failure"]


def test_progress_prints_plain_lines_off_a_terminal():
    buf = io.StringIO()
    out = Progress(buf, tty=False)
    with out.step("build"):
        pass
    with pytest.raises(RuntimeError):
        with out.step("start"):
            raise RuntimeError("no answer\nmore")
    out.result(True, "bgp", "fine")
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("  ok   build  ") and lines[0].endswith(" s")
    assert lines[1].startswith("  FAIL start  ") and lines[1].endswith(": no answer")
    assert lines[2] == "PASS  bgp: fine"
    assert "\033" not in buf.getvalue()


def test_namespace_names_carry_the_prefix():
    topo = Topology("bgpdemo-")
    names = topo.all_namespaces()
    assert "bgpdemo-node1" in names and "bgpdemo-node2-pod2" in names
    assert all(n.startswith("bgpdemo-") for n in names)


# -- the lab ----------------------------------------------------------------------------

def _need_lab():
    if os.geteuid() != 0:
        pytest.skip("the demo needs root (network namespaces)")
    missing = [t for t in ("ip", "ping", "bridge") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {missing}")


def _netns() -> set[str]:
    try:
        return set(os.listdir("/var/run/netns"))
    except FileNotFoundError:
        return set()


def _our_processes(directory: Path) -> list[str]:
    """Command lines of running processes that name the lab's directory."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(directory) in cmd:
            out.append(cmd)
    return out


def _host_routes() -> str:
    return subprocess.run(["ip", "route", "show", "proto", "179"], capture_output=True,
                          text=True, timeout=10).stdout


def _demo(prefix: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bgpd", "demo", "--prefix", prefix, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, **kw)


def _down(prefix: str) -> None:
    subprocess.run([sys.executable, "-m", "bgpd", "demo", "--down", "--prefix", prefix],
                   capture_output=True, timeout=60, cwd=REPO)


def _assert_nothing_left(prefix: str, routes_before: str) -> None:
    directory = state_dir(prefix)
    assert not [n for n in _netns() if n.startswith(prefix)]
    assert not directory.exists()
    assert not _our_processes(directory)
    assert _host_routes() == routes_before


@pytest.fixture
def prefix():
    _need_lab()
    p = f"bgpdt{secrets.token_hex(3)}-"
    yield p
    _down(p)            # whatever a failed test left


@pytest.mark.lab
def test_the_whole_demo_passes_and_leaves_nothing(prefix):
    routes_before = _host_routes()
    started = time.monotonic()
    proc = _demo(prefix)
    try:
        output, _ = proc.communicate(timeout=DEMO_DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    took = time.monotonic() - started
    assert proc.returncode == 0, output
    for name in SCENARIO_NAMES:
        assert f"PASS  {name}: " in output, output
    assert "FAIL" not in output, output
    assert " 0 lost" in output and "no route withdrawn" in output
    assert "ORIGINATOR_ID 192.168.16.101 CLUSTER_LIST 244.0.0.1" in output
    assert took < 120, f"the demo took {took:.0f} s"
    _assert_nothing_left(prefix, routes_before)


@pytest.mark.lab
def test_ctrl_c_removes_everything(prefix):
    routes_before = _host_routes()
    proc = _demo(prefix, "--scenario", "bgp", "--scenario", "vxlan")
    directory = state_dir(prefix)
    try:
        # Interrupt once the nodes' daemons run: the lab is complete then.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                state = json.loads((directory / "state.json").read_text())
            except (OSError, ValueError):
                state = {}
            if "node1" in state.get("daemons", {}):
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.05)
        else:
            pytest.fail("the demo never started node1's daemon")
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, output
    assert "interrupted" in output
    _assert_nothing_left(prefix, routes_before)


@pytest.mark.lab
def test_keep_then_down(prefix):
    routes_before = _host_routes()
    proc = _demo(prefix, "--scenario", "bgp", "--keep")
    output, _ = proc.communicate(timeout=DEMO_DEADLINE)
    assert proc.returncode == 0, output
    topo = Topology(prefix)
    directory = state_dir(prefix)
    assert set(topo.all_namespaces()) <= _netns()
    assert f"bgpd demo --down --prefix {prefix}" in output
    # The kept lab works: node1's daemon answers and its block is blackholed.
    reply = request(str(directory / "node1.ctl"), ["show", "route"], timeout=5)
    assert reply["ok"] and any(r["prefix"] == "10.245.0.64/26" for r in reply["result"])
    res = subprocess.run(["ip", "-n", topo.ns("node1"), "route", "show", "proto", "179"],
                         capture_output=True, text=True, timeout=10)
    assert "blackhole 10.245.0.64/26" in res.stdout
    _down(prefix)
    _assert_nothing_left(prefix, routes_before)
