"""Configuration reload, the pure part: what must happen to go from the
running configuration to a newly loaded one.

``plan(old, new)`` compares two ``conf.model.Config`` objects and returns a
``ReloadPlan``: which sessions to start, stop, restart or re-filter in
place, which of our own prefixes to announce or withdraw, and which
top-level changes cannot be applied while the daemon runs.  It does no I/O
and keeps no state; the daemon applies the plan (or refuses it whole when
``restart_required`` is not empty, naming the keys).

How a change is applied is decided by two tables, one row per field:

- ``TOP_LEVEL``: a top-level ``Config`` field -> ``Apply`` (restart the
  daemon, restart every session, set the log level, run the decision
  process again, compared item by item, or ignored).  A field without a
  row needs a restart of the daemon: a new key is safe before anyone has
  thought about it, and applying it live is then one row.
- ``SESSION_FIELDS``: a ``Peer`` / ``DynamicNeighbor`` field -> ``Action``
  (restart the session, re-filter one direction in place, enable/disable,
  just note the new value).  A field without a row restarts the session.

Sessions are known by name (a mesh node's peer is ``Mesh_<address>``, so a
node added or removed is a peer added or removed); dynamic neighbor ranges
by prefix.  A policy is compared by value through its rules and the
contents of the prefix lists they use, so a change to a list re-filters
exactly the sessions whose policies read it.  The descriptions of a
policy and of its rules are left out: they change what ``show`` prints,
never a route.

A peer's actions, most disruptive first; each includes the ones below it::

    remove    Cease / Peer De-configured (RFC 4486 subcode 3), task ends
    restart   Cease / Other Configuration Change (subcode 6), new session
    disable   Cease / Administrative Shutdown (subcode 2)
    enable    the session starts, with the new options and policies
    refilter  import: re-run the import policy (ROUTE-REFRESH, RFC 2918,
              or the Adj-RIB-In kept before policy); export: re-run the
              export policy and send the difference
    update    store the new options; nothing on the wire (description)

Sessions the listener spawned from a dynamic range are named by the
daemon, not the configuration: ``spawned_peer_change`` tells what to do
with one of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Mapping

from wire.constants import CeaseSubcode

__all__ = ["Action", "Apply", "PeerChange", "ReloadPlan", "SESSION_FIELDS", "TOP_LEVEL",
           "CEASE_SUBCODE", "compare_sessions", "plan", "spawned_peer_change"]

IMPORT, EXPORT = "import", "export"


# -- what changes of each field mean ----------------------------------------------

class Apply(enum.Enum):
    """How a change of a top-level field is applied."""
    RESTART_DAEMON = "restart the daemon"
    RESTART_SESSIONS = "restart every session"
    LOG_LEVEL = "set the log level"
    REDECIDE = "redecide"               # run the decision process over every prefix
    ITEMS = "compared item by item"     # peers, policies, originated prefixes ...
    IGNORE = "ignored"


@dataclass(frozen=True, slots=True)
class Rule:
    apply: object                       # Apply or Action
    why: str


TOP_LEVEL: Mapping[str, Rule] = MappingProxyType({
    "router_id": Rule(Apply.RESTART_DAEMON,
                      "the BGP Identifier is in every OPEN, in the RIB's tie-breaks and in "
                      "ORIGINATOR_ID"),
    "asn": Rule(Apply.RESTART_DAEMON,
                "the local AS is every session's default local_asn and decides iBGP/eBGP"),
    "listen": Rule(Apply.RESTART_DAEMON, "the listening sockets are opened at start"),
    "port": Rule(Apply.RESTART_DAEMON, "the listening sockets are opened at start"),
    "control_socket": Rule(Apply.RESTART_DAEMON, "the control socket is opened at start"),
    "control_socket_mode": Rule(Apply.RESTART_DAEMON, "the control socket is made at start"),
    "cluster_id": Rule(Apply.RESTART_DAEMON,
                       "the RIB and the export layer are built with the CLUSTER_ID "
                       "(RFC 4456); it also follows router_id when the first "
                       "route_reflector_client appears"),
    "kernel": Rule(Apply.RESTART_DAEMON,
                   "the kernel layer owns routes by rtm_protocol and table; a change would "
                   "orphan the routes already installed"),
    "pools": Rule(Apply.RESTART_DAEMON, "the kernel routes of a pool are built at start"),
    "metrics": Rule(Apply.RESTART_DAEMON, "the metrics endpoint is opened at start"),
    "bird_control_socket": Rule(Apply.RESTART_DAEMON, "the BIRD socket is opened at start"),
    "bird_control_flavour": Rule(Apply.RESTART_DAEMON, "the BIRD socket is set up at start"),
    "hostname": Rule(Apply.RESTART_SESSIONS, "sent in the FQDN capability of every OPEN"),
    "domain": Rule(Apply.RESTART_SESSIONS, "sent in the FQDN capability of every OPEN"),
    "log_level": Rule(Apply.LOG_LEVEL, "the logger's level is set in place"),
    "max_paths": Rule(Apply.REDECIDE,
                      "the decision options change: every prefix is decided again "
                      "(Rib.set_options) and the difference exported"),
    "peers": Rule(Apply.ITEMS, "each peer by name"),
    "dynamic_neighbors": Rule(Apply.ITEMS, "each range by prefix"),
    "policies": Rule(Apply.ITEMS, "through the sessions that use them"),
    "prefix_lists": Rule(Apply.ITEMS, "through the policies that read them"),
    "originate": Rule(Apply.ITEMS, "each [[originate]] entry by value"),
    "local_blocks": Rule(Apply.ITEMS, "each prefix"),
    "service_ranges": Rule(Apply.ITEMS, "each prefix"),
    "source": Rule(Apply.IGNORE, "the file's name"),
})

_NO_TOP_RULE = Rule(Apply.RESTART_DAEMON, "no rule says how to apply it live")


class Action(enum.Enum):
    """What a session needs (see the module's docstring for what each
    includes).  IMPORT and EXPORT are what a field's row says; a session
    that needs either gets REFILTER with the directions."""
    KEEP = "keep"
    UPDATE = "update"           # new options stored, nothing on the wire
    IMPORT = "import"           # re-filter routes from the peer
    EXPORT = "export"           # re-filter routes to the peer
    REFILTER = "refilter"
    ENABLE = "enable"           # in SESSION_FIELDS: enabled changed, either way
    DISABLE = "disable"
    RESTART = "restart"
    REMOVE = "remove"


# The NOTIFICATION a session is stopped with (RFC 4486).
CEASE_SUBCODE: Mapping[Action, int] = MappingProxyType({
    Action.REMOVE: CeaseSubcode.PEER_DECONFIGURED,
    Action.RESTART: CeaseSubcode.OTHER_CONFIGURATION_CHANGE,
    Action.DISABLE: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
})

_OPEN = "sent or checked in the OPEN: only a new session negotiates it"
_SOCKET = "a property of the TCP connection"
_FSM = "the session's FSM is built with it"

SESSION_FIELDS: Mapping[str, Rule] = MappingProxyType({
    "address": Rule(Action.RESTART, "the far end of the connection"),
    "prefix": Rule(Action.RESTART, "the range's identity"),
    "name": Rule(Action.RESTART, "a spawned session's name comes from its range's name"),
    "asn": Rule(Action.RESTART, _OPEN),
    "local_asn": Rule(Action.RESTART, _OPEN),
    "hold_time": Rule(Action.RESTART, _OPEN),
    "families": Rule(Action.RESTART, _OPEN + " (RFC 4760)"),
    "add_path": Rule(Action.RESTART, _OPEN + " (RFC 7911)"),
    "graceful_restart": Rule(Action.RESTART, _OPEN + " (RFC 4724)"),
    "restart_time": Rule(Action.RESTART, _OPEN + " (RFC 4724)"),
    "required_capabilities": Rule(Action.RESTART, _OPEN),
    "keepalive": Rule(Action.RESTART, _FSM),
    "connect_retry": Rule(Action.RESTART, _FSM),
    "delay_open": Rule(Action.RESTART, _FSM),
    "passive": Rule(Action.RESTART, _FSM),
    "local_address": Rule(Action.RESTART, _SOCKET),
    "port": Rule(Action.RESTART, _SOCKET),
    "multihop": Rule(Action.RESTART, _SOCKET + " (IP TTL)"),
    "ttl_security": Rule(Action.RESTART, _SOCKET + " (GTSM, RFC 5082)"),
    "password": Rule(Action.RESTART, _SOCKET + " (TCP MD5, RFC 2385)"),
    # RFC 4456: the flag decides what this peer is sent, and also where the
    # routes learned from it go (a client's routes are reflected to
    # non-clients).  The second half lives in the RIB, on every path the peer
    # contributed (its PeerInfo), so re-running this peer's export is not
    # enough; a new session re-learns its routes with the new role.
    "route_reflector_client": Rule(Action.RESTART,
                                   "reflection of routes both to and from the peer "
                                   "(RFC 4456), recorded on every route it sent"),
    "import_policy": Rule(Action.IMPORT, "re-filtered in place"),
    "export_policy": Rule(Action.EXPORT, "re-filtered in place"),
    "next_hop_self": Rule(Action.EXPORT, "the session's export parameters: re-exported"),
    "next_hop_keep": Rule(Action.EXPORT, "the session's export parameters: re-exported"),
    "send_med": Rule(Action.EXPORT, "the session's export parameters: re-exported"),
    "allow_own_as": Rule(Action.RESTART, "decided when routes are received: a new session "
                                         "sends them again"),
    "enabled": Rule(Action.ENABLE, "the session is started or shut down"),
    "description": Rule(Action.UPDATE, "shown only"),
})

_NO_SESSION_RULE = Rule(Action.RESTART, "no rule says how to apply it live")


# -- policies as values -------------------------------------------------------------

def _lists_read(match, out: set) -> set:
    """Names of the prefix lists a match (and its ``not``) reads."""
    if match is None:
        return out
    out.update(match.prefix_list or ())
    return _lists_read(match.negated, out)


class _Policies:
    """One configuration's policies in a form that compares by what they do:
    (default, rules without descriptions) and the prefix lists they read."""

    def __init__(self, config):
        self._defs = {p.name: p for p in config.policies}
        self._lists = {pl.name: pl.entries for pl in config.prefix_lists}
        self._forms: dict = {}

    def names(self) -> set:
        return set(self._defs)

    def form(self, name: str | None):
        """``(rules form, {list name: entries})``; a built-in or unset policy
        is its name alone."""
        if name not in self._defs:
            return name, {}
        if name not in self._forms:
            p = self._defs[name]
            rules = tuple((r.match, r.set, r.action) for r in p.rules)
            lists = set()
            for r in p.rules:
                _lists_read(r.match, lists)
            self._forms[name] = ((p.default, rules),
                                 {n: self._lists.get(n) for n in sorted(lists)})
        return self._forms[name]


def _policy_change(name: str, old: _Policies, new: _Policies) -> str | None:
    """Why the policy ``name`` filters differently now, or None."""
    (old_rules, old_lists), (new_rules, new_lists) = old.form(name), new.form(name)
    if old_rules != new_rules:
        return "changed"
    lists = [n for n in sorted(set(old_lists) | set(new_lists))
             if old_lists.get(n) != new_lists.get(n)]
    if lists:
        return "changed (prefix list " + ", ".join(repr(n) for n in lists) + ")"
    return None


# -- one session --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PeerChange:
    """What one session needs: the action, the directions to re-filter (for
    ``Action.REFILTER``) and why, in words."""
    action: Action
    directions: frozenset = frozenset()
    reasons: tuple = ()


_KEEP = PeerChange(Action.KEEP)


def _show(value) -> str:
    """A value as the configuration file writes it."""
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_show, value)) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


def _field_reason(name: str, old, new) -> str:
    if name == "password":
        return "password"                   # never in a log
    if name in ("import_policy", "export_policy"):
        return f"{name.split('_')[0]} policy {_show(old)} -> {_show(new)}"
    return f"{name} {_show(old)} -> {_show(new)}"


def compare_sessions(old_s, new_s, old, new) -> PeerChange:
    """What a session needs to go from ``old_s`` (a ``Peer`` or
    ``DynamicNeighbor`` of the configuration ``old``) to ``new_s`` (of
    ``new``)."""
    return _compare(old_s, new_s, _Policies(old), _Policies(new), _session_wide(old, new))


def _changed_fields(old, new):
    """``(field, old value, new value)`` of every compared dataclass field
    that differs (a field ``old`` lacks counts as changed)."""
    for f in fields(new):
        if f.compare:
            before, after = getattr(old, f.name, None), getattr(new, f.name)
            if before != after:
                yield f, before, after


def _compare(old_s, new_s, old_policies: _Policies, new_policies: _Policies,
             restart_all: tuple) -> PeerChange:
    """``compare_sessions`` with the policies' forms kept across sessions;
    ``restart_all``: reasons that restart every session (a top-level change
    such as ``hostname``)."""
    by_action: dict[Action, list[str]] = {}
    for f, before, after in _changed_fields(old_s, new_s):
        rule = SESSION_FIELDS.get(f.name, _NO_SESSION_RULE)
        by_action.setdefault(rule.apply, []).append(_field_reason(f.name, before, after))
    for action, attr in ((Action.IMPORT, "import_policy"), (Action.EXPORT, "export_policy")):
        name = getattr(new_s, attr)
        if name is not None and name == getattr(old_s, attr):
            why = _policy_change(name, old_policies, new_policies)
            if why is not None:
                by_action.setdefault(action, []).append(
                    f"{action.value} policy {name!r} {why}")
    if restart_all:
        by_action.setdefault(Action.RESTART, []).extend(restart_all)

    if Action.RESTART in by_action:
        return PeerChange(Action.RESTART, reasons=tuple(by_action[Action.RESTART]))
    if Action.ENABLE in by_action:
        # Enabling starts a new session with the new options and policies;
        # disabling drops the routes.  Either way nothing is left to re-filter.
        return PeerChange(Action.ENABLE if new_s.enabled else Action.DISABLE,
                          reasons=tuple(by_action[Action.ENABLE]))
    directions = frozenset(d for a, d in ((Action.IMPORT, IMPORT), (Action.EXPORT, EXPORT))
                           if a in by_action)
    if directions:
        reasons = by_action.get(Action.IMPORT, []) + by_action.get(Action.EXPORT, [])
        return PeerChange(Action.REFILTER, directions, tuple(reasons))
    if Action.UPDATE in by_action:
        return PeerChange(Action.UPDATE, reasons=tuple(by_action[Action.UPDATE]))
    return _KEEP


def spawned_peer_change(peer, old, new) -> tuple[PeerChange, object]:
    """For a session the listener spawned from a dynamic range of ``old``
    (``peer`` is the ``conf.Peer`` it runs with): what it needs under
    ``new``, and the ``conf.Peer`` it runs with from now on (None when
    removed).  A configured peer at its address, or no range holding it,
    removes the session; a longer range added inside the old one takes it
    over (and restarts it when its options or name differ)."""
    if new.peer_by_address(peer.address) is not None:
        return PeerChange(Action.REMOVE, reasons=("a configured peer has its address",)), None
    dn = new.match_dynamic(peer.address)
    if dn is None:
        return PeerChange(Action.REMOVE, reasons=("no dynamic neighbor range holds it",)), None
    now = dn.peer_for(peer.address)
    return compare_sessions(peer, now, old, new), now


# -- the plan -----------------------------------------------------------------------

# The top-level changes applied live, in the order the daemon applies them,
# with what the summary says was done.
_DONE = {
    Apply.LOG_LEVEL: "applied in place",
    Apply.REDECIDE: "every prefix decided again",
    Apply.RESTART_SESSIONS: "every session restarted",
}


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReloadPlan:
    """What the daemon does to go from one configuration to the next.  With
    anything in ``restart_required`` it applies nothing."""
    restart_required: tuple = ()    # ((key, reason), ...): the daemon must be restarted
    in_place: tuple = ()            # ((key, Apply, "old -> new"), ...) applied live
    added_peers: tuple = ()         # names, new configuration's order
    removed_peers: tuple = ()       # names; Cease / Peer De-configured
    restarted_peers: tuple = ()     # names; Cease / Other Configuration Change, new task
    disabled_peers: tuple = ()      # names; Cease / Administrative Shutdown
    enabled_peers: tuple = ()       # names
    refiltered_peers: Mapping = field(default_factory=lambda: MappingProxyType({}))
    updated_peers: tuple = ()       # names: new options stored, nothing else
    dynamic_added: tuple = ()       # prefixes of new ranges
    dynamic_removed: tuple = ()     # their spawned sessions are removed
    dynamic_changed: tuple = ()     # their spawned sessions are restarted
    dynamic_refiltered: Mapping = field(default_factory=lambda: MappingProxyType({}))
    dynamic_updated: tuple = ()
    policies_changed: frozenset = frozenset()   # names added, removed or filtering otherwise
    originate_added: tuple = ()     # conf.Originate; a changed entry is removed and added
    originate_removed: tuple = ()
    local_blocks_added: tuple = ()
    local_blocks_removed: tuple = ()
    service_ranges_added: tuple = ()
    service_ranges_removed: tuple = ()
    reasons: Mapping = field(default_factory=lambda: MappingProxyType({}))
    # ^ peer name or range prefix -> (why, ...), for messages

    @property
    def empty(self) -> bool:
        """Nothing to do: every field is empty."""
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "reasons")

    @property
    def applicable(self) -> bool:
        """The daemon can apply the plan without restarting."""
        return not self.restart_required

    def summary(self) -> list[str]:
        """One line per thing that happens, for the log and the control socket."""
        out = [f"{key}: needs a restart of the daemon ({why})"
               for key, why in self.restart_required]
        out += [f"{key}: {change}, {_DONE[how]}" for key, how, change in self.in_place]
        because = self._because
        out += [f"peer {n}: added" for n in self.added_peers]
        out += [f"peer {n}: removed (Cease / Peer De-configured)" for n in self.removed_peers]
        out += [f"peer {n}: restarted{because(n)}" for n in self.restarted_peers]
        out += [f"peer {n}: disabled (Cease / Administrative Shutdown)"
                for n in self.disabled_peers]
        out += [f"peer {n}: enabled" for n in self.enabled_peers]
        out += [f"peer {n}: {'; '.join(self.reasons.get(n, ()))}, re-filtered in place "
                f"({_directions(d)})" for n, d in self.refiltered_peers.items()]
        out += [f"peer {n}: {'; '.join(self.reasons.get(n, ()))}, no action"
                for n in self.updated_peers]
        out += [f"dynamic neighbors {p}: added" for p in self.dynamic_added]
        out += [f"dynamic neighbors {p}: removed, their sessions stopped "
                "(Cease / Peer De-configured)" for p in self.dynamic_removed]
        out += [f"dynamic neighbors {p}: their sessions restarted{because(p)}"
                for p in self.dynamic_changed]
        out += [f"dynamic neighbors {p}: {'; '.join(self.reasons.get(p, ()))}, re-filtered "
                f"in place ({_directions(d)})"
                for p, d in self.dynamic_refiltered.items()]
        out += [f"dynamic neighbors {p}: {'; '.join(self.reasons.get(p, ()))}, no action"
                for p in self.dynamic_updated]
        out += [f"policy {n!r}: changed" for n in sorted(self.policies_changed)]
        removed = {o.prefix for o in self.originate_removed}
        added = {o.prefix for o in self.originate_added}
        out += [f"originate {o.prefix}: withdrawn" for o in self.originate_removed
                if o.prefix not in added]
        out += [f"originate {o.prefix}: " + ("attributes changed, announced again"
                                             if o.prefix in removed else "announced")
                for o in self.originate_added]
        for what, gone, new in (("local block", self.local_blocks_removed,
                                 self.local_blocks_added),
                                ("service range", self.service_ranges_removed,
                                 self.service_ranges_added)):
            out += [f"{what} {p}: withdrawn" for p in gone]
            out += [f"{what} {p}: announced" for p in new]
        return out

    def _because(self, key) -> str:
        why = self.reasons.get(key)
        return f" ({'; '.join(why)})" if why else ""


def _directions(directions) -> str:
    return " and ".join(d for d in (IMPORT, EXPORT) if d in directions)


def _top_change(key: str, old, new) -> str:
    """``10.0.0.1 -> 10.0.0.9``; for a table, the keys in it that changed."""
    if is_dataclass(old) and is_dataclass(new) and type(old) is type(new):
        keys = [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]
        return ", ".join(f"{key}.{k}" for k in keys) + " changed"
    if (old is None or new is None) and (is_dataclass(old) or is_dataclass(new)):
        return "added" if old is None else "removed"
    if any(is_dataclass(x) for value in (old, new) if isinstance(value, tuple)
           for x in value):
        return "changed"                    # [[pools]]: too long to show
    return f"{_show(old)} -> {_show(new)}"


def _top_level(old, new) -> dict[Apply, list[tuple[str, str]]]:
    """The changed top-level fields by how they apply: ``{Apply: [(key, text)]}``."""
    out: dict[Apply, list] = {}
    for f, before, after in _changed_fields(old, new):
        rule = TOP_LEVEL.get(f.name, _NO_TOP_RULE)
        if rule.apply in (Apply.ITEMS, Apply.IGNORE):
            continue
        text = _top_change(f.name, before, after)
        if rule.apply is Apply.RESTART_DAEMON:
            text = f"{text}: {rule.why}"
        out.setdefault(rule.apply, []).append((f.name, text))
    return out


def _session_wide(old, new) -> tuple:
    """Reasons (from top-level changes) that restart every session."""
    return tuple(f"{key} {text}" for key, text
                 in _top_level(old, new).get(Apply.RESTART_SESSIONS, ()))


def _diff(old: tuple, new: tuple) -> tuple[tuple, tuple]:
    """(added, removed), each in its configuration's order."""
    old_set, new_set = set(old), set(new)
    return (tuple(dict.fromkeys(x for x in new if x not in old_set)),
            tuple(dict.fromkeys(x for x in old if x not in new_set)))


_SESSION_LISTS = {
    Action.RESTART: "restarted", Action.DISABLE: "disabled", Action.ENABLE: "enabled",
    Action.REFILTER: "refiltered", Action.UPDATE: "updated",
}


def _sessions(old_items: dict, new_items: dict, old_p: _Policies, new_p: _Policies,
              restart_all: tuple) -> dict:
    """Compare sessions by key: ``{"added": [...], "removed": [...],
    "restarted": [...], ..., "refiltered": {key: dirs}, "reasons": {key: why}}``."""
    out = {"added": [k for k in new_items if k not in old_items],
           "removed": [k for k in old_items if k not in new_items],
           **{name: [] for name in _SESSION_LISTS.values()},
           "refiltered": {}, "reasons": {}}
    for key, now in new_items.items():
        before = old_items.get(key)
        if before is None:
            continue
        change = _compare(before, now, old_p, new_p, restart_all)
        if change.action is Action.KEEP:
            continue
        if change.action is Action.REFILTER:
            out["refiltered"][key] = change.directions
        else:
            out[_SESSION_LISTS[change.action]].append(key)
        if change.reasons:
            out["reasons"][key] = change.reasons
    return out


def plan(old, new) -> ReloadPlan:
    """What it takes to go from the running configuration ``old`` to ``new``."""
    top = _top_level(old, new)
    restart_all = _session_wide(old, new)
    old_p, new_p = _Policies(old), _Policies(new)

    peers = _sessions({p.name: p for p in old.peers}, {p.name: p for p in new.peers},
                      old_p, new_p, restart_all)
    ranges = _sessions({d.prefix: d for d in old.dynamic_neighbors},
                       {d.prefix: d for d in new.dynamic_neighbors}, old_p, new_p, restart_all)
    # A range has no session of its own to enable or disable: its spawned
    # sessions are restarted with the new setting.
    restarted = {*ranges["restarted"], *ranges["enabled"], *ranges["disabled"]}
    dynamic_changed = [d.prefix for d in new.dynamic_neighbors if d.prefix in restarted]

    policies_changed = frozenset(old_p.names() ^ new_p.names()) | frozenset(
        n for n in old_p.names() & new_p.names() if _policy_change(n, old_p, new_p))

    originate_added, originate_removed = _diff(old.originate, new.originate)
    blocks_added, blocks_removed = _diff(old.local_blocks, new.local_blocks)
    services_added, services_removed = _diff(old.service_ranges, new.service_ranges)

    return ReloadPlan(
        restart_required=tuple(top.get(Apply.RESTART_DAEMON, ())),
        in_place=tuple((key, apply, text) for apply in _DONE
                       for key, text in top.get(apply, ())),
        added_peers=tuple(peers["added"]),
        removed_peers=tuple(peers["removed"]),
        restarted_peers=tuple(peers["restarted"]),
        disabled_peers=tuple(peers["disabled"]),
        enabled_peers=tuple(peers["enabled"]),
        refiltered_peers=_frozen(peers["refiltered"]),
        updated_peers=tuple(peers["updated"]),
        dynamic_added=tuple(ranges["added"]),
        dynamic_removed=tuple(ranges["removed"]),
        dynamic_changed=tuple(dynamic_changed),
        dynamic_refiltered=_frozen(ranges["refiltered"]),
        dynamic_updated=tuple(ranges["updated"]),
        policies_changed=policies_changed,
        originate_added=originate_added,
        originate_removed=originate_removed,
        local_blocks_added=blocks_added,
        local_blocks_removed=blocks_removed,
        service_ranges_added=services_added,
        service_ranges_removed=services_removed,
        reasons=_frozen({**peers["reasons"], **ranges["reasons"]}),
    )
