"""TCP MD5 signatures (RFC 2385) on loopback: the kernel checks them before
a connection is accepted, so the daemon installs each key on its listener
(per peer address, or per prefix for a dynamic neighbor range) and on the
sockets it dials.  A peer with the key gets a session; one without (or
with another key) never gets past the SYN.  No root needed: TCP_MD5SIG
is an ordinary socket option.
"""

from __future__ import annotations

import trio

from bgpd_testlib import Pair, Solo, mock_clock, wait_state

DEADLINE = 600              # mock seconds
PEER_AS = 65002
KEY = "s3cret key"


def run(fn):
    trio.run(fn, clock=mock_clock())


async def refused_at_syn(solo, addr, password):
    """The kernel drops the SYN: the connect never completes."""
    with trio.move_on_after(5) as cancel:
        peer = await solo.connect(addr, PEER_AS, password=password)
        await peer.aclose()
    return cancel.cancelled_caught


def test_configured_peer_with_a_password(lo, sockdir):
    addr = lo.address()
    solo = Solo(lo, sockdir, peers=[dict(name="p", address=addr, asn=PEER_AS, passive=True,
                                         password=KEY)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                assert await refused_at_syn(solo, addr, None)
                assert await refused_at_syn(solo, addr, "another key")
                peer = await solo.connect(addr, PEER_AS, password=KEY)
                try:
                    await peer.handshake()
                    await wait_state(daemon, "p")
                finally:
                    await peer.aclose()

    run(main)


def test_dynamic_neighbor_range_with_a_password(lo, sockdir):
    solo = Solo(lo, sockdir, dynamic_neighbors=[
        dict(name="nodes", prefix=f"{lo.prefix}.128/25", asn=PEER_AS, password=KEY)])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                assert await refused_at_syn(solo, lo.host(140), None)
                for n in (141, 250):
                    peer = await solo.connect(lo.host(n), PEER_AS, password=KEY)
                    try:
                        await peer.handshake()
                        await wait_state(daemon, f"nodes_{lo.host(n).replace('.', '_')}")
                    finally:
                        await peer.aclose()

    run(main)


def test_two_daemons_with_a_password(lo, sockdir):
    # A dials (its key on the connecting socket), B listens (its key on
    # the listener).
    pair = Pair(lo, sockdir, a_peer={"password": KEY}, b_peer={"password": KEY, "passive": True})

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                await pair.established(a, b)

    run(main)
