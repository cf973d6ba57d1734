"""The capture scenario: what each reference daemon is made to send, and
what its messages must then contain.

Shared by ``test_captures.py`` (which runs the daemons and records their
sessions) and ``test_stored_captures.py`` (which checks the recorded ones
offline), so the two can never disagree about what a capture should hold.

The scenario, per daemon (RFC numbers say what each step exercises):

1. the daemon (AS 4200000001, so AS_TRANS in its OPEN: RFC 6793) peers with
   the test peer twice from the same link: eBGP (peer AS 65001) and iBGP
   (a second test-peer address, same AS), each session carrying IPv4 and
   IPv6 unicast (RFC 4760) over IPv4 transport.  BIRD 1.6 is the
   exception: ``bird`` speaks IPv4 only and ``bird6`` IPv6 only, so it has
   four sessions, the IPv6 ones over IPv6 transport;
2. it announces ``ROUTES`` (MED, communities with a well-known one, large
   and extended communities, AS path prepends, ORIGIN INCOMPLETE, a
   LOCAL_PREF that must only reach the iBGP peer) and an End-of-RIB per
   family (RFC 4724 section 2);
3. it withdraws ``WITHDRAWN`` (IPv4 in the withdrawn routes field, IPv6 in
   MP_UNREACH_NLRI);
4. it asks for the peer's routes again: a ROUTE-REFRESH per family (RFC
   2918), where the daemon can be made to send one;
5. its neighbours are shut down: Cease / Administrative Shutdown, with the
   RFC 9003 message ``SHUTDOWN_MESSAGE`` where the daemon lets us choose it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field

from wire.communities import parse_community

from .daemons import Route

DAEMON_AS = 4200000001
PEER_AS = 65001
AS_TRANS = 23456
HOLD_TIME = 90

LINK_V4 = "10.0.1.0/24"
LINK_V6 = "fd00:1::/64"
PEER_V4, DAEMON_V4, IBGP_PEER_V4 = "10.0.1.1", "10.0.1.2", "10.0.1.3"
PEER_V6, DAEMON_V6, IBGP_PEER_V6 = "fd00:1::1", "fd00:1::2", "fd00:1::3"
DAEMON_ID = DAEMON_V4
SHUTDOWN_MESSAGE = "maintenance window"

IPV4, IPV6 = (1, 1), (2, 1)
ORIGIN_CODES = {"igp": 0, "egp": 1, "incomplete": 2}

ROUTES = (
    Route("10.11.1.0/24", med=50, local_pref=300,
          communities=("65000:100", "GRACEFUL_SHUTDOWN"),
          large_communities=((DAEMON_AS, 1, 2), (65000, 7, 8)),
          ext_communities=(("rt", 65000, 7), ("ro", 65000, 8))),
    Route("10.11.2.0/24", prepend=2, communities=("65000:200",)),
    Route("10.11.3.0/25", origin="incomplete"),
    Route("2001:db8:11:1::/64", med=60, communities=("65000:300",),
          large_communities=((DAEMON_AS, 3, 4),)),
    Route("2001:db8:11:2::/64", prepend=1, local_pref=250),
    Route("2001:db8:12::/48"),
)
WITHDRAWN = ("10.11.3.0/25", "2001:db8:12::/48")


@dataclass(frozen=True)
class Session:
    """One BGP session between a daemon and a test peer."""

    label: str                  # name in the capture file: 'ebgp', 'ibgp-v6', ...
    ibgp: bool
    families: tuple             # ((afi, safi), ...) carried
    peer_address: str           # the test peer's end
    daemon_address: str         # the daemon's end
    daemon_process: int = 0     # BIRD 1.6: which of its two processes (4 or 6)

    @property
    def peer_as(self) -> int:
        return DAEMON_AS if self.ibgp else PEER_AS

    @property
    def peer_id(self) -> str:
        return IBGP_PEER_V4 if self.ibgp else PEER_V4

    @property
    def transport(self) -> int:
        return ipaddress.ip_address(self.daemon_address).version


@dataclass(frozen=True)
class Case:
    """A daemon's part in the scenario and the ways it departs from the
    plain expectation."""

    kind: str                   # DAEMONS key and capture file name
    sessions: tuple
    shutdown_text: str = SHUTDOWN_MESSAGE   # the RFC 9003 message it sends
    default_med: int | None = None          # MED it adds to routes without one
    ext_kinds: tuple = ("rt", "ro")         # extended communities it can set
    refresh: bool = True                    # can be made to send ROUTE-REFRESH
    notes: tuple = field(default=())

    def routes(self) -> list[Route]:
        """``ROUTES`` without what this daemon cannot originate."""
        return [dataclasses.replace(r, ext_communities=tuple(
            e for e in r.ext_communities if e[0] in self.ext_kinds)) for r in ROUTES]

    def session(self, label: str) -> Session:
        for s in self.sessions:
            if s.label == label:
                return s
        raise KeyError(label)


_BOTH = (IPV4, IPV6)
_TWO_SESSIONS = (
    Session("ebgp", False, _BOTH, PEER_V4, DAEMON_V4),
    Session("ibgp", True, _BOTH, IBGP_PEER_V4, DAEMON_V4),
)

CASES = {c.kind: c for c in (
    Case("bird1.6", (
        Session("ebgp-v4", False, (IPV4,), PEER_V4, DAEMON_V4, 4),
        Session("ibgp-v4", True, (IPV4,), IBGP_PEER_V4, DAEMON_V4, 4),
        Session("ebgp-v6", False, (IPV6,), PEER_V6, DAEMON_V6, 6),
        Session("ibgp-v6", True, (IPV6,), IBGP_PEER_V6, DAEMON_V6, 6),
    ), notes=("bird (IPv4) and bird6 (IPv6) are separate processes",)),
    Case("bird2", _TWO_SESSIONS),
    Case("frr", _TWO_SESSIONS, default_med=0,
         notes=("bgpd -Z: no zebra; MED 0 on routes originated with `network`",)),
    Case("gobgp", _TWO_SESSIONS, ext_kinds=("rt",), refresh=False,
         notes=("`neighbor shutdown --reason` carries the message; `disable` cannot",
                "its CLI adds route targets only among extended communities",
                "it keeps an Adj-RIB-In and never asks for a ROUTE-REFRESH")),
    Case("exabgp", _TWO_SESSIONS, shutdown_text="Administrative Shutdown",
         notes=("teardown sends its own text; without graceful restart, since with it "
                "ExaBGP closes the session without a NOTIFICATION",)),
)}


# ---------------------------------------------------------------------------
# Expectations, checked against views (see compare.py)

def family_of(prefix: str) -> tuple:
    return IPV4 if ipaddress.ip_network(prefix).version == 4 else IPV6


def expected_routes(case: Case, session: Session) -> list[Route]:
    return [r for r in case.routes() if family_of(r.prefix) in session.families]


def expected_withdrawn(session: Session) -> list[str]:
    return [p for p in WITHDRAWN if family_of(p) in session.families]


def expected_attributes(case: Case, session: Session, route: Route) -> dict:
    """The view keys an UPDATE announcing ``route`` must have."""
    own = 0 if session.ibgp else 1
    asns = [DAEMON_AS] * (route.prepend + own)
    med = route.med if route.med is not None else case.default_med
    local_pref = (route.local_pref or 100) if session.ibgp else None
    out = {
        "origin": ORIGIN_CODES[route.origin],
        "as_path": [[2, asns]] if asns else [],
        "med": med,
        "local_pref": local_pref,
        "communities": sorted(parse_community(c) for c in route.communities),
        "large_communities": sorted(list(c) for c in route.large_communities),
        "ext_communities": sorted(_ext_value(*e) for e in route.ext_communities),
    }
    if family_of(route.prefix) == IPV4:
        out["next_hop"] = session.daemon_address if session.transport == 4 else None
    return out


def _ext_value(kind: str, asn: int, number: int) -> int:
    """RFC 4360 two-octet-AS specific: type 0x00, subtype 0x02 (route
    target) or 0x03 (route origin)."""
    subtype = {"rt": 0x02, "ro": 0x03}[kind]
    return (0x00 << 56) | (subtype << 48) | (asn << 32) | number


def _check_announcement(case, session, route, view, reach) -> list[str]:
    bad = []
    for key, value in expected_attributes(case, session, route).items():
        if view.get(key) != value:
            bad.append(f"{route.prefix}: {key} {view.get(key)!r}, expected {value!r}")
    if reach is not None:
        want = session.daemon_address if session.transport == 6 else DAEMON_V6
        hops = reach["next_hop"]
        # A link-local address may follow the global one (RFC 2545).
        if not hops or hops[0] != want or not all(
                ipaddress.ip_address(h).is_link_local for h in hops[1:]):
            bad.append(f"{route.prefix}: MP next hop {hops}, expected {want} "
                       f"(and maybe a link-local address)")
    return bad


def check_session(case: Case, session: Session, views: list[dict]) -> list[str]:
    """Everything wrong with a session's messages (views from our codec),
    as readable lines; empty when the session is as the scenario says."""
    bad = []
    if not views:
        return ["no messages"]
    types = [v["type"] for v in views]
    if types[0] != 1:
        bad.append(f"first message is type {types[0]}, not OPEN")
    else:
        o = views[0]
        if o["my_as"] != AS_TRANS:
            bad.append(f"OPEN my AS {o['my_as']} != AS_TRANS")
        if 65 not in o["capabilities"]:
            bad.append("OPEN without the 4-octet AS capability")
        if o["bgp_id"] != DAEMON_ID:
            bad.append(f"OPEN BGP identifier {o['bgp_id']} != {DAEMON_ID}")
        if o["hold_time"] != HOLD_TIME:
            bad.append(f"OPEN hold time {o['hold_time']} != {HOLD_TIME}")
    if len(types) < 2 or types[1] != 4:
        bad.append("second message is not a KEEPALIVE")
    for i, v in enumerate(views):
        if v.get("problems"):
            bad.append(f"message {i}: {v['problems']}")

    # Announcements come first, each before its family's End-of-RIB;
    # withdrawals after.  A daemon may announce a route again later (BIRD
    # re-sends everything when reconfigured, between ROUTE-REFRESH
    # BoRR/EoRR markers); every announcement must carry the expected
    # attributes.
    eor_at = {}
    for i, v in enumerate(views):
        if v.get("end_of_rib"):
            eor_at.setdefault(tuple(v["end_of_rib"]), i)
    if set(eor_at) != set(session.families):
        bad.append(f"End-of-RIB for {sorted(eor_at)}, expected {sorted(session.families)}")
    announced, withdrawn = {}, {}
    for i, v in enumerate(views):
        if v["type"] != 2 or v.get("end_of_rib"):
            continue
        for p in v.get("nlri", []):
            announced.setdefault(p, []).append((i, v, None))
        reach = v.get("mp_reach")
        if reach:
            for p in reach["nlri"]:
                announced.setdefault(p, []).append((i, v, reach))
        gone = list(v.get("withdrawn", []))
        if v.get("mp_unreach"):
            gone += v["mp_unreach"]["withdrawn"]
        for p in gone:
            withdrawn.setdefault(p, i)
    want = {r.prefix for r in expected_routes(case, session)}
    if set(announced) != want:
        bad.append(f"announced {sorted(announced)}, expected {sorted(want)}")
    for r in expected_routes(case, session):
        for n, (i, v, reach) in enumerate(announced.get(r.prefix, ())):
            if n == 0 and i > eor_at.get(family_of(r.prefix), len(views)):
                bad.append(f"{r.prefix} first announced after its End-of-RIB")
            if i > withdrawn.get(r.prefix, len(views)):
                bad.append(f"{r.prefix} announced again after its withdrawal")
            bad += _check_announcement(case, session, r, v, reach)
    if sorted(withdrawn) != sorted(expected_withdrawn(session)):
        bad.append(f"withdrawn {sorted(withdrawn)}, expected {expected_withdrawn(session)}")
    for p, i in withdrawn.items():
        if i < eor_at.get(family_of(p), 0):
            bad.append(f"{p} withdrawn before its End-of-RIB")

    refreshed = {(v["afi"], v["safi"]) for v in views if v["type"] == 5 and v["subtype"] == 0}
    if case.refresh and refreshed != set(session.families):
        bad.append(f"ROUTE-REFRESH requests for {sorted(refreshed)}, "
                   f"expected {sorted(session.families)}")

    last = views[-1]
    if last["type"] != 3:
        bad.append(f"last message is type {last['type']}, not NOTIFICATION")
    elif (last["code"], last["subcode"], last["communication"]) != (6, 2, case.shutdown_text):
        bad.append(f"NOTIFICATION {last['code']}/{last['subcode']} {last['communication']!r}, "
                   f"expected 6/2 {case.shutdown_text!r}")
    if types.count(1) != 1 or types.count(3) != 1:
        bad.append(f"message types {types}: one OPEN and one NOTIFICATION expected")
    return bad


__all__ = ["CASES", "Case", "DAEMON_AS", "PEER_AS", "ROUTES", "Session", "WITHDRAWN",
           "check_session", "expected_attributes"]
