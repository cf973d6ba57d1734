"""Round trips of OPEN (every capability), NOTIFICATION, KEEPALIVE and
ROUTE-REFRESH, and framing of a byte stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire import (KEEPALIVE, Action, KEEPALIVE_BYTES, Framer, Keepalive, Notification, Open,
                  RouteRefresh, WireError, decode_body, decode_message, encode, frame)
from wire import capabilities as caps
from wire.constants import CeaseSubcode, ErrorCode, RefreshSubtype
from wire.open import decode_open

from wire_strategies import (CAPABILITY_STRATEGIES, PROPERTY, U16, U8, bgp_ids, capabilities,
                             hold_times, message, notifications, opens, route_refreshes)


# --- OPEN -----------------------------------------------------------------

@PROPERTY
@given(opens())
def test_open_round_trip(m):
    data = encode(m)
    assert len(data) <= 4096
    back = decode_message(data)
    assert back == m
    assert back.asn == next((c.asn for c in m.capabilities
                             if isinstance(c, caps.FourOctetAS)), m.my_as)


@pytest.mark.parametrize("cls", list(CAPABILITY_STRATEGIES), ids=lambda c: c.__name__)
def test_every_capability_round_trips(cls):
    @PROPERTY
    @given(st.lists(CAPABILITY_STRATEGIES[cls], min_size=1, max_size=4).map(tuple),
           U16, hold_times, bgp_ids)
    def check(cs, my_as, hold, bgp_id):
        m = Open(4, my_as, hold, bgp_id, cs)
        back = decode_message(encode(m))
        assert back.capabilities == cs
        assert back.capabilities_of(cls) == list(cs)
        assert back.capability(cls) == cs[0]
        for c in cs:
            name, value = caps.show_capability(c)
            assert name == caps.capability_name(c.code)
            assert value is not None
    check()


def test_capability_table_is_complete():
    # Every capability class of the module is in the table or is the
    # catch-all for unknown codes.
    classes = {getattr(caps, n) for n in caps.__all__
               if isinstance(getattr(caps, n), type) and hasattr(getattr(caps, n), "encode")}
    assert classes - set(caps.CAPABILITIES.values()) == {caps.UnknownCapability}
    assert set(CAPABILITY_STRATEGIES) == classes


@PROPERTY
@given(st.lists(capabilities, max_size=4),
       st.lists(st.builds(caps.UnknownCapability, st.sampled_from([200, 201, 250]),
                          st.binary(min_size=60, max_size=255)), min_size=1, max_size=6),
       U16, hold_times, bgp_ids)
def test_open_extended_optional_parameters(small, big, my_as, hold, bgp_id):
    """RFC 9072: once the capabilities outgrow one-octet lengths, the OPEN
    carries Non-Ext OP Len 255, Non-Ext OP Type 255 and two-octet lengths."""
    m = Open(4, my_as, hold, bgp_id, tuple(small + big))
    body = m.encode_body()
    cap_bytes = b"".join(caps.encode_capability(c) for c in m.capabilities)
    if len(cap_bytes) > 253:
        assert body[9] == 255 and body[10] == 255
        assert int.from_bytes(body[11:13], "big") == len(cap_bytes) + 3
        assert body[13] == 2 and int.from_bytes(body[14:16], "big") == len(cap_bytes)
    else:
        assert body[9] == len(cap_bytes) + 2 and body[10] == 2
    assert decode_open(body) == m


_cap_bytes = st.builds(lambda code, v: bytes([code, len(v)]) + v,
                      st.sampled_from(sorted(caps.CAPABILITIES) + [200]), st.binary(max_size=12))
_cap_params = st.lists(_cap_bytes, max_size=5).map(b"".join).map(
    lambda v: bytes([2, len(v)]) + v)


@PROPERTY
@given(st.lists(_cap_params, max_size=3).map(b"".join))
def test_decoded_open_re_encodes(params):
    """Whatever OPEN decodes (several capability parameters, odd flag bits,
    trailing octets of empty capabilities) encodes to an OPEN that decodes
    to the same object."""
    body = b"\x04\xfd\xe9\x00\x5a\x0a\x00\x00\x01" + bytes([len(params)]) + params
    try:
        m = decode_open(body)
    except WireError:
        return
    assert decode_message(encode(m)) == m


def test_open_build_adds_four_octet_as():
    m = Open.build(4200000000, 90, 0x0A000001, [caps.Multiprotocol(1, 1)])
    assert m.my_as == 23456 and m.asn == 4200000000
    assert m.capability(caps.FourOctetAS) == caps.FourOctetAS(4200000000)
    m2 = Open.build(65001, 90, 1, [caps.FourOctetAS(65001)])
    assert m2.my_as == 65001 and m2.capabilities == (caps.FourOctetAS(65001),)
    assert Open(4, 65001, 90, 1).asn == 65001
    assert Open(4, 65001, 90, 1).capability(caps.AddPath) is None


def test_capability_value_too_long_is_refused():
    with pytest.raises(ValueError):
        caps.encode_capability(caps.UnknownCapability(200, bytes(256)))


def test_capability_shows():
    assert caps.Multiprotocol(2, 1).show() == "ipv6-unicast"
    assert caps.Multiprotocol(3, 9).show() == "afi3-safi9"
    assert caps.RouteRefresh().show() is True
    assert caps.FourOctetAS(7).show() == 7
    gr = caps.GracefulRestart(120, True, True, ((1, 1, True),))
    assert gr.show() == {"restart_time": 120, "restarting": True, "notification": True,
                         "families": {"ipv4-unicast": {"forwarding": True}}}
    assert caps.AddPath(((1, 1, 3), (2, 1, 1))).show() == {
        "ipv4-unicast": "send/receive", "ipv6-unicast": "receive"}
    assert caps.ExtendedNextHop(((1, 1, 2), (1, 1, 7))).show() == [
        {"nlri": "ipv4-unicast", "next_hop_afi": "ipv6"},
        {"nlri": "ipv4-unicast", "next_hop_afi": 7}]
    assert caps.Fqdn("node1", "example.net").show() == {"hostname": "node1",
                                                         "domain": "example.net"}
    assert caps.BgpRole(3).show() == "customer"
    assert caps.BgpRole(77).show() == 77
    assert caps.LongLivedGracefulRestart(((2, 1, False, 3600),)).show() == {
        "ipv6-unicast": {"forwarding": False, "stale_time": 3600}}
    assert caps.UnknownCapability(99, b"\x01\x02").show() == "0102"
    assert caps.capability_name(99) == "capability-99"
    assert caps.capability_name(65) == "four-octet-as"


def test_fqdn_without_domain_and_cut_names():
    assert caps.Fqdn.decode(b"\x05node1") == caps.Fqdn("node1", "")
    long = caps.Fqdn("h" * 300, "d" * 10)
    assert long.encode()[0] == 255


# --- NOTIFICATION ------------------------------------------------------------

@PROPERTY
@given(notifications)
def test_notification_round_trip(m):
    back = decode_message(encode(m))
    assert back == m
    assert isinstance(back.describe(), str)


@PROPERTY
@given(st.text(max_size=300),
       st.sampled_from([CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET]))
def test_shutdown_communication_round_trip(text, subcode):
    """RFC 9003: a length octet and at most 255 octets of UTF-8, cut on a
    character boundary."""
    m = Notification.shutdown(text, subcode)
    assert (m.code, m.subcode) == (ErrorCode.CEASE, subcode)
    back = decode_message(encode(m))
    raw = text.encode("utf-8")
    expected = raw[:255].decode("utf-8", "ignore")
    assert len(back.data) <= 256
    assert back.shutdown_message == (expected if raw else None)
    if expected:
        assert back.data[0] == len(expected.encode("utf-8"))
        assert f'"{expected}"' in back.describe()


def test_shutdown_message_edge_cases():
    cease = ErrorCode.CEASE
    shut = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN
    assert Notification(cease, shut, b"\x00").shutdown_message == ""
    assert Notification(cease, shut, b"\x05ab").shutdown_message is None      # overrun
    assert Notification(cease, shut, b"\x02\xff\xfe").shutdown_message is None  # not UTF-8
    assert Notification(cease, shut, b"").shutdown_message is None
    assert Notification(cease, 1, b"\x02ok").shutdown_message is None   # not a shutdown
    assert Notification(3, 2, b"\x02ok").shutdown_message is None
    assert Notification(cease, shut, b"\x02ok").describe() == \
        'Cease / Administrative shutdown: "ok"'
    assert Notification(3, 2, b"\x40\x63").describe() == \
        "UPDATE message error / Unrecognized well-known attribute (data 4063)"
    assert Notification(cease, 2).describe() == "Cease / Administrative shutdown"
    assert Notification(99, 1).describe() == "Unknown error code 99 / Subcode 1"
    assert Notification(4, 0).describe() == "Hold timer expired"
    assert Notification(1, 77).describe() == "Message header error / Unknown subcode 77"


def test_long_notification_is_cut_to_the_message_size():
    m = Notification(ErrorCode.UPDATE_MESSAGE, 1, bytes(5000))
    data = encode(m, max_size=4096)
    assert len(data) == 4096
    assert decode_message(data).data == bytes(4096 - 21)


# --- KEEPALIVE and ROUTE-REFRESH ---------------------------------------------

def test_keepalive_round_trip():
    assert encode(KEEPALIVE) == KEEPALIVE_BYTES == b"\xff" * 16 + b"\x00\x13\x04"
    assert decode_message(KEEPALIVE_BYTES) is KEEPALIVE
    assert isinstance(decode_body(4, b""), Keepalive)


@PROPERTY
@given(route_refreshes)
def test_route_refresh_round_trip(m):
    data = encode(m)
    assert len(data) == 23
    assert decode_message(data) == m


@PROPERTY
@given(U16, U8, U8)
def test_route_refresh_any_subtype_is_reported(afi, safi, subtype):
    # RFC 7313 section 5: subtypes 3-255 are ignored by the session, so the
    # codec hands them over as they are.
    m = decode_message(encode(RouteRefresh(afi, safi, subtype)))
    assert (m.afi, m.safi, m.subtype) == (afi, safi, subtype)


def test_route_refresh_subtypes_by_name():
    assert [RouteRefresh(1, 1, s).encode_body()[2] for s in RefreshSubtype] == [0, 1, 2]


def test_encode_refuses_oversized_messages():
    big = Open(4, 1, 90, 1, tuple(caps.UnknownCapability(200, bytes(255)) for _ in range(20)))
    with pytest.raises(ValueError):
        encode(big, max_size=4096)


# --- framing -------------------------------------------------------------------

@PROPERTY
@given(st.lists(st.one_of(opens(max_caps=3), notifications, route_refreshes,
                          st.just(KEEPALIVE)), min_size=1, max_size=6),
       st.lists(st.integers(0, 400), max_size=6))
def test_framer_reassembles_any_split(msgs, cuts):
    stream = b"".join(encode(m) for m in msgs)
    framer = Framer()
    frames = []
    pos = 0
    for c in sorted(cuts) + [len(stream)]:
        c = min(max(c, pos), len(stream))
        frames += framer.feed(stream[pos:c])
        pos = c
    assert framer.buffered == 0
    assert [decode_body(t, b) for t, b in frames] == msgs


def test_framer_keeps_a_partial_message():
    framer = Framer()
    assert framer.feed(KEEPALIVE_BYTES[:10]) == []
    assert framer.buffered == 10
    assert framer.feed(KEEPALIVE_BYTES[10:] + KEEPALIVE_BYTES[:3]) == [(4, b"")]
    assert framer.buffered == 3


def test_frame_checks_one_whole_message():
    assert frame(KEEPALIVE_BYTES) == (4, b"")
    with pytest.raises(WireError) as e:
        frame(KEEPALIVE_BYTES + b"\x00")
    assert (e.value.code, e.value.subcode, e.value.data) == (1, 2, b"\x00\x13")
    with pytest.raises(WireError) as e:
        frame(KEEPALIVE_BYTES[:18])
    assert (e.value.code, e.value.subcode, e.value.data) == (1, 2, b"")


def test_decode_message_uses_the_codec_size():
    from wire import UpdateCodec
    body = b"\x00\x00\x00\x00" + bytes([24, 10, 0, 0]) * 1200
    data = message(2, body)
    with pytest.raises(WireError):
        decode_message(data)
    upd = decode_message(data, UpdateCodec(max_size=65535))
    assert len(upd.nlri) == 1200


def test_wire_error_repr_and_notification():
    e = WireError(Action.SESSION_RESET, 3, 1, b"x", "why")
    assert "3/1" in repr(e) and "why" in repr(e)
    assert e.notification() == Notification(3, 1, b"x")
    assert str(WireError(Action.SESSION_RESET, 3, 1)) == "error 3/1"
