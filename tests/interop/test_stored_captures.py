"""The stored sessions of the reference daemons, decoded offline.

``tests/interop/captures/<daemon>.hex`` hold what BIRD 1.6, BIRD 2, FRR,
GoBGP and ExaBGP really sent (recorded by ``test_captures.py``).  Without
root, namespaces or daemons, every message must decode with ``wire`` and
the sessions must hold what the scenario says (``scenario.check_session``):
OPEN with AS_TRANS and the 4-octet AS capability, the announced prefixes
with their MED, LOCAL_PREF (iBGP only), communities, AS path prepends and
next hops, an End-of-RIB per family, the withdrawals, and the Cease /
Administrative Shutdown NOTIFICATION with its RFC 9003 message.

The same messages, put back into a pcap, must read the same with
Wireshark's dissector and with ExaBGP's decoder.  ``bgpd decode`` must
decode each file as it is, and the README's sample
``conf/samples/session.hex`` is BIRD 2's capture.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import wire
from bgpd.decode import run as decode_run

from . import scenario
from .capture_file import CaptureFile, capture_path
from .compare import (cross_check, exabgp_python, exabgp_sessions, exabgp_views,
                      tshark_available, tshark_directions, wire_view, write_pcap)
from .peer import negotiated_codec

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "conf" / "samples" / "session.hex"
KINDS = list(scenario.CASES)


def _load(kind: str) -> CaptureFile:
    path = capture_path(kind)
    if not path.exists():
        pytest.fail(f"{path} is missing: run test_captures.py with BGPD_UPDATE_CAPTURES=1")
    return CaptureFile.read(path)


@pytest.mark.parametrize("kind", KINDS)
def test_capture_holds_the_scenario(kind):
    cap = _load(kind)
    case = scenario.CASES[kind]
    assert cap.kind == kind
    assert cap.version.split()[0] in ("BIRD", "FRR", "GoBGP", "ExaBGP"), cap.version
    assert [s.label for s in cap.sessions] == [s.label for s in case.sessions]
    problems = []
    for stored in cap.sessions:
        session = case.session(stored.label)
        sent = wire.decode_message(stored.sent_open)
        received = wire.decode_message(stored.messages[0])
        codec = negotiated_codec(sent, received)
        views = [wire_view(m, codec) for m in stored.messages]
        problems += [f"{stored.label}: {p}" for p in scenario.check_session(case, session, views)]
    assert not problems, f"{cap.version}:\n" + "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_capture_agrees_with_wireshark_and_exabgp(kind, tmp_path):
    """The stored messages, put back in a pcap of one TCP stream, read the
    same with Wireshark's BGP dissector, and with ExaBGP's decoder, as with
    ours (the lab test does this on the live capture too)."""
    tshark, exa = tshark_available(), exabgp_python() is not None
    if not (tshark or exa):
        pytest.skip("neither tshark nor exabgp is installed")
    cap = _load(kind)
    case = scenario.CASES[kind]
    sessions = [(stored, case.session(stored.label)) for stored in cap.sessions]
    wireshark = exa = None
    if tshark:
        pcap = write_pcap(tmp_path / f"{kind}.pcap", [
            (s.daemon_address, s.peer_address, stored.messages) for stored, s in sessions])
        wireshark = tshark_directions(pcap)
    if exa:
        exa = exabgp_sessions([(stored.sent_open, stored.messages) for stored, _ in sessions])
    problems = []
    for n, (stored, session) in enumerate(sessions):
        codec = negotiated_codec(wire.decode_message(stored.sent_open),
                                 wire.decode_message(stored.messages[0]))
        ours = [wire_view(m, codec) for m in stored.messages]
        theirs = None if wireshark is None else wireshark.get(
            (session.daemon_address, session.peer_address), [])
        problems += [f"{stored.label} {p}" for p in cross_check(
            ours, theirs, None if exa is None else exa[n])]
    assert not problems, f"{cap.version}:\n" + "\n".join(problems)


def test_cross_check_notices_a_difference(tmp_path):
    """The comparison is not vacuous: a MED changed in our view, a message
    missing from Wireshark's, are reported."""
    cap = _load("bird2")
    stored = cap.sessions[0]
    codec = negotiated_codec(wire.decode_message(stored.sent_open),
                             wire.decode_message(stored.messages[0]))
    ours = [wire_view(m, codec) for m in stored.messages]
    with_med = next(i for i, v in enumerate(ours) if v.get("med") is not None)
    tampered = [dict(v) for v in ours]
    tampered[with_med]["med"] += 1
    problems = cross_check(tampered, [dict(v) for v in ours], None)
    assert problems == [f"#{with_med} tshark med: {ours[with_med]['med'] + 1!r} != "
                        f"{ours[with_med]['med']!r}"]
    assert cross_check(ours, [dict(v) for v in ours[:-1]], None) == [
        f"tshark saw {len(ours) - 1} messages, we {len(ours)}"]
    if exabgp_python() is not None:
        problems = cross_check(tampered, None, exabgp_views(stored.sent_open, stored.messages))
        assert problems == [f"#{with_med} exabgp med: {ours[with_med]['med'] + 1!r} != "
                            f"{ours[with_med]['med']!r}"]


@pytest.mark.parametrize("kind", KINDS)
def test_bgpd_decode_reads_the_file(kind):
    """`bgpd decode --file` decodes every message, with no error."""
    cap = _load(kind)
    out = io.StringIO()
    lines = capture_path(kind).read_text().splitlines()
    assert decode_run(lines, out=out) == 0
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(objects) == sum(len(s.messages) for s in cap.sessions)
    # A malformed message shows as {"error": reason, "action": ...}.
    assert not [o for o in objects if "action" in o or "problems" in o]
    types = {o["type"] for o in objects}
    assert {"OPEN", "KEEPALIVE", "UPDATE", "NOTIFICATION"} <= types


def test_sample_is_the_bird2_capture():
    assert SAMPLE.read_text() == capture_path("bird2").read_text()


def test_readme_command():
    """`bgpd decode --file conf/samples/session.hex` prints readable JSON
    lines: the OPEN, the routes, the End-of-RIBs and the shutdown message.
    Run as a command, as the README shows it."""
    res = subprocess.run([sys.executable, "-m", "bgpd", "decode", "--file", str(SAMPLE)],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert res.returncode == 0, res.stderr
    objects = [json.loads(line) for line in res.stdout.splitlines()]
    assert objects[0]["type"] == "OPEN" and objects[0]["asn"] == scenario.DAEMON_AS
    announced = {p for o in objects for p in o.get("nlri", [])}
    announced |= {p for o in objects
                  for p in o.get("attributes", {}).get("MP_REACH_NLRI", {}).get("nlri", [])}
    assert {r.prefix for r in scenario.ROUTES} <= announced
    assert {"ipv4-unicast", "ipv6-unicast"} <= {o.get("end_of_rib") for o in objects}
    shutdowns = [o for o in objects if o["type"] == "NOTIFICATION"]
    assert shutdowns and all(o["shutdown_communication"] == scenario.SHUTDOWN_MESSAGE
                             for o in shutdowns)


def test_capture_file_round_trip():
    for kind in KINDS:
        text = capture_path(kind).read_text()
        assert CaptureFile.parse(text).text() == text
