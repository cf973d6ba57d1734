"""Adj-RIB-In: one source's routes of one address family (RFC 4271 3.2).

``AdjRibIn.routes`` maps a wire key -- ``(path_id, key)`` with add-path
receive (RFC 7911) -- to the shared ``Path`` the route has after import
policy.  Next to it, and only when they are in use:

``stale``  routes held over from a session that went down gracefully
           (RFC 4724) or from before a Beginning-of-RIB-Refresh (RFC 7313),
           not re-sent yet.  A re-sent route moves from ``stale`` back to
           ``routes``; End-of-RIB (or End-of-RIB-Refresh, or the restart
           timer) withdraws what is left.  ``routes`` and ``stale`` never
           hold the same key.
``pre``    the routes as received, before import policy, when the peer has
           soft reconfiguration inbound: ``Rib.reimport`` runs the policy
           over them again instead of asking the peer for a route refresh.
           During an enhanced refresh the copy is rebuilt from what the peer
           re-sends; the old one waits in ``pre_stale`` until EoRR.

``paths`` interns the ``Path`` objects: by next hop (with the path id, for
add-path) and then by the attribute block's bytes, so that a million
prefixes sharing a third as many attribute sets cost a third as many paths.
A path counts the slots that hold it (``refs``) and is forgotten at zero.

``SourceState`` is everything the RIB knows about one source across its
sessions: the current ``PeerInfo`` (or ``LocalSource``), the import policy,
whether the session is up, and its ``AdjRibIn`` per family.
"""

from __future__ import annotations

from .path import Path


class AdjRibIn:
    """One source's routes of one family."""

    __slots__ = ("source", "family", "routes", "stale", "pre", "pre_stale", "paths",
                 "add_path", "policy", "preferred", "fast", "table", "dirty")

    def __init__(self, source, family, *, add_path=False, policy=None, soft_reconfig=False,
                 table=None, dirty=None):
        self.source = source            # current PeerInfo / LocalSource: new paths carry it
        self.family = tuple(family)
        self.table = table              # the Loc-RIB table of the family ...
        self.dirty = dirty              # ... and its prefixes waiting for the decision
        self.routes: dict = {}
        self.stale: dict | None = None
        self.pre: dict | None = {} if soft_reconfig else None
        self.pre_stale: dict | None = None  # the pre-policy copy before a BoRR
        self.paths: dict = {}           # next hop (or (nh, path id, four_octet)) -> {raw: Path}
        self.add_path = add_path
        self.policy = policy
        self.preferred = 0              # prefixes whose best path is ours
        self.fast = True
        self.update_mode()

    def update_mode(self) -> None:
        """Whether announcements can take the plain path: no policy, no
        pre-policy copy, no stale routes, no path identifiers."""
        self.fast = (self.policy is None and self.pre is None and self.stale is None
                     and not self.add_path)

    # -- interning ------------------------------------------------------------
    @staticmethod
    def path_key(next_hop, path_id, four_octet):
        """Where ``paths`` keeps the paths of a next hop: by the next hop
        alone in the common case, else with the path id and ASN width (the
        same bytes mean another AS_PATH on a 2-octet session)."""
        if path_id == 0 and four_octet:
            return next_hop
        return (next_hop, path_id, four_octet)

    def release(self, path: Path) -> None:
        """One slot fewer holds ``path``; forget it when none does."""
        path.refs -= 1
        if path.refs <= 0:
            inner = self.paths.get(self.path_key(path.next_hop, path.path_id,
                                                 path.attrs.four_octet))
            if inner is not None and inner.get(path.attrs.raw) is path:
                del inner[path.attrs.raw]
                if not inner:
                    del self.paths[self.path_key(path.next_hop, path.path_id,
                                                 path.attrs.four_octet)]

    def all_paths(self):
        for inner in self.paths.values():
            yield from inner.values()

    def forget_paths(self) -> None:
        """New routes get new paths (the source changed); the old ones live
        on while slots hold them."""
        self.paths = {}

    # -- contents ---------------------------------------------------------------
    def is_stale(self, key, path) -> bool:
        return self.stale is not None and self.stale.get(key) is path

    def prefix_of(self, key):
        """The prefix wire key of an Adj-RIB-In key."""
        return key[1] if self.add_path else key

    def key_for(self, prefix, path_id):
        return (path_id, prefix) if self.add_path else prefix

    def items(self):
        """``(key, path)`` of every route, stale ones included."""
        yield from self.routes.items()
        if self.stale:
            yield from self.stale.items()

    def __len__(self) -> int:
        return len(self.routes) + (len(self.stale) if self.stale else 0)

    def __repr__(self) -> str:
        stale = f", {len(self.stale)} stale" if self.stale else ""
        return f"<AdjRibIn {self.source.name} {self.family}: {len(self.routes)} routes{stale}>"


class SourceState:
    """One source (a peer, or one kind of local route) across its sessions."""

    __slots__ = ("info", "adj", "policy", "soft_reconfig", "add_path", "up",
                 "restart_time", "stale_deadline", "tables", "ipv4")

    def __init__(self, info, tables, *, policy=None, soft_reconfig=False):
        self.info = info
        self.tables = tables            # family -> (Loc-RIB table, dirty map), from the Rib
        self.ipv4 = None                # adj[IPV4_UNICAST], the one UPDATE bodies carry
        self.adj: dict = {}             # family -> AdjRibIn
        self.policy = policy
        self.soft_reconfig = soft_reconfig
        self.add_path = frozenset()     # families received with path identifiers
        self.up = False
        self.restart_time = None        # RFC 4724 restart time of the last graceful down
        self.stale_deadline = None      # when the stale routes go, if known

    def adj_for(self, family) -> AdjRibIn:
        adj = self.adj.get(family)
        if adj is None:
            family = tuple(family)
            table, dirty = self.tables(family)
            adj = self.adj[family] = AdjRibIn(
                self.info, family, add_path=family in self.add_path, policy=self.policy,
                soft_reconfig=self.soft_reconfig, table=table, dirty=dirty)
            if family == (1, 1):
                self.ipv4 = adj
        return adj

    @property
    def name(self) -> str:
        return self.info.name

    def __repr__(self) -> str:
        return f"<SourceState {self.info.name} {'up' if self.up else 'down'}>"
