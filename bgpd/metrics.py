"""Prometheus metrics of one daemon, served over HTTP on trio.

How it works
------------
``Metrics(daemon)`` owns a private ``CollectorRegistry`` (several daemons
can run in one process, as the tests do) holding:

- the process, platform and garbage-collector collectors of
  ``prometheus_client`` (``process_*``, ``python_info``, ``python_gc_*``);
- ``DaemonCollector``, which reads the daemon's state when Prometheus
  scrapes -- sessions (state, counters of ``fsm``), routes per peer and
  family (``Routing.counts``), the RIB's size, the kernel FIB's size -- so
  the receive path pays nothing for these figures;
- a few instruments for events that leave no state behind, which the
  daemon calls after the work is done: ``decision`` after each decision
  batch and ``kernel_batch`` after each netlink apply.

``serve(daemon, metrics, host, port)`` is a small HTTP/1.1 responder on a
trio socket: ``GET`` or ``HEAD /metrics`` answer with the text exposition
format 0.0.4; other paths get 404, other methods 405.  One request per
connection, then the connection is closed.  Each client has a deadline and
a bounded request size, and at most ``MAX_CLIENTS`` are served at once, so
a stuck scraper holds nothing of the daemon's.  The figures are read in
the daemon's own thread, where its state is never half-changed; the text
is written from that snapshot in a worker thread.

Names follow the Prometheus conventions: ``bgp_`` prefix, ``_total`` on
counters, seconds as the unit of time.  Every per-peer family carries the
labels ``peer`` (the configured name), ``neighbor`` (its address),
``peer_as`` and ``peer_type`` (``ibgp`` or ``ebgp``); address-family
figures add ``afi_safi`` (``ipv4-unicast``).  The session state is a state set: one
series per FSM state (RFC 4271 section 8.2.2), 1 for the current one.
"""

from __future__ import annotations

import socket
import time

import trio
from prometheus_client import (CollectorRegistry, Counter, GCCollector, Histogram,
                               PlatformCollector, ProcessCollector)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from fsm.states import State
from rib.errors import RibError
from wire.constants import MessageType, family_name

from .net import describe_os_error

# Decision batches run from tens of microseconds (one prefix) to seconds (a
# full table); netlink batches from a millisecond to seconds.
DECISION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NETLINK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0, 30.0)

PEER_LABELS = ("peer", "neighbor", "peer_as", "peer_type")
STATE_LABEL = {s: str(s).lower() for s in State}            # "opensent", "established"
MESSAGE_LABEL = {t: t.name.lower() for t in MessageType}    # "keepalive", "route_refresh"


class Metrics:
    """The daemon's registry and its event-driven instruments."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(DaemonCollector(daemon))
        r = self.registry
        self._decision_seconds = Histogram(
            "bgp_decision_duration_seconds",
            "Time one decision batch took (best-path selection over the prefixes one "
            "socket read touched).", buckets=DECISION_BUCKETS, registry=r)
        self._best_path_changes = Counter(
            "bgp_best_path_changes",
            "Prefixes whose selected routes changed in the Loc-RIB.", registry=r)
        self._kernel_installed = Counter(
            "bgp_kernel_routes_installed",
            "Route operations written to the kernel FIB and accepted (add, replace, delete, "
            "restore).", registry=r)
        self._kernel_failed = Counter(
            "bgp_kernel_routes_failed",
            "Route operations the kernel refused.", registry=r)
        self._netlink_seconds = Histogram(
            "bgp_netlink_batch_duration_seconds",
            "Time one batch of netlink route requests took.", buckets=NETLINK_BUCKETS,
            registry=r)

    # -- hooks the daemon calls ------------------------------------------------
    def decision(self, seconds: float, changes: int) -> None:
        """After each decision batch: how long it took, how many prefixes changed."""
        self._decision_seconds.observe(seconds)
        if changes:
            self._best_path_changes.inc(changes)

    def kernel_batch(self, seconds: float, installed: int, failed: int) -> None:
        """After each kernel apply: its duration and the operations done and refused."""
        self._netlink_seconds.observe(seconds)
        if installed:
            self._kernel_installed.inc(installed)
        if failed:
            self._kernel_failed.inc(failed)

    # -- the page ----------------------------------------------------------------
    def exposition(self) -> bytes:
        """The text exposition format (0.0.4) of everything in the registry."""
        return generate_latest(self.registry)

    async def page(self) -> bytes:
        """``exposition``, with the figures read here, in the daemon's
        thread, and the text written in a worker thread: writing is most of
        the work (about 0.3 ms a peer), and the sessions' timers should not
        wait for it."""
        snapshot = _Snapshot(list(self.registry.collect()))
        return await trio.to_thread.run_sync(generate_latest, snapshot)


class _Snapshot:
    """Collected metric families, in the shape ``generate_latest`` reads."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


# ----------------------------------------------------------------------------
# Read at scrape time

# Per-peer families: name -> (kind, help, extra labels).  The collector
# fills them from each peer in turn; the tables keep names and help text in
# one place.
_GAUGE, _COUNTER = GaugeMetricFamily, CounterMetricFamily
PEER_FAMILIES = {
    "bgp_peer_state": (
        _GAUGE, "BGP FSM state of the session (RFC 4271 8.2.2): 1 for the current state, "
                "0 for the others.", ("state",)),
    "bgp_peer_enabled": (
        _GAUGE, "1 when the session is administratively enabled, 0 when disabled.", ()),
    "bgp_peer_uptime_seconds": (
        _GAUGE, "Seconds since the session reached Established; 0 when it is not.", ()),
    "bgp_peer_last_state_change_timestamp_seconds": (
        _GAUGE, "Unix time of the session's last state change.", ()),
    "bgp_peer_established_transitions": (
        _COUNTER, "Times the session reached Established (RFC 4273 "
                  "bgpPeerFsmEstablishedTransitions).", ()),
    "bgp_peer_session_downs": (
        _COUNTER, "Times the session left Established.", ()),
    "bgp_peer_connect_retries": (
        _GAUGE, "ConnectRetryCounter of RFC 4271: failed connection attempts since the "
                "session was last started or stopped.", ()),
    "bgp_peer_messages_received": (
        _COUNTER, "BGP messages received, by type.", ("type",)),
    "bgp_peer_messages_sent": (
        _COUNTER, "BGP messages sent (queued for the peer), by type.", ("type",)),
    "bgp_peer_updates_accepted": (
        _COUNTER, "UPDATE messages received in Established and passed to the RIB.", ()),
    "bgp_peer_prefixes_received": (
        _GAUGE, "Prefixes the peer has announced and not withdrawn, before import policy "
                "(absent when import policy runs without a kept pre-policy copy).",
        ("afi_safi",)),
    "bgp_peer_prefixes_accepted": (
        _GAUGE, "Prefixes in the peer's Adj-RIB-In after import policy (stale ones "
                "included).", ("afi_safi",)),
    "bgp_peer_prefixes_rejected": (
        _GAUGE, "Prefixes received and rejected by import policy (absent when not known).",
        ("afi_safi",)),
    "bgp_peer_prefixes_stale": (
        _GAUGE, "Prefixes kept as stale during graceful restart or an enhanced route "
                "refresh.", ("afi_safi",)),
    "bgp_peer_prefixes_best": (
        _GAUGE, "Prefixes whose best path comes from this peer.", ("afi_safi",)),
    "bgp_peer_prefixes_advertised": (
        _GAUGE, "Prefixes in the peer's Adj-RIB-Out.", ("afi_safi",)),
}

RIB_FAMILIES = {
    # name -> (help, key of Rib.counts())
    "bgp_rib_prefixes": ("Prefixes in the RIB with at least one candidate path.", "prefixes"),
    "bgp_rib_selected_prefixes": ("Prefixes with a selected route in the Loc-RIB.",
                                  "selected"),
    "bgp_rib_paths": ("Candidate paths in the Adj-RIBs-In of every source, originated "
                      "routes included.", "paths"),
}

# Kernel FIB figures: name -> (help, keys of the FIB's status(), first present wins).
KERNEL_FAMILIES = {
    "bgp_kernel_routes": ("Routes of the daemon's protocol in the kernel FIB.",
                          ("routes", "installed")),
    "bgp_kernel_routes_desired": ("Routes the daemon wants in the kernel FIB.",
                                  ("desired",)),
    "bgp_kernel_routes_unresolved": ("Destinations not installed: next hop unresolved.",
                                     ("unresolved",)),
    "bgp_kernel_routes_conflicting": ("Destinations not installed: another protocol's "
                                      "route holds the key.", ("conflicts",)),
    "bgp_kernel_routes_stale": ("Routes of ours kept from before a restart, not yet "
                                "confirmed or swept.", ("stale",)),
    "bgp_kernel_routes_pending": ("Destinations changed in the Loc-RIB, waiting to be "
                                  "written to the kernel.", ("pending",)),
}


class DaemonCollector(Collector):
    """Reads the daemon's sessions, RIB and FIB when Prometheus scrapes."""

    def __init__(self, daemon):
        self.daemon = daemon

    def collect(self):
        d = self.daemon
        info = InfoMetricFamily("bgp_router", "The speaker: version, BGP Identifier and AS.",
                                labels=("router_id", "asn", "version"))
        info.add_metric((str(d.config.router_id), str(d.config.asn), _version()), {})
        yield info
        families = {name: kind(name, doc, labels=PEER_LABELS + extra)
                    for name, (kind, doc, extra) in PEER_FAMILIES.items()}
        errors = InfoMetricFamily("bgp_peer_last_error",
                                  "The last error of the session: who saw it (sent, received, "
                                  "socket, local) and what it was.",
                                  labels=PEER_LABELS + ("kind", "error"))
        now = _now()
        for task in list(d.peers.values()):
            _peer(d, task, now, families, errors)
        yield from families.values()
        yield errors
        yield from _rib(d)
        yield from _kernel(d)


def _peer(d, task, now, families, errors) -> None:
    p = task.peer
    s = task.session
    labels = (task.name, str(p.address), str(p.asn), "ibgp" if p.is_ibgp else "ebgp")

    def put(name, value, *extra):
        families[name].add_metric(labels + extra, value)

    state = s.state
    for st, text in STATE_LABEL.items():
        put("bgp_peer_state", 1.0 if st == state else 0.0, text)
    put("bgp_peer_enabled", 1.0 if s.enabled else 0.0)
    uptime = s.uptime(now) if now is not None else None
    put("bgp_peer_uptime_seconds", uptime or 0.0)
    put("bgp_peer_last_state_change_timestamp_seconds", task.since_wall)
    c = s.counters
    put("bgp_peer_established_transitions", c.established_transitions)
    put("bgp_peer_session_downs", c.session_downs)
    put("bgp_peer_connect_retries", c.connect_retries)
    put("bgp_peer_updates_accepted", c.updates_in)
    for t, text in MESSAGE_LABEL.items():
        put("bgp_peer_messages_received", c.messages_in[t], text)
        put("bgp_peer_messages_sent", c.messages_out[t], text)
    if s.last_error is not None:
        errors.add_metric(labels + (s.last_error.kind, s.last_error.text), {})

    counts = d.routes.counts(task)
    # Without an import policy every announced prefix enters the Adj-RIB-In,
    # so what was received is what was accepted.
    unfiltered = _without_import_policy(d, task)
    names = {family_name(int(a), int(f)) for a, f in p.families} | set(counts)
    for fam in sorted(names):
        n = counts.get(fam, {})
        accepted = n.get("accepted", 0)
        received = n.get("received", accepted if unfiltered else None)
        put("bgp_peer_prefixes_accepted", accepted, fam)
        if received is not None:
            put("bgp_peer_prefixes_received", received, fam)
            put("bgp_peer_prefixes_rejected", max(received - accepted, 0), fam)
        put("bgp_peer_prefixes_stale", n.get("stale", 0), fam)
        put("bgp_peer_prefixes_best", n.get("preferred", 0), fam)
        put("bgp_peer_prefixes_advertised", n.get("exported", 0), fam)


def _without_import_policy(d, task) -> bool:
    try:
        return not d.routes.rib.source_status(task.name)["import_policy"]
    except RibError:
        return True         # not a source (never up, or gone): nothing received


def _rib(d):
    counts = d.routes.rib.counts()
    for name, (doc, key) in RIB_FAMILIES.items():
        g = GaugeMetricFamily(name, doc, labels=("afi_safi",))
        for fam, n in sorted(counts.items()):
            g.add_metric((family_name(*fam),), n[key])
        yield g


def _kernel(d):
    fib = getattr(d, "fib", None)
    status = getattr(fib, "status", None)
    if status is None:
        return
    figures = status()
    if not isinstance(figures, dict):
        return
    for name, (doc, keys) in KERNEL_FAMILIES.items():
        value = next((figures[k] for k in keys if k in figures), None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield GaugeMetricFamily(name, doc, value=value)


def _now() -> float | None:
    """The session clock (trio's); None when scraped outside the daemon's run."""
    try:
        return trio.current_time()
    except RuntimeError:
        return None


def _version() -> str:
    from .daemon import VERSION         # the daemon module imports this one
    return VERSION


# ----------------------------------------------------------------------------
# HTTP

MAX_CLIENTS = 8             # scrapes served at once; more wait in the backlog
MAX_REQUEST = 8192          # octets of request line and headers
REQUEST_TIMEOUT = 10.0      # seconds a client has to send its request
SEND_TIMEOUT = 30.0         # and to read the answer
LINGER_TIMEOUT = 2.0        # and to close its side after the answer
MAX_LINGER = 1 << 20        # octets read and dropped after the answer
METRICS_PATH = "/metrics"
ALLOWED = ("GET", "HEAD")

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 505: "HTTP Version Not Supported"}


async def serve(daemon, metrics: Metrics, host: str, port: int,
                task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Answer scrapes on ``host``:``port`` until cancelled.  Port 0 takes a
    free port; ``task_status.started`` receives the port bound."""
    sock = await _listen(host, port)
    try:
        bound = sock.getsockname()[1]
        listener = trio.SocketListener(sock)
        slots = trio.Semaphore(MAX_CLIENTS)
        async with trio.open_nursery() as nursery:
            daemon.log.info("metrics on http://%s:%d%s", _shown(host), bound, METRICS_PATH)
            task_status.started(bound)
            while True:
                await slots.acquire()
                try:
                    stream = await listener.accept()
                except OSError as e:            # out of descriptors, say
                    slots.release()
                    daemon.log.warning("metrics: accept failed: %s", e)
                    await trio.sleep(0.1)
                    continue
                nursery.start_soon(_client, daemon, metrics, stream, slots)
    finally:
        sock.close()


async def _listen(host: str, port: int):
    infos = await trio.socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                          flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    sock = trio.socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # "::" answers IPv4 scrapers too: the exporter has one listener.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        await sock.bind(address)
        sock.listen(MAX_CLIENTS * 4)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"metrics: cannot listen on {_shown(host)}:{port}: "
                               f"{describe_os_error(e)}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _client(daemon, metrics, stream, slots) -> None:
    try:
        async with stream:
            request = 408               # unless it comes in time
            with trio.move_on_after(REQUEST_TIMEOUT):
                request = await _read_request(stream)
            if request is None:
                return                  # gone before the end of its request
            status, head, body = await _respond(daemon, metrics, request)
            with trio.move_on_after(SEND_TIMEOUT):
                await stream.send_all(head + body)
                await _linger(stream)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass                    # the scraper went away
    finally:
        slots.release()


async def _linger(stream) -> None:
    """Close our side, then read what the client still sends (a body we
    did not read, say) until it closes: closing a socket with unread data
    resets the connection, and the client could lose the answer."""
    await stream.send_eof()
    drained = 0
    with trio.move_on_after(LINGER_TIMEOUT):
        while drained < MAX_LINGER:
            data = await stream.receive_some(65536)
            if not data:
                return
            drained += len(data)


async def _read_request(stream) -> bytes | int | None:
    """The request line and headers; an error status when they are too
    long; None when the client stopped before the end of its headers."""
    buf = b""
    while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
        if len(buf) > MAX_REQUEST:
            return 431
        data = await stream.receive_some(4096)
        if not data:
            return None
        buf += data
    return 431 if len(buf) > MAX_REQUEST else buf


async def _respond(daemon, metrics, request) -> tuple[int, bytes, bytes]:
    if isinstance(request, int):
        return _answer(request)
    line = request.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _answer(400)
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        return _answer(505)
    path = target.split("?", 1)[0]
    if method not in ALLOWED:
        return _answer(405, extra=(("Allow", ", ".join(ALLOWED)),))
    if path != METRICS_PATH:
        return _answer(404, f"not found; metrics are at {METRICS_PATH}\n".encode(),
                       head_only=method == "HEAD")
    try:
        body = await metrics.page()
    except Exception:               # a broken figure must not take the daemon down
        daemon.log.exception("metrics: collecting failed")
        return _answer(500, head_only=method == "HEAD")
    return _answer(200, body, CONTENT_TYPE_LATEST, head_only=method == "HEAD")


def _answer(status: int, body: bytes | None = None, content_type: str = "text/plain; "
            "charset=utf-8", extra=(), head_only: bool = False) -> tuple[int, bytes, bytes]:
    """Status line and headers, and the body (empty for HEAD, whose
    Content-Length is still the GET body's, RFC 9110 section 9.3.2)."""
    if body is None:
        body = f"{status} {REASONS[status]}\n".encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("Connection", "close"), ("Date", _http_date()), *extra]
    head = f"HTTP/1.1 {status} {REASONS[status]}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return status, head.encode("latin-1"), b"" if head_only else body


def _http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


__all__ = ["DaemonCollector", "Metrics", "serve"]
