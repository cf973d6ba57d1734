"""Round trips of UPDATE: IPv4 NLRI and withdrawals, MP_REACH/MP_UNREACH
for IPv6, add-path, End-of-RIB, packing over several messages, 2-octet AS
sessions, and every field of an attribute set."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wire import (AFI, IPV4_UNICAST, IPV6_UNICAST, Action, AttributeCache, Attributes,
                  Framer, UpdateCodec, decode_message, end_of_rib, make_attributes)
from wire.attributes import TABLE_BY_FIELD, decode_attributes, show
from wire.constants import AttrType
from wire.update import pack_mp_reach, pack_reach

from wire_strategies import (ATTRIBUTE_FIELDS, PROPERTY, as_paths_for_2octet, attribute_fields,
                             canonical, keys_of, path_ids)

FAMILIES = [IPV4_UNICAST, IPV6_UNICAST]


def decode_all(msgs, codec):
    """Frame the concatenated messages and decode each UPDATE."""
    framer = Framer(codec.max_size)
    frames = framer.feed(b"".join(msgs))
    assert framer.buffered == 0
    assert len(frames) == len(msgs)
    out = []
    for (mtype, body), raw in zip(frames, msgs):
        assert mtype == 2
        assert len(raw) <= codec.max_size
        out.append(codec.decode(body))
    return out


def expected_fields(fields: dict) -> dict:
    """What ``fields()`` gives back after a trip over the wire: unknown
    optional transitive attributes come back with the Partial bit set."""
    out = dict(fields)
    if "unknown" in out:
        out["unknown"] = tuple(sorted(((f | 0x20) & 0xE0, c, v) for f, c, v in out["unknown"]))
    return out


def received_fields(attrs: Attributes) -> dict:
    out = attrs.fields()
    if "unknown" in out:
        out["unknown"] = tuple(sorted(out["unknown"]))
    if "as_path" in out:
        out["as_path"] = canonical(out["as_path"])
    return out


def canon(fields: dict) -> dict:
    out = expected_fields(fields)
    if "as_path" in out:
        out["as_path"] = canonical(out["as_path"])
    return out


# --- attribute sets ----------------------------------------------------------

@PROPERTY
@given(attribute_fields(mandatory=()), st.booleans(), as_paths_for_2octet())
def test_make_attributes_round_trip(fields, four_octet, old_path):
    """Every field of make_attributes survives encode + decode, at either
    ASN width (a 2-octet block carries AS_TRANS and the AS4_ attributes)."""
    if not four_octet and "as_path" in fields:
        fields["as_path"] = old_path
    a = make_attributes(**fields)
    assert a.fields() == fields
    block = a.wire(four_octet)
    back, reach, unreach = decode_attributes(block, four_octet)
    assert reach is None and unreach is None
    assert back.problems == () and back.action == Action.NONE
    assert received_fields(back) == canon(fields)
    if four_octet:
        assert block == a.raw
        assert back == a and hash(back) == hash(a)
    if "unknown" in fields:
        assert all(f & 0x20 for f, _c, _v in back.unknown)
    # show() names every attribute present
    shown = show(back)
    for field in fields:
        if field == "unknown":
            assert all(f"UNKNOWN_{c}" in shown for _f, c, _v in fields["unknown"])
        else:
            assert TABLE_BY_FIELD[field].name in shown


@pytest.mark.parametrize("field", sorted(ATTRIBUTE_FIELDS))
def test_each_attribute_field_alone(field):
    @PROPERTY
    @given(ATTRIBUTE_FIELDS[field])
    def check(value):
        a = make_attributes(**{field: value})
        back, _r, _u = decode_attributes(a.raw, True)
        assert received_fields(back) == canon({field: value})
        assert back.clean == (field != "unknown" or all(f & 0x20 for f, _c, _v in value))
    check()


@PROPERTY
@given(attribute_fields(), st.sampled_from(sorted(ATTRIBUTE_FIELDS)), st.data())
def test_replace_changes_one_field(fields, field, data):
    a = make_attributes(**fields)
    value = data.draw(ATTRIBUTE_FIELDS[field])
    b = a.replace(**{field: value})
    expected = dict(fields, **{field: value})
    assert b.fields() == expected
    c = b.replace(**{field: None})
    expected.pop(field)
    assert c.fields() == expected
    assert a.replace() == a
    assert a.replace(**{field: fields.get(field)}).fields() == fields


@PROPERTY
@given(attribute_fields(), st.sampled_from(["med", "local_pref", "next_hop"]), st.data())
def test_replace_keeps_unknown_attributes_of_a_received_set(fields, field, data):
    """A received set with an unrecognized optional transitive attribute
    keeps it (Partial set) through replace(), as RFC 4271 section 5 wants."""
    fields["unknown"] = ((0xC0, 250, b"payload"),)
    received, _r, _u = decode_attributes(make_attributes(**fields).raw)
    b = received.replace(**{field: data.draw(ATTRIBUTE_FIELDS[field])})
    assert b.unknown == ((0xE0, 250, b"payload"),)
    again, _r, _u = decode_attributes(b.wire())
    assert again.unknown == ((0xE0, 250, b"payload"),) and again.clean


@PROPERTY
@given(attribute_fields(as_path=as_paths_for_2octet()))
def test_wire_for_either_width(fields):
    """wire(four_octet) of a 4-octet set: the same bytes for a 4-octet
    session; AS_TRANS plus AS4_PATH/AS4_AGGREGATOR for a 2-octet one, only
    when some ASN needs 4 octets (RFC 6793 section 4.2.2)."""
    a = make_attributes(**fields)
    assert a.wire(True) is a.raw
    old = a.wire(False)
    assert a.wire(False) is old                     # encoded once, then kept
    big_path = any(x > 0xFFFF for _t, s in fields["as_path"] for x in s)
    big_agg = "aggregator" in fields and fields["aggregator"][0] > 0xFFFF
    codes = _codes(old)
    assert (AttrType.AS4_PATH in codes) == big_path
    assert (AttrType.AS4_AGGREGATOR in codes) == big_agg
    back, _r, _u = decode_attributes(old, False)
    assert received_fields(back) == canon(fields)
    # the set decoded from the 2-octet session re-encodes for both widths
    assert back.wire(True) == make_attributes(**back.fields()).raw
    again, _r, _u = decode_attributes(back.wire(False), False)
    assert received_fields(again) == canon(fields)


def _codes(block: bytes) -> list[int]:
    out = []
    i = 0
    while i < len(block):
        flags, code = block[i], block[i + 1]
        if flags & 0x10:
            n, h = int.from_bytes(block[i + 2:i + 4], "big"), 4
        else:
            n, h = block[i + 2], 3
        out.append(code)
        i += h + n
    return out


def test_make_refuses_unknown_fields():
    with pytest.raises(TypeError):
        make_attributes(colour=3)


def test_long_segments_are_split_at_255():
    path = ((2, tuple(range(1, 601))),)
    a = make_attributes(origin=0, as_path=path)
    back, _r, _u = decode_attributes(a.raw)
    assert [len(s) for _t, s in back.as_path] == [255, 255, 90]
    assert canonical(back.as_path) == path


def test_attributes_repr_and_equality():
    a = make_attributes(origin=0, med=5)
    assert "med" in repr(a)
    assert a != a.raw
    assert make_attributes(origin=0, med=5, four_octet=False) != a


# --- IPv4 UPDATEs ------------------------------------------------------------

def _key(afi, add_path):
    k = keys_of(afi)
    return st.tuples(path_ids, k) if add_path else k


@PROPERTY
@given(attribute_fields(), st.booleans(), st.booleans(), st.data())
def test_ipv4_update_round_trip(fields, four_octet, add_path, data):
    if not four_octet:
        fields["as_path"] = data.draw(as_paths_for_2octet())
    fams = {IPV4_UNICAST} if add_path else set()
    codec = UpdateCodec(four_octet, fams, fams)
    nlri = data.draw(st.lists(_key(AFI.IPV4, add_path), max_size=30))
    withdrawn = data.draw(st.lists(_key(AFI.IPV4, add_path), max_size=30))
    a = make_attributes(**fields)
    ups = decode_all(codec.encode(a, nlri, withdrawn), codec)
    got_w = [k for u in ups for k in u.withdrawn]
    got_n = [k for u in ups for k in u.nlri]
    assert got_w == withdrawn and got_n == nlri
    for u in ups:
        assert u.action == Action.NONE and u.problems == ()
        assert u.mp_reach is None and u.mp_unreach is None
        if u.nlri:
            assert received_fields(u.attrs) == canon(fields)
        else:
            assert u.attrs is None
        assert u.withdrawals() == ({IPV4_UNICAST: list(u.withdrawn)} if u.withdrawn else {})


@PROPERTY
@given(attribute_fields(mandatory=("origin", "as_path")), st.booleans(), st.booleans(),
       st.sampled_from([16, 32]), st.data())
def test_ipv6_mp_update_round_trip(fields, four_octet, add_path, nh_len, data):
    """MP_REACH_NLRI with a 16-octet or 32-octet (global + link-local) next
    hop, and MP_UNREACH_NLRI."""
    if not four_octet:
        fields["as_path"] = data.draw(as_paths_for_2octet())
    fams = {IPV6_UNICAST} if add_path else set()
    codec = UpdateCodec(four_octet, fams, fams)
    nlri = data.draw(st.lists(_key(AFI.IPV6, add_path), max_size=20))
    withdrawn = data.draw(st.lists(_key(AFI.IPV6, add_path), max_size=20))
    next_hop = data.draw(st.binary(min_size=nh_len, max_size=nh_len))
    a = make_attributes(**fields)
    ups = decode_all(codec.encode(a, nlri, withdrawn, IPV6_UNICAST, next_hop), codec)
    got_w = [k for u in ups if u.mp_unreach for k in u.mp_unreach.withdrawn]
    got_n = [k for u in ups if u.mp_reach for k in u.mp_reach.nlri]
    assert got_w == withdrawn and got_n == nlri
    for u in ups:
        assert not u.withdrawn and not u.nlri
        assert u.action == Action.NONE
        if u.mp_reach is not None:
            assert u.mp_unreach is None
            assert u.mp_reach.family == IPV6_UNICAST
            assert u.mp_reach.next_hop == next_hop
            assert received_fields(u.attrs) == canon(fields)
            if four_octet:
                assert u.attrs == a
        else:
            assert u.mp_unreach.family == IPV6_UNICAST
            assert not u.attrs.raw
        assert u.end_of_rib is None
    assert all("MpReach" in repr(u) or "MpUnreach" in repr(u) for u in ups)


@PROPERTY
@given(st.sampled_from(FAMILIES), st.booleans(), st.booleans())
def test_end_of_rib_round_trip(family, four_octet, add_path):
    """RFC 4724 section 2: an empty UPDATE for IPv4 unicast, an UPDATE with
    only an empty MP_UNREACH_NLRI for any other family."""
    fams = set(FAMILIES) if add_path else set()
    codec = UpdateCodec(four_octet, fams, fams)
    u = decode_message(end_of_rib(*family), codec)
    assert u.end_of_rib == family
    assert u.withdrawals() == {}


def test_end_of_rib_is_not_confused_with_other_updates():
    codec = UpdateCodec()
    a = make_attributes(origin=0, as_path=())
    k6 = bytes([32, 0x20, 0x01, 0x0d, 0xb8])
    withdraw6 = codec.encode(None, [], [k6], IPV6_UNICAST)[0]
    assert decode_message(withdraw6, codec).end_of_rib is None
    withdraw4 = codec.encode(None, [], [bytes([8, 10])])[0]
    assert decode_message(withdraw4, codec).end_of_rib is None
    reach = codec.encode(a, [bytes([8, 10])], [], IPV4_UNICAST)[0]
    assert decode_message(reach, codec).end_of_rib is None
    # an empty MP_UNREACH plus another attribute is not a marker
    from wire_strategies import attr, update
    odd = update(attrs=attr(0x80, 15, b"\x00\x02\x01") + attr(0x40, 1, b"\x00"))
    assert decode_message(odd, codec).end_of_rib is None
    # attributes without NLRI are not an IPv4 marker either
    assert decode_message(update(attrs=attr(0x40, 1, b"\x00")), codec).end_of_rib is None


@PROPERTY
@given(st.integers(1, 25000), st.sampled_from([4096, 65535]), st.sampled_from(FAMILIES),
       st.booleans(), st.integers(0, 2**32 - 1))
@example(20000, 65535, IPV4_UNICAST, False, 1)
@example(20000, 4096, IPV4_UNICAST, True, 2)
@example(6000, 65535, IPV6_UNICAST, True, 3)
@example(3000, 4096, IPV6_UNICAST, False, 4)
def test_packing_over_several_messages(count, max_size, family, add_path, seed):
    """UpdateCodec.encode fills each message: no message exceeds max_size
    and no message could have taken the next prefix."""
    afi = family[0]
    keys = []
    x = seed
    for i in range(count):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        plen = (8, 16, 24, 26, 32)[x % 5] if afi == AFI.IPV4 else (32, 48, 64, 128)[x % 4]
        bits = 32 if afi == AFI.IPV4 else 128
        addr = int.from_bytes((x ^ i).to_bytes(4, "big") * (bits // 32), "big")
        addr &= ~((1 << (bits - plen)) - 1)
        keys.append(bytes([plen]) + addr.to_bytes(bits // 8, "big")[:(plen + 7) // 8])
    if add_path:
        keys = [(i, k) for i, k in enumerate(keys)]
    fams = {family} if add_path else set()
    codec = UpdateCodec(True, fams, fams, max_size=max_size)
    a = make_attributes(origin=0, as_path=((2, (64512,)),), next_hop=b"\x0a\x00\x00\x01",
                        communities=tuple(range(40)))
    msgs = codec.encode(a, keys, [], family, b"\x20\x01" + bytes(14))
    ups = decode_all(msgs, codec)
    if afi == AFI.IPV4:
        got = [k for u in ups for k in u.nlri]
    else:
        got = [k for u in ups for k in u.mp_reach.nlri]
    assert got == keys
    item_len = [len(k[1]) + 4 if add_path else len(k) for k in keys]
    pos = 0
    # An MP attribute is counted with a 4-octet (extended) header while
    # packing, so an MP message may end one octet short of full.
    slack = 0 if afi == AFI.IPV4 else 1
    for m, u in zip(msgs, ups):
        pos += len(u.nlri) if afi == AFI.IPV4 else len(u.mp_reach.nlri)
        if pos < len(keys):
            # the first item of the next message would not have fitted
            assert len(m) + item_len[pos] + slack > max_size
    if sum(item_len) + 100 + len(a.raw) < max_size:
        assert len(msgs) == 1


def test_packing_withdrawals_only_and_big_attributes():
    codec = UpdateCodec()
    keys = [bytes([24, 10, i >> 8, i & 0xFF]) for i in range(3000)]
    msgs = codec.encode(None, [], keys)
    assert len(msgs) == 3 and all(len(m) <= 4096 for m in msgs)
    assert [k for u in decode_all(msgs, codec) for k in u.withdrawn] == keys
    msgs6 = codec.encode(None, [], [bytes([64]) + bytes(8)] * 1000, IPV6_UNICAST)
    assert len(msgs6) == 3 and all(len(m) <= 4096 for m in msgs6)
    with pytest.raises(ValueError):
        pack_reach(bytes(4080), [bytes([8, 10])])
    with pytest.raises(ValueError):
        pack_mp_reach(2, 1, bytes(16), bytes(4060), [bytes([8, 10])])
    assert codec.encode(b"", [], []) == []


def test_encode_accepts_raw_attribute_bytes():
    codec = UpdateCodec()
    a = make_attributes(origin=0, as_path=(), next_hop=b"\x0a\x00\x00\x01")
    assert codec.encode(a.raw, [bytes([8, 10])]) == codec.encode(a, [bytes([8, 10])])


# --- 2-octet sessions --------------------------------------------------------

@PROPERTY
@given(as_paths_for_2octet(), st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_two_octet_session_with_four_octet_asns(path, agg_as):
    """A 4-octet path towards a 2-octet session: AS_TRANS in AS_PATH and
    AGGREGATOR, the truth in AS4_PATH/AS4_AGGREGATOR, rebuilt on decode."""
    fields = dict(origin=0, as_path=path, next_hop=b"\x0a\x00\x00\x01")
    if agg_as is not None:
        fields["aggregator"] = (agg_as, b"\xc0\x00\x02\x01")
    a = make_attributes(**fields)
    codec = UpdateCodec(four_octet=False)
    msg = codec.encode(a, [bytes([24, 10, 1, 2])])[0]
    u = decode_message(msg, codec)
    assert canonical(u.attrs.as_path) == canonical(path)
    if agg_as is not None:
        assert u.attrs.aggregator == (agg_as, b"\xc0\x00\x02\x01")
    # What a 2-octet speaker sees: only 2-octet ASNs, AS_TRANS for the rest.
    assert _raw_as_path(u.attrs.raw) == [x if x <= 0xFFFF else 23456
                                         for _t, s in path for x in s]


def _raw_as_path(block: bytes) -> list[int]:
    i = 0
    while i < len(block):
        flags, code, n = block[i], block[i + 1], block[i + 2]
        if code == 2:
            v = block[i + 3:i + 3 + n]
            out = []
            j = 0
            while j < len(v):
                cnt = v[j + 1]
                out += [int.from_bytes(v[j + 2 + 2 * k:j + 4 + 2 * k], "big") for k in range(cnt)]
                j += 2 + 2 * cnt
            return out
        i += 3 + n
    return []


# --- the cache -----------------------------------------------------------------

def test_cache_shares_one_object_per_block():
    cache = AttributeCache()
    codec = UpdateCodec(cache=cache)
    other = UpdateCodec(cache=cache)
    a = make_attributes(origin=0, as_path=((2, (1,)),), next_hop=b"\x0a\x00\x00\x01")
    m1 = codec.encode(a, [bytes([8, 10])])[0]
    m2 = codec.encode(a, [bytes([8, 11])])[0]
    u1 = decode_message(m1, codec)
    u2 = decode_message(m2, other)
    assert u1.attrs is u2.attrs
    assert len(cache) == 1
    # MP updates are interned by the block without MP_REACH
    r1 = codec.encode(a, [bytes([16, 0x20, 1])], [], IPV6_UNICAST, bytes(16))[0]
    r2 = codec.encode(a, [bytes([16, 0x20, 2])], [], IPV6_UNICAST, bytes(16))[0]
    assert decode_message(r1, codec).attrs is decode_message(r2, codec).attrs
    with pytest.raises(ValueError):
        UpdateCodec(four_octet=False, cache=cache)


def test_cache_starts_afresh_past_its_limit():
    cache = AttributeCache(limit=2)
    for med in range(5):
        cache.lookup(make_attributes(origin=0, med=med).raw)
    assert len(cache) <= 2
