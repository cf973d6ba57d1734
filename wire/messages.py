"""The message header (RFC 4271 section 4.1), framing of a byte stream,
KEEPALIVE, ROUTE-REFRESH (RFC 2918, RFC 7313) and the dispatch table from
message type to decoder.

``Framer.feed(data)`` returns every complete message in ``data`` at once, as
``(type, body)`` pairs, after the header checks of RFC 4271 section 6.1:
marker, length bounds (4096, or 65535 once extended messages are
negotiated; OPEN and KEEPALIVE never longer than 4096, RFC 8654 section 4),
the minimum length of each type, and the type itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import (ErrorCode, HEADER_LEN, HeaderSubcode, MARKER,
                        MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MessageType,
                        RefreshSubtype, RouteRefreshSubcode)
from .errors import WireError, header_error, reset
from .notification import Notification, decode_notification
from .open import Open, decode_open
from .update import Update, UpdateCodec

# Minimum total length by type (RFC 4271 section 4, RFC 2918 section 3).
MIN_LENGTH = {
    MessageType.OPEN: 29,
    MessageType.UPDATE: 23,
    MessageType.NOTIFICATION: 21,
    MessageType.KEEPALIVE: 19,
    MessageType.ROUTE_REFRESH: 23,
}
# Types whose length never exceeds 4096, whatever was negotiated.
_SMALL_TYPES = (MessageType.OPEN, MessageType.KEEPALIVE)
_MIN = [0] * 256
for _t, _n in MIN_LENGTH.items():
    _MIN[_t] = _n


@dataclass(frozen=True, slots=True)
class Keepalive:
    type = MessageType.KEEPALIVE

    def encode_body(self) -> bytes:
        return b""


KEEPALIVE = Keepalive()


@dataclass(frozen=True, slots=True)
class RouteRefresh:
    afi: int = 1
    safi: int = 1
    subtype: int = RefreshSubtype.NORMAL   # RFC 7313: 0 refresh, 1 BoRR, 2 EoRR

    type = MessageType.ROUTE_REFRESH

    def encode_body(self) -> bytes:
        return struct.pack("!HBB", self.afi, self.subtype, self.safi)


def decode_route_refresh(body: bytes, message: bytes = b"") -> RouteRefresh:
    if len(body) != 4:
        # RFC 7313 section 5: Invalid Message Length, data = the message.
        raise reset(ErrorCode.ROUTE_REFRESH_MESSAGE, RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
                    message or body, f"ROUTE-REFRESH body length {len(body)} != 4")
    afi, subtype, safi = struct.unpack("!HBB", body)
    # Subtypes 3-254 are ignored by the receiver (RFC 7313 section 5); the
    # session layer decides, the codec reports what it saw.
    return RouteRefresh(afi, safi, subtype)


def check_header(data: bytes, i: int, n: int, max_size: int) -> tuple[int, int]:
    """Validate the header at ``data[i:]``; return ``(length, type)``."""
    if not data.startswith(MARKER, i):
        raise header_error(HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, b"",
                           "message header marker is not all ones")
    length = data[i + 16] << 8 | data[i + 17]
    mtype = data[i + 18]
    if length < HEADER_LEN or length > max_size:
        raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH, data[i + 16:i + 18],
                           f"message length {length} outside {HEADER_LEN}..{max_size}")
    minimum = _MIN[mtype]
    if not minimum:
        raise header_error(HeaderSubcode.BAD_MESSAGE_TYPE, bytes([mtype]),
                           f"message type {mtype} unknown")
    if length < minimum or (mtype == MessageType.KEEPALIVE and length != HEADER_LEN) or (
            length > MAX_MESSAGE_LEN and mtype in _SMALL_TYPES):
        raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH, data[i + 16:i + 18],
                           f"length {length} invalid for {MessageType(mtype).name}")
    return length, mtype


class Framer:
    """Splits a TCP byte stream into messages.

    ``max_size`` is raised to 65535 when extended messages are negotiated.
    Holds at most one partial message between reads.
    """

    __slots__ = ("max_size", "_rest")

    def __init__(self, max_size: int = MAX_MESSAGE_LEN):
        self.max_size = max_size
        self._rest = b""

    @property
    def buffered(self) -> int:
        return len(self._rest)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._rest + data if self._rest else bytes(data)
        out = []
        append = out.append
        i = 0
        n = len(buf)
        max_size = self.max_size
        try:
            while n - i >= HEADER_LEN:
                if not buf.startswith(MARKER, i):
                    raise header_error(HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, b"",
                                       "message header marker is not all ones")
                length = buf[i + 16] << 8 | buf[i + 17]
                mtype = buf[i + 18]
                if mtype != 2 or length < 23 or length > max_size:
                    # Only the common case (an UPDATE of plausible length)
                    # skips the full check.
                    check_header(buf, i, n, max_size)
                if n - i < length:
                    break
                append((mtype, buf[i + HEADER_LEN:i + length]))
                i += length
        except WireError as e:
            # The whole messages before the bad header still count (a
            # NOTIFICATION among them says why the peer is going away).
            e.messages = out
            self._rest = b""
            raise
        self._rest = buf[i:]
        return out


def frame(data: bytes, max_size: int = MAX_EXTENDED_MESSAGE_LEN) -> tuple[int, bytes]:
    """Check one whole message (header included); return ``(type, body)``."""
    if len(data) < HEADER_LEN:
        raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH, b"",
                           f"{len(data)} octets is shorter than a header")
    length, mtype = check_header(data, 0, len(data), max_size)
    if length != len(data):
        raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH, data[16:18],
                           f"length field {length} but {len(data)} octets given")
    return mtype, data[HEADER_LEN:]


def decode_body(mtype: int, body: bytes, codec: UpdateCodec | None = None):
    """Decode a framed message body to its message object."""
    if mtype == MessageType.UPDATE:
        return (codec or UpdateCodec()).decode(body)
    if mtype == MessageType.KEEPALIVE:
        if body:
            # RFC 4271 section 4.4: a KEEPALIVE is the header alone.
            raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH,
                               _length_field(len(body)), "KEEPALIVE with a body")
        return KEEPALIVE
    if mtype == MessageType.OPEN:
        return decode_open(body)
    if mtype == MessageType.NOTIFICATION:
        return decode_notification(body)
    if mtype == MessageType.ROUTE_REFRESH:
        return decode_route_refresh(body, _whole(mtype, body))
    raise header_error(HeaderSubcode.BAD_MESSAGE_TYPE, bytes([mtype & 0xFF]),
                       f"message type {mtype} unknown")


def decode_message(data: bytes, codec: UpdateCodec | None = None, max_size: int | None = None):
    """Decode one whole message (header included)."""
    if max_size is None:
        max_size = codec.max_size if codec is not None else MAX_MESSAGE_LEN
    mtype, body = frame(data, max_size)
    return decode_body(mtype, body, codec)


def _length_field(body_len: int) -> bytes:
    # Only a direct caller can pass a body too long for the 2-octet field.
    return min(HEADER_LEN + body_len, 0xFFFF).to_bytes(2, "big")


def _whole(mtype: int, body: bytes) -> bytes:
    return MARKER + _length_field(len(body)) + bytes([mtype]) + body


def encode(message, max_size: int = MAX_EXTENDED_MESSAGE_LEN) -> bytes:
    """Whole message bytes of an OPEN, NOTIFICATION, KEEPALIVE or ROUTE-REFRESH
    (UPDATEs are packed by ``UpdateCodec.encode``)."""
    body = message.encode_body()
    length = HEADER_LEN + len(body)
    if message.type == MessageType.NOTIFICATION and length > max_size:
        body = body[:max_size - HEADER_LEN]     # a long data field is cut, not refused
        length = max_size
    if length > max_size:
        raise ValueError(f"{MessageType(message.type).name} of {length} octets exceeds {max_size}")
    return MARKER + length.to_bytes(2, "big") + bytes([message.type]) + body


KEEPALIVE_BYTES = encode(KEEPALIVE)

__all__ = ["Framer", "KEEPALIVE", "KEEPALIVE_BYTES", "Keepalive", "Notification", "Open",
           "RouteRefresh", "Update", "WireError", "decode_body", "decode_message", "encode",
           "frame"]
