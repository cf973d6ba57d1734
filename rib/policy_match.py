"""The conditions of a policy rule, one table row per kind of match.

A rule's ``match`` (``conf.model.Match``, or anything with the same
attributes) holds one value per condition, None for the ones not tested.
``compile_match`` turns it into a ``CompiledMatch`` by looking each field up
in ``MATCHES``, whose rows say what the condition reads:

- ``ROUTE`` conditions read what every prefix of an UPDATE shares (the
  family, the attribute set, the next hop, the source, the session): they
  are compiled to ``test(route) -> bool``;
- ``PREFIX`` conditions read the prefix itself: they are compiled to
  ``for_afi(afi) -> test(key) -> bool``, or None when no prefix of that
  family can match.

``CompiledMatch.partial(route)`` evaluates the route conditions once and
hands back what is left to test per prefix: True (every prefix matches),
False (none does) or a ``test(key)``.  The policy caches that per route, so
that a 100,000-prefix UPDATE runs the attribute conditions once and a
prefix lookup per prefix.  ``not`` (``negated``) composes the same way:
not True is False, not a test is its negation.

Communities are RFC 1997 (standard), RFC 4360 (extended) and RFC 8092
(large); AS_PATH conditions follow RFC 4271 (``wire.aspath``).
"""

from __future__ import annotations

import ipaddress
from typing import Callable

from wire.aspath import contains, first_as, format_path, origin_as, path_length
from wire.constants import AFI

from .policy_prefix import PrefixSet

ROUTE = "route"
PREFIX = "prefix"


def address(value):
    """An ipaddress address from text, packed bytes or an address; an
    IPv4-mapped IPv6 address (as a dual-stack socket reports IPv4 peers)
    becomes IPv4."""
    addr = value if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)) \
        else ipaddress.ip_address(value)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def next_hop_address(next_hop: bytes):
    """The address of a wire next hop: 4 or 16 octets, or 32 (global and
    link-local, RFC 4760 / RFC 2545) whose global half is the one that counts."""
    if not next_hop:
        return None
    return ipaddress.ip_address(next_hop[:16] if len(next_hop) == 32 else next_hop)


def _in_any(networks):
    nets = tuple(networks)

    def test(addr) -> bool:
        if addr is None:
            return False
        return any(addr.version == n.version and addr in n for n in nets)
    return test


def _path(route):
    return route.attributes.as_path or ()


# -- communities: patterns with None for '*' ----------------------------------------

def _split_patterns(patterns, exact_of):
    """(set of exact values, tuple of wildcard tests)."""
    exact, wild = set(), []
    for p in patterns:
        if None in p:
            wild.append(p)
        else:
            exact.add(exact_of(p))
    return frozenset(exact), tuple(wild)


def _standard_wild(p):
    hi, lo = p
    return lambda c: (hi is None or c >> 16 == hi) and (lo is None or c & 0xFFFF == lo)


def _large_wild(p):
    return lambda lc: all(want is None or want == got for want, got in zip(p, lc))


def community_matcher(patterns, exact_of=lambda p: p[0] << 16 | p[1], wild_of=_standard_wild):
    """``one(value) -> bool``: does a community match any of ``patterns``?"""
    exact, wild = _split_patterns(patterns, exact_of)
    tests = tuple(wild_of(p) for p in wild)
    if not tests:
        return exact.__contains__
    return lambda c: c in exact or any(t(c) for t in tests)


def large_community_matcher(patterns):
    return community_matcher(patterns, tuple, _large_wild)


def _has_any(field, make):
    def compile_(patterns, env):
        one = make(patterns)
        return lambda route: any(one(c) for c in getattr(route.attributes, field))
    return compile_


def _has_all(field, make):
    def compile_(patterns, env):
        ones = tuple(make((p,)) for p in patterns)
        return lambda route: all(any(one(c) for c in getattr(route.attributes, field))
                                 for one in ones)
    return compile_


def _exact(values):
    return frozenset(values).__contains__


# -- route conditions: compile(value, env) -> test(route) ------------------------------

def _family(families, env):
    wanted = frozenset(tuple(f) for f in families)
    return lambda route: route.family in wanted


def _as_path_contains(asns, env):
    wanted = tuple(asns)
    return lambda route: any(contains(_path(route), a) for a in wanted)


def _origin_as(asns, env):
    wanted = frozenset(asns)
    return lambda route: origin_as(_path(route)) in wanted


def _neighbor_as(asns, env):
    wanted = frozenset(asns)
    return lambda route: first_as(_path(route)) in wanted


def _as_path_length(bounds, env):
    lo, hi = bounds
    return lambda route: lo <= path_length(_path(route)) <= hi


def _as_path_regex(pattern, env):
    return lambda route: pattern.search(format_path(_path(route))) is not None


def _next_hop(networks, env):
    inside = _in_any(networks)
    return lambda route: inside(next_hop_address(route.next_hop))


def _source(kinds, env):
    wanted = frozenset(kinds)
    return lambda route: route.source.kind in wanted


def _peer(networks, env):
    inside = _in_any(networks)

    def test(route) -> bool:
        addr = route.source.address
        return addr is not None and inside(address(addr))
    return test


def _peer_type(kind, env):
    ibgp = kind == "ibgp"
    return lambda route: route.source.ibgp is ibgp


def _peer_asn(asns, env):
    wanted = frozenset(asns)
    return lambda route: route.source.asn in wanted


# -- prefix conditions: compile(value, env) -> for_afi(afi) -> test(key) | None ----------

def _by_family(prefix_set: PrefixSet):
    def for_afi(afi):
        return prefix_set.matcher(afi) if prefix_set.has_family(afi) else None
    return for_afi


def _prefix(ranges, env):
    return _by_family(PrefixSet.from_ranges(ranges))


def _prefix_list(names, env):
    return _by_family(PrefixSet.union(env[name] for name in names))


def _prefix_length(bounds, env):
    lo, hi = bounds

    def for_afi(afi):
        if lo > (32 if afi == AFI.IPV4 else 128):
            return None
        return lambda key: lo <= key[0] <= hi
    return for_afi


# field -> (what it reads, compile)
MATCHES: dict[str, tuple[str, Callable]] = {
    "family": (ROUTE, _family),
    "prefix": (PREFIX, _prefix),
    "prefix_list": (PREFIX, _prefix_list),
    "prefix_length": (PREFIX, _prefix_length),
    "as_path_contains": (ROUTE, _as_path_contains),
    "origin_as": (ROUTE, _origin_as),
    "neighbor_as": (ROUTE, _neighbor_as),
    "as_path_length": (ROUTE, _as_path_length),
    "as_path_regex": (ROUTE, _as_path_regex),
    "community": (ROUTE, _has_any("communities", community_matcher)),
    "community_all": (ROUTE, _has_all("communities", community_matcher)),
    "extended_community": (ROUTE, _has_any("ext_communities", _exact)),
    "extended_community_all": (ROUTE, _has_all("ext_communities", _exact)),
    "large_community": (ROUTE, _has_any("large_communities", large_community_matcher)),
    "large_community_all": (ROUTE, _has_all("large_communities", large_community_matcher)),
    "next_hop": (ROUTE, _next_hop),
    "source": (ROUTE, _source),
    "peer": (ROUTE, _peer),
    "peer_type": (ROUTE, _peer_type),
    "peer_asn": (ROUTE, _peer_asn),
}


# The conditions that read the route's source; a policy without them
# decides the same for every source.
READS_SOURCE = frozenset(("source", "peer", "peer_type", "peer_asn"))


def _all_of(tests):
    def test(key: bytes) -> bool:
        for t in tests:
            if not t(key):
                return False
        return True
    return test


def _negate(test):
    return lambda key: not test(key)


class CompiledMatch:
    """The conditions of one rule, split by what they read."""

    __slots__ = ("route_tests", "prefix_tests", "negated", "reads_source", "_for_afi")

    def __init__(self, route_tests, prefix_tests, negated: "CompiledMatch | None",
                 reads_source: bool = False):
        self.route_tests = tuple(route_tests)
        self.prefix_tests = tuple(prefix_tests)
        self.negated = negated
        self.reads_source = reads_source or (negated is not None and negated.reads_source)
        self._for_afi: dict = {}          # afi -> (test, ...) or None (never)

    @property
    def matches_everything(self) -> bool:
        return not (self.route_tests or self.prefix_tests or self.negated)

    def _prefix_tests(self, afi):
        tests = self._for_afi.get(afi, False)
        if tests is False:
            made = [for_afi(afi) for for_afi in self.prefix_tests]
            tests = self._for_afi[afi] = None if None in made else tuple(made)
        return tests

    def partial(self, route):
        """True, False, or the test that is left for each prefix of ``route``."""
        for test in self.route_tests:
            if not test(route):
                return False
        left = []
        if self.prefix_tests:
            tests = self._prefix_tests(route.family[0])
            if tests is None:
                return False
            left.extend(tests)
        if self.negated is not None:
            inner = self.negated.partial(route)
            if inner is True:
                return False
            if inner is not False:
                left.append(_negate(inner))
        if not left:
            return True
        return left[0] if len(left) == 1 else _all_of(tuple(left))


def compile_match(match, prefix_sets) -> CompiledMatch:
    """``match``: a ``conf.model.Match`` (or None: every route);
    ``prefix_sets``: ``{name: PrefixSet}`` for ``prefix_list``."""
    if match is None:
        return CompiledMatch((), (), None)
    route_tests, prefix_tests, reads_source = [], [], False
    for name, (reads, compile_) in MATCHES.items():
        value = getattr(match, name)
        if value is None:
            continue
        made = compile_(value, prefix_sets)
        (route_tests if reads == ROUTE else prefix_tests).append(made)
        reads_source = reads_source or name in READS_SOURCE
    negated = getattr(match, "negated", None)
    return CompiledMatch(route_tests, prefix_tests,
                         None if negated is None else compile_match(negated, prefix_sets),
                         reads_source)
