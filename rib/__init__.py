"""rib: Adj-RIBs-In, the decision process and the Loc-RIB.  Pure: no I/O,
no clock; the daemon drives it and passes time in.

How it works
------------
The session driver gives each decoded UPDATE to ``Rib.apply_update``.  Its
prefixes go into the sending peer's Adj-RIB-In (``adjin``) after the import
policy hook, as wire keys mapped to *shared* ``Path`` objects (``path``): one
per distinct source, attribute set and next hop, so a full table costs one
dictionary slot per prefix and one path per attribute set.  The prefix's
candidates in the Loc-RIB table are updated at once and the prefix marked
dirty; after the batch of one socket read, ``Rib.drain_changes`` runs the
decision (``decision``) once per dirty prefix and returns one ``Change``
per prefix whose selected route changed, for the export and kernel layers.

The decision process is RFC 4271 section 9.1 with the RFC 4456 section 9
tie-breaks, written as ordered steps (``decision.STEPS``) whose ``Step``
is also what ``Rib.explain`` reports, so an explanation is the code's own
verdict.  Candidates that may not be used (unresolvable next hop, AS loop,
our ORIGINATOR_ID or CLUSTER_ID) are kept with their reason.  ECMP merges
the routes equal to the best up to the router-id step, by BIRD's rules.

Sources are peers (``PeerInfo``) and the speaker itself (``LocalSource``,
one per ``LocalKind``: static, local block, service range, kernel-learned),
which ``Rib.originate`` feeds.  ``nexthop`` holds the answers of the
next-hop resolver that the kernel layer supplies.

Modules: ``source`` (who sends routes), ``path`` (the shared route object),
``adjin`` (Adj-RIB-In), ``decision`` (the steps), ``routes`` (what the
Loc-RIB holds and hands out), ``rib`` (the ``Rib`` and its hot path),
``restart`` (graceful restart, refresh, soft reconfiguration),
``reselect`` (deciding again after next-hop or option changes),
``queries`` (lookups and explanations), ``policy`` (import/export filters).

RFCs: 4271 section 9 (decision process, Adj-RIB-In/Loc-RIB), 4456 section 8
and 9 (loop checks and tie-breaks of route reflection), 4724 (graceful
restart: stale routes, End-of-RIB, selection deferral), 2918 and 7313
(route refresh; enhanced refresh with BoRR/EoRR marking and sweeping),
7911 (add-path receive: a path identifier per candidate), 7606
(treat-as-withdraw), 5065 (confederation segments in the path length).

Import policy is a per-peer callable, ``import_policy(peer, family, key,
attrs, next_hop) -> (attrs, next_hop) | None``, applied before a route
enters the Adj-RIB-In; ``rib.policy`` provides the configured ones.
"""

from .adjin import AdjRibIn, SourceState
from .decision import STEPS, Decision, DecisionOptions, Step
from .nexthop import NextHops, always_reachable
from .path import Ineligible, Path
from .errors import RibError
from .rib import Rib
from .routes import Candidate, Change, Dest, LocRoute, Status
from .source import Install, LocalKind, LocalSource, PeerInfo

__all__ = [
    "AdjRibIn", "Candidate", "Change", "Decision", "DecisionOptions", "Dest", "Ineligible",
    "Install", "LocRoute", "LocalKind", "LocalSource", "NextHops", "Path", "PeerInfo", "Rib",
    "RibError", "STEPS", "SourceState", "Status", "Step", "always_reachable",
]
