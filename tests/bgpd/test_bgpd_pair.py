"""Two daemons peering over loopback in one trio run: the session comes
up, each learns the other's originated prefixes (IPv4, and IPv6 over the
IPv4 session, RFC 4760) with the right AS path and next hop, ``show
protocols all`` carries what was negotiated, and the operator's commands
``disable`` (with an RFC 9003 shutdown communication), ``enable`` and
``restart`` act on the session as BIRD's do.

Timers run on trio's MockClock (autojump), so the idle hold and connect
retry waits of a reconnection cost no real time.
"""

from __future__ import annotations

import ipaddress

import pytest
import trio

from bgpd_testlib import Pair, command, learned, mock_clock, wait_for, wait_state

DEADLINE = 600          # mock seconds; the clock jumps, so this is quick


def run(fn):
    trio.run(fn, clock=mock_clock())


async def wait_routes(daemon, protocol, prefixes):
    await wait_for(lambda: set(learned(daemon, protocol)) >= set(prefixes),
                   f"routes {prefixes} from {protocol}")


def test_prefixes_exchanged_both_families(lo, sockdir):
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_routes(a, "b", ["10.2.0.0/24", "2001:db8:2::/48"])
                await wait_routes(b, "a", ["10.1.0.0/24", "2001:db8:1::/48"])

                on_a = {r["prefix"]: r for r in await command(a, "show", "route", "protocol", "b")}
                assert set(on_a) == {"10.2.0.0/24", "2001:db8:2::/48"}
                assert on_a["10.2.0.0/24"]["via"] == pair.b_address
                assert on_a["10.2.0.0/24"]["as_path"] == "65002"
                assert on_a["10.2.0.0/24"]["origin"] == "i"
                assert on_a["10.2.0.0/24"]["protocol"] == "b"
                # No next_hop configured: B's session address, IPv4-mapped.
                assert ipaddress.ip_address(on_a["2001:db8:2::/48"]["via"]) == \
                    ipaddress.ip_address(f"::ffff:{pair.b_address}")
                assert on_a["2001:db8:2::/48"]["as_path"] == "65002"

                on_b = {r["prefix"]: r for r in await command(b, "show", "route", "protocol", "a")}
                assert set(on_b) == {"10.1.0.0/24", "2001:db8:1::/48"}
                assert on_b["10.1.0.0/24"]["via"] == pair.a_address
                assert on_b["10.1.0.0/24"]["as_path"] == "65001"
                assert on_b["2001:db8:1::/48"]["via"] == Pair.A_V6_NEXT_HOP
                assert on_b["2001:db8:1::/48"]["as_path"] == "65001"
                assert all(r["flags"] == ["best"] for r in [*on_a.values(), *on_b.values()])
                # Our own prefixes are in use too, as static routes.
                mine = {r["prefix"] for r in await command(a, "show", "route")
                        if r["protocol"] == "static"}
                assert mine == {"10.1.0.0/24", "2001:db8:1::/48"}

                count = await command(b, "show", "route", "protocol", "a", "count")
                assert count == {"count": 2, "total": 2, "prefixes": 2}

    run(main)


def test_show_protocols_all_negotiated_and_counters(lo, sockdir):
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_routes(a, "b", ["10.2.0.0/24", "2001:db8:2::/48"])
                [summary] = await command(a, "show", "protocols")
                assert summary["name"] == "b" and summary["state"] == "Established"
                assert summary["state_short"] == "up" and summary["info"] == "Established"

                [p] = await command(a, "show", "protocols", "all", "b")
                d = p["detail"]
                assert d["neighbor_address"] == pair.b_address
                assert d["neighbor_as"] == 65002 and d["local_as"] == 65001
                assert d["type"] == "eBGP"
                assert d["source_address"] == pair.a_address
                n = d["negotiated"]
                assert n["peer_as"] == 65002 and n["peer_id"] == "10.0.0.2"
                assert n["hold_time"] == 90 and n["keepalive_time"] == 30
                assert n["families"] == ["ipv4-unicast", "ipv6-unicast"]
                assert n["four_octet_as"] and n["route_refresh"] and n["enhanced_route_refresh"]
                assert n["extended_message"] and n["graceful_restart"]
                assert set(d["timers"]) == {"hold", "keepalive"}
                m = d["messages"]
                assert m["messages_in"]["OPEN"] == 1 and m["messages_out"]["OPEN"] >= 1
                assert m["messages_in"]["KEEPALIVE"] >= 1
                # Two UPDATEs of routes and an End-of-RIB per family, each way.
                assert m["updates_in"] == 4 and m["updates_out"] == 4
                assert m["established_transitions"] == 1 and m["session_downs"] == 0
                assert set(d["routes"]) == {"ipv4-unicast", "ipv6-unicast"}
                for family in d["routes"].values():
                    assert family["accepted"] == 1 and family["stale"] == 0
                status = await command(a, "show", "status")
                assert status["peers"] == 1 and status["peers_established"] == 1
                assert status["router_id"] == "10.0.0.1" and status["asn"] == 65001

    run(main)


# As in Calico's node-to-node mesh, one side of the pair is passive: B waits
# for A.  (Both sides active: see test_both_active_recover_after_disable.)
PASSIVE_B = {"b_peer": {"passive": True}}


def test_disable_sends_shutdown_communication_and_enable_restores(lo, sockdir):
    pair = Pair(lo, sockdir, **PASSIVE_B)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_routes(b, "a", ["10.1.0.0/24"])

                assert await command(a, "disable", "b", "maintenance") == "b: disabled"
                await wait_state(b, "a", "IDLE")
                text = 'Cease / Hard reset: Cease / Administrative shutdown: "maintenance"'
                [seen] = await command(b, "show", "protocols", "a")
                assert seen["state"] == "Idle" and text in seen["info"]
                assert seen["info"].startswith("Idle  Received: ")
                [p] = await command(b, "show", "protocols", "all", "a")
                assert p["detail"]["last_notification_received"] == f"Received: {text}"
                assert p["detail"]["last_error"] == f"Received: {text}"
                # The peer's routes go with the session (a Hard Reset ends
                # graceful restart, RFC 8538).
                await wait_for(lambda: not learned(b, "a"), "routes from a withdrawn")

                [mine] = await command(a, "show", "protocols", "b")
                assert mine["state"] == "Idle" and mine["state_short"] == "down"
                assert f"Sent: {text}" in mine["info"]
                await trio.sleep(30)
                assert a.peers["b"].session.state.name == "IDLE", "a disabled session stays down"

                assert await command(a, "enable", "b") == "b: enabled"
                await pair.established(a, b)
                await wait_routes(b, "a", ["10.1.0.0/24", "2001:db8:1::/48"])
                await wait_routes(a, "b", ["10.2.0.0/24", "2001:db8:2::/48"])
                [mine] = await command(a, "show", "protocols", "b")
                assert mine["state_short"] == "up"

    run(main)


def test_restart_sends_administrative_reset_and_comes_back(lo, sockdir):
    pair = Pair(lo, sockdir, **PASSIVE_B)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                session_b = b.peers["a"].session
                assert await command(a, "restart", "b", "new policy") == "b: restarted"
                await wait_for(lambda: session_b.counters.session_downs == 1, "b to see it")
                assert session_b.last_received.text == \
                    'Cease / Hard reset: Cease / Administrative reset: "new policy"'
                await pair.established(a, b)
                assert session_b.counters.established_transitions == 2
                assert a.peers["b"].session.counters.established_transitions == 2
                await wait_routes(b, "a", ["10.1.0.0/24", "2001:db8:1::/48"])
                await wait_routes(a, "b", ["10.2.0.0/24", "2001:db8:2::/48"])

    run(main)


def test_reload_in_and_out(lo, sockdir):
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_routes(b, "a", ["10.1.0.0/24", "2001:db8:1::/48"])
                sb = b.peers["a"].session
                before = sb.counters.updates_in
                # A asks B for its routes: enhanced route refresh (RFC 7313)
                # answers with BoRR, the routes, EoRR.
                said = await command(a, "reload", "in", "b")
                assert said == "b: route refresh requested for ipv4-unicast, ipv6-unicast"
                sa = a.peers["b"].session
                await wait_for(lambda: sa.counters.messages_in[5] == 4, "BoRR and EoRR x2")
                assert sb.counters.messages_in[5] == 2
                # A sends its routes again on its own: one UPDATE per family,
                # between BoRR and EoRR.
                assert await command(a, "reload", "out", "b") == "b: routes sent again"
                await wait_for(lambda: sb.counters.updates_in == before + 2, "routes again")
                assert set(learned(b, "a")) == {"10.1.0.0/24", "2001:db8:1::/48"}

    run(main)


def test_both_active_recover_after_disable(lo, sockdir):
    """Both sides dial: the one still in its idle hold takes the other's
    connection instead of refusing it, so they meet again."""
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await command(a, "disable", "b", "maintenance")
                await wait_state(b, "a", "IDLE")
                await command(a, "enable", "b")
                await pair.established(a, b, timeout=120)

    run(main)


def test_show_route_export(lo, sockdir):
    """What A sends B (its Adj-RIB-Out, eBGP: our AS prepended, next hop
    ours), and why a route is not sent."""
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)
                await wait_routes(b, "a", ["10.1.0.0/24", "2001:db8:1::/48"])
                rows = {r["prefix"]: r for r in await command(a, "show", "route", "export", "b")}
                assert set(rows) == {"10.1.0.0/24", "2001:db8:1::/48"}
                assert rows["10.1.0.0/24"]["as_path"] == "65001"
                assert rows["10.1.0.0/24"]["via"] == pair.a_address
                count = await command(a, "show", "route", "export", "b", "count")
                assert count["count"] == 2
                one = await command(a, "show", "route", "10.1.0.0/24", "export", "b")
                assert [r["prefix"] for r in one] == ["10.1.0.0/24"]
                # B's own route is not sent back to it.
                with pytest.raises(Exception, match="learned from this peer"):
                    await command(a, "show", "route", "10.2.0.0/24", "export", "b")

    run(main)
