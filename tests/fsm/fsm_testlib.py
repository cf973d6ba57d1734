"""Builders and harnesses shared by the fsm/ tests.

- ``config``/``peer_open``: a session configuration and the OPEN its peer
  sends, with defaults that establish;
- ``drive``: a session brought into a given state through its public API,
  with a scripted peer (bytes in, bytes out);
- ``SpeakerPair``: two sessions wired to each other in memory: every
  ``Connect`` becomes an accepted connection on the other side, bytes are
  pumped across until both are quiet, and time only moves when a test
  advances it.

Nothing here sleeps or opens a socket; time is a float the test controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wire import KEEPALIVE, Framer, Notification, Open, encode, make_attributes
from wire import capabilities as caps
from wire.constants import MessageType

from fsm import (CloseConnection, Connect, Event, NotificationSent, Session, SessionConfig,
                 State)

LOCAL_ID = 0x0A000001           # 10.0.0.1
PEER_ID = 0x0A000002            # 10.0.0.2
LOCAL_AS = 65001
PEER_AS = 65002


def config(**kw) -> SessionConfig:
    base = dict(local_as=LOCAL_AS, local_id=LOCAL_ID, peer_as=PEER_AS)
    base.update(kw)
    return SessionConfig(**base)


def peer_open(asn: int = PEER_AS, bgp_id: int = PEER_ID, hold_time: int = 90,
              capabilities=None, extra=(), my_as: int | None = None) -> Open:
    """The peer's OPEN: IPv4 unicast, route refresh, 4-octet AS by default."""
    if capabilities is None:
        capabilities = (caps.Multiprotocol(1, 1), caps.RouteRefresh(),
                        caps.EnhancedRouteRefresh(), caps.ExtendedMessage(),
                        caps.FourOctetAS(asn))
    if my_as is None:
        my_as = asn if asn <= 0xFFFF else 23456
    return Open(4, my_as, hold_time, bgp_id, tuple(capabilities) + tuple(extra))


def msg(m) -> bytes:
    return encode(m)


KEEPALIVE_MSG = encode(KEEPALIVE)
CEASE = Notification(6, 2, b"")


def parse(data: bytes) -> list:
    """Message types and bodies in a byte string (the session's output)."""
    return Framer(65535).feed(data)


def types(data: bytes) -> list:
    return [MessageType(t).name for t, _ in parse(data)]


def notifications_in(data: bytes) -> list:
    return [(body[0], body[1]) for t, body in parse(data) if t == MessageType.NOTIFICATION]


def ipv4_update(prefixes=(b"\x18\x0a\x01\x02",), four_octet: bool = True) -> bytes:
    """An UPDATE announcing IPv4 prefixes (wire keys) from AS 65002."""
    from wire import UpdateCodec
    attrs = make_attributes(four_octet, origin=0, as_path=((2, (PEER_AS,)),),
                            next_hop=bytes([10, 0, 0, 2]))
    return UpdateCodec(four_octet).encode(attrs, list(prefixes))[0]


def of(events, cls) -> list:
    return [e for e in events if isinstance(e, cls)]


def one(events, cls):
    found = of(events, cls)
    assert len(found) == 1, (cls.__name__, events)
    return found[0]


def sent(events) -> list:
    """(code, subcode) of every NOTIFICATION the events say was sent."""
    return [(e.notification.code, e.notification.subcode) for e in of(events, NotificationSent)]


# ---------------------------------------------------------------------------
# One session and a scripted peer


@dataclass
class Driven:
    """A session brought into some state, and what the test knows about it."""

    session: Session
    conn: int | None = None         # the TCP connection in use (if any)
    dial: int | None = None         # a dial in progress (if any)
    now: float = 0.0
    events: list = field(default_factory=list)

    def out(self) -> bytes:
        return self.session.data_to_send(self.conn) if self.conn is not None else b""


def drive(state: State, cfg: SessionConfig | None = None, *, via_accept: bool = False,
          opn: Open | None = None, now: float = 0.0, **session_kw) -> Driven:
    """A session in ``state`` through the public API.

    Connect/Active with ``cfg.delay_open_time`` set hold a TCP connection
    (DelayOpen running); without it they only dial or listen.
    """
    cfg = cfg or config()
    s = Session(cfg, **session_kw)
    d = Driven(s, now=now)
    if state == State.IDLE:
        return d
    passive = state == State.ACTIVE or via_accept
    events = s.start(now, passive=passive)
    d.events += events
    dials = of(events, Connect)
    if dials:
        d.dial = dials[0].conn
    if state in (State.CONNECT, State.ACTIVE) and cfg.delay_open_time is None:
        assert s.state == state, (s.state, events)
        return d
    if passive:
        d.conn, events = s.accept(now)
    else:
        events = s.connection_made(now, d.dial)
        d.conn, d.dial = d.dial, None
    d.events += events
    if state in (State.CONNECT, State.ACTIVE):
        assert s.state == state
        return d
    assert s.state == State.OPENSENT, (s.state, d.events)
    if state == State.OPENSENT:
        return d
    d.events += s.receive_data(now, d.conn, msg(opn or peer_open()))
    assert s.state == State.OPENCONFIRM, (s.state, d.events)
    if state == State.OPENCONFIRM:
        return d
    d.events += s.receive_data(now, d.conn, KEEPALIVE_MSG)
    assert s.state == State.ESTABLISHED, (s.state, d.events)
    return d


# ---------------------------------------------------------------------------
# Two sessions wired together


class SpeakerPair:
    """Sessions ``a`` and ``b`` talking to each other in memory.

    ``a`` and ``b`` are names for the sides; ``sessions[side]`` the
    sessions.  Every event either side emits is kept in ``log[side]``.
    Dials wait in ``dials[side]`` until the test completes, refuses or
    crosses them, so collisions can be staged exactly.
    """

    def __init__(self, cfg_a: SessionConfig, cfg_b: SessionConfig, **kw):
        self.sessions = {"a": Session(cfg_a, **kw), "b": Session(cfg_b, **kw)}
        self.now = 0.0
        self.log = {"a": [], "b": []}
        self.dials = {"a": [], "b": []}
        self.links = {}                 # (side, conn) -> (other side, conn)
        self.unmade = set()             # dials accepted by the far side, not yet made

    @property
    def a(self) -> Session:
        return self.sessions["a"]

    @property
    def b(self) -> Session:
        return self.sessions["b"]

    @staticmethod
    def other(side: str) -> str:
        return "b" if side == "a" else "a"

    def take(self, side: str, events) -> list:
        """Act on a side's events as a driver would."""
        events = list(events)
        self.log[side] += events
        for ev in events:
            assert isinstance(ev, Event)
            if isinstance(ev, Connect):
                self.dials[side].append(ev.conn)
            elif isinstance(ev, CloseConnection):
                if ev.conn in self.dials[side]:
                    self.dials[side].remove(ev.conn)
                self.unmade.discard((side, ev.conn))
                link = self.links.pop((side, ev.conn), None)
                if link is not None:
                    oside, oconn = link
                    self.links.pop(link, None)
                    s = self.sessions[oside]
                    if link in self.unmade:
                        # Reset before the dialler saw it complete.
                        self.unmade.discard(link)
                        self.take(oside, s.connection_failed(self.now, oconn, "reset"))
                        continue
                    if ev.data:
                        self.take(oside, s.receive_data(self.now, oconn, ev.data))
                    self.take(oside, s.connection_closed(self.now, oconn, "connection reset"))
        return events

    def start(self, side: str, passive: bool = False) -> list:
        return self.take(side, self.sessions[side].start(self.now, passive=passive))

    def stop(self, side: str, notification=None, automatic: bool = False) -> list:
        return self.take(side, self.sessions[side].stop(self.now, notification,
                                                        automatic=automatic))

    def complete_dial(self, side: str, conn: int | None = None, pump: bool = True) -> tuple:
        """The dial reaches the other side, which accepts it, and completes."""
        conn, oconn = self.arrive(side, conn)
        self.made(side, conn)
        if pump:
            self.pump()
        return conn, oconn

    def arrive(self, side: str, conn: int | None = None) -> tuple:
        """A dial reaches the other side, which accepts it (the dialler does
        not know yet)."""
        conn = self.dials[side][0] if conn is None else conn
        self.dials[side].remove(conn)
        oside = self.other(side)
        oconn, events = self.sessions[oside].accept(self.now)
        self.links[(side, conn)] = (oside, oconn)
        self.links[(oside, oconn)] = (side, conn)
        self.unmade.add((side, conn))
        self.take(oside, events)
        return conn, oconn

    def made(self, side: str, conn: int) -> list:
        """The dialler learns its connection is up (if it still exists)."""
        if (side, conn) not in self.unmade:
            return []
        self.unmade.discard((side, conn))
        return self.take(side, self.sessions[side].connection_made(self.now, conn))

    def refuse_dial(self, side: str, error: str = "connection refused") -> None:
        conn = self.dials[side].pop(0)
        self.take(side, self.sessions[side].connection_failed(self.now, conn, error))

    def cut(self) -> None:
        """Every connection breaks without a NOTIFICATION."""
        for (side, conn), (oside, oconn) in list(self.links.items()):
            if (side, conn) in self.links:
                assert (side, conn) not in self.unmade and (oside, oconn) not in self.unmade
                del self.links[(side, conn)]
                del self.links[(oside, oconn)]
                self.take(side, self.sessions[side].connection_closed(self.now, conn, "reset"))
                self.take(oside, self.sessions[oside].connection_closed(self.now, oconn, "reset"))

    def pump(self, rounds: int = 100) -> None:
        """Move bytes both ways until nothing is left to send."""
        for _ in range(rounds):
            moved = False
            for (side, conn), (oside, oconn) in list(self.links.items()):
                if (side, conn) not in self.links or (oside, oconn) in self.unmade \
                        or (side, conn) in self.unmade:
                    continue            # bytes wait until the dialler is up
                data = self.sessions[side].data_to_send(conn)
                if data:
                    moved = True
                    self.take(oside, self.sessions[oside].receive_data(self.now, oconn, data))
            if not moved:
                return
        raise AssertionError("the sessions never went quiet")

    def advance(self, seconds: float, step: float | None = None) -> None:
        """Let time pass, firing timers as they fall due, pumping between."""
        end = self.now + seconds
        while True:
            deadlines = [d for d in (s.next_deadline() for s in self.sessions.values())
                         if d is not None and d <= end]
            if not deadlines:
                break
            self.now = max(self.now, min(deadlines))
            for side, s in self.sessions.items():
                self.take(side, s.handle_timer(self.now))
            self.pump()
        self.now = end

    def establish(self, dialer: str = "a") -> None:
        """Start both (the other side passive) and bring the session up."""
        self.start(dialer)
        self.start(self.other(dialer), passive=True)
        self.complete_dial(dialer)
        assert self.a.state == State.ESTABLISHED, self.log
        assert self.b.state == State.ESTABLISHED, self.log
