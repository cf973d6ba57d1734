"""The three cases: who the simulated peers are, what each sends, what
each must end up holding, and how they are split over processes.

A ``Plan`` is rebuilt from ``(case, scale)`` alone, deterministically, by
the coordinator and by every worker process, so nothing but those two words
and a list of peer indexes crosses a process boundary.

Addressing (one veth pair, one /16): the daemon under test is 10.0.0.1 in
its namespace; the simulated peers live in the other namespace at 10.0.0.2
(the feeder) and 10.0.B.H (B >= 1: receivers and route-reflector clients),
each bound to its own address so that each is a distinct BGP neighbour.

=========  ==================================================================
transit    eBGP.  The feeder (AS 64500) sends ``bench.feed``'s generated full
           table (1,000,000 IPv4 prefixes, 1-5 per UPDATE, varied AS paths,
           MEDs, communities), NEXT_HOPs moved onto the shared subnet, less
           the ~0.45% of prefixes inside 127.0.0.0/8 (BIRD refuses those
           as martians, the others take them); one eBGP receiver (AS
           64600) must hold all of it.
calico-rr  iBGP route reflector with 1,000 clients; client i announces 4
           /26 blocks (one UPDATE, NEXT_HOP its own address) and must hold
           the 3,996 blocks of the others.  Four worker processes of 250.
fan-out    iBGP route reflector; one client sends 100,000 prefixes of the
           generated feed (with LOCAL_PREF), 20 other clients (two worker
           processes of 10) must each hold all of them.
=========  ==================================================================

``--scale`` multiplies the prefix counts (transit, fan-out) and the client
count (calico-rr).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import struct
from dataclasses import dataclass

from bench import feed

from . import bgpmsg

DUT_ADDRESS = "10.0.0.1"
FEEDER_ADDRESS = "10.0.0.2"
SUBNET_LEN = 16
LOCAL_AS = 64512
FEEDER_AS = 64500          # bench.feed's paths start with this AS
RECEIVER_AS = 64600
HOLD_TIME = 240
SEED = 179
CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "out")
# bench.feed's four NEXT_HOPs (192.0.2.1-4) mapped onto the lab subnet: a
# single-hop eBGP speaker only accepts next hops it can reach directly.
NEXT_HOPS = [ipaddress.IPv4Address(a).packed
             for a in (FEEDER_ADDRESS, "10.0.0.10", "10.0.0.11", "10.0.0.12")]
# The generated paths draw transit ASes at random; one that is the daemon's
# or the receiver's own would make a daemon drop the route (AS_PATH loop
# detection, RFC 4271 9.1.2), so those become another private AS.
AS_MAP = {LOCAL_AS: 64999, RECEIVER_AS: 64998}
BLOCK_BASE = int(ipaddress.IPv4Address("172.16.0.0"))   # calico-rr pod blocks
BLOCKS_PER_CLIENT = 4
CLIENTS_PER_WORKER = 250
FANOUT_RECEIVERS = 20
FANOUT_PER_WORKER = 10


def client_address(i: int) -> str:
    """The i-th receiver or client: 10.0.1.1 .. 10.0.1.250, 10.0.2.1, ..."""
    return f"10.0.{1 + i // 250}.{1 + i % 250}"


@dataclass(frozen=True)
class SimPeer:
    """One simulated BGP neighbour, as the daemon's configuration sees it."""

    name: str
    address: str
    asn: int
    rr_client: bool = False
    sends: bool = False        # announces something after "go"
    counts: bool = False       # must end up holding a known prefix set

    @property
    def ebgp(self) -> bool:
        return self.asn != LOCAL_AS


@dataclass(frozen=True)
class Plan:
    case: str
    scale: float
    peers: tuple
    # Worker processes, as tuples of indexes into ``peers``; each group's
    # sessions come up before the next group starts (receivers first).
    groups: tuple
    prefixes: int          # distinct prefixes announced into the daemon
    deliveries: int        # prefixes the receivers must hold, summed
    summary: str

    @property
    def asn(self) -> int:
        return LOCAL_AS

    @property
    def router_id(self) -> str:
        return DUT_ADDRESS

    @property
    def addresses(self) -> list[str]:
        return [p.address for p in self.peers]


def _transit(scale: float) -> Plan:
    n = max(10, round(1_000_000 * scale))
    peers = (SimPeer("receiver", client_address(0), RECEIVER_AS, counts=True),
             SimPeer("feeder", FEEDER_ADDRESS, FEEDER_AS, sends=True))
    return Plan("transit", scale, peers, ((0,), (1,)), n, n,
                f"eBGP, {n:,} generated prefixes less those in 127/8, 1 feeder -> 1 receiver")


def _calico(scale: float) -> Plan:
    n = max(4, round(1000 * scale))
    peers = tuple(SimPeer(f"c{i}", client_address(i), LOCAL_AS, rr_client=True,
                          sends=True, counts=True) for i in range(n))
    groups = tuple(tuple(range(s, min(n, s + CLIENTS_PER_WORKER)))
                   for s in range(0, n, CLIENTS_PER_WORKER))
    blocks = n * BLOCKS_PER_CLIENT
    # All workers make one group: each client is both feeder and receiver.
    return Plan("calico-rr", scale, peers, (tuple(i for g in groups for i in g),),
                blocks, n * (blocks - BLOCKS_PER_CLIENT),
                f"iBGP RR, {n:,} clients x {BLOCKS_PER_CLIENT} /26, each needs "
                f"{blocks - BLOCKS_PER_CLIENT:,}")


def _fanout(scale: float) -> Plan:
    n = max(10, round(100_000 * scale))
    receivers = tuple(SimPeer(f"r{i}", client_address(i), LOCAL_AS, rr_client=True,
                              counts=True) for i in range(FANOUT_RECEIVERS))
    peers = receivers + (SimPeer("feeder", FEEDER_ADDRESS, LOCAL_AS, rr_client=True,
                                 sends=True),)
    return Plan("fan-out", scale, peers,
                (tuple(range(FANOUT_RECEIVERS)), (FANOUT_RECEIVERS,)),
                n, n * FANOUT_RECEIVERS,
                f"iBGP RR, {n:,} prefixes, 1 client -> {FANOUT_RECEIVERS} clients")


CASES = {"transit": _transit, "calico-rr": _calico, "fan-out": _fanout}


@functools.lru_cache(maxsize=None)
def plan(case: str, scale: float) -> Plan:
    return CASES[case](scale)


def worker_chunks(p: Plan) -> list[list[list[int]]]:
    """Per start group, the worker processes: lists of peer indexes."""
    size = CLIENTS_PER_WORKER if p.case == "calico-rr" else FANOUT_PER_WORKER
    return [[list(g[s:s + size]) for s in range(0, len(g), size)] for g in p.groups]


# ---------------------------------------------------------------------------
# What is sent and what must arrive

FEED_VERSION = 3       # bump when the rewriting below changes


def _feed_path(kind: str, n: int) -> str:
    return os.path.join(CACHE_DIR, f"compare-{kind}-{n}-{SEED}-v{FEED_VERSION}.bin")


def _build_feed(kind: str, n: int) -> bytes:
    """bench.feed's stream with on-link NEXT_HOPs; iBGP adds LOCAL_PREF 100."""
    extra = bgpmsg.attribute(0x40, 5, struct.pack("!I", 100)) if kind == "ibgp" else b""
    remap = dict(zip((bytes([192, 0, 2, i]) for i in range(1, 5)), NEXT_HOPS))
    out = []
    for msg in feed.generate(n, SEED, FEEDER_AS):
        keys = bgpmsg.nlri_keys(msg)
        kept = [k for k in keys if not (k[0] >= 8 and k[1] == 127)]
        if not kept:
            continue
        nh = _next_hop(msg)
        msg = bgpmsg.rewrite(msg, remap.get(nh, NEXT_HOPS[0]), extra, AS_MAP)
        if len(kept) != len(keys):
            _, attrs, _ = bgpmsg._parts(msg)
            msg = bgpmsg.update(attrs, b"".join(kept))
        out.append(msg)
    return b"".join(out)


def _next_hop(msg: bytes) -> bytes:
    _, attrs, _ = bgpmsg._parts(msg)
    p = 0
    while p < len(attrs):
        flags, code = attrs[p], attrs[p + 1]
        head = 4 if flags & 0x10 else 3
        length = (attrs[p + 2] << 8 | attrs[p + 3]) if head == 4 else attrs[p + 2]
        if code == 3:
            return attrs[p + head:p + head + length]
        p += head + length
    return b""


def feed_stream(kind: str, n: int) -> bytes:
    """The pre-encoded feed (cached on disk between runs)."""
    path = _feed_path(kind, n)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass
    data = _build_feed(kind, n)
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return data


def _block_keys(i: int) -> list[bytes]:
    base = BLOCK_BASE + i * BLOCKS_PER_CLIENT * 64
    return [bytes([26]) + (base + j * 64).to_bytes(4, "big") for j in range(BLOCKS_PER_CLIENT)]


def _block_update(i: int) -> bytes:
    attrs = (bgpmsg.attribute(0x40, 1, b"\x00")                    # ORIGIN IGP
             + bgpmsg.attribute(0x40, 2, b"")                      # empty AS_PATH
             + bgpmsg.attribute(0x40, 3, ipaddress.IPv4Address(client_address(i)).packed)
             + bgpmsg.attribute(0x40, 5, struct.pack("!I", 100)))   # LOCAL_PREF
    return bgpmsg.update(attrs, b"".join(_block_keys(i)))


def prepare(p: Plan) -> None:
    """Build (and cache) the feed before any daemon starts."""
    if p.case == "transit":
        feed_stream("ebgp", p.prefixes)
    elif p.case == "fan-out":
        feed_stream("ibgp", p.prefixes)


def stream(p: Plan, index: int) -> bytes:
    """What peer ``index`` writes after "go" (End-of-RIB follows it)."""
    if p.case == "transit":
        return feed_stream("ebgp", p.prefixes)
    if p.case == "fan-out":
        return feed_stream("ibgp", p.prefixes)
    return _block_update(index)


def universe(p: Plan) -> list[bytes]:
    """Every prefix announced into the daemon, in a fixed order."""
    if p.case == "calico-rr":
        return [k for i in range(len(p.peers)) for k in _block_keys(i)]
    data = stream(p, 0)
    return [k for m in bgpmsg.split(data) for k in bgpmsg.nlri_keys(m)]


def own(p: Plan, index: int) -> list[bytes]:
    """Prefixes peer ``index`` announced itself (it need not get them back)."""
    return _block_keys(index) if p.case == "calico-rr" else []
