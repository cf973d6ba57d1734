"""What the Loc-RIB holds per prefix and what it hands out.

A prefix with one candidate is stored as that candidate's ``Path`` itself
(a full table from one peer costs no object per prefix); a prefix with
several is a ``Dest``: the candidates in canonical order (by source, then
path id) and the selected set the decision process last chose.

``Change`` is one entry of the change stream (``Rib.drain_changes``): the
selected set of a prefix before and after, each a tuple of paths, best
first -- ``()`` when the prefix has no usable route.  ``LocRoute`` is a
prefix's selected route as queries return it: one route, possibly with
several next hops (ECMP).  ``Candidate`` is one line of ``Rib.explain``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from wire.nlri import next_hop_text, parse, to_text

from .decision import Step
from .errors import RibError
from .path import PATHS, Ineligible, Path
from .source import Install, LocalKind

_tuple_new = tuple.__new__


def prefix_key(family, key) -> bytes:
    """A prefix's wire key, from a wire key or the prefix as text."""
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    afi, k = parse(str(key))
    if afi != family[0]:
        raise RibError(f"{key} is not a prefix of address family {family[0]}")
    return k


class _Probe:
    """Stands for a key in a dictionary lookup and keeps the stored key it
    is compared with: ``bytes.__eq__`` declines a foreign type, so Python
    asks the probe's reflected ``__eq__``."""

    __slots__ = ("key", "hash", "found")

    def __init__(self, key):
        self.key = key
        self.hash = hash(key)
        self.found = None

    def __hash__(self):
        return self.hash

    def __eq__(self, other):
        if other == self.key:
            self.found = other
            return True
        return False


def stored_key(table: dict, key):
    """The key object ``table`` holds for a key equal to ``key`` (None if
    absent): storing that one elsewhere instead of an equal copy keeps one
    object per prefix however many peers send it."""
    probe = _Probe(key)
    return probe.found if probe in table else None


class Dest(tuple):
    """Several candidates for one prefix: the tuple ``(key, best, *paths)``.

    ``key`` is the prefix's wire key object, the one the table holds, which
    every source's Adj-RIB-In stores too.  ``paths``
    are the candidates in canonical order (by source, then path id).
    ``best`` is the last decision: None (not decided since the candidates
    changed), ``()`` (nothing eligible), the best ``Path``, or a tuple of
    paths when several are merged (ECMP).

    A Dest is immutable and replaced whenever it changes: one object per
    prefix, and the Dest a prefix had before a batch stays intact as the
    "old" side of the batch's change.
    """

    __slots__ = ()

    key = property(itemgetter(0))
    best = property(itemgetter(1))

    @property
    def paths(self) -> tuple:
        return self[2:]

    def selected(self) -> tuple:
        b = self[1]
        return (b,) if b.__class__ in PATHS else b

    def __repr__(self) -> str:
        return f"<Dest {self.paths!r} best={self.best!r}>"


def make_dest(key, paths: tuple, best=None) -> Dest:
    return _tuple_new(Dest, (key, best) + paths)


class Change(NamedTuple):
    """A prefix whose selected route changed in a batch."""

    family: tuple
    key: bytes
    old: tuple      # selected paths before, best first; () when there was no route
    new: tuple      # selected paths after

    @property
    def withdrawn(self) -> bool:
        return not self.new

    @property
    def best(self):
        return self.new[0] if self.new else None

    @property
    def prefix(self) -> str:
        return to_text(self.family[0], self.key)


def install_of(path) -> Install:
    """What the kernel layer does with a route whose best path is ``path``."""
    s = path.source
    if s.local and s.kind is LocalKind.STATIC and not path.next_hop:
        return Install.BLACKHOLE
    return s.install


class LocRoute:
    """A prefix's selected route: the best path and, with ECMP, the paths
    merged with it."""

    __slots__ = ("family", "key", "paths")

    def __init__(self, family, key, paths):
        self.family = tuple(family)
        self.key = key
        self.paths = paths

    @property
    def best(self) -> Path:
        return self.paths[0]

    @property
    def source(self):
        return self.paths[0].source

    @property
    def attrs(self):
        return self.paths[0].attrs

    @property
    def prefix(self) -> str:
        return to_text(self.family[0], self.key)

    @property
    def next_hops(self) -> tuple:
        """Distinct next hops (wire bytes) of the selected paths, best first."""
        seen = []
        for p in self.paths:
            if p.next_hop and p.next_hop not in seen:
                seen.append(p.next_hop)
        return tuple(seen)

    @property
    def install(self) -> Install:
        return install_of(self.paths[0])

    def as_dict(self) -> dict:
        return {
            "prefix": self.prefix,
            "source": self.source.name,
            "next_hops": [t for nh in self.next_hops for t in next_hop_text(nh)[:1]],
            "install": self.install.value,
            "paths": len(self.paths),
        }

    def __eq__(self, other):
        return (isinstance(other, LocRoute) and self.family == other.family
                and self.key == other.key and self.paths == other.paths)

    def __repr__(self) -> str:
        return f"<LocRoute {self.prefix} via {self.paths!r}>"


class Status(enum.Enum):
    """A candidate's standing in ``Rib.explain``; values are printed."""

    BEST = "best"
    MULTIPATH = "multipath"         # merged with the best (ECMP)
    NOT_SELECTED = "not selected"   # lost at ``step``
    INELIGIBLE = "ineligible"       # see ``reason``
    FILTERED = "filtered"           # rejected by import policy (soft reconfiguration copy)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate route of a prefix and why it stands where it does.

    ``step`` is the decision step that put it behind ``beaten_by`` (for a
    multipath member: the step that ranks it after the best); ``reason``
    is why an ineligible one may not be used.
    """

    path: Path
    status: Status
    step: Step | None = None
    beaten_by: Path | None = None
    reason: Ineligible | None = None
    stale: bool = False

    @property
    def source(self):
        return self.path.source

    def as_dict(self) -> dict:
        p = self.path
        out = {
            "source": p.source.name,
            "next_hop": next_hop_text(p.next_hop) if p.next_hop else [],
            "status": self.status.value,
        }
        if p.path_id:
            out["path_id"] = p.path_id
        if self.step is not None:
            out["step"] = self.step.value
        if self.beaten_by is not None:
            out["beaten_by"] = self.beaten_by.source.name
        if self.reason is not None:
            out["reason"] = self.reason.value
        if self.stale:
            out["stale"] = True
        return out
