"""A valid configuration loads into the expected frozen objects, with the
defaults applied and the helpers the daemon uses."""

import dataclasses
import ipaddress
import pathlib

import pytest

import conf
from conf.model import EBGP_TTL, GTSM_TTL, IBGP_TTL
from wire.constants import AFI, IPV4_UNICAST, IPV6_UNICAST, SAFI, CapabilityCode

EXAMPLES = pathlib.Path(conf.__file__).parent / "examples"

FULL = """
router_id = "192.168.16.10"
asn = 64512
listen = ["192.168.16.10", "::1"]
port = 1179
hostname = "node-1"
domain = "cluster.local"
control_socket = "/run/bgpd/test.ctl"
control_socket_mode = "0640"
log_level = "debug"

[defaults]
local_address = "192.168.16.10"
hold_time = 240
restart_time = 300
add_path = { ipv4-unicast = "receive" }
route_reflector_client = true

[[peers]]                       # eBGP router: everything set explicitly
name = "Router_192_168_16_1"
description = "top of rack"
address = "192.168.16.1"
asn = 64513
local_asn = 65001
port = 10179
password = "s3cret"
ttl_security = true
hold_time = 9
keepalive = 3
connect_retry = 2
delay_open = 5
families = ["ipv4-unicast", "ipv6-unicast"]
add_path = { ipv4-unicast = "both", ipv6-unicast = "send" }
graceful_restart = false
restart_time = 30
enabled = false
next_hop_self = true
required_capabilities = ["four-octet-as", "route-refresh"]

[[peers]]                       # iBGP node: inherits everything
address = "192.168.17.10"
asn = 64512
passive = true

[[peers]]                       # IPv6 eBGP peer with its own source and TTL
address = "2001:db8::2"
asn = 65002
local_address = "2001:db8::1"
multihop = 3

[[dynamic_neighbors]]
prefix = "192.168.0.0/16"
asn = 64512

[[dynamic_neighbors]]
name = "rack7"
prefix = "192.168.7.0/24"
asn = 64512
hold_time = 30

[[originate]]
prefix = "10.245.0.64/26"
communities = ["64512:100", "NO_EXPORT"]
large_communities = ["4200000000:1:2"]
extended_communities = ["rt:64512:7"]
next_hop = "192.168.16.10"
local_pref = 200
med = 10

[[originate]]
prefix = "fd00:10:96::/112"
"""


@pytest.fixture(scope="module")
def full():
    return conf.loads(FULL, "full.toml")


def test_top_level(full):
    assert full.router_id == ipaddress.IPv4Address("192.168.16.10")
    assert full.asn == 64512
    assert full.listen == (ipaddress.ip_address("192.168.16.10"), ipaddress.ip_address("::1"))
    assert full.port == 1179
    assert (full.hostname, full.domain) == ("node-1", "cluster.local")
    assert full.control_socket == "/run/bgpd/test.ctl"
    assert full.control_socket_mode == 0o640
    assert full.log_level == "debug"
    assert full.source == "full.toml"


def test_explicit_peer(full):
    p = full.peers[0]
    assert p.name == "Router_192_168_16_1"
    assert p.description == "top of rack"
    assert p.address == ipaddress.IPv4Address("192.168.16.1")
    assert (p.asn, p.local_asn, p.is_ibgp) == (64513, 65001, False)
    assert p.port == 10179
    assert p.password == "s3cret"
    assert (p.ttl_security, p.ttl, p.min_ttl) == (1, GTSM_TTL, 255)
    assert (p.hold_time, p.keepalive, p.connect_retry, p.delay_open) == (9, 3, 2, 5)
    assert p.families == (IPV4_UNICAST, IPV6_UNICAST)
    assert p.add_path == ((AFI.IPV4, SAFI.UNICAST, 3), (AFI.IPV6, SAFI.UNICAST, 2))
    assert p.add_path_mode(IPV6_UNICAST) == 2
    assert (p.graceful_restart, p.restart_time) == (False, 30)
    assert p.enabled is False
    assert p.next_hop_self is True
    assert p.required_capabilities == (CapabilityCode.FOUR_OCTET_AS,
                                       CapabilityCode.ROUTE_REFRESH)
    # Set in [defaults] for everyone; kept off for this eBGP peer (RFC 4456).
    assert p.route_reflector_client is False
    assert p.local_address == ipaddress.IPv4Address("192.168.16.10")


def test_inheriting_peer(full):
    p = full.peers[1]
    assert p.name == "peer_192_168_17_10"
    assert p.description == ""
    assert (p.asn, p.local_asn, p.is_ibgp) == (64512, 64512, True)
    assert p.passive is True
    assert p.local_address == ipaddress.IPv4Address("192.168.16.10")  # from [defaults]
    assert (p.hold_time, p.keepalive) == (240, 80)                      # keepalive = hold / 3
    assert p.restart_time == 300
    assert p.route_reflector_client is True
    assert p.families == (IPV4_UNICAST,)
    assert p.add_path == ((AFI.IPV4, SAFI.UNICAST, 1),)
    assert (p.multihop, p.ttl, p.min_ttl) == (None, IBGP_TTL, None)
    assert p.password is None
    # Built-in defaults.
    assert (p.port, p.connect_retry, p.delay_open) == (179, 5, None)
    assert (p.graceful_restart, p.enabled, p.next_hop_self) == (True, True, False)
    assert p.required_capabilities == ()


def test_ipv6_peer(full):
    p = full.peers[2]
    assert p.name == "peer_2001_db8__2"
    assert p.families == (IPV6_UNICAST,)
    assert p.add_path == ()          # [defaults] names ipv4-unicast only
    assert p.local_address == ipaddress.IPv6Address("2001:db8::1")
    assert (p.multihop, p.ttl) == (3, 3)


def test_builtin_defaults():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 64512\n'
                   '[[peers]]\naddress = "10.0.0.2"\nasn = 65000\n')
    assert c.listen == (ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv6Address("::"))
    assert c.port == 179
    assert (c.hostname, c.domain) == (None, None)
    assert c.control_socket == "/run/bgpd/bgpd.ctl"
    assert c.control_socket_mode == 0o660
    assert c.log_level == "info"
    assert c.dynamic_neighbors == () and c.originate == ()
    p = c.peers[0]
    assert (p.hold_time, p.keepalive, p.connect_retry, p.restart_time) == (90, 30, 5, 120)
    assert (p.passive, p.graceful_restart, p.enabled) == (False, True, True)
    assert (p.ttl_security, p.multihop, p.ttl) == (0, None, EBGP_TTL)
    assert p.local_address is None and p.password is None
    assert p.add_path == ()


def test_hold_time_zero_means_no_keepalives():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\n'
                   '[[peers]]\naddress = "10.0.0.2"\nasn = 2\nhold_time = 0\n')
    assert (c.peers[0].hold_time, c.peers[0].keepalive) == (0, 0)


def test_ttl_security_hops():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\n'
                   '[[peers]]\naddress = "10.0.0.2"\nasn = 2\nttl_security = 3\n'
                   '[[peers]]\naddress = "10.0.0.3"\nasn = 2\nttl_security = true\n'
                   'multihop = 1\n')
    assert (c.peers[0].ttl, c.peers[0].min_ttl) == (255, 253)
    assert (c.peers[1].ttl, c.peers[1].min_ttl) == (255, 255)


def test_add_path_one_mode_for_all_families():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\n[[peers]]\naddress = "10.0.0.2"\n'
                   'asn = 1\nfamilies = ["ipv4-unicast", "ipv6-unicast"]\nadd_path = "both"\n')
    assert c.peers[0].add_path == ((1, 1, 3), (2, 1, 3))
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\n[[peers]]\naddress = "10.0.0.2"\n'
                   'asn = 1\nadd_path = "off"\n')
    assert c.peers[0].add_path == ()


def test_control_socket_mode_as_toml_octal():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\ncontrol_socket_mode = 0o600\n')
    assert c.control_socket_mode == 0o600


def test_link_local_peer_with_interface():
    c = conf.loads('router_id = "10.0.0.1"\nasn = 1\n'
                   '[[peers]]\naddress = "fe80::2%eth0"\nasn = 2\n')
    assert c.peers[0].name == "peer_fe80__2_eth0"
    assert c.peers[0].families == (IPV6_UNICAST,)


def test_originate(full):
    o = full.originate[0]
    assert o.prefix == ipaddress.ip_network("10.245.0.64/26")
    assert o.communities == (64512 << 16 | 100, 0xFFFFFF01)
    assert o.large_communities == ((4200000000, 1, 2),)
    assert o.extended_communities == (0x0002_FC00_0000_0007,)
    assert o.next_hop == ipaddress.IPv4Address("192.168.16.10")
    assert (o.local_pref, o.med) == (200, 10)
    o = full.originate[1]
    assert o.prefix == ipaddress.ip_network("fd00:10:96::/112")
    assert (o.communities, o.next_hop, o.local_pref, o.med) == ((), None, None, None)


def test_peer_by_address(full):
    assert full.peer_by_address("192.168.16.1").name == "Router_192_168_16_1"
    assert full.peer_by_address(ipaddress.ip_address("2001:db8::2")) is full.peers[2]
    # A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
    assert full.peer_by_address("::ffff:192.168.17.10") is full.peers[1]
    assert full.peer_by_address("192.168.16.99") is None
    assert full.peer_by_name("peer_192_168_17_10") is full.peers[1]
    assert full.peer_by_name("nobody") is None


def test_match_dynamic_prefers_the_longest_prefix(full):
    wide, rack7 = full.dynamic_neighbors
    assert wide.name == "dynamic_192_168_0_0_16" and rack7.name == "rack7"
    assert full.match_dynamic("192.168.7.9") is rack7
    assert full.match_dynamic("::ffff:192.168.7.9") is rack7
    assert full.match_dynamic("192.168.8.9") is wide
    assert full.match_dynamic("10.0.0.1") is None
    assert full.match_dynamic("2001:db8::9") is None


def test_dynamic_neighbor_makes_passive_peers(full):
    rack7 = full.dynamic_neighbors[1]
    assert rack7.passive is True
    assert (rack7.hold_time, rack7.keepalive) == (30, 10)
    assert rack7.local_address == ipaddress.IPv4Address("192.168.16.10")
    p = full.peer_for("192.168.7.9")
    assert isinstance(p, conf.Peer)
    assert p.name == "rack7_192_168_7_9"
    assert p.address == ipaddress.IPv4Address("192.168.7.9")
    assert (p.asn, p.passive, p.hold_time, p.is_ibgp) == (64512, True, 30, True)


def test_configured_peer_wins_inside_a_dynamic_prefix(full):
    # 192.168.17.10 is in 192.168.0.0/16 but has its own [[peers]] entry;
    # 192.168.16.1 is configured and disabled: still that peer, not a dynamic one.
    assert full.peer_for("192.168.17.10") is full.peers[1]
    assert full.peer_for("192.168.16.1") is full.peers[0]
    assert full.peer_for("10.9.9.9") is None


def test_objects_are_frozen_and_slotted(full):
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.asn = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.peers[0].hold_time = 30
    assert not hasattr(full.peers[0], "__dict__")
    assert not hasattr(full, "__dict__")
    assert hash(full) == hash(conf.loads(FULL, "full.toml"))
    assert full == conf.loads(FULL, "full.toml")


def test_password_is_not_in_repr(full):
    assert "s3cret" not in repr(full.peers[0])
    assert "s3cret" not in repr(full)


def test_summary(full):
    assert full.summary() == ("3 peers, 2 dynamic neighbor ranges, 2 originated prefixes; "
                              "router id 192.168.16.10, AS 64512")


def test_from_document_takes_parsed_data():
    c = conf.from_document({"router_id": "10.0.0.1", "asn": 7,
                            "peers": [{"address": "10.0.0.2", "asn": 8}]})
    assert c.peers[0].asn == 8 and c.source == "<document>"


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "bgpd.toml"
    path.write_text(FULL)
    c = conf.load(path)
    assert c.source == str(path) and len(c.peers) == 3


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_validate(example):
    c = conf.load(example)
    assert c.peers


def test_minimal_example_values():
    c = conf.load(EXAMPLES / "minimal.toml")
    router, node, other = c.peers
    assert (router.name, router.is_ibgp, router.min_ttl) == ("Router_192_168_16_1", False, 255)
    assert (node.name, node.is_ibgp, node.passive, node.ttl) == (
        "peer_192_168_17_10", True, True, IBGP_TTL)
    assert other.passive is False
    assert c.originate[0].prefix == ipaddress.ip_network("10.245.0.64/26")


def test_reference_lists_every_key():
    from conf.schema import SECTIONS, TOP, reference
    text = reference()
    for table in (TOP, *(fields for _, fields in SECTIONS.values())):
        for field in table:
            assert f"  {field.name} " in text
