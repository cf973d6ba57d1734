"""The rtnetlink codec: route requests parse back to what was asked for, the
memoised reader agrees with the full parser on kernel-ordered messages, and
errors and VTEP MACs follow their rules."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_sync import KRoute, Nexthop, is_vtep_mac, vtep_mac
from kernel_sync import rtnl

PROTO, TABLE = 179, 254


def v4_key(draw_plen, addr_int):
    plen = draw_plen
    n = (addr_int >> (32 - plen) << (32 - plen)) if plen else 0
    return bytes((plen,)) + n.to_bytes(4, "big")[:(plen + 7) >> 3]


def v6_key(plen, addr_int):
    n = (addr_int >> (128 - plen) << (128 - plen)) if plen else 0
    return bytes((plen,)) + n.to_bytes(16, "big")[:(plen + 7) >> 3]


@st.composite
def routes(draw):
    afi = draw(st.sampled_from([1, 2]))
    bits = 32 if afi == 1 else 128
    plen = draw(st.integers(0, bits))
    key = (v4_key if afi == 1 else v6_key)(plen, draw(st.integers(0, 2 ** bits - 1)))
    alen = bits // 8
    gw = st.binary(min_size=alen, max_size=alen)
    hop = st.builds(Nexthop, gw, st.integers(1, 5000), st.booleans())
    kind = draw(st.sampled_from(["one", "ecmp", "blackhole", "unreachable", "prohibit"]))
    if kind == "one":
        value = KRoute(1, (draw(hop),))
    elif kind == "ecmp":
        hops = draw(st.lists(hop, min_size=2, max_size=6, unique_by=lambda h: h))
        value = KRoute(1, rtnl.canonical_hops(hops))
    else:
        value = KRoute({"blackhole": 6, "unreachable": 7, "prohibit": 8}[kind])
    if len(value.nexthops) < 2 and kind == "ecmp":
        value = KRoute(1, value.nexthops)
    metric = draw(st.integers(0, 2 ** 32 - 1))
    return afi, key, metric, value


@settings(max_examples=400, deadline=None)
@given(routes(), st.booleans())
def test_route_request_parses_back(route, replace):
    afi, key, metric, value = route
    enc = rtnl.RouteEncoder(PROTO, TABLE)
    msg = enc.new(afi, key, metric, value, 7, replace)
    length, mtype, flags, seq, _pid = rtnl.NLMSGHDR.unpack_from(msg, 0)
    assert length == len(msg) and mtype == rtnl.RTM_NEWROUTE and seq == 7
    assert flags & (rtnl.NLM_F_REPLACE if replace else rtnl.NLM_F_EXCL)
    assert rtnl.parse_route(msg, 16, len(msg)) == (afi, key, TABLE, metric, PROTO, value, 0,
                                                   rtnl.parse_route(msg, 16, len(msg))[7])


def test_large_table_numbers_go_in_rta_table():
    enc = rtnl.RouteEncoder(PROTO, 100000)
    msg = enc.new(1, b"\x18\x0a\x00\x01", 0, KRoute(6), 1, False)
    assert msg[16 + 4] == rtnl.RT_TABLE_COMPAT
    assert rtnl.parse_route(msg, 16, len(msg))[2] == 100000


def test_delete_names_our_protocol_and_any_type():
    msg = rtnl.RouteEncoder(PROTO, TABLE).delete(1, b"\x18\x0a\x00\x01", 5, 9)
    fam, dlen, _s, _t, table, proto, scope, rtype, _f = rtnl.RTMSG.unpack_from(msg, 16)
    assert (proto, scope, rtype, dlen) == (PROTO, rtnl.RT_SCOPE_NOWHERE, 0, 24)


def kernel_v4_message(key, table, metric, proto, value) -> bytes:
    """An IPv4 route as the kernel dumps it: RTA_TABLE, RTA_DST first."""
    rtype, scope, flags, tail = rtnl.route_value_parts(1, value)
    dst = key[1:] + bytes(4 - len(key) + 1)
    body = rtnl.RTMSG.pack(rtnl.AF_INET, key[0], 0, 0, min(table, 252), proto, scope, rtype, flags)
    body += rtnl.attr_u32(rtnl.RTA_TABLE, table) + rtnl.attr(rtnl.RTA_DST, dst)
    if metric:
        body += rtnl.attr_u32(rtnl.RTA_PRIORITY, metric)
    return rtnl.message(rtnl.RTM_NEWROUTE, 0, 0, body + tail)


@settings(max_examples=300, deadline=None)
@given(routes(), st.integers(1, 300), st.integers(0, 255))
def test_reader_agrees_with_the_full_parser(route, table, proto):
    afi, key, metric, value = route
    if afi != 1:
        key, value = b"\x18\x0a\x00\x01", KRoute(6)
    reader = rtnl.RouteReader()
    for _ in range(2):                                  # miss, then hit
        msg = kernel_v4_message(key, table, metric, proto, value)
        assert reader.parse(msg, 16, len(msg)) == rtnl.parse_route(msg, 16, len(msg))


def test_reader_shares_values_between_routes():
    intern = {}
    reader = rtnl.RouteReader(intern)
    value = KRoute(1, (Nexthop(b"\x0a\x00\x00\x01", 3),))
    a = kernel_v4_message(b"\x20\x01\x02\x03\x04", 254, 0, 179, value)
    b = kernel_v4_message(b"\x20\x01\x02\x03\x05", 254, 0, 179, value)
    ra, rb = reader.parse(a, 16, len(a)), reader.parse(b, 16, len(b))
    assert ra[5] is rb[5] and ra[1] != rb[1]
    assert ra[1] == b"\x20\x01\x02\x03\x04"


def test_parse_error_with_extended_ack():
    request = rtnl.message(rtnl.RTM_NEWROUTE, 0, 42, b"")
    tlv = rtnl.attr(rtnl.NLMSGERR_ATTR_MSG, b"Nexthop has invalid gateway\0")
    body = struct.pack("=i", -101) + request[:16] + tlv
    msg = rtnl.NLMSGHDR.pack(16 + len(body), rtnl.NLMSG_ERROR,
                             rtnl.NLM_F_CAPPED | rtnl.NLM_F_ACK_TLVS, 42, 0) + body
    [(mtype, _f, _s, start, end)] = list(rtnl.messages(msg, len(msg)))
    assert rtnl.parse_error(msg, start, end) == (101, 42, "Nexthop has invalid gateway")


def test_vtep_mac_rule():
    assert vtep_mac(bytes([192, 168, 17, 101])) == bytes.fromhex("0ebdc0a81165")
    v6 = vtep_mac(bytes.fromhex("fd000017" + "00" * 11 + "05"))
    assert v6[:2] == b"\x0e\xbe" and len(v6) == 6
    for mac in (vtep_mac(bytes(4)), v6):
        assert mac[0] & 1 == 0 and mac[0] & 2          # unicast, locally administered
        assert is_vtep_mac(mac)
    assert not is_vtep_mac(bytes.fromhex("0242ac110002"))
