"""``bgpd run`` as a process, stopped by signals: SIGTERM (and SIGINT)
send every established peer Cease / Administrative Shutdown with the RFC
9003 message "bgpd shutting down" (wrapped in an RFC 8538 Hard Reset when
the peer negotiated the graceful restart N bit), the process exits 0 and
the control socket file is removed.  SIGHUP is not a reason to stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import trio

import wire
from bgpd import ctl
from bgpd_testlib import PeerClosed, RawPeer, capabilities, free_port, wait_for
from wire.constants import MessageType

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 20
PEER_AS = 65010


def write_config(path, lo, sockdir) -> dict:
    here, there = lo.address(), lo.address()
    port = free_port(here)
    sock = os.path.join(sockdir, "bgpd.ctl")
    with open(path, "w") as f:
        f.write(f"""
router_id = "10.0.0.1"
asn = 65001
listen = ["{here}"]
port = {port}
control_socket = "{sock}"

[[peers]]
name = "tester"
address = "{there}"
asn = {PEER_AS}
passive = true
""")
    return {"address": here, "port": port, "socket": sock, "peer": there}


def start(config_path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "bgpd", "run", "-c", config_path],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def answering(sock: str) -> bool:
    try:
        return ctl.request(sock, ["show", "status"], timeout=1).get("ok", False)
    except (OSError, ValueError):
        return False


async def established_peer(setup, caps) -> RawPeer:
    await wait_for(lambda: answering(setup["socket"]), "the control socket", poll=0.05)
    peer = await RawPeer.connect(setup["address"], setup["port"], setup["peer"],
                                 asn=PEER_AS, bgp_id="10.9.9.9")
    await peer.handshake(caps=caps)
    await wait_for(lambda: ctl.request(setup["socket"], ["show", "protocols"])["result"][0]
                   ["state"] == "Established", "Established", poll=0.05)
    return peer


@pytest.mark.parametrize("signum, graceful_restart, expected", [
    (signal.SIGTERM, False, 'Cease / Administrative shutdown: "bgpd shutting down"'),
    (signal.SIGINT, False, 'Cease / Administrative shutdown: "bgpd shutting down"'),
    (signal.SIGTERM, True, 'Cease / Hard reset: '),
], ids=["sigterm", "sigint", "sigterm-hard-reset"])
def test_signal_sends_cease_and_exits_0(lo, sockdir, tmp_path, signum, graceful_restart,
                                        expected):
    setup = write_config(tmp_path / "bgpd.toml", lo, sockdir)
    proc = start(tmp_path / "bgpd.toml")

    async def main():
        with trio.fail_after(DEADLINE):
            caps = capabilities(PEER_AS, graceful_restart=graceful_restart)
            peer = await established_peer(setup, caps)
            try:
                proc.send_signal(signum)
                n = await peer.expect(MessageType.NOTIFICATION)
                assert n.describe().startswith(expected)
                if graceful_restart:
                    inner = wire.Notification(n.data[0], n.data[1], n.data[2:])
                    assert (n.code, n.subcode) == (6, 9)
                    assert inner.shutdown_message == "bgpd shutting down"
                else:
                    assert (n.code, n.subcode) == (6, 2)
                    assert n.shutdown_message == "bgpd shutting down"
                with pytest.raises(PeerClosed):
                    await peer.next()
            finally:
                await peer.aclose()

    try:
        trio.run(main)
        out, err = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 0, err
        assert f"{signal.Signals(signum).name}: shutting down" in err
        assert "NOTIFICATION sent: " in err and "bgpd stopped" in err
        assert not os.path.exists(setup["socket"])
    finally:
        stop(proc)


def test_sighup_keeps_running(lo, sockdir, tmp_path):
    setup = write_config(tmp_path / "bgpd.toml", lo, sockdir)
    proc = start(tmp_path / "bgpd.toml")

    async def main():
        with trio.fail_after(DEADLINE):
            peer = await established_peer(setup, None)
            try:
                proc.send_signal(signal.SIGHUP)
                # The session outlives the signal: a KEEPALIVE round trip
                # and the control socket still answer.
                await trio.sleep(0.2)
                assert proc.poll() is None
                await peer.send_keepalive()
                assert answering(setup["socket"])
                [p] = ctl.request(setup["socket"], ["show", "protocols"])["result"]
                assert p["state"] == "Established"
                proc.send_signal(signal.SIGTERM)
                await peer.expect(MessageType.NOTIFICATION)
            finally:
                await peer.aclose()

    try:
        trio.run(main)
        _, err = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 0
        assert "SIGHUP: reading" in err
    finally:
        stop(proc)


def test_sigterm_with_no_session_exits_at_once(lo, sockdir, tmp_path):
    setup = write_config(tmp_path / "bgpd.toml", lo, sockdir)
    proc = start(tmp_path / "bgpd.toml")
    try:
        async def main():
            with trio.fail_after(DEADLINE):
                await wait_for(lambda: answering(setup["socket"]), "the control socket",
                               poll=0.05)
        trio.run(main)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 0
        assert not os.path.exists(setup["socket"])
    finally:
        stop(proc)
