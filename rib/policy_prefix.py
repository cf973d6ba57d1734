"""Prefix sets: is a prefix, given as its wire key, in a list of ranges?

A range is a prefix P/p and the lengths lo..hi (p <= lo <= hi) of the
prefixes inside it that it takes in: FRR's ``P ge lo le hi``, BIRD's
``P{lo,hi}``.  A prefix K/k is in the range when lo <= k <= hi and the
first p bits of K are those of P.

How it works
------------
Ranges are grouped by the length p of their prefix.  For each p a dict maps
P's top p bits (an int) to a bitmask of the lengths allowed there, the
masks of ranges with the same P or'ed together.  For every query length k a
table lists only the groups p that allow some prefix of length k, with the
shift that keeps a full-width address's top p bits.  A lookup turns the key
into an int once and does one dict probe per listed group: at most
``max_bits + 1`` probes, a handful in practice, whatever the list's size
-- never a scan of the entries.

Wire keys are ``nlri``'s: the length octet, then the significant octets,
host bits clear.
"""

from __future__ import annotations

from typing import Callable, Iterable

from wire.constants import AFI

_BITS = {AFI.IPV4: 32, AFI.IPV6: 128}


def _never(key: bytes) -> bool:
    return False


class PrefixSet:
    """A set of prefix ranges, per address family.

    ``PrefixSet(ranges)`` takes ``(afi, prefix_int, p, lo, hi)`` tuples,
    where ``prefix_int`` is P's address as an int; ``from_ranges`` takes
    objects with ``prefix`` (an ipaddress network), ``min_len`` and
    ``max_len`` (``conf.model.PrefixRange``)."""

    __slots__ = ("_matchers", "size")

    def __init__(self, ranges: Iterable[tuple[int, int, int, int, int]] = ()):
        groups: dict[int, dict[int, dict[int, int]]] = {}
        self.size = 0
        for afi, address, p, lo, hi in ranges:
            bits = _BITS[afi]
            if not 0 <= p <= lo <= hi <= bits:
                raise ValueError(f"bad prefix range /{p} {lo}..{hi} for {bits}-bit addresses")
            top = address >> (bits - p)
            if top << (bits - p) != address:
                raise ValueError("prefix has host bits set")
            by_top = groups.setdefault(afi, {}).setdefault(p, {})
            by_top[top] = by_top.get(top, 0) | ((1 << (hi + 1)) - (1 << lo))
            self.size += 1
        self._matchers = {afi: _matcher(_BITS[afi], by_len) for afi, by_len in groups.items()}

    @classmethod
    def from_ranges(cls, ranges) -> "PrefixSet":
        return cls((AFI.IPV4 if r.prefix.version == 4 else AFI.IPV6,
                    int(r.prefix.network_address), r.prefix.prefixlen, r.min_len, r.max_len)
                   for r in ranges)

    @classmethod
    def union(cls, sets: Iterable["PrefixSet"]) -> "PrefixSet":
        """One set holding the ranges of several (any of them matches)."""
        sets = list(sets)
        if len(sets) == 1:
            return sets[0]
        out = cls()
        for afi in {afi for s in sets for afi in s._matchers}:
            matchers = [s._matchers[afi] for s in sets if afi in s._matchers]
            out._matchers[afi] = (matchers[0] if len(matchers) == 1
                                  else _any_of(matchers))
        out.size = sum(s.size for s in sets)
        return out

    def matcher(self, afi: int) -> Callable[[bytes], bool]:
        """The test for wire keys of one family (always false for a family
        the set has no range of)."""
        return self._matchers.get(afi, _never)

    def has_family(self, afi: int) -> bool:
        return afi in self._matchers

    def contains(self, afi: int, key: bytes) -> bool:
        return self.matcher(afi)(key)

    def __len__(self) -> int:
        return self.size


def _any_of(matchers):
    def match(key: bytes) -> bool:
        for m in matchers:
            if m(key):
                return True
        return False
    return match


def _matcher(bits: int, by_len: dict[int, dict[int, int]]) -> Callable[[bytes], bool]:
    allowed = {p: _union(masks.values()) for p, masks in by_len.items()}
    # For each query length k: ((shift, {top bits: length mask}), ...), the
    # groups with some range that takes in length k, longest prefix first.
    probes = tuple(
        tuple((bits - p, by_len[p]) for p in sorted(by_len, reverse=True)
              if allowed[p] >> k & 1)
        for k in range(bits + 1))
    from_bytes = int.from_bytes

    def match(key: bytes) -> bool:
        k = key[0]
        if k > bits:
            return False
        tables = probes[k]
        if not tables:
            return False
        # The address as a full-width int: the key holds ceil(k / 8) octets.
        address = from_bytes(key[1:], "big") << (bits - 8 * (len(key) - 1))
        for shift, by_top in tables:
            mask = by_top.get(address >> shift)
            if mask is not None and mask >> k & 1:
                return True
        return False
    return match


def _union(masks) -> int:
    out = 0
    for m in masks:
        out |= m
    return out
