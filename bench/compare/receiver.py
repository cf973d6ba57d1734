"""The counting side of a simulated peer: it cuts what the daemon sends into
messages and keeps, per session, which of the expected prefixes it holds.

How it works
------------
The prefixes a session must end up with are numbered once per worker
process (``Index``: wire key -> number, shared by every session of the
process).  Each session keeps a ``bytearray`` with one byte per number and
a count of the ones set; a prefix the session announced itself is marked
from the start and not counted, so it does not matter whether the daemon
reflects it back.  Per UPDATE only the lengths are read: withdrawn-routes
length, path-attributes length, then the NLRI walked prefix by prefix (a
length octet and that many address octets) and looked up.  A withdrawal
clears the mark again.  The set is therefore really verified: ``complete``
means every expected prefix was announced and is still held, each counted
once; anything announced that was never fed is counted in ``unknown``.

Handshake messages are recognised in the same pass: an OPEN is answered
with a KEEPALIVE, the first KEEPALIVE after it means Established, and a
NOTIFICATION ends the session with its code in ``error``.
"""

from __future__ import annotations

from .bgpmsg import KEEPALIVE, KEEPALIVE_BYTES, NOTIFICATION, OPEN, UPDATE


class Index:
    """Wire key -> number, for the prefixes a worker's sessions expect."""

    def __init__(self, keys: list[bytes]):
        self.number = {k: i for i, k in enumerate(keys)}
        self.size = len(keys)


class Counter:
    """One session's receive side."""

    __slots__ = ("index", "marks", "held", "need", "rest", "open_seen", "established",
                 "error", "unknown", "complete_at", "updates", "reply")

    def __init__(self, index: Index | None, own: list[bytes] = ()):
        self.index = index
        self.rest = b""
        self.open_seen = False
        self.established = False
        self.error = None
        self.unknown = 0
        self.updates = 0
        self.complete_at = None
        self.reply = b""            # what the session must send back (KEEPALIVE)
        if index is None:           # a feeder: it counts nothing
            self.marks, self.held, self.need = None, 0, 0
            return
        self.marks = bytearray(index.size)
        for k in own:
            self.marks[index.number[k]] = 1
        self.held = 0
        self.need = index.size - len(own)

    @property
    def complete(self) -> bool:
        return self.held == self.need

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream."""
        if self.rest:
            data = self.rest + data
        n = len(data)
        p = 0
        marks = self.marks
        number = self.index.number if self.index is not None else None
        held = self.held
        while p + 19 <= n:
            length = (data[p + 16] << 8) | data[p + 17]
            end = p + length
            if end > n:
                break
            kind = data[p + 18]
            if kind == UPDATE:
                self.updates += 1
                if marks is not None:
                    wlen = (data[p + 19] << 8) | data[p + 20]
                    q = p + 21
                    wend = q + wlen
                    while q < wend:
                        k = (data[q] + 15) >> 3
                        i = number.get(data[q:q + k])
                        if i is not None and marks[i]:
                            marks[i] = 0
                            held -= 1
                        q += k
                    q = wend + 2 + ((data[wend] << 8) | data[wend + 1])
                    while q < end:
                        k = (data[q] + 15) >> 3
                        i = number.get(data[q:q + k])
                        if i is None:
                            self.unknown += 1
                        elif not marks[i]:
                            marks[i] = 1
                            held += 1
                        q += k
            elif kind == KEEPALIVE:
                if self.open_seen:
                    self.established = True
            elif kind == OPEN:
                self.open_seen = True
                self.reply += KEEPALIVE_BYTES
            elif kind == NOTIFICATION:
                self.error = f"NOTIFICATION {data[p + 19]}/{data[p + 20]}"
            p = end
        self.held = held
        self.rest = data[p:]
