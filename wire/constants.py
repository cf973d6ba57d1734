"""Numbers from the RFCs and IANA registries, with their names.

Kept as IntEnums so that a value prints as its RFC name and still compares
and packs as the number it is on the wire.
"""

from __future__ import annotations

import enum

MARKER = b"\xff" * 16
HEADER_LEN = 19                 # marker + length + type (RFC 4271 section 4.1)
MAX_MESSAGE_LEN = 4096          # RFC 4271
MAX_EXTENDED_MESSAGE_LEN = 65535  # RFC 8654
BGP_VERSION = 4
AS_TRANS = 23456                # RFC 6793


class MessageType(enum.IntEnum):
    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5           # RFC 2918


class AFI(enum.IntEnum):
    IPV4 = 1
    IPV6 = 2


class SAFI(enum.IntEnum):
    UNICAST = 1
    MULTICAST = 2


IPV4_UNICAST = (AFI.IPV4, SAFI.UNICAST)
IPV6_UNICAST = (AFI.IPV6, SAFI.UNICAST)


def family_name(afi: int, safi: int) -> str:
    """'ipv4-unicast' style name of an address family (numbers if unknown)."""
    try:
        a = AFI(afi).name.lower()
    except ValueError:
        a = f"afi{afi}"
    try:
        s = SAFI(safi).name.lower()
    except ValueError:
        s = f"safi{safi}"
    return f"{a}-{s}"


class AttrType(enum.IntEnum):
    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MULTI_EXIT_DISC = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8             # RFC 1997
    ORIGINATOR_ID = 9           # RFC 4456
    CLUSTER_LIST = 10           # RFC 4456
    MP_REACH_NLRI = 14          # RFC 4760
    MP_UNREACH_NLRI = 15        # RFC 4760
    EXTENDED_COMMUNITIES = 16   # RFC 4360
    AS4_PATH = 17               # RFC 6793
    AS4_AGGREGATOR = 18         # RFC 6793
    LARGE_COMMUNITY = 32        # RFC 8092
    OTC = 35                    # RFC 9234


class AttrFlag(enum.IntFlag):
    OPTIONAL = 0x80
    TRANSITIVE = 0x40
    PARTIAL = 0x20
    EXTENDED_LENGTH = 0x10


class Origin(enum.IntEnum):
    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class SegmentType(enum.IntEnum):
    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3      # RFC 5065
    AS_CONFED_SET = 4           # RFC 5065


class CapabilityCode(enum.IntEnum):
    MULTIPROTOCOL = 1           # RFC 4760
    ROUTE_REFRESH = 2           # RFC 2918
    EXTENDED_NEXT_HOP = 5       # RFC 8950
    EXTENDED_MESSAGE = 6        # RFC 8654
    ROLE = 9                    # RFC 9234
    GRACEFUL_RESTART = 64       # RFC 4724
    FOUR_OCTET_AS = 65          # RFC 6793
    ADD_PATH = 69               # RFC 7911
    ENHANCED_ROUTE_REFRESH = 70  # RFC 7313
    LONG_LIVED_GRACEFUL_RESTART = 71  # RFC 9494
    FQDN = 73                   # draft-walton-bgp-hostname-capability
    ROUTE_REFRESH_OLD = 128     # pre-standard Cisco route refresh


class OptParamType(enum.IntEnum):
    CAPABILITIES = 2            # RFC 5492
    EXTENDED_LENGTH = 255       # RFC 9072


class ErrorCode(enum.IntEnum):
    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5                     # RFC 6608
    CEASE = 6                   # RFC 4486
    ROUTE_REFRESH_MESSAGE = 7   # RFC 7313
    SEND_HOLD_TIMER_EXPIRED = 8  # RFC 9687


class HeaderSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    AUTHENTICATION_FAILURE = 5  # deprecated
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7  # RFC 5492
    ROLE_MISMATCH = 11          # RFC 9234


class UpdateSubcode(enum.IntEnum):
    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    ROUTING_LOOP = 7            # deprecated
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmSubcode(enum.IntEnum):   # RFC 6608
    UNSPECIFIED = 0
    UNEXPECTED_MESSAGE_IN_OPENSENT = 1
    UNEXPECTED_MESSAGE_IN_OPENCONFIRM = 2
    UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3


class CeaseSubcode(enum.IntEnum):  # RFC 4486, RFC 8538
    UNSPECIFIC = 0
    MAXIMUM_NUMBER_OF_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9              # RFC 8538
    BFD_DOWN = 10               # RFC 9384


class RouteRefreshSubcode(enum.IntEnum):  # RFC 7313
    INVALID_MESSAGE_LENGTH = 1


class RefreshSubtype(enum.IntEnum):  # RFC 7313 "Message Subtype"
    NORMAL = 0
    BORR = 1                    # Beginning of Route Refresh
    EORR = 2                    # End of Route Refresh


class Role(enum.IntEnum):       # RFC 9234
    PROVIDER = 0
    RS = 1
    RS_CLIENT = 2
    CUSTOMER = 3
    PEER = 4


# Well-known communities (RFC 1997, RFC 3765, RFC 7999, RFC 8326, RFC 8642).
WELL_KNOWN_COMMUNITIES = {
    0xFFFF0000: "GRACEFUL_SHUTDOWN",
    0xFFFF0001: "ACCEPT_OWN",
    0xFFFF0006: "LLGR_STALE",
    0xFFFF0007: "NO_LLGR",
    0xFFFF029A: "BLACKHOLE",
    0xFFFFFF01: "NO_EXPORT",
    0xFFFFFF02: "NO_ADVERTISE",
    0xFFFFFF03: "NO_EXPORT_SUBCONFED",
    0xFFFFFF04: "NOPEER",
}
COMMUNITY_BY_NAME = {name: value for value, name in WELL_KNOWN_COMMUNITIES.items()}
NO_EXPORT = 0xFFFFFF01
NO_ADVERTISE = 0xFFFFFF02
NO_EXPORT_SUBCONFED = 0xFFFFFF03
