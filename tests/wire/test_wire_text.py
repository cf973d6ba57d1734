"""The text helpers: communities (RFC 1997, 4360, 8092), prefixes, AS path
helpers, and the JSON views of wire/show.py."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wire import AFI, KEEPALIVE, Notification, Open, RouteRefresh, UpdateCodec, make_attributes
from wire import aspath, communities as comm, nlri
from wire.capabilities import AddPath, Multiprotocol
from wire.constants import WELL_KNOWN_COMMUNITIES, family_name
from wire.show import show

from wire_strategies import PROPERTY, U32, U64, as_paths, canonical, ipv4_keys, ipv6_keys


# --- communities -----------------------------------------------------------------

@PROPERTY
@given(U32)
@example(0xFFFFFF01)
@example(0xFFFF029A)
def test_community_text_round_trip(value):
    text = comm.community_text(value)
    assert comm.parse_community(text) == value
    assert comm.parse_community(f"  {text.lower()} ") == value


def test_well_known_communities_by_name():
    for value, name in WELL_KNOWN_COMMUNITIES.items():
        assert comm.community_text(value) == name
        assert comm.parse_community(name.lower()) == value
    assert comm.community_text(65001 << 16 | 100) == "65001:100"


@pytest.mark.parametrize("text", ["65536:1", "1:65536", "-1:5", "12345", "no_such_name", "a:b"])
def test_bad_communities_are_refused(text):
    with pytest.raises(ValueError):
        comm.parse_community(text)


@PROPERTY
@given(st.tuples(U32, U32, U32))
def test_large_community_text_round_trip(value):
    text = comm.large_community_text(value)
    assert text == "%d:%d:%d" % value
    assert comm.parse_large_community(text) == value


@pytest.mark.parametrize("text", ["1:2", "1:2:3:4", "4294967296:0:0", "1:-2:3"])
def test_bad_large_communities_are_refused(text):
    with pytest.raises(ValueError):
        comm.parse_large_community(text)


def _canonical_ext(value: int) -> bool:
    """Values whose text names them exactly: transitive, and for the
    4-octet-AS form an AS that does not fit 2 octets (a smaller one reads
    back as the 2-octet-AS form, as operators write it)."""
    raw = value.to_bytes(8, "big")
    name = comm._EXT_SUBTYPES.get(raw[1])
    if raw[0] & 0xBF == 0x03 and raw[1] == 0x0C:
        return raw[0] == 0x03 and raw[2:6] == bytes(4)
    if name is None or raw[0] & 0xBF not in (0x00, 0x01, 0x02):
        return True                     # shown as 0x-hex
    if raw[0] & 0x40:
        return False                    # the non-transitive bit is not named
    if raw[0] == 0x02:
        return int.from_bytes(raw[2:6], "big") > 0xFFFF
    return True


ext_values = st.one_of(
    U64,
    st.builds(lambda t, s, rest: (t << 56) | (s << 48) | rest,
              st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x40, 0x41, 0x42, 0x43]),
              st.sampled_from([0x02, 0x03, 0x05, 0x08, 0x0B, 0x0C, 0x99]),
              st.integers(0, 2**48 - 1)))


@PROPERTY
@given(ext_values)
@example(0x0002FDE900000064)      # rt:65001:100
@example(0x0103C000020100FF)      # soo:192.0.2.1:255
@example(0x0202FA56EA000007)      # rt:4200000000:7
@example(0x030C000000000008)      # encap:8 (VXLAN)
def test_ext_community_text_round_trip(value):
    text = comm.ext_community_text(value)
    back = comm.parse_ext_community(text)
    # the text of what was read back is the text we wrote
    assert comm.ext_community_text(back) == text
    if _canonical_ext(value):
        assert back == value


def test_ext_community_texts():
    assert comm.ext_community_text(0x0002FDE900000064) == "rt:65001:100"
    assert comm.ext_community_text(0x0103C000020100FF) == "soo:192.0.2.1:255"
    assert comm.ext_community_text(0x0202FA56EA000007) == "rt:4200000000:7"
    assert comm.ext_community_text(0x030C000000000008) == "encap:8"
    assert comm.ext_community_text(0x0602000000000001) == "0x0602000000000001"
    assert comm.parse_ext_community("RT:65001:100") == 0x0002FDE900000064
    assert comm.parse_ext_community("0x0602000000000001") == 0x0602000000000001


@pytest.mark.parametrize("text", ["rt:1", "xx:1:2", "0x1" + "0" * 16, "rt:1.2.3.4:70000",
                                  "rt:70000:70000", "encap:65536", "rt:4294967296:1",
                                  "rt:1:-5", "rt:-1:5"])
def test_bad_ext_communities_are_refused(text):
    with pytest.raises(ValueError):
        comm.parse_ext_community(text)


@PROPERTY
@given(st.lists(U32, max_size=8), st.lists(U64, max_size=8),
       st.lists(st.tuples(U32, U32, U32), max_size=5))
def test_community_value_codecs(std, ext, large):
    assert comm.decode_communities(comm.encode_communities(std)) == tuple(std)
    assert comm.decode_ext_communities(comm.encode_ext_communities(ext)) == tuple(ext)
    assert comm.decode_large_communities(comm.encode_large_communities(large)) == tuple(large)


# --- prefixes ---------------------------------------------------------------------

@PROPERTY
@given(st.one_of(st.tuples(st.just(AFI.IPV4), ipv4_keys), st.tuples(st.just(AFI.IPV6), ipv6_keys)))
def test_prefix_text_round_trip(item):
    afi, key = item
    text = nlri.to_text(afi, key)
    assert nlri.parse(text) == (afi, key)
    net = ipaddress.ip_network(text)
    assert nlri.to_network(afi, key) == net
    assert nlri.from_network(net) == key
    assert nlri.key_len(key) == net.prefixlen


@PROPERTY
@given(st.integers(0, 32), U32, st.booleans(), U32)
def test_split_clears_host_bits(plen, addr, add_path, path_id):
    """One prefix, one key: bits past the prefix length are cleared."""
    raw = addr.to_bytes(4, "big")[:(plen + 7) // 8]
    data = bytes([plen]) + raw
    net = ipaddress.ip_network((addr, plen), strict=False)
    if add_path:
        assert nlri.split_add_path(path_id.to_bytes(4, "big") + data) == \
            [(path_id, nlri.from_network(net))]
    else:
        assert nlri.split(data) == [nlri.from_network(net)]
    assert nlri.to_text(AFI.IPV4, nlri.split(data)[0]) == str(net)


@PROPERTY
@given(st.integers(0, 128), st.integers(0, 2**128 - 1))
def test_split_clears_host_bits_ipv6(plen, addr):
    data = bytes([plen]) + addr.to_bytes(16, "big")[:(plen + 7) // 8]
    net = ipaddress.IPv6Network((addr, plen), strict=False)
    assert nlri.split(data, 128) == [nlri.from_network(net)]
    assert nlri.to_text(AFI.IPV6, nlri.split(data, 128)[0]) == str(net)


@PROPERTY
@given(st.lists(st.tuples(U32, ipv4_keys), max_size=10))
def test_add_path_encoding_round_trip(items):
    assert nlri.split_add_path(nlri.encode_add_path(items)) == items


def test_parse_refuses_host_bits():
    with pytest.raises(ValueError):
        nlri.parse("10.0.0.1/24")
    assert nlri.parse(" 10.245.0.64/26 ") == (AFI.IPV4, bytes([26, 10, 245, 0, 64]))
    assert nlri.parse("2001:db8::/32") == (AFI.IPV6, bytes([32, 0x20, 0x01, 0x0d, 0xb8]))
    assert nlri.to_text(AFI.IPV4, b"\x00") == "0.0.0.0/0"


def test_next_hop_text():
    assert nlri.next_hop_text(bytes([192, 0, 2, 1])) == ["192.0.2.1"]
    six = ipaddress.ip_address("2001:db8::1").packed
    ll = ipaddress.ip_address("fe80::1").packed
    assert nlri.next_hop_text(six) == ["2001:db8::1"]
    assert nlri.next_hop_text(six + ll) == ["2001:db8::1", "fe80::1"]
    assert nlri.next_hop_text(bytes(24)) == ["00" * 24]
    assert nlri.next_hop_text(b"\x01\x02") == ["0102"]
    assert nlri.address_text(bytes(4)) == "0.0.0.0"


# --- AS path helpers ----------------------------------------------------------------

def test_path_length_and_neighbours():
    path = ((3, (65001,)), (2, (1, 2)), (1, (3, 4)), (2, (5,)))
    assert aspath.path_length(path) == 4
    assert aspath.first_as(path) == 1
    assert aspath.origin_as(path) == 5
    assert aspath.first_as(((1, (7, 8)),)) is None
    assert aspath.first_as(()) is None
    assert aspath.origin_as(((1, (7,)),)) is None
    assert aspath.contains(path, 3) == 1 and aspath.contains(path, 9) == 0
    assert aspath.format_path(path + ((4, (65002, 65003)),)) == \
        "(65001) 1 2 {3 4} 5 [65002 65003]"
    assert aspath.without_confed(path) == path[1:]


@PROPERTY
@given(as_paths, U32, st.integers(1, 300))
def test_prepend(path, asn, count):
    out = aspath.prepend(path, asn, count)
    assert aspath.path_length(out) == aspath.path_length(path) + count
    assert aspath.first_as(out) == asn
    # segments longer than 255 ASNs are cut when encoded
    back = aspath.decode_as_path(aspath.encode_as_path(out, True), True)
    assert canonical(back) == canonical(out)
    flat = [x for _t, s in out for x in s]
    assert flat == [asn] * count + [x for _t, s in path for x in s]


# --- JSON views ------------------------------------------------------------------------

def test_show_messages():
    assert show(KEEPALIVE) == {"type": "KEEPALIVE"}
    assert show(RouteRefresh(2, 1, 1)) == {"type": "ROUTE_REFRESH", "family": "ipv6-unicast",
                                           "subtype": "BoRR"}
    assert show(RouteRefresh(1, 1, 9))["subtype"] == 9
    n = show(Notification.shutdown("bye"))
    assert n["shutdown_communication"] == "bye" and n["error"] == "Cease"
    o = show(Open.build(4200000000, 90, 0x0A000001, [Multiprotocol(1, 1), AddPath(((1, 1, 3),))]))
    assert o["asn"] == 4200000000 and o["my_as"] == 23456 and o["bgp_id"] == "10.0.0.1"
    assert [c["name"] for c in o["capabilities"]] == ["multiprotocol", "add-path",
                                                      "four-octet-as"]
    assert family_name(9, 9) == "afi9-safi9"


def test_show_update():
    codec = UpdateCodec(add_path_rx={(2, 1)}, add_path_tx={(2, 1)})
    a = make_attributes(origin=0, as_path=((2, (65001, 4200000000)), (1, (1, 2))),
                        next_hop=bytes([192, 0, 2, 1]), med=5, local_pref=100,
                        communities=(0xFFFFFF01, 65001 << 16 | 7), atomic_aggregate=True,
                        aggregator=(65001, bytes([192, 0, 2, 9])), originator_id=0x0A000001,
                        cluster_list=(0x0A000002,), ext_communities=(0x0002FDE900000064,),
                        large_communities=((65001, 1, 2),), otc=65001,
                        unknown=((0xC0, 250, b"\x01"),))
    u = codec.decode(codec.encode(a, [bytes([24, 10, 0, 1])])[0][19:])
    s = show(u)
    assert s["nlri"] == ["10.0.1.0/24"]
    assert s["attributes"] == {
        "ORIGIN": "IGP",
        "AS_PATH": [{"type": "AS_SEQUENCE", "asns": [65001, 4200000000]},
                    {"type": "AS_SET", "asns": [1, 2]}],
        "NEXT_HOP": "192.0.2.1", "MULTI_EXIT_DISC": 5, "LOCAL_PREF": 100,
        "ATOMIC_AGGREGATE": True, "AGGREGATOR": {"asn": 65001, "address": "192.0.2.9"},
        "COMMUNITIES": ["NO_EXPORT", "65001:7"], "ORIGINATOR_ID": "10.0.0.1",
        "CLUSTER_LIST": ["10.0.0.2"], "EXTENDED_COMMUNITIES": ["rt:65001:100"],
        "LARGE_COMMUNITY": ["65001:1:2"], "OTC": 65001,
        "UNKNOWN_250": {"flags": "0xe0", "value": "01"}}
    v6 = codec.encode(a.replace(next_hop=None), [(7, bytes([32, 0x20, 1, 0xd, 0xb8]))],
                      [(8, bytes([16, 0x20, 2]))], (2, 1), bytes(15) + b"\x01")
    s6 = [show(codec.decode(m[19:])) for m in v6]
    assert s6[0]["attributes"]["MP_UNREACH_NLRI"] == {
        "family": "ipv6-unicast", "withdrawn": [{"path_id": 8, "prefix": "2002::/16"}]}
    assert s6[1]["attributes"]["MP_REACH_NLRI"] == {
        "family": "ipv6-unicast", "next_hop": ["::1"],
        "nlri": [{"path_id": 7, "prefix": "2001:db8::/32"}]}
    assert show(codec.decode(b"\x00\x02\x08\x0b\x00\x00")) == {"type": "UPDATE",
                                                             "withdrawn": ["11.0.0.0/8"]}
    assert show(codec.decode(b"\x00\x00\x00\x00")) == {"type": "UPDATE",
                                                       "end_of_rib": "ipv4-unicast"}
    # families this codec cannot split are shown raw
    from wire_strategies import MANDATORY, attr, update_body
    odd = update_body(attrs=attr(0x80, 14, b"\x00\x19\x46\x04\x01\x02\x03\x04\x00\xab")
                      + attr(0x80, 15, b"\x00\x19\x46\xcd") + MANDATORY[:-7])
    s = show(codec.decode(odd))
    assert s["attributes"]["MP_REACH_NLRI"] == {"family": "afi25-safi70",
                                                "next_hop": ["1.2.3.4"], "nlri_raw": "ab"}
    assert s["attributes"]["MP_UNREACH_NLRI"] == {"family": "afi25-safi70",
                                                  "withdrawn_raw": "cd"}
    bad = show(codec.decode(update_body(attrs=attr(0x40, 1, b"\x07"), nlri=b"\x08\x0a")))
    assert bad["action"] == "treat-as-withdraw"
    assert [p["type_code"] for p in bad["problems"]] == [1, 0]


# --- parsers refuse bad text with ValueError only ------------------------------------

_texty = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.integers(-5, 2**33).map(str), st.sampled_from(
        ["rt", "soo", "encap", "0x", "no_export", "1.2.3.4", "::", "/", "-", "", "x"])),
        max_size=4).map(":".join),
    st.builds(lambda a, b: f"{a}/{b}", st.sampled_from(["10.0.0.0", "2001:db8::", "1.2.3"]),
              st.integers(-1, 200)),
)


@PROPERTY
@given(_texty)
def test_text_parsers_raise_value_error_only(text):
    for parse in (comm.parse_community, comm.parse_large_community,
                  comm.parse_ext_community, nlri.parse):
        try:
            parse(text)
        except ValueError:
            pass
