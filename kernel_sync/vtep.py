"""VXLAN tunnel endpoints without a datastore: the VTEP address and MAC rules.

A VXLAN route needs, for each remote node, the address its route goes
*via* (the remote VTEP address), the MAC address of the remote VXLAN
device (a permanent neighbour entry: VTEP address -> MAC) and where to
send frames for that MAC (an FDB entry: MAC -> the remote node's address).
Calico's Felix reads VTEP addresses and MACs from its datastore; here both
follow from addresses every node already knows, so nodes agree with no
extra signalling:

VTEP address
    The VTEP address of a node is its entry in ``Node.vteps`` (node
    address -> VTEP address, for example Calico's ``IPv4VXLANTunnelAddr``
    values when a datastore is at hand), and otherwise **the node address
    itself**, the BGP next hop of its routes.  Routes then read
    ``10.245.0.192/26 via 192.168.17.101 dev vxlan.calico onlink``: the
    gateway only selects the neighbour entry on the VXLAN device, so using
    the node address needs no address from the pod range.

VTEP MAC
    The MAC of a VTEP is derived from its VTEP address: for IPv4
    ``0e:bd:a:b:c:d`` (the four address octets after a fixed prefix), for
    IPv6 ``0e:be`` followed by the first four octets of the SHA-256 of the
    sixteen address octets.  ``0e`` is a *locally administered unicast*
    first octet (bit 1 set, bit 0 clear, IEEE 802 clause 8.2), so the MACs
    never clash with a vendor-assigned one; ``bd``/``be`` keep the two
    families apart.  Our own VXLAN device gets the MAC of our own VTEP
    address by the same rule, which is what makes the remote ends' entries
    right.  The prefix also tells our entries apart: permanent neighbour
    and FDB entries on our VXLAN devices whose MAC starts with it are ours
    (the sync layer never touches others).
"""

from __future__ import annotations

import hashlib

MAC_PREFIX_V4 = b"\x0e\xbd"
MAC_PREFIX_V6 = b"\x0e\xbe"


def vtep_mac(vtep: bytes) -> bytes:
    """The VXLAN device MAC of a VTEP address (4 or 16 packed octets)."""
    if len(vtep) == 4:
        return MAC_PREFIX_V4 + vtep
    if len(vtep) == 16:
        return MAC_PREFIX_V6 + hashlib.sha256(vtep).digest()[:4]
    raise ValueError(f"VTEP address of {len(vtep)} octets")


def is_vtep_mac(mac: bytes) -> bool:
    """Whether ``mac`` follows the rule (so an entry holding it is ours)."""
    return len(mac) == 6 and mac[:2] in (MAC_PREFIX_V4, MAC_PREFIX_V6)


def vtep_address(node_address: bytes, vteps) -> bytes:
    """The VTEP address of the node at ``node_address``."""
    return vteps.get(node_address, node_address)


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)
