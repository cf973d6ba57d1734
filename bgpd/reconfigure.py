"""Applying a new configuration to a running daemon (SIGHUP, ``bgpctl
configure``).

The file is read and validated first (``conf.load``); an invalid file is
refused with every key and reason, and the daemon keeps its configuration.
``bgpd.reload.plan`` then says what the difference means; when a key can
only change with a restart of the daemon (its router id, its listeners, the
kernel table...) nothing is applied and the reply names those keys.
Otherwise the plan is carried out, in an order that never leaves a moment
with a route announced under the wrong policy:

1. log level and the new policies;
2. removed peers get Cease / Peer De-configured (RFC 4486 subcode 3) and
   their routes go; peers whose session parameters changed get Cease /
   Other Configuration Change (subcode 6) and start again as new sessions
   once the old one is gone; disabled peers Cease / Administrative
   Shutdown;
3. peers whose only change is policy are re-filtered in place, the session
   untouched: inbound from the soft-reconfiguration copy when one is kept,
   else with a ROUTE-REFRESH (RFC 2918); outbound by moving the peer to the
   update group of its new export policy, which sends it the difference;
4. enabled and added peers start;
5. originated prefixes, local blocks and service ranges are withdrawn and
   announced; a new ECMP width re-runs the decision;
6. one flush hands the resulting Loc-RIB changes to the export layer and
   the kernel.
"""

from __future__ import annotations

import trio

import conf
from conf.errors import ConfigError
from rib.decision import DecisionOptions
from rib.policy import PolicySet
from rib.source import LocalKind
from wire.constants import CeaseSubcode, ErrorCode
from wire.nlri import from_network
from wire.notification import Notification

from . import reload as planner
from .reload import Apply

RETIRE_GRACE = 3.0


def cease(subcode: int) -> Notification:
    return Notification(ErrorCode.CEASE, subcode, b"")


def load(path: str):
    """(config, None) or (None, [{"key", "reason"}, ...])."""
    try:
        return conf.load(path), None
    except ConfigError as e:
        return None, [{"key": p.path or "(top level)", "reason": p.reason} for p in e.problems]
    except OSError as e:
        return None, [{"key": "(file)", "reason": f"cannot read {path}: {e.strerror}"}]


def configure(daemon, path: str | None = None, check: bool = False) -> dict:
    """Read the configuration file again and apply it (or only check it).
    The reply: ``{"ok", "applied", "changes": [...], "errors": [{"key",
    "reason"}]}``."""
    path = path or daemon.config_path
    new, errors = load(path)
    if errors:
        daemon.log.warning("configuration %s refused, the old one stays: %s", path,
                           "; ".join(f"{e['key']}: {e['reason']}" for e in errors))
        return {"ok": False, "applied": False, "changes": [], "errors": errors}
    plan = planner.plan(daemon.config, new)
    changes = plan.summary()
    if not plan.applicable:
        errors = [{"key": key, "reason": f"needs a restart of the daemon: {why}"}
                  for key, why in plan.restart_required]
        daemon.log.warning("configuration %s not applied: %s", path,
                           "; ".join(f"{e['key']} {e['reason']}" for e in errors))
        return {"ok": False, "applied": False, "changes": changes, "errors": errors}
    if check or plan.empty:
        return {"ok": True, "applied": False, "changes": changes, "errors": []}
    apply(daemon, new, plan)
    for line in changes:
        daemon.log.info("reconfigure: %s", line)
    daemon.log.info("configuration %s applied: %d changes", path, len(changes))
    return {"ok": True, "applied": True, "changes": changes, "errors": []}


def apply(daemon, new, plan) -> None:
    old = daemon.config
    routes = daemon.routes
    for key, how, _text in plan.in_place:
        if how is Apply.LOG_LEVEL:
            daemon.set_log_level(new.log_level)
    daemon.config = routes.config = new
    # The compiled policies of unchanged names are kept: update groups are
    # keyed by the policy object, and a new object would re-form them.
    fresh = PolicySet.from_config(new)
    for name, compiled in routes.policies.policies.items():
        if name not in plan.policies_changed and name in fresh.policies:
            fresh.policies[name] = compiled
    routes.policies = fresh

    tasks = daemon.peers
    for name in plan.removed_peers:
        task = tasks.get(name)
        if task is not None:
            daemon.retire(task, cease(CeaseSubcode.PEER_DECONFIGURED))
    for name in plan.restarted_peers:
        task = tasks.get(name)
        if task is not None:
            daemon.retire(task, cease(CeaseSubcode.OTHER_CONFIGURATION_CHANGE),
                          then=new.peer_by_name(name))
    for task in [t for t in tasks.values() if t.dynamic]:
        change, peer = planner.spawned_peer_change(task.peer, old, new)
        if change.action is planner.Action.REMOVE:
            daemon.retire(task, cease(CeaseSubcode.PEER_DECONFIGURED))
        elif change.action is planner.Action.RESTART:
            daemon.retire(task, cease(CeaseSubcode.OTHER_CONFIGURATION_CHANGE))
        elif peer is not None:
            task.peer = peer
            if change.action is planner.Action.REFILTER:
                refilter(daemon, task, change.directions)
    for name in plan.disabled_peers:
        task = tasks.get(name)
        if task is not None:
            task.peer = new.peer_by_name(name)
            task.disable("disabled by configuration")
    for name in plan.updated_peers:
        task = tasks.get(name)
        if task is not None:
            task.peer = new.peer_by_name(name)
    for name, directions in plan.refiltered_peers.items():
        task = tasks.get(name)
        if task is not None:
            task.peer = new.peer_by_name(name)
            refilter(daemon, task, directions)
    for name in plan.enabled_peers:
        task = tasks.get(name)
        if task is not None:
            task.peer = new.peer_by_name(name)
            routes.configure_peer(task)
            task.enable()
    for name in plan.added_peers:
        daemon.start_peer(new.peer_by_name(name))

    rib = routes.rib
    for orig in plan.originate_removed:
        rib.withdraw_originated(_family(orig.prefix), from_network(orig.prefix),
                                kind=LocalKind.STATIC)
    for orig in plan.originate_added:
        routes.originate(orig)
    for kind, gone, added in (
            (LocalKind.LOCAL_BLOCK, plan.local_blocks_removed, plan.local_blocks_added),
            (LocalKind.SERVICE, plan.service_ranges_removed, plan.service_ranges_added)):
        for net in gone:
            rib.withdraw_originated(_family(net), from_network(net), kind=kind)
        for net in added:
            rib.originate(_family(net), from_network(net), kind=kind)
    if any(how is Apply.REDECIDE for _k, how, _t in plan.in_place):
        rib.set_options(DecisionOptions(max_paths=new.max_paths))
    daemon.listener_keys(new)
    routes.flush()


def refilter(daemon, task, directions) -> None:
    """Apply a peer's new policies without touching its session."""
    routes = daemon.routes
    routes.configure_peer(task)
    if task.session.negotiated is None:
        return                  # the next session starts with the new policies
    if "import" in directions:
        how = routes.reimport(task)
        task.log.info("import policy changed: routes re-filtered (%s)", how)
    if "export" in directions:
        routes.reexport(task)
        task.log.info("export policy changed: the difference sent")


def _family(net) -> tuple:
    return (1, 1) if net.version == 4 else (2, 1)


async def wait_gone(task, grace: float = RETIRE_GRACE) -> None:
    """Give a retiring peer's NOTIFICATION a moment to leave, then end it."""
    with trio.move_on_after(grace):
        while task.streams:
            await trio.sleep(0.05)
    task.cancel()
    await task.finished.wait()
