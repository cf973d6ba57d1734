"""Builders and a model receiver for the export-layer tests.

``Receiver`` is what a peer makes of the bytes it is handed: it frames and
decodes them with a real ``UpdateCodec`` and keeps an Adj-RIB-In of its
own, noting every withdrawal of a prefix it does not have and every
announcement identical to what it has (the exporter should send neither).
"""

from __future__ import annotations

import ipaddress

import conf
from rib import PeerInfo, Rib
from rib.policy import PolicySet
from rib.source import LocalKind
from reflector import Exporter, SessionParams
from wire import Framer, MpReach, MpUnreach, Update, UpdateCodec, make_attributes
from wire.messages import RouteRefresh
from wire.nlri import parse

V4 = (1, 1)
V6 = (2, 1)
LOCAL_AS = 64512
ROUTER_ID = "10.255.0.1"
RR_ADDRESS = "10.255.0.1"


def key(text: str) -> bytes:
    return parse(text)[1]


def nh(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def ip_id(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def peer(name: str, address: str, asn: int = LOCAL_AS, *, rr_client: bool = False,
         bgp_id=None, local_asn: int = LOCAL_AS) -> PeerInfo:
    return PeerInfo(name, address, asn, local_asn, bgp_id or address, rr_client=rr_client)


def attrs(*path, next_hop=None, **fields):
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


def params(local: str = RR_ADDRESS, *, four_octet: bool = True, add_path=(),
           max_size: int = 4096, **kw) -> SessionParams:
    codec = UpdateCodec(four_octet, add_path_tx=add_path, max_size=max_size)
    kw.setdefault("families", (V4,))
    return SessionParams(codec, local_address=local, **kw)


def policies(text: str) -> PolicySet:
    """The compiled policies of a configuration fragment (``[[policies]]``
    tables, ``[prefix_lists]``)."""
    return PolicySet.from_config(conf.loads(f'router_id = "{ROUTER_ID}"\nasn = {LOCAL_AS}\n'
                                            + text))


def stack(**kw):
    """A RIB and an exporter on it (cluster id = router id)."""
    rib = Rib(ROUTER_ID, LOCAL_AS, cluster_id=ROUTER_ID)
    ex = Exporter(ROUTER_ID, LOCAL_AS, rib=rib, **kw)
    return rib, ex


def originate(rib, prefix: str, kind=LocalKind.STATIC, **fields):
    a = make_attributes(origin=0, as_path=(), **fields)
    fam = V6 if ":" in prefix else V4
    rib.originate(fam, prefix, a, kind=kind)


class Receiver:
    """A peer's Adj-RIB-In built from the messages it is handed."""

    def __init__(self, four_octet: bool = True, add_path=()):
        self.codec = UpdateCodec(four_octet, add_path_rx=add_path)
        self.framer = Framer()
        self.routes: dict = {}          # (family, key) -> (Attributes, next hop)
        self.end_of_rib: list = []
        self.markers: list = []         # RouteRefresh objects, in order
        self.spurious: list = []        # withdrawals of prefixes it did not have
        self.duplicates: list = []      # announcements identical to what it had
        self.messages = 0
        self.log: list = []             # ("+"/"-", family, key) in order

    def feed(self, items) -> None:
        for m in items:
            if isinstance(m, RouteRefresh):
                self.markers.append(m)
                self.log.append(("marker", m.subtype, (m.afi, m.safi)))
                continue
            self.messages += 1
            for _t, body in self.framer.feed(m):
                self._update(self.codec.decode(body))

    def _update(self, u: Update) -> None:
        eor = u.end_of_rib
        if eor is not None:
            self.end_of_rib.append(eor)
            self.log.append(("eor", eor))
            return
        for fam, keys in u.withdrawals().items():
            for k in keys:
                if self.routes.pop((fam, k), None) is None:
                    self.spurious.append((fam, k))
                self.log.append(("-", fam, k))
        if u.nlri:
            self._put(V4, u.nlri, u.attrs, u.attrs.next_hop)
        if u.mp_reach is not None:
            self._put(u.mp_reach.family, u.mp_reach.nlri, u.attrs, u.mp_reach.next_hop)

    def _put(self, fam, keys, a, next_hop) -> None:
        for k in keys:
            new = (a, next_hop)
            old = self.routes.get((fam, k))
            if old is not None and old[0] == a and old[1] == next_hop:
                self.duplicates.append((fam, k))
            self.routes[(fam, k)] = new
            self.log.append(("+", fam, k))

    def prefixes(self, fam=V4) -> set:
        from wire.nlri import to_text
        out = set()
        for (f, k) in self.routes:
            if f == fam:
                out.add(to_text(fam[0], k[1]) if isinstance(k, tuple) else to_text(fam[0], k))
        return out

    def route(self, prefix: str, fam=None):
        """(attribute fields, next hop) of a prefix, or None."""
        fam = fam or (V6 if ":" in prefix else V4)
        got = self.routes.get((fam, key(prefix)))
        if got is None:
            return None
        return got[0].fields(), got[1]

    def state(self) -> dict:
        """{(family, key): sorted ((attribute block, next hop), ...)}: comparable
        between receivers (path identifiers left out: each session has its own)."""
        out: dict = {}
        for (fam, k), (a, n) in self.routes.items():
            prefix = k[1] if isinstance(k, tuple) else k
            out.setdefault((fam, prefix), []).append((a.raw, n))
        return {k: tuple(sorted(v)) for k, v in out.items()}


def drain(ex, name: str, receiver: Receiver | None = None, max_bytes: int = 65536) -> list:
    """Everything the peer has to read; fed to ``receiver`` when given."""
    out = []
    while True:
        msgs = ex.next_messages(name, max_bytes)
        if not msgs:
            break
        out.extend(msgs)
    if receiver is not None:
        receiver.feed(out)
    return out


def step(rib, ex) -> list:
    """Drain the RIB's changes into the exporter."""
    return ex.apply(rib.drain_changes())
