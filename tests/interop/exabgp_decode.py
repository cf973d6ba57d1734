"""Decode BGP messages with ExaBGP's own classes and print one view per line.

Run by the interpreter ExaBGP is installed for (see ``compare.exabgp_views``),
not by the project's: it imports only the standard library and ``exabgp``.

Input (stdin): ``{"sessions": [{"local_open": HEX, "messages": [HEX, ...]},
...]}``, whole messages (header included) received on each session; the
local OPEN and the peer's OPEN give ExaBGP the negotiated options (4-octet
AS, add-path) it needs to read UPDATEs.  Output: one JSON object per
message, with ``session`` (its index) and the keys of ``compare.py``'s views
that ExaBGP can tell, or ``{"error": ...}`` when ExaBGP cannot decode it.
"""

import json
import sys
import traceback


def main():
    from exabgp.configuration.setup import environment
    environment.setup("")          # ExaBGP's logger needs its settings

    from exabgp.bgp.message import Message
    # Each message class registers itself with Message when imported.
    from exabgp.bgp.message import keepalive, notification, refresh, update  # noqa: F401
    from exabgp.bgp.message.direction import Direction
    from exabgp.bgp.message.open import Open
    from exabgp.bgp.message.open.capability.negotiated import Negotiated

    class Neighbor:                # the only neighbour setting UPDATE parsing reads
        aigp = False

    for index, session in enumerate(json.load(sys.stdin)["sessions"]):
        negotiated = Negotiated(Neighbor())
        local = bytes.fromhex(session["local_open"])
        negotiated.sent(Open.unpack_message(local[19:]))
        for text in session["messages"]:
            raw = bytes.fromhex(text)
            mtype = raw[18]
            try:
                if mtype == 1:
                    msg = Open.unpack_message(raw[19:])
                    negotiated.received(msg)
                else:
                    msg = Message.unpack(mtype, raw[19:], Direction.IN, negotiated)
                view = describe(mtype, msg)
            except Exception as e:      # report, keep going with the next message
                view = {"type": mtype, "error": f"{type(e).__name__}: {e}",
                        "traceback": traceback.format_exc().splitlines()[-3:]}
            view["session"] = index
            print(json.dumps(view))


def describe(mtype, msg):
    view = {"type": mtype}
    name = type(msg).__name__
    if mtype == 1:
        view.update(version=int(msg.version), my_as=int(msg.asn), hold_time=int(msg.hold_time),
                    bgp_id=str(msg.router_id),
                    capability_set=sorted(int(c) for c in msg.capabilities))
    elif name == "EOR":
        family = msg.nlris[0]
        view["end_of_rib"] = [int(family.afi), int(family.safi)]
    elif mtype == 2:
        view.update(update(msg))
    elif mtype == 3:
        view.update(code=int(msg.code), subcode=int(msg.subcode))
    elif mtype == 5:
        view.update(afi=int(msg.afi), safi=int(msg.safi), subtype=int(msg.reserved))
    return view


def _asns(segment):
    return [int(a) for a in segment]


def update(msg):
    from exabgp.bgp.message.direction import IN
    out = {"end_of_rib": None}
    attrs = msg.attributes
    codes = {int(k): v for k, v in attrs.items()}
    out["attr_types_except_mp"] = sorted(codes)
    origin = codes.get(1)
    out["origin"] = None if origin is None else int(origin.origin)
    path = codes.get(2)
    if path is None:
        out["as_path"] = None
    else:
        # ExaBGP keeps one list per segment type, in this order.
        segments = ((2, path.as_seq), (1, path.as_set), (3, path.as_cseq), (4, path.as_cset))
        out["as_path"] = [[stype, _asns(asns)] for stype, asns in segments if asns]
    nh = codes.get(3)
    out["next_hop"] = None if nh is None else str(nh)
    med = codes.get(4)
    out["med"] = None if med is None else int(med.med)
    lp = codes.get(5)
    out["local_pref"] = None if lp is None else int(lp.localpref)
    comms = codes.get(8)
    out["communities"] = sorted(int.from_bytes(c.community, "big")
                                for c in (comms.communities if comms else ()))
    ext = codes.get(16)
    out["ext_communities"] = sorted(int.from_bytes(c.community, "big")
                                    for c in (ext.communities if ext else ()))
    large = codes.get(32)
    out["large_communities"] = sorted(
        [int.from_bytes(c.large_community[i:i + 4], "big") for i in (0, 4, 8)]
        for c in (large.communities if large else ()))
    withdrawn, nlri, reach, unreach = [], [], {}, {}
    for n in msg.nlris:
        fam = (int(n.afi), int(n.safi))
        text = str(n.cidr) if hasattr(n, "cidr") else str(n).split()[0]
        announced = n.action == IN.ANNOUNCED
        if fam == (1, 1):
            (nlri if announced else withdrawn).append(text)
        elif announced:
            # ExaBGP makes one NLRI object per next hop address: a global +
            # link-local next hop gives every prefix twice.
            entry = reach.setdefault(fam, {"afi": fam[0], "safi": fam[1], "nlri": [],
                                           "next_hops": []})
            if text not in entry["nlri"]:
                entry["nlri"].append(text)
            if str(n.nexthop) not in entry["next_hops"]:
                entry["next_hops"].append(str(n.nexthop))
        else:
            unreach.setdefault(fam, {"afi": fam[0], "safi": fam[1], "withdrawn": []})[
                "withdrawn"].append(text)
    out["withdrawn"] = withdrawn
    out["nlri"] = nlri
    out["mp_reach_families"] = [v for _, v in sorted(reach.items())]
    out["mp_unreach_families"] = [v for _, v in sorted(unreach.items())]
    return out


if __name__ == "__main__":
    main()
