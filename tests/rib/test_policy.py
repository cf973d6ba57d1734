"""Routing policy, table-driven: one row per kind of match and per change.

Each row is a piece of the TOML an operator writes (loaded by ``conf``,
compiled by ``rib.policy``), a route, and what must come out.  Then: first
match wins, defaults, RFC 8212, the result cache.
"""

import ipaddress
import re

import pytest
from hypothesis import given, settings, strategies as st

import conf
from rib.policy import (EXPORT, IMPORT, Context, Policy, PolicyError, PolicySet, Result,
                        Source)
from wire import IPV4_UNICAST, IPV6_UNICAST, Attributes, make_attributes
from wire.communities import parse_community, parse_ext_community
from wire.nlri import parse

HEAD = '''
router_id = "10.0.0.1"
asn = 64512
[prefix_lists]
pods = ["10.245.0.0/16 ge 26"]
v6 = ["2001:db8::/32+"]
elsewhere = ["192.0.2.0/24+"]
[[peers]]
address = "10.0.0.2"
asn = 65001
[[dynamic_neighbors]]
name = "rack"
prefix = "10.0.0.0/29"
asn = 64512
'''

NH = bytes([10, 0, 0, 2])
LOCAL = bytes([10, 0, 0, 1])
C = parse_community
ATTRS = make_attributes(
    origin=0, as_path=((2, (65001, 65002, 65003)),), next_hop=NH, med=5, local_pref=100,
    communities=(C("65001:1"), C("NO_EXPORT")),
    ext_communities=(parse_ext_community("rt:65001:7"),),
    large_communities=((64512, 1, 2),))
EBGP = Source.peer("peer_10_0_0_2", ipaddress.ip_address("10.0.0.2"), 65001, False)
IBGP = Source.peer("rack_10_0_0_5", ipaddress.ip_address("10.0.0.5"), 64512, True)
STATIC = Source("static")


def policy_set(rules: str, default: str = "reject", extra: str = "") -> PolicySet:
    config = conf.loads(HEAD + extra + f'[[policies]]\nname = "p"\ndefault = "{default}"\n'
                        + rules)
    return PolicySet.from_config(config)


def compile_(rules: str, default: str = "reject") -> Policy:
    return policy_set(rules, default)["p"]


def ctx(prefix="10.245.0.64/26", attrs=ATTRS, next_hop=NH, source=EBGP, family=None,
        direction=IMPORT, local_address=LOCAL, local_asn=64512) -> Context:
    afi, key = parse(prefix)
    if family is None:
        family = IPV4_UNICAST if afi == 1 else IPV6_UNICAST
    return Context(family, key, attrs, next_hop, source, direction, local_address, local_asn)


def rule(match: str) -> str:
    """One accepting rule with ``match`` as its match table (inline TOML)."""
    return f"[[policies.rules]]\nmatch = {{ {match} }}\naction = \"accept\"\n"


# -- matches: (match table, context overrides, accepted?) --------------------------------

MATCH_ROWS = [
    ("", {}, True),
    ('family = "ipv4-unicast"', {}, True),
    ('family = "ipv6-unicast"', {}, False),
    ('family = ["ipv6-unicast", "ipv4-unicast"]', {}, True),
    ('family = "ipv6-unicast"', {"prefix": "2001:db8::/48", "next_hop": b"\x20" * 16}, True),
    # prefix: exact, or longer, ge/le, BIRD ranges, lists, other family
    ('prefix = "10.245.0.64/26"', {}, True),
    ('prefix = "10.245.0.0/26"', {}, False),
    ('prefix = "10.245.0.0/16"', {}, False),
    ('prefix = "10.245.0.0/16+"', {}, True),
    ('prefix = "10.245.0.64/26+"', {}, True),
    ('prefix = "10.245.0.64/27+"', {}, False),
    ('prefix = "10.0.0.0/8 le 26"', {}, True),
    ('prefix = "10.0.0.0/8 le 25"', {}, False),
    ('prefix = "10.0.0.0/8 ge 26"', {}, True),
    ('prefix = "10.0.0.0/8 ge 27"', {}, False),
    ('prefix = "10.0.0.0/8 ge 24 le 26"', {}, True),
    ('prefix = "10.0.0.0/8{26,26}"', {}, True),
    ('prefix = "11.0.0.0/8+"', {}, False),
    ('prefix = ["11.0.0.0/8+", "10.245.0.64/26"]', {}, True),
    ('prefix = "::/0+"', {}, False),
    ('prefix = "0.0.0.0/0+"', {}, True),
    ('prefix = "0.0.0.0/0"', {"prefix": "0.0.0.0/0"}, True),
    ('prefix = "0.0.0.0/0"', {}, False),
    ('prefix_list = "pods"', {}, True),
    ('prefix_list = "pods"', {"prefix": "10.245.0.0/24"}, False),
    ('prefix_list = "elsewhere"', {}, False),
    ('prefix_list = ["elsewhere", "pods"]', {}, True),
    ('prefix_list = "v6"', {}, False),
    ('prefix_list = "v6"', {"prefix": "2001:db8:1::/48"}, True),
    ('prefix_length = 26', {}, True),
    ('prefix_length = "25..32"', {}, True),
    ('prefix_length = "..24"', {}, False),
    ('prefix_length = "27.."', {}, False),
    # AS_PATH: 65001 65002 65003
    ('as_path_contains = 65002', {}, True),
    ('as_path_contains = [1, 65003]', {}, True),
    ('as_path_contains = 64999', {}, False),
    ('origin_as = 65003', {}, True),
    ('origin_as = 65001', {}, False),
    ('origin_as = 65003', {"attrs": ATTRS.replace(as_path=())}, False),
    ('neighbor_as = 65001', {}, True),
    ('neighbor_as = 65003', {}, False),
    ('as_path_length = 3', {}, True),
    ('as_path_length = "4.."', {}, False),
    ('as_path_length = "0..0"', {"attrs": ATTRS.replace(as_path=())}, True),
    ('as_path_regex = "^65001_"', {}, True),
    ('as_path_regex = "_65002$"', {}, False),
    ('as_path_regex = "_65003$"', {}, True),
    ('as_path_regex = "^65001 65002"', {}, True),
    ('as_path_regex = "_6500_"', {}, False),
    ('as_path_regex = "^$"', {}, False),
    ('as_path_regex = "^$"', {"attrs": ATTRS.replace(as_path=())}, True),
    # communities: 65001:1 NO_EXPORT / rt:65001:7 / 64512:1:2
    ('community = "65001:1"', {}, True),
    ('community = "65001:2"', {}, False),
    ('community = "65001:*"', {}, True),
    ('community = "*:1"', {}, True),
    ('community = "*:2"', {}, False),
    ('community = "NO_EXPORT"', {}, True),
    ('community = "no_advertise"', {}, False),
    ('community = ["1:1", "65001:1"]', {}, True),
    ('community = "65001:1"', {"attrs": ATTRS.replace(communities=())}, False),
    ('community_all = ["65001:1", "NO_EXPORT"]', {}, True),
    ('community_all = ["65001:*", "65535:*"]', {}, True),
    ('community_all = ["65001:1", "65001:2"]', {}, False),
    ('extended_community = "rt:65001:7"', {}, True),
    ('extended_community = "rt:65001:8"', {}, False),
    ('extended_community_all = ["rt:65001:7", "soo:10.0.0.1:1"]', {}, False),
    ('extended_community_all = "rt:65001:7"', {}, True),
    ('large_community = "64512:1:2"', {}, True),
    ('large_community = "64512:*:*"', {}, True),
    ('large_community = "*:*:2"', {}, True),
    ('large_community = "64512:2:*"', {}, False),
    ('large_community_all = ["64512:1:*", "1:2:3"]', {}, False),
    ('large_community_all = ["64512:1:*", "*:*:2"]', {}, True),
    # next hop
    ('next_hop = "10.0.0.2"', {}, True),
    ('next_hop = "10.0.0.0/24"', {}, True),
    ('next_hop = "10.0.1.0/24"', {}, False),
    ('next_hop = "2001:db8::/32"', {}, False),
    ('next_hop = "2001:db8::1"', {"prefix": "2001:db8:1::/48", "next_hop":
                                   ipaddress.ip_address("2001:db8::1").packed
                                   + ipaddress.ip_address("fe80::1").packed}, True),
    # source
    ('source = "bgp"', {}, True),
    ('source = "static"', {}, False),
    ('source = ["static", "local-block"]', {"source": STATIC}, True),
    ('source = "kernel"', {"source": Source("kernel")}, True),
    ('source = "local-block"', {"source": Source("local-block")}, True),
    ('peer = "peer_10_0_0_2"', {}, True),
    ('peer = "peer_10_0_0_2"', {"source": IBGP}, False),
    ('peer = "rack"', {"source": IBGP}, True),          # a dynamic neighbor: its prefix
    ('peer = "rack"', {"source": STATIC}, False),
    ('peer = "10.0.0.2"', {}, True),
    ('peer = "10.0.0.3"', {}, False),
    ('peer = "10.0.0.0/24"', {}, True),
    ('peer = "10.0.0.2"', {"source": Source.peer("x", "::ffff:10.0.0.2", 65001, False)}, True),
    ('peer = "10.0.0.2"', {"source": Source.peer("x", NH, 65001, False)}, True),
    ('peer_type = "ebgp"', {}, True),
    ('peer_type = "ibgp"', {}, False),
    ('peer_type = "ibgp"', {"source": IBGP}, True),
    ('peer_type = "ebgp"', {"source": STATIC}, False),
    ('peer_type = "ibgp"', {"source": STATIC}, False),
    ('peer_asn = 65001', {}, True),
    ('peer_asn = [64512, 65002]', {}, False),
    # conditions together (all must hold) and not
    ('prefix_list = "pods", community = "65001:1"', {}, True),
    ('prefix_list = "pods", community = "65001:2"', {}, False),
    ('prefix_list = "elsewhere", community = "65001:1"', {}, False),
    ('not = { community = "65001:1" }', {}, False),
    ('not = { community = "65001:2" }', {}, True),
    ('not = { prefix_list = "pods" }', {}, False),
    ('not = { prefix_list = "pods" }', {"prefix": "192.0.2.0/24"}, True),
    ('not = { prefix_list = "pods", peer_type = "ibgp" }', {}, True),
    ('not = { prefix_list = "pods", peer_type = "ebgp" }', {}, False),
    ('peer_type = "ebgp", not = { prefix = "10.245.0.64/26" }', {}, False),
    ('not = { not = { prefix_list = "pods" } }', {}, True),
    ('not = { prefix = "2001:db8::/32+" }', {}, True),
]


@pytest.mark.parametrize("match, overrides, accepted", MATCH_ROWS,
                         ids=[f"{m or 'empty'}-{i}" for i, (m, _, _) in enumerate(MATCH_ROWS)])
def test_match(match, overrides, accepted):
    policy = compile_(rule(match))
    result = policy.evaluate(ctx(**overrides))
    assert result.accepted is accepted
    if accepted:
        assert result.attributes is overrides.get("attrs", ATTRS)
        assert result.reason == "p rules[0]"
    else:
        assert result.reason == "p default reject"
        assert result.attributes is None


# Rows of one condition, with the default context: a match of several is
# their conjunction, and "not" its negation.
ATOMS = [(m.split("=")[0].strip(), m, accepted) for m, overrides, accepted in MATCH_ROWS
         if m and not overrides and not m.startswith("not") and
         len(re.findall(r"(?:^|, )\w+ =", m)) == 1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=6, unique_by=lambda a: a[0]),
       st.booleans())
def test_conditions_combine(atoms, negate):
    table = ", ".join(m for _, m, _ in atoms)
    expected = all(accepted for _, _, accepted in atoms)
    match = f"not = {{ {table} }}" if negate else table
    assert compile_(rule(match)).evaluate(ctx()).accepted is (expected is not negate)


# -- changes: (set table, context overrides, expected fields, expected next hop) ---------

V6_NH = ipaddress.ip_address("2001:db8::2").packed
CHANGE_ROWS = [
    ("local_pref = 200", {}, {"local_pref": 200}, NH),
    ("local_pref = 0", {}, {"local_pref": 0}, NH),
    ("med = 0", {}, {"med": 0}, NH),
    ("med = 4294967295", {}, {"med": 4294967295}, NH),
    ('origin = "incomplete"', {}, {"origin": 2}, NH),
    ('origin = "egp"', {}, {"origin": 1}, NH),
    ("prepend = 2", {}, {"as_path": ((2, (64512, 64512, 65001, 65002, 65003)),)}, NH),
    ("prepend = { asn = 65000, count = 1 }", {},
     {"as_path": ((2, (65000, 65001, 65002, 65003)),)}, NH),
    ("prepend = 1", {"attrs": ATTRS.replace(as_path=())}, {"as_path": ((2, (64512,)),)}, NH),
    ("communities = []", {}, {"communities": ()}, NH),
    ('communities = ["1:1", "NO_ADVERTISE"]', {},
     {"communities": (C("1:1"), C("NO_ADVERTISE"))}, NH),
    ('add_communities = ["65001:1", "2:2"]', {},
     {"communities": (C("65001:1"), C("NO_EXPORT"), C("2:2"))}, NH),
    ('add_communities = "2:2"', {"attrs": ATTRS.replace(communities=())},
     {"communities": (C("2:2"),)}, NH),
    ('remove_communities = "65001:*"', {}, {"communities": (C("NO_EXPORT"),)}, NH),
    ('remove_communities = "NO_EXPORT"', {}, {"communities": (C("65001:1"),)}, NH),
    ('remove_communities = ["*:*"]', {}, {"communities": ()}, NH),
    ('remove_communities = "9:9"', {}, {}, NH),
    ('remove_communities = "65001:*"\nadd_communities = "65001:9"', {},
     {"communities": (C("NO_EXPORT"), C("65001:9"))}, NH),
    ('extended_communities = ["soo:10.0.0.1:1"]', {},
     {"ext_communities": (parse_ext_community("soo:10.0.0.1:1"),)}, NH),
    ('add_extended_communities = "rt:65001:8"', {},
     {"ext_communities": (parse_ext_community("rt:65001:7"),
                          parse_ext_community("rt:65001:8"))}, NH),
    ('remove_extended_communities = "rt:65001:7"', {}, {"ext_communities": ()}, NH),
    ('large_communities = ["1:2:3"]', {}, {"large_communities": ((1, 2, 3),)}, NH),
    ('add_large_communities = ["64512:1:2", "64512:9:9"]', {},
     {"large_communities": ((64512, 1, 2), (64512, 9, 9))}, NH),
    ('remove_large_communities = "64512:*:*"', {}, {"large_communities": ()}, NH),
    ('remove_large_communities = "64512:1:3"', {}, {}, NH),
    # The next hop; an IPv4 route's NEXT_HOP attribute follows it.
    ('next_hop = "self"', {}, {"next_hop": LOCAL}, LOCAL),
    ('next_hop = "192.0.2.1"', {}, {"next_hop": bytes([192, 0, 2, 1])}, bytes([192, 0, 2, 1])),
    ('next_hop = "2001:db8::1"', {}, {}, ipaddress.ip_address("2001:db8::1").packed),
    ('next_hop = "self"', {"prefix": "2001:db8:1::/48", "next_hop": V6_NH,
                           "local_address": ipaddress.ip_address("2001:db8::1").packed},
     {}, ipaddress.ip_address("2001:db8::1").packed),
    ('next_hop = "self"', {"local_address": NH}, {}, NH),
    # Several at once.
    ('local_pref = 50\nmed = 7\nadd_large_communities = "64512:5:5"\nnext_hop = "self"', {},
     {"local_pref": 50, "med": 7, "large_communities": ((64512, 1, 2), (64512, 5, 5)),
      "next_hop": LOCAL}, LOCAL),
    # Nothing really changes: the very same attribute object comes back.
    ("local_pref = 100", {}, {}, NH),
    ("med = 5", {}, {}, NH),
    ('add_communities = "NO_EXPORT"', {}, {}, NH),
]


@pytest.mark.parametrize("changes, overrides, fields, next_hop", CHANGE_ROWS,
                         ids=[c.replace("\n", "; ") for c, *_ in CHANGE_ROWS])
def test_change(changes, overrides, fields, next_hop):
    policy = compile_(f"[[policies.rules]]\naction = \"accept\"\n[policies.rules.set]\n"
                      f"{changes}\n")
    given = overrides.get("attrs", ATTRS)
    result = policy.evaluate(ctx(**overrides))
    assert result.accepted
    assert result.next_hop == next_hop
    if not fields:
        assert result.attributes is given
        return
    expected = given.fields()
    expected.update(fields)
    assert result.attributes.fields() == {k: v for k, v in expected.items() if v != ()}
    assert result.attributes == make_attributes(**{k: v for k, v in expected.items()
                                                   if v != ()})


def test_change_needs_the_session():
    with pytest.raises(PolicyError, match="local address"):
        compile_('[[policies.rules]]\naction = "accept"\nset.next_hop = "self"\n').evaluate(
            ctx(local_address=None))
    with pytest.raises(PolicyError, match="local AS"):
        compile_('[[policies.rules]]\naction = "accept"\nset.prepend = 1\n').evaluate(
            ctx(local_asn=None))


# -- order and defaults --------------------------------------------------------------------

ORDERED = '''
[[policies.rules]]
description = "bogons"
match.prefix = "10.245.0.0/24+"
match.community = "65001:1"
action = "reject"

[[policies.rules]]
match.prefix_list = "pods"
set.local_pref = 300
action = "accept"

[[policies.rules]]
match.prefix_list = "pods"
set.local_pref = 400
action = "accept"

[[policies.rules]]
match.community = "NO_EXPORT"
set.local_pref = 500
action = "accept"
'''

ORDER_ROWS = [
    # (prefix, attributes, reason, local_pref or None for a reject)
    ("10.245.0.64/26", ATTRS, "p rules[0] (bogons)", None),
    ("10.245.1.64/26", ATTRS, "p rules[1]", 300),
    ("10.245.0.64/26", ATTRS.replace(communities=()), "p rules[1]", 300),
    ("192.0.2.0/24", ATTRS, "p rules[3]", 500),
    ("192.0.2.0/24", ATTRS.replace(communities=(C("1:1"),)), "p default reject", None),
]


@pytest.mark.parametrize("prefix, attrs, reason, local_pref", ORDER_ROWS)
def test_first_match_wins(prefix, attrs, reason, local_pref):
    result = compile_(ORDERED).evaluate(ctx(prefix, attrs))
    assert result.reason == reason
    assert result.accepted is (local_pref is not None)
    if local_pref is not None:
        assert result.attributes.local_pref == local_pref


def test_bind_gives_what_evaluate_gives():
    policy = compile_(ORDERED)
    for prefix, attrs, reason, _ in ORDER_ROWS:
        c = ctx(prefix, attrs)
        decide = policy.bind(c.family, attrs, NH, EBGP, LOCAL, 64512)
        assert decide(c.prefix) is policy.evaluate(c)
        assert decide(c.prefix).reason == reason


@pytest.mark.parametrize("default, accepted", [("accept", True), ("reject", False)])
def test_default_action(default, accepted):
    policy = compile_(rule('community = "9:9"'), default)
    result = policy.evaluate(ctx())
    assert result.accepted is accepted
    assert result.reason == f"p default {default}"
    assert policy.default_accept is accepted
    assert (result.attributes is ATTRS) is accepted


def test_policy_without_rules():
    assert compile_("", "accept").evaluate(ctx()).accepted
    assert not compile_("", "reject").evaluate(ctx()).accepted


def test_builtins():
    policies = policy_set("")
    assert policies["accept-all"].evaluate(ctx()).attributes is ATTRS
    assert not policies["reject-all"].evaluate(ctx()).accepted
    assert "p" in policies and "q" not in policies
    with pytest.raises(KeyError, match="no policy named 'q'"):
        policies["q"]


def test_direction_does_not_change_the_decision():
    policy = compile_(ORDERED)
    assert policy.evaluate(ctx(direction=IMPORT)) is policy.evaluate(ctx(direction=EXPORT))


# -- RFC 8212 --------------------------------------------------------------------------------

PEERS = '''
[[policies]]
name = "in"
description = "from the router"
default = "accept"
[[peers]]
address = "10.0.1.1"
asn = 65002
name = "ebgp_bare"
[[peers]]
address = "10.0.1.2"
asn = 65002
name = "ebgp_set"
import = "in"
export = "accept-all"
[[peers]]
address = "10.0.1.3"
asn = 64512
name = "ibgp_bare"
[[peers]]
address = "10.0.1.4"
asn = 64512
name = "ibgp_set"
import = "reject-all"
'''

RFC8212_ROWS = [
    # (peer, import accepts?, export accepts?, import note, export note)
    ("ebgp_bare", False, False,
     "no import policy: RFC 8212 rejects every route from this eBGP peer",
     "no export policy: RFC 8212 sends no route to this eBGP peer"),
    ("ebgp_set", True, True, "import policy 'in': from the router",
     "export policy 'accept-all': accepts every route"),
    ("ibgp_bare", True, True, "no import policy: every route from this iBGP peer is accepted",
     "no export policy: every route is sent to this iBGP peer"),
    ("ibgp_set", False, True, "import policy 'reject-all': rejects every route",
     "no export policy: every route is sent to this iBGP peer"),
]


@pytest.mark.parametrize("name, imports, exports, import_note, export_note", RFC8212_ROWS)
def test_rfc8212_effective_policies(name, imports, exports, import_note, export_note):
    config = conf.loads(HEAD + PEERS)
    policies = PolicySet.from_config(config)
    chosen = policies.effective(config.peer_by_name(name))
    assert (chosen.import_note, chosen.export_note) == (import_note, export_note)
    assert chosen.import_policy.evaluate(ctx(direction=IMPORT)).accepted is imports
    assert chosen.export_policy.evaluate(ctx(direction=EXPORT)).accepted is exports


def test_rfc8212_reason_and_sharing():
    config = conf.loads(HEAD + PEERS)
    policies = PolicySet.from_config(config)
    bare = policies.effective(config.peers[0])         # peer_10_0_0_2: eBGP, no policy
    also_bare = policies.effective(config.peer_by_name("ebgp_bare"))
    assert bare.import_policy is also_bare.import_policy    # one cache for all of them
    assert bare.import_policy.evaluate(ctx()).reason == (
        "no import policy (RFC 8212: eBGP imports nothing)")
    assert policies.effective(config.peer_by_name("ebgp_set")).import_policy is policies["in"]


# -- the cache -----------------------------------------------------------------------------------

CHANGING = '''
[[policies.rules]]
match.prefix_list = "pods"
match.community = "65001:1"
set.local_pref = 200
set.add_communities = "64512:7"
action = "accept"
'''


def _keys(n):
    return [bytes([26, 10, 245, i >> 2 & 0xFF, (i & 3) << 6]) for i in range(n)]


def test_one_replace_for_many_prefixes(monkeypatch):
    calls = []
    replace = Attributes.replace

    def counting(self, **changes):
        calls.append(changes)
        return replace(self, **changes)
    monkeypatch.setattr(Attributes, "replace", counting)
    policy = compile_(CHANGING)
    keys = _keys(100_000)
    decide = policy.bind(IPV4_UNICAST, ATTRS, NH, EBGP, LOCAL, 64512)
    results = [decide(k) for k in keys]
    results += [policy.evaluate(Context(IPV4_UNICAST, k, ATTRS, NH, EBGP)) for k in keys[:1000]]
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1
    assert results[0].attributes.local_pref == 200


def test_same_inputs_same_objects():
    policy = compile_(CHANGING)
    first = policy.evaluate(ctx())
    # Equal inputs, not the same objects: the attribute set from another decode.
    twin = make_attributes(**ATTRS.fields())
    assert twin is not ATTRS
    assert policy.evaluate(ctx(attrs=twin)) is first
    assert policy.evaluate(ctx("10.245.7.0/26")) is first
    # A different next hop is another route: another result, but the same
    # changed attribute set (interned by its bytes).
    other = policy.evaluate(ctx(next_hop=LOCAL))
    assert other is not first and other.attributes is first.attributes
    # Rejections share one result per rule.
    assert policy.evaluate(ctx("192.0.2.0/24")) is policy.evaluate(ctx("192.0.2.0/25"))


def test_cache_key_holds_only_what_the_policy_reads():
    # No rule reads the source or the session: one plan for all of them,
    # as for an export policy that many sessions share.
    policy = compile_(CHANGING)
    first = policy.evaluate(ctx())
    assert policy.evaluate(ctx(source=IBGP, local_address=NH, local_asn=1)) is first
    assert len(policy._plans) == 1
    # A rule that reads the source: one plan per source.
    policy = compile_(rule('peer_type = "ebgp"'))
    assert policy.evaluate(ctx()).accepted
    assert not policy.evaluate(ctx(source=IBGP)).accepted
    assert len(policy._plans) == 2
    # next_hop = "self": one plan per local address.
    policy = compile_('[[policies.rules]]\naction = "accept"\nset.next_hop = "self"\n')
    assert policy.evaluate(ctx()).next_hop == LOCAL
    assert policy.evaluate(ctx(local_address=bytes([10, 9, 9, 9]))).next_hop == bytes(
        [10, 9, 9, 9])
    policy = compile_('[[policies.rules]]\naction = "accept"\nset.prepend = 1\n')
    assert policy.evaluate(ctx(local_asn=7)).attributes.as_path[0][1][0] == 7
    assert policy.evaluate(ctx(local_asn=8)).attributes.as_path[0][1][0] == 8


def test_cache_is_bounded():
    policy = Policy.compile(conf.loads(HEAD + '[[policies]]\nname = "p"\ndefault = "accept"\n'
                                       + CHANGING).policies[0],
                            PolicySet(prefix_lists=conf.loads(HEAD).prefix_lists).prefix_sets,
                            cache_limit=100)
    for med in range(1000):
        result = policy.evaluate(ctx(attrs=ATTRS.replace(med=med)))
        assert result.attributes.med == med and result.attributes.local_pref == 200
        assert len(policy._plans) <= 100 and len(policy._interned) <= 100


def test_result_repr():
    assert repr(Result(True, ATTRS, NH, "p rules[0]")) == "Result(accept, 'p rules[0]')"
    assert repr(compile_(ORDERED)) == "Policy('p', 4 rules)"
