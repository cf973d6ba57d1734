"""From a Loc-RIB path to what one update group sends: rules, policy, changes.

``Pipeline.entry(path, key, gen)`` runs, for one group:

1. the fixed protocol rules (``rules.refuse``) -- per path, since they read
   only the source, the attributes and the group;
2. the export policy (``rib.policy.Policy.bind``, then the plan on the
   prefix) -- RFC 8212 defaults when the sessions name none: an iBGP group
   sends everything, an eBGP group nothing;
3. the attribute changes of the protocol (``transform.outbound``) and the
   encoding for the group's ASN width, ``Attributes.wire(four_octet)``;

and returns the group's Adj-RIB-Out ``Entry`` for the prefix, or None.

Everything but the policy's prefix test is the same for all the prefixes
that share a ``Path`` (one source, attribute set and next hop), so it is
done once per path and kept in a bounded cache keyed by the path object.
The changes are kept per policy ``Result`` (the policy hands out the very
same object for the same route and rule), so most prefixes cost one dict
lookup and one call of the policy's plan.  A policy without rules (the
RFC 8212 defaults, ``accept-all``) is not called at all.

An ``Entry`` is shared by every prefix of the same batch (generation) that
ends up with the same attribute block, next hop and source: the
Adj-RIB-Out costs one dictionary slot per prefix.
"""

from __future__ import annotations

from rib.policy import PolicyError, Source
from rib.source import LocalKind

from .adjout import Entry
from .rewrite import block
from .rules import Target, refuse
from .transform import changes

DEFAULT_CACHE_LIMIT = 65_536        # paths remembered per group

# What export policies call the kinds of our own routes (``match.source``).
POLICY_SOURCE_KIND = {
    LocalKind.STATIC: "static",
    LocalKind.LOCAL_BLOCK: "local-block",
    LocalKind.SERVICE: "static",
    LocalKind.KERNEL: "kernel",
}


def policy_source(source) -> Source:
    """The ``rib.policy.Source`` of a route's source."""
    if source.local:
        return Source(POLICY_SOURCE_KIND[source.kind], source.name)
    return Source.peer(source.name, source.address, source.asn, source.ibgp)


class _PathOut:
    """What one group does with one path: refused by a rule, or the
    policy's plan and the entries made for each of its results."""

    __slots__ = ("refused", "plan", "result", "entry", "outs")

    def __init__(self, refused, plan):
        self.refused = refused      # reason string, or None
        self.plan = plan            # key -> Result; None: the policy accepts it unchanged
        self.result = None          # the last Result and ...
        self.entry = None           # ... the Entry made for it (or None: not sent)
        self.outs = None            # other Results -> (block, next hop) or None


class Pipeline:
    """The export of one update group (one ``Target``, one export policy,
    one ASN width)."""

    def __init__(self, target: Target, policy, four_octet: bool, sources: dict,
                 cache_limit: int = DEFAULT_CACHE_LIMIT):
        self.target = target
        self.four_octet = four_octet
        self.cache_limit = cache_limit
        self._sources = sources             # source object -> policy Source (shared)
        self.paths: dict = {}               # Path -> _PathOut, bounded
        # A policy that decides the same for every route (its default alone)
        # is not called: ``refusal`` says what it decides (None: accept).
        self.policy = None
        self.refusal = None
        if policy is None:
            # RFC 8212 section 2: without a policy, eBGP sends nothing.
            if target.ebgp:
                self.refusal = "no export policy (RFC 8212: eBGP exports nothing)"
        elif len(policy.rules) == 1:
            if not policy.default_accept:
                self.refusal = policy.rules[0].reason
        else:
            self.policy = policy

    def entry(self, family, path, key, gen: int):
        """The Adj-RIB-Out entry for ``key`` (of ``family``) whose best path
        is ``path``, or None when the group does not get the route."""
        rec = self.paths.get(path)
        if rec is None:
            rec = self._path(family, path)
        if rec.refused is not None:
            return None
        plan = rec.plan
        if plan is None:
            result = True
        else:
            try:
                result = plan(key)
            except PolicyError:
                return None
        if result is rec.result:
            e = rec.entry
            if e is None or e[3] == gen:
                return e
            e = rec.entry = Entry(e[0], e[1], e[2], gen)
            return e
        out = self._out(family, path, rec, result)
        e = None if out is None else Entry(out[0], out[1], path.source.name, gen)
        rec.result = result
        rec.entry = e
        return e

    def why(self, family, path, key) -> str | None:
        """Why the group does not get this route (None: it does)."""
        rec = self.paths.get(path) or self._path(family, path)
        if rec.refused is not None:
            return rec.refused
        result = True
        if rec.plan is not None:
            try:
                result = rec.plan(key)
            except PolicyError as e:
                return str(e)
            if not result.accepted:
                return result.reason
        if self._out(family, path, rec, result) is None:
            return "no address of ours in this address family for the next hop"
        return None

    # -- per path ------------------------------------------------------------------

    def _path(self, family, path) -> _PathOut:
        source = path.source
        refused = refuse(source, path.attrs, self.target)
        plan = None
        if refused is None:
            if self.refusal is not None:
                refused = self.refusal
            elif self.policy is not None:
                src = self._sources.get(source)
                if src is None:
                    if len(self._sources) >= self.cache_limit:
                        self._sources.clear()       # sources of sessions long gone
                    src = self._sources[source] = policy_source(source)
                plan = self.policy.bind(family, path.attrs, self._policy_next_hop(path, family),
                                        src, self.target.self_next_hop(family),
                                        self.target.local_asn)
        rec = _PathOut(refused, plan)
        paths = self.paths
        if len(paths) >= self.cache_limit:
            paths.clear()
        paths[path] = rec
        return rec

    def _policy_next_hop(self, path, family) -> bytes:
        """The next hop the policy sees: the route's, or ours for a route we
        originate without one."""
        return path.next_hop or self.target.self_next_hop(family) or b""

    def _out(self, family, path, rec, result):
        """(attribute block, MP next hop) for a policy result, or None."""
        if result is True:
            return self._transform(family, path, path.attrs, path.next_hop, False, False)
        if not result.accepted:
            return None
        outs = rec.outs
        if outs is None:
            outs = rec.outs = {}
        elif result in outs:
            return outs[result]
        attrs = result.attributes
        given_nh = self._policy_next_hop(path, family)
        nh_set = result.next_hop is not given_nh and result.next_hop != given_nh
        med_set = attrs.med is not None and attrs.med != path.attrs.med
        nh = result.next_hop if nh_set else path.next_hop
        out = outs[result] = self._transform(family, path, attrs, nh, med_set, nh_set)
        return out

    def _transform(self, family, path, attrs, nh, med_set, nh_set):
        res = changes(attrs, nh, path.source, family, self.target,
                      med_set=med_set, next_hop_set=nh_set)
        if res.__class__ is str:
            return None
        edits, mp_nh = res
        return block(attrs, edits, self.four_octet), mp_nh
