"""Routing policy: the import and export filters of each peer.

A policy runs after the fixed protocol rules (loop detection, well-known
communities, reflection) have let a route through: on import between a
peer's UPDATE and its Adj-RIB-In, on export between the Loc-RIB and a
peer's Adj-RIB-Out.  It is a list of rules, each a match (conditions that
must all hold) and an action (accept or reject, and on accept the changes
to make); the first rule whose match holds decides, and when none does the
policy's default action does.

Using it
--------
::

    policies = PolicySet.from_config(config)        # compiles every policy once
    chosen = policies.effective(peer)               # RFC 8212 defaults applied
    chosen.import_note      # "no import policy: RFC 8212 rejects every route ..."

    source = Source.peer(peer.name, peer.address, peer.asn, peer.is_ibgp)
    result = chosen.import_policy.evaluate(Context(
        family=IPV4_UNICAST, prefix=key, attributes=attrs, next_hop=nh,
        source=source, direction=IMPORT, local_address=ours, local_asn=64512))
    result.accepted, result.attributes, result.next_hop, result.reason

For the prefixes of one UPDATE (one attribute set) ``bind`` does the
per-route work once and returns a function of the prefix alone::

    decide = policy.bind(IPV4_UNICAST, attrs, nh, source, ours, 64512)
    results = [decide(key) for key in keys]

How it works
------------
Matches and changes are compiled from the configuration's data
(``conf.model.Policy``) by tables, one row per kind (``policy_match``,
``policy_actions``); prefix lists become ``policy_prefix.PrefixSet`` lookups.

The expensive part of a rule -- everything that reads the attribute set,
the next hop or the source -- is the same for every prefix that shares
them.  So ``bind`` keys a cache on (family, attributes, next hop, source,
local address and AS -- the last three only when some rule reads them) and
keeps, per key, a *plan*: each rule
specialised to that route (always, never, or a test on the prefix alone)
and, once a rule first decides, its ``Result``.  A changed attribute set is
built with one ``Attributes.replace()`` per plan and rule, interned by its
bytes, so the same inputs give back the very same ``Result`` and
``Attributes`` objects, and 100,000 prefixes sharing an attribute set cost
one replace() and a prefix lookup each.  The cache is bounded: past its
limit, the older half is dropped.

A policy means the same on import and export; the direction in the context
is there for the caller's messages.  ``next_hop = 'self'`` takes the
context's ``local_address`` (our address on the session in question), and
a prepend without an AS the context's ``local_asn``.

RFC 8212: a session to an eBGP peer without an import policy imports
nothing, and without an export policy exports nothing; iBGP sessions
default to accepting everything.  ``PolicySet.effective`` applies that and
says so in a note that ``show protocols all`` can print.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from .policy_actions import PolicyError, compile_changes
from .policy_match import CompiledMatch, compile_match
from .policy_prefix import PrefixSet

__all__ = ["EXPORT", "IMPORT", "Context", "Effective", "Policy", "PolicyError", "PolicySet",
           "PrefixSet", "Result", "Route", "Source"]

IMPORT = "import"
EXPORT = "export"

# Where a route came from (Source.kind).
BGP, STATIC, KERNEL, LOCAL_BLOCK = "bgp", "static", "kernel", "local-block"

DEFAULT_CACHE_LIMIT = 200_000       # plans per policy: distinct (attributes, next hop, source)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a route came from: a BGP peer (name, address, AS, iBGP or not),
    or ``static``, ``kernel`` or ``local-block`` for routes of our own.
    Make one per peer and reuse it: it is part of the cache key."""
    kind: str
    name: str | None = None
    address: object = None          # ipaddress address, text or packed bytes
    asn: int | None = None
    ibgp: bool | None = None

    @classmethod
    def peer(cls, name: str, address, asn: int, ibgp: bool) -> "Source":
        return cls(BGP, name, address, asn, ibgp)


class Route:
    """What the prefixes of one UPDATE share: the part of a context the
    route conditions read."""

    __slots__ = ("family", "attributes", "next_hop", "source", "local_address", "local_asn")

    def __init__(self, family, attributes, next_hop: bytes, source: Source,
                 local_address: bytes | None = None, local_asn: int | None = None):
        self.family = family                # (AFI, SAFI)
        self.attributes = attributes        # wire.Attributes
        self.next_hop = next_hop            # 4, 16 or 32 octets
        self.source = source
        self.local_address = local_address  # our address on the session, for next-hop self
        self.local_asn = local_asn          # our AS on the session, for prepend


class Context(Route):
    """One route to decide on: the prefix (a wire key) and its route, and
    whether it is being imported or exported."""

    __slots__ = ("prefix", "direction")

    def __init__(self, family, prefix: bytes, attributes, next_hop: bytes, source: Source,
                 direction: str = IMPORT, local_address: bytes | None = None,
                 local_asn: int | None = None):
        super().__init__(family, attributes, next_hop, source, local_address, local_asn)
        self.prefix = prefix
        self.direction = direction


class Result:
    """The decision: accepted or not; if accepted, the attribute set and next
    hop to use (the very objects given when nothing changed).  A rejected
    result carries neither.  ``reason`` names the rule that decided, in the
    configuration's terms: ``from-router rules[2] (default route)``."""

    __slots__ = ("accepted", "attributes", "next_hop", "reason")

    def __init__(self, accepted: bool, attributes, next_hop, reason: str):
        self.accepted = accepted
        self.attributes = attributes
        self.next_hop = next_hop
        self.reason = reason

    def __repr__(self) -> str:
        verdict = "accept" if self.accepted else "reject"
        return f"Result({verdict}, {self.reason!r})"


class _Rule:
    """A compiled rule: match, changes (None: none), verdict."""

    __slots__ = ("match", "apply", "accept", "reason", "rejected")

    def __init__(self, match: CompiledMatch, apply, accept: bool, reason: str):
        self.match = match
        self.apply = apply
        self.accept = accept
        self.reason = reason
        self.rejected = None if accept else Result(False, None, None, reason)


class _Plan:
    """A policy specialised to one route: per rule still in play, the test
    left on the prefix (None: always), and its result once computed."""

    __slots__ = ("policy", "route", "tests", "rules", "results")

    def __init__(self, policy: "Policy", route: Route):
        self.policy = policy
        self.route = route
        tests, rules = [], []
        for rule in policy.rules:
            left = rule.match.partial(route)
            if left is False:
                continue
            tests.append(None if left is True else left)
            rules.append(rule)
            if left is True:
                break                   # nothing after it is ever reached
        self.tests = tuple(tests)
        self.rules = tuple(rules)
        self.results = [None] * len(rules)

    def __call__(self, key: bytes) -> Result:
        i = 0
        for test in self.tests:
            if test is None or test(key):
                result = self.results[i]
                if result is None:
                    result = self.results[i] = self.policy._decide(self.rules[i], self.route)
                return result
            i += 1
        raise AssertionError("a policy's last rule matches every route")


class Policy:
    """A compiled policy: ``Policy.compile(definition, prefix_sets)`` from a
    ``conf.model.Policy``; ``Policy(name, default_accept=True)`` is one
    without rules.  The default action is kept as a last rule that matches
    every route."""

    __slots__ = ("name", "description", "rules", "cache_limit", "reads_source",
                 "needs_session", "_plans", "_interned")

    def __init__(self, name: str, rules=(), default_accept: bool = False, *,
                 description: str = "", default_reason: str | None = None,
                 cache_limit: int = DEFAULT_CACHE_LIMIT):
        self.name = name
        self.description = description
        verdict = "accept" if default_accept else "reject"
        self.rules = (*rules, _Rule(compile_match(None, {}), None, default_accept,
                                    default_reason or f"{name} default {verdict}"))
        self.cache_limit = cache_limit
        # What the cache key leaves out when no rule reads it, so that an
        # export policy shared by many sessions keeps one plan per route.
        self.reads_source = any(r.match.reads_source for r in self.rules)
        self.needs_session = any(r.apply is not None and r.apply.needs_session
                                 for r in self.rules)
        self._plans: dict = {}
        self._interned: dict = {}

    @classmethod
    def compile(cls, definition, prefix_sets, *, cache_limit: int = DEFAULT_CACHE_LIMIT):
        """From a ``conf.model.Policy``; ``prefix_sets`` maps the names of
        prefix lists to ``PrefixSet``s."""
        rules = []
        for i, rule in enumerate(definition.rules):
            reason = f"{definition.name} rules[{i}]"
            if rule.description:
                reason += f" ({rule.description})"
            accept = rule.action == "accept"
            rules.append(_Rule(compile_match(rule.match, prefix_sets),
                               compile_changes(rule.set) if accept else None, accept, reason))
        return cls(definition.name, rules, definition.default == "accept",
                   description=definition.description, cache_limit=cache_limit)

    @property
    def default_accept(self) -> bool:
        return self.rules[-1].accept

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {len(self.rules) - 1} rules)"

    # -- deciding ----------------------------------------------------------------------

    def bind(self, family, attributes, next_hop: bytes, source: Source,
             local_address: bytes | None = None, local_asn: int | None = None):
        """``decide(prefix_key) -> Result`` for the prefixes of one route."""
        key = (family, attributes, next_hop, source if self.reads_source else None,
               (local_address, local_asn) if self.needs_session else None)
        plan = self._plans.get(key)
        if plan is None:
            plans = self._plans
            if len(plans) >= self.cache_limit:
                for old in list(islice(plans, len(plans) // 2 + 1)):
                    del plans[old]
            plan = plans[key] = _Plan(self, Route(family, attributes, next_hop, source,
                                                  local_address, local_asn))
        return plan

    def evaluate(self, ctx: Context) -> Result:
        return self.bind(ctx.family, ctx.attributes, ctx.next_hop, ctx.source,
                         ctx.local_address, ctx.local_asn)(ctx.prefix)

    def _decide(self, rule: _Rule, route: Route) -> Result:
        if not rule.accept:
            return rule.rejected
        attributes, next_hop = route.attributes, route.next_hop
        if rule.apply is not None:
            attributes, next_hop = rule.apply(route)
            if attributes is not route.attributes:
                attributes = self._intern(attributes)
        return Result(True, attributes, next_hop, rule.reason)

    def _intern(self, attributes):
        """One object per distinct attribute set this policy produced."""
        interned = self._interned
        shared = interned.get(attributes)
        if shared is None:
            if len(interned) >= self.cache_limit:
                interned.clear()
            shared = interned[attributes] = attributes
        return shared


@dataclass(frozen=True, slots=True)
class Effective:
    """The policies a session uses, and how they were chosen."""
    import_policy: Policy
    export_policy: Policy
    import_note: str
    export_note: str


class PolicySet:
    """Every policy of a configuration, compiled once, by name; with the
    built-ins ``accept-all`` and ``reject-all``."""

    def __init__(self, policies=(), prefix_lists=(), *,
                 cache_limit: int = DEFAULT_CACHE_LIMIT):
        self.prefix_sets = {pl.name: PrefixSet.from_ranges(pl.entries) for pl in prefix_lists}
        self.policies: dict[str, Policy] = {
            "accept-all": Policy("accept-all", (), True, description="accepts every route",
                                 cache_limit=cache_limit),
            "reject-all": Policy("reject-all", (), False, description="rejects every route",
                                 cache_limit=cache_limit),
        }
        for definition in policies:
            self.policies[definition.name] = Policy.compile(definition, self.prefix_sets,
                                                            cache_limit=cache_limit)
        # What a session without a policy gets (RFC 8212 section 2): shared by
        # all such sessions, so that they share the cache too.
        self._unset = {
            (direction, ibgp): Policy(
                "none", (), ibgp, cache_limit=cache_limit,
                default_reason=_UNSET_REASON[direction, ibgp])
            for direction in (IMPORT, EXPORT) for ibgp in (True, False)}

    @classmethod
    def from_config(cls, config, **options) -> "PolicySet":
        """From a ``conf.Config`` (its ``policies`` and ``prefix_lists``)."""
        return cls(config.policies, config.prefix_lists, **options)

    def __getitem__(self, name: str) -> Policy:
        try:
            return self.policies[name]
        except KeyError:
            raise KeyError(f"no policy named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.policies

    def effective(self, peer) -> Effective:
        """The import and export policies of a session (``conf.Peer`` or
        anything with ``import_policy``, ``export_policy`` and
        ``is_ibgp``), with a note for each saying why."""
        chosen = {}
        for direction, name in ((IMPORT, peer.import_policy), (EXPORT, peer.export_policy)):
            if name is not None:
                policy = self[name]
                note = f"{direction} policy {name!r}"
                if policy.description:
                    note += f": {policy.description}"
            else:
                policy = self._unset[direction, peer.is_ibgp]
                note = _UNSET_NOTE[direction, peer.is_ibgp]
            chosen[direction] = policy, note
        return Effective(chosen[IMPORT][0], chosen[EXPORT][0], chosen[IMPORT][1],
                         chosen[EXPORT][1])


# (direction, ibgp) -> what happens without a policy, for show and for Result.reason
_UNSET_NOTE = {
    (IMPORT, False): "no import policy: RFC 8212 rejects every route from this eBGP peer",
    (EXPORT, False): "no export policy: RFC 8212 sends no route to this eBGP peer",
    (IMPORT, True): "no import policy: every route from this iBGP peer is accepted",
    (EXPORT, True): "no export policy: every route is sent to this iBGP peer",
}
_UNSET_REASON = {
    (IMPORT, False): "no import policy (RFC 8212: eBGP imports nothing)",
    (EXPORT, False): "no export policy (RFC 8212: eBGP exports nothing)",
    (IMPORT, True): "no import policy (iBGP accepts everything)",
    (EXPORT, True): "no export policy (iBGP sends everything)",
}
