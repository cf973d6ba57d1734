"""The sending side of a simulated peer: a pre-encoded byte stream written
to a non-blocking socket in large slices.

The stream (every UPDATE, then End-of-RIB) is built once before the
session starts; after "go" each writable event hands the kernel up to
``SLICE`` bytes of it through a ``memoryview`` (no copy in Python), so the
feeder's cost is a system call per megabyte.  ``started``/``finished``
record when the first byte was offered and when the last was accepted:
while the daemon reads faster than this, ``finished - started`` is the
feeder's own speed; when the daemon is slower, it is the daemon's.
"""

from __future__ import annotations

import time

from .bgpmsg import END_OF_RIB

SLICE = 1 << 20


class Stream:
    __slots__ = ("view", "offset", "started", "finished")

    def __init__(self, data: bytes):
        self.view = memoryview(data + END_OF_RIB)
        self.offset = 0
        self.started = None
        self.finished = None

    @property
    def done(self) -> bool:
        return self.offset >= len(self.view)

    def write(self, sock) -> None:
        """Write as much as the socket takes now (BlockingIOError: none)."""
        if self.started is None:
            self.started = time.monotonic()
        view, n = self.view, len(self.view)
        while self.offset < n:
            try:
                sent = sock.send(view[self.offset:self.offset + SLICE])
            except BlockingIOError:
                return
            self.offset += sent
        self.finished = time.monotonic()
