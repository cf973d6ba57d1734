"""TCP for BGP: listening sockets and outgoing connections with the
session's socket options (bgpd.sockopts), on trio.

A listener is bound per configured address (``::`` is made IPv6-only so
that ``0.0.0.0`` can be bound beside it) with SO_REUSEADDR so that a
restarted daemon binds again at once.  TCP MD5 keys of passive peers are
installed on every listener of the peer's family, because the kernel checks
the signature before the connection is accepted.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

import trio

from . import sockopts


def family_of(address) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(str(address)).version == 6 else socket.AF_INET


async def open_listener(address: str, port: int, backlog: int = 128) -> trio.socket.SocketType:
    fam = family_of(address)
    sock = trio.socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sockopts.set_network_control(sock)
        await sock.bind((address, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def configure_session_socket(sock, peer) -> None:
    """TTL/GTSM, MD5 and traffic class for a session socket (either side)."""
    sockopts.set_network_control(sock)
    if peer.ttl_security:
        sockopts.set_gtsm(sock, peer.ttl_security)
    else:
        sockopts.set_ttl(sock, peer.ttl)


async def dial(peer, timeout: float) -> trio.SocketStream:
    """Connect to ``peer`` (a conf.Peer) with its socket options; raises
    OSError (or trio.TooSlowError) on failure."""
    addr = str(peer.address)
    fam = family_of(addr)
    sock = trio.socket.socket(fam, socket.SOCK_STREAM)
    try:
        if peer.password:
            sockopts.set_md5(sock, addr.split("%")[0], peer.password)
        configure_session_socket(sock, peer)
        if peer.local_address is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            await sock.bind((str(peer.local_address), 0))
        with trio.fail_after(timeout):
            await sock.connect((addr, peer.port))
    except BaseException:
        sock.close()
        raise
    return trio.SocketStream(sock)


def describe_os_error(e: BaseException) -> str:
    """A socket error in words for `show protocols`."""
    if isinstance(e, trio.TooSlowError):
        return "connection timed out"
    if isinstance(e, trio.BrokenResourceError) and isinstance(e.__cause__, OSError):
        e = e.__cause__         # trio's wrapper: say what the socket said
    if isinstance(e, OSError) and e.errno is not None:
        name = errno.errorcode.get(e.errno, str(e.errno))
        return f"{e.strerror or name} ({name})"
    return str(e) or e.__class__.__name__
