"""NOTIFICATION messages (RFC 4271 section 4.5) with every code and subcode
by name, and the shutdown communication of RFC 9003.

RFC 9003: a Cease NOTIFICATION with subcode Administrative Shutdown or
Administrative Reset may carry a length octet and up to 255 octets of UTF-8
saying why.  A malformed communication is not an error: the data is kept as
it came and simply not shown as text.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import (CeaseSubcode, ErrorCode, FsmSubcode, HEADER_LEN, HeaderSubcode,
                        MessageType, OpenSubcode, RouteRefreshSubcode,
                        UpdateSubcode)
from .errors import header_error

SUBCODES = {
    ErrorCode.MESSAGE_HEADER: HeaderSubcode,
    ErrorCode.OPEN_MESSAGE: OpenSubcode,
    ErrorCode.UPDATE_MESSAGE: UpdateSubcode,
    ErrorCode.FSM: FsmSubcode,
    ErrorCode.CEASE: CeaseSubcode,
    ErrorCode.ROUTE_REFRESH_MESSAGE: RouteRefreshSubcode,
}

SHUTDOWN_SUBCODES = (CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET)
MAX_SHUTDOWN_COMMUNICATION = 255


def _words(name: str) -> str:
    return name.replace("_", " ").capitalize()


def code_name(code: int) -> str:
    try:
        return _words(ErrorCode(code).name)
    except ValueError:
        return f"Unknown error code {code}"


def subcode_name(code: int, subcode: int) -> str:
    table = SUBCODES.get(code)
    if table is None:
        return "Unspecific" if subcode == 0 else f"Subcode {subcode}"
    try:
        return _words(table(subcode).name)
    except ValueError:
        return f"Unknown subcode {subcode}"


@dataclass(frozen=True, slots=True)
class Notification:
    code: int
    subcode: int = 0
    data: bytes = b""

    type = MessageType.NOTIFICATION

    @classmethod
    def shutdown(cls, message: str = "", subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN
                 ) -> "Notification":
        """A Cease with an RFC 9003 shutdown communication (cut to 255 octets
        on a character boundary)."""
        raw = message.encode("utf-8")
        if len(raw) > MAX_SHUTDOWN_COMMUNICATION:
            raw = raw[:MAX_SHUTDOWN_COMMUNICATION].decode("utf-8", "ignore").encode("utf-8")
        data = bytes([len(raw)]) + raw if raw else b""
        return cls(ErrorCode.CEASE, subcode, data)

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 9003 communication, or None when absent or malformed."""
        if self.code != ErrorCode.CEASE or self.subcode not in SHUTDOWN_SUBCODES:
            return None
        if not self.data:
            return None
        n = self.data[0]
        if n == 0 and len(self.data) == 1:
            return ""
        if n + 1 > len(self.data):
            return None
        try:
            return self.data[1:1 + n].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def describe(self) -> str:
        """One line for logs and `show protocols`: 'Cease / Administrative
        shutdown: "maintenance"'."""
        text = f"{code_name(self.code)} / {subcode_name(self.code, self.subcode)}"
        msg = self.shutdown_message
        if msg:
            text += f': "{msg}"'
        elif self.data and self.code != ErrorCode.CEASE:
            text += f" (data {self.data.hex()})"
        return text

    def encode_body(self) -> bytes:
        return struct.pack("!BB", self.code, self.subcode) + self.data


def decode_notification(body: bytes) -> Notification:
    if len(body) < 2:
        # The framer refuses these (minimum length 21); kept for direct callers.
        raise header_error(HeaderSubcode.BAD_MESSAGE_LENGTH,
                           (HEADER_LEN + len(body)).to_bytes(2, "big"),
                           f"NOTIFICATION body of {len(body)} octets lacks code and subcode")
    return Notification(body[0], body[1], bytes(body[2:]))
