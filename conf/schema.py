"""The schema: one row per configuration key, one table per TOML table.

A ``Field`` names a key, the parser of its value (``conf.values``), whether
it is required, and what an absent key means.  ``read_table`` applies a
table of fields to one TOML table and records every problem it meets:
unknown keys (with a did-you-mean suggestion), keys not allowed in that
table, missing required keys, and values their parser rejects.  A key whose
value was rejected maps to ``INVALID`` so that later cross-field checks can
skip it instead of reporting a second, derived error.

Session options (``SESSION``) are shared by ``[defaults]``, ``[[peers]]``
and ``[[dynamic_neighbors]]``; a peer inherits what it does not set from
``[defaults]``, then from the ``default`` column here.  ``DERIVED``
defaults are computed by the loader from other keys (see their ``doc``).

Run ``python3 -m conf`` to print the reference of every key.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping

from . import values as v
from .errors import Invalid, Problem, join


class _Marker:
    __slots__ = ("label",)

    def __init__(self, label: str):
        self.label = label

    def __repr__(self) -> str:
        return self.label


INVALID = _Marker("INVALID")    # the key was present but its value was rejected
DERIVED = _Marker("DERIVED")    # the loader computes the default from other keys


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    parse: v.Parser
    default: Any = None         # value when absent; None: unset
    required: bool = False
    doc: str = ""
    shown: str = ""             # the default as the reference prints it, if not obvious
    attr: str = ""              # the model's attribute, when it is not ``name`` (a keyword)


def attributes(values: Mapping, table) -> dict:
    """Parsed values keyed by the model's attribute names."""
    renamed = {f.name: f.attr for f in table if f.attr}
    return {renamed.get(k, k): val for k, val in values.items()}


# -- the top level ------------------------------------------------------------

TOP = (
    Field("router_id", v.router_id, required=True,
          doc="BGP Identifier, a non-zero IPv4 address (RFC 6286)"),
    Field("asn", v.asn, required=True, doc="local AS, 1..4294967295 (not 23456)"),
    Field("listen", v.list_of(v.listen_address),
          default=(ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv6Address("::")),
          doc="addresses to accept BGP connections on; [] accepts none"),
    Field("port", v.integer(1, 65535), default=179, doc="TCP port to listen on"),
    Field("hostname", v.hostname, doc="host name for the FQDN capability"),
    Field("domain", v.hostname, doc="domain name for the FQDN capability"),
    Field("control_socket", v.socket_path, default="/run/bgpd/bgpd.ctl",
          doc="path of the control socket"),
    Field("control_socket_mode", v.file_mode, default=0o660, shown="'0660'",
          doc="permissions of the control socket, '0660' or 0o660"),
    Field("log_level", v.choice(v.LOG_LEVELS), default="info",
          doc="one of " + ", ".join(v.LOG_LEVELS)),
    Field("prefix_lists", v.prefix_lists, default=(), shown="{}",
          doc="[prefix_lists] name = ['10.0.0.0/8 le 24', '10.1.0.0/16+', ...], "
              "for policies to match"),
    Field("max_paths", v.integer(1, 64), default=1,
          doc="ECMP: up to this many equal best paths per prefix (BIRD's merge paths)"),
    Field("local_blocks", v.list_of(v.prefix), default=(), shown="[]",
          doc="the node's pod blocks (e.g. /26s): announced, and blackholed in the kernel"),
    Field("service_ranges", v.list_of(v.prefix), default=(), shown="[]",
          doc="service address ranges (cluster, external, load-balancer IPs): "
              "announced, never installed in the kernel"),
    Field("bird_control_socket", v.socket_path,
          doc="also answer BIRD's control protocol on this socket (birdc, birdcl and "
              "calico-node's health checks), e.g. /var/run/calico/bird.ctl; default: off"),
    Field("bird_control_flavour", v.choice(("bird1", "bird2")), default="bird1",
          doc="the BIRD version whose output the BIRD socket imitates: bird1 or bird2"),
    Field("cluster_id", v.cluster_id, default=DERIVED,
          doc="CLUSTER_ID of this route reflector (RFC 4456), an IPv4 address or integer; "
              "default: router_id when a peer is a route_reflector_client"),
)

# -- options of a BGP session ---------------------------------------------------

SESSION = (
    Field("passive", v.boolean, default=False, doc="never connect, only accept"),
    Field("local_address", v.host_address,
          doc="source address of the session (same family as the peer)"),
    Field("local_asn", v.asn, default=DERIVED, doc="our AS on this session; default: asn"),
    Field("port", v.integer(1, 65535), default=179, doc="the peer's TCP port"),
    Field("multihop", v.integer(1, 255),
          doc="TTL of our packets; default: 1 for eBGP, 64 for iBGP"),
    Field("ttl_security", v.ttl_security, default=0, shown="false",
          doc="GTSM (RFC 5082): true (peer 1 hop away) or the hop count; "
              "not with multihop"),
    Field("password", v.password, doc="TCP MD5 key (RFC 2385), 1..80 bytes"),
    Field("hold_time", v.hold_time, default=90,
          doc="seconds, 0 or 3..65535 (RFC 4271's suggested 90)"),
    Field("keepalive", v.integer(0, 65535, "seconds"), default=DERIVED,
          doc="seconds, less than hold_time; default: hold_time / 3"),
    Field("connect_retry", v.integer(1, 65535, "seconds"), default=5,
          doc="seconds between connection attempts (Calico's 5)"),
    Field("delay_open", v.integer(1, 65535, "seconds"),
          doc="DelayOpenTime in seconds (RFC 4271 8.1.1); default: off"),
    Field("families", v.families, default=DERIVED,
          doc="address families, of ipv4-unicast, ipv6-unicast; "
              "default: the family of the peer's address"),
    Field("add_path", v.add_path, default=0, shown="'off'",
          doc="RFC 7911: off, receive, send or both, for every family "
              "or as a table family = mode"),
    Field("graceful_restart", v.boolean, default=True, doc="RFC 4724"),
    Field("restart_time", v.integer(1, 4095, "seconds"), default=120,
          doc="RFC 4724 Restart Time in seconds (BIRD's and Calico's 120)"),
    Field("enabled", v.boolean, default=True, doc="false: configured but shut down"),
    Field("route_reflector_client", v.boolean, default=False,
          doc="reflect routes to this iBGP peer (RFC 4456)"),
    Field("next_hop_self", v.boolean, default=False,
          doc="set NEXT_HOP to our address on routes sent to this peer"),
    Field("next_hop_keep", v.boolean, default=False,
          doc="never change NEXT_HOP on routes sent to this peer, eBGP included "
              "(BIRD's next hop keep, Calico's nextHopMode: Keep)"),
    Field("send_med", v.boolean, default=False,
          doc="pass MULTI_EXIT_DISC learned from others on to this eBGP peer"),
    Field("allow_own_as", v.integer(0, 10), default=0,
          doc="accept routes whose AS_PATH holds our AS up to this many times (allowas-in, "
              "Calico's numAllowedLocalASNumbers: nodes of one AS behind routers)"),
    Field("required_capabilities", v.capabilities, default=(),
          doc="capabilities the peer must advertise: " + ", ".join(v.CAPABILITY_NAMES)),
    Field("import", v.policy_name, attr="import_policy",
          doc="policy applied to routes from the peer, or accept-all / reject-all; "
              "default: accept-all for iBGP, reject-all for eBGP (RFC 8212)"),
    Field("export", v.policy_name, attr="export_policy",
          doc="policy applied to routes sent to the peer; same defaults (RFC 8212)"),
)

_IDENTITY = (
    Field("asn", v.asn, required=True, doc="the peer's AS"),
    Field("name", v.name, default=DERIVED,
          doc="protocol name, unique; default: peer_<address> or dynamic_<prefix>"),
    Field("description", v.string(255), default="", doc="free text"),
)

DEFAULTS = SESSION

PEER = (Field("address", v.host_address, required=True,
              doc="the peer's IPv4 or IPv6 address (fe80::1%eth0 for link-local)"),
        *_IDENTITY, *SESSION)

DYNAMIC_NEIGHBOR = (Field("prefix", v.source_prefix, required=True,
                          doc="accept sessions from addresses in this prefix (always passive)"),
                    *_IDENTITY, *(f for f in SESSION if f.name != "passive"))

# Keys that exist elsewhere but make no sense in a table, with the reason.
NOT_IN_DYNAMIC_NEIGHBOR = {
    "passive": "dynamic neighbors only accept connections; they are always passive",
    "address": "a dynamic neighbor matches a prefix; use prefix",
}

NOT_IN_DEFAULTS = {
    key: f"{key} belongs in each [[peers]] or [[dynamic_neighbors]] table; "
         "[defaults] holds session options"
    for key in ("address", "asn", "name", "description", "prefix")
}

# The node-to-node mesh: one iBGP peer per node, named Mesh_<address>, the
# passive side of each pair chosen as Calico does (see conf.load).
MESH = (
    Field("nodes", v.list_of(v.host_address, what="address"), required=True,
          doc="addresses of every node of the mesh (this node's own is skipped)"),
    Field("asn", v.asn, default=DERIVED, doc="the nodes' AS; default: asn (iBGP)"),
    *(f for f in SESSION if f.name != "passive"),
)

NOT_IN_MESH = {
    "passive": "in the mesh the side whose address is greater (as text) is passive, "
               "so that each pair makes one connection",
    "address": "list the nodes' addresses in nodes",
    "name": "mesh peers are named Mesh_<address>",
}

ORIGINATE = (
    Field("prefix", v.prefix, required=True, doc="the prefix to announce"),
    Field("communities", v.list_of(v.community), default=(),
          doc="RFC 1997: '65000:1' or well-known names such as 'NO_EXPORT'"),
    Field("large_communities", v.list_of(v.large_community), default=(),
          doc="RFC 8092: '4200000000:1:2'"),
    Field("extended_communities", v.list_of(v.ext_community), default=(),
          doc="RFC 4360: 'rt:65000:1', 'soo:10.0.0.1:7', '0x...'"),
    Field("next_hop", v.host_address, doc="default: our address on each session"),
    Field("local_pref", v.integer(0, v.MAX_U32), doc="LOCAL_PREF, sent to iBGP peers"),
    Field("med", v.integer(0, v.MAX_U32), doc="MULTI_EXIT_DISC"),
)

# -- the kernel FIB (kernel_sync) ---------------------------------------------------

# rtm_protocol names ``ip route`` prints, for the protocol keys.
KERNEL_PROTOCOLS = {"bgpd": 179, "bird": 12, "zebra": 11, "static": 4, "boot": 3,
                    "kernel": 2, "dhcp": 16, "keepalived": 18, "babel": 42}


def _rt_protocol(value):
    if isinstance(value, str) and value in KERNEL_PROTOCOLS:
        value = KERNEL_PROTOCOLS[value]
    elif isinstance(value, str):
        raise v.Invalid(f"{v.show(value)} is not a protocol: a number 4..255 or one of "
                        + ", ".join(sorted(KERNEL_PROTOCOLS)))
    n = v.integer(4, 255)(value)
    return n


def _any_protocol(value):
    if isinstance(value, str) and value in KERNEL_PROTOCOLS:
        return KERNEL_PROTOCOLS[value]
    if isinstance(value, str):
        raise v.Invalid(f"{v.show(value)} is not a protocol: a number 0..255 or one of "
                        + ", ".join(sorted(KERNEL_PROTOCOLS)))
    return v.integer(0, 255)(value)


def _interface_pattern(value):
    text = v.string(15)(value)
    if not text or any(c.isspace() or c == "/" for c in text):
        raise v.Invalid(f"{v.show(value)} is not an interface name or pattern")
    return text


def _node_address(value):
    import ipaddress as _ip
    if not isinstance(value, str) or "/" not in value:
        raise v.Invalid(f"{v.show(value)}: write the address with its subnet's length, "
                        "e.g. '192.168.16.101/24'")
    try:
        return _ip.ip_interface(value)
    except ValueError as e:
        raise v.Invalid(f"{v.show(value)}: {e}") from None


ENCAPS = ("none", "ipip", "ipip-cross-subnet", "vxlan", "vxlan-cross-subnet")

# [kernel]: present, the daemon keeps the kernel's routing table.
KERNEL = (
    Field("protocol", _rt_protocol, default=179,
          doc="rtm_protocol of our routes, 4..255 or a name (bird = 12 takes over a "
              "BIRD's routes); routes of other protocols are never touched"),
    Field("table", v.integer(1, 2 ** 32 - 1), default=254, doc="routing table (254: main)"),
    Field("metric", v.integer(0, v.MAX_U32), default=0, doc="metric of our routes"),
    Field("metric_from_local_pref", v.boolean, default=False,
          doc="BGP routes get metric 2147483647 - LOCAL_PREF (as newer Calico)"),
    Field("block_type", v.choice(("blackhole", "unreachable", "prohibit")),
          default="blackhole", doc="kernel route type of local_blocks"),
    Field("persist", v.boolean, default=True,
          doc="leave our routes in the kernel when the daemon stops, and sweep stale ones "
              "after the next start's End-of-RIBs (graceful restart)"),
    Field("node_addresses", v.list_of(_node_address), default=DERIVED, shown="(read)",
          doc="this node's addresses with their subnet length, for cross-subnet "
              "encapsulation; default: the global addresses of the host's interfaces"),
    Field("learn_interfaces", v.list_of(_interface_pattern), default=(), shown="[]",
          doc="learn routes of other protocols whose interface matches one of these "
              "patterns ('cali*') into the RIB as kernel routes; [] learns none"),
    Field("learn_protocols", v.list_of(_any_protocol), default=(), shown="[]",
          doc="learn only routes of these protocols; []: any but the kernel's own"),
    Field("vxlan_vni", v.integer(1, 2 ** 24 - 1), default=4096,
          doc="VNI of the VXLAN device the daemon creates (Calico's 4096)"),
    Field("vxlan_port", v.integer(1, 65535), default=4789, doc="UDP port of that device"),
    Field("vxlan_mtu", v.integer(68, 65535), doc="MTU of that device; default: the kernel's"),
    Field("gr_time", v.integer(1, 3600), default=300,
          doc="after a start that found our routes in the kernel: seconds to wait for "
              "the peers' End-of-RIBs before stale routes are swept anyway"),
)

# [[pools]]: how routes into an address pool are installed.
POOL = (
    Field("prefix", v.prefix, required=True, doc="the pool, e.g. '10.244.0.0/16'"),
    Field("encap", v.choice(ENCAPS), default="none", doc=" | ".join(ENCAPS)),
    Field("device", _interface_pattern,
          doc="tunnel device; default tunl0 (ipip), vxlan.calico or vxlan-v6.calico (vxlan)"),
)

def _host_port(value):
    import ipaddress as _ip
    text = v.string(100)(value)
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep:
        raise v.Invalid(f"{v.show(value)}: write HOST:PORT, e.g. '127.0.0.1:9179'")
    try:
        _ip.ip_address(host)
    except ValueError:
        raise v.Invalid(f"{v.show(value)}: {v.show(host)} is not an IP address") from None
    return (host, v.integer(0, 65535)(int(port) if port.isdigit() else port))


# [metrics]: the Prometheus endpoint.
METRICS = (
    Field("listen", _host_port, default=("127.0.0.1", 9179), shown="'127.0.0.1:9179'",
          doc="HOST:PORT of the HTTP endpoint serving /metrics"),
)

# -- routing policy (read by conf.policy, compiled by rib.policy) -----------------

# Names every configuration has; a policy may not take them.
BUILTIN_POLICIES = {
    "accept-all": "accepts every route",
    "reject-all": "rejects every route",
}

POLICY = (
    Field("name", v.policy_name, required=True,
          doc="what peers' import and export keys call it"),
    Field("description", v.string(255), default="", doc="free text"),
    Field("default", v.choice(v.ACTIONS), required=True,
          doc="accept or reject: the action when no rule matches"),
)

RULE = (
    Field("description", v.string(255), default="", doc="free text, shown with the rule"),
    Field("action", v.choice(v.ACTIONS), required=True,
          doc="accept or reject the route when the match holds"),
)

_ASNS = v.one_or_list(v.asn, "AS number")

# Each key is one condition; all of them must hold.  A list means any of.
MATCH = (
    Field("family", v.one_or_list(v.family, "address family"),
          doc="ipv4-unicast or ipv6-unicast"),
    Field("prefix", v.one_or_list(v.prefix_range, "prefix"),
          doc="'10.0.0.0/8', '10.0.0.0/8+' (or longer), '10.0.0.0/8 ge 16 le 24', "
              "'10.0.0.0/8{16,24}'"),
    Field("prefix_list", v.one_or_list(v.policy_name, "prefix list"),
          doc="names from [prefix_lists]"),
    Field("prefix_length", v.length_range(128), doc="24 or '25..32'"),
    Field("as_path_contains", _ASNS, doc="an AS anywhere in AS_PATH"),
    Field("origin_as", _ASNS, doc="the last AS of AS_PATH (the originator)"),
    Field("neighbor_as", _ASNS, doc="the first AS of AS_PATH (the neighbour)"),
    Field("as_path_length", v.length_range(v.MAX_U32, "length"),
          doc="3 or '0..2', counted as best-path selection does (RFC 4271 9.1.2.2)"),
    Field("as_path_regex", v.as_path_regex,
          doc="regular expression searched in the AS path text ('64513 64512'); "
              "'_' is a boundary: '_64512$', '^$' (our own routes)"),
    Field("community", v.one_or_list(v.community_pattern, "community"),
          doc="has any of: '65000:1', '65000:*', 'NO_EXPORT'"),
    Field("community_all", v.one_or_list(v.community_pattern, "community"),
          doc="has all of"),
    Field("extended_community", v.one_or_list(v.ext_community, "extended community"),
          doc="has any of: 'rt:65000:1', 'soo:10.0.0.1:7', '0x...'"),
    Field("extended_community_all", v.one_or_list(v.ext_community, "extended community"),
          doc="has all of"),
    Field("large_community", v.one_or_list(v.large_community_pattern, "large community"),
          doc="has any of: '64512:1:2', '64512:*:*'"),
    Field("large_community_all", v.one_or_list(v.large_community_pattern, "large community"),
          doc="has all of"),
    Field("next_hop", v.one_or_list(v.address_or_prefix, "address"),
          doc="next hop is this address or inside this prefix"),
    Field("source", v.one_or_list(v.choice(v.SOURCE_KINDS), "source"),
          doc="where the route came from: " + ", ".join(v.SOURCE_KINDS)),
    Field("peer", v.one_or_list(v.peer_ref, "peer"),
          doc="learned from this peer: its name, address, or a prefix; "
              "a dynamic neighbor's name means all its peers"),
    Field("peer_type", v.choice(v.PEER_TYPES), doc="learned over ibgp or ebgp"),
    Field("peer_asn", _ASNS, doc="learned from a peer in this AS"),
)

SET = (
    Field("local_pref", v.integer(0, v.MAX_U32), doc="LOCAL_PREF"),
    Field("med", v.integer(0, v.MAX_U32), doc="MULTI_EXIT_DISC"),
    Field("origin", v.choice(v.ORIGINS), doc="ORIGIN: igp, egp or incomplete"),
    Field("next_hop", v.next_hop_action,
          doc="'self' (our address on the session) or an address"),
    Field("prepend", v.prepend,
          doc="AS_PATH prepending: a count of our AS, or { asn = 65000, count = 2 }"),
    Field("communities", v.list_of(v.exact_community), doc="replace every community"),
    Field("add_communities", v.one_or_list(v.exact_community, "community"),
          doc="add these communities"),
    Field("remove_communities", v.one_or_list(v.community_pattern, "community"),
          doc="remove these: '65000:1', '65000:*'"),
    Field("extended_communities", v.list_of(v.ext_community),
          doc="replace every extended community"),
    Field("add_extended_communities", v.one_or_list(v.ext_community, "extended community"),
          doc="add these extended communities"),
    Field("remove_extended_communities",
          v.one_or_list(v.ext_community, "extended community"),
          doc="remove these extended communities"),
    Field("large_communities", v.list_of(v.exact_large_community),
          doc="replace every large community"),
    Field("add_large_communities", v.one_or_list(v.exact_large_community, "large community"),
          doc="add these large communities"),
    Field("remove_large_communities",
          v.one_or_list(v.large_community_pattern, "large community"),
          doc="remove these: '64512:1:2', '64512:*:*'"),
)

# Tables inside a policy, read by conf.policy: key -> (array?, fields, what it is).
NESTED = {
    "[[policies.rules]]": ("rules", True, RULE,
                           "the rules of a policy, in order; the first that matches decides"),
    "match": ("match", False, MATCH,
              "in a rule: every key is a condition and all must hold (a list: any of); "
              "no match table: every route"),
    "match.not": ("not", False, MATCH,
                  "in a match: the rule matches when this table (same keys) does not"),
    "set": ("set", False, SET, "in a rule that accepts: the changes to make"),
}

# The tables below the top level: key -> (array of tables?, fields).
SECTIONS = {
    "defaults": (False, DEFAULTS),
    "peers": (True, PEER),
    "dynamic_neighbors": (True, DYNAMIC_NEIGHBOR),
    "mesh": (False, MESH),
    "originate": (True, ORIGINATE),
    "policies": (True, POLICY),
    "kernel": (False, KERNEL),
    "pools": (True, POOL),
    "metrics": (False, METRICS),
}


# Words other daemons (BIRD, FRR, GoBGP, Calico) use for our keys, so that
# "unknown key" can name the key meant even when the spelling is far off.
SYNONYMS = {
    **dict.fromkeys(("neighbor", "neighbors", "neighbours", "peer"), "peers"),
    **dict.fromkeys(("remote_as", "remote-as", "peer_as", "peer-as", "neighbor_as",
                     "as", "as_number", "asnumber"), "asn"),
    **dict.fromkeys(("local_as", "local-as", "localasnumber"), "local_asn"),
    **dict.fromkeys(("ip", "peer_ip", "peer_address", "neighbor_address", "peerip"),
                    "address"),
    **dict.fromkeys(("md5", "md5_password", "auth_password", "tcp_md5", "authentication"),
                    "password"),
    **dict.fromkeys(("ebgp_multihop", "ebgp-multihop", "ttl"), "multihop"),
    **dict.fromkeys(("gtsm", "ttlsecurity", "ttl-security"), "ttl_security"),
    **dict.fromkeys(("source_address", "update_source", "update-source", "source"),
                    "local_address"),
    **dict.fromkeys(("hold", "holdtime", "hold-time"), "hold_time"),
    **dict.fromkeys(("keepalive_time", "keepalive_interval", "keepalivetime"), "keepalive"),
    **dict.fromkeys(("rr_client", "route-reflector-client", "rr-client"),
                    "route_reflector_client"),
    **dict.fromkeys(("afi_safis", "afi-safis", "address_families", "afi_safi"), "families"),
    **dict.fromkeys(("network", "networks", "announce", "static", "prefixes",
                     "advertise"), "originate"),
    **dict.fromkeys(("dynamic", "listen_range", "bgp_listen_range"), "dynamic_neighbors"),
    **dict.fromkeys(("router-id", "id", "identifier"), "router_id"),
    **dict.fromkeys(("policy", "filter", "filters", "route_map", "route_maps", "route-map",
                     "route-maps", "policy_definitions"), "policies"),
    **dict.fromkeys(("prefix_list", "prefix-list", "prefix-lists", "prefix_set",
                     "prefix_sets", "prefix-sets", "defined_sets"), "prefix_lists"),
    **dict.fromkeys(("import_policy", "import-policy", "import_filter", "in",
                     "route_map_in", "input_filter"), "import"),
    **dict.fromkeys(("export_policy", "export-policy", "export_filter", "out",
                     "route_map_out", "output_filter"), "export"),
    **dict.fromkeys(("rule", "statements", "terms", "entries"), "rules"),
    **dict.fromkeys(("conditions", "if", "when"), "match"),
    **dict.fromkeys(("actions", "then", "modify"), "set"),
    **dict.fromkeys(("default_action", "otherwise"), "default"),
}


def _hint(key: str, known) -> str:
    meant = SYNONYMS.get(key.lower())
    if meant in known:
        return f" (did you mean {meant!r}?)"
    return v.did_you_mean(key, known)


def read_table(raw: Mapping, table, path: str, problems: list[Problem], *,
               also_known=(), not_here: Mapping[str, str] | None = None) -> dict:
    """Parse the keys of one TOML table; return ``{key: value or INVALID}``
    for the keys present.  Keys in ``also_known`` are skipped (the caller
    reads them)."""
    known = {f.name: f for f in table}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = known.get(key)
        if field is None:
            if key in also_known:
                continue
            if not_here and key in not_here:
                problems.append(Problem(join(path, key), f"not allowed here: {not_here[key]}"))
            else:
                hint = _hint(key, [*known, *also_known])
                problems.append(Problem(path, f"unknown key {key!r}{hint}"))
            continue
        try:
            out[key] = field.parse(value)
        except Invalid as e:
            out[key] = INVALID
            problems += [Problem(join(path, key) + at, reason) for at, reason in e.problems]
    for field in table:
        if field.required and field.name not in raw:
            problems.append(Problem(path, f"missing required key {field.name!r}"))
            out[field.name] = INVALID
    return out


def reference() -> str:
    """Every key of every table with its default and meaning, as text."""
    def rows(title, table):
        yield title
        for f in table:
            if f.required:
                default = "required"
            elif f.shown:
                default = f.shown
            elif f.default is DERIVED or f.default is None:
                default = "-"
            else:
                default = v.show(list(map(str, f.default)) if isinstance(f.default, tuple)
                                 else f.default)
            yield f"  {f.name:<28} {default:<22} {f.doc}"
    session = {f.name for f in SESSION}
    out = [*rows("top level", TOP),
           *rows("session options, in [defaults], [[peers]], [[dynamic_neighbors]] and [mesh]",
                 SESSION)]
    for key, (array, table) in SECTIONS.items():
        own = [f for f in table if f.name not in session]
        if own:
            out += rows(f"[[{key}]]" if array else f"[{key}]", own)
    printed = set()
    for title, (_key, _array, table, doc) in NESTED.items():
        if id(table) in printed:
            out.append(f"{title}: {doc}")
        else:
            out += rows(f"{title}: {doc}", table)
            printed.add(id(table))
    return "\n".join(out)
