"""The lab itself: namespaces, links, processes, teardown, and a TCP MD5
session with each reference daemon through the launchers and the test peer.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest

from . import scenario
from .daemons import DAEMONS, Bird16, Bird2, Neighbor
from .lab import Lab, LabError, lab_namespaces, run, wait_until
from .peer import PeerError, TestPeer

pytestmark = pytest.mark.lab


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0) until reaped: look at its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_teardown_after_a_failure():
    """A test that fails inside the lab leaves no namespace and no process,
    even one that ignores SIGTERM and one that left its process group."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    names, pids = [], []
    with pytest.raises(RuntimeError, match="the test failed"):
        with Lab("teardown", stop_grace=0.2) as lab:
            a, b = lab.namespace("a"), lab.namespace("b")
            lab.link(a, b)
            names = [a.name, b.name]
            stubborn = lab.spawn(a, ["sh", "-c", "trap '' TERM; sleep 600"], "stubborn")
            pids.append(stubborn.pid)
            # setsid: escapes the group the lab signals; only the namespace
            # sweep can find it.
            lab.spawn(b, ["setsid", "sleep", "600"], "escaped")
            wait_until(lambda: run(["ip", "netns", "pids", b.name]).stdout.split(), 5,
                       "the escaped process")
            pids += [int(p) for p in run(["ip", "netns", "pids", b.name]).stdout.split()]
            raise RuntimeError("the test failed")
    assert not set(names) & set(lab_namespaces())
    assert all(_gone(p) for p in pids), pids


def test_link_is_usable_at_once(lab):
    """Both ends are up with their addresses, IPv6 without DAD delay, and
    TCP works both ways over IPv4 and IPv6 right after ``link()``."""
    a, b = lab.namespace("a"), lab.namespace("b")
    link = lab.link(a, b)
    assert "tentative" not in a.ip("-6", "addr", "show", "dev", link.a_if).stdout
    for fam, server_addr in ((socket.AF_INET, link.b_v4), (socket.AF_INET6, link.b_v6)):
        listener = b.socket(fam)
        listener.bind((server_addr, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert b.listening(port) and not a.listening(port)
        client = a.socket(fam)
        client.settimeout(5)
        client.connect((server_addr, port))
        conn, _ = listener.accept()
        conn.sendall(b"ping")
        assert client.recv(4) == b"ping"
        assert b.tcp_established(server_addr, link.a_v4 if fam == socket.AF_INET
                                 else link.a_v6, port)
        for s in (conn, client, listener):
            s.close()
    # Nothing routes out of the lab: the only routes are the link's own.
    routes = a.ip("route", "show").stdout
    assert "default" not in routes


def test_process_stop_escalates(lab):
    ns = lab.namespace("p")
    proc = lab.spawn(ns, ["sh", "-c", "trap '' TERM; echo ready; sleep 600"], "stubborn")
    wait_until(lambda: "ready" in proc.output(), 5, "the shell")
    assert proc.stop(grace=0.2) == -signal.SIGKILL


def _md5_neighbor(kind: str, password: str) -> Neighbor:
    return Neighbor(address=scenario.PEER_V4, asn=scenario.PEER_AS,
                    local_address=scenario.DAEMON_V4, name="peer_md5", passive=True,
                    password=password, families=("ipv4",), next_hop_v6=scenario.DAEMON_V6,
                    graceful_restart=kind != "exabgp")


def _md5_lab(lab, kind: str, password: str):
    cls = DAEMONS[kind]
    if cls.missing():
        pytest.skip(cls.missing())
    a, b = lab.namespace("peer"), lab.namespace("daemon")
    lab.link(a, b, v4=scenario.LINK_V4, v6=scenario.LINK_V6)
    kw = dict(asn=scenario.DAEMON_AS, router_id=scenario.DAEMON_ID,
              neighbors=[_md5_neighbor(kind, password)], routes=[])
    daemon = (Bird16(lab, b, family=4, **kw) if cls is Bird16 else cls(lab, b, **kw)).start()
    return a, daemon


@pytest.mark.parametrize("kind", list(scenario.CASES))
def test_md5_session(lab, kind):
    """Every daemon establishes a TCP MD5 signed session (RFC 2385) with
    the test peer."""
    a, daemon = _md5_lab(lab, kind, "lab-secret")
    with TestPeer.connect(a, scenario.DAEMON_V4, asn=scenario.PEER_AS,
                          router_id=scenario.PEER_V4, md5="lab-secret", timeout=10) as peer:
        remote = peer.establish(10)
        assert remote.asn == scenario.DAEMON_AS
        daemon.wait_established(daemon.neighbors[0], 10)


def test_md5_wrong_password_gets_nothing(lab):
    """With the wrong key the daemon's kernel drops our SYNs unanswered."""
    a, daemon = _md5_lab(lab, "bird2", "lab-secret")
    assert isinstance(daemon, Bird2)
    with pytest.raises(PeerError):
        TestPeer.connect(a, scenario.DAEMON_V4, asn=scenario.PEER_AS,
                         router_id=scenario.PEER_V4, md5="not-the-secret", timeout=1.0)
    with pytest.raises(LabError):
        # Only bounded waits: nothing comes up.
        daemon.wait_established(daemon.neighbors[0], 0.5)


@pytest.mark.parametrize("kind", list(scenario.CASES))
def test_daemon_connects_over_ipv6(lab, kind):
    """The active side: each daemon connects to a listening test peer over
    IPv6 transport, carrying IPv4 and IPv6 (IPv4 next hops given by
    ``Neighbor.next_hop_v4``; bird6 carries IPv6 alone)."""
    cls = DAEMONS[kind]
    if cls.missing():
        pytest.skip(cls.missing())
    a, b = lab.namespace("peer"), lab.namespace("daemon")
    lab.link(a, b, v4=scenario.LINK_V4, v6=scenario.LINK_V6)
    families = ("ipv6",) if cls is Bird16 else ("ipv4", "ipv6")
    n = Neighbor(address=scenario.PEER_V6, asn=scenario.PEER_AS,
                 local_address=scenario.DAEMON_V6, name="peer_v6", families=families,
                 next_hop_v4=scenario.DAEMON_V4, graceful_restart=kind != "exabgp")
    kw = dict(asn=scenario.DAEMON_AS, router_id=scenario.DAEMON_ID, neighbors=[n],
              routes=[r for r in scenario.CASES[kind].routes()
                      if f"ipv{r.version}" in families])
    listener = TestPeer.listen(a, scenario.PEER_V6)
    try:
        daemon = (Bird16(lab, b, family=6, **kw) if cls is Bird16 else cls(lab, b, **kw))
        daemon.start()
        with TestPeer.accept(listener, asn=scenario.PEER_AS, router_id=scenario.PEER_V4,
                             timeout=15) as peer:
            assert peer.establish(10).asn == scenario.DAEMON_AS
            wanted = {(1, 1) if f == "ipv4" else (2, 1) for f in families}
            peer.wait_end_of_rib(wanted, 15)
            daemon.wait_established(n, 10)
    finally:
        listener.close()
