"""What each peer still has to send: shared chunks of UPDATEs, read at the
peer's own pace.

A ``Chunk`` is a list of whole UPDATE messages encoded once for a whole
update group: a *batch* (the changes of one generation: withdrawals first,
then announcements) or a *snapshot* of the group's Adj-RIB-Out (what a new
member or a route refresh gets).  The messages of one source's routes are
contiguous and their index ranges are kept in ``skip``, so that a member
reads the very same ``bytes`` objects as every other member but leaves out
the runs of its own routes (a route is never sent back to the peer it came
from).  ``personal`` holds the few messages only one member needs: the
withdrawal of a prefix whose route in the group became that member's own,
or the announcement of one that stopped being its own without changing.

``Member`` is one peer of a group.  Its queue holds ``Item``s: a chunk plus
the member's own messages before and after it (End-of-RIB after the first
snapshot, BoRR/EoRR around a refresh).  ``take(max_bytes)`` returns whole
messages, as many as fit (at least one), in order, remembering where it
stopped; the cut is found by bisecting the chunk's running byte totals, and
the returned list is built by slicing, so a member costs a few list slices
per batch however many prefixes the batch carries.

Flow control: the group appends every batch to the queue of every member
that keeps up.  A member whose unread batches would pass the group's bound
(``max_backlog`` bytes) drops them all and remembers only the generation of
the first one it dropped (``watermark``): from then on it holds no batch,
and when it has read what is left in its queue the group re-walks its
Adj-RIB-Out for the prefixes changed since that generation (``group``).
A slow or stuck peer thus costs a bounded amount of memory and never holds
back the others.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque

MARKER_SIZE = 23        # a ROUTE-REFRESH message (BoRR/EoRR) in the queue


def _size(m) -> int:
    return len(m) if m.__class__ is bytes else MARKER_SIZE


class Chunk:
    """Whole messages encoded once and read by many members.

    ``ends[i]`` is the total size of ``messages[:i + 1]``.  ``skip`` maps a
    source name to the sorted ``(start, stop)`` index ranges of the
    messages about its routes; ``personal`` maps a member name to messages
    for it alone, read before the shared ones.  ``gen`` is the batch's
    generation (for a snapshot: the generation it shows the table after).
    """

    __slots__ = ("gen", "messages", "ends", "skip", "personal", "prefixes", "batch")

    def __init__(self, gen: int, batch: bool = True):
        self.gen = gen
        self.batch = batch
        self.messages: list = []
        self.ends: list = []
        self.skip: dict = {}
        self.personal: dict = {}
        self.prefixes = 0

    @property
    def size(self) -> int:
        return self.ends[-1] if self.ends else 0

    def add(self, messages, source: str | None = None) -> None:
        """Append messages; ``source``: they are about that peer's routes."""
        if not messages:
            return
        start = len(self.messages)
        total = self.size
        ends = self.ends
        for m in messages:
            total += len(m)
            ends.append(total)
        self.messages.extend(messages)
        if source is not None:
            runs = self.skip.get(source)
            if runs is None:
                self.skip[source] = [(start, len(self.messages))]
            elif runs[-1][1] == start:
                runs[-1] = (runs[-1][0], len(self.messages))
            else:
                runs.append((start, len(self.messages)))

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        kind = "batch" if self.batch else "snapshot"
        return f"<Chunk {kind} gen {self.gen}: {len(self.messages)} messages, {self.size} bytes>"


class Item:
    """One entry of a member's queue: a chunk with the member's own
    messages before and after it."""

    __slots__ = ("chunk", "before", "after")

    def __init__(self, chunk: Chunk | None, before=(), after=()):
        self.chunk = chunk
        self.before = before
        self.after = after

    @property
    def batch(self) -> bool:
        return self.chunk is not None and self.chunk.batch


class Member:
    """A peer in an update group and what it has not read yet."""

    __slots__ = ("name", "info", "params", "queue", "spans", "backlog", "watermark", "sent",
                 "overflows")

    def __init__(self, name: str, info, params):
        self.name = name
        self.info = info                # rib.PeerInfo
        self.params = params            # SessionParams
        self.queue: deque = deque()     # Items not started
        self.spans: deque = deque()     # what is left of the Item being read
        self.backlog = 0                # bytes of unread batches
        self.watermark = None           # not None: batches dropped from this generation
        self.sent = 0                   # messages handed out
        self.overflows = 0              # times it fell behind and dropped its batches

    # -- state ---------------------------------------------------------------------

    @property
    def detached(self) -> bool:
        """Fell behind: receives no batches until the group re-walks for it."""
        return self.watermark is not None

    @property
    def idle(self) -> bool:
        """Nothing left to read."""
        return not self.spans and not self.queue

    def floor(self, open_gen: int) -> int:
        """The oldest generation whose changes this member may still lack."""
        if self.watermark is not None:
            return self.watermark
        if self.spans and self.spans[0][4] is not None:
            return self.spans[0][4]         # the batch being read
        for item in self.queue:
            if item.batch:
                return item.chunk.gen
        return open_gen

    # -- filling -------------------------------------------------------------------

    def push(self, item: Item) -> None:
        self.queue.append(item)

    def offer(self, chunk: Chunk, limit: int) -> bool:
        """Queue a batch, unless it would take the unread batches past
        ``limit`` bytes: then drop them all (False)."""
        if self.watermark is not None:
            return False
        size = chunk.size
        if self.backlog and self.backlog + size > limit:
            self.overflow(chunk.gen)
            return False
        personal = chunk.personal.get(self.name, ())
        self.queue.append(Item(chunk, personal))
        self.backlog += size
        return True

    def overflow(self, gen: int) -> None:
        """Drop every unread batch; remember where the first one began.
        Snapshots and resyncs already queued stay (their content is fixed
        and a member could never finish a large one otherwise)."""
        first = gen
        if self.spans and self.spans[0][4] is not None:
            first = min(first, self.spans[0][4])
            self.spans.clear()
        kept = deque()
        for item in self.queue:
            if item.batch:
                first = min(first, item.chunk.gen)
            else:
                kept.append(item)
        self.queue = kept
        self.backlog = 0
        self.watermark = first
        self.overflows += 1

    # -- reading -------------------------------------------------------------------

    def _start(self, item: Item) -> None:
        """Lay out the spans of ``item`` that this member reads:
        ``[sequence, start, stop, ends or None, batch generation or None]``."""
        spans = self.spans
        gen = item.chunk.gen if item.batch else None
        if item.before:
            spans.append([item.before, 0, len(item.before), None, gen])
        chunk = item.chunk
        if chunk is not None and chunk.messages:
            msgs, ends = chunk.messages, chunk.ends
            start = 0
            for i, j in chunk.skip.get(self.name, ()):
                if i > start:
                    spans.append([msgs, start, i, ends, gen])
                start = j
            if start < len(msgs):
                spans.append([msgs, start, len(msgs), ends, gen])
        if item.after:
            spans.append([item.after, 0, len(item.after), None, gen])
        if item.batch:
            # Counted until read; a batch with nothing for us is read at once.
            spans.append([(), 0, 0, None, gen, chunk.size])

    def take(self, max_bytes: int) -> list:
        """Whole messages, in order, up to ``max_bytes`` (at least one if
        anything is left)."""
        out: list = []
        room = max_bytes
        spans = self.spans
        while True:
            if not spans:
                if not self.queue:
                    break
                self._start(self.queue.popleft())
                continue
            span = spans[0]
            seq, i, j, ends = span[0], span[1], span[2], span[3]
            if len(span) == 6:          # end of a batch: no longer unread
                self.backlog -= span[5]
                spans.popleft()
                continue
            if room <= 0 and out:
                break
            if ends is not None:
                base = ends[i - 1] if i else 0
                k = bisect_right(ends, base + room, i, j)
                if k == i:
                    if out:
                        break
                    k = i + 1               # one message bigger than the room
                out.extend(seq[i:k])
                room -= ends[k - 1] - base
            else:
                k = i
                while k < j:
                    size = _size(seq[k])
                    if size > room and out:
                        break
                    room -= size
                    out.append(seq[k])
                    k += 1
            if k >= j:
                spans.popleft()
            else:
                span[1] = k
                break
        self.sent += len(out)
        return out
