"""The "null" daemon: a BGP speaker that does no routing at all, to show
what the harness itself can carry.

    python3 -m bench.compare.null --config FILE      (FILE: "ASN ROUTER-ID")

It listens on port 179, answers every OPEN with an OPEN (the peer's own
AS, so every session is "iBGP" and nothing needs rewriting) and a
KEEPALIVE, and from then on copies every whole message a session sends to
every other Established session, unchanged: the feeder's UPDATEs reach the
receivers as they were written, each client's blocks reach every other
client.  One epoll loop, messages cut only at their length fields, one
``send`` of the joined pending bytes per writable socket.  Whatever time
a case takes through it is the ceiling the feeders and receivers set.
"""

from __future__ import annotations

import argparse
import select
import socket

from .bgpmsg import KEEPALIVE_BYTES, OPEN, open_message

READ_SIZE = 1 << 18


class Conn:
    __slots__ = ("sock", "rest", "out", "sent", "up")

    def __init__(self, sock):
        self.sock = sock
        self.rest = b""
        self.out = bytearray()      # pending bytes; out[sent:] not yet written
        self.sent = 0
        self.up = False


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.compare.null")
    ap.add_argument("--config", required=True)
    args = ap.parse_args(argv)
    with open(args.config) as f:
        _asn, router_id = f.read().split()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", 179))
    lsock.listen(4096)
    lsock.setblocking(False)
    ep = select.epoll()
    ep.register(lsock.fileno(), select.EPOLLIN)
    conns: dict[int, Conn] = {}

    def want(c: Conn) -> None:
        ep.modify(c.sock.fileno(), select.EPOLLIN | (select.EPOLLOUT if c.out else 0))

    def queue(c: Conn, data: bytes) -> None:
        idle = not c.out
        c.out += data
        if idle:             # one epoll change per burst, not per message
            want(c)

    def close(c: Conn) -> None:
        ep.unregister(c.sock.fileno())
        del conns[c.sock.fileno()]
        c.sock.close()

    while True:
        for fd, mask in ep.poll(1.0):
            if fd == lsock.fileno():
                while True:
                    try:
                        s, _ = lsock.accept()
                    except BlockingIOError:
                        break
                    s.setblocking(False)
                    conns[s.fileno()] = Conn(s)
                    ep.register(s.fileno(), select.EPOLLIN)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            if mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                try:
                    data = c.sock.recv(READ_SIZE)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    close(c)
                    continue
                if data:
                    data = c.rest + data if c.rest else data
                    p, n = 0, len(data)
                    while p + 19 <= n:
                        length = (data[p + 16] << 8) | data[p + 17]
                        if p + length > n:
                            break
                        if not c.up and data[p + 18] == OPEN:
                            asn = int.from_bytes(data[p + 21:p + 23], "big")
                            queue(c, open_message(asn, 240, router_id) + KEEPALIVE_BYTES)
                            c.up = True
                            data, n, p = data[p + length:], n - p - length, 0
                            continue
                        p += length
                    whole, c.rest = data[:p], data[p:]
                    if whole and c.up:
                        for other in conns.values():
                            if other is not c and other.up:
                                queue(other, whole)
            if mask & select.EPOLLOUT and c.out:
                try:
                    with memoryview(c.out) as view:
                        c.sent += c.sock.send(view[c.sent:c.sent + (4 << 20)])
                except BlockingIOError:
                    pass
                except OSError:
                    close(c)
                    continue
                if c.sent == len(c.out):
                    c.out.clear()
                    c.sent = 0
                    want(c)
                elif c.sent > (16 << 20):
                    del c.out[:c.sent]
                    c.sent = 0


if __name__ == "__main__":
    main()
