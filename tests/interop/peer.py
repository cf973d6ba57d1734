"""A small blocking BGP test peer built on the project's codec (``wire``).

How it works
------------
``TestPeer`` wraps one TCP socket (plain ``socket``, blocking with a
timeout computed from a deadline).  It sends an OPEN with the capabilities
most speakers may want to see (RFC 4760 multiprotocol IPv4 and IPv6
unicast, RFC 2918 route refresh, RFC 7313 enhanced route refresh, RFC 6793
4-octet AS, RFC 4724 graceful restart, RFC 7911 add-path receive, RFC 8654
extended messages, and the FQDN capability), answers the peer's OPEN with a
KEEPALIVE (RFC 4271 section 8.2.2, OpenConfirm), and sends a KEEPALIVE
every third of the negotiated hold time while it reads.

Every message received is split with ``wire.Framer`` and recorded whole,
header included (``received``, ``received_hex``), so that a test can store
the session, decode it again offline, or compare it with another decoder.
Nothing is interpreted beyond what the session needs: the peer's OPEN
(for the negotiated options: ASN width, add-path, message size), and a
NOTIFICATION, which ends the session.

The peer can connect (``TestPeer.connect``) or accept (``TestPeer.accept``),
inside a lab namespace, optionally with a TCP MD5 signature (RFC 2385).

It is a test tool, not a BGP speaker: no FSM beyond the above, no RIB.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from dataclasses import dataclass, field

import wire
from wire.capabilities import (AddPath, EnhancedRouteRefresh, ExtendedMessage, FourOctetAS,
                               Fqdn, GracefulRestart, Multiprotocol, RouteRefresh)
from wire.constants import (HEADER_LEN, MARKER, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN,
                            MessageType)

BGP_PORT = 179
TCP_MD5SIG = 14             # linux/tcp.h
TCP_MD5SIG_MAXKEYLEN = 80
ADD_PATH_RECEIVE, ADD_PATH_SEND = 1, 2


class PeerError(RuntimeError):
    """The session did not go as the test expected."""


class SessionClosed(PeerError):
    """The remote end closed the TCP connection."""


def default_capabilities(asn: int, hostname: str = "testpeer", restart_time: int = 120) -> tuple:
    """The capabilities the test peer announces (4-octet AS included)."""
    families = (wire.IPV4_UNICAST, wire.IPV6_UNICAST)
    return (
        *(Multiprotocol(afi, safi) for afi, safi in families),
        RouteRefresh(),
        EnhancedRouteRefresh(),
        FourOctetAS(asn),
        GracefulRestart(restart_time, False, False,
                        tuple((afi, safi, False) for afi, safi in families)),
        AddPath(tuple((afi, safi, ADD_PATH_RECEIVE) for afi, safi in families)),
        ExtendedMessage(),
        Fqdn(hostname, ""),
    )


def set_md5(sock: socket.socket, address: str, password: str) -> None:
    """Sign TCP segments to/from ``address`` with ``password`` (RFC 2385).

    ``struct tcp_md5sig``: a sockaddr_storage (128 octets), flags, prefix
    length, key length, interface index, then the key (80 octets)."""
    key = password.encode()
    if len(key) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError("TCP MD5 key longer than 80 octets")
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        sa = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + ip.packed
    else:
        sa = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0) + ip.packed \
            + struct.pack("=I", 0)
    sa = sa.ljust(128, b"\0")
    value = sa + struct.pack("=BBHI", 0, 0, len(key), 0) + key.ljust(TCP_MD5SIG_MAXKEYLEN, b"\0")
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, value)


def _family(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def negotiated_codec(sent: wire.Open, received: wire.Open) -> wire.UpdateCodec:
    """The UPDATE codec for what the two OPENs negotiated, seen from the
    side that sent ``sent``: ASN width (RFC 6793), add-path in each
    direction (RFC 7911 section 4), message size (RFC 8654)."""
    four_octet = bool(sent.capability(FourOctetAS) and received.capability(FourOctetAS))

    def modes(o: wire.Open) -> dict:
        out = {}
        for cap in o.capabilities_of(AddPath):
            for afi, safi, mode in cap.families:
                out[(afi, safi)] = mode
        return out

    ours, theirs = modes(sent), modes(received)
    rx = frozenset(f for f, m in ours.items()
                   if m & ADD_PATH_RECEIVE and theirs.get(f, 0) & ADD_PATH_SEND)
    tx = frozenset(f for f, m in ours.items()
                   if m & ADD_PATH_SEND and theirs.get(f, 0) & ADD_PATH_RECEIVE)
    extended = bool(sent.capability(ExtendedMessage) and received.capability(ExtendedMessage))
    return wire.UpdateCodec(four_octet=four_octet, add_path_rx=rx, add_path_tx=tx,
                            max_size=MAX_EXTENDED_MESSAGE_LEN if extended else MAX_MESSAGE_LEN)


def whole(mtype: int, body: bytes) -> bytes:
    """Header + body of a framed message."""
    return MARKER + (HEADER_LEN + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


@dataclass
class TestPeer:
    """One BGP session seen from the test's side.

    ``received`` holds every message the remote sent, whole, in order;
    ``sent`` every message this peer sent.  ``remote_open`` is the peer's
    OPEN once it arrived, ``notification`` the NOTIFICATION that ended the
    session, if one did."""

    __test__ = False        # not a pytest test class

    sock: socket.socket
    asn: int
    router_id: str
    hold_time: int = 90
    capabilities: tuple = ()
    received: list = field(default_factory=list)
    sent: list = field(default_factory=list)
    local_open: wire.Open | None = None
    remote_open: wire.Open | None = None
    notification: wire.Notification | None = None
    closed: bool = False
    eors: set = field(default_factory=set)   # families whose End-of-RIB arrived
    errors: list = field(default_factory=list)  # WireErrors met decoding UPDATEs

    def __post_init__(self):
        if not self.capabilities:
            self.capabilities = default_capabilities(self.asn)
        self._framer = wire.Framer(MAX_MESSAGE_LEN)
        self._next_keepalive = None
        self._keepalive_interval = None
        self._codec = None

    # -- opening -----------------------------------------------------------
    @classmethod
    def connect(cls, ns, remote: str, *, asn: int, router_id: str, port: int = BGP_PORT,
                local: str | None = None, md5: str | None = None, timeout: float = 10.0,
                **kw) -> "TestPeer":
        """Connect from namespace ``ns`` (None: the current one) to ``remote``.

        Retries while the remote refuses (its daemon may still be starting)
        until ``timeout``."""
        deadline = time.monotonic() + timeout
        fam = _family(remote)
        while True:
            sock = ns.socket(fam) if ns is not None else socket.socket(fam)
            try:
                if md5 is not None:
                    set_md5(sock, remote, md5)
                if local is not None:
                    sock.bind((local, 0))
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.connect((remote, port))
                break
            except (ConnectionRefusedError, ConnectionResetError, socket.timeout) as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise PeerError(f"could not connect to {remote} port {port}: {e}") from e
                time.sleep(0.1)
            except BaseException:
                sock.close()
                raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, asn, router_id, **kw)

    @classmethod
    def listen(cls, ns, local: str, *, port: int = BGP_PORT, md5: dict | None = None
               ) -> socket.socket:
        """A listening socket in ``ns``; ``md5`` maps remote address -> password."""
        fam = _family(local)
        sock = ns.socket(fam) if ns is not None else socket.socket(fam)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for remote, password in (md5 or {}).items():
            set_md5(sock, remote, password)
        sock.bind((local, port))
        sock.listen(4)
        return sock

    @classmethod
    def accept(cls, listener: socket.socket, *, asn: int, router_id: str,
               timeout: float = 10.0, **kw) -> "TestPeer":
        """Accept one connection on ``listener`` (see ``listen``)."""
        listener.settimeout(timeout)
        try:
            sock, _ = listener.accept()
        except socket.timeout as e:
            raise PeerError(f"no connection within {timeout}s") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, asn, router_id, **kw)

    # -- sending -----------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent.append(bytes(data))

    def send_open(self) -> wire.Open:
        bgp_id = int(ipaddress.IPv4Address(self.router_id))
        self.local_open = wire.Open.build(self.asn, self.hold_time, bgp_id, self.capabilities)
        self.send(wire.encode(self.local_open))
        return self.local_open

    def send_keepalive(self) -> None:
        self.send(wire.KEEPALIVE_BYTES)

    def send_notification(self, code: int, subcode: int = 0, data: bytes = b"") -> None:
        self.send(wire.encode(wire.Notification(code, subcode, data)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- receiving ---------------------------------------------------------
    @property
    def local_open_bytes(self) -> bytes:
        """Our OPEN as it went on the wire."""
        for m in self.sent:
            if m[18] == MessageType.OPEN:
                return m
        raise PeerError("no OPEN sent yet")

    @property
    def received_hex(self) -> list[str]:
        return [m.hex() for m in self.received]

    def codec(self) -> wire.UpdateCodec:
        """The UPDATE codec for this session (after both OPENs)."""
        if self.local_open is None or self.remote_open is None:
            raise PeerError("the session is not open yet")
        return negotiated_codec(self.local_open, self.remote_open)

    def _on_message(self, mtype: int, body: bytes) -> None:
        self.received.append(whole(mtype, body))
        if mtype == MessageType.OPEN and self.remote_open is None:
            self.remote_open = wire.decode_body(mtype, body)
            if self.local_open is None:
                self.send_open()
            self.send_keepalive()
            hold = min(self.hold_time, self.remote_open.hold_time)
            if hold:
                self._keepalive_interval = hold / 3
                self._next_keepalive = time.monotonic() + self._keepalive_interval
            self._codec = self.codec()
            self._framer.max_size = self._codec.max_size
        elif mtype == MessageType.UPDATE and self._codec is not None:
            try:
                eor = self._codec.decode(body).end_of_rib
            except wire.WireError as e:
                self.errors.append(e)
            else:
                if eor is not None:
                    self.eors.add(eor)
        elif mtype == MessageType.NOTIFICATION:
            self.notification = wire.decode_body(mtype, body)

    def _read_once(self, deadline: float) -> bool:
        """Read what arrives before ``deadline`` (or the next keepalive
        time); return False when nothing arrived."""
        now = time.monotonic()
        wake = deadline
        if self._next_keepalive is not None:
            if now >= self._next_keepalive:
                self.send_keepalive()
                self._next_keepalive = now + self._keepalive_interval
            wake = min(wake, self._next_keepalive)
        self.sock.settimeout(max(0.01, wake - now))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise SessionClosed("the remote closed the connection")
        for mtype, body in self._framer.feed(data):
            self._on_message(mtype, body)
        return True

    def read_until(self, predicate, timeout: float, what: str = "a condition"):
        """Read messages until ``predicate(self)`` is true; return its value.

        A NOTIFICATION or a closed connection ends the wait early: the
        predicate is asked once more, then PeerError is raised."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if self.closed or self.notification is not None:
                why = f": {self.notification.describe()}" if self.notification else ""
                raise PeerError(f"session ended while waiting for {what}{why}")
            if time.monotonic() >= deadline:
                raise PeerError(f"timed out after {timeout}s waiting for {what}")
            try:
                self._read_once(deadline)
            except SessionClosed:
                value = predicate(self)
                if value:
                    return value
                raise PeerError(f"connection closed while waiting for {what}") from None

    def establish(self, timeout: float = 10.0) -> wire.Open:
        """Send our OPEN (if not sent yet) and read until the peer's OPEN and
        its first KEEPALIVE (the session is then Established)."""
        if self.local_open is None:
            self.send_open()

        def up(p):
            types = [m[18] for m in p.received]
            return (MessageType.OPEN in types
                    and MessageType.KEEPALIVE in types[types.index(MessageType.OPEN):])
        self.read_until(up, timeout, "OPEN and KEEPALIVE")
        return self.remote_open

    def decoded(self) -> list:
        """Every received message decoded with the session's codec."""
        codec = self.codec()
        return [wire.decode_message(m, codec, codec.max_size) for m in self.received]

    def wait_end_of_rib(self, families=(wire.IPV4_UNICAST, wire.IPV6_UNICAST),
                        timeout: float = 20.0) -> None:
        want = {tuple(f) for f in families}
        self.read_until(lambda p: want <= p.eors, timeout,
                        f"End-of-RIB for {sorted(want)}")

    def wait_notification(self, timeout: float = 10.0) -> wire.Notification:
        """Read until a NOTIFICATION arrives (or the connection closes after one)."""
        deadline = time.monotonic() + timeout
        while self.notification is None:
            if self.closed:
                raise PeerError("connection closed without a NOTIFICATION")
            if time.monotonic() >= deadline:
                raise PeerError(f"no NOTIFICATION within {timeout}s")
            try:
                self._read_once(deadline)
            except SessionClosed:
                if self.notification is None:
                    raise PeerError("connection closed without a NOTIFICATION") from None
        return self.notification


__all__ = ["BGP_PORT", "PeerError", "SessionClosed", "TestPeer", "default_capabilities",
           "negotiated_codec", "set_md5"]
