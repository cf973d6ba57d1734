"""reflector: from Loc-RIB changes to the UPDATEs each peer is sent.
Pure: no I/O, no clock; the daemon drives it.

How it works
------------
Sessions that would be sent byte-identical UPDATEs share an *update group*
(``group``): same protocol-rule inputs (iBGP or eBGP, route-reflector
client, our AS on the session, next-hop mode and our address), same export
policy, same encoding (families, ASN width, add-path send, message size);
``params.group_key`` is that identity.  A group holds one Adj-RIB-Out per
family (``adjout``) and does the export work once for all its members.

A batch of ``rib.Change``s (``Rib.drain_changes``) goes to every group.
For each changed prefix the group runs the best path (every path, with
add-path) through its ``pipeline``:

1. the fixed protocol rules, a flat list of early returns (``rules``):
   RFC 1997 NO_ADVERTISE / NO_EXPORT / NO_EXPORT_SUBCONFED, RFC 4271 9.2
   iBGP split horizon with RFC 4456 reflection (client -> everyone,
   non-client -> clients, eBGP-learned and our own -> everyone);
2. the export policy (``rib.policy``; RFC 8212 defaults without one);
3. the attribute changes of the protocol (``transform``): our AS prepended
   towards eBGP (RFC 4271 5.1.2), NEXT_HOP (5.1.3: ours towards eBGP and
   for our own routes, unchanged towards iBGP unless configured), MED
   (5.1.4: not passed on to eBGP), LOCAL_PREF (5.1.5: added towards iBGP,
   never sent to eBGP), ORIGINATOR_ID and CLUSTER_LIST when reflecting
   (RFC 4456 section 8), stripped otherwise; written into the received
   attribute block (``rewrite``), encoded for the group's ASN width
   (RFC 6793: AS_TRANS and AS4_PATH for 2-octet peers).

Everything but the policy's prefix test is computed once per ``Path``
(source, attributes, next hop) and group.  The result is compared with
the Adj-RIB-Out: a route identical to the one sent is dropped, a prefix
never announced gets no withdrawal, and the prefix is marked pending.

When a member with nothing left to read asks for more, the group *seals*
its pending prefixes into one batch: withdrawals first, then announcements
packed by attribute block into as few UPDATEs as fit, encoded once
(``outqueue.Chunk``) and queued by reference for every member.  A route is
never sent back to the peer it came from: a member skips the runs of
messages about its own routes, and the few messages only it needs travel
with the batch (``personal``).  Between two reads a prefix is sent once,
in its latest state.

Flow control (``outqueue``): each member reads the shared batches at its
own pace.  One whose unread batches would pass ``max_backlog`` bytes drops
them and keeps only the generation it dropped from; when it has read the
rest, the group re-walks its Adj-RIB-Out for the prefixes changed since
(withdrawn ones are kept as tombstones while anybody may need them) and
queues their current state for it alone.  A stuck peer holds a bounded
amount of memory and never delays the others.

A new member reads a snapshot of the group's Adj-RIB-Out (shared by all
members that join before the next change), then End-of-RIB per family
(RFC 4724 section 2).  A route refresh queues the snapshot again, wrapped
in BoRR/EoRR with enhanced route refresh (RFC 7313).

Using it (the daemon)
---------------------
::

    exporter = Exporter(config.router_id, config.asn,
                        cluster_id=config.cluster_id,   # as given to Rib
                        rib=rib)

Session Established -- after ``rib.peer_up(info, ...)`` and after the RIB's
pending changes went out (``exporter.apply(rib.drain_changes())``, the
daemon's flush)::

    params = SessionParams(
        codec=session.codec,                  # the negotiated wire.UpdateCodec
        families=session.families,
        local_address=our_address_on_the_socket,
        next_hop=NextHop.SELF if peer.next_hop_self else NextHop.AUTO,
        export_policy=(policies.effective(peer).export_policy
                       if peer.export_policy else None),   # None: RFC 8212 defaults
    )
    exporter.peer_up(info, params)            # info: the PeerInfo given to the RIB
    -> wake the peer's writer

After every socket read, with the same batch the kernel layer gets::

    for name in exporter.apply(rib.drain_changes()):
        wake the writer of name

The writer of a peer, while ``session.can_send``::

    items = exporter.next_messages(name, max_bytes)   # [] when nothing is left
    bytes items          -> session.send_updates(now, [...]) (UPDATEs, End-of-RIB)
    wire.RouteRefresh    -> session.send_route_refresh(now, m.afi, m.safi, m.subtype)
                            (BoRR/EoRR; keep the order of the list)
    ``exporter.pending(name)`` says whether to wait for a wake-up instead.

Session down: ``exporter.peer_down(name)`` (the peer's routes leave
through ``apply`` like any change).  ROUTE-REFRESH received (subtype 0):
``exporter.refresh(name, family, enhanced=negotiated.enhanced_route_refresh)``
and wake the writer.  Export policy or next-hop option reloaded, or a
family disabled (RFC 7606): ``exporter.reconfigure(name, new_params)``.

For the operator: ``counts(name)`` (routes exported per family, ``show
protocols all``), ``exported(name, family)`` (``show route export NAME``:
key, attributes, next hop), ``explain(name, family, prefix)`` (why a
route is not exported), ``backlog(name)`` (unread bytes, falling behind),
``groups()`` and ``group_of(name)``.

RFCs: 4271 (3.2 Adj-RIB-Out, 5.1 attributes on export, 9.2 update-send
process), 4456 (route reflection), 1997 (well-known communities), 4724
(End-of-RIB), 2918 and 7313 (route refresh, BoRR/EoRR), 4760 (MP next
hop), 6793 (4-octet AS towards 2-octet peers), 7911 (add-path send: each
path of a prefix under the smallest identifier free for that prefix, kept
while the path lasts), 8212 (default export policy), 7606 (family
disable).
"""

from .exporter import ExportError, Exporter, candidates_from
from .group import UpdateGroup
from .params import SessionParams, self_next_hops
from .rules import NextHop, Target

__all__ = ["ExportError", "Exporter", "NextHop", "SessionParams", "Target", "UpdateGroup",
           "candidates_from", "self_next_hops"]
