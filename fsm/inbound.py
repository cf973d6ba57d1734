"""Received messages to FSM events, and UPDATEs kept to the families in use.

``CLASSIFY`` maps a message type to a function that decodes the body and
names the FSM event it is (RFC 4271 section 8.1.5): a valid OPEN is
BGPOpen (or BGPOpen with DelayOpenTimer running), one that fails decoding
or ``validate.check_open`` is BGPOpenMsgErr; a NOTIFICATION with a version
error is NotifMsgVerErr; an UPDATE that fails decoding is UpdateMsgErr.
An UPDATE before Established is not even decoded: the table makes it an
FSM error whatever it holds.

``all_in``/``only``: a speaker ignores the routes of families it did not
negotiate, or that an earlier error disabled (RFC 4760 section 7, RFC 7606
section 2).  The common case (an UPDATE of a family in use) costs a few
attribute tests and no copy.
"""

from __future__ import annotations

from wire.constants import ErrorCode, IPV4_UNICAST, MessageType, OpenSubcode
from wire.errors import WireError
from wire.messages import decode_route_refresh
from wire.notification import decode_notification
from wire.open import decode_open
from wire.update import Update

from .connection import Connection
from .states import FsmEvent as E
from .states import Timer
from .validate import check_open

V4U = (int(IPV4_UNICAST[0]), int(IPV4_UNICAST[1]))


def _classify_open(s, c: Connection, body: bytes):
    try:
        peer_open = decode_open(body)
        check_open(s.config, s.local_open, peer_open)
    except WireError as e:
        return E.BGP_OPEN_MSG_ERR, e
    if Timer.DELAY_OPEN in c.timers:
        return E.BGP_OPEN_DELAYED, peer_open
    return E.BGP_OPEN, peer_open


def _classify_update(s, c: Connection, body: bytes):
    codec = c.codec
    if codec is None:
        return E.UPDATE_MSG, None   # before Established: an FSM error
    try:
        return E.UPDATE_MSG, codec.decode(body)
    except WireError as e:
        return E.UPDATE_MSG_ERR, e


def _classify_notification(s, c: Connection, body: bytes):
    n = decode_notification(body)
    if n.code == ErrorCode.OPEN_MESSAGE and n.subcode == OpenSubcode.UNSUPPORTED_VERSION_NUMBER:
        return E.NOTIF_MSG_VER_ERR, n
    return E.NOTIF_MSG, n


def _classify_keepalive(s, c: Connection, body: bytes):
    return E.KEEPALIVE_MSG, None


def _classify_route_refresh(s, c: Connection, body: bytes):
    try:
        return E.ROUTE_REFRESH_MSG, decode_route_refresh(body, _whole(MessageType.ROUTE_REFRESH,
                                                                      body))
    except WireError as e:
        return E.ROUTE_REFRESH_MSG_ERR, e


def _whole(mtype: int, body: bytes) -> bytes:
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


CLASSIFY = {
    MessageType.OPEN: _classify_open,
    MessageType.UPDATE: _classify_update,
    MessageType.NOTIFICATION: _classify_notification,
    MessageType.KEEPALIVE: _classify_keepalive,
    MessageType.ROUTE_REFRESH: _classify_route_refresh,
}


# ----------------------------------------------------------------------
# Keeping an UPDATE to the families in use.

def all_in(u: Update, families: frozenset) -> bool:
    """Does the UPDATE touch only families in use?  (The common case: one
    test per part, no copy.)"""
    if (u.withdrawn or u.nlri or (u.attrs is None and u.mp_reach is None
                                  and u.mp_unreach is None)) and V4U not in families:
        return False
    if u.mp_reach is not None and u.mp_reach.family not in families:
        return False
    if u.mp_unreach is not None and u.mp_unreach.family not in families:
        return False
    return True


def only(u: Update, families: frozenset) -> Update | None:
    """The parts of ``u`` for families in use; None if nothing is left.
    RFC 4760 section 7 / RFC 7606: routes of a disabled family are ignored,
    and a speaker ignores families it did not negotiate."""
    v4 = V4U in families
    withdrawn = u.withdrawn if v4 else ()
    nlri = u.nlri if v4 else ()
    reach = u.mp_reach if u.mp_reach is not None and u.mp_reach.family in families else None
    unreach = (u.mp_unreach if u.mp_unreach is not None and u.mp_unreach.family in families
               else None)
    if not (withdrawn or nlri or reach is not None or unreach is not None):
        return None
    return Update(withdrawn, u.attrs, nlri, reach, unreach, u.problems, u.action)
