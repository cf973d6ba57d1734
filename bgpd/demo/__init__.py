"""``bgpd demo``: the seed article's lab, end to end, with our daemon on
every router and node.

What it shows
-------------
Two routers (r1, r2; AS 64513, iBGP between them with next hop self) and
two Kubernetes-like nodes in different subnets (node1 192.168.16.101/24
behind r1, node2 192.168.17.101/24 behind r2; AS 64512, eBGP to their
router), each node with a /26 pod block and two pods wired as Calico wires
them, plus a third node that serves as route reflector.  Every BGP speaker
is ``bgpd run``, one process per network namespace.  Four scenarios, in
order:

1. **bgp**: blocks announced, blackholed on their owners, installed in the
   routers' kernels; pods ping across the routers (the article's case 4).
2. **vxlan**: a node-to-node iBGP session (multihop) carries each block
   with the node address as next hop; the nodes install it via
   ``vxlan.calico onlink`` and pod traffic is encapsulated (case 5).
3. **route-reflector**: the mesh replaced by the reflector; the routes
   arrive with ORIGINATOR_ID and CLUSTER_LIST.
4. **failure**: node1's daemon is killed with SIGKILL and restarted while
   pods ping every 50 ms: graceful restart keeps every route, not one
   ping is lost, and a block released meanwhile is swept everywhere.

Each scenario prints what an operator looks at (``bgpctl show protocols``,
``bgpctl show route``, ``ip route``) and a PASS/FAIL line with its
convergence time and lost pings.

How to run it
-------------
As root::

    bgpd demo                       # everything, then remove the lab
    bgpd demo --scenario vxlan      # one scenario (repeat for several)
    bgpd demo --keep                # leave the lab up to explore, then
    bgpd demo --down                # remove it

The namespaces are ``bgpdemo-<host>`` (``--prefix`` changes that); the
configurations, control sockets and logs are in ``/run/bgpd-demo/bgpdemo/``
with a ``state.json`` that ``--down`` reads.  Ctrl-C, SIGTERM or an error
remove everything the demo made.  Exit status 0 only when every scenario
passed.

Modules: ``topology`` (the plan and how it is built), ``configs`` (each
daemon's TOML), ``lab`` (state directory, daemons, queries, teardown),
``checks`` (expectations, pings, route monitors), ``scenarios``,
``progress`` (the step display), ``netns`` (namespace and process
helpers), ``run`` (the command).
"""

from __future__ import annotations

SCENARIO_NAMES = ("bgp", "vxlan", "route-reflector", "failure")


def main(args) -> int:
    """Run ``bgpd demo`` with parsed arguments (see ``bgpd.cli``)."""
    from .run import main as run_main
    return run_main(args)
