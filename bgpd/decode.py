"""`bgpd decode`: hex BGP messages in, one JSON object per message out.

Input is hex (spaces, colons and a leading 0x allowed), as arguments or one
line per message on standard input; a line may hold several messages back to
back, as a capture of a TCP stream does.  A malformed message prints the
RFC 7606 action and the NOTIFICATION it would send.  Exit status: 0 all
well-formed, 1 something malformed, 2 input that is not hex at all.
"""

from __future__ import annotations

import json
import sys

from wire import Action, Framer, UpdateCodec, WireError, decode_body
from wire.constants import IPV4_UNICAST, IPV6_UNICAST, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN
from wire.show import show

EXIT_OK, EXIT_MALFORMED, EXIT_BAD_INPUT = 0, 1, 2


def parse_hex(text: str) -> bytes:
    clean = text.strip()
    if clean.lower().startswith("0x"):
        clean = clean[2:]
    clean = "".join(ch for ch in clean if ch not in " :\t-")
    return bytes.fromhex(clean)


def error_json(err: WireError) -> dict:
    out = {"error": err.reason, "action": err.action.label}
    if err.afi_safi is not None:
        out["family"] = "%d/%d" % err.afi_safi
    n = err.notification()
    out["notification"] = {"code": n.code, "subcode": n.subcode, "data": n.data.hex(),
                           "text": n.describe()}
    return out


def decode_line(data: bytes, codec: UpdateCodec, max_size: int) -> tuple[list[dict], bool]:
    """Decode every message in ``data``; return (objects, malformed?)."""
    framer = Framer(max_size)
    out = []
    bad = False
    try:
        frames = framer.feed(data)
    except WireError as e:
        return [error_json(e)], True
    for mtype, body in frames:
        try:
            msg = decode_body(mtype, body, codec)
        except WireError as e:
            out.append(error_json(e))
            bad = True
            continue
        obj = show(msg)
        if getattr(msg, "action", Action.NONE) != Action.NONE:
            bad = True
        out.append(obj)
    if framer.buffered:
        out.append({"error": f"{framer.buffered} trailing octets do not make a whole message",
                    "action": "session-reset"})
        bad = True
    return out, bad


def run(messages: list[str], as2: bool = False, add_path: bool = False,
        extended: bool = False, out=None) -> int:
    out = out or sys.stdout
    families = frozenset((IPV4_UNICAST, IPV6_UNICAST)) if add_path else frozenset()
    max_size = MAX_EXTENDED_MESSAGE_LEN if extended else MAX_MESSAGE_LEN
    codec = UpdateCodec(four_octet=not as2, add_path_rx=families, add_path_tx=families,
                        max_size=max_size)
    status = EXIT_OK
    for line in messages:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = parse_hex(line)
        except ValueError:
            print(json.dumps({"error": f"not hex: {line.strip()[:60]!r}"}), file=out)
            status = EXIT_BAD_INPUT
            continue
        objs, bad = decode_line(data, codec, max_size)
        for obj in objs:
            print(json.dumps(obj), file=out)
        if bad and status == EXIT_OK:
            status = EXIT_MALFORMED
    return status
