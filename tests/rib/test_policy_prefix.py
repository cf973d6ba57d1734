"""Prefix sets against a brute-force reference: a prefix is in a set when
some range takes it in, by ipaddress arithmetic, entry by entry."""

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from rib.policy_prefix import PrefixSet
from wire.constants import AFI
from wire.nlri import from_network, parse

BITS = {AFI.IPV4: 32, AFI.IPV6: 128}


@st.composite
def networks(draw, afi):
    bits = BITS[afi]
    length = draw(st.integers(0, bits))
    top = draw(st.sampled_from([10, 11, 0xFD]))
    fill = draw(st.sampled_from([0, 1, 0x5555, 2**bits - 1]))
    cls = ipaddress.IPv4Network if afi == AFI.IPV4 else ipaddress.IPv6Network
    address = (top << (bits - 8)) | (fill & (2 ** (bits - 8) - 1))
    return cls((address, length), strict=False)


@st.composite
def ranges(draw):
    afi = draw(st.sampled_from([AFI.IPV4, AFI.IPV6]))
    net = draw(networks(afi))
    lo = draw(st.integers(net.prefixlen, net.max_prefixlen))
    hi = draw(st.integers(lo, net.max_prefixlen))
    return afi, net, lo, hi


@st.composite
def queries(draw, entries):
    """Prefixes inside some entry (most of the time), or anywhere."""
    afi = draw(st.sampled_from([AFI.IPV4, AFI.IPV6]))
    inside = [e for e in entries if e[0] == afi]
    if inside and draw(st.booleans()):
        _, net, _, _ = draw(st.sampled_from(inside))
        length = draw(st.integers(net.prefixlen, net.max_prefixlen))
        extra = draw(st.integers(0, 2 ** (net.max_prefixlen - net.prefixlen) - 1))
        address = int(net.network_address) | extra
        return afi, net.__class__((address, length), strict=False)
    return afi, draw(networks(afi))


def reference(entries, afi, query) -> bool:
    return any(e_afi == afi and lo <= query.prefixlen <= hi and query.subnet_of(net)
               for e_afi, net, lo, hi in entries)


def build(entries) -> PrefixSet:
    return PrefixSet((afi, int(net.network_address), net.prefixlen, lo, hi)
                     for afi, net, lo, hi in entries)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_prefix_set_matches_brute_force(data):
    entries = data.draw(st.lists(ranges(), max_size=12))
    prefix_set = build(entries)
    assert len(prefix_set) == len(entries)
    for _ in range(20):
        afi, query = data.draw(queries(entries))
        assert prefix_set.contains(afi, from_network(query)) == reference(entries, afi, query), \
            (entries, query)


@settings(max_examples=100, deadline=None)
@given(st.lists(ranges(), min_size=1, max_size=6), st.lists(ranges(), min_size=1, max_size=6),
       st.data())
def test_union_is_any_of(a, b, data):
    union = PrefixSet.union([build(a), build(b)])
    for _ in range(10):
        afi, query = data.draw(queries(a + b))
        assert union.contains(afi, from_network(query)) == reference(a + b, afi, query)


ROWS = [
    # (ranges as (prefix, lo, hi), query, in?)
    ([("10.0.0.0/8", 8, 8)], "10.0.0.0/8", True),
    ([("10.0.0.0/8", 8, 8)], "10.0.0.0/9", False),
    ([("10.0.0.0/8", 8, 32)], "10.255.255.255/32", True),
    ([("10.0.0.0/8", 8, 32)], "11.0.0.0/32", False),
    ([("10.0.0.0/8", 16, 24)], "10.1.0.0/16", True),
    ([("10.0.0.0/8", 16, 24)], "10.0.0.0/15", False),
    ([("10.0.0.0/8", 16, 24)], "10.1.0.128/25", False),
    ([("0.0.0.0/0", 0, 0)], "0.0.0.0/0", True),
    ([("0.0.0.0/0", 0, 0)], "10.0.0.0/8", False),
    ([("0.0.0.0/0", 0, 32)], "192.0.2.1/32", True),
    ([("0.0.0.0/0", 0, 32)], "::/0", False),
    # Two ranges with the same prefix merge: lengths 16 and 24 only.
    ([("10.0.0.0/8", 16, 16), ("10.0.0.0/8", 24, 24)], "10.1.2.0/24", True),
    ([("10.0.0.0/8", 16, 16), ("10.0.0.0/8", 24, 24)], "10.1.0.0/20", False),
    ([("2001:db8::/32", 48, 64)], "2001:db8:1::/48", True),
    ([("2001:db8::/32", 48, 64)], "2001:db9::/48", False),
    ([("::/0", 128, 128)], "::1/128", True),
]


@pytest.mark.parametrize("entries, query, inside", ROWS)
def test_rows(entries, query, inside):
    parsed = []
    for text, lo, hi in entries:
        afi, _ = parse(text)
        net = ipaddress.ip_network(text)
        parsed.append((afi, int(net.network_address), net.prefixlen, lo, hi))
    afi, key = parse(query)
    assert PrefixSet(parsed).contains(afi, key) is inside


def test_bad_ranges():
    with pytest.raises(ValueError, match="bad prefix range"):
        PrefixSet([(AFI.IPV4, 0, 8, 4, 8)])
    with pytest.raises(ValueError, match="host bits"):
        PrefixSet([(AFI.IPV4, 1, 8, 8, 8)])


def test_family_without_ranges_never_matches():
    s = PrefixSet([(AFI.IPV4, 10 << 24, 8, 8, 32)])
    assert s.has_family(AFI.IPV4) and not s.has_family(AFI.IPV6)
    assert s.matcher(AFI.IPV6)(b"\x00") is False
