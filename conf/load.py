"""Loading: TOML text -> a checked, fully resolved ``Config``.

The loader works in one pass over the document and never stops at the
first problem:

1. ``tomllib`` parses the text (a syntax error is the one problem that ends
   the pass, since nothing after it can be trusted);
2. each table is read against its schema (``conf.schema.read_table``):
   unknown keys, missing keys and bad values become problems;
3. each session (peer, dynamic neighbor) is resolved: what it does not set
   comes from ``[defaults]``, then from the schema; derived defaults are
   computed (keepalive = hold_time / 3, families = the address's family,
   local_asn = asn); ``[mesh]`` becomes one such peer per other node;
4. the cross-field rules of ``SESSION_RULES`` run on the resolved values,
   and the document-wide rules (unique names, addresses and prefixes,
   something listening for passive peers, policies and the names they and
   the sessions refer to: ``conf.policy``) on the whole;
5. with no problems, the frozen objects of ``conf.model`` are built;
   otherwise one ``ConfigError`` lists every problem.

A value that was rejected is carried as ``INVALID``: rules that read it are
skipped, so one mistake gives one message.  A value inherited from
``[defaults]`` is named as such in a message about a peer.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

from . import policy
from . import values as v
from .errors import ConfigError, Problem, join
from .model import (Config, DynamicNeighbor, KernelConfig, MetricsConfig, Originate, Peer,
                    PoolConfig, underscored)
from .schema import (DERIVED, INVALID, NOT_IN_DEFAULTS, NOT_IN_DYNAMIC_NEIGHBOR, NOT_IN_MESH,
                     PEER, SECTIONS, SESSION, TOP, attributes, read_table)

_FAMILY_OF_VERSION = {4: v.FAMILIES["ipv4-unicast"], 6: v.FAMILIES["ipv6-unicast"]}
_FAMILY_NAME = {fam: text for text, fam in v.FAMILIES.items()}
_TOP = {f.name: f for f in TOP}


def load(path) -> Config:
    """Read and check the TOML file at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError([Problem("", f"cannot read the file: {e.strerror or e}")],
                          source) from None
    except UnicodeDecodeError as e:
        raise ConfigError([Problem("", f"not UTF-8 text: {e.reason} at byte {e.start}")],
                          source) from None
    return loads(text, source)


def loads(text: str, source: str = "<string>") -> Config:
    """Check configuration text; ``source`` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([Problem("", f"not valid TOML: {e}")], source) from None
    return from_document(doc, source)


def from_document(doc: dict, source: str = "<document>") -> Config:
    """Check a document already parsed into dicts and lists (as ``tomllib``
    returns it, or as built from another source of configuration)."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise ConfigError([Problem("", "the document is not a table")], source)
    config = _build(doc, source, problems)
    if problems:
        raise ConfigError(problems, source)
    return config


# -- resolving one session ---------------------------------------------------------

class _Session:
    """The resolved options of one peer or dynamic neighbor, with where each
    came from, for the cross-field rules."""

    __slots__ = ("values", "inherited", "transport_key")

    def __init__(self, values: dict, inherited: set, transport_key: str):
        self.values = values
        self.inherited = inherited
        self.transport_key = transport_key        # "address" or "prefix"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def valid(self, *keys: str) -> bool:
        return all(self.values[k] is not INVALID for k in keys)

    def text(self, key: str) -> str:
        """The value for a message, marked when it came from [defaults]."""
        value = self.values[key]
        shown = v.show(str(value)) if hasattr(value, "version") else v.show(value)
        return shown + (" (from defaults)" if key in self.inherited else "")


def _resolve(given: dict, table, defaults: dict, local_asn, transport_key: str) -> _Session:
    """Apply [defaults], the schema's defaults and the derived defaults."""
    values, inherited = {}, set()
    for field in SESSION:
        if field.name in given:
            values[field.name] = given[field.name]
        elif field.name in defaults:
            values[field.name] = defaults[field.name]
            inherited.add(field.name)
        else:
            values[field.name] = field.default
    for field in table:                     # address/prefix, asn, name, description
        if field.name not in values:
            values[field.name] = given.get(field.name, field.default)
    s = _Session(values, inherited, transport_key)

    transport = values[transport_key]
    if values["local_asn"] is DERIVED:
        values["local_asn"] = local_asn
    if values["families"] is DERIVED:
        values["families"] = (INVALID if transport is INVALID
                              else (_FAMILY_OF_VERSION[transport.version],))
    if values["keepalive"] is DERIVED:
        values["keepalive"] = values["hold_time"] // 3 if s.valid("hold_time") else INVALID
    # [defaults] serves peers of every kind: an inherited route_reflector_client
    # applies to the iBGP peers only (RFC 4456).
    if "route_reflector_client" in inherited and s.valid("asn", "local_asn") \
            and values["asn"] != values["local_asn"]:
        values["route_reflector_client"] = False
    values["add_path"] = _add_path_triples(values["add_path"], values["families"])
    return s


def _add_path_triples(mode, families):
    """The add_path setting as wire ``AddPath.families`` triples, for the
    session's own families only (a table in [defaults] may name others)."""
    if mode is INVALID or families is INVALID:
        return INVALID
    if isinstance(mode, int):
        return tuple((afi, safi, mode) for afi, safi in families if mode)
    return tuple((afi, safi, mode[(afi, safi)]) for afi, safi in families
                 if mode.get((afi, safi)))


# -- cross-field rules of one session: each yields (key, reason) -------------------

def _keepalive_below_hold(s: _Session):
    """RFC 4271 section 4.4: keepalives are sent well within the hold time,
    and not at all when the hold time is zero."""
    if not s.valid("hold_time", "keepalive"):
        return
    hold, keepalive = s["hold_time"], s["keepalive"]
    if hold == 0 and keepalive != 0:
        yield "keepalive", (f"{s.text('keepalive')} must be 0 when hold_time is 0 "
                            "(no keepalives, RFC 4271 section 4.4)")
    elif hold and keepalive >= hold:
        yield "keepalive", (f"{s.text('keepalive')} is not less than "
                            f"hold_time {s.text('hold_time')}")
    elif hold and keepalive == 0:
        yield "keepalive", (f"{s.text('keepalive')} sends no keepalives but hold_time is "
                            f"{s.text('hold_time')}; use 1..{hold - 1}")


def _local_address_family(s: _Session):
    """The session's two ends are of one address family."""
    local, transport = s["local_address"], s[s.transport_key]
    if local in (None, INVALID) or transport is INVALID:
        return
    if local.version != transport.version:
        yield "local_address", (f"{s.text('local_address')} is IPv{local.version} but "
                                f"{s.transport_key} {s.text(s.transport_key)} "
                                f"is IPv{transport.version}")


def _gtsm_without_multihop(s: _Session):
    """RFC 5082: with GTSM we always send TTL 255, so a multihop TTL has no
    meaning; the peer's distance is given as the ttl_security hop count."""
    hops, multihop = s["ttl_security"], s["multihop"]
    if not s.valid("ttl_security", "multihop") or not hops or multihop is None:
        return
    if multihop == 1 and hops == 1:
        return                                  # both say "directly connected"
    if hops == 1:
        yield "multihop", (f"{s.text('multihop')} cannot be combined with ttl_security = true, "
                           "which means a directly connected peer (RFC 5082); for a peer "
                           f"{multihop} hops away write ttl_security = {multihop} instead")
    else:
        yield "multihop", (f"{s.text('multihop')} cannot be combined with ttl_security = "
                           f"{hops}, which sends TTL 255 and gives the peer's distance "
                           "(RFC 5082); remove multihop")


def _reflector_clients_are_ibgp(s: _Session):
    """RFC 4456: a route reflector reflects to and from iBGP peers only."""
    if not s.valid("route_reflector_client", "asn", "local_asn") or s["local_asn"] is None:
        return
    if s["route_reflector_client"] and s["asn"] != s["local_asn"]:
        yield "route_reflector_client", (
            f"true needs an iBGP peer (RFC 4456), but the peer's AS {s['asn']} "
            f"is not the local AS {s['local_asn']}")


def _add_path_families_are_carried(s: _Session, given: dict):
    """RFC 7911: add-path is negotiated per family the session carries."""
    mode, families = given.get("add_path"), s["families"]
    if not isinstance(mode, dict) or families is INVALID:
        return
    for fam in mode:
        if fam not in families:
            names = ", ".join(_FAMILY_NAME[f] for f in families)
            yield (f"add_path.{_FAMILY_NAME[fam]}",
                   f"{_FAMILY_NAME[fam]} is not among this session's families ({names})")


def _one_next_hop_mode(s: _Session):
    """Our address always, or the route's always: not both."""
    if s.valid("next_hop_self", "next_hop_keep") and s["next_hop_self"] and s["next_hop_keep"]:
        yield "next_hop_keep", "cannot be combined with next_hop_self = true; choose one"


SESSION_RULES = (_keepalive_below_hold, _local_address_family, _gtsm_without_multihop,
                 _reflector_clients_are_ibgp, _one_next_hop_mode)
# Rules about what the table itself says, not what it inherits.
GIVEN_RULES = (_add_path_families_are_carried,)


def _session(raw: dict, table, path: str, defaults: dict, local_asn, transport_key: str,
             problems: list[Problem], not_here=None) -> _Session:
    given = read_table(raw, table, path, problems, not_here=not_here)
    s = _resolve(given, table, defaults, local_asn, transport_key)
    found = [*(p for rule in GIVEN_RULES for p in rule(s, given)),
             *(p for rule in SESSION_RULES for p in rule(s))]
    problems += [Problem(join(path, key), reason) for key, reason in found]
    return s


# -- the node-to-node mesh -----------------------------------------------------------

MESH_PREFIX = "Mesh_"


def _mesh_selves(given: dict, defaults: dict, listen, nodes) -> dict:
    """This node's address per IP version: the local_address of [mesh] (or
    [defaults]), else the node address we listen on."""
    own = {}
    local = given.get("local_address", defaults.get("local_address"))
    if local is not None and local is not INVALID:
        own[local.version] = local
    listening = set(listen)
    for version in (4, 6):
        mine = [n for n in nodes if n.version == version and n in listening]
        if version not in own and len(mine) == 1:
            own[version] = mine[0]
    return own


def _mesh(sections: dict, defaults: dict, local_asn, listen, problems: list[Problem]) -> list:
    """The [mesh] table as one iBGP session per other node: ``[(path,
    _Session)]``.  Of each pair of nodes exactly one side connects: the
    node whose address is greater as text waits (passive), as Calico's
    BIRD templates decide it, so both sides agree without talking."""
    out = []
    for path, raw in sections["mesh"]:
        given = read_table(raw, SECTIONS["mesh"][1], path, problems, not_here=NOT_IN_MESH)
        nodes = given.get("nodes", INVALID)
        if nodes is INVALID:
            continue
        asn = given.get("asn", DERIVED)
        if asn is DERIVED:
            asn = local_asn
        own = _mesh_selves(given, defaults, listen if listen is not INVALID else (), nodes)
        session = {k: val for k, val in given.items() if k not in ("nodes", "asn")}
        seen = set()                        # problems reported (once for all the nodes)
        for i, node in enumerate(nodes):
            me = own.get(node.version)
            if me is None:
                if node.version not in seen:
                    seen.add(node.version)
                    problems.append(Problem(path, f"cannot tell which IPv{node.version} node "
                                                  "is this one: set local_address or listen "
                                                  "on this node's address"))
                continue
            if node == me:
                continue
            values = dict(session, address=node, asn=asn if asn is not None else INVALID,
                          name=MESH_PREFIX + underscored(node), passive=str(me) > str(node))
            local = values.get("local_address")
            if local not in (None, INVALID) and local.version != node.version:
                del values["local_address"]     # the other family's address of ours
            s = _resolve(values, PEER, defaults, local_asn, "address")
            if "route_reflector_client" in s.inherited:
                s.values["route_reflector_client"] = False      # mesh peers are not clients
            local = s["local_address"]
            if local is None or (local is not INVALID and local.version != node.version):
                s.values["local_address"] = me      # Calico: source address = node IP
            for key, reason in (p for rule in SESSION_RULES for p in rule(s)):
                if (key, reason) not in seen:
                    seen.add((key, reason))
                    problems.append(Problem(join(path, key), reason))
            out.append((f"{path}.nodes[{i}]", s))
    return out


# -- the document ---------------------------------------------------------------

def _section(doc: dict, key: str, array: bool, problems: list[Problem]) -> list:
    """The raw tables of one section as (path, table) pairs."""
    raw = doc.get(key)
    if raw is None:
        return []
    if not array:
        if isinstance(raw, dict):
            return [(key, raw)]
        problems.append(Problem(key, f"must be a table: write [{key}]"))
        return []
    if not isinstance(raw, list):
        problems.append(Problem(key, f"must be an array of tables: write [[{key}]]"))
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((f"{key}[{i}]", item))
        else:
            problems.append(Problem(f"{key}[{i}]", f"{v.show(item)} is not a table"))
    return out


# The sections of sessions: the key naming the far end, the prefix of
# derived names, and the keys the section refuses with a reason.
_SESSION_SECTIONS = (
    ("peers", "address", "peer_", None),
    ("dynamic_neighbors", "prefix", "dynamic_", NOT_IN_DYNAMIC_NEIGHBOR),
)


class _Unique:
    """Finds the second use of a value that must be unique (names, addresses)."""

    __slots__ = ("what", "seen")

    def __init__(self, what: str):
        self.what = what
        self.seen: dict = {}

    def check(self, value, path: str, key: str, problems: list[Problem]) -> bool:
        """Record ``value``; report and return False if it was seen before."""
        if value is INVALID or value is DERIVED:
            return True
        first = self.seen.setdefault(value, path)
        if first == path:
            return True
        shown = v.show(value if isinstance(value, str) else str(value))
        problems.append(Problem(join(path, key), f"{shown} is also the {self.what} of {first}"))
        return False


def _build(doc: dict, source: str, problems: list[Problem]) -> Config | None:
    top = read_table(doc, TOP, "", problems, also_known=SECTIONS)
    sections = {key: _section(doc, key, array, problems)
                for key, (array, _) in SECTIONS.items()}
    local_asn = top.get("asn")
    if local_asn is INVALID:
        local_asn = None

    defaults: dict = {}
    for path, raw in sections["defaults"]:
        defaults = read_table(raw, SECTIONS["defaults"][1], path, problems,
                              not_here=NOT_IN_DEFAULTS)
    # An invalid default is reported once, at [defaults]; peers fall back to
    # the schema's default instead of repeating the error.
    defaults = {k: val for k, val in defaults.items() if val is not INVALID}

    names = _Unique("name")                 # peers and dynamic neighbors share names
    sessions: dict[str, list[_Session]] = {}
    for key, far_end, name_prefix, not_here in _SESSION_SECTIONS:
        sessions[key], ends = [], _Unique(far_end)
        for path, raw in sections[key]:
            s = _session(raw, SECTIONS[key][1], path, defaults, local_asn, far_end,
                         problems, not_here)
            unique = ends.check(s[far_end], path, far_end, problems)
            if s["name"] is DERIVED and s.valid(far_end):
                s.values["name"] = name_prefix + underscored(s[far_end])
            if unique or "name" in raw:     # a derived name repeats a repeated address
                names.check(s["name"], path, "name", problems)
            sessions[key].append(s)
    listen = top.get("listen", _TOP["listen"].default)
    mesh = _mesh(sections, defaults, local_asn, listen, problems)
    configured = {s["address"]: path for (path, _raw), s in zip(sections["peers"],
                                                                   sessions["peers"])}
    for path, s in mesh:
        first = configured.get(s["address"])
        if first is not None:
            problems.append(Problem(path, f"{v.show(str(s['address']))} is also the address "
                                          f"of {first}"))
        else:
            names.check(s["name"], path, "name", problems)
    peers, dynamic = sessions["peers"] + [s for _p, s in mesh], sessions["dynamic_neighbors"]
    for s in dynamic:
        s.values["passive"] = True

    originated, announced = [], _Unique("prefix")
    for path, raw in sections["originate"]:
        given = read_table(raw, SECTIONS["originate"][1], path, problems)
        announced.check(given["prefix"], path, "prefix", problems)
        originated.append(given)

    kernel = metrics = None
    for path, raw in sections["kernel"]:
        kernel = read_table(raw, SECTIONS["kernel"][1], path, problems)
    for path, raw in sections["metrics"]:
        metrics = read_table(raw, SECTIONS["metrics"][1], path, problems)
    pools, pooled = [], _Unique("prefix")
    for path, raw in sections["pools"]:
        given = read_table(raw, SECTIONS["pools"][1], path, problems)
        pooled.check(given["prefix"], path, "prefix", problems)
        if given.get("encap", "none") != "none" and kernel is None:
            problems.append(Problem(join(path, "encap"),
                                    "needs a [kernel] table: encapsulation is a kernel route"))
        pools.append(given)

    # Routing policy (conf.policy): the policies, and the names sessions give them.
    policies = policy.read(sections["policies"], problems)
    peer_names = {s["name"]: ipaddress.ip_network(s["address"]) for s in peers
                  if s.valid("name", "address")}
    peer_names.update({s["name"]: s["prefix"] for s in dynamic if s.valid("name", "prefix")})
    naming = [(path, s.values, s.inherited) for key, *_ in _SESSION_SECTIONS
              for (path, _raw), s in zip(sections[key], sessions[key])]
    naming += [("mesh", s.values, s.inherited) for _path, s in mesh[:1]]
    if sections["defaults"]:
        naming.insert(0, ("defaults", defaults, set()))
    policy.check(policies, top.get("prefix_lists", ()), naming, peer_names, problems)

    if listen == ():
        paths = [p for p, _raw in sections["peers"]] + [p for p, _s in mesh]
        waiting = [p for p, s in zip(paths, peers)
                   if s["passive"] is True and s["enabled"] is True]
        if waiting:
            problems.append(Problem("listen", f"is empty, so passive {waiting[0]} "
                                              "could never connect"))
        elif dynamic:
            problems.append(Problem("listen", "is empty, so dynamic neighbors "
                                              "could never connect"))

    if problems:
        return None
    settings = {f.name: top.get(f.name, f.default) for f in TOP}
    if settings["cluster_id"] is DERIVED:
        # RFC 4456 section 7: a reflector's cluster is usually named by its
        # router id; without clients we reflect nothing and need none.
        clients = any(s["route_reflector_client"] for s in peers + dynamic)
        settings["cluster_id"] = settings["router_id"] if clients else None
    return Config(
        **settings,
        peers=tuple(Peer(**attributes(s.values, SESSION)) for s in peers),
        dynamic_neighbors=tuple(DynamicNeighbor(**attributes(s.values, SESSION))
                                for s in dynamic),
        originate=tuple(Originate(**{f.name: given.get(f.name, f.default)
                                     for f in SECTIONS["originate"][1]})
                        for given in originated),
        policies=policy.build(policies, peer_names),
        kernel=None if kernel is None else KernelConfig(**_filled(kernel, SECTIONS["kernel"][1])),
        pools=tuple(PoolConfig(**_filled(p, SECTIONS["pools"][1])) for p in pools),
        metrics=None if metrics is None else MetricsConfig(
            **_filled(metrics, SECTIONS["metrics"][1])),
        source=source)


def _filled(given: dict, table) -> dict:
    """Every key of a table: the given value, else the default (DERIVED: None,
    computed where the value is used)."""
    out = {}
    for f in table:
        val = given.get(f.name, f.default)
        out[f.attr or f.name] = None if val is DERIVED else val
    return out
