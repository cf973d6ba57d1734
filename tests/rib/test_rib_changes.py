"""The change stream: one ``Change`` per prefix per drained batch, only when
the selected route really changed, with the set before and after."""

from __future__ import annotations

from ribtest import V4, V6, announce, announce6, attrs, key, new_rib, peer, withdraw

A = peer("A", "10.0.0.1", 65001)
B = peer("B", "10.0.0.2", 65002)
GOOD = attrs(65001, next_hop="192.0.2.1")
LONGER = attrs(65002, 7, 8, next_hop="192.0.2.2")


def rib_ab():
    rib = new_rib()
    rib.peer_up(A, families=(V4, V6))
    rib.peer_up(B)
    return rib


def test_each_prefix_once_per_batch():
    rib = rib_ab()
    for _ in range(3):
        rib.apply_update(A, announce(["10.0.0.0/24", "10.0.1.0/24"], GOOD))
        rib.apply_update(A, withdraw(["10.0.0.0/24"]))
        rib.apply_update(A, announce(["10.0.0.0/24"], LONGER))
    changes = rib.drain_changes()
    assert sorted(c.prefix for c in changes) == ["10.0.0.0/24", "10.0.1.0/24"]
    assert all(c.old == () for c in changes)
    assert rib.drain_changes() == []


def test_announce_and_withdraw_in_one_batch_is_no_change():
    rib = rib_ab()
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    rib.apply_update(A, withdraw(["10.0.0.0/24"]))
    assert rib.drain_changes() == []


def test_no_event_when_the_best_path_stays():
    rib = rib_ab()
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    rib.drain_changes()
    rib.apply_update(B, announce(["10.0.0.0/24"], LONGER))      # a worse route arrives
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))        # the same route again
    assert rib.drain_changes() == []
    rib.apply_update(B, withdraw(["10.0.0.0/24"]))              # the worse one goes
    assert rib.drain_changes() == []


def test_best_changes_and_withdrawals():
    rib = rib_ab()
    rib.apply_update(B, announce(["10.0.0.0/24"], LONGER))
    (c,) = rib.drain_changes()
    assert c.old == () and c.best.source is B
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    (c,) = rib.drain_changes()
    assert c.old[0].source is B and c.new[0].source is A and not c.withdrawn
    rib.apply_update(A, withdraw(["10.0.0.0/24"]))
    rib.apply_update(B, withdraw(["10.0.0.0/24"]))
    (c,) = rib.drain_changes()
    assert c.old[0].source is A and c.withdrawn and c.best is None


def test_new_attributes_from_the_same_peer_is_a_change():
    rib = rib_ab()
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    rib.drain_changes()
    rib.apply_update(A, announce(["10.0.0.0/24"], attrs(65001, next_hop="192.0.2.1", med=3)))
    (c,) = rib.drain_changes()
    assert c.old[0].attrs.med is None and c.new[0].attrs.med == 3


def test_queries_between_drains_do_not_split_a_batch():
    rib = rib_ab()
    rib.apply_update(B, announce(["10.0.0.0/24"], LONGER))
    assert rib.get(V4, "10.0.0.0/24").best.source is B      # settles the decision
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    assert rib.lookup(V4, "10.0.0.1").best.source is A
    rib.apply_update(A, withdraw(["10.0.0.0/24"]))
    rib.apply_update(B, withdraw(["10.0.0.0/24"]))
    rib.settle()
    rib.apply_update(B, announce(["10.0.0.0/24", "10.9.9.0/24"], LONGER))
    changes = {c.prefix: c for c in rib.drain_changes()}
    # first old against last new: 10.0.0.0/24 went () -> B, 10.9.9.0/24 () -> B
    assert set(changes) == {"10.0.0.0/24", "10.9.9.0/24"}
    assert all(c.old == () and c.best.source is B for c in changes.values())


def test_queries_that_cancel_out_leave_no_change():
    rib = rib_ab()
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    rib.settle()
    rib.apply_update(A, withdraw(["10.0.0.0/24"]))
    rib.settle()
    assert rib.drain_changes() == []


def test_changes_of_several_families_in_one_batch():
    rib = rib_ab()
    rib.apply_update(A, announce(["10.0.0.0/24"], GOOD))
    rib.apply_update(A, announce6(["2001:db8::/32"], GOOD, "2001:db8::1"))
    changes = rib.drain_changes()
    assert sorted((c.family, c.prefix) for c in changes) == [(V4, "10.0.0.0/24"),
                                                             (V6, "2001:db8::/32")]
    assert changes[0].key in (key("10.0.0.0/24"), key("2001:db8::/32"))


def test_peer_down_withdraws_everything_in_one_batch():
    rib = rib_ab()
    rib.apply_update(A, announce([f"10.0.{i}.0/24" for i in range(50)], GOOD))
    rib.apply_update(B, announce(["10.0.0.0/24"], LONGER))
    rib.drain_changes()
    rib.peer_down(A)
    changes = rib.drain_changes()
    assert len(changes) == 50
    moved = [c for c in changes if not c.withdrawn]
    assert [(c.prefix, c.best.source.name) for c in moved] == [("10.0.0.0/24", "B")]
    assert rib.counts()[V4] == {"prefixes": 1, "selected": 1, "paths": 1}
