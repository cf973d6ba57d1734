"""One instance of the BGP FSM and the TCP connection it drives.

RFC 4271 section 8 runs one FSM per connection: while a collision is being
resolved a session briefly has two (section 6.8).  A ``Connection`` holds
everything that belongs to one instance: its state, the id of the TCP
connection it uses (and of a dial still in progress), the framer and
outbound buffers of that connection, its timers as ``{Timer: deadline}``,
and what its OPEN exchange produced.

Outbound bytes wait in two queues: ``urgent`` (OPEN, KEEPALIVE,
NOTIFICATION) always goes out first, so that a KEEPALIVE never waits behind
a table's worth of UPDATEs; ``queue`` holds UPDATEs and ROUTE-REFRESHes,
whose relative order matters (RFC 7313 BoRR/EoRR bracket a refresh).
"""

from __future__ import annotations

from collections import deque

from wire.constants import HEADER_LEN
from wire.errors import WireError
from wire.messages import Framer, check_header

from .states import State, Timer


class Connection:
    __slots__ = ("state", "dial", "conn", "outgoing", "framer", "tail", "urgent", "queue",
                 "queued", "timers", "hold_time", "keepalive_time", "peer_open",
                 "negotiated", "codec", "families", "notified")

    def __init__(self, state: State = State.IDLE):
        self.state = state
        self.dial: int | None = None        # a dial in progress
        self.conn: int | None = None        # the TCP connection in use
        self.outgoing = False               # did we initiate ``conn``?
        self.framer: Framer | None = None
        self.tail = b""                     # the framer's unconsumed bytes (see frame())
        self.urgent = bytearray()
        self.queue: deque = deque()
        self.queued = 0
        self.timers: dict = {}              # {Timer: deadline}
        self.hold_time = 0                  # the hold time in force (0: none)
        self.keepalive_time = 0
        self.peer_open = None
        self.negotiated = None
        self.codec = None                   # wire.UpdateCodec once Established
        self.families = frozenset()         # families still enabled (RFC 7606 disables)
        self.notified = None                # NOTIFICATION sent or received here

    @property
    def up(self) -> bool:
        return self.conn is not None

    # -- the TCP connection ------------------------------------------------
    def attach(self, conn: int, outgoing: bool) -> None:
        """Start using a TCP connection, with nothing known about it yet."""
        self.conn = conn
        self.outgoing = outgoing
        self.framer = Framer()
        self.tail = b""
        self.reset_exchange()

    def reset_exchange(self) -> None:
        """Forget what the OPEN exchange of the last connection produced."""
        self.peer_open = None
        self.negotiated = None
        self.codec = None
        self.families = frozenset()
        self.notified = None
        self.hold_time = self.keepalive_time = 0

    def detach(self) -> bytes:
        """Forget the TCP connection; return the bytes that must still go
        out on it (the urgent queue: a final NOTIFICATION).  Queued UPDATEs
        are dropped: nothing follows a NOTIFICATION."""
        final = bytes(self.urgent)
        self.urgent.clear()
        self.queue.clear()
        self.queued = 0
        self.conn = None
        self.framer = None
        self.tail = b""
        self.codec = None
        return final

    def frame(self, data: bytes) -> tuple[list, WireError | None]:
        """Split received bytes into ``(type, body)`` messages.  On a header
        error, return the complete messages before it and the error."""
        framer = self.framer
        try:
            messages = framer.feed(data)
        except WireError as e:
            return self._salvage(data), e
        # Keep a copy of what the framer kept, so that the messages before a
        # bad header can be recovered (Framer.feed raises and drops them).
        b = framer.buffered
        if not b:
            self.tail = b""
        elif b <= len(data):
            self.tail = data[-b:]
        else:
            self.tail = (self.tail + data)[-b:]
        return messages, None

    def _salvage(self, data: bytes) -> list:
        buf = self.tail + data
        out = []
        i, n = 0, len(buf)
        while n - i >= HEADER_LEN:
            try:
                length, mtype = check_header(buf, i, n, self.framer.max_size)
            except WireError:
                break
            if n - i < length:
                break
            out.append((mtype, buf[i + HEADER_LEN:i + length]))
            i += length
        return out

    # -- outbound ------------------------------------------------------------
    def take(self, max_bytes: int | None = None) -> bytes:
        """Whole messages to write, urgent ones first; with ``max_bytes``,
        about that many (at least one message when any is waiting)."""
        parts = [bytes(self.urgent)] if self.urgent else []
        size = len(self.urgent)
        self.urgent.clear()
        queue = self.queue
        if max_bytes is None:
            parts.extend(queue)
            queue.clear()
            self.queued = 0
        else:
            while queue and (size < max_bytes or not parts):
                m = queue.popleft()
                parts.append(m)
                size += len(m)
                self.queued -= len(m)
        return b"".join(parts)

    @property
    def pending(self) -> int:
        return len(self.urgent) + self.queued

    # -- timers ---------------------------------------------------------------
    def restart_hold(self, now: float) -> None:
        if self.hold_time:
            self.timers[Timer.HOLD] = now + self.hold_time
        else:
            self.timers.pop(Timer.HOLD, None)

    def stop(self, *timers: Timer) -> None:
        for t in timers:
            self.timers.pop(t, None)
