"""Reloading the configuration of a running daemon (``bgpctl configure``,
SIGHUP): a policy-only change re-filters in place and the session keeps
its uptime; a bad file is refused with the key and the reason and the old
configuration stays; a key that needs a restart of the daemon is named and
nothing is applied; changed session parameters restart the session;
removed peers get Cease / Peer De-configured and added ones start;
originated prefixes come and go without touching the sessions.

Two daemons on loopback, in one trio run on the mock clock.
"""

from __future__ import annotations

import signal

import trio

from bgpd_testlib import (OPEN_POLICY, Loopback, Pair, _table, command, learned, mock_clock,
                          wait_for, wait_state)

DEADLINE = 600

REJECT_B = """
[[policies]]
name = "no-10-2"
default = "accept"

[[policies.rules]]
match.prefix = "10.2.0.0/24"
action = "reject"
"""


def a_text(pair, *, peer=None, top=None, originate=(), tail="") -> str:
    """A's configuration file, as the Pair builds it, with changes."""
    families = ["ipv4-unicast", "ipv6-unicast"]
    peers = [{**OPEN_POLICY, **dict(name="b", address=pair.b_address, asn=65002,
                                    port=pair.b_port, local_address=pair.a_address,
                                    multihop=2, families=families, connect_retry=1),
              **(peer or {})}] if peer is not False else []
    parts = [_table("", dict(router_id="10.0.0.1", asn=65001, listen=[pair.a_address],
                             port=pair.a_port, control_socket=pair.a_socket,
                             log_level="debug", **(top or {})))]
    parts += [_table("[[peers]]", p) for p in peers]
    parts += [_table("[[originate]]", o) for o in
              [dict(prefix="10.1.0.0/24"),
               dict(prefix="2001:db8:1::/48", next_hop=pair.A_V6_NEXT_HOP), *originate]]
    return "\n\n".join(parts) + "\n" + tail


def run_pair(tmp_path, body):
    pair = Pair(Loopback(), str(tmp_path))
    path = tmp_path / "a.toml"
    path.write_text(a_text(pair))

    async def main():
        with trio.fail_after(DEADLINE):
            async with pair.running() as (a, b):
                a.config_path = str(path)
                await Pair.established(a, b)
                await wait_for(lambda: "10.2.0.0/24" in learned(a, "b"), "A learns 10.2/24")
                await body(pair, path, a, b)
    trio.run(main, clock=mock_clock())


def uptime_mark(daemon, name):
    s = daemon.peers[name].session
    return s.established_at, s.counters.snapshot().get("established_transitions")


def test_policy_only_change_keeps_the_session(tmp_path):
    async def body(pair, path, a, b):
        before = uptime_mark(a, "b")
        task = a.peers["b"]
        path.write_text(a_text(pair, peer={"import": "no-10-2"},
                               originate=[dict(prefix="10.9.0.0/24")], tail=REJECT_B))
        reply = await command(a, "configure", "check")
        assert reply["ok"] and not reply["applied"]
        assert any("re-filtered" in c for c in reply["changes"]), reply
        assert "10.2.0.0/24" in learned(a, "b")         # a check changes nothing
        reply = await command(a, "configure")
        assert reply["ok"] and reply["applied"], reply
        await wait_for(lambda: "10.2.0.0/24" not in learned(a, "b"),
                       "10.2/24 filtered out by the new import policy")
        await wait_for(lambda: "10.9.0.0/24" in learned(b, "a"), "B learns 10.9/24")
        assert "2001:db8:2::/48" in learned(a, "b")     # the rest stays
        assert a.peers["b"] is task and uptime_mark(a, "b") == before
        assert not a.log_lines.grep("session down")
        # Back: the route returns, still the same session.
        path.write_text(a_text(pair))
        reply = await command(a, "configure")
        assert reply["ok"] and reply["applied"], reply
        await wait_for(lambda: "10.2.0.0/24" in learned(a, "b"), "10.2/24 back")
        await wait_for(lambda: "10.9.0.0/24" not in learned(b, "a"), "10.9/24 withdrawn")
        assert uptime_mark(a, "b") == before
    run_pair(tmp_path, body)


def test_bad_file_and_restart_only_keys_are_refused(tmp_path):
    async def body(pair, path, a, b):
        old = a.config
        path.write_text(a_text(pair, top={"max_paths": 0}))
        reply = await command(a, "configure")
        assert not reply["ok"] and not reply["applied"]
        assert reply["errors"][0]["key"] == "max_paths", reply
        assert a.config is old
        path.write_text(a_text(pair).replace('router_id = "10.0.0.1"',
                                             'router_id = "10.0.0.9"'))
        reply = await command(a, "configure")
        assert not reply["ok"] and [e["key"] for e in reply["errors"]] == ["router_id"]
        assert "restart" in reply["errors"][0]["reason"]
        assert a.config is old and a.peers["b"].session.state.name == "ESTABLISHED"
        assert a.log_lines.grep("not applied")
    run_pair(tmp_path, body)


def test_session_change_restarts_and_removal_deconfigures(tmp_path):
    async def body(pair, path, a, b):
        old_task = a.peers["b"]
        path.write_text(a_text(pair, peer={"hold_time": 30}))
        reply = await command(a, "configure")
        assert reply["ok"] and reply["applied"], reply
        await wait_for(lambda: a.peers.get("b") is not None and a.peers["b"] is not old_task,
                       "a new session task for b")
        await wait_state(a, "b")
        assert a.peers["b"].session.negotiated.hold_time == 30
        assert old_task.finished.is_set()
        # Removed: Cease / Peer De-configured (RFC 4486 subcode 3) on B's side.
        path.write_text(a_text(pair, peer=False))
        reply = await command(a, "configure")
        assert reply["ok"] and reply["applied"], reply
        await wait_for(lambda: "b" not in a.peers, "b removed")
        # RFC 8538: a peer that goes for good gets it wrapped in a Hard Reset.
        await wait_for(lambda: b.log_lines.grep("Peer de-configured"),
                       "B told the peer is de-configured")
        await wait_for(lambda: "10.1.0.0/24" not in learned(b, "a"), "A's routes gone on B")
        # Added again: a new peer starts, the session comes up, routes flow.
        path.write_text(a_text(pair))
        reply = await command(a, "configure")
        assert reply["ok"] and reply["applied"], reply
        assert any("added" in c for c in reply["changes"]), reply
        await wait_for(lambda: "b" in a.peers, "b added")
        await wait_state(a, "b")
        await wait_for(lambda: "10.1.0.0/24" in learned(b, "a"), "A's routes back on B")
    run_pair(tmp_path, body)


def test_sighup_reloads(tmp_path):
    async def body(pair, path, a, b):
        path.write_text(a_text(pair, originate=[dict(prefix="10.9.0.0/24")]))
        signal.raise_signal(signal.SIGHUP)
        await wait_for(lambda: "10.9.0.0/24" in learned(b, "a"), "B learns 10.9/24")
        assert a.log_lines.grep("SIGHUP")
    run_pair(tmp_path, body)
