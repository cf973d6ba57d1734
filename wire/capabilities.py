"""Capabilities advertisement (RFC 5492), one table row per capability.

Each capability is a frozen dataclass with ``decode(value)`` and
``encode() -> value``; ``CAPABILITIES`` maps the IANA code to its class.
A capability whose code we do not know is kept whole as ``UnknownCapability``
so that it can be shown and compared.  A known capability with a malformed
value is an OPEN error (RFC 4271 6.2, Unspecific subcode), raised as
``WireError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import AFI, SAFI, CapabilityCode, Role, family_name
from .errors import open_error


class CapabilityError(ValueError):
    pass


def _fam(afi: int, safi: int) -> str:
    return family_name(afi, safi)


@dataclass(frozen=True, slots=True)
class Multiprotocol:                      # RFC 4760 section 8
    afi: int
    safi: int
    code = CapabilityCode.MULTIPROTOCOL

    @classmethod
    def decode(cls, v: bytes):
        if len(v) != 4:
            raise CapabilityError(f"length {len(v)} != 4")
        afi, _reserved, safi = struct.unpack("!HBB", v)
        return cls(afi, safi)

    def encode(self) -> bytes:
        return struct.pack("!HBB", self.afi, 0, self.safi)

    def show(self):
        return _fam(self.afi, self.safi)


def _empty(name):
    @dataclass(frozen=True, slots=True)
    class Empty:
        @classmethod
        def decode(cls, v: bytes):
            # RFC 2918/7313/8654 define these as empty; tolerate (and drop)
            # trailing octets as most implementations do.
            return cls()

        def encode(self) -> bytes:
            return b""

        def show(self):
            return True
    Empty.__name__ = Empty.__qualname__ = name
    return Empty


RouteRefresh = _empty("RouteRefresh")                     # RFC 2918
RouteRefresh.code = CapabilityCode.ROUTE_REFRESH
RouteRefreshOld = _empty("RouteRefreshOld")               # pre-standard, code 128
RouteRefreshOld.code = CapabilityCode.ROUTE_REFRESH_OLD
EnhancedRouteRefresh = _empty("EnhancedRouteRefresh")     # RFC 7313
EnhancedRouteRefresh.code = CapabilityCode.ENHANCED_ROUTE_REFRESH
ExtendedMessage = _empty("ExtendedMessage")               # RFC 8654
ExtendedMessage.code = CapabilityCode.EXTENDED_MESSAGE


@dataclass(frozen=True, slots=True)
class FourOctetAS:                        # RFC 6793
    asn: int
    code = CapabilityCode.FOUR_OCTET_AS

    @classmethod
    def decode(cls, v: bytes):
        if len(v) != 4:
            raise CapabilityError(f"length {len(v)} != 4")
        return cls(int.from_bytes(v, "big"))

    def encode(self) -> bytes:
        return self.asn.to_bytes(4, "big")

    def show(self):
        return self.asn


@dataclass(frozen=True, slots=True)
class GracefulRestart:                    # RFC 4724 section 3
    restart_time: int = 120               # seconds, 12 bits
    restarting: bool = False              # R bit: "I have just restarted"
    notification: bool = False            # N bit (RFC 8538)
    families: tuple = ()                  # ((afi, safi, forwarding_preserved), ...)
    code = CapabilityCode.GRACEFUL_RESTART

    @classmethod
    def decode(cls, v: bytes):
        if len(v) < 2 or (len(v) - 2) % 4:
            raise CapabilityError(f"length {len(v)} is not 2 + 4n")
        head = int.from_bytes(v[:2], "big")
        fams = []
        for i in range(2, len(v), 4):
            afi, safi, flags = struct.unpack_from("!HBB", v, i)
            fams.append((afi, safi, bool(flags & 0x80)))
        return cls(head & 0x0FFF, bool(head & 0x8000), bool(head & 0x4000), tuple(fams))

    def encode(self) -> bytes:
        head = (self.restart_time & 0x0FFF) | (0x8000 if self.restarting else 0) \
            | (0x4000 if self.notification else 0)
        return head.to_bytes(2, "big") + b"".join(
            struct.pack("!HBB", afi, safi, 0x80 if fwd else 0) for afi, safi, fwd in self.families)

    def show(self):
        return {"restart_time": self.restart_time, "restarting": self.restarting,
                "notification": self.notification,
                "families": {_fam(a, s): {"forwarding": f} for a, s, f in self.families}}


ADD_PATH_MODES = {1: "receive", 2: "send", 3: "send/receive"}


@dataclass(frozen=True, slots=True)
class AddPath:                            # RFC 7911 section 4
    families: tuple = ()                  # ((afi, safi, send_receive), ...) 1=rx 2=tx 3=both
    code = CapabilityCode.ADD_PATH

    @classmethod
    def decode(cls, v: bytes):
        if not v or len(v) % 4:
            raise CapabilityError(f"length {len(v)} is not a non-zero multiple of 4")
        fams = []
        for i in range(0, len(v), 4):
            afi, safi, mode = struct.unpack_from("!HBB", v, i)
            if not 1 <= mode <= 3:
                raise CapabilityError(f"send/receive value {mode} undefined")
            fams.append((afi, safi, mode))
        return cls(tuple(fams))

    def encode(self) -> bytes:
        return b"".join(struct.pack("!HBB", a, s, m) for a, s, m in self.families)

    def show(self):
        return {_fam(a, s): ADD_PATH_MODES[m] for a, s, m in self.families}


@dataclass(frozen=True, slots=True)
class ExtendedNextHop:                    # RFC 8950 section 3
    entries: tuple = ()                   # ((nlri_afi, nlri_safi, nexthop_afi), ...)
    code = CapabilityCode.EXTENDED_NEXT_HOP

    @classmethod
    def decode(cls, v: bytes):
        if len(v) % 6:
            raise CapabilityError(f"length {len(v)} is not a multiple of 6")
        return cls(tuple(struct.unpack_from("!HHH", v, i) for i in range(0, len(v), 6)))

    def encode(self) -> bytes:
        return b"".join(struct.pack("!HHH", *e) for e in self.entries)

    def show(self):
        return [{"nlri": _fam(a, s), "next_hop_afi": AFI(n).name.lower() if n in (1, 2) else n}
                for a, s, n in self.entries]


@dataclass(frozen=True, slots=True)
class Fqdn:                               # draft-walton-bgp-hostname-capability
    hostname: str = ""
    domain: str = ""
    code = CapabilityCode.FQDN

    @classmethod
    def decode(cls, v: bytes):
        if not v:
            raise CapabilityError("empty")
        hl = v[0]
        if 1 + hl > len(v):
            raise CapabilityError("hostname overruns the capability")
        host = v[1:1 + hl]
        rest = v[1 + hl:]
        dom = b""
        if rest:
            dl = rest[0]
            if 1 + dl > len(rest):
                raise CapabilityError("domain name overruns the capability")
            dom = rest[1:1 + dl]
        return cls(host.decode("utf-8", "replace"), dom.decode("utf-8", "replace"))

    def encode(self) -> bytes:
        h = self.hostname.encode()[:255]
        d = self.domain.encode()[:255]
        return bytes([len(h)]) + h + bytes([len(d)]) + d

    def show(self):
        return {"hostname": self.hostname, "domain": self.domain}


@dataclass(frozen=True, slots=True)
class BgpRole:                            # RFC 9234 section 4.1
    role: int
    code = CapabilityCode.ROLE

    @classmethod
    def decode(cls, v: bytes):
        if len(v) != 1:
            raise CapabilityError(f"length {len(v)} != 1")
        return cls(v[0])

    def encode(self) -> bytes:
        return bytes([self.role])

    def show(self):
        try:
            return Role(self.role).name.lower().replace("_", "-")
        except ValueError:
            return self.role


@dataclass(frozen=True, slots=True)
class LongLivedGracefulRestart:           # RFC 9494 section 3
    families: tuple = ()                  # ((afi, safi, forwarding, stale_time), ...)
    code = CapabilityCode.LONG_LIVED_GRACEFUL_RESTART

    @classmethod
    def decode(cls, v: bytes):
        if len(v) % 7:
            raise CapabilityError(f"length {len(v)} is not a multiple of 7")
        fams = []
        for i in range(0, len(v), 7):
            afi, safi, flags = struct.unpack_from("!HBB", v, i)
            stale = int.from_bytes(v[i + 4:i + 7], "big")
            fams.append((afi, safi, bool(flags & 0x80), stale))
        return cls(tuple(fams))

    def encode(self) -> bytes:
        return b"".join(struct.pack("!HBB", a, s, 0x80 if f else 0) + t.to_bytes(3, "big")
                        for a, s, f, t in self.families)

    def show(self):
        return {_fam(a, s): {"forwarding": f, "stale_time": t} for a, s, f, t in self.families}


@dataclass(frozen=True, slots=True)
class UnknownCapability:
    code: int
    value: bytes = b""

    def encode(self) -> bytes:
        return self.value

    def show(self):
        return self.value.hex()


CAPABILITIES = {cls.code: cls for cls in (
    Multiprotocol, RouteRefresh, RouteRefreshOld, EnhancedRouteRefresh, ExtendedMessage,
    FourOctetAS, GracefulRestart, AddPath, ExtendedNextHop, Fqdn, BgpRole,
    LongLivedGracefulRestart)}


def capability_name(code: int) -> str:
    try:
        return CapabilityCode(code).name.lower().replace("_", "-")
    except ValueError:
        return f"capability-{code}"


def decode_capabilities(data: bytes) -> list:
    """Decode the value of one Capabilities optional parameter (a list of
    code/length/value triples)."""
    out = []
    i = 0
    n = len(data)
    while i < n:
        if n - i < 2:
            raise open_error(0, b"", "truncated capability header")
        code = data[i]
        length = data[i + 1]
        end = i + 2 + length
        if end > n:
            raise open_error(0, b"", f"capability {capability_name(code)} overruns its parameter")
        value = data[i + 2:end]
        cls = CAPABILITIES.get(code)
        if cls is None:
            out.append(UnknownCapability(code, value))
        else:
            try:
                out.append(cls.decode(value))
            except CapabilityError as e:
                raise open_error(0, b"", f"capability {capability_name(code)}: {e}") from None
        i = end
    return out


def encode_capability(cap) -> bytes:
    value = cap.encode()
    if len(value) > 255:
        raise ValueError(f"capability {capability_name(cap.code)} value too long")
    return bytes([cap.code, len(value)]) + value


def show_capability(cap) -> tuple[str, object]:
    return capability_name(cap.code), cap.show()


__all__ = ["AddPath", "BgpRole", "CAPABILITIES", "EnhancedRouteRefresh", "ExtendedMessage",
           "ExtendedNextHop", "FourOctetAS", "Fqdn", "GracefulRestart",
           "LongLivedGracefulRestart", "Multiprotocol", "RouteRefresh", "RouteRefreshOld",
           "UnknownCapability", "decode_capabilities", "encode_capability",
           "capability_name", "SAFI"]
