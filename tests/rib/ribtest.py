"""Builders shared by the RIB tests: peers, attribute sets and UPDATEs.

UPDATEs are built as ``wire.Update`` objects the way ``UpdateCodec.decode``
returns them (IPv4 in the body with NEXT_HOP in the attributes, other
families in MP_REACH/MP_UNREACH); ``encoded`` sends them through the real
codec for the tests that want the whole receive path.
"""

from __future__ import annotations

import ipaddress

from rib import PeerInfo, Rib
from rib.adjin import AdjRibIn
from rib.path import Path, make_path
from wire import Framer, MpReach, MpUnreach, Update, UpdateCodec, make_attributes
from wire.nlri import parse

V4 = (1, 1)
V6 = (2, 1)
LOCAL_AS = 64512
ROUTER_ID = "10.255.0.1"


def key(text: str) -> bytes:
    return parse(text)[1]


def nh(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def peer(name: str, address: str, asn: int = 65001, *, bgp_id=None, local_asn: int = LOCAL_AS,
         **kw) -> PeerInfo:
    return PeerInfo(name, address, asn, local_asn, bgp_id or address, **kw)


def attrs(*path, next_hop=None, **fields):
    """An attribute set: ``path`` is the AS_SEQUENCE (empty for iBGP-internal),
    ORIGIN IGP unless given."""
    fields.setdefault("origin", 0)
    if "as_path" not in fields:
        fields["as_path"] = ((2, tuple(path)),) if path else ()
    if next_hop is not None:
        fields["next_hop"] = nh(next_hop) if isinstance(next_hop, str) else next_hop
    return make_attributes(**fields)


def announce(prefixes, a) -> Update:
    return Update((), a, [key(p) for p in prefixes])


def withdraw(prefixes) -> Update:
    return Update([key(p) for p in prefixes], None, ())


def announce6(prefixes, a, next_hop: str) -> Update:
    return Update((), a, (), MpReach(2, 1, nh(next_hop), [key(p) for p in prefixes]))


def withdraw6(prefixes) -> Update:
    return Update((), None, (), None, MpUnreach(2, 1, [key(p) for p in prefixes]))


def encoded(a, prefixes=(), withdrawn=(), family=V4, next_hop=b"", codec=None) -> list[Update]:
    """The UPDATEs as the session would hand them over: encoded, framed and
    decoded by the real codec."""
    codec = codec or UpdateCodec()
    msgs = codec.encode(a, [key(p) for p in prefixes], [key(p) for p in withdrawn],
                        family, next_hop)
    framer = Framer()
    return [codec.decode(body) for _t, body in framer.feed(b"".join(msgs))]


def new_rib(**kw) -> Rib:
    return Rib(ROUTER_ID, LOCAL_AS, **kw)


def best_sources(rib, family=V4) -> dict:
    """``{prefix text: (source name of each selected path, best first)}``."""
    return {r.prefix: tuple(p.source.name for p in r.paths) for r in rib.routes(family)}


def loose_path(source, a, next_hop=None, *, path_id=0, reason=None) -> Path:
    """A path outside any RIB, for comparing with the decision steps alone."""
    owner = AdjRibIn(source, V4)
    if next_hop is None and a.next_hop is not None:
        next_hop = a.next_hop
    return make_path(owner, source, a, next_hop, path_id, reason)
