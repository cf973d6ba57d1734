"""Writing export changes straight into a received attribute block.

``transform`` says which attributes change on export (a prepended AS_PATH,
our NEXT_HOP, LOCAL_PREF added or dropped, ORIGINATOR_ID and CLUSTER_LIST).
Building a whole new ``Attributes`` with ``replace()`` for each of the
hundreds of thousands of attribute sets of a full table re-encodes every
attribute; ``block`` instead copies the received block's attributes as they
are and encodes only the changed ones, with the codec's own row encoders
(``wire.attributes.TABLE_BY_FIELD``), in type-code order.  For a block in
canonical order the result is byte for byte what ``replace().wire()``
gives (the tests check it).

It applies when the block is already what we would send: 4-octet ASNs on
both sides and nothing dropped or repaired when it was decoded
(``Attributes.clean``).  Otherwise (a 2-octet session on either side, RFC
6793; a block with malformed or unknown attributes) it falls back to
``replace()`` and ``wire(four_octet)``.
"""

from __future__ import annotations

import struct

from wire.aspath import prepend
from wire.attributes import TABLE_BY_FIELD
from wire.constants import AttrType

# Fields whose empty value means "absent" (as in wire.attributes).
_LIST_FIELDS = frozenset(("communities", "cluster_list", "ext_communities",
                          "large_communities"))
_EXTENDED_LENGTH = 0x10
_AS_SEQUENCE = 2
_FLAGS = {spec.code: int(spec.flags) for spec in TABLE_BY_FIELD.values()}
_u32 = struct.Struct("!I").pack


class Prepend:
    """A change of AS_PATH that prepends ``asn`` once (RFC 4271 5.1.2):
    done on the encoded path, without decoding it."""

    __slots__ = ("asn",)

    def __init__(self, asn: int):
        self.asn = asn

    def __eq__(self, other) -> bool:
        return other.__class__ is Prepend and other.asn == self.asn

    def __hash__(self) -> int:
        return hash(("prepend", self.asn))

    def __repr__(self) -> str:
        return f"Prepend({self.asn})"

    def apply(self, as_path) -> tuple:
        """The decoded path with the AS prepended."""
        return prepend(as_path or (), self.asn)

    def wire(self, value: bytes) -> bytes:
        """The 4-octet AS_PATH value with the AS prepended: into the leading
        AS_SEQUENCE while it has room for one more, else a new segment
        (as ``wire.aspath.prepend`` does)."""
        asn = _u32(self.asn)
        if value and value[0] == _AS_SEQUENCE and value[1] < 255:
            return bytes((_AS_SEQUENCE, value[1] + 1)) + asn + value[2:]
        return bytes((_AS_SEQUENCE, 1)) + asn + value


class _One:
    """One field, readable by the codec's row encoders."""

    def __init__(self, field: str, value):
        setattr(self, field, value)


def _header(code: int, n: int) -> bytes:
    flags = _FLAGS[code]
    if n > 255:
        return bytes((flags | _EXTENDED_LENGTH, code, n >> 8, n & 0xFF))
    return bytes((flags, code, n))


# The values that change on every export, encoded directly; the others go
# through the codec's row encoders.
_DIRECT = {
    AttrType.NEXT_HOP: lambda v: v,
    AttrType.LOCAL_PREF: _u32,
    AttrType.MULTI_EXIT_DISC: _u32,
    AttrType.ORIGINATOR_ID: _u32,
    AttrType.CLUSTER_LIST: lambda v: struct.pack(f"!{len(v)}I", *v),
}


def _tlv(spec, value) -> bytes:
    """One attribute, header included (extended length when needed)."""
    direct = _DIRECT.get(spec.code)
    data = direct(value) if direct is not None else spec.encode(_One(spec.field, value), True)
    return _header(spec.code, len(data)) + data


def _edits(changes: dict) -> dict:
    """``{type code: attribute bytes, or b"" to drop it}``; a ``Prepend``
    stays as it is, to be applied to the received AS_PATH."""
    out = {}
    for field, value in changes.items():
        spec = TABLE_BY_FIELD[field]
        if value is None or value is False or (value == () and field in _LIST_FIELDS):
            out[spec.code] = b""
        elif value.__class__ is Prepend:
            out[spec.code] = value
        else:
            out[spec.code] = _tlv(spec, value)
    return out


def _new(code, tlv) -> bytes:
    """An attribute the block does not have yet."""
    if tlv.__class__ is Prepend:
        value = tlv.wire(b"")
        return _header(code, len(value)) + value
    return tlv


def rewrite(raw: bytes, changes: dict) -> bytes | None:
    """The 4-octet attribute block ``raw`` with ``changes`` (field -> new
    value, None to remove) applied, or None when ``raw`` is not in
    type-code order (the caller re-encodes).  Runs of unchanged attributes
    are copied as they are."""
    edits = sorted(_edits(changes).items())
    m = len(edits)
    out = []
    j = 0
    i, n = 0, len(raw)
    run = 0                     # start of the unchanged run being copied
    last = -1
    while i < n:
        code = raw[i + 1]
        if raw[i] & _EXTENDED_LENGTH:
            head = 4
            end = i + 4 + (raw[i + 2] << 8 | raw[i + 3])
        else:
            head = 3
            end = i + 3 + raw[i + 2]
        if code <= last:
            return None
        last = code
        if j < m and edits[j][0] <= code:
            if run < i:
                out.append(raw[run:i])
            while j < m and edits[j][0] < code:
                c, tlv = edits[j]
                if tlv:
                    out.append(_new(c, tlv))
                j += 1
            if j < m and edits[j][0] == code:
                tlv = edits[j][1]
                j += 1
                if tlv.__class__ is Prepend:
                    value = tlv.wire(raw[i + head:end])
                    out.append(_header(code, len(value)) + value)
                elif tlv:
                    out.append(tlv)
                run = end
            else:
                run = i
        i = end
    if run < n:
        out.append(raw[run:n])
    while j < m:
        c, tlv = edits[j]
        if tlv:
            out.append(_new(c, tlv))
        j += 1
    return b"".join(out)


def resolve(attrs, changes: dict) -> dict:
    """The changes with every ``Prepend`` turned into the whole new value,
    for ``Attributes.replace()``."""
    if any(v.__class__ is Prepend for v in changes.values()):
        return {k: (v.apply(getattr(attrs, k)) if v.__class__ is Prepend else v)
                for k, v in changes.items()}
    return changes


def block(attrs, changes: dict, four_octet: bool) -> bytes:
    """The attribute block to send: ``attrs`` with ``changes``, encoded for
    a session with the given ASN width."""
    if not changes:
        return attrs.wire(four_octet)
    if four_octet and attrs.four_octet and attrs.clean:
        data = rewrite(attrs.raw, changes)
        if data is not None:
            return data
    return attrs.replace(**resolve(attrs, changes)).wire(four_octet)
