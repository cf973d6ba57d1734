"""AS_PATH and AS4_PATH (RFC 4271 section 4.3, RFC 5065, RFC 6793).

A path is a tuple of segments; a segment is ``(segment_type, (asn, ...))``.
Decoding validates as it goes (RFC 7606 section 7.2: an unknown segment type,
an empty segment or an overrun makes the AS_PATH malformed).  Paths from
2-octet ("OLD") sessions are rebuilt with AS4_PATH as RFC 6793 section 4.2.3
says.
"""

from __future__ import annotations

import struct

from .constants import AS_TRANS, SegmentType

AS_SET = SegmentType.AS_SET
AS_SEQUENCE = SegmentType.AS_SEQUENCE
AS_CONFED_SEQUENCE = SegmentType.AS_CONFED_SEQUENCE
AS_CONFED_SET = SegmentType.AS_CONFED_SET
CONFED_SEGMENTS = (AS_CONFED_SEQUENCE, AS_CONFED_SET)
_SEGMENT_TYPES = (0, 1, 2, 3, 4)  # index by type: valid when 1..4
MAX_SEGMENT = 255

AsPath = tuple  # tuple[tuple[int, tuple[int, ...]], ...]
EMPTY_PATH: AsPath = ()

# Struct objects per (asn width, count) are immutable and cheap to keep.
_UNPACK4 = [struct.Struct(f"!{n}I").unpack_from for n in range(256)]
_UNPACK2 = [struct.Struct(f"!{n}H").unpack_from for n in range(256)]


class AsPathError(ValueError):
    """The segment list is malformed; the reason is the message."""


def decode_as_path(data: bytes, four_octet: bool) -> AsPath:
    """Decode an AS_PATH (or AS4_PATH with ``four_octet=True``) value."""
    width = 4 if four_octet else 2
    unpack = _UNPACK4 if four_octet else _UNPACK2
    # Fast path: one AS_SEQUENCE, the shape of nearly every real path.
    if len(data) > 2 and data[0] == 2 and data[1] and len(data) == 2 + data[1] * width:
        return ((2, unpack[data[1]](data, 2)),)
    segments = []
    i = 0
    n = len(data)
    while i < n:
        if n - i < 2:
            raise AsPathError("truncated segment header")
        seg_type = data[i]
        count = data[i + 1]
        if not 1 <= seg_type <= 4:
            raise AsPathError(f"unknown segment type {seg_type}")
        if count == 0:
            raise AsPathError("empty segment")
        end = i + 2 + count * width
        if end > n:
            raise AsPathError("segment overruns the attribute")
        segments.append((seg_type, unpack[count](data, i + 2)))
        i = end
    return tuple(segments)


def encode_as_path(path: AsPath, four_octet: bool) -> bytes:
    """Encode segments; long segments are split at 255 ASNs.  With
    ``four_octet=False`` ASNs above 65535 become AS_TRANS (RFC 6793)."""
    out = []
    for seg_type, asns in path:
        if not four_octet:
            asns = tuple(a if a <= 0xFFFF else AS_TRANS for a in asns)
        fmt = "!BB%dI" if four_octet else "!BB%dH"
        for k in range(0, len(asns), MAX_SEGMENT):
            chunk = asns[k:k + MAX_SEGMENT]
            out.append(struct.pack(fmt % len(chunk), seg_type, len(chunk), *chunk))
    return b"".join(out)


def path_length(path: AsPath) -> int:
    """Length for best-path selection: an AS_SET counts 1, confederation
    segments count 0 (RFC 4271 section 9.1.2.2 a, RFC 5065 section 5.3)."""
    total = 0
    for seg_type, asns in path:
        if seg_type == AS_SEQUENCE:
            total += len(asns)
        elif seg_type == AS_SET:
            total += 1
    return total


def needs_as4(path: AsPath) -> bool:
    return any(a > 0xFFFF for _t, asns in path for a in asns)


def without_confed(path: AsPath) -> AsPath:
    return tuple(seg for seg in path if seg[0] not in CONFED_SEGMENTS)


def merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath:
    """RFC 6793 section 4.2.3: rebuild the 4-octet path of a route learned
    from a 2-octet speaker.  The AS4_PATH is ignored when it is longer than
    the AS_PATH; otherwise the leading ASNs of the AS_PATH that the AS4_PATH
    does not cover are kept in front of it."""
    n = path_length(as_path)
    m = path_length(as4_path)
    if n < m:
        return as_path
    keep = n - m
    out = []
    for seg_type, asns in as_path:
        if seg_type in CONFED_SEGMENTS:
            out.append((seg_type, asns))
            continue
        if keep <= 0:
            break
        if seg_type == AS_SET:
            out.append((seg_type, asns))
            keep -= 1
        else:
            take = asns[:keep]
            out.append((seg_type, take))
            keep -= len(take)
    for seg in as4_path:
        if seg[0] in CONFED_SEGMENTS:
            continue        # confederation segments never belong in AS4_PATH
        if (out and out[-1][0] == AS_SEQUENCE and seg[0] == AS_SEQUENCE
                and len(out[-1][1]) + len(seg[1]) <= MAX_SEGMENT):
            out[-1] = (AS_SEQUENCE, out[-1][1] + seg[1])
        else:
            out.append(seg)
    return tuple(out)


def prepend(path: AsPath, asn: int, count: int = 1) -> AsPath:
    """Prepend ``asn`` ``count`` times as an AS_SEQUENCE (RFC 4271 5.1.2)."""
    if path and path[0][0] == AS_SEQUENCE and len(path[0][1]) + count <= MAX_SEGMENT:
        return ((AS_SEQUENCE, (asn,) * count + path[0][1]),) + path[1:]
    return ((AS_SEQUENCE, (asn,) * count),) + path


def first_as(path: AsPath) -> int | None:
    """The neighbour AS: the first ASN of a leading AS_SEQUENCE."""
    for seg_type, asns in path:
        if seg_type == AS_SEQUENCE:
            return asns[0]
        if seg_type in CONFED_SEGMENTS:
            continue
        return None
    return None


def origin_as(path: AsPath) -> int | None:
    """The originating AS: the last ASN of a trailing AS_SEQUENCE."""
    if path and path[-1][0] == AS_SEQUENCE:
        return path[-1][1][-1]
    return None


def contains(path: AsPath, asn: int) -> int:
    """How many times ``asn`` appears anywhere in the path."""
    return sum(asns.count(asn) for _t, asns in path)


def format_path(path: AsPath) -> str:
    """Text as routers print it: '64512 {64513 64514} (65000)'."""
    parts = []
    for seg_type, asns in path:
        text = " ".join(str(a) for a in asns)
        if seg_type == AS_SET:
            text = "{" + text + "}"
        elif seg_type == AS_CONFED_SEQUENCE:
            text = "(" + text + ")"
        elif seg_type == AS_CONFED_SET:
            text = "[" + text + "]"
        parts.append(text)
    return " ".join(parts)
