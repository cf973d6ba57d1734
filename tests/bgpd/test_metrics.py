"""The Prometheus metrics (bgpd.metrics), scraped over HTTP as Prometheus would.

Two daemons peer over loopback (``Pair``), each with its own metrics
server on port 0; the test reads ``/metrics``, parses it with
``prometheus_client``'s own parser and checks the figures against what the
sessions and the RIB hold: the session's state set, message counters,
prefixes per family equal to what the other side announced, the RIB's
size, and, after ``disable``, the last error and the figures of a session
that is down.  The event hooks (decision, kernel batches) and the kernel
FIB gauges are checked on a single daemon; the HTTP responder's answers
(HEAD, 404, 405, 400, 408, 431, 505, Connection: close) on raw requests.

Timers run on trio's MockClock (autojump); loopback I/O is far faster than
its threshold, so the clock never jumps while a request is in flight.
"""

from __future__ import annotations

import pytest
import trio
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

import conf
from bgpd import metrics as bgpd_metrics
from bgpd.daemon import VERSION, Daemon
from bgpd.metrics import Metrics, serve
from bgpd_testlib import (Pair, command, daemon_config, daemon_log, free_port, learned,
                          mock_clock, running_daemon, wait_for, wait_state)

DEADLINE = 600          # mock seconds; the clock jumps, so this is quick
FAMILIES = ("ipv4-unicast", "ipv6-unicast")


def run(fn):
    trio.run(fn, clock=mock_clock())


# ----------------------------------------------------------------------------
# A scraper

async def http(host: str, port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send ``request`` as is and read until the server closes: status,
    headers (lower-case names), body."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(request)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:])}
    return status, headers, body


def get(path: str = "/metrics", method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: bgpd\r\nAccept: */*\r\n\r\n".encode()


async def scrape(host: str, port: int) -> str:
    status, headers, body = await http(host, port, get())
    assert status == 200, body
    assert headers["content-type"] == CONTENT_TYPE_LATEST
    return body.decode()


class Samples:
    """The samples of one scrape, looked up by name and labels."""

    def __init__(self, text: str):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def find(self, name: str, **labels) -> list:
        return [s for s in self.samples if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels) -> float:
        found = self.find(name, **labels)
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples: {found}"
        return found[0].value


async def start_metrics(nursery, daemon, host: str) -> int:
    return await nursery.start(serve, daemon, Metrics(daemon), host, 0)


# ----------------------------------------------------------------------------
# Two daemons

def test_pair_sessions_prefixes_and_rib(lo, sockdir):
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b), trio.open_nursery() as servers:
                await pair.established(a, b)
                await wait_for(lambda: len(learned(a, "b")) == 2 and len(learned(b, "a")) == 2,
                               "both prefixes learned on both sides")
                a_port = await start_metrics(servers, a, pair.a_address)
                b_port = await start_metrics(servers, b, pair.b_address)
                assert a.log_lines.grep(f"metrics on http://{pair.a_address}:{a_port}/metrics")

                m = Samples(await scrape(pair.a_address, a_port))
                peer = dict(peer="b", neighbor=pair.b_address, peer_as="65002", peer_type="ebgp")
                assert m.value("bgp_router_info", router_id="10.0.0.1", asn="65001",
                               version=VERSION) == 1
                # The state set: one series per FSM state, 1 for Established.
                states = {s.labels["state"]: s.value for s in m.find("bgp_peer_state", **peer)}
                assert states == {"idle": 0, "connect": 0, "active": 0, "opensent": 0,
                                  "openconfirm": 0, "established": 1}
                assert m.value("bgp_peer_enabled", **peer) == 1
                assert m.value("bgp_peer_uptime_seconds", **peer) >= 0
                assert m.value("bgp_peer_established_transitions_total", **peer) == 1
                assert m.value("bgp_peer_session_downs_total", **peer) == 0
                sent = {s.labels["type"]: s.value
                        for s in m.find("bgp_peer_messages_sent_total", **peer)}
                got = {s.labels["type"]: s.value
                       for s in m.find("bgp_peer_messages_received_total", **peer)}
                assert set(sent) == set(got) == {"open", "update", "notification", "keepalive",
                                                 "route_refresh"}
                assert got["open"] == 1 and got["keepalive"] >= 1 and got["update"] >= 2
                assert sent["open"] >= 1 and sent["keepalive"] >= 1 and sent["update"] >= 2
                assert got["notification"] == sent["notification"] == 0
                session = a.peers["b"].session.counters
                assert got["update"] == session.messages_in[2]
                assert m.value("bgp_peer_updates_accepted_total", **peer) == session.updates_in
                # B announced one prefix per family; A announces its own one.
                for fam in FAMILIES:
                    assert m.value("bgp_peer_prefixes_received", afi_safi=fam, **peer) == 1
                    assert m.value("bgp_peer_prefixes_accepted", afi_safi=fam, **peer) == 1
                    assert m.value("bgp_peer_prefixes_rejected", afi_safi=fam, **peer) == 0
                    assert m.value("bgp_peer_prefixes_stale", afi_safi=fam, **peer) == 0
                    assert m.value("bgp_peer_prefixes_best", afi_safi=fam, **peer) == 1
                    assert m.value("bgp_peer_prefixes_advertised", afi_safi=fam, **peer) == 1
                    # Ours and B's: two prefixes, two paths, both selected.
                    assert m.value("bgp_rib_prefixes", afi_safi=fam) == 2
                    assert m.value("bgp_rib_selected_prefixes", afi_safi=fam) == 2
                    assert m.value("bgp_rib_paths", afi_safi=fam) == 2
                assert not m.find("bgp_peer_last_error_info")
                assert not m.find("bgp_kernel_routes")          # no FIB in this daemon
                # The process collectors, registered in the daemon's own registry.
                assert m.find("process_cpu_seconds_total") and m.find("python_info")
                assert m.find("python_gc_collections_total")
                assert all(f.documentation for f in m.families.values()), "HELP on every family"

                # B's own registry says the same from its side.
                mb = Samples(await scrape(pair.b_address, b_port))
                peer_a = dict(peer="a", neighbor=pair.a_address, peer_as="65001")
                assert mb.value("bgp_peer_state", state="established", **peer_a) == 1
                for fam in FAMILIES:
                    assert mb.value("bgp_peer_prefixes_accepted", afi_safi=fam, **peer_a) == 1
                servers.cancel_scope.cancel()

    run(main)


def test_pair_session_down_last_error(lo, sockdir):
    pair = Pair(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b), trio.open_nursery() as servers:
                await pair.established(a, b)
                await wait_for(lambda: len(learned(a, "b")) == 2, "B's prefixes on A")
                a_port = await start_metrics(servers, a, pair.a_address)
                b_port = await start_metrics(servers, b, pair.b_address)
                await command(a, "disable", "b", "maintenance")
                await wait_state(b, "a", "IDLE")
                await wait_for(lambda: not learned(a, "b"), "B's routes gone from A")

                m = Samples(await scrape(pair.a_address, a_port))
                peer = dict(peer="b", neighbor=pair.b_address)
                assert m.value("bgp_peer_state", state="idle", **peer) == 1
                assert m.value("bgp_peer_state", state="established", **peer) == 0
                assert m.value("bgp_peer_enabled", **peer) == 0
                assert m.value("bgp_peer_uptime_seconds", **peer) == 0
                assert m.value("bgp_peer_established_transitions_total", **peer) == 1
                assert m.value("bgp_peer_session_downs_total", **peer) == 1
                assert m.value("bgp_peer_messages_sent_total", type="notification", **peer) == 1
                text = 'Cease / Hard reset: Cease / Administrative shutdown: "maintenance"'
                assert m.value("bgp_peer_last_error_info", kind="sent", error=text, **peer) == 1
                # A session that is down keeps its families' series, at zero.
                for fam in FAMILIES:
                    assert m.value("bgp_peer_prefixes_accepted", afi_safi=fam, **peer) == 0
                    assert m.value("bgp_peer_prefixes_advertised", afi_safi=fam, **peer) == 0
                    assert m.value("bgp_rib_prefixes", afi_safi=fam) == 1      # our own

                mb = Samples(await scrape(pair.b_address, b_port))
                assert mb.value("bgp_peer_last_error_info", peer="a", kind="received",
                                error=text) == 1
                assert mb.value("bgp_peer_messages_received_total", peer="a",
                                type="notification") == 1
                servers.cancel_scope.cancel()

    run(main)


# ----------------------------------------------------------------------------
# One daemon: the event hooks and the kernel's figures

def single(lo, sockdir, **top):
    address = lo.address()
    return address, daemon_config(router_id="10.0.0.1", asn=65001, address=address,
                                  port=free_port(address), socket_path=f"{sockdir}/bgpd.ctl",
                                  originate=[dict(prefix="10.1.0.0/24")], **top)


class FakeFib:
    def __init__(self, figures):
        self.figures = figures

    def status(self) -> dict:
        return self.figures


def test_decision_and_kernel_hooks(lo, sockdir):
    address, config = single(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with running_daemon(config) as d, trio.open_nursery() as servers:
                metrics = Metrics(d)
                port = await servers.start(serve, d, metrics, address, 0)
                metrics.decision(0.003, 5)
                metrics.decision(0.0002, 0)
                metrics.kernel_batch(0.02, 100, 2)
                metrics.kernel_batch(0.5, 7, 0)
                m = Samples(await scrape(address, port))
                assert m.value("bgp_decision_duration_seconds_count") == 2
                assert m.value("bgp_decision_duration_seconds_sum") == pytest.approx(0.0032)
                assert m.value("bgp_decision_duration_seconds_bucket", le="0.00025") == 1
                assert m.value("bgp_decision_duration_seconds_bucket", le="0.005") == 2
                assert m.value("bgp_best_path_changes_total") == 5
                assert m.value("bgp_kernel_routes_installed_total") == 107
                assert m.value("bgp_kernel_routes_failed_total") == 2
                assert m.value("bgp_netlink_batch_duration_seconds_count") == 2
                assert m.value("bgp_netlink_batch_duration_seconds_bucket", le="0.025") == 1
                assert m.value("bgp_rib_prefixes", afi_safi="ipv4-unicast") == 1
                assert not m.find("bgp_kernel_routes")

                # The FIB, when the daemon has one: the brief's "routes" key,
                # or kernel_sync's own status() names.
                d.fib = FakeFib({"routes": 42, "desired": 44, "conflicts": 1})
                m = Samples(await scrape(address, port))
                assert m.value("bgp_kernel_routes") == 42
                assert m.value("bgp_kernel_routes_desired") == 44
                assert m.value("bgp_kernel_routes_conflicting") == 1
                assert not m.find("bgp_kernel_routes_stale")
                d.fib = FakeFib({"desired": 3, "installed": 3, "unresolved": 0, "stale": 2,
                                 "graceful": True, "pending": 5, "last_error": "x"})
                m = Samples(await scrape(address, port))
                assert m.value("bgp_kernel_routes") == 3
                assert m.value("bgp_kernel_routes_stale") == 2
                assert m.value("bgp_kernel_routes_pending") == 5
                d.fib = object()                # no status(): nothing, and no error
                m = Samples(await scrape(address, port))
                assert not m.find("bgp_kernel_routes")

                # A second Metrics of the same daemon (its own registry) is
                # independent: the daemon's and a test's can coexist.
                other = Metrics(d)
                assert b"bgp_best_path_changes_total 0.0" in other.exposition()
                servers.cancel_scope.cancel()

    run(main)


def test_scrape_of_a_daemon_not_running(lo, sockdir):
    """Collecting outside trio (no session clock, no peer tasks yet) still
    gives a full page."""
    _address, config = single(lo, sockdir)
    log, _ = daemon_log("idle")
    m = Samples(Metrics(Daemon(config, log)).exposition().decode())
    assert m.value("bgp_router_info", router_id="10.0.0.1", asn="65001") == 1
    assert m.value("bgp_rib_prefixes", afi_safi="ipv4-unicast") == 1
    assert "bgp_peer_state" in m.families and not m.find("bgp_peer_state")


def test_kernel_figures_of_the_daemons_fib(sockdir):
    """The names ``Fib.status()`` really uses (the FIB not started: all zero)."""
    fib = pytest.importorskip("bgpd.fib")
    config = conf.loads(f'router_id = "10.0.0.1"\nasn = 65001\nlisten = []\n'
                        f'control_socket = "{sockdir}/bgpd.ctl"\n[kernel]\n')
    log, _ = daemon_log("fib")
    d = Daemon(config, log)
    if getattr(d, "fib", None) is None:
        d.fib = fib.Fib(config, d.routes, log)
    m = Samples(Metrics(d).exposition().decode())
    for name in bgpd_metrics.KERNEL_FAMILIES:
        assert m.value(name) == 0


# ----------------------------------------------------------------------------
# The HTTP responder

@pytest.mark.parametrize("request_bytes, status", [
    (get("/"), 404),
    (get("/metricsx"), 404),
    (get("/metrics", "POST"), 405),
    (get("/metrics", "DELETE"), 405),
    (b"nonsense\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
    (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"x" * 10000 + b"\r\n\r\n", 431),
    (b"GET /metrics HTTP/1.1\r\n", 408),            # never finishes its headers
    (b"GET /metrics?name=bgp HTTP/1.0\r\n\r\n", 200),
    (b"GET /metrics HTTP/1.1\n\n", 200),            # bare line feeds
], ids=["root", "other-path", "post", "delete", "garbage", "http2", "huge-header", "stalled",
        "query-http1.0", "bare-lf"])
def test_http_answers(lo, sockdir, request_bytes, status):
    address, config = single(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with running_daemon(config) as d, trio.open_nursery() as servers:
                port = await start_metrics(servers, d, address)
                got, headers, body = await http(address, port, request_bytes)
                assert got == status, body
                assert headers["connection"] == "close"
                assert int(headers["content-length"]) == len(body)
                if status == 405:
                    assert headers["allow"] == "GET, HEAD"
                if status == 200:
                    assert b"# HELP bgp_rib_prefixes" in body
                servers.cancel_scope.cancel()

    run(main)


def test_http_head_and_busy_clients(lo, sockdir):
    address, config = single(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with running_daemon(config) as d, trio.open_nursery() as servers:
                port = await start_metrics(servers, d, address)
                status, headers, body = await http(address, port, get(method="HEAD"))
                assert status == 200 and body == b""
                assert headers["content-type"] == CONTENT_TYPE_LATEST
                assert int(headers["content-length"]) > 1000     # the GET body's length
                status, headers, body = await http(address, port, get("/", "HEAD"))
                assert status == 404 and body == b""

                # Every slot taken by clients that say nothing: the next
                # scrape waits until their request deadline frees one.
                idle = [await trio.open_tcp_stream(address, port)
                        for _ in range(bgpd_metrics.MAX_CLIENTS)]
                try:
                    start = trio.current_time()
                    assert await scrape(address, port)
                    assert trio.current_time() - start >= bgpd_metrics.REQUEST_TIMEOUT
                finally:
                    for s in idle:
                        await s.aclose()
                servers.cancel_scope.cancel()

    run(main)


def test_port_in_use_is_an_error(lo, sockdir):
    address, config = single(lo, sockdir)

    async def main():
        with trio.fail_after(DEADLINE):
            async with running_daemon(config) as d, trio.open_nursery() as servers:
                port = await start_metrics(servers, d, address)
                with pytest.raises(OSError, match=f"metrics: cannot listen on {address}:{port}: "
                                                  "Address already in use"):
                    await servers.start(serve, d, Metrics(d), address, port)
                servers.cancel_scope.cancel()

    run(main)
