"""Socket options of a BGP session on Linux.

- TCP MD5 signatures (RFC 2385): ``TCP_MD5SIG`` with a ``struct tcp_md5sig``
  per peer address (``TCP_MD5SIG_EXT`` per dynamic neighbor prefix), on the
  listening socket (for passive sessions) and on the connecting socket (for
  active ones).  The kernel silently drops segments
  that are unsigned or wrongly signed; ``md5_drop_counters`` reads the
  namespace's TcpExt counters so the daemon can say so in its log.
- GTSM (RFC 5082): send with TTL 255 and refuse anything that arrives with
  less than 255 - (hops - 1) (``IP_MINTTL`` / ``IPV6_MINHOPCOUNT``).
- Multihop: the TTL of outgoing packets (1 for a directly connected eBGP
  peer, as routers do).
- Traffic class CS6 (network control) on every BGP socket, as routers use.
"""

from __future__ import annotations

import socket
import struct

TCP_MD5SIG = 14
TCP_MD5SIG_EXT = 32             # with a prefix length (Linux 4.13)
TCP_MD5SIG_FLAG_PREFIX = 1
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21
IPV6_MINHOPCOUNT = 73
TOS_CS6 = 0xC0
_SOCKADDR_STORAGE = 128


def _sockaddr(address: str) -> bytes:
    """A ``struct sockaddr_storage`` holding ``address`` (port 0)."""
    if ":" in address:
        packed = socket.inet_pton(socket.AF_INET6, address)
        raw = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0) + packed \
            + struct.pack("=I", 0)
    else:
        packed = socket.inet_pton(socket.AF_INET, address)
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + packed
    return raw.ljust(_SOCKADDR_STORAGE, b"\0")


def set_md5(sock: socket.socket, peer_address: str, password: str | None,
            prefix_length: int | None = None) -> None:
    """Install (or with ``password=None`` remove) the RFC 2385 key for a peer,
    or with ``prefix_length`` for every address of the prefix that
    ``peer_address`` starts (a dynamic neighbor range; the kernel uses the
    longest match)."""
    key = (password or "").encode()
    if len(key) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError(f"TCP MD5 key longer than {TCP_MD5SIG_MAXKEYLEN} octets")
    flags = 0 if prefix_length is None else TCP_MD5SIG_FLAG_PREFIX
    # flags, prefixlen, keylen, ifindex, key
    value = _sockaddr(peer_address) + struct.pack("=BBHi", flags, prefix_length or 0,
                                                  len(key), 0) \
        + key.ljust(TCP_MD5SIG_MAXKEYLEN, b"\0")
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG if prefix_length is None else TCP_MD5SIG_EXT,
                    value)


def set_ttl(sock: socket.socket, ttl: int) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)


def set_gtsm(sock: socket.socket, hops: int = 1) -> None:
    """RFC 5082: outgoing TTL 255, incoming at least 256 - hops."""
    set_ttl(sock, 255)
    minimum = 256 - hops
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, minimum)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, minimum)


def set_network_control(sock: socket.socket) -> None:
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, TOS_CS6)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, TOS_CS6)
    except OSError:
        pass            # a nicety, never a reason to fail a session


def md5_drop_counters(netstat_path: str = "/proc/net/netstat") -> dict[str, int]:
    """The kernel's counters of segments dropped for MD5 reasons:
    TCPMD5NotFound (unsigned where a key is set), TCPMD5Unexpected (signed
    where no key is set), TCPMD5Failure (wrong signature)."""
    try:
        with open(netstat_path) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], (int(v) for v in values.split()[1:])))
            return {k: table.get(k, 0) for k in ("TCPMD5NotFound", "TCPMD5Unexpected",
                                                 "TCPMD5Failure")}
    return {}
