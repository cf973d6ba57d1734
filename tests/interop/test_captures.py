"""Real sessions from the reference daemons, decoded by our codec and
checked against Wireshark's BGP dissector and ExaBGP's decoder.

For each of BIRD 1.6, BIRD 2, FRR, GoBGP and ExaBGP, in a pair of fresh
namespaces: the daemon peers with ``peer.TestPeer`` (eBGP and iBGP, see
``scenario.py``), announces ``scenario.ROUTES`` and End-of-RIBs, withdraws
two routes, asks for a route refresh and is made to send a Cease
NOTIFICATION, while tcpdump records the link.  Then:

- every message the peer received decodes with ``wire`` without any
  problem, and holds what the scenario says (``scenario.check_session``);
- Wireshark (``tshark -T pdml``) reads the same messages from the pcap, and
  every field both decoders report is equal: message type and length, OPEN
  version/AS/hold time/identifier/capability codes, UPDATE withdrawn and
  NLRI prefixes, MP_REACH/MP_UNREACH family, next hops and prefixes, path
  attribute type codes, ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, the
  three kinds of communities, NOTIFICATION code/subcode/communication;
- ExaBGP's message classes decode the same bytes to the same values (where
  ExaBGP can decode them at all; see ``compare.EXABGP_KNOWN_FAILURES``).

With BGPD_UPDATE_CAPTURES=1 the sessions are written to
``tests/interop/captures/<daemon>.hex`` (and BIRD 2's to
``conf/samples/session.hex``), which ``test_stored_captures.py`` checks
offline.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import wire
from wire.constants import family_name

from . import scenario
from .capture_file import CaptureFile, StoredSession, capture_path
from .compare import (cross_check, exabgp_python, exabgp_views, tshark_available,
                      tshark_directions, wire_view)
from .daemons import DAEMONS, Bird16, Neighbor
from .lab import wait_until
from .peer import TestPeer, negotiated_codec

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "conf" / "samples" / "session.hex"
STEP_TIMEOUT = 20.0

def _session_neighbor(case, s: scenario.Session) -> Neighbor:
    return Neighbor(
        address=s.peer_address, asn=s.peer_as, local_address=s.daemon_address,
        name="peer_" + s.label.replace("-", "_"), passive=True,
        families=tuple("ipv4" if f == scenario.IPV4 else "ipv6" for f in s.families),
        hold_time=scenario.HOLD_TIME, next_hop_v6=scenario.DAEMON_V6,
        # ExaBGP closes a graceful-restart session without a NOTIFICATION.
        graceful_restart=case.kind != "exabgp")


def _start_daemons(lab, ns, case) -> dict:
    """{session label: (daemon, neighbor)}, daemons started."""
    cls = DAEMONS[case.kind]
    common = dict(asn=scenario.DAEMON_AS, router_id=scenario.DAEMON_ID,
                  routes=case.routes())
    out = {}
    if cls is Bird16:
        for family in (4, 6):
            sessions = [s for s in case.sessions if s.daemon_process == family]
            nbs = [_session_neighbor(case, s) for s in sessions]
            d = Bird16(lab, ns, family=family, neighbors=nbs, **common).start()
            out.update({s.label: (d, n) for s, n in zip(sessions, nbs)})
    else:
        nbs = [_session_neighbor(case, s) for s in case.sessions]
        d = cls(lab, ns, neighbors=nbs, **common).start()
        out.update({s.label: (d, n) for s, n in zip(case.sessions, nbs)})
    return out


def _withdrawals_seen(peer: TestPeer, prefixes: list[str]) -> bool:
    codec = peer.codec()
    seen = set()
    for raw in peer.received:
        if raw[18] == wire.MessageType.UPDATE:
            v = wire_view(raw, codec)
            seen.update(v.get("withdrawn", []))
            if v.get("mp_unreach"):
                seen.update(v["mp_unreach"]["withdrawn"])
    return set(prefixes) <= seen


def _refreshes_seen(peer: TestPeer, families) -> bool:
    """A plain ROUTE-REFRESH request (RFC 2918; subtype 0 in RFC 7313)
    arrived for every family."""
    seen = {(int.from_bytes(m[19:21], "big"), m[22]) for m in peer.received
            if m[18] == wire.MessageType.ROUTE_REFRESH and m[21] == 0}
    return set(families) <= seen


def _wait_pcap_settled(pcap: Path, timeout: float = 3.0) -> None:
    """Wait until tcpdump stops growing the file (it writes each packet at
    once, so a stable size means everything seen so far is on disk)."""
    sizes = []

    def settled():
        sizes.append(pcap.stat().st_size if pcap.exists() else -1)
        return len(sizes) >= 3 and sizes[-1] == sizes[-2] == sizes[-3] >= 0
    wait_until(settled, timeout, f"{pcap.name} to settle", interval=0.05)


def run_scenario(lab, case):
    """Run the scenario for one daemon; return (peers by label, daemons,
    pcap path)."""
    peer_ns = lab.namespace("peer")
    daemon_ns = lab.namespace(case.kind)
    link = lab.link(peer_ns, daemon_ns, v4=scenario.LINK_V4, v6=scenario.LINK_V6)
    # The iBGP test peer is a second address of the same namespace.
    peer_ns.ip("addr", "add", f"{scenario.IBGP_PEER_V4}/24", "dev", link.a_if)
    peer_ns.ip("-6", "addr", "add", f"{scenario.IBGP_PEER_V6}/64", "dev", link.a_if, "nodad")
    assert (link.a_v4, link.b_v4, link.a_v6, link.b_v6) == (
        scenario.PEER_V4, scenario.DAEMON_V4, scenario.PEER_V6, scenario.DAEMON_V6)

    by_label = _start_daemons(lab, daemon_ns, case)
    pcap = lab.path(f"{case.kind}.pcap")
    tcpdump = lab.capture(peer_ns, link.a_if, pcap)

    peers = {}
    try:
        for s in case.sessions:
            peers[s.label] = TestPeer.connect(
                peer_ns, s.daemon_address, asn=s.peer_as, router_id=s.peer_id,
                local=s.peer_address, hold_time=scenario.HOLD_TIME, timeout=STEP_TIMEOUT)
            peers[s.label].send_open()
        for s in case.sessions:
            peers[s.label].establish(STEP_TIMEOUT)
        for s in case.sessions:
            peers[s.label].wait_end_of_rib(s.families, STEP_TIMEOUT)

        # Withdraw, once per daemon process.
        daemons = {id(d): d for d, _ in by_label.values()}
        for d in daemons.values():
            for route in [r for r in d.routes if r.prefix in scenario.WITHDRAWN
                          and r.version in _versions(case, d, by_label)]:
                d.withdraw(route)
        for s in case.sessions:
            gone = scenario.expected_withdrawn(s)
            peers[s.label].read_until(lambda p, gone=gone: _withdrawals_seen(p, gone),
                                      STEP_TIMEOUT, f"withdrawal of {gone}")

        for s in case.sessions if case.refresh else ():
            d, n = by_label[s.label]
            d.request_refresh(n)
            peers[s.label].read_until(lambda p, s=s: _refreshes_seen(p, s.families),
                                      STEP_TIMEOUT, "ROUTE-REFRESH requests")

        for s in case.sessions:
            d, n = by_label[s.label]
            d.shutdown_neighbor(n, scenario.SHUTDOWN_MESSAGE)
            peers[s.label].wait_notification(STEP_TIMEOUT)
    except Exception:
        for d in {id(d): d for d, _ in by_label.values()}.values():
            print(f"--- {d.name} log ---\n{d.output()[-4000:]}")
        raise
    finally:
        for p in peers.values():
            p.close()
    _wait_pcap_settled(pcap)
    tcpdump.stop()
    return peers, by_label, pcap


def _versions(case, daemon, by_label) -> set:
    """IP versions of the routes a daemon process carries."""
    out = set()
    for label, (d, _n) in by_label.items():
        if d is daemon:
            out.update(4 if f == scenario.IPV4 else 6 for f in case.session(label).families)
    return out


@pytest.mark.lab
@pytest.mark.parametrize("kind", list(scenario.CASES))
def test_capture(lab, kind):
    case = scenario.CASES[kind]
    cls = DAEMONS[kind]
    missing = cls.missing()
    if missing:
        pytest.skip(missing)
    if not tshark_available() or shutil.which("tcpdump") is None:
        pytest.skip("tshark and tcpdump are needed")
    started = time.monotonic()
    peers, by_label, pcap = run_scenario(lab, case)
    version = cls.version()

    problems = []
    stored = CaptureFile(kind, version, comments=[
        "Messages the daemon sent to the test peer, one per line, header included,",
        "recorded by tests/interop/test_captures.py (BGPD_UPDATE_CAPTURES=1).",
        *case.notes])
    exa = exabgp_python() is not None
    wireshark = tshark_directions(pcap)
    for s in case.sessions:
        peer = peers[s.label]
        codec = negotiated_codec(peer.local_open, peer.remote_open)
        ours = [wire_view(m, codec) for m in peer.received]

        # 1. Our codec: no problem, and what the scenario says.
        problems += [f"{s.label}: {p}" for p in scenario.check_session(case, s, ours)]

        # 2. Wireshark and 3. ExaBGP, message by message.
        theirs = wireshark.get((s.daemon_address, s.peer_address), [])
        exa_views = exabgp_views(peer.local_open_bytes, peer.received) if exa else None
        problems += [f"{s.label} {p}" for p in cross_check(ours, theirs, exa_views)]

        desc = (f"{'iBGP' if s.ibgp else 'eBGP'} AS {s.peer_as}, {s.daemon_address} -> "
                f"{s.peer_address}, " + " ".join(family_name(*f) for f in s.families))
        stored.sessions.append(StoredSession(s.label, desc, peer.local_open_bytes,
                                             list(peer.received)))

    assert not problems, f"{version}:\n" + "\n".join(problems)
    assert time.monotonic() - started < 60, "the scenario took over a minute"

    if os.environ.get("BGPD_UPDATE_CAPTURES"):
        stored.write(capture_path(kind))
        if kind == "bird2":
            stored.write(SAMPLE)
