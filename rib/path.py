"""Paths: one shared object per distinct (source, attributes, next hop).

A full table from one peer is about a million prefixes but only about a
third as many attribute sets, so the Adj-RIB-In maps each wire key to a
``Path`` that every prefix with the same source, ``Attributes`` and next
hop shares.  The per-prefix cost is then one dictionary slot; the
per-path work (eligibility, the decision's rank) is done once per path.

A path carries what the decision process needs besides the attributes:

``reason``   why the route may not be selected (``Ineligible``), or None;
             computed when the path is made and again when next-hop
             reachability changes (RFC 4271 9.1.2, RFC 4456 section 8).
``rank``     the tuple of its values for each decision step, built lazily
             by ``decision.Decision.rank`` the first time the path is
             compared, and dropped when an input changes.
``owner``    the ``AdjRibIn`` that holds it (one source, one family); the
             identity of a candidate in a prefix is (owner, path_id).
``refs``     how many Adj-RIB-In slots hold it; at zero the owner forgets it.

With add-path (RFC 7911) the path identifier is part of the path, so the
many prefixes announced with path id 1 and the same attributes still share.
"""

from __future__ import annotations

import enum
from time import time as _now

CLOCK = [_now()]      # see Path.since; ``tick()`` advances it


def tick() -> None:
    CLOCK[0] = _now()

from wire.nlri import next_hop_text


class Ineligible(enum.Enum):
    """Why a received route is kept but may not be selected.  The values are
    what ``show route ... all`` prints."""

    NEXT_HOP_UNREACHABLE = "next hop unreachable"   # RFC 4271 9.1.2
    AS_LOOP = "AS path contains our AS"               # RFC 4271 9.1.2
    ORIGINATOR_ID = "ORIGINATOR_ID is our router id"  # RFC 4456 section 8
    CLUSTER_LOOP = "CLUSTER_LIST contains our cluster id"  # RFC 4456 section 8


class Path:
    """A route's source, attributes and next hop, shared by many prefixes.
    ``make_path`` makes one; a path received with an RFC 7911 path
    identifier is an ``IdentifiedPath`` (the others, nearly all of a full
    table, spare the slot)."""

    __slots__ = ("source", "attrs", "next_hop", "owner", "refs", "reason", "rank", "since")
    path_id = 0

    def __init__(self, owner, source, attrs, next_hop, reason=None):
        self.owner = owner
        self.source = source
        self.attrs = attrs
        self.next_hop = next_hop        # wire bytes (4, 16 or 32 octets) or None (ourselves)
        self.refs = 0
        self.reason = reason
        self.rank = None
        # When these attributes first came from this source (wall clock):
        # ``show route``'s "since".  Kept per path, not per prefix, and read
        # from ``CLOCK``, which the caller advances once per batch, so the
        # paths of a batch share one float; a prefix that moves to a path
        # other prefixes already use shows that path's age.
        self.since = CLOCK[0]

    @property
    def eligible(self) -> bool:
        return self.reason is None

    def next_hop_text(self) -> list[str]:
        return next_hop_text(self.next_hop) if self.next_hop else []

    def __repr__(self) -> str:
        nh = ",".join(self.next_hop_text()) or "self"
        pid = f" id {self.path_id}" if self.path_id else ""
        why = f" ({self.reason.value})" if self.reason is not None else ""
        return f"<Path {self.source.name}{pid} via {nh}{why}>"


class IdentifiedPath(Path):
    """A path received with an add-path identifier (RFC 7911)."""

    __slots__ = ("path_id",)

    def __init__(self, owner, source, attrs, next_hop, path_id, reason=None):
        Path.__init__(self, owner, source, attrs, next_hop, reason)
        self.path_id = path_id


# The classes of a path: a table value of one of these is a single path,
# anything else a ``Dest`` holding several.
PATHS = (Path, IdentifiedPath)


def make_path(owner, source, attrs, next_hop, path_id=0, reason=None) -> Path:
    if path_id:
        return IdentifiedPath(owner, source, attrs, next_hop, path_id, reason)
    return Path(owner, source, attrs, next_hop, reason)
