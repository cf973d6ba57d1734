"""A worker process of simulated peers: many BGP sessions on one epoll loop.

    python3 -m bench.compare.worker --case C --scale S --target ADDR --peers 0,1,...

How it works
------------
The worker rebuilds the case's ``Plan`` (``cases.plan``), pre-encodes the
stream of each of its peers that sends, numbers the prefixes its counting
peers expect (``receiver.Index``), and only then opens its sessions: each
socket bound to its peer's own address, non-blocking, at most
``IN_FLIGHT`` handshakes at a time.  A session refused, closed, or silent
for ``HANDSHAKE_TIMEOUT``, before it is Established is tried again a
second later (a daemon may still be starting, or its accept queue
overflowed).  The single loop (level-triggered epoll, no task per session)
reads each readable socket into its ``Counter`` and writes each writable
one from its pending bytes or ``Stream``.

It talks to the coordinator in lines: it prints JSON events on stdout
(``up`` once every session is Established; ``done`` once every stream is
written and every counting session holds its whole set; ``final`` with
its figures on exit) and reads commands on stdin (``go``: start sending;
``stop`` or end of file: report and exit).  Times are CLOCK_MONOTONIC,
which every process on the machine shares, so the coordinator can subtract
one worker's times from another's.  CPU is this process's own user+system
time (``getrusage``), at "go" and at the end.

When a pass over the ready sockets read little per socket (a daemon that
writes every UPDATE on its own), the loop sleeps ``COALESCE`` (20 ms) so
that the next pass reads many messages per system call; this bounds the
worker's cost per message without delaying completion by more than that.

While a stream is being written its UPDATEs keep the daemon's hold timer
going; otherwise a KEEPALIVE goes out every ``KEEPALIVE_EVERY`` seconds.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import select
import socket
import sys
import time

from . import cases
from .bgpmsg import KEEPALIVE_BYTES, open_message
from .feeder import Stream
from .receiver import Counter, Index

BGP_PORT = 179
IN_FLIGHT = 16              # handshakes at once per worker (BIRD listens with backlog 8)
HANDSHAKE_TIMEOUT = 5.0     # a connection the daemon never answered is tried again
RETRY_AFTER = 1.0
KEEPALIVE_EVERY = 30.0
READ_SIZE = 1 << 18
SMALL_READS = 16384
COALESCE = 0.02


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def emit(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"ev": event, "pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


class Session:
    __slots__ = ("index", "peer", "sock", "counter", "stream", "out", "state", "retry_at",
                 "last_sent", "own", "deadline", "mask")

    def __init__(self, index: int, peer, own):
        self.index = index
        self.peer = peer
        self.own = own
        self.sock = None
        self.counter = None
        self.stream = None
        self.out = b""
        self.state = "idle"          # idle, connecting, opensent, established, failed
        self.retry_at = 0.0
        self.last_sent = 0.0
        self.deadline = 0.0
        self.mask = 0


class Worker:
    def __init__(self, plan, indexes: list[int], target: str):
        self.plan = plan
        self.target = target
        counting = [i for i in indexes if plan.peers[i].counts]
        self.index = Index(cases.universe(plan)) if counting else None
        self.sessions = [Session(i, plan.peers[i], cases.own(plan, i)) for i in indexes]
        self.streams = {i: cases.stream(plan, i) for i in indexes if plan.peers[i].sends}
        self.by_fd = {}
        self.ep = select.epoll()
        self.ep.register(0, select.EPOLLIN)
        self.up_reported = False
        self.go_at = None
        self.cpu_at_go = None
        self.done_at = None
        self.cpu_at_done = None
        self.errors = []
        self.stdin_rest = b""

    # -- sessions -------------------------------------------------------------
    def _start(self, s: Session, now: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((s.peer.address, 0))
        err = sock.connect_ex((self.target, BGP_PORT))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            s.state, s.retry_at = "idle", now + RETRY_AFTER
            return
        s.sock = sock
        s.counter = Counter(self.index if s.peer.counts else None, s.own)
        s.out = b""
        s.state = "connecting"
        s.deadline = now + HANDSHAKE_TIMEOUT
        self.by_fd[sock.fileno()] = s
        s.mask = select.EPOLLOUT
        self.ep.register(sock.fileno(), s.mask)

    def _drop(self, s: Session, why: str, now: float) -> None:
        fd = s.sock.fileno()
        self.ep.unregister(fd)
        del self.by_fd[fd]
        s.sock.close()
        s.sock = None
        if s.state == "established":
            s.state = "failed"
            self.errors.append(f"{s.peer.address}: {why}")
            emit("error", peer=s.peer.address, why=why)
        else:
            s.state, s.retry_at = "idle", now + RETRY_AFTER

    def _want(self, s: Session) -> None:
        mask = select.EPOLLIN
        if s.out or (s.stream is not None and not s.stream.done):
            mask |= select.EPOLLOUT
        if mask != s.mask:          # one epoll_ctl per change, not per read
            s.mask = mask
            self.ep.modify(s.sock.fileno(), mask)

    def _connected(self, s: Session, now: float) -> None:
        err = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._drop(s, os.strerror(err), now)
            return
        s.state = "opensent"
        s.out = open_message(s.peer.asn, cases.HOLD_TIME, s.peer.address)
        self._want(s)

    def _readable(self, s: Session, now: float) -> int:
        try:
            data = s.sock.recv(READ_SIZE)
        except BlockingIOError:
            return 0
        except OSError as e:
            self._drop(s, str(e), now)
            return 0
        if not data:
            self._drop(s, "closed by the daemon", now)
            return 0
        c = s.counter
        c.feed(data)
        if c.reply:
            s.out += c.reply
            c.reply = b""
        if c.error:
            self._drop(s, c.error, now)
            return 0
        if s.state == "opensent" and c.established:
            s.state = "established"
            s.last_sent = now
        if c.marks is not None and c.complete_at is None and c.held == c.need:
            c.complete_at = now
        self._want(s)
        return len(data)

    def _writable(self, s: Session, now: float) -> None:
        try:
            if s.out:
                sent = s.sock.send(s.out)
                s.out = s.out[sent:]
                s.last_sent = now
            if not s.out and s.stream is not None and not s.stream.done:
                s.stream.write(s.sock)
                s.last_sent = now
        except BlockingIOError:
            pass
        except OSError as e:
            self._drop(s, str(e), now)
            return
        self._want(s)

    # -- the loop ---------------------------------------------------------------
    def _command(self, now: float) -> bool:
        data = os.read(0, 4096)
        if not data:
            return False
        self.stdin_rest += data
        *lines, self.stdin_rest = self.stdin_rest.split(b"\n")
        for line in lines:
            word = line.strip().decode()
            if word == "go":
                self._go(now)
            elif word == "stop":
                return False
        return True

    def _go(self, now: float) -> None:
        self.go_at = now
        self.cpu_at_go = cpu_seconds()
        for s in self.sessions:
            if s.index in self.streams and s.state == "established":
                s.stream = Stream(self.streams[s.index])
                self._writable(s, now)

    def _housekeeping(self, now: float) -> None:
        connecting = sum(1 for s in self.sessions if s.state in ("connecting", "opensent"))
        for s in self.sessions:
            if s.state in ("connecting", "opensent") and now > s.deadline:
                # An accept queue overflow leaves our side "established"
                # while the daemon never saw the connection: start over.
                self._drop(s, "handshake timed out", now)
                connecting -= 1
            if s.state == "idle" and s.retry_at <= now and connecting < IN_FLIGHT:
                self._start(s, now)
                connecting += 1
            elif (s.state == "established" and now - s.last_sent > KEEPALIVE_EVERY
                  and (s.stream is None or s.stream.done) and not s.out):
                s.out = KEEPALIVE_BYTES
                s.last_sent = now
                self._want(s)
        if not self.up_reported and all(s.state == "established" for s in self.sessions):
            self.up_reported = True
            emit("up", t=now, cpu=cpu_seconds())

    def _check_done(self, now: float) -> None:
        if self.done_at is not None or self.go_at is None:
            return
        for s in self.sessions:
            if s.index in self.streams and (s.stream is None or not s.stream.done):
                return
            if s.peer.counts and (s.counter is None or s.counter.complete_at is None):
                return
        self.done_at = now
        self.cpu_at_done = cpu_seconds()
        emit("done", **self.figures())

    def figures(self) -> dict:
        streams = [s.stream for s in self.sessions if s.stream is not None]
        counters = [s.counter for s in self.sessions if s.peer.counts and s.counter]
        counting = [s for s in self.sessions if s.peer.counts]
        complete = [c.complete_at for c in counters if c.complete_at is not None]
        return {
            "go": self.go_at,
            "cpu_go": self.cpu_at_go,
            "cpu_done": self.cpu_at_done,
            "cpu": cpu_seconds(),
            "send_start": min((x.started for x in streams if x.started), default=None),
            "send_end": max((x.finished for x in streams if x.finished), default=None),
            "sent_all": all(x.done for x in streams),
            "complete_last": max(complete) if len(complete) == len(counting) and complete
            else None,
            "complete_sessions": len(complete),
            "counting_sessions": len(counting),
            "held": sum(c.held for c in counters),
            "need": sum(c.need for c in counters) + sum(
                1 for s in counting if s.counter is None),
            "unknown": sum(c.unknown for c in counters),
            "updates": sum(c.updates for c in counters),
            "errors": self.errors[:5],
        }

    def run(self) -> None:
        poll = self.ep.poll
        by_fd = self.by_fd
        last_house = 0.0
        while True:
            events = poll(0.05)
            now = time.monotonic()
            got = reads = 0
            for fd, mask in events:
                if fd == 0:
                    if not self._command(now):
                        emit("final", **self.figures())
                        return
                    continue
                s = by_fd.get(fd)
                if s is None:
                    continue
                if s.state == "connecting":
                    self._connected(s, now)
                    continue
                if mask & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP):
                    got += self._readable(s, now)
                    reads += 1
                    if s.sock is None:
                        continue
                if mask & select.EPOLLOUT:
                    self._writable(s, now)
            if now - last_house > 0.05 or not events:
                last_house = now
                self._housekeeping(now)
            self._check_done(now)
            if reads > 1 and got < SMALL_READS * reads:
                # Many sockets with a message or two each: let them fill up
                # for a moment, so that one recv() takes many messages.  A
                # receiver finishes at most COALESCE late.
                time.sleep(COALESCE)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.compare.worker")
    ap.add_argument("--case", required=True, choices=sorted(cases.CASES))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--target", default=cases.DUT_ADDRESS)
    ap.add_argument("--peers", required=True, help="peer indexes, comma separated")
    args = ap.parse_args(argv)
    plan = cases.plan(args.case, args.scale)
    worker = Worker(plan, [int(x) for x in args.peers.split(",")], args.target)
    emit("ready")
    worker.run()


if __name__ == "__main__":
    main()
