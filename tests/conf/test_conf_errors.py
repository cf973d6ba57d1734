"""Bad configurations: each row is a document and the exact problems it
must produce (key path and rule), and all problems come out in one pass."""

import pytest

import conf

H = 'router_id = "10.0.0.1"\nasn = 64512\n'
P = '[[peers]]\naddress = "10.0.0.2"\nasn = 65000\n'
D = '[[dynamic_neighbors]]\nprefix = "10.1.0.0/16"\nasn = 64512\n'
O = '[[originate]]\nprefix = "10.245.0.64/26"\n'
HOLD = "is not a hold time: use 0 (no keepalives) or 3..65535 seconds (RFC 4271 section 4.2)"
COMMUNITY = ("is not a community: ASN:VALUE (each 0..65535) or a well-known name "
             "such as 'NO_EXPORT'")
NAME = "is not a name: use up to 64 letters, digits and '_', not starting with a digit"
CAPS = ("multiprotocol, route-refresh, extended-next-hop, extended-message, role, "
        "graceful-restart, four-octet-as, add-path, enhanced-route-refresh, "
        "long-lived-graceful-restart, fqdn")

ROWS = [
    # -- top level
    ('router_id = "10.0.0.256"\nasn = 1', "router_id: '10.0.0.256' is not an IPv4 address"),
    ('router_id = "0.0.0.0"\nasn = 1',
     "router_id: '0.0.0.0' is not a valid BGP identifier (RFC 6286: non-zero)"),
    ('router_id = "2001:db8::1"\nasn = 1', "router_id: '2001:db8::1' is not an IPv4 address"),
    ('router_id = 167772161\nasn = 1', "router_id: 167772161 is not an IPv4 address"),
    ('asn = 1', "missing required key 'router_id'"),
    ('router_id = "10.0.0.1"', "missing required key 'asn'"),
    ('router_id = "10.0.0.1"\nasn = 0',
     "asn: 0 is not a usable AS number (RFC 7607 reserves AS 0)"),
    ('router_id = "10.0.0.1"\nasn = 23456',
     "asn: 23456 is AS_TRANS (RFC 6793) and cannot be configured"),
    ('router_id = "10.0.0.1"\nasn = 4294967296', "asn: 4294967296 is not a 4-octet AS number"),
    ('router_id = "10.0.0.1"\nasn = -1', "asn: -1 is not a 4-octet AS number"),
    ('router_id = "10.0.0.1"\nasn = "64512"', "asn: '64512' is not a 4-octet AS number"),
    ('router_id = "10.0.0.1"\nasn = true', "asn: true is not a 4-octet AS number"),
    (H + 'routerid = "10.0.0.1"', "unknown key 'routerid' (did you mean 'router_id'?)"),
    (H + 'bird = {}', "unknown key 'bird'"),
    (H + '[[neighbors]]\naddress = "10.0.0.2"\nasn = 1',
     "unknown key 'neighbors' (did you mean 'peers'?)"),
    (H + P + 'remote_as = 65000', "peers[0]: unknown key 'remote_as' (did you mean 'asn'?)"),
    (H + P + 'update-source = "10.0.0.1"',
     "peers[0]: unknown key 'update-source' (did you mean 'local_address'?)"),
    (H + '[[networks]]\nprefix = "10.0.0.0/8"',
     "unknown key 'networks' (did you mean 'originate'?)"),
    (H + 'listen = "0.0.0.0"', "listen: '0.0.0.0' is not a list"),
    (H + 'listen = ["0.0.0.0", "0.0.0.0"]', "listen[1]: '0.0.0.0' is listed twice"),
    (H + 'listen = ["10.0.0.300"]', "listen[0]: '10.0.0.300' is not an IPv4 or IPv6 address"),
    (H + 'port = 0', "port: 0 is out of range 1..65535"),
    (H + 'port = 70000', "port: 70000 is out of range 1..65535"),
    (H + 'hostname = "node_1"',
     "hostname: 'node_1' is not a host name (RFC 1123 labels, at most 255 characters)"),
    (H + 'domain = "-bad.example"',
     "domain: '-bad.example' is not a host name (RFC 1123 labels, at most 255 characters)"),
    (H + 'control_socket = "bgpd.ctl"', "control_socket: 'bgpd.ctl' is not an absolute path"),
    (H + 'control_socket = "/' + 'x' * 120 + '"',
     "control_socket: is 121 bytes long; a Unix socket path holds at most 107"),
    (H + 'control_socket_mode = 660',
     "control_socket_mode: 660 is not a file mode: write it as '0660' or 0o660"),
    (H + 'control_socket_mode = "rw-rw----"',
     "control_socket_mode: 'rw-rw----' is not a file mode: write it as '0660' or 0o660"),
    (H + 'log_level = "warn"',
     "log_level: 'warn' is not one of debug, info, warning, error (did you mean 'warning'?)"),
    (H + 'peers = 1', "peers: must be an array of tables: write [[peers]]"),
    (H + '[peers]\naddress = "10.0.0.2"\nasn = 1',
     "peers: must be an array of tables: write [[peers]]"),
    (H + 'peers = [1]', "peers[0]: 1 is not a table"),
    (H + 'defaults = [1]', "defaults: must be a table: write [defaults]"),
    (H + 'listen = []\n' + P + 'passive = true',
     "listen: is empty, so passive peers[0] could never connect"),
    (H + 'listen = []\n' + D, "listen: is empty, so dynamic neighbors could never connect"),
    # -- peers: identity
    (H + P.replace('65000', '70000000000'),
     "peers[0].asn: 70000000000 is not a 4-octet AS number"),
    (H + '[[peers]]\nasn = 1', "peers[0]: missing required key 'address'"),
    (H + '[[peers]]\naddress = "10.0.0.2"', "peers[0]: missing required key 'asn'"),
    (H + P.replace('"10.0.0.2"', '"10.0.0.2/32"'),
     "peers[0].address: '10.0.0.2/32' is not an IPv4 or IPv6 address"),
    (H + P.replace('"10.0.0.2"', '"0.0.0.0"'),
     "peers[0].address: '0.0.0.0' is not a unicast host address"),
    (H + P.replace('"10.0.0.2"', '"224.0.0.5"'),
     "peers[0].address: '224.0.0.5' is not a unicast host address"),
    (H + P.replace('"10.0.0.2"', '"fe80::2"'),
     "peers[0].address: 'fe80::2' is link-local: name the interface, as in 'fe80::2%eth0'"),
    (H + P.replace('"10.0.0.2"', '"::ffff:10.0.0.2"'),
     "peers[0].address: '::ffff:10.0.0.2' is an IPv4-mapped address: write '10.0.0.2'"),
    (H + P + 'pasword = "secret"', "peers[0]: unknown key 'pasword' (did you mean 'password'?)"),
    (H + P + 'holdtime = 30', "peers[0]: unknown key 'holdtime' (did you mean 'hold_time'?)"),
    (H + P + 'name = "1peer"', f"peers[0].name: '1peer' {NAME}"),
    (H + P + 'name = "peer-1"', f"peers[0].name: 'peer-1' {NAME}"),
    (H + P + P, "peers[1].address: '10.0.0.2' is also the address of peers[0]"),
    (H + P + 'name = "r1"\n' + P.replace('10.0.0.2', '10.0.0.3') + 'name = "r1"',
     "peers[1].name: 'r1' is also the name of peers[0]"),
    (H + P + 'description = "' + 'd' * 300 + '"',
     "peers[0].description: is 300 characters long; at most 255 are allowed"),
    # -- peers: session options
    (H + P + 'passive = "yes"', "peers[0].passive: 'yes' is not true or false"),
    (H + P + 'local_address = "::1"',
     "peers[0].local_address: '::1' is IPv6 but address '10.0.0.2' is IPv4"),
    (H + P + 'local_address = "0.0.0.0"',
     "peers[0].local_address: '0.0.0.0' is not a unicast host address"),
    (H + P + 'local_asn = 0',
     "peers[0].local_asn: 0 is not a usable AS number (RFC 7607 reserves AS 0)"),
    (H + P + 'port = 0', "peers[0].port: 0 is out of range 1..65535"),
    (H + P + 'multihop = 0', "peers[0].multihop: 0 is out of range 1..255"),
    (H + P + 'multihop = 256', "peers[0].multihop: 256 is out of range 1..255"),
    (H + P + 'ttl_security = 255',
     "peers[0].ttl_security: 255 is not true, false or a hop count 1..254"),
    (H + P + 'ttl_security = "yes"',
     "peers[0].ttl_security: 'yes' is not true, false or a hop count 1..254"),
    (H + P + 'ttl_security = true\nmultihop = 3',
     "peers[0].multihop: 3 cannot be combined with ttl_security = true, which means a "
     "directly connected peer (RFC 5082); for a peer 3 hops away write ttl_security = 3 "
     "instead"),
    (H + P + 'ttl_security = 3\nmultihop = 3',
     "peers[0].multihop: 3 cannot be combined with ttl_security = 3, which sends TTL 255 "
     "and gives the peer's distance (RFC 5082); remove multihop"),
    (H + P + 'password = ""',
     "peers[0].password: must be 1..80 bytes long (TCP MD5 key, RFC 2385), not 0"),
    (H + P + 'password = "' + 'p' * 81 + '"',
     "peers[0].password: must be 1..80 bytes long (TCP MD5 key, RFC 2385), not 81"),
    (H + P + 'password = 123', "peers[0].password: must be a string"),
    (H + P + 'hold_time = 1', f"peers[0].hold_time: 1 {HOLD}"),
    (H + P + 'hold_time = 65536', f"peers[0].hold_time: 65536 {HOLD}"),
    (H + P + 'hold_time = 9.5', f"peers[0].hold_time: 9.5 {HOLD}"),
    (H + P + 'hold_time = 90\nkeepalive = 90',
     "peers[0].keepalive: 90 is not less than hold_time 90"),
    (H + P + 'hold_time = 0\nkeepalive = 10',
     "peers[0].keepalive: 10 must be 0 when hold_time is 0 (no keepalives, "
     "RFC 4271 section 4.4)"),
    (H + P + 'keepalive = 0',
     "peers[0].keepalive: 0 sends no keepalives but hold_time is 90; use 1..89"),
    (H + '[defaults]\nkeepalive = 30\n' + P + 'hold_time = 9',
     "peers[0].keepalive: 30 (from defaults) is not less than hold_time 9"),
    (H + '[defaults]\nhold_time = 20\n' + P + 'keepalive = 20',
     "peers[0].keepalive: 20 is not less than hold_time 20 (from defaults)"),
    (H + P + 'connect_retry = 0', "peers[0].connect_retry: 0 is out of range 1..65535 seconds"),
    (H + P + 'delay_open = 0', "peers[0].delay_open: 0 is out of range 1..65535 seconds"),
    (H + P + 'families = []', "peers[0].families: must list at least 1 address family"),
    (H + P + 'families = "ipv4-unicast"', "peers[0].families: 'ipv4-unicast' is not a list"),
    (H + P + 'families = ["ipv4-multicast"]',
     "peers[0].families[0]: 'ipv4-multicast' is not one of ipv4-unicast, ipv6-unicast "
     "(did you mean 'ipv4-unicast'?)"),
    (H + P + 'add_path = "yes"',
     "peers[0].add_path: 'yes' is not one of off, receive, send, both"),
    (H + P + 'add_path = 1',
     "peers[0].add_path: 1 is neither a mode (off, receive, send, both) "
     "nor a table of family = mode"),
    (H + P + 'add_path = { ipv6-unicast = "both" }',
     "peers[0].add_path.ipv6-unicast: ipv6-unicast is not among this session's families "
     "(ipv4-unicast)"),
    (H + P + 'add_path = { ipv4-unicast = "all" }',
     "peers[0].add_path.ipv4-unicast: 'all' is not one of off, receive, send, both"),
    (H + P + 'add_path = { ipv4_unicast = "both" }',
     "peers[0].add_path: unknown address family 'ipv4_unicast' "
     "(did you mean 'ipv4-unicast'?)"),
    (H + P + 'graceful_restart = "true"',
     "peers[0].graceful_restart: 'true' is not true or false"),
    (H + P + 'restart_time = 0', "peers[0].restart_time: 0 is out of range 1..4095 seconds"),
    (H + P + 'restart_time = 4096',
     "peers[0].restart_time: 4096 is out of range 1..4095 seconds"),
    (H + P + 'enabled = 1', "peers[0].enabled: 1 is not true or false"),
    (H + P + 'route_reflector_client = true',
     "peers[0].route_reflector_client: true needs an iBGP peer (RFC 4456), but the peer's "
     "AS 65000 is not the local AS 64512"),
    (H + P + 'local_asn = 65000\nroute_reflector_client = true\n' + P.replace(
        '10.0.0.2', '10.0.0.3') + 'route_reflector_client = true',
     "peers[1].route_reflector_client: true needs an iBGP peer (RFC 4456), but the peer's "
     "AS 65000 is not the local AS 64512"),
    (H + P + 'next_hop_self = true\nnext_hop_keep = true',
     "peers[0].next_hop_keep: cannot be combined with next_hop_self = true; choose one"),
    (H + P + 'send_med = "yes"', "peers[0].send_med: 'yes' is not true or false"),
    (H + P + 'allow_own_as = 11', "peers[0].allow_own_as: 11 is out of range 0..10"),
    (H + 'local_blocks = ["10.0.0.0/26"]\n[[pools]]\nprefix = "10.244.0.0/16"\n'
     'encap = "vxlan"',
     "pools[0].encap: needs a [kernel] table: encapsulation is a kernel route"),
    (H + '[kernel]\nprotocol = 2', "kernel.protocol: 2 is out of range 4..255"),
    (H + '[kernel]\nprotocol = "ospf"',
     "kernel.protocol: 'ospf' is not a protocol: a number 4..255 or one of babel, bgpd, bird, "
     "boot, dhcp, keepalived, kernel, static, zebra"),
    (H + '[kernel]\nnode_addresses = ["10.0.0.1"]',
     "kernel.node_addresses[0]: '10.0.0.1': write the address with its subnet's length, "
     "e.g. '192.168.16.101/24'"),
    (H + '[kernel]\nblock_type = "drop"',
     "kernel.block_type: 'drop' is not one of blackhole, unreachable, prohibit"),
    (H + '[metrics]\nlisten = "localhost:9179"',
     "metrics.listen: 'localhost:9179': 'localhost' is not an IP address"),
    (H + 'bird_control_flavour = "bird3"',
     "bird_control_flavour: 'bird3' is not one of bird1, bird2 (did you mean 'bird2'?)"),
    (H + P + 'required_capabilities = ["route_refresh"]',
     f"peers[0].required_capabilities[0]: 'route_refresh' is not one of {CAPS} "
     "(did you mean 'route-refresh'?)"),
    (H + P + 'required_capabilities = ["four-octet-as", "four-octet-as"]',
     "peers[0].required_capabilities[1]: 'four-octet-as' is listed twice"),
    # -- dynamic neighbors
    (H + D.replace('10.1.0.0/16', '10.1.0.1/16'),
     "dynamic_neighbors[0].prefix: '10.1.0.1/16' has host bits set "
     "(did you mean '10.1.0.0/16'?)"),
    (H + D.replace('10.1.0.0/16', '10.1.0.0'),
     "dynamic_neighbors[0].prefix: '10.1.0.0' has no prefix length "
     "(write '10.1.0.0/32' for one address)"),
    (H + D.replace('10.1.0.0/16', 'nonsense'),
     "dynamic_neighbors[0].prefix: 'nonsense' is not an IPv4 or IPv6 prefix"),
    (H + D.replace('10.1.0.0/16', '::ffff:10.1.0.0/112'),
     "dynamic_neighbors[0].prefix: '::ffff:10.1.0.0/112' is inside the IPv4-mapped range "
     "::ffff:0:0/96; write IPv4 prefixes as IPv4"),
    (H + '[[dynamic_neighbors]]\nasn = 1', "dynamic_neighbors[0]: missing required key 'prefix'"),
    (H + D + 'passive = true',
     "dynamic_neighbors[0].passive: not allowed here: dynamic neighbors only accept "
     "connections; they are always passive"),
    (H + D + 'address = "10.1.0.1"',
     "dynamic_neighbors[0].address: not allowed here: a dynamic neighbor matches a prefix; "
     "use prefix"),
    (H + D + D,
     "dynamic_neighbors[1].prefix: '10.1.0.0/16' is also the prefix of dynamic_neighbors[0]"),
    (H + P + 'name = "nodes"\n' + D + 'name = "nodes"',
     "dynamic_neighbors[0].name: 'nodes' is also the name of peers[0]"),
    (H + D + 'local_address = "2001:db8::1"',
     "dynamic_neighbors[0].local_address: '2001:db8::1' is IPv6 but prefix '10.1.0.0/16' "
     "is IPv4"),
    # -- defaults: reported once, at [defaults]
    (H + '[defaults]\naddress = "10.0.0.9"',
     "defaults.address: not allowed here: address belongs in each [[peers]] or "
     "[[dynamic_neighbors]] table; [defaults] holds session options"),
    (H + '[defaults]\npaswd = "x"', "defaults: unknown key 'paswd' (did you mean 'password'?)"),
    (H + '[defaults]\nhold_time = 2\n' + P + P.replace('10.0.0.2', '10.0.0.3'),
     f"defaults.hold_time: 2 {HOLD}"),
    (H + '[defaults]\nlocal_address = "10.0.0.1"\n' + P.replace('10.0.0.2', '2001:db8::2'),
     "peers[0].local_address: '10.0.0.1' (from defaults) is IPv4 but address "
     "'2001:db8::2' is IPv6"),
    # -- originate
    (H + O.replace('/26', '/24'),
     "originate[0].prefix: '10.245.0.64/24' has host bits set (did you mean '10.245.0.0/24'?)"),
    (H + '[[originate]]\nnext_hop = "10.0.0.1"', "originate[0]: missing required key 'prefix'"),
    (H + O + 'communities = ["65536:1"]', f"originate[0].communities[0]: '65536:1' {COMMUNITY}"),
    (H + O + 'communities = ["no-export"]',
     f"originate[0].communities[0]: 'no-export' {COMMUNITY} (did you mean 'NO_EXPORT'?)"),
    (H + O + 'communities = "65000:1"', "originate[0].communities: '65000:1' is not a list"),
    (H + O + 'large_communities = ["1:2"]',
     "originate[0].large_communities[0]: '1:2' is not a large community: A:B:C "
     "(each 0..4294967295)"),
    (H + O + 'extended_communities = ["rt:1"]',
     "originate[0].extended_communities[0]: 'rt:1' is not an extended community: "
     "KIND:ADMIN:VALUE (KIND rt, soo, ...) or 0x followed by 16 hex digits"),
    (H + O + 'next_hop = "x"', "originate[0].next_hop: 'x' is not an IPv4 or IPv6 address"),
    (H + O + 'local_pref = -1', "originate[0].local_pref: -1 is out of range 0..4294967295"),
    (H + O + 'med = 4294967296', "originate[0].med: 4294967296 is out of range 0..4294967295"),
    (H + O + O, "originate[1].prefix: '10.245.0.64/26' is also the prefix of originate[0]"),
    (H + O + 'blackhole = true', "originate[0]: unknown key 'blackhole'"),
]


@pytest.mark.parametrize("text,expected", ROWS, ids=[e.split(":")[0] + f"-{i}"
                                                     for i, (_, e) in enumerate(ROWS)])
def test_bad_config(text, expected):
    with pytest.raises(conf.ConfigError) as info:
        conf.loads(text)
    assert [str(p) for p in info.value.problems] == [expected]


def test_every_problem_in_one_pass():
    text = """
router_id = "10.0.0.256"
asn = 70000000000
loglevel = "debug"

[defaults]
hold_time = 1

[[peers]]
address = "10.0.0.2"
asn = 65000
pasword = "x"
keepalive = 100

[[peers]]
address = "10.0.0.2"
asn = 0
multihop = 300

[[peers]]
address = "2001:db8::3"
asn = 65000
local_address = "10.0.0.1"
families = ["ipv6-unicast", "ipv9"]

[[originate]]
prefix = "10.0.0.1/8"
communities = ["1:2:3"]
"""
    with pytest.raises(conf.ConfigError) as info:
        conf.loads(text, "node.toml")
    assert info.value.lines() == [
        "node.toml: router_id: '10.0.0.256' is not an IPv4 address",
        "node.toml: asn: 70000000000 is not a 4-octet AS number",
        "node.toml: unknown key 'loglevel' (did you mean 'log_level'?)",
        f"node.toml: defaults.hold_time: 1 {HOLD}",
        "node.toml: peers[0]: unknown key 'pasword' (did you mean 'password'?)",
        # hold_time falls back to 90, not to the rejected default.
        "node.toml: peers[0].keepalive: 100 is not less than hold_time 90",
        "node.toml: peers[1].asn: 0 is not a usable AS number (RFC 7607 reserves AS 0)",
        "node.toml: peers[1].multihop: 300 is out of range 1..255",
        "node.toml: peers[1].address: '10.0.0.2' is also the address of peers[0]",
        "node.toml: peers[2].families[1]: 'ipv9' is not one of ipv4-unicast, ipv6-unicast",
        "node.toml: peers[2].local_address: '10.0.0.1' is IPv4 but address "
        "'2001:db8::3' is IPv6",
        "node.toml: originate[0].prefix: '10.0.0.1/8' has host bits set "
        "(did you mean '10.0.0.0/8'?)",
        f"node.toml: originate[0].communities[0]: '1:2:3' {COMMUNITY}",
    ]
    assert str(info.value) == "\n".join(info.value.lines())
    assert all(isinstance(p, conf.Problem) for p in info.value.problems)


def test_one_mistake_gives_one_message():
    # A rejected hold_time does not also fail the keepalive rule, and a
    # rejected address does not also break the local_address family rule.
    text = H + P.replace('"10.0.0.2"', '"10.0.0.x"') + 'local_address = "::1"\nhold_time = 1\n'
    with pytest.raises(conf.ConfigError) as info:
        conf.loads(text)
    assert [str(p) for p in info.value.problems] == [
        "peers[0].address: '10.0.0.x' is not an IPv4 or IPv6 address",
        f"peers[0].hold_time: 1 {HOLD}",
    ]


def test_toml_syntax_error():
    with pytest.raises(conf.ConfigError) as info:
        conf.loads('router_id = \nasn = 1\n', "bad.toml")
    (problem,) = info.value.problems
    assert problem.path == ""
    assert problem.reason.startswith("not valid TOML: ")
    assert "line 1" in problem.reason
    assert str(info.value).startswith("bad.toml: not valid TOML: ")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(conf.ConfigError) as info:
        conf.load(path)
    assert info.value.lines() == [f"{path}: cannot read the file: No such file or directory"]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'router_id = "10.0.0.1"\nasn = 1\nhostname = "n\xe9"\n')
    with pytest.raises(conf.ConfigError) as info:
        conf.load(path)
    assert info.value.lines() == [f"{path}: not UTF-8 text: invalid continuation byte at byte 44"]


def test_password_is_never_echoed():
    with pytest.raises(conf.ConfigError) as info:
        conf.loads(H + P + 'password = "' + "topsecret" * 10 + '"')
    assert "topsecret" not in str(info.value)
