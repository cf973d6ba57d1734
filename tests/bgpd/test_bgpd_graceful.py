"""Graceful restart, the receiving side (RFC 4724 section 4.2): when a
peer that advertised the capability loses its session without a
NOTIFICATION, its routes are kept, marked stale; if it comes back they
are refreshed and its End-of-RIB removes those it did not send again; if
it does not come back within its Restart Time, they are deleted.  An
operator's ``disable`` deletes them at once.

Scripted peers on loopback; timers on trio's MockClock.
"""

from __future__ import annotations

import trio

import wire
from wire.capabilities import GracefulRestart
from bgpd_testlib import (Solo, candidates, capabilities, command, mock_clock, route_update,
                          wait_for, wait_state)

DEADLINE = 900
PEER_AS = 65002
RESTART_TIME = 120          # what bgpd_testlib.capabilities advertises


def run(fn):
    trio.run(fn, clock=mock_clock())


def shown(daemon, prefixes=("10.1.0.0/24", "10.2.0.0/24")):
    """prefix -> ["stale"] or [] for the peer's routes of ``prefixes``."""
    return {row["prefix"]: [f for f in row["flags"] if f == "stale"]
            for p in prefixes for row in candidates(daemon, p) if row["protocol"] == "gr"}


async def session_with_routes(solo, addr, daemon, nets):
    peer = await solo.connect(addr, PEER_AS)
    await peer.handshake(caps=capabilities(PEER_AS, graceful_restart=True))
    for net in nets:
        await peer.send(route_update(net, PEER_AS, addr))
    await peer.send(wire.end_of_rib())
    await wait_state(daemon, "gr")
    return peer


def solo_with_gr_peer(lo, sockdir):
    addr = lo.address()
    return addr, Solo(lo, sockdir, peers=[dict(name="gr", address=addr, asn=PEER_AS,
                                               passive=True)])


def test_stale_routes_refreshed_by_the_returning_peer(lo, sockdir):
    addr, solo = solo_with_gr_peer(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await session_with_routes(solo, addr, daemon, ["10.1.0.0/24",
                                                                      "10.2.0.0/24"])
                await wait_for(lambda: len(shown(daemon)) == 2, "two routes")
                await peer.aclose()                 # no NOTIFICATION: a restart
                await wait_for(lambda: shown(daemon) == {"10.1.0.0/24": ["stale"],
                                                         "10.2.0.0/24": ["stale"]},
                               "routes kept as stale")
                await trio.sleep(RESTART_TIME / 2)
                peer = await session_with_routes(solo, addr, daemon, ["10.2.0.0/24"])
                try:
                    await wait_for(lambda: shown(daemon) == {"10.2.0.0/24": []},
                                   "End-of-RIB to sweep what was not sent again")
                    # The old session's restart time passing changes nothing.
                    await peer.stay_up(RESTART_TIME)
                    assert shown(daemon) == {"10.2.0.0/24": []}
                finally:
                    await peer.aclose()

    run(main)


def test_stale_routes_deleted_after_the_restart_time(lo, sockdir):
    addr, solo = solo_with_gr_peer(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await session_with_routes(solo, addr, daemon, ["10.1.0.0/24"])
                await wait_for(lambda: shown(daemon), "the route")
                await peer.aclose()
                await wait_for(lambda: shown(daemon) == {"10.1.0.0/24": ["stale"]}, "stale")
                down_at = trio.current_time()
                await wait_for(lambda: not shown(daemon), "stale routes deleted",
                               timeout=RESTART_TIME + 10)
                assert trio.current_time() - down_at >= RESTART_TIME - 1

    run(main)


def test_stale_routes_of_a_peer_back_without_end_of_rib_go_after_stale_path_time(lo, sockdir):
    from bgpd.peer import STALE_PATH_TIME
    addr, solo = solo_with_gr_peer(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await session_with_routes(solo, addr, daemon, ["10.1.0.0/24",
                                                                      "10.2.0.0/24"])
                await wait_for(lambda: len(shown(daemon)) == 2, "two routes")
                await peer.aclose()
                await wait_for(lambda: shown(daemon) == {"10.1.0.0/24": ["stale"],
                                                         "10.2.0.0/24": ["stale"]}, "stale")
                down_at = trio.current_time()
                # Back with its forwarding state (R and F bits), re-sends one
                # route, never sends End-of-RIB.
                peer = await solo.connect(addr, PEER_AS)
                caps = capabilities(PEER_AS)
                caps += (GracefulRestart(RESTART_TIME, True, True, ((1, 1, True),)),)
                try:
                    await peer.handshake(caps=caps)
                    await peer.send(route_update("10.2.0.0/24", PEER_AS, addr))
                    await wait_for(lambda: shown(daemon).get("10.2.0.0/24") == [], "refreshed")
                    await peer.stay_up(RESTART_TIME + 10)
                    assert shown(daemon)["10.1.0.0/24"] == ["stale"]    # still waiting
                    # The session stays up (keepalives) past the stale-path time.
                    await peer.stay_up(STALE_PATH_TIME - RESTART_TIME)
                    assert shown(daemon) == {"10.2.0.0/24": []}
                    assert trio.current_time() - down_at >= STALE_PATH_TIME - 1
                    assert daemon.log_lines.grep("no End-of-RIB")
                finally:
                    await peer.aclose()

    run(main)


def test_disable_deletes_stale_routes(lo, sockdir):
    addr, solo = solo_with_gr_peer(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                peer = await session_with_routes(solo, addr, daemon, ["10.1.0.0/24"])
                await wait_for(lambda: shown(daemon), "the route")
                await peer.aclose()
                await wait_for(lambda: shown(daemon) == {"10.1.0.0/24": ["stale"]}, "stale")
                await command(daemon, "disable", "gr")
                assert shown(daemon) == {}

    run(main)
