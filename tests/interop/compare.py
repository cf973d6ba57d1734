"""Three decoders, one shape: our codec, Wireshark's BGP dissector, ExaBGP.

How it works
------------
Each decoder's result for one BGP message is turned into a *view*: a plain
dict with the same keys whichever decoder produced it, so that two views
can be compared key by key.

========================  ====================================================
key                       meaning
========================  ====================================================
type, length              message header (RFC 4271 section 4.1)
version, my_as,           OPEN fixed fields (section 4.2); ``bgp_id`` as
hold_time, bgp_id         dotted quad
capabilities              capability codes, sorted (RFC 5492)
withdrawn, nlri           IPv4 unicast prefixes of the UPDATE body, as text
attr_types                path attribute type codes, sorted
origin, as_path,          ORIGIN (0-2), AS_PATH as [[segment type, [ASNs]]],
next_hop, med,            NEXT_HOP text, MULTI_EXIT_DISC, LOCAL_PREF
local_pref
communities,              RFC 1997 values (ints), RFC 8092 triples, RFC 4360
large_communities,        values (64-bit ints); each sorted
ext_communities
mp_reach, mp_unreach      {afi, safi, next_hop: [addresses], nlri | withdrawn}
end_of_rib                [afi, safi] of an End-of-RIB marker (RFC 4724)
code, subcode,            NOTIFICATION (section 4.5) and its RFC 9003
communication             shutdown communication
afi, safi, subtype        ROUTE-REFRESH (RFC 2918, RFC 7313 subtypes)
========================  ====================================================

A decoder leaves out what it does not report (Wireshark does not call an
UPDATE an End-of-RIB); ``differences`` compares only keys both views have,
and ``cross_check`` also insists that the other decoder reported the keys
that matter for each message type, so that agreement is never vacuous.

- ``wire_view``: our codec (``wire``), the reference of the comparison.
- ``tshark_directions``/``tshark_views``: ``tshark -T pdml`` on a pcap
  (PDML keeps every field in wire order with its raw value, where
  ``-T json`` merges repeated keys); ``write_pcap`` turns stored messages
  back into a pcap for it.
- ``exabgp_views``/``exabgp_sessions``: ExaBGP's own message classes, run
  by the Python that ExaBGP is installed for (``exabgp_decode.py``), since
  ExaBGP is not importable from the project's interpreter.  ExaBGP sees
  less: no lengths, capability codes as a set, MP_REACH/MP_UNREACH turned
  into per-family prefix lists, an empty AS_PATH as none at all;
  ``exabgp_projection`` reshapes our view the same way.
  (``exabgp --decode`` exists but reads UPDATEs only, needs a configuration
  file and prints its result into log lines.)
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import wire
from wire.attributes import TABLE_BY_FIELD
from wire.constants import MessageType
from wire.nlri import next_hop_text, to_text

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------
# Our codec

def _attr_codes(attrs) -> list[int]:
    present = attrs.fields()
    codes = [int(spec.code) for name, spec in TABLE_BY_FIELD.items() if name in present]
    codes += [code for _flags, code, _value in attrs.unknown]
    return codes


def wire_view(raw: bytes, codec: wire.UpdateCodec) -> dict:
    """The view of one whole message decoded by ``wire``."""
    msg = wire.decode_message(raw, codec, codec.max_size)
    view = {"type": raw[18], "length": len(raw)}
    if isinstance(msg, wire.Open):
        view.update(version=msg.version, my_as=msg.my_as, hold_time=msg.hold_time,
                    bgp_id=str(ipaddress.IPv4Address(msg.bgp_id)),
                    capabilities=sorted(int(c.code) for c in msg.capabilities))
    elif isinstance(msg, wire.Update):
        if msg.action != wire.Action.NONE:
            view["problems"] = [p.reason for p in msg.problems]
        view["withdrawn"] = [_prefix_text(1, k) for k in msg.withdrawn]
        view["nlri"] = [_prefix_text(1, k) for k in msg.nlri]
        codes = []
        a = msg.attrs
        if a is not None:
            codes = _attr_codes(a)
            view.update(origin=a.origin, next_hop=_ip(a.next_hop), med=a.med,
                        local_pref=a.local_pref,
                        as_path=None if a.as_path is None else
                        [[int(t), list(asns)] for t, asns in a.as_path],
                        communities=sorted(a.communities),
                        large_communities=sorted(list(c) for c in a.large_communities),
                        ext_communities=sorted(a.ext_communities))
        if msg.mp_reach is not None:
            r = msg.mp_reach
            codes.append(14)
            view["mp_reach"] = {"afi": r.afi, "safi": r.safi,
                                "next_hop": next_hop_text(r.next_hop),
                                "nlri": [_prefix_text(r.afi, k) for k in r.nlri or ()]}
        if msg.mp_unreach is not None:
            u = msg.mp_unreach
            codes.append(15)
            view["mp_unreach"] = {"afi": u.afi, "safi": u.safi,
                                  "withdrawn": [_prefix_text(u.afi, k) for k in u.withdrawn]}
        view["attr_types"] = sorted(codes)
        eor = msg.end_of_rib
        view["end_of_rib"] = list(eor) if eor is not None else None
    elif isinstance(msg, wire.Notification):
        view.update(code=msg.code, subcode=msg.subcode, communication=msg.shutdown_message)
    elif isinstance(msg, wire.RouteRefresh):
        view.update(afi=msg.afi, safi=msg.safi, subtype=msg.subtype)
    return view


def _prefix_text(afi: int, key) -> str:
    if isinstance(key, tuple):           # add-path: (path id, key)
        return f"{key[0]}:{to_text(afi, key[1])}"
    return to_text(afi, key)


def _ip(raw) -> str | None:
    return None if raw is None else str(ipaddress.ip_address(bytes(raw)))


# ---------------------------------------------------------------------------
# Wireshark

def tshark_available() -> bool:
    return shutil.which("tshark") is not None


def tshark_version() -> str:
    res = subprocess.run(["tshark", "--version"], capture_output=True, text=True, timeout=30)
    return res.stdout.splitlines()[0] if res.stdout else "tshark ?"


def tshark_directions(pcap: str | Path, timeout: float = 60.0) -> dict:
    """Views of every BGP message in ``pcap`` as Wireshark's BGP dissector
    reads them, in capture order, by direction: ``{(src, dst): [views]}``
    with addresses as text."""
    res = subprocess.run(["tshark", "-r", str(pcap), "-T", "pdml", "-Y", "bgp",
                          "-o", "tcp.desegment_tcp_streams:TRUE"],
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed: {res.stderr.strip()}")
    out: dict = {}
    for packet in ET.fromstring(res.stdout).iter("packet"):
        ends = [None, None]
        for proto in packet.findall("proto"):
            name = proto.get("name")
            if name in ("ip", "ipv6"):
                for i, field in enumerate(("src", "dst")):
                    f = _first(proto, f"{name}.{field}")
                    ends[i] = f.get("show") if f is not None else None
        views = out.setdefault(tuple(ends), [])
        for proto in packet.findall("proto"):
            if proto.get("name") == "bgp":
                views.append(_tshark_message(proto))
    return out


def tshark_views(pcap: str | Path, src: str, dst: str, timeout: float = 60.0) -> list[dict]:
    """Views of the BGP messages ``src`` sent to ``dst`` in ``pcap``."""
    key = (str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)))
    return tshark_directions(pcap, timeout).get(key, [])


def _first(elem, name):
    for f in elem.iter("field"):
        if f.get("name") == name:
            return f
    return None


def _all(elem, name):
    return [f for f in elem.iter("field") if f.get("name") == name]


def _show(elem, name, conv=int):
    f = _first(elem, name)
    return None if f is None else conv(f.get("show"))


def _children(elem):
    return [c for c in elem if c.tag == "field"]


def _tshark_prefixes(container, suffix: str) -> list[str]:
    """Prefixes under an NLRI container: each is a field holding a
    ``bgp.prefix_length`` and a ``...prefix`` field."""
    out = []
    for entry in _children(container):
        plen = addr = None
        for f in _children(entry):
            name = f.get("name")
            if name == "bgp.prefix_length":
                plen = int(f.get("show"))
            elif name.endswith(suffix):
                addr = f.get("show")
        if plen is not None and addr is not None:
            out.append(str(ipaddress.ip_network(f"{addr}/{plen}", strict=False)))
    return out


def _tshark_message(proto) -> dict:
    view = {"type": _show(proto, "bgp.type"), "length": _show(proto, "bgp.length")}
    t = view["type"]
    if t == MessageType.OPEN:
        view.update(version=_show(proto, "bgp.open.version"),
                    my_as=_show(proto, "bgp.open.myas"),
                    hold_time=_show(proto, "bgp.open.holdtime"),
                    bgp_id=_show(proto, "bgp.open.identifier", str),
                    capabilities=sorted(int(f.get("show")) for f in _all(proto, "bgp.cap.type")))
    elif t == MessageType.UPDATE:
        _tshark_update(proto, view)
    elif t == MessageType.NOTIFICATION:
        view["code"] = _show(proto, "bgp.notify.major_error")
        sub = [f for f in proto.iter("field")
               if (f.get("name") or "").startswith("bgp.notify.minor_error")]
        view["subcode"] = int(sub[0].get("show")) if sub else None
        comm = _first(proto, "bgp.notify.communication")
        view["communication"] = comm.get("show") if comm is not None else None
    elif t == MessageType.ROUTE_REFRESH:
        view.update(afi=_show(proto, "bgp.route_refresh.afi"),
                    safi=_show(proto, "bgp.route_refresh.safi"),
                    subtype=_show(proto, "bgp.route_refresh.subtype"))
    return view


def _tshark_update(proto, view: dict) -> None:
    view["withdrawn"] = []
    view["nlri"] = []
    for f in _children(proto):
        if f.get("name") == "bgp.update.withdrawn_routes":
            view["withdrawn"] = _tshark_prefixes(f, "withdrawn_prefix")
        elif f.get("name") == "bgp.update.nlri":
            view["nlri"] = _tshark_prefixes(f, "nlri_prefix")
    codes = []
    for attr in _all(proto, "bgp.update.path_attribute"):
        code = _show(attr, "bgp.update.path_attribute.type_code")
        codes.append(code)
        _TSHARK_ATTRS.get(code, lambda a, v: None)(attr, view)
    view["attr_types"] = sorted(codes)
    if codes:
        view.setdefault("communities", [])
        view.setdefault("large_communities", [])
        view.setdefault("ext_communities", [])
        for key in ("origin", "as_path", "next_hop", "med", "local_pref"):
            view.setdefault(key, None)


def _ts_origin(attr, view):
    view["origin"] = _show(attr, "bgp.update.path_attribute.origin")


def _ts_as_path(attr, view):
    path = []
    for seg in _all(attr, "bgp.update.path_attribute.as_path_segment"):
        stype = _show(seg, "bgp.update.path_attribute.as_path_segment.type")
        asns = [int(f.get("show")) for f in _children(seg)
                if f.get("name") in ("bgp.update.path_attribute.as_path_segment.as4",
                                     "bgp.update.path_attribute.as_path_segment.as2")]
        path.append([stype, asns])
    view["as_path"] = path


def _ts_next_hop(attr, view):
    view["next_hop"] = _show(attr, "bgp.update.path_attribute.next_hop", str)


def _ts_med(attr, view):
    view["med"] = _show(attr, "bgp.update.path_attribute.multi_exit_disc")


def _ts_local_pref(attr, view):
    view["local_pref"] = _show(attr, "bgp.update.path_attribute.local_pref")


def _ts_communities(attr, view):
    out = []
    for box in _all(attr, "bgp.update.path_attribute.communities"):
        for c in _children(box):
            name = c.get("name")
            if name == "bgp.update.path_attribute.community":
                hi = _show(c, "bgp.update.path_attribute.community_as")
                lo = _show(c, "bgp.update.path_attribute.community_value")
                out.append(hi << 16 | lo)
            elif name == "bgp.update.path_attribute.community_wellknown":
                out.append(int(c.get("value"), 16))
    view["communities"] = sorted(out)


def _ts_ext_communities(attr, view):
    out = []
    for c in _all(attr, "bgp.ext_community"):
        # Type, subtype and value fields, each with its raw octets.
        raw = "".join(f.get("value") or "" for f in _children(c))
        out.append(int(raw, 16) if len(raw) == 16 else None)
    view["ext_communities"] = sorted(out, key=lambda x: -1 if x is None else x)


def _ts_large_communities(attr, view):
    out = []
    for c in _all(attr, "bgp.large_communities"):
        out.append([_show(c, "bgp.large_communities.ga"), _show(c, "bgp.large_communities.ldp1"),
                    _show(c, "bgp.large_communities.ldp2")])
    view["large_communities"] = sorted(out)


_MP_NEXT_HOP = "bgp.update.path_attribute.mp_reach_nlri.next_hop."   # .ipv6, .link_local...


def _ts_mp_reach(attr, view):
    hops = [f.get("show") for f in attr.iter("field")
            if (f.get("name") or "").startswith(_MP_NEXT_HOP)]
    nlri = []
    for box in _children(attr):
        if box.get("name") == "bgp.update.path_attribute.mp_reach_nlri":
            nlri += _tshark_prefixes(box, "_prefix")
    view["mp_reach"] = {"afi": _show(attr, "bgp.update.path_attribute.mp_reach_nlri.afi"),
                        "safi": _show(attr, "bgp.update.path_attribute.mp_reach_nlri.safi"),
                        "next_hop": [str(ipaddress.ip_address(h)) for h in hops],
                        "nlri": nlri}


def _ts_mp_unreach(attr, view):
    withdrawn = []
    for box in _children(attr):
        if box.get("name") == "bgp.update.path_attribute.mp_unreach_nlri":
            withdrawn += _tshark_prefixes(box, "_prefix")
    view["mp_unreach"] = {"afi": _show(attr, "bgp.update.path_attribute.mp_unreach_nlri.afi"),
                          "safi": _show(attr, "bgp.update.path_attribute.mp_unreach_nlri.safi"),
                          "withdrawn": withdrawn}


_TSHARK_ATTRS = {1: _ts_origin, 2: _ts_as_path, 3: _ts_next_hop, 4: _ts_med,
                 5: _ts_local_pref, 8: _ts_communities, 14: _ts_mp_reach,
                 15: _ts_mp_unreach, 16: _ts_ext_communities, 32: _ts_large_communities}


def write_pcap(path: str | Path, streams: list[tuple[str, str, list[bytes]]]) -> Path:
    """A pcap of TCP streams, each ``(src, dst, messages)`` carrying whole
    BGP messages from ``src`` port 179 to ``dst``, one segment per message,
    for reading stored sessions with Wireshark offline.  Checksums are left
    zero (Wireshark does not check them unless asked)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]   # Ethernet
    n = 0
    for stream, (src, dst, messages) in enumerate(streams):
        s_ip, d_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        seq = 1000
        for msg in messages:
            tcp = struct.pack("!HHIIBBHHH", 179, 50000 + stream, seq, 1, 5 << 4, 0x18,
                              65535, 0, 0)
            seq += len(msg)
            payload = tcp + msg
            if s_ip.version == 4:
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), n & 0xFFFF,
                                 0x4000, 64, 6, 0, s_ip.packed, d_ip.packed)
                ethertype = 0x0800
            else:
                ip = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 6, 64, s_ip.packed,
                                 d_ip.packed)
                ethertype = 0x86DD
            frame = (b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + struct.pack("!H", ethertype)
                     + ip + payload)
            out.append(struct.pack("<IIII", 1_700_000_000, n, len(frame), len(frame)) + frame)
            n += 1
    path = Path(path)
    path.write_bytes(b"".join(out))
    return path


# ---------------------------------------------------------------------------
# ExaBGP

def exabgp_python() -> str | None:
    """The interpreter ExaBGP runs with (from its launcher's #! line)."""
    exe = shutil.which("exabgp")
    if exe is None:
        return None
    with open(exe, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if parts and parts[0].endswith("/env") and len(parts) > 1:
        return shutil.which(parts[1])
    return parts[0] if parts else None


def exabgp_views(local_open: bytes, received: list[bytes], timeout: float = 60.0) -> list[dict]:
    """Views of ``received`` (whole messages from one session) as ExaBGP
    decodes them; ``local_open`` is the OPEN this side sent, which ExaBGP
    needs to negotiate the session's options."""
    return exabgp_sessions([(local_open, received)], timeout)[0]


def exabgp_sessions(sessions: list[tuple[bytes, list[bytes]]],
                    timeout: float = 60.0) -> list[list[dict]]:
    """``exabgp_views`` of several sessions with one run of ExaBGP's
    interpreter."""
    python = exabgp_python()
    if python is None:
        raise RuntimeError("exabgp is not installed")
    payload = json.dumps({"sessions": [
        {"local_open": local.hex(), "messages": [m.hex() for m in received]}
        for local, received in sessions]})
    res = subprocess.run([python, str(HERE / "exabgp_decode.py")], input=payload,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"exabgp_decode.py failed: {res.stderr.strip()[-2000:]}")
    out = [[] for _ in sessions]
    for line in res.stdout.splitlines():
        if line.strip():
            view = json.loads(line)
            out[view.pop("session")].append(view)
    return out


def exabgp_projection(view: dict) -> dict:
    """Our view reshaped to what ExaBGP reports: capability codes as a set,
    attribute codes without the MP attributes (ExaBGP turns them into
    NLRI), MP prefixes by family with the set of next hops."""
    out = {k: v for k, v in view.items()
           if k not in ("length", "capabilities", "attr_types", "mp_reach", "mp_unreach",
                        "communication")}
    if "capabilities" in view:
        out["capability_set"] = sorted(set(view["capabilities"]))
    if "attr_types" in view and view.get("end_of_rib") is None:
        out["attr_types_except_mp"] = [c for c in view["attr_types"] if c not in (14, 15)]
        if view.get("as_path") == []:
            # ExaBGP reads an empty AS_PATH (iBGP, RFC 4271 section 5.1.2)
            # as no AS_PATH at all.
            out["as_path"] = None
            out["attr_types_except_mp"].remove(2)
        reach = view.get("mp_reach")
        out["mp_reach_families"] = [] if not reach or not reach["nlri"] else [
            {"afi": reach["afi"], "safi": reach["safi"], "nlri": reach["nlri"],
             "next_hops": reach["next_hop"]}]
        unreach = view.get("mp_unreach")
        out["mp_unreach_families"] = [] if not unreach or not unreach["withdrawn"] else [
            {"afi": unreach["afi"], "safi": unreach["safi"], "withdrawn": unreach["withdrawn"]}]
    elif view.get("end_of_rib") is not None:
        out = {"type": view["type"], "end_of_rib": view["end_of_rib"]}
    return out


def exabgp_differences(ours: dict, theirs: dict) -> list[str]:
    """Like ``differences``, after ``exabgp_projection``; next hops compare
    as sets (ExaBGP's order is that of its NLRI objects)."""
    mine = exabgp_projection(ours)
    for fams in (mine.get("mp_reach_families") or [], theirs.get("mp_reach_families") or []):
        for f in fams:
            f["next_hops"] = sorted(f["next_hops"])
    return differences(mine, theirs)


# ---------------------------------------------------------------------------
# Comparing

def differences(ours: dict, theirs: dict) -> list[str]:
    """'key: ours != theirs' for every key both views hold and disagree on."""
    out = []
    for key in sorted(set(ours) & set(theirs)):
        if key in ("error", "problems"):
            continue
        if ours[key] != theirs[key]:
            out.append(f"{key}: {ours[key]!r} != {theirs[key]!r}")
    return out


def compared_keys(ours: dict, theirs: dict) -> list[str]:
    return sorted(set(ours) & set(theirs) - {"error", "problems"})


# What each message type must let us compare with Wireshark, at least.
TSHARK_KEYS = {
    1: {"type", "length", "version", "my_as", "hold_time", "bgp_id", "capabilities"},
    2: {"type", "length", "withdrawn", "nlri", "attr_types"},
    3: {"type", "length", "code", "subcode", "communication"},
    4: {"type", "length"},
    5: {"type", "length", "afi", "safi", "subtype"},
}
# ... and with ExaBGP (its view has other keys: see compare.exabgp_projection).
EXABGP_KEYS = {
    1: {"type", "version", "my_as", "hold_time", "bgp_id", "capability_set"},
    2: {"type", "end_of_rib"},
    3: {"type", "code", "subcode"},
    4: {"type"},
    5: {"type", "afi", "safi", "subtype"},
}
EXABGP_UPDATE_KEYS = {"withdrawn", "nlri"}
EXABGP_ATTRIBUTE_KEYS = {"attr_types_except_mp", "mp_reach_families", "mp_unreach_families",
                         "origin", "as_path", "next_hop", "med", "local_pref", "communities",
                         "large_communities", "ext_communities"}
# ExaBGP 4.2 cannot build a NOTIFICATION carrying an RFC 9003 shutdown
# communication on Python 3 ('%b requires a bytes-like object', in
# exabgp/bgp/message/notification.py): expected, and reported.
EXABGP_KNOWN_FAILURES = {3: "TypeError"}




def cross_check(ours: list[dict], wireshark: list[dict] | None,
                exabgp: list[dict] | None) -> list[str]:
    """Everything on which Wireshark's and ExaBGP's views of a session
    disagree with ours, message by message ('#3 tshark med: 50 != 60'),
    including fields the other decoder failed to report.  A decoder given
    as None is not consulted."""
    problems = []
    if wireshark is not None:
        if len(wireshark) != len(ours):
            problems.append(f"tshark saw {len(wireshark)} messages, we {len(ours)}")
        for i, (o, t) in enumerate(zip(ours, wireshark)):
            problems += [f"#{i} tshark {d}" for d in differences(o, t)]
            missing = TSHARK_KEYS.get(o["type"], set()) - set(compared_keys(o, t))
            if missing:
                problems.append(f"#{i}: tshark did not report {sorted(missing)}")
    if exabgp is not None:
        if len(exabgp) != len(ours):
            problems.append(f"ExaBGP decoded {len(exabgp)} messages, we {len(ours)}")
        for i, (o, e) in enumerate(zip(ours, exabgp)):
            if "error" in e:
                known = EXABGP_KNOWN_FAILURES.get(o["type"])
                if not (known and e["error"].startswith(known)):
                    problems.append(f"#{i}: ExaBGP failed: {e['error']}")
                continue
            problems += [f"#{i} exabgp {d}" for d in exabgp_differences(o, e)]
            want = EXABGP_KEYS.get(o["type"], set())
            if o["type"] == MessageType.UPDATE and o.get("end_of_rib") is None:
                want = want | EXABGP_UPDATE_KEYS
                if o.get("attr_types"):
                    want = want | EXABGP_ATTRIBUTE_KEYS
            missing = want - set(compared_keys(exabgp_projection(o), e))
            if missing:
                problems.append(f"#{i}: ExaBGP did not report {sorted(missing)}")
    return problems


__all__ = ["compared_keys", "cross_check", "differences", "exabgp_differences",
           "exabgp_projection",
           "exabgp_python", "exabgp_sessions", "exabgp_views", "tshark_available",
           "tshark_directions",
           "write_pcap",
           "tshark_version", "tshark_views", "wire_view"]

if __name__ == "__main__":       # debugging aid: Wireshark's views of a pcap
    for (src, dst), views in tshark_directions(sys.argv[1]).items():
        for v in views:
            print(src, dst, json.dumps(v))
