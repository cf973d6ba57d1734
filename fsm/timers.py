"""Timer values: jitter (RFC 4271 section 10) and the idle hold time of
peer oscillation damping (RFC 4271 section 8.1.1, DampPeerOscillations).

Timers themselves are data: each FSM instance keeps ``{Timer: deadline}``
and the session reports the earliest deadline; nothing here reads a clock.

Jitter: RFC 4271 section 10 asks that ConnectRetryTimer and KeepaliveTimer
be multiplied by a random factor in [0.75, 1.0] so that speakers do not
synchronise.  The randomness is the caller's: a function returning floats
in [0, 1) (``random.Random().random`` in the daemon, a constant in tests),
or none at all for no jitter.

Damping: after an error the session waits in Idle before it restarts.  The
wait starts at ``idle_hold_time`` and doubles with each further error up to
``idle_hold_max``, so a peer that keeps failing is retried ever less often;
once the session has stayed Established for ``idle_hold_reset_time`` the
count starts again.  Without damping the wait is always ``idle_hold_time``.
A session lost under graceful restart (RFC 4724) does not wait at all: the
peer is restarting and will reconnect within its restart time.
"""

from __future__ import annotations

from typing import Callable

from .config import SessionConfig

JITTER_LOW = 0.75


def jittered(value: float, rng: Callable[[], float] | None) -> float:
    """``value`` scaled by a factor in [0.75, 1.0] drawn from ``rng``."""
    if rng is None:
        return value
    u = rng()
    u = 0.0 if u < 0.0 else 1.0 if u > 1.0 else u
    return value * (JITTER_LOW + (1.0 - JITTER_LOW) * u)


def idle_hold_time(cfg: SessionConfig, level: int) -> float:
    """The idle hold time after ``level`` earlier errors."""
    if not cfg.damp_peer_oscillations:
        return cfg.idle_hold_time
    # 2**level grows without bound; cap the exponent before multiplying.
    return min(cfg.idle_hold_time * (2 ** min(level, 32)), cfg.idle_hold_max)
