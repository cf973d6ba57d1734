"""Our daemon's sessions against the reference daemons: BIRD 1.6, BIRD 2,
FRR, GoBGP and ExaBGP.

For each daemon one pair of namespaces is built and kept for all the checks
(a module-scoped fixture; pytest runs the tests of one daemon together):
``us`` runs bgpd (AS 4200000001), ``them`` the reference daemon (AS
4200000002), joined by one veth link.  Each session has its own pair of
addresses on that link, so that one check can break a session while the
others carry on (``PLANS``):

=========  =========================  ==========================================
session    transport                  what it is for
=========  =========================  ==========================================
ebgp4      10.0.1.1 - 10.0.1.2        eBGP; IPv4, and IPv6 over an IPv4 session
ibgp4      10.0.1.3 - 10.0.1.4        iBGP (our ``local_asn`` is 4200000002)
ebgp6      fd00:1::1 - fd00:1::2      eBGP; IPv6 over an IPv6 session
shorthold  10.0.1.5 - 10.0.1.6        hold time 6 s, for the hold timer check
md5ok      10.0.1.7 - 10.0.1.8        TCP MD5, the same key on both sides
md5bad     10.0.1.9 - 10.0.1.10       TCP MD5, different keys: never comes up
coll       10.0.1.11 - 10.0.1.12      forced connection collision
=========  =========================  ==========================================

Every session is active on both sides (nobody is passive) and both ASNs
need four octets.  BIRD 1.6 speaks one family per process: ``bird`` has
the IPv4 sessions (IPv4 routes only) and ``bird6`` the IPv6 one.

The checks, in the order they run for each daemon: sessions up (both
sides' own views), routes both ways (IPv4; IPv6 over IPv4; IPv6 over
IPv6; next hop and AS path), 4-octet AS numbers, route refresh both ways,
TCP MD5 right and wrong, one TCP connection per session after a forced
collision, the daemon restarting, its Cease NOTIFICATION recorded, hold
timer expiry while it is frozen with SIGSTOP.  ``test_down_reasons``
then checks, against BIRD 2, that our log and ``show protocols`` say in
words why a session is down in each usual case.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
import signal
import time
from dataclasses import dataclass, field

import pytest

from .bgpd_lab import Bgpd, Originate, Peer
from .daemons import DAEMONS, Bird16, Bird2, Daemon, ExaBgp, Neighbor, Route
from .lab import Lab, LabError, Link, Namespace, is_root, wait_until

pytestmark = pytest.mark.lab

OUR_AS, THEIR_AS = 4200000001, 4200000002
AS_TRANS = 23456
OUR_ID, THEIR_ID = "10.0.1.1", "10.0.1.2"
OUR_V6, THEIR_V6 = "fd00:1::1", "fd00:1::2"
LINK_V4, LINK_V6 = "10.0.1.0/24", "fd00:1::/64"
HOLD = 6                     # seconds, the hold session's hold time on both sides
MD5_KEY, WRONG_KEY = "lab-secret", "not-the-secret"
SHUTDOWN_MESSAGE = "lab maintenance"
BOGUS_MAC = "02:00:00:00:de:ad"
TCP_ESTABLISHED, TCP_SYN_SENT = "01", "02"

OUR_ROUTES = (Originate("10.100.1.0/24"), Originate("10.100.2.0/24", med=10),
              # Over an IPv4 session the IPv6 next hop cannot be the
              # session's address: name our global IPv6 address.
              Originate("2001:db8:100:1::/64", next_hop=OUR_V6))
OUR_PREFIXES = {4: {"10.100.1.0/24", "10.100.2.0/24"}, 6: {"2001:db8:100:1::/64"}}
THEIR_ROUTES = (Route("10.200.1.0/24"), Route("2001:db8:200:1::/64"))
THEIR_PREFIXES = {4: {"10.200.1.0/24"}, 6: {"2001:db8:200:1::/64"}}

# BIRD waits 60 s or more ("error wait time") before it talks again to a
# peer after an error such as an expired hold timer; keep it short.
BIRD_SESSION = "error wait time 1, 2;"

KINDS = ("bird1.6", "bird2", "frr", "gobgp", "exabgp")


@dataclass(frozen=True)
class Plan:
    """One session of the pair, from our side: our address, theirs."""

    name: str
    ours: str
    theirs: str
    ibgp: bool = False
    versions: tuple = (4,)          # IP versions of the routes it carries
    hold: int = 90
    connect_retry: int = 1
    our_key: str | None = None
    their_key: str | None = None

    @property
    def transport(self) -> int:
        return ipaddress.ip_address(self.ours).version

    @property
    def comes_up(self) -> bool:
        return self.our_key == self.their_key

    @property
    def families(self) -> tuple:
        return tuple(f"ipv{v}-unicast" for v in self.versions)


PLANS = (
    Plan("ebgp4", "10.0.1.1", "10.0.1.2", versions=(4, 6)),
    Plan("ibgp4", "10.0.1.3", "10.0.1.4", ibgp=True, versions=(4, 6)),
    Plan("ebgp6", OUR_V6, THEIR_V6, versions=(6,)),
    Plan("shorthold", "10.0.1.5", "10.0.1.6", hold=HOLD),
    Plan("md5ok", "10.0.1.7", "10.0.1.8", our_key=MD5_KEY, their_key=MD5_KEY),
    Plan("md5bad", "10.0.1.9", "10.0.1.10", our_key=MD5_KEY, their_key=WRONG_KEY),
    # Our dial must outlive the daemon's retransmitted SYN (0.7 x 5 s).
    Plan("coll", "10.0.1.11", "10.0.1.12", connect_retry=5),
)


def plans_for(kind: str) -> dict:
    """The sessions as this daemon can have them: BIRD 1.6's ``bird``
    carries IPv4 routes only."""
    out = {}
    for p in PLANS:
        if kind == "bird1.6" and p.transport == 4 and 6 in p.versions:
            p = dataclasses.replace(p, versions=(4,))
        out[p.name] = p
    return out


# ---------------------------------------------------------------------------
# The pair

@dataclass
class Pair:
    """Our daemon and one reference daemon (two processes for BIRD 1.6),
    each in its namespace, with the sessions of ``plans`` between them."""

    kind: str
    lab: Lab
    us: Namespace
    them: Namespace
    link: Link
    plans: dict
    bgpd: Bgpd | None = None
    daemons: list = field(default_factory=list)     # started, one or two processes
    sessions: dict = field(default_factory=dict)    # name -> (daemon, neighbor)

    def session(self, name: str) -> tuple[Daemon, Neighbor]:
        return self.sessions[name]

    def up_plans(self) -> list[Plan]:
        return [p for p in self.plans.values() if p.comes_up]

    def their_established(self, name: str) -> bool:
        d, n = self.sessions[name]
        return d.alive() and d.established(n)

    def wait_up(self, names=None, timeout: float = 40.0) -> None:
        """Every session that should be up is Established on both sides."""
        names = list(names or [p.name for p in self.up_plans()])
        self.bgpd.wait_established(*names, timeout=timeout)
        wait_until(lambda: all(self.their_established(n) for n in names), timeout,
                   f"{self.kind}: {', '.join(names)} established on its side")

    def logs(self) -> str:
        parts = [f"--- {self.bgpd.name} ---\n{self.bgpd.output()[-4000:]}"]
        parts += [f"--- {d.name} ---\n{d.output()[-3000:]}" for d in self.daemons]
        return "\n".join(parts)


def _neighbor(kind: str, p: Plan) -> Neighbor:
    return Neighbor(
        address=p.ours, asn=THEIR_AS if p.ibgp else OUR_AS, local_address=p.theirs,
        name=p.name, password=p.their_key, families=tuple(f"ipv{v}" for v in p.versions),
        hold_time=p.hold, import_routes=True,
        next_hop_v6=THEIR_V6 if p.transport == 4 and 6 in p.versions else None,
        # With graceful restart ExaBGP closes a session without NOTIFICATION.
        graceful_restart=kind != "exabgp")


def _start_daemons(pair: Pair) -> None:
    kind, plans = pair.kind, list(pair.plans.values())
    common = dict(asn=THEIR_AS, router_id=THEIR_ID, routes=list(THEIR_ROUTES))
    groups = []
    if kind == "bird1.6":
        for family in (4, 6):
            mine = [p for p in plans if p.transport == family]
            groups.append((Bird16(pair.lab, pair.them, family=family, session_config=BIRD_SESSION,
                                  neighbors=[_neighbor(kind, p) for p in mine], **common), mine))
    else:
        extra = {}
        if kind == "bird2":
            extra = dict(session_config=BIRD_SESSION)
        elif kind == "exabgp":
            # Listen as well as connect, so that both sides are active.
            extra = dict(record_received=True,
                         extra_env={"exabgp_tcp_bind": " ".join(p.theirs for p in plans)})
        neighbors = [_neighbor(kind, p) for p in plans]
        groups.append((DAEMONS[kind](pair.lab, pair.them, neighbors=neighbors, **common,
                                     **extra), plans))
    for daemon, mine in groups:
        daemon.start()
        pair.daemons.append(daemon)
        for p, n in zip(mine, daemon.neighbors):
            pair.sessions[p.name] = (daemon, n)


def _start_bgpd(pair: Pair) -> None:
    peers = [Peer(p.name, p.theirs, THEIR_AS, local_address=p.ours,
                  local_asn=THEIR_AS if p.ibgp else None, families=p.families,
                  hold_time=p.hold, connect_retry=p.connect_retry, password=p.our_key)
             for p in pair.plans.values()]
    pair.bgpd = Bgpd(pair.lab, pair.us, asn=OUR_AS, router_id=OUR_ID, peers=peers,
                     originate=list(OUR_ROUTES)).start()


def build_pair(lab: Lab, kind: str) -> Pair:
    us, them = lab.namespace("us"), lab.namespace(kind)
    link = lab.link(us, them, v4=LINK_V4, v6=LINK_V6)
    plans = plans_for(kind)
    for p in plans.values():
        if p.transport == 4 and p.ours != link.a_v4:
            us.ip("addr", "add", f"{p.ours}/24", "dev", link.a_if)
            them.ip("addr", "add", f"{p.theirs}/24", "dev", link.b_if)
    pair = Pair(kind, lab, us, them, link, plans)
    _start_daemons(pair)
    _start_bgpd(pair)
    return pair


@pytest.fixture(scope="module", params=KINDS)
def pair(request):
    kind = request.param
    if not is_root():
        pytest.skip("lab tests need root (network namespaces)")
    missing = DAEMONS[kind].missing()
    if missing:
        pytest.skip(missing)
    with Lab(f"s{kind.replace('.', '')}") as lab:
        the_pair = build_pair(lab, kind)
        try:
            the_pair.wait_up(timeout=40)
        except LabError:
            print(the_pair.logs())
            raise
        yield the_pair


@pytest.fixture
def up(pair):
    """The pair with every session that should be up, up.  The logs are
    printed at the end; pytest shows them only when the test failed."""
    try:
        pair.wait_up()
        yield pair
    finally:
        print(pair.logs())


# ---------------------------------------------------------------------------
# What the daemon says: its own CLI, read the same way for each kind

def _bird_routes(d: Daemon, name: str) -> dict:
    """{prefix: AS path} from ``show route all protocol NAME``."""
    out, prefix = {}, None
    for line in d.cli("show", "route", "all", "protocol", name).splitlines():
        m = re.match(r"^([0-9a-f.:]+/\d+)\s", line)
        if m:
            prefix = m.group(1)
        m = re.match(r"^\s+BGP\.as_path:\s*(.*)$", line)
        if m and prefix:
            out[prefix] = [int(a) for a in m.group(1).split()]
    return out


def _frr_routes(d: Daemon, n: Neighbor, version: int) -> dict:
    out = {}
    data = json.loads(d.cli(f"show bgp ipv{version} unicast neighbors {n.address} routes json")
                      or "{}")
    for prefix, paths in data.get("routes", {}).items():
        path = paths[0].get("path", "") if paths else ""
        out[prefix] = [int(a) for a in path.split()]
    return out


def _gobgp_routes(d: Daemon, n: Neighbor, version: int) -> dict:
    data = json.loads(d.cli("neighbor", n.address, "adj-in", "-a", f"ipv{version}", "-j")
                      or "{}")
    out = {}
    for prefix, paths in (data or {}).items():
        asns = []
        for attr in paths[0].get("attrs", []):
            if attr.get("type") == 2:
                for seg in attr.get("as_paths", []):
                    asns += seg.get("asns", [])
        out[prefix] = asns
    return out


def _exabgp_routes(d: ExaBgp, n: Neighbor, version: int) -> dict:
    out = {}
    for m in d.received():
        if m.get("type") != "update":
            continue
        nb = m.get("neighbor", {})
        if nb.get("address", {}).get("peer") != n.address:
            continue
        update = nb.get("message", {}).get("update", {})
        path = update.get("attribute", {}).get("as-path", [])
        for nexthops in update.get("announce", {}).get(f"ipv{version} unicast", {}).values():
            for entry in nexthops:
                out[entry["nlri"]] = list(path)
        for entry in update.get("withdraw", {}).get(f"ipv{version} unicast", []):
            out.pop(entry["nlri"], None)
    return out


def their_routes(pair: Pair, name: str, version: int) -> dict:
    """{prefix: AS path as a list} the daemon received from us on session
    ``name``, read from its own CLI (ExaBGP keeps no table: what it
    reported receiving)."""
    d, n = pair.session(name)
    if pair.kind in ("bird1.6", "bird2"):
        net = ipaddress.ip_network
        return {p: a for p, a in _bird_routes(d, name).items() if net(p).version == version}
    if pair.kind == "frr":
        return _frr_routes(d, n, version)
    if pair.kind == "gobgp":
        return _gobgp_routes(d, n, version)
    return _exabgp_routes(d, n, version)


def their_view_of_our_as(pair: Pair, name: str) -> int | None:
    """The AS the daemon says we have on session ``name``."""
    d, n = pair.session(name)
    if pair.kind in ("bird1.6", "bird2"):
        m = re.search(r"Neighbor AS:\s+(\d+)", d.cli("show", "protocols", "all", name))
        return int(m.group(1)) if m else None
    if pair.kind == "frr":
        data = json.loads(d.cli(f"show bgp neighbors {n.address} json"))
        return data[n.address]["remoteAs"]
    if pair.kind == "gobgp":
        return json.loads(d.cli("neighbor", n.address, "-j"))["state"]["peer_asn"]
    for m in reversed(d.received()):
        nb = m.get("neighbor", {})
        if nb.get("address", {}).get("peer") == n.address:
            return nb.get("asn", {}).get("peer")
    return None


# ---------------------------------------------------------------------------
# 1. Sessions up, on both sides

def test_sessions_established(up):
    """eBGP over IPv4 and IPv6, iBGP, hold, MD5 and collision sessions are
    Established in our ``show protocols`` and in the daemon's own CLI."""
    text = up.bgpd.ctl_text("show", "protocols")
    shown = up.bgpd.ctl("show", "protocols")
    by_name = {p["name"]: p for p in shown}
    for p in up.up_plans():
        row = by_name[p.name]
        assert (row["state"], row["state_short"], row["info"]) == ("Established", "up",
                                                                   "Established"), row
        assert re.search(rf"^{p.name}\s+BGP\s+master\s+up\s.*Established$", text, re.M), text
        detail = up.bgpd.detail(p.name)
        assert detail["type"] == ("iBGP" if p.ibgp else "eBGP")
        neg = detail["negotiated"]
        assert neg["peer_as"] == THEIR_AS and neg["peer_id"] == THEIR_ID, neg
        assert neg["families"] == sorted(p.families), neg
        assert up.their_established(p.name), f"{p.name} not Established on {up.kind}'s side"


# ---------------------------------------------------------------------------
# 2. Routes both ways, 3. 4-octet AS

def _expected_next_hops(p: Plan, version: int) -> set:
    """The daemon's addresses it may use as next hop on session ``p``.

    eBGP: the session's own address (for its family) or, for IPv6 over
    IPv4, the daemon's global IPv6 address.  iBGP keeps the next hop the
    route was originated with, which some daemons take from another
    session (GoBGP: the address it was added with)."""
    if version == p.transport and not p.ibgp:
        return {p.theirs}
    if version == 6:
        return {THEIR_V6}
    return {pp.theirs for pp in PLANS if pp.transport == 4}


USABLE = ("best", "multipath", "not selected")     # candidates that passed import


def _check_routes(pair: Pair, name: str, version: int) -> None:
    p = pair.plans[name]
    bgpd = pair.bgpd
    # Theirs, in our RIB: a usable candidate from this session with the
    # daemon's next hop and AS path (``show route PREFIX all``), and a
    # best route for the prefix (``show route``).
    def ours_has_theirs():
        found = {px: bgpd.candidates(px).get(name) for px in THEIR_PREFIXES[version]}
        return all(found.values()) and found
    try:
        found = wait_until(ours_has_theirs, 20, f"{pair.kind}'s IPv{version} routes on {name}")
    except LabError:
        raise AssertionError(f"{pair.kind}'s IPv{version} routes on {name}: "
                             f"{[bgpd.candidates(px) for px in THEIR_PREFIXES[version]]}"
                             ) from None
    best = bgpd.best_routes()
    for px, r in found.items():
        first_hop = r["via"].split(",")[0].strip()
        assert first_hop in _expected_next_hops(p, version), (name, r)
        assert r["as_path"] == ("" if p.ibgp else str(THEIR_AS)), (name, r)
        assert r["status"] in USABLE, (name, r)
        assert px in best and best[px]["protocol"] in pair.plans, (px, best.get(px))
    # Ours, in the daemon's RIB.
    want = [] if p.ibgp else [OUR_AS]

    def theirs_has_ours():
        got = their_routes(pair, name, version)
        return all(got.get(px) == want for px in OUR_PREFIXES[version]) and got
    try:
        wait_until(theirs_has_ours, 20, f"our IPv{version} routes in {pair.kind} on {name}")
    except LabError:
        raise AssertionError(f"{pair.kind} on {name}, IPv{version}: "
                             f"{their_routes(pair, name, version)}, expected "
                             f"{sorted(OUR_PREFIXES[version])} with path {want}") from None


def test_ipv4_routes(up):
    """IPv4 routes both ways over eBGP and iBGP: ours in the daemon's RIB
    with AS path 4200000001 (eBGP) or empty (iBGP); its routes in our
    ``show route`` with its address as next hop and AS path 4200000002."""
    for name in ("ebgp4", "ibgp4"):
        _check_routes(up, name, 4)


def test_ipv6_over_ipv4_session(up):
    """IPv6 unicast on the IPv4 sessions (RFC 4760), with global IPv6
    next hops on both sides."""
    if up.kind == "bird1.6":
        pytest.skip("BIRD 1.6's bird speaks IPv4 only; IPv6 needs bird6 and an IPv6 session")
    for name in ("ebgp4", "ibgp4"):
        _check_routes(up, name, 6)


def test_ipv6_over_ipv6_session(up):
    """IPv6 unicast on an IPv6 session (bird6 for BIRD 1.6)."""
    _check_routes(up, "ebgp6", 6)


def test_four_octet_as(up):
    """Both ASNs need four octets (RFC 6793): the capability is negotiated,
    each side shows the other's real AS, and no AS_PATH carries AS_TRANS."""
    for name in ("ebgp4", "ibgp4"):
        p = up.plans[name]
        neg = up.bgpd.detail(name)["negotiated"]
        assert neg["four_octet_as"] is True and neg["peer_as"] == THEIR_AS, neg
        assert their_view_of_our_as(up, name) == (THEIR_AS if p.ibgp else OUR_AS)
    for px in THEIR_PREFIXES[4] | THEIR_PREFIXES[6]:
        for r in up.bgpd.candidates(px).values():
            assert str(AS_TRANS) not in r["as_path"].split(), r
    for name in ("ebgp4", "ebgp6"):
        for version in up.plans[name].versions:
            for px, path in their_routes(up, name, version).items():
                assert AS_TRANS not in path, (name, px, path)


# ---------------------------------------------------------------------------
# 7. Route refresh

def _counter(messages: dict, direction: str, mtype: str) -> int:
    return messages[f"messages_{direction}"][mtype]


def test_route_refresh_we_ask(up):
    """``bgpctl reload in ebgp4``: a ROUTE-REFRESH per family goes out and
    the daemon sends its routes again (our UPDATEs-received count grows)."""
    name = "ebgp4"
    families = up.plans[name].families
    before = up.bgpd.messages(name)
    out = up.bgpd.ctl_text("reload", "in", name)
    assert f"{name}: route refresh requested for {', '.join(families)}" in out, out

    def resent():
        m = up.bgpd.messages(name)
        return (_counter(m, "out", "ROUTE_REFRESH") >= _counter(before, "out", "ROUTE_REFRESH")
                + len(families)
                and _counter(m, "in", "UPDATE") >= _counter(before, "in", "UPDATE")
                + len(families)) and m
    wait_until(resent, 15, f"{up.kind} to send its routes again")
    assert up.bgpd.established(name)
    for px in THEIR_PREFIXES[4]:
        assert up.bgpd.candidates(px)[name]["status"] in USABLE


def test_route_refresh_they_ask(up):
    """The daemon asks us (``birdc reload in``, ``clear bgp ... soft in``,
    ExaBGP's ``announce route-refresh``): our ROUTE-REFRESH-received count
    grows and we send our routes again."""
    if up.kind == "gobgp":
        pytest.skip("GoBGP cannot be made to send a ROUTE-REFRESH: `neighbor X softresetin` "
                    "re-applies its import policy to the Adj-RIB-In it keeps")
    name = "ebgp4"
    d, n = up.session(name)
    families = up.plans[name].families
    before = up.bgpd.messages(name)
    off = up.bgpd.log_offset()
    d.request_refresh(n)

    def answered():
        m = up.bgpd.messages(name)
        return (_counter(m, "in", "ROUTE_REFRESH") >= _counter(before, "in", "ROUTE_REFRESH")
                + len(families)
                and m["updates_out"] >= before["updates_out"] + len(families)) and m
    wait_until(answered, 15, f"{up.kind}'s ROUTE-REFRESH answered")
    assert up.bgpd.log_lines(r"route refresh requested for 1/1", off), up.bgpd.output()[off:]
    assert up.bgpd.established(name)


# ---------------------------------------------------------------------------
# 8. TCP MD5

def test_tcp_md5(up):
    """With the same key on both sides the session comes up; with different
    keys it stays down and we say why."""
    assert up.bgpd.established("md5ok") and up.their_established("md5ok")
    summary = up.bgpd.protocol("md5bad")
    assert summary["state"] != "Established"
    d, n = up.session("md5bad")
    assert not d.established(n)

    # The kernel drops segments with a wrong signature without a word to
    # either side: what we can tell is that connecting times out, and
    # (from the kernel's counters) that segments were dropped for MD5.
    def explained():
        s = up.bgpd.protocol("md5bad")
        return "timed out" in s["info"] and s
    try:
        summary = wait_until(explained, 15, "md5bad's failure explained in show protocols")
    except LabError:
        raise AssertionError("show protocols does not say why md5bad is down: "
                             f"{up.bgpd.protocol('md5bad')}") from None
    detail = up.bgpd.detail("md5bad")
    assert "timed out" in detail["last_error"], detail
    wait_until(lambda: up.bgpd.log_lines(r"md5bad .*TCP MD5"), 15,
               "the MD5 drops reported in our log")


# ---------------------------------------------------------------------------
# 9. Collision

def _sockets(ns: Namespace, local: str, remote: str, state: str, port: int = 179) -> list:
    local, remote = str(ipaddress.ip_address(local)), str(ipaddress.ip_address(remote))
    return [s for s in ns.tcp_sockets()
            if s[4] == state and s[0] == local and s[2] == remote and port in (s[1], s[3])]


def test_collision(up):
    """Both sides active: each session is one TCP connection.  Then a real
    collision on ``coll``, two TCP connections up before either side has
    read an OPEN: with the daemon's packets to our address sent to a wrong
    MAC (a bogus neighbour entry on its side), it dials and is frozen
    (SIGSTOP) with its SYN out; we dial too, the path is repaired, and the
    kernels complete both handshakes.  Thawed, the daemon finds an OPEN on
    each connection; one connection must remain (RFC 4271 section 6.8)."""
    for p in up.up_plans():
        assert len(_sockets(up.us, p.ours, p.theirs, TCP_ESTABLISHED)) == 1, p.name

    p = up.plans["coll"]
    d, n = up.session("coll")
    bgpd = up.bgpd
    bgpd.ctl("disable", "coll")
    wait_until(lambda: not up.their_established("coll"), 15, f"{up.kind}: coll down")
    ifname = up.link.b_if
    up.them.ip("neigh", "replace", p.ours, "lladdr", BOGUS_MAC, "dev", ifname, "nud", "permanent")
    off = bgpd.log_offset()
    frozen = repaired = False
    try:
        wait_until(lambda: _sockets(up.them, p.theirs, p.ours, TCP_SYN_SENT), 30,
                   f"{up.kind} dialling on coll")
        d.proc.send_signal(signal.SIGSTOP)
        frozen = True
        bgpd.ctl("enable", "coll")
        wait_until(lambda: _sockets(up.us, p.ours, p.theirs, TCP_SYN_SENT), 5,
                   "our dial on coll")
        up.them.ip("neigh", "del", p.ours, "dev", ifname)
        repaired = True
        # SYN (and SYN-ACK) retransmissions complete both handshakes.
        wait_until(lambda: len(_sockets(up.us, p.ours, p.theirs, TCP_ESTABLISHED)) == 2, 15,
                   "two TCP connections on coll")
    finally:
        if not repaired:
            up.them.ip("neigh", "del", p.ours, "dev", ifname, check=False)
        if frozen:
            d.proc.send_signal(signal.SIGCONT)
    up.wait_up(["coll"], timeout=30)

    def settled():
        ours = _sockets(up.us, p.ours, p.theirs, TCP_ESTABLISHED)
        theirs = _sockets(up.them, p.theirs, p.ours, TCP_ESTABLISHED)
        up_both = bgpd.established("coll") and up.their_established("coll")
        return ours[0] if len(ours) == len(theirs) == 1 and up_both else None
    # GoBGP does not resolve a collision by the BGP Identifiers: thawed, it
    # resets its own connection (no NOTIFICATION) for the one it accepted,
    # even though its identifier is the higher.  When we have closed that
    # one already (as RFC 4271 section 6.8 says) both connections are gone
    # for a moment and the session comes back on a new one: wait for it.
    kept = wait_until(settled, 30, "one TCP connection on coll, Established on both sides")
    time.sleep(2.0)
    assert settled() == kept, "coll did not stay on one connection"


# ---------------------------------------------------------------------------
# 6. The daemon restarts

def test_peer_restart(up):
    """The daemon stops (SIGTERM) and starts again: our sessions go down
    with a reason and come back by themselves."""
    bgpd = up.bgpd
    for d in up.daemons:
        d.stop()
    names = [p.name for p in up.up_plans()]
    downs = {n: bgpd.wait_down(n) for n in names}
    for name, s in downs.items():
        # 'Active  Received: Cease / ...' or 'Connect  Socket: connection closed by peer'
        assert re.search(r"(Received|Socket|Sent): \S", s["info"]), (name, s)
    for d in up.daemons:
        d.start()
    up.wait_up(timeout=45)
    for name in names:
        assert bgpd.detail(name)["messages"]["established_transitions"] >= 2, name


# ---------------------------------------------------------------------------
# 4. The peer's NOTIFICATION

def test_notification_received(up):
    """The daemon shuts the session down administratively: we record the
    Cease, with its RFC 9003 message where the daemon sends one, in ``show
    protocols all`` (last notification received), ``show protocols`` while
    the session is down, and the log; then the session comes back once,
    without a storm of reconnections."""
    name = "ebgp4"
    d, n = up.session(name)
    bgpd = up.bgpd
    off = bgpd.log_offset()
    before = bgpd.messages(name)["established_transitions"]
    text = SHUTDOWN_MESSAGE if d.shutdown_message else "Administrative Shutdown"
    d.shutdown_neighbor(n, SHUTDOWN_MESSAGE)

    def recorded():
        last = bgpd.detail(name)["last_notification_received"]
        return "Administrative shutdown" in last and last
    last = wait_until(recorded, 15, f"{up.kind}'s Cease recorded")
    assert last.startswith("Received: ") and text in last, last
    lines = bgpd.log_lines(rf"peer {name} .*NOTIFICATION received: .*Administrative shutdown",
                           off)
    assert lines and text in lines[0], bgpd.output()[off:]
    if hasattr(d, "enable_neighbor"):
        # Down until the daemon's operator enables it again: show
        # protocols says why.  (ExaBGP reconnects at once by itself.)
        summary = bgpd.protocol(name)
        assert summary["state"] != "Established", summary
        assert "Received: " in summary["info"] and text in summary["info"], summary
        d.enable_neighbor(n)
    up.wait_up([name], timeout=40)
    time.sleep(1.0)
    came_back = bgpd.messages(name)["established_transitions"] - before
    collisions = bgpd.log_lines(rf"peer {name} .*Connection collision resolution", off)
    assert bgpd.established(name) and came_back <= 2 and len(collisions) <= 2, (
        f"reconnection storm after the Cease: up {came_back} times, {len(collisions)} "
        f"connection collisions; log:\n" + "\n".join(bgpd.output()[off:].splitlines()[:40]))


# ---------------------------------------------------------------------------
# 5. Hold timer

def test_hold_timer_expired(up):
    """The daemon is frozen (SIGSTOP): after the hold time (6 s) we send
    Hold Timer Expired and say so; thawed, the session comes back."""
    name = "shorthold"
    d, n = up.session(name)
    bgpd = up.bgpd
    off = bgpd.log_offset()
    d.proc.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        summary = bgpd.wait_down(name, timeout=HOLD + 5)
        took = time.monotonic() - stopped
        assert "Hold timer expired" in summary["info"], summary
        assert "Sent: Hold timer expired" in bgpd.detail(name)["last_error"]
        assert bgpd.log_lines(rf"peer {name} .*NOTIFICATION sent: Hold timer expired", off)
        assert took <= HOLD + 2, f"hold timer expiry noticed after {took:.1f}s"
    finally:
        d.proc.send_signal(signal.SIGCONT)
    up.wait_up([name], timeout=40)


# ---------------------------------------------------------------------------
# Why a session is down, in words

def test_down_reasons(lab):
    """Against BIRD 2, our log and ``show protocols`` say why a session is
    down: connection refused (peer not running), bad peer AS in either
    direction (OPEN error NOTIFICATION), hold timer expired, and the peer's
    administrative shutdown."""
    if Bird2.missing():
        pytest.skip(Bird2.missing())
    us, them = lab.namespace("us"), lab.namespace("bird")
    link = lab.link(us, them, v4=LINK_V4, v6=LINK_V6)
    pairs = {"refused": ("10.0.1.1", "10.0.1.2"), "badas": ("10.0.1.3", "10.0.1.4"),
             "theybadas": ("10.0.1.5", "10.0.1.6"), "shorthold": ("10.0.1.7", "10.0.1.8"),
             "shut": ("10.0.1.9", "10.0.1.10")}
    for ours, theirs in list(pairs.values())[1:]:
        us.ip("addr", "add", f"{ours}/24", "dev", link.a_if)
        them.ip("addr", "add", f"{theirs}/24", "dev", link.b_if)
    peers = [
        # Nothing listens on this port: refused even once BIRD runs.
        Peer("refused", "10.0.1.2", THEIR_AS, local_address="10.0.1.1", port=1179),
        # We expect the wrong AS: we send OPEN error / Bad Peer AS.
        Peer("badas", "10.0.1.4", 65099, local_address="10.0.1.3"),
        # BIRD expects the wrong AS from us: it sends Bad Peer AS.
        Peer("theybadas", "10.0.1.6", THEIR_AS, local_address="10.0.1.5"),
        Peer("shorthold", "10.0.1.8", THEIR_AS, local_address="10.0.1.7", hold_time=3),
        Peer("shut", "10.0.1.10", THEIR_AS, local_address="10.0.1.9"),
    ]
    bgpd = Bgpd(lab, us, asn=OUR_AS, router_id=OUR_ID, peers=peers).start()
    # The peer is not running yet: every session is refused.
    wait_until(lambda: all("Connection refused" in bgpd.protocol(p.name)["info"]
                           for p in peers), 15, "connection refused on every session")
    assert bgpd.log_lines(r"peer shut .*Connection refused")

    nbs = [Neighbor("10.0.1.3", OUR_AS, "10.0.1.4", name="badas"),
           Neighbor("10.0.1.5", 65098, "10.0.1.6", name="theybadas"),
           Neighbor("10.0.1.7", OUR_AS, "10.0.1.8", name="shorthold", hold_time=3),
           Neighbor("10.0.1.9", OUR_AS, "10.0.1.10", name="shut")]
    bird = Bird2(lab, them, asn=THEIR_AS, router_id=THEIR_ID, neighbors=nbs,
                 session_config=BIRD_SESSION).start()
    try:
        bgpd.wait_established("shorthold", "shut", timeout=20)
        wait_until(lambda: "Bad peer AS" in bgpd.protocol("badas")["info"]
                   and "Bad peer AS" in bgpd.protocol("theybadas")["info"], 15,
                   "bad peer AS on both sessions")
        badas, theirs = bgpd.protocol("badas"), bgpd.protocol("theybadas")
        assert "Sent: OPEN message error / Bad peer AS" in badas["info"], badas
        assert "Received: OPEN message error / Bad peer AS" in theirs["info"], theirs
        assert bgpd.log_lines(r"peer badas .*NOTIFICATION sent: OPEN message error / Bad peer AS")
        assert bgpd.log_lines(r"peer theybadas .*NOTIFICATION received: OPEN message error / "
                              r"Bad peer AS")
        assert "Connection refused" in bgpd.protocol("refused")["info"]

        bird.shutdown_neighbor(nbs[3], SHUTDOWN_MESSAGE)
        wait_until(lambda: SHUTDOWN_MESSAGE in bgpd.protocol("shut")["info"], 10,
                   "the shutdown message in show protocols")
        shut = bgpd.protocol("shut")
        assert "Received: Cease / Administrative shutdown" in shut["info"], shut
        assert bgpd.log_lines(rf"peer shut .*NOTIFICATION received: Cease / Administrative "
                              rf"shutdown.*{SHUTDOWN_MESSAGE}")

        bird.proc.send_signal(signal.SIGSTOP)
        try:
            hold = bgpd.wait_down("shorthold", timeout=10)
        finally:
            bird.proc.send_signal(signal.SIGCONT)
        assert "Sent: Hold timer expired" in hold["info"], hold
        assert bgpd.log_lines(r"peer shorthold .*NOTIFICATION sent: Hold timer expired")
        assert bgpd.log_lines(r"peer shorthold .*session down: .*[Hh]old timer expired")

        # The operator's table says it too.
        text = bgpd.ctl_text("show", "protocols")
        for name, words in (("refused", "Connection refused"), ("badas", "Bad peer AS"),
                            ("theybadas", "Bad peer AS"), ("shut", SHUTDOWN_MESSAGE),
                            ("shorthold", "Hold timer expired")):
            assert re.search(rf"^{name}\s.*{words}", text, re.M), (name, text)
    except BaseException:
        print(f"--- bgpd ---\n{bgpd.output()[-5000:]}\n--- bird ---\n{bird.output()[-3000:]}")
        raise
