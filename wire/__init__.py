"""wire: the BGP-4 codec, bytes <-> messages.  Standard library only.

How it works
------------
``Framer`` splits a TCP stream into messages after the header checks of
RFC 4271 section 6.1.  ``decode_body``/``decode_message`` turn a body into
an ``Open``, ``Update``, ``Notification``, ``Keepalive`` or ``RouteRefresh``;
``encode`` and ``UpdateCodec.encode`` do the reverse.  Path attributes and
capabilities are tables with one row per type (``attributes.TABLE``,
``capabilities.CAPABILITIES``).  Prefixes stay in wire form (``nlri``), and
attribute blocks are interned by their bytes (``AttributeCache``), so the
receive path decodes each distinct block once and shares it.

Every malformation maps to an RFC 7606 action (``errors.Action``): session
resets and AFI/SAFI disables are raised as ``WireError`` carrying the
NOTIFICATION to send; treat-as-withdraw and attribute-discard are recorded
on the decoded ``Update``.  Decoding any byte string either succeeds or
raises ``WireError``.

RFCs: 4271 (BGP-4), 1997 (communities), 2918 and 7313 (route refresh),
4360 and 5701 (extended communities), 4456 (route reflection attributes),
4724 (graceful restart), 4760 (multiprotocol), 5065 (confederation
segments), 5492 (capabilities), 6608 (FSM error subcodes), 6793 (4-octet
AS), 7606 (revised error handling), 7911 (add-path), 8092 (large
communities), 8654 (extended messages), 8950 (extended next hop),
9003 (shutdown communication), 9072 (extended optional parameters length),
9234 (roles, OTC), 9494 (long-lived graceful restart).
"""

from .attributes import AttributeCache, Attributes, make as make_attributes
from .constants import (AFI, SAFI, AttrType, CapabilityCode, ErrorCode, MessageType,
                        IPV4_UNICAST, IPV6_UNICAST)
from .errors import Action, AttributeProblem, WireError
from .messages import (KEEPALIVE, KEEPALIVE_BYTES, Framer, Keepalive, RouteRefresh,
                       decode_body, decode_message, encode, frame)
from .notification import Notification
from .open import Open
from .update import MpReach, MpUnreach, Update, UpdateCodec, end_of_rib

__all__ = [
    "AFI", "SAFI", "Action", "AttrType", "AttributeCache", "AttributeProblem", "Attributes",
    "CapabilityCode", "ErrorCode", "Framer", "IPV4_UNICAST", "IPV6_UNICAST", "KEEPALIVE",
    "KEEPALIVE_BYTES", "Keepalive", "MessageType", "MpReach", "MpUnreach", "Notification",
    "Open", "RouteRefresh", "Update", "UpdateCodec", "WireError", "decode_body",
    "decode_message", "encode", "end_of_rib", "frame", "make_attributes",
]
