"""Routing policy in the configuration: the example loads into the expected
objects, peers name their policies, and every mistake gives its key path
and the rule broken."""

import dataclasses
import ipaddress
import pathlib
import re

import pytest
from hypothesis import given, settings, strategies as st

import conf
from bgpd.cli import main
from conf.schema import MATCH, POLICY, RULE, SET, reference
from wire.communities import parse_community
from wire.constants import IPV4_UNICAST, IPV6_UNICAST

EXAMPLE = pathlib.Path(conf.__file__).parent / "examples" / "policy.toml"

H = 'router_id = "10.0.0.1"\nasn = 64512\n'
P = '[[peers]]\naddress = "10.0.0.2"\nasn = 65000\n'
P3 = P.replace("10.0.0.2", "10.0.0.3")
D = '[[dynamic_neighbors]]\nname = "rack"\nprefix = "10.1.0.0/16"\nasn = 64512\n'
POL = '[[policies]]\nname = "from-upstream"\ndefault = "reject"\n'
R = '[[policies.rules]]\naction = "accept"\n'
LISTS = '[prefix_lists]\nbogons = ["0.0.0.0/8+"]\n'
AT = "policies[0].rules[0]"
RANGE_FORMS = ("is not a prefix range: write PREFIX, PREFIX+ (and every longer prefix "
               "inside it), PREFIX le N, PREFIX ge N, PREFIX ge N le M or PREFIX{N,M}")
COMMUNITY = ("is not a community: ASN:VALUE (each 0..65535) or a well-known name "
             "such as 'NO_EXPORT'")


@pytest.fixture(scope="module")
def example():
    return conf.load(EXAMPLE)


def test_example_prefix_lists(example):
    lists = {pl.name: pl for pl in example.prefix_lists}
    assert list(lists) == ["pod-blocks", "service-ranges", "default-route", "bogons"]
    pods = lists["pod-blocks"].entries
    assert pods[0] == conf.PrefixRange(prefix=ipaddress.ip_network("10.245.0.0/16"),
                                       min_len=26, max_len=32)
    assert (pods[1].prefix.version, pods[1].min_len, pods[1].max_len) == (6, 122, 128)
    assert [str(r) for r in lists["service-ranges"].entries] == ["10.96.0.0/12+"]
    assert str(conf.PrefixRange(prefix=ipaddress.ip_network("10.0.0.0/8"), min_len=16,
                                max_len=24)) == "10.0.0.0/8{16,24}"
    assert [str(r) for r in lists["default-route"].entries] == ["0.0.0.0/0", "::/0"]
    assert str(lists["bogons"].entries[0]) == "0.0.0.0/8+"


def test_example_policies(example):
    assert [p.name for p in example.policies] == ["from-router", "to-router", "to-backup"]
    frm = example.policy_by_name("from-router")
    assert (frm.default, len(frm.rules)) == ("reject", 6)
    assert frm.description == "pod blocks of other nodes, and a default route"
    bogons, long_paths, transit, main_router, backup, default = frm.rules
    assert (bogons.action, bogons.match.prefix_list, bogons.set.is_empty) == (
        "reject", ("bogons",), True)
    assert long_paths.match.as_path_length == (8, 2**32 - 1)
    assert transit.match.as_path_regex.search("64513 65010 65011")
    assert not transit.match.as_path_regex.search("64513 650100")
    # A peer's name stands for its address.
    assert main_router.match.peer == (ipaddress.ip_network("192.168.16.1/32"),)
    assert main_router.set.local_pref == 200
    assert default.set.add_large_communities == ((64512, 1, 1),)
    to_router = example.policy_by_name("to-router")
    no_export, ours, services = to_router.rules
    assert no_export.match.community == ((0xFFFF, 0xFF01), (64513, 666))
    assert ours.match.source == ("local-block", "static")
    assert ours.set.add_communities == (parse_community("64512:100"),)
    assert ours.set.remove_large_communities == ((64512, None, None),)
    assert ours.set.next_hop == "self"
    assert services.match.negated.peer_type == "ebgp"
    assert services.match.negated.negated is None
    assert example.policy_by_name("to-backup").rules[0].set.prepend == (None, 3)
    assert example.policy_by_name("nope") is None


def test_example_peers_name_their_policies(example):
    router, backup, node = example.peers
    assert (router.import_policy, router.export_policy) == ("from-router", "to-router")
    assert (backup.import_policy, backup.export_policy) == ("from-router", "to-backup")
    assert (node.import_policy, node.export_policy) == (None, None)


def test_example_checks(capsys):
    assert main(["check", "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        "configuration OK: 3 peers, 0 dynamic neighbor ranges, 1 originated prefix, "
        "3 policies, 4 prefix lists; router id 192.168.16.10, AS 64512\n")


def test_policy_objects_are_frozen_and_hashable(example):
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.policies[0].default = "accept"
    assert hash(example) == hash(conf.load(EXAMPLE))


def test_no_policies_by_default():
    c = conf.loads(H + P)
    assert (c.policies, c.prefix_lists) == ((), ())
    assert (c.peers[0].import_policy, c.peers[0].export_policy) == (None, None)


def test_defaults_give_policies_to_every_session():
    c = conf.loads(H + '[defaults]\nimport = "accept-all"\nexport = "p"\n' + P + D
                   + 'export = "reject-all"\n' + '[[policies]]\nname = "p"\ndefault = "accept"\n')
    assert (c.peers[0].import_policy, c.peers[0].export_policy) == ("accept-all", "p")
    dn = c.dynamic_neighbors[0]
    assert (dn.import_policy, dn.export_policy) == ("accept-all", "reject-all")
    assert c.peer_for("10.1.2.3").export_policy == "reject-all"


def test_a_match_names_peers_by_name_address_or_prefix():
    c = conf.loads(H + P + D + POL + R + 'match.peer = ["peer_10_0_0_2", "rack", "10.9.9.9", '
                   '"2001:db8::/32"]\n')
    assert c.policies[0].rules[0].match.peer == tuple(
        ipaddress.ip_network(n) for n in ("10.0.0.2/32", "10.1.0.0/16", "10.9.9.9/32",
                                          "2001:db8::/32"))


@pytest.mark.parametrize("text, lo, hi", [
    ("10.0.0.0/8", 8, 8), ("10.0.0.0/8+", 8, 32), (" 10.0.0.0/8 + ", 8, 32),
    ("10.0.0.0/8 le 24", 8, 24), ("10.0.0.0/8 ge 16", 16, 32),
    ("10.0.0.0/8 ge 16 le 24", 16, 24), ("10.0.0.0/8 le 24 ge 16", 16, 24),
    ("10.0.0.0/8{16,24}", 16, 24), ("10.0.0.0/8 { 16 , 24 }", 16, 24),
    ("0.0.0.0/0", 0, 0), ("::/0 le 64", 0, 64), ("2001:db8::/32+", 32, 128),
])
def test_prefix_range_forms(text, lo, hi):
    c = conf.loads(H + f'[prefix_lists]\nx = ["{text}"]\n')
    (entry,) = c.prefix_lists[0].entries
    assert (entry.min_len, entry.max_len) == (lo, hi)


def test_match_values():
    c = conf.loads(H + POL + R + '''
match.family = ["ipv4-unicast", "ipv6-unicast"]
match.prefix_length = "..24"
match.as_path_contains = 65001
match.community = ["*:100", "NO_EXPORT"]
match.large_community_all = ["64512:*:7"]
match.extended_community = "rt:65000:1"
match.next_hop = ["10.0.0.0/8", "2001:db8::1"]
match.peer_type = "ibgp"
match.not.as_path_regex = "^$"
set.prepend = { asn = 65000, count = 2 }
set.next_hop = "192.0.2.1"
set.origin = "incomplete"
set.communities = []
''')
    m, s = c.policies[0].rules[0].match, c.policies[0].rules[0].set
    assert m.family == (IPV4_UNICAST, IPV6_UNICAST)
    assert m.prefix_length == (0, 24)
    assert m.as_path_contains == (65001,)
    assert m.community == ((None, 100), (0xFFFF, 0xFF01))
    assert m.large_community_all == ((64512, None, 7),)
    assert m.extended_community == (0x0002_FDE8_0000_0001,)
    assert m.next_hop == (ipaddress.ip_network("10.0.0.0/8"),
                          ipaddress.ip_network("2001:db8::1/128"))
    assert m.peer_type == "ibgp" and m.negated.as_path_regex.pattern == "^$"
    assert (m.prefix, m.source, m.peer) == (None, None, None)
    assert s.prepend == (65000, 2)
    assert s.next_hop == ipaddress.ip_address("192.0.2.1")
    assert (s.origin, s.communities, s.local_pref) == (2, (), None)


ROWS = [
    # -- prefix lists
    (H + '[prefix_lists]\nbogons = ["0.0.0.0/8+", "10.0.0.0/8 lt 9"]',
     f"prefix_lists.bogons[1]: '10.0.0.0/8 lt 9' {RANGE_FORMS}"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/33"]',
     "prefix_lists.x[0]: '10.0.0.0/33' is not an IPv4 or IPv6 prefix"),
    (H + '[prefix_lists]\nx = ["10.0.0.1/8+"]',
     "prefix_lists.x[0]: '10.0.0.1/8' has host bits set (did you mean '10.0.0.0/8'?)"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/8 ge 33"]',
     "prefix_lists.x[0]: '10.0.0.0/8 ge 33': ge 33 is longer than IPv4 prefixes (32 bits)"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/16 le 8"]',
     "prefix_lists.x[0]: '10.0.0.0/16 le 8': le 8 is shorter than the prefix's own "
     "length 16"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/8 ge 24 le 16"]',
     "prefix_lists.x[0]: '10.0.0.0/8 ge 24 le 16': ge 24 is greater than le 16"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/8{24,16}"]',
     "prefix_lists.x[0]: '10.0.0.0/8{24,16}': the lengths 24..16 are an empty range"),
    (H + '[prefix_lists]\nx = ["2001:db8::/32{16,48}"]',
     "prefix_lists.x[0]: '2001:db8::/32{16,48}': lower bound 16 is shorter than the "
     "prefix's own length 32"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/8 ge 9 ge 10"]',
     f"prefix_lists.x[0]: '10.0.0.0/8 ge 9 ge 10' {RANGE_FORMS}"),
    (H + '[prefix_lists]\nx = ["+"]', f"prefix_lists.x[0]: '+' {RANGE_FORMS}"),
    (H + '[prefix_lists]\nx = [""]', f"prefix_lists.x[0]: '' {RANGE_FORMS}"),
    (H + 'prefix_lists = []',
     'prefix_lists: [] is not a table: write [prefix_lists] and '
     'name = ["10.0.0.0/8 le 24", ...] below it'),
    (H + '[prefix_lists]\nx = []', "prefix_lists.x: must list at least 1 prefix"),
    (H + '[prefix_lists]\nx = "10.0.0.0/8"', "prefix_lists.x: '10.0.0.0/8' is not a list"),
    (H + '[prefix_lists]\n"bad name" = ["10.0.0.0/8"]',
     "prefix_lists: 'bad name' is not a name: use up to 64 letters, digits, '_' and '-', "
     "starting with a letter or '_'"),
    (H + '[prefix_lists]\nx = ["10.0.0.0/8", "10.0.0.0/8"]',
     "prefix_lists.x[1]: '10.0.0.0/8' is listed twice"),
    (H + '[prefix-lists]\nx = ["10.0.0.0/8"]',
     "unknown key 'prefix-lists' (did you mean 'prefix_lists'?)"),
    # -- sessions name policies
    (H + P + 'import = "from-upsream"\n' + POL,
     "peers[0].import: no policy named 'from-upsream' (did you mean 'from-upstream'?)"),
    (H + P + 'export = "accept_all"\n',
     "peers[0].export: no policy named 'accept_all' (did you mean 'accept-all'?)"),
    (H + '[defaults]\nexport = "nothing"\n' + P + P3,
     "defaults.export: no policy named 'nothing'"),
    (H + D + 'export = "x"', "dynamic_neighbors[0].export: no policy named 'x'"),
    (H + P + 'import = "from upstream"',
     "peers[0].import: 'from upstream' is not a name: use up to 64 letters, digits, '_' and "
     "'-', starting with a letter or '_'"),
    (H + P + 'import_policy = "x"', "peers[0]: unknown key 'import_policy' (did you mean "
                                    "'import'?)"),
    (H + P + 'route_map_out = "x"', "peers[0]: unknown key 'route_map_out' (did you mean "
                                    "'export'?)"),
    # -- policies
    (H + 'policies = {}', "policies: must be an array of tables: write [[policies]]"),
    (H + '[[route_maps]]\nname = "x"', "unknown key 'route_maps' (did you mean 'policies'?)"),
    (H + '[[policies]]\nname = "x"', "policies[0]: missing required key 'default'"),
    (H + '[[policies]]\ndefault = "reject"', "policies[0]: missing required key 'name'"),
    (H + '[[policies]]\nname = "x"\ndefault = "allow"',
     "policies[0].default: 'allow' is not one of accept, reject"),
    (H + '[[policies]]\nname = "x"\ndefault = "reject"\ndefault_action = "accept"',
     "policies[0]: unknown key 'default_action' (did you mean 'default'?)"),
    (H + POL + POL, "policies[1].name: 'from-upstream' is also the name of policies[0]"),
    (H + '[[policies]]\nname = "accept-all"\ndefault = "accept"',
     "policies[0].name: 'accept-all' is built in (accepts every route); choose another name"),
    (H + '[[policies]]\nname = "9lives"\ndefault = "accept"',
     "policies[0].name: '9lives' is not a name: use up to 64 letters, digits, '_' and '-', "
     "starting with a letter or '_'"),
    # -- rules
    (H + POL + 'rules = 5', "policies[0].rules: must be an array of tables: write "
                            "[[policies.rules]] below the policy"),
    (H + POL + 'rules = [5]', "policies[0].rules[0]: 5 is not a table"),
    (H + POL + '[[policies.rules]]\nmatch.prefix = "10.0.0.0/8"',
     f"{AT}: missing required key 'action'"),
    (H + POL + '[[policies.rules]]\naction = "permit"',
     f"{AT}.action: 'permit' is not one of accept, reject"),
    (H + POL + R + 'then = {}', f"{AT}: unknown key 'then' (did you mean 'set'?)"),
    (H + POL + R + 'match = 5',
     f"{AT}.match: 5 is not a table: write match.KEY = ... or match = {{ KEY = ... }}"),
    (H + POL + R + 'match.not = 5',
     f"{AT}.match.not: 5 is not a table: write not.KEY = ... or not = {{ KEY = ... }}"),
    (H + POL + R + 'set = 5',
     f"{AT}.set: 5 is not a table: write set.KEY = ... or set = {{ KEY = ... }}"),
    (H + POL + '[[policies.rules]]\naction = "reject"\nset.med = 1',
     f"{AT}.set: changes nothing: the rule's action is 'reject'"),
    (H + POL + R + R + R,
     "policies[0].rules[1]: is never reached: rules[0] has no match and takes every route"),
    # -- match
    (H + POL + R + 'match.prefix = "10.0.0.0/33"',
     f"{AT}.match.prefix: '10.0.0.0/33' is not an IPv4 or IPv6 prefix"),
    (H + POL + R + 'match.prefix = ["10.0.0.0/8", "10.0.0.0/8 ge 4"]',
     f"{AT}.match.prefix[1]: '10.0.0.0/8 ge 4': ge 4 is shorter than the prefix's own "
     "length 8"),
    (H + POL + R + 'match.prefix = []', f"{AT}.match.prefix: must list at least 1 prefix"),
    (H + POL + R + 'match.prefix = 5', f"{AT}.match.prefix: 5 {RANGE_FORMS}"),
    (H + POL + R + 'match.communities = "1:1"',
     f"{AT}.match: unknown key 'communities' (did you mean 'community'?)"),
    (H + POL + R + 'match.not.bad = 1', f"{AT}.match.not: unknown key 'bad'"),
    (H + LISTS + POL + R + 'match.prefix_list = "bogon"',
     f"{AT}.match.prefix_list: no prefix list named 'bogon' (did you mean 'bogons'?)"),
    (H + LISTS + POL + R + 'match.prefix_list = ["bogons", "bogon"]',
     f"{AT}.match.prefix_list[1]: no prefix list named 'bogon' (did you mean 'bogons'?)"),
    (H + LISTS + POL + R + 'match.not.prefix_list = "martians"',
     f"{AT}.match.not.prefix_list: no prefix list named 'martians'"),
    (H + P + POL + R + 'match.peer = "peer_10_0_0_3"',
     f"{AT}.match.peer: no peer or dynamic neighbor named 'peer_10_0_0_3' "
     "(did you mean 'peer_10_0_0_2'?)"),
    (H + P + POL + R + 'match.peer = ["10.0.0.2", "10.0.0.1/8"]',
     f"{AT}.match.peer[1]: '10.0.0.1/8' has host bits set (did you mean '10.0.0.0/8'?)"),
    (H + POL + R + 'match.peer = "10.0.0.256"',
     f"{AT}.match.peer: '10.0.0.256' is not a peer name, address or prefix"),
    (H + POL + R + 'match.family = "ipv4"',
     f"{AT}.match.family: 'ipv4' is not one of ipv4-unicast, ipv6-unicast"),
    (H + POL + R + 'match.prefix_length = "30..20"',
     f"{AT}.match.prefix_length: '30..20' is an empty range"),
    (H + POL + R + 'match.prefix_length = 129',
     f"{AT}.match.prefix_length: 129 is out of range 0..128"),
    (H + POL + R + 'match.prefix_length = "a..b"',
     f"{AT}.match.prefix_length: 'a..b' is not a length or a range such as '25..32'"),
    (H + POL + R + 'match.as_path_length = -1',
     f"{AT}.match.as_path_length: -1 is out of range 0..4294967295"),
    (H + POL + R + 'match.as_path_regex = "(64512"',
     f"{AT}.match.as_path_regex: '(64512' is not a regular expression: missing ), "
     "unterminated subpattern at position 0"),
    (H + POL + R + 'match.community = ["65001:x*", "65536:1", "NO_EXPRT"]',
     f"{AT}.match.community[0]: '65001:x*' is not a community pattern: ASN:VALUE with each "
     "half 0..65535 or '*'"),
    (H + POL + R + 'match.community = ["65001:x*", "65536:1", "NO_EXPRT"]',
     f"{AT}.match.community[1]: '65536:1' {COMMUNITY}"),
    (H + POL + R + 'match.community = ["65001:x*", "65536:1", "NO_EXPRT"]',
     f"{AT}.match.community[2]: 'NO_EXPRT' {COMMUNITY} (did you mean 'NO_EXPORT'?)"),
    (H + POL + R + 'match.large_community = ["1:2", "1:*"]',
     f"{AT}.match.large_community[1]: '1:*' is not a large community pattern: A:B:C with "
     "each part 0..4294967295 or '*'"),
    (H + POL + R + 'match.extended_community = "rt:1"',
     f"{AT}.match.extended_community: 'rt:1' is not an extended community: KIND:ADMIN:VALUE "
     "(KIND rt, soo, ...) or 0x followed by 16 hex digits"),
    (H + POL + R + 'match.next_hop = "x"',
     f"{AT}.match.next_hop: 'x' is not an IPv4 or IPv6 address"),
    (H + POL + R + 'match.source = "bird"',
     f"{AT}.match.source: 'bird' is not one of bgp, static, kernel, local-block"),
    (H + POL + R + 'match.peer_type = "internal"',
     f"{AT}.match.peer_type: 'internal' is not one of ibgp, ebgp"),
    (H + POL + R + 'match.peer_asn = 0',
     f"{AT}.match.peer_asn: 0 is not a usable AS number (RFC 7607 reserves AS 0)"),
    (H + POL + R + 'match.origin_as = [1, 1]', f"{AT}.match.origin_as[1]: 1 is listed twice"),
    # -- set
    (H + POL + R + 'set.local_pref = -1', f"{AT}.set.local_pref: -1 is out of range "
                                          "0..4294967295"),
    (H + POL + R + 'set.next_hop = "me"',
     f"{AT}.set.next_hop: 'me' is not 'self' or a unicast address"),
    (H + POL + R + 'set.prepend = 0', f"{AT}.set.prepend: 0 is out of range 1..32 times"),
    (H + POL + R + 'set.prepend = { asn = 0, count = 40 }',
     f"{AT}.set.prepend.asn: 0 is not a usable AS number (RFC 7607 reserves AS 0)"),
    (H + POL + R + 'set.prepend = { asn = 0, count = 40 }',
     f"{AT}.set.prepend.count: 40 is out of range 1..32 times"),
    (H + POL + R + 'set.prepend = { asn = 1 }',
     f"{AT}.set.prepend: {{asn = 1}} is not a count or a table {{ asn = ..., count = ... }}"),
    (H + POL + R + 'set.origin = "IGP"',
     f"{AT}.set.origin: 'IGP' is not one of igp, egp, incomplete"),
    (H + POL + R + 'set.add_communities = "65000:*"',
     f"{AT}.set.add_communities: '65000:*': a '*' pattern can only match; use it in "
     "match.community or set.remove_communities"),
    (H + POL + R + 'set.large_communities = ["1:2:*"]',
     f"{AT}.set.large_communities[0]: '1:2:*': a '*' pattern can only match; use it in "
     "match.large_community or set.remove_large_communities"),
    (H + POL + R + 'set.remove_large_communities = "1:x:*"',
     f"{AT}.set.remove_large_communities: '1:x:*' is not a large community pattern: "
     "A:B:C with each part 0..4294967295 or '*'"),
    (H + POL + R + 'set.communities = []\nset.add_communities = "1:1"',
     f"{AT}.set.add_communities: cannot be combined with communities, which replaces the "
     "whole list; write the list you want in communities"),
    (H + POL + R + 'set.extended_communities = []\nset.remove_extended_communities = "rt:1:1"',
     f"{AT}.set.remove_extended_communities: cannot be combined with extended_communities, "
     "which replaces the whole list; write the list you want in extended_communities"),
    (H + POL + R + 'set.localpref = 1',
     f"{AT}.set: unknown key 'localpref' (did you mean 'local_pref'?)"),
]


def _problems(text):
    with pytest.raises(conf.ConfigError) as e:
        conf.loads(text)
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize("text, problem", ROWS, ids=[p for _, p in ROWS])
def test_problem(text, problem):
    assert problem in _problems(text)


def test_every_problem_in_one_pass():
    text = (H + LISTS + P + 'import = "nope"\n' + POL + R + 'match.prefix = "10.0.0.0/33"\n'
            + R + 'match.prefix_list = "bogon"\nset.local_pref = -1\n'
            + '[[policies.rules]]\naction = "reject"\nset.med = 1\n')
    assert _problems(text) == [
        f"{AT}.match.prefix: '10.0.0.0/33' is not an IPv4 or IPv6 prefix",
        "policies[0].rules[1].set.local_pref: -1 is out of range 0..4294967295",
        "policies[0].rules[1].match.prefix_list: no prefix list named 'bogon' "
        "(did you mean 'bogons'?)",
        "policies[0].rules[2].set: changes nothing: the rule's action is 'reject'",
        "peers[0].import: no policy named 'nope'",
    ]


def test_an_inherited_mistake_is_reported_once():
    assert _problems(H + '[defaults]\nimport = "nope"\n' + P + P3 + D) == [
        "defaults.import: no policy named 'nope'"]


def test_reference_lists_every_policy_key():
    text = reference()
    for table in (POLICY, RULE, MATCH, SET):
        for field in table:
            assert f"  {field.name} " in text
    for heading in ("[[policies]]", "[[policies.rules]]:", "match:", "match.not:", "set:"):
        assert re.search(rf"^{re.escape(heading)}", text, re.M), heading
    assert "  import " in text and "  export " in text and "  prefix_lists " in text


# -- any policy document gives a Config or a ConfigError ------------------------------------

_KEYS = sorted({f.name for t in (POLICY, RULE, MATCH, SET) for f in t}
               | {"rules", "match", "set", "not"})
_scalars = st.one_of(
    st.booleans(), st.integers(-2, 2**33), st.text(max_size=8),
    st.sampled_from(["accept", "reject", "p", "self", "10.0.0.0/8 le 24", "10.0.0.0/8+",
                     "65000:*", "1:2:3", "*:*:*", "rt:1:2", "ebgp", "static", "25..32", "^$",
                     "ipv4-unicast", "peer_10_0_0_2", "10.0.0.2", "igp", "l", "["]))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)),
    max_leaves=10)
_tables = st.dictionaries(st.sampled_from(_KEYS), _values, max_size=6)
_rules = st.lists(st.fixed_dictionaries(
    {"action": st.sampled_from(["accept", "reject", "x"])},
    optional={"match": _tables, "set": _tables, "description": _scalars}), max_size=3)
_policies = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["p", "q", "accept-all", "1"])},
    optional={"default": st.sampled_from(["accept", "reject", 1]), "rules": _rules,
              "description": _scalars}), max_size=3)


@settings(max_examples=150, deadline=None)
@given(_policies, st.dictionaries(st.sampled_from(["l", "m", "bad name"]), _values, max_size=2),
       st.sampled_from([None, "p", "q", "accept-all", "zz"]))
def test_any_policy_document_gives_config_or_config_error(policies, lists, imported):
    peer = {"address": "10.0.0.2", "asn": 65000}
    if imported is not None:
        peer["import"] = imported
    doc = {"router_id": "10.0.0.1", "asn": 64512, "peers": [peer],
           "prefix_lists": lists, "policies": policies}
    try:
        config = conf.from_document(doc)
    except conf.ConfigError as e:
        assert e.problems
        assert all(isinstance(p, conf.Problem) and p.reason for p in e.problems)
    else:
        assert len(config.policies) == len(policies)
        names = {p.name for p in config.policies} | {"accept-all", "reject-all"}
        assert config.peers[0].import_policy in names | {None}


def test_a_misnamed_policy_gives_one_message():
    assert _problems(H + P + 'import = "p q"\n' + '[[policies]]\nname = "p q"\n'
                     'default = "accept"\n') == [
        "peers[0].import: 'p q' is not a name: use up to 64 letters, digits, '_' and '-', "
        "starting with a letter or '_'",
        "policies[0].name: 'p q' is not a name: use up to 64 letters, digits, '_' and '-', "
        "starting with a letter or '_'"]
    assert _problems(H + P + 'import = "p"\n' + '[[policies]]\nname = 5\ndefault = "accept"\n'
                     ) == ["policies[0].name: 5 is not a name: use up to 64 letters, digits, "
                           "'_' and '-', starting with a letter or '_'"]
