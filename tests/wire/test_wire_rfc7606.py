"""One row per malformation: what the receiver does (RFC 7606 section 2)
and, when the session resets, the exact NOTIFICATION (code, subcode, data)
of RFC 4271 section 6, RFC 7606, RFC 4760, RFC 7313 and RFC 6793.

Every row is decoded twice, through ``Framer.feed`` + ``decode_body`` (the
session's path) and through ``decode_message``; both must agree.
"""

from __future__ import annotations

import pytest

from wire import Action, Framer, WireError, decode_body, decode_message
from wire.constants import MARKER

from wire_strategies import (AS_PATH_65001, MANDATORY, NEXT_HOP_1, ORIGIN_IGP, attr, ip4,
                             make_codec, message, seg, update)

RESET, DISABLE = "session-reset", "afisafi-disable"
WITHDRAW, DISCARD, NONE = "treat-as-withdraw", "attribute-discard", "none"

NLRI = bytes([24, 10, 0, 1])
OPEN_FIXED = bytes.fromhex("04 fde9 005a 0a000001".replace(" ", ""))
MP_CAP = bytes([2, 6, 1, 4, 0, 1, 0, 1])          # one parameter: multiprotocol IPv4


def open_msg(fixed: bytes = OPEN_FIXED, params: bytes = MP_CAP, opt_len: int | None = None):
    n = len(params) if opt_len is None else opt_len
    return message(1, fixed + bytes([n]) + params)


def caps(*cap_bytes: bytes) -> bytes:
    value = b"".join(cap_bytes)
    return bytes([2, len(value)]) + value


def mp_reach6(nh_len=16, nlri=bytes([32, 0x20, 0x01, 0x0d, 0xb8]), nh=None, afi=2, safi=1):
    nh = bytes(nh_len) if nh is None else nh
    return afi.to_bytes(2, "big") + bytes([safi, nh_len]) + nh + b"\x00" + nlri


def mp(code: int, value: bytes, flags: int = 0x80) -> bytes:
    return attr(flags, code, value)


MP_ATTRS = ORIGIN_IGP + AS_PATH_65001
ATTR_BYTES_99 = attr(0x40, 99, b"\x01\x02")
BAD_MP_FLAGS = mp(14, mp_reach6(), 0xC0)
SECOND_REACH = mp(14, mp_reach6(nlri=b""))
SECOND_UNREACH = mp(15, b"\x00\x02\x01")
SHORT_UNREACH = mp(15, b"\x00\x02")
SHORT_REACH = mp(14, b"\x00\x02")


def ipv4(*attrs: bytes, nlri: bytes = NLRI) -> bytes:
    return update(attrs=b"".join(attrs), nlri=nlri)


# (id, message, codec options, expected outcome)
ROWS = [
    # --- RFC 4271 section 6.1: message header -------------------------------------
    ("marker not all ones", b"\xfe" + MARKER[1:] + b"\x00\x13\x04", {},
     (RESET, 1, 1, b"")),
    ("length below 19", MARKER + b"\x00\x12\x04", {}, (RESET, 1, 2, b"\x00\x12")),
    ("length above 4096", MARKER + b"\x10\x01\x02" + bytes(4078), {},
     (RESET, 1, 2, b"\x10\x01")),
    ("length above 4096 is fine once extended", ipv4(MANDATORY, nlri=NLRI * 1100),
     {"max_size": 65535}, (NONE, ())),
    ("unknown type 6", MARKER + b"\x00\x13\x06", {}, (RESET, 1, 3, b"\x06")),
    ("unknown type 0", MARKER + b"\x00\x17\x00" + bytes(4), {}, (RESET, 1, 3, b"\x00")),
    ("KEEPALIVE of 20 octets", MARKER + b"\x00\x14\x04\x00", {}, (RESET, 1, 2, b"\x00\x14")),
    ("KEEPALIVE above 4096 even when extended", MARKER + b"\x10\x01\x04" + bytes(4078),
     {"max_size": 65535}, (RESET, 1, 2, b"\x10\x01")),
    ("OPEN below its minimum 29", message(1, OPEN_FIXED[:9]), {}, (RESET, 1, 2, b"\x00\x1c")),
    ("OPEN above 4096 even when extended", message(1, OPEN_FIXED + b"\x00" + bytes(4100)),
     {"max_size": 65535}, (RESET, 1, 2, b"\x10\x21")),
    ("UPDATE below its minimum 23", message(2, b"\x00\x00\x00"), {},
     (RESET, 1, 2, b"\x00\x16")),
    ("NOTIFICATION below its minimum 21", message(3, b"\x06"), {}, (RESET, 1, 2, b"\x00\x14")),
    ("ROUTE-REFRESH below its minimum 23", message(5, b"\x00\x01\x00"), {},
     (RESET, 1, 2, b"\x00\x16")),
    # --- RFC 7313 section 5: ROUTE-REFRESH length -------------------------------
    ("BoRR of 24 octets", message(5, b"\x00\x01\x01\x01\x00"), {},
     (RESET, 7, 1, message(5, b"\x00\x01\x01\x01\x00"))),
    ("EoRR of 30 octets", message(5, b"\x00\x02\x02\x01" + bytes(7)), {},
     (RESET, 7, 1, message(5, b"\x00\x02\x02\x01" + bytes(7)))),
    # --- RFC 4271 section 6.2: OPEN --------------------------------------------------
    ("OPEN version 3", open_msg(b"\x03" + OPEN_FIXED[1:]), {}, (RESET, 2, 1, b"\x00\x04")),
    ("hold time 1", open_msg(OPEN_FIXED[:3] + b"\x00\x01" + OPEN_FIXED[5:]), {},
     (RESET, 2, 6, b"")),
    ("hold time 2", open_msg(OPEN_FIXED[:3] + b"\x00\x02" + OPEN_FIXED[5:]), {},
     (RESET, 2, 6, b"")),
    ("BGP identifier 0", open_msg(OPEN_FIXED[:5] + bytes(4)), {}, (RESET, 2, 3, b"")),
    ("unsupported optional parameter (authentication)", open_msg(params=b"\x01\x02\xab\xcd"),
     {}, (RESET, 2, 4, b"")),
    ("optional parameters length too long", open_msg(opt_len=9), {}, (RESET, 2, 0, b"")),
    ("optional parameters length too short", open_msg(opt_len=7), {}, (RESET, 2, 0, b"")),
    ("optional parameter overruns the parameters", open_msg(params=b"\x02\x09" + MP_CAP[2:]),
     {}, (RESET, 2, 0, b"")),
    ("truncated optional parameter header", open_msg(params=MP_CAP + b"\x02"), {},
     (RESET, 2, 0, b"")),
    ("capability overruns its parameter", open_msg(params=caps(b"\x01\x05\x00\x01\x00\x01")),
     {}, (RESET, 2, 0, b"")),
    ("truncated capability header", open_msg(params=caps(b"\x41")), {}, (RESET, 2, 0, b"")),
    ("multiprotocol capability of 3 octets", open_msg(params=caps(b"\x01\x03\x00\x01\x00")),
     {}, (RESET, 2, 0, b"")),
    ("4-octet AS capability of 2 octets", open_msg(params=caps(b"\x41\x02\xfd\xe9")), {},
     (RESET, 2, 0, b"")),
    ("graceful restart capability of 3 octets", open_msg(params=caps(b"\x40\x03\x00\x78\x00")),
     {}, (RESET, 2, 0, b"")),
    ("add-path send/receive 0", open_msg(params=caps(b"\x45\x04\x00\x01\x01\x00")), {},
     (RESET, 2, 0, b"")),
    ("add-path capability of 3 octets", open_msg(params=caps(b"\x45\x03\x00\x01\x01")), {},
     (RESET, 2, 0, b"")),
    ("extended next hop capability of 4 octets",
     open_msg(params=caps(b"\x05\x04\x00\x01\x00\x01")), {}, (RESET, 2, 0, b"")),
    ("role capability of 2 octets", open_msg(params=caps(b"\x09\x02\x00\x01")), {},
     (RESET, 2, 0, b"")),
    ("LLGR capability of 5 octets", open_msg(params=caps(b"\x47\x05" + bytes(5))), {},
     (RESET, 2, 0, b"")),
    ("FQDN capability empty", open_msg(params=caps(b"\x49\x00")), {}, (RESET, 2, 0, b"")),
    ("FQDN hostname overruns", open_msg(params=caps(b"\x49\x02\x05a")), {}, (RESET, 2, 0, b"")),
    ("FQDN domain overruns", open_msg(params=caps(b"\x49\x04\x01a\x05b")), {},
     (RESET, 2, 0, b"")),
    ("RFC 9072 block whose length does not match",
     message(1, OPEN_FIXED + b"\xff\xff\x00\x20" + b"\x02\x00\x04" + MP_CAP[2:6]), {},
     (RESET, 2, 0, b"")),
    ("RFC 9072 truncated extended parameter header",
     message(1, OPEN_FIXED + b"\xff\xff\x00\x02" + b"\x02\x00"), {}, (RESET, 2, 0, b"")),
    # --- RFC 4271 section 6.3 / RFC 7606 section 5: UPDATE fields -----------------
    ("withdrawn routes length overruns the message", message(2, b"\x00\x09" + bytes(5)), {},
     (RESET, 3, 1, b"")),
    ("total attribute length overruns the message", message(2, b"\x00\x00\x00\x09" + bytes(5)),
     {}, (RESET, 3, 1, b"")),
    ("NLRI prefix length 33", ipv4(MANDATORY, nlri=b"\x21" + bytes(5)), {}, (RESET, 3, 10, b"")),
    ("NLRI prefix overruns the message", ipv4(MANDATORY, nlri=b"\x18\x0a\x00"), {},
     (RESET, 3, 10, b"")),
    ("withdrawn prefix length 33", update(withdrawn=b"\x21" + bytes(5)), {},
     (RESET, 3, 10, b"")),
    ("withdrawn prefix overruns its field", update(withdrawn=b"\x10\x0a"), {},
     (RESET, 3, 10, b"")),
    ("add-path NLRI without its prefix", ipv4(MANDATORY, nlri=b"\x00\x00\x00\x01"),
     {"add_path": True}, (RESET, 3, 10, b"")),
    ("add-path NLRI prefix length 40", ipv4(MANDATORY, nlri=b"\x00\x00\x00\x01\x28" + bytes(5)),
     {"add_path": True}, (RESET, 3, 10, b"")),
    ("add-path NLRI prefix overruns", ipv4(MANDATORY, nlri=b"\x00\x00\x00\x01\x18\x0a"),
     {"add_path": True}, (RESET, 3, 10, b"")),
    ("unrecognized well-known attribute", ipv4(MANDATORY, ATTR_BYTES_99), {},
     (RESET, 3, 2, ATTR_BYTES_99)),
    ("MP_REACH_NLRI twice", update(attrs=MP_ATTRS + mp(14, mp_reach6()) + SECOND_REACH), {},
     (RESET, 3, 1, SECOND_REACH)),
    ("MP_UNREACH_NLRI twice", update(attrs=SECOND_UNREACH + SECOND_UNREACH), {},
     (RESET, 3, 1, SECOND_UNREACH)),
    ("MP_REACH_NLRI flagged transitive", update(attrs=MP_ATTRS + BAD_MP_FLAGS), {},
     (RESET, 3, 4, BAD_MP_FLAGS)),
    ("MP_UNREACH_NLRI without AFI/SAFI", update(attrs=SHORT_UNREACH), {},
     (RESET, 3, 9, SHORT_UNREACH)),
    ("MP_REACH_NLRI without AFI/SAFI", update(attrs=MP_ATTRS + SHORT_REACH), {},
     (RESET, 3, 9, SHORT_REACH)),
    # --- RFC 7606 section 7.11 / RFC 4760 section 7: AFI/SAFI disable ------------
    ("MP_REACH_NLRI IPv6 next hop of 4 octets", update(attrs=MP_ATTRS + mp(14, mp_reach6(4))),
     {}, (DISABLE, (2, 1), 3, 9, mp(14, mp_reach6(4)))),
    ("MP_REACH_NLRI IPv4 next hop of 5 octets",
     update(attrs=MP_ATTRS + mp(14, mp_reach6(5, b"\x08\x0a", afi=1))), {},
     (DISABLE, (1, 1), 3, 9, mp(14, mp_reach6(5, b"\x08\x0a", afi=1)))),
    ("MP_REACH_NLRI cut after the next hop length",
     update(attrs=MP_ATTRS + mp(14, b"\x00\x02\x01\x10")), {},
     (DISABLE, (2, 1), 3, 9, mp(14, b"\x00\x02\x01\x10"))),
    ("MP_REACH_NLRI next hop overruns",
     update(attrs=MP_ATTRS + mp(14, b"\x00\x02\x01\x10" + bytes(8))), {},
     (DISABLE, (2, 1), 3, 9, mp(14, b"\x00\x02\x01\x10" + bytes(8)))),
    ("MP_REACH_NLRI IPv6 prefix length 129",
     update(attrs=MP_ATTRS + mp(14, mp_reach6(nlri=b"\x81" + bytes(17)))), {},
     (DISABLE, (2, 1), 3, 9, mp(14, mp_reach6(nlri=b"\x81" + bytes(17))))),
    ("MP_UNREACH_NLRI IPv6 prefix overruns",
     update(attrs=mp(15, b"\x00\x02\x01\x40\x20\x01")), {},
     (DISABLE, (2, 1), 3, 9, mp(15, b"\x00\x02\x01\x40\x20\x01"))),
    ("MP_UNREACH_NLRI add-path without prefix",
     update(attrs=mp(15, b"\x00\x02\x01\x00\x00\x00\x07")), {"add_path": True},
     (DISABLE, (2, 1), 3, 9, mp(15, b"\x00\x02\x01\x00\x00\x00\x07"))),
    # --- RFC 7606 section 7: treat-as-withdraw ---------------------------------------
    ("ORIGIN value 3", ipv4(attr(0x40, 1, b"\x03"), AS_PATH_65001, NEXT_HOP_1), {},
     (WITHDRAW, (1, 0))),
    ("ORIGIN of 2 octets", ipv4(attr(0x40, 1, b"\x00\x00"), AS_PATH_65001, NEXT_HOP_1), {},
     (WITHDRAW, (1, 0))),
    ("AS_PATH segment type 5", ipv4(ORIGIN_IGP, attr(0x40, 2, seg(5, [1])), NEXT_HOP_1), {},
     (WITHDRAW, (2, 0))),
    ("AS_PATH empty segment", ipv4(ORIGIN_IGP, attr(0x40, 2, b"\x02\x00"), NEXT_HOP_1), {},
     (WITHDRAW, (2, 0))),
    ("AS_PATH segment overruns", ipv4(ORIGIN_IGP, attr(0x40, 2, b"\x02\x02\x00\x00\x00\x01"),
                                      NEXT_HOP_1), {}, (WITHDRAW, (2, 0))),
    ("AS_PATH truncated segment header",
     ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [1]) + b"\x02"), NEXT_HOP_1), {}, (WITHDRAW, (2, 0))),
    ("AS_PATH of 2-octet ASNs on a 4-octet session",
     ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [1, 2, 3], 2)), NEXT_HOP_1), {},
     (WITHDRAW, (2, 0))),
    ("NEXT_HOP of 5 octets", ipv4(ORIGIN_IGP, AS_PATH_65001, attr(0x40, 3, bytes(5))), {},
     (WITHDRAW, (3, 0))),
    ("NEXT_HOP 0.0.0.0", ipv4(ORIGIN_IGP, AS_PATH_65001, attr(0x40, 3, bytes(4))), {},
     (WITHDRAW, (3, 0))),
    ("NEXT_HOP multicast", ipv4(ORIGIN_IGP, AS_PATH_65001, attr(0x40, 3, ip4("224.0.0.5"))), {},
     (WITHDRAW, (3, 0))),
    ("MULTI_EXIT_DISC of 3 octets", ipv4(MANDATORY, attr(0x80, 4, bytes(3))), {},
     (WITHDRAW, (4,))),
    ("LOCAL_PREF of 5 octets", ipv4(MANDATORY, attr(0x40, 5, bytes(5))), {}, (WITHDRAW, (5,))),
    ("COMMUNITIES of 5 octets", ipv4(MANDATORY, attr(0xC0, 8, bytes(5))), {}, (WITHDRAW, (8,))),
    ("COMMUNITIES empty", ipv4(MANDATORY, attr(0xC0, 8, b"")), {}, (WITHDRAW, (8,))),
    ("ORIGINATOR_ID of 3 octets", ipv4(MANDATORY, attr(0x80, 9, bytes(3))), {},
     (WITHDRAW, (9,))),
    ("CLUSTER_LIST of 6 octets", ipv4(MANDATORY, attr(0x80, 10, bytes(6))), {},
     (WITHDRAW, (10,))),
    ("EXTENDED_COMMUNITIES of 12 octets", ipv4(MANDATORY, attr(0xC0, 16, bytes(12))), {},
     (WITHDRAW, (16,))),
    ("LARGE_COMMUNITY of 8 octets", ipv4(MANDATORY, attr(0xC0, 32, bytes(8))), {},
     (WITHDRAW, (32,))),
    ("OTC of 2 octets", ipv4(MANDATORY, attr(0xC0, 35, bytes(2))), {}, (WITHDRAW, (35,))),
    ("ORIGIN flagged optional", ipv4(attr(0xC0, 1, b"\x00"), AS_PATH_65001, NEXT_HOP_1), {},
     (WITHDRAW, (1, 0))),
    ("AS_PATH flagged optional", ipv4(ORIGIN_IGP, attr(0xC0, 2, seg(2, [1])), NEXT_HOP_1), {},
     (WITHDRAW, (2, 0))),
    ("NEXT_HOP flagged non-transitive", ipv4(ORIGIN_IGP, AS_PATH_65001, attr(0x00, 3, bytes(4))),
     {}, (WITHDRAW, (3, 0))),
    ("MULTI_EXIT_DISC flagged well-known", ipv4(MANDATORY, attr(0x40, 4, bytes(4))), {},
     (WITHDRAW, (4,))),
    ("LOCAL_PREF flagged optional", ipv4(MANDATORY, attr(0x80, 5, bytes(4))), {},
     (WITHDRAW, (5,))),
    ("COMMUNITIES flagged non-transitive", ipv4(MANDATORY, attr(0x80, 8, bytes(4))), {},
     (WITHDRAW, (8,))),
    ("ORIGINATOR_ID flagged transitive", ipv4(MANDATORY, attr(0xC0, 9, bytes(4))), {},
     (WITHDRAW, (9,))),
    ("missing ORIGIN", ipv4(AS_PATH_65001, NEXT_HOP_1), {}, (WITHDRAW, (0,))),
    ("missing AS_PATH", ipv4(ORIGIN_IGP, NEXT_HOP_1), {}, (WITHDRAW, (0,))),
    ("missing NEXT_HOP", ipv4(ORIGIN_IGP, AS_PATH_65001), {}, (WITHDRAW, (0,))),
    ("NLRI without any attribute", ipv4(), {}, (WITHDRAW, (0,))),
    ("MP_REACH_NLRI without ORIGIN", update(attrs=AS_PATH_65001 + mp(14, mp_reach6())), {},
     (WITHDRAW, (0,))),
    ("attribute overruns the attribute block", ipv4(MANDATORY, b"\xc0\x08\x08\x00\x00"), {},
     (WITHDRAW, (8,))),
    ("truncated attribute header", ipv4(MANDATORY, b"\xc0\x08"), {}, (WITHDRAW, (0,))),
    ("truncated extended-length attribute header", ipv4(MANDATORY, b"\xd0\x08\x00"), {},
     (WITHDRAW, (8,))),
    # --- RFC 7606 sections 3 g, 7.6, 7.7, RFC 6793 section 6: attribute-discard ----
    ("ATOMIC_AGGREGATE of 1 octet", ipv4(MANDATORY, attr(0x40, 6, b"\x00")), {},
     (DISCARD, (6,))),
    ("AGGREGATOR of 7 octets", ipv4(MANDATORY, attr(0xC0, 7, bytes(7))), {}, (DISCARD, (7,))),
    ("AGGREGATOR of 8 octets on a 2-octet session",
     ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [1], 2)), NEXT_HOP_1, attr(0xC0, 7, bytes(8))),
     {"four_octet": False}, (DISCARD, (7,))),
    ("AS4_PATH malformed", ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [23456], 2)), NEXT_HOP_1,
                                attr(0xC0, 17, b"\x02\x01\x00")),
     {"four_octet": False}, (DISCARD, (17,))),
    ("AS4_PATH flagged non-transitive", ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [23456], 2)),
                                             NEXT_HOP_1, attr(0x80, 17, seg(2, [70000]))),
     {"four_octet": False}, (DISCARD, (17,))),
    ("AS4_AGGREGATOR of 6 octets", ipv4(ORIGIN_IGP, attr(0x40, 2, seg(2, [1], 2)), NEXT_HOP_1,
                                        attr(0xC0, 18, bytes(6))),
     {"four_octet": False}, (DISCARD, (18,))),
    ("AS4_PATH from a 4-octet speaker", ipv4(MANDATORY, attr(0xC0, 17, seg(2, [1]))), {},
     (DISCARD, (17,))),
    ("ORIGIN twice: the first one counts", ipv4(MANDATORY, attr(0x40, 1, b"\x02")), {},
     (DISCARD, (1,))),
    ("COMMUNITIES twice", ipv4(MANDATORY, attr(0xC0, 8, bytes(4)), attr(0xC0, 8, bytes(8))), {},
     (DISCARD, (8,))),
    # --- not malformed -----------------------------------------------------------------
    ("unknown optional non-transitive is dropped", ipv4(MANDATORY, attr(0x80, 99, b"x")), {},
     (NONE, ())),
    ("unknown optional transitive is passed on", ipv4(MANDATORY, attr(0xC0, 99, b"x")), {},
     (NONE, ())),
    ("MP_UNREACH_NLRI needs no other attribute",
     update(attrs=mp(15, b"\x00\x02\x01\x20\x20\x01\x0d\xb8")), {}, (NONE, ())),
    ("hold time 0", open_msg(OPEN_FIXED[:3] + b"\x00\x00" + OPEN_FIXED[5:]), {}, (NONE, ())),
    ("ROUTE-REFRESH subtype 7 is reported", message(5, b"\x00\x01\x07\x01"), {}, (NONE, ())),
    ("unknown capability", open_msg(params=caps(b"\xf0\x02\xab\xcd")), {}, (NONE, ())),
]


def outcome(data: bytes, four_octet=True, add_path=False, max_size=4096):
    codec = make_codec(four_octet, add_path, max_size)
    try:
        frames = Framer(max_size).feed(data)
        assert len(frames) == 1
        msg = decode_body(*frames[0], codec)
    except WireError as e:
        if e.action == Action.AFISAFI_DISABLE:
            return (DISABLE, e.afi_safi, e.code, e.subcode, e.data)
        assert e.action == Action.SESSION_RESET
        assert e.afi_safi is None
        return (RESET, e.code, e.subcode, e.data)
    return (getattr(msg, "action", Action.NONE).label,
            tuple(p.type_code for p in getattr(msg, "problems", ())))


@pytest.mark.parametrize("data, options, expected", [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_malformation(data, options, expected):
    assert outcome(data, **options) == expected
    # decode_message (one whole message) agrees with the stream path
    codec = make_codec(options.get("four_octet", True), options.get("add_path", False),
                       options.get("max_size", 4096))
    try:
        msg = decode_message(data, codec)
    except WireError as e:
        assert expected[0] in (RESET, DISABLE)
        assert (e.code, e.subcode, e.data) == expected[-3:]
        n = e.notification()
        assert (n.code, n.subcode, n.data) == expected[-3:]
    else:
        assert expected[0] not in (RESET, DISABLE)
        if expected[0] == WITHDRAW:
            assert msg.withdrawals()           # every announced prefix goes


def test_every_update_subcode_and_action_has_a_row():
    resets = {(e[1], e[2]) for _n, _d, _o, e in ROWS if e[0] == RESET}
    assert {(1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 3), (2, 4), (2, 6), (3, 1), (3, 2),
            (3, 4), (3, 9), (3, 10), (7, 1)} <= resets
    assert {e[0] for _n, _d, _o, e in ROWS} == {RESET, DISABLE, WITHDRAW, DISCARD, NONE}


def test_treat_as_withdraw_lists_every_prefix():
    codec = make_codec(True, False)
    mp_nlri = bytes([32, 0x20, 0x01, 0x0d, 0xb8])
    u = codec.decode(update(attrs=attr(0x40, 1, b"\x09") + AS_PATH_65001 + NEXT_HOP_1
                            + mp(14, mp_reach6(nlri=mp_nlri)) + mp(15, b"\x00\x02\x01\x08\x20"),
                            withdrawn=b"\x08\x0b", nlri=NLRI)[19:])
    assert u.action == Action.TREAT_AS_WITHDRAW
    assert u.withdrawals() == {(1, 1): [b"\x08\x0b", NLRI], (2, 1): [b"\x08\x20", mp_nlri]}


def test_discarded_attributes_are_gone_and_the_rest_kept():
    codec = make_codec(True, False)
    u = codec.decode(ipv4(MANDATORY, attr(0x40, 6, b"\x00"), attr(0xC0, 7, bytes(7)),
                          attr(0xC0, 8, b"\x00\x00\x00\x07"), attr(0x40, 1, b"\x02"))[19:])
    assert u.action == Action.ATTRIBUTE_DISCARD
    a = u.attrs
    assert (a.atomic_aggregate, a.aggregator, a.origin, a.communities) == (False, None, 0, (7,))
    assert [p.type_code for p in u.problems] == [6, 7, 1]
    assert "ATOMIC_AGGREGATE" in repr(u.problems[0])
    # what is sent on is the repaired set
    again = codec.cache.lookup(a.wire())[0]
    assert again.problems == () and again.fields() == a.fields()


def test_problems_compare_by_value():
    codec = make_codec(True, False)
    body = ipv4(MANDATORY, attr(0x40, 6, b"\x00"))[19:]
    p1 = codec.decode(body).problems
    p2 = make_codec(True, False).decode_message_body(body).problems
    assert p1 == p2 and p1[0] is not p2[0]
    assert len({p1[0], p2[0]}) == 1
    assert p1[0] != "attribute-discard"


def test_unknown_transitive_attribute_gets_the_partial_bit():
    codec = make_codec(True, False)
    u = codec.decode(ipv4(MANDATORY, attr(0xC0, 99, b"x"), attr(0x80, 98, b"y"))[19:])
    assert u.attrs.unknown == ((0xE0, 99, b"x"),)
    assert u.attrs.wire() == MANDATORY + attr(0xE0, 99, b"x")
    # Extended Length and the unused low flag bits are not kept: they are
    # redone when the attribute is sent on.
    v = codec.decode(ipv4(MANDATORY, attr(0xD3, 99, b"x"))[19:])
    assert v.attrs.unknown == ((0xE0, 99, b"x"),)
    assert v.attrs.wire() == MANDATORY + attr(0xE0, 99, b"x")
    assert not u.attrs.clean
    # already Partial: the received block is sent as it came
    w = codec.decode(ipv4(MANDATORY, attr(0xE0, 99, b"x"))[19:])
    assert w.attrs.clean and w.attrs.wire() == MANDATORY + attr(0xE0, 99, b"x")


def test_direct_callers_get_wire_errors_too():
    from wire.open import decode_open
    codec = make_codec(True, False)
    with pytest.raises(WireError) as e:
        codec.decode(b"\x00\x00")
    assert (e.value.code, e.value.subcode) == (3, 1)
    with pytest.raises(WireError) as e:
        decode_open(b"\x04")
    assert (e.value.code, e.value.subcode) == (2, 0)
    with pytest.raises(WireError) as e:
        decode_body(9, b"")
    assert (e.value.code, e.value.subcode, e.value.data) == (1, 3, b"\x09")
    with pytest.raises(WireError) as e:
        decode_body(4, b"\x00")
    assert (e.value.code, e.value.subcode, e.value.data) == (1, 2, b"\x00\x14")
    with pytest.raises(WireError) as e:
        decode_body(3, b"")
    assert (e.value.code, e.value.subcode, e.value.data) == (1, 2, b"\x00\x13")
    with pytest.raises(WireError) as e:
        decode_body(5, bytes(70000))
    assert (e.value.code, e.value.subcode) == (7, 1)
