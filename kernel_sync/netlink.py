"""rtnetlink sockets: batched requests with per-request errors, dumps, events.

The only module of the package that does I/O.  The socket is made by
pyroute2 (``pyroute2.netns.create_socket``, which can also make it inside a
named network namespace); everything sent on it is packed by ``rtnl``.

Batched requests (``Channel.transact``)
    Many requests go out in one ``send``: the kernel's rtnetlink handler
    processes every message of the buffer in order, in the sender's own
    context, before ``send`` returns.  Requests are sent *without*
    ``NLM_F_ACK``: the kernel still answers every request that fails with an
    ``NLMSG_ERROR`` carrying the request's sequence number (and, with
    ``NETLINK_EXT_ACK``, its reason in words), and stays silent on success.
    Each buffer ends with a fence, an ``NLMSG_NOOP`` request with
    ``NLM_F_ACK``, whose ACK marks the end of the buffer's answers.  So a
    buffer of thousands of routes costs one ``send`` and one ``recv`` when
    all goes well, and errors come back matched to requests by sequence
    number.  ``NETLINK_CAP_ACK`` keeps error messages small; the receive
    buffer is large (``SO_RCVBUFFORCE``) so that a buffer where every
    request fails still fits; if it overflows anyway (``ENOBUFS``) the
    answers are reported lost and the caller re-reads the kernel's state.

Dumps (``Channel.dump``)
    ``NLM_F_DUMP`` requests, read until ``NLMSG_DONE``; with
    ``NETLINK_GET_STRICT_CHK`` the kernel filters route dumps by protocol
    and table itself.  A dump the kernel marks inconsistent
    (``NLM_F_DUMP_INTR``: the table changed while it was read) raises
    ``DumpInterrupted`` and is simply read again.

Events (``Channel(groups=...)``, ``Channel.drain``)
    A non-blocking socket subscribed to the route, link, address and
    neighbour groups; its ``fileno()`` is what the caller's event loop
    waits on.  ``drain`` returns what is queued without blocking; a queue
    that overflowed raises ``Overflow`` (``ENOBUFS``): events were lost and
    the caller resynchronises with a dump.  ``filter_out_protocol``
    attaches a classic BPF socket filter (``rtnl.drop_protocol_filter``)
    that drops the route events of one protocol inside the kernel, before
    they are queued: the echoes of a bulk write never cost a ``recv``.
    ``count`` counts the messages of a (kernel-filtered) dump without
    parsing them.
"""

from __future__ import annotations

import errno
import os
import struct

from . import rtnl

MSG_DONTWAIT = 0x40
RECV_SIZE = 1 << 20


def _set_seq(msg: bytearray, seq: int) -> None:
    struct.pack_into("=I", msg, 8, seq)        # nlmsghdr.nlmsg_seq


class NetlinkError(OSError):
    """A single request the kernel refused."""


class DumpInterrupted(Exception):
    """The kernel marked a dump inconsistent; read it again."""


class Overflow(Exception):
    """Events were dropped because the socket's queue was full."""


class Channel:
    """One rtnetlink socket (requests and dumps, or events with ``groups``)."""

    def __init__(self, netns: str | None = None, groups=(), buffer: int = 32 << 20,
                 timeout: float = 30.0):
        from pyroute2.netns import create_socket

        self.sock = create_socket(netns, family=rtnl.AF_NETLINK,
                                  socket_type=rtnl.SOCK_RAW | rtnl.SOCK_CLOEXEC,
                                  proto=rtnl.NETLINK_ROUTE)
        try:
            for force, plain in ((rtnl.SO_SNDBUFFORCE, rtnl.SO_SNDBUF),
                                 (rtnl.SO_RCVBUFFORCE, rtnl.SO_RCVBUF)):
                try:
                    self.sock.setsockopt(rtnl.SOL_SOCKET, force, buffer)
                except PermissionError:
                    self.sock.setsockopt(rtnl.SOL_SOCKET, plain, buffer)
            for opt in (rtnl.NETLINK_EXT_ACK, rtnl.NETLINK_CAP_ACK, rtnl.NETLINK_GET_STRICT_CHK):
                try:
                    self.sock.setsockopt(rtnl.SOL_NETLINK, opt, 1)
                except OSError:
                    pass        # older kernels: plain errors, unfiltered dumps
            self.sock.bind((0, 0))
            for g in groups:
                self.join(g)
            if groups:
                self.sock.setblocking(False)
            else:
                self.sock.settimeout(timeout)
        except BaseException:
            self.sock.close()
            raise
        self.sndbuf = self.sock.getsockopt(rtnl.SOL_SOCKET, rtnl.SO_SNDBUF)
        self._seq = 0
        self._buf = bytearray(RECV_SIZE)

    # -- plumbing ---------------------------------------------------------------
    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def join(self, group: int) -> None:
        self.sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_ADD_MEMBERSHIP, group)

    def leave(self, group: int) -> None:
        self.sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_DROP_MEMBERSHIP, group)

    def filter_out_protocol(self, protocol: int | None) -> None:
        """Drop route events of ``protocol`` in the kernel, before they are
        queued (None: keep everything again).  Used while a bulk apply
        writes a million routes whose echoes nobody needs."""
        import ctypes

        if protocol is None:
            try:
                self.sock.setsockopt(rtnl.SOL_SOCKET, rtnl.SO_DETACH_FILTER, 0)
            except OSError:
                pass            # no filter attached
            return
        prog = rtnl.drop_protocol_filter(protocol)
        buf = ctypes.create_string_buffer(prog, len(prog))
        # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        fprog = struct.pack("@HP", len(prog) // 8, ctypes.addressof(buf))
        self.sock.setsockopt(rtnl.SOL_SOCKET, rtnl.SO_ATTACH_FILTER, fprog)

    def seqs(self, n: int) -> int:
        """Reserve ``n`` sequence numbers; return the first."""
        first = self._seq + 1
        self._seq += n
        if self._seq > 0x7FFFFFFF:
            self._seq = n
            first = 1
        return first

    def max_batch(self, wanted: int) -> int:
        """The largest buffer one send may carry (the kernel refuses a
        message larger than the socket's send buffer)."""
        return max(4096, min(wanted, self.sndbuf - 1024))

    # -- requests -----------------------------------------------------------------
    def transact(self, buffer: bytes) -> tuple[dict, bool]:
        """Send a buffer of requests; return ``({seq: (errno, text)}, lost)``
        for the requests that failed, ``lost`` when answers were dropped."""
        fence = self.seqs(1)
        self.sock.sendall(bytes(buffer) + rtnl.message(
            rtnl.NLMSG_NOOP, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK, fence, b""))
        errors: dict = {}
        lost = False
        buf = self._buf
        while True:
            # The kernel answered before send() returned: read without
            # waiting, and wait only if the fence is somehow not there yet.
            try:
                n = self.sock.recv_into(buf, RECV_SIZE, MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                if lost:
                    return errors, lost         # the fence itself was dropped
                n = self.sock.recv_into(buf, RECV_SIZE)
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    lost = True
                    continue
                raise
            for mtype, _flags, _seq, start, end in rtnl.messages(buf, n):
                if mtype != rtnl.NLMSG_ERROR:
                    continue
                code, seq, text = rtnl.parse_error(buf, start, end)
                if seq == fence:
                    return errors, lost
                if code:
                    errors[seq] = (code, text)

    def request(self, msg: bytes) -> None:
        """Send one request (with ``NLM_F_ACK``) and wait for its answer;
        raise ``NetlinkError`` when it fails."""
        seq = self.seqs(1)
        msg = bytearray(msg)
        _set_seq(msg, seq)
        self.sock.sendall(msg)
        buf = self._buf
        while True:
            n = self.sock.recv_into(buf, RECV_SIZE)
            for mtype, _flags, mseq, start, end in rtnl.messages(buf, n):
                if mtype == rtnl.NLMSG_ERROR:
                    code, rseq, text = rtnl.parse_error(buf, start, end)
                    if rseq == seq:
                        if code:
                            raise NetlinkError(code, f"{os.strerror(code)}"
                                                     f"{': ' + text if text else ''}")
                        return

    def dump(self, request: bytes, handle) -> None:
        """Send a dump request and call ``handle(buf, type, flags, start,
        end)`` for each message of the answer (``buf`` is reused: use each
        message before returning).  One flat loop: a dump of a million
        routes spends its time in the handler, not here."""
        seq = self.seqs(1)
        request = bytearray(request)
        _set_seq(request, seq)
        self.sock.sendall(request)
        buf = self._buf
        recv = self.sock.recv_into
        unpack = rtnl.NLMSGHDR.unpack_from
        interrupted = False
        while True:
            n = recv(buf, RECV_SIZE)
            i = 0
            while i + 16 <= n:
                length, mtype, flags, mseq, _pid = unpack(buf, i)
                if length < 16 or i + length > n:
                    break
                if mseq == seq:
                    if flags & rtnl.NLM_F_DUMP_INTR:
                        interrupted = True
                    if mtype == rtnl.NLMSG_DONE:
                        if interrupted:
                            raise DumpInterrupted()
                        return
                    if mtype == rtnl.NLMSG_ERROR:
                        code, _s, text = rtnl.parse_error(buf, i + 16, i + length)
                        if code:
                            raise NetlinkError(code, f"dump: {os.strerror(code)} {text}".strip())
                    else:
                        handle(buf, mtype, flags, i + 16, i + length)
                i += (length + 3) & ~3

    def count(self, request: bytes, msg_type: int) -> int:
        """How many messages of ``msg_type`` a dump returns (a cheap check:
        nothing is parsed)."""
        seq = self.seqs(1)
        request = bytearray(request)
        _set_seq(request, seq)
        self.sock.sendall(request)
        buf = self._buf
        recv = self.sock.recv_into
        unpack = rtnl.NLMSGHDR.unpack_from
        count = 0
        while True:
            n = recv(buf, RECV_SIZE)
            i = 0
            while i + 16 <= n:
                length, mtype, flags, mseq, _pid = unpack(buf, i)
                if length < 16:
                    break
                if mseq == seq:
                    if mtype == msg_type:
                        count += 1
                    elif mtype == rtnl.NLMSG_DONE:
                        if flags & rtnl.NLM_F_DUMP_INTR:
                            raise DumpInterrupted()
                        return count
                    elif mtype == rtnl.NLMSG_ERROR:
                        code, _s, text = rtnl.parse_error(buf, i + 16, i + length)
                        if code:
                            raise NetlinkError(code, f"dump: {os.strerror(code)} {text}".strip())
                i += (length + 3) & ~3

    def dump_all(self, request: bytes, handle, attempts: int = 5) -> None:
        """``dump``, started again when the kernel reports it inconsistent;
        before a new attempt ``handle(None, None, None, None, None)`` tells
        the handler to drop what it collected."""
        for attempt in range(attempts):
            try:
                self.dump(request, handle)
                return
            except DumpInterrupted:
                if attempt == attempts - 1:
                    raise
                self._discard_pending()
                handle(None, None, None, None, None)

    def _discard_pending(self) -> None:
        while True:
            try:
                self.sock.recv_into(self._buf, RECV_SIZE, MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return

    # -- events ---------------------------------------------------------------------
    def drain(self, limit: int = 1 << 30):
        """Yield ``(buffer, type, flags, start, end)`` for each queued event
        without blocking (at most ``limit`` datagrams); raise ``Overflow``
        when the kernel dropped some."""
        buf = self._buf
        for _ in range(limit):
            try:
                n = self.sock.recv_into(buf, RECV_SIZE, MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    raise Overflow() from None
                raise
            for mtype, flags, _seq, start, end in rtnl.messages(buf, n):
                yield buf, mtype, flags, start, end
