"""Path attributes (RFC 4271 section 4.3 and 5), one table row per type.

Each row (``AttrSpec``) says the attribute's name, its expected Optional and
Transitive flags, how to decode and encode its value, how to show it, and
the RFC 7606 action for a malformed one.  ``decode_attributes`` walks an
attribute block once; everything the decision process reads on every
comparison (ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF) is decoded at once,
and the list-valued attributes that are only needed by policy or display
(communities of all three kinds, CLUSTER_LIST) are validated by length and
decoded on first use.

An attribute set is immutable and *interned by its bytes*: an UPDATE's block
is looked up in an ``AttributeCache`` before anything is decoded, so every
prefix (and every peer with the same session options) that carries the same
block shares one ``Attributes`` object.

MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760) carry NLRI, not path
attributes: ``decode_attributes`` hands their values back separately, and the
set is interned by the block with them cut out.

2-octet sessions (RFC 6793): AS_PATH/AGGREGATOR are decoded with 2-octet
ASNs and rebuilt from AS4_PATH/AS4_AGGREGATOR, so ``as_path`` is always the
4-octet path; encoding for such a session writes AS_TRANS and the AS4_
attributes again.
"""

from __future__ import annotations

import struct

from . import aspath as _aspath
from .aspath import AsPathError, decode_as_path, encode_as_path
from .communities import (community_text, decode_communities,
                          decode_ext_communities, decode_large_communities,
                          encode_communities, encode_ext_communities,
                          encode_large_communities, ext_community_text,
                          large_community_text)
from .constants import AS_TRANS, AttrFlag, AttrType, ErrorCode, Origin, UpdateSubcode
from .errors import Action, AttributeProblem, WireError

OPTIONAL = AttrFlag.OPTIONAL
TRANSITIVE = AttrFlag.TRANSITIVE
PARTIAL = AttrFlag.PARTIAL
EXTENDED_LENGTH = AttrFlag.EXTENDED_LENGTH

WELL_KNOWN = int(TRANSITIVE)                  # 0x40
OPT_TRANS = int(OPTIONAL | TRANSITIVE)        # 0xC0
OPT_NONTRANS = int(OPTIONAL)                  # 0x80

_MP_CODES = (AttrType.MP_REACH_NLRI, AttrType.MP_UNREACH_NLRI)


class Malformed(ValueError):
    """Raised by a row's decoder; the table row knows the action."""


# Fields that live in the ``rare`` dict of an attribute set rather than in a
# slot of its own: most routes carry none of them.
RARE_FIELDS = ("atomic_aggregate", "aggregator", "originator_id", "cluster_list",
               "ext_communities", "large_communities", "otc", "unknown")
_LAZY = {  # field -> decoder of its stored bytes
    "cluster_list": decode_communities,   # same shape: a list of 32-bit values
    "ext_communities": decode_ext_communities,
    "large_communities": decode_large_communities,
}


class Attributes:
    """One decoded, immutable attribute set.

    ``raw`` is the attribute block (MP attributes cut out) it was decoded
    from or encoded to; ``four_octet`` the ASN width ``raw`` is written in.
    ``problems`` lists the RFC 7606 malformations met while decoding and
    ``action`` the most severe of their actions.
    """

    __slots__ = ("raw", "four_octet", "origin", "_as_path", "next_hop", "med",
                 "local_pref", "_communities", "rare", "problems", "action", "clean", "_out")

    # --- AS_PATH: kept as validated bytes, decoded when read ------------
    @property
    def as_path(self):
        """The AS_PATH as segments.  A 4-octet path is stored as the bytes
        it came in (about half the memory of the decoded tuples, for the
        hundreds of thousands of sets of a full table) and decoded on each
        read; readers that need it often keep what they read."""
        v = self._as_path
        if v.__class__ is int:
            # The offset of the AS_PATH attribute in ``raw`` (small ints
            # cost nothing: CPython shares them).
            raw = self.raw
            if raw[v] & 0x10:
                n = raw[v + 2] << 8 | raw[v + 3]
                return decode_as_path(raw[v + 4:v + 4 + n], True)
            return decode_as_path(raw[v + 3:v + 3 + raw[v + 2]], True)
        if v.__class__ is bytes:
            return decode_as_path(v, True)
        return v

    # --- list-valued attributes, decoded on first use -----------------
    @property
    def communities(self) -> tuple[int, ...]:
        c = self._communities
        if c.__class__ is bytes:
            c = self._communities = decode_communities(c)
        return c

    def _rare(self, name):
        rare = self.rare
        if rare is None:
            return None
        v = rare.get(name)
        if v.__class__ is bytes and name in _LAZY:
            v = rare[name] = _LAZY[name](v)
        return v

    atomic_aggregate = property(lambda self: bool(self._rare("atomic_aggregate")))
    aggregator = property(lambda self: self._rare("aggregator"))
    originator_id = property(lambda self: self._rare("originator_id"))
    cluster_list = property(lambda self: self._rare("cluster_list") or ())
    ext_communities = property(lambda self: self._rare("ext_communities") or ())
    large_communities = property(lambda self: self._rare("large_communities") or ())
    otc = property(lambda self: self._rare("otc"))
    unknown = property(lambda self: self._rare("unknown") or ())

    # --- identity ---------------------------------------------------------
    def __eq__(self, other) -> bool:
        return (other.__class__ is Attributes and self.raw == other.raw
                and self.four_octet == other.four_octet)

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Attributes({self.fields()!r})"

    # --- building ---------------------------------------------------------
    def fields(self) -> dict:
        """Every present attribute as ``{field: value}`` (decoded)."""
        out = {}
        for spec in TABLE_BY_FIELD.values():
            v = getattr(self, spec.field)
            if _present(spec.field, v):
                out[spec.field] = v
        if self.unknown:
            # Unrecognized optional transitive attributes travel on
            # (RFC 4271 section 5): a replace() must not lose them.
            out["unknown"] = self.unknown
        return out

    def replace(self, **changes) -> "Attributes":
        """A new set with some fields changed (None removes one)."""
        f = self.fields()
        f.update(changes)
        return make(four_octet=self.four_octet, **{k: v for k, v in f.items() if v is not None})

    def wire(self, four_octet: bool = True) -> bytes:
        """The block to send on a session with the given ASN width.

        The received bytes are reused when they can be: same ASN width and
        nothing was dropped, repaired or needs its Partial bit set."""
        if four_octet == self.four_octet and self.clean:
            return self.raw
        out = self._out
        if out is not None and out[0] == four_octet:
            return out[1]
        data = encode_fields(self, four_octet)
        self._out = (four_octet, data)
        return data


# Fields whose empty value means "absent"; an empty AS_PATH is a real value.
_LIST_FIELDS = frozenset(("communities", "cluster_list", "ext_communities",
                          "large_communities", "unknown"))


def _present(field: str, v) -> bool:
    if v is None or v is False:
        return False
    return not (v == () and field in _LIST_FIELDS)


def _new_attributes(raw: bytes, four_octet: bool) -> Attributes:
    a = Attributes.__new__(Attributes)
    a.raw = raw
    a.four_octet = four_octet
    a.origin = None
    a._as_path = None
    a.next_hop = None
    a.med = None
    a.local_pref = None
    a._communities = ()
    a.rare = None
    a.problems = ()
    a.action = Action.NONE
    a.clean = True
    a._out = None
    return a


def _set_rare(a: Attributes, name: str, value) -> None:
    if a.rare is None:
        a.rare = {name: value}
    else:
        a.rare[name] = value


class AttrSpec:
    """One row of the attribute table."""

    __slots__ = ("code", "name", "flags", "field", "decode", "encode", "show",
                 "on_error", "on_flags_error")

    def __init__(self, code, flags, field, decode, encode, show,
                 on_error=Action.TREAT_AS_WITHDRAW, on_flags_error=Action.TREAT_AS_WITHDRAW):
        self.code = code
        self.name = AttrType(code).name
        self.flags = flags
        self.field = field
        self.decode = decode
        self.encode = encode
        self.show = show
        self.on_error = on_error
        self.on_flags_error = on_flags_error


# ---------------------------------------------------------------------------
# Row functions.  decode(a, value, four_octet) sets the field or raises
# Malformed; encode(a, four_octet) returns the value bytes or None.

_U32 = struct.Struct("!I")
_unpack_u32 = _U32.unpack
_pack_u32 = _U32.pack


def _dec_origin(a, v, w):
    if len(v) != 1:
        raise Malformed(f"ORIGIN length {len(v)} != 1")
    if v[0] > 2:
        raise Malformed(f"ORIGIN value {v[0]} undefined")
    a.origin = v[0]


def _dec_as_path(a, v, four_octet):
    if four_octet:
        # One AS_SEQUENCE is nearly every path: valid by its length alone.
        if not (len(v) > 2 and v[0] == 2 and v[1] and len(v) == 2 + 4 * v[1]) and v:
            try:
                decode_as_path(v, True)
            except AsPathError as e:
                raise Malformed(f"AS_PATH {e}") from None
        a._as_path = v
        return
    try:
        a._as_path = decode_as_path(v, four_octet)
    except AsPathError as e:
        raise Malformed(f"AS_PATH {e}") from None


def _dec_next_hop(a, v, w):
    if len(v) != 4:
        raise Malformed(f"NEXT_HOP length {len(v)} != 4")
    # RFC 4271 section 6.3: a next hop that can never be valid.
    if v[0] >= 224 or v == b"\0\0\0\0":
        raise Malformed(f"NEXT_HOP {v[0]}.{v[1]}.{v[2]}.{v[3]} is not a unicast address")
    a.next_hop = v


def _dec_med(a, v, w):
    if len(v) != 4:
        raise Malformed(f"MULTI_EXIT_DISC length {len(v)} != 4")
    a.med = _unpack_u32(v)[0]


def _dec_local_pref(a, v, w):
    if len(v) != 4:
        raise Malformed(f"LOCAL_PREF length {len(v)} != 4")
    a.local_pref = _unpack_u32(v)[0]


def _dec_atomic(a, v, w):
    if v:
        raise Malformed(f"ATOMIC_AGGREGATE length {len(v)} != 0")
    _set_rare(a, "atomic_aggregate", True)


def _dec_aggregator(a, v, four_octet):
    want = 8 if four_octet else 6
    if len(v) != want:
        raise Malformed(f"AGGREGATOR length {len(v)} != {want}")
    asn = int.from_bytes(v[:-4], "big")
    _set_rare(a, "aggregator", (asn, v[-4:]))


def _dec_list(field, unit, name):
    def dec(a, v, w):
        if not v or len(v) % unit:
            raise Malformed(f"{name} length {len(v)} is not a non-zero multiple of {unit}")
        if field == "communities":
            a._communities = v      # decoded on first use
        else:
            _set_rare(a, field, v)
    return dec


def _dec_originator(a, v, w):
    if len(v) != 4:
        raise Malformed(f"ORIGINATOR_ID length {len(v)} != 4")
    _set_rare(a, "originator_id", _unpack_u32(v)[0])


def _dec_as4_path(a, v, w):
    try:
        path = decode_as_path(v, True)
    except AsPathError as e:
        raise Malformed(f"AS4_PATH {e}") from None
    _set_rare(a, "as4_path", path)


def _dec_as4_aggregator(a, v, w):
    if len(v) != 8:
        raise Malformed(f"AS4_AGGREGATOR length {len(v)} != 8")
    _set_rare(a, "as4_aggregator", (int.from_bytes(v[:4], "big"), v[4:]))


def _dec_otc(a, v, w):
    if len(v) != 4:
        raise Malformed(f"OTC length {len(v)} != 4")
    _set_rare(a, "otc", _unpack_u32(v)[0])


def _enc_origin(a, w):
    return None if a.origin is None else bytes([a.origin])


def _enc_as_path(a, four_octet):
    if a.as_path is None:
        return None
    return encode_as_path(a.as_path, four_octet)


def _enc_next_hop(a, w):
    return a.next_hop


def _enc_u32(field):
    def enc(a, w):
        v = getattr(a, field)
        return None if v is None else _pack_u32(v)
    return enc


def _enc_atomic(a, w):
    return b"" if a.atomic_aggregate else None


def _enc_aggregator(a, four_octet):
    agg = a.aggregator
    if agg is None:
        return None
    asn, ip = agg
    if four_octet:
        return asn.to_bytes(4, "big") + ip
    return (asn if asn <= 0xFFFF else AS_TRANS).to_bytes(2, "big") + ip


def _enc_list(field, encoder):
    def enc(a, w):
        v = getattr(a, field)
        return encoder(v) if v else None
    return enc


def _enc_as4_path(a, four_octet):
    # Only towards a 2-octet speaker, and only when the path needs it
    # (RFC 6793 section 4.2.2); confederation segments are left out.
    if four_octet or a.as_path is None or not _aspath.needs_as4(a.as_path):
        return None
    return encode_as_path(_aspath.without_confed(a.as_path), True)


def _enc_as4_aggregator(a, four_octet):
    agg = a.aggregator
    if four_octet or agg is None or agg[0] <= 0xFFFF:
        return None
    return agg[0].to_bytes(4, "big") + agg[1]


def _ip(v: bytes) -> str:
    return ".".join(str(b) for b in v)


def _show_aggregator(v):
    return {"asn": v[0], "address": _ip(v[1])}


def _show_id(v):
    return _ip(_pack_u32(v))


_ORIGIN_NAMES = {o.value: o.name for o in Origin}

TABLE: dict[int, AttrSpec] = {spec.code: spec for spec in (
    AttrSpec(AttrType.ORIGIN, WELL_KNOWN, "origin", _dec_origin, _enc_origin,
             lambda v: _ORIGIN_NAMES[v]),
    AttrSpec(AttrType.AS_PATH, WELL_KNOWN, "as_path", _dec_as_path, _enc_as_path,
             lambda v: [{"type": _aspath.SegmentType(t).name, "asns": list(asns)}
                        for t, asns in v]),
    AttrSpec(AttrType.NEXT_HOP, WELL_KNOWN, "next_hop", _dec_next_hop, _enc_next_hop, _ip),
    AttrSpec(AttrType.MULTI_EXIT_DISC, OPT_NONTRANS, "med", _dec_med,
             _enc_u32("med"), int),
    AttrSpec(AttrType.LOCAL_PREF, WELL_KNOWN, "local_pref", _dec_local_pref,
             _enc_u32("local_pref"), int),
    # RFC 7606 section 7.6/7.7: a malformed ATOMIC_AGGREGATE or AGGREGATOR
    # changes nothing about reachability: discard it.
    AttrSpec(AttrType.ATOMIC_AGGREGATE, WELL_KNOWN, "atomic_aggregate", _dec_atomic, _enc_atomic,
             bool, on_error=Action.ATTRIBUTE_DISCARD),
    AttrSpec(AttrType.AGGREGATOR, OPT_TRANS, "aggregator", _dec_aggregator, _enc_aggregator,
             _show_aggregator, on_error=Action.ATTRIBUTE_DISCARD),
    AttrSpec(AttrType.COMMUNITIES, OPT_TRANS, "communities",
             _dec_list("communities", 4, "COMMUNITIES"),
             _enc_list("communities", encode_communities),
             lambda v: [community_text(c) for c in v]),
    AttrSpec(AttrType.ORIGINATOR_ID, OPT_NONTRANS, "originator_id", _dec_originator,
             _enc_u32("originator_id"), _show_id),
    AttrSpec(AttrType.CLUSTER_LIST, OPT_NONTRANS, "cluster_list",
             _dec_list("cluster_list", 4, "CLUSTER_LIST"),
             _enc_list("cluster_list", encode_communities),
             lambda v: [_show_id(c) for c in v]),
    AttrSpec(AttrType.EXTENDED_COMMUNITIES, OPT_TRANS, "ext_communities",
             _dec_list("ext_communities", 8, "EXTENDED_COMMUNITIES"),
             _enc_list("ext_communities", encode_ext_communities),
             lambda v: [ext_community_text(c) for c in v]),
    # RFC 6793 section 6: malformed AS4_ attributes are discarded.
    AttrSpec(AttrType.AS4_PATH, OPT_TRANS, "as4_path", _dec_as4_path, _enc_as4_path,
             None, on_error=Action.ATTRIBUTE_DISCARD, on_flags_error=Action.ATTRIBUTE_DISCARD),
    AttrSpec(AttrType.AS4_AGGREGATOR, OPT_TRANS, "as4_aggregator", _dec_as4_aggregator,
             _enc_as4_aggregator, None, on_error=Action.ATTRIBUTE_DISCARD,
             on_flags_error=Action.ATTRIBUTE_DISCARD),
    AttrSpec(AttrType.LARGE_COMMUNITY, OPT_TRANS, "large_communities",
             _dec_list("large_communities", 12, "LARGE_COMMUNITY"),
             _enc_list("large_communities", encode_large_communities),
             lambda v: [large_community_text(c) for c in v]),
    AttrSpec(AttrType.OTC, OPT_TRANS, "otc", _dec_otc, _enc_u32("otc"), int),
)}

# The decoder's view of the table: (expected flags, decode, row) by type code,
# a list so that the per-attribute lookup is one index.
_ROWS: list = [None] * 256
for _spec in TABLE.values():
    _ROWS[_spec.code] = (_spec.flags, _spec.decode, _spec)

# Rows by the field they fill, in type-code order (the order we encode in).
TABLE_BY_FIELD = {spec.field: spec for spec in sorted(TABLE.values(), key=lambda s: s.code)
                  if spec.field not in ("as4_path", "as4_aggregator")}


# ---------------------------------------------------------------------------
# Decoding

def _attr_error(subcode: int, block: bytes, start: int, end: int, reason: str) -> WireError:
    return WireError(Action.SESSION_RESET, ErrorCode.UPDATE_MESSAGE, subcode,
                     block[start:end], reason)


def decode_attributes(block: bytes, four_octet: bool = True):
    """Decode one attribute block.

    Returns ``(attributes, mp_reach, mp_unreach)``: the two MP attributes'
    values (or None) are handed back undecoded.  ``attributes.raw`` is the
    block with the MP attributes cut out.  Raises WireError only for the
    malformations RFC 7606 still answers with a session reset.
    """
    a = _new_attributes(block, four_octet)
    problems = None
    mp_reach = mp_unreach = None
    cuts = None
    seen = 0
    rows = _ROWS
    i = 0
    n = len(block)
    while i < n:
        start = i
        if n - i < 3:
            problems = _add(problems, Action.TREAT_AS_WITHDRAW, 0,
                            "truncated attribute header at the end of the block")
            break
        flags = block[i]
        code = block[i + 1]
        if flags & 0x10:
            if n - i < 4:
                problems = _add(problems, Action.TREAT_AS_WITHDRAW, code,
                                "truncated extended-length attribute header")
                break
            end = i + 4 + (block[i + 2] << 8 | block[i + 3])
            value = block[i + 4:end]
        else:
            end = i + 3 + block[i + 2]
            value = block[i + 3:end]
        if end > n:
            # RFC 7606 section 4: the attribute overruns the block.
            problems = _add(problems, Action.TREAT_AS_WITHDRAW, code,
                            f"attribute type {code} overruns the attribute block")
            break
        i = end
        bit = 1 << code
        if seen & bit:
            if code in _MP_CODES:
                raise _attr_error(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, block, start, end,
                                  f"{AttrType(code).name} appears twice")
            # RFC 7606 section 3 g: keep the first, discard the rest.
            problems = _add(problems, Action.ATTRIBUTE_DISCARD, code,
                            f"attribute type {code} repeated; later copies ignored")
            continue
        seen |= bit
        row = rows[code]
        if row is None:
            if code in _MP_CODES:
                if flags & 0xC0 != OPT_NONTRANS:
                    raise _attr_error(UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, block, start, end,
                                      f"{AttrType(code).name} flags 0x{flags:02x}")
                if code == AttrType.MP_REACH_NLRI:
                    mp_reach = value
                else:
                    mp_unreach = value
                if cuts is None:
                    cuts = []
                cuts.append((start, end))
                continue
            if not flags & 0x80:
                # RFC 4271 6.3: an unrecognized well-known attribute.
                raise _attr_error(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                                  block, start, end,
                                  f"unrecognized well-known attribute type {code}")
            if flags & 0x40:
                # Unknown optional transitive: carried on with Partial set.
                # Extended Length and the unused low bits are wire details,
                # redone when encoding.
                unknown = a._rare("unknown") or ()
                _set_rare(a, "unknown", unknown + ((flags & 0xE0 | PARTIAL, code, value),))
                if not flags & PARTIAL:
                    a.clean = False      # re-encode before sending (Partial bit)
            else:
                # Unknown optional non-transitive: quietly dropped.
                a.clean = False
            continue
        if flags & 0xC0 != row[0]:
            spec = row[2]
            problems = _add(problems, spec.on_flags_error, code,
                            f"{spec.name} flags 0x{flags:02x}, expected 0x{spec.flags:02x}")
            a.clean = False
            continue
        try:
            row[1](a, value, four_octet)
            if code == 2 and four_octet and start < 256:
                a._as_path = start      # see Attributes.as_path
        except Malformed as e:
            problems = _add(problems, row[2].on_error, code, str(e))
            a.clean = False
    if cuts:
        if a._as_path.__class__ is int:
            # The block is rebuilt without its MP attributes: offsets move.
            off = a._as_path
            n = (block[off + 2] << 8 | block[off + 3]) if block[off] & 0x10 else block[off + 2]
            hdr = 4 if block[off] & 0x10 else 3
            a._as_path = block[off + hdr:off + hdr + n]
        parts = []
        pos = 0
        for s, e in cuts:
            parts.append(block[pos:s])
            pos = e
        parts.append(block[pos:])
        a.raw = b"".join(parts)
    if not four_octet:
        _rebuild_as4(a)
    elif a.rare is not None and ("as4_path" in a.rare or "as4_aggregator" in a.rare):
        # RFC 6793 section 3: between 4-octet speakers these are ignored.
        a.rare.pop("as4_path", None)
        a.rare.pop("as4_aggregator", None)
        problems = _add(problems, Action.ATTRIBUTE_DISCARD, AttrType.AS4_PATH,
                        "AS4_PATH/AS4_AGGREGATOR from a 4-octet speaker ignored")
        a.clean = False
    if problems:
        a.problems = tuple(problems)
        a.action = max(p.action for p in problems)
        a.clean = False
    return a, mp_reach, mp_unreach


def _add(problems, action, code, reason):
    if problems is None:
        problems = []
    problems.append(AttributeProblem(action, code, reason))
    return problems


def _rebuild_as4(a: Attributes) -> None:
    """RFC 6793 section 4.2.3 for a route from a 2-octet speaker."""
    rare = a.rare
    if rare is None:
        return
    as4_path = rare.pop("as4_path", None)
    as4_agg = rare.pop("as4_aggregator", None)
    if as4_path is None and as4_agg is None:
        return
    a.clean = False
    agg = rare.get("aggregator")
    if agg is not None and as4_agg is not None and agg[0] != AS_TRANS:
        # Both aggregators came and the AGGREGATOR is a real 2-octet AS: a
        # 2-octet speaker aggregated after the last 4-octet one, so the AS4_
        # attributes are stale.  Without an AS4_AGGREGATOR the AS4_PATH is
        # used as usual (RFC 6793 section 4.2.3: "when both ... are received").
        return
    if as4_agg is not None and agg is not None:
        rare["aggregator"] = as4_agg
    if as4_path is not None and a.as_path is not None:
        a._as_path = _aspath.merge_as4_path(a.as_path, as4_path)


# ---------------------------------------------------------------------------
# Encoding

def _header(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | EXTENDED_LENGTH, code, len(value))
    return struct.pack("!BBB", flags & ~EXTENDED_LENGTH & 0xFF, code, len(value))


def encode_fields(a, four_octet: bool = True) -> bytes:
    """Encode an attribute set field by field, in type-code order."""
    out = []
    unknown = sorted(a.unknown, key=lambda u: u[1]) if a.rare else []
    for spec in sorted(TABLE.values(), key=lambda s: s.code):
        while unknown and unknown[0][1] < spec.code:
            flags, code, value = unknown.pop(0)
            out.append(_header(flags, code, value) + value)
        value = spec.encode(a, four_octet)
        if value is not None:
            out.append(_header(spec.flags, spec.code, value) + value)
    for flags, code, value in unknown:
        out.append(_header(flags, code, value) + value)
    return b"".join(out)


class _Fields:
    """A plain holder that the row encoders can read like an Attributes."""

    def __init__(self, fields: dict):
        self.__dict__.update({f: None for f in TABLE_BY_FIELD})
        self.__dict__.update(fields)
        for lst in ("communities", "cluster_list", "ext_communities",
                    "large_communities", "unknown"):
            if self.__dict__.get(lst) is None:
                self.__dict__[lst] = ()
        self.rare = True


def make(four_octet: bool = True, **fields) -> Attributes:
    """Build an attribute set from field values (as ``Attributes.fields()``
    returns them) and encode it once."""
    unknown_fields = set(fields) - set(TABLE_BY_FIELD) - {"unknown"}
    if unknown_fields:
        raise TypeError(f"unknown attribute fields: {sorted(unknown_fields)}")
    holder = _Fields(fields)
    raw = encode_fields(holder, four_octet)
    a = _new_attributes(raw, four_octet)
    a.origin = holder.origin
    a._as_path = holder.as_path
    a.next_hop = holder.next_hop
    a.med = holder.med
    a.local_pref = holder.local_pref
    a._communities = tuple(holder.communities)
    for name in RARE_FIELDS:
        v = holder.__dict__.get(name)
        if _present(name, v):
            _set_rare(a, name, tuple(v) if isinstance(v, list) else v)
    return a


class AttributeCache:
    """Interns attribute sets by their bytes for one ASN width.

    Shared by every session with the same width, so that a block that many
    peers send is decoded once and stored once.  Bounded: past ``limit``
    entries it starts afresh (objects already in use stay valid, they are
    just no longer shared with newcomers).
    """

    __slots__ = ("four_octet", "limit", "blocks", "hits", "misses")

    def __init__(self, four_octet: bool = True, limit: int = 4_000_000):
        self.four_octet = four_octet
        self.limit = limit
        self.blocks: dict[bytes, Attributes] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self.blocks)

    def lookup(self, block: bytes):
        """``(attributes, mp_reach, mp_unreach)`` for an attribute block."""
        blocks = self.blocks
        a = blocks.get(block)
        if a is not None:
            return a, None, None
        a, reach, unreach = decode_attributes(block, self.four_octet)
        if len(blocks) >= self.limit:
            blocks.clear()
        if reach is None and unreach is None:
            blocks[block] = a
            return a, None, None
        # Interned by the block without its MP attributes.
        shared = blocks.get(a.raw)
        if shared is None:
            blocks[a.raw] = a
            shared = a
        return shared, reach, unreach


def show(a: Attributes) -> dict:
    """JSON-ready view: ``{ATTRIBUTE_NAME: value}`` in type-code order."""
    out = {}
    for field, spec in TABLE_BY_FIELD.items():
        v = getattr(a, field)
        if not _present(field, v):
            continue
        out[spec.name] = spec.show(v)
    for flags, code, value in a.unknown:
        out[f"UNKNOWN_{code}"] = {"flags": f"0x{flags:02x}", "value": value.hex()}
    return out
