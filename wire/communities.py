"""Communities: RFC 1997 (standard), RFC 4360/5701 (extended), RFC 8092
(large).  Values are kept as plain ints (standard: 32 bits, extended: 64
bits) and triples (large) so that they sort, hash and compare cheaply; these
functions turn them into the text operators read and write.
"""

from __future__ import annotations

import ipaddress
import struct

from .constants import COMMUNITY_BY_NAME, WELL_KNOWN_COMMUNITIES


def decode_communities(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"!{len(data) // 4}I", data)


def encode_communities(values) -> bytes:
    return struct.pack(f"!{len(values)}I", *values)


def decode_ext_communities(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"!{len(data) // 8}Q", data)


def encode_ext_communities(values) -> bytes:
    return struct.pack(f"!{len(values)}Q", *values)


def decode_large_communities(data: bytes) -> tuple[tuple[int, int, int], ...]:
    flat = struct.unpack(f"!{len(data) // 4}I", data)
    return tuple(zip(flat[0::3], flat[1::3], flat[2::3]))


def encode_large_communities(values) -> bytes:
    flat = [x for triple in values for x in triple]
    return struct.pack(f"!{len(flat)}I", *flat)


def community_text(value: int) -> str:
    """'NO_EXPORT' for well-known ones, else 'asn:value'."""
    name = WELL_KNOWN_COMMUNITIES.get(value)
    if name:
        return name
    return f"{value >> 16}:{value & 0xFFFF}"


def parse_community(text: str) -> int:
    text = text.strip()
    if text.upper() in COMMUNITY_BY_NAME:
        return COMMUNITY_BY_NAME[text.upper()]
    hi, sep, lo = text.partition(":")
    if not sep:
        raise ValueError(f"community {text!r} is not ASN:VALUE or a well-known name")
    a, b = int(hi), int(lo)
    if not (0 <= a <= 0xFFFF and 0 <= b <= 0xFFFF):
        raise ValueError(f"community {text!r}: both halves must be 0..65535")
    return a << 16 | b


def large_community_text(value: tuple[int, int, int]) -> str:
    return "%d:%d:%d" % value


def parse_large_community(text: str) -> tuple[int, int, int]:
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise ValueError(f"large community {text!r} is not A:B:C")
    vals = tuple(int(p) for p in parts)
    if not all(0 <= v <= 0xFFFFFFFF for v in vals):
        raise ValueError(f"large community {text!r}: each part must fit 32 bits")
    return vals  # type: ignore[return-value]


# Extended community sub-types by (type, subtype) for display (RFC 4360,
# RFC 5701, RFC 5668, RFC 7153).  Transitive types; the non-transitive bit
# (0x40) is ignored when naming.
_EXT_SUBTYPES = {0x02: "rt", 0x03: "soo", 0x05: "odi", 0x08: "bdp", 0x0b: "vrf-import"}


def ext_community_text(value: int) -> str:
    """'rt:64512:100', 'soo:10.0.0.1:5', 'rt:4200000000:7', or raw hex."""
    raw = value.to_bytes(8, "big")
    ctype = raw[0] & 0xBF          # ignore the non-transitive bit
    sub = raw[1]
    name = _EXT_SUBTYPES.get(sub)
    if name is None:
        if ctype == 0x03 and sub == 0x0C:
            return f"encap:{int.from_bytes(raw[6:8], 'big')}"
        return "0x" + raw.hex()
    if ctype == 0x00:       # two-octet AS specific
        return f"{name}:{int.from_bytes(raw[2:4], 'big')}:{int.from_bytes(raw[4:8], 'big')}"
    if ctype == 0x01:       # IPv4 address specific
        return f"{name}:{ipaddress.IPv4Address(raw[2:6])}:{int.from_bytes(raw[6:8], 'big')}"
    if ctype == 0x02:       # four-octet AS specific (RFC 5668)
        return f"{name}:{int.from_bytes(raw[2:6], 'big')}:{int.from_bytes(raw[6:8], 'big')}"
    return "0x" + raw.hex()


_EXT_NAMES = {v: k for k, v in _EXT_SUBTYPES.items()}


def parse_ext_community(text: str) -> int:
    """Inverse of ext_community_text for rt/soo/..., encap and 0x-hex forms."""
    text = text.strip()
    if text.lower().startswith("0x"):
        value = int(text, 16)
        if not 0 <= value < 1 << 64:
            raise ValueError(f"extended community {text!r} does not fit 64 bits")
        return value
    parts = text.split(":")
    if len(parts) == 2 and parts[0].lower() == "encap":
        # Encapsulation (RFC 9012 section 4.1): type 0x03, sub-type 0x0c,
        # four reserved octets, then the tunnel type.
        tunnel = int(parts[1])
        if not 0 <= tunnel <= 0xFFFF:
            raise ValueError(f"extended community {text!r}: tunnel type must be 0..65535")
        return 0x030C << 48 | tunnel
    if len(parts) != 3 or parts[0].lower() not in _EXT_NAMES:
        raise ValueError(f"extended community {text!r} is not KIND:ADMIN:VALUE "
                         f"(KIND one of {', '.join(sorted(_EXT_NAMES))}), encap:TUNNEL "
                         f"or 0x-hex")
    sub = _EXT_NAMES[parts[0].lower()]
    admin, local = parts[1], int(parts[2])
    if "." in admin:
        ip = ipaddress.IPv4Address(admin).packed
        if not 0 <= local <= 0xFFFF:
            raise ValueError(f"extended community {text!r}: local part must be 0..65535")
        raw = bytes([0x01, sub]) + ip + local.to_bytes(2, "big")
    else:
        asn = int(admin)
        if asn < 0 or local < 0:
            raise ValueError(f"extended community {text!r}: values out of range")
        if asn <= 0xFFFF and local <= 0xFFFFFFFF:
            raw = bytes([0x00, sub]) + asn.to_bytes(2, "big") + local.to_bytes(4, "big")
        elif asn <= 0xFFFFFFFF and local <= 0xFFFF:
            raw = bytes([0x02, sub]) + asn.to_bytes(4, "big") + local.to_bytes(2, "big")
        else:
            raise ValueError(f"extended community {text!r}: values out of range")
    return int.from_bytes(raw, "big")
