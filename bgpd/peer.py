"""One configured peer, driven on trio: the thin loop around ``fsm.Session``.

Per peer there is one nursery holding a timer task and, per TCP connection,
a reader and a writer (two connections exist only while a collision is
being resolved).  Everything the session says comes back as events, handled
in ``handle``; bytes to send are taken from the session by the writers,
which the session orders so that KEEPALIVE and NOTIFICATION never wait
behind UPDATEs.  Memory per peer is bounded: the reader reads the next
64 KiB only after the previous read's messages are processed, and the
writers stop taking UPDATE work while the session's send buffer is full.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time

import trio

from fsm import events as ev
from fsm.config import SessionConfig
from fsm.errors import describe as describe_notification
from fsm.session import Session
from fsm.states import State
from wire.capabilities import GracefulRestart
from wire.constants import IPV4_UNICAST
from wire.notification import Notification

from . import net
from .log import PeerLog

READ_SIZE = 65536
WRITE_CHUNK = 256 * 1024
CLOSE_TIMEOUT = 3.0
STATE_SHORT = {State.ESTABLISHED: "up"}
# RFC 4724 4.2's optional limit on stale routes of a peer that came back
# but never sent End-of-RIB (FRR's stalepath-time default).
STALE_PATH_TIME = 360


def session_config(config, peer, restarting: bool = False) -> SessionConfig:
    """The session options of a configured peer (conf.Peer).

    RFC 4724 section 3: the Restart State bit says we are recovering from a
    restart; a family's Forwarding State bit says our forwarding survives
    it, true when our routes stay in the kernel (``[kernel] persist``)."""
    gr = None
    if peer.graceful_restart:
        forwarding = config.kernel is not None and config.kernel.persist
        gr = GracefulRestart(peer.restart_time, restarting, True,
                             tuple((int(a), int(s), forwarding) for a, s in peer.families))
    return SessionConfig(
        local_as=peer.local_asn,
        local_id=int(config.router_id),
        peer_as=peer.asn,
        hold_time=peer.hold_time,
        keepalive_time=peer.keepalive or None,
        connect_retry_time=float(peer.connect_retry),
        delay_open_time=float(peer.delay_open) if peer.delay_open else None,
        passive=peer.passive,
        families=tuple(peer.families),
        add_path=tuple(peer.add_path),
        graceful_restart=gr,
        hostname=config.hostname,
        domain=config.domain or "",
        required_capabilities=tuple(peer.required_capabilities),
    )


class PeerTask:
    """Runs one peer's session until cancelled."""

    def __init__(self, daemon, peer, dynamic: bool = False):
        self.daemon = daemon
        self.peer = peer
        self.name = peer.name
        self.dynamic = dynamic
        self.log = PeerLog(daemon.log, {"name": peer.name, "address": str(peer.address)})
        self.session = Session(session_config(daemon.config, peer,
                                              daemon.graceful_restart_recovering),
                               rng=random.random,
                               attribute_cache=daemon.attribute_cache)
        self.streams: dict[int, trio.SocketStream] = {}
        self.local_address: str | None = None
        self._scopes: dict[int, trio.CancelScope] = {}
        self._finished: dict[int, trio.Event] = {}     # set when a connection's tasks end
        self._wake = trio.Event()           # the writers: something to send
        self._timer_wake = trio.Event()     # the timer task: a deadline moved earlier
        self._timer_at: float | None = None     # the deadline it sleeps until
        self._nursery: trio.Nursery | None = None
        self.since_wall = time.time()
        self.finished = trio.Event()        # run() has returned
        self._gr_timer: trio.CancelScope | None = None     # RFC 4724 4.2 timer
        daemon.routes.configure_peer(self)
        self.md5_drops_seen = None

    # ------------------------------------------------------------------
    # Life cycle
    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._timers)
                if self.peer.enabled:
                    self.handle(self.session.start(self.now(), passive=self.peer.passive))
                task_status.started()
        finally:
            for stream in list(self.streams.values()):
                with trio.CancelScope(shield=True):
                    await _close(stream)
            self.streams.clear()
            self.finished.set()

    def cancel(self) -> None:
        """End the task (its sockets close); the session is not told."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    @staticmethod
    def now() -> float:
        return trio.current_time()

    def enable(self) -> None:
        if not self.session.enabled:
            self.handle(self.session.start(self.now(), passive=self.peer.passive))

    def disable(self, message: str = "") -> None:
        self.handle(self.session.stop(self.now(), message or None))
        # Routes kept as stale for a restarting peer go with the session.
        self.stop_restart_timer()
        self.daemon.routes.down(self, False)

    def restart(self, message: str = "") -> None:
        self.handle(self.session.stop(self.now(), Notification.shutdown(
            message, subcode=4)))       # Cease / Administrative Reset (RFC 4486)
        self.handle(self.session.start(self.now(), passive=self.peer.passive))

    def restart_state(self, restarting: bool) -> None:
        """Set the Restart State bit of the OPENs we send from now on."""
        cfg = self.session.config
        if cfg.graceful_restart is not None and cfg.graceful_restart.restarting != restarting:
            self.session.config = dataclasses.replace(
                cfg, graceful_restart=dataclasses.replace(cfg.graceful_restart,
                                                          restarting=restarting))

    def request_refresh(self) -> list[str]:
        """ROUTE-REFRESH (RFC 2918) for every family in use; the families asked."""
        from wire.constants import family_name
        now = self.now()
        asked = [family_name(a, s) for a, s in sorted(self.session.families)
                 if self.session.send_route_refresh(now, a, s)]
        self._poke()
        return asked

    def incoming(self, stream: trio.SocketStream) -> None:
        """The peer connected to one of our listeners."""
        conn, events = self.session.accept(self.now())
        try:
            net.configure_session_socket(stream.socket, self.peer)
        except OSError as e:
            self.log.warning("cannot set socket options: %s", net.describe_os_error(e))
        self.streams[conn] = stream
        self.handle(events)
        if conn in self.streams:
            self._start_connection(conn, stream)

    # ------------------------------------------------------------------
    # Events from the session
    def handle(self, events) -> None:
        for event in events:
            handler = self._HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)
        self._poke()

    def poke(self) -> None:
        """Wake the writers (new data queued in the session or the export
        layer).  A route reflector pokes every client after every read:
        setting an event that is already set is skipped (the writers make
        a fresh one when they wake)."""
        wake = self._wake
        if not wake.is_set():
            wake.set()

    def _poke(self) -> None:
        """After session events: wake the writers, and the timer task only
        when a deadline moved earlier than the one it sleeps until (a
        later one it finds by itself when it wakes)."""
        self.poke()
        d = self.session.next_deadline()
        if d is not None:
            at = self._timer_at
            if at is None or d < at:
                self._timer_wake.set()
                self._timer_wake = trio.Event()

    def _on_connect(self, e: ev.Connect) -> None:
        self._nursery.start_soon(self._dial, e.conn)

    def _on_close(self, e: ev.CloseConnection) -> None:
        scope = self._scopes.pop(e.conn, None)
        if scope is not None:
            scope.cancel()
        stream = self.streams.pop(e.conn, None)
        if stream is not None:
            self._nursery.start_soon(self._send_and_close, stream, e.data,
                                     self._finished.get(e.conn))

    def _on_state(self, e: ev.StateChanged) -> None:
        self.since_wall = time.time()
        level = self.log.info if State.ESTABLISHED in (e.old, e.new) else self.log.debug
        level("%s -> %s%s", e.old.name.capitalize(), e.new.name.capitalize(),
              f" ({e.reason})" if e.reason else "")

    def _on_established(self, e: ev.Established) -> None:
        n = e.negotiated
        if self.session.negotiated is not n:
            # The same read also ended this session (the peer's NOTIFICATION
            # or close right behind its KEEPALIVE): the SessionDown that
            # follows in this batch finds nothing to undo.
            self.log.info("session established and lost in the same read (now %s)",
                          self.session.state.name.capitalize())
            return
        self.log.info("session established: AS %d, id %s, hold %ds, families %s",
                      n.peer_as, _ip(n.peer_id), n.hold_time,
                      ", ".join("%d/%d" % f for f in sorted(self.session.families)))
        self.daemon.routes.established(self)

    def _on_down(self, e: ev.SessionDown) -> None:
        self.log.info("session down: %s%s", e.reason,
                      " (graceful restart: routes kept as stale)" if e.graceful_restart else "")
        # One timer per peer: a newer restart replaces the older one's.
        self.stop_restart_timer()
        self.daemon.routes.down(self, e.graceful_restart)
        if e.graceful_restart:
            self._gr_timer = trio.CancelScope()
            self._nursery.start_soon(self._restart_timer,
                                     e.negotiated.graceful_restart.restart_time, self._gr_timer)

    def _on_update(self, e: ev.UpdateReceived) -> None:
        u = e.update
        if u.problems:
            for p in u.problems:
                self.log.warning("malformed UPDATE, %s: %s", p.action.label, p.reason)
        self.daemon.routes.update(self, u)

    def _on_refresh(self, e: ev.RouteRefreshReceived) -> None:
        self.log.info("route refresh requested for %d/%d (subtype %d)", e.afi, e.safi, e.subtype)
        self.daemon.routes.refresh(self, (e.afi, e.safi), e.subtype)

    def _on_family_disabled(self, e: ev.FamilyDisabled) -> None:
        self.log.warning("address family %d/%d disabled: %s", e.afi, e.safi, e.reason)
        self.daemon.routes.family_disabled(self, (e.afi, e.safi))

    def _on_notification_sent(self, e: ev.NotificationSent) -> None:
        self.log.warning("NOTIFICATION sent: %s", describe_notification(e.notification))

    def _on_notification_received(self, e: ev.NotificationReceived) -> None:
        self.log.warning("NOTIFICATION received: %s", describe_notification(e.notification))

    _HANDLERS = {
        ev.Connect: _on_connect,
        ev.CloseConnection: _on_close,
        ev.StateChanged: _on_state,
        ev.Established: _on_established,
        ev.SessionDown: _on_down,
        ev.UpdateReceived: _on_update,
        ev.RouteRefreshReceived: _on_refresh,
        ev.FamilyDisabled: _on_family_disabled,
        ev.NotificationSent: _on_notification_sent,
        ev.NotificationReceived: _on_notification_received,
    }

    # ------------------------------------------------------------------
    # Tasks
    async def _timers(self) -> None:
        while True:
            deadline = self.session.next_deadline()
            self._timer_at = deadline
            wake = self._timer_wake
            with trio.move_on_at(deadline if deadline is not None else math.inf):
                await wake.wait()
            now = self.now()
            if deadline is not None and now >= deadline:
                self.handle(self.session.handle_timer(now))

    async def _restart_timer(self, seconds: int, scope: trio.CancelScope) -> None:
        """RFC 4724 section 4.2: a restarting peer's stale routes are kept
        for its Restart Time; if the session is not back by then, they go.
        Back, its End-of-RIB sweeps them; a peer that never sends one loses
        them after ``STALE_PATH_TIME`` (FRR's stalepath-time), unless the
        session went down again meanwhile (a newer timer then decides)."""
        counters = self.session.counters
        ups = counters.established_transitions
        with scope:
            await trio.sleep(seconds)
            if counters.established_transitions == ups:
                self.log.info("not back within its restart time (%ds): stale routes removed",
                              seconds)
                self.daemon.routes.down(self, False)
                return
            await trio.sleep(max(0.0, STALE_PATH_TIME - seconds))
            if self.session.negotiated is not None:
                removed = self.daemon.routes.sweep_stale(self)
                if removed:
                    self.log.warning("no End-of-RIB %ds after the restart: %d stale routes "
                                     "removed", STALE_PATH_TIME, removed)
        if self._gr_timer is scope:
            self._gr_timer = None

    def stop_restart_timer(self) -> None:
        """No stale routes left (End-of-RIB, or all deleted): no timer."""
        if self._gr_timer is not None:
            self._gr_timer.cancel()
            self._gr_timer = None

    async def _dial(self, conn: int) -> None:
        with trio.CancelScope() as scope:
            self._scopes[conn] = scope
            # The ConnectRetryTimer (0.75..1 x connect_retry, jittered)
            # abandons a dial that has not completed; time out before it so
            # that the failure is recorded ("connection timed out") and the
            # kernel's MD5 drop counters are read, instead of vanishing.
            timeout = min(30.0, 0.7 * float(self.peer.connect_retry))
            try:
                stream = await net.dial(self.peer, timeout)
            except (OSError, trio.TooSlowError) as e:
                if self._scopes.get(conn) is scope:
                    del self._scopes[conn]
                self.log.debug("connect failed: %s", net.describe_os_error(e))
                self.handle(self.session.connection_failed(self.now(), conn,
                                                           net.describe_os_error(e)))
                self._note_md5_drops()
                return
            if self._scopes.get(conn) is scope:
                del self._scopes[conn]
            self.streams[conn] = stream
            self.handle(self.session.connection_made(self.now(), conn))
            if conn in self.streams:
                self._start_connection(conn, stream)
                return
        # Cancelled (the session no longer wants this dial).

    def _start_connection(self, conn: int, stream: trio.SocketStream) -> None:
        scope = trio.CancelScope()
        self._scopes[conn] = scope
        self._finished[conn] = trio.Event()
        try:
            self.local_address = stream.socket.getsockname()[0]
        except OSError:
            pass
        self._nursery.start_soon(self._connection, conn, stream, scope)

    async def _connection(self, conn, stream, scope) -> None:
        try:
            with scope:
                async with trio.open_nursery() as n:
                    n.start_soon(self._reader, conn, stream)
                    n.start_soon(self._writer, conn, stream)
        finally:
            self._finished.pop(conn).set()

    async def _reader(self, conn: int, stream: trio.SocketStream) -> None:
        while True:
            try:
                data = await stream.receive_some(READ_SIZE)
            except (trio.BrokenResourceError, OSError) as e:
                self.handle(self.session.connection_closed(self.now(), conn,
                                                           net.describe_os_error(e)))
                return
            if not data:
                self.handle(self.session.connection_closed(self.now(), conn,
                                                           "connection closed by peer"))
                return
            self.handle(self.session.receive_data(self.now(), conn, data))
            # One decision pass per read: the batch of prefixes it touched.
            self.daemon.routes.flush()
            if conn not in self.streams:
                return
            await trio.sleep(0)     # let the writers and other peers run between reads

    async def _writer(self, conn: int, stream: trio.SocketStream) -> None:
        while True:
            data = self.session.data_to_send(conn, WRITE_CHUNK)
            if not data:
                wake = self._wake
                if wake.is_set():
                    # Woken: a fresh event for the next poke, taken before
                    # looking for work so that no poke is lost.
                    wake = self._wake = trio.Event()
                self.daemon.routes.writable(self)
                if self.session.pending(conn):
                    continue
                await wake.wait()
                continue
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, OSError) as e:
                self.handle(self.session.connection_closed(self.now(), conn,
                                                           net.describe_os_error(e)))
                return

    async def _send_and_close(self, stream: trio.SocketStream, data: bytes,
                              finished: trio.Event | None = None) -> None:
        with trio.move_on_after(CLOSE_TIMEOUT) as cs:
            cs.shield = True
            if data:
                try:
                    try:
                        await stream.send_all(data)
                    except trio.BusyResourceError:
                        # The connection's writer, just cancelled, is still
                        # inside send_all on this stream: let it leave.
                        if finished is None:
                            raise
                        await finished.wait()
                        await stream.send_all(data)
                except (trio.BusyResourceError, trio.BrokenResourceError,
                        trio.ClosedResourceError, OSError):
                    pass
        await _close(stream)

    def _note_md5_drops(self) -> None:
        """Say in the log when the kernel drops segments for MD5 reasons, the
        only trace a key mismatch leaves (RFC 2385 gives no error back)."""
        if not self.peer.password:
            return
        from .sockopts import md5_drop_counters
        now = md5_drop_counters()
        before, self.md5_drops_seen = self.md5_drops_seen, now
        if before is None:
            return
        grown = {k: now[k] - before.get(k, 0) for k in now if now[k] > before.get(k, 0)}
        if grown:
            words = {"TCPMD5NotFound": "unsigned", "TCPMD5Unexpected": "signed without a key",
                     "TCPMD5Failure": "with a wrong MD5 signature"}
            self.log.warning("the kernel dropped TCP segments: %s (TCP MD5, RFC 2385): "
                             "check that both sides use the same password",
                             ", ".join(f"{n} {words[k]}" for k, n in grown.items()))

    # ------------------------------------------------------------------
    # The operator's view
    def summary(self) -> dict:
        s = self.session
        state = s.state
        info = state.name.capitalize()
        if state != State.ESTABLISHED:
            if not s.enabled:
                info = "Disabled" if not self.peer.enabled or s.last_error is None \
                    else info
            if s.last_error is not None:
                info += "  " + s.last_error.describe()
        return {
            "name": self.name, "proto": "BGP", "table": "master",
            "address": str(self.peer.address), "asn": self.peer.asn,
            "state": state.name.capitalize(),
            "state_short": STATE_SHORT.get(state, "start" if s.enabled else "down"),
            "since": self.since_wall, "info": info,
        }

    def detail(self) -> dict:
        s = self.session
        now = self.now()
        out = self.summary()
        d = {
            "description": self.peer.description or "",
            "bgp_state": out["state"],
            "neighbor_address": str(self.peer.address),
            "neighbor_as": self.peer.asn,
            "local_as": self.peer.local_asn,
            "type": "iBGP" if self.peer.is_ibgp else "eBGP",
            "passive": self.peer.passive,
            "source_address": self.local_address or "",
        }
        info = s.info(now)
        d["last_error"] = info.get("last_error") or "-"
        d["last_notification_sent"] = info.get("last_sent") or "-"
        d["last_notification_received"] = info.get("last_received") or "-"
        d["timers"] = {k: f"{v:.1f}s left" for k, v in info.get("timers", {}).items()}
        if "negotiated" in info:
            d["negotiated"] = info["negotiated"]
            if info["negotiated"].get("peer_id") is not None:
                d["negotiated"]["peer_id"] = _ip(info["negotiated"]["peer_id"])
        if info.get("uptime") is not None:
            d["uptime"] = f"{info['uptime']:.0f}s"
        counters = dict(info.get("counters", {}))
        counters.pop("last_state_change", None)     # shown as "since"
        d["messages"] = counters
        d["routes"] = self.daemon.routes.counts(self)
        d["import_policy"], d["export_policy"] = self.daemon.routes.notes(self)
        out["detail"] = d
        return out


def _ip(n) -> str:
    if isinstance(n, str):
        return n
    return ".".join(str(b) for b in int(n).to_bytes(4, "big"))


async def _close(stream) -> None:
    try:
        await stream.aclose()
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


__all__ = ["PeerTask", "session_config", "IPV4_UNICAST"]
