"""The changes a policy rule makes to a route, one table row per kind.

A rule's ``set`` (``conf.model.Changes``, or anything with the same
attributes) holds one value per change, None for the ones not made.
``compile_changes`` picks the rows of ``CHANGES`` whose field is set, in
the table's order, and returns ``apply(route) -> (attributes, next_hop)``.

Each step reads the value as the steps before it left it and records the
new one; at the end, the fields that really differ from the route's are
written with one ``Attributes.replace()``.  A change that changes nothing
(LOCAL_PREF set to the value it has, a community added that is there
already) gives back the very same attribute object.

Order within one rule: ORIGIN, LOCAL_PREF, MED, AS_PATH prepending, then
per kind of community replace, remove, add (RFC 1997 standard, RFC 4360
extended, RFC 8092 large), then the next hop.  Added communities go after
the ones kept, in the order written, without duplicates.

The next hop lives outside the attribute set (MP_REACH_NLRI carries it for
every family but IPv4 unicast, RFC 4760), so it is returned on its own.
When the attribute set's NEXT_HOP is that same next hop (an IPv4 route) and
the new one is an IPv4 address, NEXT_HOP is rewritten too, so that the two
never disagree.
"""

from __future__ import annotations

from typing import Callable

from wire.aspath import prepend as prepend_path

from .policy_match import address, community_matcher, large_community_matcher


class PolicyError(ValueError):
    """A change needs something the caller did not give (the session's
    local address for ``next_hop = 'self'``, its AS for a prepend)."""


class _Edit:
    """The route being changed: the fields changed so far and the next hop."""

    __slots__ = ("route", "fields", "next_hop")

    def __init__(self, route):
        self.route = route
        self.fields: dict = {}
        self.next_hop = route.next_hop

    def get(self, field: str):
        if field in self.fields:
            return self.fields[field]
        return getattr(self.route.attributes, field)


# -- rows: compile(value) -> step(edit) ---------------------------------------------

def _assign(field):
    def compile_(value):
        def step(edit):
            edit.fields[field] = value
        return step
    return compile_


def _prepend(value):
    asn, count = value

    def step(edit):
        who = asn if asn is not None else edit.route.local_asn
        if who is None:
            raise PolicyError("prepend without an asn needs the session's local AS "
                              "(the context's local_asn)")
        edit.fields["as_path"] = prepend_path(edit.get("as_path") or (), who, count)
    return step


def _replace(field):
    def compile_(values):
        values = tuple(dict.fromkeys(values))

        def step(edit):
            edit.fields[field] = values
        return step
    return compile_


def _remove(field, make):
    def compile_(patterns):
        one = make(patterns)

        def step(edit):
            edit.fields[field] = tuple(c for c in edit.get(field) if not one(c))
        return step
    return compile_


def _add(field):
    def compile_(values):
        values = tuple(dict.fromkeys(values))

        def step(edit):
            current = edit.get(field)
            have = set(current)
            edit.fields[field] = current + tuple(c for c in values if c not in have)
        return step
    return compile_


def _exact(values):
    return frozenset(values).__contains__


def _next_hop(value):
    if value == "self":
        def step(edit):
            local = edit.route.local_address
            if local is None:
                raise PolicyError("next_hop = 'self' needs the session's local address "
                                  "(the context's local_address)")
            edit.next_hop = local
        return step
    packed = address(value).packed

    def step(edit):
        edit.next_hop = packed
    return step


# field -> compile, in the order the changes are made
CHANGES: dict[str, Callable] = {
    "origin": _assign("origin"),
    "local_pref": _assign("local_pref"),
    "med": _assign("med"),
    "prepend": _prepend,
    "communities": _replace("communities"),
    "remove_communities": _remove("communities", community_matcher),
    "add_communities": _add("communities"),
    "extended_communities": _replace("ext_communities"),
    "remove_extended_communities": _remove("ext_communities", _exact),
    "add_extended_communities": _add("ext_communities"),
    "large_communities": _replace("large_communities"),
    "remove_large_communities": _remove("large_communities", large_community_matcher),
    "add_large_communities": _add("large_communities"),
    "next_hop": _next_hop,
}


class CompiledChanges:
    """``apply(route) -> (attributes, next_hop)``.  ``needs_session``: the
    changes read the session's local address or AS, so routes that differ
    only in those can come out different."""

    __slots__ = ("steps", "needs_session")

    def __init__(self, steps, needs_session: bool):
        self.steps = steps
        self.needs_session = needs_session

    def __call__(self, route):
        edit = _Edit(route)
        for step in self.steps:
            step(edit)
        attrs = route.attributes
        changed = {f: value for f, value in edit.fields.items()
                   if getattr(attrs, f) != value}
        if (edit.next_hop != route.next_hop and len(edit.next_hop) == 4
                and attrs.next_hop is not None and attrs.next_hop == route.next_hop):
            changed["next_hop"] = edit.next_hop
        return (attrs.replace(**changed) if changed else attrs), edit.next_hop


def compile_changes(changes) -> CompiledChanges | None:
    """The changes of a rule, or None when ``changes`` (a
    ``conf.model.Changes`` or None) changes nothing."""
    if changes is None:
        return None
    values = {name: value for name in CHANGES
              if (value := getattr(changes, name)) is not None}
    if not values:
        return None
    needs_session = (values.get("next_hop") == "self"
                     or values.get("prepend", (0,))[0] is None)
    return CompiledChanges(tuple(CHANGES[name](value) for name, value in values.items()),
                           needs_session)
