"""UPDATE messages (RFC 4271 section 4.3, RFC 4760, RFC 7911, RFC 7606).

Decoding is the receive hot path: the fixed fields are sliced, the
attribute block is looked up by its bytes in an ``AttributeCache`` (decoded
only the first time it is seen), and the NLRI fields are split into wire
keys without building any address objects.

Error handling follows RFC 7606: a malformed withdrawn-routes or NLRI field,
or lengths that do not add up, reset the session (UPDATE Message Error with
the RFC 4271 subcode); a malformed MP_REACH/MP_UNREACH disables its address
family; attribute malformations become treat-as-withdraw or
attribute-discard, recorded on the returned ``Update``.

Encoding packs as many prefixes into each UPDATE as fit the negotiated
message size, reusing one encoded attribute block for all of them.
"""

from __future__ import annotations

import struct

from .attributes import AttributeCache, Attributes, OPT_NONTRANS
from .constants import (AFI, AttrType, ErrorCode, HEADER_LEN, MARKER,
                        MAX_MESSAGE_LEN, MessageType, UpdateSubcode)
from .errors import Action, AttributeProblem, WireError, update_error
from .nlri import MAX_BITS, NlriError, encode_add_path, split, split_add_path

_KNOWN_SAFIS = (1, 2)       # unicast and multicast share the prefix format
_NH_LENGTHS = {AFI.IPV4: (4, 16, 32), AFI.IPV6: (16, 32)}  # RFC 4760, RFC 8950
IPV4_UNICAST = (1, 1)
_UPDATE_TYPE = bytes([MessageType.UPDATE])
_NONE = ()                  # shared empty prefix list


class MpReach:
    """MP_REACH_NLRI: reachable prefixes of one address family."""

    __slots__ = ("afi", "safi", "next_hop", "nlri", "raw_nlri")

    def __init__(self, afi, safi, next_hop, nlri, raw_nlri=b""):
        self.afi = afi
        self.safi = safi
        self.next_hop = next_hop      # 4, 16 or 32 (global + link-local) octets
        self.nlri = nlri              # keys, or (path_id, key) with add-path; None if unknown
        self.raw_nlri = raw_nlri      # kept for families this codec cannot split

    @property
    def family(self):
        return (self.afi, self.safi)

    def __repr__(self):
        return f"MpReach({self.afi}/{self.safi}, nh={self.next_hop.hex()}, {self.nlri!r})"


class MpUnreach:
    """MP_UNREACH_NLRI: withdrawn prefixes of one address family."""

    __slots__ = ("afi", "safi", "withdrawn", "raw_nlri")

    def __init__(self, afi, safi, withdrawn, raw_nlri=b""):
        self.afi = afi
        self.safi = safi
        self.withdrawn = withdrawn
        self.raw_nlri = raw_nlri

    @property
    def family(self):
        return (self.afi, self.safi)

    def __repr__(self):
        return f"MpUnreach({self.afi}/{self.safi}, {self.withdrawn!r})"


class Update:
    """A decoded UPDATE.

    ``withdrawn``/``nlri`` are the IPv4 unicast fields of the message body;
    ``mp_reach``/``mp_unreach`` carry other families.  ``action`` is the
    most severe RFC 7606 action met (NONE, ATTRIBUTE_DISCARD or
    TREAT_AS_WITHDRAW); with TREAT_AS_WITHDRAW every announced prefix must be
    handled as withdrawn (``withdrawals()`` lists them all).
    """

    __slots__ = ("withdrawn", "attrs", "nlri", "mp_reach", "mp_unreach", "problems", "action")

    type = MessageType.UPDATE

    def __init__(self, withdrawn=(), attrs=None, nlri=(), mp_reach=None, mp_unreach=None,
                 problems=(), action=Action.NONE):
        self.withdrawn = withdrawn
        self.attrs = attrs
        self.nlri = nlri
        self.mp_reach = mp_reach
        self.mp_unreach = mp_unreach
        self.problems = problems
        self.action = action

    @property
    def end_of_rib(self):
        """The family this End-of-RIB marker (RFC 4724 section 2) is for, or None."""
        if self.withdrawn or self.nlri or self.mp_reach is not None:
            return None
        if self.mp_unreach is None:
            return IPV4_UNICAST if self.attrs is None else None
        if not self.mp_unreach.withdrawn and not self.mp_unreach.raw_nlri:
            a = self.attrs
            if a is None or not a.raw:
                return self.mp_unreach.family
        return None

    def withdrawals(self) -> dict:
        """``{family: [keys]}`` of everything this UPDATE takes away, counting
        announcements as withdrawals under treat-as-withdraw."""
        out = {}
        if self.withdrawn:
            out.setdefault(IPV4_UNICAST, []).extend(self.withdrawn)
        if self.mp_unreach is not None and self.mp_unreach.withdrawn:
            out.setdefault(self.mp_unreach.family, []).extend(self.mp_unreach.withdrawn)
        if self.action == Action.TREAT_AS_WITHDRAW:
            if self.nlri:
                out.setdefault(IPV4_UNICAST, []).extend(self.nlri)
            if self.mp_reach is not None and self.mp_reach.nlri:
                out.setdefault(self.mp_reach.family, []).extend(self.mp_reach.nlri)
        return out

    def __repr__(self):
        return (f"Update(withdrawn={self.withdrawn!r}, nlri={self.nlri!r}, attrs={self.attrs!r}, "
                f"mp_reach={self.mp_reach!r}, mp_unreach={self.mp_unreach!r}, "
                f"action={self.action.label})")


class UpdateCodec:
    """Decodes and encodes UPDATEs for one session's negotiated options.

    ``add_path_rx``/``add_path_tx``: families for which NLRI carry path
    identifiers in each direction (RFC 7911).  ``max_size``: 4096, or 65535
    with extended messages (RFC 8654).  ``cache`` may be shared by sessions
    with the same ASN width.
    """

    __slots__ = ("four_octet", "add_path_rx", "add_path_tx", "max_size", "cache", "_ap4_rx")

    def __init__(self, four_octet: bool = True, add_path_rx=frozenset(), add_path_tx=frozenset(),
                 max_size: int = MAX_MESSAGE_LEN, cache: AttributeCache | None = None):
        if cache is None:
            cache = AttributeCache(four_octet)
        elif cache.four_octet != four_octet:
            raise ValueError("attribute cache is for another ASN width")
        self.four_octet = four_octet
        self.add_path_rx = frozenset(tuple(f) for f in add_path_rx)
        self.add_path_tx = frozenset(tuple(f) for f in add_path_tx)
        self.max_size = max_size
        self.cache = cache
        self._ap4_rx = IPV4_UNICAST in self.add_path_rx

    # ------------------------------------------------------------------
    def decode(self, body: bytes) -> Update:
        n = len(body)
        if n < 4:
            raise update_error(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, b"",
                               "UPDATE shorter than its length fields")
        wlen = body[0] << 8 | body[1]
        apos = 4 + wlen
        if apos > n:
            raise update_error(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, b"",
                               f"withdrawn routes length {wlen} overruns the message")
        alen = body[apos - 2] << 8 | body[apos - 1]
        npos = apos + alen
        if npos > n:
            raise update_error(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, b"",
                               f"total path attribute length {alen} overruns the message")
        try:
            if self._ap4_rx:
                withdrawn = split_add_path(body[2:2 + wlen]) if wlen else _NONE
                nlri = split_add_path(body[npos:]) if npos < n else _NONE
            else:
                withdrawn = split(body[2:2 + wlen]) if wlen else _NONE
                nlri = split(body[npos:]) if npos < n else _NONE
        except NlriError as e:
            raise update_error(UpdateSubcode.INVALID_NETWORK_FIELD, b"", str(e)) from None
        if not alen:
            if nlri:
                return _missing(Update(withdrawn, None, nlri), True)
            return Update(withdrawn, None, nlri)
        attrs, reach, unreach = self.cache.lookup(body[apos:npos])
        mp_reach = mp_unreach = None
        if unreach is not None:
            mp_unreach = self._mp_unreach(unreach)
        if reach is not None:
            mp_reach = self._mp_reach(reach)
        upd = Update(withdrawn, attrs, nlri, mp_reach, mp_unreach, attrs.problems, attrs.action)
        if nlri or mp_reach is not None:
            if attrs.origin is None or attrs.as_path is None or (nlri and attrs.next_hop is None):
                return _missing(upd, bool(nlri))
        return upd

    def _split_family(self, afi, safi, data):
        if safi not in _KNOWN_SAFIS or afi not in MAX_BITS:
            return None
        if (afi, safi) in self.add_path_rx:
            return split_add_path(data, MAX_BITS[afi])
        return split(data, MAX_BITS[afi])

    def _mp_unreach(self, v: bytes) -> MpUnreach:
        if len(v) < 3:
            raise update_error(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, _attr(15, v),
                               "MP_UNREACH_NLRI shorter than AFI/SAFI")
        afi = v[0] << 8 | v[1]
        safi = v[2]
        try:
            keys = self._split_family(afi, safi, v[3:])
        except NlriError as e:
            raise _family_error(afi, safi, 15, v, f"MP_UNREACH_NLRI: {e}") from None
        if keys is None:
            return MpUnreach(afi, safi, [], v[3:])
        return MpUnreach(afi, safi, keys)

    def _mp_reach(self, v: bytes) -> MpReach:
        if len(v) < 5:
            if len(v) < 3:
                raise update_error(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, _attr(14, v),
                                   "MP_REACH_NLRI shorter than AFI/SAFI")
            raise _family_error(v[0] << 8 | v[1], v[2], 14, v, "MP_REACH_NLRI truncated")
        afi = v[0] << 8 | v[1]
        safi = v[2]
        nhlen = v[3]
        pos = 4 + nhlen
        if pos + 1 > len(v):
            raise _family_error(afi, safi, 14, v, "MP_REACH_NLRI next hop overruns the attribute")
        next_hop = v[4:pos]
        allowed = _NH_LENGTHS.get(afi)
        if allowed is not None and safi in _KNOWN_SAFIS and nhlen not in allowed:
            raise _family_error(afi, safi, 14, v,
                                f"MP_REACH_NLRI next hop length {nhlen} invalid for AFI {afi}")
        # One reserved octet (formerly the SNPA count) follows the next hop.
        try:
            keys = self._split_family(afi, safi, v[pos + 1:])
        except NlriError as e:
            raise _family_error(afi, safi, 14, v, f"MP_REACH_NLRI: {e}") from None
        if keys is None:
            return MpReach(afi, safi, next_hop, None, v[pos + 1:])
        return MpReach(afi, safi, next_hop, keys)

    # ------------------------------------------------------------------
    def encode(self, attrs: Attributes | bytes | None, nlri=(), withdrawn=(),
               family=IPV4_UNICAST, next_hop: bytes = b"") -> list[bytes]:
        """Whole UPDATE messages (header included) announcing ``nlri`` with
        ``attrs`` and withdrawing ``withdrawn``, as few as fit.

        For IPv4 unicast the prefixes go in the message body (the NEXT_HOP is
        in ``attrs``); for other families in MP_REACH/MP_UNREACH with
        ``next_hop``.  Withdrawals are sent first.
        """
        if attrs is not None and not isinstance(attrs, (bytes, bytearray)):
            attrs = attrs.wire(self.four_octet)
        add_path = tuple(family) in self.add_path_tx
        if add_path:
            nlri = [encode_add_path((item,)) for item in nlri]
            withdrawn = [encode_add_path((item,)) for item in withdrawn]
        if tuple(family) == IPV4_UNICAST:
            return (pack_withdrawn(withdrawn, self.max_size)
                    + pack_reach(attrs or b"", nlri, self.max_size))
        afi, safi = family
        return (pack_mp_unreach(afi, safi, withdrawn, self.max_size)
                + pack_mp_reach(afi, safi, next_hop, attrs or b"", nlri, self.max_size))

    def decode_message_body(self, body: bytes) -> Update:
        return self.decode(body)


def _attr(code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", OPT_NONTRANS | 0x10, code, len(value)) + value
    return struct.pack("!BBB", OPT_NONTRANS, code, len(value)) + value


def _family_error(afi, safi, code, value, reason) -> WireError:
    # RFC 7606 section 5.3 / RFC 4760 section 7: disable the family; if the
    # session cannot, it resets with Optional Attribute Error.
    return WireError(Action.AFISAFI_DISABLE, ErrorCode.UPDATE_MESSAGE,
                     UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, _attr(code, value), reason,
                     afi_safi=(afi, safi))


def _missing(upd: Update, need_next_hop: bool) -> Update:
    """RFC 7606 section 3 d: a missing well-known mandatory attribute makes
    the UPDATE treat-as-withdraw."""
    a = upd.attrs
    names = []
    if a is None or a.origin is None:
        names.append("ORIGIN")
    if a is None or a.as_path is None:
        names.append("AS_PATH")
    if need_next_hop and (a is None or a.next_hop is None):
        names.append("NEXT_HOP")
    problem = AttributeProblem(Action.TREAT_AS_WITHDRAW, 0,
                               "missing well-known attribute " + ", ".join(names))
    upd.problems = tuple(upd.problems) + (problem,)
    upd.action = Action.TREAT_AS_WITHDRAW
    return upd


# ----------------------------------------------------------------------
# Packing.  Each function returns complete messages (header included).

def _message(body_parts: list, body_len: int) -> bytes:
    return b"".join([MARKER, (HEADER_LEN + body_len).to_bytes(2, "big"), _UPDATE_TYPE]
                    + body_parts)


def _chunks(keys, room: int):
    """Split wire keys into runs whose total length fits ``room``."""
    chunk = []
    size = 0
    for k in keys:
        lk = len(k)
        if size + lk > room and chunk:
            yield chunk, size
            chunk = []
            size = 0
        chunk.append(k)
        size += lk
    if chunk:
        yield chunk, size


def pack_reach(attrs: bytes, nlri, max_size: int = MAX_MESSAGE_LEN) -> list[bytes]:
    """IPv4 unicast announcements sharing one attribute block."""
    if not nlri:
        return []
    room = max_size - HEADER_LEN - 4 - len(attrs)
    if room < 5:
        raise ValueError("attribute block too large for one message")
    head = b"\0\0" + len(attrs).to_bytes(2, "big") + attrs
    base = len(head)
    header = MARKER
    out = []
    for chunk, size in _chunks(nlri, room):
        out.append(b"".join((header, (HEADER_LEN + base + size).to_bytes(2, "big"),
                             _UPDATE_TYPE, head, b"".join(chunk))))
    return out


def pack_withdrawn(withdrawn, max_size: int = MAX_MESSAGE_LEN) -> list[bytes]:
    """IPv4 unicast withdrawals."""
    out = []
    room = max_size - HEADER_LEN - 4
    for chunk, size in _chunks(withdrawn, room):
        out.append(_message([size.to_bytes(2, "big"), b"".join(chunk), b"\0\0"], size + 4))
    return out


def _mp_attr(code: int, value: bytes) -> bytes:
    return _attr(code, value)


def pack_mp_reach(afi, safi, next_hop: bytes, attrs: bytes, nlri,
                  max_size: int = MAX_MESSAGE_LEN) -> list[bytes]:
    if not nlri:
        return []
    fixed = struct.pack("!HBB", afi, safi, len(next_hop)) + next_hop + b"\0"
    # 4 octets of MP attribute header (extended length) + the fixed part.
    room = max_size - HEADER_LEN - 4 - len(attrs) - 4 - len(fixed)
    if room < 17:
        raise ValueError("attribute block too large for one message")
    out = []
    for chunk, size in _chunks(nlri, room):
        mp = _mp_attr(AttrType.MP_REACH_NLRI, fixed + b"".join(chunk))
        block = mp + attrs
        out.append(_message([b"\0\0", len(block).to_bytes(2, "big"), block], 4 + len(block)))
    return out


def pack_mp_unreach(afi, safi, withdrawn, max_size: int = MAX_MESSAGE_LEN) -> list[bytes]:
    if not withdrawn:
        return []
    fixed = struct.pack("!HB", afi, safi)
    room = max_size - HEADER_LEN - 4 - 4 - len(fixed)
    out = []
    for chunk, size in _chunks(withdrawn, room):
        mp = _mp_attr(AttrType.MP_UNREACH_NLRI, fixed + b"".join(chunk))
        out.append(_message([b"\0\0", len(mp).to_bytes(2, "big"), mp], 4 + len(mp)))
    return out


def end_of_rib(afi: int = 1, safi: int = 1) -> bytes:
    """The End-of-RIB marker for a family (RFC 4724 section 2)."""
    if (afi, safi) == IPV4_UNICAST:
        return _message([b"\0\0\0\0"], 4)
    mp = _mp_attr(AttrType.MP_UNREACH_NLRI, struct.pack("!HB", afi, safi))
    return _message([b"\0\0", len(mp).to_bytes(2, "big"), mp], 4 + len(mp))
