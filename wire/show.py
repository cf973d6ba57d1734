"""JSON-ready views of decoded messages, for `bgpd decode`, logs and the
control socket.  Prefixes are written as text ('10.0.1.0/24',
'2001:db8::/32'); with add-path they become {"path_id": n, "prefix": ...}.
"""

from __future__ import annotations

from .attributes import show as show_attributes
from .capabilities import capability_name
from .constants import MessageType, family_name
from .messages import Keepalive, RouteRefresh
from .nlri import next_hop_text, to_text
from .notification import Notification, code_name, subcode_name
from .open import Open
from .update import Update


def _prefixes(afi: int, keys) -> list:
    out = []
    for k in keys:
        if isinstance(k, tuple):
            out.append({"path_id": k[0], "prefix": to_text(afi, k[1])})
        else:
            out.append(to_text(afi, k))
    return out


def _ip(n: int) -> str:
    return ".".join(str(b) for b in n.to_bytes(4, "big"))


def show_open(m: Open) -> dict:
    caps = []
    for c in m.capabilities:
        name = capability_name(c.code)
        caps.append({"code": c.code, "name": name, "value": c.show()})
    return {"type": "OPEN", "version": m.version, "my_as": m.my_as, "asn": m.asn,
            "hold_time": m.hold_time, "bgp_id": _ip(m.bgp_id), "capabilities": caps}


def show_update(m: Update) -> dict:
    out: dict = {"type": "UPDATE"}
    eor = m.end_of_rib
    if eor is not None:
        out["end_of_rib"] = family_name(*eor)
        return out
    if m.withdrawn:
        out["withdrawn"] = _prefixes(1, m.withdrawn)
    if m.attrs is not None:
        out["attributes"] = show_attributes(m.attrs)
    if m.mp_reach is not None:
        r = m.mp_reach
        mp = {"family": family_name(r.afi, r.safi), "next_hop": next_hop_text(r.next_hop)}
        if r.nlri is None:
            mp["nlri_raw"] = r.raw_nlri.hex()
        else:
            mp["nlri"] = _prefixes(r.afi, r.nlri)
        out.setdefault("attributes", {})["MP_REACH_NLRI"] = mp
    if m.mp_unreach is not None:
        u = m.mp_unreach
        mp = {"family": family_name(u.afi, u.safi)}
        if u.raw_nlri:
            mp["withdrawn_raw"] = u.raw_nlri.hex()
        else:
            mp["withdrawn"] = _prefixes(u.afi, u.withdrawn)
        out.setdefault("attributes", {})["MP_UNREACH_NLRI"] = mp
    if m.nlri:
        out["nlri"] = _prefixes(1, m.nlri)
    if m.problems:
        out["problems"] = [{"action": p.action.label, "type_code": p.type_code,
                            "reason": p.reason} for p in m.problems]
        out["action"] = m.action.label
    return out


def show_notification(m: Notification) -> dict:
    out = {"type": "NOTIFICATION", "code": m.code, "subcode": m.subcode,
           "error": code_name(m.code), "suberror": subcode_name(m.code, m.subcode),
           "data": m.data.hex()}
    msg = m.shutdown_message
    if msg is not None:
        out["shutdown_communication"] = msg
    return out


def show_route_refresh(m: RouteRefresh) -> dict:
    names = {0: "refresh", 1: "BoRR", 2: "EoRR"}
    return {"type": "ROUTE_REFRESH", "family": family_name(m.afi, m.safi),
            "subtype": names.get(m.subtype, m.subtype)}


SHOW = {
    MessageType.OPEN: show_open,
    MessageType.UPDATE: show_update,
    MessageType.NOTIFICATION: show_notification,
    MessageType.KEEPALIVE: lambda m: {"type": "KEEPALIVE"},
    MessageType.ROUTE_REFRESH: show_route_refresh,
}


def show(message) -> dict:
    return SHOW[message.type](message)


__all__ = ["show", "Keepalive"]
