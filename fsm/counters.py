"""Per-session counters: messages in and out by type, UPDATEs accepted and
sent, how often the session came up and went down, and when its state last
changed.  Plain numbers for ``show protocols all`` and the metrics exporter.
"""

from __future__ import annotations

from wire.constants import MessageType


class Counters:
    __slots__ = ("messages_in", "messages_out", "updates_in", "updates_out",
                 "established_transitions", "session_downs", "connect_retries",
                 "last_state_change")

    def __init__(self):
        # Indexed by message type code (1..5); index 0 unused.
        self.messages_in = [0] * 6
        self.messages_out = [0] * 6
        self.updates_in = 0             # UPDATEs accepted in Established
        self.updates_out = 0            # UPDATE messages queued for the peer
        self.established_transitions = 0
        self.session_downs = 0
        self.connect_retries = 0        # RFC 4271 ConnectRetryCounter
        self.last_state_change: float | None = None

    def by_type(self, table: list) -> dict:
        return {t.name: table[t] for t in MessageType}

    def snapshot(self) -> dict:
        return {
            "messages_in": self.by_type(self.messages_in),
            "messages_out": self.by_type(self.messages_out),
            "updates_in": self.updates_in,
            "updates_out": self.updates_out,
            "established_transitions": self.established_transitions,
            "session_downs": self.session_downs,
            "connect_retries": self.connect_retries,
            "last_state_change": self.last_state_change,
        }
