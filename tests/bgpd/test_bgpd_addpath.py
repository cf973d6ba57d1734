"""Add-path send (RFC 7911) through the daemon: a peer that negotiated it is
offered every eligible candidate of a prefix under a path identifier of
its own, also a candidate that arrives behind the best one without
changing the selection, and is told by identifier when one leaves.

Scripted peers on loopback (C1 and C2 announce the same prefix, R receives
with add-path); timers on trio's MockClock.
"""

from __future__ import annotations

import trio

from bgpd_testlib import (Loopback, Solo, capabilities, mock_clock, prefix, route_update,
                          update_message, wait_for)
from wire.capabilities import AddPath
from wire.constants import MessageType
from wire.update import UpdateCodec

DEADLINE = 600
NET = "10.9.0.0/24"
KEY = bytes([24, 10, 9, 0])


def test_every_candidate_reaches_an_add_path_peer(sockdir):
    lo = Loopback()
    c1, c2, r = lo.address(), lo.address(), lo.address()
    solo = Solo(lo, sockdir, peers=[
        dict(name="c1", address=c1, asn=65002, passive=True),
        dict(name="c2", address=c2, asn=65003, passive=True),
        dict(name="r", address=r, asn=65004, passive=True, add_path="send")])

    async def main():
        with trio.fail_after(DEADLINE):
            async with solo.running() as daemon:
                p1 = await solo.connect(c1, 65002, bgp_id="10.9.9.1")
                await p1.handshake()
                await p1.send(route_update(NET, 65002, c1))
                await wait_for(lambda: daemon.routes.rib.get((1, 1), KEY) is not None, "C1's")
                pr = await solo.connect(r, 65004, bgp_id="10.9.9.4")
                pr.codec = UpdateCodec(True, add_path_rx={(1, 1)})
                await pr.handshake(caps=capabilities(65004) + (AddPath(((1, 1, 1),)),))
                paths: dict = {}            # path id -> AS path of the route

                async def read_until(done):
                    while not done():
                        m = await pr.next()
                        if m.type != MessageType.UPDATE:
                            continue
                        for pid, key in m.withdrawn:
                            paths.pop(pid, None)
                        for pid, key in m.nlri:
                            assert key == KEY
                            paths[pid] = m.attrs.as_path

                await read_until(lambda: len(paths) == 1)
                # C2's route loses to C1's (higher BGP identifier): the
                # selection stays, yet R is offered it under a second id.
                p2 = await solo.connect(c2, 65003, bgp_id="10.9.9.2")
                await p2.handshake()
                await p2.send(route_update(NET, 65003, c2))
                await read_until(lambda: len(paths) == 2)
                assert sorted(p[0][1] for p in paths.values()) == [(65001, 65002),
                                                                    (65001, 65003)]
                assert daemon.routes.rib.get((1, 1), KEY).best.source.name == "c1"
                # C2 withdraws: R is told by identifier, C1's path stays.
                await p2.send(update_message(withdrawn=prefix(NET)))
                await read_until(lambda: len(paths) == 1)
                assert [p[0][1] for p in paths.values()] == [(65001, 65002)]
                for p in (p1, p2, pr):
                    await p.aclose()

    trio.run(main, clock=mock_clock())
