"""A control socket that speaks BIRD's CLI protocol, for ``birdc``/``birdcl``
(BIRD 1.6 and 2) and calico-node's health checks.

How it works
------------
BIRD's protocol (``nest/cli.c``) is line based.  On connect the server
says ``0001 BIRD <version> ready.``; then each request is one line and each
reply a run of lines ``DDDD-text`` (more follows) ending in one line
``DDDD text`` (a space after the code: the reply is complete).  A line that
continues the code of the line before it starts with a single space instead
of the code.  Codes 0xxx report success (``0000`` is a plain end, ``0013``
ends ``show status``, ``0014`` ends ``show route count``), 1xxx are table
rows (``1002`` a protocol, ``1006`` protocol details, ``1007`` a route),
2xxx table headers, 8xxx run-time errors and 9xxx syntax errors.  The
clients print each line without its code and stop reading at the first
line whose fifth character is a space; calico-node reads the codes
themselves (``node/pkg/health/bird``) and refuses any code it does not
expect, so a reply carries exactly the codes BIRD would send.
``Reply`` builds the prefixes the way ``cli_printf`` does.

The daemon's command handlers (``Daemon.cmd_show_*``) give plain data;
this module only lays it out.  A *flavour* picks which BIRD the output
imitates (``FLAVOURS``): ``bird1`` is BIRD 1.6 (calico-bird, one ``master``
table, ``(100/0) [i]`` route info, times to the second); ``bird2`` is BIRD 2
(``master4``/``master6`` tables, the next hop on its own line, times to
the millisecond, channels in ``show protocols all``).  A socket may also be
limited to one address family (``family=4`` or ``6``), as calico runs
``bird`` and ``bird6`` behind two sockets: it then shows only the sessions
whose neighbor address and the routes whose prefix are of that family.

Commands (what ``birdc`` sends after expanding abbreviations)::

    show status
    show protocols [all] [NAME | "PATTERN"]
    show route [PREFIX | for ADDRESS] [protocol NAME] [table T] [primary] [all] [count]
    enable | disable | restart  NAME | "PATTERN" | all  ["MESSAGE"]
    restrict                      (read-only from then on, as ``birdc -r``)
    quit | exit                   (closes the connection)

``show route`` lists the selected route of each prefix (and every path of
an ECMP prefix); with ``PREFIX`` or ``for ADDRESS`` it lists every
candidate of that prefix, the selected one marked ``*``.  The ``via ...
on IFACE`` interface is the connected route of the kernel's table that
holds the next hop (``/proc/net/route``, ``/proc/net/ipv6_route``), ``lo``
for loopback next hops.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Callable

import trio

from wire.communities import parse_community
from wire.constants import family_name

from .control import CommandError, unix_listener

MAX_LINE = 4096                 # BIRD's CLI_RX_BUF_SIZE: longer requests get 9000
SEND_CHUNK = 64 * 1024          # reply bytes per send: a big table shares the loop
RECENT = 20 * 3600              # BIRD shows a time of day for times younger than this


# ---------------------------------------------------------------------------
# Flavours: what differs between BIRD 1.6 and BIRD 2 output

@dataclass(frozen=True)
class Flavour:
    name: str
    version: str
    protocols_header: str
    protocol_row: str                   # % (name, proto, table, state, since, info)
    status_time: str                    # strftime, then the milliseconds rule below
    recent_time: str
    millis: bool                        # times carry .mmm (BIRD 2)
    prefix_width: int
    not_found: str                      # 8001 text
    # Tables by IP version ("master" for both in BIRD 1.6).
    tables: dict
    bgp_table: str                      # the Table column of a BGP protocol
    # What a name that is no protocol gets: (code, text or None for "NAME is
    # not a protocol"), per command.
    unknown_name: dict
    syntax_prefix: str                  # "syntax error" plus, in BIRD 2, the token


_BIRD2_UNDEF = "syntax error, unexpected CF_SYM_UNDEFINED"

FLAVOURS = {
    "bird1": Flavour(
        name="bird1", version="1.6.8",
        protocols_header="name     proto    table    state  since       info",
        protocol_row="%-8s %-8s %-8s %-5s  %-10s  %s",
        status_time="%Y-%m-%d %H:%M:%S", recent_time="%H:%M:%S", millis=False,
        prefix_width=18, not_found="Network not in table",
        tables={4: "master", 6: "master"}, bgp_table="master",
        unknown_name={"show protocols": (9002, None), "show protocols all": (9002, None),
                      "show route protocol": (9001, None), "control": (9002, None)},
        syntax_prefix="syntax error"),
    "bird2": Flavour(
        name="bird2", version="2.0.12",
        protocols_header="Name       Proto      Table      State  Since         Info",
        protocol_row="%-10s %-10s %-10s %-5s  %-12s  %s",
        status_time="%Y-%m-%d %H:%M:%S", recent_time="%H:%M:%S", millis=True,
        prefix_width=20, not_found="Network not found",
        tables={4: "master4", 6: "master6"}, bgp_table="---",
        unknown_name={
            "show protocols": (9001, _BIRD2_UNDEF + ", expecting END or CF_SYM_KNOWN or TEXT "
                                                    "or ALL"),
            "show protocols all": (9001, _BIRD2_UNDEF + ", expecting END or CF_SYM_KNOWN or "
                                                        "TEXT"),
            "show route protocol": (9001, _BIRD2_UNDEF + ", expecting CF_SYM_KNOWN"),
            "control": (9001, _BIRD2_UNDEF + ", expecting CF_SYM_KNOWN or TEXT or ALL")},
        syntax_prefix="syntax error, unexpected"),
}

# BGP state names as BIRD prints them (``bgp_state_names``).
BGP_STATES = {"Idle": "Idle", "Connect": "Connect", "Active": "Active",
              "Opensent": "OpenSent", "Openconfirm": "OpenConfirm",
              "Established": "Established", "Disabled": "Down"}
ORIGINS = {"i": "IGP", "e": "EGP", "?": "Incomplete"}
# Preference BIRD gives the routes of a protocol: BGP, and our local routes
# (by their kind, the protocol name ``show route`` gives them) as static or
# kernel routes.
BGP_PREFERENCE = 100
LOCAL_PREFERENCE = {"static": 200, "local-block": 200, "service": 200, "kernel": 10}
# (code of the line, "already" code, verb): BIRD's replies to the control commands.
# Candidates ``show route`` lists: of a prefix asked about, and of an ECMP prefix.
ALTERNATIVES = ("best", "multipath", "not selected")
SELECTED = ("best", "multipath")
CONTROL = {
    "enable": (11, 10, "enabled"),
    "disable": (9, 8, "disabled"),
    "restart": (12, 8, "restarted"),
}


class CliError(Exception):
    """A one-line final reply: 8xxx (run-time) or 9xxx (syntax)."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


class Close(Exception):
    """``quit``: the client is done."""


# ---------------------------------------------------------------------------
# Reply lines

class Reply:
    """Lines of one reply, prefixed as ``cli_printf`` does: the code and '-'
    when the code changes, one space when it continues, the code and a
    space on the last line.  ``take`` hands over the lines so far."""

    def __init__(self):
        self._lines: list[str] = []
        self._last: int | None = None
        self._sent = False
        self.size = 0

    def line(self, code: int, text: str) -> None:
        line = (" " if code == self._last else f"{code:04d}-") + text + "\n"
        self._lines.append(line)
        self.size += len(line)
        self._last = code

    def end(self, code: int = 0, text: str = "") -> None:
        self._lines.append(f"{code:04d} {text}\n")
        self._last = None

    @property
    def empty(self) -> bool:
        return not self._lines and not self._sent

    def discard(self) -> None:
        """Forget the lines not handed over yet (an error ends the reply)."""
        self._lines.clear()
        self.size = 0

    def take(self) -> bytes:
        data = "".join(self._lines).encode("utf-8", "replace")
        self._sent = self._sent or bool(self._lines)
        self.discard()
        return data


# ---------------------------------------------------------------------------
# Requests

def tokenize(line: str) -> list[tuple[str, str]]:
    """Words and double-quoted strings: [("word", "show"), ("text", "Mesh*")]."""
    out = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j = line.find('"', i + 1)
            if j < 0:
                raise CliError(9001, "syntax error")
            out.append(("text", line[i + 1:j]))
            i = j + 1
        else:
            j = i
            while j < n and not line[j].isspace() and line[j] != '"':
                j += 1
            out.append(("word", line[i:j]))
            i = j
    return out


class Cli:
    """One client's conversation with the daemon."""

    def __init__(self, daemon, flavour: Flavour, family: int | None = None,
                 interfaces: Callable | None = None):
        self.daemon = daemon
        self.flavour = flavour
        self.family = family
        self.restricted = False
        self._interfaces = interfaces or connected_routes

    def greeting(self) -> bytes:
        return f"0001 BIRD {self.flavour.version} ready.\n".encode()

    def execute(self, line: str) -> bytes:
        """The whole reply to one request line."""
        return b"".join(self.replies(line))

    def replies(self, line: str):
        """The reply to one request line, in chunks: a long listing (a
        handler that is a generator) hands over its lines every so often,
        so that the server sends them while other tasks get their turn."""
        reply = Reply()
        try:
            tokens = tokenize(line)
            handler, rest = self._lookup(tokens)
            for _ in handler(self, rest, reply) or ():
                if reply.size >= SEND_CHUNK:
                    yield reply.take()
        except CliError as e:
            reply.discard()
            reply.end(e.code, e.text)
        except CommandError as e:
            reply.discard()
            reply.end(8002, str(e).replace("\n", " "))
        yield reply.take()

    # -- dispatch ------------------------------------------------------------
    def _lookup(self, tokens):
        words = [v if k == "word" else None for k, v in tokens]
        for n in range(min(len(words), 3), 0, -1):
            handler = COMMANDS.get(tuple(words[:n]))
            if handler is not None:
                return handler, tokens[n:]
        # Words that begin a command and stop short ("show") ran into the end.
        if any(key[:len(words)] == tuple(words) for key in COMMANDS):
            raise self.syntax([])
        raise self.syntax(tokens)

    def syntax(self, unexpected) -> CliError:
        """BIRD's syntax error; BIRD 2 names the token it stumbled on."""
        if self.flavour.name == "bird1":
            return CliError(9001, "syntax error")
        what = "END" if not unexpected else "CF_SYM_UNDEFINED"
        return CliError(9001, f"{self.flavour.syntax_prefix} {what}")

    # -- protocols -------------------------------------------------------------
    def _peers(self) -> list[dict]:
        rows = self.daemon.cmd_show_protocols([])
        if self.family is not None:
            rows = [r for r in rows if _version(r["address"]) == self.family]
        return rows

    def _select(self, tokens, command: str, rows: list[dict]) -> list[dict]:
        """The protocols a NAME, "PATTERN" or nothing designates."""
        if not tokens:
            return rows
        (kind, value), rest = tokens[0], tokens[1:]
        if rest:
            raise self.syntax(rest)
        if kind == "text":
            chosen = [r for r in rows if fnmatch.fnmatchcase(r["name"], value)]
            if not chosen:
                raise CliError(8003, "No protocols match")
            return chosen
        chosen = [r for r in rows if r["name"] == value]
        if not chosen:
            code, text = self.flavour.unknown_name[command]
            raise CliError(code, text or f"{value} is not a protocol")
        return chosen

    def show_protocols(self, tokens, reply: Reply, detail: bool = False) -> None:
        command = "show protocols all" if detail else "show protocols"
        chosen = self._select(tokens, command, self._peers())
        reply.line(2002, self.flavour.protocols_header)
        details = {}
        if detail:
            named = [chosen[0]["name"]] if len(chosen) == 1 else []
            details = {d["name"]: d for d in self.daemon.cmd_show_protocols_all(named)}
        for row in chosen:
            reply.line(1002, self.protocol_line(row))
            if detail and row["name"] in details:
                lines = (self._details_bird1 if self.flavour.name == "bird1"
                         else self._details_bird2)(details[row["name"]])
                for text in lines:
                    reply.line(1006, text)
                reply.line(1006, "")
        reply.end()

    def protocol_line(self, row: dict) -> str:
        f = self.flavour
        table = f.bgp_table if row.get("proto", "BGP") == "BGP" else row.get("table", "master")
        return f.protocol_row % (row["name"], row.get("proto", "BGP"), table,
                                 row["state_short"], self.when(row.get("since")),
                                 self.protocol_info(row))

    def protocol_info(self, row: dict) -> str:
        """BIRD's info column: the BGP state in 14 columns, then the last error."""
        if row["state_short"] == "down":
            return ""
        state = self.bgp_state(row)
        return f"{state:<14}{_last_error(row)}"

    def bgp_state(self, row: dict) -> str:
        if row["state_short"] == "down":
            return "Down"
        state = BGP_STATES.get(row["state"], row["state"])
        task = self.daemon.peers.get(row["name"])
        if state in ("Idle", "Active") and task is not None and task.peer.passive:
            return "Passive"
        return state

    def _peer_config(self, name: str):
        task = self.daemon.peers.get(name)
        return task.peer if task is not None else None

    def _common(self, row: dict) -> tuple[dict, list[str]]:
        d = row.get("detail", {})
        lines = []
        if d.get("description"):
            lines.append(f"  Description:    {d['description']}")
        return d, lines

    def _details_bird1(self, row: dict) -> list[str]:
        d, lines = self._common(row)
        up = row["state_short"] != "down"
        imp, exp = _filters(d)
        lines += ["  Preference:     100", f"  Input filter:   {imp}",
                  f"  Output filter:  {exp}"]
        if up:
            lines.append("  Routes:         " + self._route_counts(d.get("routes", {})))
        lines.append(f"  BGP state:          {self.bgp_state(row)}")
        lines += [f"    Neighbor address: {d.get('neighbor_address', row['address'])}",
                  f"    Neighbor AS:      {d.get('neighbor_as', row['asn'])}"]
        neg = d.get("negotiated")
        if row["state"] == "Established" and neg:
            lines.append(f"    Neighbor ID:      {neg.get('peer_id')}")
            lines.append(f"    Neighbor caps:    {_caps_bird1(neg)}")
            lines.append(f"    Session:          {self._session(row, neg)}")
            if d.get("source_address"):
                lines.append(f"    Source address:   {d['source_address']}")
            hold = _timer(d, "hold")
            if hold is not None:
                lines.append(f"    Hold timer:       {int(hold)}/{neg.get('hold_time')}")
            keep = _timer(d, "keepalive")
            if keep is not None:
                lines.append(f"    Keepalive timer:  {int(keep)}/{neg.get('keepalive_time')}")
        elif up and d.get("last_error", "-") != "-":
            lines.append(f"    Last error:       {d['last_error']}")
        return lines

    def _details_bird2(self, row: dict) -> list[str]:
        d, lines = self._common(row)
        lines.append(f"  BGP state:          {self.bgp_state(row)}")
        lines += [f"    Neighbor address: {d.get('neighbor_address', row['address'])}",
                  f"    Neighbor AS:      {d.get('neighbor_as', row['asn'])}",
                  f"    Local AS:         {d.get('local_as', '')}"]
        neg = d.get("negotiated")
        established = row["state"] == "Established" and neg
        if established:
            lines.append(f"    Neighbor ID:      {neg.get('peer_id')}")
            lines.append("    Neighbor capabilities")
            lines.append("      Multiprotocol")
            lines.append("        AF announced: " + " ".join(
                _channel(f) for f in neg.get("families", ())))
            for key, text in _CAPS_BIRD2:
                if neg.get(key):
                    lines.append(f"      {text}")
            lines.append(f"    Session:          {self._session(row, neg)}")
            if d.get("source_address"):
                lines.append(f"    Source address:   {d['source_address']}")
            hold = _timer(d, "hold")
            if hold is not None:
                lines.append(f"    Hold timer:       {hold:.3f}/{neg.get('hold_time')}")
            keep = _timer(d, "keepalive")
            if keep is not None:
                lines.append(f"    Keepalive timer:  {keep:.3f}/{neg.get('keepalive_time')}")
        elif row["state_short"] != "down" and d.get("last_error", "-") != "-":
            lines.append(f"    Last error:       {d['last_error']}")
        imp, exp = _filters(d)
        up_families = set(neg.get("families", ())) if established else set()
        counts = d.get("routes", {})
        for fam in self._channels(row["name"]):
            version = 6 if fam.startswith("ipv6") else 4
            if self.family is not None and version != self.family:
                continue
            lines += [f"  Channel {_channel(fam)}",
                      f"    State:          {'UP' if fam in up_families else 'DOWN'}",
                      f"    Table:          {self.flavour.tables[version]}",
                      "    Preference:     100",
                      f"    Input filter:   {imp}",
                      f"    Output filter:  {exp}"]
            if fam in up_families:
                lines.append("    Routes:         "
                             + self._route_counts({fam: counts.get(fam, {})}))
        return lines

    def _channels(self, name: str) -> list[str]:
        peer = self._peer_config(name)
        if peer is None:
            return []
        return [family_name(int(a), int(s)) for a, s in peer.families]

    def _route_counts(self, routes: dict) -> str:
        imported = exported = preferred = 0
        for fam, c in routes.items():
            version = 6 if fam.startswith("ipv6") else 4
            if self.family is not None and version != self.family:
                continue
            imported += c.get("accepted", 0)
            exported += c.get("exported", 0)
            preferred += c.get("preferred", 0)
        return f"{imported} imported, {exported} exported, {preferred} preferred"

    def _session(self, row: dict, neg: dict) -> str:
        d = row.get("detail", {})
        peer = self._peer_config(row["name"])
        words = ["internal" if d.get("type") == "iBGP" else "external"]
        if peer is not None and _recursive(peer):
            words.append("multihop")
        if peer is not None and peer.route_reflector_client:
            words.append("route-reflector")
        if neg.get("four_octet_as"):
            words.append("AS4")
        if neg.get("add_path_rx"):
            words.append("add-path-rx")
        if neg.get("add_path_tx"):
            words.append("add-path-tx")
        return " ".join(words)

    # -- control -------------------------------------------------------------
    def control(self, verb: str, tokens, reply: Reply) -> None:
        if self.restricted:
            raise CliError(8007, "Access denied")
        if not tokens:
            raise self.syntax(tokens)
        message = [v for k, v in tokens[1:2] if k == "text"]
        if tokens[1:] and not message or tokens[2:]:
            raise self.syntax(tokens[1:])
        rows = self._peers()
        if tokens[0] == ("word", "all"):
            chosen = rows
        else:
            chosen = self._select(tokens[:1], "control", rows)
        code, already, done = CONTROL[verb]
        handler = {"enable": self.daemon.cmd_enable, "disable": self.daemon.cmd_disable,
                   "restart": self.daemon.cmd_restart}[verb]
        for row in chosen:
            task = self.daemon.peers.get(row["name"])
            enabled = task is not None and task.session.enabled
            if (verb == "enable") == enabled:
                state = "enabled" if enabled else "disabled"
                reply.line(already, f"{row['name']}: already {state}")
                continue
            handler([row["name"], *message])
            reply.line(code, f"{row['name']}: {done}")
        reply.end()

    # -- status --------------------------------------------------------------
    def show_status(self, tokens, reply: Reply) -> None:
        if tokens:
            raise self.syntax(tokens)
        f = self.flavour
        st = self.daemon.cmd_show_status([])
        started = getattr(self.daemon, "started_wall", None) or st.get("started") or time.time()
        reply.line(1000, f"BIRD {f.version}")
        reply.line(1011, f"Router ID is {st['router_id']}")
        if f.name == "bird2":
            host = getattr(self.daemon.config, "hostname", None) or socket.gethostname()
            reply.line(1011, f"Hostname is {host}")
        reply.line(1011, f"Current server time is {self.stamp(time.time())}")
        reply.line(1011, f"Last reboot on {self.stamp(started)}")
        reply.line(1011, f"Last reconfiguration on {self.stamp(started)}")
        if getattr(self.daemon, "graceful_restart_recovering", False) \
                or st.get("graceful_restart_recovering"):
            reply.line(24, "Graceful restart recovery in progress")
        reply.end(13, st.get("message") or "Daemon is up and running")

    # -- routes --------------------------------------------------------------
    def show_route(self, tokens, reply: Reply):
        q = self._route_query(tokens)
        if q["count"]:
            self._route_count(q, reply)
            return
        rows = self._route_rows(q)
        peers = {p["name"]: p for p in self.daemon.cmd_show_protocols([])}
        view = RouteView(self, peers, self._interfaces())
        for version, table_rows in self._by_table(rows):
            if self.flavour.name == "bird2":
                if not reply.empty:
                    reply.line(1007, "")
                reply.line(1007, f"Table {self.flavour.tables[version]}:")
            previous = None
            for row in table_rows:
                for code, text in view.lines(row, row["prefix"] != previous, q["all"]):
                    reply.line(code, text)
                previous = row["prefix"]
                yield
        reply.end()

    def _route_query(self, tokens) -> dict:
        q = {"prefix": None, "address": None, "protocol": None, "table": None,
             "all": False, "count": False, "primary": False}
        i = 0
        while i < len(tokens):
            kind, word = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if kind == "word" and word in ("all", "count", "primary"):
                q[word] = True
            elif kind == "word" and word == "for" and nxt is not None:
                q["address"] = self._address_of(nxt[1])
                i += 1
            elif kind == "word" and word == "protocol" and nxt is not None \
                    and nxt[0] == "word":
                q["protocol"] = nxt[1]
                i += 1
            elif kind == "word" and word == "table" and nxt is not None:
                if nxt[1] not in set(self.flavour.tables.values()):
                    raise self.syntax(tokens[i + 1:])
                q["table"] = nxt[1]
                i += 1
            elif kind == "word" and q["prefix"] is None and q["address"] is None \
                    and _looks_like_address(word):
                q["prefix"] = self._prefix_of(word)
            else:
                raise self.syntax(tokens[i:])
            i += 1
        name = q["protocol"]
        if name is not None and name not in self.daemon.peers and name not in LOCAL_PREFERENCE:
            code, text = self.flavour.unknown_name["show route protocol"]
            raise CliError(code, text or f"{name} is not a protocol")
        if name is not None and name in self.daemon.peers and self.family is not None \
                and _version(self.daemon.peers[name].peer.address) != self.family:
            code, text = self.flavour.unknown_name["show route protocol"]
            raise CliError(code, text or f"{name} is not a protocol")
        return q

    def _address_of(self, text: str) -> str:
        """``for`` takes an address or a prefix (its first address)."""
        try:
            return str(ipaddress.ip_network(text, strict=False).network_address)
        except ValueError:
            raise CliError(9001, "syntax error") from None

    def _prefix_of(self, text: str) -> str:
        """A prefix (a plain address is its host prefix, as in BIRD)."""
        try:
            return str(ipaddress.ip_network(text, strict=True))
        except ValueError:
            pass
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise CliError(9001, "syntax error") from None
        raise CliError(9001, "Invalid prefix")       # host bits set

    def _versions(self, q) -> tuple:
        """The IP versions a query covers: the socket's family, or the
        versions of the table it names (BIRD 2's master4 / master6)."""
        versions = (self.family,) if self.family is not None else (4, 6)
        table = q.get("table")
        if table is not None and self.flavour.name == "bird2":
            versions = tuple(v for v in versions if self.flavour.tables[v] == table)
        return versions

    def _route_rows(self, q) -> list[dict]:
        d = self.daemon
        name = q["protocol"]
        versions = self._versions(q)
        if q["prefix"] is not None or q["address"] is not None:
            target = q["prefix"] or q["address"]
            if _version(target) not in versions:
                raise CliError(8001, self.flavour.not_found)
            if q["prefix"] is not None:
                best = d.cmd_show_route([q["prefix"]])
            else:
                best = d.cmd_show_route(["for", q["address"]])
            if not best:
                raise CliError(8001, self.flavour.not_found)
            # Every route of the network, as BIRD lists them.
            rows = best if q["primary"] else self._candidates(best[0]["prefix"], ALTERNATIVES)
            if name is not None:
                rows = [r for r in rows if r["protocol"] == name]
            return rows
        if name is not None and name in d.peers:
            rows = d.cmd_show_route(["protocol", name])
        else:
            rows = d.cmd_show_route([])
            if name is not None:
                rows = [r for r in rows if r["protocol"] == name]
        rows = [r for r in rows if _version(r["prefix"]) in versions]
        if q["primary"]:
            return rows
        out = []
        for r in rows:
            # Every path of an ECMP prefix; a prefix's other candidates only
            # when it is asked about (walking them all costs a decision each).
            out.extend(self._candidates(r["prefix"], SELECTED) if r.get("multipath") else [r])
        return out

    def _candidates(self, prefix: str, statuses) -> list[dict]:
        rows = self.daemon.cmd_show_route([prefix, "all"])
        return [r for r in rows if r.get("status", "best") in statuses]

    def _by_table(self, rows):
        """(IP version, rows) per table, in BIRD's table order (BIRD 1.6: one)."""
        if self.flavour.name == "bird1":
            return [(4, rows)] if rows else []
        out = []
        for version in (4, 6):
            mine = [r for r in rows if _version(r["prefix"]) == version]
            if mine:
                out.append((version, mine))
        return out

    def _route_count(self, q, reply: Reply) -> None:
        """BIRD 1.6: '0014 N of M routes for K networks' (N shown, M and K in
        the table); BIRD 2: the same per table, then the total."""
        shown = self._route_rows(q)
        versions = self._versions(q)
        tables = {v: [] for v in versions}
        for r in self.daemon.cmd_show_route([]):
            if _version(r["prefix"]) in tables:
                tables[_version(r["prefix"])].append(r)

        def counts(vs):
            n = sum(1 for r in shown if _version(r["prefix"]) in vs)
            table = [r for v in vs for r in tables[v]]
            paths = sum(len(r.get("multipath") or (1,)) for r in table)
            return n, paths, len(table)

        if self.flavour.name == "bird1":
            reply.end(14, "%d of %d routes for %d networks" % counts(versions))
            return
        if q["protocol"] in self.daemon.peers:
            # BIRD 2 counts in the tables the protocol has channels to.
            mine = {6 if f.startswith("ipv6") else 4 for f in self._channels(q["protocol"])}
            versions = tuple(v for v in versions if v in mine)
        for v in versions:
            reply.line(1007, "%d of %d routes for %d networks in table " % counts((v,))
                       + self.flavour.tables[v])
        if q["protocol"] is not None:
            reply.end()
            return
        reply.end(14, "Total: %d of %d routes for %d networks" % counts(versions)
                  + f" in {len(versions)} tables")

    # -- times ---------------------------------------------------------------
    def stamp(self, t: float) -> str:
        """A full date and time, as ``show status`` prints it."""
        return self._format(t, self.flavour.status_time)

    def when(self, t) -> str:
        """A protocol's or route's time: the time of day if recent, else the date."""
        if not t:
            return ""
        if time.time() - float(t) < RECENT:
            return self._format(float(t), self.flavour.recent_time)
        return time.strftime("%Y-%m-%d", time.localtime(float(t)))

    def _format(self, t: float, fmt: str) -> str:
        text = time.strftime(fmt, time.localtime(t))
        if self.flavour.millis:
            text += f".{int(t * 1000) % 1000:03d}"
        return text


# ---------------------------------------------------------------------------
# Route lines

class RouteView:
    """Lays out route rows as BIRD does (``rt_show_rte`` and the BGP
    protocol's ``get_route_info``).  What is the same for every route of a
    protocol, and the text of each next hop, is worked out once per reply:
    a table of a hundred thousand routes is mostly the same few strings."""

    def __init__(self, cli: Cli, peers: dict, interfaces: list):
        self.cli = cli
        self.peers = peers
        self.interfaces = interfaces
        self._protocols: dict = {}
        self._hops: dict = {}
        self._stamps: dict = {}         # (protocol, since) -> "[name time"

    def _protocol(self, name: str) -> tuple:
        """(is BGP, '[name time', the session address, '(pref' or '(pref/0')."""
        p = self._protocols.get(name)
        if p is None:
            summary = self.peers.get(name)
            task = self.cli.daemon.peers.get(name) if summary is not None else None
            if summary is not None:
                since = summary.get("since")
                pref = f"({BGP_PREFERENCE}"
                # BIRD 1.6 resolves the next hop of iBGP and multihop sessions
                # recursively and shows its IGP metric (0: directly connected).
                if self.cli.flavour.name == "bird1" and task is not None \
                        and _recursive(task.peer):
                    pref += "/0"
                address = summary.get("address")
            else:
                since = getattr(self.cli.daemon, "started_wall", None)
                pref = f"({LOCAL_PREFERENCE.get(name, LOCAL_PREFERENCE['static'])})"
                address = None
            p = (summary is not None, f"[{name} {self.cli.when(since)}", address, pref)
            self._protocols[name] = p
        return p

    def _hop(self, via: str, address) -> tuple[str, str]:
        """('10.0.1.2 on eth0', ' from PEER' or '') for a next hop."""
        key = (via, address)
        h = self._hops.get(key)
        if h is None:
            hop = _first_hop(via)
            dev = interface_for(hop, self.interfaces)
            src = ""
            if address and _same_address(hop, address) is False:
                src = f" from {address}"
            h = (f"{hop} on {dev}" if dev else hop, src)
            self._hops[key] = h
        return h

    def lines(self, row: dict, first: bool, detail: bool):
        f = self.cli.flavour
        bgp, stamp, address, pref = self._protocol(row["protocol"])
        since = row.get("since")
        if since is not None:
            # The route's own time (its path's arrival), one text per batch.
            key = (row["protocol"], since)
            stamp = self._stamps.get(key)
            if stamp is None:
                stamp = self._stamps[key] = f"[{row['protocol']} {self.cli.when(since)}"
        primary = " *" if row.get("status", "best") == "best" else ""
        via = row.get("via")
        gateway, src = self._hop(via, address) if via else ("", "")
        if bgp:
            last = _last_as(row.get("as_path", ""))
            info = f"{pref}) [{'AS' + last if last else ''}{row.get('origin', '')}]"
        else:
            info = pref
        prefix = f"{row['prefix'] if first else '':<{f.prefix_width}}"
        if not via:
            yield 1007, f"{prefix} blackhole {stamp}]{primary} {info}"
        elif f.name == "bird1":
            yield 1007, f"{prefix} via {gateway} {stamp}{src}]{primary} {info}"
        else:
            yield 1007, f"{prefix} unicast {stamp}{src}]{primary} {info}"
            yield 1007, f"\tvia {gateway}"
        if detail:
            yield from self._attributes(row, bgp, _first_hop(via or ""))

    def _attributes(self, row: dict, bgp: bool, via: str):
        f = self.cli.flavour
        kind = "BGP" if bgp else ("static" if row["protocol"] != "kernel" else "inherit")
        yield 1008, f"\tType: {kind} {'unicast ' if f.name == 'bird1' else ''}univ"
        if not bgp:
            return
        attrs = [("origin", ORIGINS.get(row.get("origin", ""), row.get("origin", ""))),
                 ("as_path", row.get("as_path", "")),
                 ("next_hop", via)]
        if row.get("med") is not None:
            attrs.append(("med", row["med"]))
        if row.get("local_pref") is not None:
            attrs.append(("local_pref", row["local_pref"]))
        if row.get("communities"):
            attrs.append(("community", " ".join(_community(c) for c in row["communities"])))
        if row.get("originator_id"):
            attrs.append(("originator_id", row["originator_id"]))
        if row.get("cluster_list"):
            attrs.append(("cluster_list", " ".join(row["cluster_list"])))
        for key, value in attrs:
            yield 1012, f"\tBGP.{key}: {value}"


# ---------------------------------------------------------------------------
# Small helpers

_CAPS_BIRD1 = (("route_refresh", "refresh"), ("enhanced_route_refresh", "enhanced-refresh"),
               ("graceful_restart", "restart-aware"), ("four_octet_as", "AS4"),
               ("add_path_rx", "add-path-rx"), ("add_path_tx", "add-path-tx"),
               ("extended_message", "ext-messages"))
_CAPS_BIRD2 = (("route_refresh", "Route refresh"), ("extended_message", "Extended message"),
               ("graceful_restart", "Graceful restart"), ("four_octet_as", "4-octet AS numbers"),
               ("add_path_rx", "ADD-PATH"), ("enhanced_route_refresh", "Enhanced refresh"))


def _recursive(peer) -> bool:
    """Whether BIRD would treat the session as multihop (iBGP, or eBGP with
    a TTL above 1), resolving its next hops through the IGP."""
    return peer.is_ibgp or (peer.multihop or 1) > 1


def _caps_bird1(neg: dict) -> str:
    return " ".join(text for key, text in _CAPS_BIRD1 if neg.get(key))


def _channel(family: str) -> str:
    """'ipv4-unicast' -> 'ipv4' (BIRD's channel names)."""
    return family.replace("-unicast", "")


def _timer(detail: dict, name: str) -> float | None:
    text = detail.get("timers", {}).get(name)
    if not text:
        return None
    try:
        return float(text.split("s")[0])
    except ValueError:
        return None


def _filters(detail: dict) -> tuple[str, str]:
    """Input and output filter names from the policy notes: ACCEPT/REJECT for
    the built-in ones and RFC 8212's defaults, else the policy's name."""
    out = []
    for key in ("import_policy", "export_policy"):
        note = detail.get(key) or ""
        if "'" in note:
            name = note.split("'")[1]
            out.append({"accept-all": "ACCEPT", "reject-all": "REJECT"}.get(name, name))
        elif "RFC 8212" in note:
            out.append("REJECT")
        else:
            out.append("ACCEPT")
    return out[0], out[1]


def _last_error(row: dict) -> str:
    """The error part of the daemon's info column ('Active  Socket: ...')."""
    info = row.get("info", "")
    _state, sep, error = info.partition("  ")
    return error.strip() if sep else ""


def _version(text: str) -> int:
    return 6 if ":" in str(text).split("/")[0] else 4


def _looks_like_address(word: str) -> bool:
    return any(c.isdigit() for c in word) and all(c in "0123456789abcdefABCDEF.:/" for c in word)


def _first_hop(via: str) -> str:
    return via.split(",")[0].strip() if via else ""


def _plain(addr: str):
    ip = ipaddress.ip_address(addr.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _same_address(a: str, b: str) -> bool | None:
    try:
        return _plain(a) == _plain(b)
    except ValueError:
        return None


def _last_as(path: str) -> str:
    """The origin AS: the last AS of the path, unless the path ends in a set."""
    if not path or not path[-1].isdigit():
        return ""
    return path.rsplit(None, 1)[-1].lstrip("({[")


def _community(text: str) -> str:
    try:
        value = parse_community(text)
    except ValueError:
        return text
    return f"({value >> 16},{value & 0xFFFF})"


# ---------------------------------------------------------------------------
# The interfaces next hops are on

def connected_routes() -> list:
    """(network, interface) of the kernel's directly connected routes (no
    gateway) in this network namespace, most specific first."""
    out = []
    try:
        with open("/proc/net/route") as fh:
            next(fh, None)
            for line in fh:
                f = line.split()
                if len(f) < 8 or int(f[3], 16) & 0x2:      # RTF_GATEWAY
                    continue
                dest = ipaddress.IPv4Address(int(f[1], 16).to_bytes(4, "little"))
                mask = ipaddress.IPv4Address(int(f[7], 16).to_bytes(4, "little"))
                out.append((ipaddress.ip_network(f"{dest}/{mask}", strict=False), f[0]))
    except OSError:
        pass
    try:
        with open("/proc/net/ipv6_route") as fh:
            for line in fh:
                f = line.split()
                if len(f) < 10 or int(f[8], 16) & 0x2 or int(f[8], 16) & 0x200:
                    continue                            # RTF_GATEWAY, RTF_REJECT
                dest = ipaddress.IPv6Address(bytes.fromhex(f[0]))
                out.append((ipaddress.ip_network(f"{dest}/{int(f[1], 16)}", strict=False), f[9]))
    except OSError:
        pass
    out.sort(key=lambda e: -e[0].prefixlen)
    return out


def interface_for(address: str, routes: list) -> str | None:
    try:
        ip = _plain(address)
    except ValueError:
        return None
    if ip.is_loopback:
        return "lo"
    for net, dev in routes:
        if net.version == ip.version and ip in net:
            return dev
    return None


# ---------------------------------------------------------------------------
# The command table and the server

COMMANDS = {
    ("show", "status"): lambda cli, t, r: cli.show_status(t, r),
    ("show", "protocols"): lambda cli, t, r: cli.show_protocols(t, r),
    ("show", "protocols", "all"): lambda cli, t, r: cli.show_protocols(t, r, detail=True),
    ("show", "route"): lambda cli, t, r: cli.show_route(t, r),
    ("enable",): lambda cli, t, r: cli.control("enable", t, r),
    ("disable",): lambda cli, t, r: cli.control("disable", t, r),
    ("restart",): lambda cli, t, r: cli.control("restart", t, r),
    ("restrict",): lambda cli, t, r: _restrict(cli, t, r),
    ("quit",): lambda cli, t, r: _quit(),
    ("exit",): lambda cli, t, r: _quit(),
}


def _restrict(cli: Cli, tokens, reply: Reply) -> None:
    if tokens:
        raise cli.syntax(tokens)
    cli.restricted = True
    reply.end(16, "Access restricted")


def _quit():
    raise Close()


async def _serve_one(stream: trio.SocketStream, cli: Cli, log) -> None:
    buf = b""
    async with stream:
        try:
            await stream.send_all(cli.greeting())
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace").strip()
                    if not line:
                        continue
                    if len(raw) >= MAX_LINE:
                        await stream.send_all(b"9000 Command too long\n")
                        continue
                    try:
                        for chunk in cli.replies(line):
                            await stream.send_all(chunk)
                    except Close:
                        return
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        raise
                    except Exception as e:          # keep serving; say what broke
                        log.exception("BIRD socket command %r failed", line[:200])
                        await stream.send_all(f"8000 Internal error: {e!r}\n".encode())
                if len(buf) >= MAX_LINE:
                    await stream.send_all(b"9000 Command too long\n")
                    buf = b""
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return


async def serve(path: str, daemon, log, *, mode: int = 0o660, flavour: str = "bird1",
                family: int | None = None, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Answer BIRD's CLI protocol on the UNIX socket ``path`` until cancelled.

    ``flavour`` is ``bird1`` or ``bird2`` (see ``FLAVOURS``); ``family`` 4 or
    6 limits the socket to one address family.  A stale socket file is
    replaced; the file is removed at the end."""
    if flavour not in FLAVOURS:
        raise ValueError(f"BIRD socket flavour {flavour!r}: choose one of {sorted(FLAVOURS)}")
    if family not in (None, 4, 6):
        raise ValueError(f"BIRD socket family {family!r}: 4, 6 or None")
    async with unix_listener(path, mode) as listener:
        log.info("BIRD control socket (%s%s) on %s", flavour,
                 f", IPv{family} only" if family else "", path)
        task_status.started()
        async with trio.open_nursery() as nursery:
            while True:
                stream = await listener.accept()
                nursery.start_soon(_serve_one, stream, Cli(daemon, FLAVOURS[flavour], family),
                                   log)
