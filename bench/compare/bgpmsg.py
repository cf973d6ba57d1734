"""The few BGP messages the simulated peers need, built and walked with
``struct`` and byte indexing alone (no dependency on the codec under test).

- ``open_message``: an OPEN with Multiprotocol IPv4 unicast, Route Refresh
  and four-octet AS (RFC 4271 4.2, RFC 4760, RFC 2918, RFC 6793);
- ``update``: an UPDATE from an attribute block and NLRI bytes;
- ``split``: a byte stream cut into whole messages;
- ``nlri_keys``: the prefixes of an UPDATE as wire keys (length octet plus
  the significant address octets), which is also how receivers name them;
- ``rewrite``: the same UPDATE with its NEXT_HOP replaced and attributes
  appended (used to adapt a generated eBGP feed to the lab's addressing).
"""

from __future__ import annotations

import ipaddress
import struct

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4
KEEPALIVE_BYTES = MARKER + struct.pack("!HB", 19, KEEPALIVE)
# An UPDATE with nothing in it: End-of-RIB for IPv4 unicast (RFC 4724).
END_OF_RIB = MARKER + struct.pack("!HBHH", 23, UPDATE, 0, 0)
AS_TRANS = 23456


def attribute(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def open_message(asn: int, hold_time: int, router_id: str) -> bytes:
    caps = (b"\x01\x04\x00\x01\x00\x01"            # Multiprotocol: IPv4 unicast
            + b"\x02\x00"                          # Route Refresh
            + b"\x41\x04" + struct.pack("!I", asn))  # four-octet AS
    params = b"\x02" + bytes([len(caps)]) + caps
    body = struct.pack("!BHH4sB", 4, asn if asn < 65536 else AS_TRANS, hold_time,
                       ipaddress.IPv4Address(router_id).packed, len(params)) + params
    return MARKER + struct.pack("!HB", 19 + len(body), OPEN) + body


def update(attrs: bytes, nlri: bytes) -> bytes:
    body = struct.pack("!HH", 0, len(attrs)) + attrs + nlri
    return MARKER + struct.pack("!HB", 19 + len(body), UPDATE) + body


def prefix_key(prefix: str) -> bytes:
    net = ipaddress.IPv4Network(prefix)
    return bytes([net.prefixlen]) + net.network_address.packed[:(net.prefixlen + 7) // 8]


def split(stream: bytes) -> list[bytes]:
    out, p, n = [], 0, len(stream)
    while p < n:
        length = (stream[p + 16] << 8) | stream[p + 17]
        out.append(stream[p:p + length])
        p += length
    return out


def _parts(msg: bytes) -> tuple[bytes, bytes, bytes]:
    """(withdrawn routes, path attributes, NLRI) of one UPDATE."""
    wlen = (msg[19] << 8) | msg[20]
    q = 21 + wlen
    alen = (msg[q] << 8) | msg[q + 1]
    return msg[21:q], msg[q + 2:q + 2 + alen], msg[q + 2 + alen:]


def _walk(blob: bytes) -> list[bytes]:
    keys, p, n = [], 0, len(blob)
    while p < n:
        k = (blob[p] + 15) >> 3
        keys.append(blob[p:p + k])
        p += k
    return keys


def nlri_keys(msg: bytes) -> list[bytes]:
    if msg[18] != UPDATE:
        return []
    return _walk(_parts(msg)[2])


def _remap_path(value: bytes, as_map: dict) -> bytes:
    """An AS_PATH (four-octet ASes) with ASes replaced through ``as_map``."""
    out, p = [], 0
    while p < len(value):
        kind, count = value[p], value[p + 1]
        ases = struct.unpack_from(f"!{count}I", value, p + 2)
        out.append(struct.pack(f"!BB{count}I", kind, count, *(as_map.get(a, a) for a in ases)))
        p += 2 + 4 * count
    return b"".join(out)


def rewrite(msg: bytes, next_hop: bytes, extra: bytes = b"", as_map: dict = None) -> bytes:
    """``msg`` with the NEXT_HOP value replaced, ASes in AS_PATH replaced
    through ``as_map``, and ``extra`` appended to its attributes (no
    receiver here requires them in type order)."""
    _, attrs, nlri = _parts(msg)
    out, p = [], 0
    while p < len(attrs):
        flags, code = attrs[p], attrs[p + 1]
        if flags & 0x10:
            length, head = (attrs[p + 2] << 8) | attrs[p + 3], 4
        else:
            length, head = attrs[p + 2], 3
        chunk = attrs[p:p + head + length]
        if code == 3:
            chunk = attribute(0x40, 3, next_hop)
        elif code == 2 and as_map:
            chunk = attribute(flags & ~0x10, 2, _remap_path(attrs[p + head:p + head + length],
                                                            as_map))
        out.append(chunk)
        p += head + length
    return update(b"".join(out) + extra, nlri)
