"""Connection collision resolution (RFC 4271 section 6.8, RFC 6286 section 2.3).

When both speakers dial at once there are two TCP connections for one
session.  As soon as the peer's BGP Identifier is known (its OPEN arrives on
one of them), the connection initiated by the speaker with the higher
identifier survives and the other is closed with Cease / Connection
Collision Resolution.  Identifiers compare as unsigned 32-bit numbers; when
they are equal (possible between ASes since RFC 6286), the speaker with the
larger AS number wins.

Both speakers apply the same rule to the same numbers, so they agree on the
survivor without talking about it.
"""

from __future__ import annotations


def we_win(local_id: int, local_as: int, peer_id: int, peer_as: int) -> bool:
    """True when the connection *we* initiated is the one to keep."""
    if local_id != peer_id:
        return local_id > peer_id
    return local_as > peer_as


def keep_new(new_outgoing: bool, old_outgoing: bool, local_id: int, local_as: int,
             peer_id: int, peer_as: int) -> bool:
    """Should the connection that just received the peer's OPEN (``new``)
    survive, rather than the other one (``old``)?

    Two connections in the same direction do not arise between two speakers
    following RFC 4271; when they do (a peer that reconnects before we saw
    its old connection close), the newer one is the live one.
    """
    if new_outgoing == old_outgoing:
        return True
    winner_outgoing = we_win(local_id, local_as, peer_id, peer_as)
    return new_outgoing == winner_outgoing
