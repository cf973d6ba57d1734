"""Capability negotiation (RFC 5492): our OPEN, and what the two OPENs allow.

``local_open(config)`` builds the OPEN we send.  ``negotiate(config, ours,
theirs)`` turns the two OPENs into one frozen ``Negotiated``: everything
the rest of the daemon needs to know about the session once it is up.

The rules, each from its RFC:

- address families: the intersection of both sides' Multiprotocol
  capabilities; a side that sends none supports IPv4 unicast only
  (RFC 4760 section 8, as every implementation reads it);
- 4-octet AS numbers when both sides advertise them (RFC 6793);
- ADD-PATH per family and direction (RFC 7911 section 4): we receive path
  identifiers (rx) where we said "receive" and the peer said "send", and
  send them (tx) where we said "send" and the peer said "receive";
- extended messages when both advertise them (RFC 8654 section 3);
- route refresh when the peer advertises it (RFC 2918, or the pre-standard
  code 128) and we do; enhanced route refresh when both do (RFC 7313);
- graceful restart (RFC 4724) and its N bit (RFC 8538), long-lived
  graceful restart (RFC 9494): when both sides advertise them, the peer's
  restart time, restarting bit and per-family forwarding bits for the
  negotiated families;
- hold time: the smaller of the two; keepalive a third of it unless
  configured lower (RFC 4271 sections 4.2 and 10); 0 means neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from wire.capabilities import (AddPath, BgpRole, EnhancedRouteRefresh, ExtendedMessage,
                               ExtendedNextHop, FourOctetAS, Fqdn, GracefulRestart,
                               LongLivedGracefulRestart, Multiprotocol, RouteRefresh,
                               RouteRefreshOld)
from wire.constants import (AS_TRANS, BGP_VERSION, IPV4_UNICAST, MAX_EXTENDED_MESSAGE_LEN,
                            MAX_MESSAGE_LEN)
from wire.open import Open

from .config import SessionConfig

_V4U = (int(IPV4_UNICAST[0]), int(IPV4_UNICAST[1]))


def local_open(cfg: SessionConfig) -> Open:
    """The OPEN we send to this peer."""
    caps = [Multiprotocol(int(afi), int(safi)) for afi, safi in cfg.families]
    if cfg.route_refresh:
        caps.append(RouteRefresh())
        if cfg.enhanced_route_refresh:
            caps.append(EnhancedRouteRefresh())
    if cfg.extended_message:
        caps.append(ExtendedMessage())
    if cfg.four_octet_as:
        caps.append(FourOctetAS(cfg.local_as))
    if cfg.add_path:
        caps.append(AddPath(tuple((int(a), int(s), m) for a, s, m in cfg.add_path)))
    if cfg.extended_next_hop:
        caps.append(ExtendedNextHop(tuple(cfg.extended_next_hop)))
    if cfg.graceful_restart is not None:
        caps.append(cfg.graceful_restart)
    if cfg.long_lived_graceful_restart is not None:
        caps.append(cfg.long_lived_graceful_restart)
    if cfg.role is not None:
        caps.append(BgpRole(int(cfg.role)))
    if cfg.hostname is not None:
        caps.append(Fqdn(cfg.hostname, cfg.domain))
    my_as = cfg.local_as if cfg.local_as <= 0xFFFF else AS_TRANS
    return Open(BGP_VERSION, my_as, cfg.hold_time, cfg.local_id, tuple(caps))


def families_of(open_: Open) -> frozenset:
    """The address families an OPEN offers (IPv4 unicast when it has no
    Multiprotocol capability at all)."""
    mp = open_.capabilities_of(Multiprotocol)
    if not mp:
        return frozenset({_V4U})
    return frozenset((c.afi, c.safi) for c in mp)


def peer_asn(open_: Open) -> int:
    """The peer's AS: the 4-octet AS capability's, else the 2-octet field."""
    return open_.asn


def keepalive_for(hold_time: int, configured: int | None) -> int:
    """RFC 4271 section 4.4: one third of the hold time, or the configured
    interval when it is shorter; none when the hold time is 0."""
    if hold_time == 0:
        return 0
    k = hold_time // 3
    if configured is not None:
        k = min(k, configured)
    return max(1, k)


@dataclass(frozen=True, slots=True)
class GracefulRestartInfo:
    """The peer's graceful restart capability, as negotiated (RFC 4724)."""

    restart_time: int                   # seconds the peer asks us to wait
    restarting: bool                    # R bit: the peer has just restarted
    notification: bool                  # N bit on both sides (RFC 8538)
    families: tuple = ()                # ((afi, safi, forwarding_preserved), ...)

    def forwarding(self, afi: int, safi: int) -> bool | None:
        """The F bit for a family; None when the peer keeps no state for it."""
        for a, s, f in self.families:
            if (a, s) == (afi, safi):
                return f
        return None


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the session agreed on: one object, computed once per session."""

    local_as: int
    local_id: int
    peer_as: int
    peer_id: int
    hold_time: int
    keepalive_time: int
    families: frozenset                 # {(afi, safi), ...}
    four_octet_as: bool
    add_path_rx: frozenset              # families where we receive path ids
    add_path_tx: frozenset              # families where we send path ids
    extended_message: bool
    route_refresh: bool
    enhanced_route_refresh: bool
    graceful_restart: GracefulRestartInfo | None
    long_lived_graceful_restart: tuple  # ((afi, safi, forwarding, stale_time), ...)
    extended_next_hop: frozenset        # {(afi, safi, next_hop_afi), ...}
    role: int | None                    # the peer's RFC 9234 role
    hostname: str                       # the peer's FQDN capability
    domain: str
    local_open: Open
    peer_open: Open

    @property
    def ibgp(self) -> bool:
        return self.local_as == self.peer_as

    @property
    def max_message_size(self) -> int:
        return MAX_EXTENDED_MESSAGE_LEN if self.extended_message else MAX_MESSAGE_LEN


def negotiate(cfg: SessionConfig, ours: Open, theirs: Open) -> Negotiated:
    """Combine our OPEN and the peer's (already validated) into ``Negotiated``."""
    families = families_of(ours) & families_of(theirs)

    ap_ours = {(a, s): m for a, s, m in _caps(ours, AddPath, "families")}
    ap_theirs = {(a, s): m for a, s, m in _caps(theirs, AddPath, "families")}
    rx = frozenset(f for f in families
                   if ap_ours.get(f, 0) & 1 and ap_theirs.get(f, 0) & 2)
    tx = frozenset(f for f in families
                   if ap_ours.get(f, 0) & 2 and ap_theirs.get(f, 0) & 1)

    gr = None
    gr_ours = ours.capability(GracefulRestart)
    gr_theirs = theirs.capability(GracefulRestart)
    if gr_ours is not None and gr_theirs is not None:
        gr = GracefulRestartInfo(
            gr_theirs.restart_time, gr_theirs.restarting,
            gr_ours.notification and gr_theirs.notification,
            tuple((a, s, f) for a, s, f in gr_theirs.families if (a, s) in families))

    llgr = ()
    if ours.capability(LongLivedGracefulRestart) is not None:
        llgr = tuple(e for e in _caps(theirs, LongLivedGracefulRestart, "families")
                     if (e[0], e[1]) in families)

    enh_ours = set(_caps(ours, ExtendedNextHop, "entries"))
    enh = frozenset(e for e in _caps(theirs, ExtendedNextHop, "entries") if e in enh_ours)

    rr_ours = ours.capability(RouteRefresh) is not None
    rr_theirs = (theirs.capability(RouteRefresh) is not None
                 or theirs.capability(RouteRefreshOld) is not None)
    route_refresh = rr_ours and rr_theirs
    enhanced = (route_refresh and ours.capability(EnhancedRouteRefresh) is not None
                and theirs.capability(EnhancedRouteRefresh) is not None)

    role = theirs.capability(BgpRole)
    fqdn = theirs.capability(Fqdn)
    hold = min(ours.hold_time, theirs.hold_time)
    return Negotiated(
        local_as=cfg.local_as, local_id=cfg.local_id,
        peer_as=peer_asn(theirs), peer_id=theirs.bgp_id,
        hold_time=hold, keepalive_time=keepalive_for(hold, cfg.keepalive_time),
        families=families,
        four_octet_as=(ours.capability(FourOctetAS) is not None
                       and theirs.capability(FourOctetAS) is not None),
        add_path_rx=rx, add_path_tx=tx,
        extended_message=(ours.capability(ExtendedMessage) is not None
                          and theirs.capability(ExtendedMessage) is not None),
        route_refresh=route_refresh, enhanced_route_refresh=enhanced,
        graceful_restart=gr, long_lived_graceful_restart=llgr,
        extended_next_hop=enh,
        role=role.role if role is not None else None,
        hostname=fqdn.hostname if fqdn is not None else "",
        domain=fqdn.domain if fqdn is not None else "",
        local_open=ours, peer_open=theirs,
    )


def _caps(open_: Open, cls, field: str) -> list:
    """The entries of every capability of a class (a capability may be sent
    more than once, RFC 5492 section 4)."""
    out = []
    for cap in open_.capabilities_of(cls):
        out.extend(getattr(cap, field))
    return out
