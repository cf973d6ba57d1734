"""Helpers of the route-reflection interop tests: our daemon configured as
a route reflector or as a ``[mesh]`` node, and readers that take
ORIGINATOR_ID and CLUSTER_LIST (RFC 4456) out of each reference daemon's
own CLI.

How it works
------------
``RrBgpd`` is ``bgpd_lab.Bgpd`` with the keys route reflection needs: a
top-level ``cluster_id``, ``route_reflector_client = true`` on the peers
named in ``clients``, and an optional ``[mesh]`` table (``mesh_nodes``,
``mesh_local``) that makes one iBGP session per other node.

``BgpOnlyBird2`` is BIRD 2 whose sessions export only static and BGP
routes, so that the kernel or interface routes it is given for resolving
iBGP next hops (recursively, as BIRD does for iBGP) are not announced.

The readers give (originator id, cluster list) per prefix of the
IPv4 routes a daemon has learned over BGP, as its operator sees them:

- BIRD 2: ``birdc show route all``, the ``BGP.originator_id`` and
  ``BGP.cluster_list`` lines under each route;
- FRR: ``vtysh show ip bgp PREFIX json``, ``originatorId`` and
  ``clusterList.list`` of the path;
- GoBGP: ``gobgp global rib -j``, path attributes of type 9
  (ORIGINATOR_ID) and 10 (CLUSTER_LIST).

A route that lacks an attribute gives None (ORIGINATOR_ID) or ()
(CLUSTER_LIST).
"""

from __future__ import annotations

import json
import re

from .bgpd_lab import Bgpd, _toml
from .daemons import Bird2, Frr, GoBgp

ORIGINATOR_ID, CLUSTER_LIST = 9, 10     # RFC 4456 attribute type codes


class RrBgpd(Bgpd):
    """Our daemon with ``cluster_id``, route-reflector clients and a mesh."""

    def __init__(self, *args, cluster_id: str | None = None, clients=(),
                 mesh_nodes=(), mesh_local: str | None = None, **kw):
        super().__init__(*args, **kw)
        self.cluster_id = cluster_id
        self.clients = set(clients)
        self.mesh_nodes = list(mesh_nodes)
        self.mesh_local = mesh_local

    def config_text(self) -> str:
        text = super().config_text()
        # Top-level keys go before the first table.
        top = f"cluster_id = {_toml(self.cluster_id)}\n" if self.cluster_id else ""
        blocks = text.split("\n[[peers]]\n")
        for i, block in enumerate(blocks[1:], start=1):
            name = re.search(r'^name = "([^"]*)"', block, re.M).group(1)
            if name in self.clients:
                blocks[i] = block.replace("\nasn = ", "\nroute_reflector_client = true\nasn = ", 1)
        text = top + "\n[[peers]]\n".join(blocks)
        if self.mesh_nodes:
            text += "\n[mesh]\n" + f"nodes = {_toml(self.mesh_nodes)}\n"
            text += "connect_retry = 1\n"
            if self.mesh_local:
                text += f"local_address = {_toml(self.mesh_local)}\n"
        return text


class BgpOnlyBird2(Bird2):
    """BIRD 2 whose BGP sessions export only static and BGP routes: the
    routes it learns from the kernel or its interfaces (``extra_config``,
    for resolving iBGP next hops) stay out of BGP."""

    def config_text(self) -> str:
        return self.export_only_bgp(super().config_text())

    @staticmethod
    def export_only_bgp(text: str) -> str:
        return text.replace("\n  accept;\n}",
                            "\n  if source ~ [RTS_STATIC, RTS_BGP] then accept;\n  reject;\n}")


# ---------------------------------------------------------------------------
# ORIGINATOR_ID and CLUSTER_LIST as each daemon shows them

def bird_reflection(bird: Bird2) -> dict:
    """``birdc show route all``: {prefix: (originator id, cluster list)}
    of every BGP route BIRD holds."""
    out = bird.cli("show", "route", "all")
    found, prefix = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\d+\.\d+\.\d+\.\d+/\d+)\s", line)
        if m:
            prefix = m.group(1)
            found.setdefault(prefix, [None, ()])
            continue
        if prefix is None:
            continue
        m = re.match(r"^\s+BGP\.originator_id:\s*(\S+)", line)
        if m:
            found[prefix][0] = m.group(1)
        m = re.match(r"^\s+BGP\.cluster_list:\s*(.*)$", line)
        if m:
            found[prefix][1] = tuple(m.group(1).split())
    return {p: tuple(v) for p, v in found.items()}


def frr_reflection(frr: Frr, prefix: str):
    """``show ip bgp PREFIX json``: (originator id, cluster list) of FRR's
    path, or None if FRR has no path for ``prefix``."""
    data = json.loads(frr.vtysh(f"show ip bgp {prefix} json") or "{}")
    paths = data.get("paths") or []
    if not paths:
        return None
    p = paths[0]
    return p.get("originatorId"), tuple((p.get("clusterList") or {}).get("list", ()))


def frr_nexthop(frr: Frr, prefix: str):
    data = json.loads(frr.vtysh(f"show ip bgp {prefix} json") or "{}")
    paths = data.get("paths") or []
    hops = paths[0].get("nexthops") if paths else None
    return hops[0].get("ip") if hops else None


def gobgp_reflection(gobgp: GoBgp) -> dict:
    """``gobgp global rib -j``: {prefix: (originator id, cluster list)}."""
    data = json.loads(gobgp.gobgp("global", "rib", "-a", "ipv4", "-j") or "{}")
    found = {}
    for prefix, paths in data.items():
        attrs = {a.get("type"): a for a in paths[0].get("attrs", [])}
        oid = attrs.get(ORIGINATOR_ID, {}).get("value")
        clusters = attrs.get(CLUSTER_LIST, {}).get("value") or ()
        found[prefix] = (oid, tuple(clusters))
    return found


__all__ = ["BgpOnlyBird2", "RrBgpd", "bird_reflection", "frr_nexthop", "frr_reflection",
           "gobgp_reflection"]
