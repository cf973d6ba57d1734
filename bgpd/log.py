"""Logging for a daemon run by systemd: one event per line on stderr.

Under journald (``JOURNAL_STREAM`` set) each line starts with the syslog
priority in angle brackets (``<6>``), which journald turns into the entry's
priority; elsewhere a timestamp and the level name lead.  Peer lines carry
the peer's name and address (``PeerLog``), so ``journalctl -u bgpd | grep
peer_10_0_0_1`` shows one peer's story.
"""

from __future__ import annotations

import logging
import os
import sys

_SYSLOG = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
           logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record):
        return f"<{_SYSLOG.get(record.levelno, 6)}>{super().format(record)}"


def setup(level: str = "info", stream=None) -> logging.Logger:
    log = logging.getLogger("bgpd")
    log.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(level.upper())
    log.propagate = False
    return log


class PeerLog(logging.LoggerAdapter):
    """Prefixes every line with ``peer NAME (ADDRESS):``."""

    def process(self, msg, kwargs):
        return f"peer {self.extra['name']} ({self.extra['address']}): {msg}", kwargs
