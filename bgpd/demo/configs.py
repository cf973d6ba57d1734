"""The daemons' configuration files, one per host and scenario.

How it works
------------
Each function returns the TOML text of one daemon, with comments, so that
a kept lab (``bgpd demo --keep``) shows an operator complete, working
configurations beside the daemons that run them.  The files follow
``conf/examples/``: the routers keep their FIB (``[kernel]``) and learn
their connected subnets (BIRD's ``protocol direct``); the nodes announce
their block (``local_blocks``, blackholed in their own kernel), export
nothing else (Calico's export filter), and install what they learn into
the pool with the scenario's encapsulation.

Scenario -> what the nodes peer with:

=================  ==============================  ====================
scenario           sessions of a node              pool encapsulation
=================  ==============================  ====================
bgp                its router (eBGP)               none
vxlan              its router + the other node     vxlan-cross-subnet
                   (``[mesh]``, iBGP multihop)
route-reflector    its router + the reflector      vxlan-cross-subnet
                   (iBGP multihop, RR client)
=================  ==============================  ====================

The lab is IPv4 only (``listen = ["0.0.0.0"]``).  Sessions use a 1 s
connect retry (the demo starts daemons one after the
other and wants them up at once); every other value is the default an
operator would get.
"""

from __future__ import annotations

import json

from .topology import (CLUSTER_ID, NODE_ASN, NODES, POOL, REFLECTOR, ROUTER_ASN, node,
                       peer_of, router)

CONNECT_RETRY = 1
ENCAP = {"bgp": "none", "vxlan": "vxlan-cross-subnet", "route-reflector": "vxlan-cross-subnet"}


def _v(value) -> str:
    """A TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(_v(x) for x in value) + "]"


def calico_name(address: str) -> str:
    """Calico's protocol name of a node-specific peer: ``Node_10_0_0_1``."""
    return "Node_" + address.replace(".", "_")


def router_config(name: str, socket: str) -> str:
    """A router: eBGP to its node(s), iBGP to the other router with next
    hop self, connected subnets announced, everything learned in its FIB."""
    r = router(name)
    other = next(x for x in ("r1", "r2") if x != name)
    mine, theirs = peer_of(name, other)
    lines = [
        f"# Router {name} of the demo (the article's BIRD router, AS {ROUTER_ASN}).",
        f"router_id = {_v(r.router_id)}",
        f"asn = {ROUTER_ASN}",
        f"hostname = {_v(name)}",
        f"control_socket = {_v(socket)}",
        'listen = ["0.0.0.0"]              # the lab is IPv4 only',
        "",
        "# Keep the FIB: routes learned over BGP go into the kernel; connected",
        "# subnets of the eth-* links are learned (BIRD's `protocol direct`).",
        "[kernel]",
        'learn_interfaces = ["eth-*"]',
        'learn_protocols = ["kernel"]',
        "",
        "[defaults]",
        f"connect_retry = {CONNECT_RETRY}",
        "",
        "# The other router: iBGP, our address as next hop (`next hop self`).",
        "[[peers]]",
        f"name = {_v('router_' + other)}",
        f"address = {_v(theirs)}",
        f"asn = {ROUTER_ASN}",
        f"local_address = {_v(mine)}",
        "next_hop_self = true",
        'export = "to-router"',
    ]
    for n in NODES:
        if n.router != name:
            continue
        here, there = peer_of(name, n.name)
        lines += [
            "",
            f"# {n.name}: eBGP, directly connected.  RFC 8212: eBGP needs policies.",
            "[[peers]]",
            f"name = {_v(n.name)}",
            f"address = {_v(there)}",
            f"asn = {NODE_ASN}",
            f"local_address = {_v(here)}",
            'import = "accept-all"',
            f'export = "to-{n.name}"',
        ]
    lines += [
        "",
        "[[policies]]",
        'name = "to-router"',
        'description = "what we learned over BGP, and our connected subnets"',
        'default = "reject"',
        "[[policies.rules]]",
        'match.source = ["bgp", "kernel"]',
        'action = "accept"',
    ]
    for n in NODES:
        if n.router != name:
            continue
        lines += [
            "",
            "[[policies]]",
            f'name = "to-{n.name}"',
            f'description = "everything but {n.name}\'s own subnet (it is connected there)"',
            'default = "reject"',
            "[[policies.rules]]",
            f"match.prefix = {_v(n.subnet)}",
            'action = "reject"',
            "[[policies.rules]]",
            'match.source = ["bgp", "kernel"]',
            'action = "accept"',
        ]
    return "\n".join(lines) + "\n"


def node_config(name: str, socket: str, scenario: str, blocks=None) -> str:
    """A node: its block announced to its router (and, for VXLAN, to the
    other node or the reflector), learned blocks installed per the pool."""
    n = node(name)
    blocks = list(blocks) if blocks is not None else [n.block]
    here, gateway = peer_of(name, n.router)
    lines = [
        f"# Node {name} of the demo, scenario {scenario} (a calico-node's BIRD).",
        f"router_id = {_v(n.ip)}",
        f"asn = {NODE_ASN}",
        f"hostname = {_v(name)}",
        f"control_socket = {_v(socket)}",
        'listen = ["0.0.0.0"]              # the lab is IPv4 only',
        "# The node's IPAM blocks: announced, and a blackhole route each here.",
        f"local_blocks = {_v(blocks)}",
        "",
        "[kernel]",
        f"node_addresses = {_v([n.address])}",
        "# Our routes stay in the kernel when the daemon stops or dies; the next",
        "# start keeps them until the peers have sent theirs (graceful restart).",
        "persist = true",
        '# Workload /32s on cali* are learned (for policy), never exported here.',
        'learn_interfaces = ["cali*"]',
        "",
        "# Learned blocks of the pool: " + {
            "none": "plain routes via the BGP next hop.",
            "vxlan-cross-subnet": "via vxlan.calico when the next hop is in another subnet.",
        }[ENCAP[scenario]],
        "[[pools]]",
        f"prefix = {_v(POOL)}",
        f"encap = {_v(ENCAP[scenario])}",
        "",
        "[defaults]",
        f"connect_retry = {CONNECT_RETRY}",
        f"local_address = {_v(here)}",
        "",
        "# The router of our subnet: eBGP (the article's BGPPeer).",
        "[[peers]]",
        f"name = {_v(calico_name(gateway))}",
        f"address = {_v(gateway)}",
        f"asn = {ROUTER_ASN}",
        'import = "accept-all"',
        'export = "calico-export"',
    ]
    if scenario == "vxlan":
        lines += [
            "",
            "# Node-to-node mesh: iBGP, multihop through the routers, so that each",
            "# node learns the other's block with the node address as next hop",
            "# (the VXLAN tunnel endpoint).",
            "[mesh]",
            f"nodes = {_v([x.ip for x in NODES])}",
            'export = "calico-export"',
        ]
    elif scenario == "route-reflector":
        lines += [
            "",
            "# The route reflector instead of the mesh: one iBGP session.",
            "[[peers]]",
            f"name = {_v(calico_name(REFLECTOR.ip))}",
            f"address = {_v(REFLECTOR.ip)}",
            f"asn = {NODE_ASN}",
            'export = "calico-export"',
        ]
    lines += [
        "",
        "# Calico's export filter: our own blocks only, never learned routes.",
        "[[policies]]",
        'name = "calico-export"',
        'default = "reject"',
        "[[policies.rules]]",
        'match.source = "local-block"',
        'action = "accept"',
    ]
    return "\n".join(lines) + "\n"


def reflector_config(socket: str) -> str:
    """The route reflector node: both nodes are its clients."""
    lines = [
        "# The route reflector node of the demo (Calico: routeReflectorClusterID).",
        f"router_id = {_v(REFLECTOR.ip)}",
        f"asn = {NODE_ASN}",
        'hostname = "rr"',
        f"control_socket = {_v(socket)}",
        'listen = ["0.0.0.0"]              # the lab is IPv4 only',
        f"cluster_id = {_v(CLUSTER_ID)}",
        "",
        "[defaults]",
        f"connect_retry = {CONNECT_RETRY}",
        f"local_address = {_v(REFLECTOR.ip)}",
        "route_reflector_client = true",
    ]
    for n in NODES:
        lines += [
            "",
            "[[peers]]",
            f"name = {_v(calico_name(n.ip))}",
            f"address = {_v(n.ip)}",
            f"asn = {NODE_ASN}",
        ]
    return "\n".join(lines) + "\n"


__all__ = ["CLUSTER_ID", "ENCAP", "NODE_ASN", "calico_name", "node_config",
           "reflector_config", "router_config"]
