"""Known byte vectors, written out from the RFC formats (and two OPENs
captured from BIRD), decoded and, where the codec writes the same
message, encoded back to the same octets."""

from __future__ import annotations

import pytest

from wire import (IPV4_UNICAST, IPV6_UNICAST, KEEPALIVE, Action, Notification, Open,
                  RouteRefresh, UpdateCodec, decode_message, encode, end_of_rib,
                  make_attributes)
from wire.capabilities import (EnhancedRouteRefresh, FourOctetAS, GracefulRestart,
                               LongLivedGracefulRestart, Multiprotocol, RouteRefresh as RRCap)

from wire_strategies import (AS_PATH_65001, MANDATORY, NEXT_HOP_1, ORIGIN_IGP, attr, ip4, message,
                             prefix, seg, update)

M = "ff" * 16


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH -------------------------------------

def test_keepalive():
    data = h(M + "0013 04")
    assert decode_message(data) is KEEPALIVE
    assert encode(KEEPALIVE) == data


def test_notification_hold_timer_expired():
    data = h(M + "0015 03 04 00")
    assert decode_message(data) == Notification(4, 0)
    assert encode(Notification(4, 0)) == data


@pytest.mark.parametrize("text, subcode", [
    ("Shutdown for maintenance", 2),
    ("Rebooting into a new image", 4),
    ("Wartung \u2013 bis 18:00 zur\u00fcck \U0001F527", 2),
])
def test_rfc9003_shutdown_communication(text, subcode):
    """RFC 9003 section 2: Cease, Administrative Shutdown (2) or Reset (4),
    data = Length (1 octet) + UTF-8 Shutdown Communication."""
    raw = text.encode("utf-8")
    data = h(M) + (21 + 1 + len(raw)).to_bytes(2, "big") + bytes([3, 6, subcode, len(raw)]) + raw
    m = decode_message(data)
    assert m.shutdown_message == text
    assert encode(Notification.shutdown(text, subcode)) == data


def test_rfc9003_shutdown_communication_is_cut_on_a_character():
    m = Notification.shutdown("\u00e9" * 200)          # 400 octets of UTF-8
    assert m.data[0] == 254 and m.shutdown_message == "\u00e9" * 127


@pytest.mark.parametrize("hexbody, afi, safi, subtype", [
    ("0001 00 01", 1, 1, 0),    # RFC 2918 route refresh, IPv4 unicast
    ("0002 01 01", 2, 1, 1),    # RFC 7313 BoRR, IPv6 unicast
    ("0001 02 01", 1, 1, 2),    # RFC 7313 EoRR, IPv4 unicast
])
def test_route_refresh_borr_eorr(hexbody, afi, safi, subtype):
    """RFC 7313 section 3: AFI (2), Message Subtype (1), SAFI (1)."""
    data = h(M + "0017 05" + hexbody)
    assert decode_message(data) == RouteRefresh(afi, safi, subtype)
    assert encode(RouteRefresh(afi, safi, subtype)) == data


# --- OPEN ---------------------------------------------------------------------------

BIRD2_OPEN = h(M + "003b 01 04 fde9 00f0 c0000201 1e 02 1c"
               "01 04 0001 00 01"        # multiprotocol IPv4 unicast
               "01 04 0002 00 01"        # multiprotocol IPv6 unicast
               "02 00"                   # route refresh
               "40 02 0078"              # graceful restart, 120 s, no families
               "41 04 0000fde9"          # 4-octet AS 65001
               "46 00"                   # enhanced route refresh
               "47 00")                  # long-lived graceful restart, no families
BIRD16_OPEN = h(M + "0035 01 04 fde9 00f0 c0000201 18 02 16"
                "01 04 0001 00 01 02 00 40 02 0000 41 04 0000fde9 46 00 47 00")


def test_open_as_bird2_sends_it():
    """Captured from BIRD 2.0.12 (`local as 65001`, router id 192.0.2.1,
    IPv4 and IPv6 channels, defaults otherwise)."""
    m = decode_message(BIRD2_OPEN)
    assert m == Open(4, 65001, 240, 0xC0000201, (
        Multiprotocol(1, 1), Multiprotocol(2, 1), RRCap(), GracefulRestart(120),
        FourOctetAS(65001), EnhancedRouteRefresh(), LongLivedGracefulRestart()))
    assert m.asn == 65001
    assert encode(m) == BIRD2_OPEN


def test_open_as_bird16_sends_it():
    m = decode_message(BIRD16_OPEN)
    assert m.capabilities == (Multiprotocol(1, 1), RRCap(), GracefulRestart(0),
                              FourOctetAS(65001), EnhancedRouteRefresh(),
                              LongLivedGracefulRestart())
    assert encode(m) == BIRD16_OPEN


def test_open_with_four_octet_as_and_as_trans():
    # RFC 6793 section 3: My AS is AS_TRANS, the capability has the real AS.
    data = h(M + "0025 01 04 5ba0 005a 0a000001 08 02 06 41 04 fa56ea00")
    m = decode_message(data)
    assert (m.my_as, m.asn) == (23456, 4200000000)
    assert encode(Open.build(4200000000, 90, 0x0A000001)) == data


def test_open_rfc9072_extended_parameters():
    """RFC 9072 section 2: Non-Ext OP Len = 255, Non-Ext OP Type = 255,
    Extended Opt. Parm. Length (2 octets), then parameters with 2-octet
    lengths."""
    caps = b"".join(bytes([200 + i, 100]) + bytes([i]) * 100 for i in range(3))   # 306 octets
    params = b"\x02" + len(caps).to_bytes(2, "big") + caps
    body = h("04 fde9 00b4 0a000001 ff ff") + len(params).to_bytes(2, "big") + params
    m = decode_message(message(1, body))
    assert [c.code for c in m.capabilities] == [200, 201, 202]
    assert m.capabilities[2].value == b"\x02" * 100
    assert encode(m) == message(1, body)


def test_open_without_optional_parameters():
    data = h(M + "001d 01 04 fde9 0000 0a000001 00")
    m = decode_message(data)
    assert (m.hold_time, m.capabilities) == (0, ())
    assert encode(m) == data


# --- UPDATE ---------------------------------------------------------------------------

def test_readme_withdrawal():
    u = decode_message(h("ffffffffffffffffffffffffffffffff0019020002080b0000"))
    assert u.withdrawn == [b"\x08\x0b"] and u.attrs is None and not u.nlri


def test_ipv4_announcement():
    """ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1, NLRI 10.245.0.64/26
    (the pod block of the seed article)."""
    data = update(attrs=MANDATORY, nlri=h("1a 0af50040"))
    assert data == h(M + "0030 02 0000 0014 40 01 01 00 40 02 06 02 01 0000fde9"
                     "40 03 04 c0000201 1a 0af50040")
    u = decode_message(data)
    assert u.nlri == [prefix("10.245.0.64/26")]
    a = u.attrs
    assert (a.origin, a.as_path, a.next_hop) == (0, ((2, (65001,)),), ip4("192.0.2.1"))
    codec = UpdateCodec()
    assert codec.encode(a, u.nlri) == [data]
    made = make_attributes(origin=0, as_path=((2, (65001,)),), next_hop=ip4("192.0.2.1"))
    assert made.raw == MANDATORY


def test_ipv6_announcement_with_link_local_next_hop():
    """RFC 4760 section 3 / RFC 2545: next hop length 32 = global + link-local."""
    nh = h("20010db8 00000000 00000000 00000001 fe800000 00000000 00000000 00000001")
    mp = h("0002 01 20") + nh + h("00 30 20010db80001")
    data = update(attrs=attr(0x90, 14, mp) + ORIGIN_IGP + AS_PATH_65001)
    u = decode_message(data)
    assert u.mp_reach.family == IPV6_UNICAST
    assert u.mp_reach.next_hop == nh
    assert u.mp_reach.nlri == [prefix("2001:db8:1::/48")]
    assert u.attrs.raw == ORIGIN_IGP + AS_PATH_65001
    codec = UpdateCodec()
    again = codec.encode(u.attrs, u.mp_reach.nlri, (), IPV6_UNICAST, nh)
    assert decode_message(again[0]).mp_reach.nlri == u.mp_reach.nlri


def test_add_path_ipv4():
    """RFC 7911 section 3: a 4-octet Path Identifier before each prefix."""
    nlri = h("00000001 18 0a0001  00000002 18 0a0001")
    codec = UpdateCodec(add_path_rx={IPV4_UNICAST})
    u = codec.decode(h("0000 0014") + MANDATORY + nlri)
    assert u.nlri == [(1, prefix("10.0.1.0/24")), (2, prefix("10.0.1.0/24"))]


def test_end_of_rib_markers():
    """RFC 4724 section 2: IPv4 unicast = an UPDATE with no withdrawn routes
    and no path attributes (23 octets); other families = an UPDATE with only
    an empty MP_UNREACH_NLRI for the AFI/SAFI."""
    v4 = h(M + "0017 02 0000 0000")
    v6 = h(M + "001d 02 0000 0006 800f03 0002 01")
    assert end_of_rib() == v4 and end_of_rib(*IPV4_UNICAST) == v4
    assert end_of_rib(*IPV6_UNICAST) == v6
    assert decode_message(v4).end_of_rib == IPV4_UNICAST
    assert decode_message(v6).end_of_rib == IPV6_UNICAST
    # A marker with the extended-length flag set is the same marker.
    assert decode_message(update(attrs=h("900f 0003 0002 01"))).end_of_rib == IPV6_UNICAST


# --- RFC 6793 section 4.2.3: AS4_PATH reconstruction -------------------------------

AS4_BIG = 4200000000
AGG_IP = ip4("192.0.2.9")


def as2_update(*attrs: bytes) -> bytes:
    """An UPDATE from a 2-octet speaker (ORIGIN, NEXT_HOP, then ``attrs``)."""
    return update(attrs=ORIGIN_IGP + NEXT_HOP_1 + b"".join(attrs), nlri=h("08 0a"))


def as_path2(*segments) -> bytes:
    return attr(0x40, 2, b"".join(seg(t, a, 2) for t, a in segments))


def as4_path(*segments) -> bytes:
    return attr(0xC0, 17, b"".join(seg(t, a, 4) for t, a in segments))


def agg2(asn: int) -> bytes:
    return attr(0xC0, 7, asn.to_bytes(2, "big") + AGG_IP)


def as4_agg(asn: int) -> bytes:
    return attr(0xC0, 18, asn.to_bytes(4, "big") + AGG_IP)


AS2 = UpdateCodec(four_octet=False)

RFC6793_CASES = [
    # (name, attributes after ORIGIN/NEXT_HOP, expected path, expected aggregator)
    ("AS4_PATH covers the tail",
     [as_path2((2, [100, 23456, 200])), as4_path((2, [AS4_BIG, 200]))],
     ((2, (100, AS4_BIG, 200)),), None),
    ("same length: AS4_PATH is the path",
     [as_path2((2, [23456, 23456])), as4_path((2, [AS4_BIG, AS4_BIG + 1]))],
     ((2, (AS4_BIG, AS4_BIG + 1)),), None),
    ("AS4_PATH longer than AS_PATH: ignored",
     [as_path2((2, [23456])), as4_path((2, [AS4_BIG, 300]))],
     ((2, (23456,)),), None),
    ("an AS_SET counts as one",
     [as_path2((2, [1, 2]), (1, [23456, 3])), as4_path((1, [AS4_BIG, 3]))],
     ((2, (1, 2)), (1, (AS4_BIG, 3))), None),
    ("a leading AS_SET of the AS_PATH is kept whole",
     [as_path2((1, [1, 2]), (2, [23456])), as4_path((2, [AS4_BIG]))],
     ((1, (1, 2)), (2, (AS4_BIG,))), None),
    ("a leading confederation segment is kept and not counted",
     [as_path2((3, [65010]), (2, [23456, 5])), as4_path((2, [AS4_BIG, 5]))],
     ((3, (65010,)), (2, (AS4_BIG, 5))), None),
    ("confederation segments in AS4_PATH are left out",
     [as_path2((2, [23456, 5])), as4_path((3, [65010]), (2, [AS4_BIG, 5]))],
     ((2, (AS4_BIG, 5)),), None),
    ("AGGREGATOR AS_TRANS: AS4_AGGREGATOR is the aggregator, path rebuilt",
     [as_path2((2, [7, 23456])), agg2(23456), as4_path((2, [AS4_BIG])), as4_agg(AS4_BIG)],
     ((2, (7, AS4_BIG)),), (AS4_BIG, AGG_IP)),
    ("AGGREGATOR not AS_TRANS with AS4_AGGREGATOR: every AS4_ attribute ignored",
     [as_path2((2, [7, 23456])), agg2(64999), as4_path((2, [AS4_BIG])), as4_agg(AS4_BIG)],
     ((2, (7, 23456)),), (64999, AGG_IP)),
    ("AGGREGATOR not AS_TRANS and no AS4_AGGREGATOR: AS4_PATH still used",
     [as_path2((2, [7, 23456])), agg2(64999), as4_path((2, [AS4_BIG]))],
     ((2, (7, AS4_BIG)),), (64999, AGG_IP)),
    ("AS4_AGGREGATOR without AGGREGATOR is ignored",
     [as_path2((2, [7])), as4_agg(AS4_BIG)],
     ((2, (7,)),), None),
    ("malformed AS4_PATH is discarded, AS_PATH kept",
     [as_path2((2, [7, 23456])), attr(0xC0, 17, h("02 02 00000001"))],
     ((2, (7, 23456)),), None),
]


@pytest.mark.parametrize("attrs, path, aggregator",
                         [c[1:] for c in RFC6793_CASES], ids=[c[0] for c in RFC6793_CASES])
def test_rfc6793_as4_path_reconstruction(attrs, path, aggregator):
    u = decode_message(as2_update(*attrs), AS2)
    assert u.attrs.as_path == path
    assert u.attrs.aggregator == aggregator
    assert u.action in (Action.NONE, Action.ATTRIBUTE_DISCARD)
    assert u.nlri == [b"\x08\x0a"]


def test_as4_attributes_from_a_four_octet_speaker_are_ignored():
    """RFC 6793 section 3: between NEW speakers AS4_PATH/AS4_AGGREGATOR are
    not expected and are discarded."""
    u = decode_message(update(attrs=MANDATORY + as4_path((2, [1])), nlri=h("08 0a")))
    assert u.attrs.as_path == ((2, (65001,)),)
    assert u.action == Action.ATTRIBUTE_DISCARD
    assert [p.type_code for p in u.problems] == [17]
    assert 17 not in u.attrs.wire()[1::3]        # not sent on


def test_two_octet_encoding_vector():
    a = make_attributes(origin=0, as_path=((2, (65001, AS4_BIG)),), next_hop=ip4("192.0.2.1"),
                        aggregator=(AS4_BIG, AGG_IP))
    assert a.wire(False) == (ORIGIN_IGP + as_path2((2, [65001, 23456])) + NEXT_HOP_1
                             + agg2(23456) + as4_path((2, [65001, AS4_BIG]))
                             + as4_agg(AS4_BIG))
