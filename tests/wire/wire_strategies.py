"""Shared hypothesis strategies and byte builders for the wire/ tests.

The strategies produce *valid* values (prefix keys with host bits clear,
AS paths with non-empty segments, capabilities whose values fit their
length octet, ...) so that round-trip properties can demand exact
equality.  The malformed-input properties break valid messages taken from
``MESSAGE_POOL``, a few hundred messages of every type built once from a
fixed seed (drawing them afresh for each of thousands of examples would
cost more than the decoding under test).

Test modules import it as ``wire_strategies`` (pytest puts this folder on
``sys.path``); it is not a ``conftest.py`` because every test folder may
have one of those, and only one module can be called ``conftest`` at a
time.  Every property runs derandomized and without an example database,
so a run is repeatable.
"""

from __future__ import annotations

import random
import struct

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from wire import (AFI, IPV4_UNICAST, IPV6_UNICAST, KEEPALIVE, Notification, Open,
                  RouteRefresh, UpdateCodec, encode, end_of_rib, make_attributes)
from wire import capabilities as caps
from wire.attributes import TABLE
from wire.constants import MARKER

_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
# Round-trip properties: valid inputs, each example fairly costly.
PROPERTY = settings(max_examples=150, **_COMMON)
# Malformed-input properties: cheap inputs, many of them.
FUZZ = settings(max_examples=2000, **_COMMON)

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
U64 = st.integers(0, 2**64 - 1)

# ---------------------------------------------------------------------------
# Byte builders (the RFC formats written out by hand, independent of wire/)


def message(mtype: int, body: bytes) -> bytes:
    """A whole message: marker, length, type, body (RFC 4271 section 4.1)."""
    return MARKER + struct.pack("!HB", 19 + len(body), mtype) + body


def attr(flags: int, code: int, value: bytes) -> bytes:
    """One path attribute; the Extended Length flag decides the length size."""
    if flags & 0x10:
        return struct.pack("!BBH", flags, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def update_body(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    return struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) \
        + attrs + nlri


def update(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    return message(2, update_body(withdrawn, attrs, nlri))


def seg(seg_type: int, asns, width: int = 4) -> bytes:
    fmt = "!BB%d%s" % (len(asns), "I" if width == 4 else "H")
    return struct.pack(fmt, seg_type, len(asns), *asns)


def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def prefix(text: str) -> bytes:
    """Wire key of 'a.b.c.d/n' (or an IPv6 prefix)."""
    from wire.nlri import parse
    return parse(text)[1]


# The mandatory attributes of an IPv4 announcement, 4-octet encoding.
ORIGIN_IGP = attr(0x40, 1, b"\x00")
AS_PATH_65001 = attr(0x40, 2, seg(2, [65001]))
NEXT_HOP_1 = attr(0x40, 3, ip4("192.0.2.1"))
MANDATORY = ORIGIN_IGP + AS_PATH_65001 + NEXT_HOP_1


# ---------------------------------------------------------------------------
# Prefixes


def _key(max_bits: int):
    @st.composite
    def key(draw):
        plen = draw(st.integers(0, max_bits))
        addr = draw(st.integers(0, 2**max_bits - 1))
        addr &= ~((1 << (max_bits - plen)) - 1)      # host bits clear
        raw = addr.to_bytes(max_bits // 8, "big")
        return bytes([plen]) + raw[:(plen + 7) // 8]
    return key()


ipv4_keys = _key(32)
ipv6_keys = _key(128)
path_ids = U32


def keys_of(afi: int):
    return ipv4_keys if afi == AFI.IPV4 else ipv6_keys


# ---------------------------------------------------------------------------
# AS paths

asns = st.one_of(st.integers(0, 0xFFFF), U32)
asns2 = st.integers(0, 0xFFFF)


def segments(types=(1, 2, 3, 4), asn=asns, max_len: int = 6):
    return st.tuples(st.sampled_from(types),
                     st.lists(asn, min_size=1, max_size=max_len).map(tuple))


as_paths = st.lists(segments(), max_size=5).map(tuple)


@st.composite
def as_paths_for_2octet(draw):
    """A path as a 2-octet session can carry it (RFC 6793): confederation
    segments only in front and with 2-octet member ASNs (a confederation
    whose members talk 2-octet BGP), then any AS_SEQUENCE/AS_SET."""
    lead = draw(st.lists(segments((3, 4), asns2, 4), max_size=2))
    rest = draw(st.lists(segments((1, 2)), max_size=4))
    return tuple(lead + rest)


def canonical(path) -> tuple:
    """Adjacent AS_SEQUENCE segments joined: the same path however it was
    cut into segments."""
    out = []
    for seg_type, seg_asns in path:
        if out and seg_type == 2 and out[-1][0] == 2:
            out[-1] = (2, out[-1][1] + tuple(seg_asns))
        else:
            out.append((seg_type, tuple(seg_asns)))
    return tuple(out)


# ---------------------------------------------------------------------------
# Path attributes

next_hops = st.tuples(st.integers(1, 223), U8, U8, U8).map(bytes)
ipv4_addresses = st.binary(min_size=4, max_size=4)
_KNOWN_CODES = set(TABLE) | {14, 15}
unknown_codes = st.integers(0, 255).filter(lambda c: c not in _KNOWN_CODES)


@st.composite
def unknown_attributes(draw):
    """Unrecognized optional transitive attributes, one per type code."""
    codes = draw(st.lists(unknown_codes, max_size=3, unique=True))
    out = []
    for code in codes:
        flags = draw(st.sampled_from([0xC0, 0xE0]))
        value = draw(st.one_of(st.binary(max_size=12), st.binary(min_size=256, max_size=300)))
        out.append((flags, code, value))
    return tuple(out)


ATTRIBUTE_FIELDS = {
    "origin": st.sampled_from([0, 1, 2]),
    "as_path": as_paths,
    "next_hop": next_hops,
    "med": U32,
    "local_pref": U32,
    "communities": st.lists(U32, min_size=1, max_size=5).map(tuple),
    "atomic_aggregate": st.just(True),
    "aggregator": st.tuples(asns, ipv4_addresses),
    "originator_id": U32,
    "cluster_list": st.lists(U32, min_size=1, max_size=4).map(tuple),
    "ext_communities": st.lists(U64, min_size=1, max_size=4).map(tuple),
    "large_communities": st.lists(st.tuples(U32, U32, U32), min_size=1, max_size=3).map(tuple),
    "otc": U32,
    "unknown": unknown_attributes().filter(bool),
}


@st.composite
def attribute_fields(draw, mandatory=("origin", "as_path", "next_hop"), as_path=None):
    """A dict for ``make_attributes``: the mandatory fields and any subset
    of the others."""
    out = {}
    for name, strategy in ATTRIBUTE_FIELDS.items():
        if name == "as_path" and as_path is not None:
            strategy = as_path
        if name in mandatory or draw(st.booleans()):
            out[name] = draw(strategy)
    return out


# ---------------------------------------------------------------------------
# Capabilities and OPEN

_afi = st.sampled_from([1, 2, 25, 16388])
_safi = st.sampled_from([1, 2, 4, 128, 133])
_short_text = st.text(max_size=40)

CAPABILITY_STRATEGIES = {
    caps.Multiprotocol: st.builds(caps.Multiprotocol, _afi, _safi),
    caps.RouteRefresh: st.builds(caps.RouteRefresh),
    caps.RouteRefreshOld: st.builds(caps.RouteRefreshOld),
    caps.EnhancedRouteRefresh: st.builds(caps.EnhancedRouteRefresh),
    caps.ExtendedMessage: st.builds(caps.ExtendedMessage),
    caps.FourOctetAS: st.builds(caps.FourOctetAS, U32),
    caps.GracefulRestart: st.builds(
        caps.GracefulRestart, st.integers(0, 4095), st.booleans(), st.booleans(),
        st.lists(st.tuples(_afi, _safi, st.booleans()), max_size=4).map(tuple)),
    caps.AddPath: st.builds(
        caps.AddPath, st.lists(st.tuples(_afi, _safi, st.integers(1, 3)),
                               min_size=1, max_size=4).map(tuple)),
    caps.ExtendedNextHop: st.builds(
        caps.ExtendedNextHop, st.lists(st.tuples(_afi, _safi, st.sampled_from([1, 2])),
                                       max_size=4).map(tuple)),
    caps.Fqdn: st.builds(caps.Fqdn, _short_text, _short_text),
    caps.BgpRole: st.builds(caps.BgpRole, U8),
    caps.LongLivedGracefulRestart: st.builds(
        caps.LongLivedGracefulRestart,
        st.lists(st.tuples(_afi, _safi, st.booleans(), st.integers(0, 2**24 - 1)),
                 max_size=4).map(tuple)),
    caps.UnknownCapability: st.builds(
        caps.UnknownCapability,
        st.integers(0, 255).filter(lambda c: c not in caps.CAPABILITIES),
        st.binary(max_size=20)),
}
capabilities = st.one_of(*CAPABILITY_STRATEGIES.values())

hold_times = st.one_of(st.just(0), st.integers(3, 0xFFFF))
bgp_ids = st.integers(1, 0xFFFFFFFF)


def opens(capability=capabilities, max_caps: int = 8):
    return st.builds(Open, st.just(4), U16, hold_times, bgp_ids,
                     st.lists(capability, max_size=max_caps).map(tuple))


notifications = st.builds(Notification, U8, U8, st.binary(max_size=40))
route_refreshes = st.builds(RouteRefresh, U16, U8, st.sampled_from([0, 1, 2]))

# ---------------------------------------------------------------------------
# Whole valid messages (bytes), with the codec that reads them back

codec_options = st.fixed_dictionaries({
    "four_octet": st.booleans(),
    "add_path": st.booleans(),
})


def make_codec(four_octet: bool, add_path: bool, max_size: int = 4096) -> UpdateCodec:
    fams = frozenset((IPV4_UNICAST, IPV6_UNICAST)) if add_path else frozenset()
    return UpdateCodec(four_octet=four_octet, add_path_rx=fams, add_path_tx=fams,
                       max_size=max_size)


def _random_path(rng):
    return tuple((rng.choice((1, 2, 2, 2, 3, 4)),
                  tuple(rng.choice((rng.randrange(0x10000), rng.randrange(2**32)))
                        for _ in range(rng.randint(1, 5))))
                 for _ in range(rng.randint(0, 3)))


def _random_key(rng, afi):
    bits = 32 if afi == AFI.IPV4 else 128
    plen = rng.randint(0, bits)
    addr = rng.getrandbits(bits) & ~((1 << (bits - plen)) - 1)
    return bytes([plen]) + addr.to_bytes(bits // 8, "big")[:(plen + 7) // 8]


def _random_fields(rng, afi):
    u32 = lambda: rng.getrandbits(32)                     # noqa: E731
    fields = {"origin": rng.randrange(3), "as_path": _random_path(rng)}
    if afi == AFI.IPV4:
        fields["next_hop"] = bytes([rng.randint(1, 223)]) + rng.randbytes(3)
    optional = {
        "med": u32, "local_pref": u32, "atomic_aggregate": lambda: True,
        "communities": lambda: tuple(u32() for _ in range(rng.randint(1, 4))),
        "aggregator": lambda: (rng.choice((rng.randrange(0x10000), u32())), rng.randbytes(4)),
        "originator_id": u32, "cluster_list": lambda: (u32(), u32()),
        "ext_communities": lambda: (rng.getrandbits(64),),
        "large_communities": lambda: ((u32(), u32(), u32()),), "otc": u32,
        "unknown": lambda: ((0xC0, rng.choice((99, 200, 250)), rng.randbytes(rng.randint(0, 9))),),
    }
    for name, value in optional.items():
        if rng.random() < 0.3:
            fields[name] = value()
    return fields


def _random_update(rng, codec):
    family = rng.choice((IPV4_UNICAST, IPV6_UNICAST))
    afi = family[0]
    ap = family in codec.add_path_tx

    def keys(n):
        return [(rng.getrandbits(32), _random_key(rng, afi)) if ap else _random_key(rng, afi)
                for _ in range(n)]
    nlri, withdrawn = keys(rng.randint(0, 4)), keys(rng.choice((0, 0, 1, 3)))
    msgs = codec.encode(make_attributes(**_random_fields(rng, afi)), nlri, withdrawn, family,
                        rng.randbytes(rng.choice((16, 32))))
    return rng.choice(msgs) if msgs else end_of_rib(*family)


def _random_other(rng):
    kind = rng.randrange(4)
    if kind == 0:
        cap_list = [rng.choice((
            lambda: caps.Multiprotocol(rng.choice((1, 2)), 1), caps.RouteRefresh,
            caps.EnhancedRouteRefresh, caps.ExtendedMessage,
            lambda: caps.FourOctetAS(rng.getrandbits(32)),
            lambda: caps.GracefulRestart(120, False, True, ((1, 1, True),)),
            lambda: caps.AddPath(((1, 1, 3), (2, 1, 1))),
            lambda: caps.ExtendedNextHop(((1, 1, 2),)), lambda: caps.Fqdn("node", "lab"),
            lambda: caps.BgpRole(rng.randrange(5)),
            lambda: caps.LongLivedGracefulRestart(((1, 1, True, 3600),)),
            lambda: caps.UnknownCapability(rng.choice((200, 240)), rng.randbytes(4)),
        ))() for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.1:      # RFC 9072 extended parameters
            cap_list += [caps.UnknownCapability(201, rng.randbytes(120))] * 3
        msg = Open(4, rng.getrandbits(16), rng.choice((0, 3, 90, 240)),
                   rng.randint(1, 2**32 - 1), tuple(cap_list))
    elif kind == 1:
        msg = Notification(rng.randint(1, 8), rng.randrange(12), rng.randbytes(rng.randint(0, 9)))
    elif kind == 2:
        msg = KEEPALIVE
    else:
        msg = RouteRefresh(rng.choice((1, 2)), 1, rng.randrange(3))
    return encode(msg)


def _message_pool(seed: int = 4271, per_codec: int = 150):
    """Valid messages of every type, for each combination of session
    options, built once from a fixed seed: ``[(options, message), ...]``."""
    rng = random.Random(seed)
    pool = []
    for four_octet in (True, False):
        for add_path in (False, True):
            options = {"four_octet": four_octet, "add_path": add_path}
            codec = make_codec(**options)
            for _ in range(per_codec):
                data = _random_update(rng, codec) if rng.random() < 0.6 else _random_other(rng)
                pool.append((options, data))
    return pool


MESSAGE_POOL = _message_pool()


# ---------------------------------------------------------------------------
# Where the length fields of a valid message are: (offset, size) pairs.


def length_fields(data: bytes) -> list[tuple[int, int]]:
    out = [(16, 2)]
    mtype = data[18]
    if mtype == 1:
        out += _open_lengths(data)
    elif mtype == 2:
        out += _update_lengths(data)
    return out


def _open_lengths(data: bytes) -> list[tuple[int, int]]:
    out = [(28, 1)]
    end = len(data)
    if data[28] == 255 and data[29] == 255:
        out.append((30, 2))
        p, hdr = 32, 3
    else:
        p, hdr = 29, 2
    while p < end:
        out.append((p + 1, hdr - 1))
        plen = int.from_bytes(data[p + 1:p + hdr], "big")
        q = p + hdr
        pend = q + plen
        if data[p] == 2:
            while q < pend:
                out.append((q + 1, 1))
                q += 2 + data[q + 1]
        p = pend
    return out


def _update_lengths(data: bytes) -> list[tuple[int, int]]:
    out = [(19, 2)]
    wlen = int.from_bytes(data[19:21], "big")
    a = 21 + wlen
    out.append((a, 2))
    alen = int.from_bytes(data[a:a + 2], "big")
    p = a + 2
    end = p + alen
    while p < end:
        flags, code = data[p], data[p + 1]
        size = 2 if flags & 0x10 else 1
        out.append((p + 2, size))
        vstart = p + 2 + size
        vlen = int.from_bytes(data[p + 2:vstart], "big")
        if code == 14:
            out.append((vstart + 3, 1))          # next hop length
        p = vstart + vlen
    return out
