"""What a session needs to know about its peer and about us.

``SessionConfig`` is the session's own option object (``conf/`` builds the
operator's configuration; ``bgpd/`` turns it into one of these per peer).
It is frozen and checked when built, so a session never meets a value it
cannot use.  Durations are seconds.  Defaults follow RFC 4271 section 10
(hold 90, connect retry 120, a 4-minute hold timer in OpenSent).
"""

from __future__ import annotations

from dataclasses import dataclass

from wire.capabilities import GracefulRestart, LongLivedGracefulRestart
from wire.constants import IPV4_UNICAST, Role

# RFC 9234 section 4.2: the pairs of roles that may peer (ours, theirs).
ROLE_PAIRS = frozenset({
    (Role.PROVIDER, Role.CUSTOMER), (Role.CUSTOMER, Role.PROVIDER),
    (Role.RS, Role.RS_CLIENT), (Role.RS_CLIENT, Role.RS),
    (Role.PEER, Role.PEER),
})


@dataclass(frozen=True, slots=True)
class SessionConfig:
    local_as: int
    local_id: int                       # our BGP Identifier as a 32-bit int
    peer_as: int | None = None          # None: accept any AS (dynamic peers)

    # Timers (RFC 4271 section 10).
    hold_time: int = 90                 # 0, or at least 3
    keepalive_time: int | None = None   # None: a third of the negotiated hold time
    min_hold_time: int = 3              # refuse a peer's hold time below this (0 allowed)
    open_hold_time: int = 240           # hold timer in OpenSent (RFC 4271 8.2.2)
    connect_retry_time: float = 120.0
    delay_open_time: float | None = None    # RFC 4271 8.1.1 DelayOpen; None: off
    passive: bool = False               # never dial; wait for the peer

    # IdleHold and DampPeerOscillations (RFC 4271 8.1.1): after an error the
    # session waits idle_hold_time before it restarts; with damping the wait
    # doubles on each error up to idle_hold_max, and is forgotten once the
    # session has stayed Established for idle_hold_reset_time.
    idle_hold_time: float = 5.0
    idle_hold_max: float = 300.0
    idle_hold_reset_time: float = 300.0
    damp_peer_oscillations: bool = True

    # What we advertise (RFC 5492 capabilities).
    families: tuple = (IPV4_UNICAST,)   # ((afi, safi), ...) sent as Multiprotocol
    add_path: tuple = ()                # ((afi, safi, mode), ...) 1 receive, 2 send, 3 both
    four_octet_as: bool = True          # RFC 6793
    route_refresh: bool = True          # RFC 2918
    enhanced_route_refresh: bool = True  # RFC 7313
    extended_message: bool = True       # RFC 8654
    extended_next_hop: tuple = ()       # ((afi, safi, next_hop_afi), ...) RFC 8950
    graceful_restart: GracefulRestart | None = None              # RFC 4724, RFC 8538
    long_lived_graceful_restart: LongLivedGracefulRestart | None = None  # RFC 9494
    role: int | None = None             # RFC 9234 BGP Role
    strict_role: bool = False           # RFC 9234: the peer must send its role
    hostname: str | None = None         # FQDN capability
    domain: str = ""

    # What we insist on.  Each item is a capability code (the peer must send
    # some capability with that code) or a capability object (the peer must
    # send that exact capability, e.g. Multiprotocol(2, 1)).
    required_capabilities: tuple = ()

    # RFC 4271 6.8: may a new connection collide with an Established one?
    # False: the new connection is refused (Cease, Connection Rejected),
    # except that a peer that advertised graceful restart and reconnects
    # is taken as restarted (RFC 4724 section 4.2).
    collision_with_established: bool = False

    # Octets of encoded UPDATEs the session holds for the writer before
    # ``Session.can_send`` turns False (back-pressure, not a hard limit).
    max_send_buffer: int = 4 * 1024 * 1024

    def __post_init__(self):
        _check(0 < self.local_as <= 0xFFFFFFFF, "local_as", "must be 1..4294967295")
        _check(0 < self.local_id <= 0xFFFFFFFF, "local_id", "must be a non-zero 32-bit value")
        _check(self.peer_as is None or 0 < self.peer_as <= 0xFFFFFFFF, "peer_as",
               "must be 1..4294967295 or None")
        _check(self.four_octet_as or self.local_as <= 0xFFFF, "local_as",
               "needs four_octet_as above 65535")
        _check(self.peer_as is None or self.four_octet_as or self.peer_as <= 0xFFFF, "peer_as",
               "needs four_octet_as above 65535")
        _check(self.hold_time == 0 or 3 <= self.hold_time <= 0xFFFF, "hold_time",
               "must be 0 or 3..65535")
        _check(self.keepalive_time is None or self.keepalive_time >= 1, "keepalive_time",
               "must be at least 1")
        _check(self.min_hold_time >= 0, "min_hold_time", "must not be negative")
        _check(self.open_hold_time >= 3, "open_hold_time", "must be at least 3")
        _check(self.connect_retry_time > 0, "connect_retry_time", "must be positive")
        _check(self.delay_open_time is None or self.delay_open_time > 0, "delay_open_time",
               "must be positive or None")
        _check(self.idle_hold_time >= 0, "idle_hold_time", "must not be negative")
        _check(self.idle_hold_max >= self.idle_hold_time, "idle_hold_max",
               "must be at least idle_hold_time")
        _check(bool(self.families), "families", "must name at least one address family")
        _check(self.max_send_buffer > 0, "max_send_buffer", "must be positive")
        for afi, safi, mode in self.add_path:
            _check(mode in (1, 2, 3), "add_path", f"mode {mode} is not 1, 2 or 3")
        _check(self.role is None or self.role in {r.value for r in Role}, "role",
               "must be an RFC 9234 role")
        _check(not self.strict_role or self.role is not None, "strict_role", "needs a role")

    @property
    def add_path_modes(self) -> dict:
        return {(afi, safi): mode for afi, safi, mode in self.add_path}


def _check(ok: bool, key: str, rule: str) -> None:
    if not ok:
        raise ValueError(f"SessionConfig.{key}: {rule}")
