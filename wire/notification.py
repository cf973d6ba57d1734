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


# The words of RFC 4271 section 4.5 and the IANA registry, as operators read
# them in logs and in `show protocols`.
CODE_TEXT = {
    ErrorCode.MESSAGE_HEADER: "Message header error",
    ErrorCode.OPEN_MESSAGE: "OPEN message error",
    ErrorCode.UPDATE_MESSAGE: "UPDATE message error",
    ErrorCode.HOLD_TIMER_EXPIRED: "Hold timer expired",
    ErrorCode.FSM: "Finite state machine error",
    ErrorCode.CEASE: "Cease",
    ErrorCode.ROUTE_REFRESH_MESSAGE: "ROUTE-REFRESH message error",
    ErrorCode.SEND_HOLD_TIMER_EXPIRED: "Send hold timer expired",
}
SUBCODE_TEXT = {
    ErrorCode.MESSAGE_HEADER: {1: "Connection not synchronized", 2: "Bad message length",
                               3: "Bad message type"},
    ErrorCode.OPEN_MESSAGE: {1: "Unsupported version number", 2: "Bad peer AS",
                             3: "Bad BGP identifier", 4: "Unsupported optional parameter",
                             5: "Authentication failure", 6: "Unacceptable hold time",
                             7: "Unsupported capability", 11: "Role mismatch"},
    ErrorCode.UPDATE_MESSAGE: {1: "Malformed attribute list",
                               2: "Unrecognized well-known attribute",
                               3: "Missing well-known attribute", 4: "Attribute flags error",
                               5: "Attribute length error", 6: "Invalid ORIGIN attribute",
                               7: "AS routing loop", 8: "Invalid NEXT_HOP attribute",
                               9: "Optional attribute error", 10: "Invalid network field",
                               11: "Malformed AS_PATH"},
    ErrorCode.FSM: {0: "Unspecified error", 1: "Unexpected message in OpenSent state",
                    2: "Unexpected message in OpenConfirm state",
                    3: "Unexpected message in Established state"},
    ErrorCode.CEASE: {1: "Maximum number of prefixes reached", 2: "Administrative shutdown",
                      3: "Peer de-configured", 4: "Administrative reset",
                      5: "Connection rejected", 6: "Other configuration change",
                      7: "Connection collision resolution", 8: "Out of resources",
                      9: "Hard reset", 10: "BFD down"},
    ErrorCode.ROUTE_REFRESH_MESSAGE: {1: "Invalid message length"},
}
# Codes without subcodes: subcode 0 is not worth a word.
_NO_SUBCODES = (ErrorCode.HOLD_TIMER_EXPIRED, ErrorCode.SEND_HOLD_TIMER_EXPIRED)


def code_name(code: int) -> str:
    return CODE_TEXT.get(code, f"Unknown error code {code}")


def subcode_name(code: int, subcode: int) -> str:
    table = SUBCODE_TEXT.get(code)
    if table is None:
        return "Unspecific" if subcode == 0 else f"Subcode {subcode}"
    text = table.get(subcode)
    if text is None:
        return "Unspecific" if subcode == 0 else f"Unknown subcode {subcode}"
    return text


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

    @property
    def hard_reset_inner(self) -> "Notification | None":
        """RFC 8538: the NOTIFICATION wrapped in a Cease / Hard Reset."""
        if self.code == ErrorCode.CEASE and self.subcode == CeaseSubcode.HARD_RESET \
                and len(self.data) >= 2:
            return Notification(self.data[0], self.data[1], self.data[2:])
        return None

    def describe(self) -> str:
        """One line for logs and `show protocols`: 'Cease / Administrative
        shutdown: "maintenance"'."""
        inner = self.hard_reset_inner
        if inner is not None:
            return "Cease / Hard reset: " + inner.describe()
        text = code_name(self.code)
        if not (self.subcode == 0 and self.code in _NO_SUBCODES):
            text += f" / {subcode_name(self.code, self.subcode)}"
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
