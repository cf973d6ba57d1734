"""fsm: the BGP session state machine, sans-IO (as h11 is for HTTP).

How it works
------------
A ``Session`` is one configured peer.  It does no I/O and reads no clock:
the driver (``bgpd/``) passes in bytes, TCP events and the time ``now``,
and gets back a list of events (``fsm.events``) and, per connection, bytes
to write (``Session.data_to_send``).  Timers are deadlines
(``next_deadline()``, ``handle_timer(now)``).

Each received message becomes an FSM event and goes through one table,
``transitions.TRANSITIONS``: ``(State, FsmEvent) -> Row(handler, next
state)``, RFC 4271 section 8.2.2 written down once.  A pair that is not in
the table is an FSM error: NOTIFICATION with the RFC 6608 subcode, then
Idle.  One FSM instance runs per TCP connection (``connection.Connection``);
a session has one, or two while a connection collision is resolved
(``collision``).

The OPEN exchange is checked by ``validate.check_open`` and summed up in
one frozen ``negotiate.Negotiated``; once Established the session decodes
UPDATEs with a ``wire.UpdateCodec`` built from it, sharing the driver's
``wire.AttributeCache``.

A driver runs a peer with one reader, one writer and one timer task::

    session = Session(SessionConfig(local_as=65001, local_id=0x0A000001,
                                    peer_as=65002),
                      rng=random.Random().random, attribute_cache=caches)
    handle(session.start(clock()))
    # Connect(conn):  dial; then session.connection_made(clock(), conn)
    #                 or session.connection_failed(clock(), conn, "refused")
    # the listener:   conn, events = session.accept(clock()); handle(events)
    # reader:         handle(session.receive_data(clock(), conn, data))
    #                 at EOF or error: handle(session.connection_closed(clock(), conn, why))
    # writer:         await stream.send_all(session.data_to_send(conn, 65536))
    # timers:         sleep until session.next_deadline();
    #                 handle(session.handle_timer(clock()))
    # routes out:     while session.can_send:
    #                     session.send_updates(clock(), session.codec.encode(...))

``handle`` acts on the events: ``Connect``, ``CloseConnection`` (write its
``data``, then close), ``Established``, ``SessionDown`` (keep the peer's
routes as stale when ``graceful_restart``, else withdraw them),
``UpdateReceived``, ``RouteRefreshReceived``, ``FamilyDisabled``,
``StateChanged`` and the NOTIFICATION events.  After any call, bytes may be
waiting in ``data_to_send(conn)``; KEEPALIVE and NOTIFICATION come out
before queued UPDATEs.  ``Session.last_error`` and ``Session.info(now)``
say why a session is down.

RFCs: 4271 (BGP-4: sections 4.2, 4.4, 6.2, 6.5-6.8, 8, 10), 2918 and 7313
(route refresh), 4486 and 9003 (Cease subcodes, shutdown communication),
4724 and 8538 (graceful restart, its N bit and Hard Reset), 4760
(multiprotocol), 5492 (capabilities), 6286 (BGP identifier), 6608 (FSM
error subcodes), 6793 (4-octet AS), 7606 (UPDATE error handling), 7607 (AS
0), 7911 (add-path), 8654 (extended messages), 9234 (roles), 9494 (long-
lived graceful restart).
"""

from .config import SessionConfig
from .errors import SessionError
from .events import (CloseConnection, Connect, Established, Event, FamilyDisabled,
                     NotificationReceived, NotificationSent, RouteRefreshReceived,
                     SessionDown, StateChanged, UpdateReceived)
from .negotiate import GracefulRestartInfo, Negotiated, local_open, negotiate
from .session import Session
from .states import FsmEvent, State, Timer
from .transitions import TRANSITIONS
from .validate import check_open

__all__ = [
    "CloseConnection", "Connect", "Established", "Event", "FamilyDisabled", "FsmEvent",
    "GracefulRestartInfo", "Negotiated", "NotificationReceived", "NotificationSent",
    "RouteRefreshReceived", "Session", "SessionConfig", "SessionDown", "SessionError",
    "State", "StateChanged", "TRANSITIONS", "Timer", "UpdateReceived", "check_open",
    "local_open", "negotiate",
]
