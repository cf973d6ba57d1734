"""rtnetlink messages: the constants, packing and parsing the sync layer uses.

Pure: bytes in, bytes out, standard library only (``struct``).  The layouts
are the kernel's UAPI (``linux/netlink.h``, ``linux/rtnetlink.h``,
``linux/neighbour.h``, ``linux/if_link.h``, ``linux/if_addr.h``); every
message is ``nlmsghdr`` + a fixed family header + TLV attributes padded to
4 octets (RFC 3549 describes the framing).

Routes are the bulk path, so they are packed from templates: everything of
a route message that depends only on the route's *value* (type, scope,
flags, gateway/interface or multipath attribute) is built once per distinct
value (``RouteEncoder``) and each message is one ``struct.pack`` of the
header and the destination plus that cached tail.  Parsing goes the other
way with ``unpack_from`` on the receive buffer, without intermediate
objects, and returns the canonical value the sync layer compares
(``model.KRoute``), so a route read back from the kernel equals the route
that was asked for.

Only what the sync layer needs is here; anything else in a message is
skipped.
"""

from __future__ import annotations

import struct
import sys

from .model import AFI_IPV4, AFI_IPV6, KRoute, Nexthop

# -- netlink (linux/netlink.h) ------------------------------------------------
NETLINK_ROUTE = 0
AF_NETLINK = 16
SOCK_RAW = 3
SOCK_CLOEXEC = 0o2000000
SOL_SOCKET = 1
SO_SNDBUF = 7
SO_RCVBUF = 8
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_DROP_MEMBERSHIP = 2
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLM_F_ACK_TLVS = 0x200          # in an NLMSG_ERROR: extended ack attributes follow
NLM_F_CAPPED = 0x100            # in an NLMSG_ERROR: the request's payload is left out
NLMSGERR_ATTR_MSG = 1

# -- rtnetlink message types --------------------------------------------------
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30

# multicast groups (bit n-1 of the bind() mask)
RTNLGRP_LINK = 1
RTNLGRP_NEIGH = 3
RTNLGRP_IPV4_IFADDR = 5
RTNLGRP_IPV4_ROUTE = 7
RTNLGRP_IPV6_IFADDR = 9
RTNLGRP_IPV6_ROUTE = 11
ROUTE_GROUPS = (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE)
OTHER_GROUPS = (RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR)

AF_UNSPEC = 0
AF_INET = 2
AF_BRIDGE = 7
AF_INET6 = 10
AF_OF_AFI = {AFI_IPV4: AF_INET, AFI_IPV6: AF_INET6}
AFI_OF_AF = {AF_INET: AFI_IPV4, AF_INET6: AFI_IPV6}
ADDR_LEN = {AFI_IPV4: 4, AFI_IPV6: 16}

# -- routes (linux/rtnetlink.h) -------------------------------------------------
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_MULTIPATH = 9
RTA_TABLE = 15
RTA_VIA = 18

RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BLACKHOLE = 6
RTN_UNREACHABLE = 7
RTN_PROHIBIT = 8

RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254
RT_SCOPE_NOWHERE = 255

RT_TABLE_UNSPEC = 0
RT_TABLE_COMPAT = 252
RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255

RTM_F_CLONED = 0x200
RTNH_F_ONLINK = 0x4

RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4
RTPROT_BIRD = 12

# -- links, addresses, neighbours -------------------------------------------------
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINKINFO = 18
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_VXLAN_ID = 1
IFLA_VXLAN_LOCAL = 4
IFLA_VXLAN_LEARNING = 7
IFLA_VXLAN_PORT = 15
IFLA_VXLAN_LOCAL6 = 17
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80

NDA_DST = 1
NDA_LLADDR = 2
NDA_PROTOCOL = 12
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NTF_SELF = 0x02

# -- structures -------------------------------------------------------------------
NLMSGHDR = struct.Struct("=IHHII")            # len, type, flags, seq, pid
# family dst_len src_len tos table protocol scope type flags
RTMSG = struct.Struct("=BBBBBBBBI")
RTA = struct.Struct("=HH")
RTA_U32 = struct.Struct("=HHI")
RTNH = struct.Struct("=HBBi")                 # len flags hops ifindex
IFINFOMSG = struct.Struct("=BxHiII")          # family type index flags change
IFADDRMSG = struct.Struct("=BBBBI")           # family prefixlen flags scope index
NDMSG = struct.Struct("=BxxxiHBB")            # family ifindex state flags type
NLMSGERR = struct.Struct("=i")

# One route request up to the destination's address: nlmsghdr, rtmsg,
# RTA_TABLE, RTA_PRIORITY, then the RTA_DST header.
_ROUTE_HEAD = struct.Struct("=IHHII" "BBBBBBBBI" "HHI" "HHI" "HH")
_ROUTE_HEAD_LEN = _ROUTE_HEAD.size           # 16 + 12 + 8 + 8 + 4 = 48


def align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One TLV attribute, padded to 4 octets."""
    n = 4 + len(payload)
    return RTA.pack(n, kind) + payload + b"\0" * (align(n) - n)


def attr_u32(kind: int, value: int) -> bytes:
    return RTA_U32.pack(8, kind, value)


def message(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    return NLMSGHDR.pack(16 + len(body), msg_type, flags, seq, 0) + body


# -- route values <-> attributes -------------------------------------------------

def _gateway_attr(afi: int, gateway: bytes) -> bytes:
    if len(gateway) == ADDR_LEN[afi]:
        return attr(RTA_GATEWAY, gateway)
    # An IPv4 route via an IPv6 gateway (RFC 5549 style): RTA_VIA.
    family = AF_INET6 if len(gateway) == 16 else AF_INET
    return attr(RTA_VIA, struct.pack("=H", family) + gateway)


def route_value_parts(afi: int, value: KRoute) -> tuple[int, int, int, bytes]:
    """(rtm_type, rtm_scope, rtm_flags, attribute tail) of a route value."""
    if value.type != RTN_UNICAST:
        return value.type, RT_SCOPE_UNIVERSE, 0, b""
    hops = value.nexthops
    if len(hops) == 1:
        gw, oif, onlink = hops[0]
        tail = b""
        if gw is not None:
            tail += _gateway_attr(afi, gw)
        if oif:
            tail += attr_u32(RTA_OIF, oif)
        scope = RT_SCOPE_UNIVERSE if gw is not None else RT_SCOPE_LINK
        return RTN_UNICAST, scope, RTNH_F_ONLINK if onlink else 0, tail
    body = b""
    for gw, oif, onlink in hops:
        inner = _gateway_attr(afi, gw) if gw is not None else b""
        body += RTNH.pack(8 + len(inner), RTNH_F_ONLINK if onlink else 0, 0, oif) + inner
    return RTN_UNICAST, RT_SCOPE_UNIVERSE, 0, attr(RTA_MULTIPATH, body)


class RouteEncoder:
    """Packs route requests of one protocol and table, many per buffer.

    ``new(afi, key, metric, value, seq, replace)`` and ``delete(afi, key,
    metric, seq)`` return one message; the per-value part is cached, so a
    table where a million routes share a few values costs one ``pack`` per
    route.  ``key`` is the wire key (prefix length octet + significant
    address octets, see ``wire.nlri``)."""

    __slots__ = ("protocol", "table", "_tails", "_rtm_table")

    def __init__(self, protocol: int, table: int):
        self.protocol = protocol
        self.table = table
        # rtm_table is one octet; RTA_TABLE (always sent) carries the rest.
        self._rtm_table = table if table < 256 else RT_TABLE_COMPAT
        self._tails: dict = {}

    def _tail(self, afi: int, value: KRoute):
        # Keyed by the value object's identity (values are interned and the
        # entry keeps the object alive, so the id cannot be reused meanwhile):
        # hashing a nested tuple per route would cost more than the rest.
        k = (afi, id(value))
        t = self._tails.get(k)
        if t is None or t[0] is not value:
            if len(self._tails) > 65536:
                self._tails.clear()
            t = self._tails[k] = (value,) + route_value_parts(afi, value)
        return t

    def new(self, afi: int, key: bytes, metric: int, value: KRoute, seq: int,
            replace: bool, ack: bool = False) -> bytes:
        _v, rtype, scope, rflags, tail = self._tail(afi, value)
        alen = 4 if afi == AFI_IPV4 else 16
        n = _ROUTE_HEAD_LEN + alen + len(tail)
        flags = NLM_F_REQUEST | NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL)
        if ack:
            flags |= NLM_F_ACK
        dst = key[1:]
        if len(dst) != alen:
            dst = dst + bytes(alen - len(dst))
        return _ROUTE_HEAD.pack(
            n, RTM_NEWROUTE, flags, seq, 0,
            AF_INET if afi == AFI_IPV4 else AF_INET6, key[0], 0, 0, self._rtm_table,
            self.protocol, scope, rtype, rflags,
            8, RTA_TABLE, self.table, 8, RTA_PRIORITY, metric, 4 + alen, RTA_DST) + dst + tail

    def delete(self, afi: int, key: bytes, metric: int, seq: int, ack: bool = False) -> bytes:
        alen = 4 if afi == AFI_IPV4 else 16
        dst = key[1:]
        if len(dst) != alen:
            dst = dst + bytes(alen - len(dst))
        # Type 0 and scope NOWHERE match any route of ours at this key; the
        # protocol field makes the kernel refuse to touch anyone else's.
        return _ROUTE_HEAD.pack(
            _ROUTE_HEAD_LEN + alen, RTM_DELROUTE, NLM_F_REQUEST | (NLM_F_ACK if ack else 0),
            seq, 0, AF_INET if afi == AFI_IPV4 else AF_INET6, key[0], 0, 0, self._rtm_table,
            self.protocol, RT_SCOPE_NOWHERE, 0, 0,
            8, RTA_TABLE, self.table, 8, RTA_PRIORITY, metric, 4 + alen, RTA_DST) + dst


def route_dump_request(seq: int, afi: int | None = None, protocol: int = 0,
                       table: int = 0) -> bytes:
    """RTM_GETROUTE dump; with strict checking the kernel filters by
    protocol and table itself (``ip route show proto X table Y``)."""
    family = AF_OF_AFI[afi] if afi else AF_UNSPEC
    body = RTMSG.pack(family, 0, 0, 0, table if table < 256 else RT_TABLE_UNSPEC,
                      protocol, 0, 0, 0)
    if table:
        body += attr_u32(RTA_TABLE, table)
    return message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, body)


def dump_request(msg_type: int, seq: int, family: int = AF_UNSPEC) -> bytes:
    """A dump of links, addresses or neighbours."""
    if msg_type == RTM_GETLINK:
        body = IFINFOMSG.pack(family, 0, 0, 0, 0)
    elif msg_type == RTM_GETADDR:
        body = IFADDRMSG.pack(family, 0, 0, 0, 0)
    else:
        body = NDMSG.pack(family, 0, 0, 0, 0)
    return message(msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, body)


# -- a socket filter for route events -----------------------------------------------

SO_ATTACH_FILTER = 26
SO_DETACH_FILTER = 27
_BPF_LD_B_ABS = 0x30            # BPF_LD | BPF_B | BPF_ABS
_BPF_JEQ_K = 0x15               # BPF_JMP | BPF_JEQ | BPF_K
_BPF_RET_K = 0x06               # BPF_RET | BPF_K
_SOCK_FILTER = struct.Struct("=HBBI")


def drop_protocol_filter(protocol: int) -> bytes:
    """A classic BPF program (``struct sock_filter[]``) for an event socket:
    drop RTM_NEWROUTE/RTM_DELROUTE messages of ``protocol``, keep everything
    else.  The message type is read from its low-order octet, which sits
    first on a little-endian host."""
    type_octet = 4 if sys.byteorder == "little" else 5
    prog = [
        (_BPF_LD_B_ABS, 0, 0, type_octet),            # 0: A = nlmsg_type
        (_BPF_JEQ_K, 2, 0, RTM_NEWROUTE),             # 1: -> 4
        (_BPF_JEQ_K, 1, 0, RTM_DELROUTE),             # 2: -> 4
        (_BPF_RET_K, 0, 0, 0xFFFFFFFF),               # 3: keep
        (_BPF_LD_B_ABS, 0, 0, 16 + 5),                # 4: A = rtm_protocol
        (_BPF_JEQ_K, 0, 1, protocol),                 # 5: ours -> 6, else -> 7
        (_BPF_RET_K, 0, 0, 0),                        # 6: drop
        (_BPF_RET_K, 0, 0, 0xFFFFFFFF),               # 7: keep
    ]
    return b"".join(_SOCK_FILTER.pack(*ins) for ins in prog)


# -- parsing -------------------------------------------------------------------------

def messages(buf, n: int):
    """(type, flags, seq, start, end) of each message in ``buf[:n]``; start
    is where the family header begins."""
    unpack = NLMSGHDR.unpack_from
    i = 0
    while i + 16 <= n:
        length, mtype, flags, seq, _pid = unpack(buf, i)
        if length < 16 or i + length > n:
            break
        yield mtype, flags, seq, i + 16, i + length
        i += align(length)


def parse_error(buf, start: int, end: int) -> tuple[int, int, str]:
    """(errno, seq of the request, extended-ack message) of an NLMSG_ERROR;
    errno 0 is an ACK."""
    (err,) = NLMSGERR.unpack_from(buf, start)
    _l, _t, _f, seq, _p = NLMSGHDR.unpack_from(buf, start + 4)
    text = ""
    _len, _type, flags, _s, _pid = NLMSGHDR.unpack_from(buf, start - 16)
    if flags & NLM_F_ACK_TLVS:
        # Attributes follow the request's header (capped) or whole request.
        i = start + 4 + (16 if flags & NLM_F_CAPPED else align(_l))
        for kind, a, b in attributes(buf, i, end):
            if kind == NLMSGERR_ATTR_MSG:
                text = bytes(buf[a:b]).rstrip(b"\0").decode(errors="replace")
    return -err, seq, text


def attributes(buf, i: int, end: int):
    """(type, start, end) of each attribute between ``i`` and ``end``."""
    unpack = RTA.unpack_from
    while i + 4 <= end:
        length, kind = unpack(buf, i)
        if length < 4:
            break
        yield kind & 0x3FFF, i + 4, i + length
        i += (length + 3) & ~3


_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_ROUTE_FIXED = struct.Struct("=BBBBBBBBI")


def parse_route(buf, start: int, end: int):
    """A route message as the tuple ``(afi, key, table, metric, protocol,
    value, tos, rtm_flags)`` (``value`` a ``KRoute``), or None for what the
    sync layer never looks at (cache clones, families other than IPv4/IPv6)."""
    family, dst_len, _src_len, tos, table, protocol, _scope, rtype, rflags = \
        _ROUTE_FIXED.unpack_from(buf, start)
    if family == AF_INET:
        afi, alen = AFI_IPV4, 4
    elif family == AF_INET6:
        afi, alen = AFI_IPV6, 16
    else:
        return None
    if rflags & RTM_F_CLONED:
        return None
    dst = b""
    metric = 0
    gw = None
    oif = 0
    multipath = None
    i = start + 12
    unpack = RTA.unpack_from
    while i + 4 <= end:
        length, kind = unpack(buf, i)
        if length < 4:
            break
        if kind == RTA_DST:
            dst = bytes(buf[i + 4:i + 4 + ((dst_len + 7) >> 3)])
        elif kind == RTA_PRIORITY:
            metric = _U32.unpack_from(buf, i + 4)[0]
        elif kind == RTA_TABLE:
            table = _U32.unpack_from(buf, i + 4)[0]
        elif kind == RTA_GATEWAY:
            gw = bytes(buf[i + 4:i + length])
        elif kind == RTA_VIA:
            gw = bytes(buf[i + 6:i + length])
        elif kind == RTA_OIF:
            oif = _I32.unpack_from(buf, i + 4)[0]
        elif kind == RTA_MULTIPATH:
            multipath = _parse_multipath(buf, i + 4, i + length)
        i += (length + 3) & ~3
    if rtype == RTN_UNICAST:
        if multipath is not None:
            hops = tuple(sorted(multipath, key=_hop_order))
        else:
            hops = (Nexthop(gw, oif, bool(rflags & RTNH_F_ONLINK)),)
        value = KRoute(RTN_UNICAST, hops)
    else:
        value = KRoute(rtype, ())
    if dst_len & 7 and dst:
        dst = dst[:-1] + bytes((dst[-1] & (0xFF00 >> (dst_len & 7)) & 0xFF,))
    return afi, bytes((dst_len,)) + dst, table, metric, protocol, value, tos, rflags


# IPv4 route messages as the kernel writes them: rtmsg, RTA_TABLE, RTA_DST.
_V4_HEAD = struct.Struct("=BBBBBBBBI" "HHI" "HH4s")
_OCTET = [bytes((i,)) for i in range(256)]


class RouteReader:
    """``parse_route`` for dumps of many routes.

    The kernel writes an IPv4 route as rtmsg, RTA_TABLE, RTA_DST and then
    everything that makes the route's value (metric, gateway, interface,
    multipath); routes that share a value share those last octets.  So
    they are looked up in a memo, and only a new combination is parsed in
    full.  IPv6 messages carry per-route cache information among those
    octets, so they are always parsed in full."""

    __slots__ = ("_memo", "_intern")

    def __init__(self, intern: dict | None = None):
        self._memo: dict = {}
        # Values are interned (shared with whoever passes the same dict), so
        # comparing a value read back with the one written is ``is``.
        self._intern = {} if intern is None else intern

    def parse(self, buf, start: int, end: int):
        if end - start < 28 or buf[start] != AF_INET:
            return parse_route(buf, start, end)
        f = _V4_HEAD.unpack_from(buf, start)
        if f[9] != 8 or f[10] != RTA_TABLE or f[12] != 8 or f[13] != RTA_DST:
            return parse_route(buf, start, end)
        tail = bytes(buf[start + 28:end])
        head = f[2:9]
        hit = self._memo.get(tail)
        if hit is None or hit[0] != head:
            full = parse_route(buf, start, end)
            if full is None:
                return None
            if len(self._memo) > 65536:
                self._memo.clear()
            value = self._intern.setdefault(full[5], full[5])
            hit = self._memo[tail] = (head, full[3], full[4], value, full[6], full[7])
        _head, metric, protocol, value, tos, rflags = hit
        dst_len = f[1]
        dst = f[14]
        if dst_len < 32:
            dst = dst[:(dst_len + 7) >> 3]
            if dst_len & 7:
                dst = dst[:-1] + _OCTET[dst[-1] & (0xFF00 >> (dst_len & 7)) & 0xFF]
        return AFI_IPV4, _OCTET[dst_len] + dst, f[11], metric, protocol, value, tos, rflags


def _parse_multipath(buf, i: int, end: int) -> list:
    hops = []
    while i + 8 <= end:
        length, flags, _hops, ifindex = RTNH.unpack_from(buf, i)
        if length < 8:
            break
        gw = None
        for kind, a, b in attributes(buf, i + 8, i + length):
            if kind == RTA_GATEWAY:
                gw = bytes(buf[a:b])
            elif kind == RTA_VIA:
                gw = bytes(buf[a + 2:b])
        hops.append(Nexthop(gw, ifindex, bool(flags & RTNH_F_ONLINK)))
        i += align(length)
    return hops


def _hop_order(hop: Nexthop):
    return (hop.gateway or b"", hop.oif, hop.onlink)


def canonical_hops(hops) -> tuple:
    """Next hops in the order ``parse_route`` returns them (multipath sorted)."""
    hops = tuple(dict.fromkeys(hops))
    return hops if len(hops) == 1 else tuple(sorted(hops, key=_hop_order))


def parse_link(buf, start: int, end: int) -> tuple[int, str, int, bytes, str]:
    """(index, name, flags, MAC, kind) of an RTM_NEWLINK/RTM_DELLINK."""
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(buf, start)
    name, mac, kind = "", b"", ""
    for t, a, b in attributes(buf, start + 16, end):
        if t == IFLA_IFNAME:
            name = bytes(buf[a:b]).rstrip(b"\0").decode()
        elif t == IFLA_ADDRESS:
            mac = bytes(buf[a:b])
        elif t == IFLA_LINKINFO:
            for t2, a2, b2 in attributes(buf, a, b):
                if t2 == IFLA_INFO_KIND:
                    kind = bytes(buf[a2:b2]).rstrip(b"\0").decode()
    return index, name, flags, mac, kind


def parse_addr(buf, start: int, end: int) -> tuple[int, bytes, int, int] | None:
    """(afi, address, prefix length, interface index) of an RTM_NEWADDR."""
    family, plen, _flags, _scope, index = IFADDRMSG.unpack_from(buf, start)
    afi = AFI_OF_AF.get(family)
    if afi is None:
        return None
    local = address = None
    for t, a, b in attributes(buf, start + 8, end):
        if t == IFA_LOCAL:
            local = bytes(buf[a:b])
        elif t == IFA_ADDRESS:
            address = bytes(buf[a:b])
    addr = local or address
    if addr is None:
        return None
    return afi, addr, plen, index


def parse_neigh(buf, start: int, end: int) -> tuple[int, int, int, bytes | None, bytes | None, int]:
    """(family, ifindex, state, destination, link-layer address, flags) of
    an RTM_NEWNEIGH/RTM_DELNEIGH (neighbours and, with AF_BRIDGE, FDB entries)."""
    family, ifindex, state, flags, _type = NDMSG.unpack_from(buf, start)
    dst = lladdr = None
    for t, a, b in attributes(buf, start + 12, end):
        if t == NDA_DST:
            dst = bytes(buf[a:b])
        elif t == NDA_LLADDR:
            lladdr = bytes(buf[a:b])
    return family, ifindex, state, dst, lladdr, flags


# -- neighbours, FDB, links, addresses: small and rare, built directly -------------

def neigh_request(msg_type: int, seq: int, afi: int, ifindex: int, dst: bytes, mac: bytes,
                  protocol: int) -> bytes:
    """A permanent neighbour entry (``ip neigh replace DST lladdr MAC dev X nud permanent``)."""
    flags = NLM_F_REQUEST | NLM_F_ACK
    if msg_type == RTM_NEWNEIGH:
        flags |= NLM_F_CREATE | NLM_F_REPLACE
    body = NDMSG.pack(AF_OF_AFI[afi], ifindex, NUD_PERMANENT, 0, 0) + attr(NDA_DST, dst)
    if msg_type == RTM_NEWNEIGH:
        body += attr(NDA_LLADDR, mac) + attr(NDA_PROTOCOL, bytes((protocol,)))
    return message(msg_type, flags, seq, body)


def fdb_request(msg_type: int, seq: int, ifindex: int, mac: bytes, dst: bytes) -> bytes:
    """A static FDB entry of a VXLAN device (``bridge fdb replace MAC dev X
    dst DST self permanent``)."""
    flags = NLM_F_REQUEST | NLM_F_ACK
    if msg_type == RTM_NEWNEIGH:
        flags |= NLM_F_CREATE | NLM_F_REPLACE
    body = (NDMSG.pack(AF_BRIDGE, ifindex, NUD_PERMANENT | NUD_NOARP, NTF_SELF, 0)
            + attr(NDA_LLADDR, mac) + attr(NDA_DST, dst))
    return message(msg_type, flags, seq, body)


def vxlan_link_request(seq: int, name: str, vni: int, port: int, local: bytes | None,
                       mac: bytes, mtu: int | None) -> bytes:
    """Create a VXLAN device (``ip link add NAME type vxlan id VNI dstport
    PORT local ADDR nolearning``) with its MAC address."""
    data = attr_u32(IFLA_VXLAN_ID, vni) + attr(IFLA_VXLAN_PORT, struct.pack(">H", port))
    data += attr(IFLA_VXLAN_LEARNING, b"\0")
    if local is not None:
        data += attr(IFLA_VXLAN_LOCAL if len(local) == 4 else IFLA_VXLAN_LOCAL6, local)
    info = attr(IFLA_INFO_KIND, b"vxlan") + attr(IFLA_INFO_DATA, data)
    body = IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0) + attr(IFLA_IFNAME, name.encode() + b"\0")
    body += attr(IFLA_ADDRESS, mac) + attr(IFLA_LINKINFO, info)
    if mtu:
        body += attr_u32(IFLA_MTU, mtu)
    return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, body)


def link_set_request(seq: int, index: int, mac: bytes | None = None,
                     up: bool | None = None) -> bytes:
    """Set a link's MAC address and/or bring it up or down."""
    flags = change = 0
    if up is not None:
        change = IFF_UP
        flags = IFF_UP if up else 0
    body = IFINFOMSG.pack(AF_UNSPEC, 0, index, flags, change)
    if mac is not None:
        body += attr(IFLA_ADDRESS, mac)
    return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, body)


def addr_request(msg_type: int, seq: int, afi: int, index: int, address: bytes,
                 prefixlen: int) -> bytes:
    """Add or remove an address (``ip addr add ADDR/LEN dev X``)."""
    flags = NLM_F_REQUEST | NLM_F_ACK
    if msg_type == RTM_NEWADDR:
        flags |= NLM_F_CREATE | NLM_F_REPLACE
    body = IFADDRMSG.pack(AF_OF_AFI[afi], prefixlen, IFA_F_NODAD | IFA_F_PERMANENT,
                          RT_SCOPE_UNIVERSE, index)
    body += attr(IFA_LOCAL, address) + attr(IFA_ADDRESS, address)
    return message(msg_type, flags, seq, body)
