"""Malformed input: whatever the bytes, decoding either succeeds or raises
``wire.WireError``, nothing else, and never hangs.

Inputs are arbitrary bytes, and valid messages broken by bit flips,
truncation, insertion and changed length fields (message, withdrawn
routes, total attribute, each attribute, optional parameters, each
capability).  What decodes must also be showable (``bgpd decode`` prints
it) and, for attribute sets, re-encode to a set that decodes the same.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire import Framer, Update, UpdateCodec, WireError, decode_body, decode_message
from wire.attributes import decode_attributes
from wire.constants import MARKER
from wire.show import show

from wire_strategies import (FUZZ, MESSAGE_POOL, attr, codec_options, length_fields, make_codec,
                             message, update_body)

max_sizes = st.sampled_from([4096, 65535])


def exercise(msg) -> None:
    """Everything a reader of a decoded message may touch."""
    show(msg)
    if isinstance(msg, Update):
        msg.withdrawals()
        _ = msg.end_of_rib
        repr(msg)
        if msg.attrs is not None:
            msg.attrs.fields()
            msg.attrs.wire(True)
            msg.attrs.wire(False)


def check_message(data: bytes, codec: UpdateCodec) -> None:
    """decode_message and the stream path must each decode or raise WireError."""
    try:
        msg = decode_message(data, codec)
    except WireError as e:
        e.notification()
    else:
        exercise(msg)
    framer = Framer(codec.max_size)
    try:
        frames = framer.feed(data)
    except WireError:
        return
    for mtype, body in frames:
        try:
            exercise(decode_body(mtype, body, codec))
        except WireError:
            pass


# --- arbitrary bytes ------------------------------------------------------------------

header_like = st.builds(lambda n, t, rest: MARKER + n.to_bytes(2, "big") + bytes([t]) + rest,
                        st.integers(0, 0xFFFF), st.integers(0, 7), st.binary(max_size=80))
streams = st.one_of(st.binary(max_size=120), header_like,
                    st.lists(header_like, min_size=2, max_size=4).map(b"".join))


@settings(FUZZ, max_examples=2000)
@given(streams, st.lists(st.integers(0, 200), max_size=4), max_sizes)
def test_framer_feed_arbitrary_bytes(data, cuts, max_size):
    framer = Framer(max_size)
    pos = 0
    try:
        for c in sorted(cuts) + [len(data)]:
            c = min(max(c, pos), len(data))
            for mtype, body in framer.feed(data[pos:c]):
                assert 0 <= len(body) <= max_size - 19
            pos = c
    except WireError as e:
        assert e.code == 1
    assert framer.buffered < 19 or framer.buffered < int.from_bytes(
        framer._rest[16:18], "big")


@settings(FUZZ, max_examples=2000)
@given(streams, codec_options, max_sizes)
def test_decode_message_arbitrary_bytes(data, options, max_size):
    check_message(data, make_codec(max_size=max_size, **options))


@pytest.mark.parametrize("mtype", [1, 2, 3, 4, 5], ids=["OPEN", "UPDATE", "NOTIFICATION",
                                                        "KEEPALIVE", "ROUTE_REFRESH"])
def test_decode_body_arbitrary_bytes(mtype):
    @settings(FUZZ, max_examples=2000)
    @given(st.one_of(st.binary(max_size=60),
                     st.builds(lambda head, rest: head + rest,
                               st.sampled_from([b"\x04\xfd\xe9\x00\x5a\x0a\x00\x00\x01",
                                                b"\x00\x00", b"\x00\x01\x00"]),
                               st.binary(max_size=40))),
           codec_options)
    def check(body, options):
        codec = make_codec(**options)
        try:
            exercise(decode_body(mtype, body, codec))
        except WireError:
            pass
    check()


@settings(FUZZ, max_examples=2000)
@given(st.binary(max_size=120), codec_options)
def test_update_decode_arbitrary_bytes(body, options):
    try:
        exercise(make_codec(**options).decode(body))
    except WireError:
        pass


# Attribute blocks made of plausible pieces, to get past the first checks.
_FLAGS = st.sampled_from([0x00, 0x40, 0x50, 0x80, 0x90, 0xC0, 0xD0, 0xE0, 0xF0])
_CODES = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 35]),
                   st.integers(0, 255))
_VALUES = st.one_of(
    st.binary(max_size=24),
    st.builds(lambda t, n, asns: bytes([t, n]) + asns, st.integers(0, 5), st.integers(0, 4),
              st.binary(max_size=16)),
    st.builds(lambda afi, safi, nhl, rest: afi + bytes([safi, nhl]) + rest,
              st.sampled_from([b"\x00\x01", b"\x00\x02", b"\x00\x19"]),
              st.sampled_from([1, 2, 4]), st.sampled_from([0, 4, 16, 32]),
              st.binary(max_size=40)),
)
one_attribute = st.builds(lambda f, c, v: attr(f, c, v) if f & 0x10 or len(v) < 256 else b"",
                          _FLAGS, _CODES, _VALUES)
attribute_blocks = st.lists(one_attribute, max_size=6).map(b"".join)


@settings(FUZZ, max_examples=2000)
@given(attribute_blocks, st.binary(max_size=12), st.binary(max_size=12), codec_options)
def test_update_decode_structured(block, withdrawn, nlri, options):
    codec = make_codec(**options)
    try:
        exercise(codec.decode(update_body(withdrawn, block, nlri)))
    except WireError:
        pass


@settings(FUZZ, max_examples=2000)
@given(attribute_blocks)
def test_decoded_attributes_reencode_stably(block):
    """A decoded set (4-octet session) re-encodes to a block that decodes to
    the same fields, without problems: what we pass on is well-formed."""
    try:
        a, _reach, _unreach = decode_attributes(block, True)
    except WireError:
        return
    again, reach, unreach = decode_attributes(a.wire(True), True)
    assert reach is None and unreach is None
    assert again.problems == ()
    assert _sorted(again.fields()) == _sorted(a.fields())


def _sorted(fields: dict) -> dict:
    # Attributes are sent in ascending type order (RFC 4271 section 5).
    if "unknown" in fields:
        fields["unknown"] = tuple(sorted(fields["unknown"], key=lambda u: u[1]))
    return fields


# --- valid messages, broken ------------------------------------------------------------

# A valid message and a fresh codec with the session options it was made for.
codec_and_message = st.sampled_from(MESSAGE_POOL).map(lambda om: (make_codec(**om[0]), om[1]))


def test_the_pool_is_valid_and_varied():
    kinds = set()
    for options, data in MESSAGE_POOL:
        msg = decode_message(data, make_codec(**options))
        assert getattr(msg, "action", None) in (None, 0)
        kinds.add((data[18], options["four_octet"], options["add_path"]))
    assert len(kinds) == 5 * 4


@settings(FUZZ, max_examples=2000)
@given(codec_and_message, st.lists(st.integers(0, 2**16), min_size=1, max_size=3))
def test_bit_flips(cm, positions):
    codec, data = cm
    data = bytearray(data)
    for p in positions:
        bit = p % (len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    check_message(bytes(data), codec)


@settings(FUZZ, max_examples=2000)
@given(codec_and_message, st.integers(0, 2**16))
def test_truncation(cm, cut):
    codec, data = cm
    data = data[:cut % len(data)]
    check_message(data, codec)
    # the same cut inside the message, with the header telling the truth
    if len(data) > 19:
        body = data[19:]
        check_message(message(data[18], body), codec)


@settings(FUZZ, max_examples=2000)
@given(codec_and_message, st.integers(0, 2**16), st.binary(min_size=1, max_size=8),
       st.booleans())
def test_insertion(cm, where, extra, fix_length):
    codec, data = cm
    p = 19 + where % (len(data) - 18)
    data = data[:p] + extra + data[p:]
    if fix_length:
        data = data[:16] + len(data).to_bytes(2, "big") + data[18:]
    check_message(data, codec)


@settings(FUZZ, max_examples=2000)
@given(codec_and_message, st.data())
def test_length_field_changes(cm, data):
    """Every length field (message, withdrawn routes, total attribute, each
    attribute, MP_REACH next hop, optional parameters, each capability) set
    to a nearby or an arbitrary value."""
    codec, msg = cm
    fields = length_fields(msg)
    offset, size = data.draw(st.sampled_from(fields))
    old = int.from_bytes(msg[offset:offset + size], "big")
    top = (1 << (8 * size)) - 1
    new = data.draw(st.one_of(st.integers(max(0, old - 3), min(top, old + 3)),
                              st.integers(0, top)))
    broken = msg[:offset] + new.to_bytes(size, "big") + msg[offset + size:]
    check_message(broken, codec)


def test_length_fields_are_found():
    """The mutator above knows where the length fields are."""
    from wire_strategies import MANDATORY
    upd = message(2, update_body(b"\x08\x0a", MANDATORY + attr(0x90, 14, b"\x00\x02\x01\x10"
                                                               + bytes(17)), b"\x08\x0b"))
    assert length_fields(upd) == [(16, 2), (19, 2), (23, 2), (27, 1), (31, 1), (40, 1),
                                  (47, 2), (52, 1)]
    opn = message(1, b"\x04\xfd\xe9\x00\x5a\x0a\x00\x00\x01\x08\x02\x06\x41\x04\x00\x00\xfd\xe9")
    assert length_fields(opn) == [(16, 2), (28, 1), (30, 1), (32, 1)]
    ext = message(1, b"\x04\xfd\xe9\x00\x5a\x0a\x00\x00\x01\xff\xff\x00\x05"
                  b"\x02\x00\x02\x46\x00")
    assert length_fields(ext) == [(16, 2), (28, 1), (30, 2), (33, 2), (36, 1)]
