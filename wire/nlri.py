"""NLRI: prefixes in wire form (RFC 4271 section 4.3, RFC 4760, RFC 7911).

A prefix is kept as its *wire key*: the length octet followed by the
significant address octets, exactly as it travels (``b'\\x18\\x0a\\x00\\x01'``
is 10.0.1.0/24).  Keys are hashable, small, and re-encode by concatenation;
text is produced only when a person asks.  Host bits beyond the prefix
length are cleared while splitting so that one prefix has one key.

With add-path (RFC 7911) each NLRI is preceded by a 4-octet path identifier
and the split returns ``(path_id, key)`` pairs.
"""

from __future__ import annotations

import ipaddress

from .constants import AFI

MAX_BITS = {AFI.IPV4: 32, AFI.IPV6: 128}
_ADDR_LEN = {AFI.IPV4: 4, AFI.IPV6: 16}
# Mask of the bits to keep in the last octet, by prefix length % 8.
_KEEP = (0xFF, 0x80, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE)


class NlriError(ValueError):
    """The NLRI field is malformed; the reason is the message."""


def _clean(data: bytes, i: int, j: int, plen: int) -> bytes:
    key = bytearray(data[i:j])
    key[-1] &= _KEEP[plen & 7]
    return bytes(key)


def split(data: bytes, max_bits: int = 32) -> list[bytes]:
    """Split an NLRI field into wire keys.  Raises NlriError."""
    out = []
    append = out.append
    i = 0
    n = len(data)
    while i < n:
        plen = data[i]
        if plen > max_bits:
            raise NlriError(f"prefix length {plen} > {max_bits}")
        j = i + 1 + ((plen + 7) >> 3)
        if j > n:
            raise NlriError("prefix overruns the NLRI field")
        if plen & 7 and data[j - 1] & ~_KEEP[plen & 7] & 0xFF:
            append(_clean(data, i, j, plen))
        else:
            append(data[i:j])
        i = j
    return out


def split_add_path(data: bytes, max_bits: int = 32) -> list[tuple[int, bytes]]:
    """Split an add-path NLRI field into ``(path_id, key)`` pairs."""
    out = []
    append = out.append
    i = 0
    n = len(data)
    from_bytes = int.from_bytes
    while i < n:
        if n - i < 5:
            raise NlriError("truncated path identifier")
        path_id = from_bytes(data[i:i + 4], "big")
        i += 4
        plen = data[i]
        if plen > max_bits:
            raise NlriError(f"prefix length {plen} > {max_bits}")
        j = i + 1 + ((plen + 7) >> 3)
        if j > n:
            raise NlriError("prefix overruns the NLRI field")
        if plen & 7 and data[j - 1] & ~_KEEP[plen & 7] & 0xFF:
            append((path_id, _clean(data, i, j, plen)))
        else:
            append((path_id, data[i:j]))
        i = j
    return out


def encode_add_path(items) -> bytes:
    """Encode ``(path_id, key)`` pairs."""
    return b"".join(pid.to_bytes(4, "big") + key for pid, key in items)


def key_len(key: bytes) -> int:
    return key[0]


def to_network(afi: int, key: bytes) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    plen = key[0]
    size = _ADDR_LEN[afi]
    addr = key[1:].ljust(size, b"\0")
    if afi == AFI.IPV4:
        return ipaddress.IPv4Network((addr, plen))
    return ipaddress.IPv6Network((addr, plen))


def to_text(afi: int, key: bytes) -> str:
    """'10.0.1.0/24' or '2001:db8::/32'."""
    if afi == AFI.IPV4:
        addr = key[1:] + b"\0" * (5 - len(key))
        return f"{addr[0]}.{addr[1]}.{addr[2]}.{addr[3]}/{key[0]}"
    return str(to_network(afi, key))


def from_network(net) -> bytes:
    """Wire key of an ipaddress network (host bits must be clear)."""
    plen = net.prefixlen
    return bytes([plen]) + net.network_address.packed[:(plen + 7) >> 3]


def parse(text: str) -> tuple[int, bytes]:
    """``(afi, key)`` of a prefix written as text; host bits are refused."""
    net = ipaddress.ip_network(text.strip(), strict=True)
    return (AFI.IPV4 if net.version == 4 else AFI.IPV6), from_network(net)


def address_text(raw: bytes) -> str:
    """Text of a 4- or 16-octet address."""
    return str(ipaddress.ip_address(raw))


def next_hop_text(raw: bytes) -> list[str]:
    """Text of a next hop field: one address, or global + link-local (32 octets)."""
    if len(raw) == 32:
        return [address_text(raw[:16]), address_text(raw[16:])]
    if len(raw) in (4, 16):
        return [address_text(raw)]
    if len(raw) == 24:      # RFC 8950 style VPN-less 8 + 16 is not unicast; keep raw
        return [raw.hex()]
    return [raw.hex()]
