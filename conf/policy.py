"""Routing policy in the configuration: ``[[policies]]``, ``[prefix_lists]``
and the sessions' ``import`` / ``export`` keys.

A policy is a table with nested tables, each read against its own schema
rows (``conf.schema``: ``POLICY``, ``RULE``, ``MATCH``, ``SET``) by the same
``read_table`` as the rest of the file, so that every problem carries its
full key path (``policies[1].rules[0].match.prefix[2]``)::

    [[policies]]
    name = "from-router"
    default = "reject"

    [[policies.rules]]
    match.prefix_list = "pod-blocks"
    set.local_pref = 200
    action = "accept"

Reading happens in three steps, like the loader's: ``read`` parses every
table into drafts (values or ``INVALID``); ``check`` applies the rules that
look across tables (unique names, references to prefix lists, peers and
policies that exist, rules that can never be reached or change nothing);
``build`` turns clean drafts into the frozen ``conf.model.Policy`` objects,
with peer names resolved to the addresses (or, for a dynamic neighbor, the
prefix) they stand for.  ``rib.policy`` compiles those objects; it never
sees the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import values as v
from .errors import Problem, join
from .model import Changes, Match, Policy, Rule
from .schema import BUILTIN_POLICIES, INVALID, MATCH, POLICY, RULE, SET, attributes, read_table

# The nested tables (conf.schema.NESTED documents them).
_RULES_KEY, _MATCH_KEY, _NOT_KEY, _SET_KEY = "rules", "match", "not", "set"

# The set keys that replace a whole list, and the keys that edit that list.
_REPLACES = {
    "communities": ("add_communities", "remove_communities"),
    "extended_communities": ("add_extended_communities", "remove_extended_communities"),
    "large_communities": ("add_large_communities", "remove_large_communities"),
}


@dataclass
class MatchDraft:
    path: str
    given: dict
    raw: dict
    negated: "MatchDraft | None" = None

    @property
    def is_empty(self) -> bool:
        return not self.raw


@dataclass
class RuleDraft:
    path: str
    given: dict
    match: MatchDraft
    changes: dict
    changes_path: str


@dataclass
class PolicyDraft:
    path: str
    given: dict
    rules: list = field(default_factory=list)


# -- reading ----------------------------------------------------------------------

def _table(raw: Any, path: str, how: str, problems: list[Problem]) -> dict:
    """A nested table, or {} after reporting that it is not one."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    problems.append(Problem(path, f"{v.show(raw)} is not a table: write {how}"))
    return {}


def _read_match(raw: Any, path: str, problems: list[Problem]) -> MatchDraft:
    raw = _table(raw, path, f"{path.rsplit('.', 1)[-1]}.KEY = ... or "
                            f"{path.rsplit('.', 1)[-1]} = {{ KEY = ... }}", problems)
    given = read_table(raw, MATCH, path, problems, also_known=(_NOT_KEY,))
    draft = MatchDraft(path, given, raw)
    if _NOT_KEY in raw:
        draft.negated = _read_match(raw[_NOT_KEY], join(path, _NOT_KEY), problems)
    return draft


def _read_rule(raw: dict, path: str, problems: list[Problem]) -> RuleDraft:
    given = read_table(raw, RULE, path, problems, also_known=(_MATCH_KEY, _SET_KEY))
    match = _read_match(raw.get(_MATCH_KEY), join(path, _MATCH_KEY), problems)
    set_path = join(path, _SET_KEY)
    changes = read_table(_table(raw.get(_SET_KEY), set_path,
                                "set.KEY = ... or set = { KEY = ... }", problems),
                         SET, set_path, problems)
    return RuleDraft(path, given, match, changes, set_path)


def read(tables: list[tuple[str, dict]], problems: list[Problem]) -> list[PolicyDraft]:
    """Parse the ``[[policies]]`` tables (as ``(path, raw)`` pairs)."""
    drafts = []
    for path, raw in tables:
        draft = PolicyDraft(path, read_table(raw, POLICY, path, problems,
                                             also_known=(_RULES_KEY,)))
        rules_path = join(path, _RULES_KEY)
        rules = raw.get(_RULES_KEY, [])
        if not isinstance(rules, list):
            problems.append(Problem(rules_path, "must be an array of tables: write "
                                                "[[policies.rules]] below the policy"))
            rules = []
        for j, rule in enumerate(rules):
            rule_path = f"{rules_path}[{j}]"
            if isinstance(rule, dict):
                draft.rules.append(_read_rule(rule, rule_path, problems))
            else:
                problems.append(Problem(rule_path, f"{v.show(rule)} is not a table"))
        drafts.append(draft)
    return drafts


# -- rules across tables ------------------------------------------------------------

def _each_item(raw: Any, values: tuple, path: str):
    """(path, value) of each item of a one-or-list key: ``key`` for a single
    value, ``key[i]`` for list items."""
    if isinstance(raw, list):
        return [(f"{path}[{i}]", item) for i, item in enumerate(values)]
    return [(path, item) for item in values]


def _unknown(kind: str, name: str, known) -> str:
    return f"no {kind} named {name!r}{v.did_you_mean(name, known)}"


def _check_match(m: MatchDraft, list_names, peer_names, problems: list[Problem]) -> None:
    lists = m.given.get("prefix_list")
    if lists not in (None, INVALID) and list_names is not None:
        for at, name in _each_item(m.raw["prefix_list"], lists, join(m.path, "prefix_list")):
            if name not in list_names:
                problems.append(Problem(at, _unknown("prefix list", name, list_names)))
    peers = m.given.get("peer")
    if peers not in (None, INVALID):
        for at, ref in _each_item(m.raw["peer"], peers, join(m.path, "peer")):
            if isinstance(ref, str) and ref not in peer_names:
                problems.append(Problem(at, _unknown("peer or dynamic neighbor", ref,
                                                     peer_names)))
    if m.negated is not None:
        _check_match(m.negated, list_names, peer_names, problems)


def _check_rule(r: RuleDraft, list_names, peer_names, problems: list[Problem]) -> None:
    _check_match(r.match, list_names, peer_names, problems)
    if r.given.get("action") == "reject" and r.changes:
        problems.append(Problem(r.changes_path, "changes nothing: the rule's action is "
                                                "'reject'"))
    for whole, edits in _REPLACES.items():
        if whole in r.changes:
            for key in edits:
                if key in r.changes:
                    problems.append(Problem(
                        join(r.changes_path, key),
                        f"cannot be combined with {whole}, which replaces the whole "
                        f"list; write the list you want in {whole}"))


def check(drafts: list[PolicyDraft], prefix_lists, sessions, peer_names: dict,
          problems: list[Problem]) -> None:
    """The rules that look across tables.

    ``prefix_lists`` is the parsed ``[prefix_lists]`` (or INVALID),
    ``sessions`` the ``(path, values, inherited)`` of ``[defaults]`` and of
    each peer and dynamic neighbor, ``peer_names`` the names a match may
    use for a peer."""
    list_names = (None if prefix_lists is INVALID
                  else {pl.name for pl in prefix_lists})
    policy_names: dict[str, str] = {}
    all_named = True                # else a reference may be to the misnamed one
    for d in drafts:
        name = d.given.get("name")
        if name in (None, INVALID):
            all_named = False
            continue
        if name in BUILTIN_POLICIES:
            problems.append(Problem(join(d.path, "name"),
                                    f"{name!r} is built in ({BUILTIN_POLICIES[name]}); "
                                    "choose another name"))
        elif name in policy_names:
            problems.append(Problem(join(d.path, "name"),
                                    f"{name!r} is also the name of {policy_names[name]}"))
        else:
            policy_names[name] = d.path
        catch_all = None
        for r in d.rules:
            if catch_all is not None:
                problems.append(Problem(r.path, f"is never reached: {catch_all} has no "
                                                "match and takes every route"))
                break
            _check_rule(r, list_names, peer_names, problems)
            if r.match.is_empty:
                catch_all = r.path.rsplit(".", 1)[-1]
    known = {*policy_names, *BUILTIN_POLICIES}
    for path, values, inherited in sessions if all_named else ():
        for key in ("import", "export"):
            name = values.get(key)
            if name in (None, INVALID) or key in inherited or name in known:
                continue
            problems.append(Problem(join(path, key), _unknown("policy", name, known)))


# -- building -----------------------------------------------------------------------

def _match(m: MatchDraft, peer_names: dict) -> Match:
    given = dict(m.given)
    if given.get("peer") is not None:
        given["peer"] = tuple(peer_names[ref] if isinstance(ref, str) else ref
                              for ref in given["peer"])
    values = {f.name: given.get(f.name, f.default) for f in MATCH}
    negated = None if m.negated is None else _match(m.negated, peer_names)
    return Match(**attributes(values, MATCH), negated=negated)


def _rule(r: RuleDraft, peer_names: dict) -> Rule:
    changes = {f.name: r.changes.get(f.name, f.default) for f in SET}
    return Rule(description=r.given.get("description", ""),
                match=_match(r.match, peer_names),
                set=Changes(**attributes(changes, SET)),
                action=r.given["action"])


def build(drafts: list[PolicyDraft], peer_names: dict) -> tuple:
    """The checked drafts as ``conf.model.Policy`` objects, in file order."""
    out = []
    for d in drafts:
        values = {f.name: d.given.get(f.name, f.default) for f in POLICY}
        out.append(Policy(**attributes(values, POLICY),
                          rules=tuple(_rule(r, peer_names) for r in d.rules)))
    return tuple(out)
