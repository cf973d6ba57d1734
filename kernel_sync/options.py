"""The kernel layer's options, one frozen object (``conf`` builds it).

Defaults are chosen so that the layer is safe next to any other routing
daemon: routes carry protocol 179, a number no common daemon uses (the
kernel's reserved values, BIRD 12, Zebra/FRR 11 and 186-198, Felix 80,
keepalived 18, Babel 42, OpenR 99 are all elsewhere; 179 is BGP's TCP port,
easy to remember).  ``ip route`` prints it as ``proto 179``, or by name once
``/etc/iproute2/rt_protos.d/bgpd.conf`` holds ``179 bgpd``.  Set
``protocol=12`` to take over routes a BIRD left behind (drop-in
replacement: BIRD's kernel protocol writes ``proto bird``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .model import BlockType, LearnFilter, dest

DEFAULT_PROTOCOL = 179
PROTOCOL_BIRD = 12


@dataclass(frozen=True)
class SyncOptions:
    """Options of the kernel layer.

    protocol                rtm_protocol of every route written; routes of
                            any other protocol are never changed or deleted.
    table                   routing table (254 = main).
    metric                  metric of every route (IPv6: 0 means 1024, as
                            the kernel stores it).
    metric_from_local_pref  BGP-learned routes (``Forward.local_pref`` set)
                            get metric 2147483647 - LOCAL_PREF, as newer
                            Calico does; other routes get ``metric``.
    block_type              kernel route type of local blocks given without
                            one.
    never_install           prefixes (service ranges) never installed, nor
                            anything inside them.
    resolve_tables          tables whose routes of other protocols resolve
                            BGP next hops.
    learn                   which routes of other protocols are reported
                            (``LearnFilter``).
    persist                 leave our routes in the kernel on ``close``
                            (BIRD's ``persist``).
    netns                   named network namespace to work in (None: the
                            process's own).
    vxlan_vni / vxlan_port  of VXLAN devices the layer creates (Calico: 4096
                            and 4789).
    vxlan_mtu               MTU of a created VXLAN device (None: the
                            kernel's default).
    create_vxlan            create a missing VXLAN device a pool needs.
    socket_buffer           SO_SNDBUF/SO_RCVBUF of the netlink sockets.
    batch_bytes             most octets of requests per send (one sendmsg).
    bulk_threshold          while an apply of more route operations than
                            this runs, the kernel drops the events of our
                            own protocol's routes (a socket filter), and a
                            count of our routes afterwards checks that
                            nobody else touched them meanwhile (reading a
                            million echoes of our own writes would cost
                            more than writing them).
    """

    protocol: int = DEFAULT_PROTOCOL
    table: int = 254
    metric: int = 0
    metric_from_local_pref: bool = False
    block_type: BlockType = BlockType.BLACKHOLE
    never_install: tuple = ()
    resolve_tables: tuple = (254,)
    learn: LearnFilter = field(default_factory=LearnFilter)
    persist: bool = True
    netns: str | None = None
    vxlan_vni: int = 4096
    vxlan_port: int = 4789
    vxlan_mtu: int | None = None
    create_vxlan: bool = True
    socket_buffer: int = 32 << 20
    batch_bytes: int = 256 << 10
    bulk_threshold: int = 20000

    def __post_init__(self):
        if not 1 <= self.protocol <= 255 or self.protocol in (1, 2, 3):
            raise ValueError(f"protocol {self.protocol}: must be 4..255 "
                             f"(0-3 are the kernel's own)")
        if not 1 <= self.table < 2 ** 32 or self.table in (0, 255):
            raise ValueError(f"table {self.table}: not a table routes can be written to")
        if not 0 <= self.metric < 2 ** 32:
            raise ValueError(f"metric {self.metric} out of range")
        if isinstance(self.block_type, str):
            object.__setattr__(self, "block_type", BlockType(self.block_type))
        object.__setattr__(self, "never_install",
                           tuple(dest(p if not isinstance(p, str) else ipaddress.ip_network(p))
                                 for p in self.never_install))
        object.__setattr__(self, "resolve_tables", tuple(self.resolve_tables))
