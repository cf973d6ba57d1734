"""Our RIB against real peers: best-path selection with routes from BIRD 2
and FRR, and graceful restart with BIRD 2 restarting.

The lab
-------
Three namespaces, built once for the module: ``us`` runs bgpd (AS 65000),
``bird`` BIRD 2 (graceful restart on), ``frr`` FRR's bgpd, each linked to
``us``.  BIRD has three eBGP sessions with us, from three addresses:

=====  =========  ==========  =====  ==============  ============================
peer   our end    their end   AS     BGP Identifier  carries
=====  =========  ==========  =====  ==============  ============================
bird   10.0.1.1   10.0.1.2    65002  10.0.1.2        every prefix
birdb  10.0.1.5   10.0.1.3    65004  10.0.0.9        ``CONTESTS`` prefixes given
birdc  10.0.1.6   10.0.1.4    65005  10.0.1.2        the same; BIRD's identifier
frr    10.0.2.1   10.0.2.2    65000  10.0.2.2        iBGP; the shared prefixes
=====  =========  ==========  =====  ==============  ============================

BIRD gives a route its attributes in its export filters (prepending its own
AS, ORIGIN, MED), FRR in a route-map per ``network`` (AS_PATH prepends of
an AS other than ours, ORIGIN, MED, LOCAL_PREF).  A route from BIRD has
AS_PATH ``65002`` (more with prepends), or ``65004``/``65005`` from the
other sessions, and no LOCAL_PREF (eBGP: the default 100 applies); FRR's
has the AS_PATH its route-map builds (empty when none) and LOCAL_PREF 100
unless set, and FRR sends MED 0 on a ``network`` route without ``set
metric``.

Best-path selection (RFC 4271 section 9.1)
------------------------------------------
Every case is a prefix of its own, so the cases need no reconfiguration
between them and read independently.  For each, ``show route PREFIX all
--json`` must show the candidates with the attributes meant, the winner
``best``, and each loser ``not selected`` at the step RFC 4271 9.1 names
(``rib.decision.Step``), beaten by the route that put it out; plain ``show
route PREFIX`` must give the winner.

- ``CASES``: BIRD (eBGP) against FRR (iBGP), one step each: AS_PATH length,
  ORIGIN, MED between routes of one neighbour AS (and a missing MED as 0),
  MEDs of different neighbour ASes not compared, eBGP over iBGP, LOCAL_PREF;
- ``CONTESTS``: more sessions: MED applied within each neighbour AS among
  three candidates (RFC 4271's elimination), the BGP Identifier, the peer
  address;
- ``test_reconfigured_peers`` changes one prefix's attributes on each
  daemon while it runs (``birdc configure``, ``vtysh``) and follows the
  best path as it moves, down to the withdrawals;
- ``test_peer_shutdown`` has each peer shut its session down (FRR's Cease
  comes wrapped in an RFC 8538 Hard Reset): the peer's routes go at once,
  none kept as stale, and every case is decided as before once it is back.

Graceful restart (RFC 4724 section 4.2, the receiving side)
----------------------------------------------------------
``test_graceful_restart_among_candidates``: BIRD stops with ``birdc
graceful restart`` (no NOTIFICATION) and starts again in recovery (``bird
-R``) with a configuration where one route it shares with FRR and one of
its own are gone, and two others have another MED.  A thread samples our
daemon every 100 ms meanwhile: no route of BIRD's may leave our Loc-RIB
while BIRD is away (they are marked stale and still decide as before), the
routes are fresh again after BIRD's End-of-RIB, the changed ones decided
anew, and the dropped ones swept by that End-of-RIB -- FRR's route taking
over where it has one.

With BIRD alone in front of us (``_graceful_pair``):

- ``test_bird_not_back_within_restart_time``: BIRD stops gracefully and
  stays away; its routes stay, stale, for the Restart Time it announced
  (3 s), then go;
- ``test_bird_back_before_we_saw_it_go``: BIRD dies without anything
  reaching us (our side of the connection stays open) and connects again in
  recovery: we take the new connection as its restart and keep its routes;
- ``test_helper_only_peer_crash``: BIRD with ``graceful restart aware``
  (a capability that lists no address family) is killed: nothing is kept
  as stale, its routes go with the session.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import dataclass, field

import pytest

from rib.decision import Step

from .bgpd_lab import Bgpd, Peer
from .daemons import Bird2, Frr, Neighbor, Route
from .lab import Lab, LabError, is_root, wait_until
from .rib_lab import FrrRoutes, GracefulBird2, RibWatch, bird_session

pytestmark = pytest.mark.lab

OUR_AS, BIRD_AS, BIRD_B_AS, BIRD_C_AS = 65000, 65002, 65004, 65005
OUR_ID = "10.0.1.1"
BIRD_LINK, FRR_LINK = "10.0.1.0/24", "10.0.2.0/24"
US_BIRD, BIRD_ADDR = "10.0.1.1", "10.0.1.2"
# BIRD's further sessions, each between a pair of addresses of its own
# (BIRD 2.0 runs one session per neighbour address at a time).
US_B, BIRD_B_ADDR, US_C, BIRD_C_ADDR = "10.0.1.5", "10.0.1.3", "10.0.1.6", "10.0.1.4"
BIRD_B_ID = "10.0.0.9"              # lower than BIRD's own 10.0.1.2
US_FRR, FRR_ADDR = "10.0.2.1", "10.0.2.2"
BEST, NOT_SELECTED = "best", "not selected"
# BIRD waits long before talking again to a peer after an error; keep it short.
BIRD_SESSION = "error wait time 1, 2;"


def won(winner: str, step: Step | None = None, *losers: str, by: str | None = None) -> dict:
    """The standing of a prefix's candidates: ``winner`` best, each of
    ``losers`` not selected at ``step``, beaten by ``by`` (the winner)."""
    out = {winner: (BEST, None, None)}
    out.update({name: (NOT_SELECTED, step, by or winner) for name in losers})
    return out


# ---------------------------------------------------------------------------
# The cases

@dataclass(frozen=True)
class Case:
    """One prefix announced by BIRD (``bird``, its route) and FRR
    (``frr``, the route-map ``set`` lines of its route).  ``shown`` is what
    each candidate must carry in ``show route PREFIX all`` (AS path, origin,
    MED, LOCAL_PREF); ``winner`` and ``step`` are what RFC 4271 9.1
    decides."""

    name: str
    prefix: str
    bird: Route
    frr: tuple
    shown: dict
    winner: str
    step: Step
    why: str = field(default="", compare=False)

    @property
    def loser(self) -> str:
        return "frr" if self.winner == "bird" else "bird"

    @property
    def standing(self) -> dict:
        return won(self.winner, self.step, self.loser)


def _shown(as_path: str, origin: str = "i", med=None, local_pref=None) -> dict:
    return {"as_path": as_path, "origin": origin, "med": med, "local_pref": local_pref}


CASES = (
    Case("as-path-length", "10.60.1.0/24",
         Route("10.60.1.0/24", prepend=1), ("set as-path prepend 65003",),
         {"bird": _shown("65002 65002"), "frr": _shown("65003", med=0, local_pref=100)},
         "frr", Step.AS_PATH,
         "9.1.2.2 a: the shorter AS_PATH wins, before eBGP is preferred to iBGP"),
    Case("origin", "10.60.2.0/24",
         Route("10.60.2.0/24", origin="egp"), ("set as-path prepend 65003",),
         {"bird": _shown("65002", "e"), "frr": _shown("65003", med=0, local_pref=100)},
         "frr", Step.ORIGIN, "9.1.2.2 b: IGP beats EGP at equal AS_PATH length"),
    Case("origin-incomplete", "10.60.3.0/24",
         Route("10.60.3.0/24"), ("set as-path prepend 65003", "set origin incomplete"),
         {"bird": _shown("65002"), "frr": _shown("65003", "?", med=0, local_pref=100)},
         "bird", Step.ORIGIN, "9.1.2.2 b: IGP beats INCOMPLETE"),
    Case("med", "10.60.4.0/24",
         Route("10.60.4.0/24", med=50), ("set as-path prepend 65002", "set metric 10"),
         {"bird": _shown("65002", med=50), "frr": _shown("65002", med=10, local_pref=100)},
         "frr", Step.MED,
         "9.1.2.2 c: both from neighbour AS 65002, the lower MED wins before eBGP is "
         "preferred"),
    Case("med-missing-is-zero", "10.60.5.0/24",
         Route("10.60.5.0/24"), ("set as-path prepend 65002", "set metric 10"),
         {"bird": _shown("65002"), "frr": _shown("65002", med=10, local_pref=100)},
         "bird", Step.MED, "9.1.2.2 c: a route without MED has MED 0"),
    Case("med-other-neighbour-as", "10.60.6.0/24",
         Route("10.60.6.0/24", med=50), ("set as-path prepend 65003", "set metric 10"),
         {"bird": _shown("65002", med=50), "frr": _shown("65003", med=10, local_pref=100)},
         "bird", Step.EXTERNAL,
         "9.1.2.2 c: MEDs of different neighbour ASes are not compared, so d decides"),
    Case("ebgp-over-ibgp", "10.60.7.0/24",
         Route("10.60.7.0/24"), ("set as-path prepend 65002",),
         {"bird": _shown("65002"), "frr": _shown("65002", med=0, local_pref=100)},
         "bird", Step.EXTERNAL, "9.1.2.2 d: equal up to MED, eBGP beats iBGP"),
    Case("local-pref", "10.60.8.0/24",
         Route("10.60.8.0/24"),
         ("set as-path prepend 65003 65003 65003", "set origin incomplete",
          "set local-preference 200"),
         {"bird": _shown("65002"),
          "frr": _shown("65003 65003 65003", "?", med=0, local_pref=200)},
         "frr", Step.LOCAL_PREF,
         "9.1.1: LOCAL_PREF 200 beats the eBGP route's default 100, whatever follows"),
    Case("local-pref-below-default", "10.60.9.0/24",
         Route("10.60.9.0/24", prepend=2), ("set local-preference 50",),
         {"bird": _shown("65002 65002 65002"), "frr": _shown("", med=0, local_pref=50)},
         "bird", Step.LOCAL_PREF,
         "9.1.1: the eBGP route's default LOCAL_PREF 100 beats 50, despite its longer path"),
)


@dataclass(frozen=True)
class Contest:
    """A prefix with candidates from more of BIRD's sessions: ``bird`` is
    the route of BIRD's main session, ``others`` {session: BIRD filter
    statements} the further sessions that announce it, ``frr`` FRR's
    route-map lines (None: FRR does not announce it)."""

    name: str
    prefix: str
    bird: Route
    others: dict
    frr: tuple | None
    shown: dict                     # protocol -> (AS path, MED)
    standing: dict
    why: str = field(default="", compare=False)


CONTESTS = (
    Contest("med-within-neighbour-as", "10.63.1.0/24",
            Route("10.63.1.0/24", med=100), {"birdb": ["bgp_med = 50;"]},
            ("set as-path prepend 65002", "set metric 10"),
            {"bird": ("65002", 100), "birdb": ("65004", 50), "frr": ("65002", 10)},
            {**won("birdb", Step.EXTERNAL, "frr"), **won("birdb", Step.MED, "bird", by="frr")},
            "9.1.2.2 c removes routes within each neighbour AS: FRR's MED 10 puts out BIRD's "
            "100 (both AS 65002), birdb's 50 (AS 65004) stays; then d: eBGP birdb beats iBGP "
            "FRR"),
    Contest("router-id", "10.63.2.0/24", Route("10.63.2.0/24"), {"birdb": []}, None,
            {"bird": ("65002", None), "birdb": ("65004", None)},
            won("birdb", Step.ROUTER_ID, "bird"),
            "9.1.2.2 f: equal up to it, the lower BGP Identifier (10.0.0.9) wins, though its "
            "peer address is the higher"),
    Contest("peer-address", "10.63.3.0/24", Route("10.63.3.0/24"), {"birdc": []}, None,
            {"bird": ("65002", None), "birdc": ("65005", None)},
            won("bird", Step.PEER_ADDRESS, "birdc"),
            "9.1.2.2 g: one BGP Identifier (one BIRD), the lower peer address wins"),
)
RECONF_PREFIX = "10.61.0.0/24"


@dataclass(frozen=True)
class GrCase:
    """A prefix of the graceful-restart check in the lab: BIRD's route
    before and after its restart (None: no longer announced), FRR's
    route-map lines (None: FRR does not announce it), and the standing
    before and after (``{}``: no route at all)."""

    name: str
    prefix: str
    before: Route
    after: Route | None
    frr: tuple | None
    was: dict
    becomes: dict


GR_CASES = (
    GrCase("shared-kept", "10.62.1.0/24", Route("10.62.1.0/24"), Route("10.62.1.0/24"),
           ("set as-path prepend 65002",),
           won("bird", Step.EXTERNAL, "frr"), won("bird", Step.EXTERNAL, "frr")),
    GrCase("shared-dropped", "10.62.2.0/24", Route("10.62.2.0/24"), None,
           ("set as-path prepend 65002",), won("bird", Step.EXTERNAL, "frr"), won("frr")),
    GrCase("shared-worse-med", "10.62.3.0/24", Route("10.62.3.0/24", med=5),
           Route("10.62.3.0/24", med=50), ("set as-path prepend 65002", "set metric 10"),
           won("bird", Step.MED, "frr"), won("frr", Step.MED, "bird")),
    GrCase("own-kept", "10.62.4.0/24", Route("10.62.4.0/24"), Route("10.62.4.0/24"), None,
           won("bird"), won("bird")),
    GrCase("own-dropped", "10.62.5.0/24", Route("10.62.5.0/24"), None, None, won("bird"), {}),
    GrCase("own-new-med", "10.62.6.0/24", Route("10.62.6.0/24"),
           Route("10.62.6.0/24", med=30), None, won("bird"), won("bird")),
)


# ---------------------------------------------------------------------------
# The lab

@dataclass
class Trio:
    lab: Lab
    bgpd: Bgpd
    bird: GracefulBird2
    frr: FrrRoutes

    def logs(self) -> str:
        return "\n".join(f"--- {d.name} ---\n{d.output()[-3000:]}"
                         for d in (self.bgpd, self.bird, self.frr))

    def candidates(self, prefix: str) -> dict:
        """``show route PREFIX all``: {protocol: row}."""
        return self.bgpd.candidates(prefix)


def _bird_neighbor(**kw) -> Neighbor:
    return Neighbor(address=US_BIRD, asn=OUR_AS, local_address=BIRD_ADDR, name="bgpd",
                    families=("ipv4",), **kw)


def _need(*classes) -> None:
    if not is_root():
        pytest.skip("lab tests need root (network namespaces)")
    for cls in classes:
        if cls.missing():
            pytest.skip(cls.missing())


def _bird_sessions() -> str:
    """BIRD's further sessions (``birdb``, ``birdc``), for its configuration."""
    sessions = {"birdb": (BIRD_B_ADDR, BIRD_B_AS, US_B, BIRD_B_ID),
                "birdc": (BIRD_C_ADDR, BIRD_C_AS, US_C, None)}
    out = []
    for name, (address, asn, ours, router_id) in sessions.items():
        routes = {c.prefix: c.others[name] for c in CONTESTS if name in c.others}
        out.append(bird_session(f"bgpd_{name[-1]}", address, asn, ours, OUR_AS, routes,
                                router_id, f"{BIRD_SESSION}\ngraceful restart on;"))
    return "\n".join(out)


def _build(lab: Lab) -> Trio:
    us, bird_ns, frr_ns = lab.namespace("us"), lab.namespace("bird"), lab.namespace("frr")
    bird_link = lab.link(us, bird_ns, v4=BIRD_LINK)
    lab.link(us, frr_ns, v4=FRR_LINK)
    for ns, address in ((bird_ns, BIRD_B_ADDR), (bird_ns, BIRD_C_ADDR), (us, US_B), (us, US_C)):
        ns.ip("addr", "add", f"{address}/24", "dev", bird_link.interface(ns))
    bird = GracefulBird2(lab, bird_ns, asn=BIRD_AS, router_id=BIRD_ADDR,
                         neighbors=[_bird_neighbor()], session_config=BIRD_SESSION,
                         routes=[c.bird for c in CASES] + [c.bird for c in CONTESTS]
                         + [g.before for g in GR_CASES],
                         extra_config=_bird_sessions()).start()
    originated = {c.prefix: c.frr for c in CASES}
    originated.update({c.prefix: c.frr for c in CONTESTS + GR_CASES if c.frr is not None})
    frr = FrrRoutes(lab, frr_ns, asn=OUR_AS, router_id=FRR_ADDR,
                    neighbors=[Neighbor(address=US_FRR, asn=OUR_AS, local_address=FRR_ADDR,
                                        name="bgpd", families=("ipv4",))],
                    originated=originated).start()
    bgpd = Bgpd(lab, us, asn=OUR_AS, router_id=OUR_ID,
                peers=[Peer("bird", BIRD_ADDR, BIRD_AS, local_address=US_BIRD),
                       Peer("birdb", BIRD_B_ADDR, BIRD_B_AS, local_address=US_B),
                       Peer("birdc", BIRD_C_ADDR, BIRD_C_AS, local_address=US_C),
                       Peer("frr", FRR_ADDR, OUR_AS, local_address=US_FRR)]).start()
    return Trio(lab, bgpd, bird, frr)


@pytest.fixture(scope="module")
def trio():
    _need(Bird2, Frr)
    with Lab("rib") as lab:
        t = _build(lab)
        try:
            t.bgpd.wait_established("bird", "birdb", "birdc", "frr", timeout=30)
            wait_until(lambda: not _misdecided(t) and not _gr_misdecided(t, "was"), 30,
                       "every case decided")
        except LabError:
            print(t.logs(), _misdecided(t), _gr_misdecided(t, "was"))
            raise
        yield t


# ---------------------------------------------------------------------------
# What our daemon says, against what it should say

def _standing(cands: dict, want: dict) -> list[str]:
    """What is wrong with ``cands`` (``show route PREFIX all`` by protocol)
    against ``want`` ({protocol: (status, step, beaten by)})."""
    bad = []
    if set(cands) != set(want):
        bad.append(f"candidates from {sorted(cands)}, expected {sorted(want)}")
    for name, (status, step, by) in want.items():
        row = cands.get(name)
        if row is None:
            continue
        got = (row["status"], row.get("step"), row.get("beaten_by"))
        expected = (status, step.value if step else None, by)
        if got != expected or status not in row["flags"]:
            bad.append(f"{name}: {got} {row['flags']}, expected {expected}")
    return bad


def _misdecided(trio: Trio, cands_of=None) -> list[str]:
    """What differs from ``CASES`` and ``CONTESTS`` in our Loc-RIB (or in
    ``cands_of``, {prefix: candidates} of a sample)."""
    bad = []
    for c in CASES + CONTESTS:
        cands = cands_of[c.prefix] if cands_of is not None else trio.candidates(c.prefix)
        bad += [f"{c.name}: {b}" for b in _standing(cands, c.standing)]
    return bad


def _gr_misdecided(trio: Trio, when: str, cands_of=None) -> list[str]:
    """What differs from ``GR_CASES``' standing ``when`` ('was' or 'becomes')."""
    bad = []
    for g in GR_CASES:
        cands = cands_of[g.prefix] if cands_of is not None else trio.candidates(g.prefix)
        bad += [f"{g.name}: {b}" for b in _standing(cands, getattr(g, when))]
    return bad


# ---------------------------------------------------------------------------
# 1. Best-path selection

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_best_path(trio, case):
    """Our best path and its explanation match RFC 4271 9.1 for routes
    BIRD (eBGP) and FRR (iBGP) announce with the case's attributes."""
    cands = trio.candidates(case.prefix)
    assert set(cands) == {"bird", "frr"}, cands
    for name, want in case.shown.items():
        got = {k: cands[name][k] for k in want}
        assert got == want, f"{name} announced {got}, the case needs {want}"
    assert not _standing(cands, case.standing), (case.why, _standing(cands, case.standing))
    best = trio.bgpd.query("show", "route", case.prefix)
    assert [r["protocol"] for r in best] == [case.winner], best
    assert best[0]["via"] == (BIRD_ADDR if case.winner == "bird" else FRR_ADDR)


@pytest.mark.parametrize("contest", CONTESTS, ids=[c.name for c in CONTESTS])
def test_best_path_among_sessions(trio, contest):
    """With candidates from more sessions: MED within each neighbour AS,
    the BGP Identifier, the peer address -- each loser beaten by the route
    that put it out."""
    cands = trio.candidates(contest.prefix)
    shown = {name: (row["as_path"], row["med"]) for name, row in cands.items()}
    assert shown == contest.shown, "the peers did not announce what the case needs"
    bad = _standing(cands, contest.standing)
    assert not bad, (contest.why, bad)
    winner = next(n for n, (status, _s, _b) in contest.standing.items() if status == BEST)
    assert [r["protocol"] for r in trio.bgpd.query("show", "route", contest.prefix)] == [winner]


def test_explanation_text(trio):
    """The operator's ``bgpctl show route PREFIX all`` names the step and
    the winner as the JSON does."""
    case = next(c for c in CASES if c.step is Step.MED)
    text = trio.bgpd.ctl_text("show", "route", case.prefix, "all")
    prefix = re.escape(case.prefix)
    assert re.search(rf"^{prefix}\s.*\s{case.winner}\s+{BEST}\b", text, re.M), text
    assert re.search(rf"^{prefix}\s.*\s{case.loser}\s+{NOT_SELECTED}\s.*"
                     rf"lost to {case.winner} at: {case.step.value}$", text, re.M), text


def test_reconfigured_peers(trio):
    """Attributes changed while the peers run (``birdc configure`` with a
    new export filter, ``vtysh`` with a new route-map) move the best path
    at once, and withdrawals leave the other candidate, then nothing."""
    bird, frr, prefix = trio.bird, trio.frr, RECONF_PREFIX

    def settles(want, what):
        try:
            return wait_until(lambda: not _standing(c := trio.candidates(prefix), want) and c,
                              20, what)
        except LabError:
            raise AssertionError(f"{what}: {_standing(trio.candidates(prefix), want)}") \
                from None

    # Both from neighbour AS 65002: MED decides.
    route = Route(prefix, med=50)
    bird.announce(route)
    frr.set_route(prefix, "set as-path prepend 65002", "set metric 10")
    settles(won("frr", Step.MED, "bird"), "FRR's MED 10 beating BIRD's 50")

    bird.routes.remove(route)
    route = Route(prefix, med=5)
    bird.announce(route)
    cands = settles(won("bird", Step.MED, "frr"), "BIRD's new MED 5 beating FRR's 10")
    assert cands["bird"]["med"] == 5

    frr.set_route(prefix, "set as-path prepend 65002", "set metric 10",
                  "set local-preference 300")
    cands = settles(won("frr", Step.LOCAL_PREF, "bird"),
                    "FRR's new LOCAL_PREF 300 beating the default")
    assert cands["frr"]["local_pref"] == 300

    frr.remove_route(prefix)
    settles(won("bird"), "BIRD's route alone after FRR withdrew")
    bird.withdraw(route)
    wait_until(lambda: not trio.candidates(prefix), 20, f"{prefix} gone")
    assert trio.bgpd.query("show", "route", prefix) == []


@pytest.mark.parametrize("who", ["frr", "bird"])
def test_peer_shutdown(trio, who):
    """The peer shuts its session down (Cease / Administrative Shutdown;
    FRR wraps it in an RFC 8538 Hard Reset, BIRD sends it bare): its routes
    leave our Loc-RIB with the session, none kept as stale, and the other
    peer's are best alone.  Back up, every case is decided as before."""
    daemon = trio.frr if who == "frr" else trio.bird
    other = "bird" if who == "frr" else "frr"
    neighbor = daemon.neighbors[0]
    daemon.shutdown_neighbor(neighbor, "rib interop")
    try:
        down = wait_until(lambda: (p := trio.bgpd.protocol(who))["state"] != "Established"
                          and p, 10, f"{who} down")
        if who == "frr":
            assert "Hard reset" in down["info"], down
        # The session's end and its routes' removal are one step of ours:
        # no answer can fall between them.
        for c in CASES:
            cands = trio.candidates(c.prefix)
            assert not _standing(cands, won(other)), (c.name, cands)
        assert who not in {r["protocol"] for r in trio.bgpd.routes()}
    finally:
        daemon.enable_neighbor(neighbor)
    try:
        wait_until(lambda: not _misdecided(trio), 30, f"{who}'s routes back")
    except LabError:
        raise AssertionError(_misdecided(trio)) from None


# ---------------------------------------------------------------------------
# 2. Graceful restart

def _print_logs(bgpd: Bgpd, bird: Bird2) -> None:
    print(f"--- {bgpd.name} ---\n{bgpd.output()[-4000:]}\n"
          f"--- {bird.name} ---\n{bird.output()[-3000:]}")


def _gr_phase(g: GrCase, cands: dict) -> str | None:
    """Whether a GR case's candidates stand as they 'was' or as they
    'becomes', or neither (None)."""
    if not _standing(cands, g.was):
        return "was"
    return None if _standing(cands, g.becomes) else "becomes"


def _down_and_stale(s) -> bool:
    """The session is down and every candidate of the watched protocol is
    stale."""
    return s.state != "Established" and len(s.stale) == len(s.cands) and all(s.stale.values())


def test_graceful_restart_among_candidates(trio):
    """BIRD 2 restarts gracefully while FRR's routes compete with its own:
    nothing of BIRD's leaves our Loc-RIB while it is away, and its stale
    routes decide as before; after its End-of-RIB its routes are fresh, the
    ones it changed are decided anew, and the ones it dropped are gone, FRR's
    route taking over where there is one."""
    bgpd, bird = trio.bgpd, trio.bird
    prefixes = [c.prefix for c in CASES + CONTESTS + GR_CASES]
    dropped = [g.prefix for g in GR_CASES if g.after is None]
    watch = RibWatch(bgpd, "bird", prefixes)
    log_at = bgpd.log_offset()
    ups = bgpd.detail("bird")["messages"]["established_transitions"]
    try:
        with watch:
            watch.wait(lambda s: True, 5, "a first sample")
            bird.routes = [c.bird for c in CASES + CONTESTS] + [g.after for g in GR_CASES
                                                                if g.after]
            bird.graceful_stop()
            watch.wait(_down_and_stale, 10, "our session down and BIRD's routes stale")
            recovering = time.monotonic()
            bird.recover()
            watch.wait(lambda s: s.state == "Established" and not any(s.stale.values())
                       and not _gr_misdecided(trio, "becomes", s.cands), 30,
                       "BIRD's routes fresh again, the dropped ones swept")
            settled = len(watch.samples)
            watch.wait(lambda s: len(watch.samples) > settled + 2, 5, "a few samples more")
        samples = watch.check()
    except (LabError, AssertionError):
        print(trio.logs())
        raise

    away = [s for s in samples if s.state != "Established"]
    assert away, "no sample while BIRD was away"
    assert all(_down_and_stale(s) for s in away), away[0]
    for s in samples:
        # BIRD's routes, stale or fresh, decide the cases as ever.
        bad = _misdecided(trio, s.cands)
        assert not bad, (f"+{s.start - recovering:.2f}s", bad)
    for g in GR_CASES:
        # As it was, then as it becomes, once BIRD is back.
        phases = [_gr_phase(g, s.cands[g.prefix]) for s in samples]
        assert None not in phases, (g.name, samples[phases.index(None)].cands[g.prefix])
        n = phases.count("was")
        assert phases == ["was"] * n + ["becomes"] * (len(phases) - n), (g.name, phases)
        assert n == len(samples) or samples[n].end > recovering, (g.name, samples[n])
    last = samples[-1]
    assert not any(last.stale.values()), last.stale
    assert all(last.best.get(p) != "bird" for p in dropped), last.best
    assert last.cands["10.62.6.0/24"]["bird"]["med"] == 30

    log = bgpd.output()[log_at:]
    assert "peer bird (10.0.1.2): session down: TCP connection failed: connection closed by " \
           "peer (graceful restart: routes kept as stale)" in log, log[-3000:]
    # Swept by BIRD's End-of-RIB, not when its new session came up.
    assert f"End-of-RIB for ipv4-unicast: {len(dropped)} stale routes removed" in log, \
        log[-3000:]
    assert bgpd.detail("bird")["messages"]["established_transitions"] == ups + 1


GR_PREFIXES = ("10.70.1.0/24", "10.70.2.0/24", "10.70.3.0/24")
RESTART_TIME = 3                    # seconds, BIRD's Restart Time in the expiry test


def _graceful_pair(lab: Lab, session_config: str = "", hold: int = 90):
    """BIRD 2 (graceful restart on) alone, announcing ``GR_PREFIXES`` to
    bgpd; the session up and the routes in our Loc-RIB.  (bird, bgpd, link)"""
    _need(Bird2)
    us, bird_ns = lab.namespace("us"), lab.namespace("bird")
    link = lab.link(us, bird_ns, v4=BIRD_LINK)
    bird = GracefulBird2(lab, bird_ns, asn=BIRD_AS, router_id=BIRD_ADDR,
                         neighbors=[_bird_neighbor(hold_time=hold)],
                         session_config=f"{BIRD_SESSION}\n{session_config}",
                         routes=[Route(p) for p in GR_PREFIXES]).start()
    bgpd = Bgpd(lab, us, asn=OUR_AS, router_id=OUR_ID,
                peers=[Peer("bird", BIRD_ADDR, BIRD_AS, local_address=US_BIRD,
                            hold_time=hold)]).start()
    try:
        bgpd.wait_established("bird", timeout=30)
        wait_until(lambda: set(bgpd.best_routes()) >= set(GR_PREFIXES), 30,
                   "BIRD's routes in our Loc-RIB")
    except LabError:
        _print_logs(bgpd, bird)
        raise
    return bird, bgpd, link


def test_bird_not_back_within_restart_time(lab):
    """BIRD 2 stops gracefully and stays away: its routes stay, stale, for
    the Restart Time it announced, and then go (RFC 4724 section 4.2)."""
    bird, bgpd, _link = _graceful_pair(lab, f"graceful restart time {RESTART_TIME};")
    watch = RibWatch(bgpd, "bird", GR_PREFIXES)
    log_at = bgpd.log_offset()
    gone = set(GR_PREFIXES).isdisjoint
    try:
        with watch:
            watch.wait(lambda s: True, 5, "a first sample")
            bird.graceful_stop()
            watch.wait(_down_and_stale, 10, "our session down and BIRD's routes stale")
            watch.wait(lambda s: gone(s.best), RESTART_TIME + 10, "BIRD's stale routes swept")
        samples = watch.check()
    except (LabError, AssertionError):
        _print_logs(bgpd, bird)
        raise
    down = next(i for i, s in enumerate(samples) if s.state != "Established")
    swept = next(i for i, s in enumerate(samples) if gone(s.best))
    # From the last sample with the session up to the first without the
    # routes: at least the restart time; from the first down to the last
    # with the routes: about the restart time.
    assert samples[swept].end - samples[down - 1].start >= RESTART_TIME, samples
    assert samples[swept - 1].start - samples[down].end <= RESTART_TIME + 1, samples
    assert all(_down_and_stale(s) for s in samples[down:swept]), samples[down:swept]
    assert all(gone(s.best) for s in samples[swept:]), "a swept route came back"
    log = bgpd.output()[log_at:]
    assert f"not back within its restart time ({RESTART_TIME}s): stale routes removed" in log, \
        log[-3000:]


def test_bird_back_before_we_saw_it_go(lab):
    """BIRD 2 dies without a word reaching us (our old connection stays
    open) and connects again in recovery: we take the new connection as
    its restart (RFC 4724 section 4.2), keep its routes meanwhile, and
    sweep the one it no longer announces after its End-of-RIB."""
    # A long hold time: no KEEPALIVE of ours may meet the dead connection's
    # RST before BIRD is back (keepalives every 20 minutes).
    bird, bgpd, link = _graceful_pair(lab, hold=3600)
    dropped = GR_PREFIXES[-1]
    kept = set(GR_PREFIXES) - {dropped}
    watch = RibWatch(bgpd, "bird", GR_PREFIXES)
    log_at = bgpd.log_offset()
    try:
        with watch:
            watch.wait(lambda s: True, 5, "a first sample")
            bird.routes = [Route(p) for p in GR_PREFIXES if p != dropped]
            bird.vanish(link)
            assert bgpd.established("bird"), "we saw BIRD go"
            bird.recover()
            watch.wait(lambda s: s.state == "Established" and set(s.best) == kept
                       and not any(s.stale.values()), 30,
                       "BIRD's routes fresh again and the dropped one swept")
        samples = watch.check()
    except (LabError, AssertionError):
        _print_logs(bgpd, bird)
        raise
    for s in samples:
        assert all(s.best.get(p) == "bird" for p in kept), s
    assert any(all(s.stale.values()) for s in samples), "BIRD's routes never shown stale"
    log = bgpd.output()[log_at:]
    assert "session down: peer reconnected (graceful restart) (graceful restart: routes " \
           "kept as stale)" in log, log[-3000:]
    assert "End-of-RIB for ipv4-unicast: 1 stale routes removed" in log, log[-3000:]
    assert bgpd.detail("bird")["messages"]["established_transitions"] == 2


def test_helper_only_peer_crash(lab):
    """A peer whose Graceful Restart Capability lists no address family
    (BIRD's ``graceful restart aware``: it helps others restart but keeps
    no forwarding state itself) dies without a NOTIFICATION: nothing may be
    kept as stale (RFC 4724 section 4.2 keeps routes only for the families
    the capability listed), so its routes leave with the session."""
    _need(Bird2)
    us, bird_ns = lab.namespace("us"), lab.namespace("bird")
    lab.link(us, bird_ns, v4=BIRD_LINK)
    bird = Bird2(lab, bird_ns, asn=BIRD_AS, router_id=BIRD_ADDR, neighbors=[_bird_neighbor()],
                 session_config=BIRD_SESSION, routes=[Route(p) for p in GR_PREFIXES]).start()
    assert "graceful restart aware;" in bird.config_path.read_text()
    bgpd = Bgpd(lab, us, asn=OUR_AS, router_id=OUR_ID,
                peers=[Peer("bird", BIRD_ADDR, BIRD_AS, local_address=US_BIRD)]).start()
    try:
        bgpd.wait_established("bird", timeout=30)
        wait_until(lambda: set(bgpd.best_routes()) >= set(GR_PREFIXES), 30,
                   "BIRD's routes in our Loc-RIB")
        bird.proc.stop(grace=0, sig=signal.SIGKILL)     # TCP closes, no NOTIFICATION
        bgpd.wait_down("bird")
        left = {r["prefix"]: r for r in bgpd.routes()}
        assert not left, f"kept after a helper-only peer died: {left}"
    except (LabError, AssertionError):
        _print_logs(bgpd, bird)
        raise
