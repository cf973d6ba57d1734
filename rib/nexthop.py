"""Next-hop state: is a BGP next hop reachable, and at what IGP cost?

RFC 4271 9.1.2 excludes a route whose NEXT_HOP cannot be resolved, and
9.1.2.2 e prefers the lowest interior cost to it.  The answer comes from a
*resolver*, a callable ``resolver(next_hop) -> (reachable, igp_cost)`` that
the kernel layer provides (the next hop is given as on the wire: 4, 16 or
32 octets, the last being a global and a link-local IPv6 address).  The
default resolver finds every next hop reachable at cost 0, which is right
for directly connected peers and for a route reflector that does not
forward.

The resolver is asked once per distinct next hop, not once per route; when
the kernel layer learns that reachability changed it calls
``Rib.next_hops_changed`` and the answers are asked for again.
"""

from __future__ import annotations


def always_reachable(next_hop: bytes) -> tuple[bool, int]:
    """The default resolver: every next hop is reachable, at cost 0."""
    return True, 0


class NextHops:
    """The answers of a resolver, cached per next hop."""

    __slots__ = ("resolver", "_state", "known_state")

    def __init__(self, resolver=None):
        self.resolver = resolver or always_reachable
        self._state: dict[bytes, tuple[bool, int]] = {}
        self.known_state = self._state.get      # the cached answer or None, fast

    def state(self, next_hop: bytes) -> tuple[bool, int]:
        s = self._state.get(next_hop)
        if s is None:
            reachable, cost = self.resolver(next_hop)
            s = self._state[next_hop] = (bool(reachable), int(cost))
        return s

    def reachable(self, next_hop: bytes) -> bool:
        return self.state(next_hop)[0]

    def cost(self, next_hop: bytes) -> int:
        return self.state(next_hop)[1]

    def forget(self, next_hops=None) -> None:
        """Ask again for these next hops (all when None)."""
        if next_hops is None:
            self._state.clear()
        else:
            for nh in next_hops:
                self._state.pop(nh, None)

    def known(self) -> dict:
        return dict(self._state)
