"""The [mesh] table (Calico's node-to-node mesh) and cluster_id (RFC 4456)."""

import ipaddress
import itertools

import pytest

import conf

H = 'router_id = "10.0.0.2"\nasn = 64512\n'
NODES = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.10"]


def mesh(extra: str = "", nodes=NODES, head: str = H, listen='listen = ["10.0.0.2"]\n'):
    text = head + listen + "[mesh]\nnodes = [" + ", ".join(f'"{n}"' for n in nodes) + "]\n" + extra
    return conf.loads(text)


def problems(text: str) -> list[str]:
    with pytest.raises(conf.ConfigError) as e:
        conf.loads(text)
    return [str(p) for p in e.value.problems]


def test_one_ibgp_peer_per_other_node():
    c = mesh()
    assert [p.name for p in c.peers] == ["Mesh_10_0_0_1", "Mesh_10_0_0_3", "Mesh_10_0_0_10"]
    for p in c.peers:
        assert p.is_ibgp and p.asn == 64512 and p.local_asn == 64512
        assert p.local_address == ipaddress.ip_address("10.0.0.2")   # Calico: the node IP
        assert not p.route_reflector_client
        assert p.families == ((1, 1),)


def test_the_greater_address_as_text_is_passive():
    c = mesh()
    passive = {str(p.address): p.passive for p in c.peers}
    # "10.0.0.2" > "10.0.0.1" and > "10.0.0.10" as text; < "10.0.0.3".
    assert passive == {"10.0.0.1": True, "10.0.0.3": False, "10.0.0.10": True}


def test_every_pair_has_exactly_one_passive_side():
    nodes = ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.10", "10.0.1.1"]
    configs = {n: mesh(nodes=nodes, head=f'router_id = "{n}"\nasn = 64512\n',
                       listen=f'listen = ["{n}"]\n') for n in nodes}
    for a, b in itertools.combinations(nodes, 2):
        pa = next(p for p in configs[a].peers if str(p.address) == b)
        pb = next(p for p in configs[b].peers if str(p.address) == a)
        assert pa.passive != pb.passive, (a, b)


def test_own_address_from_local_address():
    c = mesh('local_address = "10.0.0.3"\n', listen="")
    assert [str(p.address) for p in c.peers] == ["10.0.0.1", "10.0.0.2", "10.0.0.10"]
    assert all(p.local_address == ipaddress.ip_address("10.0.0.3") for p in c.peers)
    assert {str(p.address): p.passive for p in c.peers} == {
        "10.0.0.1": True, "10.0.0.2": True, "10.0.0.10": True}


def test_session_options_and_defaults():
    text = (H + 'listen = ["10.0.0.2"]\n'
            '[defaults]\nhold_time = 60\nroute_reflector_client = true\npassword = "s3cret"\n'
            '[mesh]\nnodes = ["10.0.0.1", "10.0.0.2"]\nkeepalive = 5\nasn = 64512\n')
    (p,) = conf.loads(text).peers
    assert (p.hold_time, p.keepalive, p.password) == (60, 5, "s3cret")
    assert not p.route_reflector_client             # a mesh is no reflector's clients
    c = mesh("route_reflector_client = true\n")
    assert all(p.route_reflector_client for p in c.peers)
    assert c.cluster_id == ipaddress.IPv4Address("10.0.0.2")


def test_mesh_next_to_explicit_peers_and_ipv6_nodes():
    text = (H + 'listen = ["10.0.0.2", "fd00::2"]\n'
            '[[peers]]\naddress = "192.168.0.1"\nasn = 64513\n'
            '[mesh]\nnodes = ["10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"]\n'
            'local_address = "10.0.0.2"\n')
    c = conf.loads(text)
    names = [p.name for p in c.peers]
    assert names == ["peer_192_168_0_1", "Mesh_10_0_0_1", "Mesh_fd00__1"]
    v6 = c.peer_by_name("Mesh_fd00__1")
    assert v6.local_address == ipaddress.ip_address("fd00::2") and v6.families == ((2, 1),)
    assert v6.passive                       # "fd00::2" > "fd00::1"
    assert c.peer_by_address("10.0.0.1").name == "Mesh_10_0_0_1"


ERRORS = [
    (H + "[mesh]\nasn = 64512\n", "mesh: missing required key 'nodes'"),
    (H + '[mesh]\nnodes = ["10.0.0.1"]\npassive = true\nlocal_address = "10.0.0.2"\n',
     "mesh.passive: not allowed here: in the mesh the side whose address is greater (as text) "
     "is passive, so that each pair makes one connection"),
    (H + '[mesh]\nnodes = ["10.0.0.1"]\naddress = "10.0.0.1"\nlocal_address = "10.0.0.2"\n',
     "mesh.address: not allowed here: list the nodes' addresses in nodes"),
    (H + '[mesh]\nnodes = ["10.0.0.1"]\nnode = 1\nlocal_address = "10.0.0.2"\n',
     "mesh: unknown key 'node' (did you mean 'nodes'?)"),
    (H + '[mesh]\nnodes = ["10.0.0.1", "10.0.0.2"]\n',
     "mesh: cannot tell which IPv4 node is this one: set local_address or listen on this "
     "node's address"),
    (H + '[mesh]\nnodes = ["10.0.0.1", "fd00::1"]\nlocal_address = "10.0.0.2"\n',
     "mesh: cannot tell which IPv6 node is this one"),
    (H + '[mesh]\nnodes = ["10.0.0.1", "10.0.0.300"]\nlocal_address = "10.0.0.2"\n',
     "mesh.nodes[1]: '10.0.0.300' is not an IPv4 or IPv6 address"),
    (H + '[mesh]\nnodes = ["10.0.0.1", "10.0.0.1"]\nlocal_address = "10.0.0.2"\n',
     "mesh.nodes[1]: '10.0.0.1' is listed twice"),
    (H + '[[peers]]\naddress = "10.0.0.1"\nasn = 64512\n'
         '[mesh]\nnodes = ["10.0.0.1"]\nlocal_address = "10.0.0.2"\n',
     "mesh.nodes[0]: '10.0.0.1' is also the address of peers[0]"),
    (H + '[[peers]]\naddress = "10.0.0.5"\nname = "Mesh_10_0_0_1"\nasn = 64512\n'
         '[mesh]\nnodes = ["10.0.0.1"]\nlocal_address = "10.0.0.2"\n',
     "mesh.nodes[0].name: 'Mesh_10_0_0_1' is also the name of peers[0]"),
    (H + '[mesh]\nnodes = ["10.0.0.1", "10.0.0.3"]\nlocal_address = "10.0.0.2"\n'
         'hold_time = 30\nkeepalive = 40\n',
     "mesh.keepalive: 40 is not less than hold_time 30"),
    (H + '[mesh]\nnodes = ["10.0.0.1"]\nlocal_address = "10.0.0.2"\nexport = "nope"\n',
     "mesh.export: no policy named 'nope'"),
    (H + 'listen = []\n[mesh]\nnodes = ["10.0.0.1"]\nlocal_address = "10.0.0.2"\n',
     "listen: is empty, so passive mesh.nodes[0] could never connect"),
    (H + "[[mesh]]\nnodes = []\n", "mesh: must be a table: write [mesh]"),
    (H + 'listen = ["10.0.0.2"]\n[mesh]\nnodes = ["10.0.0.1", "10.0.0.2"]\n'
         'local_address = "10.0.0.999"\n',
     "mesh.local_address: '10.0.0.999' is not an IPv4 or IPv6 address"),
    (H + 'cluster_id = "10.0.0.256"\n',
     "cluster_id: '10.0.0.256' is not a cluster id: an IPv4 address or 1..4294967295"),
    (H + 'cluster_id = 0\n', "cluster_id: 0 is not a usable cluster id (zero)"),
    (H + 'cluster_id = -3\n',
     "cluster_id: -3 is not a cluster id: an IPv4 address or 1..4294967295"),
    (H + 'cluster_id = true\n',
     "cluster_id: true is not a cluster id: an IPv4 address or 1..4294967295"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_mesh_and_cluster_id_errors(text, message):
    got = problems(text)
    assert any(message in p for p in got), got


def test_cluster_id():
    assert conf.loads(H).cluster_id is None
    assert conf.loads(H + "cluster_id = 7\n").cluster_id == ipaddress.IPv4Address(7)
    assert conf.loads(H + 'cluster_id = "1.2.3.4"\n').cluster_id == \
        ipaddress.IPv4Address("1.2.3.4")
    client = '[[peers]]\naddress = "10.1.0.1"\nasn = 64512\nroute_reflector_client = true\n'
    assert conf.loads(H + client).cluster_id == ipaddress.IPv4Address("10.0.0.2")
    dyn = ('[[dynamic_neighbors]]\nprefix = "10.2.0.0/16"\nasn = 64512\n'
           'route_reflector_client = true\n')
    assert conf.loads(H + dyn).cluster_id == ipaddress.IPv4Address("10.0.0.2")
    assert conf.loads(H + 'cluster_id = "9.9.9.9"\n' + client).cluster_id == \
        ipaddress.IPv4Address("9.9.9.9")


def test_reference_lists_the_mesh():
    from conf.schema import reference
    text = reference()
    assert "[mesh]" in text and "cluster_id" in text and "nodes" in text
