"""``Session``: one configured peer, sans-IO (RFC 4271 sections 6.8, 8).

The driver owns sockets, the clock and the tasks; the session owns the
protocol.  Everything goes in through a method that takes ``now`` (seconds,
any monotonic origin) and comes out as a list of events (``fsm.events``)
plus bytes per connection (``data_to_send``).  Timers are deadlines: the
driver sleeps until ``next_deadline()`` and calls ``handle_timer(now)``.

Connections have integer ids chosen by the session: ``Connect(conn)`` asks
the driver to dial, ``accept(now)`` gives an id to a connection the peer
made.  A session has one main FSM instance (``primary``, whose state is the
session's state) and, while a collision is being resolved, a second one for
the other TCP connection (RFC 4271 section 6.8).  When one of them loses
the collision or its connection, the other carries on.

Inbound bytes are framed by ``wire.Framer`` and decoded by ``wire``; each
message becomes an FSM event (``FsmEvent``) and goes through the single
transition table in ``transitions.py``.  UPDATEs are decoded with a
``wire.UpdateCodec`` built from what was negotiated, sharing the driver's
``AttributeCache``.
"""

from __future__ import annotations

from typing import Callable, Iterable

from wire.attributes import AttributeCache
from wire.capabilities import RouteRefresh as RouteRefreshCapability
from wire.constants import (CeaseSubcode, ErrorCode, MAX_MESSAGE_LEN, MessageType,
                            RefreshSubtype, family_name)
from wire.errors import Action, WireError
from wire.messages import KEEPALIVE_BYTES, RouteRefresh, encode
from wire.notification import Notification
from wire.update import Update, UpdateCodec

from . import collision
from .config import SessionConfig
from .connection import Connection
from .counters import Counters
from .errors import SessionError, hard_reset, is_hard_reset, notification_error
from .events import (CloseConnection, Connect, Established, FamilyDisabled,
                     NotificationReceived, NotificationSent, RouteRefreshReceived,
                     SessionDown, StateChanged, UpdateReceived)
from .negotiate import Negotiated, local_open, negotiate
from .states import CONNECTION_TIMERS, TIMER_EVENT, FsmEvent, State, Timer
from .timers import idle_hold_time, jittered
from .inbound import CLASSIFY, V4U, all_in, only
from .transitions import COLLISION, TRANSITIONS, fsm_error

E = FsmEvent
S = State
CONNECTION_REJECTED = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED)
MAX_PENDING_DIALS = 2
_MAX_TIMER_ROUNDS = 64
# The hot path of receive_data calls this row's handler directly; it must
# never leave Established.
_UPDATE_IN_ESTABLISHED = TRANSITIONS[(S.ESTABLISHED, E.UPDATE_MSG)].handler
assert TRANSITIONS[(S.ESTABLISHED, E.UPDATE_MSG)].next == S.ESTABLISHED


class Session:
    """One BGP session with one configured peer.

    ``attribute_cache``: an ``AttributeCache`` shared by sessions (used when
    its ASN width matches the session's), or a callable
    ``four_octet -> AttributeCache``.  ``rng``: a function returning floats
    in [0, 1) for timer jitter, or None for none.
    """

    def __init__(self, config: SessionConfig, *, rng: Callable[[], float] | None = None,
                 attribute_cache=None):
        self.config = config
        self._rng = rng
        self._cache = attribute_cache
        self.local_open = local_open(config)
        # An OPEN never exceeds 4096 octets (RFC 8654 section 4); refuse a
        # configuration that would need more, here rather than at runtime.
        self._open_bytes = encode(self.local_open, MAX_MESSAGE_LEN)
        self.primary = Connection()
        self._others: list[Connection] = []
        self._by_conn: dict[int, Connection] = {}
        self._pending_dials: list[int] = []
        self._next_id = 0
        self._events: list = []
        self._deferred: list = []
        self._why: str | None = None
        self._cause: SessionError | None = None    # what ended a connection, this call
        self._graceful_loss = False         # the session just ended under graceful restart
        self.enabled = False                # ManualStart given and no ManualStop since
        self.damping_level = 0              # errors since the session was last stable
        self.established_at: float | None = None
        self.counters = Counters()
        self.last_error: SessionError | None = None
        self.last_sent: SessionError | None = None
        self.last_received: SessionError | None = None

    # ======================================================================
    # What the driver reads
    # ======================================================================
    @property
    def state(self) -> State:
        return self.primary.state

    @property
    def negotiated(self) -> Negotiated | None:
        """What was agreed, once Established (None before)."""
        p = self.primary
        return p.negotiated if p.state == S.ESTABLISHED else None

    @property
    def codec(self) -> UpdateCodec | None:
        """The UPDATE codec for this session's negotiated options."""
        return self.primary.codec

    @property
    def families(self) -> frozenset:
        """The address families in use (negotiated minus disabled ones)."""
        p = self.primary
        return p.families if p.state == S.ESTABLISHED else frozenset()

    @property
    def connections(self) -> tuple:
        """Ids of the TCP connections the session is using."""
        return tuple(c.conn for c in self._fsms() if c.conn is not None)

    def uptime(self, now: float) -> float | None:
        return None if self.established_at is None else now - self.established_at

    def next_deadline(self) -> float | None:
        best = None
        for c in self._fsms():
            for d in c.timers.values():
                if best is None or d < best:
                    best = d
        return best

    def data_to_send(self, conn: int, max_bytes: int | None = None) -> bytes:
        """Bytes to write on ``conn``: whole messages, KEEPALIVE/NOTIFICATION
        before UPDATEs; about ``max_bytes`` of them when given."""
        c = self._by_conn.get(conn)
        if c is None or c.conn != conn:
            return b""
        return c.take(max_bytes)

    def pending(self, conn: int) -> int:
        """Octets waiting to be written on ``conn``."""
        c = self._by_conn.get(conn)
        return c.pending if c is not None and c.conn == conn else 0

    @property
    def can_send(self) -> bool:
        """Established, with room in the send buffer: the writer should
        encode more UPDATEs only while this holds.  ``send_updates`` never
        drops what it is given, so this is where back-pressure starts."""
        c = self.primary
        return c.state == S.ESTABLISHED and c.pending < self.config.max_send_buffer

    # ======================================================================
    # Administrative events
    # ======================================================================
    def start(self, now: float, passive: bool = False) -> list:
        """ManualStart (event 1), or with ``passive`` listen first (event 4)."""
        self._handle(self.primary, E.MANUAL_START_PASSIVE if passive else E.MANUAL_START, now)
        return self._flush()

    def stop(self, now: float, notification: Notification | str | None = None, *,
             automatic: bool = False) -> list:
        """ManualStop (event 2): send ``notification`` (default Cease /
        Administrative Shutdown; a string is an RFC 9003 shutdown
        communication) and stay down.  ``automatic`` is AutomaticStop (event
        8): the session restarts by itself after the idle hold time (use it
        with Cease / Maximum Number of Prefixes Reached, for example)."""
        if notification is None or isinstance(notification, str):
            notification = Notification.shutdown(notification or "")
        event = E.AUTOMATIC_STOP if automatic else E.MANUAL_STOP
        for c in list(self._others):
            self._handle(c, event, now, notification)
        self._handle(self.primary, event, now, notification)
        return self._flush()

    # ======================================================================
    # TCP events
    # ======================================================================
    def accept(self, now: float) -> tuple[int, list]:
        """The peer connected to us.  Returns the new connection's id and
        the events; the connection may be refused at once (then the events
        hold its ``CloseConnection``)."""
        conn = self._new_id()
        p = self.primary
        if p.state == S.IDLE and self.enabled and Timer.IDLE_HOLD in p.timers:
            # The peer is back before our idle hold ran out.  The hold keeps
            # us from dialling a flapping peer too often; refusing the peer's
            # own connection would only make two speakers that both dial
            # keep refusing each other.  Take it as a passive start would
            # (Active, no dial of our own: no collision), keeping the
            # damping level the errors so far have earned.
            del p.timers[Timer.IDLE_HOLD]
            level = self.damping_level
            self._handle(p, E.MANUAL_START_PASSIVE, now,
                         why="the peer connected during the idle hold")
            self.damping_level = level
            p = self.primary
        if p.state == S.IDLE:
            self._reject(conn, CONNECTION_REJECTED, "session is idle")
        elif not p.up and p.state in (S.CONNECT, S.ACTIVE):
            self._handle(p, E.TCP_CONNECTION_CONFIRMED, now, conn)
        elif self._others:
            self._reject(conn, CONNECTION_REJECTED, "already two connections")
        elif p.state == S.ESTABLISHED and not self.config.collision_with_established:
            if p.negotiated.graceful_restart is not None:
                # RFC 4724 section 4.2: a peer that advertised graceful
                # restart and connects again has restarted; the old session
                # ends as if its TCP connection had failed.
                self._spawn(conn, now, outgoing=False)
                self._record(SessionError(now, "local", "peer reconnected (graceful restart)"))
                self._handle(p, E.TCP_CONNECTION_FAILS, now, p.conn,
                             why="peer reconnected (graceful restart)")
            else:
                self._reject(conn, CONNECTION_REJECTED, "session already established")
        else:
            self._spawn(conn, now, outgoing=False)
        return conn, self._flush()

    def connection_made(self, now: float, conn: int) -> list:
        """The connection we dialled (``Connect(conn)``) is up."""
        c = self._by_conn.get(conn)
        if c is not None and c.dial == conn:
            self._handle(c, E.TCP_CR_ACKED, now, conn)
        elif conn in self._pending_dials:
            # An earlier dial that completed after the peer's connection
            # was taken: a collision in the making (RFC 4271 section 6.8).
            self._pending_dials.remove(conn)
            p = self.primary
            if p.state == S.IDLE:
                self._emit(CloseConnection(conn, b"", "session is idle"))
            elif not p.up and p.state in (S.CONNECT, S.ACTIVE):
                self._handle(p, E.TCP_CR_ACKED, now, conn)
            elif self._others or (p.state == S.ESTABLISHED
                                  and not self.config.collision_with_established):
                self._reject(conn, COLLISION, "session has a connection already")
            else:
                self._spawn(conn, now, outgoing=True)
        elif c is None:
            self._emit(CloseConnection(conn, b"", "unknown connection"))
        return self._flush()

    def connection_failed(self, now: float, conn: int, error: str = "") -> list:
        """A dial failed (refused, timed out, unreachable): ``error`` says why
        and is kept as the last error."""
        c = self._by_conn.get(conn)
        if c is not None and c.dial == conn:
            text = error or "connection failed"
            self._record(SessionError(now, "socket", text))
            self._handle(c, E.TCP_CONNECTION_FAILS, now, conn, why=f"TCP connection failed: {text}")
        elif conn in self._pending_dials:
            self._pending_dials.remove(conn)
        return self._flush()

    def connection_closed(self, now: float, conn: int, error: str = "") -> list:
        """A connection was closed or reset by the peer (or failed)."""
        c = self._by_conn.get(conn)
        if c is None:
            if conn in self._pending_dials:
                self._pending_dials.remove(conn)
            return self._flush()
        text = error or ("connection closed by peer" if c.conn == conn else "connection failed")
        if c is self.primary and (c.notified is None or c.dial == conn):
            self._record(SessionError(now, "socket", text))
        self._handle(c, E.TCP_CONNECTION_FAILS, now, conn, why=f"TCP connection failed: {text}")
        return self._flush()

    # ======================================================================
    # Messages
    # ======================================================================
    def receive_data(self, now: float, conn: int, data: bytes) -> list:
        """Bytes read from ``conn``: frame, decode, run the FSM."""
        c = self._by_conn.get(conn)
        if c is None or c.conn != conn or not data:
            return self._flush()
        if data.__class__ is not bytes:
            data = bytes(data)
        messages, error = c.frame(data)
        count = self.counters.messages_in
        handle = self._handle
        # The hot path: UPDATEs on an Established session go straight to
        # the table's handler for (Established, UpdateMsg), which never
        # changes state, so the per-event bookkeeping of _run is skipped.
        codec = c.codec if c is self.primary and c.state == S.ESTABLISHED else None
        for mtype, body in messages:
            count[mtype] += 1
            if mtype == 2 and codec is not None:
                try:
                    update = codec.decode(body)
                except WireError as e:
                    handle(c, E.UPDATE_MSG_ERR, now, e)
                else:
                    _UPDATE_IN_ESTABLISHED(self, c, now, update)
                    continue
            else:
                event, arg = CLASSIFY[mtype](self, c, body)
                handle(c, event, now, arg)
            if c.conn != conn:
                break               # the connection is gone; ignore the rest
            codec = c.codec if c is self.primary and c.state == S.ESTABLISHED else None
        else:
            if error is not None:
                handle(c, E.BGP_HEADER_ERR, now, error)
        return self._flush()

    def send_updates(self, now: float, messages: Iterable[bytes]) -> bool:
        """Queue whole UPDATE messages (from ``codec.encode`` or
        ``wire.end_of_rib``).  False, and nothing queued, unless Established."""
        c = self.primary
        if c.state != S.ESTABLISHED:
            return False
        n = 0
        for m in messages:
            c.queue.append(m)
            c.queued += len(m)
            n += 1
        if n:
            self.counters.messages_out[MessageType.UPDATE] += n
            self.counters.updates_out += n
            # RFC 4271 8.2.2: each UPDATE sent restarts the KeepaliveTimer.
            if c.keepalive_time:
                c.timers[Timer.KEEPALIVE] = now + jittered(c.keepalive_time, self._rng)
        return True

    def send_route_refresh(self, now: float, afi: int, safi: int,
                           subtype: int = RefreshSubtype.NORMAL) -> bool:
        """Queue a ROUTE-REFRESH (RFC 2918; BoRR/EoRR with RFC 7313).  False
        unless Established with the capability and the family negotiated."""
        c = self.primary
        neg = c.negotiated
        if (c.state != S.ESTABLISHED or not neg.route_refresh
                or (afi, safi) not in c.families or subtype not in RefreshSubtype.__members__.values()
                or (subtype != RefreshSubtype.NORMAL and not neg.enhanced_route_refresh)):
            return False
        m = encode(RouteRefresh(afi, safi, subtype))
        c.queue.append(m)           # in order with UPDATEs: BoRR ... EoRR
        c.queued += len(m)
        self.counters.messages_out[MessageType.ROUTE_REFRESH] += 1
        return True

    # ======================================================================
    # Timers
    # ======================================================================
    def handle_timer(self, now: float) -> list:
        """Fire every timer due at ``now``, earliest first."""
        for _ in range(_MAX_TIMER_ROUNDS):
            due = None
            for c in self._fsms():
                for t, d in c.timers.items():
                    if d <= now and (due is None or (d, t) < (due[0], due[1])):
                        due = (d, t, c)
            if due is None:
                break
            self._expire(due[2], due[1], now)
        return self._flush()

    def _expire(self, c: Connection, timer: Timer, now: float) -> None:
        del c.timers[timer]
        self._handle(c, TIMER_EVENT[timer], now)

    # ======================================================================
    # Operator's view
    # ======================================================================
    def info(self, now: float) -> dict:
        """A JSON-ready summary for ``show protocols all``."""
        p = self.primary
        out = {
            "state": str(p.state),
            "enabled": self.enabled,
            "since": self.counters.last_state_change,
            "uptime": self.uptime(now),
            "last_error": self.last_error.describe() if self.last_error else None,
            "last_sent": self.last_sent.describe() if self.last_sent else None,
            "last_received": self.last_received.describe() if self.last_received else None,
            "idle_hold_level": self.damping_level,
            "timers": {t.name.lower(): round(d - now, 3) for t, d in sorted(p.timers.items())},
            "connections": [{"id": c.conn, "state": str(c.state), "outgoing": c.outgoing}
                            for c in self._fsms() if c.up],
            "counters": self.counters.snapshot(),
        }
        neg = self.negotiated
        if neg is not None:
            out["negotiated"] = {
                "peer_as": neg.peer_as, "peer_id": neg.peer_id,
                "hold_time": neg.hold_time, "keepalive_time": neg.keepalive_time,
                "families": sorted(family_name(a, s) for a, s in p.families),
                "four_octet_as": neg.four_octet_as,
                "add_path_rx": sorted(family_name(a, s) for a, s in neg.add_path_rx),
                "add_path_tx": sorted(family_name(a, s) for a, s in neg.add_path_tx),
                "extended_message": neg.extended_message,
                "route_refresh": neg.route_refresh,
                "enhanced_route_refresh": neg.enhanced_route_refresh,
                "graceful_restart": neg.graceful_restart is not None,
                "hostname": neg.hostname,
            }
            gr = neg.graceful_restart
            if gr is not None:
                out["negotiated"]["peer_graceful_restart"] = {
                    "restart_time": gr.restart_time, "restarting": gr.restarting,
                    "notification": gr.notification,
                    "forwarding": sorted(family_name(a, s) for a, s, f in gr.families if f)}
        return out

    # ======================================================================
    # The machine
    # ======================================================================
    def _fsms(self) -> list:
        return [self.primary, *self._others] if self._others else [self.primary]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _emit(self, event) -> None:
        self._events.append(event)

    def _flush(self) -> list:
        out, self._events = self._events, []
        self._cause = None
        return out

    def _handle(self, c: Connection, event: FsmEvent, now: float, arg=None,
                why: str | None = None) -> None:
        """Run one event, then the events it caused on the other connection
        (a collision dump)."""
        self._run(c, event, now, arg, why)
        while self._deferred:
            other, ev, reason = self._deferred.pop(0)
            if other is self.primary or other in self._others:
                self._run(other, ev, now, None, reason)

    def _run(self, c: Connection, event: FsmEvent, now: float, arg, why) -> None:
        visible = self.primary.state
        old = c.state
        self._why = why
        row = TRANSITIONS.get((old, event))
        if row is None:
            new = fsm_error(self, c, now, event)
        else:
            new = row.handler(self, c, now, arg)
            if new is None:
                new = row.next
        reason = self._why or event.label
        self._why = None
        if new != old:
            self._enter(c, old, new, now, reason)
        self._settle(c, old, visible, now, reason)

    def _enter(self, c: Connection, old: State, new: State, now: float, reason: str) -> None:
        """What entering ``new`` implies, whatever the event."""
        c.state = new
        if old == S.ESTABLISHED:
            self._session_down(c, now, reason)
        if new == S.IDLE:
            self._drop_transport(c, reason)
            self._drop_dial(c, reason)
            c.timers.clear()
            c.reset_exchange()
        elif new < S.OPENSENT <= old:
            self._drop_transport(c, reason)
            c.stop(*CONNECTION_TIMERS)
            c.reset_exchange()

    def _settle(self, c: Connection, old: State, visible: State, now: float,
                reason: str) -> None:
        """After each event: retire an FSM instance left without a
        connection, hand over to the surviving one, restart after errors,
        and report the session's state if it changed."""
        if self._others:
            for d in [d for d in self._others if not d.up and d.dial is None]:
                self._others.remove(d)
                d.timers.clear()
            p = self.primary
            if self._others and not p.up and p.dial is None and p.state < S.OPENSENT:
                p.timers.clear()
                self.primary = self._others.pop(0)
        p = self.primary
        if p is c and c.state == S.IDLE and old != S.IDLE:
            for conn in self._pending_dials:
                self._emit(CloseConnection(conn, b"", reason))
            self._pending_dials.clear()
            if self.enabled:
                self.counters.connect_retries += 1
                if self._graceful_loss:
                    # RFC 4724: the peer is restarting and will reconnect
                    # within its restart time; be ready for it at once.
                    wait = 0.0
                else:
                    # DampPeerOscillations: wait, longer after each error,
                    # jittered so that two speakers that both dial do not
                    # keep meeting each other's idle hold (RFC 4271 10).
                    wait = jittered(idle_hold_time(self.config, self.damping_level), self._rng)
                    if not self._peer_was_busy():
                        self.damping_level += 1
                c.timers[Timer.IDLE_HOLD] = now + wait
            self._graceful_loss = False
        if p.state != visible:
            self.counters.last_state_change = now
            self._emit(StateChanged(visible, p.state, reason))

    def _peer_was_busy(self) -> bool:
        """The connection ended because the peer refused it for now (Cease /
        Connection Rejected, or lost a collision): no sign of a flapping
        peer, so it does not raise the damping level."""
        cause = self._cause
        n = None if cause is None else cause.notification
        return (n is not None and cause.kind == "received" and n.code == ErrorCode.CEASE
                and n.subcode in (CeaseSubcode.CONNECTION_REJECTED,
                                  CeaseSubcode.CONNECTION_COLLISION_RESOLUTION))

    # -- actions used by the transition handlers ---------------------------------
    def _enable(self) -> None:
        self.enabled = True
        self.damping_level = 0
        self.counters.connect_retries = 0
        self.primary.stop(Timer.IDLE_HOLD)

    def _disable(self) -> None:
        self.enabled = False
        self.counters.connect_retries = 0

    def _initiate(self, c: Connection, now: float) -> State:
        """Start a connection attempt: dial, or (passive) listen."""
        if self.config.passive:
            return S.ACTIVE
        self._dial(c, now)
        self._restart_connect_retry(c, now)
        return S.CONNECT

    def _listen(self, c: Connection, now: float) -> None:
        """Wait for the peer; dial when the ConnectRetryTimer expires."""
        if not self.config.passive:
            self._restart_connect_retry(c, now)

    def _restart_connect_retry(self, c: Connection, now: float) -> None:
        c.timers[Timer.CONNECT_RETRY] = now + jittered(self.config.connect_retry_time, self._rng)

    def _dial(self, c: Connection, now: float) -> None:
        conn = self._new_id()
        c.dial = conn
        self._by_conn[conn] = c
        self._emit(Connect(conn))

    def _drop_dial(self, c: Connection, reason: str) -> None:
        if c.dial is not None:
            self._by_conn.pop(c.dial, None)
            self._emit(CloseConnection(c.dial, b"", reason))
            c.dial = None

    def _drop_transport(self, c: Connection, reason: str) -> None:
        if c.conn is not None:
            conn = c.conn
            self._by_conn.pop(conn, None)
            self._emit(CloseConnection(conn, c.detach(), reason))

    def _forget(self, c: Connection, conn: int, reason: str) -> None:
        if conn == c.dial:
            self._drop_dial(c, reason)
        elif conn == c.conn:
            self._drop_transport(c, reason)

    def _spawn(self, conn: int, now: float, outgoing: bool) -> None:
        """A second FSM instance for a second connection (section 6.8)."""
        c = Connection(S.CONNECT if outgoing else S.ACTIVE)
        self._others.append(c)
        self._by_conn[conn] = c
        if outgoing:
            c.dial = conn
        self._handle(c, E.TCP_CR_ACKED if outgoing else E.TCP_CONNECTION_CONFIRMED, now, conn)

    def _reject(self, conn: int, n: Notification, reason: str) -> None:
        """Refuse a connection with a NOTIFICATION (RFC 4486)."""
        self._emit(NotificationSent(n))
        self._emit(CloseConnection(conn, encode(n, MAX_MESSAGE_LEN), reason))

    def _adopt_pending_dial(self, c: Connection, now: float) -> bool:
        """Continue with a dial still in progress, dropping ``c``'s
        connection; False if there is none (or another FSM carries on)."""
        if c is not self.primary or self._others or not self._pending_dials:
            return False
        self._drop_transport(c, "connection collision, the other connection stays")
        c.stop(*CONNECTION_TIMERS)
        c.reset_exchange()
        c.dial = self._pending_dials.pop()
        self._by_conn[c.dial] = c
        self._restart_connect_retry(c, now)
        return True

    def _tcp_up(self, c: Connection, now: float, conn: int, outgoing: bool) -> State:
        if c.dial is not None and c.dial != conn:
            # Our own dial is still in progress: keep it; if it completes it
            # becomes a second connection and the collision rules decide.
            self._by_conn.pop(c.dial, None)
            self._pending_dials.append(c.dial)
            while len(self._pending_dials) > MAX_PENDING_DIALS:
                self._emit(CloseConnection(self._pending_dials.pop(0), b"", "superseded"))
        c.dial = None
        c.attach(conn, outgoing)
        self._by_conn[conn] = c
        c.stop(Timer.CONNECT_RETRY)
        if self.config.delay_open_time is not None:
            c.timers[Timer.DELAY_OPEN] = now + self.config.delay_open_time
            return c.state
        self._send_open(c, now)
        return S.OPENSENT

    def _send_open(self, c: Connection, now: float) -> None:
        c.urgent += self._open_bytes
        self.counters.messages_out[MessageType.OPEN] += 1
        # RFC 4271 8.2.2: a large hold time until the peer's OPEN arrives.
        c.hold_time = self.config.open_hold_time
        c.restart_hold(now)

    def _send_keepalive(self, c: Connection, now: float) -> None:
        c.urgent += KEEPALIVE_BYTES
        self.counters.messages_out[MessageType.KEEPALIVE] += 1
        if c.keepalive_time:
            c.timers[Timer.KEEPALIVE] = now + jittered(c.keepalive_time, self._rng)

    def _send_notification(self, c: Connection, n: Notification, now: float, *,
                           record: bool = True, detail: str | None = None) -> None:
        if not c.up:
            return
        neg = c.negotiated
        if neg is not None and neg.graceful_restart is not None \
                and neg.graceful_restart.notification:
            n = hard_reset(n)       # RFC 8538 section 3
        c.urgent += encode(n, c.framer.max_size)
        c.notified = n
        self.counters.messages_out[MessageType.NOTIFICATION] += 1
        error = notification_error(now, "sent", n)
        self._cause = error
        if record:
            self.last_sent = error
            self._record(error)
        self._emit(NotificationSent(n))
        self._why = f"{detail}: sent {error.text}" if detail else f"sent {error.text}"

    def _notification_received(self, c: Connection, n: Notification, now: float) -> None:
        c.notified = n
        error = notification_error(now, "received", n)
        self._cause = error
        if n != COLLISION:          # a lost collision is no error of the session
            self.last_received = error
            self._record(error)
        self._emit(NotificationReceived(n))
        self._why = f"received {error.text}"

    def _record(self, error: SessionError) -> None:
        self.last_error = error
        self._cause = error

    def _open_received(self, c: Connection, now: float, peer_open) -> State | None:
        """A valid OPEN on ``c``: resolve collisions, then KEEPALIVE and the
        negotiated timers (RFC 4271 8.2.2 OpenSent, event 19)."""
        cfg = self.config
        for d in self._fsms():
            if d is c or not d.up:
                continue
            if d.state == S.ESTABLISHED and not cfg.collision_with_established:
                keep = False        # RFC 4271 6.8: the new connection yields
            else:
                keep = collision.keep_new(c.outgoing, d.outgoing, cfg.local_id, cfg.local_as,
                                          peer_open.bgp_id, peer_open.asn)
            if not keep:
                self._send_notification(c, COLLISION, now, record=False,
                                        detail="connection collision, the other connection stays")
                return S.IDLE
            self._deferred.append((d, E.OPEN_COLLISION_DUMP,
                                   "connection collision, the other connection stays"))
        c.peer_open = peer_open
        neg = negotiate(cfg, self.local_open, peer_open)
        c.negotiated = neg
        c.hold_time = neg.hold_time
        c.keepalive_time = neg.keepalive_time
        self._send_keepalive(c, now)
        c.restart_hold(now)
        return None

    def _session_up(self, c: Connection, now: float) -> None:
        neg = c.negotiated
        c.families = neg.families
        c.framer.max_size = neg.max_message_size
        c.codec = UpdateCodec(four_octet=neg.four_octet_as, add_path_rx=neg.add_path_rx,
                              add_path_tx=neg.add_path_tx, max_size=neg.max_message_size,
                              cache=self._cache_for(neg.four_octet_as))
        self.established_at = now
        self.counters.established_transitions += 1
        self._emit(Established(neg))

    def _cache_for(self, four_octet: bool) -> AttributeCache | None:
        cache = self._cache
        if cache is None:
            return None
        if isinstance(cache, AttributeCache):
            return cache if cache.four_octet == four_octet else None
        return cache(four_octet)

    def _session_down(self, c: Connection, now: float, reason: str) -> None:
        neg = c.negotiated
        gr = neg.graceful_restart
        n = c.notified
        # RFC 4724 4.2: routes are kept when the session ends without a
        # NOTIFICATION; RFC 8538: with the N bit, unless it was a Hard Reset.
        graceful = gr is not None and (n is None or (gr.notification and not is_hard_reset(n)))
        if self.established_at is not None \
                and now - self.established_at >= self.config.idle_hold_reset_time:
            self.damping_level = 0
        self.established_at = None
        self._graceful_loss = graceful
        self.counters.session_downs += 1
        self._emit(SessionDown(reason, graceful, neg, self._cause))

    def _update_received(self, c: Connection, now: float, update: Update) -> None:
        if c.hold_time:
            c.timers[Timer.HOLD] = now + c.hold_time
        families = c.families
        if update.mp_reach is not None or update.mp_unreach is not None \
                or V4U not in families:
            if not all_in(update, families):
                update = only(update, families)
                if update is None:
                    return
        self.counters.updates_in += 1
        self._events.append(UpdateReceived(update))

    def _update_error(self, c: Connection, now: float, err: WireError) -> State:
        c.restart_hold(now)
        if err.action == Action.AFISAFI_DISABLE and err.afi_safi is not None:
            family = (int(err.afi_safi[0]), int(err.afi_safi[1]))
            if family not in c.families:
                return S.ESTABLISHED    # not in use: its routes are ignored anyway
            if len(c.families) > 1:
                # RFC 7606 section 2, RFC 4760 section 7: drop the family's
                # routes and ignore it for the rest of the session.
                c.families = c.families - {family}
                name = family_name(*family)
                self._record(SessionError(now, "local", f"{name} disabled: {err.reason}"))
                self._emit(FamilyDisabled(family[0], family[1], err.reason))
                return S.ESTABLISHED
        self._send_notification(c, err.notification(), now, detail=err.reason)
        return S.IDLE

    def _route_refresh_received(self, c: Connection, now: float, refresh: RouteRefresh) -> None:
        c.restart_hold(now)
        if self.local_open.capability(RouteRefreshCapability) is None:
            return                  # we never offered it
        if (refresh.afi, refresh.safi) not in c.families:
            return                  # RFC 2918 section 4: ignore
        subtype = refresh.subtype
        if subtype == RefreshSubtype.NORMAL or (
                subtype in (RefreshSubtype.BORR, RefreshSubtype.EORR)
                and c.negotiated.enhanced_route_refresh):
            self._emit(RouteRefreshReceived(refresh.afi, refresh.safi, subtype))
        # Other subtypes are ignored (RFC 7313 section 5).
