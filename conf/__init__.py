"""conf: the daemon's configuration, from a TOML file to frozen objects.

How it works
------------
``load(path)`` / ``loads(text)`` read TOML with ``tomllib``, check every
key against the schema (``conf.schema``: one ``Field`` row per key, with
its parser from ``conf.values`` and its default), resolve what peers
inherit from ``[defaults]``, apply the cross-field rules (``conf.load``) and
return a ``Config`` of frozen, slotted dataclasses (``conf.model``).  Every
problem in the file is collected in one pass and raised together as one
``ConfigError``; each ``Problem`` names the key path and the rule broken::

    peers[2].asn: 70000000000 is not a 4-octet AS number
    peers[0]: unknown key 'pasword' (did you mean 'password'?)

The file has top-level settings (``router_id``, ``asn``, ``listen``, ...),
``[defaults]`` for session options, ``[[peers]]``, ``[[dynamic_neighbors]]``
(sessions accepted from a prefix), ``[mesh]`` (Calico's node-to-node
mesh: one iBGP peer ``Mesh_<address>`` per other node, the side with the
greater address as text passive), ``[[originate]]`` (prefixes this
speaker announces), ``cluster_id`` (RFC 4456), and routing policy:
``[prefix_lists]``, ``[[policies]]`` with their rules (``conf.policy``),
named by each session's ``import`` and ``export`` keys.  ``python3 -m
conf`` prints every key with its default;
``conf/examples/minimal.toml`` and ``policy.toml`` are commented examples.

``conf`` does no I/O beyond reading the file and never imports trio or
sockets; it uses ``wire`` for address family numbers, capability codes and
community syntax.

RFCs: 4271 (timers, BGP Identifier), 6286 (non-zero identifier), 6793
(4-octet AS, AS_TRANS), 7607 (AS 0), 5082 (GTSM), 2385 (TCP MD5), 4724
(graceful restart), 4456 (route reflection), 4760 (address families),
7911 (add-path), 1997, 4360 and 8092 (communities), 8212 (eBGP sessions
without policies).
"""

from .errors import ConfigError, Problem
from .load import from_document, load, loads
from .model import (Changes, Config, DynamicNeighbor, Match, Originate, Peer, Policy,
                    PrefixList, PrefixRange, Rule, Session)

__all__ = ["Changes", "Config", "ConfigError", "DynamicNeighbor", "Match", "Originate", "Peer",
           "Policy", "PrefixList", "PrefixRange", "Problem", "Rule", "Session",
           "from_document", "load", "loads"]
