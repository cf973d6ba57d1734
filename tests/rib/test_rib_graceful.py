"""Graceful restart (RFC 4724), enhanced route refresh (RFC 7313) and
soft reconfiguration: stale marking, replacement, sweeping, deferral."""

from __future__ import annotations

import pytest

from rib import RibError, Status

from ribtest import (V4, V6, announce, announce6, attrs, best_sources, key,
                     new_rib, peer, withdraw)
from wire import end_of_rib as eor_bytes
from wire import Framer, UpdateCodec

A = peer("A", "10.0.0.1", 65001)
B = peer("B", "10.0.0.2", 65002)
ROUTE = attrs(65001, next_hop="192.0.2.1")
OTHER = attrs(65001, 9, next_hop="192.0.2.1")


def loaded(*prefixes):
    rib = new_rib()
    rib.peer_up(A)
    rib.apply_update(A, announce(prefixes or ["10.0.0.0/24", "10.0.1.0/24"], ROUTE))
    rib.drain_changes()
    return rib


def eor_update(afi=1, safi=1):
    codec = UpdateCodec()
    return codec.decode(Framer().feed(eor_bytes(afi, safi))[0][1])


def test_graceful_down_keeps_routes_in_use():
    rib = loaded()
    deadline = rib.peer_down(A, graceful=True, restart_time=120, now=1000.0)
    assert deadline == 1120.0
    status = rib.source_status(A)
    assert (status["up"], status["stale"], status["stale_deadline"]) == (False, 2, 1120.0)
    assert rib.drain_changes() == []
    assert set(best_sources(rib)) == {"10.0.0.0/24", "10.0.1.0/24"}
    assert rib.stale_count(A) == 2
    assert all(c.stale for c in rib.explain(V4, "10.0.0.0/24"))


def test_resent_route_replaces_stale_and_eor_sweeps_the_rest():
    rib = loaded()
    rib.peer_down(A, graceful=True, restart_time=120, now=0)
    rib.peer_up(A, forwarding_preserved=(V4,))
    # the same route again: no longer stale, and no change event
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    assert rib.drain_changes() == []
    assert rib.stale_count(A) == 1
    assert not rib.explain(V4, "10.0.0.0/24")[0].stale
    # End-of-RIB through apply_update: the unsent prefix goes
    rib.apply_update(A, eor_update())
    changes = rib.drain_changes()
    assert [(c.prefix, c.new) for c in changes] == [("10.0.1.0/24", ())]
    assert rib.stale_count(A) == 0
    assert rib.peer_down(A) is None


def test_resent_with_other_attributes_is_a_change():
    rib = loaded()
    rib.peer_down(A, graceful=True)
    rib.peer_up(A, forwarding_preserved=(V4,))
    rib.apply_update(A, announce(["10.0.0.0/24"], OTHER))
    (c,) = rib.drain_changes()
    assert c.old[0].attrs is ROUTE and c.new[0].attrs is OTHER
    assert rib.end_of_rib(A, V4) == 1


def test_timer_sweeps_stale_routes():
    rib = loaded()
    rib.peer_down(A, graceful=True, restart_time=5, now=0)
    assert rib.sweep_stale(A) == 2
    assert {c.prefix for c in rib.drain_changes()} == {"10.0.0.0/24", "10.0.1.0/24"}
    assert list(rib.routes()) == []


def test_new_session_without_forwarding_state_drops_stale_at_once():
    rib = loaded()
    rib.peer_down(A, graceful=True)
    rib.peer_up(A)                      # no Graceful Restart capability this time
    assert len(rib.drain_changes()) == 2
    assert rib.stale_count(A) == 0


def test_second_restart_while_stale_keeps_everything_stale():
    rib = loaded("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")
    rib.peer_down(A, graceful=True)
    rib.peer_up(A, forwarding_preserved=(V4,))
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    rib.peer_down(A, graceful=True)
    assert rib.stale_count(A) == 3
    rib.peer_up(A, forwarding_preserved=(V4,))
    rib.apply_update(A, announce(["10.0.2.0/24"], ROUTE))
    assert rib.end_of_rib(A, V4) == 2
    assert {c.prefix for c in rib.drain_changes()} == {"10.0.0.0/24", "10.0.1.0/24"}


def test_withdrawal_of_a_stale_route():
    rib = loaded()
    rib.peer_down(A, graceful=True)
    rib.peer_up(A, forwarding_preserved=(V4,))
    rib.apply_update(A, withdraw(["10.0.1.0/24"]))
    assert [c.prefix for c in rib.drain_changes()] == ["10.0.1.0/24"]
    assert rib.stale_count(A) == 1


def test_stale_routes_still_compete():
    rib = loaded("10.0.0.0/24")
    rib.peer_up(B)
    rib.apply_update(B, announce(["10.0.0.0/24"], attrs(65002, 1, 2, next_hop="192.0.2.2")))
    rib.peer_down(A, graceful=True)
    assert rib.drain_changes() == []
    assert best_sources(rib) == {"10.0.0.0/24": ("A",)}


def test_enhanced_route_refresh():
    rib = loaded("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")
    rib.begin_refresh(A, V4)
    assert rib.stale_count(A, V4) == 3
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    rib.apply_update(A, announce(["10.0.1.0/24"], OTHER))
    assert rib.end_refresh(A, V4) == 1
    changes = {c.prefix: c for c in rib.drain_changes()}
    assert set(changes) == {"10.0.1.0/24", "10.0.2.0/24"}
    assert changes["10.0.2.0/24"].withdrawn


def test_refresh_of_one_family_leaves_the_other():
    rib = loaded("10.0.0.0/24")
    rib.peer_up(A, families=(V4, V6))
    rib.apply_update(A, announce6(["2001:db8::/32"], ROUTE, "2001:db8::1"))
    assert len(rib.drain_changes()) == 1
    rib.begin_refresh(A, V6)
    assert rib.end_refresh(A, V6) == 1
    assert rib.stale_count(A, V4) == 0
    assert [c.prefix for c in rib.drain_changes()] == ["2001:db8::/32"]


def test_eor_of_an_mp_family_by_update():
    rib = loaded()
    rib.peer_up(A, families=(V4, V6))
    rib.apply_update(A, announce6(["2001:db8::/32"], ROUTE, "2001:db8::1"))
    rib.peer_down(A, graceful=True)
    rib.peer_up(A, families=(V4, V6), forwarding_preserved=(V4, V6))
    rib.apply_update(A, eor_update(2, 1))
    assert rib.stale_count(A, V6) == 0 and rib.stale_count(A, V4) == 2


# -- restarting side ----------------------------------------------------------

def test_selection_deferred_until_end_of_rib_from_every_peer():
    rib = new_rib()
    rib.defer_selection(V4, [A, B])
    rib.peer_up(A)
    rib.peer_up(B)
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    rib.apply_update(B, announce(["10.0.0.0/24", "10.9.0.0/16"],
                                 attrs(65002, next_hop="192.0.2.2")))
    assert rib.drain_changes() == []
    assert rib.deferring == {V4: frozenset({"A", "B"})}
    rib.end_of_rib(A, V4)
    assert rib.drain_changes() == []
    rib.apply_update(B, eor_update())   # End-of-RIB as B's session delivers it
    assert rib.deferring == {}
    changes = rib.drain_changes()
    assert {c.prefix: c.new[0].source.name for c in changes} == {
        "10.0.0.0/24": "A", "10.9.0.0/16": "B"}


def test_deferral_released_by_timer_or_peer_loss():
    rib = new_rib()
    rib.defer_selection(V4, ["A", "B"])
    rib.peer_up(A)
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    rib.peer_up(B)
    rib.peer_down(B)                    # B will not send End-of-RIB now
    assert rib.deferring == {V4: frozenset({"A"})}
    # queries during deferral show what selection would give
    assert rib.get(V4, "10.0.0.0/24").best.source.name == "A"
    assert rib.drain_changes() == []
    assert rib.release_deferral() == [V4]
    assert len(rib.drain_changes()) == 1


# -- soft reconfiguration ---------------------------------------------------------

def test_soft_reconfiguration_reimports_from_the_received_copy():
    allowed = {key("10.0.0.0/24")}

    def policy(p, family, k, a, nh):
        return (a, nh) if k in allowed else None

    rib = new_rib()
    rib.peer_up(A, import_policy=policy, soft_reconfig=True)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], ROUTE))
    assert [c.prefix for c in rib.drain_changes()] == ["10.0.0.0/24"]
    assert [c.status for c in rib.explain(V4, "10.0.1.0/24")] == [Status.FILTERED]
    assert rib.source_counts(A)[V4]["received"] == 2
    allowed = {key("10.0.1.0/24")}
    assert rib.reimport(A)
    changes = {c.prefix: c.withdrawn for c in rib.drain_changes()}
    assert changes == {"10.0.0.0/24": True, "10.0.1.0/24": False}
    assert len(list(rib.adj_rib_in(A, V4, pre_policy=True))) == 2


def test_enhanced_refresh_rebuilds_the_received_copy():
    def policy(p, family, k, a, nh):
        return None if k == key("10.0.9.0/24") else (a, nh)

    rib = new_rib()
    rib.peer_up(A, import_policy=policy, soft_reconfig=True)
    rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24", "10.0.9.0/24"], ROUTE))
    rib.drain_changes()
    for _ in range(2):                   # a second BoRR before EoRR changes nothing
        rib.begin_refresh(A, V4)
    rib.apply_update(A, announce(["10.0.0.0/24"], ROUTE))
    rib.end_refresh(A, V4)
    assert [c.prefix for c in rib.drain_changes()] == ["10.0.1.0/24"]
    assert [k for k, _p in rib.adj_rib_in(A, V4, pre_policy=True)] == [key("10.0.0.0/24")]
    assert rib.explain(V4, "10.0.9.0/24") == []
    (path,) = {p for _k, p in rib.adj_rib_in(A, V4)}
    assert path.refs == 2                # its route and its received copy


def test_reimport_without_a_copy_asks_for_refresh():
    rib = loaded()
    assert rib.reimport(A) is False
    with pytest.raises(RibError):
        list(rib.adj_rib_in(A, V4, pre_policy=True))
