"""Value parsers: one function per kind of configuration value.

Each parser takes the value as ``tomllib`` produced it and returns the
typed value the configuration objects hold (``ipaddress`` objects, ints,
``(AFI, SAFI)`` pairs, ...), or raises ``Invalid`` with the rule the value
broke.  A reason starts with the offending value written as TOML would write
it, so that ``peers[2].asn: 70000000000 is not a 4-octet AS number`` reads as
a sentence.  Passwords are never echoed.

Parsers that need parameters (ranges, choices, item parsers) are made by
small factories, so that the schema tables in ``conf.schema`` read as data.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Callable, Mapping

from wire.communities import parse_community, parse_ext_community, parse_large_community
from wire.constants import (AS_TRANS, COMMUNITY_BY_NAME, IPV4_UNICAST, IPV6_UNICAST,
                            CapabilityCode)

from .errors import Invalid
from .model import PrefixList, PrefixRange

Parser = Callable[[Any], Any]

MAX_U32 = 0xFFFFFFFF

# Address families by their configuration name (and ``wire.constants.family_name``).
FAMILIES = {"ipv4-unicast": IPV4_UNICAST, "ipv6-unicast": IPV6_UNICAST}

# RFC 7911 section 4 Send/Receive values; "off" leaves the family out.
ADD_PATH_MODES = {"off": 0, "receive": 1, "send": 2, "both": 3}

# Capabilities a peer can be required to advertise, by their configuration
# name: the IANA name in lower case with dashes ("four-octet-as").
CAPABILITY_NAMES = {c.name.lower().replace("_", "-"): c for c in CapabilityCode
                    if c is not CapabilityCode.ROUTE_REFRESH_OLD}

LOG_LEVELS = ("debug", "info", "warning", "error")

# Protocol names as BIRD accepts them, so that birdc-style commands such as
# "show protocols all <name>" can name every peer.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
# RFC 1123 host names, dot-separated labels.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\Z")

MAX_PASSWORD = 80       # TCP_MD5SIG_MAXKEYLEN in Linux (RFC 2385 keys)
MAX_SUN_PATH = 107      # sizeof(sockaddr_un.sun_path) - 1 on Linux


def show(value: Any) -> str:
    """The value as it would appear in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'password'?)`` when a candidate is close, else ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- scalars -----------------------------------------------------------------

def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"{show(value)} is not true or false")


def integer(lo: int, hi: int, unit: str = "") -> Parser:
    unit = f" {unit}" if unit else ""

    def parse(value: Any) -> int:
        if not _is_int(value):
            raise Invalid(f"{show(value)} is not an integer")
        if not lo <= value <= hi:
            raise Invalid(f"{value} is out of range {lo}..{hi}{unit}")
        return value
    return parse


def string(max_len: int = 255) -> Parser:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"{show(value)} is not a string")
        if len(value) > max_len:
            raise Invalid(f"is {len(value)} characters long; at most {max_len} are allowed")
        return value
    return parse


def choice(options: Mapping[str, Any] | tuple[str, ...]) -> Parser:
    """One of a fixed set of words; returns ``options[word]`` for a mapping."""
    table = options if isinstance(options, Mapping) else {o: o for o in options}

    def parse(value: Any) -> Any:
        if isinstance(value, str) and value in table:
            return table[value]
        hint = did_you_mean(value, table) if isinstance(value, str) else ""
        raise Invalid(f"{show(value)} is not one of {', '.join(table)}{hint}")
    return parse


def asn(value: Any) -> int:
    """An AS number: 4-octet (RFC 6793), not 0 (RFC 7607), not AS_TRANS."""
    if not _is_int(value) or not 0 <= value <= MAX_U32:
        raise Invalid(f"{show(value)} is not a 4-octet AS number")
    if value == 0:
        raise Invalid("0 is not a usable AS number (RFC 7607 reserves AS 0)")
    if value == AS_TRANS:
        raise Invalid(f"{value} is AS_TRANS (RFC 6793) and cannot be configured")
    return value


def hold_time(value: Any) -> int:
    """RFC 4271 section 4.2: zero, or at least three seconds."""
    if not _is_int(value) or not (value == 0 or 3 <= value <= 0xFFFF):
        raise Invalid(f"{show(value)} is not a hold time: use 0 (no keepalives) or "
                      "3..65535 seconds (RFC 4271 section 4.2)")
    return value


def ttl_security(value: Any) -> int:
    """GTSM (RFC 5082): ``true`` is one hop, an integer the hop count, ``false``
    or 0 off.  254 hops at most: 255 would accept any TTL."""
    if isinstance(value, bool):
        return 1 if value else 0
    if _is_int(value) and 0 <= value <= 254:
        return value
    raise Invalid(f"{show(value)} is not true, false or a hop count 1..254")


def password(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string")
    size = len(value.encode())
    if not 1 <= size <= MAX_PASSWORD:
        raise Invalid(f"must be 1..{MAX_PASSWORD} bytes long (TCP MD5 key, RFC 2385), "
                      f"not {size}")
    if "\0" in value:
        raise Invalid("must not contain NUL characters")
    return value


def name(value: Any) -> str:
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise Invalid(f"{show(value)} is not a name: use up to 64 letters, digits and '_', "
                  "not starting with a digit")


def hostname(value: Any) -> str:
    """A host or domain name for the FQDN capability (one length octet: 255 max)."""
    if not isinstance(value, str) or not _HOSTNAME.match(value) or len(value) > 255:
        raise Invalid(f"{show(value)} is not a host name (RFC 1123 labels, "
                      "at most 255 characters)")
    return value


def socket_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise Invalid(f"{show(value)} is not an absolute path")
    size = len(value.encode())
    if size > MAX_SUN_PATH:
        raise Invalid(f"is {size} bytes long; a Unix socket path holds at most {MAX_SUN_PATH}")
    return value


def file_mode(value: Any) -> int:
    """``"0660"`` (octal digits in a string) or ``0o660`` (a TOML octal integer)."""
    if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3}", value):
        return int(value, 8)
    if _is_int(value) and 0 <= value <= 0o777:
        return value
    raise Invalid(f"{show(value)} is not a file mode: write it as '0660' or 0o660")


# -- addresses and prefixes ------------------------------------------------------

def router_id(value: Any) -> ipaddress.IPv4Address:
    """The BGP Identifier: a non-zero IPv4 address (RFC 4271, RFC 6286)."""
    try:
        addr = ipaddress.IPv4Address(value) if isinstance(value, str) else None
    except ValueError:
        addr = None
    if addr is None:
        raise Invalid(f"{show(value)} is not an IPv4 address")
    if int(addr) == 0:
        raise Invalid(f"{show(value)} is not a valid BGP identifier (RFC 6286: non-zero)")
    return addr


def cluster_id(value: Any) -> ipaddress.IPv4Address:
    """A route reflector's CLUSTER_ID (RFC 4456 section 7): four octets,
    written as an IPv4 address or an integer, not zero."""
    try:
        if isinstance(value, str):
            addr = ipaddress.IPv4Address(value)
        elif _is_int(value) and 0 <= value <= MAX_U32:
            addr = ipaddress.IPv4Address(value)
        else:
            addr = None
    except ValueError:
        addr = None
    if addr is None:
        raise Invalid(f"{show(value)} is not a cluster id: an IPv4 address or 1..{MAX_U32}")
    if int(addr) == 0:
        raise Invalid(f"{show(value)} is not a usable cluster id (zero)")
    return addr


def _ip(value: Any):
    try:
        if isinstance(value, str):
            return ipaddress.ip_address(value)
    except ValueError:
        pass
    raise Invalid(f"{show(value)} is not an IPv4 or IPv6 address")


def listen_address(value: Any):
    """Any address a socket can bind, the wildcards included."""
    return _ip(value)


def host_address(value: Any):
    """A unicast address of one host: no wildcard, no multicast, no
    IPv4-mapped IPv6; an IPv6 link-local address needs its interface
    (``fe80::1%eth0``)."""
    addr = _ip(value)
    if addr.is_unspecified or addr.is_multicast:
        raise Invalid(f"{show(value)} is not a unicast host address")
    if addr.version == 6 and addr.ipv4_mapped is not None:
        # Sockets report IPv4 peers in this form; configure them as IPv4.
        raise Invalid(f"{show(value)} is an IPv4-mapped address: write "
                      f"'{addr.ipv4_mapped}'")
    if addr.version == 6 and addr.is_link_local and not addr.scope_id:
        raise Invalid(f"{show(value)} is link-local: name the interface, "
                      f"as in '{value}%eth0'")
    return addr


def prefix(value: Any):
    """An IPv4 or IPv6 prefix with its length and no host bits."""
    if isinstance(value, str) and "/" not in value:
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            raise Invalid(f"{show(value)} has no prefix length "
                          f"(write '{value}/{addr.max_prefixlen}' for one address)")
    try:
        if isinstance(value, str) and "/" in value:
            return ipaddress.ip_network(value)
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            pass
        else:
            raise Invalid(f"{show(value)} has host bits set (did you mean '{loose}'?)") \
                from None
    raise Invalid(f"{show(value)} is not an IPv4 or IPv6 prefix")


def source_prefix(value: Any):
    """A prefix that addresses of incoming connections are matched against.
    IPv4 peers are matched as IPv4 (``conf.model.address``), never in
    IPv4-mapped form, so a prefix inside ::ffff:0:0/96 would match nothing."""
    net = prefix(value)
    mapped = ipaddress.IPv6Network("::ffff:0:0/96")
    if net.version == 6 and net.subnet_of(mapped):
        raise Invalid(f"{show(value)} is inside the IPv4-mapped range ::ffff:0:0/96; "
                      "write IPv4 prefixes as IPv4")
    return net


# -- lists and tables of values --------------------------------------------------

def list_of(item: Parser, *, unique: bool = True, min_items: int = 0,
            what: str = "item") -> Parser:
    """A TOML array; every bad item is reported at its own index."""
    def parse(value: Any) -> tuple:
        if not isinstance(value, list):
            raise Invalid(f"{show(value)} is not a list")
        if len(value) < min_items:
            raise Invalid(f"must list at least {min_items} {what}"
                          + ("s" if min_items > 1 else ""))
        out, problems, seen = [], [], set()
        for i, raw in enumerate(value):
            try:
                v = item(raw)
            except Invalid as e:
                problems += [(f"[{i}]{at}", reason) for at, reason in e.problems]
                continue
            if unique and v in seen:
                problems.append((f"[{i}]", f"{show(raw)} is listed twice"))
                continue
            seen.add(v)
            out.append(v)
        if problems:
            raise Invalid(problems=problems)
        return tuple(out)
    return parse


def community(value: Any) -> int:
    """RFC 1997: ``"65000:1"`` or a well-known name such as ``"NO_EXPORT"``."""
    try:
        return parse_community(value)
    except (ValueError, AttributeError, TypeError):
        pass
    hint = (did_you_mean(value.upper(), COMMUNITY_BY_NAME)
            if isinstance(value, str) and ":" not in value else "")
    raise Invalid(f"{show(value)} is not a community: ASN:VALUE (each 0..65535) "
                  f"or a well-known name such as 'NO_EXPORT'{hint}")


def large_community(value: Any) -> tuple[int, int, int]:
    """RFC 8092: ``"4200000000:1:2"``."""
    try:
        return parse_large_community(value)
    except (ValueError, AttributeError, TypeError):
        raise Invalid(f"{show(value)} is not a large community: A:B:C "
                      "(each 0..4294967295)") from None


def ext_community(value: Any) -> int:
    """RFC 4360: ``"rt:65000:1"``, ``"soo:10.0.0.1:7"`` or ``"0x..."``."""
    try:
        return parse_ext_community(value)
    except (ValueError, AttributeError, TypeError):
        raise Invalid(f"{show(value)} is not an extended community: KIND:ADMIN:VALUE "
                      "(KIND rt, soo, ...) or 0x followed by 16 hex digits") from None


family = choice(FAMILIES)
families = list_of(family, min_items=1, what="address family")
capabilities = list_of(choice(CAPABILITY_NAMES))
_add_path_mode = choice(ADD_PATH_MODES)


def add_path(value: Any) -> dict | int:
    """RFC 7911: one mode for every family of the peer (``"both"``), or a table
    ``{ ipv4-unicast = "receive", ipv6-unicast = "both" }``.  Returns the mode
    number, or a dict family -> mode number."""
    if isinstance(value, str):
        return _add_path_mode(value)
    if not isinstance(value, dict):
        raise Invalid(f"{show(value)} is neither a mode (off, receive, send, both) "
                      "nor a table of family = mode")
    out, problems = {}, []
    for fam, mode in value.items():
        if fam not in FAMILIES:
            problems.append(("", f"unknown address family {fam!r}"
                             + did_you_mean(fam, FAMILIES)))
            continue
        try:
            out[FAMILIES[fam]] = _add_path_mode(mode)
        except Invalid as e:
            problems += [(f".{fam}{at}", reason) for at, reason in e.problems]
    if problems:
        raise Invalid(problems=problems)
    return out


# -- routing policy ------------------------------------------------------------------

# Policy and prefix-list names: like protocol names, and dashes too
# ("from-upstream"), as route-map and filter names are usually written.
_POLICY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")

ACTIONS = ("accept", "reject")
SOURCE_KINDS = ("bgp", "static", "kernel", "local-block")
PEER_TYPES = ("ibgp", "ebgp")
ORIGINS = {"igp": 0, "egp": 1, "incomplete": 2}     # RFC 4271 section 5.1.1
MAX_PREPEND = 32


def policy_name(value: Any) -> str:
    if isinstance(value, str) and _POLICY_NAME.match(value):
        return value
    raise Invalid(f"{show(value)} is not a name: use up to 64 letters, digits, '_' and '-', "
                  "starting with a letter or '_'")


def one_or_list(item: Parser, what: str = "item") -> Parser:
    """One value, or a list of them (matches any); always returns a tuple."""
    many = list_of(item, min_items=1, what=what)

    def parse(value: Any) -> tuple:
        return many(value) if isinstance(value, list) else (item(value),)
    return parse


_RANGE_FORMS = ("write PREFIX, PREFIX+ (and every longer prefix inside it), "
                "PREFIX le N, PREFIX ge N, PREFIX ge N le M or PREFIX{N,M}")


def prefix_range(value: Any):
    """A prefix and the lengths of the prefixes inside it that match:

    - ``10.0.0.0/8``          that prefix only;
    - ``10.0.0.0/8+``         it and every longer prefix inside it (BIRD);
    - ``10.0.0.0/8 le 24``    lengths 8..24, ``ge 16`` 16..32, ``ge 16 le 24``
      16..24 (FRR's prefix lists);
    - ``10.0.0.0/8{16,24}``   lengths 16..24 (BIRD).

    Returns a ``conf.model.PrefixRange``."""
    if not isinstance(value, str):
        raise Invalid(f"{show(value)} is not a prefix range: {_RANGE_FORMS}")
    text = value.strip()
    lo = hi = None
    words: list[str] = []
    if text.endswith("+"):
        text, plus = text[:-1].rstrip(), True
    else:
        plus = False
        m = re.fullmatch(r"([^{\s]+)\s*\{\s*(\d+)\s*,\s*(\d+)\s*\}", text)
        if m:
            text, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
        else:
            text, *words = text.split() or [""]
    if not text or len(words) % 2 or any(w not in ("ge", "le") for w in words[::2]) \
            or len(set(words[::2])) != len(words) // 2 \
            or not all(w.isdigit() for w in words[1::2]):
        raise Invalid(f"{show(value)} is not a prefix range: {_RANGE_FORMS}")
    net = prefix(text)
    length, longest = net.prefixlen, net.max_prefixlen
    given = dict(zip(words[::2], map(int, words[1::2])))
    if plus:
        lo, hi = length, longest
    elif lo is None:
        lo = given.get("ge", length)
        hi = given.get("le", longest if "ge" in given else length)
    for bound, what in ((lo, "ge" if "ge" in given else "lower bound"),
                        (hi, "le" if "le" in given else "upper bound")):
        if bound > longest:
            raise Invalid(f"{show(value)}: {what} {bound} is longer than "
                          f"IPv{net.version} prefixes ({longest} bits)")
        if bound < length:
            raise Invalid(f"{show(value)}: {what} {bound} is shorter than the prefix's "
                          f"own length {length}")
    if lo > hi:
        raise Invalid(f"{show(value)}: ge {lo} is greater than le {hi}" if given else
                      f"{show(value)}: the lengths {lo}..{hi} are an empty range")
    return PrefixRange(prefix=net, min_len=lo, max_len=hi)


def prefix_lists(value: Any) -> tuple:
    """``[prefix_lists]``: a table of name = [prefix range, ...].  Returns
    ``(conf.model.PrefixList, ...)`` in file order."""
    if not isinstance(value, dict):
        raise Invalid(f"{show(value)} is not a table: write [prefix_lists] and "
                      "name = [\"10.0.0.0/8 le 24\", ...] below it")
    entries = list_of(prefix_range, min_items=1, what="prefix")
    out, problems = [], []
    for key, ranges in value.items():
        try:
            list_name = policy_name(key)
        except Invalid as e:
            problems += [("", reason) for _, reason in e.problems]
            continue
        try:
            out.append(PrefixList(name=list_name, entries=entries(ranges)))
        except Invalid as e:
            problems += [(f".{key}{at}", reason) for at, reason in e.problems]
    if problems:
        raise Invalid(problems=problems)
    return tuple(out)


def length_range(longest: int, what: str = "length") -> Parser:
    """A length or a range of them: ``24``, ``"25..32"``, ``"25.."``,
    ``"..24"``.  Returns ``(lo, hi)``."""
    def parse(value: Any) -> tuple[int, int]:
        if _is_int(value):
            lo = hi = value
        elif isinstance(value, str) and re.fullmatch(r"\s*\d*\s*\.\.\s*\d*\s*", value) \
                and value.strip() != "..":
            a, b = (part.strip() for part in value.split(".."))
            lo, hi = int(a) if a else 0, int(b) if b else longest
        else:
            raise Invalid(f"{show(value)} is not a {what} or a range such as '25..32'")
        if not 0 <= lo <= longest or not 0 <= hi <= longest:
            raise Invalid(f"{show(value)} is out of range 0..{longest}")
        if lo > hi:
            raise Invalid(f"{show(value)} is an empty range")
        return lo, hi
    return parse


def _pattern_part(part: str, hi: int):
    if part == "*":
        return None
    n = int(part)
    if not 0 <= n <= hi:
        raise ValueError(part)
    return n


def community_pattern(value: Any) -> tuple:
    """A community to match: ``"65000:1"``, a well-known name, or with ``*``
    for any half (``"65000:*"``).  Returns ``(high, low)``, None for ``*``."""
    if isinstance(value, str) and "*" in value:
        parts = value.strip().split(":")
        try:
            if len(parts) == 2:
                return tuple(_pattern_part(p, 0xFFFF) for p in parts)
        except ValueError:
            pass
        raise Invalid(f"{show(value)} is not a community pattern: ASN:VALUE with each "
                      "half 0..65535 or '*'")
    c = community(value)
    return c >> 16, c & 0xFFFF


def large_community_pattern(value: Any) -> tuple:
    """A large community to match: ``"64512:1:2"``, or with ``*`` for any
    part (``"64512:*:*"``).  Returns ``(a, b, c)``, None for ``*``."""
    if isinstance(value, str) and "*" in value:
        parts = value.strip().split(":")
        try:
            if len(parts) == 3:
                return tuple(_pattern_part(p, MAX_U32) for p in parts)
        except ValueError:
            pass
        raise Invalid(f"{show(value)} is not a large community pattern: A:B:C with each "
                      "part 0..4294967295 or '*'")
    return large_community(value)


# An AS path is matched as the text routers print ("64513 64512 {65001 65002}");
# "_" stands for a boundary (start, end, a space or a set bracket), as in
# Cisco's and FRR's AS-path regular expressions.
AS_PATH_BOUNDARY = r"(?:^|$|[ {}()\[\]])"


def as_path_regex(value: Any) -> re.Pattern:
    if not isinstance(value, str):
        raise Invalid(f"{show(value)} is not a regular expression (a string)")
    try:
        return re.compile(value.replace("_", AS_PATH_BOUNDARY))
    except re.error as e:
        raise Invalid(f"{show(value)} is not a regular expression: {e}") from None


def address_or_prefix(value: Any):
    """An address (as a one-address network) or a prefix."""
    if isinstance(value, str) and "/" in value:
        return prefix(value)
    addr = _ip(value)
    return ipaddress.ip_network(addr)


def peer_ref(value: Any):
    """A peer by name (of a [[peers]] or [[dynamic_neighbors]] table), by
    address, or by a prefix its address is in.  Names stay strings here;
    the loader resolves them."""
    if isinstance(value, str) and "/" in value:
        return prefix(value)
    if isinstance(value, str) and _NAME.match(value):
        return value
    try:
        return ipaddress.ip_network(_ip(value))
    except Invalid:
        raise Invalid(f"{show(value)} is not a peer name, address or prefix") from None


def _no_wildcard(parse: Parser, where: str) -> Parser:
    """An exact value: a '*' pattern only matches, it cannot be added."""
    def exact(value: Any):
        if isinstance(value, str) and "*" in value:
            raise Invalid(f"{show(value)}: a '*' pattern can only match; use it in "
                          f"{where}")
        return parse(value)
    return exact


exact_community = _no_wildcard(community, "match.community or set.remove_communities")
exact_large_community = _no_wildcard(
    large_community, "match.large_community or set.remove_large_communities")


def next_hop_action(value: Any):
    """``"self"`` (our address on the session) or an address."""
    if value == "self":
        return "self"
    try:
        return host_address(value)
    except Invalid:
        raise Invalid(f"{show(value)} is not 'self' or a unicast address") from None


def prepend(value: Any) -> tuple:
    """AS-path prepending: a count (our AS that many times) or
    ``{ asn = 65000, count = 2 }``.  Returns ``(asn or None, count)``."""
    count_of = integer(1, MAX_PREPEND, "times")
    if _is_int(value):
        return None, count_of(value)
    if isinstance(value, dict) and set(value) <= {"asn", "count"} and "count" in value:
        problems, out = [], []
        for key, parse in (("asn", asn), ("count", count_of)):
            try:
                out.append(parse(value[key]) if key in value else None)
            except Invalid as e:
                problems += [(f".{key}{at}", reason) for at, reason in e.problems]
        if problems:
            raise Invalid(problems=problems)
        return tuple(out)
    raise Invalid(f"{show(value)} is not a count or a table {{ asn = ..., count = ... }}")
