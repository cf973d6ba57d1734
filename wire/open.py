"""OPEN messages (RFC 4271 section 4.2) with Capabilities (RFC 5492) and the
extended optional parameter length of RFC 9072.

The codec checks what the bytes alone can tell (version, hold time 1 or 2,
a zero BGP identifier, the parameter lengths); whether the peer AS and the
identifier are the *expected* ones is the session's judgement (fsm/).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .capabilities import (FourOctetAS, decode_capabilities, encode_capability)
from .constants import AS_TRANS, BGP_VERSION, MessageType, OpenSubcode, OptParamType
from .errors import open_error

_FIXED = struct.Struct("!BHHIB")          # version, my AS, hold time, BGP id, opt len


@dataclass(frozen=True, slots=True)
class Open:
    version: int
    my_as: int                  # the 2-octet field (AS_TRANS for a 4-octet AS)
    hold_time: int
    bgp_id: int                 # 32-bit BGP Identifier as an int
    capabilities: tuple = ()
    unknown_params: tuple = ()  # ((type, value), ...) kept for display only

    type = MessageType.OPEN

    @classmethod
    def build(cls, asn: int, hold_time: int, bgp_id: int, capabilities=()) -> "Open":
        """An OPEN for our side: the 4-octet AS capability is added when
        missing, and ``my_as`` is AS_TRANS when the AS needs 4 octets."""
        caps = tuple(capabilities)
        if not any(isinstance(c, FourOctetAS) for c in caps):
            caps = caps + (FourOctetAS(asn),)
        return cls(BGP_VERSION, asn if asn <= 0xFFFF else AS_TRANS, hold_time, bgp_id, caps)

    @property
    def asn(self) -> int:
        """The speaker's AS: from the 4-octet AS capability when present."""
        for cap in self.capabilities:
            if isinstance(cap, FourOctetAS):
                return cap.asn
        return self.my_as

    def capability(self, cls):
        """The first capability of the given class, or None."""
        for cap in self.capabilities:
            if isinstance(cap, cls):
                return cap
        return None

    def capabilities_of(self, cls) -> list:
        return [c for c in self.capabilities if isinstance(c, cls)]

    def encode_body(self) -> bytes:
        caps = b"".join(encode_capability(c) for c in self.capabilities)
        params = b""
        if caps:
            if len(caps) <= 253:
                params = bytes([OptParamType.CAPABILITIES, len(caps)]) + caps
            else:
                # RFC 9072: too long for one-octet lengths.
                params = bytes([OptParamType.CAPABILITIES]) + struct.pack("!H", len(caps)) + caps
                return (_FIXED.pack(self.version, self.my_as, self.hold_time, self.bgp_id, 255)
                        + bytes([OptParamType.EXTENDED_LENGTH])
                        + struct.pack("!H", len(params)) + params)
        return _FIXED.pack(self.version, self.my_as, self.hold_time, self.bgp_id,
                           len(params)) + params


def decode_open(body: bytes) -> Open:
    if len(body) < 10:
        # Guarded by the framer (minimum length 29); kept for direct callers.
        raise open_error(OpenSubcode.UNSPECIFIC, b"", "OPEN shorter than its fixed part")
    version, my_as, hold, bgp_id, opt_len = _FIXED.unpack_from(body)
    if version != BGP_VERSION:
        # RFC 4271 6.2: data is the largest supported version (2 octets).
        raise open_error(OpenSubcode.UNSUPPORTED_VERSION_NUMBER,
                         struct.pack("!H", BGP_VERSION), f"BGP version {version}")
    if hold in (1, 2):
        raise open_error(OpenSubcode.UNACCEPTABLE_HOLD_TIME, b"",
                         f"hold time {hold} is neither 0 nor at least 3")
    if bgp_id == 0:
        raise open_error(OpenSubcode.BAD_BGP_IDENTIFIER, b"", "BGP identifier 0.0.0.0")
    # RFC 9072 section 2: an extended parameter block starts 255, 255.
    if opt_len == 255 and len(body) >= 13 and body[10] == OptParamType.EXTENDED_LENGTH:
        opt_len = int.from_bytes(body[11:13], "big")
        start, hdr = 13, 3
    else:
        start, hdr = 10, 2
    if start + opt_len != len(body):
        raise open_error(OpenSubcode.UNSPECIFIC, b"",
                         f"optional parameters length {opt_len} does not match the message")
    caps = []
    unknown = []
    i = start
    end = start + opt_len
    while i < end:
        if end - i < hdr:
            raise open_error(OpenSubcode.UNSPECIFIC, b"", "truncated optional parameter")
        ptype = body[i]
        plen = body[i + 1] if hdr == 2 else int.from_bytes(body[i + 1:i + 3], "big")
        vstart = i + hdr
        vend = vstart + plen
        if vend > end:
            raise open_error(OpenSubcode.UNSPECIFIC, b"",
                             f"optional parameter {ptype} overruns the parameters")
        value = body[vstart:vend]
        if ptype == OptParamType.CAPABILITIES:
            caps.extend(decode_capabilities(value))
        else:
            raise open_error(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, b"",
                             f"optional parameter type {ptype} not supported")
        i = vend
    return Open(version, my_as, hold, bgp_id, tuple(caps), tuple(unknown))
