"""Every configuration in conf/examples/ is valid, through the real command
(``bgpd check --config FILE``) and through ``conf.load``, and says what it
is for; the examples meant for a role configure that role."""

import pathlib
import subprocess
import sys

import pytest

import conf

EXAMPLES = pathlib.Path(conf.__file__).parent / "examples"
FILES = sorted(EXAMPLES.glob("*.toml"))
REPO = EXAMPLES.parents[1]


def test_the_examples_are_there():
    names = {f.name for f in FILES}
    assert {"minimal.toml", "policy.toml", "calico-node-mesh.toml", "rr-client.toml",
            "route-reflector.toml", "edge-router.toml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_bgpd_check_accepts(path):
    res = subprocess.run([sys.executable, "-m", "bgpd", "check", "--config", str(path)],
                         capture_output=True, text=True, timeout=30, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("configuration OK: ")
    assert res.stderr == ""


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loads_and_is_commented_for_operators(path):
    config = conf.load(path)
    assert config.peers or config.dynamic_neighbors
    text = path.read_text()
    assert text.startswith("#"), "an example begins by saying what it is for"
    assert f"bgpd check --config conf/examples/{path.name}" in text


def load(name):
    return conf.load(EXAMPLES / name)


def test_calico_node_mesh():
    c = load("calico-node-mesh.toml")
    assert [p.name for p in c.peers] == ["Mesh_192_168_16_102", "Mesh_192_168_17_101"]
    assert all(p.is_ibgp and str(p.local_address) == "192.168.16.101" for p in c.peers)
    assert all(p.export_policy == "calico-export" for p in c.peers)
    assert c.kernel.protocol == 12 and c.kernel.persist
    assert [str(b) for b in c.local_blocks] == ["10.245.0.64/26"]
    assert c.bird_control_socket == "/var/run/calico/bird.ctl"


def test_rr_client():
    c = load("rr-client.toml")
    reflectors = [p for p in c.peers if p.is_ibgp]
    assert [str(p.address) for p in reflectors] == ["192.168.19.101", "192.168.19.102"]
    assert not any(p.name.startswith("Mesh_") for p in c.peers)
    (router,) = [p for p in c.peers if not p.is_ibgp]
    assert router.ttl_security and router.import_policy == "from-router"
    assert [p.encap for p in c.pools] == ["vxlan-cross-subnet"]


def test_route_reflector():
    c = load("route-reflector.toml")
    assert str(c.cluster_id) == "244.0.0.1"
    assert all(d.route_reflector_client for d in c.dynamic_neighbors)
    assert not any(p.route_reflector_client for p in c.peers)   # the other reflector
    assert c.kernel is None


def test_edge_router():
    c = load("edge-router.toml")
    (nodes,) = c.dynamic_neighbors
    assert not nodes.is_ibgp and nodes.import_policy == "from-nodes"
    router2 = c.peer_by_name("router2")
    assert router2.is_ibgp and router2.next_hop_self
    assert c.kernel.learn_protocols == (2,) and c.max_paths == 8
