"""`bgpd decode`: hex in, one JSON object per message out, exit status
0 / 1 (malformed) / 2 (not hex)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from bgpd.decode import parse_hex, run
from wire import KEEPALIVE_BYTES, end_of_rib

from wire_strategies import (AS_PATH_65001, MANDATORY, NEXT_HOP_1, ORIGIN_IGP, attr, message, seg,
                             update)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README_UPDATE = "ffffffffffffffffffffffffffffffff0019020002080b0000"


def decode(*lines: str, **options) -> tuple[int, list[dict]]:
    out = io.StringIO()
    status = run(list(lines), out=out, **options)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_readme_example():
    assert decode(README_UPDATE) == (0, [{"type": "UPDATE", "withdrawn": ["11.0.0.0/8"]}])


def test_announcement_with_prefixes_as_text():
    data = update(attrs=MANDATORY + attr(0xC0, 8, b"\xff\xff\xff\x01"),
                  nlri=bytes([26, 10, 245, 0, 64, 32, 192, 0, 2, 7]))
    status, [obj] = decode(data.hex())
    assert status == 0
    assert obj["nlri"] == ["10.245.0.64/26", "192.0.2.7/32"]
    assert obj["attributes"]["AS_PATH"] == [{"type": "AS_SEQUENCE", "asns": [65001]}]
    assert obj["attributes"]["NEXT_HOP"] == "192.0.2.1"
    assert obj["attributes"]["COMMUNITIES"] == ["NO_EXPORT"]


def test_hex_spellings_and_comments():
    spaced = " ".join(KEEPALIVE_BYTES.hex()[i:i + 2] for i in range(0, 38, 2))
    colons = ":".join(KEEPALIVE_BYTES.hex()[i:i + 2] for i in range(0, 38, 2))
    status, objs = decode("0x" + KEEPALIVE_BYTES.hex().upper(), spaced, colons, "", "# note")
    assert status == 0 and objs == [{"type": "KEEPALIVE"}] * 3
    assert parse_hex(" 0xFF-ff ") == b"\xff\xff"


def test_several_messages_on_one_line():
    line = (KEEPALIVE_BYTES + end_of_rib(2, 1) + bytes.fromhex(README_UPDATE)).hex()
    status, objs = decode(line)
    assert status == 0
    assert objs == [{"type": "KEEPALIVE"}, {"type": "UPDATE", "end_of_rib": "ipv6-unicast"},
                    {"type": "UPDATE", "withdrawn": ["11.0.0.0/8"]}]


def test_as2_rebuilds_the_four_octet_path():
    as2_path = attr(0x40, 2, seg(2, [65001, 23456], 2))
    as4 = attr(0xC0, 17, seg(2, [65001, 4200000000]))
    data = update(attrs=ORIGIN_IGP + as2_path + NEXT_HOP_1 + as4, nlri=bytes([8, 10]))
    status, [obj] = decode(data.hex(), as2=True)
    assert status == 0
    assert obj["attributes"]["AS_PATH"] == [{"type": "AS_SEQUENCE",
                                             "asns": [65001, 4200000000]}]
    # read as a 4-octet session the same bytes are a malformed AS_PATH
    status, [obj] = decode(data.hex())
    assert status == 1 and obj["action"] == "treat-as-withdraw"


def test_add_path():
    data = update(attrs=MANDATORY, nlri=bytes([0, 0, 0, 9, 24, 10, 0, 1]))
    status, [obj] = decode(data.hex(), add_path=True)
    assert status == 0
    assert obj["nlri"] == [{"path_id": 9, "prefix": "10.0.1.0/24"}]
    mp = attr(0x80, 14, b"\x00\x02\x01\x10" + bytes(15) + b"\x01\x00"
              + bytes([0, 0, 0, 3, 32, 0x20, 0x01, 0x0d, 0xb8]))
    status, [obj] = decode(update(attrs=mp + ORIGIN_IGP + AS_PATH_65001).hex(), add_path=True)
    assert obj["attributes"]["MP_REACH_NLRI"]["nlri"] == [{"path_id": 3,
                                                           "prefix": "2001:db8::/32"}]


def test_extended_messages():
    big = update(attrs=MANDATORY, nlri=bytes([24, 10, 0, 1]) * 1500)
    assert len(big) > 4096
    status, [obj] = decode(big.hex(), extended=True)
    assert status == 0 and len(obj["nlri"]) == 1500
    status, [obj] = decode(big.hex())
    assert status == 1
    assert obj["action"] == "session-reset"
    assert obj["notification"]["code"] == 1 and obj["notification"]["subcode"] == 2
    assert obj["notification"]["data"] == big[16:18].hex()


def test_malformed_message_prints_action_and_notification():
    status, [obj] = decode((b"\x00" * 16 + KEEPALIVE_BYTES[16:]).hex())
    assert status == 1
    assert obj["action"] == "session-reset"
    assert obj["notification"] == {"code": 1, "subcode": 1, "data": "",
                                   "text": "Message header error / Connection not synchronized"}
    bad_open = message(1, bytes.fromhex("03fde9005a0a00000100"))
    status, [obj] = decode(bad_open.hex())
    assert obj["notification"]["data"] == "0004" and status == 1
    # a malformed MP_REACH_NLRI disables its family
    mp = attr(0x80, 14, b"\x00\x02\x01\x04" + bytes(4) + b"\x00")
    status, [obj] = decode(update(attrs=mp + ORIGIN_IGP + AS_PATH_65001).hex())
    assert obj["action"] == "afisafi-disable" and obj["family"] == "2/1"
    assert (obj["notification"]["code"], obj["notification"]["subcode"]) == (3, 9)


def test_treat_as_withdraw_is_malformed_but_shown():
    data = update(attrs=attr(0x40, 1, b"\x05") + AS_PATH_65001 + NEXT_HOP_1, nlri=b"\x08\x0a")
    status, [obj] = decode(data.hex())
    assert status == 1
    assert obj["nlri"] == ["10.0.0.0/8"] and obj["action"] == "treat-as-withdraw"
    assert obj["problems"][0]["type_code"] == 1


def test_a_bad_message_does_not_hide_the_others():
    bad_refresh = message(5, b"\x00\x01\x01\x01\x00")
    status, objs = decode((KEEPALIVE_BYTES + bad_refresh + KEEPALIVE_BYTES).hex())
    assert status == 1
    assert objs[0] == {"type": "KEEPALIVE"} and objs[2] == {"type": "KEEPALIVE"}
    assert objs[1]["notification"]["code"] == 7
    assert objs[1]["notification"]["data"] == bad_refresh.hex()


def test_trailing_octets():
    status, objs = decode((KEEPALIVE_BYTES + KEEPALIVE_BYTES[:5]).hex())
    assert status == 1
    assert objs == [{"type": "KEEPALIVE"},
                    {"error": "5 trailing octets do not make a whole message",
                     "action": "session-reset"}]


def test_not_hex_exits_2():
    status, objs = decode("hello there", KEEPALIVE_BYTES.hex())
    assert status == 2
    assert "not hex" in objs[0]["error"] and objs[1] == {"type": "KEEPALIVE"}
    # a later malformed message does not lower the status
    status, _ = decode("zz", "ff")
    assert status == 2


def test_python_m_bgpd_decode():
    env = dict(os.environ, PYTHONPATH=REPO)
    p = subprocess.run([sys.executable, "-m", "bgpd", "decode", README_UPDATE], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"type": "UPDATE", "withdrawn": ["11.0.0.0/8"]}
    p = subprocess.run([sys.executable, "-m", "bgpd", "decode", "--as2"], cwd=REPO, env=env,
                       input="nothex\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 2


def test_cli_reads_a_file(tmp_path):
    f = tmp_path / "session.hex"
    f.write_text(KEEPALIVE_BYTES.hex() + "\n" + README_UPDATE + "\n")
    p = subprocess.run([sys.executable, "-m", "bgpd", "decode", "--file", str(f)], cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert [json.loads(x)["type"] for x in p.stdout.splitlines()] == ["KEEPALIVE", "UPDATE"]
