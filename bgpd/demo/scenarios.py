"""The demo's scenarios, in the order they run.

How it works
------------
The routers run for the whole demo.  Each scenario then starts the nodes'
daemons (and the reflector's) afresh with its own configuration, after
taking down what the previous one left on the nodes (daemons stopped,
their kernel routes and VXLAN device removed), so that every scenario
shows its routes being made, not inherited.  It waits for the sessions
and the kernel routes it expects (``checks.converge``, timed), pings
between pods on different nodes, prints what an operator would look at,
and returns a ``Result``: PASS/FAIL with the figures measured.

=================  =========================================================
bgp                nodes peer with their routers (eBGP), the routers with
                   each other (iBGP); blocks in the routers' kernels, a
                   blackhole on each owner; pods reach each other through
                   the routers (the article's case 4)
vxlan              the same plus a node-to-node iBGP session (``[mesh]``,
                   multihop): each node installs the other's block via
                   ``vxlan.calico`` onlink, packets are encapsulated
                   between the nodes (case 5)
route-reflector    the mesh replaced by a reflector node: the blocks
                   arrive reflected, with ORIGINATOR_ID and CLUSTER_LIST
failure            node1's daemon is killed (SIGKILL) and restarted with
                   graceful restart while pods ping each other: no ping
                   lost, no route withdrawn, and a block released while
                   the daemon was down is swept everywhere
=================  =========================================================
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from . import checks, configs, netns
from .checks import Fresh, NoRoute, Route, Sessions, Stale, Unknown
from .topology import NODES, REFLECTOR, SPARE_BLOCK, peer_of

VXLAN_DEVICE = "vxlan.calico"
PINGS = 20                        # per direction, every 50 ms
DOWN_TIME = 2.0                   # seconds node1 stays dead in the failure scenario


@dataclass
class Result:
    name: str
    ok: bool
    detail: str


def _converged(up: float, routes: float) -> str:
    return f"converged {routes:.2f} s after the daemons' start (sessions up at {up:.2f} s)"


def _mesh_name(ip: str) -> str:
    return "Mesh_" + ip.replace(".", "_")


class Demo:
    """The lab and the output, with the moves every scenario makes."""

    def __init__(self, lab, out):
        self.lab = lab
        self.out = out
        self.topo = lab.topo

    # -- what an operator looks at --------------------------------------------------------
    def show(self, host: str, *words: str) -> str:
        text = self.lab.bgpctl(host, *words)
        self.out.command(self.lab.bgpctl_command(host, *words), text)
        return text

    def show_ip(self, host: str, *args: str) -> None:
        ns = self.topo.ns(host)
        res = netns.ip(ns, *args, check=False)
        self.out.command(f"ip netns exec {ns} ip {' '.join(args)}", res.stdout + res.stderr)

    # -- the routers ----------------------------------------------------------------------
    def start_routers(self) -> float:
        """Both routers up, their iBGP session Established, each other's
        subnets in their kernels; the seconds it took."""
        start = time.monotonic()
        self.lab.start_many({r: configs.router_config(r, self.lab.socket(r))
                             for r in ("r1", "r2")})
        checks.converge(self.lab, [
            Sessions("r1", ("router_r2",)), Sessions("r2", ("router_r1",)),
            Route("r1", "192.168.17.0/24", gateway="192.168.18.2"),
            Route("r2", "192.168.16.0/24", gateway="192.168.18.1"),
            Route("r2", "192.168.19.0/24", gateway="192.168.18.1"),
        ])
        return time.monotonic() - start

    # -- the nodes ------------------------------------------------------------------------
    def reset_nodes(self) -> None:
        """Stop the nodes' and the reflector's daemons and take their
        routes and VXLAN device away, so the next scenario starts clean."""
        for host in [n.name for n in NODES] + [REFLECTOR.name]:
            self.lab.stop(host)
        for n in NODES:
            ns = self.topo.ns(n.name)
            netns.ip(ns, "route", "flush", "proto", "179", check=False)
            netns.ip(ns, "link", "del", VXLAN_DEVICE, check=False)

    def start_nodes(self, scenario: str, blocks: dict | None = None) -> None:
        """The daemons of the scenario: the reflector first (when used),
        then the nodes.  ``blocks`` overrides a node's local_blocks."""
        blocks = blocks or {}
        wanted = {}
        if scenario == "route-reflector":
            wanted[REFLECTOR.name] = configs.reflector_config(self.lab.socket("rr"))
        for n in NODES:
            wanted[n.name] = configs.node_config(n.name, self.lab.socket(n.name), scenario,
                                                 blocks.get(n.name))
        self.lab.start_many(wanted)

    def node_sessions(self, scenario: str) -> list:
        out = [Sessions("r1", ("node1", "router_r2")), Sessions("r2", ("node2", "router_r1"))]
        for n in NODES:
            names = [configs.calico_name(n.gateway)]
            if scenario == "vxlan":
                names += [_mesh_name(o.ip) for o in NODES if o is not n]
            elif scenario == "route-reflector":
                names.append(configs.calico_name(REFLECTOR.ip))
            out.append(Sessions(n.name, tuple(names)))
        if scenario == "route-reflector":
            out.append(Sessions("rr", tuple(configs.calico_name(n.ip) for n in NODES)))
        return out

    def block_routes(self, vxlan: bool, blocks: dict | None = None) -> list:
        """Every node's blocks: blackholed at home, in both routers'
        kernels, and (VXLAN) via the tunnel on the other node."""
        out = []
        for n in NODES:
            for block in (blocks or {}).get(n.name, [n.block]):
                out.append(Route(n.name, block, type="blackhole"))
                out.append(Route(n.router, block, gateway=n.ip))
                other = next(r for r in ("r1", "r2") if r != n.router)
                out.append(Route(other, block, gateway=peer_of(other, n.router)[1]))
                if vxlan:
                    for o in NODES:
                        if o is not n:
                            out.append(Route(o.name, block, gateway=n.ip, dev=VXLAN_DEVICE,
                                             onlink=True))
        return out

    def pod_pairs(self) -> list:
        """node2's first pod to node1's first, node1's second to node2's second."""
        n1, n2 = NODES
        return [(self.topo.pod_ns(n2.name, 1), n1.pods[0]),
                (self.topo.pod_ns(n1.name, 2), n2.pods[1])]

    def vxlan_packets(self) -> dict:
        return {n.name: self.lab.link_counters(n.name, VXLAN_DEVICE).get("tx", 0)
                for n in NODES}

    def bring_up(self, scenario: str, blocks: dict | None = None) -> tuple[float, float]:
        """Reset the nodes, start the scenario's daemons, wait for sessions
        and routes: (seconds to Established, seconds to the last route),
        both counted from the first daemon's start."""
        out = self.out
        with out.step("reset the nodes (daemons stopped, routes and vxlan.calico removed)"):
            self.reset_nodes()
        start = time.monotonic()
        who = "rr, node1, node2" if scenario == "route-reflector" else "node1, node2"
        with out.step(f"start bgpd on {who}"):
            self.start_nodes(scenario, blocks)
        with out.step("sessions Established"):
            checks.converge(self.lab, self.node_sessions(scenario))
            up = time.monotonic() - start
        with out.step("routes in every kernel"):
            checks.converge(self.lab, self.block_routes(scenario != "bgp", blocks))
            routes = time.monotonic() - start
        return up, routes


# -- the scenarios ----------------------------------------------------------------------------

def bgp(d: Demo) -> Result:
    n1, n2 = NODES
    up, routes = d.bring_up("bgp")
    with d.out.step(f"pods ping across the routers ({PINGS} each way, every 50 ms)"):
        pings = checks.ping_pairs(d.pod_pairs(), PINGS)
    d.show("node1", "show", "protocols")
    d.show("node1", "show", "route")
    d.show_ip("node1", "route")
    d.show_ip("r1", "route", "show", "proto", "179")
    rows = d.lab.query("node1", "show", "route", n2.block, "all")
    why = "; ".join(sorted({r.get("reason") or r.get("status", "") for r in rows}))
    d.out.note(f"node1 keeps {n2.block} out of its kernel ({why}): the path from r1 "
               f"carries AS {configs.NODE_ASN},\nits own, so pods reach the block through "
               "the default route to r1, as in the article:")
    d.show("node1", "show", "route", n2.block, "all")
    ok = pings.lost == 0 and pings.sent > 0
    return Result("bgp", ok, f"{_converged(up, routes)}, {pings}")


def vxlan(d: Demo) -> Result:
    n1, n2 = NODES
    up, routes = d.bring_up("vxlan")
    before = d.vxlan_packets()
    with d.out.step(f"pods ping through the VXLAN tunnel ({PINGS} each way)"):
        pings = checks.ping_pairs(d.pod_pairs(), PINGS)
    after = d.vxlan_packets()
    tunnelled = {h: after[h] - before.get(h, 0) for h in after}
    d.show("node1", "show", "protocols")
    d.show("node1", "show", "route")
    d.show_ip("node1", "route")
    d.out.note("The tunnel needs no signalling: the neighbour and FDB entries follow from "
               "the node address\n(MAC 0e:bd + the address's octets):")
    d.show_ip("node1", "neigh", "show", "dev", VXLAN_DEVICE)
    netns_cmd = f"ip netns exec {d.topo.ns('node1')} bridge fdb show dev {VXLAN_DEVICE}"
    fdb = netns.run(netns.exec_argv(d.topo.ns("node1"),
                                    ["bridge", "fdb", "show", "dev", VXLAN_DEVICE]),
                    check=False)
    d.out.command(netns_cmd, fdb.stdout)
    encapsulated = all(tunnelled[n.name] >= PINGS for n in NODES)
    ok = pings.lost == 0 and pings.sent > 0 and encapsulated
    sent = ", ".join(f"{h} {c}" for h, c in tunnelled.items())
    return Result("vxlan", ok, f"{_converged(up, routes)}, {pings}, "
                               f"VXLAN packets sent: {sent}")


def route_reflector(d: Demo) -> Result:
    n1, n2 = NODES
    up, routes = d.bring_up("route-reflector")
    with d.out.step(f"pods ping through the VXLAN tunnel ({PINGS} each way)"):
        pings = checks.ping_pairs(d.pod_pairs(), PINGS)
    d.show("rr", "show", "protocols")
    d.show("node2", "show", "protocols")
    d.show("node2", "show", "route")
    d.show_ip("node2", "route")
    rows = d.lab.query("node2", "show", "route", "all")
    row = next((r for r in rows if r["prefix"] == n1.block), {})
    d.out.command(d.lab.bgpctl_command("node2", "--json", "show", "route", "all")
                  + f"   # the row of {n1.block}", json.dumps(row, indent=2))
    reflected = (row.get("originator_id") == n1.ip
                 and row.get("cluster_list") == [configs.CLUSTER_ID])
    d.out.note(f"ORIGINATOR_ID {row.get('originator_id')} (node1, where the route began), "
               f"CLUSTER_LIST {row.get('cluster_list')} (the reflector's cluster): "
               + ("as RFC 4456 says" if reflected else "NOT as expected"))
    ok = pings.lost == 0 and pings.sent > 0 and reflected
    return Result("route-reflector",
                  ok, f"{_converged(up, routes)}, {pings}, "
                      f"reflected with ORIGINATOR_ID {row.get('originator_id')} "
                      f"CLUSTER_LIST {','.join(row.get('cluster_list') or ['-'])}")


def failure(d: Demo) -> Result:
    lab, out = d.lab, d.out
    n1, n2 = NODES
    with_spare = {n1.name: [n1.block, SPARE_BLOCK]}
    out.note(f"node1 starts with a second block, {SPARE_BLOCK}, and gives it back while its "
             "daemon is down.")
    d.bring_up("route-reflector", with_spare)
    watched = {"node1": [n2.block], "node2": [n1.block], "r1": [n1.block], "r2": [n1.block]}
    watches = {h: checks.RouteWatch(d.topo.ns(h)) for h in watched}
    pinger = checks.Pinger(d.topo.pod_ns(n2.name, 1), n1.pods[0])
    try:
        time.sleep(0.5)               # the monitors listen and pings flow
        with out.step("kill -9 bgpd on node1 (no Cease: its peers see the TCP session drop)"):
            pid = lab.kill("node1")
            killed = time.monotonic()
        with out.step("r1 and rr keep node1's routes as stale"):
            checks.converge(lab, [_NotEstablished("r1", "node1"),
                                  _NotEstablished("rr", configs.calico_name(n1.ip)),
                                  Stale("r1", n1.block), Stale("rr", n1.block)], 10)
            detected = time.monotonic() - killed
        d.show("r1", "show", "route", n1.block, "all")
        time.sleep(max(0.0, DOWN_TIME - (time.monotonic() - killed)))
        config = configs.node_config(n1.name, lab.socket(n1.name), "route-reflector")
        with out.step("restart bgpd on node1 (its routes stayed in the kernel: "
                      "graceful restart)"):
            restarted = time.monotonic()
            lab.start(n1.name, config)
        with out.step("sessions back, routes learned again"):
            checks.converge(lab, d.node_sessions("route-reflector")
                            + [Fresh("r1", n1.block), Fresh("rr", n1.block),
                               Fresh("node1", n2.block)], 30)
            back = time.monotonic() - restarted
        with out.step(f"the released block {SPARE_BLOCK} swept everywhere"):
            checks.converge(lab, [Unknown(h, SPARE_BLOCK) for h in ("r1", "r2", "rr", "node2")]
                            + [NoRoute(h, SPARE_BLOCK) for h in ("node1", "node2", "r1", "r2")]
                            + [Route("node1", n1.block, type="blackhole")], 30)
            swept = time.monotonic() - restarted
        time.sleep(0.3)               # a few more pings after the sweep
    finally:
        pings = pinger.stop()
        seen = {h: w.stop() for h, w in watches.items()}
    withdrawn = {h: checks.deleted(seen[h], p) for h, prefixes in watched.items() for p in prefixes}
    withdrawn = {h: lines for h, lines in withdrawn.items() if lines}
    spare_gone = {h: bool(checks.deleted(seen[h], SPARE_BLOCK)) for h in seen}
    d.show("node1", "show", "protocols")
    d.show("r1", "show", "route")
    d.show_ip("node1", "route")
    out.note(f"bgpd pid {pid} killed; its peers saw the session drop after "
             f"{detected * 1000:.0f} ms (TCP FIN from the kernel); down for {DOWN_TIME:g} s; "
             f"{pings.sent} pings over the whole window, {pings.lost} lost")
    if withdrawn:
        out.note("routes withdrawn during the restart (graceful restart should have kept them):")
        for h, lines in withdrawn.items():
            out.note(f"  {h}: " + "; ".join(lines))
    else:
        out.note("no route to a pod block was withdrawn anywhere during the restart; "
                 f"{SPARE_BLOCK} was deleted from "
                 + ", ".join(h for h, gone in spare_gone.items() if gone))
    # A ping that gave up early would hide losses: it must have kept going.
    steady = pings.sent >= pinger.expected // 2 > 0
    if not steady:
        out.note(f"the ping stopped early: {pings.sent} sent of about {pinger.expected}")
    ok = pings.lost == 0 and steady and not withdrawn
    return Result("failure", ok,
                  f"sessions back {back:.2f} s after the restart (process start included), "
                  f"stale block swept after {swept:.2f} s, {pings}, "
                  + ("no route withdrawn" if not withdrawn
                     else f"routes withdrawn on {', '.join(withdrawn)}"))


@dataclass(frozen=True)
class _NotEstablished:
    host: str
    name: str

    def holds(self, lab) -> bool:
        return lab.sessions(self.host).get(self.name) != "Established"

    def __str__(self) -> str:
        return f"{self.host}: {self.name} down"


# name -> (title, what it shows, function)
SCENARIOS = {
    "bgp": ("BGP without encapsulation (the article's case 4)",
            "node1 and node2 peer with their routers over eBGP (AS 64512 <-> 64513), the "
            "routers over iBGP\nwith next hop self; each node announces its /26 and "
            "blackholes it; pods ping across the routers.", bgp),
    "vxlan": ("BGP and VXLAN between the nodes (case 5, VXLANCrossSubnet)",
              "A node-to-node iBGP session (multihop through the routers) carries each "
              "block with the node address\nas next hop; the nodes are in different "
              "subnets, so the block goes via vxlan.calico onlink.", vxlan),
    "route-reflector": ("A route reflector instead of the mesh",
                        "Mesh off: node1 and node2 are clients of the reflector node rr "
                        "(cluster 244.0.0.1);\nthe blocks arrive reflected, VXLAN as before.",
                        route_reflector),
    "failure": ("A node's daemon dies and comes back (graceful restart)",
                "While a pod on node2 pings a pod on node1 every 50 ms, node1's daemon is "
                "killed with SIGKILL\nand restarted: its kernel routes stay, its peers "
                "keep its routes as stale, then sweep what it no longer announces.",
                failure),
}

__all__ = ["Demo", "Result", "SCENARIOS"]
