"""Process-wide settings of the daemon that are not configuration.

The garbage collector: the daemon's data (attribute sets, AS paths, RIB
entries) is large and acyclic, so CPython's default thresholds make the
collector re-walk it over and over while a full table loads (measured on the
codec benchmark: default thresholds cost more CPU than the decoding itself).
Collections are made rarer; cycles are still collected.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()     # what is alive after start-up is never scanned again
