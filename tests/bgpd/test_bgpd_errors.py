"""Peers that misbehave: one that goes silent (the hold timer expires,
RFC 4271 sections 6.5 and 8.2.2), one that never sends its OPEN, and one
that sends broken messages, each answered with the NOTIFICATION of RFC
4271 section 6 / RFC 7606 and recorded as the session's last error, while
the daemon keeps serving its other peers.  Malformations that RFC 7606
treats as withdraw keep the session up.

Scripted peers (``RawPeer``) on loopback; timers on trio's MockClock.
"""

from __future__ import annotations

import pytest
import trio

from bgpd_testlib import (PeerClosed, Solo, as_path, attribute, command, learned, message,
                          mock_clock, next_hop, origin, prefix, route_update, update_message,
                          wait_for, wait_state)
from wire.constants import MARKER, MessageType

DEADLINE = 900              # mock seconds
PEER_AS = 65002


def run(fn):
    trio.run(fn, clock=mock_clock())


def routes(daemon, protocol):
    return set(learned(daemon, protocol))


def test_hold_timer_expires_when_the_peer_goes_silent(lo, sockdir):
    addr = lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="quiet", address=addr, asn=PEER_AS,
                                         passive=True)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await solo.connect(addr, PEER_AS)
                try:
                    await peer.handshake(hold_time=9)       # negotiated: min(90, 9)
                    up_at = trio.current_time()
                    await wait_state(daemon, "quiet")
                    # Silence from here on; the daemon keeps sending
                    # KEEPALIVEs every third of the hold time ...
                    n = await peer.expect(MessageType.NOTIFICATION)
                    waited = trio.current_time() - up_at
                    # ... and gives up after the hold time.
                    assert (n.code, n.subcode) == (4, 0)
                    assert 9 <= waited < 10, waited
                    keepalives = sum(1 for t, _ in peer.received if t == MessageType.KEEPALIVE)
                    assert keepalives >= 3
                    with pytest.raises(PeerClosed):
                        await peer.next()
                finally:
                    await peer.aclose()
                [p] = await command(daemon, "show", "protocols", "all", "quiet")
                assert p["info"].endswith("  Sent: Hold timer expired")
                assert p["detail"]["last_error"] == "Sent: Hold timer expired"
                assert p["detail"]["last_notification_sent"] == "Sent: Hold timer expired"

    run(main)


def test_hold_timer_in_opensent_when_no_open_comes(lo, sockdir):
    addr = lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="mute", address=addr, asn=PEER_AS,
                                         passive=True)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await solo.connect(addr, PEER_AS)
                try:
                    await peer.expect(MessageType.OPEN)
                    start = trio.current_time()
                    n = await peer.expect(MessageType.NOTIFICATION)
                    # RFC 4271 8.2.2: the large hold time of OpenSent (4 minutes).
                    assert (n.code, n.subcode) == (4, 0)
                    assert 239 <= trio.current_time() - start <= 241
                finally:
                    await peer.aclose()
                [p] = await command(daemon, "show", "protocols", "mute")
                assert "Sent: Hold timer expired" in p["info"]

    run(main)


V4_ATTRS = origin() + as_path(PEER_AS)

# (id, bytes sent once Established, NOTIFICATION (code, subcode) expected)
RESETS = [
    ("marker not all ones", b"\x00" * 16 + b"\x00\x13\x04", (1, 1)),
    ("length below 19", MARKER + b"\x00\x12\x04", (1, 2)),
    ("unknown message type 7", MARKER + b"\x00\x13\x07", (1, 3)),
    ("KEEPALIVE with a body", message(MessageType.KEEPALIVE, b"\x00"), (1, 2)),
    ("withdrawn length past the end", message(MessageType.UPDATE, b"\x00\x10\x00\x00"), (3, 1)),
    ("total attribute length past the end",
     message(MessageType.UPDATE, b"\x00\x00\x00\x64" + V4_ATTRS), (3, 1)),
    ("NLRI prefix length 33", update_message(
        attrs=V4_ATTRS + next_hop("192.0.2.1"), nlri=b"\x21" + bytes(5)), (3, 10)),
    ("OPEN once Established", None, (5, 3)),        # FSM error (RFC 6608)
]


@pytest.mark.parametrize("data, expected", [r[1:] for r in RESETS], ids=[r[0] for r in RESETS])
def test_malformed_message_resets_only_that_session(lo, sockdir, data, expected):
    bad_addr, good_addr = lo.address(), lo.address()
    solo = Solo(lo, sockdir, peers=[
        dict(name="bad", address=bad_addr, asn=PEER_AS, passive=True),
        dict(name="good", address=good_addr, asn=PEER_AS, passive=True)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                bad = await solo.connect(bad_addr, PEER_AS, "10.9.9.1")
                good = await solo.connect(good_addr, PEER_AS, "10.9.9.2")
                try:
                    await bad.handshake()
                    await good.handshake()
                    await bad.send(route_update("10.1.0.0/24", PEER_AS, bad_addr))
                    await good.send(route_update("10.2.0.0/24", PEER_AS, good_addr))
                    await wait_for(lambda: routes(daemon, "bad") and routes(daemon, "good"),
                                   "a route from each")

                    payload = data if data is not None else bad.open_bytes()
                    await bad.send(payload)
                    n = await bad.expect(MessageType.NOTIFICATION)
                    assert (n.code, n.subcode) == expected
                    with pytest.raises(PeerClosed):
                        await bad.next()
                    session = daemon.peers["bad"].session
                    assert session.last_sent is not None
                    assert session.last_error is session.last_sent
                    [p] = await command(daemon, "show", "protocols", "bad")
                    assert p["info"].endswith("Sent: " + session.last_sent.text)
                    assert routes(daemon, "bad") == set()

                    # The other peer's session carries on: its route stays,
                    # a new one is taken, KEEPALIVEs still flow both ways.
                    assert daemon.peers["good"].session.state.name == "ESTABLISHED"
                    await good.send(route_update("10.3.0.0/24", PEER_AS, good_addr))
                    await wait_for(lambda: routes(daemon, "good") == {"10.2.0.0/24",
                                                                      "10.3.0.0/24"},
                                   "the good peer's routes")
                    for _ in range(4):
                        await good.send_keepalive()
                        await good.expect(MessageType.KEEPALIVE)
                    assert daemon.peers["good"].session.state.name == "ESTABLISHED"
                    assert daemon.peers["good"].session.counters.session_downs == 0
                finally:
                    await bad.aclose()
                    await good.aclose()

    run(main)


# RFC 7606: malformations the session survives; the UPDATE's routes are
# withdrawn (treat-as-withdraw) or the bad attribute dropped.
WITHDRAWS = [
    ("ORIGIN value 5", origin(5) + as_path(PEER_AS) + next_hop("192.0.2.1")),
    ("NEXT_HOP missing", origin() + as_path(PEER_AS)),
    ("AS_PATH segment overrun", origin() + attribute(0x40, 2, bytes([2, 3]) + bytes(4))
     + next_hop("192.0.2.1")),
    # RFC 7606 section 4: the Total Path Attribute Length still finds the NLRI.
    ("last attribute overruns the attribute field",
     origin() + as_path(PEER_AS) + bytes([0x40, 3, 40]) + bytes(4)),
]


@pytest.mark.parametrize("attrs", [r[1] for r in WITHDRAWS], ids=[r[0] for r in WITHDRAWS])
def test_treat_as_withdraw_keeps_the_session(lo, sockdir, attrs):
    addr = lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="p", address=addr, asn=PEER_AS, passive=True)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await solo.connect(addr, PEER_AS)
                try:
                    await peer.handshake()
                    await peer.send(route_update("10.1.0.0/24", PEER_AS, addr))
                    await wait_for(lambda: routes(daemon, "p") == {"10.1.0.0/24"}, "route")
                    await peer.send(update_message(attrs=attrs, nlri=prefix("10.1.0.0/24")))
                    await wait_for(lambda: routes(daemon, "p") == set(), "the route withdrawn")
                    assert daemon.log_lines.grep("malformed UPDATE, treat-as-withdraw")
                    await peer.send_keepalive()
                    await trio.sleep(40)
                    assert daemon.peers["p"].session.state.name == "ESTABLISHED"
                    assert not any(t == MessageType.NOTIFICATION for t, _ in peer.received)
                finally:
                    await peer.aclose()

    run(main)
