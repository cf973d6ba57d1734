"""bgpd.reload.plan: what a configuration reload does, table-driven.

Each case is (old TOML, new TOML, the plan's non-empty fields in a plain
form).  Both configurations come from ``conf.loads`` of one base document
with pieces replaced, so a case shows only what it changes.
"""

from __future__ import annotations

import ipaddress
import pathlib
from dataclasses import dataclass, fields

import pytest

import conf
from bgpd.reload import (CEASE_SUBCODE, SESSION_FIELDS, TOP_LEVEL, Action, Apply, ReloadPlan,
                         plan, spawned_peer_change)
from conf.model import Config, DynamicNeighbor, Peer
from wire.constants import CeaseSubcode

TOP = {
    "router_id": '"10.0.0.1"',
    "asn": "64512",
    "listen": '["10.0.0.1"]',
    "cluster_id": '"10.0.0.1"',     # explicit: a new client does not change it
    "local_blocks": '["10.245.0.64/26"]',
    "service_ranges": '["10.96.0.0/12"]',
}

PIECES = {
    "prefix_lists": """
[prefix_lists]
pods = ["10.245.0.0/16+"]
bogons = ["0.0.0.0/8+"]
""",
    "defaults": """
[defaults]
connect_retry = 5
""",
    "r1": """
[[peers]]
name = "R1"
address = "10.0.0.2"
asn = 64513
import = "in"
export = "out"
""",
    "r2": """
[[peers]]
name = "R2"
address = "10.0.0.3"
asn = 64512
""",
    "mesh": """
[mesh]
nodes = ["10.0.0.1", "10.0.1.1", "10.0.1.2"]
""",
    "dynamic": """
[[dynamic_neighbors]]
prefix = "10.1.0.0/16"
asn = 64512
""",
    "originate": """
[[originate]]
prefix = "10.244.0.0/24"
communities = ["64512:100"]
""",
    "policies": """
[[policies]]
name = "in"
description = "pod blocks only"
default = "reject"

[[policies.rules]]
match.prefix_list = "pods"
action = "accept"

[[policies]]
name = "out"
default = "accept"

[[policies.rules]]
match.not.prefix_list = "pods"
action = "reject"

[[policies]]
name = "unused"
default = "accept"

[[policies.rules]]
match.prefix_list = "bogons"
action = "reject"
""",
}


def toml(top=None, **pieces) -> str:
    """The base document with top-level keys and pieces replaced (a piece
    or key given None is left out)."""
    keys = {**TOP, **(top or {})}
    text = "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None)
    for name, piece in {**PIECES, **pieces}.items():
        if piece is not None:
            text += piece
    return text


def with_line(piece: str, line: str) -> str:
    """A piece with one more key in its (first) table."""
    head, _, rest = piece.strip("\n").partition("\n")
    return f"\n{head}\n{line}\n{rest}\n"


R3 = """
[[peers]]
name = "R3"
address = "10.0.0.4"
asn = 64514
"""

KERNEL = "\n[kernel]\n"
# An export policy for R1 that reads R2's address.
OUT_NOT_FROM_R2 = """
[[policies]]
name = "out2"
default = "accept"

[[policies.rules]]
match.peer = "R2"
action = "reject"
"""
R1_OUT2 = PIECES["r1"].replace('"out"', '"out2"')
ALL_PEERS = ("R1", "R2", "Mesh_10_0_1_1", "Mesh_10_0_1_2")
BASE = toml()


def plain(p: ReloadPlan) -> dict:
    """The plan's non-empty fields as strings, sets and dicts."""
    def simple(name, value):
        if name == "restart_required":
            return tuple(key for key, _why in value)
        if name == "in_place":
            return tuple((key, how) for key, how, _change in value)
        if name == "policies_changed":
            return set(value)
        if name.startswith("originate"):
            return tuple(str(o.prefix) for o in value)
        if isinstance(value, tuple):
            return tuple(map(str, value))
        return {str(k): set(v) for k, v in value.items()}
    return {f.name: simple(f.name, getattr(p, f.name)) for f in fields(p)
            if f.name != "reasons" and getattr(p, f.name)}


CASES = [
    # -- nothing ---------------------------------------------------------------------
    ("identical", BASE, BASE, {}),
    ("policy description only", BASE,
     toml(policies=PIECES["policies"].replace("pod blocks only", "pods")), {}),
    ("unused prefix list, unused policy", toml(policies=None, r1=None),
     toml(policies=None, r1=None, prefix_lists=PIECES["prefix_lists"].replace("0/8+", "0/9+")),
     {}),
    # -- session parameters: restart ---------------------------------------------------
    ("hold_time", BASE, toml(r1=with_line(PIECES["r1"], "hold_time = 30")),
     {"restarted_peers": ("R1",)}),
    ("password", BASE, toml(r1=with_line(PIECES["r1"], 'password = "s3cret"')),
     {"restarted_peers": ("R1",)}),
    ("ttl_security", BASE, toml(r1=with_line(PIECES["r1"], "ttl_security = true")),
     {"restarted_peers": ("R1",)}),
    ("multihop", BASE, toml(r1=with_line(PIECES["r1"], "multihop = 2")),
     {"restarted_peers": ("R1",)}),
    ("local_asn", BASE, toml(r1=with_line(PIECES["r1"], "local_asn = 64600")),
     {"restarted_peers": ("R1",)}),
    ("address", BASE, toml(r1=PIECES["r1"].replace("10.0.0.2", "10.0.0.9")),
     {"restarted_peers": ("R1",)}),
    ("passive", BASE, toml(r2=with_line(PIECES["r2"], "passive = true")),
     {"restarted_peers": ("R2",)}),
    ("families", BASE,
     toml(r2=with_line(PIECES["r2"], 'families = ["ipv4-unicast", "ipv6-unicast"]')),
     {"restarted_peers": ("R2",)}),
    ("add_path", BASE, toml(r2=with_line(PIECES["r2"], 'add_path = "both"')),
     {"restarted_peers": ("R2",)}),
    ("graceful_restart", BASE, toml(r2=with_line(PIECES["r2"], "graceful_restart = false")),
     {"restarted_peers": ("R2",)}),
    ("required_capabilities", BASE,
     toml(r2=with_line(PIECES["r2"], 'required_capabilities = ["route-refresh"]')),
     {"restarted_peers": ("R2",)}),
    ("route_reflector_client", BASE,
     toml(r2=with_line(PIECES["r2"], "route_reflector_client = true")),
     {"restarted_peers": ("R2",)}),
    ("[defaults] reaches every session", BASE,
     toml(defaults="\n[defaults]\nconnect_retry = 7\n"),
     {"restarted_peers": ALL_PEERS, "dynamic_changed": ("10.1.0.0/16",)}),
    # -- policy: re-filtered in place ------------------------------------------------
    ("import policy name", BASE, toml(r1=PIECES["r1"].replace('"in"', '"accept-all"')),
     {"refiltered_peers": {"R1": {"import"}}}),
    ("export policy set on an iBGP peer", BASE,
     toml(r2=with_line(PIECES["r2"], 'export = "out"')),
     {"refiltered_peers": {"R2": {"export"}}}),
    ("policy content", BASE,
     toml(policies=PIECES["policies"].replace('default = "reject"', 'default = "accept"', 1)),
     {"refiltered_peers": {"R1": {"import"}}, "policies_changed": {"in"}}),
    ("prefix list content: every policy reading it, through match.not too", BASE,
     toml(prefix_lists=PIECES["prefix_lists"].replace("10.245.0.0/16+", "10.245.0.0/17+")),
     {"refiltered_peers": {"R1": {"import", "export"}}, "policies_changed": {"in", "out"}}),
    ("prefix list of a policy no session uses", BASE,
     toml(prefix_lists=PIECES["prefix_lists"].replace("0/8+", "0/9+")),
     {"policies_changed": {"unused"}}),
    ("policy added", toml(policies=PIECES["policies"].split("[[policies]]\nname = \"unused\"")[0]),
     BASE, {"policies_changed": {"unused"}}),
    ("a policy naming a peer follows its address",
     toml(policies=PIECES["policies"] + OUT_NOT_FROM_R2, r1=R1_OUT2),
     toml(policies=PIECES["policies"] + OUT_NOT_FROM_R2, r1=R1_OUT2,
          r2=PIECES["r2"].replace("10.0.0.3", "10.0.0.9")),
     {"restarted_peers": ("R2",), "refiltered_peers": {"R1": {"export"}},
      "policies_changed": {"out2"}}),
    ("next_hop_self", BASE, toml(r2=with_line(PIECES["r2"], "next_hop_self = true")),
     {"refiltered_peers": {"R2": {"export"}}}),
    ("restart wins over re-filtering", BASE,
     toml(r1=with_line(PIECES["r1"], "hold_time = 30").replace('"in"', '"accept-all"')),
     {"restarted_peers": ("R1",)}),
    # -- other session changes -----------------------------------------------------
    ("description", BASE, toml(r2=with_line(PIECES["r2"], 'description = "node 3"')),
     {"updated_peers": ("R2",)}),
    ("disabled", BASE, toml(r1=with_line(PIECES["r1"], "enabled = false")),
     {"disabled_peers": ("R1",)}),
    ("enabled, with a new policy", toml(r1=with_line(PIECES["r1"], "enabled = false")),
     toml(r1=PIECES["r1"].replace('"in"', '"accept-all"')),
     {"enabled_peers": ("R1",)}),
    # -- peers added and removed ---------------------------------------------------
    ("peer added", BASE, toml(r3=R3), {"added_peers": ("R3",)}),
    ("peer removed", BASE, toml(r2=None), {"removed_peers": ("R2",)}),
    ("peer renamed", BASE, toml(r2=with_line(PIECES["r2"].replace('name = "R2"\n', ""),
                                             'name = "R9"')),
     {"added_peers": ("R9",), "removed_peers": ("R2",)}),
    ("mesh node added and removed", BASE,
     toml(mesh=PIECES["mesh"].replace("10.0.1.2", "10.0.1.3")),
     {"added_peers": ("Mesh_10_0_1_3",), "removed_peers": ("Mesh_10_0_1_2",)}),
    ("mesh options", BASE, toml(mesh=with_line(PIECES["mesh"], "hold_time = 30")),
     {"restarted_peers": ("Mesh_10_0_1_1", "Mesh_10_0_1_2")}),
    ("mesh removed", BASE, toml(mesh=None),
     {"removed_peers": ("Mesh_10_0_1_1", "Mesh_10_0_1_2")}),
    # -- dynamic neighbor ranges ---------------------------------------------------
    ("range added", BASE,
     toml(dynamic2='\n[[dynamic_neighbors]]\nprefix = "10.2.0.0/16"\nasn = 64512\n'),
     {"dynamic_added": ("10.2.0.0/16",)}),
    ("range removed", BASE, toml(dynamic=None), {"dynamic_removed": ("10.1.0.0/16",)}),
    ("range options", BASE, toml(dynamic=with_line(PIECES["dynamic"], "hold_time = 30")),
     {"dynamic_changed": ("10.1.0.0/16",)}),
    ("range renamed: its sessions' names change", BASE,
     toml(dynamic=with_line(PIECES["dynamic"], 'name = "pods"')),
     {"dynamic_changed": ("10.1.0.0/16",)}),
    ("range disabled", BASE, toml(dynamic=with_line(PIECES["dynamic"], "enabled = false")),
     {"dynamic_changed": ("10.1.0.0/16",)}),
    ("range policy", BASE, toml(dynamic=with_line(PIECES["dynamic"], 'import = "in"')),
     {"dynamic_refiltered": {"10.1.0.0/16": {"import"}}}),
    ("range description", BASE,
     toml(dynamic=with_line(PIECES["dynamic"], 'description = "pods"')),
     {"dynamic_updated": ("10.1.0.0/16",)}),
    # -- our own prefixes ----------------------------------------------------------
    ("originate added", BASE,
     toml(originate2='\n[[originate]]\nprefix = "10.244.1.0/24"\n'),
     {"originate_added": ("10.244.1.0/24",)}),
    ("originate removed", BASE, toml(originate=None),
     {"originate_removed": ("10.244.0.0/24",)}),
    ("originate attributes: by full value", BASE,
     toml(originate=with_line(PIECES["originate"], "med = 10")),
     {"originate_added": ("10.244.0.0/24",), "originate_removed": ("10.244.0.0/24",)}),
    ("local block added", BASE,
     toml(top={"local_blocks": '["10.245.0.64/26", "10.245.0.128/26"]'}),
     {"local_blocks_added": ("10.245.0.128/26",)}),
    ("local block moved", BASE, toml(top={"local_blocks": '["10.245.0.128/26"]'}),
     {"local_blocks_added": ("10.245.0.128/26",),
      "local_blocks_removed": ("10.245.0.64/26",)}),
    ("service range removed", BASE, toml(top={"service_ranges": None}),
     {"service_ranges_removed": ("10.96.0.0/12",)}),
    # -- top level -----------------------------------------------------------------
    ("router_id", BASE, toml(top={"router_id": '"10.0.0.9"'}),
     {"restart_required": ("router_id",)}),
    ("listen and port", BASE, toml(top={"listen": '["10.0.0.1", "::"]', "port": "1179"}),
     {"restart_required": ("listen", "port")}),
    ("control socket", BASE, toml(top={"control_socket": '"/run/other.ctl"'}),
     {"restart_required": ("control_socket",)}),
    ("cluster_id", BASE, toml(top={"cluster_id": '"10.9.9.9"'}),
     {"restart_required": ("cluster_id",)}),
    ("the first client makes the derived cluster_id", toml(top={"cluster_id": None}),
     toml(top={"cluster_id": None}, r2=with_line(PIECES["r2"], "route_reflector_client = true")),
     {"restart_required": ("cluster_id",), "restarted_peers": ("R2",)}),
    ("kernel section added", BASE, toml(kernel=KERNEL),
     {"restart_required": ("kernel",)}),
    ("kernel table", toml(kernel=KERNEL), toml(kernel=KERNEL + "table = 100\n"),
     {"restart_required": ("kernel",)}),
    ("pools", toml(kernel=KERNEL),
     toml(kernel=KERNEL, pools='\n[[pools]]\nprefix = "10.244.0.0/16"\nencap = "ipip"\n'),
     {"restart_required": ("pools",)}),
    ("BIRD control socket", BASE, toml(top={"bird_control_socket": '"/run/bird.ctl"'}),
     {"restart_required": ("bird_control_socket",)}),
    ("metrics", BASE, toml(metrics='\n[metrics]\nlisten = "127.0.0.1:9180"\n'),
     {"restart_required": ("metrics",)}),
    ("log_level", BASE, toml(top={"log_level": '"debug"'}),
     {"in_place": (("log_level", Apply.LOG_LEVEL),)}),
    ("max_paths", BASE, toml(top={"max_paths": "4"}),
     {"in_place": (("max_paths", Apply.REDECIDE),)}),
    ("hostname: in every OPEN", BASE, toml(top={"hostname": '"node-1"'}),
     {"in_place": (("hostname", Apply.RESTART_SESSIONS),), "restarted_peers": ALL_PEERS,
      "dynamic_changed": ("10.1.0.0/16",)}),
]


@pytest.mark.parametrize("old, new, expected", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_plan(old, new, expected):
    p = plan(conf.loads(old), conf.loads(new))
    assert plain(p) == expected
    assert p.empty == (not expected)
    assert p.applicable == ("restart_required" not in expected)
    assert bool(p.summary()) == bool(expected)


def test_asn_needs_a_restart():
    """The sessions' local_asn follows asn, so they would restart too; but
    the reload is refused whole, and the key is what the operator needs."""
    p = plan(conf.loads(BASE), conf.loads(toml(top={"asn": "64600"})))
    assert [key for key, _why in p.restart_required] == ["asn"]
    assert not p.applicable


# -- what the summary says ------------------------------------------------------------

@pytest.mark.parametrize("old, new, lines", [
    (BASE, toml(r3=R3, r2=None),
     ["peer R3: added", "peer R2: removed (Cease / Peer De-configured)"]),
    (BASE, toml(r1=with_line(PIECES["r1"], "hold_time = 30")),
     ["peer R1: restarted (hold_time 90 -> 30; keepalive 30 -> 10)"]),
    (BASE, toml(r1=PIECES["r1"].replace('"in"', '"accept-all"')),
     ["peer R1: import policy 'in' -> 'accept-all', re-filtered in place (import)"]),
    (BASE, toml(prefix_lists=PIECES["prefix_lists"].replace("10.245.0.0/16+",
                                                            "10.245.0.0/17+")),
     ["peer R1: import policy 'in' changed (prefix list 'pods'); export policy 'out' "
      "changed (prefix list 'pods'), re-filtered in place (import and export)",
      "policy 'in': changed", "policy 'out': changed"]),
    (BASE, toml(r2=with_line(PIECES["r2"], 'description = "node 3"')),
     ["peer R2: description '' -> 'node 3', no action"]),
    (BASE, toml(originate=with_line(PIECES["originate"], "med = 10"),
          originate2='\n[[originate]]\nprefix = "10.244.1.0/24"\n'),
     ["originate 10.244.0.0/24: attributes changed, announced again",
      "originate 10.244.1.0/24: announced"]),
    (BASE, toml(originate=None, top={"local_blocks": "[]", "service_ranges": '["10.97.0.0/16"]'}),
     ["originate 10.244.0.0/24: withdrawn", "local block 10.245.0.64/26: withdrawn",
      "service range 10.96.0.0/12: withdrawn", "service range 10.97.0.0/16: announced"]),
    (BASE, toml(top={"router_id": '"10.0.0.9"', "log_level": '"debug"'}),
     ["router_id: needs a restart of the daemon (10.0.0.1 -> 10.0.0.9: the BGP Identifier "
      "is in every OPEN, in the RIB's tie-breaks and in ORIGINATOR_ID)",
      "log_level: 'info' -> 'debug', applied in place"]),
    (toml(kernel=KERNEL), toml(kernel=KERNEL + "table = 100\nmetric = 5\n"),
     ["kernel: needs a restart of the daemon (kernel.table, kernel.metric changed: the "
      "kernel layer owns routes by rtm_protocol and table; a change would orphan the "
      "routes already installed)"]),
    (BASE, toml(dynamic=None),
     ["dynamic neighbors 10.1.0.0/16: removed, their sessions stopped "
      "(Cease / Peer De-configured)"]),
    (BASE, toml(top={"hostname": '"node-1"'}, r2=None, mesh=None, dynamic=None),
     ["hostname: unset -> 'node-1', every session restarted",
      "peer R2: removed (Cease / Peer De-configured)",
      "peer Mesh_10_0_1_1: removed (Cease / Peer De-configured)",
      "peer Mesh_10_0_1_2: removed (Cease / Peer De-configured)",
      "peer R1: restarted (hostname unset -> 'node-1')",
      "dynamic neighbors 10.1.0.0/16: removed, their sessions stopped "
      "(Cease / Peer De-configured)"]),
    (BASE, toml(top={"max_paths": "4"}), ["max_paths: 1 -> 4, every prefix decided again"]),
], ids=["added, removed", "restarted", "policy name", "prefix list", "description",
        "originate", "withdrawn", "restart and in place", "kernel", "range removed",
        "hostname", "max_paths"])
def test_summary(old, new, lines):
    assert plan(conf.loads(old), conf.loads(new)).summary() == lines


def test_password_is_never_shown():
    p = plan(conf.loads(toml(r1=with_line(PIECES["r1"], 'password = "old-secret"'))),
             conf.loads(toml(r1=with_line(PIECES["r1"], 'password = "new-secret"'))))
    assert p.restarted_peers == ("R1",)
    text = "\n".join(p.summary()) + repr(p)
    assert "secret" not in text and "password" in text


# -- the tables -------------------------------------------------------------------------

def test_every_session_field_has_a_row():
    """A new session option falls back to a restart; this says it was thought of."""
    names = {f.name for cls in (Peer, DynamicNeighbor) for f in fields(cls)}
    assert names - set(SESSION_FIELDS) == set()


def test_every_config_field_has_a_row():
    names = {f.name for f in fields(Config) if f.compare}
    assert names - set(TOP_LEVEL) == set()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Grown(Config):
    """A configuration with a key the tables do not know."""
    future_key: int = 0


def test_an_unknown_top_level_field_needs_a_restart():
    base = conf.loads(BASE)
    values = {f.name: getattr(base, f.name) for f in fields(Config) if f.init}
    p = plan(_Grown(**values, future_key=1), _Grown(**values, future_key=2))
    assert [key for key, _why in p.restart_required] == ["future_key"]
    assert "no rule says how to apply it live" in p.restart_required[0][1]


def test_cease_subcodes():
    """RFC 4486: removed, restarted and disabled sessions say why."""
    assert CEASE_SUBCODE[Action.REMOVE] == CeaseSubcode.PEER_DECONFIGURED == 3
    assert CEASE_SUBCODE[Action.RESTART] == CeaseSubcode.OTHER_CONFIGURATION_CHANGE == 6
    assert CEASE_SUBCODE[Action.DISABLE] == CeaseSubcode.ADMINISTRATIVE_SHUTDOWN == 2


# -- sessions spawned from a dynamic range ---------------------------------------------

SPAWNED = ipaddress.ip_address("10.1.2.3")


@pytest.mark.parametrize("new, action, name", [
    (BASE, Action.KEEP, "dynamic_10_1_0_0_16_10_1_2_3"),
    (toml(dynamic=None), Action.REMOVE, None),
    (toml(dynamic=with_line(PIECES["dynamic"], "hold_time = 30")), Action.RESTART,
     "dynamic_10_1_0_0_16_10_1_2_3"),
    (toml(dynamic=with_line(PIECES["dynamic"], 'export = "out"')), Action.REFILTER,
     "dynamic_10_1_0_0_16_10_1_2_3"),
    # a longer range added inside takes the session over, named after it
    (toml(dynamic2='\n[[dynamic_neighbors]]\nprefix = "10.1.2.0/24"\nasn = 64512\n'),
     Action.RESTART, "dynamic_10_1_2_0_24_10_1_2_3"),
    # ... with the same name and options it is kept
    (toml(dynamic2='\n[[dynamic_neighbors]]\nprefix = "10.1.2.0/24"\nasn = 64512\n'
                   'name = "dynamic_10_1_0_0_16"\n').replace(
        'prefix = "10.1.0.0/16"\nasn = 64512\n', 'prefix = "10.1.0.0/16"\nasn = 64512\n'
        'name = "wide"\n'),
     Action.KEEP, "dynamic_10_1_0_0_16_10_1_2_3"),
    (toml(r3=R3.replace("10.0.0.4", str(SPAWNED))), Action.REMOVE, None),
    (toml(top={"hostname": '"node-1"'}), Action.RESTART, "dynamic_10_1_0_0_16_10_1_2_3"),
], ids=["same", "range removed", "range options", "range policy",
        "longer range", "longer range, same options", "configured peer", "hostname"])
def test_spawned_peer_change(new, action, name):
    old = conf.loads(BASE)
    peer = old.peer_for(SPAWNED)
    change, now = spawned_peer_change(peer, old, conf.loads(new))
    assert change.action is action
    assert (now.name if now is not None else None) == name


# -- properties of every plan ---------------------------------------------------------------

EXAMPLES = sorted(pathlib.Path(conf.__file__).parent.joinpath("examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_a_file_loaded_twice_plans_nothing(path):
    """Loading builds new objects (compiled AS-path expressions among them);
    they compare by value, so the same file twice is an empty plan."""
    assert plan(conf.load(path), conf.load(path)).empty


@pytest.mark.parametrize("old, new", [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_reversed_plan_swaps_what_is_added_and_removed(old, new):
    forward, back = plan(conf.loads(old), conf.loads(new)), plan(conf.loads(new), conf.loads(old))
    for added, removed in (("added_peers", "removed_peers"),
                           ("dynamic_added", "dynamic_removed"),
                           ("originate_added", "originate_removed"),
                           ("local_blocks_added", "local_blocks_removed"),
                           ("service_ranges_added", "service_ranges_removed")):
        assert set(getattr(forward, added)) == set(getattr(back, removed))
    assert forward.policies_changed == back.policies_changed
    assert set(forward.restarted_peers) == set(back.restarted_peers)
    assert dict(forward.refiltered_peers) == dict(back.refiltered_peers)
