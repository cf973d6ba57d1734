"""A generated, realistic IPv4 feed as raw BGP UPDATE messages.

Built with ``struct`` alone (not with our codec) so that the codec is
measured against bytes it did not produce.  Deterministic for a seed:
1-5 prefixes per UPDATE, prefix lengths /16../24 weighted towards /24,
AS paths 2-6 long from a pool of origin and transit ASes, MED on about a
third of the UPDATEs, standard communities on about half, a few large
communities, and a next hop from a small set.  Nearly every UPDATE has an
attribute block of its own, as in a real full table.
"""

from __future__ import annotations

import os
import random
import struct

MARKER = b"\xff" * 16


def _attr(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def _prefix_keys(rng: random.Random, count: int):
    """``count`` distinct prefixes as wire keys, in a realistic length mix."""
    seen = set()
    lengths = [24] * 60 + [23] * 8 + [22] * 10 + [21] * 5 + [20] * 6 + [19] * 4 + [18] * 3 \
        + [17] * 2 + [16] * 2
    out = []
    while len(out) < count:
        plen = rng.choice(lengths)
        addr = rng.randrange(1 << 24, 224 << 24) & (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        key = (addr, plen)
        if key in seen:
            continue
        seen.add(key)
        nbytes = (plen + 7) // 8
        out.append(bytes([plen]) + addr.to_bytes(4, "big")[:nbytes])
    return out


def generate(prefixes: int = 1_000_000, seed: int = 179, peer_as: int = 64500) -> list[bytes]:
    """The feed as a list of whole UPDATE messages (header included)."""
    rng = random.Random(seed)
    keys = _prefix_keys(rng, prefixes)
    transit = [rng.randrange(1000, 65000) for _ in range(300)] + \
        [rng.randrange(131072, 4200000000) for _ in range(100)]
    origins = [rng.randrange(1000, 400000) for _ in range(60000)]
    next_hops = [bytes([192, 0, 2, i]) for i in range(1, 5)]
    messages = []
    i = 0
    n = len(keys)
    while i < n:
        k = rng.randint(1, 5)
        nlri = b"".join(keys[i:i + k])
        i += k
        plen = rng.randint(2, 6)
        path = [peer_as] + [rng.choice(transit) for _ in range(plen - 2)] + [rng.choice(origins)]
        attrs = [_attr(0x40, 1, bytes([rng.choice((0, 0, 0, 2))])),
                 _attr(0x40, 2, struct.pack(f"!BB{len(path)}I", 2, len(path), *path)),
                 _attr(0x40, 3, rng.choice(next_hops))]
        if rng.random() < 0.35:
            attrs.append(_attr(0x80, 4, struct.pack("!I", rng.randrange(0, 1000))))
        if rng.random() < 0.5:
            comms = [peer_as << 16 | rng.randrange(0, 1000) for _ in range(rng.randint(1, 6))]
            attrs.append(_attr(0xC0, 8, struct.pack(f"!{len(comms)}I", *comms)))
        if rng.random() < 0.05:
            attrs.append(_attr(0xC0, 32, struct.pack("!III", peer_as, rng.randrange(100), 1)))
        block = b"".join(attrs)
        body = b"\0\0" + struct.pack("!H", len(block)) + block + nlri
        messages.append(MARKER + struct.pack("!HB", 19 + len(body), 2) + body)
    return messages


def load(prefixes: int = 1_000_000, seed: int = 179, cache_dir: str | None = None) -> bytes:
    """The feed as one byte string, cached on disk between runs."""
    cache_dir = cache_dir or os.path.join(os.path.dirname(__file__), "out")
    path = os.path.join(cache_dir, f"feed-{prefixes}-{seed}.bin")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass
    data = b"".join(generate(prefixes, seed))
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data
