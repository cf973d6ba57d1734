"""The RIB's error: a request that does not hold (an unknown source, a
prefix of the wrong family, an UPDATE from a peer that is not up)."""

from __future__ import annotations


class RibError(Exception):
    """Raised for a request the RIB cannot carry out; the message says why."""
