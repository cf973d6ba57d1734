"""Adj-RIB-Out: what an update group has announced, per address family.

RFC 4271 section 3.2: the Adj-RIB-Out holds the routes selected for
advertisement to the group's peers.  ``AdjRibOut.table`` maps a prefix's
wire key -- ``(path_id, key)`` when the group sends path identifiers
(RFC 7911) -- to an ``Entry``: the attribute block exactly as sent (already
encoded for the group's ASN width), the MP_REACH next hop (``b""`` for
IPv4 unicast, whose next hop is in the block), the name of the route's
source and the *generation* (batch number) in which the prefix last
changed.  Entries are shared by the prefixes of a batch that carry the
same route, so the table costs one dictionary slot per prefix.

Comparing a new entry with the one in the table is how duplicates are
suppressed (same block, next hop and source: nothing to send), and a
prefix gets a withdrawal only if the table holds a live entry for it.

A withdrawn prefix stays in the table for a while as a *tombstone* (an
entry whose block is None) stamped with the generation of the withdrawal:
a member that fell behind and catches up by re-walking the table
(``group``) needs it to know what to withdraw.  Tombstones go once every
member is past their generation.

``pending`` maps each prefix changed since the group last encoded a batch
to the entry it had then (the RIB's "dirty" map, one level up): however
many times a prefix changes between two batches, the batch carries only
its latest state.
"""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """A prefix in an Adj-RIB-Out."""

    block: bytes | None     # attribute block as sent; None: withdrawn (tombstone)
    next_hop: bytes         # MP_REACH_NLRI next hop; b"" for IPv4 unicast
    source: str             # name of the route's source (a peer or a local kind)
    gen: int                # batch in which the prefix took this state

    @property
    def live(self) -> bool:
        return self.block is not None

    def same_route(self, other) -> bool:
        """Both announce the same thing (the generation aside)."""
        return (other is not None and self.block == other.block
                and self.next_hop == other.next_hop and self.source == other.source)


class AdjRibOut:
    """One family of one update group."""

    __slots__ = ("family", "add_path", "table", "pending", "live", "by_source", "paths",
                 "tombs")

    def __init__(self, family, add_path: bool = False):
        self.family = tuple(family)
        self.add_path = add_path
        self.table: dict = {}           # key (or (path_id, key)) -> Entry
        self.pending: dict = {}         # key -> Entry at the last batch (or None)
        self.live = 0                   # live entries
        self.by_source: dict = {}       # source name -> live entries from it
        self.paths: dict = {}           # add-path: key -> ((source, received id), id sent)...
        self.tombs: list = []           # [(gen, [keys])] of tombstones, oldest first

    def set(self, key, entry: Entry, cur) -> None:
        """Put ``entry`` (live or tombstone) in place of ``cur``."""
        if key not in self.pending:
            self.pending[key] = cur
        self.table[key] = entry
        by = self.by_source
        if cur is not None and cur.block is not None:
            self.live -= 1
            by[cur.source] -= 1
        if entry.block is not None:
            self.live += 1
            by[entry.source] = by.get(entry.source, 0) + 1

    def count_for(self, peer_name: str) -> int:
        """Live entries a member sees: all but those of its own routes."""
        return self.live - self.by_source.get(peer_name, 0)

    def purge(self, below: int) -> None:
        """Forget the tombstones of generations before ``below``."""
        tombs = self.tombs
        n = 0
        table = self.table
        for gen, keys in tombs:
            if gen >= below:
                break
            for k in keys:
                e = table.get(k)
                if e is not None and e.block is None and e.gen == gen:
                    del table[k]
            n += 1
        if n:
            del tombs[:n]

    def items(self, peer_name: str | None = None):
        """``(key, entry)`` of the live entries (not those of ``peer_name``)."""
        for k, e in self.table.items():
            if e.block is not None and e.source != peer_name:
                yield k, e
