"""Who may connect: a connection from an address that is neither a
configured peer nor inside a dynamic neighbor range is closed at once and
logged; a disabled peer's connection is refused with Cease / Connection
Rejected (RFC 4486); a dynamic neighbor range accepts any address in its
prefix, each as a session of its own named after the address, checks the
peer's AS, and keeps one session per address across reconnections.
"""

from __future__ import annotations

import pytest
import trio

from bgpd_testlib import PeerClosed, Solo, command, learned, mock_clock, route_update, \
    wait_for, wait_state
from wire.constants import MessageType

DEADLINE = 600              # mock seconds


def run(fn):
    trio.run(fn, clock=mock_clock())


def test_unknown_address_refused_and_logged(lo, sockdir):
    known, stranger = lo.address(), lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="known", address=known, asn=65002,
                                         passive=True)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await solo.connect(stranger, asn=65002)
                try:
                    await peer.send_open()
                    with pytest.raises(PeerClosed):
                        await peer.next()       # closed without a word
                    assert peer.received == []
                finally:
                    await peer.aclose()
                assert daemon.log_lines.grep(
                    f"WARNING connection from {stranger} refused: not a configured peer")
                assert set(daemon.peers) == {"known"}
                # The configured peer is unaffected and still welcome.
                peer = await solo.connect(known, asn=65002)
                try:
                    await peer.handshake()
                    await wait_state(daemon, "known")
                finally:
                    await peer.aclose()

    run(main)


def test_disabled_peer_rejected_with_cease(lo, sockdir):
    off = lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="off", address=off, asn=65002, enabled=False)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                [p] = await command(daemon, "show", "protocols")
                assert p["state_short"] == "down" and p["info"] == "Disabled"
                peer = await solo.connect(off, asn=65002)
                try:
                    n = await peer.expect(MessageType.NOTIFICATION)
                    assert (n.code, n.subcode) == (6, 5)        # Connection Rejected
                    with pytest.raises(PeerClosed):
                        await peer.next()
                finally:
                    await peer.aclose()
                assert daemon.peers["off"].session.state.name == "IDLE"

    run(main)


def test_dynamic_neighbors_accept_their_prefix_only(lo, sockdir):
    solo = Solo(lo, sockdir, dynamic_neighbors=[
        dict(name="nodes", prefix=f"{lo.prefix}.128/25", asn=65002,
             **{"import": "accept-all", "export": "accept-all"})])
    inside = [lo.host(129), lo.host(200), lo.host(254)]
    outside = lo.host(100)

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peers = []
                try:
                    for i, addr in enumerate(inside):
                        peer = await solo.connect(addr, asn=65002, bgp_id=f"10.9.9.{i + 1}")
                        peers.append(peer)
                        await peer.handshake()
                        await peer.send(route_update(f"10.{i + 1}.0.0/24", 65002, addr))
                    names = {f"nodes_{a.replace('.', '_')}" for a in inside}
                    for name in names:
                        await wait_state(daemon, name)
                    assert set(daemon.peers) == names
                    rows = await command(daemon, "show", "protocols")
                    assert {r["name"] for r in rows} == names
                    assert all(r["state"] == "Established" for r in rows)
                    await wait_for(lambda: len(learned(daemon)) == 3, "a route from each")
                    [p] = await command(daemon, "show", "protocols", "all", sorted(names)[0])
                    assert p["detail"]["passive"] is True

                    stranger = await solo.connect(outside, asn=65002)
                    with pytest.raises(PeerClosed):
                        await stranger.next()
                    await stranger.aclose()
                    assert daemon.log_lines.grep(f"connection from {outside} refused")
                    assert len(daemon.peers) == 3
                finally:
                    for peer in peers:
                        await peer.aclose()

    run(main)


def test_dynamic_neighbor_checks_as_and_reconnects_into_the_same_session(lo, sockdir):
    solo = Solo(lo, sockdir, dynamic_neighbors=[
        dict(name="nodes", prefix=f"{lo.prefix}.128/25", asn=65002,
             **{"import": "accept-all", "export": "accept-all"})])
    addr = lo.host(130)
    name = f"nodes_{addr.replace('.', '_')}"

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await solo.connect(addr, asn=65099)      # not the range's AS
                try:
                    await peer.send_open()
                    n = await peer.expect(MessageType.NOTIFICATION, skip=(MessageType.OPEN,))
                    assert (n.code, n.subcode) == (2, 2)        # OPEN error / Bad peer AS
                finally:
                    await peer.aclose()
                task = daemon.peers[name]
                assert "Bad peer AS" in task.session.last_error.text
                # The session waits out its idle hold, then takes the peer
                # back; a reconnection uses the same session, not a new one.
                for round in range(3):
                    await wait_state(daemon, name, "ACTIVE")
                    peer = await solo.connect(addr, asn=65002)
                    try:
                        await peer.handshake()
                        await wait_state(daemon, name)
                    finally:
                        await peer.aclose()
                    assert daemon.peers[name] is task and len(daemon.peers) == 1
                assert task.session.counters.established_transitions == 3

    run(main)


def test_dynamic_connections_in_quick_succession(lo, sockdir):
    """Many new addresses at once: each new session's task must be running
    before its first connection is handed to it."""
    solo = Solo(lo, sockdir, dynamic_neighbors=[
        dict(name="nodes", prefix=f"{lo.prefix}.128/25", asn=65002,
             **{"import": "accept-all", "export": "accept-all"})])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                opens = []

                async def one(n):
                    peer = await solo.connect(lo.host(128 + n), asn=65002)
                    try:
                        opens.append(await peer.expect(MessageType.OPEN))
                    finally:
                        await peer.aclose()

                async with trio.open_nursery() as nursery:
                    for n in range(1, 41):
                        nursery.start_soon(one, n)
                assert len(opens) == 40 and len(daemon.peers) == 40

    run(main)
